//! The Graphite API, as graphite-web 1.1 answers it: `/render` (targets evaluated by
//! `query::graphite`), `/functions`, `/metrics/find`,
//! `/metrics/expand`, `/metrics/index.json`, `/version`, the tag database (`/tags/...`) and
//! events (`/events/...`). Parameters come from the query string and, for POST, a form body,
//! merged as graphite-web merges them.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{ApiError, AppState};
use crate::model::time::now_ns;
use crate::query::graphite::eval::{Context, EvalError, Request};
use crate::query::graphite::functions;
use crate::query::graphite::series::TimeSeries;
use crate::store::events;
use crate::store::metrics::tags;
use crate::store::metrics::{MetricsBackend, MetricsError};

/// graphite-web's version string, which Grafana reads to pick its request dialect.
pub const VERSION: &str = "1.1.8";

/// Query string plus (for POST) a urlencoded body, every value of every key kept in order.
fn params(query: Option<String>, headers: &HeaderMap, body: &Bytes) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = query
        .as_deref()
        .map(|q| serde_urlencoded::from_str(q).unwrap_or_default())
        .unwrap_or_default();
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if form && !body.is_empty() {
        let b: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
        out.extend(b);
    }
    out
}

fn get<'a>(p: &'a [(String, String)], key: &str) -> Option<&'a str> {
    p.iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn all<'a>(p: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    p.iter()
        .filter(|(k, _)| k == key || (k.ends_with("[]") && &k[..k.len() - 2] == key))
        .map(|(_, v)| v.as_str())
        .collect()
}

