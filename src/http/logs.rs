//! `GET|POST /api/logs/search?q=QUERY&from=T&until=T&limit=N[&raw=1][&stream=1]`.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
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
    /// `stream=1` answers NDJSON with archive progress (see [`stream_search`]).
    #[serde(default, deserialize_with = "string_or_number")]
    stream: Option<String>,
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
) -> Result<Response, ApiError> {
    respond(s, p).await
}

/// POST takes a JSON object or a urlencoded form with the same keys.
pub async fn search_post(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
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
    respond(s, p).await
}

fn flag(v: &Option<String>) -> bool {
    matches!(v.as_deref(), Some("1" | "true" | "yes"))
}

async fn respond(s: AppState, p: SearchParams) -> Result<Response, ApiError> {
    let stream = flag(&p.stream);
    let req = prepare(&s, p)?;
    s.counters.searches.fetch_add(1, Ordering::Relaxed);
    if stream {
        return Ok(stream_search(s, req));
    }
    let store = s.logs.clone();
    let with_raw = req.with_raw;
    // hyper drops this handler when its client disconnects; the guard then tells the archive
    // scan, at its next frame, that nobody waits for the answer
    let gone = Arc::new(AtomicBool::new(false));
    let _guard = SetOnDrop(gone.clone());
    let counters = s.counters.clone();
    let found = tokio::task::spawn_blocking(move || {
        let mut frames_total = 0;
        let found = run(&store, &req, &mut |p| {
            frames_total = p.frames_total;
            if gone.load(Ordering::Relaxed) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        if let Ok(f) = &found
            && f.cancelled
        {
            count_cancelled(&counters, "search", f.frames_read, frames_total);
        }
        found
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(ApiError::Internal)?;
    let hits: Vec<Value> = found
        .hits
        .iter()
        .map(|(r, archived)| shape(r, *archived, with_raw))
        .collect();
    Ok(Json(json!({ "total": found.total, "hits": hits })).into_response())
}

/// Counts and logs a search whose archive scan stopped because its client went away.
fn count_cancelled(counters: &crate::metrics::Counters, what: &str, read: u64, total: u64) {
    counters.search_cancelled.fetch_add(1, Ordering::Relaxed);
    tracing::info!("{what} stopped after {read} of {total} archive frames: the client went away");
}

/// Sets its flag when dropped: with the handler that holds it, when the client goes away.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A validated search request.
struct Request {
    q: String,
    from: i64,
    until: i64,
    limit: usize,
    /// Archives are read only when the caller asked for a start time: an open-ended query
    /// must not decompress years of archives.
    with_archive: bool,
    with_raw: bool,
}

fn prepare(s: &AppState, p: SearchParams) -> Result<Request, ApiError> {
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
    // compiled once here so a bad query is a 400 before any search starts
    crate::query::logs::build_query(&q, s.logs.fields(), s.logs.schema())
        .map_err(|e| ApiError::BadRequest(format!("invalid query: {e}")))?;
    Ok(Request {
        q,
        from,
        until,
        limit,
        with_archive: p.from.as_deref().is_some_and(|f| !f.is_empty()),
        with_raw: flag(&p.raw),
    })
}

/// What a search found: hits flagged archived or not, newest first.
struct Found {
    total: u64,
    hits: Vec<(LogRecord, bool)>,
    frames_read: u64,
    frames_skipped: u64,
    /// `on` stopped the archive scan: the counts and hits cover only the frames read.
    cancelled: bool,
}

/// The search itself (blocking: run it on the blocking pool). `on` hears archive progress
/// after each frame and may stop the scan there.
fn run(
    store: &crate::store::logs::LogStore,
    req: &Request,
    on: &mut dyn FnMut(crate::store::logs::archive::progress::Progress) -> ControlFlow<()>,
) -> Result<Found, String> {
    let schema = store.schema().clone();
    // it compiled in prepare against the current layout; an older layout only lacks fields
    let compile = |f: &crate::store::logs::schema::LogFields| {
        crate::query::logs::build_query(&req.q, f, &schema)
            .unwrap_or_else(|_| Box::new(tantivy::query::EmptyQuery))
    };
    let hot = store
        .search(&compile, req.from, req.until, req.limit)
        .map_err(|e| e.to_string())?;
    let mut found = Found {
        total: hot.total,
        hits: hot.hits.into_iter().map(|r| (r, false)).collect(),
        frames_read: 0,
        frames_skipped: 0,
        cancelled: false,
    };
    let dir = store.archive_dir();
    if req.with_archive && crate::store::logs::archive::seal::has_archive(&dir) {
        let ast = crate::query::logs::parse(&req.q).map_err(|e| e.to_string())?;
        let mut m = crate::query::logs::Matcher::new(&ast).map_err(|e| e.to_string())?;
        let skip = |day: i64| store.holds_whole_day(day);
        let arch = crate::store::logs::archive::search::search_archive_until(
            &dir, &mut m, req.from, req.until, req.limit, &skip, on,
        )
        .map_err(|e| e.to_string())?;
        found.total += arch.total;
        found.frames_read = arch.frames_read;
        found.frames_skipped = arch.frames_skipped;
        found.cancelled = arch.cancelled;
        found.hits.extend(arch.hits.into_iter().map(|r| (r, true)));
        // both lists are newest first; a stable sort keeps each one's order on ties
        found
            .hits
            .sort_by_key(|(r, _)| std::cmp::Reverse(r.timestamp_ns));
        found.hits.truncate(req.limit);
    }
    Ok(found)
}

fn shape(r: &LogRecord, archived: bool, with_raw: bool) -> Value {
    let mut h = hit_json(r);
    if archived && let Value::Object(m) = &mut h {
        m.insert("archived".into(), Value::Bool(true));
    }
    if with_raw && let Value::Object(m) = &mut h {
        m.insert(
            "raw".into(),
            Value::String(String::from_utf8_lossy(&r.raw).into_owned()),
        );
    }
    h
}

/// Lines of a streamed answer, handed from the blocking search to the response body.
struct Lines(tokio::sync::mpsc::Receiver<Bytes>);

impl futures_core::Stream for Lines {
    type Item = Result<Bytes, std::convert::Infallible>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0.poll_recv(cx).map(|l| l.map(Ok))
    }
}

fn line(v: &Value) -> Bytes {
    let mut b = serde_json::to_vec(v).unwrap_or_default();
    b.push(b'\n');
    Bytes::from(b)
}

/// `stream=1`: NDJSON over chunked transfer, so a long archive search shows it is working.
/// Lines: `{"progress":{"frames_done","frames_total","bytes_done","bytes_total"}}` after each
/// archive frame read, then `{"hit":{...}}` newest first, then
/// `{"total":N,"frames_read":N,"frames_skipped":N}`; a failure mid-way ends the stream with
/// `{"error":"..."}` (the detail goes to the server log).
///
/// The search runs on the blocking pool and hands lines over a small channel, so it goes no
/// faster than the client reads; a client that disconnects drops the response body and the
/// channel's receiver with it, and the next progress report stops the archive scan, freeing
/// the thread (counted in `search_cancelled`).
fn stream_search(s: AppState, req: Request) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(64);
    let store = s.logs.clone();
    let counters = s.counters.clone();
    tokio::task::spawn_blocking(move || {
        let progress_tx = tx.clone();
        let mut frames_total = 0;
        let mut on = |p: crate::store::logs::archive::progress::Progress| {
            frames_total = p.frames_total;
            let sent = progress_tx.blocking_send(line(&json!({ "progress": {
                "frames_done": p.frames_done,
                "frames_total": p.frames_total,
                "bytes_done": p.bytes_done,
                "bytes_total": p.bytes_total,
            }})));
            // the receiver is gone: nobody will read what is left to find
            match sent {
                Ok(()) => ControlFlow::Continue(()),
                Err(_) => ControlFlow::Break(()),
            }
        };
        match run(&store, &req, &mut on) {
            Ok(found) if found.cancelled => {
                count_cancelled(
                    &counters,
                    "streamed search",
                    found.frames_read,
                    frames_total,
                );
            }
            Ok(found) => {
                for (r, archived) in &found.hits {
                    let hit = json!({ "hit": shape(r, *archived, req.with_raw) });
                    if tx.blocking_send(line(&hit)).is_err() {
                        return;
                    }
                }
                let _ = tx.blocking_send(line(&json!({
                    "total": found.total,
                    "frames_read": found.frames_read,
                    "frames_skipped": found.frames_skipped,
                })));
            }
            Err(e) => {
                tracing::error!("streamed search failed: {e}");
                let _ = tx.blocking_send(line(
                    &json!({ "error": "internal error; see the server log" }),
                ));
            }
        }
    });
    (
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        axum::body::Body::from_stream(Lines(rx)),
    )
        .into_response()
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
