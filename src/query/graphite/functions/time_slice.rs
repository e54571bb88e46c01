//! `timeSlice(seriesList, startSliceAt, endSliceAt='now')`: values outside the inclusive
//! slice become null. As in graphite-web, a point's time is counted from the request's
//! `from`, not from the series' own start.

use super::{FunctionDef, Literal, Param, ParamType};
use crate::query::graphite::eval::{Args, Context, EvalError, Value};
use crate::query::time::parse_time;

pub static DEF: FunctionDef = FunctionDef {
    group: "Transform",
    signature: "(seriesList, startSliceAt, endSliceAt='now')",
    description: "Keeps only the values between two times (inclusive), as from/until accept them.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("startSliceAt", ParamType::Date).required(),
        Param::new("endSliceAt", ParamType::Date).default(Literal::Str("now")),
    ],
    run: |ctx, args| {
        let start = date_arg(ctx, args, 1)?.unwrap_or(ctx.now);
        let end = date_arg(ctx, args, 2)?.unwrap_or(ctx.now);
        let list = args.series(0);
        Ok(list
            .into_iter()
            .map(|mut s| {
                s.tags.insert("timeSliceStart".into(), start.to_string());
                s.tags.insert("timeSliceEnd".into(), end.to_string());
                s.name = format!("timeSlice({}, {start}, {end})", s.name);
                let step = s.step;
                for (i, v) in s.values.iter_mut().enumerate() {
                    let t = ctx.from + i as i64 * step;
                    if t < start || t > end {
                        *v = None;
                    }
                }
                s
            })
            .collect())
    },
};

/// A `date` parameter (graphite-web's `parseATTime` against the request's `now`), in epoch
/// seconds; `None` when absent.
pub fn date_arg(ctx: &Context<'_>, args: &Args<'_>, i: usize) -> Result<Option<i64>, EvalError> {
    let text = match args.get(i) {
        None => return Ok(None),
        Some(Value::Int(n)) => n.to_string(),
        Some(Value::Str(s)) => s.clone(),
        Some(other) => return Err(args.bad(format!("invalid date {other:?}"))),
    };
    parse_time(&text, ctx.now.saturating_mul(1_000_000_000))
        .map(|ns| Some(ns.div_euclid(1_000_000_000)))
        .map_err(|e| args.bad(e.to_string()))
}

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn values_outside_the_inclusive_slice_are_null() {
        let out = eval("timeSlice(a.y, '110', '120')");
        assert_eq!(names(&out), ["timeSlice(a.y, 110, 120)"]);
        assert_eq!(vals(&out[0]), [None, Some(20.0), Some(30.0), None]);
        assert_eq!(out[0].path_expression, "a.y");
        assert_eq!(out[0].tags["timeSliceStart"], "110");
        assert_eq!(out[0].tags["timeSliceEnd"], "120");
        // endSliceAt defaults to now (1000 in the test context)
        let out = eval("timeSlice(a.y, '120')");
        assert_eq!(vals(&out[0]), [None, None, Some(30.0), Some(40.0)]);
    }
}
