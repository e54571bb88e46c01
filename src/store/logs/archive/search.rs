//! Search over the yearly archives with the query language: picks frames by their index entry
//! (time range, and the hosts/apps the query requires), decompresses only those, and evaluates
//! the query on each record in memory with [`Matcher`], which mirrors the index's semantics.

use std::ops::ControlFlow;
use std::path::Path;

use super::{ArchiveError, FrameEntry, YearArchive, record, years};
use crate::model::LogRecord;
use crate::model::time::{civil_from_days, day_of_ns};
use crate::query::logs::Matcher;

/// What an archive search found. Every hit comes from the archive (callers merging with the
/// hot store flag them as archived).
#[derive(Debug, Default)]
pub struct ArchiveSearchResult {
    /// Matches in `[from, until]` over every candidate frame.
    pub total: u64,
    /// The newest `limit` matches, newest first.
    pub hits: Vec<LogRecord>,
    /// Frames decompressed, and frames skipped by their index entry.
    pub frames_read: u64,
    pub frames_skipped: u64,
    /// The progress callback asked to stop: `total` and `hits` cover only the `frames_read`
    /// frames read before that.
    pub cancelled: bool,
}

pub use super::progress::Progress;

fn may_contain(set: &[String], overflow: bool, wanted: &Option<Vec<String>>) -> bool {
    match wanted {
        None => true,
        Some(_) if overflow => true,
        Some(w) => w.iter().any(|v| set.binary_search(v).is_ok()),
    }
}

/// Searches the archives under `dir` for records matching `matcher` with a timestamp in
/// `[from_ns, until_ns]`: total count and the newest `limit`, newest first. Frames of a day for
/// which `skip_day` says yes are not read (a server skips days it still holds hot: between a
/// seal's commit and its deletion a day is in both places). `progress` is called after every
/// frame read.
pub fn search_archive(
    dir: &Path,
    matcher: &mut Matcher,
    from_ns: i64,
    until_ns: i64,
    limit: usize,
    skip_day: &dyn Fn(i64) -> bool,
    progress: &mut dyn FnMut(Progress),
) -> Result<ArchiveSearchResult, ArchiveError> {
    search_archive_until(dir, matcher, from_ns, until_ns, limit, skip_day, &mut |p| {
        progress(p);
        ControlFlow::Continue(())
    })
}

/// [`search_archive`] that stops when `progress` breaks (a streamed search whose client went
/// away): frames not yet started are not read, and the result is flagged `cancelled`. Frames
/// are decoded at most a few ahead of the progress reports, so a caller whose `progress`
/// blocks (a client reading slowly) holds the whole search, not just its reports.
pub fn search_archive_until(
    dir: &Path,
    matcher: &mut Matcher,
    from_ns: i64,
    until_ns: i64,
    limit: usize,
    skip_day: &dyn Fn(i64) -> bool,
    progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
) -> Result<ArchiveSearchResult, ArchiveError> {
    let mut result = ArchiveSearchResult::default();
    let (first_year, last_year) = (
        civil_from_days(day_of_ns(from_ns)).0,
        civil_from_days(day_of_ns(until_ns)).0,
    );
    let hosts = matcher.required_hosts();
    let apps = matcher.required_apps();
    let mut candidates: Vec<(usize, FrameEntry)> = Vec::new();
    let mut archives = Vec::new();
    for year in years(dir)? {
        // a frame's records may come from a neighbouring year (a day filed by receive time)
        if year < first_year - 1 || year > last_year + 1 {
            continue;
        }
        let a = YearArchive::open_read_only(dir, year)?;
        for e in a.entries() {
            if e.day_number().is_some_and(skip_day)
                || e.max_ts_ns < from_ns
                || e.min_ts_ns > until_ns
                || !may_contain(&e.hosts, e.overflow, &hosts)
                || !may_contain(&e.apps, e.overflow, &apps)
            {
                result.frames_skipped += 1;
                continue;
            }
            candidates.push((archives.len(), e.clone()));
        }
        archives.push(a);
    }
    candidates.sort_by_key(|(_, e)| std::cmp::Reverse(e.max_ts_ns));
    let mut p = Progress {
        frames_done: 0,
        frames_total: candidates.len() as u64,
        bytes_done: 0,
        bytes_total: candidates.iter().map(|(_, e)| e.len).sum(),
    };
    let scan = Scan {
        from_ns,
        until_ns,
        limit,
        literals: matcher.required_literals().map(|l| {
            l.iter()
                .map(|w| memchr::memmem::Finder::new(w.as_bytes()).into_owned())
                .collect()
        }),
    };
    // frames are decoded in parallel (each worker with its own matcher, which keeps
    // tokenizer state); this thread merges their results in the order they finish, and the
    // bounded channel keeps the workers at most a frame each ahead of it
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(candidates.len())
        .max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut hits: Vec<LogRecord> = Vec::new();
    let mut first_error = None;
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel(workers);
        for _ in 0..workers {
            let tx = tx.clone();
            let mut m = matcher.clone();
            let (next, candidates, archives, scan) = (&next, &candidates, &archives, &scan);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((a, e)) = candidates.get(i) else {
                        break;
                    };
                    let r = scan.frame(&archives[*a], e, &mut m);
                    let failed = r.is_err();
                    if tx.send((e.len, r)).is_err() || failed {
                        // stop the others early too
                        next.store(candidates.len(), std::sync::atomic::Ordering::Relaxed);
                        break;
                    }
                }
            });
        }
        drop(tx);
        for (len, r) in rx {
            match r {
                Ok((total, frame_hits)) => {
                    result.total += total;
                    result.frames_read += 1;
                    merge(&mut hits, frame_hits, limit);
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
            p.frames_done += 1;
            p.bytes_done += len;
            if progress(p).is_break() {
                result.cancelled = true;
                // no new frames; dropping `rx` releases a worker blocked on a full channel
                next.store(candidates.len(), std::sync::atomic::Ordering::Relaxed);
                break;
            }
        }
    });
    if let Some(e) = first_error {
        return Err(e);
    }
    result.hits = hits;
    Ok(result)
}

