//! One archived record as one JSON line. The encoding is meant to be read by people and by
//! `jq` without telltale, so it uses names (severity `"warning"`) and RFC 3339 times rather
//! than codes, and keeps the original frame as a plain string whenever it is valid UTF-8.

use std::collections::BTreeMap;

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::model::time::{NS_PER_DAY, NS_PER_SEC, days_from_civil, days_in_month, format_rfc3339};
use crate::model::{
    FACILITY_NAMES, LogRecord, RawMessage, SEVERITY_NAMES, Transport, facility_from_str,
    severity_from_str,
};
use crate::normalize::Normalizer;

/// The JSON object of one line (see `docs/format/archive.md`).
#[derive(Debug, Serialize, Deserialize)]
struct Line {
    timestamp: String,
    received: String,
    host: String,
    app: String,
    pid: String,
    severity: Option<String>,
    facility: Option<String>,
    msgid: String,
    message: String,
    #[serde(default)]
    fields: BTreeMap<String, String>,
    /// The original frame when it is valid UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    raw: Option<String>,
    /// The original frame, standard base64 with padding, only when it is not valid UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    raw_base64: Option<String>,
}

/// Why a line could not be turned back into a record.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    #[error("invalid json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("invalid timestamp '{0}'")]
    Time(String),
    #[error("unknown severity '{0}'")]
    Severity(String),
    #[error("unknown facility '{0}'")]
    Facility(String),
    #[error("not a json object")]
    NotObject,
    #[error("invalid base64: {0}")]
    Base64(#[from] base64::DecodeError),
}

/// Appends `r` as one JSON line (with its `\n`) to `out`.
pub fn encode(r: &LogRecord, out: &mut Vec<u8>) {
    let name = |names: &[&str], v: Option<u8>| {
        v.map(|n| {
            names
                .get(usize::from(n))
                .map_or_else(|| n.to_string(), |s| (*s).to_string())
        })
    };
    let (raw, raw_base64) = match std::str::from_utf8(&r.raw) {
        Ok(s) => (Some(s.to_string()), None),
        Err(_) => (
            None,
            Some(base64::engine::general_purpose::STANDARD.encode(&r.raw)),
        ),
    };
    let line = Line {
        timestamp: format_rfc3339(r.timestamp_ns),
        received: format_rfc3339(r.received_ns),
        host: r.host.clone(),
        app: r.app.clone(),
        pid: r.pid.clone(),
        severity: name(&SEVERITY_NAMES, r.severity),
        facility: name(&FACILITY_NAMES, r.facility),
        msgid: r.msgid.clone(),
        message: r.message.clone(),
        fields: r.fields.iter().cloned().collect(),
        raw,
        raw_base64,
    };
    // serializing a struct of strings and maps into a Vec cannot fail
    if serde_json::to_writer(&mut *out, &line).is_ok() {
        out.push(b'\n');
    }
}

/// Parses one line (without its `\n`) back into a record. Fields come back sorted by key.
pub fn decode(line: &[u8]) -> Result<LogRecord, LineError> {
    let l: Line = serde_json::from_slice(line)?;
    let time = |s: &str| parse_rfc3339_utc(s).ok_or_else(|| LineError::Time(s.to_string()));
    let severity = match &l.severity {
        Some(s) => Some(severity_from_str(s).ok_or_else(|| LineError::Severity(s.clone()))?),
        None => None,
    };
    let facility = match &l.facility {
        Some(s) => Some(facility_from_str(s).ok_or_else(|| LineError::Facility(s.clone()))?),
        None => None,
    };
    let raw = match (l.raw, l.raw_base64) {
        (_, Some(b)) => base64::engine::general_purpose::STANDARD.decode(b)?,
        (Some(s), None) => s.into_bytes(),
        (None, None) => Vec::new(),
    };
    Ok(LogRecord {
        timestamp_ns: time(&l.timestamp)?,
        received_ns: time(&l.received)?,
        host: l.host,
        app: l.app,
        pid: l.pid,
        severity,
        facility,
        msgid: l.msgid,
        message: l.message,
        fields: l.fields.into_iter().collect(),
        raw,
    })
}

