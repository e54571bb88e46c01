//! `aggregate(seriesList, func)` and the `*Series` functions that are graphite-web aliases of
//! it (sumSeries/sum, averageSeries/avg, maxSeries, minSeries, diffSeries, multiplySeries):
//! one value per timestamp across normalized series, named `<func>Series(<paths>)`.

use super::{FunctionDef, Param, ParamType, format_path_expressions, normalize, xff};
use crate::query::graphite::eval::{Context, EvalError};
use crate::query::graphite::parser::{Call, Expr};
use crate::query::graphite::series::{TimeSeries, parse_tags};
use crate::store::metrics::FoldOp;

const LISTS: &[Param] = &[Param::new("seriesLists", ParamType::SeriesList)
    .required()
    .multiple()];

pub static DEF: FunctionDef = FunctionDef {
    group: "Combine",
    signature: "(seriesList, func, xFilesFactor=None)",
    description: "Aggregates series with the given function (average, avg_zero, median, sum, min, max, diff, stddev, count, range, multiply, last and their aliases) at each timestamp.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("func", ParamType::AggFunc).required(),
        Param::new("xFilesFactor", ParamType::Float),
    ],
    run: |ctx, args| {
        let func = args.string(1).unwrap_or_default().to_string();
        let xff = args.float(2);
        let list = args.series(0);
        aggregate(ctx, vec![list], &func, xff).map_err(|m| args.bad(m))
    },
};

macro_rules! alias_of_aggregate {
    ($name:ident, $func:literal, $desc:literal) => {
        pub static $name: FunctionDef = FunctionDef {
            group: "Combine",
            signature: "(*seriesLists)",
            description: $desc,
            params: LISTS,
            run: |ctx, args| {
                let lists = args.series_lists(0);
                aggregate(ctx, lists, $func, None).map_err(|m| args.bad(m))
            },
        };
    };
}

alias_of_aggregate!(
    SUM,
    "sum",
    "Adds series together at each timestamp (aggregate with sum). Short form: sum()."
);
alias_of_aggregate!(
    AVERAGE,
    "average",
    "Averages series at each timestamp (aggregate with average). Short form: avg()."
);
alias_of_aggregate!(MAX, "max", "The maximum of the series at each timestamp.");
alias_of_aggregate!(MIN, "min", "The minimum of the series at each timestamp.");
alias_of_aggregate!(
    DIFF,
    "diff",
    "Subtracts series 2 through n from series 1 at each timestamp."
);

alias_of_aggregate!(
    STDDEV,
    "stddev",
    "The standard deviation of the series at each timestamp."
);
alias_of_aggregate!(
    RANGE,
    "rangeOf",
    "The range (maximum minus minimum) of the series at each timestamp."
);

pub static MULTIPLY: FunctionDef = FunctionDef {
    group: "Combine",
    signature: "(*seriesLists)",
    description: "Multiplies series together at each timestamp; one series is returned as is.",
    params: LISTS,
    run: |ctx, args| {
        let lists = args.series_lists(0);
        // graphite-web returns a lone series unchanged (legacy behaviour)
        if lists.len() == 1 && lists[0].len() == 1 {
            return Ok(lists.into_iter().flatten().collect());
        }
        aggregate(ctx, lists, "multiply", None).map_err(|m| args.bad(m))
    },
};

/// graphite-web's `aggregate`: a `...Series` suffix on `func` is ignored; an unknown
/// function is the caller's error (its message is returned).
pub fn aggregate(
    ctx: &Context<'_>,
    lists: Vec<Vec<TimeSeries>>,
    func: &str,
    x_files_factor: Option<f64>,
) -> Result<Vec<TimeSeries>, String> {
    let raw = func;
    let func = func.strip_suffix("Series").unwrap_or(func);
    let agg = agg_func(func).ok_or_else(|| format!("unsupported aggregation function: {raw}"))?;
    let Some((series, start, end, step)) = normalize(lists) else {
        return Ok(Vec::new());
    };
    let xff_v = x_files_factor.or(ctx.x_files_factor).unwrap_or(0.0);
    let name = format!("{func}Series({})", format_path_expressions(&series));
    let values = aggregate_values(&series, func, agg, xff_v);
    let mut tags = series[0].tags.clone();
    for s in &series[1..] {
        tags.retain(|k, v| s.tags.get(k) == Some(v));
    }
    tags.entry("name".into()).or_insert_with(|| name.clone());
    tags.insert("aggregatedBy".into(), func.to_string());
    let mut out = TimeSeries::new(name, start, end, step, values);
    out.tags = tags;
    out.x_files_factor = xff_v;
    Ok(vec![out])
}

