//! telltale: one process that takes a fleet's syslog (and later metrics and Monit status),
//! normalizes, stores and serves it. Modules in data-flow order:
//!
//! - [`config`]: the TOML file and its defaults
//! - [`model`]: the types that cross stage boundaries (`RawMessage` → `LogRecord`)
//! - [`ingest`]: listeners and wire protocols (syslog framing, RFC 3164, RFC 5424, carbon,
//!   Monit's collector XML)
//! - [`normalize`]: raw frames → records (header parse; rules later)
//! - [`store`]: the log store (tantivy, one index per UTC day) and the metric store (WAL,
//!   head, Gorilla chunks, blocks, whisper-style rollups)
//! - [`query`]: the log query language and time expressions
//! - [`http`]: the API router (transport only)
//! - [`app`]: wiring, bounded channels, graceful shutdown, reloads (SIGHUP, file change)
//! - [`disk`]: the disk floor (pauses ingestion when free space runs low)
//! - [`metrics`]: counters about telltale itself; [`cli`]: clients of a running server
pub mod app;
pub mod cli;
pub mod config;
pub mod disk;
pub mod http;
pub mod ingest;
pub mod metrics;
pub mod model;
pub mod normalize;
pub mod query;
pub mod store;
#[cfg(test)]
mod testutil;
