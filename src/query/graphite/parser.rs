//! graphite-web 1.1's target grammar (`render/grammar_unsafe.py`), hand-written so every quirk
//! is explicit:
//!
//! - a path element is any printable character except `(){},.'"\|`, or one of those escaped
//!   with a backslash; `{a,b}` enumerations may hold commas and dots are the separator;
//! - a number is only a number when followed by `,`, `)` or the end (`1abc` is a path);
//! - `true`/`false`/`none`/`inf` are caseless keywords (`trueish` is a path);
//! - keyword arguments come after positional ones;
//! - `a|f(x)` passes the left side as `f`'s first argument (spaces allowed around `|`);
//! - as pyparsing's `parseString` without `parseAll`, text after a complete expression is
//!   ignored (`a.b c` reads `a.b`), because graphite-web answers such targets that way.

use std::fmt;

/// One node of a parsed target.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A metric path expression with globs, fetched from the store.
    Path(String),
    Call(Call),
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    None,
    /// `inf`: positive infinity.
    Inf,
    /// `template(expr, values...)`: `$name` in expr's paths replaced at evaluation.
    Template(Template),
}

/// graphite-web's `template(call | path, args | kwargs)`: only numbers and strings as values,
/// positional ones named `1`, `2`..., either positional or keyword values, not both.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub inner: Box<Expr>,
    pub args: Vec<Expr>,
    pub kwargs: Vec<(String, Expr)>,
    pub raw: String,
}

/// A function call; `raw` is the call's source text, which `seriesByTag` needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub name: String,
    pub args: Vec<Expr>,
    pub kwargs: Vec<(String, Expr)>,
    pub raw: String,
}

/// Why a target did not parse; `pos` is a byte offset into the target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("empty target")]
    Empty,
    #[error("expected {expected} at position {pos}")]
    Expected { expected: &'static str, pos: usize },
    #[error("unterminated string starting at position {pos}")]
    UnterminatedString { pos: usize },
    #[error("expressions nest deeper than {MAX_DEPTH} at position {pos}")]
    TooDeep { pos: usize },
}

/// Bounds recursion so a hostile target cannot overflow the stack.
pub const MAX_DEPTH: usize = 64;

const SYMBOLS: &[u8] = b"(){},.'\"\\|";

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Path(p) => f.write_str(p),
            Expr::Call(c) => f.write_str(&c.raw),
            Expr::Str(s) => write!(f, "'{s}'"),
            Expr::Int(i) => write!(f, "{i}"),
            Expr::Float(x) => write!(f, "{x}"),
            Expr::Bool(b) => f.write_str(if *b { "True" } else { "False" }),
            Expr::None => f.write_str("None"),
            Expr::Inf => f.write_str("inf"),
            Expr::Template(t) => f.write_str(&t.raw),
        }
    }
}

/// Parses one target.
pub fn parse(target: &str) -> Result<Expr, ParseError> {
    let mut p = Parser { s: target, pos: 0 };
    p.ws();
    if p.pos >= p.s.len() {
        return Err(ParseError::Empty);
    }
    p.expression(0)
}

/// A template's inner expression, positional and keyword values.
type TemplateBody = (Expr, Vec<Expr>, Vec<(String, Expr)>);

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

fn is_path_char(c: char) -> bool {
    !(c.is_whitespace() || c.is_control() || is_symbol(c))
}

