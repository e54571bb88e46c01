//! The metric store: a small engine shaped like Prometheus' TSDB, answering with whisper's
//! semantics so Graphite clients see what carbon would have shown them.
//!
//! ```text
//! write ─► series index (new names) ─► WAL (fsync every `wal_sync`) ─► head (per series, per slot)
//!                         every 2 h, 8 M slots, 512 MiB of WAL, or flush │
//!                                                                        ▼
//!                                blocks/<seq>/ {chunks, index}: finest slots + rollups per archive
//! ```
//!
//! Each series resolves, by name, to the archives of `storage-schemas.conf` and the method and
//! xFilesFactor of `storage-aggregation.conf` (see [`retention`]). As whisper does, a point is
//! written to the finest archive whose retention covers its age (almost always the finest),
//! in its slot there (`timestamp - timestamp % step`); a later write to the same slot wins,
//! across the head and across blocks, because newer blocks override older ones. Coarser
//! archives are derived as whisper derives them, each from the next finer one with the
//! series' method and xFilesFactor: on the fly for slots the head touches, and persisted into
//! the block when the head is cut, so they outlive the finer data. Retention drops whole
//! chunks (and whole blocks) once past their archive's retention.
//!
//! Locking is one reader-writer lock over the engine: writes hold it briefly (a WAL append
//! and map inserts; a head cut and compaction hold it longer), the fsync happens outside it on
//! a background thread, and reads share it (block reads are positional, `pread`).
//! All calls block; the integrator runs them on blocking threads.

pub mod block;
pub mod chunk;
pub mod head;
pub mod index;
pub mod retention;
pub mod tags;
pub mod wal;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::model::MetricPoint;
use block::{Block, BlockWriter, Column, DecodedColumn};
use head::Head;
use index::SeriesIndex;
use retention::{Aggregations, Schemas, SeriesRules};
use wal::{Record, Wal};

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
    #[error("{0} is in use by another process")]
    Locked(PathBuf),
    /// A tag query or path the request got wrong (the only variant that is the client's fault).
    #[error(transparent)]
    Tag(#[from] tags::TagError),
}

impl MetricsError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> MetricsError {
        MetricsError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// What a read returns, as whisper's fetch: slots `start, start + step, …` up to `end`
/// (exclusive), `None` where nothing was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub start: i64,
    pub end: i64,
    pub step: i64,
    pub values: Vec<Option<f64>>,
}

/// How [`MetricsBackend::fold_many`] combines the series at each slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoldOp {
    /// Left-to-right sum of the non-null values from `-0.0` (sum and average).
    Sum,
    Min,
    Max,
}

/// Many series of one range folded slot by slot, in name order, without materialising them:
/// `values[i]` is the sum (from `-0.0`), min or max of the `counts[i]` non-null values at
/// slot `i` (meaningless where `counts[i]` is 0).
#[derive(Debug, Clone, PartialEq)]
pub struct Folded {
    pub start: i64,
    pub end: i64,
    pub step: i64,
    /// Indexes into the names of the series that exist over the range (the ones a
    /// [`MetricsBackend::read_many`] returns `Some` for); only these were folded.
    pub present: Vec<usize>,
    pub values: Vec<f64>,
    pub counts: Vec<u32>,
}

impl Folded {
    fn empty(start: i64, end: i64, step: i64, n: usize) -> Folded {
        Folded {
            start,
            end,
            step,
            present: Vec::new(),
            values: vec![-0.0; n],
            counts: vec![0; n],
        }
    }

    /// Adds one series' values (aligned with slot 0) in order.
    fn add(&mut self, op: FoldOp, values: &[Option<f64>]) {
        fold_into(op, &mut self.values, &mut self.counts, values);
    }
}

fn fold_into(op: FoldOp, acc: &mut [f64], counts: &mut [u32], values: &[Option<f64>]) {
    let it = acc.iter_mut().zip(counts.iter_mut()).zip(values);
    match op {
        FoldOp::Sum => {
            for ((a, n), v) in it {
                if let Some(x) = *v {
                    *a += x;
                    *n += 1;
                }
            }
        }
        FoldOp::Min | FoldOp::Max => {
            let f = if op == FoldOp::Min {
                f64::min
            } else {
                f64::max
            };
            for ((a, n), v) in it {
                if let Some(x) = *v {
                    *a = if *n == 0 { x } else { f(*a, x) };
                    *n += 1;
                }
            }
        }
    }
}

/// [`MetricsBackend::fold_many`] over series already read: `None` unless every present
/// series has the same start, end and step.
pub fn fold_series(reads: &[Option<Series>], op: FoldOp) -> Option<Folded> {
    let mut out: Option<Folded> = None;
    for (i, s) in reads.iter().enumerate() {
        let Some(s) = s else { continue };
        let f = out.get_or_insert_with(|| Folded::empty(s.start, s.end, s.step, s.values.len()));
        if (f.start, f.end, f.step, f.values.len()) != (s.start, s.end, s.step, s.values.len()) {
            return None;
        }
        f.add(op, &s.values);
        f.present.push(i);
    }
    Some(out.unwrap_or_else(|| Folded::empty(0, 0, 1, 0)))
}

/// A snapshot of the engine's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreStats {
    /// Series known (never shrinks: series are not deleted).
    pub series: usize,
    /// Slots held in memory, not yet in a block.
    pub head_points: usize,
    pub blocks: usize,
    /// Bytes of all blocks' chunk files.
    pub block_bytes: u64,
}

