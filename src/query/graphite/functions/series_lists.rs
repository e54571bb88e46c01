//! `aggregateSeriesLists(first, second, func, xFilesFactor=None)`, its named forms
//! (sum/diff/multiplySeriesLists) and `divideSeriesLists(dividends, divisors)`: the two lists
//! combined pairwise by position, each pair named `<func>Series(<a>,<b>)`.

use super::aggregate::aggregate;
use super::{FunctionDef, Param, ParamType};
use crate::query::graphite::eval::{Args, Context, EvalError};
use crate::query::graphite::series::TimeSeries;

pub static AGGREGATE: FunctionDef = FunctionDef {
    group: "Combine",
    signature: "(seriesListFirstPos, seriesListSecondPos, func, xFilesFactor=None)",
    description: "Aggregates two equally long lists pairwise (first with first, second with second...) with func.",
    params: &[
        Param::new("seriesListFirstPos", ParamType::SeriesList).required(),
        Param::new("seriesListSecondPos", ParamType::SeriesList).required(),
        Param::new("func", ParamType::AggFunc).required(),
        Param::new("xFilesFactor", ParamType::Float),
    ],
    run: |ctx, args| {
        let func = args.string(2).unwrap_or_default().to_string();
        let xff = args.float(3);
        pairwise(ctx, args, &func, xff)
    },
};

const TWO: &[Param] = &[
    Param::new("seriesListFirstPos", ParamType::SeriesList).required(),
    Param::new("seriesListSecondPos", ParamType::SeriesList).required(),
];

macro_rules! named {
    ($name:ident, $func:literal, $desc:literal) => {
        pub static $name: FunctionDef = FunctionDef {
            group: "Combine",
            signature: "(seriesListFirstPos, seriesListSecondPos)",
            description: $desc,
            params: TWO,
            run: |ctx, args| pairwise(ctx, args, $func, None),
        };
    };
}

named!(SUM, "sum", "Adds two equally long lists pairwise.");
named!(
    DIFF,
    "diff",
    "Subtracts the second list from the first, pairwise."
);
named!(
    MULTIPLY,
    "multiply",
    "Multiplies two equally long lists pairwise."
);

fn pairwise(
    ctx: &Context<'_>,
    args: &mut Args<'_>,
    func: &str,
    xff: Option<f64>,
) -> Result<Vec<TimeSeries>, EvalError> {
    let second = args.series(1);
    let first = args.series(0);
    if first.len() != second.len() {
        return Err(
            args.bad("seriesListFirstPos and seriesListSecondPos argument must have equal length")
        );
    }
    let mut out = Vec::new();
    for (a, b) in first.into_iter().zip(second) {
        let name = format!("{},{}", a.name, b.name);
        let agg = aggregate(ctx, vec![vec![a, b]], func, xff).map_err(|m| args.bad(m))?;
        if let Some(mut r) = agg.into_iter().next() {
            let prefix = r
                .name
                .find("Series(")
                .map_or("", |i| &r.name[..i])
                .to_string();
            r.name = format!("{prefix}Series({name})");
            out.push(r);
        }
    }
    Ok(out)
}

pub static DIVIDE: FunctionDef = FunctionDef {
    group: "Combine",
    signature: "(dividendSeriesList, divisorSeriesList)",
    description: "Divides two equally long lists pairwise.",
    params: &[
        Param::new("dividendSeriesList", ParamType::SeriesList).required(),
        Param::new("divisorSeriesList", ParamType::SeriesList).required(),
    ],
    run: |ctx, args| {
        let divisors = args.series(1);
        let dividends = args.series(0);
        if dividends.len() != divisors.len() {
            return Err(args
                .bad("dividendSeriesList and divisorSeriesList argument must have equal length"));
        }
        let xff = ctx.x_files_factor.unwrap_or(0.0);
        Ok(dividends
            .into_iter()
            .zip(divisors)
            .filter_map(|(a, b)| super::divide_series::divide_pair(a, b, xff))
            .collect())
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{ctx_none, eval, names, vals};

    #[test]
    fn pairs_by_position() {
        let out = eval("sumSeriesLists(a.*, a.*)");
        assert_eq!(names(&out), ["sumSeries(a.x,a.x)", "sumSeries(a.y,a.y)"]);
        assert_eq!(
            vals(&out[1]),
            [Some(20.0), Some(40.0), Some(60.0), Some(80.0)]
        );
        let out = eval("aggregateSeriesLists(a.*, a.*, 'rangeOf')");
        assert_eq!(
            names(&out),
            ["rangeOfSeries(a.x,a.x)", "rangeOfSeries(a.y,a.y)"]
        );
        let out = eval("divideSeriesLists(a.*, a.*)");
        assert_eq!(
            names(&out),
            ["divideSeries(a.x,a.x)", "divideSeries(a.y,a.y)"]
        );
        assert_eq!(vals(&out[0]), [Some(1.0), None, Some(1.0), Some(1.0)]);
        assert!(ctx_none().eval_target("diffSeriesLists(a.*, a.x)").is_err());
    }
}
