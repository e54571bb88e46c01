//! `sortBy(seriesList, func='average', reverse=False)`, `sortByTotal`, `sortByMaxima` and
//! `sortByMinima` (which also drops series whose maximum is not above zero). Stable sorts; a
//! null aggregate sorts as -infinity.

use super::aggregate::agg_func;
use super::{FunctionDef, Literal, Param, ParamType};
use crate::query::graphite::series::TimeSeries;

const ONE: &[Param] = &[Param::new("seriesList", ParamType::SeriesList).required()];

fn sort(
    list: Vec<TimeSeries>,
    agg: fn(&[Option<f64>]) -> Option<f64>,
    reverse: bool,
) -> Vec<TimeSeries> {
    let mut keyed: Vec<(f64, TimeSeries)> = list
        .into_iter()
        .map(|s| (agg(&s.points()).unwrap_or(f64::NEG_INFINITY), s))
        .collect();
    if reverse {
        keyed.sort_by(|a, b| b.0.total_cmp(&a.0));
    } else {
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    keyed.into_iter().map(|(_, s)| s).collect()
}

pub static SORT_BY: FunctionDef = FunctionDef {
    group: "Sorting",
    signature: "(seriesList, func='average', reverse=False)",
    description: "Sorts series by func (an aggregation function) of their points.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("func", ParamType::AggFunc).default(Literal::Str("average")),
        Param::new("reverse", ParamType::Boolean).default(Literal::Bool(false)),
    ],
    run: |_, args| {
        let f = args.string(1).unwrap_or("average").to_string();
        let agg = agg_func(&f)
            .ok_or_else(|| args.bad(format!("unsupported aggregation function: {f}")))?;
        let reverse = args.bool_or(2, false);
        Ok(sort(args.series(0), agg, reverse))
    },
};

pub static TOTAL: FunctionDef = FunctionDef {
    group: "Sorting",
    signature: "(seriesList)",
    description: "Sorts series by their sum, highest first.",
    params: ONE,
    run: |_, args| {
        Ok(sort(
            args.series(0),
            agg_func("sum").unwrap_or(|_| None),
            true,
        ))
    },
};

pub static MAXIMA: FunctionDef = FunctionDef {
    group: "Sorting",
    signature: "(seriesList)",
    description: "Sorts series by their maximum, highest first.",
    params: ONE,
    run: |_, args| {
        Ok(sort(
            args.series(0),
            agg_func("max").unwrap_or(|_| None),
            true,
        ))
    },
};

pub static MINIMA: FunctionDef = FunctionDef {
    group: "Sorting",
    signature: "(seriesList)",
    description: "Sorts series by their minimum, lowest first, leaving out series whose maximum is not above zero.",
    params: ONE,
    run: |_, args| {
        let list: Vec<TimeSeries> = args
            .series(0)
            .into_iter()
            .filter(|s| {
                s.points()
                    .into_iter()
                    .flatten()
                    .reduce(f64::max)
                    .unwrap_or(0.0)
                    > 0.0
            })
            .collect();
        Ok(sort(list, agg_func("min").unwrap_or(|_| None), false))
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names};

    #[test]
    fn sorts_by_aggregates() {
        assert_eq!(names(&eval("sortByTotal(a.*)")), ["a.y", "a.x"]);
        assert_eq!(names(&eval("sortByMaxima(a.*)")), ["a.y", "a.x"]);
        assert_eq!(names(&eval("sortByMinima(a.*)")), ["a.x", "a.y"]);
        assert_eq!(names(&eval("sortBy(a.*, 'max', true)")), ["a.y", "a.x"]);
        assert_eq!(
            names(&eval("sortByMinima(offset(a.x, -10))")),
            Vec::<&str>::new()
        );
    }
}
