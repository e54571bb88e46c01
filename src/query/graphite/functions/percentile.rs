//! `percentileOfSeries(seriesList, n, interpolate=False)` (across series at each timestamp)
//! and `nPercentile(seriesList, n)` (over each series' points, drawn flat), with graphite-web's
//! rank rule: rank `n/100 * (count + 1)`, rounded up unless interpolating.

use super::{FunctionDef, Literal, Param, ParamType, normalize, rows};
use crate::query::graphite::series::{TimeSeries, format_g, format_py_float};

pub static OF_SERIES: FunctionDef = FunctionDef {
    group: "Combine",
    signature: "(seriesList, n, interpolate=False)",
    description: "The n-th percentile of the series' values at each timestamp.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("n", ParamType::Float).required(),
        Param::new("interpolate", ParamType::Boolean).default(Literal::Bool(false)),
    ],
    run: |ctx, args| {
        let n = args
            .float(1)
            .ok_or_else(|| args.bad("n must be a number"))?;
        if n <= 0.0 {
            return Err(args.bad("the requested percent is required to be greater than 0"));
        }
        let interpolate = args.bool_or(2, false);
        let list = args.series(0);
        let Some(first) = list.first() else {
            return Ok(Vec::new());
        };
        let name = format!(
            "percentileOfSeries({},{})",
            first.path_expression,
            format_g(n)
        );
        let Some((list, start, end, step)) = normalize(vec![list]) else {
            return Ok(Vec::new());
        };
        let values = rows(&list)
            .iter()
            .map(|r| percentile(r, n, interpolate))
            .collect();
        let mut s = TimeSeries::new(name, start, end, step, values);
        s.x_files_factor = ctx.x_files_factor.unwrap_or(0.0);
        Ok(vec![s])
    },
};

pub static N_PERCENTILE: FunctionDef = FunctionDef {
    group: "Calculate",
    signature: "(seriesList, n)",
    description: "A flat line at the n-th percentile of each series' points.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("n", ParamType::Float).required(),
    ],
    run: |_, args| {
        let n = args
            .float(1)
            .ok_or_else(|| args.bad("n must be a number"))?;
        if n == 0.0 {
            return Err(args.bad("the requested percent is required to be greater than 0"));
        }
        let list = args.series(0);
        let mut out = Vec::new();
        for mut s in list {
            let Some(p) = percentile(&s.points(), n, false) else {
                continue;
            };
            s.tags.insert("nPercentile".into(), format_py_float(n));
            let count = usize::try_from((s.end - s.start) / s.step.max(1)).unwrap_or(0);
            out.push(s.derive(
                format!("nPercentile({}, {})", s.name, format_g(n)),
                vec![Some(p); count],
            ));
        }
        Ok(out)
    },
};

/// graphite-web's `_getPercentile`.
pub fn percentile(points: &[Option<f64>], n: f64, interpolate: bool) -> Option<f64> {
    let mut sorted: Vec<f64> = points.iter().flatten().copied().collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let fractional = n / 100.0 * (sorted.len() + 1) as f64;
    let mut rank = fractional.trunc() as i64;
    let frac = fractional - rank as f64;
    if !interpolate {
        rank += frac.ceil() as i64;
    }
    let len = sorted.len() as i64;
    let mut p = if rank == 0 {
        sorted[0]
    } else if rank > len {
        // graphite-web indexes past the end only for n > 100, which Python answers with an
        // IndexError; the last value is the sensible reading
        sorted[sorted.len() - 1]
    } else if rank < 0 {
        // a negative n indexes from the end in Python
        let i = (len + rank - 1).max(0) as usize;
        sorted[i.min(sorted.len() - 1)]
    } else {
        sorted[(rank - 1) as usize]
    };
    if interpolate && rank != len && rank >= 0 && (rank as usize) < sorted.len() {
        p += frac * (sorted[rank as usize] - p);
    }
    Some(p)
}

#[cfg(test)]
mod tests {
    use super::percentile;
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn ranks_as_graphite_web() {
        let v: Vec<Option<f64>> = [1.0, 2.0, 3.0, 4.0].into_iter().map(Some).collect();
        assert_eq!(percentile(&v, 50.0, false), Some(3.0));
        assert_eq!(percentile(&v, 50.0, true), Some(2.5));
        assert_eq!(percentile(&v, 100.0, false), Some(4.0));
        assert_eq!(percentile(&[None], 50.0, false), None);
        let out = eval("percentileOfSeries(a.*, 50)");
        assert_eq!(names(&out), ["percentileOfSeries(a.*,50)"]);
        assert_eq!(
            vals(&out[0]),
            [Some(10.0), Some(20.0), Some(30.0), Some(40.0)]
        );
        let out = eval("nPercentile(a.y, 50)");
        assert_eq!(names(&out), ["nPercentile(a.y, 50)"]);
        assert_eq!(vals(&out[0]), [Some(30.0); 4]);
    }
}