/// What every frame of one search is checked against.
struct Scan {
    from_ns: i64,
    until_ns: i64,
    limit: usize,
    /// One of these (lowercase) must occur in a pure-ASCII line for it to be decoded.
    literals: Option<Vec<memchr::memmem::Finder<'static>>>,
}

impl Scan {
    /// Decompresses one frame and matches its records: (matches, the newest `limit` of them,
    /// newest first). Lines that cannot match are skipped before decoding (see
    /// [`Matcher::required_literals`]); the time range is checked only for a frame that
    /// reaches outside it.
    fn frame(
        &self,
        a: &YearArchive,
        e: &FrameEntry,
        m: &mut Matcher,
    ) -> Result<(u64, Vec<LogRecord>), ArchiveError> {
        let rules = a.frame_rules(e)?;
        let raw = a.read_raw(e)?;
        let inside = e.min_ts_ns >= self.from_ns && e.max_ts_ns <= self.until_ns;
        let ctx = e.context();
        let mut lower = Vec::new();
        let mut total = 0u64;
        let mut hits: Vec<LogRecord> = Vec::new();
        let mut lines = 0u64;
        for line in raw.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
            lines += 1;
            // a format-2 line whose original is not UTF-8 carries it as base64 (`b`, the first
            // member): what the parse derives from it is not in the line's text
            if let Some(finders) = &self.literals
                && line.is_ascii()
                && !line.starts_with(b"{\"b\":")
            {
                lower.clear();
                lower.extend(line.iter().map(u8::to_ascii_lowercase));
                if !finders.iter().any(|f| f.find(&lower).is_some()) {
                    continue;
                }
            }
            let r = match ctx {
                None => record::decode(line),
                Some(ctx) => record::decode_with(line, ctx, rules.as_deref()),
            }
            .map_err(|err| ArchiveError::Corrupt {
                path: a.zst_path().to_path_buf(),
                offset: e.offset,
                reason: err.to_string(),
            })?;
            if !inside && (r.timestamp_ns < self.from_ns || r.timestamp_ns > self.until_ns) {
                continue;
            }
            if !m.matches(&r) {
                continue;
            }
            total += 1;
            merge(&mut hits, vec![r], self.limit);
        }
        if lines != e.count {
            return Err(ArchiveError::Corrupt {
                path: a.zst_path().to_path_buf(),
                offset: e.offset,
                reason: format!("{lines} records, index says {}", e.count),
            });
        }
        Ok((total, hits))
    }
}

/// Merges `new` into `hits` (newest first), keeping the newest `limit`.
fn merge(hits: &mut Vec<LogRecord>, new: Vec<LogRecord>, limit: usize) {
    for r in new {
        if limit == 0
            || (hits.len() >= limit
                && hits
                    .last()
                    .is_some_and(|l| l.timestamp_ns >= r.timestamp_ns))
        {
            continue;
        }
        let at = hits.partition_point(|h| h.timestamp_ns >= r.timestamp_ns);
        hits.insert(at, r);
        hits.truncate(limit);
    }
}
