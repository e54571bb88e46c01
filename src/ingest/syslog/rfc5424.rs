//! RFC 5424: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [SP MSG]`.
//!
//! Lenient where real senders deviate: any header field may be `-` or missing, a timestamp we
//! cannot read falls back to the receive time, SD parameter values may be unquoted, a message
//! without structured data is accepted, and malformed structured data becomes message text
//! instead of losing the line.

use super::{base_record, lossy, parse_pri, peer_host, strip_one_space, time};
use crate::model::{LogRecord, RawMessage};

/// The UTF-8 byte order mark RFC 5424 §6.4 puts before a UTF-8 MSG; not part of the text.
const BOM: &[u8] = b"\xef\xbb\xbf";

/// Parses `msg` as RFC 5424; None when it does not start with `<PRI>1 `.
pub fn parse(msg: &RawMessage) -> Option<LogRecord> {
    let (pri, n) = parse_pri(&msg.bytes)?;
    let after = msg.bytes[n..].strip_prefix(b"1 ")?;
    let end = after
        .iter()
        .rposition(|c| !matches!(c, b'\n' | b'\r' | 0))
        .map_or(0, |i| i + 1);
    let mut rec = parse_body(msg, pri, &after[..end]);
    rec.raw = msg.bytes.clone();
    Some(rec)
}

/// Parses what follows `<PRI>1 ` (with trailing terminators already removed); `raw` is left
/// to the caller.
pub(crate) fn parse_body(msg: &RawMessage, pri: u8, b: &[u8]) -> LogRecord {
    let mut rec = base_record(msg, Some(pri));
    let mut pos = 0;
    let ts = token(b, &mut pos);
    let host = token(b, &mut pos);
    let app = token(b, &mut pos);
    let procid = token(b, &mut pos);
    let msgid = token(b, &mut pos);

    if let Some((civil, n)) = time::parse_rfc3339(ts)
        && n == ts.len()
        && let Some(ns) = civil.to_ns(msg.received_ns)
    {
        rec.timestamp_ns = ns;
    }
    rec.host = match nil(host) {
        Some(h) => lossy(h),
        None => peer_host(msg),
    };
    rec.app = nil(app).map(lossy).unwrap_or_default();
    rec.pid = nil(procid).map(lossy).unwrap_or_default();
    rec.msgid = nil(msgid).map(lossy).unwrap_or_default();

    let mut text_start = pos;
    match b.get(pos) {
        Some(b'-') if matches!(b.get(pos + 1), None | Some(b' ')) => text_start = pos + 1,
        Some(b'[') => {
            while b.get(text_start) == Some(&b'[') {
                match parse_sd_element(b, text_start, &mut rec.fields) {
                    Some(end) => text_start = end,
                    // Malformed: what is left (from this element on) is shown as the message.
                    None => break,
                }
            }
        }
        // No structured data at all (a non-conforming sender): the rest is the message.
        _ => {}
    }
    let mut text = &b[text_start.min(b.len())..];
    if text_start > pos {
        // The SP between STRUCTURED-DATA and MSG.
        text = text.strip_prefix(b" ").unwrap_or(text);
    }
    let text = match text.strip_prefix(BOM) {
        Some(t) => t,
        None => strip_one_space(text),
    };
    rec.message = lossy(text);
    rec
}

/// The next space-separated header field; advances past it and its one separating space.
fn token<'a>(b: &'a [u8], pos: &mut usize) -> &'a [u8] {
    let rest = b.get(*pos..).unwrap_or_default();
    match memchr::memchr(b' ', rest) {
        Some(i) => {
            *pos += i + 1;
            &rest[..i]
        }
        None => {
            *pos = b.len();
            rest
        }
    }
}

/// None for NILVALUE (`-`) or an absent field.
fn nil(f: &[u8]) -> Option<&[u8]> {
    (!f.is_empty() && f != b"-").then_some(f)
}

/// Parses one `[SD-ID param="value" ...]` at `start` into `fields` as (`sdid.param`, value) and
/// returns the position after its `]`. On malformed input the element's fields are removed again
/// and None is returned, so a half-read element never shows up as data.
fn parse_sd_element(b: &[u8], start: usize, fields: &mut Vec<(String, String)>) -> Option<usize> {
    let before = fields.len();
    let r = sd_element(b, start, fields);
    if r.is_none() {
        fields.truncate(before);
    }
    r
}