/// `template[name]=value` parameters for `template()`, the last value of each name, in the
/// order names first appear (graphite-web strips `template[` and the last character).
fn templates(p: &[(String, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in p {
        let Some(rest) = k.strip_prefix("template[") else {
            continue;
        };
        let mut name = rest.chars();
        name.next_back();
        let name = name.as_str();
        match out.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = v.clone(),
            None => out.push((name.to_string(), v.clone())),
        }
    }
    out
}

/// graphite-web's `renderViewJson` consolidation for `maxDataPoints`: each series whose
/// point count over the request's overall time range exceeds it is consolidated by
/// `ceil(points / max)`, its start nudged so bucket edges stay put from one refresh to the
/// next. graphite-web drops one value fewer than the nudge covers; so does this.
pub fn apply_max_data_points(series: &mut [TimeSeries], max: usize) {
    let Some(start) = series.iter().map(|s| s.start).min() else {
        return;
    };
    let end = series.iter().map(|s| s.end).max().unwrap_or(start);
    let range = (end - start) as f64;
    for s in series.iter_mut() {
        if s.step <= 0 {
            continue;
        }
        if max == 1 {
            s.values_per_point = s.values.len().max(1);
            continue;
        }
        let points = range / s.step as f64;
        if (max as f64) < points {
            let vpp = (points / max as f64).ceil() as i64;
            let seconds_per_point = vpp * s.step;
            let nudge = seconds_per_point + s.start.rem_euclid(s.step)
                - s.start.rem_euclid(seconds_per_point);
            s.start += nudge;
            let lose = usize::try_from(nudge / s.step).unwrap_or(0);
            let drop = lose.saturating_sub(1).min(s.values.len());
            s.values.drain(..drop);
            s.values_per_point = usize::try_from(vpp).unwrap_or(1).max(1);
        }
    }
}

/// graphite-web renders `min(from, until)` to `max(from, until)`: a reversed range is swapped,
/// an empty one is refused.
fn ordered_range(from: i64, until: i64) -> Result<(i64, i64), ApiError> {
    if from == until {
        return Err(ApiError::BadRequest(
            "'from' and 'until' must differ".to_string(),
        ));
    }
    Ok((from.min(until), from.max(until)))
}

/// `(value, timestamp)` pairs as graphite-web's `datapoints()`: consolidated values zipped
/// with `range(start, end + 1, step * valuesPerPoint)`.
fn datapoints(s: &TimeSeries) -> Vec<(Option<f64>, i64)> {
    let step = s.effective_step().max(1);
    let count = if s.end >= s.start {
        usize::try_from((s.end - s.start) / step + 1).unwrap_or(0)
    } else {
        0
    };
    s.points()
        .into_iter()
        .take(count)
        .enumerate()
        .map(|(i, v)| (v, s.start + i as i64 * step))
        .collect()
}

/// A JSON number as graphite-web writes it: NaN as null, infinities as ±1e9999.
fn json_number(v: Option<f64>, out: &mut String) {
    match v {
        Some(x) if x.is_nan() => out.push_str("null"),
        Some(x) if x == f64::INFINITY => out.push_str("1e9999"),
        Some(x) if x == f64::NEG_INFINITY => out.push_str("-1e9999"),
        Some(x) => out.push_str(&serde_json::to_string(&x).unwrap_or_else(|_| "null".into())),
        None => out.push_str("null"),
    }
}

/// A JSON value written as Python's `json.dumps` writes it (graphite-web's output).
enum PyJson {
    Str(String),
    Num(Option<f64>),
    Int(i64),
    Arr(Vec<PyJson>),
    Obj(Vec<(String, PyJson)>),
}

impl PyJson {
    /// Compact (`", "` and `": "` separators) or, with `indent`, Python's `indent=2` layout.
    fn write(&self, indent: Option<usize>, level: usize, out: &mut String) {
        let newline = |out: &mut String, level: usize| {
            if let Some(n) = indent {
                out.push('\n');
                out.push_str(&" ".repeat(n * level));
            }
        };
        let sep = if indent.is_some() { "," } else { ", " };
        match self {
            PyJson::Str(s) => out.push_str(&Value::String(s.clone()).to_string()),
            PyJson::Num(v) => json_number(*v, out),
            PyJson::Int(i) => out.push_str(&i.to_string()),
            PyJson::Arr(items) if items.is_empty() => out.push_str("[]"),
            PyJson::Obj(items) if items.is_empty() => out.push_str("{}"),
            PyJson::Arr(items) => {
                out.push('[');
                for (k, it) in items.iter().enumerate() {
                    if k > 0 {
                        out.push_str(sep);
                    }
                    newline(out, level + 1);
                    it.write(indent, level + 1, out);
                }
                newline(out, level);
                out.push(']');
            }
            PyJson::Obj(items) => {
                out.push('{');
                for (k, (key, it)) in items.iter().enumerate() {
                    if k > 0 {
                        out.push_str(sep);
                    }
                    newline(out, level + 1);
                    out.push_str(&Value::String(key.clone()).to_string());
                    out.push_str(": ");
                    it.write(indent, level + 1, out);
                }
                newline(out, level);
                out.push('}');
            }
        }
    }
}

/// graphite-web's JSON render body, keys in its order (target, tags, datapoints); `pretty`
/// is its `indent=2`. When no series has a single value, graphite-web's `if any(data)` (a
/// series is a Python list: empty is false) writes `[]`; a series without values beside one
/// with values is written, with no datapoints.
fn render_json(series: &[TimeSeries], no_null_points: bool, pretty: bool) -> String {
    // graphite-web writes `[]` when no series has a value slot at all (`if any(data)`: an
    // empty series is false), e.g. a holtWinters bootstrap clamped to the oldest data
    if series.iter().all(|s| s.values.is_empty()) {
        return "[]".to_string();
    }
    if pretty {
        render_json_tree(series, no_null_points, pretty)
    } else {
        render_json_compact(series, no_null_points)
    }
}

/// The compact body written straight into one buffer: the same bytes as the `PyJson` tree
/// (tested against it), without a node and a string per point, which is most of a large
/// render's cost.
fn render_json_compact(series: &[TimeSeries], no_null_points: bool) -> String {
    use std::borrow::Cow;
    use std::io::Write;
    let mut out: Vec<u8> = Vec::with_capacity(64 + series.len() * 256);
    out.push(b'[');
    let mut first = true;
    for s in series {
        let step = s.effective_step().max(1);
        let count = if s.end >= s.start {
            usize::try_from((s.end - s.start) / step + 1).unwrap_or(0)
        } else {
            0
        };
        let values: Cow<'_, [Option<f64>]> = if s.values_per_point <= 1 {
            Cow::Borrowed(&s.values)
        } else {
            Cow::Owned(s.points())
        };
        let values = &values[..values.len().min(count)];
        let keep = |v: &Option<f64>| !no_null_points || v.is_some_and(|x| !x.is_nan());
        if no_null_points && !values.iter().any(keep) {
            continue;
        }
        if !first {
            out.extend_from_slice(b", ");
        }
        first = false;
        out.extend_from_slice(b"{\"target\": ");
        let _ = serde_json::to_writer(&mut out, &s.name);
        out.extend_from_slice(b", \"tags\": {");
        for (k, (key, v)) in s.tags.iter().enumerate() {
            if k > 0 {
                out.extend_from_slice(b", ");
            }
            let _ = serde_json::to_writer(&mut out, key);
            out.extend_from_slice(b": ");
            let _ = serde_json::to_writer(&mut out, v);
        }
        out.extend_from_slice(b"}, \"datapoints\": [");
        let mut first_point = true;
        for (i, v) in values.iter().enumerate() {
            if !keep(v) {
                continue;
            }
            if !first_point {
                out.extend_from_slice(b", ");
            }
            first_point = false;
            out.push(b'[');
            match v {
                Some(x) if x.is_nan() => out.extend_from_slice(b"null"),
                Some(x) if *x == f64::INFINITY => out.extend_from_slice(b"1e9999"),
                Some(x) if *x == f64::NEG_INFINITY => out.extend_from_slice(b"-1e9999"),
                Some(x) => {
                    let _ = serde_json::to_writer(&mut out, x);
                }
                None => out.extend_from_slice(b"null"),
            }
            let _ = write!(out, ", {}]", s.start + i as i64 * step);
        }
        out.extend_from_slice(b"]}");
    }
    out.push(b']');
    // only JSON text and serde_json's (UTF-8) output went in
    String::from_utf8(out).unwrap_or_default()
}

