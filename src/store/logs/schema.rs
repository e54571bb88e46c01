//! The tantivy schema of a day partition. One place names every field so the writer, the
//! query compiler and the reader agree; `LogFields::validate` checks an index opened from
//! disk still has the shape we rely on (as quickwit's `validate_timestamp_field` does).

use tantivy::schema::{
    DateOptions, DateTimePrecision, FAST, Field, INDEXED, IndexRecordOption, JsonObjectOptions,
    NumericOptions, STORED, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    LowerCaser, RawTokenizer, RemoveLongFilter, SimpleTokenizer, TextAnalyzer, TokenizerManager,
};

/// Tokenizer for whole-value keyword fields (host, app, pid, msgid): one lowercased token,
/// so `host:WEB1` finds `web1`.
pub const KEYWORD_TOKENIZER: &str = "tt_keyword";
/// Tokenizer for free text: split on non-alphanumerics, lowercase, drop >100-byte tokens
/// (hex blobs and base64 would bloat the term dictionary for no search value).
pub const TEXT_TOKENIZER: &str = "tt_text";

/// Field handles of the log schema.
#[derive(Debug, Clone, Copy)]
pub struct LogFields {
    /// Event time, microsecond precision; indexed for range pruning, fast for sorting.
    pub timestamp: Field,
    pub host: Field,
    pub app: Field,
    pub pid: Field,
    /// 0-7, indexed and fast so `severity:<=warning` is a range query.
    pub severity: Field,
    pub facility: Field,
    pub msgid: Field,
    /// Tokenized with positions so phrase queries work.
    pub message: Field,
    /// Structured data and extracted fields as one JSON object.
    pub fields: Field,
    /// Original bytes of the frame (stored only).
    pub raw: Field,
    /// Receive time (stored only, µs since epoch).
    pub received: Field,
    /// Numeric views of `fields` (integers, floats, IPv4 addresses as u32), fast, so
    /// `status:>=500` and `client_ip:10.0.0.0/8` are fast-field range queries. Absent in
    /// format v1 partitions (None there).
    pub typed: Option<Field>,
    /// The stamp of the normalizer that produced the record ([`crate::normalize::Normalizer::stamp`]),
    /// stored only: lets sealing skip re-running the rules. Absent in older partitions and on
    /// records that did not come through the normalize stage.
    pub rules: Option<Field>,
}

impl LogFields {
    /// Builds the schema and its field handles.
    pub fn build() -> (Schema, LogFields) {
        let mut b = Schema::builder();
        let ts_opts = DateOptions::default()
            .set_indexed()
            .set_fast()
            .set_stored()
            .set_precision(DateTimePrecision::Microseconds);
        let keyword = TextOptions::default()
            .set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(KEYWORD_TOKENIZER)
                    .set_index_option(IndexRecordOption::Basic),
            )
            .set_stored();
        let text = TextOptions::default()
            .set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(TEXT_TOKENIZER)
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            )
            .set_stored();
        // expand dots: a flat key `timeQuality.tzKnown` is searchable as that path
        let json = JsonObjectOptions::default()
            .set_expand_dots_enabled()
            .set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(KEYWORD_TOKENIZER)
                    .set_index_option(IndexRecordOption::Basic),
            )
            .set_stored();
        // numbers only: fast for range queries, indexed so exact numeric terms use postings
        let typed = JsonObjectOptions::default()
            .set_expand_dots_enabled()
            .set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(KEYWORD_TOKENIZER)
                    .set_index_option(IndexRecordOption::Basic),
            )
            .set_fast("raw");
        let small_int: NumericOptions = NumericOptions::from(INDEXED | FAST | STORED);
        let fields = LogFields {
            timestamp: b.add_date_field("timestamp", ts_opts),
            host: b.add_text_field("host", keyword.clone()),
            app: b.add_text_field("app", keyword.clone()),
            pid: b.add_text_field("pid", keyword.clone()),
            severity: b.add_u64_field("severity", small_int.clone()),
            facility: b.add_u64_field("facility", small_int),
            msgid: b.add_text_field("msgid", keyword),
            message: b.add_text_field("message", text),
            fields: b.add_json_field("fields", json),
            raw: b.add_bytes_field("raw", STORED),
            received: b.add_i64_field("received", STORED),
            typed: Some(b.add_json_field("typed", typed)),
            rules: Some(b.add_u64_field("rules", STORED)),
        };
        (b.build(), fields)
    }

    /// Resolves the handles from a schema read off disk, failing if a field is missing.
    pub fn from_schema(schema: &Schema) -> Result<LogFields, tantivy::TantivyError> {
        let f = |name: &str| schema.get_field(name);
        Ok(LogFields {
            timestamp: f("timestamp")?,
            host: f("host")?,
            app: f("app")?,
            pid: f("pid")?,
            severity: f("severity")?,
            facility: f("facility")?,
            msgid: f("msgid")?,
            message: f("message")?,
            fields: f("fields")?,
            raw: f("raw")?,
            received: f("received")?,
            typed: schema.get_field("typed").ok(),
            rules: schema.get_field("rules").ok(),
        })
    }
}

/// Registers telltale's tokenizers on an index's tokenizer manager.
pub fn register_tokenizers(manager: &TokenizerManager) {
    manager.register(
        KEYWORD_TOKENIZER,
        TextAnalyzer::builder(RawTokenizer::default())
            .filter(LowerCaser)
            .build(),
    );
    manager.register(
        TEXT_TOKENIZER,
        TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(100))
            .filter(LowerCaser)
            .build(),
    );
}
