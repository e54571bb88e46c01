//! The pattern compiler: rule patterns (literal text with `%{type:field}` captures) become
//! anchored `regex` programs. The `regex` crate guarantees linear-time matching, so no rule and
//! no hostile line can make the normalizer hang (the grok failure mode).

use std::collections::BTreeMap;
use std::net::IpAddr;

use memchr::memmem;
use regex::bytes::{Regex, RegexBuilder};

/// Why a pattern does not compile.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PatternError {
    #[error("unclosed %{{ in pattern")]
    Unclosed,
    #[error("unknown capture type or library pattern {0:?}")]
    Unknown(String),
    #[error("invalid field name {0:?} (letters, digits, '_', '.', '-')")]
    BadField(String),
    #[error("library pattern {0:?} nests too deep (a cycle?)")]
    TooDeep(String),
    #[error("regex: {0}")]
    Regex(String),
}

/// How a captured value is checked and converted before it becomes a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    Int,
    Float,
    Ip,
    /// `1.5s`, `200ms`, `3m`: stored as milliseconds.
    Duration,
}

/// One named capture: which regex group feeds which field.
#[derive(Debug)]
pub struct Capture {
    pub group: usize,
    pub field: String,
    pub kind: Kind,
}

/// A compiled pattern, ready to match.
#[derive(Debug)]
pub struct CompiledPattern {
    pub regex: Regex,
    pub captures: Vec<Capture>,
    /// The literal text the pattern starts with (after optional blanks); checked first
    /// because it costs a few byte compares and rejects most lines meant for sibling rules.
    pub prefix: Option<String>,
    /// The longest literal the pattern requires; a line without it skips the regex entirely.
    pub literal: Option<memmem::Finder<'static>>,
}

impl CompiledPattern {
    /// Whether the literal prefilters allow a match (false means it cannot match).
    pub fn may_match(&self, message: &str) -> bool {
        if let Some(p) = &self.prefix
            && !message.trim_start().starts_with(p.as_str())
        {
            return false;
        }
        self.literal
            .as_ref()
            .is_none_or(|f| f.find(message.as_bytes()).is_some())
    }
}

/// Regex text and kind for each built-in capture type.
fn builtin(name: &str) -> Option<(&'static str, Kind)> {
    Some(match name {
        "word" => (r"\w+", Kind::Str),
        "notspace" => (r"\S+", Kind::Str),
        "int" => (r"[+-]?\d+", Kind::Int),
        "float" => (
            r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?",
            Kind::Float,
        ),
        "ip" => (
            r"(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:.]*[0-9A-Fa-f])",
            Kind::Ip,
        ),
        "duration" => (r"\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h)", Kind::Duration),
        "quoted" => (r#"(?:[^"\\]|\\.)*"#, Kind::Str),
        "rest" => (r"(?s:.*)", Kind::Str),
        "data" => (r"(?s:.*?)", Kind::Str),
        "hostport" => (
            r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+|[0-9A-Fa-f:]+):\d+",
            Kind::Str,
        ),
        "timestamp" => (
            concat!(
                r"(?:\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?",
                r"|\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}",
                r"|\d{1,2}/[A-Za-z]{3}/\d{4}:\d{2}:\d{2}:\d{2}(?:\.\d+)?(?: [+-]\d{4})?",
                r"|[A-Za-z]{3} [A-Za-z]{3} +\d{1,2} \d{2}:\d{2}:\d{2}(?:\.\d+)? \d{4}",
                r"|\d{1,2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2}(?:\.\d+)?",
                r"|\d{1,2}-[A-Za-z]{3}-\d{4} \d{2}:\d{2}:\d{2}(?:\.\d+)?",
                r"|[A-Za-z]{3} +\d{1,2} \d{2}:\d{2}:\d{2}",
                r"|\d{6} +\d{1,2}:\d{2}:\d{2})"
            ),
            Kind::Str,
        ),
        _ => return None,
    })
}

/// Maximum nesting of library patterns; deeper is treated as a cycle.
const MAX_DEPTH: usize = 8;

struct Builder<'a> {
    library: &'a BTreeMap<String, String>,
    regex: String,
    captures: Vec<(String, String, Kind)>,
}

