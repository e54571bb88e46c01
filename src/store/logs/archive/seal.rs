//! Sealing: moving one day from the hot store into its year's archive, in an order that a
//! crash at any point cannot turn into a gap or a duplicate (see the module above for the
//! commit protocol). The day's partition is deleted only after its frames were read back from
//! disk and verified.

use std::path::Path;

use super::{ArchiveError, DEFAULT_LEVEL, YearArchive, year_of_day, years};
use crate::model::LogRecord;
use crate::model::time::format_day;
use crate::store::logs::LogStore;

/// Points at which a test can stop sealing as a crash would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Frames appended to the year file and fsynced, no index line written.
    FramesWritten,
    /// Part of the day's index lines written, the last one torn.
    IndexTorn,
    /// Index committed and verified, partition not yet deleted.
    Indexed,
}

/// What sealing one day did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SealReport {
    pub day: String,
    pub records: u64,
    pub frames: u64,
    /// JSON bytes before compression, and compressed bytes written.
    pub raw_bytes: u64,
    pub compressed_bytes: u64,
    /// The day was already archived by an interrupted run; only its deletion was finished.
    pub resumed: bool,
}

/// The environment variable that makes [`seal_day`] abort the process after a step
/// (`frames-written`, `index-torn`, `indexed`): how the end-to-end tests kill a real sealing
/// process at each step. Unset in production.
pub const CRASH_ENV: &str = "TELLTALE_CRASH_AT";

/// Seals `day` at the default level. See [`seal_day_with`].
pub fn seal_day(store: &LogStore, day: i64) -> Result<SealReport, ArchiveError> {
    let crash = std::env::var(CRASH_ENV)
        .ok()
        .and_then(|s| match s.as_str() {
            "frames-written" => Some(Step::FramesWritten),
            "index-torn" => Some(Step::IndexTorn),
            "indexed" => Some(Step::Indexed),
            _ => None,
        });
    match seal_day_with(store, day, DEFAULT_LEVEL, crash) {
        // a real crash: no destructor, no cleanup, nothing flushed that was not yet
        Err(ArchiveError::Injected(_)) => std::process::abort(),
        r => r,
    }
}

/// Seals `day`: every record of its partition, sorted by timestamp, into frames of
/// `<data>/archive/<year>.zst`, indexed, fsynced, read back and verified; then the partition is
/// deleted. A day already fully indexed (a crash after the commit point) only has its deletion
/// finished. `fault` simulates a crash after a step (tests only).
pub fn seal_day_with(
    store: &LogStore,
    day: i64,
    level: i32,
    fault: Option<Step>,
) -> Result<SealReport, ArchiveError> {
    let dir = store.archive_dir();
    let mut report = SealReport {
        day: format_day(day),
        ..SealReport::default()
    };
    if !store.has_day(day)? {
        return Ok(report);
    }
    let mut archive = YearArchive::open(&dir, year_of_day(day))?;
    let mut records = store.day_records(day)?;
    let mut resumed = false;
    if archive.day_counts().contains_key(&day) {
        // The day was sealed before. Its partition holds either the same records (a crash
        // after the commit point: finish the deletion) or lines that arrived after the seal
        // (archive them as one more group), or both: keep only what the archive lacks.
        // Identical records are told apart by content, so an exact duplicate of an archived
        // line arriving late is dropped.
        let mut archived: Vec<LogRecord> = Vec::new();
        // the coarsest receive-time unit the day was archived with (format 1 kept µs)
        let mut unit = 1_000;
        for e in archive.entries().iter().filter(|e| e.day == report.day) {
            archived.extend(archive.read_frame(e)?);
            unit = unit.max(e.recv_unit_ns);
        }
        let before = archived.len() as u64;
        records = without(records, archived, unit);
        resumed = true;
        if records.is_empty() {
            store.remove_day(day)?;
            report.records = before;
            report.resumed = true;
            return Ok(report);
        }
    }
    if records.is_empty() {
        store.remove_day(day)?;
        return Ok(report);
    }
    records.sort_by_key(|r| r.timestamp_ns);
    let written = archive.append_day(day, &records, level, fault)?;
    // read back what is on disk through a fresh open, not what we hold in memory
    let check = YearArchive::open(&dir, archive.year)?;
    let mut found = 0u64;
    for e in check.entries().iter().filter(|e| written.contains(e)) {
        found += check.read_frame(e)?.len() as u64;
    }
    if found != records.len() as u64 {
        return Err(ArchiveError::Mismatch {
            day: report.day,
            expected: records.len() as u64,
            found,
        });
    }
    if fault == Some(Step::Indexed) {
        return Err(ArchiveError::Injected(Step::Indexed));
    }
    store.remove_day(day)?;
    report.records = found;
    report.resumed = resumed;
    report.frames = written.len() as u64;
    report.raw_bytes = written.iter().map(|e| e.raw_len).sum();
    report.compressed_bytes = written.iter().map(|e| e.len).sum();
    Ok(report)
}

