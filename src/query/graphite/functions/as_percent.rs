//! `asPercent(seriesList, total=None, *nodes)`: each series as a percentage of a total: the
//! sum of the list (no total), one total series, a matching list of totals (paired by sorted
//! name), or a number. The `nodes` form (grouping by node) is not implemented yet.

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
        if !args.values_from(2).is_empty() {
            return Err(args.bad("the nodes form is not supported yet"));
        }
        let xff_v = ctx.x_files_factor.unwrap_or(0.0);
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
}
