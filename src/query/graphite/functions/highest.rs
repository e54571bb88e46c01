//! `highest(seriesList, n=1, func='average')`, `lowest(...)` and their named forms
//! (highestCurrent/Average/Max, lowestCurrent/Average): the n series with the largest (or
//! smallest) `func` of their values; a series whose `func` is null sorts as -infinity. The
//! sort is stable, as Python's, so ties keep their order.

use super::aggregate::agg_func;
use super::{FunctionDef, Literal, Param, ParamType};
use crate::query::graphite::eval::{Args, EvalError};
use crate::query::graphite::series::TimeSeries;

const N_PARAMS: &[Param] = &[
    Param::new("seriesList", ParamType::SeriesList).required(),
    Param::new("n", ParamType::Integer).required(),
];

const FUNC_PARAMS: &[Param] = &[
    Param::new("seriesList", ParamType::SeriesList).required(),
    Param::new("n", ParamType::Integer).required(),
    Param::new("func", ParamType::AggFunc).default(Literal::Str("average")),
];

pub static HIGHEST: FunctionDef = FunctionDef {
    group: "Filter Series",
    signature: "(seriesList, n=1, func='average')",
    description: "The n series with the highest value of func (an aggregation function) over their points.",
    params: FUNC_PARAMS,
    run: |_, args| {
        let f = args.string(2).unwrap_or("average").to_string();
        pick(args, &f, true)
    },
};

pub static LOWEST: FunctionDef = FunctionDef {
    group: "Filter Series",
    signature: "(seriesList, n=1, func='average')",
    description: "The n series with the lowest value of func (an aggregation function) over their points.",
    params: FUNC_PARAMS,
    run: |_, args| {
        let f = args.string(2).unwrap_or("average").to_string();
        pick(args, &f, false)
    },
};

macro_rules! named {
    ($name:ident, $func:literal, $high:literal, $desc:literal) => {
        pub static $name: FunctionDef = FunctionDef {
            group: "Filter Series",
            signature: "(seriesList, n)",
            description: $desc,
            params: N_PARAMS,
            run: |_, args| pick(args, $func, $high),
        };
    };
}

named!(
    HIGHEST_CURRENT,
    "current",
    true,
    "The n series with the highest last non-null value."
);
named!(
    HIGHEST_AVERAGE,
    "average",
    true,
    "The n series with the highest average."
);
named!(
    HIGHEST_MAX,
    "max",
    true,
    "The n series with the highest maximum."
);
named!(
    LOWEST_CURRENT,
    "current",
    false,
    "The n series with the lowest last non-null value."
);
named!(
    LOWEST_AVERAGE,
    "average",
    false,
    "The n series with the lowest average."
);

fn pick(args: &mut Args<'_>, func: &str, highest: bool) -> Result<Vec<TimeSeries>, EvalError> {
    let agg = agg_func(func)
        .ok_or_else(|| args.bad(format!("unsupported aggregation function: {func}")))?;
    let n = args.int(1).unwrap_or(1);
    let list = args.series(0);
    let mut keyed: Vec<(f64, TimeSeries)> = list
        .into_iter()
        .map(|s| (agg(&s.points()).unwrap_or(f64::NEG_INFINITY), s))
        .collect();
    if highest {
        keyed.sort_by(|a, b| b.0.total_cmp(&a.0));
    } else {
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    let mut out: Vec<TimeSeries> = keyed.into_iter().map(|(_, s)| s).collect();
    out.truncate(python_slice_end(n, out.len()));
    Ok(out)
}

/// Python's `list[:n]` end index (negative counts from the end).
pub fn python_slice_end(n: i64, len: usize) -> usize {
    if n >= 0 {
        usize::try_from(n).unwrap_or(usize::MAX).min(len)
    } else {
        len.saturating_sub(usize::try_from(n.unsigned_abs()).unwrap_or(usize::MAX))
    }
}

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names};

    #[test]
    fn picks_by_aggregate() {
        assert_eq!(names(&eval("highestCurrent(a.*, 1)")), ["a.y"]);
        assert_eq!(names(&eval("lowestAverage(a.*, 1)")), ["a.x"]);
        assert_eq!(names(&eval("highest(a.*, 2, 'min')")), ["a.y", "a.x"]);
        assert_eq!(names(&eval("highestMax(a.*, -1)")), ["a.y"]);
        assert_eq!(names(&eval("lowestCurrent(a.*, 5)")), ["a.x", "a.y"]);
    }
}
