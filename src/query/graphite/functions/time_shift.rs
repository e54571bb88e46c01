//! `timeShift(seriesList, timeShift, resetEnd=True, alignDst=False)`: the first argument
//! evaluated again over a range shifted into the past (a bare `1d` means `-1d`), drawn at
//! the request's range.

use super::{FunctionDef, Literal, Param, ParamType};
use crate::query::graphite::eval::EvalError;
use crate::query::time::parse_offset_seconds;

pub static DEF: FunctionDef = FunctionDef {
    group: "Transform",
    signature: "(seriesList, timeShift, resetEnd=True, alignDST=False)",
    description: "Draws the selected metrics shifted in time; a shift without sign goes into the past.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("timeShift", ParamType::Interval)
            .required()
            .suggestions(&[
                Literal::Str("1h"),
                Literal::Str("6h"),
                Literal::Str("12h"),
                Literal::Str("1d"),
                Literal::Str("2d"),
                Literal::Str("7d"),
                Literal::Str("14d"),
                Literal::Str("30d"),
            ]),
        Param::new("resetEnd", ParamType::Boolean).default(Literal::Bool(true)),
        Param::new("alignDst", ParamType::Boolean).default(Literal::Bool(false)),
    ],
    run: |ctx, args| {
        let mut shift = args
            .string(1)
            .ok_or_else(|| args.bad("timeShift must be a string"))?
            .to_string();
        if shift.starts_with(|c: char| c.is_ascii_digit()) {
            shift.insert(0, '-');
        }
        let delta = parse_offset_seconds(&shift)
            .ok_or_else(|| args.bad(format!("invalid interval {shift}")))?;
        let reset_end = args.bool_or(2, true);
        // alignDST only matters in a local time zone with DST; telltale renders in UTC
        let original = args.series(0);
        let Some(first) = original.first() else {
            return Ok(Vec::new());
        };
        let (start, end) = (first.start, first.end);
        let raw = args
            .call
            .args
            .first()
            .ok_or_else(|| EvalError::bad("timeShift", "missing seriesList"))?;
        let shifted = ctx.with_range(
            ctx.from.saturating_add(delta),
            ctx.until.saturating_add(delta),
        );
        let mut out = shifted.eval_series(raw)?;
        for s in &mut out {
            s.tags.insert("timeShift".into(), shift.clone());
            s.name = format!("timeShift({}, \"{shift}\")", s.name);
            s.end = if reset_end {
                end
            } else {
                s.end - s.start + start
            };
            s.start = start;
        }
        Ok(out)
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn refetches_the_shifted_range() {
        // the test backend stores t.shift with value = timestamp / 10 over 0..=200
        let out = eval("timeShift(t.shift, '20s')");
        assert_eq!(names(&out), [r#"timeShift(t.shift, "-20s")"#]);
        assert_eq!(out[0].start, 100);
        assert_eq!(vals(&out[0])[0], Some(8.0));
        let out = eval("timeShift(t.shift, '+10s')");
        assert_eq!(vals(&out[0])[0], Some(11.0));
        // graphite-web's keyword is alignDST although its schema says alignDst
        let out = eval("timeShift(t.shift, '20s', alignDST=True)");
        assert_eq!(vals(&out[0])[0], Some(8.0));
    }
}
