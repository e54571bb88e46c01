//! Immutable blocks: what a head flush leaves on disk. A block is a directory
//! `blocks/<seq>/` with a `chunks` file (one Gorilla chunk per series and archive level) and
//! an `index` file locating them. Blocks are written under a temporary name, fsynced and
//! renamed into place, so a crash leaves either the whole block or none of it (prometheus
//! `tsdb/block.go` does the same). Later blocks (higher `seq`) override earlier ones for the
//! same slot: that is how "the last write to a slot wins" survives flushes.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use super::MetricsError;
use super::chunk;

const INDEX_MAGIC: &[u8; 8] = b"TTMIDX1\n";
const CHUNKS_MAGIC: &[u8; 8] = b"TTMCHK1\n";
/// `sid u32, level u8, min_t i64, max_t i64, offset u64, len u32`.
const ENTRY_LEN: usize = 33;

/// Bytes of decoded chunks kept by all open blocks together. Dashboards re-read the same
/// series every refresh, and a block never changes, so a decoded chunk stays valid for the
/// life of its `Block` (compaction and retention replace the `Block`, which frees its
/// share). Once the budget is spent, further chunks are decoded on every read.
const DECODED_CACHE_BYTES: usize = 256 << 20;
/// What the decoded chunks of every open block hold now (process-wide, as the budget is).
static DECODED_BYTES: AtomicUsize = AtomicUsize::new(0);

/// A column decoded once and shared by every read of it.
pub type Decoded = Arc<DecodedColumn>;

/// A decoded column, kept in the smaller of two shapes.
pub enum DecodedColumn {
    /// Slots `first, first + step, …` without a gap, the usual shape: values only, half the
    /// memory (and memory bandwidth, what a thousand-series read is bound by).
    Regular {
        first: i64,
        step: i64,
        values: Box<[f64]>,
    },
    /// Anything else, as decoded.
    Points(Box<[(i64, f64)]>),
}

impl DecodedColumn {
    fn new(points: Vec<(i64, f64)>) -> DecodedColumn {
        if let [(a, _), (b, _), ..] = points[..] {
            let step = b.wrapping_sub(a);
            if step > 0
                && points
                    .windows(2)
                    .all(|w| w[1].0.wrapping_sub(w[0].0) == step)
            {
                return DecodedColumn::Regular {
                    first: a,
                    step,
                    values: points.into_iter().map(|(_, v)| v).collect(),
                };
            }
        }
        DecodedColumn::Points(points.into())
    }

    fn bytes(&self) -> usize {
        match self {
            DecodedColumn::Regular { values, .. } => std::mem::size_of_val(&**values),
            DecodedColumn::Points(p) => std::mem::size_of_val(&**p),
        }
    }

    /// Every `(slot, value)` with `start <= slot < end`, in order.
    pub fn range(&self, start: i64, end: i64) -> Box<dyn Iterator<Item = (i64, f64)> + '_> {
        match self {
            DecodedColumn::Regular {
                first,
                step,
                values,
            } => {
                let skip = if start > *first {
                    usize::try_from((start - first - 1) / step + 1).unwrap_or(usize::MAX)
                } else {
                    0
                };
                let (first, step) = (*first, *step);
                Box::new(
                    values
                        .iter()
                        .enumerate()
                        .skip(skip)
                        .map(move |(i, &v)| (first.wrapping_add(i as i64 * step), v))
                        .take_while(move |&(t, _)| t < end),
                )
            }
            DecodedColumn::Points(p) => {
                let from = p.partition_point(|&(t, _)| t < start);
                Box::new(p[from..].iter().copied().take_while(move |&(t, _)| t < end))
            }
        }
    }
}

/// Where one series' chunk of one archive level lives in `chunks`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Entry {
    pub min_t: i64,
    pub max_t: i64,
    offset: u64,
    len: u32,
}

pub struct Block {
    pub seq: u64,
    pub dir: PathBuf,
    /// Span of everything in the block, so reads and retention skip it without looking inside.
    pub min_t: i64,
    pub max_t: i64,
    pub entries: HashMap<(u32, u8), Entry>,
    /// Bytes of the chunks file.
    pub size: u64,
    chunks: File,
    /// Columns decoded by reads, within [`DECODED_CACHE_BYTES`].
    decoded: RwLock<HashMap<(u32, u8), Decoded>>,
    /// This block's part of [`DECODED_BYTES`], given back on drop.
    decoded_bytes: AtomicUsize,
}

impl Drop for Block {
    fn drop(&mut self) {
        DECODED_BYTES.fetch_sub(*self.decoded_bytes.get_mut(), Ordering::Relaxed);
    }
}

/// One series' points at one level, sorted by slot.
pub type Column = (u32, u8, Vec<(i64, f64)>);

