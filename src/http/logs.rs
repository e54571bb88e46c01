//! `GET|POST /api/logs/search?q=QUERY&from=T&until=T&limit=N`.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{ApiError, AppState};
use crate::model::time::{format_rfc3339, now_ns};
use crate::model::{FACILITY_NAMES, LogRecord, SEVERITY_NAMES};

/// Most hits one request may ask for: bounds the cost of a single query.
pub const MAX_LIMIT: usize = 10_000;
const DEFAULT_LIMIT: usize = 100;

/// Parameters as strings, so a bad value gets our message rather than a generic rejection.
#[derive(Debug, Default, Deserialize)]
pub struct SearchParams {
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    until: Option<String>,
    #[serde(default, deserialize_with = "string_or_number")]
    limit: Option<String>,
    /// `raw=1` adds each hit's original frame (lossy UTF-8) as `raw`.
    #[serde(default, deserialize_with = "string_or_number")]
    raw: Option<String>,
}

fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    })
}

pub async fn search_get(
    State(s): State<AppState>,
    Query(p): Query<SearchParams>,
) -> Result<Json<Value>, ApiError> {
    search(s, p).await
}

/// POST takes a JSON object or a urlencoded form with the same keys.
pub async fn search_post(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let p: SearchParams = if ct.starts_with("application/json") {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))?
    } else {
        serde_urlencoded::from_bytes(&body)
            .map_err(|e| ApiError::BadRequest(format!("invalid form body: {e}")))?
    };
    search(s, p).await
}

async fn search(s: AppState, p: SearchParams) -> Result<Json<Value>, ApiError> {
    let now = now_ns();
    let time = |v: &Option<String>, name: &str, default: i64| match v.as_deref() {
        None | Some("") => Ok(default),
        Some(t) => crate::query::time::parse_time(t, now)
            .map_err(|e| ApiError::BadRequest(format!("invalid '{name}': {e}"))),
    };
    let from = time(&p.from, "from", i64::MIN)?;
    let until = time(&p.until, "until", i64::MAX)?;
    if from > until {
        return Err(ApiError::BadRequest(
            "'from' is after 'until': the time range is empty".into(),
        ));
    }
    let limit = match p.limit.as_deref() {
        None | Some("") => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= MAX_LIMIT)
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "invalid 'limit' '{l}': use a whole number from 0 to {MAX_LIMIT}"
                ))
            })?,
    };
    let q = p.q.unwrap_or_default();
    let store = s.logs.clone();
    // compiled once here so a bad query is a 400 before any search starts
    crate::query::logs::build_query(&q, store.fields(), store.schema())
        .map_err(|e| ApiError::BadRequest(format!("invalid query: {e}")))?;
    // archives are read only when the caller asked for a start time: an open-ended query must
    // not decompress years of archives
    let with_archive = p.from.as_deref().is_some_and(|f| !f.is_empty());
    s.counters.searches.fetch_add(1, Ordering::Relaxed);
    let result = tokio::task::spawn_blocking(move || {
        let schema = store.schema().clone();
        // it compiled above against the current layout; an older layout only lacks fields
        let compile = |f: &crate::store::logs::schema::LogFields| {
            crate::query::logs::build_query(&q, f, &schema)
                .unwrap_or_else(|_| Box::new(tantivy::query::EmptyQuery))
        };
        let hot = store
            .search(&compile, from, until, limit)
            .map_err(|e| e.to_string())?;
        let mut total = hot.total;
        let mut hits: Vec<(LogRecord, bool)> = hot.hits.into_iter().map(|r| (r, false)).collect();
        let dir = store.archive_dir();
        if with_archive && crate::store::logs::archive::seal::has_archive(&dir) {
            let ast = crate::query::logs::parse(&q).map_err(|e| e.to_string())?;
            let mut m = crate::query::logs::Matcher::new(&ast).map_err(|e| e.to_string())?;
            let skip = |day: i64| store.holds_whole_day(day);
            let arch = crate::store::logs::archive::search::search_archive(
                &dir,
                &mut m,
                from,
                until,
                limit,
                &skip,
                &mut |_| {},
            )
            .map_err(|e| e.to_string())?;
            total += arch.total;
            hits.extend(arch.hits.into_iter().map(|r| (r, true)));
            // both lists are newest first; a stable sort keeps each one's order on ties
            hits.sort_by_key(|(r, _)| std::cmp::Reverse(r.timestamp_ns));
            hits.truncate(limit);
        }
        Ok::<_, String>((total, hits))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(ApiError::Internal)?;
    let with_raw = matches!(p.raw.as_deref(), Some("1" | "true" | "yes"));
    let (total, result_hits) = result;
    let hits: Vec<Value> = result_hits
        .iter()
        .map(|(r, archived)| {
            let mut h = hit_json(r);
            if *archived && let Value::Object(m) = &mut h {
                m.insert("archived".into(), Value::Bool(true));
            }
            if with_raw && let Value::Object(m) = &mut h {
                m.insert(
                    "raw".into(),
                    Value::String(String::from_utf8_lossy(&r.raw).into_owned()),
                );
            }
            h
        })
        .collect();
    Ok(Json(json!({ "total": total, "hits": hits })))
}

/// One hit in the API's shape (see DESIGN.md "Interfaces").
pub fn hit_json(r: &LogRecord) -> Value {
    let mut fields = Map::new();
    for (k, v) in &r.fields {
        fields.insert(k.clone(), Value::String(v.clone()));
    }
    let name = |names: &[&str], v: Option<u8>| match v {
        Some(n) => names
            .get(usize::from(n))
            .map_or(Value::Null, |s| Value::String((*s).to_string())),
        None => Value::Null,
    };
    json!({
        "timestamp": format_rfc3339(r.timestamp_ns),
        "received": format_rfc3339(r.received_ns),
        "host": r.host,
        "app": r.app,
        "pid": r.pid,
        "severity": name(&SEVERITY_NAMES, r.severity),
        "facility": name(&FACILITY_NAMES, r.facility),
        "msgid": r.msgid,
        "message": r.message,
        "fields": fields,
    })
}