/// The narrow interface the rest of telltale uses, so a ClickHouse (GraphiteMergeTree)
/// backend can stand in for the embedded engine later.
pub trait MetricsBackend: Send + Sync {
    /// Stores points as of the wall clock; see [`MetricsBackend::write_at`].
    fn write(&self, points: &[MetricPoint]) -> Result<(), MetricsError> {
        self.write_at(points, unix_now())
    }
    /// Stores points as of `now` (epoch seconds), which decides, as in whisper, the archive a
    /// point is written to: the finest one whose retention covers its age. A new name always
    /// creates its series (no drop, no throttle).
    fn write_at(&self, points: &[MetricPoint], now: i64) -> Result<(), MetricsError>;
    /// Whisper's fetch of `[from, until]` as of `now` (epoch seconds): `None` for an unknown
    /// series or a range wholly outside retention or in the future.
    fn read(
        &self,
        name: &str,
        from: i64,
        until: i64,
        now: i64,
    ) -> Result<Option<Series>, MetricsError>;
    /// [`MetricsBackend::read`] of many series over one range, in order.
    fn read_many(
        &self,
        names: &[String],
        from: i64,
        until: i64,
        now: i64,
    ) -> Result<Vec<Option<Series>>, MetricsError> {
        names
            .iter()
            .map(|n| self.read(n, from, until, now))
            .collect()
    }
    /// The series of [`MetricsBackend::read_many`] folded slot by slot in order (an
    /// aggregate over a path expression), or `None` when the series do not all share one
    /// start, end and step (the caller then reads them and normalises). The default reads
    /// them; the embedded engine folds each series' columns into the accumulator directly.
    fn fold_many(
        &self,
        names: &[String],
        from: i64,
        until: i64,
        now: i64,
        op: FoldOp,
    ) -> Result<Option<Folded>, MetricsError> {
        Ok(fold_series(&self.read_many(names, from, until, now)?, op))
    }
    /// Graphite's metrics/find: `(path, is_leaf)` at the pattern's depth.
    fn find(&self, pattern: &str) -> Result<Vec<(String, bool)>, MetricsError>;
    /// Series names matching a glob.
    fn expand(&self, pattern: &str) -> Result<Vec<String>, MetricsError>;
    /// Every series name, sorted (Graphite's `/metrics/index.json`).
    fn names(&self) -> Result<Vec<String>, MetricsError>;
    /// graphite-web's tag DB `find_series` (`seriesByTag`): the names of the series matching
    /// every tag expression, sorted. The default scans [`MetricsBackend::names`]; the
    /// embedded engine answers from its tag index.
    fn find_tagged(&self, exprs: &[String]) -> Result<Vec<String>, MetricsError> {
        let names: Vec<Arc<str>> = self.names()?.into_iter().map(Arc::from).collect();
        let mut ix = tags::TagIndex::default();
        for (i, n) in names.iter().enumerate() {
            ix.add(i as u32, n);
        }
        let exprs = exprs
            .iter()
            .map(|e| tags::TagExpr::parse(e))
            .collect::<Result<Vec<_>, _>>()?;
        let mut out: Vec<String> = ix
            .find_ids(&exprs, &|i| names.get(i as usize).map(|n| &**n))?
            .into_iter()
            .filter_map(|i| names.get(i as usize).map(|n| n.to_string()))
            .collect();
        out.sort_unstable();
        Ok(out)
    }
    /// Makes everything written so far durable in a block and empties the WAL.
    fn flush(&self) -> Result<(), MetricsError>;
}

/// Head data older than this (wall clock since the last cut) is cut into a block.
const CUT_EVERY: Duration = Duration::from_secs(2 * 3600);
/// A head holding this many slots is cut whatever its age, bounding memory.
const MAX_HEAD_POINTS: usize = 8 << 20;
/// A WAL this large cuts the head whatever its size: bounds replay time and disk use when
/// traffic keeps overwriting the same slots.
const MAX_WAL_BYTES: u64 = 512 << 20;
/// The data span a head cut usually covers, the unit of compaction tiers.
const CUT_SPAN: i64 = 2 * 3600;
/// Blocks merged at once.
const COMPACT_FANIN: usize = 4;
/// Blocks spanning about `4^4` cuts (three weeks) are not merged further, so retention still
/// deletes data in reasonably small units.
const COMPACT_MAX_TIER: u32 = 4;
/// Series per thread below which a multi-series read stays on the calling thread.
const PARALLEL_READ_MIN: usize = 64;
/// Slots per thread below which a fold is not split (a thread costs more than it saves).
const PARALLEL_FOLD_MIN_SLOTS: usize = 64;

/// Which series, archive and slots a read covers (see [`Inner::plan`]).
#[derive(Debug, Clone, Copy)]
struct ReadPlan {
    sid: u32,
    level: usize,
    start: i64,
    end: i64,
    step: i64,
}
/// Multi-series reads in progress (all stores of the process share the cores).
static PARALLEL_READS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

struct DecrementOnDrop<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for DecrementOnDrop<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
/// How often the background thread applies retention (wall clock).
const RETENTION_EVERY: Duration = Duration::from_secs(3600);

struct Inner {
    root: PathBuf,
    schemas: Schemas,
    aggregations: Aggregations,
    index: SeriesIndex,
    /// Resolved rules by series id, fixed when the series is first seen in this process.
    rules: Vec<Arc<SeriesRules>>,
    /// One shared copy per distinct rule set, so a million series cost a million pointers.
    rule_cache: Vec<Arc<SeriesRules>>,
    wal: Wal,
    head: Head,
    /// Ascending `seq`: later blocks override earlier ones slot by slot.
    blocks: Vec<Block>,
    next_seq: u64,
    last_cut: Instant,
    last_retention: Instant,
    /// Held (locked) for the life of the engine; released when dropped.
    _lock: std::fs::File,
}

