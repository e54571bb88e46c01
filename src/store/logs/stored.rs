//! Reading whole records straight out of a partition's doc store, for sealing. tantivy's
//! `TantivyDocument` first copies every value into its own compact form, which
//! `record_from_doc` then copies again; deserializing each stored value once into the type
//! the record keeps halves the cost of reading a day (the largest part of a seal).

use tantivy::DateTime;
use tantivy::schema::document::{
    ArrayAccess, DeserializeError, DocumentDeserialize, DocumentDeserializer, ObjectAccess,
    ValueDeserialize, ValueDeserializer, ValueVisitor,
};
use tantivy::schema::{Field, OwnedValue};
use tantivy::tokenizer::PreTokenizedString;

use super::schema::LogFields;
use crate::model::LogRecord;

/// One stored value, in the shapes the log schema stores.
enum Stored {
    Str(String),
    U64(u64),
    I64(i64),
    Date(DateTime),
    Bytes(Vec<u8>),
    Object(Vec<(String, OwnedValue)>),
    /// Any other type: read (so the reader stays in step) and ignored.
    Other,
}

struct Visitor;

impl ValueVisitor for Visitor {
    type Value = Stored;

    fn visit_null(&self) -> Result<Stored, DeserializeError> {
        Ok(Stored::Other)
    }
    fn visit_string(&self, val: String) -> Result<Stored, DeserializeError> {
        Ok(Stored::Str(val))
    }
    fn visit_u64(&self, val: u64) -> Result<Stored, DeserializeError> {
        Ok(Stored::U64(val))
    }
    fn visit_i64(&self, val: i64) -> Result<Stored, DeserializeError> {
        Ok(Stored::I64(val))
    }
    fn visit_f64(&self, _: f64) -> Result<Stored, DeserializeError> {
        Ok(Stored::Other)
    }
    fn visit_bool(&self, _: bool) -> Result<Stored, DeserializeError> {
        Ok(Stored::Other)
    }
    fn visit_datetime(&self, val: DateTime) -> Result<Stored, DeserializeError> {
        Ok(Stored::Date(val))
    }
    fn visit_ip_address(&self, _: std::net::Ipv6Addr) -> Result<Stored, DeserializeError> {
        Ok(Stored::Other)
    }
    fn visit_facet(&self, _: tantivy::schema::Facet) -> Result<Stored, DeserializeError> {
        Ok(Stored::Other)
    }
    fn visit_bytes(&self, val: Vec<u8>) -> Result<Stored, DeserializeError> {
        Ok(Stored::Bytes(val))
    }
    fn visit_pre_tokenized_string(
        &self,
        _: PreTokenizedString,
    ) -> Result<Stored, DeserializeError> {
        Ok(Stored::Other)
    }
    fn visit_array<'de, A>(&self, mut access: A) -> Result<Stored, DeserializeError>
    where
        A: ArrayAccess<'de>,
    {
        while access.next_element::<OwnedValue>()?.is_some() {}
        Ok(Stored::Other)
    }
    fn visit_object<'de, A>(&self, mut access: A) -> Result<Stored, DeserializeError>
    where
        A: ObjectAccess<'de>,
    {
        let mut out = Vec::with_capacity(access.size_hint());
        while let Some(entry) = access.next_entry::<OwnedValue>()? {
            out.push(entry);
        }
        Ok(Stored::Object(out))
    }
}

impl ValueDeserialize for Stored {
    fn deserialize<'de, D>(deserializer: D) -> Result<Self, DeserializeError>
    where
        D: ValueDeserializer<'de>,
    {
        deserializer.deserialize_any(Visitor)
    }
}

/// A stored document as (field, value) pairs, before the field handles give them meaning.
pub(crate) struct StoredDoc(Vec<(Field, Stored)>);

impl DocumentDeserialize for StoredDoc {
    fn deserialize<'de, D>(mut deserializer: D) -> Result<Self, DeserializeError>
    where
        D: DocumentDeserializer<'de>,
    {
        let mut values = Vec::with_capacity(deserializer.size_hint());
        while let Some(v) = deserializer.next_field::<Stored>()? {
            values.push(v);
        }
        Ok(StoredDoc(values))
    }
}

