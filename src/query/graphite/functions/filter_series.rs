//! `filterSeries(seriesList, func, operator, threshold)` and its named forms
//! (currentAbove/Below, averageAbove/Below, maximumAbove/Below, minimumAbove/Below): keeps the
//! series whose aggregate compares true. As graphite-web, a null aggregate passes `!=`, `<`
//! and `<=` (so "Below" keeps empty series) and fails the others.

use super::aggregate::agg_func;
use super::{FunctionDef, Param, ParamType};
use crate::query::graphite::eval::{Args, EvalError};
use crate::query::graphite::series::TimeSeries;

const OPERATORS: &[&str] = &["!=", "<", "<=", "=", ">", ">="];

pub static DEF: FunctionDef = FunctionDef {
    group: "Filter Series",
    signature: "(seriesList, func, operator, threshold)",
    description: "Keeps the series whose func (an aggregation function) of their points compares true against threshold.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("func", ParamType::AggFunc).required(),
        Param::new("operator", ParamType::String)
            .required()
            .options(OPERATORS),
        Param::new("threshold", ParamType::Float).required(),
    ],
    run: |_, args| {
        let func = args.string(1).unwrap_or_default().to_string();
        let op = args.string(2).unwrap_or_default().to_string();
        let t = args
            .float(3)
            .ok_or_else(|| args.bad("threshold must be a number"))?;
        filter(args, &func, &op, t)
    },
};

const N: &[Param] = &[
    Param::new("seriesList", ParamType::SeriesList).required(),
    Param::new("n", ParamType::Float).required(),
];

macro_rules! named {
    ($name:ident, $func:literal, $op:literal, $desc:literal) => {
        pub static $name: FunctionDef = FunctionDef {
            group: "Filter Series",
            signature: "(seriesList, n)",
            description: $desc,
            params: N,
            run: |_, args| {
                let t = args
                    .float(1)
                    .ok_or_else(|| args.bad("n must be a number"))?;
                filter(args, $func, $op, t)
            },
        };
    };
}

named!(
    CURRENT_ABOVE,
    "last",
    ">",
    "Series whose last value is above n."
);
named!(
    CURRENT_BELOW,
    "last",
    "<=",
    "Series whose last value is at or below n."
);
named!(
    AVERAGE_ABOVE,
    "average",
    ">",
    "Series whose average is above n."
);
named!(
    AVERAGE_BELOW,
    "average",
    "<=",
    "Series whose average is at or below n."
);
named!(
    MAXIMUM_ABOVE,
    "max",
    ">",
    "Series whose maximum is above n."
);
named!(
    MAXIMUM_BELOW,
    "max",
    "<=",
    "Series whose maximum is at or below n."
);
named!(
    MINIMUM_ABOVE,
    "min",
    ">",
    "Series whose minimum is above n."
);
named!(
    MINIMUM_BELOW,
    "min",
    "<=",
    "Series whose minimum is at or below n."
);

fn filter(args: &mut Args<'_>, func: &str, op: &str, t: f64) -> Result<Vec<TimeSeries>, EvalError> {
    let agg = agg_func(func)
        .ok_or_else(|| args.bad(format!("unsupported aggregation function: {func}")))?;
    if !OPERATORS.contains(&op) {
        return Err(args.bad(format!("unsupported operator: {op}")));
    }
    let list = args.series(0);
    Ok(list
        .into_iter()
        .filter(|s| {
            let v = agg(&s.points());
            match (op, v) {
                ("=", Some(v)) => v == t,
                ("!=", Some(v)) => v != t,
                (">", Some(v)) => v > t,
                (">=", Some(v)) => v >= t,
                ("<", Some(v)) => v < t,
                ("<=", Some(v)) => v <= t,
                ("!=" | "<" | "<=", None) => true,
                _ => false,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names};

    #[test]
    fn filters_by_aggregate() {
        assert_eq!(names(&eval("currentAbove(a.*, 4)")), ["a.y"]);
        assert_eq!(names(&eval("currentBelow(a.*, 4)")), ["a.x"]);
        assert_eq!(names(&eval("averageAbove(a.*, 1)")), ["a.x", "a.y"]);
        assert_eq!(names(&eval("maximumBelow(a.*, 40)")), ["a.x", "a.y"]);
        assert_eq!(names(&eval("minimumAbove(a.*, 1)")), ["a.y"]);
        assert_eq!(names(&eval("filterSeries(a.*, 'sum', '=', 100)")), ["a.y"]);
    }
}
