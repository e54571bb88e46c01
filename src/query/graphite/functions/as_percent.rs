//! `asPercent(seriesList, total=None, *nodes)`: each series as a percentage of a total: the
//! sum of the list (no total), one total series, a matching list of totals (paired by sorted
//! name), or a number. With `nodes`, series and totals are matched by the key those nodes (or
//! tags) give: a group's total is its one total series, or the sum of several (or of the group
//! itself when no total is given); a key on one side only gives a `MISSING` series of nulls.

use super::alias_by_node::agg_key;
use super::{FunctionDef, Param, ParamType, format_path_expressions, normalize, rows};
use crate::query::graphite::eval::Value;
use crate::query::graphite::series::{TimeSeries, format_py_float};

pub static DEF: FunctionDef = FunctionDef {
    group: "Combine",
    signature: "(seriesList, total=None, *nodes)",
    description: "Each series as a percentage of a total: the sum of the list, a total series or list of series, or a number.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("total", ParamType::Any),
        Param::new("nodes", ParamType::NodeOrTag).multiple(),
    ],
    run: |ctx, args| {
        let xff_v = ctx.x_files_factor.unwrap_or(0.0);
        let nodes = args.values_from(2);
        if !nodes.is_empty() {
            let total = match args.get(1) {
                None => None,
                Some(Value::Series(t)) => Some(t.clone()),
                Some(_) => return Err(args.bad("total must be None or a seriesList")),
            };
            return by_nodes(args.series(0), total, &nodes, xff_v).map_err(|m| args.bad(m));
        }
        let total = args.get(1).cloned();
        let list = args.series(0);
        // graphite-web normalizes the list first; an empty one answers nothing
        let Some((mut list, ..)) = normalize(vec![list]) else {
            return Ok(Vec::new());
        };
        let pct = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b != 0.0 => Some(a / b * 100.0),
            _ => None,
        };
        let (total_values, total_text): (Vec<Option<f64>>, String) = match &total {
            None => (
                rows(&list)
                    .iter()
                    .map(|r| {
                        let v: Vec<f64> = r.iter().flatten().copied().collect();
                        (!v.is_empty()).then(|| v.iter().sum())
                    })
                    .collect(),
                format!("sumSeries({})", format_path_expressions(&list)),
            ),
            Some(Value::Series(totals)) => {
                if totals.len() != 1 && totals.len() != list.len() {
                    return Err(args.bad(
                        "second argument must be missing, a single digit, reference exactly 1 series or reference the same number of series as the first argument",
                    ));
                }
                if totals.len() == list.len() {
                    // pairs by sorted name, each pair normalized on its own
                    list.sort_by(|a, b| a.name.cmp(&b.name));
                    let mut totals = totals.clone();
                    totals.sort_by(|a, b| a.name.cmp(&b.name));
                    let mut out = Vec::new();
                    for (s1, s2) in list.into_iter().zip(totals) {
                        let name = format!("asPercent({},{})", s1.name, s2.name);
                        let Some((pair, start, end, step)) = normalize(vec![vec![s1, s2]]) else {
                            continue;
                        };
                        let values = rows(&pair)
                            .iter()
                            .map(|r| pct(r.first().copied().flatten(), r.get(1).copied().flatten()))
                            .collect();
                        let mut s = TimeSeries::new(name, start, end, step, values);
                        s.x_files_factor = xff_v;
                        out.push(s);
                    }
                    return Ok(out);
                }
                let n = list.len();
                let Some((mut both, ..)) = normalize(vec![list, totals.clone()]) else {
                    return Ok(Vec::new());
                };
                let t = both
                    .pop()
                    .unwrap_or_else(|| TimeSeries::new("", 0, 0, 1, vec![]));
                list = both;
                debug_assert_eq!(list.len(), n);
                (t.points(), t.name)
            }
            Some(Value::Int(i)) => (vec![Some(*i as f64); list[0].values.len()], i.to_string()),
            Some(Value::Float(f)) => (vec![Some(*f); list[0].values.len()], format_py_float(*f)),
            Some(_) => return Err(args.bad("total must be a number or a seriesList")),
        };
        Ok(list
            .into_iter()
            .map(|s| {
                let pts = s.points();
                let len = pts.len().max(total_values.len());
                let values = (0..len)
                    .map(|i| {
                        pct(
                            pts.get(i).copied().flatten(),
                            total_values.get(i).copied().flatten(),
                        )
                    })
                    .collect();
                let text = if total_text.is_empty() {
                    s.path_expression.clone()
                } else {
                    total_text.clone()
                };
                let mut r = TimeSeries::new(
                    format!("asPercent({},{text})", s.name),
                    s.start,
                    s.end,
                    s.step,
                    values,
                );
                r.x_files_factor = xff_v;
                r
            })
            .collect())
    },
};

/// `(key, members)` in first-seen key order.
fn group(list: Vec<TimeSeries>, nodes: &[Value]) -> Vec<(String, Vec<TimeSeries>)> {
    let mut groups: Vec<(String, Vec<TimeSeries>)> = Vec::new();
    for s in list {
        let k = agg_key(&s, nodes);
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, v)) => v.push(s),
            None => groups.push((k, vec![s])),
        }
    }
    groups
}

