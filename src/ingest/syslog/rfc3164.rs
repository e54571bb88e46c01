//! RFC 3164 ("BSD syslog") and the shapes real senders give it:
//! `<PRI>TIMESTAMP HOSTNAME TAG[PID]: MSG`.
//!
//! RFC 3164 describes observed practice rather than a grammar, so this parser is a set of
//! heuristics tuned on real traffic (rsyslog, logger, sysklogd, Cisco IOS, postfix): an optional
//! Cisco sequence number and time-sync marker, a BSD or ISO timestamp, a hostname that may be
//! missing, and a tag that may carry a pid, a slash, or no colon.

use super::time::{self, Civil};
use super::{base_record, lossy, parse_pri, peer_host, strip_one_space};
use crate::model::{LogRecord, RawMessage};

/// How far to look for the end of a tag. RFC 3164 says 32 characters; real tags such as
/// `postfix/smtpd` or `sshd(pam_unix)` with a pid run longer, so allow some slack.
const MAX_TAG: usize = 64;

/// Parses `msg` as RFC 3164; None when no timestamp is found where the header should be.
pub fn parse(msg: &RawMessage) -> Option<LogRecord> {
    let b = &msg.bytes;
    let end = b
        .iter()
        .rposition(|c| !matches!(c, b'\n' | b'\r' | 0))
        .map_or(0, |i| i + 1);
    let b = &b[..end];
    let (pri, rest) = match parse_pri(b) {
        Some((p, n)) => (Some(p), &b[n..]),
        None => (None, b),
    };
    let mut rec = parse_body(msg, pri, rest)?;
    rec.raw = msg.bytes.clone();
    Some(rec)
}

/// Parses what follows the PRI (or the whole frame when it has none), trailing terminators
/// already removed; `raw` is left to the caller.
pub(crate) fn parse_body(msg: &RawMessage, pri: Option<u8>, b: &[u8]) -> Option<LogRecord> {
    let mut pos = skip_spaces(b, 0);
    let mut host: Option<&[u8]> = None;

    // Cisco IOS: `123: ` sequence number, then optionally `host: `, before the timestamp.
    if let Some(after_seq) = cisco_sequence(b, pos) {
        pos = after_seq;
        if timestamp(b, pos).is_none()
            && let Some(sp) = memchr::memchr(b' ', &b[pos..])
        {
            let tok = &b[pos..pos + sp];
            let next = skip_spaces(b, pos + sp + 1);
            if tok.len() > 1 && tok.ends_with(b":") && timestamp(b, next).is_some() {
                host = Some(&tok[..tok.len() - 1]);
                pos = next;
            }
        }
    }

    let (civil, ts_end) = timestamp(b, pos)?;
    pos = ts_end;
    let mut header_ended = false;
    match b.get(pos) {
        None => {}
        // `timestamp: text` (Cisco): the header ends here, no hostname follows.
        Some(b':') => {
            header_ended = true;
            pos += 1;
        }
        Some(b' ') => {}
        // Something glued to the time: not a timestamp after all.
        Some(_) => return None,
    }
    pos = skip_spaces(b, pos);

    if !header_ended && host.is_none() {
        let tok_end = memchr::memchr(b' ', &b[pos..]).map_or(b.len(), |i| pos + i);
        let tok = &b[pos..tok_end];
        // A token that ends with `:` or has a `[` is a tag: the sender left the hostname out
        // (local /dev/log style, or `logger` to a remote without a hostname).
        if !tok.is_empty() && !tok.ends_with(b":") && !tok.contains(&b'[') {
            host = Some(tok);
            pos = skip_spaces(b, tok_end);
        }
    }

    let mut rec = base_record(msg, pri);
    if let Some(ns) = civil.to_ns(msg.received_ns) {
        rec.timestamp_ns = ns;
    }
    rec.host = match host {
        Some(h) => lossy(h),
        None => peer_host(msg),
    };
    let text = match tag(b, pos) {
        Some(t) => {
            rec.app = lossy(&b[pos..t.app_end]);
            if let Some((s, e)) = t.pid {
                rec.pid = lossy(&b[s..e]);
            }
            strip_one_space(&b[t.msg_start..])
        }
        None => &b[pos..],
    };
    rec.message = lossy(text);
    Some(rec)
}

