//! `countSeries(*seriesLists)`: how many series there are, at every normalized timestamp.

use super::{FunctionDef, Param, ParamType, format_path_expressions, normalize, rows};
use crate::query::graphite::series::TimeSeries;

pub static DEF: FunctionDef = FunctionDef {
    group: "Combine",
    signature: "(*seriesLists)",
    description: "A line at the number of series given.",
    params: &[Param::new("seriesLists", ParamType::SeriesList).multiple()],
    run: |ctx, args| {
        let lists = args.series_lists(0);
        // graphite-web: series lists that are all empty give no series (normalize raises)
        if !lists.is_empty() && lists.iter().all(Vec::is_empty) {
            return Ok(Vec::new());
        }
        let Some((series, start, end, step)) = normalize(lists) else {
            // graphite-web: constantLine(0), path expression countSeries()
            let step = ((ctx.until - ctx.from) as f64 / 2.0) as i64;
            let mut s =
                TimeSeries::new("0.0", ctx.from, ctx.until, step.max(1), vec![Some(0.0); 3]);
            s.path_expression = "countSeries()".into();
            return Ok(vec![s]);
        };
        let name = format!("countSeries({})", format_path_expressions(&series));
        // izip_longest rows always hold every series, so the count is constant
        let values = rows(&series).iter().map(|r| Some(r.len() as f64)).collect();
        let mut s = TimeSeries::new(name, start, end, step, values);
        s.x_files_factor = ctx.x_files_factor.unwrap_or(0.0);
        Ok(vec![s])
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn counts_series() {
        let out = eval("countSeries(a.*)");
        assert_eq!(names(&out), ["countSeries(a.*)"]);
        assert_eq!(vals(&out[0]), [Some(2.0); 4]);
    }

    #[test]
    fn a_pattern_matching_nothing_gives_no_series() {
        assert!(eval("countSeries(nothing.*)").is_empty());
        assert_eq!(names(&eval("countSeries()")), ["0.0"]);
    }
}
