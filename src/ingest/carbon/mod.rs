//! Graphite plaintext protocol (carbon's "line" receiver): `path value timestamp\n` on TCP and
//! UDP (a datagram may carry several lines). Semantics follow carbon 1.1 exactly:
//!
//! - a line must split on whitespace into exactly three fields; value and timestamp parse as
//!   floats (`nan`, `inf`, `1e3` included); anything else is rejected and counted, and the
//!   connection is kept;
//! - a NaN value is dropped silently (carbon's `datapoint[1] != datapoint[1]`), counted apart;
//! - a timestamp of `-1` means now; fractional timestamps are truncated to whole seconds;
//! - the name is normalized as carbon's `TaggedSeries.parse(...).path`: `name;b=2;a=1` and
//!   `name{b="2",a="1"}` both become `name;a=1;b=2`, and a leading `~` is stripped from the
//!   name. A name whose tags do not validate is kept verbatim, as carbon logs and keeps it.

pub mod listener;

use crate::model::MetricPoint;

/// Why a line was rejected (non-allocating: the caller counts, logs a sample).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("line is not valid UTF-8")]
    NotUtf8,
    #[error("line does not have exactly three fields (path value timestamp)")]
    FieldCount,
    #[error("value is not a number")]
    BadValue,
    #[error("timestamp is not a number")]
    BadTimestamp,
}

/// What one line turned into.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    Point(MetricPoint),
    /// A NaN value: carbon drops these without complaint.
    NaN,
}

/// Parses one line (without its newline). `now_secs` replaces a timestamp of -1.
pub fn parse_line(line: &[u8], now_secs: i64) -> Result<Parsed, LineError> {
    let line = std::str::from_utf8(line).map_err(|_| LineError::NotUtf8)?;
    let mut it = line.split_whitespace();
    let (Some(path), Some(value), Some(ts), None) = (it.next(), it.next(), it.next(), it.next())
    else {
        return Err(LineError::FieldCount);
    };
    let value: f64 = parse_float(value).ok_or(LineError::BadValue)?;
    let ts: f64 = parse_float(ts).ok_or(LineError::BadTimestamp)?;
    if value.is_nan() {
        return Ok(Parsed::NaN);
    }
    if !ts.is_finite() {
        return Err(LineError::BadTimestamp);
    }
    // python's int() truncates toward zero; carbon compares int(ts) with -1
    let ts = ts.trunc();
    if !(-1e15..=1e15).contains(&ts) {
        return Err(LineError::BadTimestamp);
    }
    let ts = ts as i64;
    let timestamp = if ts == -1 { now_secs } else { ts };
    Ok(Parsed::Point(MetricPoint {
        name: normalize_name(path),
        value,
        timestamp,
    }))
}

/// Python's `float()` on the forms senders use: Rust's parser plus python's spellings of
/// infinity and NaN with a sign, which Rust already accepts case-insensitively.
fn parse_float(s: &str) -> Option<f64> {
    s.parse::<f64>().ok()
}

/// carbon's `TaggedSeries.parse(path).path`, or the path unchanged when it does not parse.
pub fn normalize_name(path: &str) -> String {
    let parsed = if path.ends_with("\"}") && path.contains('{') {
        parse_openmetrics(path)
    } else {
        parse_carbon(path)
    };
    parsed.unwrap_or_else(|| path.to_string())
}

fn valid_tag(tag: &str, value: &str) -> bool {
    !tag.is_empty()
        && !value.is_empty()
        && !tag.contains([';', '!', '^', '='])
        && !value.contains(';')
        && !value.starts_with('~')
}

/// `name` as a tag value: leading `~` stripped; empty is an error.
fn sanitize_name(name: &str) -> Option<&str> {
    let s = name.trim_start_matches('~');
    (!s.is_empty()).then_some(s)
}

fn format(name: &str, mut tags: Vec<(String, String)>) -> String {
    // later duplicates win, as in carbon's dict; then sorted by "tag=value" text
    let mut dedup: Vec<(String, String)> = Vec::with_capacity(tags.len());
    for (k, v) in tags.drain(..) {
        if let Some(e) = dedup.iter_mut().find(|(dk, _)| *dk == k) {
            e.1 = v;
        } else {
            dedup.push((k, v));
        }
    }
    let mut parts: Vec<String> = dedup
        .into_iter()
        .filter(|(k, _)| k != "name")
        .map(|(k, v)| format!(";{k}={v}"))
        .collect();
    parts.sort();
    let mut out = String::with_capacity(name.len() + parts.iter().map(String::len).sum::<usize>());
    out.push_str(name);
    for p in parts {
        out.push_str(&p);
    }
    out
}