/// The embedded engine; see the module documentation.
pub struct MetricStore {
    /// Reads share it; writes, flushes and the sync thread's brief visits take it alone.
    inner: Arc<RwLock<Inner>>,
    /// `true` asks the sync thread to stop; the condvar wakes it early.
    stop: Arc<(Mutex<bool>, Condvar)>,
    syncer: Mutex<Option<JoinHandle<()>>>,
    /// `wal_sync == 0`: fsync on every write instead of on a timer.
    sync_each_write: bool,
    /// Set by tests to drop like a crash: no final fsync.
    crashed: AtomicBool,
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `t - t mod step`, flooring; the few timestamps within a step of `i64::MIN` keep their own
/// value rather than overflow.
fn slot(t: i64, step: i64) -> i64 {
    t.checked_sub(t.rem_euclid(step)).unwrap_or(t)
}

impl Inner {
    fn rules_for(&self, sid: u32) -> Option<&SeriesRules> {
        self.rules.get(sid as usize).map(|r| &**r)
    }

    fn register(&mut self, sid: u32, name: &str) {
        if sid as usize == self.rules.len() {
            let r = retention::resolve(&self.schemas, &self.aggregations, name);
            let shared = match self.rule_cache.iter().find(|c| ***c == r) {
                Some(c) => c.clone(),
                None => {
                    let c = Arc::new(r);
                    self.rule_cache.push(c.clone());
                    c
                }
            };
            self.rules.push(shared);
        }
    }

    /// Values of `sid` at archive `level` for slots in `[start, end)`: blocks in order, then
    /// the head (finest level) or rollups of the slots the head touches (coarser levels).
    fn level_range(
        &self,
        sid: u32,
        level: usize,
        start: i64,
        end: i64,
    ) -> Result<BTreeMap<i64, f64>, MetricsError> {
        let mut out = BTreeMap::new();
        let Some(rules) = self.rules_for(sid) else {
            return Ok(out);
        };
        let (Some(archive), Ok(lvl)) = (rules.archives.get(level), u8::try_from(level)) else {
            return Ok(out);
        };
        if end <= start {
            return Ok(out);
        }
        for b in &self.blocks {
            match b.entries.get(&(sid, lvl)) {
                Some(e) if e.max_t >= start && e.min_t < end => {}
                _ => continue,
            }
            for (t, v) in b.read(sid, lvl)? {
                if (start..end).contains(&t) {
                    out.insert(t, v);
                }
            }
        }
        out.extend(self.head_level(sid, level, archive.step, start, end)?);
        Ok(out)
    }

    /// What the head contributes at `level` in `[start, end)`: rollups of the slots its finer
    /// levels touch, under the points written straight to this level (whisper writes a point
    /// into the first archive covering its age, then propagates down).
    fn head_level(
        &self,
        sid: u32,
        level: usize,
        step: i64,
        start: i64,
        end: i64,
    ) -> Result<BTreeMap<i64, f64>, MetricsError> {
        let mut out = BTreeMap::new();
        let mut touched = BTreeSet::new();
        for finer in 0..level.min(256) {
            if let Some(m) = self.head.get(sid, finer as u8) {
                touched.extend(
                    m.keys()
                        .map(|&t| slot(t, step))
                        .filter(|t| (start..end).contains(t)),
                );
            }
        }
        out.extend(self.rollups(sid, level, &touched)?);
        if let Ok(lvl) = u8::try_from(level) {
            out.extend(self.head.range(sid, lvl, start, end));
        }
        Ok(out)
    }

    /// Whisper's propagation: each slot of `level` from the `level - 1` slots under it.
    fn rollups(
        &self,
        sid: u32,
        level: usize,
        slots: &BTreeSet<i64>,
    ) -> Result<Vec<(i64, f64)>, MetricsError> {
        let slots: Vec<i64> = slots.iter().copied().collect();
        self.propagate(
            sid,
            level,
            &slots,
            |lo, hi| self.level_range(sid, level - 1, lo, hi),
            |finer, t, _, _| finer.get(&t).copied(),
        )
    }

    /// The rollup loop both forms share: `finer(lo, hi)` reads the `level - 1` values under
    /// `slots` (sorted, distinct) and `at(&finer, t, lo, fine_step)` looks one up.
    fn propagate<L>(
        &self,
        sid: u32,
        level: usize,
        slots: &[i64],
        finer: impl FnOnce(i64, i64) -> Result<L, MetricsError>,
        at: impl Fn(&L, i64, i64, i64) -> Option<f64>,
    ) -> Result<Vec<(i64, f64)>, MetricsError> {
        let (Some(rules), Some(&lo), Some(&hi)) =
            (self.rules_for(sid), slots.first(), slots.last())
        else {
            return Ok(Vec::new());
        };
        let (Some(fine), Some(coarse)) = (
            rules.archives.get(level.wrapping_sub(1)),
            rules.archives.get(level),
        ) else {
            return Ok(Vec::new());
        };
        let finer = finer(lo, hi.saturating_add(coarse.step))?;
        let n = coarse.step / fine.step;
        let mut out = Vec::with_capacity(slots.len());
        let mut vals = Vec::with_capacity(n as usize);
        for &s in slots {
            vals.clear();
            vals.extend((0..n).map(|i| at(&finer, s.saturating_add(i * fine.step), lo, fine.step)));
            if let Some(v) = rules.aggregation.rollup(&vals, rules.x_files_factor) {
                out.push((s, v));
            }
        }
        Ok(out)
    }