/// The general writer (any layout), through a `PyJson` tree.
fn render_json_tree(series: &[TimeSeries], no_null_points: bool, pretty: bool) -> String {
    let mut all = Vec::with_capacity(series.len());
    let series = if series.iter().any(|s| !s.values.is_empty()) {
        series
    } else {
        &[]
    };
    for s in series {
        let mut dps = datapoints(s);
        if no_null_points {
            dps.retain(|(v, _)| v.is_some_and(|x| !x.is_nan()));
            if dps.is_empty() {
                continue;
            }
        }
        let tags = s
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), PyJson::Str(v.clone())))
            .collect();
        let points = dps
            .into_iter()
            .map(|(v, t)| PyJson::Arr(vec![PyJson::Num(v), PyJson::Int(t)]))
            .collect();
        all.push(PyJson::Obj(vec![
            ("target".into(), PyJson::Str(s.name.clone())),
            ("tags".into(), PyJson::Obj(tags)),
            ("datapoints".into(), PyJson::Arr(points)),
        ]));
    }
    let mut out = String::new();
    PyJson::Arr(all).write(pretty.then_some(2), 0, &mut out);
    out
}

pub async fn render(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p = params(q, &headers, &body);
    let now = get(&p, "now")
        .and_then(|n| crate::query::time::parse_time(n, now_ns()).ok())
        .unwrap_or_else(now_ns);
    let time = |key: &str, default: &str| {
        let v = get(&p, key).filter(|v| !v.is_empty()).unwrap_or(default);
        crate::query::time::parse_time(v, now)
            .map(|ns| ns.div_euclid(1_000_000_000))
            .map_err(|e| ApiError::BadRequest(format!("invalid '{key}': {e}")))
    };
    let (from, until) = ordered_range(time("from", "-24h")?, time("until", "now")?)?;
    let targets: Vec<String> = all(&p, "target")
        .into_iter()
        .filter(|t| !t.trim().is_empty())
        .map(String::from)
        .collect();
    let format = get(&p, "format").unwrap_or("json").to_string();
    // graphite-web honours jsonp only alongside an explicit format
    let jsonp = get(&p, "format").and(get(&p, "jsonp")).map(String::from);
    let max_points = get(&p, "maxDataPoints")
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0);
    let no_null_points = get(&p, "noNullPoints").is_some();
    // Python's bool() of the parameter: any non-empty value
    let pretty = get(&p, "pretty").is_some_and(|v| !v.is_empty());
    let xff = match get(&p, "xFilesFactor").filter(|v| !v.is_empty()) {
        Some(v) => Some(
            v.trim()
                .parse::<f64>()
                .map_err(|_| ApiError::BadRequest(format!("invalid 'xFilesFactor': {v}")))?,
        ),
        None => None,
    };
    let request = Request::with_templates(templates(&p));
    let store = s.metrics.clone();
    let events = s.events.clone();
    let now_s = now.div_euclid(1_000_000_000);
    let series = tokio::task::spawn_blocking(move || -> Result<Vec<TimeSeries>, EvalError> {
        let mut ctx = Context::new(&*store, from, until, now_s);
        ctx.x_files_factor = xff;
        ctx.request = Some(&request);
        ctx.events = Some(&*events);
        let mut out = Vec::new();
        for t in targets {
            out.extend(ctx.eval_target(&t)?);
        }
        Ok(out)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|e| {
        if e.is_client_error() {
            ApiError::BadRequest(e.to_string())
        } else {
            ApiError::Internal(e.to_string())
        }
    })?;
    Ok(match format.as_str() {
        "json" => {
            let mut series = series;
            if let Some(max) = max_points
                && series.iter().any(|s| !s.values.is_empty())
            {
                apply_max_data_points(&mut series, max);
            }
            let body = render_json(&series, no_null_points, pretty);
            match jsonp {
                Some(cb) => (
                    [(header::CONTENT_TYPE, "text/javascript")],
                    format!("{cb}({body})"),
                )
                    .into_response(),
                None => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
            }
        }
        "raw" => {
            let mut out = String::new();
            for r in &series {
                out.push_str(&format!(
                    "{},{},{},{}|",
                    r.name,
                    r.start,
                    r.end,
                    r.effective_step()
                ));
                let vals: Vec<String> = r
                    .points()
                    .iter()
                    .map(|v| v.map_or("None".to_string(), |x| format!("{x:?}")))
                    .collect();
                out.push_str(&vals.join(","));
                out.push('\n');
            }
            ([(header::CONTENT_TYPE, "text/plain")], out).into_response()
        }
        "csv" => {
            let mut out = String::new();
            for r in &series {
                for (v, ts) in datapoints(r) {
                    let t = crate::model::time::format_rfc3339(ts * 1_000_000_000);
                    let t = format!("{} {}", &t[..10], &t[11..19]);
                    let v = v.map_or(String::new(), |x| format!("{x:?}"));
                    out.push_str(&format!("{},{t},{v}\r\n", r.name));
                }
            }
            ([(header::CONTENT_TYPE, "text/csv")], out).into_response()
        }
        other => {
            return Err(ApiError::BadRequest(format!(
                "unsupported format '{other}': use json, raw or csv"
            )));
        }
    })
}

