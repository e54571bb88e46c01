//! `powSeries(*seriesLists)`: the first series raised to the second, that to the third...
//! at each normalized timestamp; named by the series' names.

use super::pow::safe_pow;
use super::{FunctionDef, Param, ParamType, normalize, rows};
use crate::query::graphite::series::TimeSeries;

pub static DEF: FunctionDef = FunctionDef {
    group: "Combine",
    signature: "(*seriesLists)",
    description: "Raises the first series to the power of the second, and so on, at each timestamp.",
    params: &[Param::new("seriesList", ParamType::SeriesList)
        .required()
        .multiple()],
    run: |ctx, args| {
        let Some((list, start, end, step)) = normalize(args.series_lists(0)) else {
            return Ok(Vec::new());
        };
        let name = format!(
            "powSeries({})",
            list.iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(",")
        );
        let values = rows(&list)
            .iter()
            .map(|r| {
                let mut it = r.iter().copied();
                let first = it.next().flatten();
                it.fold(first, |acc, e| match (acc, e) {
                    (Some(a), Some(b)) => safe_pow(a, b),
                    _ => None,
                })
            })
            .collect();
        let mut s = TimeSeries::new(name, start, end, step, values);
        s.x_files_factor = ctx.x_files_factor.unwrap_or(0.0);
        Ok(vec![s])
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn chained_powers() {
        let out = eval("powSeries(a.x, constantLine(2))");
        assert_eq!(names(&out), ["powSeries(a.x,2.0)"]);
        let out = eval("powSeries(a.x, a.x)");
        assert_eq!(vals(&out[0]), [Some(1.0), None, Some(27.0), Some(256.0)]);
    }
}
