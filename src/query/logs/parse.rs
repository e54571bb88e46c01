//! Lexer and recursive-descent parser for the log query language.
//!
//! Two passes because the lexical rules are context-sensitive in small ways that are easiest to
//! get right on characters (`host:` starts a value in which `:` and `AND` are literal; `[` after
//! a field opens a range) while precedence is easiest on tokens. Columns are 1-based character
//! positions so error messages line up with what the operator typed.

use std::ops::Bound;

use super::QueryError;
use super::ast::{Ast, Clause, CmpOp, Value, WildPart};

/// Longest accepted query in bytes; longer is almost certainly generated or hostile.
pub const MAX_QUERY_LEN: usize = 8192;
/// Deepest nesting of parentheses and prefix operators; bounds recursion on hostile input.
pub const MAX_DEPTH: usize = 64;
/// Most clauses in one query; bounds the cost of the compiled tantivy query.
pub const MAX_CLAUSES: usize = 1024;
/// Longest field name; SD-IDs and param names are at most 32 chars each in RFC 5424.
const MAX_FIELD_NAME: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Not,
    /// `+x`: required, which implicit AND already means.
    Plus,
    /// `-x`: prohibited.
    Minus,
    /// A bare word, escapes kept (`\*` must stay distinguishable from a wildcard `*`).
    Word(String),
    /// Quoted content, escapes resolved.
    Quoted(String),
    /// `name:` directly followed by a value.
    Field(String),
    Range(Bound<String>, Bound<String>),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    /// 1-based column of the token's first character.
    col: usize,
    /// The token as written, for error messages.
    text: String,
}

/// Parses a log query into an [`Ast`]. Never panics; every rejection says where and why.
pub fn parse(q: &str) -> Result<Ast, QueryError> {
    if q.len() > MAX_QUERY_LEN {
        return Err(QueryError::TooLong {
            len: q.len(),
            max: MAX_QUERY_LEN,
        });
    }
    let toks = lex(q)?;
    if toks.is_empty() {
        return Ok(Ast::All);
    }
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
        clauses: 0,
    };
    let ast = p.parse_or(None)?;
    if let Some(t) = p.toks.get(p.pos) {
        return Err(QueryError::Unexpected {
            token: t.text.clone(),
            col: t.col,
        });
    }
    Ok(ast)
}

fn is_space(c: char) -> bool {
    c.is_whitespace()
}

/// Characters that end a bare word.
fn ends_word(c: char) -> bool {
    is_space(c) || c == '(' || c == ')' || c == '"'
}

/// A field name: starts with a letter or `_`, then letters, digits, `_ . @ -`, not ending in
/// `.`. Dots and `@` because structured-data keys look like `exampleSDID@32473.iut`; a leading
/// digit is refused so `10.0.0.1:22` stays free text.
fn is_field_name(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '_')
        && s.len() <= MAX_FIELD_NAME
        && !s.ends_with('.')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@' | '-'))
}

fn lex(q: &str) -> Result<Vec<Token>, QueryError> {
    let cs: Vec<char> = q.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let text_of = |a: usize, b: usize| cs[a..b].iter().collect::<String>();
    while i < cs.len() {
        let c = cs[i];
        let col = i + 1;
        let next = cs.get(i + 1).copied();
        let simple = |tok, len: usize| Token {
            tok,
            col,
            text: text_of(i, i + len),
        };
        match c {
            _ if is_space(c) => {
                i += 1;
            }
            '(' => {
                out.push(simple(Tok::LParen, 1));
                i += 1;
            }
            ')' => {
                out.push(simple(Tok::RParen, 1));
                i += 1;
            }
            '"' => {
                let (s, end) = lex_quoted(&cs, i)?;
                out.push(Token {
                    tok: Tok::Quoted(s),
                    col,
                    text: text_of(i, end),
                });
                i = end;
            }
            '&' if next == Some('&') => {
                out.push(simple(Tok::And, 2));
                i += 2;
            }
            '|' if next == Some('|') => {
                out.push(simple(Tok::Or, 2));
                i += 2;
            }
            '!' => {
                out.push(simple(Tok::Not, 1));
                i += 1;
            }
            // A prefix only when glued to what it modifies; a lone `-` is just a word.
            '-' | '+' if next.is_some_and(|n| !is_space(n) && n != ')') => {
                let tok = if c == '-' { Tok::Minus } else { Tok::Plus };
                out.push(simple(tok, 1));
                i += 1;
            }
            _ => {
                i = lex_word(&cs, i, &mut out)?;
            }
        }
    }
    Ok(out)
}

