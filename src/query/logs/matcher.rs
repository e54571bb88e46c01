//! Evaluates a parsed query against one [`LogRecord`] in memory, for data that is not in a
//! tantivy index (the yearly archives). It mirrors [`super::compile`] clause by clause, and
//! analyses text with the very tokenizers the index registers, so a query finds the same
//! records in the archive as it found in the hot store. A query is validated by compiling it
//! first, so it fails with the same errors too.

use std::ops::{Bound, RangeBounds};

use regex::Regex;
use tantivy::tokenizer::{TextAnalyzer, TokenizerManager};

use super::QueryError;
use super::ast::{Ast, Clause, CmpOp, Value, WildPart};
use crate::model::{LogRecord, facility_from_str, severity_from_str};
use crate::store::logs::schema::{
    KEYWORD_TOKENIZER, LogFields, TEXT_TOKENIZER, register_tokenizers,
};

/// A compiled in-memory matcher.
#[derive(Clone)]
pub struct Matcher {
    root: Option<Node>,
    text: TextAnalyzer,
}

#[derive(Debug, Clone, Copy)]
enum Kw {
    Host,
    App,
    Pid,
    Msgid,
}

#[derive(Debug, Clone, Copy)]
enum NumField {
    Severity,
    Facility,
}

#[derive(Clone)]
enum Node {
    All,
    And(Vec<(bool, Node)>),
    Or(Vec<Node>),
    Not(Box<Node>),
    /// Message tokens in a row (one token = a term).
    Phrase(Vec<String>),
    /// Message token patterns in a row.
    WildPhrase(Vec<Regex>),
    KwEq(Kw, String),
    KwRe(Kw, Regex),
    /// Code in [lo, hi].
    Code(NumField, u64, u64),
    JsonEq(String, String),
    JsonRange(String, Bound<f64>, Bound<f64>),
}

impl Matcher {
    /// Validates `ast` as [`super::compile`] does and prepares it for evaluation.
    pub fn new(ast: &Ast) -> Result<Matcher, QueryError> {
        let (schema, fields) = LogFields::build();
        super::compile(ast, &fields, &schema)?;
        let manager = TokenizerManager::default();
        register_tokenizers(&manager);
        let text = manager
            .get(TEXT_TOKENIZER)
            .ok_or(QueryError::MissingTokenizer(TEXT_TOKENIZER))?;
        let keyword = manager
            .get(KEYWORD_TOKENIZER)
            .ok_or(QueryError::MissingTokenizer(KEYWORD_TOKENIZER))?;
        let mut b = Builder { text, keyword };
        let root = b.node(ast)?;
        Ok(Matcher { root, text: b.text })
    }

    /// Whether the record matches (time is filtered by the caller).
    pub fn matches(&mut self, r: &LogRecord) -> bool {
        let Some(root) = &self.root else {
            return true;
        };
        let mut toks: Option<Vec<(usize, String)>> = None;
        eval(root, r, &mut self.text, &mut toks)
    }

    /// Hosts (lowercased) one of which a matching record must have, when the query requires
    /// that (`host:a` or `host:a OR host:b` at the top level or under AND); None = any host.
    pub fn required_hosts(&self) -> Option<Vec<String>> {
        self.root.as_ref().and_then(|n| required(n, Kw::Host))
    }

    /// As [`Self::required_hosts`] for apps.
    pub fn required_apps(&self) -> Option<Vec<String>> {
        self.root.as_ref().and_then(|n| required(n, Kw::App))
    }

    /// Lowercase ASCII strings one of which occurs, ASCII case-insensitively, in the text every
    /// matching record was made from, when the query implies that: a message word, or a host,
    /// app, pid or msgid value. Lets the archive skip lines without decoding them. Only valid
    /// for pure-ASCII text (the tokenizers may fold other characters); None = no such hint.
    pub fn required_literals(&self) -> Option<Vec<String>> {
        self.root.as_ref().and_then(literals)
    }
}