/// The fused form of `sumSeries(path)`, `averageSeries(path)`, `minSeries(path)`,
/// `maxSeries(path)`, `countSeries(path)` (and their short names, and `aggregate(path, func[, xFilesFactor])`
/// with those functions): when the call's only series argument is a path expression, nothing
/// else sees its series, so they are folded straight into one accumulator by the backend
/// instead of being read into a thousand vectors first. The answer is the unfused one to
/// the bit (same name order, same summation order, same name, tags and xFilesFactor);
/// `None` when the call is not of that shape or the series need normalising (different
/// steps or ranges), and the caller evaluates it the ordinary way.
pub fn fused(
    ctx: &Context<'_>,
    def: &'static FunctionDef,
    call: &Call,
) -> Result<Option<Vec<TimeSeries>>, EvalError> {
    let is = |d: &FunctionDef| std::ptr::eq(def, d);
    let count = is(&super::count_series::DEF);
    let (func, pattern, x_files_factor) =
        if is(&SUM) || is(&AVERAGE) || is(&MIN) || is(&MAX) || count {
            let ([Expr::Path(p)], []) = (call.args.as_slice(), call.kwargs.as_slice()) else {
                return Ok(None);
            };
            let func = if count {
                "count"
            } else if is(&SUM) {
                "sum"
            } else if is(&AVERAGE) {
                "average"
            } else if is(&MIN) {
                "min"
            } else {
                "max"
            };
            (func, p, None)
        } else if is(&DEF) {
            let literal = |e: &Expr| match e {
                Expr::Int(i) => Some(Some(*i as f64)),
                Expr::Float(f) => Some(Some(*f)),
                Expr::None => Some(None),
                _ => None,
            };
            let (p, f, xff_expr) = match (call.args.as_slice(), call.kwargs.as_slice()) {
                ([Expr::Path(p), Expr::Str(f)], []) => (p, f, None),
                ([Expr::Path(p), Expr::Str(f), x], []) => (p, f, Some(x)),
                ([Expr::Path(p), Expr::Str(f)], [(k, x)]) if k == "xFilesFactor" => (p, f, Some(x)),
                _ => return Ok(None),
            };
            let x_files_factor = match xff_expr.map(literal) {
                None => None,
                Some(Some(x)) => x,
                Some(None) => return Ok(None),
            };
            let func = f.strip_suffix("Series").unwrap_or(f);
            let func = match func {
                "sum" | "total" | "average" | "avg" | "min" | "max" => func,
                _ => return Ok(None),
            };
            (func, p, x_files_factor)
        } else {
            return Ok(None);
        };
    let op = match func {
        "min" => FoldOp::Min,
        "max" => FoldOp::Max,
        _ => FoldOp::Sum,
    };
    let store = |e: crate::store::metrics::MetricsError| EvalError::Store(e.to_string());
    let mut names = ctx.backend.expand(pattern).map_err(store)?;
    names.sort();
    names.dedup();
    let Some(folded) = ctx
        .backend
        .fold_many(&names, ctx.from, ctx.until, ctx.now, op)
        .map_err(store)?
    else {
        return Ok(None);
    };
    let Some(&first) = folded.present.first() else {
        // graphite-web's normalize of no series
        return Ok(Some(Vec::new()));
    };
    let total = folded.present.len();
    if count {
        // countSeries: the number of series at every slot, whatever their values
        let name = format!("countSeries({pattern})");
        let values = vec![Some(total as f64); folded.values.len()];
        let mut s = TimeSeries::new(name, folded.start, folded.end, folded.step, values);
        s.x_files_factor = ctx.x_files_factor.unwrap_or(0.0);
        return Ok(Some(vec![s]));
    }
    let xff_v = x_files_factor.or(ctx.x_files_factor).unwrap_or(0.0);
    let average = matches!(func, "average" | "avg");
    let values = folded
        .values
        .iter()
        .zip(&folded.counts)
        .map(|(&v, &n)| {
            let n = n as usize;
            if n == 0 || !xff(n, total, xff_v) {
                return None;
            }
            Some(if average { v / n as f64 } else { v })
        })
        .collect();
    let name = format!("{func}Series({pattern})");
    let mut tags = parse_tags(&names[first]);
    for &i in &folded.present[1..] {
        if tags.is_empty() {
            break;
        }
        let t = parse_tags(&names[i]);
        tags.retain(|k, v| t.get(k) == Some(v));
    }
    tags.entry("name".into()).or_insert_with(|| name.clone());
    tags.insert("aggregatedBy".into(), func.to_string());
    let mut out = TimeSeries::new(name, folded.start, folded.end, folded.step, values);
    out.tags = tags;
    out.x_files_factor = xff_v;
    Ok(Some(vec![out]))
}