/// What a format-2 line is re-derived against: the frame's day (from its index entry) and the
/// unit its receive-time delta counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context {
    /// Day number (days since the epoch) of the frame.
    pub day: i64,
    /// Unit of `d` in ns (1 s by default; see `docs/format/archive.md`).
    pub recv_unit_ns: i64,
}

impl Context {
    /// The receive time the original line is re-parsed with: the end of the frame's day, so an
    /// RFC 3164 timestamp (no year) of that day resolves to the day's year.
    fn parse_received(self) -> i64 {
        (self.day + 1).saturating_mul(NS_PER_DAY)
    }

    /// Re-parses the original line as the syslog parser did on receipt (rules not applied).
    fn reparse(self, raw: Vec<u8>) -> LogRecord {
        crate::ingest::syslog::parse(&self.message(raw))
    }

    /// [`Context::reparse`] without the copy of the line in `raw`, through a per-thread
    /// buffer: what an encoder compares the record with, hundreds of thousands of times a seal.
    fn reparse_members(self, raw: &[u8]) -> LogRecord {
        thread_local! {
            static LINE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        LINE.with(|buf| {
            let mut bytes = buf.take();
            bytes.clear();
            bytes.extend_from_slice(raw);
            let msg = self.message(bytes);
            let rec = crate::ingest::syslog::parse_members(&msg);
            buf.replace(msg.bytes);
            rec
        })
    }

    fn message(self, bytes: Vec<u8>) -> RawMessage {
        RawMessage {
            received_ns: self.parse_received(),
            peer: None,
            transport: Transport::Tcp,
            bytes,
            truncated: false,
        }
    }
}

/// The JSON object of one format-2 line: the original line plus what re-parsing it cannot give.
#[derive(Serialize)]
struct SlimOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    r: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    b: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    t: Option<i64>,
    #[serde(skip_serializing_if = "is_zero")]
    d: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    h: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    a: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    p: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    s: Option<Option<u8>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    f: Option<Option<u8>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    i: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    m: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    x: Option<&'a [(String, String)]>,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

#[derive(Deserialize)]
struct SlimIn {
    #[serde(default)]
    r: Option<String>,
    #[serde(default)]
    b: Option<String>,
    #[serde(default)]
    t: Option<i64>,
    #[serde(default)]
    d: i64,
    #[serde(default)]
    h: Option<String>,
    #[serde(default)]
    a: Option<String>,
    #[serde(default)]
    p: Option<String>,
    #[serde(default, deserialize_with = "present")]
    s: Option<Option<u8>>,
    #[serde(default, deserialize_with = "present")]
    f: Option<Option<u8>>,
    #[serde(default)]
    i: Option<String>,
    #[serde(default)]
    m: Option<String>,
    #[serde(default)]
    x: Option<Vec<(String, String)>>,
}

/// Tells a member that is `null` (Some(None)) from one that is absent (None).
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// Appends `r` as one format-2 line (with its `\n`) to `out`: the original line, the receive
/// time as a delta in `ctx.recv_unit_ns` units (rounded down), and each record member that
/// re-parsing the line in `ctx` does not reproduce.
pub fn encode_v2(r: &LogRecord, ctx: Context, out: &mut Vec<u8>) {
    // a whole record has its fields
    let _ = encode_with(r.into(), ctx, None, false, out);
}

/// A record's members as the encoder reads them, borrowed: from a [`LogRecord`], or straight
/// from a partition's doc store when sealing (which skips the extracted fields of records the
/// seal's rules made: `fields` is then `None`).
#[derive(Debug, Clone, Copy)]
pub struct RecordRef<'a> {
    pub timestamp_ns: i64,
    pub received_ns: i64,
    pub host: &'a str,
    pub app: &'a str,
    pub pid: &'a str,
    pub severity: Option<u8>,
    pub facility: Option<u8>,
    pub msgid: &'a str,
    pub message: &'a str,
    /// The extracted fields; `None` when they were not read (only a record the frame's rules
    /// made, whose fields the decoder re-derives, can be encoded without them).
    pub fields: Option<&'a [(String, String)]>,
    pub raw: &'a [u8],
}

