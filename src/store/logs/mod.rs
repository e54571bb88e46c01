//! The log store: one tantivy index per UTC day under `<data>/logs/YYYY-MM-DD/`, never merged
//! across days, so retention and archiving are whole-directory operations. Beside each index a
//! small `day.json` keeps the day's time range, count, hosts and apps so a query skips days
//! before opening them. One writer thread owns all `IndexWriter`s (see [`writer`]); searches
//! run on any thread against readers reloaded after each commit.

pub mod archive;
pub mod day;
pub mod schema;
mod stored;
pub mod writer;

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use tantivy::collector::{Collector, TopDocs};
use tantivy::query::{BooleanQuery, EnableScoring, Occur, Query, RangeQuery};
use tantivy::schema::{OwnedValue, Schema, Value};
use tantivy::store::{Compressor, ZstdCompressor};
use tantivy::{
    DateTime, Index, IndexReader, IndexSettings, Order, ReloadPolicy, TantivyDocument, Term,
};

use crate::model::LogRecord;
use crate::model::time::{format_day, parse_day};
use day::DayMeta;
use schema::{LogFields, register_tokenizers};

/// Errors of the log store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("log index error: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("i/o error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("day metadata {path} is corrupt: {reason}")]
    Meta { path: PathBuf, reason: String },
    #[error("the log store lock is poisoned")]
    Poisoned,
}

impl StoreError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> StoreError {
        StoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Doc store settings: zstd over large blocks, as Quickwit does; level 3 keeps sealing cheap
/// (the index side dominates on-disk size, see BENCHMARKS.md).
fn index_settings() -> IndexSettings {
    IndexSettings {
        docstore_compression: Compressor::Zstd(ZstdCompressor {
            compression_level: Some(3),
        }),
        docstore_blocksize: 256 * 1024,
        ..IndexSettings::default()
    }
}

/// Parses `bytes` as a stored document of the current schema in a partition of `day`, as
/// sealing reads one in place; true when accepted. For the fuzz target: any bytes must be
/// accepted or refused without panicking.
#[doc(hidden)]
pub fn fuzz_doc_view(bytes: &[u8], day: i64) -> bool {
    let (_, fields) = LogFields::build();
    let bytes = tantivy::directory::OwnedBytes::new(bytes.to_vec());
    stored::DocView::parse(bytes, &fields, day).is_some_and(|v| {
        // every member it hands out lies within the document
        v.rec().is_none_or(|r| {
            [r.host.len(), r.app.len(), r.message.len(), r.raw.len()]
                .iter()
                .all(|&n| n <= v.len())
        })
    })
}

/// One day's index and what we know about it without opening a searcher.
pub struct Partition {
    /// Day number since 1970-01-01 (UTC).
    pub day: i64,
    pub index: Index,
    /// Manually reloaded by the writer after each commit, so a commit is searchable at once.
    pub reader: IndexReader,
    /// Time range, count, hosts and apps of what is committed.
    pub meta: RwLock<DayMeta>,
    /// This partition's own field handles (an older format may lack some).
    pub fields: LogFields,
    /// Part of the day is in the archive already (a retention override kept the rest hot):
    /// a search reads both. Set from the [`PARTLY_ARCHIVED`] marker file.
    pub partly_archived: std::sync::atomic::AtomicBool,
}

/// Marker file in a day's directory: some of the day's records were sealed into the archive
/// and deleted from this index, the rest stay hot (docs/format/logs.md).
pub const PARTLY_ARCHIVED: &str = "partly-archived";

/// The set of day partitions under `<data>/logs`.
pub struct LogStore {
    root: PathBuf,
    schema: Schema,
    fields: LogFields,
    partitions: RwLock<BTreeMap<i64, Arc<Partition>>>,
    /// The normalizer whose rules sealing snapshots (format-3 archive frames); unset, days
    /// are sealed in format 2.
    archive_rules: std::sync::OnceLock<Arc<crate::normalize::SharedNormalizer>>,
}

/// What a search returns: the total match count and the newest `limit` hits.
#[derive(Debug, Default)]
pub struct SearchResult {
    pub total: u64,
    pub hits: Vec<LogRecord>,
}

impl LogStore {
    /// Seals with the rules of `n` from now on (the ones in force at each seal, after reloads).
    /// Set once; later calls are ignored.
    pub fn set_archive_rules(&self, n: Arc<crate::normalize::SharedNormalizer>) {
        let _ = self.archive_rules.set(n);
    }

