//! The Holt-Winters family: `holtWintersForecast`, `holtWintersConfidenceBands`,
//! `holtWintersConfidenceArea` and `holtWintersAberration`. Each evaluates its first argument
//! again from `from - bootstrapInterval` (7 days by default) so the model is trained before
//! the range shown, runs graphite-web's additive triple exponential smoothing (alpha = gamma =
//! 0.1, beta = 0.0035, one season = `seasonality`), and drops the bootstrap points.

use super::area_between::area_between;
use super::{FunctionDef, Literal, Param, ParamType};
use crate::query::graphite::eval::{Args, Context, EvalError};
use crate::query::graphite::series::TimeSeries;
use crate::query::time::parse_offset_seconds;

const ALPHA: f64 = 0.1;
const GAMMA: f64 = 0.1;
const BETA: f64 = 0.0035;

const BOOTSTRAP: Param = Param::new("bootstrapInterval", ParamType::Interval)
    .default(Literal::Str("7d"))
    .suggestions(&[Literal::Str("7d"), Literal::Str("30d")]);
const SEASONALITY: Param = Param::new("seasonality", ParamType::Interval)
    .default(Literal::Str("1d"))
    .suggestions(&[Literal::Str("1d"), Literal::Str("7d")]);
const SERIES: Param = Param::new("seriesList", ParamType::SeriesList).required();
/// graphite-web's schema says integer, but it does not enforce its schema (by default) and
/// scales the deviation by any number: 2.5 is a narrower band there.
const DELTA: Param = Param::new("delta", ParamType::Float).default(Literal::Int(3));
const WITH_DELTA: &[Param] = &[SERIES, DELTA, BOOTSTRAP, SEASONALITY];

pub static FORECAST: FunctionDef = FunctionDef {
    group: "Calculate",
    signature: "(seriesList, bootstrapInterval='7d', seasonality='1d')",
    description: "A Holt-Winters forecast of each series, trained on bootstrapInterval of data before the range.",
    params: &[SERIES, BOOTSTRAP, SEASONALITY],
    run: |ctx, args| {
        let preview = interval(args, 1, "7d")?;
        let season = interval(args, 2, "1d")?;
        let mut out = Vec::new();
        for mut s in bootstrap(ctx, args, preview)? {
            let a = analysis(&s, season).map_err(|m| args.bad(m))?;
            s.tags.insert("holtWintersForecast".into(), "1".into());
            let (start, values) = drop_bootstrap(&s, preview, a.predictions);
            out.push(fresh(
                format!("holtWintersForecast({})", s.name),
                (start, s.end, s.step),
                values,
                &s,
            ));
        }
        Ok(out)
    },
};

pub static BANDS: FunctionDef = FunctionDef {
    group: "Calculate",
    signature: "(seriesList, delta=3, bootstrapInterval='7d', seasonality='1d')",
    description: "The lower and upper Holt-Winters confidence bands of each series: the forecast minus and plus delta times the predicted deviation.",
    params: WITH_DELTA,
    run: |ctx, args| bands(ctx, args),
};

pub static ABERRATION: FunctionDef = FunctionDef {
    group: "Calculate",
    signature: "(seriesList, delta=3, bootstrapInterval='7d', seasonality='1d')",
    description: "How far each series is outside its Holt-Winters confidence bands (0 inside them).",
    params: WITH_DELTA,
    run: |ctx, args| {
        let bands = bands(ctx, args)?;
        let list = args.series(0);
        let find = |name: String| {
            bands
                .iter()
                .find(|b| b.name == name)
                .ok_or_else(|| args.bad(format!("no confidence band {name}")))
        };
        let mut out = Vec::with_capacity(list.len());
        for mut s in list {
            let lower = find(format!("holtWintersConfidenceLower({})", s.name))?;
            let upper = find(format!("holtWintersConfidenceUpper({})", s.name))?;
            let n = s.points().len();
            let values = (0..n)
                .map(|i| {
                    let v = s.values.get(i).copied().flatten();
                    let up = upper.values.get(i).copied().flatten();
                    let lo = lower.values.get(i).copied().flatten();
                    Some(match (v, up, lo) {
                        (Some(v), Some(u), _) if v > u => v - u,
                        (Some(v), _, Some(l)) if v < l => v - l,
                        _ => 0.0,
                    })
                })
                .collect();
            s.tags.insert("holtWintersAberration".into(), "1".into());
            out.push(fresh(
                format!("holtWintersAberration({})", s.name),
                (s.start, s.end, s.step),
                values,
                &s,
            ));
        }
        Ok(out)
    },
};

