//! Sealing: moving one day from the hot store into its year's archive, in an order that a
//! crash at any point cannot turn into a gap or a duplicate (see the module above for the
//! commit protocol). The day's partition is deleted only after its frames were read back from
//! disk and verified.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use super::progress::{OnProgress, Progress};
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
    /// Records left in the hot store because a retention override keeps them hot longer.
    pub kept_hot: u64,
}

/// Which records of a day are due for the archive: `(day, host, app)`, from the retention
/// policy's hot windows (overrides included).
pub type Due<'a> = &'a dyn Fn(i64, &str, &str) -> bool;

/// Every record is due (no overrides): the whole day goes.
pub fn all_due(_: i64, _: &str, _: &str) -> bool {
    true
}

/// The environment variable that makes [`seal_day`] abort the process after a step
/// (`frames-written`, `index-torn`, `indexed`): how the end-to-end tests kill a real sealing
/// process at each step. Unset in production.
pub const CRASH_ENV: &str = "TELLTALE_CRASH_AT";

/// Seals `day` at the default level. See [`seal_day_with`].
pub fn seal_day(store: &LogStore, day: i64) -> Result<SealReport, ArchiveError> {
    seal_day_due(store, day, &all_due)
}

/// Seals the records of `day` that `due` selects (the rest stays hot). See
/// [`seal_day_with_due`].
pub fn seal_day_due(store: &LogStore, day: i64, due: Due) -> Result<SealReport, ArchiveError> {
    let crash = std::env::var(CRASH_ENV)
        .ok()
        .and_then(|s| match s.as_str() {
            "frames-written" => Some(Step::FramesWritten),
            "index-torn" => Some(Step::IndexTorn),
            "indexed" => Some(Step::Indexed),
            _ => None,
        });
    match seal_day_with_due(store, day, DEFAULT_LEVEL, crash, due) {
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
    seal_day_with_due(store, day, level, fault, &all_due)
}

/// [`seal_day_with`] for the records `due` selects: they are archived as above, then deleted
/// from the day's index by their (host, app), which is marked partly archived
/// ([`LogStore::delete_pairs`]); records not due stay hot and are sealed by a later run once
/// they are due. With every record due, this is the whole-day seal.
pub fn seal_day_with_due(
    store: &LogStore,
    day: i64,
    level: i32,
    fault: Option<Step>,
    due: Due,
) -> Result<SealReport, ArchiveError> {
    let report = SealReport {
        day: format_day(day),
        ..SealReport::default()
    };
    if !store.has_day(day)? {
        return Ok(report);
    }
    match seal_scanned(store, day, level, fault, due, true, report.clone()) {
        // a record read in place could not be encoded as read after all (nothing was
        // written): read the day whole
        Err(ArchiveError::FieldsNotRead) => {
            seal_scanned(store, day, level, fault, due, false, report)
        }
        r => r,
    }
}

/// Due-ness by (host, app) as the records spell them: it depends on the pair only, so it is
/// decided once per pair.
#[derive(Default)]
struct PairDue(HashMap<String, HashMap<String, bool>>);

impl PairDue {
    /// Whether records of (`host`, `app`) are due, `decide` asked the first time.
    fn is_due(&mut self, host: &str, app: &str, decide: impl FnOnce() -> bool) -> bool {
        if let Some(&d) = self.0.get(host).and_then(|a| a.get(app)) {
            return d;
        }
        let d = decide();
        self.0
            .entry(host.to_string())
            .or_default()
            .insert(app.to_string(), d);
        d
    }

    /// The due pairs, lowercased: what a seal deletes from the partition.
    fn due_pairs(&self) -> BTreeSet<(String, String)> {
        self.0
            .iter()
            .flat_map(|(host, apps)| {
                apps.iter()
                    .filter(|(_, d)| **d)
                    .map(move |(app, _)| (host.to_lowercase(), app.to_lowercase()))
            })
            .collect()
    }
}

/// [`seal_day_with_due`], reading records the seal's rules made in place (without their
/// fields) when `in_place`.
fn seal_scanned(
    store: &LogStore,
    day: i64,
    level: i32,
    fault: Option<Step>,
    due: Due,
    in_place: bool,
    mut report: SealReport,
) -> Result<SealReport, ArchiveError> {
    let dir = store.archive_dir();
    let mut archive = YearArchive::open(&dir, year_of_day(day))?;
    archive.rules = store.archive_rules();
    let pair = |host: &str, app: &str| (host.to_lowercase(), app.to_lowercase());
    let already = archive.day_counts().contains_key(&day);
    let mut before = 0;
    // what the partition holds, by due-ness: decides what is deleted from it afterwards
    let due_pairs: BTreeSet<(String, String)>;
    let mut kept = crate::store::logs::day::DayMeta::empty(day);
    let mut enc = archive.encoder(day)?;
    if !already {
        // each record is encoded as it is read, in place when the frames' rules made it;
        // only the lines are kept
        let trusted = enc.trusted_stamp().filter(|_| in_place);
        let count = store.partition(day)?.meta.read().map_or(0, |m| m.count);
        enc.reserve(usize::try_from(count).unwrap_or(0));
        let mut by_pair = PairDue::default();
        store.scan_day(day, trusted, |r, stamp| {
            if by_pair.is_due(r.host, r.app, || due(day, r.host, r.app)) {
                enc.push(r, stamp)
            } else {
                kept.add(r.timestamp_ns, r.host, r.app);
                Ok(())
            }
        })?;
        due_pairs = by_pair.due_pairs();
    } else {
        // The day was sealed before. Its partition holds either the same records (a crash
        // after the commit point: finish the deletion) or lines that arrived after the seal
        // (archive them as one more group), or both: keep only what the archive lacks.
        // Identical records are told apart by content, so an exact duplicate of an archived
        // line arriving late is dropped.
        let held = store.day_records(day)?;
        let mut archived: Vec<LogRecord> = Vec::new();
        // the coarsest receive-time unit the day was archived with (format 1 kept µs)
        let mut unit = 1_000;
        for e in archive.entries().iter().filter(|e| e.day == report.day) {
            archived.extend(archive.read_frame(e)?);
            unit = unit.max(e.recv_unit_ns);
        }
        before = archived.len() as u64;
        let rest = without(held.clone(), archived, unit);
        // (host, app) pairs with a record both held and archived: they must leave the
        // partition (deletion is by pair), so they are due whatever the policy now says (a
        // crash, then a longer window)
        let mut count = std::collections::BTreeMap::new();
        for r in &held {
            *count.entry(pair(&r.host, &r.app)).or_insert(0i64) += 1;
        }
        for r in &rest {
            *count.entry(pair(&r.host, &r.app)).or_insert(0) -= 1;
        }
        let forced: BTreeSet<(String, String)> = count
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(p, _)| p)
            .collect();
        let is_due =
            |host: &str, app: &str| due(day, host, app) || forced.contains(&pair(host, app));
        let mut by_pair = PairDue::default();
        for r in &held {
            if !by_pair.is_due(&r.host, &r.app, || is_due(&r.host, &r.app)) {
                kept.add(r.timestamp_ns, &r.host, &r.app);
            }
        }
        due_pairs = by_pair.due_pairs();
        // leftovers of an interrupted seal carry no stamp: they are checked the slow way
        let mut due_rest: Vec<&LogRecord> =
            rest.iter().filter(|r| is_due(&r.host, &r.app)).collect();
        due_rest.sort_by_key(|r| r.timestamp_ns);
        for r in due_rest {
            enc.push(r.into(), None)?;
        }
    }
    if enc.is_empty() {
        finish(store, day, &kept, &due_pairs, already)?;
        report.records = before;
        report.resumed = already;
        report.kept_hot = kept.count;
        return Ok(report);
    }
    let resumed = already;
    let pushed = enc.len();
    let written = archive.append_encoded(enc, level, fault)?;
    // read back what is on disk through a fresh open, not what we hold in memory: each frame's
    // CRC, its zstd content checksum (the XXH64 of the lines as encoded) and length, and its
    // line count. The lines decode to the records by construction: the encoder kept every
    // member that decoding would not give back (docs/format/archive.md)
    let check = YearArchive::open(&dir, archive.year)?;
    let mut found = 0u64;
    let (mut reader, mut buf) = (super::FrameReader::new()?, Vec::new());
    for e in check.entries().iter().filter(|e| written.contains(e)) {
        check.read_raw_into(e, &mut reader, &mut buf)?;
        let lines = buf.iter().filter(|&&c| c == b'\n').count() as u64;
        if lines != e.count {
            return Err(ArchiveError::Mismatch {
                day: report.day,
                expected: e.count,
                found: lines,
            });
        }
        found += lines;
    }
    if found != pushed as u64 {
        return Err(ArchiveError::Mismatch {
            day: report.day,
            expected: pushed as u64,
            found,
        });
    }
    if fault == Some(Step::Indexed) {
        return Err(ArchiveError::Injected(Step::Indexed));
    }
    finish(store, day, &kept, &due_pairs, true)?;
    report.kept_hot = kept.count;
    report.records = found;
    report.resumed = resumed;
    report.frames = written.len() as u64;
    report.raw_bytes = written.iter().map(|e| e.raw_len).sum();
    report.compressed_bytes = written.iter().map(|e| e.len).sum();
    Ok(report)
}