fn sd_element(b: &[u8], start: usize, fields: &mut Vec<(String, String)>) -> Option<usize> {
    let mut i = start + 1;
    let id_start = i;
    while !matches!(*b.get(i)?, b' ' | b']') {
        if matches!(b[i], b'=' | b'"') {
            return None;
        }
        i += 1;
    }
    let id = &b[id_start..i];
    if id.is_empty() {
        return None;
    }
    loop {
        while b.get(i) == Some(&b' ') {
            i += 1;
        }
        if *b.get(i)? == b']' {
            return Some(i + 1);
        }
        let name_start = i;
        while !matches!(*b.get(i)?, b'=' | b' ' | b']') {
            if b[i] == b'"' {
                return None;
            }
            i += 1;
        }
        let name = &b[name_start..i];
        let value = if b[i] != b'=' {
            // A bare parameter name: lenient, kept with an empty value.
            String::new()
        } else if b.get(i + 1) == Some(&b'"') {
            let (v, end) = quoted_value(b, i + 2)?;
            i = end;
            v
        } else {
            // Unquoted value (some embedded senders): up to the next space or `]`.
            let v_start = i + 1;
            i = v_start;
            while !matches!(*b.get(i)?, b' ' | b']') {
                i += 1;
            }
            lossy(&b[v_start..i])
        };
        let mut key = String::with_capacity(id.len() + 1 + name.len());
        key.push_str(&String::from_utf8_lossy(id));
        key.push('.');
        key.push_str(&String::from_utf8_lossy(name));
        fields.push((key, value));
    }
}

