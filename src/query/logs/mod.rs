//! The log query language: a Lucene-like syntax an operator already knows, compiled to a
//! tantivy query over the schema in [`crate::store::logs::schema`].
//!
//! ```text
//! query    := or
//! or       := and ( ("OR" | "||") and )*
//! and      := unary ( ("AND" | "&&")? unary )*          adjacency is AND
//! unary    := ("NOT" | "!" | "-" | "+") unary | primary  NOT > AND > OR
//! primary  := "(" or ")" | field ":" value | "*" | word | "\"phrase\""
//! value    := word | "\"phrase\"" | "(" or ")" | ("<"|"<="|">"|">=") word
//!           | ("[" | "{") bound "TO" bound ("]" | "}")   bound "*" is open
//! ```
//!
//! Free text and `message:` search the tokenized message (a word that splits into several
//! tokens, like `10.0.0.1`, is a phrase); `host`, `app`, `pid`, `msgid` are exact and
//! case-insensitive; `severity` and `facility` take names or numbers and compare numerically;
//! any other field name is a key of the structured `fields` JSON. `*` and `?` are wildcards.

mod ast;
mod compile;
mod matcher;
mod parse;
#[cfg(test)]
mod tests;

use tantivy::query::Query;
use tantivy::schema::Schema;
use thiserror::Error;

use crate::store::logs::schema::LogFields;

pub use ast::{Ast, Clause, CmpOp, Value, WildPart};
pub use compile::compile;
pub use matcher::Matcher;
pub use parse::{MAX_CLAUSES, MAX_DEPTH, MAX_QUERY_LEN, parse};

/// Why a query was rejected. Every variant that concerns a place in the query carries its
/// 1-based column, so the UI can underline it.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum QueryError {
    #[error("query is too long ({len} bytes, at most {max})")]
    TooLong { len: usize, max: usize },
    #[error("query is nested too deeply at column {col} (at most {max} levels)")]
    TooDeep { col: usize, max: usize },
    #[error("query has too many terms (at most {max})")]
    TooManyClauses { max: usize },
    #[error("unexpected '{token}' at column {col}")]
    Unexpected { token: String, col: usize },
    #[error("unexpected end of query")]
    UnexpectedEnd,
    #[error("missing term after '{token}' at column {col}")]
    MissingTerm { token: String, col: usize },
    #[error("unterminated quoted string starting at column {col}")]
    UnterminatedQuote { col: usize },
    #[error("unclosed '(' at column {col}")]
    UnclosedParen { col: usize },
    #[error("empty parentheses at column {col}")]
    EmptyParens { col: usize },
    #[error("missing value after '{field}' at column {col}")]
    MissingValue { field: String, col: usize },
    #[error("dangling '\\' at column {col} (write '\\\\' for a backslash)")]
    DanglingEscape { col: usize },
    #[error("unterminated range starting at column {col} (write e.g. [2 TO 4])")]
    UnterminatedRange { col: usize },
    #[error("expected 'TO' in range at column {col} (write e.g. [2 TO 4])")]
    RangeMissingTo { col: usize },
    #[error(
        "unknown severity '{value}' at column {col} (use emergency, alert, critical, error, \
         warning, notice, info, debug or 0-7)"
    )]
    UnknownSeverity { value: String, col: usize },
    #[error(
        "unknown facility '{value}' at column {col} (use kern, user, mail, daemon, auth, syslog, \
         lpr, news, uucp, cron, authpriv, ftp, ntp, security, console, solaris-cron, \
         local0-local7 or 0-23)"
    )]
    UnknownFacility { value: String, col: usize },
    #[error("{what} on field '{field}' at column {col} is not supported ({hint})")]
    Unsupported {
        what: &'static str,
        field: String,
        col: usize,
        hint: &'static str,
    },
    #[error("field '{field}' at column {col} is not searchable ({hint})")]
    NotSearchable {
        field: String,
        col: usize,
        hint: &'static str,
    },
    #[error("invalid wildcard '{value}' at column {col}: {reason}")]
    BadWildcard {
        value: String,
        col: usize,
        reason: String,
    },
    /// A bug, not bad input: the schema module no longer registers a tokenizer we rely on.
    #[error("tokenizer '{0}' is not registered")]
    MissingTokenizer(&'static str),
}

/// Parses and compiles a log query in one step: what the search API calls.
pub fn build_query(
    q: &str,
    fields: &LogFields,
    schema: &Schema,
) -> Result<Box<dyn Query>, QueryError> {
    let ast = parse(q)?;
    compile(&ast, fields, schema)
}
