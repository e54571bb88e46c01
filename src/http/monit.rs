//! `POST /collector` (Monit's M/Monit protocol) and `GET /api/hosts` (the inventory).
//!
//! Monit opens one connection per POST and waits for the answer before its next check, so the
//! handler answers as soon as the body is converted: points and records are handed on with
//! `try_send`, and a full log channel is waited on from the blocking pool, never here.
//!
//! While the disk floor pauses ingestion (`crate::disk`) the collector answers 503 without
//! reading the document: Monit takes any answer but 2xx as a failed delivery, keeps its events
//! in its event queue (`set eventqueue`) and sends them again once the collector takes posts.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};

use super::{ApiError, AppState};
use crate::config::MonitUser;
use crate::ingest::monit;
use crate::model::time::now_ns;

/// The realm Monit sees in the challenge.
const CHALLENGE: &str = "Basic realm=\"telltale monit collector\"";

pub async fn collector(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if !authorized(&s.monit_users, &headers) {
        s.counters
            .monit_unauthorized
            .fetch_add(1, Ordering::Relaxed);
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, CHALLENGE)],
            Json(json!({ "error": "wrong or missing credentials for the monit collector" })),
        )
            .into_response();
    }
    if s.disk.is_paused() {
        s.counters
            .monit_refused_disk_floor
            .fetch_add(1, Ordering::Relaxed);
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({ "error": "ingestion is paused because free disk space is below \
                the disk floor (see /health); send the report again later" }),
            ),
        )
            .into_response();
    }
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase());
    let gzip = match encoding.as_deref() {
        None | Some("" | "identity") => false,
        Some("gzip" | "x-gzip") => true,
        Some(other) => {
            s.counters.monit_rejected.fetch_add(1, Ordering::Relaxed);
            return ApiError::BadRequest(format!(
                "unsupported content-encoding '{other}': send gzip or none"
            ))
            .into_response();
        }
    };
    // parsing is CPU work proportional to the body (up to 4 MiB): keep it off the executor
    let inventory = s.hosts.clone();
    let converted =
        tokio::task::spawn_blocking(move || monit::ingest(&body, gzip, &inventory, now_ns())).await;
    let converted = match converted {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            s.counters.monit_rejected.fetch_add(1, Ordering::Relaxed);
            return ApiError::BadRequest(format!("invalid monit document: {e}")).into_response();
        }
        Err(e) => return ApiError::Internal(e.to_string()).into_response(),
    };
    s.counters.monit_reports.fetch_add(1, Ordering::Relaxed);
    hand_off(&s, converted);
    StatusCode::OK.into_response()
}

/// Sends the points and records on without waiting on the executor.
fn hand_off(s: &AppState, c: monit::Converted) {
    if let Some(tx) = &s.points
        && !c.points.is_empty()
    {
        let n = c.points.len() as u64;
        // Monit sends a fresh full status next cycle, so a cycle dropped under pressure
        // costs one sample per series; it is counted
        if tx.try_send(c.points).is_err() {
            s.counters
                .monit_points_dropped
                .fetch_add(n, Ordering::Relaxed);
        } else {
            s.counters.monit_points.fetch_add(n, Ordering::Relaxed);
        }
    }
    if let Some(tx) = &s.records
        && !c.records.is_empty()
    {
        s.counters
            .monit_events
            .fetch_add(c.records.len() as u64, Ordering::Relaxed);
        match tx.try_send(c.records.into()) {
            Ok(()) | Err(std::sync::mpsc::TrySendError::Disconnected(_)) => {}
            // events are rare and matter: wait for room on a blocking thread, not here
            Err(std::sync::mpsc::TrySendError::Full(r)) => {
                let tx = tx.clone();
                tokio::task::spawn_blocking(move || {
                    let _ = tx.send(r);
                });
            }
        }
    }
}

/// Checks `Authorization: Basic` against the configured users.
fn authorized(users: &[MonitUser], headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, token)) = value.trim().split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(token.trim()) else {
        return false;
    };
    let Some(colon) = decoded.iter().position(|&b| b == b':') else {
        return false;
    };
    let (user, password) = (&decoded[..colon], &decoded[colon + 1..]);
    // check every user so the time taken does not tell which names exist
    users.iter().fold(false, |ok, u| {
        ok | (ct_eq(u.user.as_bytes(), user) & ct_eq(u.password.as_bytes(), password))
    })
}