    /// The rules a seal now snapshots, if any were set.
    pub fn archive_rules(&self) -> Option<Arc<crate::normalize::Normalizer>> {
        self.archive_rules.get().map(|n| n.get())
    }

    /// Opens (creating if needed) `<data_dir>/logs` and every day partition in it.
    pub fn open(data_dir: &Path) -> Result<LogStore, StoreError> {
        let root = data_dir.join("logs");
        std::fs::create_dir_all(&root).map_err(|e| StoreError::io(&root, e))?;
        let (schema, fields) = LogFields::build();
        let store = LogStore {
            root,
            schema,
            fields,
            partitions: RwLock::new(BTreeMap::new()),
            archive_rules: std::sync::OnceLock::new(),
        };
        let entries = std::fs::read_dir(&store.root).map_err(|e| StoreError::io(&store.root, e))?;
        let mut days = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::io(&store.root, e))?;
            if let Some(day) = entry.file_name().to_str().and_then(parse_day) {
                days.push(day);
            }
        }
        for day in days {
            store.partition(day)?;
        }
        Ok(store)
    }

    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    pub fn fields(&self) -> &LogFields {
        &self.fields
    }

    /// Directory of a day's partition.
    pub fn day_dir(&self, day: i64) -> PathBuf {
        self.root.join(format_day(day))
    }

    /// The partition of `day`, opened or created on first use.
    pub fn partition(&self, day: i64) -> Result<Arc<Partition>, StoreError> {
        if let Some(p) = self
            .partitions
            .read()
            .map_err(|_| StoreError::Poisoned)?
            .get(&day)
        {
            return Ok(p.clone());
        }
        let mut parts = self.partitions.write().map_err(|_| StoreError::Poisoned)?;
        if let Some(p) = parts.get(&day) {
            return Ok(p.clone());
        }
        let dir = self.day_dir(day);
        std::fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        let mmap = tantivy::directory::MmapDirectory::open(&dir)
            .map_err(|e| StoreError::Tantivy(e.into()))?;
        // an existing day keeps the schema it was written with (older formats stay readable)
        let exists = Index::exists(&mmap).map_err(|e| StoreError::Tantivy(e.into()))?;
        let index = if exists {
            Index::open(mmap)?
        } else {
            Index::create(mmap, self.schema.clone(), index_settings())?
        };
        // validate the shape we rely on (timestamp an indexed fast date) before using it
        let f = LogFields::from_schema(&index.schema())?;
        let entry = index.schema().get_field_entry(f.timestamp).clone();
        if !(entry.is_fast() && entry.is_indexed()) {
            return Err(StoreError::Meta {
                path: dir,
                reason: "timestamp is not an indexed fast field".into(),
            });
        }
        register_tokenizers(index.tokenizers());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let mut meta = DayMeta::load(&dir, day)?;
        // the index is the truth for the count: day.json is saved before each commit
        meta.count = reader.searcher().num_docs();
        let p = Arc::new(Partition {
            day,
            index,
            reader,
            meta: RwLock::new(meta),
            fields: f,
            partly_archived: std::sync::atomic::AtomicBool::new(dir.join(PARTLY_ARCHIVED).exists()),
        });
        parts.insert(day, p.clone());
        Ok(p)
    }

    /// `<data>/archive`, where sealed days go.
    pub fn archive_dir(&self) -> PathBuf {
        self.root
            .parent()
            .map_or_else(|| self.root.join("archive"), |d| d.join("archive"))
    }

    /// Whether a partition of `day` is open (never creates one, unlike [`Self::partition`]).
    pub fn has_day(&self, day: i64) -> Result<bool, StoreError> {
        Ok(self
            .partitions
            .read()
            .map_err(|_| StoreError::Poisoned)?
            .contains_key(&day))
    }

    /// Every committed record of a day, in index order (not sorted): what sealing reads.
    /// Whole-day in memory for now; a streaming reader is left for large days.
    pub fn day_records(&self, day: i64) -> Result<Vec<LogRecord>, StoreError> {
        Ok(self.day_records_stamped(day)?.0)
    }

    /// [`LogStore::day_records`], and beside them the stamp of the normalizer that produced
    /// each (None when it did not come through the normalize stage, or predates stamps).
    pub fn day_records_stamped(
        &self,
        day: i64,
    ) -> Result<(Vec<LogRecord>, Vec<Option<u64>>), StoreError> {
        let part = self.partition(day)?;
        part.reader.reload()?;
        let searcher = part.reader.searcher();
        let n = usize::try_from(searcher.num_docs()).unwrap_or(0);
        let (mut out, mut stamps) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for seg in searcher.segment_readers() {
            // block by block, in doc order: each block is decompressed once
            let docs = seg
                .get_store_reader(1)
                .map_err(|e| StoreError::Tantivy(e.into()))?;
            for doc in docs.iter::<stored::StoredDoc>(seg.alive_bitset()) {
                let (r, stamp) = doc?.into_record(&part.fields);
                out.push(r);
                stamps.push(stamp);
            }
        }
        Ok((out, stamps))
    }

    /// Hands each record of `day` to `f`, in doc-store order, with the stamp of the
    /// normalizer that made it: for sealing, which encodes each as it comes and keeps none. A
    /// record stamped `trusted` (the stamp of the rules the seal's frames are written with) is
    /// read in place, without its fields, which the archive re-derives from those rules
    /// (`fields` is then None). Every other record, and any the in-place reader does not
    /// accept, is read whole through tantivy.
    pub fn scan_day<E: From<StoreError>>(
        &self,
        day: i64,
        trusted: Option<u64>,
        mut f: impl FnMut(archive::RecordRef<'_>, Option<u64>) -> Result<(), E>,
    ) -> Result<(), E> {
        let part = self.partition(day)?;
        part.reader.reload().map_err(StoreError::from)?;
        let searcher = part.reader.searcher();
        for seg in searcher.segment_readers() {
            // one cached block: documents are read in order, each block decompressed once
            let docs = seg
                .get_store_reader(1)
                .map_err(|e| StoreError::Tantivy(e.into()))?;
            let alive = seg.alive_bitset();
            let Some(trusted) = trusted else {
                for doc in docs.iter::<stored::StoredDoc>(alive) {
                    let (r, stamp) = doc.map_err(StoreError::from)?.into_record(&part.fields);
                    f((&r).into(), stamp)?;
                }
                continue;
            };
            for id in 0..seg.max_doc() {
                if alive.is_some_and(|a| !a.is_alive(id)) {
                    continue;
                }
                let bytes = docs.get_document_bytes(id).map_err(StoreError::from)?;
                if let Some(v) = stored::DocView::parse(bytes, &part.fields, day)
                    && v.stamp == Some(trusted)
                    && let Some(r) = v.rec()
                {
                    f(r, v.stamp)?;
                    continue;
                }
                let (r, stamp) = docs
                    .get::<stored::StoredDoc>(id)
                    .map_err(StoreError::from)?
                    .into_record(&part.fields);
                f((&r).into(), stamp)?;
            }
        }
        Ok(())
    }

    /// Whether the hot store holds `day` whole, so a search need not read the day's archive
    /// frames: the day is open and not partly archived (between a seal's commit and the
    /// deletion of the partition the day is in both places, and must be read only here).
    pub fn holds_whole_day(&self, day: i64) -> bool {
        self.partitions
            .read()
            .ok()
            .and_then(|p| p.get(&day).cloned())
            .is_some_and(|p| !p.partly_archived.load(std::sync::atomic::Ordering::Acquire))
    }

    /// Deletes from a day's index every record whose lowercased (host, app) is in `pairs`,
    /// the records sealed into the archive while the rest of the day stays hot, and marks the
    /// day partly archived. Order for crash safety: the deletion is committed (readers still
    /// see the old snapshot), then the marker is written and fsynced, then readers reload, so
    /// a concurrent search never misses the archived part; after a crash between commit and
    /// marker, sealing again (at start-up) writes the marker. `kept` (what stays) becomes the
    /// day's metadata. Returns the records left.
    /// The caller must hold the only writer (the writer thread, or an offline tool).
    pub fn delete_pairs(
        &self,
        day: i64,
        pairs: &[(String, String)],
        kept: &DayMeta,
    ) -> Result<u64, StoreError> {
        use tantivy::query::TermQuery;
        use tantivy::schema::IndexRecordOption;
        let part = self.partition(day)?;
        let mut writer: tantivy::IndexWriter = part.index.writer_with_num_threads(1, 32 << 20)?;
        for (host, app) in pairs {
            let q = BooleanQuery::new(vec![
                (
                    Occur::Must,
                    Box::new(TermQuery::new(
                        Term::from_field_text(part.fields.host, host),
                        IndexRecordOption::Basic,
                    )) as Box<dyn Query>,
                ),
                (
                    Occur::Must,
                    Box::new(TermQuery::new(
                        Term::from_field_text(part.fields.app, app),
                        IndexRecordOption::Basic,
                    )),
                ),
            ]);
            writer.delete_query(Box::new(q))?;
        }
        let dir = self.day_dir(day);
        // metadata first (tmp + rename), as the writer does: it may only be wider than the index
        let mut meta = part.meta.read().map_err(|_| StoreError::Poisoned)?.clone();
        let narrowed = DayMeta {
            count: meta.count,
            ..kept.clone()
        };
        writer.commit()?;
        writer.wait_merging_threads()?;
        narrowed.save(&dir)?;
        meta = narrowed;
        let marker = dir.join(PARTLY_ARCHIVED);
        std::fs::File::create(&marker)
            .and_then(|f| f.sync_all())
            .map_err(|e| StoreError::io(&marker, e))?;
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        part.partly_archived
            .store(true, std::sync::atomic::Ordering::Release);
        part.reader.reload()?;
        let left = part.reader.searcher().num_docs();
        meta.count = left;
        *part.meta.write().map_err(|_| StoreError::Poisoned)? = meta;
        Ok(left)
    }

    /// Forgets a day and deletes its directory: the last step of sealing (or of retention).
    /// Searches holding the partition keep working on the open (unlinked) files.
    pub fn remove_day(&self, day: i64) -> Result<(), StoreError> {
        self.partitions
            .write()
            .map_err(|_| StoreError::Poisoned)?
            .remove(&day);
        let dir = self.day_dir(day);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io(&dir, e)),
        }
        if let Ok(d) = std::fs::File::open(&self.root) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Every open partition, oldest first.
    pub fn partitions(&self) -> Result<Vec<Arc<Partition>>, StoreError> {
        Ok(self
            .partitions
            .read()
            .map_err(|_| StoreError::Poisoned)?
            .values()
            .cloned()
            .collect())
    }

    /// Runs `query` over `[from_ns, until_ns]`: the total count and the newest `limit` hits,
    /// newest first. Days whose committed time range misses the window are never searched.
    ///
    /// `compile` turns the caller's query into a tantivy query for a partition's field layout:
    /// it is called once with the current layout, and again for partitions written in an older
    /// format (whose schema lacks newer fields), so the store never needs the query language.
    pub fn search(
        &self,
        compile: &dyn Fn(&LogFields) -> Box<dyn Query>,
        from_ns: i64,
        until_ns: i64,
        limit: usize,
    ) -> Result<SearchResult, StoreError> {
        let mut result = SearchResult::default();
        let mut hits: Vec<(i64, LogRecord)> = Vec::new();
        let current = compile(&self.fields);
        let mut legacy: Option<Box<dyn Query>> = None;
        for part in self.partitions()?.into_iter().rev() {
            let (min, max, count) = {
                let m = part.meta.read().map_err(|_| StoreError::Poisoned)?;
                (m.min_ts_ns, m.max_ts_ns, m.count)
            };
            if count == 0 || max < from_ns || min > until_ns {
                continue;
            }
            let query: &dyn Query = if part.fields.typed == self.fields.typed {
                &*current
            } else {
                &**legacy.get_or_insert_with(|| compile(&part.fields))
            };
            let q: Box<dyn Query> = if from_ns <= min && max <= until_ns {
                query.box_clone()
            } else {
                let range = RangeQuery::new(
                    Bound::Included(Term::from_field_date(
                        self.fields.timestamp,
                        DateTime::from_timestamp_nanos(from_ns),
                    )),
                    Bound::Included(Term::from_field_date(
                        self.fields.timestamp,
                        DateTime::from_timestamp_nanos(until_ns),
                    )),
                );
                Box::new(BooleanQuery::new(vec![
                    (Occur::Must, query.box_clone()),
                    (Occur::Must, Box::new(range)),
                ]))
            };
            let searcher = part.reader.searcher();
            let weight = q.weight(EnableScoring::disabled_from_searcher(&searcher))?;
            // newest segments first: once `limit` hits are held, a segment whose newest
            // document is older than all of them is only counted, never ranked
            let mut segments: Vec<(u32, i64)> = Vec::new();
            for (ord, seg) in searcher.segment_readers().iter().enumerate() {
                let max = seg
                    .fast_fields()
                    .date("timestamp")?
                    .max_value()
                    .into_timestamp_nanos();
                segments.push((ord as u32, max));
            }
            segments.sort_by_key(|&(_, max)| std::cmp::Reverse(max));
            let top_k = TopDocs::with_limit(limit.max(1))
                .order_by_fast_field::<DateTime>("timestamp", Order::Desc);
            for (ord, seg_max) in segments {
                let seg = searcher.segment_reader(ord);
                result.total += u64::from(weight.count(seg)?);
                if limit == 0 {
                    continue;
                }
                if hits.len() >= limit && hits.last().is_some_and(|(t, _)| *t >= seg_max) {
                    continue;
                }
                let fruit = top_k.collect_segment(&*weight, ord, seg)?;
                for (ts, addr) in top_k.merge_fruits(vec![fruit])? {
                    let ts = ts.map(|t| t.into_timestamp_nanos()).unwrap_or(i64::MIN);
                    if hits.len() >= limit && hits.last().is_some_and(|(t, _)| *t >= ts) {
                        break;
                    }
                    let doc: TantivyDocument = searcher.doc(addr)?;
                    let at = hits.partition_point(|(t, _)| *t >= ts);
                    hits.insert(at, (ts, self.to_record(&doc)));
                    hits.truncate(limit);
                }
            }
        }
        result.hits = hits.into_iter().map(|(_, r)| r).collect();
        Ok(result)
    }

    /// Rebuilds a record from stored fields.
    fn to_record(&self, doc: &TantivyDocument) -> LogRecord {
        record_from_doc(&self.fields, doc)
    }
}

