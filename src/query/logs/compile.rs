//! Turns an [`Ast`] into a tantivy query against the log schema.
//!
//! Text is analysed with the very tokenizers the index registers (looked up by name from
//! [`register_tokenizers`]), so a query term can never disagree with an indexed one about case
//! or token boundaries.

use std::ops::Bound;

use tantivy::Term;
use tantivy::json_utils::convert_to_fast_value_and_append_to_json_term;
use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, Occur, PhraseQuery, Query, RangeQuery, RegexPhraseQuery,
    RegexQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Schema};
use tantivy::tokenizer::{TextAnalyzer, TokenizerManager};

use super::QueryError;
use super::ast::{Ast, Clause, CmpOp, Value, WildPart};
use crate::model::{facility_from_str, severity_from_str};
use crate::store::logs::schema::{
    KEYWORD_TOKENIZER, LogFields, TEXT_TOKENIZER, register_tokenizers,
};

/// Compiles a parsed query. A query whose every clause analyses to nothing (e.g. `-` or `...`)
/// matches everything, as Lucene drops such clauses.
pub fn compile(
    ast: &Ast,
    fields: &LogFields,
    schema: &Schema,
) -> Result<Box<dyn Query>, QueryError> {
    let manager = TokenizerManager::default();
    register_tokenizers(&manager);
    // Both names were just registered, so these lookups cannot miss; an error rather than a
    // panic all the same.
    let text = manager
        .get(TEXT_TOKENIZER)
        .ok_or(QueryError::MissingTokenizer(TEXT_TOKENIZER))?;
    let keyword = manager
        .get(KEYWORD_TOKENIZER)
        .ok_or(QueryError::MissingTokenizer(KEYWORD_TOKENIZER))?;
    let mut c = Compiler {
        fields,
        schema,
        text,
        keyword,
    };
    Ok(c.node(ast)?.unwrap_or_else(|| Box::new(AllQuery)))
}

type Q = Box<dyn Query>;

/// Which kind of schema field a clause's field name resolves to.
enum Target {
    Message,
    Keyword(Field),
    Severity,
    Facility,
    Json(String),
}

struct Compiler<'a> {
    fields: &'a LogFields,
    schema: &'a Schema,
    text: TextAnalyzer,
    keyword: TextAnalyzer,
}

fn all_except(q: Q) -> Q {
    Box::new(BooleanQuery::new(vec![
        (Occur::Must, Box::new(AllQuery) as Q),
        (Occur::MustNot, q),
    ]))
}

fn tokens(analyzer: &mut TextAnalyzer, s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(s);
    while let Some(t) = stream.next() {
        out.push(t.text.clone());
    }
    out
}

/// Escapes the characters that are special in tantivy-fst's regex syntax (regex-syntax's meta
/// characters); other characters must not be escaped there.
fn regex_escape(s: &str, out: &mut String) {
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '.'
                | '+'
                | '*'
                | '?'
                | '('
                | ')'
                | '|'
                | '['
                | ']'
                | '{'
                | '}'
                | '^'
                | '$'
                | '#'
                | '&'
                | '-'
                | '~'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
}

fn wildcard_regex(parts: &[WildPart], lowercase: bool) -> String {
    let mut re = String::new();
    for p in parts {
        match p {
            WildPart::Lit(s) if lowercase => regex_escape(&s.to_lowercase(), &mut re),
            WildPart::Lit(s) => regex_escape(s, &mut re),
            WildPart::Any => re.push_str(".*"),
            WildPart::One => re.push('.'),
        }
    }
    re
}

/// Splits a free-text wildcard where the text tokenizer splits (non-alphanumerics), lowercasing
/// the literal parts: one pattern per token (`10.0.*` = "10" "0" *). Shared with the matcher.
pub(super) fn wildcard_segments(parts: &[WildPart]) -> Vec<Vec<WildPart>> {
    let mut segments: Vec<Vec<WildPart>> = vec![Vec::new()];
    for p in parts {
        match p {
            WildPart::Lit(s) => {
                for ch in s.chars() {
                    if ch.is_alphanumeric() {
                        let cur = segments.last_mut();
                        if let Some(cur) = cur {
                            match cur.last_mut() {
                                Some(WildPart::Lit(l)) => l.extend(ch.to_lowercase()),
                                _ => cur.push(WildPart::Lit(ch.to_lowercase().collect())),
                            }
                        }
                    } else if segments.last().is_some_and(|s| !s.is_empty()) {
                        segments.push(Vec::new());
                    }
                }
            }
            other => {
                if let Some(cur) = segments.last_mut() {
                    cur.push(other.clone());
                }
            }
        }
    }
    segments.retain(|s| !s.is_empty());
    segments
}

