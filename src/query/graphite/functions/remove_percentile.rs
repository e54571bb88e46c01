//! `removeAbovePercentile(seriesList, n)` and `removeBelowPercentile(seriesList, n)`: values
//! above (below) the series' own n-th percentile become null.

use super::percentile::percentile;
use super::{FunctionDef, Param, ParamType};
use crate::query::graphite::eval::{Args, EvalError};
use crate::query::graphite::series::{TimeSeries, format_g, format_py_float};

const PARAMS: &[Param] = &[
    Param::new("seriesList", ParamType::SeriesList).required(),
    Param::new("n", ParamType::Float).required(),
];

pub static ABOVE: FunctionDef = FunctionDef {
    group: "Filter Data",
    signature: "(seriesList, n)",
    description: "Removes (nulls) data above the n-th percentile of each series.",
    params: PARAMS,
    run: |_, args| remove(args, true),
};

pub static BELOW: FunctionDef = FunctionDef {
    group: "Filter Data",
    signature: "(seriesList, n)",
    description: "Removes (nulls) data below the n-th percentile of each series.",
    params: PARAMS,
    run: |_, args| remove(args, false),
};

fn remove(args: &mut Args<'_>, above: bool) -> Result<Vec<TimeSeries>, EvalError> {
    let n = args
        .float(1)
        .ok_or_else(|| args.bad("n must be a number"))?;
    let f = if above {
        "removeAbovePercentile"
    } else {
        "removeBelowPercentile"
    };
    let mut list = args.series(0);
    for s in &mut list {
        s.name = format!("{f}({}, {})", s.name, format_g(n));
        s.path_expression = s.name.clone();
        let Some(p) = percentile(&s.points(), n, false) else {
            continue;
        };
        // graphite-web's nPercentile tags a copy sharing this series' tags, so it shows here
        s.tags.insert("nPercentile".into(), format_py_float(n));
        // an empty range gives nPercentile no point to read: the series is left unchanged
        if (s.end - s.start) / s.step.max(1) <= 0 {
            continue;
        }
        for v in &mut s.values {
            let drop = match v {
                Some(x) => {
                    if above {
                        *x > p
                    } else {
                        *x < p
                    }
                }
                None => !above,
            };
            if drop {
                *v = None;
            }
        }
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn percentile_cut() {
        let out = eval("removeAbovePercentile(a.y, 50)");
        assert_eq!(names(&out), ["removeAbovePercentile(a.y, 50)"]);
        assert_eq!(vals(&out[0]), [Some(10.0), Some(20.0), Some(30.0), None]);
        assert_eq!(out[0].tags["nPercentile"], "50.0");
        let out = eval("removeBelowPercentile(a.y, 50)");
        assert_eq!(vals(&out[0]), [None, None, Some(30.0), Some(40.0)]);
    }
}