fn parse_carbon(path: &str) -> Option<String> {
    let mut segments = path.split(';');
    let metric = segments.next().filter(|m| !m.is_empty())?;
    if !path.contains(';') {
        // the common case: no tags, only the `~` rule applies
        return sanitize_name(metric).map(str::to_string);
    }
    let mut tags = Vec::new();
    for seg in segments {
        let (k, v) = seg.split_once('=')?;
        if k.is_empty() || !valid_tag(k, v) {
            return None;
        }
        tags.push((k.to_string(), v.to_string()));
    }
    // a `name` tag in the path is overridden by the metric itself, as in carbon
    tags.push(("name".to_string(), sanitize_name(metric)?.to_string()));
    let name = sanitize_name(metric)?.to_string();
    Some(format(&name, tags))
}

fn parse_openmetrics(path: &str) -> Option<String> {
    let body = &path[..path.len() - 1];
    let (metric, mut raw) = body.split_once('{')?;
    if metric.is_empty() {
        return None;
    }
    let mut tags = Vec::new();
    while !raw.is_empty() {
        // tag="value" with \" and \\ escapes, then ',' or end
        let eq = raw.find('=')?;
        let tag = &raw[..eq];
        let rest = raw[eq + 1..].strip_prefix('"')?;
        let mut value = String::new();
        let mut end = None;
        let mut chars = rest.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, '"')) => value.push('"'),
                    Some((_, '\\')) => value.push('\\'),
                    _ => return None,
                },
                '"' => {
                    end = Some(i);
                    break;
                }
                c => value.push(c),
            }
        }
        let end = end?;
        if value.is_empty() || tag.is_empty() || !valid_tag(tag, &value) {
            return None;
        }
        tags.push((tag.to_string(), value));
        let after = &rest[end + 1..];
        raw = match after.strip_prefix(',') {
            Some(r) => r,
            None if after.is_empty() => after,
            None => return None,
        };
    }
    let name = sanitize_name(metric)?.to_string();
    tags.push(("name".to_string(), name.clone()));
    Some(format(&name, tags))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(line: &str) -> MetricPoint {
        match parse_line(line.as_bytes(), 1_000).unwrap() {
            Parsed::Point(p) => p,
            Parsed::NaN => panic!("nan"),
        }
    }

    #[test]
    fn plain_lines_parse_as_carbon_does() {
        let p = point("a.b.c 42 1700000000");
        assert_eq!(
            (p.name.as_str(), p.value, p.timestamp),
            ("a.b.c", 42.0, 1_700_000_000)
        );
        // any whitespace, surrounding blanks, floats for both fields
        let p = point("  a.b\t1.5e3   1700000000.9 \r");
        assert_eq!((p.value, p.timestamp), (1500.0, 1_700_000_000));
        assert_eq!(point("x -1.25 -1").timestamp, 1_000, "-1 means now");
        assert_eq!(point("x inf 5").value, f64::INFINITY);
        assert_eq!(parse_line(b"x nan 5", 0), Ok(Parsed::NaN));
        assert_eq!(parse_line(b"x NaN 5", 0), Ok(Parsed::NaN));
    }

    #[test]
    fn malformed_lines_are_rejected_with_a_reason() {
        assert_eq!(parse_line(b"a.b 1", 0), Err(LineError::FieldCount));
        assert_eq!(parse_line(b"a.b 1 2 3", 0), Err(LineError::FieldCount));
        assert_eq!(parse_line(b"", 0), Err(LineError::FieldCount));
        assert_eq!(parse_line(b"a.b x 2", 0), Err(LineError::BadValue));
        assert_eq!(parse_line(b"a.b 1 soon", 0), Err(LineError::BadTimestamp));
        assert_eq!(parse_line(b"a.b 1 inf", 0), Err(LineError::BadTimestamp));
        assert_eq!(parse_line(b"a.\xff 1 2", 0), Err(LineError::NotUtf8));
    }

    #[test]
    fn tags_are_normalized_like_carbon() {
        assert_eq!(
            normalize_name("cpu;host=web1;dc=ams"),
            "cpu;dc=ams;host=web1"
        );
        assert_eq!(
            normalize_name(r#"cpu{host="web1",dc="ams"}"#),
            "cpu;dc=ams;host=web1"
        );
        assert_eq!(normalize_name(r#"m{k="a\"b"}"#), "m;k=a\"b");
        assert_eq!(normalize_name("~a.b"), "a.b");
        assert_eq!(normalize_name("a.b;name=zzz"), "a.b");
        // tags that do not validate: carbon keeps the path as it came
        assert_eq!(normalize_name("a;b"), "a;b");
        assert_eq!(normalize_name("a;k="), "a;k=");
        assert_eq!(normalize_name("a;k=~v"), "a;k=~v");
        assert_eq!(normalize_name(";k=v"), ";k=v");
        assert_eq!(normalize_name("a.b.c"), "a.b.c");
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(line in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = parse_line(&line, 0);
        }

        #[test]
        fn names_never_panic(s in ".{0,80}") {
            let _ = normalize_name(&s);
        }
    }
}
