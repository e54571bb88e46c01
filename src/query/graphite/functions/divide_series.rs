//! `divideSeries(dividendSeriesList, divisorSeries)`: each dividend divided by the one divisor
//! series after both are normalized; division by zero or null is null. No divisor names the
//! results `divideSeries(<name>,MISSING)` with every value null.

use super::{FunctionDef, Param, ParamType, normalize, rows};
use crate::query::graphite::series::TimeSeries;

pub static DEF: FunctionDef = FunctionDef {
    group: "Combine",
    signature: "(dividendSeriesList, divisorSeries)",
    description: "Divides each series of the first list by the single series of the second.",
    params: &[
        Param::new("dividendSeriesList", ParamType::SeriesList).required(),
        Param::new("divisorSeries", ParamType::SeriesList).required(),
    ],
    run: |ctx, args| {
        let divisor = args.series(1);
        let mut dividends = args.series(0);
        if divisor.is_empty() {
            for s in &mut dividends {
                s.name = format!("divideSeries({},MISSING)", s.name);
                s.path_expression = s.name.clone();
                s.values.iter_mut().for_each(|v| *v = None);
            }
            return Ok(dividends);
        }
        if divisor.len() > 1 {
            return Err(args.bad(format!(
                "second argument must reference exactly 1 series (got {})",
                divisor.len()
            )));
        }
        let xff = ctx.x_files_factor.unwrap_or(0.0);
        Ok(dividends
            .into_iter()
            .filter_map(|d| divide_pair(d, divisor[0].clone(), xff))
            .collect())
    },
};

/// `divideSeries(a,b)`: both normalized to a common step, then a / b point by point (null when
/// either is null or b is 0). None when the two cannot be normalized. Shared by divideSeries
/// and divideSeriesLists.
pub(super) fn divide_pair(a: TimeSeries, b: TimeSeries, xff: f64) -> Option<TimeSeries> {
    let name = format!("divideSeries({},{})", a.name, b.name);
    let (both, start, end, step) = normalize(vec![vec![a, b]])?;
    let values = rows(&both)
        .iter()
        .map(
            |r| match (r.first().copied().flatten(), r.get(1).copied().flatten()) {
                (Some(x), Some(y)) if y != 0.0 => Some(x / y),
                _ => None,
            },
        )
        .collect();
    let mut s = TimeSeries::new(name, start, end, step, values);
    s.x_files_factor = xff;
    Some(s)
}

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{ctx_none, eval, names, vals};

    #[test]
    fn divides_by_one_series() {
        let out = eval("divideSeries(a.*, a.x)");
        assert_eq!(
            names(&out),
            ["divideSeries(a.x,a.x)", "divideSeries(a.y,a.x)"]
        );
        assert_eq!(vals(&out[1]), [Some(10.0), None, Some(10.0), Some(10.0)]);
        let out = eval("divideSeries(a.x, no.such)");
        assert_eq!(names(&out), ["divideSeries(a.x,MISSING)"]);
        assert_eq!(vals(&out[0]), [None; 4]);
        assert!(ctx_none().eval_target("divideSeries(a.x, a.*)").is_err());
    }
}