/// `digits: ` at `pos` (a Cisco sequence number); returns the position after the space.
fn cisco_sequence(b: &[u8], pos: usize) -> Option<usize> {
    let digits = b[pos..].iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || b.get(pos + digits) != Some(&b':') || b.get(pos + digits + 1) != Some(&b' ') {
        return None;
    }
    Some(skip_spaces(b, pos + digits + 2))
}

/// A timestamp at `pos`: optional Cisco time-sync marker (`*` not synced, `.` synced once), then
/// an ISO timestamp (rsyslog's RSYSLOG_FileFormat) or a BSD one with an optional zone
/// abbreviation when a colon follows it (`... 18:48:50.483 UTC:`). Returns it and its end.
fn timestamp(b: &[u8], mut pos: usize) -> Option<(Civil, usize)> {
    if matches!(b.get(pos), Some(b'*' | b'.')) {
        pos += 1;
    }
    let rest = b.get(pos..)?;
    if rest.first()?.is_ascii_digit() {
        let (civil, n) = time::parse_rfc3339(rest)?;
        return Some((civil, pos + n));
    }
    let (mut civil, n) = time::parse_bsd(rest)?;
    let mut end = pos + n;
    if b.get(end) == Some(&b' ') {
        let z_start = end + 1;
        let z_len = b[z_start..]
            .iter()
            .take_while(|c| c.is_ascii_uppercase())
            .count();
        if b.get(z_start + z_len) == Some(&b':')
            && let Some(off) = time::zone_abbreviation(&b[z_start..z_start + z_len])
        {
            civil.offset_secs = off;
            end = z_start + z_len;
        }
    }
    Some((civil, end))
}

/// Where the tag's parts are in the line.
struct Tag {
    /// End of the program name (it starts at the tag's start).
    app_end: usize,
    /// The bracketed pid's bounds, when there is one.
    pid: Option<(usize, usize)>,
    /// Where the message starts (after `:` or `]`).
    msg_start: usize,
}

/// Reads a tag at `start`: `app:`, `app[pid]:`, `app[pid]` (rsyslog forwarding RFC 5424 input in
/// the traditional format) or `app/sub[pid]:`. One inner space is allowed because sysklogd and
/// login write `syslogd 1.4.1:` and `-- root[2421]:`. None when there is no tag: the text is then
/// all message, which is better than guessing the first word is a program.
fn tag(b: &[u8], start: usize) -> Option<Tag> {
    let limit = b.len().min(start + MAX_TAG);
    let mut spaces = 0;
    let mut i = start;
    while i < limit {
        match b[i] {
            b':' if i > start && matches!(b.get(i + 1), None | Some(b' ')) => {
                return Some(Tag {
                    app_end: i,
                    pid: None,
                    msg_start: i + 1,
                });
            }
            b'[' if i > start => {
                let close = i + 1 + memchr::memchr(b']', &b[i + 1..limit])?;
                let mut msg_start = close + 1;
                if b.get(msg_start) == Some(&b':') {
                    msg_start += 1;
                }
                if !matches!(b.get(msg_start), None | Some(b' ')) {
                    return None;
                }
                return Some(Tag {
                    app_end: i,
                    pid: Some((i + 1, close)),
                    msg_start,
                });
            }
            b' ' if spaces == 0 && i > start => spaces += 1,
            b' ' | b'[' | b']' => return None,
            c if c.is_ascii_control() => return None,
            _ => {}
        }
        i += 1;
    }
    None
}

