//! The log store: one tantivy index per UTC day under `<data>/logs/YYYY-MM-DD/`.
pub mod schema;
