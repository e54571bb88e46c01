//! The write-ahead log: every accepted point (and every series creation) is appended here
//! before it reaches the in-memory head, so a crash loses at most what was written since the
//! last fsync. Segments are `wal/<seq>.wal`; a head flush writes its block, then starts a new
//! segment and deletes the older ones, since everything in them is in blocks.
//!
//! Records are `len u32 | crc32 u32 | payload` (little-endian, crc over the payload). Replay
//! stops at the first record that is short or fails its checksum, the torn tail a crash
//! mid-write leaves, and cuts it off so new records never follow garbage.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::MetricsError;

const SERIES: u8 = 1;
/// Points at the finest archive level.
const POINTS: u8 = 2;
/// Points written straight to a coarser level (older than the finest retention).
const LEVEL_POINTS: u8 = 3;
/// Larger lengths are corruption, not records (a batch is split well below this).
const MAX_RECORD: usize = 64 << 20;
/// Points per record, so a huge write batch never makes a record near `MAX_RECORD`.
const POINTS_PER_RECORD: usize = 1 << 16;

/// A replayed record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Series {
        id: u32,
        name: String,
    },
    /// `(series id, slot timestamp, value)` at an archive level.
    Points {
        level: u8,
        points: Vec<(u32, i64, f64)>,
    },
}

pub struct Wal {
    dir: PathBuf,
    seq: u64,
    path: PathBuf,
    file: File,
    /// Written since the last fsync.
    dirty: bool,
    /// Bytes in the active segment, so overwrite-heavy traffic (a small head, a growing log)
    /// still triggers a head cut.
    len: u64,
}

fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:010}.wal"))
}

fn frame(payload: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// Appends a series-creation record to `out`.
pub fn encode_series(id: u32, name: &str, out: &mut Vec<u8>) {
    let mut p = Vec::with_capacity(5 + name.len());
    p.push(SERIES);
    p.extend_from_slice(&id.to_le_bytes());
    p.extend_from_slice(name.as_bytes());
    frame(&p, out);
}

/// Appends point records (`count u32`, then 20 bytes a point; level 0 as type 2, others as
/// type 3 with a level byte) to `out`.
pub fn encode_points(level: u8, points: &[(u32, i64, f64)], out: &mut Vec<u8>) {
    for batch in points.chunks(POINTS_PER_RECORD) {
        let mut p = Vec::with_capacity(6 + batch.len() * 20);
        if level == 0 {
            p.push(POINTS);
        } else {
            p.push(LEVEL_POINTS);
            p.push(level);
        }
        p.extend_from_slice(&(batch.len() as u32).to_le_bytes());
        for &(id, t, v) in batch {
            p.extend_from_slice(&id.to_le_bytes());
            p.extend_from_slice(&t.to_le_bytes());
            p.extend_from_slice(&v.to_bits().to_le_bytes());
        }
        frame(&p, out);
    }
}

fn decode(payload: &[u8]) -> Option<Record> {
    let (&kind, body) = payload.split_first()?;
    let (level, body) = match kind {
        LEVEL_POINTS => {
            let (&level, rest) = body.split_first()?;
            (level, rest)
        }
        _ => (0, body),
    };
    let u32_at = |at: usize| Some(u32::from_le_bytes(body.get(at..at + 4)?.try_into().ok()?));
    let u64_at = |at: usize| Some(u64::from_le_bytes(body.get(at..at + 8)?.try_into().ok()?));
    match kind {
        SERIES => Some(Record::Series {
            id: u32_at(0)?,
            name: String::from_utf8(body.get(4..)?.to_vec()).ok()?,
        }),
        POINTS | LEVEL_POINTS => {
            let n = u32_at(0)? as usize;
            if body.len() != 4 + n * 20 {
                return None;
            }
            let pts = (0..n)
                .map(|i| {
                    let at = 4 + i * 20;
                    Some((
                        u32_at(at)?,
                        u64_at(at + 4)? as i64,
                        f64::from_bits(u64_at(at + 12)?),
                    ))
                })
                .collect::<Option<Vec<_>>>()?;
            Some(Record::Points { level, points: pts })
        }
        _ => None,
    }
}

/// Parses records from `bytes`; returns them and the length of the valid prefix.
fn replay_segment(bytes: &[u8]) -> (Vec<Record>, usize) {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(head) = bytes.get(pos..pos + 8) {
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        if len > MAX_RECORD {
            break;
        }
        let Some(payload) = bytes.get(pos + 8..pos + 8 + len) else {
            break;
        };
        if crc32fast::hash(payload) != crc {
            break;
        }
        let Some(rec) = decode(payload) else {
            break;
        };
        out.push(rec);
        pos += 8 + len;
    }
    (out, pos)
}

fn sync_dir(dir: &Path) -> Result<(), MetricsError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| MetricsError::io(dir, e))
}

