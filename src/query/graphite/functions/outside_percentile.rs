//! `averageOutsidePercentile(seriesList, n)` and `removeBetweenPercentile(seriesList, n)`:
//! keep the series whose average (or any point) lies outside the band between the
//! (100-n)-th and n-th percentiles across the list (n below 50 is mirrored). Where
//! graphite-web would compare against a null (a Python 3 error) the point counts as outside.

use super::percentile::percentile;
use super::{FunctionDef, Param, ParamType};

const PARAMS: &[Param] = &[
    Param::new("seriesList", ParamType::SeriesList).required(),
    Param::new("n", ParamType::Float).required(),
];

fn avg(v: &[Option<f64>]) -> Option<f64> {
    let x: Vec<f64> = v.iter().flatten().copied().collect();
    (!x.is_empty()).then(|| x.iter().sum::<f64>() / x.len() as f64)
}

fn between(low: Option<f64>, v: Option<f64>, high: Option<f64>) -> bool {
    matches!((low, v, high), (Some(l), Some(v), Some(h)) if l < v && v < h)
}

pub static AVERAGE: FunctionDef = FunctionDef {
    group: "Filter Series",
    signature: "(seriesList, n)",
    description: "Keeps the series whose average lies outside the n-th percentile band of all the averages.",
    params: PARAMS,
    run: |_, args| {
        let mut n = args
            .float(1)
            .ok_or_else(|| args.bad("n must be a number"))?;
        if n < 50.0 {
            n = 100.0 - n;
        }
        let list = args.series(0);
        let averages: Vec<Option<f64>> = list.iter().map(|s| avg(&s.points())).collect();
        let low = percentile(&averages, 100.0 - n, false);
        let high = percentile(&averages, n, false);
        Ok(list
            .into_iter()
            .zip(averages)
            .filter(|(_, a)| !between(low, *a, high))
            .map(|(s, _)| s)
            .collect())
    },
};

pub static REMOVE_BETWEEN: FunctionDef = FunctionDef {
    group: "Filter Series",
    signature: "(seriesList, n)",
    description: "Removes the series whose every point lies between the (100-n)-th and n-th percentiles of the points at its timestamp.",
    params: PARAMS,
    run: |_, args| {
        let mut n = args
            .float(1)
            .ok_or_else(|| args.bad("n must be a number"))?;
        if n < 50.0 {
            n = 100.0 - n;
        }
        let list = args.series(0);
        let points: Vec<Vec<Option<f64>>> = list.iter().map(|s| s.points()).collect();
        // zip(*seriesList): as many columns as the shortest series has points
        let cols = points.iter().map(Vec::len).min().unwrap_or(0);
        let bands: Vec<(Option<f64>, Option<f64>)> = (0..cols)
            .map(|i| {
                let col: Vec<Option<f64>> = points.iter().map(|p| p[i]).collect();
                (
                    percentile(&col, 100.0 - n, false),
                    percentile(&col, n, false),
                )
            })
            .collect();
        Ok(list
            .into_iter()
            .zip(points)
            .filter(|(_, p)| bands.iter().zip(p).any(|((l, h), v)| !between(*l, *v, *h)))
            .map(|(s, _)| s)
            .collect())
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names};

    #[test]
    fn outside_the_band() {
        // two series: each is a percentile edge, so none is strictly between
        assert_eq!(
            names(&eval("averageOutsidePercentile(a.*, 90)")),
            ["a.x", "a.y"]
        );
        assert_eq!(
            names(&eval("removeBetweenPercentile(a.*, 10)")),
            ["a.x", "a.y"]
        );
    }
}