/// See [`Matcher::required_literals`].
fn literals(n: &Node) -> Option<Vec<String>> {
    let usable = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|c| c.is_ascii() && !c.is_ascii_control() && c != b'"' && c != b'\\')
    };
    match n {
        Node::Phrase(words) => words
            .iter()
            .filter(|w| usable(w))
            .max_by_key(|w| w.len())
            .map(|w| vec![w.to_ascii_lowercase()]),
        Node::KwEq(_, v) if usable(v) => Some(vec![v.to_ascii_lowercase()]),
        // every positive member must match: any one's literals will do, the longest best
        Node::And(xs) => xs
            .iter()
            .filter(|(neg, _)| !neg)
            .filter_map(|(_, x)| literals(x))
            .max_by_key(|l| l.iter().map(String::len).min().unwrap_or(0)),
        Node::Or(xs) if !xs.is_empty() => {
            let mut out = Vec::new();
            for x in xs {
                out.extend(literals(x)?);
            }
            Some(out)
        }
        _ => None,
    }
}

fn required(n: &Node, kw: Kw) -> Option<Vec<String>> {
    match n {
        Node::KwEq(k, v) if std::mem::discriminant(k) == std::mem::discriminant(&kw) => {
            Some(vec![v.clone()])
        }
        Node::And(xs) => xs
            .iter()
            .filter(|(neg, _)| !neg)
            .find_map(|(_, x)| required(x, kw)),
        Node::Or(xs) => {
            let mut out = Vec::new();
            for x in xs {
                out.extend(required(x, kw)?);
            }
            Some(out)
        }
        _ => None,
    }
}

fn kw_value(r: &LogRecord, kw: Kw) -> Option<&str> {
    match kw {
        Kw::Host => Some(&r.host),
        Kw::App => Some(&r.app),
        // the writer indexes pid and msgid only when present
        Kw::Pid => Some(r.pid.as_str()).filter(|s| !s.is_empty()),
        Kw::Msgid => Some(r.msgid.as_str()).filter(|s| !s.is_empty()),
    }
}

fn tokens(analyzer: &mut TextAnalyzer, s: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(s);
    while let Some(t) = stream.next() {
        out.push((t.position, t.text.clone()));
    }
    out
}

/// Whether `pred(i, token)` holds for `n` tokens at consecutive positions.
fn in_a_row(toks: &[(usize, String)], n: usize, pred: impl Fn(usize, &str) -> bool) -> bool {
    if n == 0 {
        return true;
    }
    toks.iter().enumerate().any(|(start, (pos0, _))| {
        (0..n).all(|i| {
            toks.get(start + i)
                .is_some_and(|(p, t)| *p == pos0 + i && pred(i, t))
        })
    })
}

fn eval(
    n: &Node,
    r: &LogRecord,
    text: &mut TextAnalyzer,
    toks: &mut Option<Vec<(usize, String)>>,
) -> bool {
    match n {
        Node::All => true,
        Node::And(xs) => {
            // a purely negative AND matches everything else, as compile adds AllQuery
            xs.iter().all(|(neg, x)| eval(x, r, text, toks) != *neg)
        }
        Node::Or(xs) => xs.iter().any(|x| eval(x, r, text, toks)),
        Node::Not(x) => !eval(x, r, text, toks),
        Node::Phrase(words) => {
            let t = toks.get_or_insert_with(|| tokens(text, &r.message));
            in_a_row(t, words.len(), |i, tok| words[i] == tok)
        }
        Node::WildPhrase(res) => {
            let t = toks.get_or_insert_with(|| tokens(text, &r.message));
            in_a_row(t, res.len(), |i, tok| res[i].is_match(tok))
        }
        Node::KwEq(kw, v) => kw_value(r, *kw).is_some_and(|s| s.to_lowercase() == *v),
        Node::KwRe(kw, re) => kw_value(r, *kw).is_some_and(|s| re.is_match(&s.to_lowercase())),
        Node::Code(f, lo, hi) => {
            let v = match f {
                NumField::Severity => r.severity,
                NumField::Facility => r.facility,
            };
            v.is_some_and(|v| (*lo..=*hi).contains(&u64::from(v)))
        }
        Node::JsonEq(key, v) => r
            .fields
            .iter()
            .any(|(k, val)| k == key && val.to_lowercase() == *v),
        Node::JsonRange(key, lo, hi) => r
            .fields
            .iter()
            .any(|(k, val)| k == key && number(val).is_some_and(|x| (*lo, *hi).contains(&x))),
    }
}

