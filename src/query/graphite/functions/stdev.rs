//! `stdev(seriesList, points, windowTolerance=0.1)`: the population standard deviation of
//! each series over its last `points` values (the window grows from the first point), null
//! when fewer than `windowTolerance` of the window is known. Computed from running sums, as
//! graphite-web does, so the numbers match its to the last bit.

use super::{FunctionDef, Literal, Param, ParamType};

pub static DEF: FunctionDef = FunctionDef {
    group: "Calculate",
    signature: "(seriesList, points, windowTolerance=0.1)",
    description: "The standard deviation of each series over a moving window of points.",
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
        let mut list = args.series(0);
        for s in &mut list {
            s.tags.insert("stdev".into(), points.to_string());
            s.name = format!("stdev({},{points})", s.name);
            s.path_expression = s.name.clone();
            let (mut valid, mut sum, mut squares) = (0usize, 0.0f64, 0.0f64);
            let mut out = Vec::with_capacity(s.values.len());
            for i in 0..s.values.len() {
                if i >= window
                    && let Some(old) = s.values[i - window]
                {
                    valid -= 1;
                    sum -= old;
                    squares -= old * old;
                }
                if let Some(v) = s.values[i] {
                    valid += 1;
                    sum += v;
                    squares += v * v;
                }
                let known = valid as f64;
                let dev = (valid > 0 && known / points as f64 >= tolerance)
                    .then(|| (known * squares - sum * sum).sqrt() / known)
                    // Python's math.sqrt raises on a negative (rounding) and graphite-web
                    // writes None
                    .filter(|d| !d.is_nan());
                out.push(dev);
            }
            s.values = out;
        }
        Ok(list)
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn moving_standard_deviation_with_tolerance() {
        // a.x is 1, None, 3, 4
        let out = eval("stdev(a.x, 2)");
        assert_eq!(names(&out), ["stdev(a.x,2)"]);
        assert_eq!(out[0].tags["stdev"], "2");
        assert_eq!(vals(&out[0]), [Some(0.0), Some(0.0), Some(0.0), Some(0.5)]);
        let out = eval("stdev(a.x, 2, 0.75)");
        assert_eq!(vals(&out[0]), [None, None, None, Some(0.5)]);
    }
}
