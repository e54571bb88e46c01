//! The HTTP transport: `fn router(state) -> Router`. Handlers parse and validate the request,
//! call the stores' read APIs (blocking work on the blocking pool) and shape the answer;
//! they hold no logic of their own.

mod error;
pub mod graphite;
pub(crate) mod logs;
mod monit;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};

pub use error::ApiError;

use crate::config::MonitUser;
use crate::ingest::monit::inventory::Inventory;
use crate::metrics::Counters;
use crate::model::MetricPoint;
use crate::store::logs::LogStore;
use crate::store::logs::writer::RecordBatch;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub logs: Arc<LogStore>,
    pub counters: Arc<Counters>,
    /// Set once every listener is bound and the stores are open: `/health` answers 200.
    pub ready: Arc<AtomicBool>,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Where Monit's metric points go (the metrics pipeline); `None` drops them.
    pub points: Option<tokio::sync::mpsc::Sender<Vec<MetricPoint>>>,
    /// Where Monit's event records go: straight to the log writer (they are already
    /// normalized). `None` drops them. A clone lives here, so the writer ends only after the
    /// HTTP server has stopped and dropped its state.
    pub records: Option<std::sync::mpsc::SyncSender<RecordBatch>>,
    /// The live Monit inventory behind `/api/hosts`.
    pub hosts: Arc<Inventory>,
    /// Who may post to `/collector`.
    pub monit_users: Arc<[MonitUser]>,
    /// The metric store behind the Graphite API.
    pub metrics: Arc<crate::store::metrics::MetricStore>,
    /// Graphite events (`/events/...` and the `events()` function).
    pub events: Arc<crate::store::events::EventStore>,
    /// The log rules in use, for `/api/parsers/stats`.
    pub normalizer: Arc<crate::normalize::SharedNormalizer>,
    /// Whether the disk floor paused ingestion (`/health` says so, `/metrics` has a gauge).
    pub disk: Arc<crate::disk::DiskFloorState>,
}

/// Builds the router.
pub fn router(state: AppState) -> Router {
    let limit = state.max_body_bytes;
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/api/parsers/stats", get(parsers_stats))
        .route("/render", get(graphite::render).post(graphite::render))
        .route("/metrics/find", get(graphite::find).post(graphite::find))
        .route(
            "/metrics/expand",
            get(graphite::expand).post(graphite::expand),
        )
        .route("/metrics/index.json", get(graphite::index_json))
        .route("/version", get(graphite::version))
        .route("/functions", get(graphite::functions_list))
        .route("/functions/{name}", get(graphite::function_details))
        .route("/tags", get(graphite::tags_list))
        .route("/tags/", get(graphite::tags_list))
        .route(
            "/tags/findSeries",
            get(graphite::tags_find_series).post(graphite::tags_find_series),
        )
        .route(
            "/tags/autoComplete/tags",
            get(graphite::tags_auto_complete_tags).post(graphite::tags_auto_complete_tags),
        )
        .route(
            "/tags/autoComplete/values",
            get(graphite::tags_auto_complete_values).post(graphite::tags_auto_complete_values),
        )
        .route("/tags/tagSeries", post(graphite::tags_tag_series))
        .route(
            "/tags/tagMultiSeries",
            post(graphite::tags_tag_multi_series),
        )
        .route("/tags/delSeries", post(graphite::tags_del_series))
        .route("/tags/{tag}", get(graphite::tag_details))
        .route(
            "/events/get_data",
            get(graphite::events_get_data).post(graphite::events_get_data),
        )
        .route("/events", post(graphite::events_post))
        .route("/events/", post(graphite::events_post))
        .route(
            "/api/logs/search",
            get(logs::search_get).post(logs::search_post),
        )
        .route("/api/hosts", get(monit::hosts))
        .layer(DefaultBodyLimit::max(limit))
        // Monit's own limit, independent of the API's: a big fleet host's status is large
        .route(
            "/collector",
            post(monit::collector)
                .layer(DefaultBodyLimit::max(crate::ingest::monit::xml::MAX_BODY)),
        )
        .with_state(state)
}

/// 200 once ready. The body is `ok`, and while the disk floor pauses ingestion a second line
/// `disk_floor: paused: <why>` (the server still answers queries, so it stays 200).
async fn health(State(s): State<AppState>) -> impl IntoResponse {
    if !s.ready.load(Ordering::Acquire) {
        return (StatusCode::SERVICE_UNAVAILABLE, "starting\n".to_string());
    }
    if s.disk.is_paused() {
        return (
            StatusCode::OK,
            format!("ok\ndisk_floor: paused: {}\n", s.disk.reason()),
        );
    }
    (StatusCode::OK, "ok\n".to_string())
}

/// Per-rule hits, per-app misses and lines whose app has no rule, since the rules were
/// (re)loaded.
async fn parsers_stats(State(s): State<AppState>) -> axum::Json<serde_json::Value> {
    axum::Json(s.normalizer.get().stats())
}

async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        format!(
            "{}# HELP telltale_ingest_paused 1 while free disk space is below the disk floor\n\
             # TYPE telltale_ingest_paused gauge\ntelltale_ingest_paused {}\n",
            s.counters.render_prometheus(),
            u8::from(s.disk.is_paused())
        ),
    )
}