impl StoredDoc {
    /// The record (as [`super::record_from_doc`] builds it: the first value of each field)
    /// and its normalizer stamp, with a partition's own field handles.
    pub(crate) fn into_record(self, f: &LogFields) -> (LogRecord, Option<u64>) {
        let mut r = LogRecord::default();
        let mut seen = 0u16;
        let mut stamp = None;
        let mut first = |bit: u16| {
            let new = seen & bit == 0;
            seen |= bit;
            new
        };
        for (field, v) in self.0 {
            match v {
                Stored::Date(d) if field == f.timestamp && first(1) => {
                    r.timestamp_ns = d.into_timestamp_nanos();
                }
                Stored::I64(n) if field == f.received && first(2) => {
                    r.received_ns = n.saturating_mul(1000);
                }
                Stored::Str(s) if field == f.host && first(4) => r.host = s,
                Stored::Str(s) if field == f.app && first(8) => r.app = s,
                Stored::Str(s) if field == f.pid && first(16) => r.pid = s,
                Stored::Str(s) if field == f.msgid && first(32) => r.msgid = s,
                Stored::Str(s) if field == f.message && first(64) => r.message = s,
                Stored::U64(n) if field == f.severity && first(128) => r.severity = Some(n as u8),
                Stored::U64(n) if field == f.facility && first(256) => r.facility = Some(n as u8),
                Stored::U64(n) if Some(field) == f.rules && first(512) => stamp = Some(n),
                Stored::Bytes(b) if field == f.raw && first(1024) => r.raw = b,
                Stored::Object(obj) if field == f.fields && first(2048) => {
                    super::flatten_owned(obj, &mut r.fields);
                }
                _ => {}
            }
        }
        (r, stamp)
    }
}

/// The members of a stored record a seal needs, read in place from its doc-store bytes: no
/// allocation per value, and the extracted fields (a JSON object, the costliest value to
/// deserialize) skipped. Only for records the seal's rules made, whose fields the archive
/// does not keep; any other record is read whole, through tantivy.
///
/// This parses tantivy's binary document encoding (tantivy 0.27, doc store version 2) itself:
/// a VInt value count, then per value a little-endian u32 field id, a type code and the
/// value. Anything it does not expect (an unknown type code, a truncated value, a timestamp
/// outside the partition's day, as a doc store of another version would give; text that is
/// not UTF-8, found when the members are taken) makes it give up on that record, which is then
/// read through tantivy: the result never
/// depends on this reader being right about more than the shapes it accepts. A test checks it
/// against tantivy's reader on every record of the frozen fixtures and of a fresh partition.
pub(crate) struct DocView {
    bytes: tantivy::directory::OwnedBytes,
    pub(crate) timestamp_ns: i64,
    pub(crate) received_ns: i64,
    pub(crate) severity: Option<u8>,
    pub(crate) facility: Option<u8>,
    pub(crate) stamp: Option<u64>,
    /// Byte ranges in `bytes` of host, app, pid, msgid, message, raw.
    spans: [(u32, u32); 6],
}

mod code {
    pub const TEXT: u8 = 0;
    pub const U64: u8 = 1;
    pub const I64: u8 = 2;
    pub const FACET: u8 = 3;
    pub const BYTES: u8 = 4;
    pub const DATE: u8 = 5;
    pub const F64: u8 = 6;
    pub const BOOL: u8 = 9;
    pub const IP: u8 = 10;
    pub const NULL: u8 = 11;
    pub const ARRAY: u8 = 12;
    pub const OBJECT: u8 = 13;
}

