//! Storage engines: logs (tantivy, daily partitions) and metrics (WAL, head, Gorilla chunks,
//! immutable blocks, rollups).
pub mod events;
pub mod logs;
pub mod metrics;