/// One series of a group as is, several summed (graphite-web's `safeSum` per row).
fn total_of(mut members: Vec<TimeSeries>, xff: f64) -> Option<TimeSeries> {
    if members.len() == 1 {
        return members.pop();
    }
    let name = format!("sumSeries({})", format_path_expressions(&members));
    let (members, start, end, step) = normalize(vec![members])?;
    let values = rows(&members)
        .iter()
        .map(|r| {
            let v: Vec<f64> = r.iter().flatten().copied().collect();
            (!v.is_empty()).then(|| v.iter().sum())
        })
        .collect();
    let mut t = TimeSeries::new(name, start, end, step, values);
    t.x_files_factor = xff;
    Some(t)
}

/// graphite-web's `asPercent(seriesList, total, *nodes)`: series and totals matched by key.
fn by_nodes(
    list: Vec<TimeSeries>,
    total: Option<Vec<TimeSeries>>,
    nodes: &[Value],
    xff: f64,
) -> Result<Vec<TimeSeries>, String> {
    let groups = group(list, nodes);
    let mut keys: Vec<String> = groups.iter().map(|(k, _)| k.clone()).collect();
    let mut totals: Vec<(String, TimeSeries)> = Vec::new();
    match total {
        None => {
            for (k, members) in &groups {
                if let Some(t) = total_of(members.clone(), xff) {
                    totals.push((k.clone(), t));
                }
            }
        }
        Some(t) => {
            for (k, members) in group(t, nodes) {
                if !keys.contains(&k) {
                    keys.push(k.clone());
                }
                if let Some(t) = total_of(members, xff) {
                    totals.push((k, t));
                }
            }
        }
    }
    let missing = |name: String, like: &TimeSeries| {
        let mut s = TimeSeries::new(
            name,
            like.start,
            like.end,
            like.step,
            vec![None; like.points().len()],
        );
        s.x_files_factor = xff;
        s
    };
    let mut out = Vec::new();
    for key in keys {
        let t = totals.iter().find(|(k, _)| *k == key).map(|(_, t)| t);
        let Some((_, members)) = groups.iter().find(|(k, _)| *k == key) else {
            if let Some(t) = t {
                out.push(missing(format!("asPercent(MISSING,{})", t.name), t));
            }
            continue;
        };
        for s1 in members {
            let Some(t) = t else {
                out.push(missing(format!("asPercent({},MISSING)", s1.name), s1));
                continue;
            };
            let name = format!("asPercent({},{})", s1.name, t.name);
            let Some((pair, start, end, step)) = normalize(vec![vec![s1.clone(), t.clone()]])
            else {
                continue;
            };
            let values = rows(&pair)
                .iter()
                .map(
                    |r| match (r.first().copied().flatten(), r.get(1).copied().flatten()) {
                        (Some(a), Some(b)) if b != 0.0 => Some(a / b * 100.0),
                        _ => None,
                    },
                )
                .collect();
            let mut s = TimeSeries::new(name, start, end, step, values);
            s.x_files_factor = xff;
            out.push(s);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn common_forms() {
        let out = eval("asPercent(a.*)");
        assert_eq!(
            names(&out),
            [
                "asPercent(a.x,sumSeries(a.*))",
                "asPercent(a.y,sumSeries(a.*))"
            ]
        );
        assert_eq!(vals(&out[1])[1], Some(100.0));
        assert_eq!(vals(&out[0])[0], Some(100.0 / 11.0));
        let out = eval("asPercent(a.x, 8)");
        assert_eq!(names(&out), ["asPercent(a.x,8)"]);
        assert_eq!(vals(&out[0]), [Some(12.5), None, Some(37.5), Some(50.0)]);
        let out = eval("asPercent(a.x, a.y)");
        assert_eq!(names(&out), ["asPercent(a.x,a.y)"]);
        assert_eq!(vals(&out[0])[3], Some(10.0));
        let out = eval("asPercent(a.*, a.y)");
        assert_eq!(names(&out), ["asPercent(a.x,a.y)", "asPercent(a.y,a.y)"]);
    }

    #[test]
    fn nodes_form_matches_series_and_totals_by_key() {
        // a.x = 1, None, 3, 4 ; a.y = 10, 20, 30, 40
        let out = eval("asPercent(a.*, a.y, 0)");
        assert_eq!(names(&out), ["asPercent(a.x,a.y)", "asPercent(a.y,a.y)"]);
        assert_eq!(vals(&out[0]), [Some(10.0), None, Some(10.0), Some(10.0)]);
        // no total: each group's own sum; a one-series group is its own total
        let out = eval("asPercent(a.*, None, 1)");
        assert_eq!(names(&out), ["asPercent(a.x,a.x)", "asPercent(a.y,a.y)"]);
        assert_eq!(vals(&out[1]), [Some(100.0); 4]);
        let out = eval("asPercent(a.*, None, 0)");
        assert_eq!(names(&out)[0], "asPercent(a.x,sumSeries(a.*))");
        // keys on one side only
        let out = eval("asPercent(a.x, a.y, 1)");
        assert_eq!(
            names(&out),
            ["asPercent(a.x,MISSING)", "asPercent(MISSING,a.y)"]
        );
        assert_eq!(vals(&out[0]), [None; 4]);
    }
}