/// `/functions`: graphite-web's function schema (`grouped`, `group` filters), strict JSON.
pub async fn functions_list(RawQuery(q): RawQuery) -> Response {
    let p = params(q, &HeaderMap::new(), &Bytes::new());
    let grouped =
        get(&p, "grouped").is_some_and(|g| matches!(g.to_ascii_lowercase().as_str(), "1" | "true"));
    let v = functions::list(get(&p, "group"), grouped);
    (
        [(header::CONTENT_TYPE, "application/json")],
        functions::to_strict_json(&v),
    )
        .into_response()
}

/// `/functions/<name>`: one function's schema; 404 as graphite-web for an unknown name.
pub async fn function_details(Path(name): Path<String>) -> Result<Response, ApiError> {
    let v = functions::info(&name)
        .ok_or_else(|| ApiError::NotFound(format!("function not found: {name}")))?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        functions::to_strict_json(&v),
    )
        .into_response())
}

pub async fn find(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p = params(q, &headers, &body);
    let query = get(&p, "query")
        .filter(|q| !q.is_empty())
        .ok_or_else(|| ApiError::BadRequest("missing parameter 'query'".into()))?
        .to_string();
    let format = get(&p, "format").unwrap_or("treejson").to_string();
    let store = s.metrics.clone();
    let q2 = query.clone();
    let nodes = super::error::blocking(move || store.find(&q2)).await?;
    let base = match query.rfind('.') {
        Some(i) => query[..=i].to_string(),
        None => String::new(),
    };
    let name = |path: &str| path.rsplit('.').next().unwrap_or(path).to_string();
    let body =
        match format.as_str() {
            "treejson" => {
                let mut branches = Vec::new();
                let mut leaves = Vec::new();
                let mut seen = std::collections::HashSet::new();
                for (path, leaf) in &nodes {
                    let n = name(path);
                    if !seen.insert(n.clone()) {
                        continue;
                    }
                    let node = json!({
                        "text": n, "id": format!("{base}{n}"),
                        "allowChildren": i32::from(!leaf), "expandable": i32::from(!leaf),
                        "leaf": i32::from(*leaf),
                    });
                    if *leaf {
                        leaves.push(node);
                    } else {
                        branches.push(node);
                    }
                }
                branches.extend(leaves);
                Value::Array(branches)
            }
            "completer" => {
                let metrics: Vec<Value> = nodes
                .iter()
                .map(|(path, leaf)| {
                    let p = if *leaf { path.clone() } else { format!("{path}.") };
                    json!({"path": p, "name": name(path), "is_leaf": if *leaf { "1" } else { "0" }})
                })
                .collect();
                json!({ "metrics": metrics })
            }
            "json" => Value::Array(
                nodes
                    .iter()
                    .map(|(path, leaf)| json!({"path": path, "is_leaf": leaf}))
                    .collect(),
            ),
            other => {
                return Err(ApiError::BadRequest(format!(
                    "invalid value for 'format' parameter: {other}"
                )));
            }
        };
    Ok(axum::Json(body).into_response())
}

