//! The normalize stage: raw frames in, `LogRecord`s out. Today it splits the syslog header
//! (the `parse` step); rule-driven field extraction and enrichment plug in here. It runs on
//! its own thread because parsing is CPU work and must not stall the listeners' executor.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::mpsc;

use crate::ingest::syslog;
use crate::ingest::syslog::listener::RawBatch;
use crate::metrics::Counters;
use crate::model::LogRecord;

/// Normalizes one raw message into a record.
pub fn normalize(msg: &crate::model::RawMessage) -> LogRecord {
    syslog::parse(msg)
}

/// Runs until every listener has dropped its sender, then returns (dropping `out`, which
/// lets the writer finish).
pub fn run(
    mut rx: mpsc::Receiver<RawBatch>,
    out: std::sync::mpsc::SyncSender<Vec<LogRecord>>,
    counters: Arc<Counters>,
) {
    while let Some(batch) = rx.blocking_recv() {
        let records: Vec<LogRecord> = batch.iter().map(normalize).collect();
        counters
            .logs_normalized
            .fetch_add(records.len() as u64, Ordering::Relaxed);
        if out.send(records).is_err() {
            // the writer died; its error is reported by app::run
            return;
        }
    }
}