fn sync_dir(dir: &Path) -> Result<(), MetricsError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| MetricsError::io(dir, e))
}

pub fn block_dir(root: &Path, seq: u64) -> PathBuf {
    root.join(format!("{seq:010}"))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), MetricsError> {
    let mut f = File::create(path).map_err(|e| MetricsError::io(path, e))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| MetricsError::io(path, e))
}

impl Block {
    /// Writes a block `seq` under `root` from columns (empty ones are skipped), replacing a
    /// block of the same `seq` (retention and compaction rewrite blocks in place to keep their
    /// order).
    pub fn write(root: &Path, seq: u64, columns: &[Column]) -> Result<Block, MetricsError> {
        let mut w = BlockWriter::new(root, seq)?;
        for (sid, level, points) in columns {
            w.add(*sid, *level, points)?;
        }
        w.finish()
    }

    pub fn open(dir: &Path, seq: u64) -> Result<Block, MetricsError> {
        let ipath = dir.join("index");
        let bytes = std::fs::read(&ipath).map_err(|e| MetricsError::io(&ipath, e))?;
        let corrupt = |reason: &str| MetricsError::Corrupt {
            path: ipath.clone(),
            reason: reason.to_string(),
        };
        if bytes.len() < 16 || &bytes[..8] != INDEX_MAGIC {
            return Err(corrupt("not a block index"));
        }
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        if crc32fast::hash(body) != u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]) {
            return Err(corrupt("checksum mismatch"));
        }
        let n = u32::from_le_bytes([body[8], body[9], body[10], body[11]]) as usize;
        if body.len() != 12 + n * ENTRY_LEN {
            return Err(corrupt("entry count does not match the length"));
        }
        let mut entries = HashMap::with_capacity(n);
        let (mut min_t, mut max_t) = (i64::MAX, i64::MIN);
        for e in body[12..].chunks_exact(ENTRY_LEN) {
            let i64_at = |at: usize| i64::from_le_bytes(e[at..at + 8].try_into().unwrap_or([0; 8]));
            let sid = u32::from_le_bytes([e[0], e[1], e[2], e[3]]);
            let entry = Entry {
                min_t: i64_at(5),
                max_t: i64_at(13),
                offset: i64_at(21) as u64,
                len: u32::from_le_bytes([e[29], e[30], e[31], e[32]]),
            };
            min_t = min_t.min(entry.min_t);
            max_t = max_t.max(entry.max_t);
            entries.insert((sid, e[4]), entry);
        }
        let cpath = dir.join("chunks");
        let chunks = File::open(&cpath).map_err(|e| MetricsError::io(&cpath, e))?;
        let size = chunks
            .metadata()
            .map_err(|e| MetricsError::io(&cpath, e))?
            .len();
        Ok(Block {
            size,
            seq,
            dir: dir.to_path_buf(),
            min_t,
            max_t,
            entries,
            chunks,
            decoded: RwLock::new(HashMap::new()),
            decoded_bytes: AtomicUsize::new(0),
        })
    }

    /// [`Block::read`] through the block's cache of decoded columns (see
    /// [`DECODED_CACHE_BYTES`]); for the query path, where the same columns come back.
    pub fn read_cached(&self, sid: u32, level: u8) -> Result<Decoded, MetricsError> {
        if let Ok(map) = self.decoded.read()
            && let Some(d) = map.get(&(sid, level))
        {
            return Ok(d.clone());
        }
        let d: Decoded = Arc::new(DecodedColumn::new(self.read(sid, level)?));
        let bytes = d.bytes() + 64;
        let reserved = DECODED_BYTES
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                (used + bytes <= DECODED_CACHE_BYTES).then_some(used + bytes)
            })
            .is_ok();
        if reserved {
            match self.decoded.write() {
                Ok(mut map) if !map.contains_key(&(sid, level)) => {
                    map.insert((sid, level), d.clone());
                    self.decoded_bytes.fetch_add(bytes, Ordering::Relaxed);
                }
                // another reader cached it first, or the lock is poisoned: give it back
                _ => {
                    DECODED_BYTES.fetch_sub(bytes, Ordering::Relaxed);
                }
            }
        }
        Ok(d)
    }

    /// The points of series `sid` at `level`, checked against their checksum.
    pub fn read(&self, sid: u32, level: u8) -> Result<Vec<(i64, f64)>, MetricsError> {
        let Some(e) = self.entries.get(&(sid, level)) else {
            return Ok(Vec::new());
        };
        let cpath = self.dir.join("chunks");
        let mut buf = vec![0u8; e.len as usize + 4];
        self.chunks
            .read_exact_at(&mut buf, e.offset)
            .map_err(|err| MetricsError::io(&cpath, err))?;
        let (enc, crc) = buf.split_at(e.len as usize);
        let corrupt = |reason: String| MetricsError::Corrupt {
            path: cpath.clone(),
            reason,
        };
        if crc32fast::hash(enc) != u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]) {
            return Err(corrupt(format!(
                "chunk of series {sid} level {level}: checksum mismatch"
            )));
        }
        chunk::decode(enc).map_err(|err| corrupt(format!("series {sid} level {level}: {err}")))
    }

    /// Every column, for tests.
    #[cfg(test)]
    pub fn columns(&self) -> Result<Vec<Column>, MetricsError> {
        let mut keys: Vec<(u32, u8)> = self.entries.keys().copied().collect();
        keys.sort_unstable();
        keys.into_iter()
            .map(|(sid, level)| Ok((sid, level, self.read(sid, level)?)))
            .collect()
    }
}