impl Builder<'_> {
    /// Appends `%{spec}` (type or library name, optional field) to the regex.
    fn reference(&mut self, spec: &str, depth: usize) -> Result<(), PatternError> {
        let (name, field) = match spec.split_once(':') {
            Some((n, f)) => (n.trim(), Some(f.trim())),
            None => (spec.trim(), None),
        };
        if let Some(f) = field
            && (f.is_empty()
                || !f
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')))
        {
            return Err(PatternError::BadField(f.to_string()));
        }
        let group = field.map(|f| {
            let g = format!("c{}", self.captures.len());
            (f, g)
        });
        if let Some((f, g)) = &group {
            // quoted captures keep the quotes outside the group so the field is the content
            if name == "quoted" {
                self.regex.push('"');
            }
            self.regex.push_str(&format!("(?P<{g}>"));
            let kind = builtin(name).map_or(Kind::Str, |(_, k)| k);
            self.captures.push((g.clone(), f.to_string(), kind));
        } else {
            if name == "quoted" {
                self.regex.push('"');
            }
            self.regex.push_str("(?:");
        }
        if let Some((re, _)) = builtin(name) {
            self.regex.push_str(re);
        } else if let Some(body) = self.library.get(name) {
            if depth >= MAX_DEPTH {
                return Err(PatternError::TooDeep(name.to_string()));
            }
            self.expand(body, depth + 1, false)?;
        } else {
            return Err(PatternError::Unknown(name.to_string()));
        }
        self.regex.push(')');
        if name == "quoted" {
            self.regex.push('"');
        }
        Ok(())
    }

    /// Walks pattern text: `%{...}` references expand, everything else is literal text in a
    /// rule pattern (`literal = true`) or regex syntax in a library entry. Returns the literal
    /// chunks seen (rule patterns only), which feed the prefilter.
    fn expand(
        &mut self,
        text: &str,
        depth: usize,
        literal: bool,
    ) -> Result<Vec<String>, PatternError> {
        let mut chunks = Vec::new();
        let mut lit = String::new();
        let mut rest = text;
        loop {
            let Some(pos) = rest.find("%{") else {
                lit.push_str(rest);
                break;
            };
            lit.push_str(&rest[..pos]);
            let after = &rest[pos + 2..];
            let end = after.find('}').ok_or(PatternError::Unclosed)?;
            self.flush(&mut lit, literal, &mut chunks);
            self.reference(&after[..end], depth)?;
            rest = &after[end + 1..];
        }
        self.flush(&mut lit, literal, &mut chunks);
        Ok(chunks)
    }

    /// Emits pending literal text: in rule patterns a run of spaces matches any run of blanks
    /// (log lines pad columns), other characters match themselves.
    fn flush(&mut self, lit: &mut String, literal: bool, chunks: &mut Vec<String>) {
        if !literal {
            self.regex.push_str(lit);
            lit.clear();
            return;
        }
        let mut first = true;
        for part in lit.split(' ') {
            if !first && !self.regex.ends_with("[ \\t]+") {
                self.regex.push_str("[ \\t]+");
            }
            first = false;
            if !part.is_empty() {
                self.regex.push_str(&regex::escape(part));
                chunks.push(part.to_string());
            }
        }
        lit.clear();
    }
}

/// Compiles a rule pattern against the library. The pattern must match the whole message
/// (leading and trailing blanks allowed): partial matches would let a rule for one message shape grab
/// fields out of a different one.
pub fn compile(
    pattern: &str,
    library: &BTreeMap<String, String>,
) -> Result<CompiledPattern, PatternError> {
    let mut b = Builder {
        library,
        regex: String::from(r"^\s*"),
        captures: Vec::new(),
    };
    let chunks = b.expand(pattern, 0, true)?;
    b.regex.push_str(r"\s*\z");
    // ASCII classes on bytes: log delimiters are ASCII, and Unicode-aware \w, \d and \s make
    // the automata several times larger and the matches slower. Captures are cut at char
    // boundaries by the engine (a capture that would split a character is skipped).
    let regex = RegexBuilder::new(&b.regex)
        .unicode(false)
        .build()
        .map_err(|e| PatternError::Regex(e.to_string()))?;
    let mut captures = Vec::with_capacity(b.captures.len());
    for (group, field, kind) in b.captures {
        let idx = regex
            .capture_names()
            .position(|n| n == Some(group.as_str()))
            .ok_or_else(|| PatternError::Regex(format!("lost capture group {group}")))?;
        captures.push(Capture {
            group: idx,
            field,
            kind,
        });
    }
    let literal = chunks
        .into_iter()
        .max_by_key(|c| c.len())
        .filter(|c| c.len() >= 3)
        .map(|c| memmem::Finder::new(c.as_bytes()).into_owned());
    let lead = pattern.trim_start();
    let lead = &lead[..lead.find([' ', '\t', '%']).unwrap_or(lead.len())];
    let prefix = (!lead.is_empty()).then(|| lead.to_string());
    Ok(CompiledPattern {
        regex,
        captures,
        prefix,
        literal,
    })
}