    /// The read path's form of [`Inner::level_range`]: the values of `sid` at `level` for
    /// the slots `start, start + step, …` below `end` (`step` being the level's), as a dense
    /// vector, with the same newest-wins order (blocks in `seq` order, then the head). Block
    /// columns come decoded from the blocks' caches, so a dashboard's repeated reads cost a
    /// copy, not a decode, and nothing is allocated per point.
    fn level_dense(
        &self,
        sid: u32,
        level: usize,
        start: i64,
        end: i64,
    ) -> Result<Vec<Option<f64>>, MetricsError> {
        let mut out = Vec::new();
        self.level_dense_into(sid, level, start, end, &mut out)?;
        Ok(out)
    }

    /// [`Inner::level_dense`] into a reused buffer (cleared first). A slot's value does not
    /// depend on the range asked for, so a read may be split into sub-ranges.
    fn level_dense_into(
        &self,
        sid: u32,
        level: usize,
        start: i64,
        end: i64,
        out: &mut Vec<Option<f64>>,
    ) -> Result<(), MetricsError> {
        out.clear();
        let Some(rules) = self.rules_for(sid) else {
            return Ok(());
        };
        let (Some(archive), Ok(lvl)) = (rules.archives.get(level), u8::try_from(level)) else {
            return Ok(());
        };
        let step = archive.step;
        if end <= start || step <= 0 {
            return Ok(());
        }
        // no longer than the whisper file of this archive would be: reads are clamped to
        // the archive's retention, rollups to the slots of such a read
        let n = usize::try_from((end - start - 1) / step + 1).unwrap_or(0);
        out.resize(n, None);
        let put = |out: &mut [Option<f64>], t: i64, v: f64| {
            let d = t - start;
            if d % step == 0
                && let Some(slot) = out.get_mut((d / step) as usize)
            {
                *slot = Some(v);
            }
        };
        for b in &self.blocks {
            match b.entries.get(&(sid, lvl)) {
                Some(e) if e.max_t >= start && e.min_t < end => {}
                _ => continue,
            }
            let col = b.read_cached(sid, lvl)?;
            match &*col {
                // the usual shape: a slice copy, no per-point index arithmetic
                DecodedColumn::Regular {
                    first,
                    step: s,
                    values,
                } if *s == step && (first - start) % step == 0 => {
                    let off = (first - start) / step;
                    let k0 = usize::try_from(-off).unwrap_or(0);
                    let k1 = usize::try_from(n as i64 - off)
                        .unwrap_or(0)
                        .min(values.len());
                    if k0 < k1 {
                        let at = (off + k0 as i64) as usize;
                        for (o, &v) in out[at..at + (k1 - k0)].iter_mut().zip(&values[k0..k1]) {
                            *o = Some(v);
                        }
                    }
                }
                other => {
                    for (t, v) in other.range(start, end) {
                        put(out, t, v);
                    }
                }
            }
        }
        // the head: rollups of the slots its finer levels touch (memoised per series and
        // level until the series is written again), then its own points here
        if level > 0 && (0..level.min(256)).any(|f| self.head.get(sid, f as u8).is_some()) {
            // computed for a window around the read, so the next read of a moving
            // dashboard range (a few seconds later) finds it covered
            let span = end.saturating_sub(start);
            let all = self.head.rollups_or(sid, lvl, start, end, || {
                let (lo, hi) = (start.saturating_sub(span), end.saturating_add(span));
                let mut touched: Vec<i64> = Vec::new();
                for finer in 0..level.min(256) {
                    if let Some(m) = self.head.get(sid, finer as u8) {
                        for (&t, _) in m.range(lo.saturating_sub(step)..hi.saturating_add(step)) {
                            let s = slot(t, step);
                            if (lo..hi).contains(&s) {
                                touched.push(s);
                            }
                        }
                    }
                }
                touched.sort_unstable();
                touched.dedup();
                Ok::<_, MetricsError>((lo, hi, self.rollups_dense(sid, level, &touched)?))
            })?;
            let all = &all.2;
            let from = all.partition_point(|&(t, _)| t < start);
            for &(t, v) in all[from..].iter().take_while(|&&(t, _)| t < end) {
                put(out, t, v);
            }
        }
        for (t, v) in self.head.range(sid, lvl, start, end) {
            put(out, t, v);
        }
        Ok(())
    }

    /// [`Inner::rollups`] over dense finer values; `slots` sorted and distinct.
    fn rollups_dense(
        &self,
        sid: u32,
        level: usize,
        slots: &[i64],
    ) -> Result<Vec<(i64, f64)>, MetricsError> {
        self.propagate(
            sid,
            level,
            slots,
            |lo, hi| self.level_dense(sid, level - 1, lo, hi),
            |finer, t, lo, step| {
                let d = t - lo;
                if d % step == 0 {
                    finer.get((d / step) as usize).copied().flatten()
                } else {
                    None
                }
            },
        )
    }

    /// Whisper's fetch for one series under the read lock; see [`MetricsBackend::read`].
    fn fetch(
        &self,
        name: &str,
        from: i64,
        until: i64,
        now: i64,
    ) -> Result<Option<Series>, MetricsError> {
        let Some(p) = self.plan(name, from, until, now) else {
            return Ok(None);
        };
        let mut values = self.level_dense(p.sid, p.level, p.start, p.end)?;
        values.resize(((p.end - p.start) / p.step) as usize, None);
        Ok(Some(Series {
            start: p.start,
            end: p.end,
            step: p.step,
            values,
        }))
    }

