//! Query languages: logs (→ tantivy) and time expressions.
