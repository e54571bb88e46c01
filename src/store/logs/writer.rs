//! The single writer thread of the log store. It owns one tantivy `IndexWriter` per open day,
//! turns records into documents and commits every `commit_interval` (default 1 s) so a line is
//! searchable within about a second of arriving. It is a plain thread, not a task: tantivy's
//! `add_document` and `commit` block, and must never stall the async executor.
//!
//! Crash safety: before each commit the writer saves the day's metadata widened by what is
//! about to be committed, so `day.json` always covers at least the committed data (a wider
//! range only costs a wasted search, never a missed hit); counts are re-read from the index
//! on open.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use tantivy::schema::OwnedValue;
use tantivy::{DateTime, IndexWriter, TantivyDocument};

use super::day::DayMeta;
use super::{LogStore, StoreError};
use crate::metrics::Counters;
use crate::model::LogRecord;
use crate::model::time::{NS_PER_DAY, day_of_ns};

/// Knobs of the writer (from `[logs]` in the config).
#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// How often buffered documents are committed (and become searchable).
    pub commit_interval: Duration,
    /// tantivy indexing memory per open day, in bytes (split across threads).
    pub memory_budget: usize,
    /// tantivy indexing threads per open day.
    pub threads: usize,
    /// Writers kept open at once; late lines for older days open one briefly.
    pub max_open_days: usize,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            commit_interval: Duration::from_secs(1),
            memory_budget: 128 << 20,
            threads: 1,
            max_open_days: 3,
        }
    }
}

struct OpenDay {
    writer: IndexWriter,
    /// Facts about documents added since the last commit.
    pending: DayMeta,
    last_used: Instant,
}

/// Runs until every sender of `rx` is dropped, then commits what it holds and returns.
pub fn run(
    store: Arc<LogStore>,
    rx: Receiver<Vec<LogRecord>>,
    cfg: WriterConfig,
    counters: Arc<Counters>,
) -> Result<(), StoreError> {
    let mut w = Writer {
        store,
        cfg,
        counters,
        open: HashMap::new(),
        dirty: false,
    };
    let mut next_commit = Instant::now() + w.cfg.commit_interval;
    loop {
        let wait = next_commit.saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait) {
            Ok(batch) => {
                for rec in batch {
                    w.add(rec)?;
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if Instant::now() >= next_commit {
            w.commit()?;
            next_commit = Instant::now() + w.cfg.commit_interval;
        }
    }
    w.commit()?;
    for (_, od) in w.open.drain() {
        od.writer.wait_merging_threads()?;
    }
    Ok(())
}

struct Writer {
    store: Arc<LogStore>,
    cfg: WriterConfig,
    counters: Arc<Counters>,
    open: HashMap<i64, OpenDay>,
    dirty: bool,
}

impl Writer {
    fn add(&mut self, rec: LogRecord) -> Result<(), StoreError> {
        // a sender whose clock runs more than a day ahead is filed under the day we got it
        let part_ns = if rec.timestamp_ns > rec.received_ns.saturating_add(NS_PER_DAY) {
            rec.received_ns
        } else {
            rec.timestamp_ns
        };
        let day = day_of_ns(part_ns);
        if !self.open.contains_key(&day) {
            self.open_day(day)?;
        }
        let f = *self.store.fields();
        let mut doc = TantivyDocument::new();
        doc.add_date(
            f.timestamp,
            DateTime::from_timestamp_nanos(rec.timestamp_ns),
        );
        doc.add_i64(f.received, rec.received_ns / 1000);
        doc.add_text(f.host, &rec.host);
        doc.add_text(f.app, &rec.app);
        if !rec.pid.is_empty() {
            doc.add_text(f.pid, &rec.pid);
        }
        if let Some(s) = rec.severity {
            doc.add_u64(f.severity, u64::from(s));
        }
        if let Some(fac) = rec.facility {
            doc.add_u64(f.facility, u64::from(fac));
        }
        if !rec.msgid.is_empty() {
            doc.add_text(f.msgid, &rec.msgid);
        }
        doc.add_text(f.message, &rec.message);
        if !rec.fields.is_empty() {
            let obj = rec
                .fields
                .into_iter()
                .map(|(k, v)| (k, OwnedValue::Str(v)))
                .collect();
            doc.add_field_value(f.fields, &OwnedValue::Object(obj));
        }
        doc.add_bytes(f.raw, &rec.raw);
        let Some(od) = self.open.get_mut(&day) else {
            return Ok(());
        };
        od.pending.add(rec.timestamp_ns, &rec.host, &rec.app);
        od.last_used = Instant::now();
        od.writer.add_document(doc)?;
        self.dirty = true;
        Ok(())
    }

    fn open_day(&mut self, day: i64) -> Result<(), StoreError> {
        if self.open.len() >= self.cfg.max_open_days {
            // commit everything (cheap if clean) and close the least recently used writer
            self.commit()?;
            if let Some((&old, _)) = self.open.iter().min_by_key(|(_, od)| od.last_used)
                && let Some(od) = self.open.remove(&old)
            {
                od.writer.wait_merging_threads()?;
            }
        }
        let part = self.store.partition(day)?;
        let writer = part
            .index
            .writer_with_num_threads(self.cfg.threads.max(1), self.cfg.memory_budget)?;
        self.open.insert(
            day,
            OpenDay {
                writer,
                pending: DayMeta::empty(day),
                last_used: Instant::now(),
            },
        );
        Ok(())
    }

    /// Commits every day with pending documents and makes them searchable.
    fn commit(&mut self) -> Result<(), StoreError> {
        if !self.dirty {
            return Ok(());
        }
        for (&day, od) in self.open.iter_mut() {
            if od.pending.count == 0 {
                continue;
            }
            let part = self.store.partition(day)?;
            let dir = self.store.day_dir(day);
            // metadata first, widened by the pending documents (see module docs)
            let mut widened = part.meta.read().map_err(|_| StoreError::Poisoned)?.clone();
            widened.merge(&od.pending);
            widened.save(&dir)?;
            od.writer.commit()?;
            part.reader.reload()?;
            *part.meta.write().map_err(|_| StoreError::Poisoned)? = widened;
            self.counters
                .logs_committed
                .fetch_add(od.pending.count, Ordering::Relaxed);
            od.pending = DayMeta::empty(day);
        }
        self.counters.log_commits.fetch_add(1, Ordering::Relaxed);
        self.dirty = false;
        Ok(())
    }
}
