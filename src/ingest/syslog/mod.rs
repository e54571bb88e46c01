//! Syslog: TCP framing, RFC 3164 and RFC 5424 parsing.
//!
//! [`framing`] cuts a TCP stream into frames; [`parse`] turns one frame ([`RawMessage`]) into a
//! [`LogRecord`]. Parsing never fails: what is neither RFC 5424 nor RFC 3164 is kept verbatim,
//! because losing a line an operator may need is worse than storing it unparsed.

pub mod framing;
pub mod listener;
pub mod rfc3164;
pub mod rfc5424;
mod time;

pub use framing::{Frame, FrameDecoder, FramingError};

use crate::model::{LogRecord, RawMessage};

/// Longest message the server keeps (RFC 5425 asks receivers to take at least 2 KiB; rsyslog's
/// own default `maxMessageSize` is 8 KiB, and Java stack traces need more).
pub const DEFAULT_MAX_MESSAGE: usize = 64 * 1024;

/// PRI of a message that carries none: user.notice, as RFC 3164 §4.3.3 prescribes.
const DEFAULT_PRI: u8 = 13;

/// Parses one syslog message (RFC 5424, RFC 3164 and the variants real senders produce).
///
/// Never fails or panics: a message that is neither format keeps its whole frame as the message,
/// the peer as host and the receive time as timestamp. `raw` is always the frame's bytes.
pub fn parse(msg: &RawMessage) -> LogRecord {
    let mut rec = parse_members(msg);
    rec.raw = msg.bytes.clone();
    rec
}

/// [`parse`] without the copy of the frame in `raw` (left empty), for a caller that has the
/// frame already: sealing re-parses every archived line to see what the line gives back.
pub fn parse_members(msg: &RawMessage) -> LogRecord {
    let body = trim_terminators(&msg.bytes);
    let (pri, rest) = match parse_pri(body) {
        Some((pri, n)) => (Some(pri), &body[n..]),
        None => (None, body),
    };
    if let Some(pri) = pri
        && let Some(after) = rest.strip_prefix(b"1 ")
    {
        return rfc5424::parse_body(msg, pri, after);
    }
    if let Some(rec) = rfc3164::parse_body(msg, pri, rest) {
        return rec;
    }
    verbatim(msg, pri, rest, body)
}

/// A message we could not parse: kept as it came. With a valid PRI the text after it is the
/// content (RFC 3164 §4.3.2); without, the whole frame is.
fn verbatim(msg: &RawMessage, pri: Option<u8>, rest: &[u8], body: &[u8]) -> LogRecord {
    let mut rec = base_record(msg, pri);
    rec.host = peer_host(msg);
    rec.message = lossy(if pri.is_some() { rest } else { body });
    rec
}

/// The record fields every path sets the same way (`raw` is set by [`parse`]).
pub(crate) fn base_record(msg: &RawMessage, pri: Option<u8>) -> LogRecord {
    let pri = pri.unwrap_or(DEFAULT_PRI);
    LogRecord {
        timestamp_ns: msg.received_ns,
        received_ns: msg.received_ns,
        severity: Some(pri % 8),
        facility: Some(pri / 8),
        ..LogRecord::default()
    }
}

/// The host of a message that names none: the sender's address (empty when unknown).
pub(crate) fn peer_host(msg: &RawMessage) -> String {
    msg.peer.map(|p| p.to_string()).unwrap_or_default()
}

/// `<PRI>` at the start: 1-3 digits, at most 191 (facility 23, severity 7). Returns the value and
/// the bytes it took; None when absent or malformed (the message is then treated as PRI-less).
pub(crate) fn parse_pri(b: &[u8]) -> Option<(u8, usize)> {
    if b.first() != Some(&b'<') {
        return None;
    }
    let mut v: u32 = 0;
    for (i, &c) in b.iter().enumerate().skip(1).take(4) {
        match c {
            b'0'..=b'9' if i <= 3 => v = v * 10 + u32::from(c - b'0'),
            b'>' if i >= 2 => {
                return u8::try_from(v)
                    .ok()
                    .filter(|&p| p <= 191)
                    .map(|p| (p, i + 1));
            }
            _ => return None,
        }
    }
    None
}

