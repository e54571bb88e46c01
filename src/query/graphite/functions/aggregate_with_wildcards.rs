//! `aggregateWithWildcards(seriesList, func, *positions)` and its named forms
//! (sum/average/multiplySeriesWithWildcards): series grouped by their name without the given
//! node positions, each group aggregated and named by what is left.

use super::group_by_node::aggregate_groups;
use super::{FunctionDef, Param, ParamType};
use crate::query::graphite::eval::{Args, Context, EvalError, Value};
use crate::query::graphite::series::TimeSeries;

pub static DEF: FunctionDef = FunctionDef {
    group: "Combine",
    signature: "(seriesList, func, *positions)",
    description: "Aggregates series that differ only at the given node positions.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("func", ParamType::AggFunc).required(),
        Param::new("position", ParamType::Node).multiple(),
    ],
    run: |ctx, args| {
        let func = args.string(1).unwrap_or_default().to_string();
        let positions = args.values_from(2);
        with_wildcards(ctx, args, &func, &positions)
    },
};

const PARAMS: &[Param] = &[
    Param::new("seriesList", ParamType::SeriesList).required(),
    Param::new("position", ParamType::Node).multiple(),
];

macro_rules! named {
    ($name:ident, $func:literal, $desc:literal) => {
        pub static $name: FunctionDef = FunctionDef {
            group: "Combine",
            signature: "(seriesList, *position)",
            description: $desc,
            params: PARAMS,
            run: |ctx, args| {
                let positions = args.values_from(1);
                with_wildcards(ctx, args, $func, &positions)
            },
        };
    };
}

named!(
    SUM,
    "sum",
    "Sums series that differ only at the given node positions."
);
named!(
    AVERAGE,
    "average",
    "Averages series that differ only at the given node positions."
);
named!(
    MULTIPLY,
    "multiply",
    "Multiplies series that differ only at the given node positions."
);

fn with_wildcards(
    ctx: &Context<'_>,
    args: &mut Args<'_>,
    func: &str,
    positions: &[Value],
) -> Result<Vec<TimeSeries>, EvalError> {
    let drop: Vec<i64> = positions
        .iter()
        .filter_map(|p| match p {
            Value::Int(i) => Some(*i),
            _ => None,
        })
        .collect();
    let list = args.series(0);
    let keyed = list
        .into_iter()
        .map(|s| {
            // only non-negative positions can match enumerate()'s indices
            let key = s
                .name
                .split('.')
                .enumerate()
                .filter(|(i, _)| !drop.contains(&(*i as i64)))
                .map(|(_, n)| n)
                .collect::<Vec<_>>()
                .join(".");
            (key, s)
        })
        .collect();
    aggregate_groups(ctx, keyed, func).map_err(|m| args.bad(m))
}

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn groups_without_positions() {
        let out = eval("sumSeriesWithWildcards(a.*, 1)");
        assert_eq!(names(&out), ["a"]);
        assert_eq!(
            vals(&out[0]),
            [Some(11.0), Some(20.0), Some(33.0), Some(44.0)]
        );
        let out = eval("aggregateWithWildcards(a.*, 'max', 0)");
        assert_eq!(names(&out), ["x", "y"]);
    }
}
