//! `groupByNode(seriesList, nodeNum, callback='average')` and
//! `groupByNodes(seriesList, callback, *nodes)`: series grouped by the given nodes (or tags),
//! each group aggregated with `callback` and named by its key, groups in first-seen order.
//! A `...Series` callback (`sumSeries`) is the aggregation of the same name, as graphite-web's
//! combining functions are.

use super::aggregate::aggregate;
use super::alias_by_node::agg_key;
use super::{FunctionDef, Literal, Param, ParamType};
use crate::query::graphite::eval::{Args, Context, EvalError, Value};
use crate::query::graphite::series::TimeSeries;

pub static NODE: FunctionDef = FunctionDef {
    group: "Combine",
    signature: "(seriesList, nodeNum, callback='average')",
    description: "Groups series by one node (or tag) and aggregates each group with callback; each result is named by its node.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("nodeNum", ParamType::NodeOrTag).required(),
        Param::new("callback", ParamType::AggOrSeriesFunc).default(Literal::Str("average")),
    ],
    run: |ctx, args| {
        let node = args.get(1).cloned().unwrap_or(Value::Int(0));
        let callback = args.string(2).unwrap_or("average").to_string();
        group(ctx, args, &callback, &[node])
    },
};

pub static NODES: FunctionDef = FunctionDef {
    group: "Combine",
    signature: "(seriesList, callback, *nodes)",
    description: "Groups series by several nodes (or tags) and aggregates each group with callback; each result is named by its nodes joined by dots.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("callback", ParamType::AggOrSeriesFunc).required(),
        Param::new("nodes", ParamType::NodeOrTag).multiple(),
    ],
    run: |ctx, args| {
        let callback = args.string(1).unwrap_or("average").to_string();
        let nodes = args.values_from(2);
        group(ctx, args, &callback, &nodes)
    },
};

fn group(
    ctx: &Context<'_>,
    args: &mut Args<'_>,
    callback: &str,
    nodes: &[Value],
) -> Result<Vec<TimeSeries>, EvalError> {
    let list = args.series(0);
    let keyed: Vec<(String, TimeSeries)> =
        list.into_iter().map(|s| (agg_key(&s, nodes), s)).collect();
    aggregate_groups(ctx, keyed, series_function(callback)).map_err(|m| args.bad(m))
}

/// graphite-web's groupByNode(s) and groupByTags call a callback that names a series function
/// (`avg` is averageSeries's alias) rather than aggregate(), which would keep the name `avg`.
pub fn series_function(callback: &str) -> &str {
    if callback == "avg" {
        "averageSeries"
    } else {
        callback
    }
}

/// Groups `(key, series)` in first-seen key order, aggregates each group with `func` and names
/// the result by its key.
pub fn aggregate_groups(
    ctx: &Context<'_>,
    keyed: Vec<(String, TimeSeries)>,
    func: &str,
) -> Result<Vec<TimeSeries>, String> {
    let mut groups: Vec<(String, Vec<TimeSeries>)> = Vec::new();
    for (k, s) in keyed {
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, v)) => v.push(s),
            None => groups.push((k, vec![s])),
        }
    }
    let mut out = Vec::with_capacity(groups.len());
    for (k, members) in groups {
        if let Some(mut s) = aggregate(ctx, vec![members], func, None)?
            .into_iter()
            .next()
        {
            s.name = k;
            out.push(s);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn groups_by_nodes() {
        let out = eval("groupByNode(a.*, 0, 'sumSeries')");
        assert_eq!(names(&out), ["a"]);
        assert_eq!(
            vals(&out[0]),
            [Some(11.0), Some(20.0), Some(33.0), Some(44.0)]
        );
        let out = eval("groupByNode(a.*, 1)");
        assert_eq!(names(&out), ["x", "y"]);
        let out = eval("groupByNodes(a.*, 'avg', 0)");
        assert_eq!(out[0].tags["aggregatedBy"], "average");
        assert_eq!(out[0].tags["name"], "averageSeries(a.*)");
        let out = eval("groupByNodes(a.*, 'max', 0)");
        assert_eq!(
            vals(&out[0]),
            [Some(10.0), Some(20.0), Some(30.0), Some(40.0)]
        );
    }
}
