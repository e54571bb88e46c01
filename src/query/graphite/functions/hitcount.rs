//! `hitcount(seriesList, intervalString, alignToInterval=False)`: rates (hits per second)
//! turned into hit counts per interval bucket, a point spread over the buckets its step
//! covers. Buckets end at the series end; with alignToInterval the request start is floored
//! to the day, hour or minute (UTC) and the data fetched again from there.

use super::{FunctionDef, Literal, Param, ParamType};
use crate::query::graphite::series::TimeSeries;
use crate::query::time::parse_offset_seconds;

pub static DEF: FunctionDef = FunctionDef {
    group: "Transform",
    signature: "(seriesList, intervalString, alignToInterval=False)",
    description: "Estimates hit counts per interval from a list of rates (hits per second).",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("intervalString", ParamType::Interval)
            .required()
            .suggestions(&[
                Literal::Str("10min"),
                Literal::Str("1h"),
                Literal::Str("1d"),
            ]),
        Param::new("alignToInterval", ParamType::Boolean).default(Literal::Bool(false)),
    ],
    run: |ctx, args| {
        let text = args.string(1).unwrap_or_default().to_string();
        let interval = parse_offset_seconds(&text)
            .filter(|i| *i > 0)
            .ok_or_else(|| args.bad(format!("invalid interval {text}")))?;
        let align = args.bool_or(2, false);
        let mut list = args.series(0);
        if align {
            let unit = if interval >= 86_400 {
                86_400
            } else if interval >= 3600 {
                3600
            } else if interval >= 60 {
                60
            } else {
                1
            };
            let from = ctx.from - ctx.from.rem_euclid(unit);
            let raw = args
                .call
                .args
                .first()
                .ok_or_else(|| args.bad("missing seriesList"))?;
            list = ctx.with_range(from, ctx.until).eval_series(raw)?;
            for s in &mut list {
                let count = (s.end - s.start).div_euclid(interval);
                s.end = s.start + count * interval + interval;
            }
        }
        Ok(list
            .into_iter()
            .map(|mut s| {
                let (start, values) = buckets(&s, interval);
                s.tags.insert("hitcount".into(), text.clone());
                let name = format!(
                    "hitcount({}, \"{text}\"{})",
                    s.name,
                    if align { ", true" } else { "" }
                );
                let mut n = s.derive(name, values);
                n.start = start;
                n.step = interval;
                n
            })
            .collect())
    },
};

fn buckets(s: &TimeSeries, interval: i64) -> (i64, Vec<Option<f64>>) {
    let step = s.step;
    let count = usize::try_from(((s.end - s.start) as f64 / interval as f64).ceil() as i64)
        .unwrap_or(0)
        .min(10_000_000);
    let last = count as i64 - 1;
    let new_start = s.end - count as i64 * interval;
    let mut b: Vec<Option<f64>> = vec![None; count];
    let mut add = |i: i64, v: f64| {
        if let Some(slot) = usize::try_from(i).ok().and_then(|i| b.get_mut(i)) {
            *slot = Some(slot.unwrap_or(0.0) + v);
        }
    };
    for (i, v) in s.points().into_iter().enumerate() {
        let Some(v) = v else { continue };
        let t0 = s.start + i as i64 * step;
        let (sb, sm) = (
            (t0 - new_start).div_euclid(interval),
            (t0 - new_start).rem_euclid(interval),
        );
        let t1 = t0 + step;
        let (mut eb, mut em) = (
            (t1 - new_start).div_euclid(interval),
            (t1 - new_start).rem_euclid(interval),
        );
        if eb >= count as i64 {
            eb = last;
            em = interval;
        }
        if sb == eb {
            if sb >= 0 {
                add(sb, v * (em - sm) as f64);
            }
        } else {
            if sb >= 0 {
                add(sb, v * (interval - sm) as f64);
            }
            for j in sb + 1..eb {
                add(j, v * interval as f64);
            }
            if em > 0 {
                add(eb, v * em as f64);
            }
        }
    }
    (new_start, b)
}

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn counts_per_bucket() {
        // a.y = 10, 20, 30, 40 per second at 100..130, step 10
        let out = eval("hitcount(a.y, '20s')");
        assert_eq!(names(&out), [r#"hitcount(a.y, "20s")"#]);
        assert_eq!((out[0].start, out[0].step), (100, 20));
        assert_eq!(vals(&out[0]), [Some(300.0), Some(700.0)]);
        // buckets that do not divide the step (graphite-web: start 95, [100, 350, 550])
        let out = eval("hitcount(a.y, '15s')");
        assert_eq!(out[0].start, 95);
        assert_eq!(vals(&out[0]), [Some(100.0), Some(350.0), Some(550.0)]);
    }
}
