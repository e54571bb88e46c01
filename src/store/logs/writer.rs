//! The single writer thread of the log store. It owns one tantivy `IndexWriter` per open day,
//! turns records into documents and commits every `commit_interval` (default 1 s) so a line is
//! searchable within about a second of arriving. It is a plain thread, not a task: tantivy's
//! `add_document` and `commit` block, and must never stall the async executor.
//!
//! Hot and cold days: live traffic lands in today's (or yesterday's) partition, which keeps an
//! open `IndexWriter`. Lines for any other day (a backfill, a replay, a host with a wrong
//! clock) are buffered per day and written in bulk every `cold_flush_interval` or when
//! `cold_max_docs` accumulate, each cold day getting a short-lived writer. Keeping a writer
//! open per day instead would cost threads and memory per day and, when a replay cycles
//! through many days, thrash.
//!
//! Crash safety: before each commit the writer saves the day's metadata widened by what is
//! about to be committed, so `day.json` always covers at least the committed data (a wider
//! range only costs a wasted search, never a missed hit); counts are re-read from the index
//! on open.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use tantivy::schema::OwnedValue;
use tantivy::{DateTime, IndexWriter, TantivyDocument};

use super::day::DayMeta;
use super::schema::LogFields;
use super::{LogStore, StoreError};
use crate::metrics::Counters;
use crate::model::LogRecord;
use crate::model::time::{NS_PER_DAY, day_of_ns, now_ns};

/// Knobs of the writer (from `[logs]` in the config).
#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// How often buffered documents are committed (and become searchable).
    pub commit_interval: Duration,
    /// tantivy indexing memory per open day, in bytes (split across threads).
    pub memory_budget: usize,
    /// tantivy indexing threads per open day.
    pub threads: usize,
    /// Buffered lines for cold days are written at least this often.
    pub cold_flush_interval: Duration,
    /// ... or as soon as this many are buffered (bounds the buffer's memory).
    pub cold_max_docs: usize,
    /// Days past the hot window are sealed into the yearly archive (or deleted) by this
    /// thread, at start and every `seal_every`, so no line can land in a day being sealed.
    /// None: never (tests, or `archive` handled elsewhere). Shared with the reloader: a new
    /// policy is applied at once, not at the next round.
    pub retention: Option<super::archive::retention::SharedRetention>,
    pub seal_every: Duration,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            commit_interval: Duration::from_secs(1),
            memory_budget: 128 << 20,
            threads: 1,
            cold_flush_interval: Duration::from_secs(2),
            cold_max_docs: 200_000,
            retention: None,
            seal_every: Duration::from_secs(3600),
        }
    }
}

/// Records on their way to the writer, with the stamp of the normalizer that produced them
/// (None for records made elsewhere: Monit events, telltale's own notices, restores).
#[derive(Debug, Default)]
pub struct RecordBatch {
    pub records: Vec<LogRecord>,
    pub rules: Option<u64>,
}

impl From<Vec<LogRecord>> for RecordBatch {
    fn from(records: Vec<LogRecord>) -> Self {
        RecordBatch {
            records,
            rules: None,
        }
    }
}

struct OpenDay {
    writer: IndexWriter,
    /// Facts about documents added since the last commit.
    pending: DayMeta,
    last_used: Instant,
    /// The partition's own field handles (an older format lacks the newer fields).
    fields: LogFields,
}

