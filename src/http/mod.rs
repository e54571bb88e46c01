//! The HTTP transport: `fn router(state) -> Router`. Handlers parse and validate the request,
//! call the stores' read APIs (blocking work on the blocking pool) and shape the answer;
//! they hold no logic of their own.

mod error;
mod logs;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

pub use error::ApiError;

use crate::metrics::Counters;
use crate::store::logs::LogStore;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub logs: Arc<LogStore>,
    pub counters: Arc<Counters>,
    /// Set once every listener is bound and the stores are open: `/health` answers 200.
    pub ready: Arc<AtomicBool>,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
}

/// Builds the router.
pub fn router(state: AppState) -> Router {
    let limit = state.max_body_bytes;
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route(
            "/api/logs/search",
            get(logs::search_get).post(logs::search_post),
        )
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

async fn health(State(s): State<AppState>) -> impl IntoResponse {
    if s.ready.load(Ordering::Acquire) {
        (StatusCode::OK, "ok\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting\n")
    }
}

async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.counters.render_prometheus(),
    )
}