/// Checks and converts a captured value; `None` means the type does not hold and the pattern
/// must be treated as not matching.
pub fn convert(kind: Kind, value: &str) -> Option<String> {
    match kind {
        Kind::Str => Some(value.to_string()),
        Kind::Int => value.parse::<i64>().ok().map(|_| value.to_string()),
        Kind::Float => value
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(|_| value.to_string()),
        Kind::Ip => value.parse::<IpAddr>().ok().map(|ip| ip.to_string()),
        Kind::Duration => duration_ms(value).map(|ms| format!("{ms}")),
    }
}

/// Parses `1.5s`, `200ms`, `3m`... into milliseconds.
fn duration_ms(value: &str) -> Option<f64> {
    let split = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(value.len());
    let (num, unit) = value.split_at(split);
    let n: f64 = num.parse().ok()?;
    let factor = match unit {
        "ns" => 1e-6,
        "us" | "µs" => 1e-3,
        "ms" => 1.0,
        "s" => 1000.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        _ => return None,
    };
    let ms = n * factor;
    ms.is_finite().then_some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lib() -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        m.insert("USER".into(), r"[A-Za-z0-9_.@-]+".into());
        m.insert("LOOP".into(), "%{LOOP}".into());
        m
    }

    fn fields(p: &CompiledPattern, msg: &str) -> Option<Vec<(String, String)>> {
        let caps = p.regex.captures(msg.as_bytes())?;
        let mut out = Vec::new();
        for c in &p.captures {
            if let Some(m) = caps.get(c.group) {
                out.push((c.field.clone(), convert(c.kind, msg.get(m.range())?)?));
            }
        }
        Some(out)
    }

    #[test]
    fn typed_captures() {
        let p = compile(
            "Failed password for %{USER:user} from %{ip:client_ip} port %{int:client_port} ssh2",
            &lib(),
        )
        .unwrap();
        let f = fields(&p, "Failed password for root from 1.2.3.4 port 22 ssh2").unwrap();
        assert_eq!(
            f,
            vec![
                ("user".into(), "root".into()),
                ("client_ip".into(), "1.2.3.4".into()),
                ("client_port".into(), "22".into())
            ]
        );
        assert!(fields(&p, "Failed password for root from 1.2.3.999 port 22 ssh2").is_none());
        assert!(fields(&p, "Failed password for root from ::1 port 22 ssh2").is_some());
        assert!(
            fields(
                &p,
                "Failed password for root from 1.2.3.4 port 22 ssh2 extra"
            )
            .is_none()
        );
    }

    #[test]
    fn duration_quoted_and_spaces() {
        let p = compile("took %{duration:duration_ms} q=%{quoted:q}", &lib()).unwrap();
        let f = fields(&p, r#"took   1.5s q="a \"b\"""#).unwrap();
        assert_eq!(f[0].1, "1500");
        assert_eq!(f[1].1, r#"a \"b\""#);
        assert_eq!(
            fields(&p, r#"took 200ms q="""#).unwrap()[0].1,
            "200".to_string()
        );
    }

    #[test]
    fn prefilters() {
        let p = compile("Failed password for %{notspace:user}", &lib()).unwrap();
        assert_eq!(p.prefix.as_deref(), Some("Failed"));
        assert!(p.may_match("  Failed password for x"));
        assert!(!p.may_match("Accepted password for x"));
        assert!(!p.may_match("Failed publickey for x"));
        let p = compile("%{int:n} apples", &lib()).unwrap();
        assert_eq!(p.prefix, None);
        assert!(p.may_match("3 apples") && !p.may_match("3 pears"));
    }

    #[test]
    fn int_overflow_does_not_match() {
        let p = compile("n=%{int:n}", &lib()).unwrap();
        assert!(fields(&p, "n=99999999999999999999999").is_none());
    }

    #[test]
    fn errors() {
        assert_eq!(
            compile("%{nope:x}", &lib()).unwrap_err(),
            PatternError::Unknown("nope".into())
        );
        assert_eq!(
            compile("%{int:x", &lib()).unwrap_err(),
            PatternError::Unclosed
        );
        assert_eq!(
            compile("%{LOOP}", &lib()).unwrap_err(),
            PatternError::TooDeep("LOOP".into())
        );
        assert!(matches!(
            compile("%{int:a b}", &lib()).unwrap_err(),
            PatternError::BadField(_)
        ));
    }
}