/// A cursor over one document's bytes; every read checks bounds.
struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn byte(&mut self) -> Option<u8> {
        let v = *self.b.get(self.at)?;
        self.at += 1;
        Some(v)
    }

    /// tantivy's VInt: 7 bits per byte, least significant first, the last byte has bit 7 set.
    fn vint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 != 0 {
                return Some(v);
            }
        }
        None
    }

    fn fixed<const N: usize>(&mut self) -> Option<[u8; N]> {
        let s = self.b.get(self.at..self.at.checked_add(N)?)?;
        self.at += N;
        s.try_into().ok()
    }

    /// A length-prefixed run of bytes, as (start, end).
    fn run(&mut self) -> Option<(u32, u32)> {
        let len = usize::try_from(self.vint()?).ok()?;
        let end = self.at.checked_add(len)?;
        if end > self.b.len() {
            return None;
        }
        let span = (u32::try_from(self.at).ok()?, u32::try_from(end).ok()?);
        self.at = end;
        Some(span)
    }

    /// Skips one value of type `code` (nested arrays and objects up to a sane depth).
    fn skip(&mut self, code: u8, depth: u8) -> Option<()> {
        match code {
            self::code::TEXT | self::code::FACET | self::code::BYTES => {
                self.run()?;
            }
            self::code::U64 | self::code::I64 | self::code::DATE | self::code::F64 => {
                self.fixed::<8>()?;
            }
            self::code::BOOL => {
                self.byte()?;
            }
            self::code::IP => {
                self.fixed::<16>()?;
            }
            self::code::NULL => {}
            // an object is written as an array of its keys (text values) and values, in turn
            self::code::ARRAY | self::code::OBJECT if depth < 32 => {
                for _ in 0..self.vint()? {
                    let c = self.byte()?;
                    self.skip(c, depth + 1)?;
                }
            }
            _ => return None,
        }
        Some(())
    }
}

impl DocView {
    /// Reads a stored document of a partition of `day` (days since the epoch) with field
    /// handles `f`; None when it is not in a shape this reader accepts (see the type docs).
    /// Like [`StoredDoc::into_record`], the first value of each field counts.
    pub(crate) fn parse(
        bytes: tantivy::directory::OwnedBytes,
        f: &LogFields,
        day: i64,
    ) -> Option<DocView> {
        use crate::model::time::NS_PER_DAY;
        let mut v = DocView {
            bytes,
            timestamp_ns: 0,
            received_ns: 0,
            severity: None,
            facility: None,
            stamp: None,
            spans: [(0, 0); 6],
        };
        let mut c = Cursor {
            b: v.bytes.as_slice(),
            at: 0,
        };
        let texts = [f.host, f.app, f.pid, f.msgid, f.message];
        let id = |field: tantivy::schema::Field| field.field_id();
        let rules = f.rules.map(id);
        let mut seen = 0u16;
        let mut first = |bit: u16| {
            let new = seen & bit == 0;
            seen |= bit;
            new
        };
        for _ in 0..c.vint()? {
            let field = u32::from_le_bytes(c.fixed::<4>()?);
            let kind = c.byte()?;
            match kind {
                code::DATE if field == id(f.timestamp) => {
                    let ns = i64::from_le_bytes(c.fixed::<8>()?);
                    if first(1) {
                        v.timestamp_ns = ns;
                    }
                }
                code::I64 if field == id(f.received) => {
                    let us = i64::from_le_bytes(c.fixed::<8>()?);
                    if first(2) {
                        v.received_ns = us.saturating_mul(1000);
                    }
                }
                code::U64 if field == id(f.severity) || field == id(f.facility) => {
                    let n = u64::from_le_bytes(c.fixed::<8>()?);
                    if field == id(f.severity) && first(4) {
                        v.severity = Some(n as u8);
                    } else if field == id(f.facility) && first(8) {
                        v.facility = Some(n as u8);
                    }
                }
                code::U64 if Some(field) == rules => {
                    let n = u64::from_le_bytes(c.fixed::<8>()?);
                    if first(16) {
                        v.stamp = Some(n);
                    }
                }
                code::TEXT if texts.iter().any(|t| id(*t) == field) => {
                    let span = c.run()?;
                    let i = texts.iter().position(|t| id(*t) == field)?;
                    if first(32 << i) {
                        v.spans[i] = span;
                    }
                }
                code::BYTES if field == id(f.raw) => {
                    let span = c.run()?;
                    if first(1024) {
                        v.spans[5] = span;
                    }
                }
                other => c.skip(other, 0)?,
            }
        }
        // a doc store that counts dates in µs (version 1) would put the record in 1970
        let start = day.checked_mul(NS_PER_DAY)?;
        (seen & 1 != 0 && v.timestamp_ns >= start && v.timestamp_ns - start < NS_PER_DAY)
            .then_some(v)
    }

