//! `asPercent(seriesList, total=None, *nodes)`: each series as a percentage of a total: the
//! sum of the list (no total), one total series, a matching list of totals (paired by sorted
//! name), or a number. With `nodes`, series and totals are matched by those nodes (or tags)
//! instead; a group without a match gives an all-null `MISSING` series.

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
        let nodes = args.values_from(2);
        let xff_v = ctx.x_files_factor.unwrap_or(0.0);
        let total = args.get(1).cloned();
        let list = args.series(0);
        if !nodes.is_empty() {
            return by_nodes(list, total, &nodes, xff_v).map_err(|m| args.bad(m));
        }
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

/// graphite-web's `asPercent` with nodes: series grouped by key; each group's total is the
/// matching total series (or the sum of several, or of the group itself without a total).
/// graphite-web builds the `MISSING` series on the range of whatever it normalized last (and
/// fails when it has normalized nothing yet); telltale does the same, falling back to the
/// series' own range instead of failing.
fn by_nodes(
    list: Vec<TimeSeries>,
    total: Option<Value>,
    nodes: &[Value],
    xff_v: f64,
) -> Result<Vec<TimeSeries>, String> {
    let Some((list, ..)) = normalize(vec![list]) else {
        return Ok(Vec::new());
    };
    let mut last: Option<(i64, i64, i64)> = None;
    let mut keys: Vec<String> = Vec::new();
    let mut groups: Vec<(String, Vec<TimeSeries>)> = Vec::new();
    for s in list {
        let k = agg_key(&s, nodes);
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, g)) => g.push(s),
            None => {
                keys.push(k.clone());
                groups.push((k, vec![s]));
            }
        }
    }
    let mut sum = |members: Vec<TimeSeries>| -> TimeSeries {
        if members.len() == 1 {
            return members
                .into_iter()
                .next()
                .unwrap_or_else(|| TimeSeries::new("", 0, 0, 1, vec![]));
        }
        let name = format!("sumSeries({})", format_path_expressions(&members));
        let Some((g, start, end, step)) = normalize(vec![members]) else {
            return TimeSeries::new(name, 0, 0, 1, vec![]);
        };
        last = Some((start, end, step));
        let values = rows(&g)
            .iter()
            .map(|r| {
                let v: Vec<f64> = r.iter().flatten().copied().collect();
                (!v.is_empty()).then(|| v.iter().sum())
            })
            .collect();
        let mut t = TimeSeries::new(name, start, end, step, values);
        t.x_files_factor = xff_v;
        t
    };
    let mut totals: Vec<(String, TimeSeries)> = Vec::new();
    match total {
        None => {
            for (k, g) in &groups {
                totals.push((k.clone(), sum(g.clone())));
            }
        }
        Some(Value::Series(tl)) => {
            let mut tgroups: Vec<(String, Vec<TimeSeries>)> = Vec::new();
            for s in tl {
                let k = agg_key(&s, nodes);
                match tgroups.iter_mut().find(|(g, _)| *g == k) {
                    Some((_, g)) => g.push(s),
                    None => {
                        if !keys.contains(&k) {
                            keys.push(k.clone());
                        }
                        tgroups.push((k, vec![s]));
                    }
                }
            }
            for (k, g) in tgroups {
                totals.push((k, sum(g)));
            }
        }
        Some(_) => return Err("total must be None or a seriesList".into()),
    }
    let mut out = Vec::new();
    for k in keys {
        let total = totals.iter().find(|(t, _)| *t == k).map(|(_, t)| t);
        let Some((_, members)) = groups.iter().find(|(g, _)| *g == k) else {
            if let Some(t) = total {
                let (start, end, step) = last.unwrap_or((t.start, t.end, t.effective_step()));
                let values = vec![None; t.points().len()];
                let name = format!("asPercent(MISSING,{})", t.name);
                let mut r = TimeSeries::new(name, start, end, step, values);
                r.x_files_factor = xff_v;
                out.push(r);
            }
            continue;
        };
        for s1 in members {
            let (name, values, range) = match total {
                None => (
                    format!("asPercent({},MISSING)", s1.name),
                    vec![None; s1.points().len()],
                    last.unwrap_or((s1.start, s1.end, s1.effective_step())),
                ),
                Some(t) => {
                    let name = format!("asPercent({},{})", s1.name, t.name);
                    let Some((pair, start, end, step)) =
                        normalize(vec![vec![s1.clone(), t.clone()]])
                    else {
                        continue;
                    };
                    last = Some((start, end, step));
                    let (a, b) = (pair[0].points(), pair[1].points());
                    let values = (0..a.len().max(b.len()))
                        .map(
                            |i| match (a.get(i).copied().flatten(), b.get(i).copied().flatten()) {
                                (Some(x), Some(y)) if y != 0.0 => Some(x / y * 100.0),
                                _ => None,
                            },
                        )
                        .collect();
                    (name, values, (start, end, step))
                }
            };
            let mut r = TimeSeries::new(name, range.0, range.1, range.2, values);
            r.x_files_factor = xff_v;
            out.push(r);
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

    // expected values: graphite-web's asPercent with nodes (check_more_functions.py)
    #[test]
    fn nodes_match_series_with_totals() {
        let out = eval("asPercent(a.*, None, 0)");
        assert_eq!(
            names(&out),
            [
                "asPercent(a.x,sumSeries(a.*))",
                "asPercent(a.y,sumSeries(a.*))"
            ]
        );
        assert_eq!(
            vals(&out[0]),
            [
                Some(9.090909090909092),
                None,
                Some(9.090909090909092),
                Some(9.090909090909092)
            ]
        );
        assert_eq!(
            vals(&out[1]),
            [
                Some(90.9090909090909),
                Some(100.0),
                Some(90.9090909090909),
                Some(90.9090909090909)
            ]
        );
        let out = eval("asPercent(group(a.x, c.wrap), a.y, 0)");
        assert_eq!(
            names(&out),
            ["asPercent(a.x,a.y)", "asPercent(c.wrap,MISSING)"]
        );
        assert_eq!(vals(&out[0]), [Some(10.0), None, Some(10.0), Some(10.0)]);
        assert_eq!(vals(&out[1]), [None; 4]);
        let out = eval("asPercent(a.x, group(a.y, g.gaps), 0)");
        assert_eq!(
            names(&out),
            ["asPercent(a.x,a.y)", "asPercent(MISSING,g.gaps)"]
        );
        assert_eq!((out[1].start, out[1].end, out[1].step), (100, 140, 10));
        assert_eq!(vals(&out[1]), [None; 5]);
        // graphite-web fails here (nothing normalized yet); telltale uses the series' range
        let out = eval("asPercent(a.*, group(a.y, g.gaps), 1)");
        assert_eq!(names(&out)[0], "asPercent(a.x,MISSING)");
        assert_eq!((out[0].start, out[0].end), (100, 140));
        assert!(
            crate::query::graphite::functions::tests::ctx_none()
                .eval_target("asPercent(a.x, 5, 0)")
                .is_err()
        );
    }
}