fn is_symbol(c: char) -> bool {
    c.is_ascii() && SYMBOLS.contains(&(c as u8))
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn ws(&mut self) {
        let r = self.rest();
        self.pos += r.len() - r.trim_start().len();
    }

    fn expected(&self, expected: &'static str) -> ParseError {
        ParseError::Expected {
            expected,
            pos: self.pos,
        }
    }

    /// `(call | path) ('|' call)*`
    fn expression(&mut self, depth: usize) -> Result<Expr, ParseError> {
        if depth > MAX_DEPTH {
            return Err(ParseError::TooDeep { pos: self.pos });
        }
        let mut e = if let Some(t) = self.template(depth)? {
            Expr::Template(t)
        } else {
            match self.call(depth)? {
                Some(c) => Expr::Call(c),
                None => Expr::Path(self.path()?),
            }
        };
        loop {
            let save = self.pos;
            while self.rest().starts_with(' ') {
                self.pos += 1;
            }
            if !self.rest().starts_with('|') {
                self.pos = save;
                return Ok(e);
            }
            self.pos += 1;
            while self.rest().starts_with(' ') {
                self.pos += 1;
            }
            match self.call(depth)? {
                Some(mut c) => {
                    c.args.insert(0, e);
                    e = Expr::Call(c);
                }
                None => return Err(self.expected("a function call after '|'")),
            }
        }
    }

    /// A call if an identifier followed by `(` is here; `None` (position unchanged) if not.
    fn call(&mut self, depth: usize) -> Result<Option<Call>, ParseError> {
        let start = self.pos;
        let r = self.rest();
        let mut chars = r.char_indices();
        match chars.next() {
            Some((_, c)) if is_ident_start(c) => {}
            _ => return Ok(None),
        }
        let len = chars
            .find(|(_, c)| !is_ident(*c))
            .map_or(r.len(), |(i, _)| i);
        // pyparsing skips whitespace between the name and `(`.
        let after = r[len..].trim_start();
        if !after.starts_with('(') {
            return Ok(None);
        }
        let name = r[..len].to_string();
        self.pos += r.len() - after.len() + 1;
        let mut args = Vec::new();
        let mut kwargs = Vec::new();
        self.ws();
        if self.peek() != Some(')') {
            loop {
                self.ws();
                if let Some(k) = self.kwarg_name() {
                    self.ws();
                    kwargs.push((k, self.arg(depth + 1)?));
                } else if kwargs.is_empty() {
                    args.push(self.arg(depth + 1)?);
                } else {
                    return Err(self.expected("a keyword argument"));
                }
                self.ws();
                match self.peek() {
                    Some(',') => self.pos += 1,
                    Some(')') => break,
                    _ => return Err(self.expected("',' or ')'")),
                }
            }
        }
        self.pos += 1; // ')'
        Ok(Some(Call {
            name,
            args,
            kwargs,
            raw: self.s[start..self.pos].to_string(),
        }))
    }

    /// `template(call | path [, literals | keyword literals])` if one is here; otherwise the
    /// position is unchanged and the text parses as an ordinary call (which the evaluator
    /// refuses, as graphite-web does).
    fn template(&mut self, depth: usize) -> Result<Option<Template>, ParseError> {
        let start = self.pos;
        if !self.rest().starts_with("template") {
            return Ok(None);
        }
        self.pos += "template".len();
        self.ws();
        if self.peek() != Some('(') {
            self.pos = start;
            return Ok(None);
        }
        self.pos += 1;
        match self.template_body(depth) {
            Ok(Some((inner, args, kwargs))) => Ok(Some(Template {
                inner: Box::new(inner),
                args,
                kwargs,
                raw: self.s[start..self.pos].to_string(),
            })),
            Err(e @ ParseError::TooDeep { .. }) => Err(e),
            _ => {
                self.pos = start;
                Ok(None)
            }
        }
    }

    fn template_body(&mut self, depth: usize) -> Result<Option<TemplateBody>, ParseError> {
        self.ws();
        let inner = match self.call(depth + 1)? {
            Some(c) => Expr::Call(c),
            None => Expr::Path(self.path()?),
        };
        let mut args = Vec::new();
        let mut kwargs = Vec::new();
        self.ws();
        if self.peek() == Some(',') {
            self.pos += 1;
            self.ws();
            let keywords = self.kwarg_name_ahead();
            loop {
                self.ws();
                if keywords {
                    let Some(k) = self.kwarg_name() else {
                        return Ok(None);
                    };
                    self.ws();
                    let Some(v) = self.literal()? else {
                        return Ok(None);
                    };
                    kwargs.push((k, v));
                } else {
                    if self.kwarg_name_ahead() {
                        return Ok(None);
                    }
                    let Some(v) = self.literal()? else {
                        return Ok(None);
                    };
                    args.push(v);
                }
                self.ws();
                if self.peek() == Some(',') {
                    self.pos += 1;
                } else {
                    break;
                }
            }
        }
        self.ws();
        if self.peek() != Some(')') {
            return Ok(None);
        }
        self.pos += 1;
        Ok(Some((inner, args, kwargs)))
    }

    /// Whether `name =` is next, without consuming it.
    fn kwarg_name_ahead(&mut self) -> bool {
        let save = self.pos;
        let found = self.kwarg_name().is_some();
        self.pos = save;
        found
    }

    /// A number or a quoted string (graphite-web's `litarg`).
    fn literal(&mut self) -> Result<Option<Expr>, ParseError> {
        if let Some(e) = self.number() {
            return Ok(Some(e));
        }
        if let Some(q @ ('\'' | '"')) = self.peek() {
            return self.string(q).map(Some);
        }
        Ok(None)
    }

    /// `name =` consumed and returned when present.
    fn kwarg_name(&mut self) -> Option<String> {
        let r = self.rest();
        let mut chars = r.char_indices();
        match chars.next() {
            Some((_, c)) if is_ident_start(c) => {}
            _ => return None,
        }
        let len = chars
            .find(|(_, c)| !is_ident(*c))
            .map_or(r.len(), |(i, _)| i);
        let after = r[len..].trim_start();
        if !after.starts_with('=') {
            return None;
        }
        let name = r[..len].to_string();
        self.pos += r.len() - after.len() + 1;
        Some(name)
    }

    fn arg(&mut self, depth: usize) -> Result<Expr, ParseError> {
        for (kw, e) in [("true", Expr::Bool(true)), ("false", Expr::Bool(false))] {
            if self.keyword(kw) {
                return Ok(e);
            }
        }
        if let Some(e) = self.number() {
            return Ok(e);
        }
        if self.keyword("none") {
            return Ok(Expr::None);
        }
        if let Some(q @ ('\'' | '"')) = self.peek() {
            return self.string(q);
        }
        if self.keyword("inf") {
            return Ok(Expr::Inf);
        }
        self.expression(depth)
    }

    /// A caseless keyword not followed by an identifier character.
    fn keyword(&mut self, kw: &str) -> bool {
        let r = self.rest();
        let Some(head) = r.get(..kw.len()) else {
            return false;
        };
        if !head.eq_ignore_ascii_case(kw) {
            return false;
        }
        if r[kw.len()..].chars().next().is_some_and(is_ident) {
            return false;
        }
        self.pos += kw.len();
        true
    }

    /// `-?\d+(\.\d+)?([eE]-?\d+)?` followed by `,`, `)` or the end; otherwise not a number.
    fn number(&mut self) -> Option<Expr> {
        let b = self.rest().as_bytes();
        let digits = |mut i: usize| {
            let s = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            (i > s).then_some(i)
        };
        let mut i = usize::from(b.first() == Some(&b'-'));
        i = digits(i)?;
        let mut float = false;
        if b.get(i) == Some(&b'.')
            && let Some(j) = digits(i + 1)
        {
            i = j;
            float = true;
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            let k = i + 1 + usize::from(b.get(i + 1) == Some(&b'-'));
            if let Some(j) = digits(k) {
                i = j;
                float = true;
            }
        }
        let after = self.rest()[i..].trim_start();
        if !(after.is_empty() || after.starts_with(',') || after.starts_with(')')) {
            return None;
        }
        let text = &self.rest()[..i];
        let e = if float {
            Expr::Float(text.parse().ok()?)
        } else {
            // Python ints are unbounded; beyond i64 the value is kept as a float.
            text.parse::<i64>()
                .map(Expr::Int)
                .or_else(|_| text.parse::<f64>().map(Expr::Float))
                .ok()?
        };
        self.pos += i;
        Some(e)
    }

    /// pyparsing's `quotedString`: backslash escapes the next character, kept as written
    /// (graphite-web strips only the quotes).
    fn string(&mut self, q: char) -> Result<Expr, ParseError> {
        let start = self.pos;
        self.pos += 1;
        let body_start = self.pos;
        let mut it = self.rest().char_indices();
        while let Some((i, c)) = it.next() {
            if c == '\\' {
                it.next();
            } else if c == q {
                let body = self.s[body_start..body_start + i].to_string();
                self.pos = body_start + i + 1;
                return Ok(Expr::Str(body));
            } else if c == '\n' {
                break;
            }
        }
        Err(ParseError::UnterminatedString { pos: start })
    }

    /// Dot-separated elements of path characters, `\`-escaped symbols and `{a,b}` groups.
    fn path(&mut self) -> Result<String, ParseError> {
        let mut out = String::new();
        loop {
            let before = out.len();
            self.path_element(&mut out)?;
            if out.len() == before {
                if before == 0 {
                    return Err(self.expected("a path expression"));
                }
                // pyparsing's delimitedList stops before a dot with nothing after it.
                out.pop();
                self.pos -= 1;
                return Ok(out);
            }
            if self.rest().starts_with('.') {
                self.pos += 1;
                out.push('.');
            } else {
                return Ok(out);
            }
        }
    }

    fn path_element(&mut self, out: &mut String) -> Result<(), ParseError> {
        loop {
            match self.peek() {
                Some('\\') => {
                    let mut chars = self.rest()[1..].chars();
                    match chars.next() {
                        Some(c) if is_symbol(c) || c == '=' => {
                            out.push(c);
                            self.pos += 2;
                        }
                        _ => return Ok(()),
                    }
                }
                Some('{') => {
                    let save = self.pos;
                    let len = out.len();
                    if !self.enumeration(out) {
                        self.pos = save;
                        out.truncate(len);
                        return Ok(());
                    }
                }
                Some(c) if is_path_char(c) => {
                    out.push(c);
                    self.pos += c.len_utf8();
                }
                _ => return Ok(()),
            }
        }
    }

    /// `{elem,elem,...}` where each elem is partial-path text; false if not well formed.
    fn enumeration(&mut self, out: &mut String) -> bool {
        self.pos += 1;
        out.push('{');
        loop {
            let before = out.len();
            while let Some(c) = self.peek() {
                if c == '\\' {
                    match self.rest()[1..].chars().next() {
                        Some(e) if is_symbol(e) || e == '=' => {
                            out.push(e);
                            self.pos += 2;
                        }
                        _ => break,
                    }
                } else if is_path_char(c) {
                    out.push(c);
                    self.pos += c.len_utf8();
                } else {
                    break;
                }
            }
            if out.len() == before {
                return false;
            }
            match self.peek() {
                Some(',') => {
                    out.push(',');
                    self.pos += 1;
                }
                Some('}') => {
                    out.push('}');
                    self.pos += 1;
                    return true;
                }
                _ => return false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(e: &Expr) -> &Call {
        match e {
            Expr::Call(c) => c,
            other => panic!("not a call: {other:?}"),
        }
    }

    #[test]
    fn paths_keep_graphite_glob_and_tag_characters() {
        for p in [
            "a.*.{b,c}[0-9]",
            "web-1.cpu:user",
            "cpu;host=web1;dc=ams",
            "a.b?c.[!x]",
        ] {
            assert_eq!(parse(p), Ok(Expr::Path(p.to_string())), "{p}");
        }
        assert_eq!(parse(r"a\(b\).c"), Ok(Expr::Path("a(b).c".into())));
    }

    #[test]
    fn calls_nest_with_all_argument_kinds() {
        let e = parse(r#"f(a.b, g(c), 'x', "y,z", 1, -2.5, 1e3, True, false, None, inf, k=2)"#)
            .unwrap();
        let c = call(&e);
        assert_eq!(c.name, "f");
        assert_eq!(
            c.args[..2],
            [
                Expr::Path("a.b".into()),
                Expr::Call(Call {
                    name: "g".into(),
                    args: vec![Expr::Path("c".into())],
                    kwargs: vec![],
                    raw: "g(c)".into()
                })
            ]
        );
        assert_eq!(
            c.args[2..],
            [
                Expr::Str("x".into()),
                Expr::Str("y,z".into()),
                Expr::Int(1),
                Expr::Float(-2.5),
                Expr::Float(1000.0),
                Expr::Bool(true),
                Expr::Bool(false),
                Expr::None,
                Expr::Inf,
            ]
        );
        assert_eq!(c.kwargs, vec![("k".to_string(), Expr::Int(2))]);
    }

    #[test]
    fn numbers_need_a_delimiter_and_keywords_a_word_end() {
        let e = parse("f(1abc, trueish, 2)").unwrap();
        assert_eq!(
            call(&e).args,
            [
                Expr::Path("1abc".into()),
                Expr::Path("trueish".into()),
                Expr::Int(2)
            ]
        );
    }

    #[test]
    fn pipes_pass_the_left_side_first() {
        let piped = parse(r#"a.b | scale(2)|alias("x")"#).unwrap();
        let c = call(&piped);
        assert_eq!(c.name, "alias");
        let inner = call(&c.args[0]);
        assert_eq!(inner.name, "scale");
        assert_eq!(inner.args, [Expr::Path("a.b".into()), Expr::Int(2)]);
    }

    #[test]
    fn errors_name_the_position() {
        assert_eq!(parse("  "), Err(ParseError::Empty));
        assert_eq!(
            parse("f(a,"),
            Err(ParseError::Expected {
                expected: "a path expression",
                pos: 4
            })
        );
        assert_eq!(
            parse("f(k=1, a)"),
            Err(ParseError::Expected {
                expected: "a keyword argument",
                pos: 7
            })
        );
        assert_eq!(
            parse("f('abc)"),
            Err(ParseError::UnterminatedString { pos: 2 })
        );
        let deep = "f(".repeat(100) + "a" + &")".repeat(100);
        assert!(matches!(parse(&deep), Err(ParseError::TooDeep { .. })));
    }

    #[test]
    fn trailing_text_is_ignored_as_graphite_web_does() {
        assert_eq!(parse("a.b c"), Ok(Expr::Path("a.b".into())));
        // an enumeration cannot hold a dot, so the path ends before it
        assert_eq!(parse("a.{x.y,z}"), Ok(Expr::Path("a".into())));
    }

    #[test]
    fn templates_take_only_literal_values() {
        let e = parse("template(a.$x.c, x='b')").unwrap();
        let Expr::Template(t) = e else {
            panic!("not a template: {e:?}")
        };
        assert_eq!(*t.inner, Expr::Path("a.$x.c".into()));
        assert_eq!(t.kwargs, vec![("x".to_string(), Expr::Str("b".into()))]);
        let e = parse("template( sumSeries(a.$1) , 2, 'z') | scale(2)").unwrap();
        let c = call(&e);
        assert_eq!(c.name, "scale");
        let Expr::Template(t) = &c.args[0] else {
            panic!("not a template: {:?}", c.args[0])
        };
        assert_eq!(t.args, [Expr::Int(2), Expr::Str("z".into())]);
        assert_eq!(t.raw, "template( sumSeries(a.$1) , 2, 'z')");
        // anything else is an ordinary call, which the evaluator refuses
        for bad in [
            "template(a.b, x=c.d)",
            "template(a.b, 1, x=2)",
            "template(a.b, true)",
        ] {
            assert_eq!(call(&parse(bad).unwrap()).name, "template", "{bad}");
        }
        assert_eq!(parse("templates.x"), Ok(Expr::Path("templates.x".into())));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,60}") {
            let _ = parse(&s);
        }

        #[test]
        fn never_panics_inside_templates(s in "[a-z0-9(){},.'\"\\\\|=$ -]{0,40}") {
            let _ = parse(&format!("template({s}"));
        }

        #[test]
        fn never_panics_on_grammar_characters(s in "[a-z0-9(){},.'\"\\\\|=*; -]{0,60}") {
            let _ = parse(&s);
        }
    }
}