impl<'a> From<&'a LogRecord> for RecordRef<'a> {
    fn from(r: &'a LogRecord) -> RecordRef<'a> {
        RecordRef {
            timestamp_ns: r.timestamp_ns,
            received_ns: r.received_ns,
            host: &r.host,
            app: &r.app,
            pid: &r.pid,
            severity: r.severity,
            facility: r.facility,
            msgid: &r.msgid,
            message: &r.message,
            fields: Some(&r.fields),
            raw: &r.raw,
        }
    }
}

/// A record without its fields cannot be encoded unless its rules are trusted.
#[derive(Debug, thiserror::Error)]
#[error("the record's fields were not read, and the frame's rules did not make it")]
pub struct FieldsNotRead;

/// [`encode_v2`] for a format-3 frame sealed with `rules`: `x` and `s` are also omitted when
/// applying `rules` to the re-parsed line (with the record's app and message) gives the
/// record's fields and severity. `trusted` says the record was produced by exactly `rules`
/// from this line (its stamp is theirs), which gives that answer without running them: the
/// rules see only the app, the message and the fields parsed from the line, all of which
/// the decoder reproduces (so `rules` may then be None: they are not run). Nothing is written
/// when the answer needs fields `r` lacks.
pub fn encode_with(
    r: RecordRef<'_>,
    ctx: Context,
    rules: Option<&Normalizer>,
    trusted: bool,
    out: &mut Vec<u8>,
) -> Result<(), FieldsNotRead> {
    let mut p = ctx.reparse_members(r.raw);
    let differs = |a: &str, b: &'_ str| (a != b).then_some(());
    let (text, b) = match std::str::from_utf8(r.raw) {
        Ok(s) => (Some(s), None),
        Err(_) => (
            None,
            Some(base64::engine::general_purpose::STANDARD.encode(r.raw)),
        ),
    };
    let unit = ctx.recv_unit_ns.max(1);
    let mut line = SlimOut {
        r: text,
        b,
        t: (p.timestamp_ns != r.timestamp_ns).then(|| {
            r.timestamp_ns
                .saturating_sub(ctx.day.saturating_mul(NS_PER_DAY))
        }),
        d: r.received_ns
            .saturating_sub(r.timestamp_ns)
            .div_euclid(unit),
        h: differs(&p.host, r.host).map(|()| r.host),
        a: differs(&p.app, r.app).map(|()| r.app),
        p: differs(&p.pid, r.pid).map(|()| r.pid),
        s: (p.severity != r.severity).then_some(r.severity),
        f: (p.facility != r.facility).then_some(r.facility),
        i: differs(&p.msgid, r.msgid).map(|()| r.msgid),
        m: differs(&p.message, r.message).map(|()| r.message),
        x: None,
    };
    match rules {
        // the frame's rules made the record: they give its fields and severity back
        _ if trusted => {
            line.s = None;
            line.x = None;
        }
        Some(n) => {
            let fields = r.fields.ok_or(FieldsNotRead)?;
            // what the decoder will apply the rules to: the parse with the line's own app
            // and message members
            p.app.clear();
            p.app.push_str(r.app);
            p.message.clear();
            p.message.push_str(r.message);
            n.apply(&mut p);
            line.s = (p.severity != r.severity).then_some(r.severity);
            line.x = (p.fields.as_slice() != fields).then_some(fields);
        }
        None => {
            let fields = r.fields.ok_or(FieldsNotRead)?;
            line.x = (p.fields.as_slice() != fields).then_some(fields);
        }
    }
    if serde_json::to_writer(&mut *out, &line).is_ok() {
        out.push(b'\n');
    }
    Ok(())
}

