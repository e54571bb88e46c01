//! `summarize(seriesList, intervalString, func='sum', alignToFrom=False)`: buckets of
//! `interval` seconds, aligned to the interval (or to the series start with alignToFrom).
//! As graphite-web, a bucket also takes the last point at or before its start, so with
//! unaligned data the point straddling a bucket edge counts in the later bucket.

use super::aggregate::agg_func;
use super::{FunctionDef, Literal, Param, ParamType};
use crate::query::graphite::series::TimeSeries;
use crate::query::time::parse_offset_seconds;

/// Most buckets one series may be summarized into.
const MAX_BUCKETS: i64 = 10_000_000;

pub static DEF: FunctionDef = FunctionDef {
    group: "Transform",
    signature: "(seriesList, intervalString, func='sum', alignToFrom=False)",
    description: "Summarizes each series into buckets of the given interval with func (sum by default).",
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
        Param::new("alignToFrom", ParamType::Boolean).default(Literal::Bool(false)),
    ],
    run: |_, args| {
        let text = args
            .string(1)
            .ok_or_else(|| args.bad("intervalString must be a string"))?
            .to_string();
        let interval = parse_offset_seconds(&text)
            .filter(|i| *i > 0)
            .ok_or_else(|| args.bad(format!("invalid interval {text}")))?;
        let func = args.string(2).unwrap_or("sum").to_string();
        let agg = agg_func(&func)
            .ok_or_else(|| args.bad(format!("unsupported aggregation function: {func}")))?;
        let align = args.bool_or(3, false);
        let list = args.series(0);
        // bounds the work a request can ask for (a 1 s interval over years)
        if list
            .iter()
            .any(|s| (s.end - s.start) / interval > MAX_BUCKETS)
        {
            return Err(args.bad(format!("more than {MAX_BUCKETS} buckets")));
        }
        Ok(list
            .into_iter()
            .map(|mut s| {
                let (start, end) = if align {
                    (s.start, s.end)
                } else {
                    (
                        s.start - s.start.rem_euclid(interval),
                        s.end - s.end.rem_euclid(interval) + interval,
                    )
                };
                let (values, aligned_end) = summarize_values(&s, agg, interval, start, end);
                s.tags.insert("summarize".into(), text.clone());
                s.tags.insert("summarizeFunction".into(), func.clone());
                let name = format!(
                    "summarize({}, \"{text}\", \"{func}\"{})",
                    s.name,
                    if align { ", true" } else { "" }
                );
                let mut n = s.derive(name, values);
                n.start = start;
                n.end = if align { aligned_end } else { end };
                n.step = interval;
                n
            })
            .collect())
    },
};

/// graphite-web's `_summarizeValues`.
pub fn summarize_values(
    s: &TimeSeries,
    agg: fn(&[Option<f64>]) -> Option<f64>,
    interval: i64,
    start: i64,
    end: i64,
) -> (Vec<Option<f64>>, i64) {
    let points = s.points();
    let step = s.step.max(1);
    let timestamps: Vec<i64> = (s.start..s.end).step_by(step as usize).collect();
    let n = timestamps.len().min(points.len());
    let interval_points = interval as f64 / step as f64;
    let mut out = Vec::new();
    let mut i = 0;
    let mut t = start;
    while t < end {
        let mut first = i;
        let mut non_null = 0usize;
        while i < n && timestamps[i] < t + interval {
            if timestamps[i] <= t {
                first = i;
            }
            if timestamps[i] >= t && points[i].is_some() {
                non_null += 1;
            }
            i += 1;
        }
        let ok = non_null > 0 && non_null as f64 / interval_points >= s.x_files_factor;
        out.push(if ok { agg(&points[first..i]) } else { None });
        t += interval;
    }
    (out, t)
}

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn buckets_aligned_to_interval_or_from() {
        // a.y = 10, 20, 30, 40 at 100..130
        let out = eval("summarize(a.y, '20s')");
        assert_eq!(names(&out), [r#"summarize(a.y, "20s", "sum")"#]);
        assert_eq!((out[0].start, out[0].end, out[0].step), (100, 160, 20));
        assert_eq!(vals(&out[0]), [Some(30.0), Some(70.0), None]);
        let out = eval("summarize(a.y, '30s', 'max', true)");
        assert_eq!(names(&out), [r#"summarize(a.y, "30s", "max", true)"#]);
        assert_eq!((out[0].start, out[0].end), (100, 160));
        assert_eq!(vals(&out[0]), [Some(30.0), Some(40.0)]);
        // unaligned: 90-aligned buckets of 30 s take the point at their start
        let out = eval("summarize(a.y, '30s')");
        assert_eq!(out[0].start, 90);
        assert_eq!(vals(&out[0]), [Some(30.0), Some(70.0)]);
    }
}
