//! `linearRegression(seriesList, startSourceAt=None, endSourceAt=None)`: the least-squares line
//! of each series, fitted on its first argument evaluated again over the source range (the
//! request's range by default) and drawn over the request's range.

use super::time_slice::date_arg;
use super::{FunctionDef, Param, ParamType};
use crate::query::graphite::series::TimeSeries;

pub static DEF: FunctionDef = FunctionDef {
    group: "Calculate",
    signature: "(seriesList, startSourceAt=None, endSourceAt=None)",
    description: "The least-squares line of each series, fitted on the data between startSourceAt and endSourceAt (the request's range by default).",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("startSourceAt", ParamType::Date),
        Param::new("endSourceAt", ParamType::Date),
    ],
    run: |ctx, args| {
        let from = date_arg(ctx, args, 1)?.unwrap_or(ctx.from);
        let until = date_arg(ctx, args, 2)?.unwrap_or(ctx.until);
        let raw = args
            .call
            .args
            .first()
            .ok_or_else(|| args.bad("missing seriesList"))?;
        let sources = ctx.with_range(from, until).eval_series(raw)?;
        let list = args.series(0);
        let mut out = Vec::new();
        for (source, mut s) in sources.iter().zip(list) {
            s.tags
                .insert("linearRegressions".into(), format!("{from}, {until}"));
            let Some((factor, offset)) = fit(source) else {
                continue;
            };
            let name = format!("linearRegression({}, {from}, {until})", s.name);
            let values = (0..s.values.len())
                .map(|i| Some(offset + (s.start + i as i64 * s.step) as f64 * factor))
                .collect();
            let mut n = TimeSeries::new(name, s.start, s.end, s.step, values);
            n.tags = s.tags;
            n.x_files_factor = s.x_files_factor;
            out.push(n);
        }
        Ok(out)
    },
};

/// graphite-web's `_linearRegressionAnalysis`: factor per second and offset at time 0, or
/// `None` when fewer than two points (the denominator is zero). Index sums are exact
/// integers as in Python.
fn fit(series: &TimeSeries) -> Option<(f64, f64)> {
    let (mut n, mut sum_i, mut sum_ii) = (0i128, 0i128, 0i128);
    let (mut sum_v, mut sum_iv) = (0.0f64, 0.0f64);
    for (i, v) in series.points().into_iter().enumerate() {
        let Some(v) = v else { continue };
        let i = i as i128;
        n += 1;
        sum_i += i;
        sum_ii += i * i;
        sum_v += v;
        sum_iv += i as f64 * v;
    }
    let denominator = (n * sum_ii - sum_i * sum_i) as f64;
    if denominator == 0.0 {
        return None;
    }
    let (n, sum_i, sum_ii) = (n as f64, sum_i as f64, sum_ii as f64);
    let factor = (n * sum_iv - sum_i * sum_v) / denominator / series.step as f64;
    let offset = (sum_ii * sum_v - sum_iv * sum_i) / denominator - factor * series.start as f64;
    Some((factor, offset))
}

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    // expected values: graphite-web's linearRegression (check_more_functions.py)
    #[test]
    fn fits_on_the_source_range_and_draws_on_the_request() {
        let out = eval("linearRegression(a.x)");
        assert_eq!(names(&out), ["linearRegression(a.x, 100, 140)"]);
        assert_eq!(out[0].tags["linearRegressions"], "100, 140");
        assert_eq!(out[0].path_expression, "linearRegression(a.x, 100, 140)");
        assert_eq!(vals(&out[0]), [Some(1.0), Some(2.0), Some(3.0), Some(4.0)]);
        let out = eval("linearRegression(t.shift, '50', '90')");
        assert_eq!(names(&out), ["linearRegression(t.shift, 50, 90)"]);
        assert_eq!((out[0].start, out[0].step), (100, 10));
        assert_eq!(
            vals(&out[0]),
            [Some(10.0), Some(11.0), Some(12.0), Some(13.0)]
        );
    }
}
