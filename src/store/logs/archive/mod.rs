//! Yearly log archives: `<data>/archive/<year>.zst` and its sidecar index `<year>.idx`.
//!
//! The year file is a plain concatenation of independent zstd frames, so stock `zstd -dc`
//! prints every archived record as one JSON line ([`record`]), and telltale can decompress a
//! single frame (one bounded chunk of one day) without touching the rest of the year. The index
//! is append-only, one checksummed line per frame ([`FrameEntry`]); see
//! `docs/format/archive.md` for both formats byte by byte.
//!
//! Commit protocol (crash safety): a day's frames are appended to the year file and fsynced,
//! then its index lines are appended and fsynced. The index is the commit point: a day counts
//! as archived only once every one of its index lines (`part` 0..`parts`) is intact. Opening a
//! year ([`YearArchive::open`]) drops a torn or incomplete trailing group of index lines and
//! truncates the year file back to the end of the last indexed frame, so a crash at any point
//! leaves the previous state or the new one, never half a day.

mod encoder;
pub mod progress;
pub mod record;
pub mod retention;
pub mod rules;
pub mod seal;
pub mod search;

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use std::sync::Arc;

use super::day::MAX_LISTED;
use crate::model::LogRecord;
use crate::model::time::{civil_from_days, format_day, parse_day};
use crate::normalize::Normalizer;
pub use encoder::DayEncoder;
pub use record::RecordRef;

/// zstd level of archive frames, chosen by measurement (BENCHMARKS.md, "Log archive"): on
/// format-3 lines level 8 (zstd's first `lazy2` level) is as small as 9 and faster, levels 6
/// and 7 save little time (encoding, not compression, dominates) for 7 % more bytes.
pub const DEFAULT_LEVEL: i32 = 8;
/// A frame holds at most this many records ...
pub const FRAME_MAX_RECORDS: usize = 100_000;
/// ... or about this many bytes of original lines, whichever comes first: bounds the memory of
/// a reader and the work of a search that needs one record of the frame, and gives a search
/// many frames to decode in parallel.
pub const FRAME_MAX_BYTES: usize = 16 << 20;
/// The most decoded bytes an index line may claim for one frame (frames hold about
/// [`FRAME_MAX_BYTES`] of lines): a larger claim is corruption, not an allocation to make.
const MAX_FRAME_RAW: usize = 1 << 30;
/// log2 of the largest zstd window a reader accepts (128 MiB, stock zstd's default limit, so
/// `zstd -dc` needs no `--memory`).
const WINDOW_LOG_MAX: u32 = 27;
/// The archive format frames are written in (1: full JSON records in time order; 2: the
/// original line plus what re-parsing it cannot give, grouped by app and host; 3: format 2
/// lines that also omit what re-applying the frame's rule snapshot gives). Without rules to
/// snapshot, frames are written in format 2.
pub const FORMAT: u32 = 3;
/// Unit of the receive-time delta of format-2 lines: whole seconds. The event time stays
/// exact; the receive time (telltale's own clock, kept to spot sender clock skew) is kept to
/// the second, because its sub-second digits are random and cost more than the rest of a
/// typical line (BENCHMARKS.md, "Log archive").
pub const RECV_UNIT_NS: i64 = 1_000_000_000;

/// How new frames are written (tests and benchmarks change these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    pub frame_max_records: usize,
    pub frame_max_bytes: usize,
    /// log2 of the zstd window of a frame; at most [`WINDOW_LOG_MAX`].
    pub window_log: u32,
    /// zstd long-distance matching.
    pub long: bool,
    pub recv_unit_ns: i64,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            frame_max_records: FRAME_MAX_RECORDS,
            frame_max_bytes: FRAME_MAX_BYTES,
            window_log: 14,
            long: false,
            recv_unit_ns: RECV_UNIT_NS,
        }
    }
}