/// Drops trailing LF, CR and NUL: UDP senders (rsyslog's omfwd) append LF to datagrams, and
/// a terminator is never part of the text.
fn trim_terminators(mut b: &[u8]) -> &[u8] {
    while let Some((&last, init)) = b.split_last() {
        if matches!(last, b'\n' | b'\r' | 0) {
            b = init;
        } else {
            break;
        }
    }
    b
}

pub(crate) fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `b` without its first byte when that is a space: the separator before a message is one
/// space, a second one (rsyslog's Protocol23 template) is not text either.
pub(crate) fn strip_one_space(b: &[u8]) -> &[u8] {
    b.strip_prefix(b" ").unwrap_or(b)
}

#[cfg(test)]
pub(crate) mod test_support {
    use crate::model::{RawMessage, Transport};
    use std::net::{IpAddr, Ipv4Addr};

    /// 2026-11-25T00:00:00Z: the receive time of every test message.
    pub const RECEIVED_NS: i64 = 1_795_564_800 * 1_000_000_000;
    /// 2026-11-24T16:00:00Z.
    pub const NOV24_16: i64 = 1_795_536_000 * 1_000_000_000;
    pub const PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));

    pub fn raw(bytes: &[u8]) -> RawMessage {
        RawMessage {
            received_ns: RECEIVED_NS,
            peer: Some(PEER),
            transport: Transport::Tcp,
            bytes: bytes.to_vec(),
            truncated: false,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::test_support::*;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pri_forms() {
        assert_eq!(parse_pri(b"<0>x"), Some((0, 3)));
        assert_eq!(parse_pri(b"<13>x"), Some((13, 4)));
        assert_eq!(parse_pri(b"<191>x"), Some((191, 5)));
        for bad in [
            &b"<192>x"[..],
            b"<>x",
            b"<1234>x",
            b"<1a>",
            b"13>",
            b"<13",
            b"",
        ] {
            assert_eq!(parse_pri(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn garbage_is_kept_verbatim() {
        let r = parse(&raw(b"hello \xff world\n"));
        assert_eq!(r.message, "hello \u{fffd} world");
        assert_eq!(r.host, "192.0.2.7");
        assert_eq!(r.timestamp_ns, RECEIVED_NS);
        assert_eq!(r.received_ns, RECEIVED_NS);
        assert_eq!((r.severity, r.facility), (Some(5), Some(1)));
        assert_eq!(r.raw, b"hello \xff world\n");
    }

    #[test]
    fn bad_pri_is_no_pri() {
        let r = parse(&raw(b"<999>Nov 24 16:00:00 host app: x"));
        assert_eq!(r.message, "<999>Nov 24 16:00:00 host app: x");
        assert_eq!((r.severity, r.facility), (Some(5), Some(1)));
        let r = parse(&raw(b"<192>1 2026-11-24T16:00:00Z h a - - - x"));
        assert_eq!(r.message, "<192>1 2026-11-24T16:00:00Z h a - - - x");
    }

    #[test]
    fn valid_pri_without_header_keeps_pri() {
        let r = parse(&raw(b"<11>something odd"));
        assert_eq!(r.message, "something odd");
        assert_eq!((r.severity, r.facility), (Some(3), Some(1)));
        assert_eq!(r.host, "192.0.2.7");
    }

    #[test]
    fn no_peer_gives_empty_host() {
        let mut m = raw(b"junk");
        m.peer = None;
        assert_eq!(parse(&m).host, "");
    }

    /// Every line of the capture file: exact bytes from rsyslog 8.2302 and util-linux logger 2.38.
    #[test]
    fn golden_rsyslog_and_logger_captures() {
        let text =
            include_str!("../../../ingest-tests/golden/syslog/syslog-rsyslog-logger-bytes.txt");
        let cases = include_str!("../../../ingest-tests/golden/syslog/expected.tsv");
        let mut expected = std::collections::HashMap::new();
        for line in cases
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let cols: Vec<&str> = line.split('\t').collect();
            assert_eq!(cols.len(), 10, "bad expected line {line}");
            expected.insert(cols[0].to_string(), cols[1..].to_vec());
        }
        let mut seen = 0;
        for line in text
            .lines()
            .filter(|l| l.starts_with("tcp ") || l.starts_with("udp "))
        {
            let (proto, rest) = line.split_once(' ').unwrap();
            let (_peer, rest) = rest.split_once(' ').unwrap();
            let (len, repr) = rest.split_once(' ').unwrap();
            let bytes = unescape_python_bytes(repr);
            assert_eq!(bytes.len(), len.parse::<usize>().unwrap(), "{line}");
            // TCP chunks are framed first, as the listener would.
            let frames: Vec<Vec<u8>> = if proto == "tcp" {
                let mut d = FrameDecoder::new(DEFAULT_MAX_MESSAGE);
                let mut buf = bytes::BytesMut::from(&bytes[..]);
                let mut v = Vec::new();
                while let Some(f) = d.decode(&mut buf, true).unwrap() {
                    v.push(f.bytes);
                }
                v
            } else {
                vec![bytes.clone()]
            };
            assert_eq!(frames.len(), 1, "{line}");
            let key = String::from_utf8_lossy(trim_terminators(&frames[0])).into_owned();
            let want = expected
                .get(&key)
                .unwrap_or_else(|| panic!("no expected record for {key:?}"));
            let r = parse(&raw(&frames[0]));
            let fields: Vec<String> = r.fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let got = vec![
                r.timestamp_ns.to_string(),
                r.host.clone(),
                r.app.clone(),
                r.pid.clone(),
                r.severity.unwrap().to_string(),
                r.facility.unwrap().to_string(),
                r.msgid.clone(),
                fields.join(";"),
                r.message.clone(),
            ];
            assert_eq!(got, *want, "{key}");
            assert_eq!(r.raw, frames[0]);
            seen += 1;
        }
        assert_eq!(seen, 19);
    }

    /// Decodes the capture file's Python `b'...'` notation.
    fn unescape_python_bytes(repr: &str) -> Vec<u8> {
        let inner = repr
            .strip_prefix("b'")
            .and_then(|s| s.strip_suffix('\''))
            .unwrap();
        let b = inner.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'\\' {
                match b[i + 1] {
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'0' => out.push(0),
                    b'\\' => out.push(b'\\'),
                    b'\'' => out.push(b'\''),
                    b'x' => {
                        out.push(u8::from_str_radix(&inner[i + 2..i + 4], 16).unwrap());
                        i += 2;
                    }
                    c => panic!("unknown escape {c}"),
                }
                i += 2;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        out
    }

    /// The UTC timestamp a LogHub row's month (column 1), day (2) and time (3) should give for
    /// our receive time 2026-11-25: December is more than a day ahead, so it is 2025's.
    fn loghub_timestamp(cols: &[String]) -> i64 {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let month = MONTHS.iter().position(|m| *m == cols[1]).unwrap() as u32 + 1;
        let year = if month == 12 { 2025 } else { 2026 };
        let day: u32 = cols[2].parse().unwrap();
        let hms: Vec<i64> = cols[3].split(':').map(|x| x.parse().unwrap()).collect();
        let secs =
            time::days_from_civil(year, month, day) * 86_400 + hms[0] * 3600 + hms[1] * 60 + hms[2];
        secs * 1_000_000_000
    }

    /// Parses every LogHub line (prefixed with `<13>`, as a relay would add) and compares host,
    /// app, pid, trimmed message and timestamp with the ground truth; returns the match ratio.
    fn loghub_accuracy(
        name: &str,
        log: &str,
        csv: &str,
        expect: impl Fn(&[String]) -> [String; 4],
    ) -> f64 {
        let mut rows = csv.lines();
        let header = rows.next().unwrap();
        let ncols = crate::testutil::csv_fields(header).len();
        let mut total = 0;
        let mut good = 0;
        for (line, row) in log.lines().zip(rows) {
            let cols = crate::testutil::csv_fields(row);
            assert_eq!(cols.len(), ncols, "{row}");
            let [host, app, pid, message] = expect(&cols);
            let want = [host, app, pid, message, loghub_timestamp(&cols).to_string()];
            let r = parse(&raw(format!("<13>{line}").as_bytes()));
            let got = [
                r.host.clone(),
                r.app.clone(),
                r.pid.clone(),
                r.message.trim().to_string(),
                r.timestamp_ns.to_string(),
            ];
            total += 1;
            if got == want {
                good += 1;
            } else {
                println!("{name} line {}: got {got:?}, want {want:?}", cols[0]);
            }
        }
        assert_eq!(total, 2000, "{name}: every line has a ground-truth row");
        let ratio = f64::from(good) / f64::from(total);
        println!("{name}: {good}/{total} = {:.2}%", ratio * 100.0);
        ratio
    }

    #[test]
    fn loghub_linux_accuracy() {
        // Columns: LineId,Month,Date,Time,Level(= host),Component(= program),PID,Content,...
        let ratio = loghub_accuracy(
            "Linux_2k",
            include_str!("../../../ingest-tests/data/loghub/Linux_2k.log"),
            include_str!("../../../ingest-tests/data/loghub/Linux_2k.log_structured.csv"),
            |c| {
                [
                    c[4].clone(),
                    c[5].clone(),
                    c[6].clone(),
                    c[7].trim().to_string(),
                ]
            },
        );
        assert!(ratio >= 0.999, "Linux_2k match {ratio}");
    }

    #[test]
    fn loghub_openssh_accuracy() {
        // Columns: LineId,Date(= month),Day,Time,Component(= host),Pid,Content,...; program is sshd.
        let ratio = loghub_accuracy(
            "OpenSSH_2k",
            include_str!("../../../ingest-tests/data/loghub/OpenSSH_2k.log"),
            include_str!("../../../ingest-tests/data/loghub/OpenSSH_2k.log_structured.csv"),
            |c| {
                [
                    c[4].clone(),
                    "sshd".to_string(),
                    c[5].clone(),
                    c[6].trim().to_string(),
                ]
            },
        );
        assert!(ratio >= 0.999, "OpenSSH_2k match {ratio}");
    }

    const VALID: &[&[u8]] = &[
        b"<134>Nov 24 16:00:00 myhost myapp[123]: hello",
        b"<165>1 2026-11-24T16:00:00.123456+00:00 myhost app 123 ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"App\"] hello",
        b"<189>123: *Mar  1 18:48:50.483 UTC: %SYS-5-CONFIG_I: Configured from console",
        b"<13>2026-11-24T16:00:00.123+01:00 host app[1]: msg",
        b"<13>1 - - - - - [a b=\"c\\]\"][d e=f] \xef\xbb\xbfhi",
        b"Nov 24 16:29:53 sshd[12]: x",
    ];

    proptest! {
        #[test]
        fn parse_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let r = parse(&raw(&bytes));
            prop_assert_eq!(r.raw, bytes);
            prop_assert_eq!(r.received_ns, RECEIVED_NS);
        }

        #[test]
        fn parse_never_panics_on_mutations(
            which in 0..VALID.len(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6),
        ) {
            let mut bytes = VALID[which].to_vec();
            for (at, byte, op) in edits {
                let i = at.index(bytes.len() + 1);
                match op {
                    0 if i < bytes.len() => bytes[i] = byte,
                    1 => bytes.insert(i, byte),
                    _ if i < bytes.len() => { bytes.truncate(i); }
                    _ => {}
                }
            }
            let r = parse(&raw(&bytes));
            prop_assert_eq!(r.raw, bytes);
            prop_assert!(r.severity.is_some_and(|s| s < 8));
            prop_assert!(r.facility.is_some_and(|f| f < 24));
        }
    }
}
