//! `aggregateLine(seriesList, func='average', keepStep=False)`: a flat line at each series'
//! aggregate, named `aggregateLine(<name>, <%g value>)`.

use super::aggregate::agg_func;
use super::{FunctionDef, Literal, Param, ParamType};
use crate::query::graphite::series::{TimeSeries, format_g, format_py_float};

pub static DEF: FunctionDef = FunctionDef {
    group: "Calculate",
    signature: "(seriesList, func='average', keepStep=False)",
    description: "Draws a horizontal line at func (an aggregation function) of each series.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("func", ParamType::AggFunc).default(Literal::Str("average")),
        Param::new("keepStep", ParamType::Boolean).default(Literal::Bool(false)),
    ],
    run: |ctx, args| {
        let f = args.string(1).unwrap_or("average").to_string();
        let agg = agg_func(&f)
            .ok_or_else(|| args.bad(format!("unsupported aggregation function: {f}")))?;
        let keep_step = args.bool_or(2, false);
        let list = args.series(0);
        Ok(list
            .into_iter()
            .map(|s| {
                let value = agg(&s.points());
                let name = format!(
                    "aggregateLine({}, {})",
                    s.name,
                    value.map_or("None".to_string(), format_g)
                );
                if keep_step {
                    let n = s.values.len();
                    return s.derive(name, vec![value; n]);
                }
                let step = ((ctx.until - ctx.from) as f64 / 2.0) as i64;
                let line = value.map_or("None".to_string(), format_py_float);
                let mut l = TimeSeries::new(line, ctx.from, ctx.until, step.max(1), vec![value; 3]);
                l.name = name.clone();
                l.path_expression = name;
                l
            })
            .collect())
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn flat_lines() {
        let out = eval("aggregateLine(a.y)");
        assert_eq!(names(&out), ["aggregateLine(a.y, 25)"]);
        assert_eq!(vals(&out[0]), [Some(25.0); 3]);
        let out = eval("aggregateLine(a.y, 'max', true)");
        assert_eq!(vals(&out[0]), [Some(40.0); 4]);
    }
}