pub async fn expand(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p = params(q, &headers, &body);
    let queries: Vec<String> = all(&p, "query").into_iter().map(String::from).collect();
    let leaves_only = get(&p, "leavesOnly") == Some("1");
    let group = get(&p, "groupByExpr") == Some("1");
    let store = s.metrics.clone();
    let results = super::error::blocking(move || {
        let mut by: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for q in queries {
            let found = store.find(&q).map_err(|e| e.to_string())?;
            let mut v: Vec<String> = found
                .into_iter()
                .filter(|(_, leaf)| *leaf || !leaves_only)
                .map(|(p, _)| p)
                .collect();
            v.sort();
            v.dedup();
            by.insert(q, v);
        }
        Ok::<_, String>(by)
    })
    .await?;
    let v = if group {
        json!({ "results": results })
    } else {
        let mut all: Vec<String> = results.into_values().flatten().collect();
        all.sort();
        all.dedup();
        json!({ "results": all })
    };
    Ok(axum::Json(v).into_response())
}

pub async fn index_json(State(s): State<AppState>) -> Result<Response, ApiError> {
    let store = s.metrics.clone();
    let mut names = super::error::blocking(move || store.names()).await?;
    names.sort();
    Ok(axum::Json(names).into_response())
}

pub async fn version() -> impl IntoResponse {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain")],
        VERSION,
    )
}

/// graphite-web's default `limit` of the autocompletion endpoints (`TAGDB_AUTOCOMPLETE_LIMIT`).
const AUTOCOMPLETE_LIMIT: usize = 100;

/// A `limit` parameter: absent or empty is no limit; a negative one is none either (SQL's
/// `LIMIT -1`); anything but an integer is a 400.
fn limit_param(p: &[(String, String)], key: &str) -> Result<Option<usize>, ApiError> {
    match get(p, key).map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => {
            let n: i64 = v.parse().map_err(|_| {
                ApiError::BadRequest(format!("invalid '{key}': {v} (an integer is expected)"))
            })?;
            Ok(usize::try_from(n).ok())
        }
    }
}

/// The autocompletion `limit`: 100 when absent or empty; a negative one leaves nothing (as
/// graphite-web's loop, which never takes a tag past a negative limit).
fn autocomplete_limit(p: &[(String, String)]) -> Result<usize, ApiError> {
    if get(p, "limit").is_none_or(|v| v.trim().is_empty()) {
        return Ok(AUTOCOMPLETE_LIMIT);
    }
    Ok(limit_param(p, "limit")?.unwrap_or(0))
}

/// Expressions as graphite-web reads them: every `expr`, or else every `expr[]`.
fn exprs_param(p: &[(String, String)]) -> Vec<String> {
    let plain: Vec<String> = p
        .iter()
        .filter(|(k, _)| k == "expr")
        .map(|(_, v)| v.clone())
        .collect();
    if !plain.is_empty() {
        return plain;
    }
    p.iter()
        .filter(|(k, _)| k == "expr[]")
        .map(|(_, v)| v.clone())
        .collect()
}