pub static AREA: FunctionDef = FunctionDef {
    group: "Calculate",
    signature: "(seriesList, delta=3, bootstrapInterval='7d', seasonality='1d')",
    description: "The area between the Holt-Winters confidence bands of one series (graphs draw it; JSON has both bands).",
    params: WITH_DELTA,
    run: |ctx, args| {
        let bands = bands(ctx, args)?;
        let mut out = area_between(bands).map_err(|m| args.bad(m))?;
        for s in &mut out {
            s.tags.remove("areaBetween");
            s.tags
                .insert("holtWintersConfidenceArea".into(), "1".into());
            s.name = s.name.replace("areaBetween", "holtWintersConfidenceArea");
            s.path_expression = s.name.clone();
        }
        Ok(out)
    },
};

fn bands(ctx: &Context<'_>, args: &mut Args<'_>) -> Result<Vec<TimeSeries>, EvalError> {
    let delta = args.float_or(1, 3.0);
    let preview = interval(args, 2, "7d")?;
    let season = interval(args, 3, "1d")?;
    let mut out = Vec::new();
    for mut s in bootstrap(ctx, args, preview)? {
        let a = analysis(&s, season).map_err(|m| args.bad(m))?;
        let (start, forecast) = drop_bootstrap(&s, preview, a.predictions);
        let (_, deviation) = drop_bootstrap(&s, preview, a.deviations);
        let (lower, upper): (Vec<_>, Vec<_>) = forecast
            .iter()
            .enumerate()
            .map(|(i, f)| match (f, deviation.get(i).copied().flatten()) {
                (Some(f), Some(d)) => (Some(f - delta * d), Some(f + delta * d)),
                _ => (None, None),
            })
            .unzip();
        s.tags
            .insert("holtWintersConfidenceUpper".into(), "1".into());
        s.tags
            .insert("holtWintersConfidenceLower".into(), "1".into());
        for (kind, values) in [("Lower", lower), ("Upper", upper)] {
            let mut b = fresh(
                format!("holtWintersConfidence{kind}({})", s.name),
                (start, s.end, s.step),
                values,
                &s,
            );
            b.path_expression = s.path_expression.clone();
            out.push(b);
        }
    }
    Ok(out)
}

/// An interval parameter in seconds (graphite-web's `parseTimeOffset`).
fn interval(args: &Args<'_>, i: usize, default: &str) -> Result<i64, EvalError> {
    let text = args.string(i).unwrap_or(default);
    parse_offset_seconds(text).ok_or_else(|| args.bad(format!("invalid interval {text}")))
}

/// The first argument evaluated again from `from - preview`; the tags every analysis leaves
/// on its input (graphite-web shares one tag dict) are set here.
fn bootstrap(
    ctx: &Context<'_>,
    args: &Args<'_>,
    preview: i64,
) -> Result<Vec<TimeSeries>, EvalError> {
    let raw = args
        .call
        .args
        .first()
        .ok_or_else(|| args.bad("missing seriesList"))?;
    let mut list = ctx
        .with_range(ctx.from.saturating_sub(preview), ctx.until)
        .eval_series(raw)?;
    for s in &mut list {
        s.tags.insert("holtWintersForecast".into(), "1".into());
        s.tags.insert("holtWintersDeviation".into(), "1".into());
    }
    Ok(list)
}

/// The values after the bootstrap window (`values[preview // step:]`, Python slicing) and
/// where they start.
fn drop_bootstrap(
    s: &TimeSeries,
    preview: i64,
    values: Vec<Option<f64>>,
) -> (i64, Vec<Option<f64>>) {
    let skip = preview.div_euclid(s.step.max(1));
    let n = values.len() as i64;
    let from = if skip < 0 {
        (n + skip).max(0)
    } else {
        skip.min(n)
    };
    let from = usize::try_from(from).unwrap_or(0);
    (s.start + preview, values[from..].to_vec())
}