/// Errors of the archive.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("i/o error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: frame at offset {offset} is corrupt: {reason}")]
    Corrupt {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
    #[error("{path}: index line {line} is invalid: {reason}")]
    BadIndex {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("log store error: {0}")]
    Store(#[from] super::StoreError),
    #[error("day {day} is still in the hot window")]
    NotDue { day: String },
    #[error("day {day} holds {found} records after sealing, expected {expected}")]
    Mismatch {
        day: String,
        expected: u64,
        found: u64,
    },
    #[error("injected fault at {0:?}")]
    Injected(seal::Step),
    /// A record read in place from the doc store cannot be sealed as read: it was not made by
    /// the seal's rules (so its fields, not read, are needed after all), or its text is not
    /// UTF-8. The seal reads the day again, whole; nothing was written.
    #[error("a record read in place cannot be sealed as read")]
    FieldsNotRead,
    /// zstd could not set up a decoder (out of memory).
    #[error("cannot set up a zstd decoder: {0}")]
    Decoder(std::io::Error),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ArchiveError + '_ {
    move |source| ArchiveError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One index line: where a frame is and what it holds, so a search can skip it unopened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameEntry {
    /// Byte offset of the frame in the year file.
    pub offset: u64,
    /// Compressed length in bytes.
    pub len: u64,
    /// CRC-32 (IEEE) of the compressed bytes.
    pub crc32: u32,
    /// `YYYY-MM-DD` (UTC) of the day the frame belongs to.
    pub day: String,
    /// This frame's position among the day's frames, and how many the day has: a day is
    /// committed only when all its parts are indexed.
    pub part: u32,
    pub parts: u32,
    /// Smallest and largest event timestamp in the frame (ns since the epoch).
    pub min_ts_ns: i64,
    pub max_ts_ns: i64,
    /// Records (= JSON lines) in the frame.
    pub count: u64,
    /// Uncompressed bytes (the JSON lines).
    pub raw_len: u64,
    /// Distinct hosts and apps, lowercased, sorted; empty with `overflow` when too many.
    pub hosts: Vec<String>,
    pub apps: Vec<String>,
    #[serde(default)]
    pub overflow: bool,
    /// Format of the frame's lines (absent in format-1 index lines).
    #[serde(default = "format_1")]
    pub format: u32,
    /// Unit of the receive-time delta of format-2 lines, in ns (0 in format 1).
    #[serde(default)]
    pub recv_unit_ns: i64,
    /// Format 3: id of the rule snapshot (`rules/<id>.json`) the frame was sealed with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<String>,
}

fn format_1() -> u32 {
    1
}

impl FrameEntry {
    /// How a format-2 frame's lines are decoded; None for format 1.
    pub fn context(&self) -> Option<record::Context> {
        (self.format >= 2).then(|| record::Context {
            day: self.day_number().unwrap_or(0),
            recv_unit_ns: self.recv_unit_ns.max(1),
        })
    }

    /// The day number, or None for a malformed day string.
    pub fn day_number(&self) -> Option<i64> {
        parse_day(&self.day)
    }

    /// Index line bytes: compact JSON, a space, the CRC-32 of the JSON as 8 lowercase hex
    /// digits, `\n`.
    fn to_line(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec(self).unwrap_or_default();
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(format!(" {crc:08x}\n").as_bytes());
        out
    }

    fn from_line(line: &[u8]) -> Result<FrameEntry, String> {
        let text = std::str::from_utf8(line).map_err(|e| e.to_string())?;
        let (json, crc) = text.rsplit_once(' ').ok_or("no checksum")?;
        let crc = u32::from_str_radix(crc, 16).map_err(|e| format!("bad checksum: {e}"))?;
        if crc32fast::hash(json.as_bytes()) != crc {
            return Err("checksum mismatch".into());
        }
        serde_json::from_str(json).map_err(|e| e.to_string())
    }
}

/// Paths of a year's files under `<data>/archive`.
pub fn year_paths(dir: &Path, year: i64) -> (PathBuf, PathBuf) {
    (
        dir.join(format!("{year:04}.zst")),
        dir.join(format!("{year:04}.idx")),
    )
}

/// The UTC year of a day number.
pub fn year_of_day(day: i64) -> i64 {
    civil_from_days(day).0
}

/// Years with an index file under `dir`, ascending.
pub fn years(dir: &Path) -> Result<Vec<i64>, ArchiveError> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io(dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io(dir))?;
        let name = entry.file_name();
        if let Some(y) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".idx"))
            .filter(|y| y.len() == 4)
            .and_then(|y| y.parse::<i64>().ok())
        {
            out.push(y);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// What [`YearArchive::open`] had to repair.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// Bytes cut off the index (a torn line or an incomplete day).
    pub index_bytes_dropped: u64,
    /// Bytes cut off the year file (frames never committed to the index).
    pub frame_bytes_dropped: u64,
}

