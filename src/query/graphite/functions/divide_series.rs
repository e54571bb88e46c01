//! `divideSeries(dividendSeriesList, divisorSeries)`: each dividend divided by the one divisor
//! series after both are normalized; division by zero or null is null. No divisor names the
//! results `divideSeries(<name>,MISSING)` with every value null.

use super::{FunctionDef, Param, ParamType, normalize, rows};
use crate::query::graphite::series::TimeSeries;

pub static DEF: FunctionDef = FunctionDef {
    group: "Combine",
    signature: "(dividendSeriesList, divisorSeries)",
    description: "Divides each series of the first list by the single series of the second.",
    params: &[
        Param::new("dividendSeriesList", ParamType::SeriesList).required(),
        Param::new("divisorSeries", ParamType::SeriesList).required(),
    ],
    run: |ctx, args| {
        let divisor = args.series(1);
        let mut dividends = args.series(0);
        if divisor.is_empty() {
            for s in &mut dividends {
                s.name = format!("divideSeries({},MISSING)", s.name);
                s.path_expression = s.name.clone();
                s.values.iter_mut().for_each(|v| *v = None);
            }
            return Ok(dividends);
        }
        if divisor.len() > 1 {
            return Err(args.bad(format!(
                "second argument must reference exactly 1 series (got {})",
                divisor.len()
            )));
        }
        let mut out = Vec::with_capacity(dividends.len());
        for d in dividends {
            let name = format!("divideSeries({},{})", d.name, divisor[0].name);
            let Some((both, start, end, step)) = normalize(vec![vec![d, divisor[0].clone()]])
            else {
                continue;
            };
            let values = rows(&both)
                .iter()
                .map(
                    |r| match (r.first().copied().flatten(), r.get(1).copied().flatten()) {
                        (Some(a), Some(b)) if b != 0.0 => Some(a / b),
                        _ => None,
                    },
                )
                .collect();
            let mut s = TimeSeries::new(name, start, end, step, values);
            s.x_files_factor = ctx.x_files_factor.unwrap_or(0.0);
            out.push(s);
        }
        Ok(out)
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{ctx_none, eval, names, vals};

    #[test]
    fn divides_by_one_series() {
        let out = eval("divideSeries(a.*, a.x)");
        assert_eq!(
            names(&out),
            ["divideSeries(a.x,a.x)", "divideSeries(a.y,a.x)"]
        );
        assert_eq!(vals(&out[1]), [Some(10.0), None, Some(10.0), Some(10.0)]);
        let out = eval("divideSeries(a.x, no.such)");
        assert_eq!(names(&out), ["divideSeries(a.x,MISSING)"]);
        assert_eq!(vals(&out[0]), [None; 4]);
        assert!(ctx_none().eval_target("divideSeries(a.x, a.*)").is_err());
    }
}