/// Lexes a quoted string starting at `cs[start] == '"'`; returns content and end index.
fn lex_quoted(cs: &[char], start: usize) -> Result<(String, usize), QueryError> {
    let mut s = String::new();
    let mut i = start + 1;
    while i < cs.len() {
        match cs[i] {
            '\\' => match cs.get(i + 1) {
                Some(&e) => {
                    s.push(e);
                    i += 2;
                }
                None => break,
            },
            '"' => return Ok((s, i + 1)),
            c => {
                s.push(c);
                i += 1;
            }
        }
    }
    Err(QueryError::UnterminatedQuote { col: start + 1 })
}

/// Reads a raw word (escapes kept) from `i` to the next word end; returns the end index.
fn read_raw(cs: &[char], mut i: usize, stop_at_colon: bool) -> Result<(String, usize), QueryError> {
    let mut raw = String::new();
    while i < cs.len() && !ends_word(cs[i]) {
        if cs[i] == ':' && stop_at_colon {
            break;
        }
        if cs[i] == '\\' {
            let Some(&e) = cs.get(i + 1) else {
                return Err(QueryError::DanglingEscape { col: i + 1 });
            };
            raw.push('\\');
            raw.push(e);
            i += 2;
            continue;
        }
        raw.push(cs[i]);
        i += 1;
    }
    Ok((raw, i))
}

/// Lexes a word, which may turn out to be `field:` followed by its value, or a keyword.
fn lex_word(cs: &[char], start: usize, out: &mut Vec<Token>) -> Result<usize, QueryError> {
    let (prefix, i) = read_raw(cs, start, true)?;
    let text_of = |a: usize, b: usize| cs[a..b].iter().collect::<String>();
    if cs.get(i) == Some(&':') && is_field_name(&prefix) {
        out.push(Token {
            tok: Tok::Field(prefix.clone()),
            col: start + 1,
            text: text_of(start, i + 1),
        });
        let v = i + 1;
        return match cs.get(v) {
            None => Err(QueryError::MissingValue {
                field: format!("{prefix}:"),
                col: start + 1,
            }),
            Some(&c) if is_space(c) || c == ')' => Err(QueryError::MissingValue {
                field: format!("{prefix}:"),
                col: start + 1,
            }),
            Some('"') => {
                let (s, end) = lex_quoted(cs, v)?;
                out.push(Token {
                    tok: Tok::Quoted(s),
                    col: v + 1,
                    text: text_of(v, end),
                });
                Ok(end)
            }
            Some('(') => Ok(v),
            Some('[') | Some('{') => lex_range(cs, v, out),
            Some(_) => {
                let (raw, end) = read_raw(cs, v, false)?;
                out.push(Token {
                    tok: Tok::Word(raw),
                    col: v + 1,
                    text: text_of(v, end),
                });
                Ok(end)
            }
        };
    }
    // Not a field: the colon (if any) is part of the word.
    let (rest, end) = read_raw(cs, i, false)?;
    let raw = prefix + &rest;
    let tok = match raw.as_str() {
        "AND" => Tok::And,
        "OR" => Tok::Or,
        "NOT" => Tok::Not,
        _ => Tok::Word(raw),
    };
    out.push(Token {
        tok,
        col: start + 1,
        text: text_of(start, end),
    });
    Ok(end)
}

