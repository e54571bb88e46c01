//! `exponentialMovingAverage(seriesList, windowSize)`: EMA with `c = 2 / (window + 1)` (window
//! in points, or in seconds for an interval string, as graphite-web computes it), seeded with
//! the average of the window fetched before `from`; values rounded to 6 decimals.

use super::round::py_round;
use super::{FunctionDef, Literal, Param, ParamType};
use crate::query::graphite::eval::Value;
use crate::query::graphite::series::format_py_float;
use crate::query::time::parse_offset_seconds;

pub static DEF: FunctionDef = FunctionDef {
    group: "Calculate",
    signature: "(seriesList, windowSize)",
    description: "The exponential moving average of each series over windowSize (points or an interval).",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("windowSize", ParamType::IntOrInterval)
            .required()
            .suggestions(&[
                Literal::Int(5),
                Literal::Int(7),
                Literal::Int(10),
                Literal::Str("1min"),
                Literal::Str("5min"),
                Literal::Str("10min"),
                Literal::Str("30min"),
                Literal::Str("1hour"),
            ]),
    ],
    run: |ctx, args| {
        let list = args.series(0);
        if list.is_empty() {
            return Ok(Vec::new());
        }
        let max_step = list.iter().map(|s| s.step).max().unwrap_or(1);
        // (preview seconds, constant, text, points if a count, quoted in the name)
        let (preview, constant, text, points, quoted) = match args.get(1) {
            Some(Value::Int(n)) => (
                max_step.saturating_mul(*n),
                2.0 / (*n as f64 + 1.0),
                n.to_string(),
                Some(*n),
                false,
            ),
            Some(Value::Float(f)) if f.is_finite() => {
                let n = f.trunc() as i64;
                (
                    max_step.saturating_mul(n),
                    2.0 / (n as f64 + 1.0),
                    format_py_float(*f),
                    Some(n),
                    false,
                )
            }
            Some(Value::Str(s)) => {
                let secs = parse_offset_seconds(s)
                    .ok_or_else(|| args.bad(format!("invalid interval {s}")))?
                    .abs();
                (secs, 2.0 / (secs as f64 + 1.0), s.clone(), None, true)
            }
            _ => return Err(args.bad("windowSize must be a number of points or an interval")),
        };
        let raw = args
            .call
            .args
            .first()
            .ok_or_else(|| args.bad("missing seriesList"))?;
        let wider = ctx.with_range(ctx.from.saturating_sub(preview), ctx.until);
        let mut out = Vec::new();
        for mut s in wider.eval_series(raw)? {
            let w = usize::try_from(points.unwrap_or(preview / s.step.max(1))).unwrap_or(0);
            let name = if quoted {
                format!("exponentialMovingAverage({},\"{text}\")", s.name)
            } else {
                format!("exponentialMovingAverage({},{text})", s.name)
            };
            s.tags
                .insert("exponentialMovingAverage".into(), text.clone());
            let seed: Vec<f64> = s.values.iter().take(w).flatten().copied().collect();
            let mut ema = if seed.is_empty() {
                0.0
            } else {
                seed.iter().sum::<f64>() / seed.len() as f64
            };
            let mut values = vec![Some(py_round(ema, 6))];
            for v in s.values.iter().skip(w) {
                values.push(v.map(|x| {
                    ema = constant * x + (1.0 - constant) * ema;
                    py_round(ema, 6)
                }));
            }
            let mut n = s.derive(name, values);
            n.start = s.start.saturating_add(preview);
            out.push(n);
        }
        Ok(out)
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn seeded_ema() {
        // t.shift: 8, 9 before from (window 2), then 10, 11, 12, 13; c = 2/3
        let out = eval("exponentialMovingAverage(t.shift, 2)");
        assert_eq!(names(&out), ["exponentialMovingAverage(t.shift,2)"]);
        let v = vals(&out[0]);
        assert_eq!(v[0], Some(8.5));
        assert_eq!(v[1], Some(9.5));
        assert_eq!(v[2], Some(10.5));
        assert_eq!(v.len(), 5);
    }
}
