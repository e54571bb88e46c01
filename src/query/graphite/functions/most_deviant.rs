//! `mostDeviant(seriesList, n)`: the n series with the largest variance (sum of squared
//! deviations over the count of non-null points), largest first.

use super::highest::python_slice_end;
use super::{FunctionDef, Param, ParamType};

pub static DEF: FunctionDef = FunctionDef {
    group: "Filter Series",
    signature: "(seriesList, n)",
    description: "The n series whose values deviate most from their own mean.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("n", ParamType::Integer).required(),
    ],
    run: |_, args| {
        let n = args
            .int(1)
            .ok_or_else(|| args.bad("n must be an integer"))?;
        let mut keyed: Vec<(f64, _)> = args
            .series(0)
            .into_iter()
            .filter_map(|s| {
                let v: Vec<f64> = s.points().into_iter().flatten().collect();
                if v.is_empty() {
                    return None;
                }
                let mean = v.iter().sum::<f64>() / v.len() as f64;
                let sq: f64 = v.iter().map(|x| (x - mean).powi(2)).sum();
                Some((sq / v.len() as f64, s))
            })
            .collect();
        keyed.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut out: Vec<_> = keyed.into_iter().map(|(_, s)| s).collect();
        out.truncate(python_slice_end(n, out.len()));
        Ok(out)
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names};

    #[test]
    fn largest_variance_first() {
        assert_eq!(names(&eval("mostDeviant(a.*, 1)")), ["a.y"]);
        assert_eq!(names(&eval("mostDeviant(a.*, 5)")), ["a.y", "a.x"]);
    }
}
