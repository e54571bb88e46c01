//! Query languages: logs (→ tantivy) and time expressions.
pub mod graphite;
pub mod logs;
pub mod time;
