//! Search over the yearly archives with the query language: picks frames by their index entry
//! (time range, and the hosts/apps the query requires), decompresses only those, and evaluates
//! the query on each record in memory with [`Matcher`], which mirrors the index's semantics.

use std::path::Path;

use super::{ArchiveError, FrameEntry, YearArchive, years};
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
    let mut hits: Vec<LogRecord> = Vec::new();
    for (a, e) in &candidates {
        let records = archives[*a].read_frame(e)?;
        result.frames_read += 1;
        for r in records {
            if r.timestamp_ns < from_ns || r.timestamp_ns > until_ns || !matcher.matches(&r) {
                continue;
            }
            result.total += 1;
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
        p.frames_done += 1;
        p.bytes_done += e.len;
        progress(p);
    }
    result.hits = hits;
    Ok(result)
}