    /// Length of the document's bytes.
    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }

    fn text(&self, i: usize) -> Option<&str> {
        let (a, b) = self.spans[i];
        std::str::from_utf8(self.bytes.as_slice().get(a as usize..b as usize)?).ok()
    }

    /// The record's members (`fields` None: not read); None when a text member is not UTF-8
    /// (checked here, once per seal, rather than on parsing).
    pub(crate) fn rec(&self) -> Option<crate::store::logs::archive::RecordRef<'_>> {
        let (a, b) = self.spans[5];
        Some(crate::store::logs::archive::RecordRef {
            timestamp_ns: self.timestamp_ns,
            received_ns: self.received_ns,
            host: self.text(0)?,
            app: self.text(1)?,
            pid: self.text(2)?,
            severity: self.severity,
            facility: self.facility,
            msgid: self.text(3)?,
            message: self.text(4)?,
            fields: None,
            raw: self.bytes.as_slice().get(a as usize..b as usize)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// A document as tantivy writes it: a VInt count, then (u32 field, type code, value).
    fn doc(f: &LogFields, ts_ns: i64, host: &str, raw: &[u8]) -> Vec<u8> {
        let mut d = vec![0x80 | 3];
        d.extend_from_slice(&f.timestamp.field_id().to_le_bytes());
        d.push(code::DATE);
        d.extend_from_slice(&ts_ns.to_le_bytes());
        d.extend_from_slice(&f.host.field_id().to_le_bytes());
        d.push(code::TEXT);
        d.push(0x80 | host.len() as u8);
        d.extend_from_slice(host.as_bytes());
        d.extend_from_slice(&f.raw.field_id().to_le_bytes());
        d.push(code::BYTES);
        d.push(0x80 | raw.len() as u8);
        d.extend_from_slice(raw);
        d
    }

    const DAY: i64 = 20_781;
    const T: i64 = DAY * 86_400_000_000_000 + 5;

    #[test]
    fn a_hand_written_document_reads_back() {
        let (_, f) = LogFields::build();
        let v = DocView::parse(OwnedBytes::new(doc(&f, T, "web1", b"<13>x")), &f, DAY).unwrap();
        let r = v.rec().unwrap();
        assert_eq!((r.timestamp_ns, r.host, r.raw), (T, "web1", &b"<13>x"[..]));
        assert_eq!((r.app, r.severity, r.fields), ("", None, None));
        // a timestamp outside the day (a µs doc store would give one) is refused
        assert!(DocView::parse(OwnedBytes::new(doc(&f, T / 1000, "w", b"")), &f, DAY).is_none());
        // text that is not UTF-8 is refused; bytes need not be
        let mut bad = doc(&f, T, "ab", b"\xff");
        let at = bad.iter().position(|&c| c == b'a').unwrap();
        bad[at] = 0xff;
        let v = DocView::parse(OwnedBytes::new(bad), &f, DAY).unwrap();
        assert!(v.rec().is_none());
        let v = DocView::parse(OwnedBytes::new(doc(&f, T, "ab", b"\xff")), &f, DAY).unwrap();
        assert!(v.rec().is_some());
    }

    use tantivy::directory::OwnedBytes;

    proptest! {
        /// Any bytes are read or refused, never a panic; every cut of a valid document is
        /// refused (a member would run past its end).
        #[test]
        fn any_bytes_read_or_refused(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let (_, f) = LogFields::build();
            let _ = DocView::parse(OwnedBytes::new(bytes.clone()), &f, DAY);
            let mut d = doc(&f, T, "host", b"raw line");
            d.extend_from_slice(&bytes);
            let _ = DocView::parse(OwnedBytes::new(d), &f, DAY);
        }

        #[test]
        fn a_cut_document_is_refused(cut in 0usize..33) {
            let (_, f) = LogFields::build();
            let d = doc(&f, T, "host", b"raw line");
            prop_assert!(cut < d.len());
            prop_assert!(DocView::parse(OwnedBytes::new(d[..cut].to_vec()), &f, DAY).is_none());
        }
    }
}
