//! The metric store (work in progress).
pub mod chunk;
pub mod index;
pub mod retention;
pub mod wal;

use std::path::{Path, PathBuf};

/// Errors of the metric store.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("i/o error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is corrupt: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("metric store is full: {0}")]
    Full(String),
    #[error("the metric store lock is poisoned")]
    Poisoned,
}

impl MetricsError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> MetricsError {
        MetricsError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
