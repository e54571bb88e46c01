//! `perSecond(seriesList, maxValue=None, minValue=None)`: counter deltas per second, rounded
//! to 6 decimals as graphite-web rounds them.

use super::non_negative_derivative::deltas;
use super::{FunctionDef, Param, ParamType};

pub static DEF: FunctionDef = FunctionDef {
    group: "Transform",
    signature: "(seriesList, maxValue=None, minValue=None)",
    description: "The per-second rate of a counter (nonNegativeDerivative divided by the step).",
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
                let step = s.step as f64;
                let values = deltas(&s, max, min)
                    .into_iter()
                    .map(|d| d.map(|d| round6(d / step)))
                    .collect();
                s.tags.insert("perSecond".into(), "1".into());
                s.derive(format!("perSecond({})", s.name), values)
            })
            .collect())
    },
};

/// Python's `round(x, 6)` (round half to even on the decimal value, close enough for the
/// values a rate takes).
fn round6(x: f64) -> f64 {
    let r = (x * 1e6).round_ties_even() / 1e6;
    if r.is_finite() { r } else { x }
}

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn rate_per_second() {
        let out = eval("perSecond(c.wrap)");
        assert_eq!(names(&out), ["perSecond(c.wrap)"]);
        assert_eq!(vals(&out[0]), [None, Some(0.4), None, Some(0.7)]);
    }
}