/// The numeric view of a field value, as the writer's `typed_value` computes it (IPv4 as its
/// u32), widened to f64 (exact for IPv4 and for integers below 2^53).
fn number(v: &str) -> Option<f64> {
    let first = *v.as_bytes().first()?;
    if !(first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.') {
        return None;
    }
    if let Ok(i) = v.parse::<i64>() {
        return Some(i as f64);
    }
    if let Ok(ip) = v.parse::<std::net::Ipv4Addr>() {
        return Some(f64::from(u32::from(ip)));
    }
    v.parse::<f64>().ok().filter(|x| x.is_finite())
}

struct Builder {
    text: TextAnalyzer,
    keyword: TextAnalyzer,
}

fn anchored(parts: &[WildPart], lowercase: bool) -> Result<Regex, regex::Error> {
    let mut re = String::from("(?s)^(?:");
    for p in parts {
        match p {
            WildPart::Lit(s) if lowercase => re.push_str(&regex::escape(&s.to_lowercase())),
            WildPart::Lit(s) => re.push_str(&regex::escape(s)),
            WildPart::Any => re.push_str(".*"),
            WildPart::One => re.push('.'),
        }
    }
    re.push_str(")$");
    Regex::new(&re)
}

impl Builder {
    fn node(&mut self, ast: &Ast) -> Result<Option<Node>, QueryError> {
        Ok(match ast {
            Ast::All => Some(Node::All),
            Ast::Clause(c) => self.clause(c)?,
            Ast::Not(x) => self.node(x)?.map(|n| Node::Not(Box::new(n))),
            Ast::And(xs) => {
                let mut subs = Vec::new();
                for x in xs {
                    let (neg, n) = match x {
                        Ast::Not(inner) => (true, self.node(inner)?),
                        _ => (false, self.node(x)?),
                    };
                    if let Some(n) = n {
                        subs.push((neg, n));
                    }
                }
                (!subs.is_empty()).then_some(Node::And(subs))
            }
            Ast::Or(xs) => {
                let mut subs = Vec::new();
                for x in xs {
                    subs.extend(self.node(x)?);
                }
                (!subs.is_empty()).then_some(Node::Or(subs))
            }
        })
    }

    fn clause(&mut self, c: &Clause) -> Result<Option<Node>, QueryError> {
        let bad = |e: regex::Error| QueryError::BadWildcard {
            value: c.value.to_string(),
            col: c.col,
            reason: e.to_string(),
        };
        let name = c.field.as_deref().map(str::to_ascii_lowercase);
        let kw = match name.as_deref() {
            None | Some("message" | "msg") => return self.message(c),
            Some("host" | "hostname") => Some(Kw::Host),
            Some("app" | "program") => Some(Kw::App),
            Some("pid") => Some(Kw::Pid),
            Some("msgid") => Some(Kw::Msgid),
            Some("severity" | "level") => return code(c, NumField::Severity).map(Some),
            Some("facility") => return code(c, NumField::Facility).map(Some),
            _ => None,
        };
        if let Some(kw) = kw {
            return Ok(Some(match &c.value {
                Value::Term(s) | Value::Phrase(s) => {
                    let tok = tokens(&mut self.keyword, s)
                        .pop()
                        .map(|(_, t)| t)
                        .unwrap_or_default();
                    Node::KwEq(kw, tok)
                }
                Value::Wildcard(parts) => Node::KwRe(kw, anchored(parts, true).map_err(bad)?),
                // compile rejected these already
                _ => Node::Or(Vec::new()),
            }));
        }
        // a structured field; compile resolved the same name to the JSON column
        let key = c.field.clone().unwrap_or_default();
        Ok(Some(match &c.value {
            Value::Term(s) if super::compile::cidr(s).is_some() => {
                let (first, last) = super::compile::cidr(s).unwrap_or((0, 0));
                Node::JsonRange(
                    key,
                    Bound::Included(f64::from(first)),
                    Bound::Included(f64::from(last)),
                )
            }
            Value::Term(s) | Value::Phrase(s) => {
                let tok = tokens(&mut self.keyword, s)
                    .pop()
                    .map(|(_, t)| t)
                    .unwrap_or_default();
                Node::JsonEq(key, tok)
            }
            Value::Compare(op, v) => {
                let n = number(v).unwrap_or(f64::NAN);
                let (lo, hi) = match op {
                    CmpOp::Lt => (Bound::Unbounded, Bound::Excluded(n)),
                    CmpOp::Le => (Bound::Unbounded, Bound::Included(n)),
                    CmpOp::Gt => (Bound::Excluded(n), Bound::Unbounded),
                    CmpOp::Ge => (Bound::Included(n), Bound::Unbounded),
                };
                Node::JsonRange(key, lo, hi)
            }
            Value::Range(lo, hi) => {
                let conv = |b: &Bound<String>| match b {
                    Bound::Included(v) if v != "*" => {
                        Bound::Included(number(v).unwrap_or(f64::NAN))
                    }
                    Bound::Excluded(v) if v != "*" => {
                        Bound::Excluded(number(v).unwrap_or(f64::NAN))
                    }
                    _ => Bound::Unbounded,
                };
                Node::JsonRange(key, conv(lo), conv(hi))
            }
            Value::Wildcard(_) => Node::Or(Vec::new()),
        }))
    }

