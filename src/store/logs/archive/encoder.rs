//! Encoding a day's records into archive lines as they are read, ahead of framing: a seal
//! streams a partition's doc store through [`DayEncoder::push`] and keeps only the encoded
//! lines and what framing needs (time, names, the message key), not the records. A day's
//! records are several times the size of its lines, and every byte held is a page the kernel
//! must hand out and clear; a record encoded right after it is read is still in cache.

use std::path::PathBuf;

use super::record::{self, RecordRef};
use super::{ArchiveError, SealRules, rules};

/// What framing needs of one encoded record.
#[derive(Debug, Clone, Copy)]
pub(super) struct Enc {
    pub ts: i64,
    /// End of the record's line in [`DayEncoder::lines`] (it starts where the previous
    /// record's ends).
    pub end: u64,
    /// Length of the original line: frames are cut by it.
    pub raw_len: u32,
    /// Name ids (into [`DayEncoder::names`]).
    pub app: u32,
    pub host: u32,
    /// The message's first 32 bytes (big-endian, zero padded) and, when longer, its XXH64:
    /// lines are ordered by them within a frame.
    pub m0: u128,
    pub m1: u128,
    pub m_hash: u64,
}

/// One day's records encoded as archive lines (in push order), with their framing keys.
pub struct DayEncoder {
    pub(super) ctx: record::Context,
    pub(super) rules: Option<SealRules>,
    pub(super) dir: PathBuf,
    pub(super) lines: Vec<u8>,
    pub(super) recs: Vec<Enc>,
    /// Hosts and apps as spelled, by id.
    pub(super) names: Vec<String>,
    ids: std::collections::HashMap<String, u32, foldhash::fast::RandomState>,
}

impl DayEncoder {
    pub(super) fn new(ctx: record::Context, rules: Option<SealRules>, dir: PathBuf) -> Self {
        DayEncoder {
            ctx,
            rules,
            dir,
            lines: Vec::new(),
            recs: Vec::new(),
            names: Vec::new(),
            ids: std::collections::HashMap::default(),
        }
    }

    /// The stamp a record must carry to be encoded without its fields (its extracted fields
    /// and severity are what the frames' rule snapshot gives its line); None when the frames
    /// have no rule snapshot, and every record needs its fields.
    pub fn trusted_stamp(&self) -> Option<u64> {
        self.rules.as_ref().map(|r| r.stamp)
    }

    /// Makes room for `records` more records, so a day's lines are not copied as they grow
    /// (each copy lands on fresh pages, which the kernel must clear). Room for lines is
    /// reserved generously: pages never written are never touched.
    pub fn reserve(&mut self, records: usize) {
        self.recs.reserve(records);
        self.lines.reserve(records.saturating_mul(256));
    }

    /// Number of records pushed.
    pub fn len(&self) -> usize {
        self.recs.len()
    }

    /// Whether nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.recs.is_empty()
    }

    /// Encodes one record of the day, made by the normalizer stamped `stamp`.
    /// [`ArchiveError::FieldsNotRead`] when `r` lacks its fields and `stamp` is not
    /// [`DayEncoder::trusted_stamp`]; the record is then not pushed.
    pub fn push(&mut self, r: RecordRef<'_>, stamp: Option<u64>) -> Result<(), ArchiveError> {
        let trusted = stamp.is_some() && stamp == self.trusted_stamp();
        let n = match &mut self.rules {
            Some(sr) if !trusted => Some(sr.compiled(&self.dir)?),
            _ => None,
        };
        let before = self.lines.len();
        if record::encode_with(r, self.ctx, n.as_deref(), trusted, &mut self.lines).is_err() {
            self.lines.truncate(before);
            return Err(ArchiveError::FieldsNotRead);
        }
        let prefix = |m: &[u8], at: usize| {
            let mut b = [0u8; 16];
            let part = m.get(at..).unwrap_or_default();
            let n = part.len().min(16);
            b[..n].copy_from_slice(&part[..n]);
            u128::from_be_bytes(b)
        };
        let m = r.message.as_bytes();
        let enc = Enc {
            ts: r.timestamp_ns,
            end: self.lines.len() as u64,
            raw_len: u32::try_from(r.raw.len()).unwrap_or(u32::MAX),
            app: self.id(r.app),
            host: self.id(r.host),
            m0: prefix(m, 0),
            m1: prefix(m, 16),
            m_hash: if m.len() > 32 { rules::xxh64(m) } else { 0 },
        };
        self.recs.push(enc);
        Ok(())
    }

    fn id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.to_string());
        self.ids.insert(name.to_string(), id);
        id
    }

    /// The line of record `i` (push order).
    pub(super) fn line(&self, i: usize) -> &[u8] {
        let from = if i == 0 { 0 } else { self.recs[i - 1].end };
        self.lines
            .get(from as usize..self.recs[i].end as usize)
            .unwrap_or_default()
    }
}