type AggFn = fn(&[Option<f64>]) -> Option<f64>;

/// One value per row of `izip_longest(*series)`, as [`super::rows`] would give them to `agg`, but
/// without building the rows: sums and averages accumulate column by column in the same
/// order (a thousand-series `sumSeries` is the common dashboard query), anything else reuses
/// one row buffer.
fn aggregate_values(series: &[TimeSeries], func: &str, agg: AggFn, xff_v: f64) -> Vec<Option<f64>> {
    use std::borrow::Cow;
    let cols: Vec<Cow<'_, [Option<f64>]>> = series
        .iter()
        .map(|s| {
            if s.values_per_point <= 1 {
                Cow::Borrowed(s.values.as_slice())
            } else {
                Cow::Owned(s.points())
            }
        })
        .collect();
    let len = cols.iter().map(|c| c.len()).max().unwrap_or(0);
    let total = cols.len();
    let average = matches!(func, "average" | "avg");
    if average || matches!(func, "sum" | "total") {
        // `safe` values summed left to right from -0.0, exactly as `Iterator::sum` does
        let mut sums = vec![-0.0f64; len];
        let mut counts = vec![0usize; len];
        for c in &cols {
            for ((acc, n), v) in sums.iter_mut().zip(counts.iter_mut()).zip(c.iter()) {
                if let Some(x) = *v {
                    *acc += x;
                    *n += 1;
                }
            }
        }
        return sums
            .into_iter()
            .zip(counts)
            .map(|(sum, n)| {
                if n == 0 || !xff(n, total, xff_v) {
                    return None;
                }
                Some(if average { sum / n as f64 } else { sum })
            })
            .collect();
    }
    let mut row = Vec::with_capacity(total);
    (0..len)
        .map(|i| {
            row.clear();
            row.extend(cols.iter().map(|c| c.get(i).copied().flatten()));
            let nn = row.iter().filter(|v| v.is_some()).count();
            if xff(nn, total, xff_v) {
                agg(&row)
            } else {
                None
            }
        })
        .collect()
}

fn safe(row: &[Option<f64>]) -> Vec<f64> {
    row.iter().flatten().copied().collect()
}