/// A PARAM-VALUE starting after its opening quote; returns it unescaped (`\"`, `\\`, `\]`; any
/// other backslash is kept, as RFC 5424 §6.3.3 says) and the position after the closing quote.
fn quoted_value(b: &[u8], start: usize) -> Option<(String, usize)> {
    let rest = b.get(start..)?;
    let close = memchr::memchr2(b'"', b'\\', rest)?;
    if rest[close] == b'"' {
        return Some((lossy(&rest[..close]), start + close + 1));
    }
    let mut out = Vec::with_capacity(rest.len().min(64));
    let mut i = 0;
    loop {
        match *rest.get(i)? {
            b'"' => return Some((lossy(&out), start + i + 1)),
            b'\\' => match rest.get(i + 1) {
                Some(&c @ (b'"' | b'\\' | b']')) => {
                    out.push(c);
                    i += 2;
                }
                _ => {
                    out.push(b'\\');
                    i += 1;
                }
            },
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::super::parse as parse_any;
    use super::super::test_support::*;
    use super::*;

    fn p(b: &[u8]) -> LogRecord {
        let r = parse_any(&raw(b));
        assert_eq!(r.raw, b);
        assert_eq!(parse(&raw(b)).as_ref(), Some(&r), "module parse agrees");
        r
    }

    fn fields(r: &LogRecord) -> Vec<(&str, &str)> {
        r.fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn full_message() {
        let r = p(b"<165>1 2026-11-24T16:00:00.123456+00:00 myhost app 123 ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"App\"] hello 5424");
        assert_eq!(r.timestamp_ns, NOV24_16 + 123_456_000);
        assert_eq!((r.severity, r.facility), (Some(5), Some(20)));
        assert_eq!(
            (
                r.host.as_str(),
                r.app.as_str(),
                r.pid.as_str(),
                r.msgid.as_str()
            ),
            ("myhost", "app", "123", "ID47")
        );
        assert_eq!(
            fields(&r),
            [
                ("exampleSDID@32473.iut", "3"),
                ("exampleSDID@32473.eventSource", "App")
            ]
        );
        assert_eq!(r.message, "hello 5424");
    }

    #[test]
    fn nilvalue_everywhere() {
        let r = p(b"<13>1 - - - - - -");
        assert_eq!(r.timestamp_ns, RECEIVED_NS);
        assert_eq!(r.host, "192.0.2.7");
        assert_eq!(
            (r.app.as_str(), r.pid.as_str(), r.msgid.as_str()),
            ("", "", "")
        );
        assert!(r.fields.is_empty());
        assert_eq!(r.message, "");
        let r = p(b"<13>1 - - - - - - msg");
        assert_eq!(r.message, "msg");
        // Truncated header: missing fields are absent, not an error.
        let r = p(b"<13>1 2026-11-24T16:00:00Z host");
        assert_eq!((r.host.as_str(), r.timestamp_ns), ("host", NOV24_16));
        let r = p(b"<13>1 ");
        assert_eq!(r.host, "192.0.2.7");
    }

    #[test]
    fn sd_escapes() {
        let r =
            p(br#"<13>1 - h a - - [x@1 a="q\"uote" b="back\\slash" c="br\]acket" d="keep\n"] m"#);
        assert_eq!(
            fields(&r),
            [
                ("x@1.a", "q\"uote"),
                ("x@1.b", "back\\slash"),
                ("x@1.c", "br]acket"),
                ("x@1.d", "keep\\n")
            ]
        );
        assert_eq!(r.message, "m");
    }

    #[test]
    fn several_elements_and_unquoted_values() {
        let r = p(b"<156>1 2026-11-24T16:29:53.629014+00:00 vm myapp - MID1 [timeQuality tzKnown=\"1\" isSynced=\"0\"][zoo@123 tiger=hungry lion][e] hello octet");
        assert_eq!(
            fields(&r),
            [
                ("timeQuality.tzKnown", "1"),
                ("timeQuality.isSynced", "0"),
                ("zoo@123.tiger", "hungry"),
                ("zoo@123.lion", ""),
            ]
        );
        assert_eq!(r.message, "hello octet");
        assert_eq!(r.pid, "");
        assert_eq!(r.msgid, "MID1");
    }

    #[test]
    fn malformed_sd_becomes_message() {
        let r = p(b"<13>1 - h a - - [ok x=\"1\"][bad x=\"unterminated] tail");
        assert_eq!(fields(&r), [("ok.x", "1")]);
        assert_eq!(r.message, "[bad x=\"unterminated] tail");
        let r = p(b"<13>1 - h a - - no sd here");
        assert!(r.fields.is_empty());
        assert_eq!(r.message, "no sd here");
    }

    #[test]
    fn bom_is_stripped() {
        let r = p(b"<13>1 - h a - - - \xef\xbb\xbfcaf\xc3\xa9");
        assert_eq!(r.message, "caf\u{e9}");
        let r = p(b"<13>1 - h a - - [a b=\"c\"] \xef\xbb\xbf x");
        assert_eq!(r.message, " x", "only the BOM goes when there is one");
    }

    #[test]
    fn protocol23_double_space() {
        let r = p(b"<134>1 2026-11-24T16:00:00+00:00 myhost myapp 123 - -  hello 3164 via imtcp");
        assert_eq!(r.message, "hello 3164 via imtcp");
        assert_eq!(r.timestamp_ns, NOV24_16);
        let r = p(b"<13>1 - h a - - - trailing  ");
        assert_eq!(r.message, "trailing  ", "trailing spaces are content");
    }

    #[test]
    fn timestamps_and_offsets() {
        for (ts, want) in [
            ("2026-11-24T16:00:00Z", NOV24_16),
            ("2026-11-24t16:00:00z", NOV24_16),
            ("2026-11-24T17:00:00+01:00", NOV24_16),
            ("2026-11-24T17:00:00+01", NOV24_16),
            ("2026-11-24T10:30:00-0530", NOV24_16),
            ("2026-11-24T16:00:00.5Z", NOV24_16 + 500_000_000),
            ("2026-11-24T16:00:00.123456789Z", NOV24_16 + 123_456_789),
            ("2026-11-24T16:00:00.000000001+00:00", NOV24_16 + 1),
            ("garbage", RECEIVED_NS),
            ("2026-11-24T16:00:00Zjunk", RECEIVED_NS),
        ] {
            let line = format!("<13>1 {ts} h a - - - m");
            assert_eq!(p(line.as_bytes()).timestamp_ns, want, "{ts}");
        }
    }

    #[test]
    fn non_utf8_is_lossy_and_raw_kept() {
        let r = p(b"<13>1 - h\xff a - - [x y=\"\xfe\"] m\xff");
        assert_eq!(r.host, "h\u{fffd}");
        assert_eq!(fields(&r), [("x.y", "\u{fffd}")]);
        assert_eq!(r.message, "m\u{fffd}");
    }

    #[test]
    fn not_5424() {
        assert!(parse(&raw(b"<13>Nov 24 16:00:00 h a: m")).is_none());
        assert!(parse(&raw(b"1 - - -")).is_none());
    }
}
