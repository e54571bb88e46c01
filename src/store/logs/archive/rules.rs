//! Rule snapshots: `<archive>/rules/<id>.json`, the normalizer's sources (pattern library and
//! rule files) a format-3 frame was sealed with, named by the XXH64 of their bytes. A frame
//! omits the fields and severity that re-applying these rules gives back, so a reader needs
//! the exact rules of the seal, not the ones in force when it reads (`docs/format/archive.md`).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use super::{ArchiveError, io, sync_dir};
use crate::normalize::Normalizer;
use crate::normalize::rules::Sources;

/// One rule set as written to disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// 16 lowercase hex digits: XXH64 (seed 0) of `bytes`.
    pub id: String,
    /// Compact JSON of [`Sources`]: `{"library":"…","files":[["name","text"],…]}`.
    pub bytes: Vec<u8>,
}

impl Snapshot {
    /// The snapshot of the rules `n` was built from.
    pub fn of(n: &Normalizer) -> Snapshot {
        let bytes = serde_json::to_vec(n.sources()).unwrap_or_default();
        Snapshot {
            id: format!("{:016x}", xxh64(&bytes)),
            bytes,
        }
    }

    /// Writes the snapshot under `<archive>/rules/` unless it is there already, durably (file
    /// and directories fsynced) before any frame that names it. False when a different file
    /// with a valid copy of another rule set holds the name (a hash collision): the caller
    /// then seals without a snapshot.
    pub fn persist(&self, archive_dir: &Path) -> Result<bool, ArchiveError> {
        let dir = archive_dir.join("rules");
        let path = path_of(archive_dir, &self.id);
        match std::fs::read(&path) {
            Ok(old) if old == self.bytes => return Ok(true),
            Ok(old) if format!("{:016x}", xxh64(&old)) == self.id => return Ok(false),
            // absent, or torn by a crash during an earlier write: (re)write it
            _ => {}
        }
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let tmp = dir.join(format!("{}.json.tmp", self.id));
        let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(&self.bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        sync_dir(Some(&dir));
        sync_dir(Some(archive_dir));
        Ok(true)
    }
}

/// `<archive>/rules/<id>.json`.
pub fn path_of(archive_dir: &Path, id: &str) -> PathBuf {
    archive_dir.join("rules").join(format!("{id}.json"))
}

/// Why a snapshot cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("rule snapshot id {0:?} is not 16 lowercase hex digits")]
    BadId(String),
    #[error("cannot read rule snapshot {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("rule snapshot {0} does not match its id")]
    Checksum(PathBuf),
    #[error("rule snapshot {path} is not valid: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

/// The rules of snapshot `id`, compiled once per process (snapshots never change: a name is
/// its content's hash, checked on load).
pub fn load(archive_dir: &Path, id: &str) -> Result<Arc<Normalizer>, SnapshotError> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Normalizer>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if id.len() != 16
        || !id
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    {
        return Err(SnapshotError::BadId(id.to_string()));
    }
    let path = path_of(archive_dir, id);
    // compiled once; the file must still be there (a copy of the archive without its
    // snapshots must fail here as it would in a fresh process)
    if let Some(n) = cache.lock().ok().and_then(|c| c.get(id).cloned())
        && path.is_file()
    {
        return Ok(n);
    }
    let bytes = std::fs::read(&path).map_err(|source| SnapshotError::Io {
        path: path.clone(),
        source,
    })?;
    if format!("{:016x}", xxh64(&bytes)) != id {
        return Err(SnapshotError::Checksum(path));
    }
    let sources: Sources = serde_json::from_slice(&bytes).map_err(|e| SnapshotError::Invalid {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    // rules that failed to compile at sealing time fail the same way now and were not applied
    // then either: the errors are expected
    let (n, _) = Normalizer::build(sources);
    let n = Arc::new(n);
    if let Ok(mut c) = cache.lock() {
        c.insert(id.to_string(), n.clone());
    }
    Ok(n)
}

const P1: u64 = 0x9E37_79B1_85EB_CA87;
const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const P3: u64 = 0x1656_67B1_9E37_79F9;
const P4: u64 = 0x85EB_CA77_C2B2_AE63;
const P5: u64 = 0x27D4_EB2F_1656_67C5;

/// XXH64 with seed 0 (the hash zstd uses for its frame checksums), written out here rather
/// than pulling in a crate for fifty lines.
pub fn xxh64(data: &[u8]) -> u64 {
    let u64_at = |b: &[u8]| u64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8]));
    let u32_at = |b: &[u8]| u64::from(u32::from_le_bytes(b[..4].try_into().unwrap_or([0; 4])));
    let round = |acc: u64, lane: u64| {
        acc.wrapping_add(lane.wrapping_mul(P2))
            .rotate_left(31)
            .wrapping_mul(P1)
    };
    let merge = |acc: u64, v: u64| (acc ^ round(0, v)).wrapping_mul(P1).wrapping_add(P4);
    let mut rest = data;
    let mut h = if data.len() >= 32 {
        let mut v = [P1.wrapping_add(P2), P2, 0, 0u64.wrapping_sub(P1)];
        while rest.len() >= 32 {
            for (i, acc) in v.iter_mut().enumerate() {
                *acc = round(*acc, u64_at(&rest[i * 8..]));
            }
            rest = &rest[32..];
        }
        let mut h = v[0]
            .rotate_left(1)
            .wrapping_add(v[1].rotate_left(7))
            .wrapping_add(v[2].rotate_left(12))
            .wrapping_add(v[3].rotate_left(18));
        for acc in v {
            h = merge(h, acc);
        }
        h
    } else {
        P5
    };
    h = h.wrapping_add(data.len() as u64);
    while rest.len() >= 8 {
        h = (h ^ round(0, u64_at(rest)))
            .rotate_left(27)
            .wrapping_mul(P1)
            .wrapping_add(P4);
        rest = &rest[8..];
    }
    if rest.len() >= 4 {
        h = (h ^ u32_at(rest).wrapping_mul(P1))
            .rotate_left(23)
            .wrapping_mul(P2)
            .wrapping_add(P3);
        rest = &rest[4..];
    }
    for &b in rest {
        h = (h ^ u64::from(b).wrapping_mul(P5))
            .rotate_left(11)
            .wrapping_mul(P1);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(P2);
    h ^= h >> 29;
    h = h.wrapping_mul(P3);
    h ^ (h >> 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xxh64_matches_the_reference_vectors() {
        assert_eq!(xxh64(b""), 0xEF46_DB37_51D8_E999);
        assert_eq!(xxh64(b"a"), 0xD24E_C4F1_A98C_6E5B);
        assert_eq!(xxh64(b"abc"), 0x44BC_2CF5_AD77_0999);
        assert_eq!(
            xxh64(b"Nobody inspects the spammish repetition"),
            0xFBCE_A83C_8A37_8BF1
        );
    }

    #[test]
    fn a_snapshot_is_written_once_and_loads_as_the_same_rules() {
        let dir = tempfile::tempdir().unwrap();
        let (n, _) = Normalizer::with_errors(None);
        let s = Snapshot::of(&n);
        assert!(s.persist(dir.path()).unwrap());
        assert!(s.persist(dir.path()).unwrap());
        let back = load(dir.path(), &s.id).unwrap();
        assert_eq!(back.sources(), n.sources());
        assert_eq!(back.rules().rules().len(), n.rules().rules().len());
        // records the live rules stamped are trusted by a seal with the snapshot's
        assert_eq!(back.stamp(), n.stamp());
        let mut other = n.sources().clone();
        other.files.push(("extra.toml".into(), String::new()));
        assert_ne!(Normalizer::build(other).0.stamp(), n.stamp());
        // a torn copy is rewritten
        std::fs::write(path_of(dir.path(), &s.id), b"{\"libr").unwrap();
        assert!(s.persist(dir.path()).unwrap());
        assert_eq!(std::fs::read(path_of(dir.path(), &s.id)).unwrap(), s.bytes);
    }

    #[test]
    fn a_snapshot_that_does_not_match_its_name_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let id = "0123456789abcdef";
        std::fs::create_dir_all(dir.path().join("rules")).unwrap();
        std::fs::write(path_of(dir.path(), id), b"{}").unwrap();
        assert!(matches!(
            load(dir.path(), id),
            Err(SnapshotError::Checksum(_))
        ));
        assert!(matches!(
            load(dir.path(), "../x"),
            Err(SnapshotError::BadId(_))
        ));
        assert!(matches!(
            load(dir.path(), "fedcba9876543210"),
            Err(SnapshotError::Io { .. })
        ));
    }
}
