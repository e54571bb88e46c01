//! `cactiStyle(seriesList, system=None, units=None)`: names padded into columns with the
//! current, maximum and minimum values (`%.2f`, with ` units` when given), as graphite-web
//! lays them out; with `system` (`si` or `binary`) values are scaled to that unit system first.

use super::legend_value::format_units;
use super::{FunctionDef, Param, ParamType};

pub static DEF: FunctionDef = FunctionDef {
    group: "Special",
    signature: "(seriesList, system=None, units=None)",
    description: "Appends the current, maximum and minimum values to each name in aligned columns.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("system", ParamType::String).options(&["si", "binary"]),
        Param::new("units", ParamType::String),
    ],
    run: |_, args| {
        let system = args.string(1).filter(|s| !s.is_empty()).map(String::from);
        let units = args.string(2).filter(|u| !u.is_empty()).map(String::from);
        let fmt = |x: f64| match (&system, &units) {
            (Some(sys), Some(u)) => {
                let (v, prefix) = format_units(x, sys);
                format!("{v:.2} {prefix}{u}")
            }
            (Some(sys), None) => {
                let (v, prefix) = format_units(x, sys);
                format!("{v:.2}{prefix}")
            }
            (None, Some(u)) => format!("{x:.2} {u}"),
            (None, None) => format!("{x:.2}"),
        };
        let mut list = args.series(0);
        if list.is_empty() {
            return Ok(list);
        }
        let stats: Vec<(Option<f64>, Option<f64>, Option<f64>)> = list
            .iter()
            .map(|s| {
                let p = s.points();
                let last = p.iter().rev().flatten().next().copied();
                let max = p.iter().flatten().copied().reduce(f64::max);
                let min = p.iter().flatten().copied().reduce(f64::min);
                (last, max, min)
            })
            .collect();
        // graphite-web sizes columns from int(value or 3)
        let width = |v: Option<f64>| {
            let x = v.filter(|x| *x != 0.0).map_or(3.0, |x| x.trunc());
            fmt(x).chars().count()
        };
        let name_len = list
            .iter()
            .map(|s| s.name.chars().count())
            .max()
            .unwrap_or(0);
        let last_len = stats.iter().map(|s| width(s.0)).max().unwrap_or(0) + 3;
        let max_len = stats.iter().map(|s| width(s.1)).max().unwrap_or(0) + 3;
        let min_len = stats.iter().map(|s| width(s.2)).max().unwrap_or(0) + 3;
        let text = |v: Option<f64>| v.map_or("nan".to_string(), fmt);
        for (s, (last, max, min)) in list.iter_mut().zip(stats) {
            s.name = format!(
                "{:<name_len$} Current:{:<last_len$} Max:{:<max_len$} Min:{:<min_len$} ",
                s.name,
                text(last),
                text(max),
                text(min)
            );
        }
        Ok(list)
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names};

    #[test]
    fn columns() {
        // as graphite-web 1.1.8 names them (check_functions.py)
        assert_eq!(
            names(&eval("cactiStyle(a.*)")),
            [
                "a.x Current:4.00     Max:4.00     Min:1.00     ",
                "a.y Current:40.00    Max:40.00    Min:10.00    "
            ]
        );
    }

    #[test]
    fn unit_systems() {
        // graphite-web 1.1.8 on a.x = 1000, None, 3000, 4000 and a.y = 10240, ..., 40960
        assert_eq!(
            names(&eval(
                "cactiStyle(group(scale(a.x, 1000), scale(a.y, 1024)), 'binary', 'B')"
            )),
            [
                "scale(a.x,1000) Current:3.91 KiB     Max:3.91 KiB     Min:1000.00 B    ",
                "scale(a.y,1024) Current:40.00 KiB    Max:40.00 KiB    Min:10.00 KiB    "
            ]
        );
    }
}