/// graphite-web's `getAggFunc` over its `safe*` helpers (nulls skipped).
pub fn agg_func(name: &str) -> Option<AggFn> {
    Some(match name {
        "average" | "avg" => |r| {
            let v = safe(r);
            (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
        },
        "avg_zero" => |r| {
            (!r.is_empty())
                .then(|| r.iter().map(|v| v.unwrap_or(0.0)).sum::<f64>() / r.len() as f64)
        },
        "median" => |r| {
            let mut v = safe(r);
            if v.is_empty() {
                return None;
            }
            v.sort_by(f64::total_cmp);
            let mid = v.len() / 2;
            Some(if v.len().is_multiple_of(2) {
                (v[mid - 1] + v[mid]) / 2.0
            } else {
                v[mid]
            })
        },
        "sum" | "total" => |r| {
            let v = safe(r);
            (!v.is_empty()).then(|| v.iter().sum())
        },
        "min" => |r| safe(r).into_iter().reduce(f64::min),
        "max" => |r| safe(r).into_iter().reduce(f64::max),
        "diff" => |r| {
            let v = safe(r);
            let (first, rest) = v.split_first()?;
            Some(first - rest.iter().sum::<f64>())
        },
        "stddev" => |r| {
            let v = safe(r);
            if v.is_empty() {
                return None;
            }
            let avg = v.iter().sum::<f64>() / v.len() as f64;
            let ss: f64 = v.iter().map(|x| (x - avg) * (x - avg)).sum();
            Some((ss / v.len() as f64).sqrt())
        },
        "count" => |r| Some(safe(r).len() as f64),
        "range" | "rangeOf" => |r| {
            let v = safe(r);
            let max = v.iter().copied().reduce(f64::max)?;
            let min = v.iter().copied().reduce(f64::min)?;
            Some(max - min)
        },
        "multiply" => |r| {
            if r.iter().any(Option::is_none) {
                return None;
            }
            safe(r).into_iter().reduce(|a, b| a * b)
        },
        "last" | "current" => |r| r.iter().rev().flatten().next().copied(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::graphite::functions::tests::{ctx_none, series};

    #[test]
    fn sum_normalizes_steps_and_names_by_path_expressions() {
        let mut a = series("a.x", 0, 10, &[Some(1.0), Some(2.0), Some(3.0), Some(4.0)]);
        a.path_expression = "a.*".into();
        let mut b = series("a.y", 0, 20, &[Some(10.0), None]);
        b.path_expression = "a.*".into();
        let out = aggregate(&ctx_none(), vec![vec![a, b]], "sumSeries", None).unwrap();
        assert_eq!(out[0].name, "sumSeries(a.*)");
        assert_eq!(out[0].step, 20);
        // a consolidates by average to [1.5, 3.5]; b is [10, None]
        assert_eq!(out[0].values, vec![Some(11.5), Some(3.5)]);
        assert_eq!(out[0].tags["aggregatedBy"], "sum");
    }

    #[test]
    fn diff_and_multiply_follow_safe_helpers() {
        let a = series("a", 0, 10, &[Some(5.0), None, Some(2.0)]);
        let b = series("b", 0, 10, &[Some(1.0), Some(3.0), Some(4.0)]);
        let d = aggregate(
            &ctx_none(),
            vec![vec![a.clone()], vec![b.clone()]],
            "diff",
            None,
        )
        .unwrap();
        assert_eq!(d[0].name, "diffSeries(a,b)");
        assert_eq!(d[0].values, vec![Some(4.0), Some(3.0), Some(-2.0)]);
        let m = aggregate(&ctx_none(), vec![vec![a], vec![b]], "multiply", None).unwrap();
        assert_eq!(m[0].values, vec![Some(5.0), None, Some(8.0)]);
        let a = series("a", 0, 10, &[Some(1.0), Some(5.0)]);
        let b = series("b", 0, 10, &[Some(3.0), None]);
        let r = aggregate(
            &ctx_none(),
            vec![vec![a.clone(), b.clone()]],
            "rangeOf",
            None,
        )
        .unwrap();
        assert_eq!(r[0].name, "rangeOfSeries(a,b)");
        assert_eq!(r[0].values, vec![Some(2.0), Some(0.0)]);
        let sd = aggregate(&ctx_none(), vec![vec![a, b]], "stddev", None).unwrap();
        assert_eq!(sd[0].values, vec![Some(1.0), Some(0.0)]);
    }

    /// issue 5: an aggregate over a path expression, fused in the store, answers to the bit
    /// as reading the series and aggregating them does (name, tags, range, xFilesFactor,
    /// values); series of other steps fall back to the normalising path.
    #[test]
    fn issue5_fused_aggregates_equal_the_unfused_path() {
        use crate::model::MetricPoint;
        use crate::store::metrics::retention::{Aggregations, Schemas};
        use crate::store::metrics::{MetricStore, MetricsBackend};
        const T0: i64 = 1_795_536_000;
        let tmp = tempfile::tempdir().unwrap();
        let store = MetricStore::open(
            tmp.path(),
            Schemas::parse(
                "s",
                "[slow]\npattern = ^s\\.slow\\.\nretentions = 1m:1h,10m:1d\n\
                 [all]\npattern = .*\nretentions = 10s:1h,1m:1d\n",
            )
            .unwrap(),
            Aggregations::parse(
                "a",
                "[d]\npattern = .*\nxFilesFactor = 0.3\naggregationMethod = average\n",
            )
            .unwrap(),
            std::time::Duration::from_secs(60),
        )
        .unwrap();
        let batch = |from: i64, to: i64| -> Vec<MetricPoint> {
            (from..to)
                .flat_map(|k| {
                    (0..150).filter_map(move |i: i64| {
                        let gap = (i * 5 + k * 3) % 13 == 0 || (i == 7 && k > 100);
                        let value = ((i as f64 + 0.5) * 0.7 + k as f64 * 0.29).cos() * 1e4 / 3.0;
                        (!gap).then(|| MetricPoint {
                            name: format!("m.{i}.v"),
                            value,
                            timestamp: T0 + k * 10,
                        })
                    })
                })
                .collect()
        };
        store.write_at(&batch(0, 250), T0 + 2500).unwrap();
        store.flush().unwrap();
        store.write_at(&batch(250, 360), T0 + 3600).unwrap();
        let slow = MetricPoint {
            name: "s.slow.v".into(),
            value: 2.5,
            timestamp: T0 + 3000,
        };
        store.write_at(&[slow], T0 + 3600).unwrap();
        let now = T0 + 3600;
        for (from, xff_req) in [(T0, None), (T0 - 3000, Some(0.95)), (T0 + 1200, Some(0.5))] {
            let mut ctx = Context::new(&store, from, now, now);
            ctx.x_files_factor = xff_req;
            for (target, func, xff_arg) in [
                ("sumSeries(m.*.v)", "sum", None),
                ("sum(m.*.v)", "sum", None),
                ("averageSeries(m.*.v)", "average", None),
                ("avg(m.*.v)", "average", None),
                ("minSeries(m.*.v)", "min", None),
                ("maxSeries(m.*.v)", "max", None),
                ("aggregate(m.*.v, 'total')", "total", None),
                ("aggregate(m.*.v, 'avgSeries', 0.99)", "avg", Some(0.99)),
                (
                    "aggregate(m.*.v, 'max', xFilesFactor=0.9)",
                    "max",
                    Some(0.9),
                ),
                ("sumSeries(m.*.*)", "sum", None),
                // s.slow.v has 1 min steps: normalised, not fused
                ("sumSeries(*.*.v)", "sum", None),
                ("maxSeries(*.*.v)", "max", None),
                ("sumSeries(nothing.*)", "sum", None),
                ("countSeries(m.*.v)", "count", None),
                ("countSeries(*.*.v)", "count", None),
                ("countSeries(nothing.*)", "count", None),
            ] {
                let got = ctx.eval_target(target).unwrap();
                let pattern = target.split(['(', ',', ')']).nth(1).unwrap();
                let series = ctx.fetch(pattern).unwrap();
                let want = if func == "count" {
                    // apply() runs the function on evaluated arguments: never fused
                    let Expr::Call(call) = crate::query::graphite::parser::parse(target).unwrap()
                    else {
                        panic!("{target}")
                    };
                    let args = vec![crate::query::graphite::eval::Value::Series(series)];
                    ctx.apply("countSeries", args, &call).unwrap()
                } else {
                    aggregate(&ctx, vec![series], func, xff_arg).unwrap()
                };
                assert_eq!(got, want, "{target}");
                let bits = |s: &[TimeSeries]| -> Vec<Option<u64>> {
                    s.iter()
                        .flat_map(|s| s.values.iter().map(|v| v.map(f64::to_bits)))
                        .collect()
                };
                assert_eq!(bits(&got), bits(&want), "{target}");
                if pattern == "m.*.v" {
                    assert_eq!(got[0].name, format!("{func}Series(m.*.v)"));
                    let eff = xff_arg.or(xff_req).unwrap_or(0.0);
                    let nulls = got[0].values.iter().filter(|v| v.is_none()).count();
                    if eff <= 0.5 {
                        assert!(nulls < got[0].values.len() / 2, "{target}");
                    }
                }
            }
        }
        // the fused path is the one taken: the store folds them
        let ctx = Context::new(&store, T0, now, now);
        let names = store.expand("m.*.v").unwrap();
        assert!(
            store
                .fold_many(&names, ctx.from, ctx.until, ctx.now, FoldOp::Sum)
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn unknown_aggregation_is_an_error() {
        assert!(aggregate(&ctx_none(), vec![], "nope", None).is_err());
    }
}