/// Streams columns into a new block directory, so compaction and retention never hold a
/// whole block in memory.
pub struct BlockWriter {
    root: PathBuf,
    seq: u64,
    tmp: PathBuf,
    chunks: std::io::BufWriter<File>,
    written: u64,
    /// Entries so far; 33 bytes each, small next to the chunks.
    index: Vec<u8>,
    count: u32,
}

impl BlockWriter {
    pub fn new(root: &Path, seq: u64) -> Result<BlockWriter, MetricsError> {
        let tmp = root.join(format!(".tmp-{seq:010}"));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).map_err(|e| MetricsError::io(&tmp, e))?;
        let cpath = tmp.join("chunks");
        let file = File::create(&cpath).map_err(|e| MetricsError::io(&cpath, e))?;
        let mut chunks = std::io::BufWriter::with_capacity(1 << 20, file);
        chunks
            .write_all(CHUNKS_MAGIC)
            .map_err(|e| MetricsError::io(&cpath, e))?;
        Ok(BlockWriter {
            root: root.to_path_buf(),
            seq,
            tmp,
            chunks,
            written: CHUNKS_MAGIC.len() as u64,
            index: Vec::new(),
            count: 0,
        })
    }

    /// Adds one series' points at one level, sorted by slot; empty columns are skipped.
    pub fn add(&mut self, sid: u32, level: u8, points: &[(i64, f64)]) -> Result<(), MetricsError> {
        let (Some(first), Some(last)) = (points.first(), points.last()) else {
            return Ok(());
        };
        let enc = chunk::encode(points);
        let index = &mut self.index;
        index.extend_from_slice(&sid.to_le_bytes());
        index.push(level);
        index.extend_from_slice(&first.0.to_le_bytes());
        index.extend_from_slice(&last.0.to_le_bytes());
        index.extend_from_slice(&self.written.to_le_bytes());
        index.extend_from_slice(&(enc.len() as u32).to_le_bytes());
        let cpath = self.tmp.join("chunks");
        self.chunks
            .write_all(&enc)
            .and_then(|()| self.chunks.write_all(&crc32fast::hash(&enc).to_le_bytes()))
            .map_err(|e| MetricsError::io(&cpath, e))?;
        self.written += enc.len() as u64 + 4;
        self.count += 1;
        Ok(())
    }

    /// fsyncs both files and renames the block into place (atomically replacing a block
    /// of the same `seq`).
    pub fn finish(self) -> Result<Block, MetricsError> {
        let BlockWriter {
            root,
            seq,
            tmp,
            chunks,
            index: entries,
            count,
            ..
        } = self;
        let cpath = tmp.join("chunks");
        let file = chunks
            .into_inner()
            .map_err(|e| MetricsError::io(&cpath, e.into_error()))?;
        file.sync_all().map_err(|e| MetricsError::io(&cpath, e))?;
        let mut index = INDEX_MAGIC.to_vec();
        index.extend_from_slice(&count.to_le_bytes());
        index.extend_from_slice(&entries);
        index.extend_from_slice(&crc32fast::hash(&index).to_le_bytes());
        write_file(&tmp.join("index"), &index)?;
        sync_dir(&tmp)?;
        let dir = block_dir(&root, seq);
        let old = root.join(format!(".old-{seq:010}"));
        if dir.exists() {
            std::fs::rename(&dir, &old).map_err(|e| MetricsError::io(&dir, e))?;
        }
        std::fs::rename(&tmp, &dir).map_err(|e| MetricsError::io(&dir, e))?;
        sync_dir(&root)?;
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(|e| MetricsError::io(&old, e))?;
        }
        Block::open(&dir, seq)
    }
}

