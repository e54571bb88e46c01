//! `nonNegativeDerivative(seriesList, maxValue=None, minValue=None)`: counter deltas; a
//! decrease is a wrap (with maxValue/minValue) or null.

use super::{FunctionDef, Param, ParamType};
use crate::query::graphite::series::TimeSeries;

pub static DEF: FunctionDef = FunctionDef {
    group: "Transform",
    signature: "(seriesList, maxValue=None, minValue=None)",
    description: "The difference between each value and the one before it, for counters: a decrease is a counter wrap (computed with maxValue and minValue when given) or null.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("maxValue", ParamType::Float),
        Param::new("minValue", ParamType::Float),
    ],
    run: |_, args| {
        let (max, min) = (args.float(1), args.float(2));
        let list = args.series(0);
        Ok(list
            .into_iter()
            .map(|mut s| {
                let values = deltas(&s, max, min);
                s.tags.insert("nonNegativeDerivative".into(), "1".into());
                s.derive(format!("nonNegativeDerivative({})", s.name), values)
            })
            .collect())
    },
};

/// graphite-web's `_nonNegativeDelta` over a whole series.
pub fn deltas(s: &TimeSeries, max: Option<f64>, min: Option<f64>) -> Vec<Option<f64>> {
    let mut prev: Option<f64> = None;
    s.points()
        .into_iter()
        .map(|v| {
            let (d, p) = delta(v, prev, max, min);
            prev = p;
            d
        })
        .collect()
}

fn delta(
    val: Option<f64>,
    prev: Option<f64>,
    max: Option<f64>,
    min: Option<f64>,
) -> (Option<f64>, Option<f64>) {
    // Python 3 compares None > x as an error; graphite-web only reaches these with numbers
    if let (Some(m), Some(v)) = (max, val)
        && v > m
    {
        return (None, None);
    }
    if let (Some(m), Some(v)) = (min, val)
        && v < m
    {
        return (None, None);
    }
    let (Some(p), Some(v)) = (prev, val) else {
        return (None, val);
    };
    if v >= p {
        return (Some(v - p), val);
    }
    if let Some(m) = max {
        return (Some(m + 1.0 + v - p - min.unwrap_or(0.0)), val);
    }
    if let Some(m) = min {
        return (Some(v - m), val);
    }
    (None, val)
}

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn counter_wraps() {
        let out = eval("nonNegativeDerivative(c.wrap)");
        assert_eq!(names(&out), ["nonNegativeDerivative(c.wrap)"]);
        // c.wrap = 250, 254, 3, 10
        assert_eq!(vals(&out[0]), [None, Some(4.0), None, Some(7.0)]);
        let out = eval("nonNegativeDerivative(c.wrap, 255)");
        assert_eq!(vals(&out[0]), [None, Some(4.0), Some(5.0), Some(7.0)]);
        let out = eval("nonNegativeDerivative(c.wrap, maxValue=252)");
        assert_eq!(vals(&out[0]), [None, None, None, Some(7.0)]);
    }
}