/// Parses one format-2 line (without its `\n`) back into a record.
pub fn decode_v2(line: &[u8], ctx: Context) -> Result<LogRecord, LineError> {
    decode_with(line, ctx, None)
}

/// Parses one line of a frame sealed with `rules` (format 3) or without (format 2, `None`).
pub fn decode_with(
    line: &[u8],
    ctx: Context,
    rules: Option<&Normalizer>,
) -> Result<LogRecord, LineError> {
    // serde would also take the members as an array
    if line.first() != Some(&b'{') {
        return Err(LineError::NotObject);
    }
    let l: SlimIn = serde_json::from_slice(line)?;
    let raw = match (l.r, l.b) {
        (_, Some(b)) => base64::engine::general_purpose::STANDARD.decode(b)?,
        (Some(s), None) => s.into_bytes(),
        (None, None) => Vec::new(),
    };
    // the parse keeps its own copy of the frame as `raw`
    let mut rec = ctx.reparse(raw);
    if let Some(t) = l.t {
        rec.timestamp_ns = ctx.day.saturating_mul(NS_PER_DAY).saturating_add(t);
    }
    rec.received_ns = rec
        .timestamp_ns
        .saturating_add(l.d.saturating_mul(ctx.recv_unit_ns.max(1)));
    let set = |dst: &mut String, v: Option<String>| {
        if let Some(v) = v {
            *dst = v;
        }
    };
    set(&mut rec.host, l.h);
    set(&mut rec.app, l.a);
    set(&mut rec.pid, l.p);
    set(&mut rec.msgid, l.i);
    set(&mut rec.message, l.m);
    if let Some(f) = l.f {
        rec.facility = f;
    }
    if let Some(n) = rules
        && (l.x.is_none() || l.s.is_none())
    {
        n.apply(&mut rec);
    }
    if let Some(s) = l.s {
        rec.severity = s;
    }
    if let Some(x) = l.x {
        rec.fields = x;
    }
    Ok(rec)
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z`, the shape [`format_rfc3339`] writes.
pub fn parse_rfc3339_utc(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' || *b.last()? != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if !t.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        t.parse().ok()
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mo = u32::try_from(mo).ok().filter(|m| (1..=12).contains(m))?;
    let d = u32::try_from(d).ok()?;
    if d == 0 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut frac_ns = 0i64;
    let rest = s.get(19..s.len() - 1)?;
    if !rest.is_empty() {
        let digits = rest.strip_prefix('.')?;
        if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        frac_ns = digits.parse::<i64>().ok()? * 10i64.pow(9 - digits.len() as u32);
    }
    let days = days_from_civil(y, mo, d);
    Some(days * NS_PER_DAY + (h * 3600 + mi * 60 + sec) * NS_PER_SEC + frac_ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec() -> LogRecord {
        LogRecord {
            timestamp_ns: 1_795_536_000_123_456_000,
            received_ns: 1_795_536_001_000_001_000,
            host: "web1".into(),
            app: "nginx".into(),
            pid: "42".into(),
            severity: Some(4),
            facility: Some(16),
            msgid: "ID1".into(),
            message: "connection refused".into(),
            fields: vec![("a.b".into(), "1".into()), ("z".into(), "x y".into())],
            raw: b"<132>connection refused".to_vec(),
        }
    }

    #[test]
    fn a_record_round_trips_through_one_json_line() {
        let mut out = Vec::new();
        encode(&rec(), &mut out);
        assert_eq!(out.last(), Some(&b'\n'));
        assert_eq!(out.iter().filter(|&&c| c == b'\n').count(), 1);
        let text = std::str::from_utf8(&out).unwrap();
        assert!(text.contains(r#""severity":"warning""#), "{text}");
        assert!(
            text.contains(r#""raw":"<132>connection refused""#),
            "{text}"
        );
        assert_eq!(decode(&out[..out.len() - 1]).unwrap(), rec());
    }

    #[test]
    fn a_non_utf8_frame_is_kept_as_base64_and_missing_codes_as_null() {
        let mut r = rec();
        r.raw = vec![0xff, b'\n', 0];
        r.severity = None;
        r.facility = None;
        let mut out = Vec::new();
        encode(&r, &mut out);
        let text = std::str::from_utf8(&out).unwrap();
        assert!(text.contains(r#""raw_base64":"/woA""#), "{text}");
        assert!(text.contains(r#""severity":null"#), "{text}");
        assert_eq!(decode(&out[..out.len() - 1]).unwrap(), r);
    }

    /// 2026-11-24, the day of [`rec`].
    const CTX: Context = Context {
        day: 20_781,
        recv_unit_ns: 1,
    };

    fn line_of(r: &LogRecord, ctx: Context) -> Vec<u8> {
        let mut out = Vec::new();
        encode_v2(r, ctx, &mut out);
        assert_eq!(out.last(), Some(&b'\n'));
        assert_eq!(out.iter().filter(|&&c| c == b'\n').count(), 1);
        out.pop();
        out
    }

    #[test]
    fn a_parsed_line_is_archived_as_little_more_than_itself() {
        let raw =
            b"<38>Nov 24 16:00:01 gw01 sshd[24200]: Invalid user admin from 10.1.2.3".to_vec();
        let msg = RawMessage {
            received_ns: 1_795_536_001_250_000_000,
            peer: None,
            transport: Transport::Udp,
            bytes: raw,
            truncated: false,
        };
        let r = crate::ingest::syslog::parse(&msg);
        assert_eq!(r.host, "gw01");
        let ctx = Context {
            recv_unit_ns: 1_000_000,
            ..CTX
        };
        let line = line_of(&r, ctx);
        assert_eq!(
            std::str::from_utf8(&line).unwrap(),
            r#"{"r":"<38>Nov 24 16:00:01 gw01 sshd[24200]: Invalid user admin from 10.1.2.3","d":250}"#
        );
        assert_eq!(decode_v2(&line, ctx).unwrap(), r);
    }

    #[test]
    fn what_the_line_does_not_give_is_kept_beside_it() {
        let r = rec();
        let line = line_of(&r, CTX);
        let text = std::str::from_utf8(&line).unwrap();
        // "<132>connection refused" parses as a verbatim line: no host, no app, warning
        assert!(
            text.starts_with(r#"{"r":"<132>connection refused","t":57600123456000,"#),
            "{text}"
        );
        assert!(
            text.contains(r#""h":"web1","a":"nginx","p":"42""#),
            "{text}"
        );
        assert!(text.contains(r#""x":[["a.b","1"],["z","x y"]]"#), "{text}");
        assert_eq!(decode_v2(&line, CTX).unwrap(), r);
        let mut r = rec();
        r.raw = vec![0xff, b'\n', 0];
        r.severity = None;
        r.facility = None;
        let line = line_of(&r, CTX);
        let text = std::str::from_utf8(&line).unwrap();
        assert!(text.starts_with(r#"{"b":"/woA","#), "{text}");
        assert!(text.contains(r#""s":null,"f":null"#), "{text}");
        assert_eq!(decode_v2(&line, CTX).unwrap(), r);
    }

    #[test]
    fn receive_times_round_down_to_the_unit() {
        let mut r = rec();
        let ctx = Context {
            recv_unit_ns: 1_000_000_000,
            ..CTX
        };
        for (delay, kept) in [
            (999_999_000, 0),
            (1_000_000_000, 1_000_000_000),
            (-1, -1_000_000_000),
        ] {
            r.received_ns = r.timestamp_ns + delay;
            let back = decode_v2(&line_of(&r, ctx), ctx).unwrap();
            assert_eq!(back.received_ns - back.timestamp_ns, kept, "{delay}");
            assert_eq!(back.timestamp_ns, r.timestamp_ns);
        }
    }

    #[test]
    fn bad_lines_are_errors() {
        for bad in [
            &b""[..],
            b"{",
            b"[]",
            br#"{"r":1}"#,
            br#"{"b":"***"}"#,
            br#"{"s":"x"}"#,
            br#"{"x":[["a"]]}"#,
        ] {
            assert!(
                decode_v2(bad, CTX).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        // unknown members are ignored; an empty object is an empty frame
        let r = decode_v2(br#"{"zz":1}"#, CTX).unwrap();
        assert!(r.raw.is_empty());
    }

    fn any_record() -> impl Strategy<Value = LogRecord> {
        let text = "[ -~]{0,12}";
        let raw = prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..60),
            (
                0u8..192,
                1u32..29,
                0u32..86_400,
                "[a-z0-9]{1,8}",
                "[a-z]{1,6}",
                text
            )
                .prop_map(|(pri, d, s, h, a, m)| format!(
                    "<{pri}>Nov {d:2} {:02}:{:02}:{:02} {h} {a}[1]: {m}",
                    s / 3600,
                    s / 60 % 60,
                    s % 60
                )
                .into_bytes()),
            (0u8..192, "[a-z]{1,6}", text).prop_map(|(pri, a, m)| format!(
                "<{pri}>1 2026-11-24T10:00:00.123456Z h {a} - - - {m}"
            )
            .into_bytes()),
        ];
        (
            raw,
            -NS_PER_DAY..3 * NS_PER_DAY,
            -10_000_000_000i64..10_000_000_000,
            any::<bool>(),
            (text, text, text, text, text),
            (proptest::option::of(0u8..8), proptest::option::of(0u8..24)),
            proptest::collection::vec((text, text), 0..3),
        )
            .prop_map(
                |(raw, t, delay, reparse, (h, a, p, i, m), (sev, fac), fields)| {
                    let ts = 20_781 * NS_PER_DAY + t;
                    if reparse {
                        // as telltale made it: often re-derivable in full
                        let mut r = crate::ingest::syslog::parse(&RawMessage {
                            received_ns: ts,
                            peer: None,
                            transport: Transport::Tcp,
                            bytes: raw,
                            truncated: false,
                        });
                        r.received_ns = r.timestamp_ns + delay;
                        r.fields.extend(fields);
                        return r;
                    }
                    LogRecord {
                        timestamp_ns: ts,
                        received_ns: ts + delay,
                        host: h,
                        app: a,
                        pid: p,
                        severity: sev,
                        facility: fac,
                        msgid: i,
                        message: m,
                        fields,
                        raw,
                    }
                },
            )
    }

    use proptest::prelude::*;

    proptest! {
        #[test]
        fn format_2_lines_round_trip(r in any_record(), unit in prop_oneof![Just(1i64), Just(1_000), Just(1_000_000_000)]) {
            let ctx = Context { recv_unit_ns: unit, ..CTX };
            let back = decode_v2(&line_of(&r, ctx), ctx).unwrap();
            let mut want = r.clone();
            want.received_ns = r.timestamp_ns
                + (r.received_ns - r.timestamp_ns).div_euclid(unit) * unit;
            prop_assert_eq!(back, want);
        }

        #[test]
        fn any_bytes_decode_or_fail_without_panic(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_v2(&b, CTX);
        }
    }

    fn shipped() -> &'static Normalizer {
        static N: std::sync::OnceLock<Normalizer> = std::sync::OnceLock::new();
        N.get_or_init(|| Normalizer::with_errors(None).0)
    }

    /// A line as telltale ingests it: parsed, then normalized by the shipped rules.
    fn ingested(raw: &str, received_ns: i64) -> LogRecord {
        let mut r = crate::ingest::syslog::parse(&RawMessage {
            received_ns,
            peer: None,
            transport: Transport::Udp,
            bytes: raw.as_bytes().to_vec(),
            truncated: false,
        });
        shipped().apply(&mut r);
        r
    }

    #[test]
    fn with_the_rules_the_extracted_fields_and_severity_are_left_out() {
        let r = ingested(
            "<38>Nov 24 16:00:01 gw01 sshd[24200]: Failed password for invalid user webmaster from 173.234.31.186 port 38926 ssh2",
            1_795_536_001_000_000_000,
        );
        assert_eq!(r.severity, Some(4));
        assert!(
            r.fields
                .iter()
                .any(|(k, v)| k == "user" && v == "webmaster")
        );
        let ctx = Context {
            recv_unit_ns: 1_000_000_000,
            ..CTX
        };
        let mut out = Vec::new();
        encode_with((&r).into(), ctx, Some(shipped()), false, &mut out).unwrap();
        out.pop();
        let text = std::str::from_utf8(&out).unwrap();
        assert!(
            !text.contains(r#""x":"#) && !text.contains(r#""s":"#),
            "{text}"
        );
        assert_eq!(decode_with(&out, ctx, Some(shipped())).unwrap(), r);
        // without the rules the same record keeps them
        let line = line_of(&r, ctx);
        assert!(
            std::str::from_utf8(&line)
                .unwrap()
                .contains(r#""s":4,"x":"#)
        );
        // fields an older rule set gave, or an edited severity, stay explicit
        let mut old = r.clone();
        old.fields.retain(|(k, _)| k != "event");
        old.severity = Some(3);
        out.clear();
        encode_with((&old).into(), ctx, Some(shipped()), false, &mut out).unwrap();
        out.pop();
        let text = std::str::from_utf8(&out).unwrap();
        assert!(text.contains(r#""s":3,"x":"#), "{text}");
        assert_eq!(decode_with(&out, ctx, Some(shipped())).unwrap(), old);
    }

    /// Sealing trusts a record stamped by the rules it seals with and skips running them: on
    /// every LogHub sample line (as syslog frames, received over UDP from a peer at another
    /// time of the day than the decoder assumes, some in RFC 5424 with structured data), the
    /// trusted line is byte for byte the checked one, and decodes to the record.
    #[test]
    fn a_stamped_record_encodes_as_the_checked_one() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ingest-tests/data/loghub");
        let mut frames = Vec::new();
        for name in ["Linux_2k.log", "OpenSSH_2k.log"] {
            for l in std::fs::read_to_string(dir.join(name)).unwrap().lines() {
                frames.push(format!("<38>{l}"));
            }
        }
        for l in std::fs::read_to_string(dir.join("Apache_2k.log"))
            .unwrap()
            .lines()
        {
            frames.push(format!("<131>Nov 24 04:47:44 web1 httpd[1]: {l}"));
            frames.push(format!(
                "<165>1 2026-11-24T16:00:01.003Z web1 httpd 42 ID47 [origin@32473 ip=\"10.0.0.1\" x=\"1\"] {l}"
            ));
        }
        let ctx = Context {
            recv_unit_ns: 1_000_000_000,
            ..CTX
        };
        let (mut checked, mut trusted) = (Vec::new(), Vec::new());
        let mut with_fields = 0;
        for f in &frames {
            let mut r = crate::ingest::syslog::parse(&RawMessage {
                received_ns: CTX.day * NS_PER_DAY + 5 * 3_600 * NS_PER_SEC,
                peer: Some("10.9.8.7".parse().unwrap()),
                transport: Transport::Udp,
                bytes: f.as_bytes().to_vec(),
                truncated: false,
            });
            shipped().apply(&mut r);
            with_fields += usize::from(!r.fields.is_empty());
            checked.clear();
            trusted.clear();
            encode_with((&r).into(), ctx, Some(shipped()), false, &mut checked).unwrap();
            encode_with((&r).into(), ctx, Some(shipped()), true, &mut trusted).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&trusted),
                String::from_utf8_lossy(&checked)
            );
            trusted.pop();
            let mut back = decode_with(&trusted, ctx, Some(shipped())).unwrap();
            back.received_ns = r.received_ns;
            assert_eq!(back, r, "{f}");
        }
        // the rules did extract fields from most of these lines: the check is not vacuous
        assert!(
            with_fields > frames.len() / 2,
            "{with_fields} of {}",
            frames.len()
        );
    }

    fn rule_line() -> impl Strategy<Value = String> {
        let word = "[a-z][a-z0-9]{0,7}";
        let ip = (0u8..=255, 0u8..=255).prop_map(|(a, b)| format!("10.{a}.{b}.7"));
        prop_oneof![
            (word, ip.clone(), 1u16..65535).prop_map(|(u, ip, port)| format!(
                "sshd[2]: Failed password for invalid user {u} from {ip} port {port} ssh2"
            )),
            (word, ip, 1u16..65535).prop_map(|(u, ip, port)| format!(
                "sshd[2]: Accepted publickey for {u} from {ip} port {port} ssh2"
            )),
            (word, "[ -~]{0,20}").prop_map(|(u, c)| format!("CRON[9]: ({u}) CMD ({c})")),
            "[ -~]{0,30}".prop_map(|m| format!("sshd[2]: {m}")),
            "[ -~]{0,30}".prop_map(|m| format!("myapp: {m}")),
        ]
    }

    proptest! {
        #[test]
        fn format_3_lines_round_trip_with_the_rules(
            pri in 0u8..192,
            secs in 0u32..86_400,
            line in rule_line(),
            delay in 0i64..5_000_000_000,
            edit in 0u8..6,
        ) {
            let raw = format!(
                "<{pri}>Nov 24 {:02}:{:02}:{:02} gw01 {line}",
                secs / 3600,
                secs / 60 % 60,
                secs % 60
            );
            let mut r = ingested(&raw, (CTX.day + 1) * NS_PER_DAY);
            r.received_ns = r.timestamp_ns + delay;
            match edit {
                // fields from another rule set, an edited severity, an edited message or app
                0 => r.fields.push(("extra".into(), "1".into())),
                1 => r.severity = r.severity.map(|s| (s + 1) % 8),
                2 => r.message.push('!'),
                3 => r.app = "sshd".into(),
                _ => {}
            }
            let ctx = Context { recv_unit_ns: 1_000_000_000, ..CTX };
            let mut out = Vec::new();
            encode_with((&r).into(), ctx, Some(shipped()), false, &mut out).unwrap();
            prop_assert_eq!(out.pop(), Some(b'\n'));
            let back = decode_with(&out, ctx, Some(shipped())).unwrap();
            let mut want = r.clone();
            want.received_ns = r.timestamp_ns + delay / 1_000_000_000 * 1_000_000_000;
            prop_assert_eq!(back, want);
        }
    }

    #[test]
    fn parses_its_own_timestamps_and_rejects_others() {
        for ns in [
            0,
            -1_000,
            1_795_536_000_123_456_000,
            951_782_400_000_000_000,
        ] {
            assert_eq!(parse_rfc3339_utc(&format_rfc3339(ns)), Some(ns));
        }
        assert_eq!(
            parse_rfc3339_utc("2026-11-24T16:00:00Z"),
            Some(1_795_536_000_000_000_000)
        );
        assert_eq!(
            parse_rfc3339_utc("2026-11-24T16:00:00.5Z"),
            Some(1_795_536_000_500_000_000)
        );
        for bad in [
            "",
            "2026-02-30T00:00:00Z",
            "2026-11-24T16:00:00",
            "2026-11-24T16:00:00.Z",
            "2026-11-24 16:00:00Z",
            "+026-11-24T16:00:00Z",
        ] {
            assert_eq!(parse_rfc3339_utc(bad), None, "{bad}");
        }
    }
}