/// Lexes `[a TO b]` / `{a TO b}` (and mixed brackets) starting at the opening bracket.
fn lex_range(cs: &[char], start: usize, out: &mut Vec<Token>) -> Result<usize, QueryError> {
    let unterminated = QueryError::UnterminatedRange { col: start + 1 };
    let lower_incl = cs[start] == '[';
    let skip_ws = |mut i: usize| {
        while i < cs.len() && is_space(cs[i]) {
            i += 1;
        }
        i
    };
    let read_bound = |mut i: usize| {
        let mut s = String::new();
        while i < cs.len() && !is_space(cs[i]) && !matches!(cs[i], ']' | '}') {
            if cs[i] == '\\' && i + 1 < cs.len() {
                i += 1;
            }
            s.push(cs[i]);
            i += 1;
        }
        (s, i)
    };
    let i = skip_ws(start + 1);
    let (lo, i) = read_bound(i);
    let i = skip_ws(i);
    let (to, i) = read_bound(i);
    if lo.is_empty() || i >= cs.len() && to.is_empty() {
        return Err(unterminated);
    }
    if to != "TO" {
        return Err(QueryError::RangeMissingTo { col: start + 1 });
    }
    let i = skip_ws(i);
    let (hi, i) = read_bound(i);
    let i = skip_ws(i);
    let upper_incl = match cs.get(i) {
        Some(']') => true,
        Some('}') => false,
        _ => return Err(unterminated),
    };
    if hi.is_empty() {
        return Err(unterminated);
    }
    let bound = |s: String, incl: bool| match (s.as_str(), incl) {
        ("*", _) => Bound::Unbounded,
        (_, true) => Bound::Included(s),
        (_, false) => Bound::Excluded(s),
    };
    out.push(Token {
        tok: Tok::Range(bound(lo, lower_incl), bound(hi, upper_incl)),
        col: start + 1,
        text: cs[start..=i].iter().collect(),
    });
    Ok(i + 1)
}

/// Splits a raw word into wildcard parts, or returns the unescaped term when it has none.
fn word_value(raw: &str) -> Value {
    let mut parts = Vec::new();
    let mut lit = String::new();
    let mut wild = false;
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(e) = chars.next() {
                    lit.push(e);
                }
            }
            '*' | '?' => {
                wild = true;
                if !lit.is_empty() {
                    parts.push(WildPart::Lit(std::mem::take(&mut lit)));
                }
                let p = if c == '*' {
                    WildPart::Any
                } else {
                    WildPart::One
                };
                // `**` means the same as `*`; collapsing keeps the regex small.
                if !(p == WildPart::Any && parts.last() == Some(&WildPart::Any)) {
                    parts.push(p);
                }
            }
            _ => lit.push(c),
        }
    }
    if !wild {
        return Value::Term(lit);
    }
    if !lit.is_empty() {
        parts.push(WildPart::Lit(lit));
    }
    Value::Wildcard(parts)
}

