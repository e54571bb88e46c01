//! `movingWindow(seriesList, windowSize, func='average', xFilesFactor=None)` and its named
//! forms (movingAverage, movingSum, movingMin, movingMax, movingMedian): each point is `func`
//! over the `windowSize` points *before* it. The first argument is evaluated again from
//! `from - window` so the first points have a full window, as graphite-web does.

use super::aggregate::agg_func;
use super::{FunctionDef, Literal, Param, ParamType, xff};
use crate::query::graphite::eval::{Args, Context, EvalError, Value};
use crate::query::graphite::series::{TimeSeries, format_py_float};
use crate::query::time::parse_offset_seconds;

const SUGGESTIONS: &[Literal] = &[
    Literal::Int(5),
    Literal::Int(7),
    Literal::Int(10),
    Literal::Str("1min"),
    Literal::Str("5min"),
    Literal::Str("10min"),
    Literal::Str("30min"),
    Literal::Str("1hour"),
];

const PARAMS: &[Param] = &[
    Param::new("seriesList", ParamType::SeriesList).required(),
    Param::new("windowSize", ParamType::IntOrInterval)
        .required()
        .suggestions(SUGGESTIONS),
    Param::new("xFilesFactor", ParamType::Float),
];

pub static DEF: FunctionDef = FunctionDef {
    group: "Calculate",
    signature: "(seriesList, windowSize, func='average', xFilesFactor=None)",
    description: "Each point becomes func (an aggregation function) over the window of points before it; windowSize is a number of points or an interval such as '5min'.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("windowSize", ParamType::IntOrInterval)
            .required()
            .suggestions(SUGGESTIONS),
        Param::new("func", ParamType::AggFunc).default(Literal::Str("average")),
        Param::new("xFilesFactor", ParamType::Float),
    ],
    run: |ctx, args| {
        let func = args.string(2).unwrap_or("average").to_string();
        let xff = args.float(3);
        moving(ctx, args, &func, xff)
    },
};

macro_rules! named {
    ($name:ident, $func:literal, $desc:literal) => {
        pub static $name: FunctionDef = FunctionDef {
            group: "Calculate",
            signature: "(seriesList, windowSize, xFilesFactor=None)",
            description: $desc,
            params: PARAMS,
            run: |ctx, args| {
                let xff = args.float(2);
                moving(ctx, args, $func, xff)
            },
        };
    };
}

named!(
    AVERAGE,
    "average",
    "The average of the window of points before each point (movingWindow with average)."
);
named!(
    SUM,
    "sum",
    "The sum of the window of points before each point."
);
named!(
    MIN,
    "min",
    "The minimum of the window of points before each point."
);
named!(
    MAX,
    "max",
    "The maximum of the window of points before each point."
);
named!(
    MEDIAN,
    "median",
    "The median of the window of points before each point."
);

/// The window: points (an integer) or an interval string, as given.
enum Window {
    Points(i64, String),
    Interval(i64, String),
}

fn moving(
    ctx: &Context<'_>,
    args: &mut Args<'_>,
    func: &str,
    x_files_factor: Option<f64>,
) -> Result<Vec<TimeSeries>, EvalError> {
    let agg = agg_func(func)
        .ok_or_else(|| args.bad(format!("unsupported aggregation function: {func}")))?;
    let window = match args.get(1) {
        Some(Value::Int(n)) => Window::Points(*n, n.to_string()),
        Some(Value::Float(f)) if f.is_finite() => {
            Window::Points(f.trunc() as i64, format_py_float(*f))
        }
        Some(Value::Str(s)) => {
            let secs =
                parse_offset_seconds(s).ok_or_else(|| args.bad(format!("invalid interval {s}")))?;
            Window::Interval(secs.abs(), s.clone())
        }
        _ => return Err(args.bad("windowSize must be a number of points or an interval")),
    };
    let list = args.series(0);
    if list.is_empty() {
        return Ok(Vec::new());
    }
    let preview = match &window {
        Window::Points(n, _) => list
            .iter()
            .map(|s| s.step)
            .max()
            .unwrap_or(0)
            .saturating_mul(*n),
        Window::Interval(secs, _) => *secs,
    };
    let raw = args
        .call
        .args
        .first()
        .ok_or_else(|| args.bad("missing seriesList"))?;
    let wider = ctx.with_range(ctx.from.saturating_sub(preview), ctx.until);
    let mut tag_name = String::from("moving");
    let mut chars = func.chars();
    if let Some(c) = chars.next() {
        tag_name.extend(c.to_uppercase());
        tag_name.push_str(&chars.as_str().to_lowercase());
    }
    let mut out = Vec::new();
    for mut s in wider.eval_series(raw)? {
        let (name, points) = match &window {
            Window::Points(n, text) => (format!("{tag_name}({},{text})", s.name), *n),
            Window::Interval(secs, text) => (
                format!("{tag_name}({},\"{text}\")", s.name),
                secs / s.step.max(1),
            ),
        };
        let text = match &window {
            Window::Points(_, t) | Window::Interval(_, t) => t.clone(),
        };
        s.tags.insert(tag_name.clone(), text);
        let eff_xff = x_files_factor.unwrap_or(s.x_files_factor);
        let w = usize::try_from(points).unwrap_or(0);
        let values: Vec<Option<f64>> = (w..s.values.len())
            .map(|i| {
                let non_null: Vec<Option<f64>> = s.values[i - w..i]
                    .iter()
                    .filter(|v| v.is_some())
                    .copied()
                    .collect();
                if xff(non_null.len(), w, eff_xff) {
                    agg(&non_null)
                } else {
                    None
                }
            })
            .collect();
        let mut n = s.derive(name, values);
        n.start = s.start.saturating_add(preview);
        out.push(n);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn windows_of_points_and_intervals_prefetch_before_from() {
        let out = eval("movingAverage(t.shift, 2)");
        assert_eq!(names(&out), ["movingAverage(t.shift,2)"]);
        assert_eq!(out[0].start, 100);
        assert_eq!(
            vals(&out[0]),
            [Some(8.5), Some(9.5), Some(10.5), Some(11.5)]
        );
        let out = eval("movingAverage(t.shift, '20s')");
        assert_eq!(names(&out), [r#"movingAverage(t.shift,"20s")"#]);
        assert_eq!(
            vals(&out[0]),
            [Some(8.5), Some(9.5), Some(10.5), Some(11.5)]
        );
        let out = eval("movingSum(t.shift, 3)");
        assert_eq!(vals(&out[0])[0], Some(7.0 + 8.0 + 9.0));
        let out = eval("movingWindow(t.shift, 2, 'max')");
        assert_eq!(names(&out), ["movingMax(t.shift,2)"]);
        assert_eq!(vals(&out[0])[0], Some(9.0));
    }

    #[test]
    fn huge_windows_do_not_overflow() {
        let out = eval("movingAverage(a.x, 9223372036854775807)");
        assert_eq!(vals(&out[0]), Vec::<Option<f64>>::new());
    }

    #[test]
    fn nulls_and_xff_in_the_window() {
        // the test backend's a.x ignores the range: 1, None, 3, 4 from 100
        let out = eval("movingAverage(a.x, 2)");
        assert_eq!(vals(&out[0]), [Some(1.0), Some(3.0)]);
        let out = eval("movingAverage(a.x, 2, 0.6)");
        assert_eq!(vals(&out[0]), [None, None]);
    }
}
