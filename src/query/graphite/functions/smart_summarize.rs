//! `smartSummarize(seriesList, intervalString, func='sum', alignTo=None)`: summarize with
//! buckets that start at the series' start. With `alignTo` (a unit: years, months, weeks
//! (optionally `weeks<ISO weekday>`), days, hours, minutes, seconds) the request's start is
//! first floored to that unit (UTC) and the first argument evaluated again from there; a
//! boolean alignTo is the deprecated alignToFrom and ignored, as in graphite-web.

use super::aggregate::agg_func;
use super::summarize::summarize_values;
use super::{FunctionDef, Literal, Param, ParamType};
use crate::model::time::{civil_from_days, days_from_civil};
use crate::query::graphite::eval::Value;
use crate::query::time::parse_offset_seconds;

pub static DEF: FunctionDef = FunctionDef {
    group: "Transform",
    signature: "(seriesList, intervalString, func='sum', alignTo=None)",
    description: "Summarizes each series into buckets of the given interval from its start, optionally aligning the start to a unit (alignTo) first.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("intervalString", ParamType::Interval)
            .required()
            .suggestions(&[
                Literal::Str("10min"),
                Literal::Str("1h"),
                Literal::Str("1d"),
            ]),
        Param::new("func", ParamType::AggFunc).default(Literal::Str("sum")),
        Param::new("alignTo", ParamType::String).literal_options(&[
            Literal::Bool(false),
            Literal::Null,
            Literal::Bool(true),
            Literal::Str("days"),
            Literal::Str("hours"),
            Literal::Str("minutes"),
            Literal::Str("months"),
            Literal::Str("seconds"),
            Literal::Str("weeks"),
            Literal::Str("years"),
        ]),
    ],
    run: |ctx, args| {
        let text = args.string(1).unwrap_or_default().to_string();
        let interval = parse_offset_seconds(&text)
            .filter(|i| *i > 0)
            .ok_or_else(|| args.bad(format!("invalid interval {text}")))?;
        let func = args.string(2).unwrap_or("sum").to_string();
        let agg = agg_func(&func)
            .ok_or_else(|| args.bad(format!("unsupported aggregation function: {func}")))?;
        let mut list = match args.get(3) {
            Some(Value::Str(unit)) => {
                let from = align(ctx.from, unit)
                    .ok_or_else(|| args.bad(format!("invalid offset unit '{unit}'")))?;
                let raw = args
                    .call
                    .args
                    .first()
                    .ok_or_else(|| args.bad("missing seriesList"))?;
                ctx.with_range(from, ctx.until).eval_series(raw)?
            }
            _ => args.series(0),
        };
        if list
            .iter()
            .any(|s| (s.end - s.start) / interval > 10_000_000)
        {
            return Err(args.bad("more than 10000000 buckets"));
        }
        Ok(list
            .drain(..)
            .map(|mut s| {
                let (values, end) = summarize_values(&s, agg, interval, s.start, s.end);
                s.tags.insert("smartSummarize".into(), text.clone());
                s.tags.insert("smartSummarizeFunction".into(), func.clone());
                let name = format!("smartSummarize({}, \"{text}\", \"{func}\")", s.name);
                let mut n = s.derive(name, values);
                n.end = end;
                n.step = interval;
                n
            })
            .collect())
    },
};

/// `t` floored to the start of its year, month, ISO week (Monday or the given weekday), day,
/// hour, minute or second, in UTC; graphite-web's `getUnitString` decides the unit.
fn align(t: i64, unit: &str) -> Option<i64> {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let (y, m, _) = civil_from_days(days);
    Some(if unit.starts_with('s') {
        t
    } else if unit.starts_with("min") {
        t - secs % 60
    } else if unit.starts_with('h') {
        t - secs % 3600
    } else if unit.starts_with('d') {
        days * 86_400
    } else if unit.starts_with('w') {
        let target = match unit.chars().last() {
            Some(c) if c.is_ascii_digit() => i64::from(c.to_digit(10)?),
            _ => 1,
        };
        // 1970-01-01 was a Thursday (ISO weekday 4)
        let weekday = (days + 3).rem_euclid(7) + 1;
        let mut back = weekday - target;
        if back < 0 {
            back += 7;
        }
        (days - back) * 86_400
    } else if unit.starts_with("mon") {
        days_from_civil(y, m, 1) * 86_400
    } else if unit.starts_with('y') {
        days_from_civil(y, 1, 1) * 86_400
    } else {
        return None;
    })
}

#[cfg(test)]
mod tests {
    use super::align;
    use crate::query::graphite::functions::tests::{eval, names, vals};

    // expected values: graphite-web's smartSummarize (check_more_functions.py)
    #[test]
    fn buckets_from_the_start_or_the_aligned_refetch() {
        let out = eval("smartSummarize(a.y, '20s')");
        assert_eq!(names(&out), [r#"smartSummarize(a.y, "20s", "sum")"#]);
        assert_eq!((out[0].start, out[0].end, out[0].step), (100, 140, 20));
        assert_eq!(vals(&out[0]), [Some(30.0), Some(70.0)]);
        assert_eq!(out[0].tags["smartSummarizeFunction"], "sum");
        let out = eval("smartSummarize(t.shift, '30s', 'sum', 'minutes')");
        assert_eq!((out[0].start, out[0].end, out[0].step), (60, 150, 30));
        assert_eq!(vals(&out[0]), [Some(21.0), Some(30.0), Some(25.0)]);
        // a boolean is the ignored alignToFrom
        let out = eval("smartSummarize(t.shift, '30s', 'max', true)");
        assert_eq!((out[0].start, out[0].end), (100, 160));
        assert_eq!(vals(&out[0]), [Some(12.0), Some(13.0)]);
    }

    #[test]
    fn aligns_to_calendar_units() {
        // 2026-11-25T13:47:12Z, a Wednesday
        let day = crate::model::time::days_from_civil(2026, 11, 25) * 86_400;
        let t = day + 13 * 3600 + 47 * 60 + 12;
        assert_eq!(align(t, "seconds"), Some(t));
        assert_eq!(align(t, "minutes"), Some(t - 12));
        assert_eq!(align(t, "hours"), Some(t - 47 * 60 - 12));
        assert_eq!(align(t, "days"), Some(day));
        assert_eq!(align(t, "weeks"), Some(day - 2 * 86_400));
        assert_eq!(align(t, "weeks3"), Some(day));
        assert_eq!(align(t, "weeks4"), Some(day - 6 * 86_400));
        assert_eq!(
            align(t, "months"),
            Some(crate::model::time::days_from_civil(2026, 11, 1) * 86_400)
        );
        assert_eq!(
            align(t, "y"),
            Some(crate::model::time::days_from_civil(2026, 1, 1) * 86_400)
        );
        assert_eq!(align(t, "nope"), None);
    }
}
