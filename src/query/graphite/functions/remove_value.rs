//! `removeAboveValue(seriesList, n)` and `removeBelowValue(seriesList, n)`: values above (or
//! below) n become null.

use super::{FunctionDef, Param, ParamType};
use crate::query::graphite::eval::{Args, EvalError};
use crate::query::graphite::series::{TimeSeries, format_g};

const PARAMS: &[Param] = &[
    Param::new("seriesList", ParamType::SeriesList).required(),
    Param::new("n", ParamType::Float).required(),
];

pub static ABOVE: FunctionDef = FunctionDef {
    group: "Filter Data",
    signature: "(seriesList, n)",
    description: "Removes (nulls) data above n.",
    params: PARAMS,
    run: |_, args| remove(args, true),
};

pub static BELOW: FunctionDef = FunctionDef {
    group: "Filter Data",
    signature: "(seriesList, n)",
    description: "Removes (nulls) data below n.",
    params: PARAMS,
    run: |_, args| remove(args, false),
};

fn remove(args: &mut Args<'_>, above: bool) -> Result<Vec<TimeSeries>, EvalError> {
    let n = args
        .float(1)
        .ok_or_else(|| args.bad("n must be a number"))?;
    let mut list = args.series(0);
    let f = if above {
        "removeAboveValue"
    } else {
        "removeBelowValue"
    };
    for s in &mut list {
        s.name = format!("{f}({}, {})", s.name, format_g(n));
        s.path_expression = s.name.clone();
        for v in &mut s.values {
            if v.is_some_and(|x| if above { x > n } else { x < n }) {
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
    fn nulls_outside() {
        let out = eval("removeAboveValue(a.y, 25)");
        assert_eq!(names(&out), ["removeAboveValue(a.y, 25)"]);
        assert_eq!(vals(&out[0]), [Some(10.0), Some(20.0), None, None]);
        let out = eval("removeBelowValue(a.y, 25)");
        assert_eq!(vals(&out[0]), [None, None, Some(30.0), Some(40.0)]);
    }
}
