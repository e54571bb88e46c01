//! Helpers shared by the unit tests of several modules (compiled for tests only).
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;

use crate::metrics::Counters;
use crate::model::LogRecord;
use crate::store::logs::LogStore;
use crate::store::logs::writer::{self, WriterConfig};

/// Splits one CSV record (RFC 4180 quoting, `""` inside quotes); LogHub quotes any field
/// holding a comma.
pub fn csv_fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// Opens the log store in `dir`, writes `records` through the real writer thread's loop
/// (committed, searchable) and returns the store.
pub fn write_logs(dir: &Path, records: Vec<LogRecord>) -> Arc<LogStore> {
    write_batches(dir, vec![records.into()])
}

/// [`write_logs`] for batches as the normalize stage sends them (with a normalizer stamp).
pub fn write_batches(dir: &Path, batches: Vec<writer::RecordBatch>) -> Arc<LogStore> {
    let store = Arc::new(LogStore::open(dir).unwrap());
    let (tx, rx) = std::sync::mpsc::sync_channel(batches.len().max(1));
    for b in batches {
        tx.send(b).unwrap();
    }
    drop(tx);
    writer::run(
        store.clone(),
        rx,
        WriterConfig {
            memory_budget: 16 << 20,
            ..WriterConfig::default()
        },
        Arc::new(Counters::default()),
    )
    .unwrap();
    store
}
