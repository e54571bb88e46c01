//! `constantLine(value)`: three points spanning the request (graphite-web's shape: step is
//! half the range), named by `str(value)`.

use super::{FunctionDef, Param, ParamType};
use crate::query::graphite::series::{TimeSeries, format_py_float};

pub static DEF: FunctionDef = FunctionDef {
    group: "Special",
    signature: "(value)",
    description: "A horizontal line at the given value across the whole range.",
    params: &[Param::new("value", ParamType::Float).required()],
    run: |ctx, args| {
        let value = args
            .float(0)
            .ok_or_else(|| args.bad("value must be a number"))?;
        let (start, end) = (ctx.from, ctx.until);
        let step = ((end - start) as f64 / 2.0) as i64;
        let name = format_py_float(value);
        let mut s = TimeSeries::new(name, start, end, step.max(1), vec![Some(value); 3]);
        s.path_expression = format!("constantLine({})", s.name);
        s.x_files_factor = ctx.x_files_factor.unwrap_or(0.0);
        Ok(vec![s])
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn three_points_over_the_range() {
        let out = eval("constantLine(100)");
        assert_eq!(names(&out), ["100.0"]);
        assert_eq!((out[0].start, out[0].end, out[0].step), (100, 140, 20));
        assert_eq!(vals(&out[0]), [Some(100.0); 3]);
    }
}