/// One year's archive, opened and recovered.
#[derive(Debug)]
pub struct YearArchive {
    pub year: i64,
    zst: PathBuf,
    idx: PathBuf,
    entries: Vec<FrameEntry>,
    /// Length of the committed part of the year file.
    end: u64,
    pub recovery: Recovery,
    /// How [`YearArchive::append_day`] writes frames.
    pub options: WriteOptions,
    /// The normalizer rules in force: new frames omit what re-applying them gives (format 3).
    pub rules: Option<Arc<Normalizer>>,
}

impl YearArchive {
    /// Opens (creating empty if needed) a year's files and rolls back anything uncommitted.
    /// Only the sealer (one at a time) may call this: it truncates files.
    pub fn open(dir: &Path, year: i64) -> Result<YearArchive, ArchiveError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        YearArchive::load(dir, year, true)
    }

    /// Opens a year's committed frames without repairing anything, so a search can run while
    /// a seal appends (it sees the days committed when it opened).
    pub fn open_read_only(dir: &Path, year: i64) -> Result<YearArchive, ArchiveError> {
        YearArchive::load(dir, year, false)
    }

    fn load(dir: &Path, year: i64, repair: bool) -> Result<YearArchive, ArchiveError> {
        let (zst, idx) = year_paths(dir, year);
        let bytes = match std::fs::read(&idx) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io(&idx)(e)),
        };
        let mut entries = Vec::new();
        // end of the last complete day group, in index bytes
        let mut committed_len = 0usize;
        let mut committed_entries = 0usize;
        let mut pos = 0usize;
        let mut line_no = 0usize;
        while let Some(nl) = bytes[pos..].iter().position(|&c| c == b'\n') {
            line_no += 1;
            let line = &bytes[pos..pos + nl];
            let Ok(e) = FrameEntry::from_line(line) else {
                // a torn or corrupt line: only acceptable as the tail (the crash case)
                let rest_has_valid = bytes[pos + nl + 1..]
                    .split(|&c| c == b'\n')
                    .any(|l| FrameEntry::from_line(l).is_ok());
                if rest_has_valid {
                    return Err(ArchiveError::BadIndex {
                        path: idx,
                        line: line_no,
                        reason: "corrupt line followed by valid ones".into(),
                    });
                }
                break;
            };
            pos += nl + 1;
            let complete = e.part + 1 == e.parts;
            entries.push(e);
            if complete {
                committed_len = pos;
                committed_entries = entries.len();
            }
        }
        entries.truncate(committed_entries);
        let mut recovery = Recovery {
            index_bytes_dropped: (bytes.len() - committed_len) as u64,
            ..Recovery::default()
        };
        if repair && recovery.index_bytes_dropped > 0 {
            truncate(&idx, committed_len as u64)?;
        }
        let end = entries.iter().map(|e| e.offset + e.len).max().unwrap_or(0);
        let zst_len = match std::fs::metadata(&zst) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(io(&zst)(e)),
        };
        if zst_len < end {
            return Err(ArchiveError::Corrupt {
                path: zst,
                offset: zst_len,
                reason: format!("year file ends before its last indexed frame (at {end})"),
            });
        }
        if zst_len > end {
            recovery.frame_bytes_dropped = zst_len - end;
            if repair {
                truncate(&zst, end)?;
            }
        }
        Ok(YearArchive {
            year,
            zst,
            idx,
            entries,
            end,
            recovery,
            options: WriteOptions::default(),
            rules: None,
        })
    }

    /// Every committed frame, in file order.
    pub fn entries(&self) -> &[FrameEntry] {
        &self.entries
    }

    pub fn zst_path(&self) -> &Path {
        &self.zst
    }

    pub fn idx_path(&self) -> &Path {
        &self.idx
    }

    /// Archived record count per day number.
    pub fn day_counts(&self) -> BTreeMap<i64, u64> {
        let mut out = BTreeMap::new();
        for e in &self.entries {
            if let Some(d) = e.day_number() {
                *out.entry(d).or_insert(0) += e.count;
            }
        }
        out
    }

    /// Compresses `records` (one day's, sorted by the caller) into frames at the end of the
    /// year file, fsyncs, then appends and fsyncs their index lines: the commit point.
    /// `fault` stops after a given step, for the crash tests.
    pub fn append_day(
        &mut self,
        day: i64,
        records: &[LogRecord],
        level: i32,
        fault: Option<seal::Step>,
    ) -> Result<Vec<FrameEntry>, ArchiveError> {
        self.append_day_stamped(day, records, &[], level, fault)
    }

    /// [`YearArchive::append_day`] for records from the hot store, each with the stamp of the
    /// normalizer that produced it (`stamps[i]` for `records[i]`; missing ones count as None).
    /// A record stamped by the very rules of this seal's snapshot has exactly the fields and
    /// severity those rules give its line, so it is encoded without running them again.
    pub fn append_day_stamped<T: std::borrow::Borrow<LogRecord>>(
        &mut self,
        day: i64,
        records: &[T],
        stamps: &[Option<u64>],
        level: i32,
        fault: Option<seal::Step>,
    ) -> Result<Vec<FrameEntry>, ArchiveError> {
        let mut enc = self.encoder(day)?;
        for (i, r) in records.iter().enumerate() {
            enc.push(r.borrow().into(), stamps.get(i).copied().flatten())?;
        }
        self.append_encoded(enc, level, fault)
    }

    /// Starts encoding `day`'s records for [`YearArchive::append_encoded`]. The rule snapshot
    /// (of [`YearArchive::rules`]) is made durable here, before any frame can name it.
    pub fn encoder(&self, day: i64) -> Result<DayEncoder, ArchiveError> {
        // lines are encoded with the rules compiled from the snapshot, exactly what a reader
        // gets (and not with the live normalizer, whose hit counters report ingestion),
        // compiled only when a record needs them: one the same rules made (its stamp is the
        // snapshot's) is encoded without
        let dir = self.zst.parent().unwrap_or(Path::new(".")).to_path_buf();
        let rules = match &self.rules {
            Some(n) => {
                let snap = rules::Snapshot::of(n);
                snap.persist(&dir)?.then(|| SealRules {
                    stamp: crate::normalize::Normalizer::stamp_of(&snap.bytes),
                    id: snap.id,
                    compiled: None,
                })
            }
            None => None,
        };
        let ctx = record::Context {
            day,
            recv_unit_ns: self.options.recv_unit_ns.max(1),
        };
        Ok(DayEncoder::new(ctx, rules, dir))
    }

    /// Frames the lines of `enc`, compresses them at `level` and appends them, then their
    /// index lines: the commit point (see [`YearArchive::append_day`]).
    pub fn append_encoded(
        &mut self,
        enc: DayEncoder,
        level: i32,
        fault: Option<seal::Step>,
    ) -> Result<Vec<FrameEntry>, ArchiveError> {
        let o = self.options;
        let day = enc.ctx.day;
        let recs = &enc.recs;
        // frames are time slices of the day (ties keep the order records came in)
        let mut by_time: Vec<(i64, u32)> = recs
            .iter()
            .enumerate()
            .map(|(i, e)| (e.ts, i as u32))
            .collect();
        by_time.sort_unstable();
        let by_time: Vec<u32> = by_time.into_iter().map(|(_, i)| i).collect();
        // names ranked by their lowercased spelling over the whole day: within any frame
        // this is the order of that frame's own names
        let lower: Vec<String> = enc.names.iter().map(|n| n.to_lowercase()).collect();
        let mut sorted = lower.clone();
        sorted.sort_unstable();
        sorted.dedup();
        let rank: Vec<u32> = lower
            .iter()
            .map(|l| sorted.binary_search(l).unwrap_or(0) as u32)
            .collect();
        let mut frames: Vec<(Vec<u8>, FrameEntry)> = Vec::new();
        let mut compressor = FrameCompressor::new(level, o).map_err(io(&self.zst))?;
        let mut start = 0;
        let mut raw = Vec::new();
        let mut keys = Vec::new();
        while start < by_time.len() {
            let mut end = start;
            let mut bytes = 0usize;
            while end < by_time.len()
                && end - start < o.frame_max_records.max(1)
                && bytes < o.frame_max_bytes
            {
                bytes += recs[by_time[end] as usize].raw_len as usize + 16;
                end += 1;
            }
            let chunk = &by_time[start..end];
            // ... whose lines are grouped by app, then ordered by message (then host and
            // time), so the same message from many hosts and hours sits in one run, where
            // the compressor finds each repeat right behind the previous one. Messages are
            // ordered by their first 32 bytes, then by a hash of the whole: equal messages
            // end up together and similar ones close by, without comparing long strings
            keys.clear();
            keys.extend(chunk.iter().enumerate().map(|(j, &i)| {
                let e = &recs[i as usize];
                let r = |id: u32| rank.get(id as usize).copied().unwrap_or(0);
                (r(e.app), e.m0, e.m1, e.m_hash, r(e.host), e.ts, j as u32)
            }));
            keys.sort_unstable();
            raw.clear();
            for k in &keys {
                raw.extend_from_slice(enc.line(chunk[k.6 as usize] as usize));
            }
            let compressed = compressor.frame(&raw).map_err(io(&self.zst))?;
            // the frame's distinct names, lowercased and sorted: the ranks it holds
            let names_of = |pick: fn(&encoder::Enc) -> u32| -> Vec<String> {
                let mut held = vec![false; sorted.len()];
                for &i in chunk {
                    let r = rank.get(pick(&recs[i as usize]) as usize).copied();
                    if let Some(h) = r.and_then(|r| held.get_mut(r as usize)) {
                        *h = true;
                    }
                }
                sorted
                    .iter()
                    .zip(held)
                    .filter(|(_, h)| *h)
                    .map(|(n, _)| n.clone())
                    .collect()
            };
            let (mut hosts, mut apps) = (names_of(|e| e.host), names_of(|e| e.app));
            let overflow = hosts.len() > MAX_LISTED || apps.len() > MAX_LISTED;
            if overflow {
                hosts.clear();
                apps.clear();
            }
            let ts = || chunk.iter().map(|&i| recs[i as usize].ts);
            let entry = FrameEntry {
                offset: 0,
                len: compressed.len() as u64,
                crc32: crc32fast::hash(&compressed),
                day: format_day(day),
                part: frames.len() as u32,
                parts: 0,
                min_ts_ns: ts().min().unwrap_or(0),
                max_ts_ns: ts().max().unwrap_or(0),
                count: chunk.len() as u64,
                raw_len: raw.len() as u64,
                hosts,
                apps,
                overflow,
                format: if enc.rules.is_some() { FORMAT } else { 2 },
                recv_unit_ns: enc.ctx.recv_unit_ns,
                rules: enc.rules.as_ref().map(|r| r.id.clone()),
            };
            frames.push((compressed, entry));
            start = end;
        }
        let parts = frames.len() as u32;
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.zst)
            .map_err(io(&self.zst))?;
        let mut offset = self.end;
        let mut index = Vec::new();
        for (bytes, entry) in &mut frames {
            entry.offset = offset;
            entry.parts = parts;
            file.write_all(bytes).map_err(io(&self.zst))?;
            offset += entry.len;
            index.extend_from_slice(&entry.to_line());
        }
        file.sync_all().map_err(io(&self.zst))?;
        if fault == Some(seal::Step::FramesWritten) {
            return Err(ArchiveError::Injected(seal::Step::FramesWritten));
        }
        let mut idx = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.idx)
            .map_err(io(&self.idx))?;
        if fault == Some(seal::Step::IndexTorn) {
            // half the day's index lines, the last one cut in the middle
            let _ = idx.write_all(&index[..index.len() / 2]);
            let _ = idx.sync_all();
            return Err(ArchiveError::Injected(seal::Step::IndexTorn));
        }
        idx.write_all(&index).map_err(io(&self.idx))?;
        idx.sync_all().map_err(io(&self.idx))?;
        sync_dir(self.zst.parent());
        let new: Vec<FrameEntry> = frames.into_iter().map(|(_, e)| e).collect();
        self.entries.extend(new.iter().cloned());
        self.end = offset;
        Ok(new)
    }

    /// Reads one frame's compressed bytes and checks its CRC.
    pub fn read_compressed(&self, e: &FrameEntry) -> Result<Vec<u8>, ArchiveError> {
        let mut f = File::open(&self.zst).map_err(io(&self.zst))?;
        f.seek(SeekFrom::Start(e.offset)).map_err(io(&self.zst))?;
        let len = usize::try_from(e.len).map_err(|_| self.corrupt(e, "length overflows".into()))?;
        let mut buf = vec![0u8; len];
        f.read_exact(&mut buf).map_err(io(&self.zst))?;
        if crc32fast::hash(&buf) != e.crc32 {
            return Err(self.corrupt(e, "crc32 mismatch".into()));
        }
        Ok(buf)
    }

    /// Decompresses one frame into its JSON lines (checked against the index's length).
    pub fn read_raw(&self, e: &FrameEntry) -> Result<Vec<u8>, ArchiveError> {
        let mut out = Vec::new();
        self.read_raw_into(e, &mut FrameReader::new()?, &mut out)?;
        Ok(out)
    }

    /// [`YearArchive::read_raw`] into `out` (cleared first) with `reader`'s decoder: a caller
    /// reading many frames (a seal verifying its own) reuses both, so a frame's worth of
    /// memory is allocated (and its pages cleared by the kernel) once, not per frame.
    pub fn read_raw_into(
        &self,
        e: &FrameEntry,
        reader: &mut FrameReader,
        out: &mut Vec<u8>,
    ) -> Result<(), ArchiveError> {
        let compressed = self.read_compressed(e)?;
        // one pass into a buffer of the size the index gives (bounded: the index is read
        // from disk); zstd checks the frame's content checksum on the way
        let len = usize::try_from(e.raw_len)
            .ok()
            .filter(|&n| n <= MAX_FRAME_RAW)
            .ok_or_else(|| self.corrupt(e, format!("index says {} bytes", e.raw_len)))?;
        out.clear();
        out.reserve(len);
        reader
            .0
            .decompress_to_buffer(&compressed[..], out)
            .map_err(|err| self.corrupt(e, err.to_string()))?;
        if out.len() as u64 != e.raw_len {
            return Err(self.corrupt(e, format!("{} bytes, index says {}", out.len(), e.raw_len)));
        }
        Ok(())
    }

    /// Decodes one frame into records in time order, checking the count against the index.
    pub fn read_frame(&self, e: &FrameEntry) -> Result<Vec<LogRecord>, ArchiveError> {
        let rules = self.frame_rules(e)?;
        let raw = self.read_raw(e)?;
        let mut out = Vec::new();
        let ctx = e.context();
        for line in raw.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
            let r = match ctx {
                None => record::decode(line),
                Some(ctx) => record::decode_with(line, ctx, rules.as_deref()),
            };
            out.push(r.map_err(|err| self.corrupt(e, err.to_string()))?);
        }
        if out.len() as u64 != e.count {
            return Err(self.corrupt(e, format!("{} records, index says {}", out.len(), e.count)));
        }
        // format 2 groups lines by app and host; callers get them back in time order
        out.sort_by_key(|r| r.timestamp_ns);
        Ok(out)
    }

    /// The rules a frame's lines are completed with: its snapshot's for format 3, none before.
    pub fn frame_rules(&self, e: &FrameEntry) -> Result<Option<Arc<Normalizer>>, ArchiveError> {
        if e.format > FORMAT {
            return Err(self.corrupt(e, format!("unknown format {}", e.format)));
        }
        if e.format < 3 {
            return Ok(None);
        }
        let Some(id) = &e.rules else {
            return Err(self.corrupt(e, "format 3 frame names no rule snapshot".into()));
        };
        let dir = self.zst.parent().unwrap_or(Path::new("."));
        rules::load(dir, id)
            .map(Some)
            .map_err(|err| self.corrupt(e, err.to_string()))
    }

    /// Reads back every frame (crc, decompression, line count): what `archive verify` runs.
    pub fn verify(&self) -> Result<u64, ArchiveError> {
        self.verify_with(&mut progress::ignore)
    }

    /// [`Self::verify`], reporting progress after each frame.
    pub fn verify_with(&self, on: progress::OnProgress) -> Result<u64, ArchiveError> {
        let mut p = progress::Progress {
            frames_total: self.entries.len() as u64,
            bytes_total: self.entries.iter().map(|e| e.len).sum(),
            ..progress::Progress::default()
        };
        let mut n = 0;
        for e in &self.entries {
            n += self.read_frame(e)?.len() as u64;
            p.frames_done += 1;
            p.bytes_done += e.len;
            on(p);
        }
        Ok(n)
    }

    fn corrupt(&self, e: &FrameEntry, reason: String) -> ArchiveError {
        ArchiveError::Corrupt {
            path: self.zst.clone(),
            offset: e.offset,
            reason,
        }
    }
}