fn wildcard_text(parts: &[WildPart]) -> String {
    Value::Wildcard(parts.to_vec()).to_string()
}

impl Compiler<'_> {
    fn node(&mut self, ast: &Ast) -> Result<Option<Q>, QueryError> {
        Ok(match ast {
            Ast::All => Some(Box::new(AllQuery)),
            Ast::Clause(c) => self.clause(c)?,
            Ast::Not(x) => self.node(x)?.map(all_except),
            Ast::And(xs) => {
                let mut subs: Vec<(Occur, Q)> = Vec::new();
                for x in xs {
                    // Negations go in as MustNot directly rather than as "all except".
                    let (occur, q) = match x {
                        Ast::Not(inner) => (Occur::MustNot, self.node(inner)?),
                        _ => (Occur::Must, self.node(x)?),
                    };
                    if let Some(q) = q {
                        subs.push((occur, q));
                    }
                }
                if subs.is_empty() {
                    return Ok(None);
                }
                // tantivy matches nothing for a purely negative boolean query.
                if subs.iter().all(|(o, _)| *o == Occur::MustNot) {
                    subs.push((Occur::Must, Box::new(AllQuery)));
                }
                if subs.len() == 1 && subs[0].0 == Occur::Must {
                    subs.pop().map(|(_, q)| q)
                } else {
                    Some(Box::new(BooleanQuery::new(subs)))
                }
            }
            Ast::Or(xs) => {
                let mut subs: Vec<(Occur, Q)> = Vec::new();
                for x in xs {
                    if let Some(q) = self.node(x)? {
                        subs.push((Occur::Should, q));
                    }
                }
                match subs.len() {
                    0 => None,
                    1 => subs.pop().map(|(_, q)| q),
                    _ => Some(Box::new(BooleanQuery::new(subs))),
                }
            }
        })
    }

    fn target(&self, c: &Clause) -> Result<Target, QueryError> {
        let Some(name) = &c.field else {
            return Ok(Target::Message);
        };
        let f = self.fields;
        // Schema field names are matched case-insensitively (operators type `Host:`); JSON
        // keys are not, because JSON keys are case-sensitive.
        Ok(match name.to_ascii_lowercase().as_str() {
            "message" | "msg" => Target::Message,
            "host" | "hostname" => Target::Keyword(f.host),
            "app" | "program" => Target::Keyword(f.app),
            "pid" => Target::Keyword(f.pid),
            "msgid" => Target::Keyword(f.msgid),
            "severity" | "level" => Target::Severity,
            "facility" => Target::Facility,
            "timestamp" => {
                return Err(QueryError::NotSearchable {
                    field: name.clone(),
                    col: c.col,
                    hint: "filter time with from and until",
                });
            }
            "raw" | "received" | "fields" => {
                return Err(QueryError::NotSearchable {
                    field: name.clone(),
                    col: c.col,
                    hint: "search message or a structured field by its key",
                });
            }
            _ if self.schema.get_field(name).is_ok() => {
                return Err(QueryError::NotSearchable {
                    field: name.clone(),
                    col: c.col,
                    hint: "it is not indexed for search",
                });
            }
            _ => Target::Json(name.clone()),
        })
    }

    fn clause(&mut self, c: &Clause) -> Result<Option<Q>, QueryError> {
        match self.target(c)? {
            Target::Message => self.message(c),
            Target::Keyword(field) => self.keyword(c, field).map(Some),
            Target::Severity => {
                let f = self.fields.severity;
                self.numeric(c, f, "severity", severity_from_str, |value, col| {
                    QueryError::UnknownSeverity { value, col }
                })
                .map(Some)
            }
            Target::Facility => {
                let f = self.fields.facility;
                self.numeric(c, f, "facility", facility_from_str, |value, col| {
                    QueryError::UnknownFacility { value, col }
                })
                .map(Some)
            }
            Target::Json(path) => self.json(c, &path).map(Some),
        }
    }

    fn unsupported(c: &Clause, field: &str, what: &'static str, hint: &'static str) -> QueryError {
        QueryError::Unsupported {
            what,
            field: field.to_string(),
            col: c.col,
            hint,
        }
    }

    /// Free text: analysed like the index analyses `message`.
    fn message(&mut self, c: &Clause) -> Result<Option<Q>, QueryError> {
        let field = self.fields.message;
        match &c.value {
            Value::Term(s) | Value::Phrase(s) => {
                let toks = tokens(&mut self.text, s);
                let mut terms: Vec<Term> = toks
                    .iter()
                    .map(|t| Term::from_field_text(field, t))
                    .collect();
                Ok(match terms.len() {
                    0 => None,
                    1 => terms
                        .pop()
                        .map(|t| Box::new(TermQuery::new(t, IndexRecordOption::WithFreqs)) as Q),
                    _ => Some(Box::new(PhraseQuery::new(terms))),
                })
            }
            Value::Wildcard(parts) => self.message_wildcard(c, parts).map(Some),
            Value::Compare(..) => Err(Self::unsupported(
                c,
                "message",
                "a comparison",
                "comparisons work on severity and facility",
            )),
            Value::Range(..) => Err(Self::unsupported(
                c,
                "message",
                "a range",
                "ranges work on severity and facility",
            )),
        }
    }

    /// A wildcard in free text: split at the characters the tokenizer splits at, then one
    /// regex per resulting token, as a phrase when there are several (`10.0.*` = "10" "0" *).
    fn message_wildcard(&mut self, c: &Clause, parts: &[WildPart]) -> Result<Q, QueryError> {
        let field = self.fields.message;
        let segments = wildcard_segments(parts);
        let bad = |e: tantivy::TantivyError| QueryError::BadWildcard {
            value: wildcard_text(parts),
            col: c.col,
            reason: e.to_string(),
        };
        let patterns: Vec<String> = segments.iter().map(|s| wildcard_regex(s, false)).collect();
        // Compile every pattern now so a bad or oversized one is a query error, not a search
        // failure later.
        let mut regexes = Vec::with_capacity(patterns.len());
        for p in &patterns {
            regexes.push(RegexQuery::from_pattern(p, field).map_err(bad)?);
        }
        if patterns.len() <= 1 {
            return Ok(match regexes.pop() {
                Some(q) => Box::new(q),
                None => Box::new(AllQuery),
            });
        }
        Ok(Box::new(RegexPhraseQuery::new(field, patterns)))
    }

    /// host, app, pid, msgid: one lowercased token per value.
    fn keyword(&mut self, c: &Clause, field: Field) -> Result<Q, QueryError> {
        let name = self.schema.get_field_name(field).to_string();
        match &c.value {
            Value::Term(s) | Value::Phrase(s) => {
                let tok = tokens(&mut self.keyword, s).pop().unwrap_or_default();
                Ok(Box::new(TermQuery::new(
                    Term::from_field_text(field, &tok),
                    IndexRecordOption::Basic,
                )))
            }
            Value::Wildcard(parts) => {
                let re = wildcard_regex(parts, true);
                let q =
                    RegexQuery::from_pattern(&re, field).map_err(|e| QueryError::BadWildcard {
                        value: wildcard_text(parts),
                        col: c.col,
                        reason: e.to_string(),
                    })?;
                Ok(Box::new(q))
            }
            Value::Compare(..) => Err(Self::unsupported(
                c,
                &name,
                "a comparison",
                "comparisons work on severity and facility",
            )),
            Value::Range(..) => Err(Self::unsupported(
                c,
                &name,
                "a range",
                "ranges work on severity and facility",
            )),
        }
    }

    /// severity and facility: names or numbers, exact, compared or ranged on the code.
    fn numeric(
        &mut self,
        c: &Clause,
        field: Field,
        name: &'static str,
        lookup: impl Fn(&str) -> Option<u8>,
        unknown: impl Fn(String, usize) -> QueryError,
    ) -> Result<Q, QueryError> {
        // Point a bad value's column past a comparison operator, at the value itself.
        let value_col = match &c.value {
            Value::Compare(op, _) => c.col + op.as_str().len(),
            _ => c.col,
        };
        let code = |s: &str| {
            lookup(s)
                .map(u64::from)
                .ok_or_else(|| unknown(s.to_string(), value_col))
        };
        let term = |v: u64| Term::from_field_u64(field, v);
        let range = |lo: Bound<u64>, hi: Bound<u64>| -> Q {
            // RangeQuery needs at least one bound; 0 is the smallest code anyway.
            let lo = match lo {
                Bound::Unbounded => Bound::Included(0),
                b => b,
            };
            Box::new(RangeQuery::new(lo.map(term), hi.map(term)))
        };
        match &c.value {
            Value::Term(s) | Value::Phrase(s) => Ok(Box::new(TermQuery::new(
                term(code(s)?),
                IndexRecordOption::Basic,
            ))),
            Value::Compare(op, s) => {
                let v = code(s)?;
                Ok(match op {
                    CmpOp::Lt => range(Bound::Unbounded, Bound::Excluded(v)),
                    CmpOp::Le => range(Bound::Unbounded, Bound::Included(v)),
                    CmpOp::Gt => range(Bound::Excluded(v), Bound::Unbounded),
                    CmpOp::Ge => range(Bound::Included(v), Bound::Unbounded),
                })
            }
            Value::Range(lo, hi) => {
                let conv = |b: &Bound<String>| -> Result<Bound<u64>, QueryError> {
                    Ok(match b {
                        Bound::Included(s) => Bound::Included(code(s)?),
                        Bound::Excluded(s) => Bound::Excluded(code(s)?),
                        Bound::Unbounded => Bound::Unbounded,
                    })
                };
                let (mut lo, mut hi) = (conv(lo)?, conv(hi)?);
                // `severity:[warning TO err]` reads naturally by name but is backwards by
                // code; accept either order rather than silently matching nothing.
                if let (
                    Bound::Included(a) | Bound::Excluded(a),
                    Bound::Included(b) | Bound::Excluded(b),
                ) = (lo, hi)
                    && a > b
                {
                    std::mem::swap(&mut lo, &mut hi);
                }
                Ok(range(lo, hi))
            }
            Value::Wildcard(parts) if parts == &[WildPart::Any] => {
                Ok(range(Bound::Unbounded, Bound::Unbounded))
            }
            Value::Wildcard(_) => Err(Self::unsupported(
                c,
                name,
                "a wildcard",
                "use a name, a number, a comparison such as <=warning or a range",
            )),
        }
    }

    /// Any other field: a key of the `fields` JSON object, indexed with the keyword tokenizer.
    ///
    /// The writer may store `sdid.param` either as one flat key or as nested objects, so a
    /// dotted name matches both shapes. A value that reads as a number, boolean or date also
    /// matches a JSON value of that type.
    fn json(&mut self, c: &Clause, name: &str) -> Result<Q, QueryError> {
        if let Some(q) = self.typed(c, name)? {
            return Ok(q);
        }
        let (Value::Term(s) | Value::Phrase(s)) = &c.value else {
            let what = match c.value {
                Value::Wildcard(_) => "a wildcard",
                Value::Compare(..) => "a comparison",
                _ => "a range",
            };
            return Err(Self::unsupported(
                c,
                name,
                what,
                "structured fields match exact values for now",
            ));
        };
        let mut paths = vec![name.to_string()];
        if name.contains('.') {
            paths.push(name.replace('.', "\\."));
        }
        let tok = tokens(&mut self.keyword, s).pop().unwrap_or_default();
        let mut terms = Vec::new();
        for p in &paths {
            let base = Term::from_field_json_path(self.fields.fields, p, false);
            let mut t = base.clone();
            t.append_type_and_str(&tok);
            terms.push(t);
            if let Some(typed) = convert_to_fast_value_and_append_to_json_term(&base, s, true) {
                terms.push(typed);
            }
        }
        if terms.len() == 1
            && let Some(t) = terms.pop()
        {
            return Ok(Box::new(TermQuery::new(t, IndexRecordOption::Basic)));
        }
        Ok(Box::new(BooleanQuery::new_multiterms_query(terms)))
    }

    /// Comparisons, ranges and IPv4 CIDR blocks on a structured field become fast-field range
    /// queries on the `typed` column, where the writer keeps integers, floats and IPv4
    /// addresses (as u32) of every field. None when the clause is none of those.
    fn typed(&mut self, c: &Clause, name: &str) -> Result<Option<Q>, QueryError> {
        let bounds: (Bound<Num>, Bound<Num>) = match &c.value {
            Value::Compare(op, v) => {
                let n = Num::parse(v).ok_or_else(|| {
                    Self::unsupported(
                        c,
                        name,
                        "a comparison with a non-number",
                        "compare with a number, e.g. status:>=500",
                    )
                })?;
                match op {
                    CmpOp::Lt => (Bound::Unbounded, Bound::Excluded(n)),
                    CmpOp::Le => (Bound::Unbounded, Bound::Included(n)),
                    CmpOp::Gt => (Bound::Excluded(n), Bound::Unbounded),
                    CmpOp::Ge => (Bound::Included(n), Bound::Unbounded),
                }
            }
            Value::Range(lo, hi) => {
                let conv = |b: &Bound<String>| -> Result<Bound<Num>, QueryError> {
                    Ok(match b {
                        Bound::Unbounded => Bound::Unbounded,
                        Bound::Included(v) if v == "*" => Bound::Unbounded,
                        Bound::Excluded(v) if v == "*" => Bound::Unbounded,
                        Bound::Included(v) => Bound::Included(Num::parse(v).ok_or_else(|| {
                            Self::unsupported(
                                c,
                                name,
                                "a range of non-numbers",
                                "use numbers, e.g. bytes:[1000 TO *]",
                            )
                        })?),
                        Bound::Excluded(v) => Bound::Excluded(Num::parse(v).ok_or_else(|| {
                            Self::unsupported(
                                c,
                                name,
                                "a range of non-numbers",
                                "use numbers, e.g. bytes:[1000 TO *]",
                            )
                        })?),
                    })
                };
                let (lo, hi) = (conv(lo)?, conv(hi)?);
                if matches!((&lo, &hi), (Bound::Unbounded, Bound::Unbounded)) {
                    return Err(Self::unsupported(
                        c,
                        name,
                        "a range open at both ends",
                        "give at least one bound",
                    ));
                }
                (lo, hi)
            }
            Value::Term(v) => match cidr(v) {
                Some((first, last)) => (
                    Bound::Included(Num::U(u64::from(first))),
                    Bound::Included(Num::U(u64::from(last))),
                ),
                None => return Ok(None),
            },
            _ => return Ok(None),
        };
        // a partition written before typed fields existed has no numbers to compare
        let Some(field) = self.fields.typed else {
            return Ok(Some(Box::new(EmptyQuery)));
        };
        // one numeric type for both bounds: float if either is fractional
        let float = [&bounds.0, &bounds.1]
            .iter()
            .any(|b| matches!(b, Bound::Included(Num::F(_)) | Bound::Excluded(Num::F(_))));
        let term = |n: &Num| {
            let mut t = Term::from_field_json_path(field, name, true);
            match (n, float) {
                (Num::I(i), false) => t.append_type_and_fast_value(*i),
                (Num::U(u), false) => t.append_type_and_fast_value(*u),
                (n, _) => t.append_type_and_fast_value(n.as_f64()),
            }
            t
        };
        let map = |b: &Bound<Num>| match b {
            Bound::Unbounded => Bound::Unbounded,
            Bound::Included(n) => Bound::Included(term(n)),
            Bound::Excluded(n) => Bound::Excluded(term(n)),
        };
        Ok(Some(Box::new(RangeQuery::new(
            map(&bounds.0),
            map(&bounds.1),
        ))))
    }
}

/// A number from a query: integer, unsigned (IPv4 as u32) or float.
#[derive(Debug, Clone, Copy)]
enum Num {
    I(i64),
    U(u64),
    F(f64),
}

impl Num {
    fn parse(s: &str) -> Option<Num> {
        if let Ok(i) = s.parse::<i64>() {
            return Some(Num::I(i));
        }
        if let Ok(ip) = s.parse::<std::net::Ipv4Addr>() {
            return Some(Num::U(u64::from(u32::from(ip))));
        }
        s.parse::<f64>().ok().filter(|f| f.is_finite()).map(Num::F)
    }

    fn as_f64(self) -> f64 {
        match self {
            Num::I(i) => i as f64,
            Num::U(u) => u as f64,
            Num::F(f) => f,
        }
    }
}

/// `10.0.0.0/8` → the first and last address of the block, as u32.
pub(super) fn cidr(v: &str) -> Option<(u32, u32)> {
    let (ip, len) = v.split_once('/')?;
    let ip: std::net::Ipv4Addr = ip.parse().ok()?;
    let len: u32 = len.parse().ok().filter(|l| *l <= 32)?;
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    let first = u32::from(ip) & mask;
    Some((first, first | !mask))
}