impl Wal {
    /// Opens `dir` (creating it), replays every segment in order and returns the records.
    /// Each segment's torn tail is cut off; appends go to the newest segment.
    pub fn open(dir: &Path) -> Result<(Wal, Vec<Record>), MetricsError> {
        std::fs::create_dir_all(dir).map_err(|e| MetricsError::io(dir, e))?;
        let mut seqs = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| MetricsError::io(dir, e))? {
            let entry = entry.map_err(|e| MetricsError::io(dir, e))?;
            let name = entry.file_name();
            if let Some(seq) = name
                .to_str()
                .and_then(|n| n.strip_suffix(".wal"))
                .and_then(|n| n.parse::<u64>().ok())
            {
                seqs.push(seq);
            }
        }
        seqs.sort_unstable();
        let mut records = Vec::new();
        for &seq in &seqs {
            let path = segment_path(dir, seq);
            let bytes = std::fs::read(&path).map_err(|e| MetricsError::io(&path, e))?;
            let (recs, valid) = replay_segment(&bytes);
            records.extend(recs);
            if valid < bytes.len() {
                tracing::warn!(path = %path.display(), at = valid, dropped = bytes.len() - valid,
                    "wal: cutting a torn or corrupt tail");
                OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .and_then(|f| {
                        f.set_len(valid as u64)?;
                        f.sync_all()
                    })
                    .map_err(|e| MetricsError::io(&path, e))?;
            }
        }
        let seq = seqs.last().copied().unwrap_or(1);
        let path = segment_path(dir, seq);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| MetricsError::io(&path, e))?;
        if seqs.is_empty() {
            sync_dir(dir)?;
        }
        let len = file
            .metadata()
            .map_err(|e| MetricsError::io(&path, e))?
            .len();
        let wal = Wal {
            dir: dir.to_path_buf(),
            seq,
            path,
            file,
            dirty: false,
            len,
        };
        Ok((wal, records))
    }

    /// Appends already framed records (see [`encode_series`], [`encode_points`]) in one write.
    pub fn append(&mut self, framed: &[u8]) -> Result<(), MetricsError> {
        if framed.is_empty() {
            return Ok(());
        }
        self.dirty = true;
        self.len += framed.len() as u64;
        self.file
            .write_all(framed)
            .map_err(|e| MetricsError::io(&self.path, e))
    }

    /// Bytes in the active segment.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// fsyncs now, even when not dirty: the sync thread may hold a handle whose fsync has not
    /// finished, and a caller of `sync` must not return before the data is durable.
    pub fn sync(&mut self) -> Result<(), MetricsError> {
        self.file
            .sync_data()
            .map_err(|e| MetricsError::io(&self.path, e))?;
        self.dirty = false;
        Ok(())
    }

    /// A handle to fsync outside the store's lock, if anything was written since the last
    /// sync; the writes it covers are those made before this call.
    pub fn take_sync_handle(&mut self) -> Result<Option<(File, PathBuf)>, MetricsError> {
        if !self.dirty {
            return Ok(None);
        }
        let f = self
            .file
            .try_clone()
            .map_err(|e| MetricsError::io(&self.path, e))?;
        self.dirty = false;
        Ok(Some((f, self.path.clone())))
    }

    /// Starts a new segment and deletes the older ones: called once everything they hold
    /// is durable in a block.
    pub fn rotate(&mut self) -> Result<(), MetricsError> {
        let next = self.seq + 1;
        let path = segment_path(&self.dir, next);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| MetricsError::io(&path, e))?;
        sync_dir(&self.dir)?;
        let old = self.seq;
        self.file = file;
        self.path = path;
        self.seq = next;
        self.dirty = false;
        self.len = 0;
        for seq in (1..=old).rev() {
            let p = segment_path(&self.dir, seq);
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                Err(e) => return Err(MetricsError::io(&p, e)),
            }
        }
        sync_dir(&self.dir)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn records_replay_and_a_torn_tail_is_cut() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut wal, recs) = Wal::open(tmp.path()).unwrap();
        assert!(recs.is_empty());
        let mut buf = Vec::new();
        encode_series(0, "a.b", &mut buf);
        encode_points(0, &[(0, 10, 1.5), (0, 20, f64::NAN)], &mut buf);
        wal.append(&buf).unwrap();
        buf.clear();
        encode_points(0, &[(0, 30, 3.0)], &mut buf);
        wal.append(&buf).unwrap();
        wal.sync().unwrap();
        let path = wal.path().to_path_buf();
        drop(wal);
        let len = std::fs::metadata(&path).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 3)
            .unwrap();
        let (mut wal, recs) = Wal::open(tmp.path()).unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(
            recs[0],
            Record::Series {
                id: 0,
                name: "a.b".into()
            }
        );
        let Record::Points {
            level: 0,
            points: p,
        } = &recs[1]
        else {
            panic!()
        };
        assert_eq!(p[0], (0, 10, 1.5));
        assert!(p[1].2.is_nan());
        // appends after the cut replay
        buf.clear();
        encode_points(0, &[(0, 40, 4.0)], &mut buf);
        encode_points(2, &[(0, 600, 6.0)], &mut buf);
        wal.append(&buf).unwrap();
        drop(wal);
        let (mut wal, recs) = Wal::open(tmp.path()).unwrap();
        assert_eq!(recs.len(), 4);
        assert_eq!(wal.len(), std::fs::metadata(wal.path()).unwrap().len());
        assert_eq!(
            recs[3],
            Record::Points {
                level: 2,
                points: vec![(0, 600, 6.0)]
            }
        );
        wal.rotate().unwrap();
        drop(wal);
        let (wal, recs) = Wal::open(tmp.path()).unwrap();
        assert!(recs.is_empty());
        assert!(wal.is_empty());
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
    }

    proptest! {
        #[test]
        fn any_corruption_stops_replay_at_a_record_boundary(
            n in 1usize..20, flip in any::<usize>(), bit in 0u8..8, cut in any::<usize>(),
        ) {
            let mut buf = Vec::new();
            let mut ends = Vec::new();
            for i in 0..n {
                encode_points(0, &[(i as u32, i as i64, i as f64)], &mut buf);
                ends.push(buf.len());
            }
            let mut bad = buf.clone();
            let at = flip % bad.len();
            bad[at] ^= 1 << bit;
            let (recs, valid) = replay_segment(&bad);
            prop_assert!(valid <= at);
            prop_assert_eq!(recs.len(), ends.iter().filter(|&&e| e <= valid).count());
            let cut = cut % (buf.len() + 1);
            let (recs, valid) = replay_segment(&buf[..cut]);
            prop_assert_eq!(recs.len(), ends.iter().filter(|&&e| e <= cut).count());
            prop_assert!(valid <= cut);
        }
    }
}