/// `records` minus `archived`, as multisets (fields compared in sorted order, receive times
/// to `unit` ns, the precision the archive kept them at).
fn without(records: Vec<LogRecord>, archived: Vec<LogRecord>, unit: i64) -> Vec<LogRecord> {
    let norm = |mut r: LogRecord| {
        r.fields.sort();
        r.received_ns = round_received(&r, unit);
        r
    };
    let mut archived: Vec<LogRecord> = archived.into_iter().map(norm).collect();
    let key = |r: &LogRecord| (r.timestamp_ns, r.received_ns);
    archived.sort_by_key(key);
    let mut used = vec![false; archived.len()];
    let mut out = Vec::new();
    for r in records.into_iter().map(norm) {
        let start = archived.partition_point(|a| key(a) < key(&r));
        let hit = (start..archived.len())
            .take_while(|&i| key(&archived[i]) == key(&r))
            .find(|&i| !used[i] && archived[i] == r);
        match hit {
            Some(i) => used[i] = true,
            None => out.push(r),
        }
    }
    out
}

/// The receive time as an archive with receive-time unit `unit` keeps it: the event time plus
/// the delta rounded down to whole units.
pub fn round_received(r: &LogRecord, unit: i64) -> i64 {
    let unit = unit.max(1);
    let d = r
        .received_ns
        .saturating_sub(r.timestamp_ns)
        .div_euclid(unit);
    r.timestamp_ns.saturating_add(d.saturating_mul(unit))
}

/// Repairs the archive after a crash: rolls back uncommitted frames of every year (by opening
/// it) and finishes deleting partitions of days that are already archived. Run before sealing
/// and at start-up. Returns the days whose deletion was finished.
pub fn recover(store: &LogStore) -> Result<Vec<SealReport>, ArchiveError> {
    let dir = store.archive_dir();
    let mut done = Vec::new();
    for year in years(&dir)? {
        let archive = YearArchive::open(&dir, year)?;
        for day in archive.day_counts().into_keys() {
            if store.has_day(day)? {
                done.push(seal_day(store, day)?);
            }
        }
    }
    Ok(done)
}

/// Seals every day of the store older than the hot window: days before
/// `day_of(now) - (hot_days - 1)`, so `hot_days` = 1 keeps only today.
pub fn seal_due(
    store: &LogStore,
    now_ns: i64,
    hot_days: u32,
) -> Result<Vec<SealReport>, ArchiveError> {
    let mut out = recover(store)?;
    let today = crate::model::time::day_of_ns(now_ns);
    let first_hot = today - i64::from(hot_days.max(1)) + 1;
    for part in store.partitions()? {
        if part.day < first_hot {
            out.push(seal_day(store, part.day)?);
        }
    }
    Ok(out)
}

/// Deletes the archive years older than the newest `keep` (the current year counts): index
/// first, so a crash in between leaves a year file no listing sees (and the next prune
/// removes). Returns the years deleted.
pub fn prune_years(dir: &Path, current_year: i64, keep: u32) -> Result<Vec<i64>, ArchiveError> {
    let oldest_kept = current_year - i64::from(keep.max(1)) + 1;
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(super::io(dir)(e)),
    };
    let mut found = std::collections::BTreeSet::new();
    for entry in entries {
        let entry = entry.map_err(super::io(dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(y) = name
            .strip_suffix(".idx")
            .or_else(|| name.strip_suffix(".zst"))
            .filter(|y| y.len() == 4)
            .and_then(|y| y.parse::<i64>().ok())
            && y < oldest_kept
        {
            found.insert(y);
        }
    }
    for y in found {
        let (zst, idx) = super::year_paths(dir, y);
        for path in [idx, zst] {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(super::io(&path)(e)),
            }
        }
        out.push(y);
    }
    Ok(out)
}

/// Applies a retention policy now: seals (or, with `archive = false`, deletes) every day older
/// than the hot window, then deletes archive years beyond `keep_years`.
pub fn apply(
    store: &LogStore,
    now_ns: i64,
    policy: &super::retention::LogRetention,
) -> Result<Vec<SealReport>, ArchiveError> {
    if policy.archive {
        let out = seal_due(store, now_ns, policy.hot_days)?;
        if let super::retention::KeepYears::Years(n) = policy.keep_years {
            let year = year_of_day(crate::model::time::day_of_ns(now_ns));
            prune_years(&store.archive_dir(), year, n)?;
        }
        return Ok(out);
    }
    let today = crate::model::time::day_of_ns(now_ns);
    let first_hot = today - i64::from(policy.hot_days.max(1)) + 1;
    let mut out = Vec::new();
    for part in store.partitions()? {
        if part.day < first_hot {
            store.remove_day(part.day)?;
            out.push(SealReport {
                day: format_day(part.day),
                ..SealReport::default()
            });
        }
    }
    Ok(out)
}

/// Whether `dir` has any archive year (for callers that skip archive search otherwise).
pub fn has_archive(dir: &Path) -> bool {
    years(dir).is_ok_and(|y| !y.is_empty())
}
