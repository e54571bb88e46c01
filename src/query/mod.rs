//! Query languages: logs (→ tantivy) and time expressions.
pub mod time;
