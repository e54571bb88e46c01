//! `sinFunction(name, amplitude=1, step=60)` (also `sin`): the sine of each timestamp from
//! the request's start, times the amplitude.

use super::{FunctionDef, Literal, Param, ParamType};
use crate::query::graphite::series::TimeSeries;

/// Most points one generated series may have.
const MAX_POINTS: i64 = 10_000_000;

pub static DEF: FunctionDef = FunctionDef {
    group: "Transform",
    signature: "(name, amplitude=1, step=60)",
    description: "A series whose value at each point is the sine of its timestamp times amplitude.",
    params: &[
        Param::new("name", ParamType::String).required(),
        // graphite-web's schema says integer, but it does not enforce its schema (by default)
        // and multiplies by any number: sin('s', 0.5) is a half-height wave there
        Param::new("amplitude", ParamType::Float).default(Literal::Int(1)),
        Param::new("step", ParamType::Integer).default(Literal::Int(60)),
    ],
    run: |ctx, args| {
        let name = args.string(0).unwrap_or_default().to_string();
        let amplitude = args.float_or(1, 1.0);
        let step = args.int(2).unwrap_or(60);
        if step <= 0 || (ctx.until - ctx.from) / step > MAX_POINTS {
            return Err(args.bad("step must be positive and give at most 10000000 points"));
        }
        let values = timestamps(ctx.from, ctx.until, step)
            .map(|t| Some((t as f64).sin() * amplitude))
            .collect();
        let mut s = TimeSeries::new(name, ctx.from, ctx.until, step, values);
        s.x_files_factor = ctx.x_files_factor.unwrap_or(0.0);
        Ok(vec![s])
    },
};

/// `from, from + step, ...` while before `until`.
pub fn timestamps(from: i64, until: i64, step: i64) -> impl Iterator<Item = i64> {
    (from..until).step_by(usize::try_from(step).unwrap_or(1).max(1))
}

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    // expected values: graphite-web's sinFunction (check_more_functions.py)
    #[test]
    fn sine_of_each_timestamp() {
        let out = eval("sin('s', 2, 10)");
        assert_eq!(names(&out), ["s"]);
        assert_eq!((out[0].start, out[0].end, out[0].step), (100, 140, 10));
        assert_eq!(
            vals(&out[0]),
            [
                Some(-1.0127312822195176),
                Some(-0.08848535617014193),
                Some(1.1612223684246286),
                Some(-1.8602119003735236)
            ]
        );
    }

    // graphite-web's schema calls amplitude an integer but does not enforce it (by default)
    #[test]
    fn fractional_amplitude() {
        let out = eval("sin('s', 0.5, 10)");
        assert_eq!(vals(&out[0])[0], Some((100f64).sin() * 0.5));
        let e = crate::query::graphite::functions::tests::ctx_none()
            .eval_target("sin('s', 'x')")
            .unwrap_err();
        assert!(e.is_client_error(), "{e}");
    }
}