/// Rebuilds a record from stored fields, with a partition's own field handles.
pub(crate) fn record_from_doc(f: &LogFields, doc: &TantivyDocument) -> LogRecord {
    let text = |field| {
        doc.get_first(field)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let mut fields = Vec::new();
    if let Some(OwnedValue::Object(obj)) = doc.get_first(f.fields).map(OwnedValue::from) {
        flatten_json("", &obj, &mut fields);
    }
    LogRecord {
        timestamp_ns: doc
            .get_first(f.timestamp)
            .and_then(|v| v.as_datetime())
            .map(|d| d.into_timestamp_nanos())
            .unwrap_or_default(),
        received_ns: doc
            .get_first(f.received)
            .and_then(|v| v.as_i64())
            .unwrap_or_default()
            .saturating_mul(1000),
        host: text(f.host),
        app: text(f.app),
        pid: text(f.pid),
        severity: doc
            .get_first(f.severity)
            .and_then(|v| v.as_u64())
            .map(|v| v as u8),
        facility: doc
            .get_first(f.facility)
            .and_then(|v| v.as_u64())
            .map(|v| v as u8),
        msgid: text(f.msgid),
        message: text(f.message),
        fields,
        raw: doc
            .get_first(f.raw)
            .and_then(|v| v.as_bytes())
            .map(<[u8]>::to_vec)
            .unwrap_or_default(),
    }
}

/// [`flatten_json`] taking the object by value, so its strings move rather than copy.
fn flatten_owned(obj: Vec<(String, OwnedValue)>, out: &mut Vec<(String, String)>) {
    for (k, v) in obj {
        match v {
            OwnedValue::Str(s) => out.push((k, s)),
            other => flatten_json("", &[(k, other)], out),
        }
    }
}

/// Flattens a stored JSON object back into `a.b` = value pairs.
fn flatten_json(prefix: &str, obj: &[(String, OwnedValue)], out: &mut Vec<(String, String)>) {
    for (k, v) in obj {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            OwnedValue::Object(inner) => flatten_json(&key, inner, out),
            OwnedValue::Str(s) => out.push((key, s.clone())),
            OwnedValue::U64(n) => out.push((key, n.to_string())),
            OwnedValue::I64(n) => out.push((key, n.to_string())),
            OwnedValue::F64(n) => out.push((key, n.to_string())),
            OwnedValue::Bool(b) => out.push((key, b.to_string())),
            other => out.push((key, format!("{other:?}"))),
        }
    }
}

#[cfg(test)]
mod tests;