/// Runs until every sender of `rx` is dropped, then commits what it holds and returns.
pub fn run(
    store: Arc<LogStore>,
    rx: Receiver<RecordBatch>,
    cfg: WriterConfig,
    counters: Arc<Counters>,
) -> Result<(), StoreError> {
    let mut w = Writer {
        store,
        cfg,
        counters,
        open: HashMap::new(),
        cold: BTreeMap::new(),
        cold_docs: 0,
        last_cold_flush: Instant::now(),
        dirty: false,
    };
    let mut next_commit = Instant::now() + w.cfg.commit_interval;
    // the first seal runs at start-up, after whatever the previous run left
    let mut next_seal = Instant::now();
    let generation = |w: &Writer| w.cfg.retention.as_ref().map(|r| r.generation());
    let mut sealed_generation = generation(&w);
    loop {
        let reloaded = generation(&w) != sealed_generation;
        if w.cfg.retention.is_some() && (reloaded || Instant::now() >= next_seal) {
            sealed_generation = generation(&w);
            w.seal();
            next_seal = Instant::now() + w.cfg.seal_every;
        }
        let wait = next_commit.saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait) {
            Ok(batch) => {
                for rec in batch.records {
                    w.add(rec, batch.rules)?;
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if Instant::now() >= next_commit {
            w.commit()?;
            next_commit = Instant::now() + w.cfg.commit_interval;
        }
        if w.cold_docs >= w.cfg.cold_max_docs
            || (w.cold_docs > 0 && w.last_cold_flush.elapsed() >= w.cfg.cold_flush_interval)
        {
            w.flush_cold()?;
        }
    }
    w.commit()?;
    w.flush_cold()?;
    for (_, od) in w.open.drain() {
        od.writer.wait_merging_threads()?;
    }
    Ok(())
}

struct Writer {
    store: Arc<LogStore>,
    cfg: WriterConfig,
    counters: Arc<Counters>,
    /// Hot days with an open writer.
    open: HashMap<i64, OpenDay>,
    /// Cold days: documents waiting for a bulk write.
    cold: BTreeMap<i64, ColdDay>,
    cold_docs: usize,
    last_cold_flush: Instant,
    dirty: bool,
}

struct ColdDay {
    docs: Vec<TantivyDocument>,
    pending: DayMeta,
    /// The partition's own field handles.
    fields: LogFields,
}

/// The document for a record, with a partition's own field handles: a newer schema extends
/// an older one only by appending fields, which an older partition lacks (`typed` and `rules`
/// are None there and are skipped). `rules` is the stamp of the normalizer that made `rec`.
fn to_doc(f: &LogFields, rec: &LogRecord, rules: Option<u64>) -> TantivyDocument {
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
            .iter()
            .map(|(k, v)| (k.clone(), OwnedValue::Str(v.clone())))
            .collect();
        doc.add_field_value(f.fields, &OwnedValue::Object(obj));
        if let Some(typed) = f.typed {
            let nums: Vec<(String, OwnedValue)> = rec
                .fields
                .iter()
                .filter_map(|(k, v)| typed_value(v).map(|t| (k.clone(), t)))
                .collect();
            if !nums.is_empty() {
                doc.add_field_value(typed, &OwnedValue::Object(nums));
            }
        }
    }
    doc.add_bytes(f.raw, &rec.raw);
    if let (Some(field), Some(stamp)) = (f.rules, rules) {
        doc.add_u64(field, stamp);
    }
    doc
}

/// The numeric view of a field value: an integer, a finite float, or an IPv4 address as its
/// u32 (so a CIDR is a range). Anything else has none.
pub fn typed_value(v: &str) -> Option<OwnedValue> {
    let b = v.as_bytes();
    let first = *b.first()?;
    if !(first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.') {
        return None;
    }
    if let Ok(i) = v.parse::<i64>() {
        return Some(OwnedValue::I64(i));
    }
    if let Ok(ip) = v.parse::<std::net::Ipv4Addr>() {
        return Some(OwnedValue::U64(u64::from(u32::from(ip))));
    }
    match v.parse::<f64>() {
        Ok(x) if x.is_finite() => Some(OwnedValue::F64(x)),
        _ => None,
    }
}

/// Today and yesterday (UTC, by the wall clock) keep open writers; everything else is cold.
fn is_hot(day: i64) -> bool {
    let today = day_of_ns(now_ns());
    day >= today - 1 && day <= today + 1
}

impl Writer {
    fn add(&mut self, rec: LogRecord, rules: Option<u64>) -> Result<(), StoreError> {
        // a sender whose clock runs more than a day ahead is filed under the day we got it
        let part_ns = if rec.timestamp_ns > rec.received_ns.saturating_add(NS_PER_DAY) {
            rec.received_ns
        } else {
            rec.timestamp_ns
        };
        let day = day_of_ns(part_ns);
        if !self.open.contains_key(&day) && is_hot(day) {
            self.open_day(day)?;
        }
        if let Some(od) = self.open.get_mut(&day) {
            let doc = to_doc(&od.fields, &rec, rules);
            od.pending.add(rec.timestamp_ns, &rec.host, &rec.app);
            od.last_used = Instant::now();
            od.writer.add_document(doc)?;
            self.dirty = true;
            return Ok(());
        }
        let cd = match self.cold.entry(day) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => e.insert(ColdDay {
                docs: Vec::new(),
                pending: DayMeta::empty(day),
                fields: self.store.partition(day)?.fields,
            }),
        };
        cd.docs.push(to_doc(&cd.fields, &rec, rules));
        cd.pending.add(rec.timestamp_ns, &rec.host, &rec.app);
        self.cold_docs += 1;
        Ok(())
    }

    fn open_day(&mut self, day: i64) -> Result<(), StoreError> {
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
                fields: part.fields,
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
        // a day that stopped being hot (midnight passed) gives its writer back
        let stale: Vec<i64> = self.open.keys().copied().filter(|d| !is_hot(*d)).collect();
        for day in stale {
            if let Some(od) = self.open.remove(&day) {
                od.writer.wait_merging_threads()?;
            }
        }
        Ok(())
    }

    /// Applies the retention policy: everything buffered is committed and every writer closed
    /// first (a day being sealed must have no writer), then old days are sealed or deleted.
    /// Failures are logged, not fatal: ingestion goes on and the next round retries.
    fn seal(&mut self) {
        let Some(policy) = self.cfg.retention.as_ref().map(|r| r.get()) else {
            return;
        };
        let closed = self
            .commit()
            .and_then(|()| self.flush_cold())
            .and_then(|()| {
                for (_, od) in self.open.drain() {
                    od.writer.wait_merging_threads()?;
                }
                Ok(())
            });
        if let Err(e) = closed {
            tracing::error!("log retention skipped: {e}");
            return;
        }
        match super::archive::seal::apply(&self.store, now_ns(), &policy) {
            Ok(reports) => {
                for r in reports.iter().filter(|r| r.records > 0 || r.kept_hot == 0) {
                    tracing::info!(
                        "sealed {} into the archive: {} records, {} frames, {} bytes, {} kept hot",
                        r.day,
                        r.records,
                        r.frames,
                        r.compressed_bytes,
                        r.kept_hot
                    );
                }
            }
            Err(e) => tracing::error!("log retention failed: {e}"),
        }
    }

    /// Writes every buffered cold day with a short-lived writer, committed and searchable.
    fn flush_cold(&mut self) -> Result<(), StoreError> {
        for (day, cd) in std::mem::take(&mut self.cold) {
            let part = self.store.partition(day)?;
            let dir = self.store.day_dir(day);
            let mut widened = part.meta.read().map_err(|_| StoreError::Poisoned)?.clone();
            widened.merge(&cd.pending);
            widened.save(&dir)?;
            // tantivy's minimum budget: these are bulk writes of at most cold_max_docs
            let mut writer: IndexWriter = part.index.writer_with_num_threads(1, 32 << 20)?;
            for doc in cd.docs {
                writer.add_document(doc)?;
            }
            writer.commit()?;
            part.reader.reload()?;
            *part.meta.write().map_err(|_| StoreError::Poisoned)? = widened;
            writer.wait_merging_threads()?;
            self.counters
                .logs_committed
                .fetch_add(cd.pending.count, Ordering::Relaxed);
        }
        self.cold_docs = 0;
        self.last_cold_flush = Instant::now();
        Ok(())
    }
}