    /// What [`Inner::fetch`] reads: the series, archive and slots, `None` when it reads
    /// nothing.
    fn plan(&self, name: &str, from: i64, until: i64, now: i64) -> Option<ReadPlan> {
        let sid = self.index.get(name)?;
        let rules = self.rules_for(sid)?;
        let max_retention = rules
            .archives
            .iter()
            .map(|a| a.retention())
            .max()
            .unwrap_or(0);
        let oldest = now.saturating_sub(max_retention);
        if from > until || from > now || until < oldest {
            return None;
        }
        let from = from.max(oldest);
        let until = until.min(now);
        let diff = now - from;
        let level = rules
            .archives
            .iter()
            .position(|a| a.retention() >= diff)
            .unwrap_or(rules.archives.len() - 1);
        let step = rules.archives[level].step;
        let start = slot(from, step).saturating_add(step);
        let mut end = slot(until, step).saturating_add(step);
        if start == end {
            end = end.saturating_add(step);
        }
        Some(ReadPlan {
            sid,
            level,
            start,
            end,
            step,
        })
    }

    /// [`MetricsBackend::fold_many`] of the slots `lo..hi` (indexes from the plans' common
    /// start) of every planned series, in order, each read through one reused buffer.
    fn fold_slots(
        &self,
        plans: &[ReadPlan],
        op: FoldOp,
        lo: usize,
        hi: usize,
    ) -> Result<(Vec<f64>, Vec<u32>), MetricsError> {
        let n = hi - lo;
        let mut acc = vec![-0.0; n];
        let mut counts = vec![0u32; n];
        let mut buf = Vec::with_capacity(n);
        for p in plans {
            let s0 = p.start + lo as i64 * p.step;
            let s1 = p.start + hi as i64 * p.step;
            self.level_dense_into(p.sid, p.level, s0, s1, &mut buf)?;
            buf.resize(n, None);
            fold_into(op, &mut acc, &mut counts, &buf);
        }
        Ok((acc, counts))
    }

    /// Cuts the head into block `next_seq` (finest slots plus the rollups they change), then
    /// rotates the WAL: everything it held is now in the block.
    fn cut(&mut self) -> Result<(), MetricsError> {
        self.last_cut = Instant::now();
        if self.head.is_empty() {
            return Ok(());
        }
        let sids: BTreeSet<u32> = self.head.series.keys().map(|&(sid, _)| sid).collect();
        let mut cols: Vec<Column> = Vec::new();
        for sid in sids {
            let steps: Vec<i64> = self
                .rules_for(sid)
                .map(|r| r.archives.iter().map(|a| a.step).take(256).collect())
                .unwrap_or_default();
            for (level, step) in steps.into_iter().enumerate() {
                let col = self.head_level(sid, level, step, i64::MIN, i64::MAX)?;
                cols.push((sid, level as u8, col.into_iter().collect()));
            }
        }
        self.index.sync()?;
        let block = Block::write(&self.root.join("blocks"), self.next_seq, &cols)?;
        self.blocks.push(block);
        self.next_seq += 1;
        self.wal.rotate()?;
        self.head.clear();
        while self.compact()? {}
        Ok(())
    }

    /// Drops chunks wholly past their archive's retention: a block keeping nothing is
    /// deleted, one keeping some is rewritten without the rest. Deletion is per chunk, so
    /// data may outlive its retention by up to a chunk's span (reads never show it: the
    /// archive choice only covers each archive's retention).
    fn apply_retention(&mut self, now: i64) -> Result<usize, MetricsError> {
        // rollups remembered over the head may lean on blocks this drops
        self.head.forget_rollups();
        let root = self.root.join("blocks");
        let mut changed = 0;
        let mut i = 0;
        while i < self.blocks.len() {
            let b = &self.blocks[i];
            let mut keep: Vec<(u32, u8)> = b
                .entries
                .iter()
                .filter(|&(&(sid, level), e)| {
                    self.rules_for(sid)
                        .and_then(|r| r.archives.get(level as usize))
                        .is_some_and(|a| e.max_t >= now.saturating_sub(a.retention()))
                })
                .map(|(k, _)| *k)
                .collect();
            if keep.len() == b.entries.len() {
                i += 1;
                continue;
            }
            changed += 1;
            if keep.is_empty() {
                std::fs::remove_dir_all(&b.dir).map_err(|e| MetricsError::io(&b.dir, e))?;
                self.blocks.remove(i);
                continue;
            }
            keep.sort_unstable();
            let mut w = BlockWriter::new(&root, b.seq)?;
            for (sid, level) in keep {
                w.add(sid, level, &b.read(sid, level)?)?;
            }
            self.blocks[i] = w.finish()?;
            i += 1;
        }
        Ok(changed)
    }

