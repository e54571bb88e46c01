//! The Graphite API's storage endpoints, as graphite-web 1.1 answers them: `/render` for plain
//! path expressions (globs; functions arrive with the function library), `/metrics/find`,
//! `/metrics/expand`, `/metrics/index.json` and `/version`. Parameters come from the query
//! string and, for POST, a form body, merged as graphite-web merges them.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{ApiError, AppState};
use crate::model::time::now_ns;
use crate::store::metrics::MetricsBackend;

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

/// One series as rendered.
struct Rendered {
    name: String,
    start: i64,
    end: i64,
    step: i64,
    values: Vec<Option<f64>>,
}

/// Graphite's tags of a series name: `name;k=v` → {name, k}.
fn tags(name: &str) -> Value {
    let mut parts = name.split(';');
    let mut m = serde_json::Map::new();
    m.insert(
        "name".into(),
        Value::String(parts.next().unwrap_or("").into()),
    );
    for p in parts {
        if let Some((k, v)) = p.split_once('=') {
            m.insert(k.into(), Value::String(v.into()));
        }
    }
    Value::Object(m)
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
    let from = time("from", "-24h")?;
    let until = time("until", "now")?;
    if from >= until {
        return Err(ApiError::BadRequest(
            "'from' must be before 'until'".to_string(),
        ));
    }
    let targets: Vec<String> = all(&p, "target").into_iter().map(String::from).collect();
    for t in &targets {
        if let Some(open) = t.find('(') {
            let name = t[..open].trim();
            return Err(ApiError::BadRequest(format!("unsupported function {name}")));
        }
    }
    let format = get(&p, "format").unwrap_or("json").to_string();
    let store = s.metrics.clone();
    let now_s = now.div_euclid(1_000_000_000);
    let series = tokio::task::spawn_blocking(move || -> Result<Vec<Rendered>, String> {
        let mut out = Vec::new();
        for t in targets {
            let mut names = store.expand(&t).map_err(|e| e.to_string())?;
            names.sort();
            for name in names {
                if let Some(sr) = store
                    .read(&name, from, until, now_s)
                    .map_err(|e| e.to_string())?
                {
                    out.push(Rendered {
                        name,
                        start: sr.start,
                        end: sr.end,
                        step: sr.step,
                        values: sr.values,
                    });
                }
            }
        }
        Ok(out)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(ApiError::Internal)?;
    Ok(match format.as_str() {
        "json" => {
            let v: Vec<Value> = series
                .iter()
                .map(|r| {
                    let dps: Vec<Value> = r
                        .values
                        .iter()
                        .enumerate()
                        .map(|(i, v)| json!([v, r.start + i as i64 * r.step]))
                        .collect();
                    json!({"target": r.name, "tags": tags(&r.name), "datapoints": dps})
                })
                .collect();
            axum::Json(v).into_response()
        }
        "raw" => {
            let mut out = String::new();
            for r in &series {
                out.push_str(&format!("{},{},{},{}|", r.name, r.start, r.end, r.step));
                let vals: Vec<String> = r
                    .values
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
                for (i, v) in r.values.iter().enumerate() {
                    let ts = (r.start + i as i64 * r.step) * 1_000_000_000;
                    let t = crate::model::time::format_rfc3339(ts);
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
    let nodes = tokio::task::spawn_blocking(move || store.find(&q2))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
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
    let results = tokio::task::spawn_blocking(move || {
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
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(ApiError::Internal)?;
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
    let mut names = tokio::task::spawn_blocking(move || store.names())
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
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