    fn message(&mut self, c: &Clause) -> Result<Option<Node>, QueryError> {
        match &c.value {
            Value::Term(s) | Value::Phrase(s) => {
                let words: Vec<String> = tokens(&mut self.text, s)
                    .into_iter()
                    .map(|(_, t)| t)
                    .collect();
                Ok((!words.is_empty()).then_some(Node::Phrase(words)))
            }
            Value::Wildcard(parts) => {
                let segments = super::compile::wildcard_segments(parts);
                if segments.is_empty() {
                    return Ok(Some(Node::All));
                }
                let mut res = Vec::new();
                for s in &segments {
                    res.push(anchored(s, false).map_err(|e| QueryError::BadWildcard {
                        value: c.value.to_string(),
                        col: c.col,
                        reason: e.to_string(),
                    })?);
                }
                Ok(Some(Node::WildPhrase(res)))
            }
            _ => Ok(Some(Node::Or(Vec::new()))),
        }
    }
}

/// severity and facility: the code range a clause accepts (compile validated the names).
fn code(c: &Clause, f: NumField) -> Result<Node, QueryError> {
    let lookup = |s: &str| -> u64 {
        match f {
            NumField::Severity => severity_from_str(s),
            NumField::Facility => facility_from_str(s),
        }
        .map_or(u64::MAX, u64::from)
    };
    const MAX: u64 = u64::MAX;
    Ok(match &c.value {
        Value::Term(s) | Value::Phrase(s) => {
            let v = lookup(s);
            Node::Code(f, v, v)
        }
        Value::Compare(op, s) => {
            let v = lookup(s);
            match op {
                CmpOp::Lt if v == 0 => Node::Or(Vec::new()),
                CmpOp::Lt => Node::Code(f, 0, v - 1),
                CmpOp::Le => Node::Code(f, 0, v),
                CmpOp::Gt => Node::Code(f, v.saturating_add(1), MAX),
                CmpOp::Ge => Node::Code(f, v, MAX),
            }
        }
        Value::Range(lo, hi) => {
            let conv = |b: &Bound<String>| match b {
                Bound::Included(s) => Bound::Included(lookup(s)),
                Bound::Excluded(s) => Bound::Excluded(lookup(s)),
                Bound::Unbounded => Bound::Unbounded,
            };
            let (mut lo, mut hi) = (conv(lo), conv(hi));
            if let (
                Bound::Included(a) | Bound::Excluded(a),
                Bound::Included(b) | Bound::Excluded(b),
            ) = (lo, hi)
                && a > b
            {
                std::mem::swap(&mut lo, &mut hi);
            }
            let lo = match lo {
                Bound::Included(v) => v,
                Bound::Excluded(v) => v.saturating_add(1),
                Bound::Unbounded => 0,
            };
            match hi {
                Bound::Included(v) => Node::Code(f, lo, v),
                Bound::Excluded(0) => Node::Or(Vec::new()),
                Bound::Excluded(v) => Node::Code(f, lo, v - 1),
                Bound::Unbounded => Node::Code(f, lo, MAX),
            }
        }
        Value::Wildcard(_) => Node::Code(f, 0, MAX),
    })
}