/// Opens every block under `root` in `seq` order, finishing or undoing an interrupted
/// rewrite: a leftover `.tmp-*` is discarded, a `.old-*` without its block is put back.
pub fn open_all(root: &Path) -> Result<Vec<Block>, MetricsError> {
    std::fs::create_dir_all(root).map_err(|e| MetricsError::io(root, e))?;
    let mut names = Vec::new();
    for entry in std::fs::read_dir(root).map_err(|e| MetricsError::io(root, e))? {
        let entry = entry.map_err(|e| MetricsError::io(root, e))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    for n in &names {
        let path = root.join(n);
        if n.starts_with(".tmp-") {
            std::fs::remove_dir_all(&path).map_err(|e| MetricsError::io(&path, e))?;
        } else if let Some(seq) = n.strip_prefix(".old-") {
            let dir = root.join(seq);
            if dir.exists() {
                std::fs::remove_dir_all(&path).map_err(|e| MetricsError::io(&path, e))?;
            } else {
                std::fs::rename(&path, &dir).map_err(|e| MetricsError::io(&path, e))?;
            }
        }
    }
    let mut seqs = Vec::new();
    for entry in std::fs::read_dir(root).map_err(|e| MetricsError::io(root, e))? {
        let entry = entry.map_err(|e| MetricsError::io(root, e))?;
        if let Some(seq) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u64>().ok())
        {
            seqs.push(seq);
        }
    }
    seqs.sort_unstable();
    seqs.into_iter()
        .map(|seq| Block::open(&block_dir(root, seq), seq))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_round_trip_and_rewrite_in_place() {
        let tmp = tempfile::tempdir().unwrap();
        let cols = vec![
            (0, 0, vec![(10, 1.0), (20, 2.0)]),
            (0, 1, vec![(0, 1.5)]),
            (7, 0, vec![(30, -1.0)]),
            (8, 0, vec![]),
        ];
        let b = Block::write(tmp.path(), 3, &cols).unwrap();
        assert_eq!((b.min_t, b.max_t), (0, 30));
        assert_eq!(b.entries.len(), 3);
        assert_eq!(b.read(0, 0).unwrap(), vec![(10, 1.0), (20, 2.0)]);
        assert!(b.read(8, 0).unwrap().is_empty());
        let b = Block::write(tmp.path(), 3, &cols[2..3]).unwrap();
        assert_eq!(b.columns().unwrap(), vec![(7, 0, vec![(30, -1.0)])]);
        // an interrupted rewrite: the old block moved aside, the new one never renamed
        std::fs::rename(
            tmp.path().join("0000000003"),
            tmp.path().join(".old-0000000003"),
        )
        .unwrap();
        std::fs::create_dir(tmp.path().join(".tmp-0000000004")).unwrap();
        let all = open_all(tmp.path()).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].read(7, 0).unwrap(), vec![(30, -1.0)]);
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
    }

    #[test]
    fn cached_columns_read_as_the_decoded_points() {
        let tmp = tempfile::tempdir().unwrap();
        let regular: Vec<(i64, f64)> = (0..100).map(|i| (600 + i * 60, i as f64 * 0.5)).collect();
        let gappy = vec![(10, 1.0), (20, 2.0), (40, 4.0)];
        let b = Block::write(
            tmp.path(),
            1,
            &[(0, 1, regular.clone()), (1, 0, gappy.clone())],
        )
        .unwrap();
        let c = b.read_cached(0, 1).unwrap();
        assert!(matches!(*c, DecodedColumn::Regular { step: 60, .. }));
        let want: Vec<(i64, f64)> = regular
            .iter()
            .copied()
            .filter(|&(t, _)| (650..1200).contains(&t))
            .collect();
        assert_eq!(c.range(650, 1200).collect::<Vec<_>>(), want);
        assert_eq!(c.range(0, i64::MAX).count(), 100);
        assert_eq!(c.range(7000, 8000).count(), 0);
        // a second read is the same shared column
        assert!(Arc::ptr_eq(&c, &b.read_cached(0, 1).unwrap()));
        let g = b.read_cached(1, 0).unwrap();
        assert!(matches!(*g, DecodedColumn::Points(_)));
        assert_eq!(g.range(15, 41).collect::<Vec<_>>(), gappy[1..]);
        assert_eq!(b.read_cached(9, 0).unwrap().range(0, 100).count(), 0);
    }

    #[test]
    fn a_damaged_chunk_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let b = Block::write(tmp.path(), 1, &[(0, 0, vec![(10, 1.0), (20, 2.0)])]).unwrap();
        let path = b.dir.join("chunks");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[12] ^= 0x10;
        std::fs::write(&path, bytes).unwrap();
        let b = Block::open(&b.dir, 1).unwrap();
        assert!(matches!(b.read(0, 0), Err(MetricsError::Corrupt { .. })));
        std::fs::write(b.dir.join("index"), b"TTMIDX1\n\0\0\0\0\0\0\0\0").unwrap();
        assert!(Block::open(&b.dir, 1).is_err());
    }
}
