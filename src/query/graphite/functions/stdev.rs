//! `stdev(seriesList, points, windowTolerance=0.1)`: the standard deviation of each series over
//! a moving window of `points` points, null where the window's share of non-null points is
//! below `windowTolerance`. Unlike movingWindow, nothing is fetched before `from`: the first
//! windows are partial, as in graphite-web.

use super::{FunctionDef, Literal, Param, ParamType};

pub static DEF: FunctionDef = FunctionDef {
    group: "Calculate",
    signature: "(seriesList, points, windowTolerance=0.1)",
    description: "The standard deviation of each series over the last `points` points; null where more than windowTolerance of the window is missing.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("points", ParamType::Integer).required(),
        Param::new("windowTolerance", ParamType::Float).default(Literal::Float(0.1)),
    ],
    run: |_, args| {
        let points = args
            .int(1)
            .filter(|p| *p > 0)
            .ok_or_else(|| args.bad("points must be a positive integer"))?;
        let tolerance = args.float_or(2, 0.1);
        let window = usize::try_from(points).unwrap_or(usize::MAX);
        let list = args.series(0);
        Ok(list
            .into_iter()
            .map(|mut s| {
                s.tags.insert("stdev".into(), points.to_string());
                let values = deviations(&s.points(), &s.values, window, tolerance);
                s.derive(format!("stdev({},{points})", s.name), values)
            })
            .collect())
    },
};

/// graphite-web's running sums: `points` are what the series yields, `raw` what indexing it
/// gives (they differ only for a consolidated series).
fn deviations(
    points: &[Option<f64>],
    raw: &[Option<f64>],
    window: usize,
    tolerance: f64,
) -> Vec<Option<f64>> {
    let mut valid: i64 = 0;
    let (mut sum, mut sum_sq) = (0.0f64, 0.0f64);
    let mut out = Vec::with_capacity(points.len());
    for (i, new) in points.iter().enumerate() {
        let dropped = if i < window {
            None
        } else {
            raw.get(i - window).copied().flatten()
        };
        if let Some(d) = dropped {
            valid -= 1;
            sum -= d;
            sum_sq -= d * d;
        }
        if let Some(v) = new {
            valid += 1;
            sum += v;
            sum_sq += v * v;
        }
        if valid > 0 && valid as f64 / window as f64 >= tolerance {
            let n = valid as f64;
            let d = n * sum_sq - sum * sum;
            out.push((d >= 0.0).then(|| d.sqrt() / n));
        } else {
            out.push(None);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    // expected values: graphite-web's stdev (check_more_functions.py)
    #[test]
    fn windows_start_partial_and_respect_tolerance() {
        let out = eval("stdev(a.y, 2)");
        assert_eq!(names(&out), ["stdev(a.y,2)"]);
        assert_eq!(out[0].tags["stdev"], "2");
        assert_eq!(vals(&out[0]), [Some(0.0), Some(5.0), Some(5.0), Some(5.0)]);
        let out = eval("stdev(a.x, 3, 0.5)");
        assert_eq!(vals(&out[0]), [None, None, Some(1.0), Some(0.5)]);
        assert!(
            crate::query::graphite::functions::tests::ctx_none()
                .eval_target("stdev(a.x, 0)")
                .is_err()
        );
    }
}