/// Paths as graphite-web's tag views read them: every `path`, or else every `path[]`.
fn paths_param(p: &[(String, String)]) -> Vec<String> {
    let plain: Vec<String> = p
        .iter()
        .filter(|(k, _)| k == "path")
        .map(|(_, v)| v.clone())
        .collect();
    if !plain.is_empty() {
        return plain;
    }
    p.iter()
        .filter(|(k, _)| k == "path[]")
        .map(|(_, v)| v.clone())
        .collect()
}

/// A tag-store answer as graphite-web's `jsonResponse` writes it (`pretty`: indented).
fn tag_json(p: &[(String, String)], v: &Value) -> Response {
    let pretty = get(p, "pretty").is_some_and(|v| !v.is_empty());
    let body = if pretty {
        serde_json::to_string_pretty(v)
    } else {
        serde_json::to_string(v)
    }
    .unwrap_or_default();
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A tag query's failure: the request's fault (400) or the store's (500).
fn tag_error(e: MetricsError) -> ApiError {
    match e {
        MetricsError::Tag(t) => ApiError::BadRequest(t.to_string()),
        other => ApiError::Internal(other.to_string()),
    }
}

/// Runs a tag-store call on the blocking pool.
async fn tag_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, MetricsError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(tag_error)
}

/// `GET /tags`: `[{"id", "tag"}]`, sorted; `filter` (a regex anchored at the start), `limit`.
pub async fn tags_list(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let p = params(q, &HeaderMap::new(), &Bytes::new());
    let filter = get(&p, "filter").map(String::from);
    let limit = limit_param(&p, "limit")?;
    let store = s.metrics.clone();
    let tags = tag_blocking(move || {
        store
            .with_index(|ix| ix.tag_index().list_tags(filter.as_deref(), limit))?
            .map_err(MetricsError::from)
    })
    .await?;
    let v: Vec<Value> = tags
        .into_iter()
        .map(|(id, tag)| json!({"id": id, "tag": tag}))
        .collect();
    Ok(tag_json(&p, &Value::Array(v)))
}

/// `GET /tags/<tag>`: `{"id", "tag", "values": [{"id", "value", "count"}]}`, or `null` for a
/// tag never seen (as graphite-web); `filter` and `limit` apply to the values.
pub async fn tag_details(
    State(s): State<AppState>,
    Path(tag): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let p = params(q, &HeaderMap::new(), &Bytes::new());
    let filter = get(&p, "filter").map(String::from);
    let limit = limit_param(&p, "limit")?;
    let store = s.metrics.clone();
    let t = tag.clone();
    let found = tag_blocking(move || {
        store
            .with_index(|ix| ix.tag_index().get_tag(&t, filter.as_deref(), limit))?
            .map_err(MetricsError::from)
    })
    .await?;
    let v = match found {
        None => Value::Null,
        Some((id, values)) => {
            let values: Vec<Value> = values
                .into_iter()
                .map(|v| json!({"id": v.id, "value": v.value, "count": v.count}))
                .collect();
            json!({"id": id, "tag": tag, "values": values})
        }
    };
    Ok(tag_json(&p, &v))
}

/// `/tags/findSeries` (GET or POST): the series matching every `expr`, sorted.
pub async fn tags_find_series(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p = params(q, &headers, &body);
    let exprs = exprs_param(&p);
    if exprs.is_empty() {
        return Err(ApiError::BadRequest("no tag expressions specified".into()));
    }
    let store = s.metrics.clone();
    let found = tag_blocking(move || store.find_tagged(&exprs)).await?;
    Ok(tag_json(&p, &json!(found)))
}

/// `/tags/autoComplete/tags` (GET or POST): `expr`, `tagPrefix`, `limit` (default 100).
pub async fn tags_auto_complete_tags(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p = params(q, &headers, &body);
    let exprs = exprs_param(&p);
    let prefix = get(&p, "tagPrefix").map(String::from);
    let limit = autocomplete_limit(&p)?;
    let store = s.metrics.clone();
    let found = tag_blocking(move || {
        store
            .with_index(|ix| ix.auto_complete_tags(&exprs, prefix.as_deref(), limit))?
            .map_err(MetricsError::from)
    })
    .await?;
    Ok(tag_json(&p, &json!(found)))
}

