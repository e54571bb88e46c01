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
