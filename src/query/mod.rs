//! Query languages: logs (→ tantivy) and time expressions.
pub mod logs;
pub mod time;