    /// Merges the oldest run of [`COMPACT_FANIN`] consecutive blocks of the same tier into
    /// one, so a long read opens a few blocks, not one per flush. The merged block takes the
    /// run's highest `seq` (it replaces that block atomically, then the others are deleted;
    /// a crash in between leaves duplicates the merged block overrides), which keeps the
    /// newest-wins order with every other block.
    fn compact(&mut self) -> Result<bool, MetricsError> {
        self.head.forget_rollups();
        let tiers: Vec<u32> = self.blocks.iter().map(tier).collect();
        let Some(start) = (0..self.blocks.len().saturating_sub(COMPACT_FANIN - 1)).find(|&i| {
            tiers[i] < COMPACT_MAX_TIER
                && tiers[i..i + COMPACT_FANIN].iter().all(|&t| t == tiers[i])
        }) else {
            return Ok(false);
        };
        let run = &self.blocks[start..start + COMPACT_FANIN];
        let keys: BTreeSet<(u32, u8)> =
            run.iter().flat_map(|b| b.entries.keys().copied()).collect();
        let seq = run[COMPACT_FANIN - 1].seq;
        let mut w = BlockWriter::new(&self.root.join("blocks"), seq)?;
        for (sid, level) in keys {
            let mut merged = BTreeMap::new();
            for b in run {
                merged.extend(b.read(sid, level)?);
            }
            let points: Vec<(i64, f64)> = merged.into_iter().collect();
            w.add(sid, level, &points)?;
        }
        let block = w.finish()?;
        let old: Vec<Block> = self
            .blocks
            .splice(start..start + COMPACT_FANIN, [block])
            .collect();
        for b in old.iter().filter(|b| b.seq != seq) {
            std::fs::remove_dir_all(&b.dir).map_err(|e| MetricsError::io(&b.dir, e))?;
        }
        Ok(true)
    }
}

/// A block's compaction tier: about log4 of how many head cuts its time span covers.
fn tier(b: &Block) -> u32 {
    let mut cuts = b.max_t.saturating_sub(b.min_t).saturating_add(CUT_SPAN / 2) / CUT_SPAN;
    let mut t = 0;
    while cuts >= COMPACT_FANIN as i64 {
        cuts /= COMPACT_FANIN as i64;
        t += 1;
    }
    t
}

impl MetricStore {
    /// Opens (creating if needed) `<data_dir>/metrics`: loads the series index and blocks,
    /// replays the WAL into the head and starts the thread that fsyncs the WAL every
    /// `wal_sync` (zero: every write is fsynced before it returns).
    pub fn open(
        data_dir: &Path,
        schemas: Schemas,
        aggregations: Aggregations,
        wal_sync: Duration,
    ) -> Result<MetricStore, MetricsError> {
        let root = data_dir.join("metrics");
        std::fs::create_dir_all(&root).map_err(|e| MetricsError::io(&root, e))?;
        // two engines appending to one WAL would corrupt it: hold an exclusive lock
        let lock_path = root.join("LOCK");
        let lock =
            std::fs::File::create(&lock_path).map_err(|e| MetricsError::io(&lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(MetricsError::Locked(root)),
            Err(std::fs::TryLockError::Error(e)) => return Err(MetricsError::io(&lock_path, e)),
        }
        let index = SeriesIndex::open(&root.join("series"))?;
        let blocks = block::open_all(&root.join("blocks"))?;
        let next_seq = blocks.last().map_or(1, |b| b.seq + 1);
        let (wal, records) = Wal::open(&root.join("wal"))?;
        let mut inner = Inner {
            root,
            schemas,
            aggregations,
            index,
            rules: Vec::new(),
            rule_cache: Vec::new(),
            wal,
            head: Head::default(),
            blocks,
            next_seq,
            last_cut: Instant::now(),
            last_retention: Instant::now(),
            _lock: lock,
        };
        for sid in 0..inner.index.len() as u32 {
            let name = inner.index.name(sid).unwrap_or_default().to_string();
            inner.register(sid, &name);
        }
        for rec in records {
            match rec {
                Record::Series { id, name } => {
                    inner.index.insert_as(id, &name)?;
                    inner.register(id, &name);
                }
                Record::Points { level, points } => {
                    for (sid, t, v) in points {
                        let Some(r) = inner.rules_for(sid) else {
                            tracing::warn!(sid, "wal: point for an unknown series skipped");
                            continue;
                        };
                        // the rules may have changed since: keep the level if it still exists
                        let level = (level as usize).min(r.archives.len() - 1);
                        let s = slot(t, r.archives[level].step);
                        inner.head.insert(sid, level as u8, s, v);
                    }
                }
            }
        }
        let inner = Arc::new(RwLock::new(inner));
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let interval = if wal_sync.is_zero() {
            Duration::from_secs(1)
        } else {
            wal_sync
        };
        let syncer = {
            let (inner, stop) = (inner.clone(), stop.clone());
            std::thread::Builder::new()
                .name("metrics-wal-sync".into())
                .spawn(move || sync_loop(&inner, &stop, interval))
                .map_err(|e| MetricsError::io(data_dir, e))?
        };
        Ok(MetricStore {
            inner,
            stop,
            syncer: Mutex::new(Some(syncer)),
            sync_each_write: wal_sync.is_zero(),
            crashed: AtomicBool::new(false),
        })
    }

    fn lock(&self) -> Result<RwLockWriteGuard<'_, Inner>, MetricsError> {
        self.inner.write().map_err(|_| MetricsError::Poisoned)
    }

    fn read_lock(&self) -> Result<RwLockReadGuard<'_, Inner>, MetricsError> {
        self.inner.read().map_err(|_| MetricsError::Poisoned)
    }

    /// Deletes data past each archive's retention as of `now`: whole blocks when nothing in
    /// them is retained, otherwise the block is rewritten without the expired chunks.
    /// Returns how many blocks changed. The sync thread does this hourly with the wall
    /// clock; tests and tools call it with their own `now`.
    pub fn apply_retention(&self, now: i64) -> Result<usize, MetricsError> {
        self.lock()?.apply_retention(now)
    }

    /// fsyncs the WAL now.
    pub fn sync(&self) -> Result<(), MetricsError> {
        self.lock()?.wal.sync()
    }

    /// Flushes the head into a block and stops the sync thread.
    pub fn close(self) -> Result<(), MetricsError> {
        self.flush()
    }

    /// Number of series known.
    pub fn series_count(&self) -> Result<usize, MetricsError> {
        Ok(self.read_lock()?.index.len())
    }

    /// Gauges about the engine, for telltale's own `telltale.*` metrics and `/metrics`.
    pub fn stats(&self) -> Result<StoreStats, MetricsError> {
        let g = self.read_lock()?;
        Ok(StoreStats {
            series: g.index.len(),
            head_points: g.head.points,
            blocks: g.blocks.len(),
            block_bytes: g.blocks.iter().map(|b| b.size).sum(),
        })
    }

