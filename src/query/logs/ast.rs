//! The parsed form of a log query, independent of tantivy so the grammar can be tested (and
//! later reused for archive scans) without an index.

use std::fmt;
use std::ops::Bound;

/// A parsed query. `Display` prints it as an s-expression, which the tests compare against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ast {
    /// Matches every document: the empty query and a bare `*`.
    All,
    /// Every child must match (explicit `AND`/`&&` or adjacency).
    And(Vec<Ast>),
    /// At least one child must match.
    Or(Vec<Ast>),
    /// `NOT x`, `!x`, `-x`; alone it means "everything except x".
    Not(Box<Ast>),
    /// One search condition.
    Clause(Clause),
}

/// `field:value` or bare free text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// The field as written (`host`, `user`, `exampleSDID@32473.iut`); `None` = free text on
    /// `message`.
    pub field: Option<String>,
    /// What to match.
    pub value: Value,
    /// 1-based column of the value, so compile errors (unknown severity) can point at it.
    pub col: usize,
}

/// The value of a clause, with escapes already resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A bare word: `error`, `10.0.0.1`, `WEB1`.
    Term(String),
    /// A double-quoted string: `"connection refused"`.
    Phrase(String),
    /// A word with unescaped `*` or `?`.
    Wildcard(Vec<WildPart>),
    /// `<4`, `<=warning`, `>err`, `>=2`.
    Compare(CmpOp, String),
    /// `[a TO b]`, `{a TO b}` and mixes; `*` is an open bound.
    Range(Bound<String>, Bound<String>),
}

/// A piece of a wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WildPart {
    /// Literal text (escapes resolved).
    Lit(String),
    /// `*`: any run of characters, possibly empty.
    Any,
    /// `?`: exactly one character.
    One,
}

/// A comparison operator on a numeric field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

impl fmt::Display for Ast {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, op: &str, xs: &[Ast]| {
            write!(f, "({op}")?;
            for x in xs {
                write!(f, " {x}")?;
            }
            write!(f, ")")
        };
        match self {
            Ast::All => write!(f, "*"),
            Ast::And(xs) => list(f, "AND", xs),
            Ast::Or(xs) => list(f, "OR", xs),
            Ast::Not(x) => write!(f, "(NOT {x})"),
            Ast::Clause(c) => write!(f, "{c}"),
        }
    }
}

impl fmt::Display for Clause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(field) = &self.field {
            write!(f, "{field}:")?;
        }
        write!(f, "{}", self.value)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Term(s) => write!(f, "{s}"),
            Value::Phrase(s) => write!(f, "{s:?}"),
            Value::Wildcard(parts) => {
                for p in parts {
                    match p {
                        WildPart::Lit(s) => write!(f, "{s}")?,
                        WildPart::Any => write!(f, "*")?,
                        WildPart::One => write!(f, "?")?,
                    }
                }
                Ok(())
            }
            Value::Compare(op, v) => write!(f, "{}{v}", op.as_str()),
            Value::Range(lo, hi) => {
                let (open, lo) = match lo {
                    Bound::Included(s) => ('[', s.as_str()),
                    Bound::Excluded(s) => ('{', s.as_str()),
                    Bound::Unbounded => ('[', "*"),
                };
                let (close, hi) = match hi {
                    Bound::Included(s) => (']', s.as_str()),
                    Bound::Excluded(s) => ('}', s.as_str()),
                    Bound::Unbounded => (']', "*"),
                };
                write!(f, "{open}{lo} TO {hi}{close}")
            }
        }
    }
}