/// `/tags/autoComplete/values` (GET or POST): `tag` (required), `expr`, `valuePrefix`,
/// `limit` (default 100).
pub async fn tags_auto_complete_values(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p = params(q, &headers, &body);
    let exprs = exprs_param(&p);
    let tag = get(&p, "tag")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::BadRequest("no tag specified".into()))?
        .to_string();
    let prefix = get(&p, "valuePrefix").map(String::from);
    let limit = autocomplete_limit(&p)?;
    let store = s.metrics.clone();
    let found = tag_blocking(move || {
        store
            .with_index(|ix| ix.auto_complete_values(&exprs, &tag, prefix.as_deref(), limit))?
            .map_err(MetricsError::from)
    })
    .await?;
    Ok(tag_json(&p, &json!(found)))
}

/// Normalizes posted paths as carbon does (OpenMetrics `name{k="v"}` too), refusing the ones
/// graphite-web refuses.
fn normalize_paths(paths: &[String]) -> Result<Vec<String>, ApiError> {
    paths
        .iter()
        .map(|path| {
            let p = if path.ends_with("\"}") && path.contains('{') {
                crate::ingest::carbon::normalize_name(path)
            } else {
                path.clone()
            };
            tags::normalize_path(&p).map_err(|e| ApiError::BadRequest(e.to_string()))
        })
        .collect()
}

/// `POST /tags/tagSeries`: indexes `path` and answers its normalized form.
pub async fn tags_tag_series(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p = params(q, &headers, &body);
    let path = get(&p, "path")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::BadRequest("no path specified".into()))?;
    let paths = normalize_paths(&[path.to_string()])?;
    let store = s.metrics.clone();
    let answer = json!(paths[0]);
    tag_blocking(move || store.tag_series(&paths)).await?;
    Ok(tag_json(&p, &answer))
}

/// `POST /tags/tagMultiSeries`: `path` (or `path[]`) repeated; answers the normalized paths.
pub async fn tags_tag_multi_series(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p = params(q, &headers, &body);
    let paths = paths_param(&p);
    if paths.is_empty() {
        return Err(ApiError::BadRequest("no paths specified".into()));
    }
    let paths = normalize_paths(&paths)?;
    let answer = json!(paths);
    let store = s.metrics.clone();
    tag_blocking(move || store.tag_series(&paths)).await?;
    Ok(tag_json(&p, &answer))
}

/// `POST /tags/delSeries`: `path` (or `path[]`) repeated; the series leave the tag index
/// (their data stays, as in graphite-web). Answers `true`.
pub async fn tags_del_series(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p = params(q, &headers, &body);
    let paths = paths_param(&p);
    if paths.is_empty() {
        return Err(ApiError::BadRequest("no path specified".into()));
    }
    let paths = normalize_paths(&paths)?;
    let store = s.metrics.clone();
    tag_blocking(move || store.del_series(&paths)).await?;
    Ok(tag_json(&p, &Value::Bool(true)))
}

/// `/events/get_data`: graphite-web's event list, `from` (default: the epoch), `until`
/// (default: now), `tags` (space-separated), `set=union|intersection`, `jsonp`.
pub async fn events_get_data(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    // graphite-web reads from/until/tags/set from the query string only, jsonp from both
    let query = params(q.clone(), &HeaderMap::new(), &Bytes::new());
    let merged = params(q, &headers, &body);
    let now = now_ns();
    let time = |key: &str| -> Result<Option<i64>, ApiError> {
        match get(&query, key) {
            None => Ok(None),
            Some(v) => crate::query::time::parse_time(v, now)
                .map(|ns| Some(ns.div_euclid(1_000_000_000)))
                .map_err(|e| ApiError::BadRequest(format!("invalid '{key}': {e}"))),
        }
    };
    let from = time("from")?.unwrap_or(0);
    let until = time("until")?.unwrap_or_else(|| now.div_euclid(1_000_000_000));
    let tags: Option<Vec<String>> =
        get(&query, "tags").map(|t| t.split(' ').map(String::from).collect());
    let op = events::SetOp::parse(get(&query, "set"));
    let store = s.events.clone();
    let found =
        super::error::blocking(move || store.find(from, until, tags.as_deref(), op)).await?;
    let body = Value::Array(found.iter().map(events::to_json).collect()).to_string();
    Ok(match get(&merged, "jsonp") {
        Some(cb) => (
            [(header::CONTENT_TYPE, "text/javascript")],
            format!("{cb}({body})"),
        )
            .into_response(),
        None => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
    })
}

