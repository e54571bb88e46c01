//! telltale: one process that takes a fleet's syslog (and later metrics and Monit status),
//! normalizes, stores and serves it. Modules in data-flow order:
//!
//! - [`model`]: the types that cross stage boundaries (`RawMessage` → `LogRecord`)
//! - [`ingest`]: listeners and wire protocols (syslog framing, RFC 3164, RFC 5424)
//! - [`store`]: the log store (tantivy, one index per UTC day)
//! - [`query`]: the log query language and time expressions
pub mod ingest;
pub mod model;
pub mod query;
pub mod store;