/// A zstd decoder for frames, kept across frames by a caller that reads many.
pub struct FrameReader(zstd::bulk::Decompressor<'static>);

impl FrameReader {
    pub fn new() -> Result<FrameReader, ArchiveError> {
        let mut d = zstd::bulk::Decompressor::new().map_err(ArchiveError::Decoder)?;
        d.set_parameter(zstd::zstd_safe::DParameter::WindowLogMax(WINDOW_LOG_MAX))
            .map_err(ArchiveError::Decoder)?;
        Ok(FrameReader(d))
    }
}

/// The rule snapshot a seal writes its frames with: named and stamped at once, compiled (tens
/// of milliseconds of regex building) only for a record its rules did not make.
struct SealRules {
    id: String,
    /// [`Normalizer::stamp`] of the snapshot's rules.
    stamp: u64,
    compiled: Option<Arc<Normalizer>>,
}

impl SealRules {
    fn compiled(&mut self, dir: &Path) -> Result<Arc<Normalizer>, ArchiveError> {
        if let Some(n) = &self.compiled {
            return Ok(n.clone());
        }
        let n = rules::load(dir, &self.id).map_err(|err| ArchiveError::Corrupt {
            path: rules::path_of(dir, &self.id),
            offset: 0,
            reason: err.to_string(),
        })?;
        self.compiled = Some(n.clone());
        Ok(n)
    }
}

/// Compresses the frames of one seal with one zstd context, so its tables are allocated
/// (and their pages faulted in) once per seal rather than once per frame.
struct FrameCompressor(zstd::bulk::Compressor<'static>);

impl FrameCompressor {
    /// At the shipped level the match finder is tuned to how frames are laid out: lines
    /// ordered by message, so most repeats are of a line just before. A 16 KiB window (the
    /// default [`WriteOptions::window_log`] of 14) reaches them, and at that size zstd's
    /// lazy2 search uses hash chains rather than its row match finder; with one candidate
    /// per position (`searchLog` 1) and 6-byte minimum matches it finds the same repeats as
    /// level 8's defaults with about half the work. Measured on the 600 000-line replay day
    /// (`cargo bench --bench archive -- zgrid`, BENCHMARKS.md "Log archive"): 0.22 s of CPU
    /// against 0.50 s for plain level 8 with a 16 MiB window, and 1 % smaller; on the 6000
    /// lines that never repeat 1.07x of `zstd -19 --long=27`. Other levels (tests, the grid)
    /// are zstd's own.
    fn new(level: i32, o: WriteOptions) -> std::io::Result<FrameCompressor> {
        use zstd::zstd_safe::{CParameter, Strategy};
        let mut c = zstd::bulk::Compressor::new(level)?;
        c.include_contentsize(true)?;
        c.include_checksum(true)?;
        c.set_parameter(CParameter::WindowLog(o.window_log.min(WINDOW_LOG_MAX)))?;
        if o.long {
            c.set_parameter(CParameter::EnableLongDistanceMatching(true))?;
        }
        if level == DEFAULT_LEVEL {
            c.set_parameter(CParameter::Strategy(Strategy::ZSTD_lazy2))?;
            c.set_parameter(CParameter::SearchLog(1))?;
            c.set_parameter(CParameter::MinMatch(6))?;
            c.set_parameter(CParameter::HashLog(14))?;
            c.set_parameter(CParameter::ChainLog(16))?;
            c.set_parameter(CParameter::TargetLength(16))?;
        }
        Ok(FrameCompressor(c))
    }

    /// One complete frame (content size and checksum included) of `raw`.
    fn frame(&mut self, raw: &[u8]) -> std::io::Result<Vec<u8>> {
        self.0.compress(raw)
    }
}

fn truncate(path: &Path, len: u64) -> Result<(), ArchiveError> {
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io(path))?;
    f.set_len(len).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

fn sync_dir(dir: Option<&Path>) {
    if let Some(d) = dir.and_then(|d| File::open(d).ok()) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod override_tests;
#[cfg(test)]
mod tests;
