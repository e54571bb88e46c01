//! `mapSeries(seriesList, *mapNodes)` (also `map`) and `reduceSeries(seriesLists,
//! reduceFunction, reduceNode, *reduceMatchers)` (also `reduce`): map groups series by the
//! given nodes (or tags); reduce calls `reduceFunction` once per group prefix with the series
//! whose `reduceNode` equals each matcher, in the matchers' order, and names each result
//! `<prefix>.reduce.<function>`.
//!
//! graphite-web's map returns a list of lists that only reduce can take; here the groups are
//! returned flattened, in group order, which is all reduce reads from them (reduce walks every
//! series of every group in order).

use super::alias_by_node::agg_key;
use super::{FunctionDef, Param, ParamType};
use crate::query::graphite::eval::Value;
use crate::query::graphite::series::TimeSeries;

pub static MAP: FunctionDef = FunctionDef {
    group: "Combine",
    signature: "(seriesList, *mapNodes)",
    description: "Groups series by the given nodes or tags, for reduceSeries. Short form: map().",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("mapNodes", ParamType::NodeOrTag)
            .required()
            .multiple(),
    ],
    run: |_, args| {
        let nodes = args.values_from(1);
        let list = args.series(0);
        let mut groups: Vec<(String, Vec<TimeSeries>)> = Vec::new();
        for s in list {
            let key = agg_key(&s, &nodes);
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, g)) => g.push(s),
                None => groups.push((key, vec![s])),
            }
        }
        Ok(groups.into_iter().flat_map(|(_, g)| g).collect())
    },
};

pub static REDUCE: FunctionDef = FunctionDef {
    group: "Combine",
    signature: "(seriesLists, reduceFunction, reduceNode, *reduceMatchers)",
    description: "Calls reduceFunction with the series of each mapped group whose reduceNode matches each matcher, in order; results are named <prefix>.reduce.<function>. Short form: reduce().",
    params: &[
        Param::new("seriesLists", ParamType::SeriesLists).required(),
        Param::new("reduceFunction", ParamType::String).required(),
        Param::new("reduceNode", ParamType::Node).required(),
        Param::new("reduceMatchers", ParamType::String)
            .required()
            .multiple(),
    ],
    run: |ctx, args| {
        let func = args.string(1).unwrap_or_default().to_string();
        let node = args
            .int(2)
            .ok_or_else(|| args.bad("reduceNode must be an integer"))?;
        let matchers: Vec<String> = args
            .values_from(3)
            .into_iter()
            .map(|v| match v {
                Value::Str(s) => s,
                Value::Int(i) => i.to_string(),
                other => format!("{other:?}"),
            })
            .collect();
        let list = args.series(0);
        let mut groups: Vec<(String, Vec<Option<TimeSeries>>)> = Vec::new();
        for s in list {
            let nodes: Vec<&str> = s.name.split('.').collect();
            let n = nodes.len() as i64;
            let at = if node < 0 { n + node } else { node };
            let Some(value) = usize::try_from(at).ok().and_then(|i| nodes.get(i)) else {
                return Err(args.bad(format!("reduceNode {node} is out of range for {}", s.name)));
            };
            let Some(i) = matchers.iter().position(|m| m == value) else {
                continue;
            };
            let key = format!(
                "{}.reduce.{func}",
                nodes[..usize::try_from(at).unwrap_or(0)].join(".")
            );
            let slot = match groups.iter().position(|(k, _)| *k == key) {
                Some(g) => g,
                None => {
                    groups.push((key, vec![None; matchers.len()]));
                    groups.len() - 1
                }
            };
            groups[slot].1[i] = Some(s);
        }
        let mut out = Vec::with_capacity(groups.len());
        for (key, members) in groups {
            let mut positional = Vec::with_capacity(members.len());
            for (m, s) in matchers.iter().zip(members) {
                let s = s.ok_or_else(|| args.bad(format!("no series matched {m} for {key}")))?;
                positional.push(Value::Series(vec![s]));
            }
            let mut r = ctx
                .apply(&func, positional, args.call)?
                .into_iter()
                .next()
                .ok_or_else(|| args.bad(format!("{func} returned no series for {key}")))?;
            r.name = key;
            out.push(r);
        }
        Ok(out)
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{ctx_none, eval, names, vals};

    // expected values: graphite-web's reduceSeries(mapSeries(...)) (check_more_functions.py)
    #[test]
    fn reduce_calls_the_function_per_group_in_matcher_order() {
        let out = eval("reduceSeries(mapSeries(a.*, 0), 'divideSeries', 1, 'y', 'x')");
        assert_eq!(names(&out), ["a.reduce.divideSeries"]);
        assert_eq!(out[0].path_expression, "divideSeries(a.y,a.x)");
        assert_eq!(vals(&out[0]), [Some(10.0), None, Some(10.0), Some(10.0)]);
        let out = eval("reduce(map(a.*, 0), 'sumSeries', -1, 'x', 'y')");
        assert_eq!(names(&out), ["a.reduce.sumSeries"]);
        assert_eq!(names(&eval("map(a.*, 1)")), ["a.x", "a.y"]);
        let e = ctx_none()
            .eval_target("reduce(map(a.*, 0), 'divideSeries', 1, 'y', 'z')")
            .unwrap_err();
        assert!(e.to_string().contains("no series matched z"), "{e}");
    }
}
