//! `weightedAverage(seriesListAvg, seriesListWeight, *nodes)`: averages weighted by a second
//! list, paired by the given nodes (or tags): the sum of the products of the pairs divided by
//! the sum of *all* weights, as graphite-web computes it.

use super::aggregate::aggregate;
use super::alias_by_node::agg_key;
use super::{FunctionDef, Param, ParamType};
use crate::query::graphite::eval::Value;
use crate::query::graphite::series::{TimeSeries, format_py_float};

pub static DEF: FunctionDef = FunctionDef {
    group: "Combine",
    signature: "(seriesListAvg, seriesListWeight, *nodes)",
    description: "The average of the first list weighted by the second, series paired by the given nodes or tags.",
    params: &[
        Param::new("seriesListAvg", ParamType::SeriesList).required(),
        Param::new("seriesListWeight", ParamType::SeriesList).required(),
        Param::new("nodes", ParamType::NodeOrTag).multiple(),
    ],
    run: |ctx, args| {
        let nodes = args.values_from(2);
        let avgs = args.series(0);
        let weights = args.series(1);
        if avgs.len() != weights.len() {
            return Err(args.bad(format!(
                "must receive the same number of series for seriesListAvg and seriesListWeight but received respectively {} and {}",
                avgs.len(),
                weights.len()
            )));
        }
        // key → (avg, weight) in graphite-web's dict insertion order
        let mut keyed: Vec<(String, Option<usize>, Option<usize>)> = Vec::new();
        let mut slot = |key: String| match keyed.iter().position(|(k, _, _)| *k == key) {
            Some(i) => i,
            None => {
                keyed.push((key, None, None));
                keyed.len() - 1
            }
        };
        let mut pairs = Vec::new();
        for (i, (a, w)) in avgs.iter().zip(&weights).enumerate() {
            pairs.push((slot(agg_key(a, &nodes)), true, i));
            pairs.push((slot(agg_key(w, &nodes)), false, i));
        }
        for (k, is_avg, i) in pairs {
            if is_avg {
                keyed[k].1 = Some(i);
            } else {
                keyed[k].2 = Some(i);
            }
        }
        let xff = ctx.x_files_factor.unwrap_or(0.0);
        let mut products = Vec::new();
        for (_, a, w) in &keyed {
            let (Some(a), Some(w)) = (a, w) else { continue };
            let (a, w) = (&avgs[*a], &weights[*w]);
            let values = zip_longest(&a.points(), &w.points(), |x, y| Some(x * y));
            let mut p = TimeSeries::new(
                format!("product({},{})", w.name, a.name),
                a.start,
                a.end,
                a.step,
                values,
            );
            p.x_files_factor = xff;
            products.push(p);
        }
        if products.is_empty() {
            return Ok(Vec::new());
        }
        let name = format!(
            "weightedAverage({}, {}, {})",
            sorted_paths(&avgs),
            sorted_paths(&weights),
            nodes.iter().map(node_str).collect::<Vec<_>>().join(",")
        );
        let sum = |list: Vec<TimeSeries>| -> Result<Option<TimeSeries>, _> {
            aggregate(ctx, vec![list], "sum", None).map(|v| v.into_iter().next())
        };
        let (Some(products), Some(total)) = (
            sum(products).map_err(|m| args.bad(m))?,
            sum(weights).map_err(|m| args.bad(m))?,
        ) else {
            return Ok(Vec::new());
        };
        let values = zip_longest(&products.values, &total.values, |x, y| {
            (y != 0.0).then(|| x / y)
        });
        let mut out = TimeSeries::new(name, products.start, products.end, products.step, values);
        out.x_files_factor = xff;
        Ok(vec![out])
    },
};

/// `izip_longest` of two value lists through `f`, null where either side is.
fn zip_longest(
    a: &[Option<f64>],
    b: &[Option<f64>],
    f: impl Fn(f64, f64) -> Option<f64>,
) -> Vec<Option<f64>> {
    (0..a.len().max(b.len()))
        .map(
            |i| match (a.get(i).copied().flatten(), b.get(i).copied().flatten()) {
                (Some(x), Some(y)) => f(x, y),
                _ => None,
            },
        )
        .collect()
}

/// `','.join(sorted(set(pathExpressions)))`.
fn sorted_paths(list: &[TimeSeries]) -> String {
    let mut p: Vec<&str> = list.iter().map(|s| s.path_expression.as_str()).collect();
    p.sort_unstable();
    p.dedup();
    p.join(",")
}

/// Python's `str()` of a node argument.
fn node_str(v: &Value) -> String {
    match v {
        Value::Int(i) => i.to_string(),
        Value::Float(f) => format_py_float(*f),
        Value::Str(s) => s.clone(),
        Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        _ => "None".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{ctx_none, eval, names, vals};

    // expected values: graphite-web's weightedAverage (check_more_functions.py)
    #[test]
    fn products_of_paired_series_over_all_weights() {
        // no nodes: one key, so only the last pair (a.y, a.y) is multiplied
        let out = eval("weightedAverage(a.*, a.*)");
        assert_eq!(names(&out), ["weightedAverage(a.*, a.*, )"]);
        assert_eq!(
            vals(&out[0]),
            [
                Some(9.090909090909092),
                Some(20.0),
                Some(27.272727272727273),
                Some(36.36363636363637)
            ]
        );
        let out = eval("weightedAverage(group(a.x, a.y), group(a.y, a.x), 1)");
        assert_eq!(names(&out), ["weightedAverage(a.x,a.y, a.x,a.y, 1)"]);
        assert_eq!(
            vals(&out[0]),
            [
                Some(9.181818181818182),
                Some(20.0),
                Some(27.545454545454547),
                Some(36.72727272727273)
            ]
        );
        assert!(ctx_none().eval_target("weightedAverage(a.*, a.x)").is_err());
    }
}