/// `POST /events/`: stores one event (JSON body: `what`, `tags`, `data`, `when`); answers 200
/// with an empty body, as graphite-web.
pub async fn events_post(State(s): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let event = events::parse_post(&body, now_ns().div_euclid(1_000_000_000))
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let store = s.events.clone();
    super::error::blocking(move || store.post(event)).await?;
    Ok(StatusCode::OK.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ten() -> TimeSeries {
        TimeSeries::new(
            "a.b",
            100,
            200,
            10,
            (1..=10).map(|i| Some(f64::from(i))).collect(),
        )
    }

    #[test]
    fn reversed_range_is_swapped_and_empty_range_refused() {
        assert_eq!(ordered_range(200, 100).ok(), Some((100, 200)));
        assert_eq!(ordered_range(100, 200).ok(), Some((100, 200)));
        assert!(ordered_range(100, 100).is_err());
    }

    #[test]
    fn max_data_points_nudges_and_consolidates_as_graphite_web() {
        let mut s = vec![ten()];
        apply_max_data_points(&mut s, 4);
        assert_eq!(
            datapoints(&s[0]),
            [(Some(3.0), 120), (Some(6.0), 150), (Some(9.0), 180)]
        );
        let mut s = vec![ten()];
        apply_max_data_points(&mut s, 1);
        assert_eq!(datapoints(&s[0]), [(Some(5.5), 100)]);
        let mut s = vec![ten()];
        apply_max_data_points(&mut s, 10);
        assert_eq!(datapoints(&s[0]).len(), 10);
    }

    #[test]
    fn json_writes_null_infinity_and_skips_null_only_series() {
        let mut s = TimeSeries::new(
            "x",
            0,
            30,
            10,
            vec![Some(f64::INFINITY), None, Some(f64::NAN)],
        );
        s.tags.insert("k".into(), "v".into());
        assert_eq!(
            render_json(std::slice::from_ref(&s), false, false),
            r#"[{"target": "x", "tags": {"k": "v", "name": "x"}, "datapoints": [[1e9999, 0], [null, 10], [null, 20]]}]"#
        );
        assert_eq!(
            render_json(std::slice::from_ref(&s), true, false),
            r#"[{"target": "x", "tags": {"k": "v", "name": "x"}, "datapoints": [[1e9999, 0]]}]"#
        );
        let empty = TimeSeries::new("e", 0, 20, 10, vec![None, None]);
        assert_eq!(render_json(std::slice::from_ref(&empty), true, false), "[]");
        // the direct writer gives the tree's bytes, consolidated and escaped series included
        let mut c = ten();
        c.values_per_point = 3;
        c.values[4] = None;
        c.name = "we\"ird\u{e9}\n".into();
        let mixed = [s.clone(), empty, c, ten()];
        for nn in [false, true] {
            assert_eq!(
                render_json_compact(&mixed, nn),
                render_json_tree(&mixed, nn, false)
            );
        }
        let pretty = render_json(&[s], true, true);
        assert_eq!(
            pretty,
            "[\n  {\n    \"target\": \"x\",\n    \"tags\": {\n      \"k\": \"v\",\n      \"name\": \"x\"\n    },\n    \"datapoints\": [\n      [\n        1e9999,\n        0\n      ]\n    ]\n  }\n]"
        );
    }

    // graphite-web's renderViewJson: `if any(data)` is false when every series is an empty
    // list (a holtWinters* forecast whose bootstrap ate the whole fetch), so the body is []
    #[test]
    fn json_of_only_valueless_series_is_empty() {
        let none = || TimeSeries::new("n", 100, 100, 600, vec![]);
        assert_eq!(render_json(&[none(), none()], false, false), "[]");
        assert_eq!(render_json(&[none()], false, true), "[]");
        let one = TimeSeries::new("x", 0, 10, 10, vec![None]);
        assert_eq!(
            render_json(&[none(), one], false, false),
            r#"[{"target": "n", "tags": {"name": "n"}, "datapoints": []}, {"target": "x", "tags": {"name": "x"}, "datapoints": [[null, 0]]}]"#
        );
    }
}