fn skip_spaces(b: &[u8], mut pos: usize) -> usize {
    while b.get(pos) == Some(&b' ') {
        pos += 1;
    }
    pos
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::super::parse as parse_any;
    use super::super::test_support::*;
    use super::*;

    const SEC: i64 = 1_000_000_000;

    fn p(b: &[u8]) -> LogRecord {
        let r = parse_any(&raw(b));
        assert_eq!(r.raw, b);
        assert_eq!(r.received_ns, RECEIVED_NS);
        r
    }

    /// (host, app, pid, message)
    type Parts<'a> = (&'a str, &'a str, &'a str, &'a str);

    fn parts(r: &LogRecord) -> Parts<'_> {
        (&r.host, &r.app, &r.pid, &r.message)
    }

    #[test]
    fn classic_line() {
        let r = p(b"<134>Nov 24 16:00:00 myhost myapp[123]: hello 3164 via imtcp");
        assert_eq!(
            parts(&r),
            ("myhost", "myapp", "123", "hello 3164 via imtcp")
        );
        assert_eq!(r.timestamp_ns, NOV24_16);
        assert_eq!((r.severity, r.facility), (Some(6), Some(16)));
        let line = b"<134>Nov 24 16:00:00 myhost myapp[123]: hello 3164 via imtcp";
        assert_eq!(parse(&raw(line)), Some(r), "module parse agrees");
    }

    #[test]
    fn no_hostname() {
        let r = p(b"<13>Nov 24 16:29:53 sshd[12]: x");
        assert_eq!(parts(&r), ("192.0.2.7", "sshd", "12", "x"));
        let r = p(b"<13>Nov 24 16:29:53 root: hello");
        assert_eq!(parts(&r), ("192.0.2.7", "root", "", "hello"));
    }

    #[test]
    fn missing_year_rolls_back() {
        // Received 2026-11-25: November 24 is this year, December 24 last year.
        assert_eq!(p(b"<13>Nov 24 16:00:00 h a: m").timestamp_ns, NOV24_16);
        let dec = p(b"<13>Dec 24 16:00:00 h a: m").timestamp_ns;
        assert_eq!(dec, NOV24_16 - 335 * 86_400 * SEC);
        // Within a day ahead (clock skew) stays this year.
        let r = p(b"<13>Nov 25 12:00:00 h a: m");
        assert_eq!(r.timestamp_ns, RECEIVED_NS + 12 * 3600 * SEC);
        // A December line received in January belongs to the previous year.
        let mut m = raw(b"<13>Dec 31 23:59:00 h a: m");
        m.received_ns = 1_798_761_600 * SEC; // 2027-01-01T00:00:00Z
        assert_eq!(parse_any(&m).timestamp_ns, (1_798_761_600 - 60) * SEC);
    }

    #[test]
    fn single_digit_day() {
        let r = p(b"<13>Jun  9 01:02:03 h a: m");
        let r2 = p(b"<13>Jun 9 01:02:03 h a: m");
        let r3 = p(b"<13>Jun 09 01:02:03 h a: m");
        assert_eq!(r.timestamp_ns, r2.timestamp_ns);
        assert_eq!(r.timestamp_ns, r3.timestamp_ns);
        assert_eq!(r.timestamp_ns, 1_780_966_923 * SEC); // 2026-06-09T01:02:03Z
        assert_eq!(parts(&r), ("h", "a", "", "m"));
    }

    #[test]
    fn cisco_sequence_and_sync_markers() {
        let r = p(b"<189>123: *Mar  1 18:48:50.483 UTC: %SYS-5-CONFIG_I: Configured from console by vty0 (10.0.0.1)");
        assert_eq!(
            parts(&r),
            (
                "192.0.2.7",
                "%SYS-5-CONFIG_I",
                "",
                "Configured from console by vty0 (10.0.0.1)"
            )
        );
        assert_eq!(r.timestamp_ns, 1_772_390_930 * SEC + 483_000_000); // 2026-03-01T18:48:50.483Z
        assert_eq!((r.severity, r.facility), (Some(5), Some(23)));
        let r = p(b"<189>52: router1: Mar 1 18:48:50 UTC: %LINK-3-UPDOWN: Interface Gi0/1, changed state to up");
        assert_eq!(
            parts(&r),
            (
                "router1",
                "%LINK-3-UPDOWN",
                "",
                "Interface Gi0/1, changed state to up"
            )
        );
        assert_eq!(r.timestamp_ns, 1_772_390_930 * SEC);
        let r = p(b"<189>52: .Mar  1 18:48:50 PST: %X-1-Y: z");
        assert_eq!(r.timestamp_ns, (1_772_390_930 + 8 * 3600) * SEC);
        assert_eq!(parts(&r), ("192.0.2.7", "%X-1-Y", "", "z"));
    }

    #[test]
    fn timestamp_with_year() {
        let r = p(b"<13>Nov 24 2026 16:00:00 host app: m");
        assert_eq!(r.timestamp_ns, NOV24_16);
        assert_eq!(parts(&r), ("host", "app", "", "m"));
        let r = p(b"<13>Nov 24 2019 16:00:00 host app: m");
        assert_eq!(r.timestamp_ns, 1_574_611_200 * SEC);
    }

    #[test]
    fn iso_timestamp_in_3164_header() {
        let r = p(b"<13>2026-11-24T17:00:00.123+01:00 host app[1]: msg");
        assert_eq!(r.timestamp_ns, NOV24_16 + 123_000_000);
        assert_eq!(parts(&r), ("host", "app", "1", "msg"));
    }

    #[test]
    fn extra_space_after_pri_and_no_pri() {
        let r = p(b"<13> Nov 24 16:00:00 host app: m");
        assert_eq!(parts(&r), ("host", "app", "", "m"));
        assert_eq!(r.timestamp_ns, NOV24_16);
        let r = p(b"Nov 24 16:00:00 host app: m");
        assert_eq!(parts(&r), ("host", "app", "", "m"));
        assert_eq!((r.severity, r.facility), (Some(5), Some(1)));
    }

    #[test]
    fn tag_forms() {
        let cases: &[(&[u8], Parts)] = &[
            (b"<13>Nov 24 16:00:00 h app[42]: m", ("h", "app", "42", "m")),
            (b"<13>Nov 24 16:00:00 h app: m", ("h", "app", "", "m")),
            (
                b"<165>Nov 24 16:00:00 myhost app[123] hello 5424 via imtcp",
                ("myhost", "app", "123", "hello 5424 via imtcp"),
            ),
            (
                b"<22>Nov 24 16:00:00 mx postfix/smtpd[123]: connect from x[1.2.3.4]",
                ("mx", "postfix/smtpd", "123", "connect from x[1.2.3.4]"),
            ),
            (
                b"<13>Nov 24 16:00:00 h sshd(pam_unix)[9]: auth",
                ("h", "sshd(pam_unix)", "9", "auth"),
            ),
            (
                b"<13>Nov 24 16:00:00 h syslogd 1.4.1: restart.",
                ("h", "syslogd 1.4.1", "", "restart."),
            ),
            (
                b"<13>Nov 24 16:00:00 h  -- root[2421]: ROOT LOGIN",
                ("h", "-- root", "2421", "ROOT LOGIN"),
            ),
            (b"<13>Nov 24 16:00:00 h app:", ("h", "app", "", "")),
            (b"<13>Nov 24 16:00:00 h app[7]", ("h", "app", "7", "")),
            (
                b"<13>Nov 24 16:00:00 h -- MARK --",
                ("h", "", "", "-- MARK --"),
            ),
            (
                b"<13>Nov 24 16:00:00 h just some text",
                ("h", "", "", "just some text"),
            ),
            (
                b"<13>Nov 24 16:00:00 h app[unterminated: m",
                ("h", "", "", "app[unterminated: m"),
            ),
            (b"<13>Nov 24 16:00:00 h", ("h", "", "", "")),
            (b"<13>Nov 24 16:00:00", ("192.0.2.7", "", "", "")),
        ];
        for (line, want) in cases {
            assert_eq!(parts(&p(line)), *want, "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn exactly_one_leading_space_removed() {
        let r = p(b"<13>Nov 24 16:00:00 h kernel:  BIOS-e820: x ");
        assert_eq!(r.message, " BIOS-e820: x ");
        let r = p(b"<13>Nov 24 16:00:00 h kernel:x");
        assert_eq!((r.app.as_str(), r.message.as_str()), ("", "kernel:x"));
    }

    #[test]
    fn non_utf8_bytes() {
        let r = p(b"<13>Nov 24 16:00:00 h\xe9 app: caf\xe9 \xff");
        assert_eq!(parts(&r), ("h\u{fffd}", "app", "", "caf\u{fffd} \u{fffd}"));
    }

    #[test]
    fn not_a_timestamp_is_verbatim() {
        assert!(parse(&raw(b"<13>Nov 24 16:00:00x h a: m")).is_none());
        assert!(parse(&raw(b"<13>Foo 24 16:00:00 h a: m")).is_none());
        assert!(parse(&raw(b"<13>Nov 32 16:00:00 h a: m")).is_none());
        let r = p(b"<13>Nov 24 16:00 h a: m");
        assert_eq!(r.message, "Nov 24 16:00 h a: m");
        assert_eq!(r.timestamp_ns, RECEIVED_NS);
    }

    #[test]
    fn crlf_and_nul_are_not_message() {
        let r = p(b"<13>Nov 24 16:00:00 h a: m\r\n");
        assert_eq!(r.message, "m");
        let r = p(b"<13>Nov 24 16:00:00 h a: m\0");
        assert_eq!(r.message, "m");
    }
}
