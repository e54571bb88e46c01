//! Storage engines: logs (tantivy, daily partitions).
pub mod logs;