    /// Reads the series and tag index (`/tags`, `/tags/<tag>`, autocompletion).
    pub fn with_index<R>(&self, f: impl FnOnce(&SeriesIndex) -> R) -> Result<R, MetricsError> {
        Ok(f(&self.read_lock()?.index))
    }

    /// graphite-web's `tag_series`: each (already normalized) path is indexed, creating the
    /// series without data when new (durable through the WAL's series record), or put back
    /// when it was deleted.
    pub fn tag_series(&self, paths: &[String]) -> Result<(), MetricsError> {
        let mut g = self.lock()?;
        let inner = &mut *g;
        let mut framed = Vec::new();
        for p in paths {
            let (sid, created) = inner.index.get_or_insert(p)?;
            if created {
                inner.register(sid, p);
                wal::encode_series(sid, p, &mut framed);
            } else {
                inner.index.restore_tagged(sid)?;
            }
        }
        if !framed.is_empty() {
            inner.wal.append(&framed)?;
            inner.wal.sync()?;
        }
        Ok(())
    }

    /// graphite-web's `del_series`: the series leave the tag index (their data stays, as in
    /// graphite-web); unknown paths are ignored.
    pub fn del_series(&self, paths: &[String]) -> Result<(), MetricsError> {
        self.lock()?.index.delete_tagged(paths)
    }

    /// Drops like `kill -9` would: no flush, no final fsync.
    #[cfg(test)]
    pub(crate) fn crash(self) {
        self.crashed.store(true, Ordering::SeqCst);
    }
}

fn sync_loop(inner: &RwLock<Inner>, stop: &(Mutex<bool>, Condvar), interval: Duration) {
    let (flag, cv) = stop;
    loop {
        let Ok(guard) = flag.lock() else { return };
        let Ok((guard, _)) = cv.wait_timeout_while(guard, interval, |stopped| !*stopped) else {
            return;
        };
        if *guard {
            return;
        }
        drop(guard);
        let handle = {
            let Ok(mut g) = inner.write() else { return };
            if g.last_cut.elapsed() >= CUT_EVERY
                && let Err(e) = g.cut()
            {
                tracing::error!(error = %e, "metrics: cutting the head into a block failed");
            }
            if g.last_retention.elapsed() >= RETENTION_EVERY {
                g.last_retention = Instant::now();
                if let Err(e) = g.apply_retention(unix_now()) {
                    tracing::error!(error = %e, "metrics: applying retention failed");
                }
            }
            g.wal.take_sync_handle()
        };
        match handle {
            Ok(Some((file, path))) => {
                if let Err(e) = file.sync_data() {
                    tracing::error!(path = %path.display(), error = %e, "metrics: wal fsync failed");
                }
            }
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "metrics: wal fsync failed"),
        }
    }
}

impl Drop for MetricStore {
    fn drop(&mut self) {
        if let Ok(mut stopped) = self.stop.0.lock() {
            *stopped = true;
            self.stop.1.notify_all();
        }
        if let Some(h) = self.syncer.lock().ok().and_then(|mut s| s.take()) {
            let _ = h.join();
        }
        if !self.crashed.load(Ordering::SeqCst)
            && let Ok(mut g) = self.inner.write()
            && let Err(e) = g.wal.sync()
        {
            tracing::error!(error = %e, "metrics: final wal fsync failed");
        }
    }
}

impl MetricsBackend for MetricStore {
    fn write_at(&self, points: &[MetricPoint], now: i64) -> Result<(), MetricsError> {
        if points.is_empty() {
            return Ok(());
        }
        let mut g = self.lock()?;
        let inner = &mut *g;
        let mut framed = Vec::new();
        // (level, series, slot, value), in arrival order so a batch's own overwrites keep it
        let mut slots = Vec::with_capacity(points.len());
        for p in points {
            let (sid, created) = inner.index.get_or_insert(&p.name)?;
            if created {
                inner.register(sid, &p.name);
                wal::encode_series(sid, &p.name, &mut framed);
            } else if inner.index.has_tag_deletions() {
                // carbon re-tags the series it keeps writing: a deleted one comes back
                inner.index.restore_tagged(sid)?;
            }
            let archives = &inner.rules[sid as usize].archives;
            // whisper: the first archive whose retention covers the point's age; a future
            // point goes to the finest (whisper refuses it; we keep it), one older than every
            // retention to the coarsest, where retention deletes it
            let age = now.saturating_sub(p.timestamp);
            let level = archives
                .iter()
                .take(256)
                .position(|a| a.retention() >= age)
                .unwrap_or(archives.len().min(256) - 1);
            slots.push((
                level as u8,
                sid,
                slot(p.timestamp, archives[level].step),
                p.value,
            ));
        }
        let mut levels: Vec<u8> = slots.iter().map(|s| s.0).collect();
        levels.sort_unstable();
        levels.dedup();
        for level in levels {
            let pts: Vec<(u32, i64, f64)> = slots
                .iter()
                .filter(|s| s.0 == level)
                .map(|&(_, sid, t, v)| (sid, t, v))
                .collect();
            wal::encode_points(level, &pts, &mut framed);
        }
        if let Err(e) = inner.wal.append(&framed) {
            // the batch's new series are in the index but their wal records may not be: make
            // the index durable so later points for them replay (best effort: the disk failed)
            let _ = inner.index.sync();
            return Err(e);
        }
        if self.sync_each_write {
            inner.wal.sync()?;
        }
        for (level, sid, t, v) in slots {
            inner.head.insert(sid, level, t, v);
        }
        if inner.head.points >= MAX_HEAD_POINTS || inner.wal.len() >= MAX_WAL_BYTES {
            inner.cut()?;
        }
        Ok(())
    }