fn unescape(raw: &str) -> String {
    let mut out = String::new();
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(e) = chars.next() {
                out.push(e);
            }
        } else {
            out.push(c);
        }
    }
    out
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    /// Current nesting of parentheses and prefix operators.
    depth: usize,
    /// Clauses produced so far, checked against [`MAX_CLAUSES`].
    clauses: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos)
    }

    fn bump(&mut self) -> Option<Token> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    /// Whether the next token can begin a clause (for implicit AND and operand checks).
    fn starts_operand(&self) -> bool {
        matches!(
            self.peek().map(|t| &t.tok),
            Some(
                Tok::LParen
                    | Tok::Not
                    | Tok::Plus
                    | Tok::Minus
                    | Tok::Word(_)
                    | Tok::Quoted(_)
                    | Tok::Field(_)
            )
        )
    }

    /// After a binary or prefix operator: the operand must follow.
    fn expect_operand(&self, op: &Token) -> Result<(), QueryError> {
        if self.starts_operand() {
            return Ok(());
        }
        Err(match self.peek() {
            None => QueryError::MissingTerm {
                token: op.text.clone(),
                col: op.col,
            },
            Some(t) => QueryError::Unexpected {
                token: t.text.clone(),
                col: t.col,
            },
        })
    }

    fn enter(&mut self, col: usize) -> Result<(), QueryError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(QueryError::TooDeep {
                col,
                max: MAX_DEPTH,
            });
        }
        Ok(())
    }

    fn parse_or(&mut self, ctx: Option<&str>) -> Result<Ast, QueryError> {
        let mut xs = vec![self.parse_and(ctx)?];
        while let Some(t) = self.peek().filter(|t| t.tok == Tok::Or).cloned() {
            self.pos += 1;
            self.expect_operand(&t)?;
            xs.push(self.parse_and(ctx)?);
        }
        Ok(if xs.len() == 1 {
            xs.swap_remove(0)
        } else {
            Ast::Or(xs)
        })
    }

    fn parse_and(&mut self, ctx: Option<&str>) -> Result<Ast, QueryError> {
        let mut xs = vec![self.parse_unary(ctx)?];
        loop {
            if let Some(t) = self.peek().filter(|t| t.tok == Tok::And).cloned() {
                self.pos += 1;
                self.expect_operand(&t)?;
            } else if !self.starts_operand() {
                break;
            }
            xs.push(self.parse_unary(ctx)?);
        }
        Ok(if xs.len() == 1 {
            xs.swap_remove(0)
        } else {
            Ast::And(xs)
        })
    }

    fn parse_unary(&mut self, ctx: Option<&str>) -> Result<Ast, QueryError> {
        let Some(t) = self.peek().cloned() else {
            return Err(QueryError::UnexpectedEnd);
        };
        match t.tok {
            Tok::Not | Tok::Minus | Tok::Plus => {
                self.pos += 1;
                self.expect_operand(&t)?;
                self.enter(t.col)?;
                let inner = self.parse_unary(ctx)?;
                self.depth -= 1;
                Ok(if t.tok == Tok::Plus {
                    inner
                } else {
                    Ast::Not(Box::new(inner))
                })
            }
            _ => self.parse_primary(ctx),
        }
    }

    fn parse_primary(&mut self, ctx: Option<&str>) -> Result<Ast, QueryError> {
        let Some(t) = self.bump() else {
            return Err(QueryError::UnexpectedEnd);
        };
        match t.tok {
            Tok::LParen => self.parse_group(&t, ctx),
            Tok::Field(name) => {
                let Some(v) = self.bump() else {
                    return Err(QueryError::MissingValue {
                        field: format!("{name}:"),
                        col: t.col,
                    });
                };
                match v.tok {
                    Tok::LParen => self.parse_group(&v, Some(&name)),
                    Tok::Word(raw) => self.word_clause(Some(&name), &raw, v.col),
                    Tok::Quoted(s) => self.clause(Some(&name), Value::Phrase(s), v.col),
                    Tok::Range(lo, hi) => self.clause(Some(&name), Value::Range(lo, hi), v.col),
                    _ => Err(QueryError::MissingValue {
                        field: format!("{name}:"),
                        col: t.col,
                    }),
                }
            }
            Tok::Word(raw) => self.word_clause(ctx, &raw, t.col),
            Tok::Quoted(s) => self.clause(ctx, Value::Phrase(s), t.col),
            _ => Err(QueryError::Unexpected {
                token: t.text,
                col: t.col,
            }),
        }
    }

    /// After `(`: a sub-expression (with `ctx` as its default field) and the `)`.
    fn parse_group(&mut self, open: &Token, ctx: Option<&str>) -> Result<Ast, QueryError> {
        match self.peek() {
            Some(t) if t.tok == Tok::RParen => {
                return Err(QueryError::EmptyParens { col: open.col });
            }
            None => return Err(QueryError::UnclosedParen { col: open.col }),
            _ => {}
        }
        self.enter(open.col)?;
        let inner = self.parse_or(ctx)?;
        self.depth -= 1;
        match self.bump() {
            Some(t) if t.tok == Tok::RParen => Ok(inner),
            Some(t) => Err(QueryError::Unexpected {
                token: t.text,
                col: t.col,
            }),
            None => Err(QueryError::UnclosedParen { col: open.col }),
        }
    }

    fn word_clause(
        &mut self,
        field: Option<&str>,
        raw: &str,
        col: usize,
    ) -> Result<Ast, QueryError> {
        if field.is_none() && raw == "*" {
            return Ok(Ast::All);
        }
        if let Some(name) = field {
            let ops = [
                ("<=", CmpOp::Le),
                (">=", CmpOp::Ge),
                ("<", CmpOp::Lt),
                (">", CmpOp::Gt),
            ];
            for (p, op) in ops {
                if let Some(rest) = raw.strip_prefix(p) {
                    if rest.is_empty() {
                        return Err(QueryError::MissingValue {
                            field: format!("{name}:{p}"),
                            col,
                        });
                    }
                    return self.clause(field, Value::Compare(op, unescape(rest)), col);
                }
            }
        }
        self.clause(field, word_value(raw), col)
    }

    fn clause(&mut self, field: Option<&str>, value: Value, col: usize) -> Result<Ast, QueryError> {
        self.clauses += 1;
        if self.clauses > MAX_CLAUSES {
            return Err(QueryError::TooManyClauses { max: MAX_CLAUSES });
        }
        Ok(Ast::Clause(Clause {
            field: field.map(str::to_string),
            value,
            col,
        }))
    }
}