/// Compares without stopping at the first difference (the password is a secret).
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `GET /api/hosts`: every Monit-reporting host, sorted by name.
pub async fn hosts(State(s): State<AppState>) -> Json<Value> {
    Json(json!({ "hosts": s.hosts.list() }))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    use super::*;
    use crate::ingest::monit::inventory::Inventory;
    use crate::metrics::Counters;
    use crate::model::MetricPoint;
    use crate::store::logs::LogStore;

    type Channels = (
        tokio::sync::mpsc::Receiver<Vec<MetricPoint>>,
        std::sync::mpsc::Receiver<crate::store::logs::writer::RecordBatch>,
    );

    fn state(dir: &std::path::Path) -> (AppState, Channels) {
        let (ptx, prx) = tokio::sync::mpsc::channel(4);
        let (rtx, rrx) = std::sync::mpsc::sync_channel(4);
        let s = AppState {
            logs: Arc::new(LogStore::open(dir).unwrap()),
            counters: Arc::new(Counters::default()),
            ready: Arc::new(AtomicBool::new(true)),
            max_body_bytes: 1 << 20,
            points: Some(ptx),
            records: Some(rtx),
            hosts: Arc::new(Inventory::new()),
            monit_users: vec![MonitUser {
                user: "monit".into(),
                password: "monit".into(),
            }]
            .into(),
            normalizer: Arc::new(crate::normalize::SharedNormalizer::load(None)),
            disk: Arc::default(),
            metrics: Arc::new(
                crate::store::metrics::MetricStore::open(
                    dir,
                    crate::store::metrics::retention::Schemas::parse(
                        "s",
                        "[all]\npattern = .*\nretentions = 10s:1d\n",
                    )
                    .unwrap(),
                    crate::store::metrics::retention::Aggregations::parse("a", "").unwrap(),
                    std::time::Duration::from_secs(1),
                )
                .unwrap(),
            ),
            events: Arc::new(crate::store::events::EventStore::open(dir).unwrap()),
        };
        (s, (prx, rrx))
    }

    fn capture(name: &str) -> Bytes {
        let raw = std::fs::read(format!(
            "{}/ingest-tests/golden/monit/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let at = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        Bytes::from(raw[at + 4..].to_vec())
    }

    #[tokio::test]
    async fn collector_converts_hands_off_and_answers_200() {
        let tmp = tempfile::tempdir().unwrap();
        let (s, (mut points, records)) = state(tmp.path());
        let body = capture("04-program-status-failed-event.http");
        let r = collector(
            State(s.clone()),
            headers("Basic bW9uaXQ6bW9uaXQ="),
            body.clone(),
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        let p = points.try_recv().unwrap();
        assert!(
            p.iter()
                .any(|m| m.name == "monit.localhost.flaky.status" && m.value == 1.0)
        );
        let recs = records.try_recv().unwrap().records;
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].app, "monit");
        assert_eq!(recs[0].severity, Some(3));
        assert_eq!(s.hosts.list().len(), 1);

        let r = collector(State(s.clone()), HeaderMap::new(), body).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.headers().contains_key(header::WWW_AUTHENTICATE));
        let r = collector(
            State(s.clone()),
            headers("Basic bW9uaXQ6bW9uaXQ="),
            Bytes::from_static(b"<monit"),
        )
        .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(s.counters.monit_reports.load(Ordering::Relaxed), 1);
        assert_eq!(s.counters.monit_rejected.load(Ordering::Relaxed), 1);
        assert_eq!(s.counters.monit_unauthorized.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn a_paused_collector_answers_503_before_reading_and_counts_it() {
        let tmp = tempfile::tempdir().unwrap();
        let (s, (mut points, records)) = state(tmp.path());
        s.disk.set(true, "test".into());
        let body = capture("04-program-status-failed-event.http");
        let r = collector(
            State(s.clone()),
            headers("Basic bW9uaXQ6bW9uaXQ="),
            body.clone(),
        )
        .await;
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        let text = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
        let text = String::from_utf8_lossy(&text);
        assert!(
            text.contains("paused") && text.contains("disk floor"),
            "{text}"
        );
        assert!(points.try_recv().is_err() && records.try_recv().is_err());
        assert!(s.hosts.list().is_empty());
        // credentials are still checked first
        let r = collector(State(s.clone()), HeaderMap::new(), body.clone()).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            s.counters.monit_refused_disk_floor.load(Ordering::Relaxed),
            1
        );
        s.disk.set(false, String::new());
        let r = collector(State(s.clone()), headers("Basic bW9uaXQ6bW9uaXQ="), body).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(records.try_recv().unwrap().records.len(), 1);
    }

    fn headers(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, auth.parse().unwrap());
        h
    }

    #[test]
    fn basic_auth_accepts_configured_users_only() {
        let users = vec![
            MonitUser {
                user: "monit".into(),
                password: "monit".into(),
            },
            MonitUser {
                user: "fleet".into(),
                password: "a:b".into(),
            },
        ];
        // base64("monit:monit"), as Monit sends it
        assert!(authorized(&users, &headers("Basic bW9uaXQ6bW9uaXQ=")));
        let enc = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        assert!(authorized(
            &users,
            &headers(&format!("basic {}", enc("fleet:a:b")))
        ));
        assert!(!authorized(
            &users,
            &headers(&format!("Basic {}", enc("monit:wrong")))
        ));
        assert!(!authorized(
            &users,
            &headers(&format!("Basic {}", enc("monit")))
        ));
        assert!(!authorized(&users, &headers("Bearer bW9uaXQ6bW9uaXQ=")));
        assert!(!authorized(&users, &headers("Basic !!!")));
        assert!(!authorized(&users, &HeaderMap::new()));
        assert!(!authorized(&[], &headers("Basic bW9uaXQ6bW9uaXQ=")));
    }
}