    fn read(
        &self,
        name: &str,
        from: i64,
        until: i64,
        now: i64,
    ) -> Result<Option<Series>, MetricsError> {
        self.read_lock()?.fetch(name, from, until, now)
    }

    /// One read lock for the whole list, and the series split over the cores when there
    /// are many (a `sumSeries(a.*)` over a thousand names).
    fn read_many(
        &self,
        names: &[String],
        from: i64,
        until: i64,
        now: i64,
    ) -> Result<Vec<Option<Series>>, MetricsError> {
        let g = self.read_lock()?;
        let inner: &Inner = &g;
        // only a lone large read fans out: when others run too, the cores are busy already
        // and extra threads would just make every one of them wait longer
        let others = PARALLEL_READS.fetch_add(1, Ordering::Relaxed);
        let _done = DecrementOnDrop(&PARALLEL_READS);
        let threads = if others > 0 {
            1
        } else {
            std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(names.len() / PARALLEL_READ_MIN)
                .max(1)
        };
        if threads == 1 {
            return names
                .iter()
                .map(|n| inner.fetch(n, from, until, now))
                .collect();
        }
        let per = names.len().div_ceil(threads);
        let read = |part: &[String]| {
            part.iter()
                .map(|n| inner.fetch(n, from, until, now))
                .collect::<Result<Vec<_>, _>>()
        };
        std::thread::scope(|scope| {
            let mut parts = names.chunks(per);
            let mine = parts.next().unwrap_or_default();
            // a thread the OS refuses is not an error: its part is read here instead
            let others: Vec<_> = parts
                .map(|part| {
                    let h = std::thread::Builder::new()
                        .name("metrics-read".into())
                        .spawn_scoped(scope, move || read(part))
                        .ok();
                    (part, h)
                })
                .collect();
            let mut out = read(mine)?;
            for (part, h) in others {
                out.extend(match h {
                    Some(h) => h.join().map_err(|_| MetricsError::Poisoned)??,
                    None => read(part)?,
                });
            }
            Ok(out)
        })
    }

    /// Folds under one read lock, the slots split over the cores (not the series, so every
    /// slot sums in name order exactly as reading them all and adding column by column).
    fn fold_many(
        &self,
        names: &[String],
        from: i64,
        until: i64,
        now: i64,
        op: FoldOp,
    ) -> Result<Option<Folded>, MetricsError> {
        let g = self.read_lock()?;
        let inner: &Inner = &g;
        let mut plans = Vec::with_capacity(names.len());
        let mut present = Vec::with_capacity(names.len());
        for (i, n) in names.iter().enumerate() {
            if let Some(p) = inner.plan(n, from, until, now) {
                plans.push(p);
                present.push(i);
            }
        }
        let Some(first) = plans.first() else {
            return Ok(Some(Folded::empty(0, 0, 1, 0)));
        };
        let (start, end, step) = (first.start, first.end, first.step);
        if plans
            .iter()
            .any(|p| (p.start, p.end, p.step) != (start, end, step))
        {
            return Ok(None);
        }
        let n = usize::try_from((end - start) / step).unwrap_or(0);
        let others = PARALLEL_READS.fetch_add(1, Ordering::Relaxed);
        let _done = DecrementOnDrop(&PARALLEL_READS);
        let threads = if others > 0 {
            1
        } else {
            std::thread::available_parallelism()
                .map_or(1, |c| c.get())
                .min(plans.len() / PARALLEL_READ_MIN)
                .min(n / PARALLEL_FOLD_MIN_SLOTS)
                .max(1)
        };
        let per = n.div_ceil(threads).max(1);
        let plans = &plans;
        let (values, counts) = std::thread::scope(|scope| {
            let mut ranges = (0..n).step_by(per).map(|lo| (lo, (lo + per).min(n)));
            let mine = ranges.next().unwrap_or((0, 0));
            // a thread the OS refuses is not an error: its part is folded here instead
            let others: Vec<_> = ranges
                .map(|(lo, hi)| {
                    let h = std::thread::Builder::new()
                        .name("metrics-fold".into())
                        .spawn_scoped(scope, move || inner.fold_slots(plans, op, lo, hi))
                        .ok();
                    ((lo, hi), h)
                })
                .collect();
            let (mut values, mut counts) = inner.fold_slots(plans, op, mine.0, mine.1)?;
            for ((lo, hi), h) in others {
                let (v, c) = match h {
                    Some(h) => h.join().map_err(|_| MetricsError::Poisoned)??,
                    None => inner.fold_slots(plans, op, lo, hi)?,
                };
                values.extend(v);
                counts.extend(c);
            }
            Ok::<_, MetricsError>((values, counts))
        })?;
        Ok(Some(Folded {
            start,
            end,
            step,
            present,
            values,
            counts,
        }))
    }

    fn find(&self, pattern: &str) -> Result<Vec<(String, bool)>, MetricsError> {
        Ok(self.read_lock()?.index.find(pattern))
    }

    fn expand(&self, pattern: &str) -> Result<Vec<String>, MetricsError> {
        Ok(self.read_lock()?.index.expand(pattern))
    }

    fn names(&self) -> Result<Vec<String>, MetricsError> {
        Ok(self.read_lock()?.index.names())
    }

    fn find_tagged(&self, exprs: &[String]) -> Result<Vec<String>, MetricsError> {
        Ok(self.read_lock()?.index.find_tagged(exprs)?)
    }

    fn flush(&self) -> Result<(), MetricsError> {
        let mut g = self.lock()?;
        g.cut()?;
        g.wal.sync()
    }
}
