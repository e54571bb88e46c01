//! `sinFunction(name, amplitude=1, step=60)` (also `sin`): the sine of each point's timestamp
//! (epoch seconds) times `amplitude`, from the request's start.

use super::{FunctionDef, Literal, Param, ParamType};
use crate::query::graphite::series::TimeSeries;

pub static DEF: FunctionDef = FunctionDef {
    group: "Transform",
    signature: "(name, amplitude=1, step=60)",
    description: "A series whose value at each point is the sine of its timestamp, times amplitude.",
    params: &[
        Param::new("name", ParamType::String).required(),
        // graphite-web's schema says integer; its code multiplies by any number (`sin(x, 0.5)`)
        Param::new("amplitude", ParamType::Float).default(Literal::Int(1)),
        Param::new("step", ParamType::Integer).default(Literal::Int(60)),
    ],
    run: |ctx, args| {
        let name = args.string(0).unwrap_or_default().to_string();
        let amplitude = args.float_or(1, 1.0);
        let step = args.int(2).unwrap_or(60);
        if step <= 0 {
            return Err(args.bad("step must be positive"));
        }
        if (ctx.until - ctx.from) / step > 10_000_000 {
            return Err(args.bad("too many points"));
        }
        let values = (ctx.from..ctx.until)
            .step_by(usize::try_from(step).unwrap_or(60))
            .map(|t| Some((t as f64).sin() * amplitude))
            .collect();
        let mut s = TimeSeries::new(name, ctx.from, ctx.until, step, values);
        s.x_files_factor = ctx.x_files_factor.unwrap_or(0.0);
        Ok(vec![s])
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn sine_of_each_timestamp() {
        let out = eval("sin('s', 2, 20)");
        assert_eq!(names(&out), ["s"]);
        assert_eq!(out[0].step, 20);
        assert_eq!(
            vals(&out[0]),
            [Some(100f64.sin() * 2.0), Some(120f64.sin() * 2.0)]
        );
        let out = eval("sinFunction('s')");
        assert_eq!(vals(&out[0]), [Some(100f64.sin())]);
    }
}