/// The last step of a seal: the partition goes when nothing in it stays hot; otherwise its due
/// records (all archived by now) are deleted from it and it is marked partly archived, with
/// its metadata narrowed to what stays (so the next round skips it until that is due).
fn finish(
    store: &LogStore,
    day: i64,
    kept: &crate::store::logs::day::DayMeta,
    due_pairs: &BTreeSet<(String, String)>,
    archived: bool,
) -> Result<(), ArchiveError> {
    if kept.count == 0 {
        store.remove_day(day)?;
        return Ok(());
    }
    let marked = !store.holds_whole_day(day);
    if !due_pairs.is_empty() || (archived && !marked) {
        let pairs: Vec<(String, String)> = due_pairs.iter().cloned().collect();
        let left = store.delete_pairs(day, &pairs, kept)?;
        if left != kept.count {
            // a record the term deletion could not reach stays in both places: search shows
            // it twice rather than never (the next round retries)
            tracing::warn!(
                "{}: {left} records left hot after sealing, expected {}",
                format_day(day),
                kept.count
            );
        }
    }
    Ok(())
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
    recover_due(store, &all_due)
}

/// [`recover`] under a policy with overrides: a day marked partly archived is consistent
/// (its marker is written after its deletion commits) and is left to the regular rounds.
pub fn recover_due(store: &LogStore, due: Due) -> Result<Vec<SealReport>, ArchiveError> {
    let dir = store.archive_dir();
    let mut done = Vec::new();
    for year in years(&dir)? {
        let archive = YearArchive::open(&dir, year)?;
        for day in archive.day_counts().into_keys() {
            if store.holds_whole_day(day) {
                done.push(seal_day_due(store, day, due)?);
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
    apply_with(store, now_ns, policy, &mut super::progress::ignore)
}

/// [`apply`] with per-record overrides and progress (days done of the days due). A day is
/// looked at when it is older than the shortest hot window any rule gives, and only when its
/// hosts and apps say some record of it may be due; then each record is due by its own
/// window ([`LogRetention::hot_days_for`](super::retention::LogRetention::hot_days_for)).
pub fn apply_with(
    store: &LogStore,
    now_ns: i64,
    policy: &super::retention::LogRetention,
    on: OnProgress,
) -> Result<Vec<SealReport>, ArchiveError> {
    let today = crate::model::time::day_of_ns(now_ns);
    let due = |day: i64, host: &str, app: &str| {
        day < today - i64::from(policy.hot_days_for(host, app).max(1)) + 1
    };
    let first_hot = today - i64::from(policy.min_hot_days().max(1)) + 1;
    let mut out = if policy.archive {
        recover_due(store, &due)?
    } else {
        Vec::new()
    };
    let mut days = Vec::new();
    for part in store.partitions()? {
        if part.day >= first_hot {
            continue;
        }
        let maybe_due = match part.meta.read() {
            Ok(m) if !m.overflow && m.hosts.len().saturating_mul(m.apps.len()) <= 100_000 => m
                .hosts
                .iter()
                .any(|h| m.apps.iter().any(|a| due(part.day, h, a))),
            _ => true,
        };
        if maybe_due {
            days.push(part.day);
        }
    }
    let mut p = Progress {
        frames_total: days.len() as u64,
        ..Progress::default()
    };
    for day in days {
        if policy.archive {
            out.push(seal_day_due(store, day, &due)?);
        } else {
            out.push(drop_due(store, day, &due)?);
        }
        p.frames_done += 1;
        on(p);
    }
    if policy.archive {
        let year = year_of_day(today);
        prune_years_with(&store.archive_dir(), year, policy)?;
    }
    Ok(out)
}

/// `archive = false`: deletes a day's due records (the whole partition when all are due).
fn drop_due(store: &LogStore, day: i64, due: Due) -> Result<SealReport, ArchiveError> {
    let mut report = SealReport {
        day: format_day(day),
        ..SealReport::default()
    };
    let mut by_pair = PairDue::default();
    let mut kept = crate::store::logs::day::DayMeta::empty(day);
    for r in store.day_records(day)? {
        if !by_pair.is_due(&r.host, &r.app, || due(day, &r.host, &r.app)) {
            kept.add(r.timestamp_ns, &r.host, &r.app);
        }
    }
    let due_pairs = by_pair.due_pairs();
    if kept.count == 0 {
        store.remove_day(day)?;
    } else if !due_pairs.is_empty() {
        let pairs: Vec<(String, String)> = due_pairs.into_iter().collect();
        store.delete_pairs(day, &pairs, &kept)?;
    }
    report.kept_hot = kept.count;
    Ok(report)
}

/// Deletes archive years no record of which is kept any longer: a year older than the
/// longest `keep_years` of any rule goes unread; a younger one past the default goes only when
/// no frame in it may hold a record whose rule keeps it (judged by the frame's host and app
/// lists; a frame with too many to list counts as holding every rule's records).
pub fn prune_years_with(
    dir: &Path,
    current_year: i64,
    policy: &super::retention::LogRetention,
) -> Result<Vec<i64>, ArchiveError> {
    use super::retention::KeepYears;
    let oldest = |k: KeepYears| match k {
        KeepYears::Forever => i64::MIN,
        KeepYears::Years(n) => current_year - i64::from(n.max(1)) + 1,
    };
    let default_oldest = oldest(policy.keep_years);
    let max_oldest = oldest(policy.max_keep_years());
    if max_oldest == default_oldest || !policy.has_overrides() {
        return match policy.max_keep_years() {
            KeepYears::Forever => Ok(Vec::new()),
            KeepYears::Years(n) => prune_years(dir, current_year, n),
        };
    }
    // years older than every rule go as before
    let mut out = match policy.max_keep_years() {
        KeepYears::Forever => Vec::new(),
        KeepYears::Years(n) => prune_years(dir, current_year, n)?,
    };
    for year in years(dir)? {
        if year >= default_oldest {
            continue;
        }
        let a = YearArchive::open_read_only(dir, year)?;
        let still_kept = a.entries().iter().any(|e| {
            if e.overflow {
                return true;
            }
            e.hosts.iter().any(|h| {
                e.apps
                    .iter()
                    .any(|ap| year >= oldest(policy.keep_years_for(h, ap)))
            })
        });
        if !still_kept {
            let (zst, idx) = super::year_paths(dir, year);
            for path in [idx, zst] {
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(super::io(&path)(e)),
                }
            }
            out.push(year);
        }
    }
    Ok(out)
}

/// Whether `dir` has any archive year (for callers that skip archive search otherwise).
pub fn has_archive(dir: &Path) -> bool {
    years(dir).is_ok_and(|y| !y.is_empty())
}