/// A new series as graphite-web's constructor makes it: average consolidation, one value
/// per point, the path expression its name, with `like`'s tags and xFilesFactor.
fn fresh(
    name: String,
    (start, end, step): (i64, i64, i64),
    values: Vec<Option<f64>>,
    like: &TimeSeries,
) -> TimeSeries {
    let mut s = TimeSeries::new(name, start, end, step, values);
    s.tags = like.tags.clone();
    s.x_files_factor = like.x_files_factor;
    s
}

struct Analysis {
    predictions: Vec<Option<f64>>,
    deviations: Vec<Option<f64>>,
}

/// graphite-web's `holtWintersAnalysis`, step for step (a null breaks the chain: the next
/// point restarts its intercept from the actual value and has no prediction).
fn analysis(series: &TimeSeries, seasonality: i64) -> Result<Analysis, String> {
    let season = seasonality.div_euclid(series.step.max(1));
    let mut intercepts: Vec<Option<f64>> = Vec::new();
    let mut slopes: Vec<f64> = Vec::new();
    let mut seasonals: Vec<f64> = Vec::new();
    let mut predictions: Vec<Option<f64>> = Vec::new();
    let mut deviations: Vec<Option<f64>> = Vec::new();
    let mut dev_values: Vec<f64> = Vec::new();
    // graphite-web indexes a season back; with a season under two steps that index is not
    // computed yet and it fails
    let back = |list: &[f64], i: i64| -> Result<f64, String> {
        let j = i - season;
        if j < 0 {
            return Ok(0.0);
        }
        usize::try_from(j)
            .ok()
            .and_then(|j| list.get(j).copied())
            .ok_or_else(|| "seasonality must be at least two steps".to_string())
    };
    let mut next_pred: Option<f64> = None;
    for (i, actual) in series.points().into_iter().enumerate() {
        let Some(actual) = actual else {
            intercepts.push(None);
            slopes.push(0.0);
            seasonals.push(0.0);
            predictions.push(next_pred);
            deviations.push(Some(0.0));
            dev_values.push(0.0);
            next_pred = None;
            continue;
        };
        let (last_intercept, last_slope, prediction) = if i == 0 {
            (actual, 0.0, Some(actual))
        } else {
            (
                intercepts.last().copied().flatten().unwrap_or(actual),
                slopes.last().copied().unwrap_or(0.0),
                next_pred,
            )
        };
        let i = i as i64;
        let last_seasonal = back(&seasonals, i)?;
        let next_last_seasonal = back(&seasonals, i + 1)?;
        let last_seasonal_dev = back(&dev_values, i)?;
        let intercept =
            ALPHA * (actual - last_seasonal) + (1.0 - ALPHA) * (last_intercept + last_slope);
        let slope = BETA * (intercept - last_intercept) + (1.0 - BETA) * last_slope;
        let seasonal = GAMMA * (actual - intercept) + (1.0 - GAMMA) * last_seasonal;
        next_pred = Some(intercept + slope + next_last_seasonal);
        let deviation =
            GAMMA * (actual - prediction.unwrap_or(0.0)).abs() + (1.0 - GAMMA) * last_seasonal_dev;
        intercepts.push(Some(intercept));
        slopes.push(slope);
        seasonals.push(seasonal);
        predictions.push(prediction);
        deviations.push(Some(deviation));
        dev_values.push(deviation);
    }
    Ok(Analysis {
        predictions,
        deviations,
    })
}

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    // expected values: graphite-web's holtWinters* over the same bootstrap data
    // (check_more_functions.py; t.wave is range-aware, fetched again from 40)
    #[test]
    fn forecast_trains_on_the_bootstrap_interval() {
        let out = eval("holtWintersForecast(t.wave, '60s', '30s')");
        assert_eq!(names(&out), ["holtWintersForecast(t.wave)"]);
        assert_eq!((out[0].start, out[0].end, out[0].step), (100, 140, 10));
        assert_eq!(out[0].tags["holtWintersForecast"], "1");
        assert_eq!(out[0].tags["holtWintersDeviation"], "1");
        assert_eq!(
            vals(&out[0]),
            [
                Some(10.132399307257314),
                None,
                Some(3.8264956912798875),
                Some(4.53899855920138)
            ]
        );
    }

    #[test]
    fn bands_aberration_and_area() {
        let out = eval("holtWintersConfidenceBands(t.wave, 2, '60s', '30s')");
        assert_eq!(
            names(&out),
            [
                "holtWintersConfidenceLower(t.wave)",
                "holtWintersConfidenceUpper(t.wave)"
            ]
        );
        assert_eq!(out[0].path_expression, "t.wave");
        assert_eq!(out[1].tags.len(), 5);
        assert_eq!(
            vals(&out[0]),
            [
                Some(10.132399307257314),
                None,
                Some(1.2978442974878885),
                Some(3.3867982710416555)
            ]
        );
        assert_eq!(
            vals(&out[1]),
            [
                Some(10.132399307257314),
                None,
                Some(6.355147085071886),
                Some(5.691198847361104)
            ]
        );
        let out = eval("holtWintersAberration(t.wave, 1, '60s', '30s')");
        assert_eq!(names(&out), ["holtWintersAberration(t.wave)"]);
        assert_eq!(out[0].tags.len(), 2);
        assert_eq!(
            vals(&out[0]),
            [
                Some(0.0),
                Some(0.0),
                Some(2.109178611824113),
                Some(5.184901296718759)
            ]
        );
        let out = eval("holtWintersConfidenceArea(t.wave, 3, '60s', '30s')");
        assert_eq!(
            names(&out),
            [
                "holtWintersConfidenceArea(t.wave)",
                "holtWintersConfidenceArea(t.wave)"
            ]
        );
        assert!(!out[0].tags.contains_key("areaBetween"));
        assert_eq!(out[0].tags["holtWintersConfidenceArea"], "1");
        assert_eq!(
            vals(&out[0]),
            [
                Some(10.132399307257314),
                None,
                Some(0.03351860059188905),
                Some(2.8106981269617934)
            ]
        );
        assert_eq!(
            vals(&out[1]),
            [
                Some(10.132399307257314),
                None,
                Some(7.619472781967886),
                Some(6.267298991440966)
            ]
        );
    }

    // graphite-web's schema calls delta an integer but does not enforce it (by default): a
    // fractional delta scales the deviation (the bands of delta 2 give forecast f and
    // deviation d, so delta 2.5 is f -+ 2.5 d)
    #[test]
    fn fractional_delta() {
        let two = eval("holtWintersConfidenceBands(t.wave, 2, '60s', '30s')");
        let half = eval("holtWintersConfidenceBands(t.wave, 2.5, '60s', '30s')");
        let (lo, up) = (vals(&two[0]), vals(&two[1]));
        let (lo5, up5) = (vals(&half[0]), vals(&half[1]));
        for i in 0..lo.len() {
            let (Some(l), Some(u)) = (lo[i], up[i]) else {
                assert_eq!((lo5[i], up5[i]), (None, None));
                continue;
            };
            let (f, d) = ((l + u) / 2.0, (u - l) / 4.0);
            assert!((lo5[i].unwrap() - (f - 2.5 * d)).abs() < 1e-9);
            assert!((up5[i].unwrap() - (f + 2.5 * d)).abs() < 1e-9);
        }
        assert!(up5[2].unwrap() > up[2].unwrap());
    }

    // when the bootstrap fetch has fewer points than the bootstrap interval (the store keeps
    // less history), the bands are shorter than the series: graphite-web indexes past their
    // end (IndexError, a 500); telltale reads a missing band point as no band (0)
    #[test]
    fn aberration_past_the_end_of_short_bands_is_zero() {
        let bands = eval("holtWintersConfidenceBands(a.x, 3, '20s', '20s')");
        assert_eq!(vals(&bands[0]).len(), 2);
        let out = eval("holtWintersAberration(a.x, 3, '20s', '20s')");
        assert_eq!(names(&out), ["holtWintersAberration(a.x)"]);
        let v = vals(&out[0]);
        assert_eq!(v.len(), 4);
        assert_eq!(&v[2..], [Some(0.0), Some(0.0)]);
    }
}
