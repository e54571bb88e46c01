//! Civil-date arithmetic and the timestamp shapes syslog senders use, parsed on bytes.
//!
//! Hand-written (Howard Hinnant's `days_from_civil`) because the parser runs for every line and
//! needs no calendar library for UTC offsets; all results are nanoseconds since the Unix epoch.

const NS_PER_SEC: i64 = 1_000_000_000;
const SECS_PER_DAY: i64 = 86_400;

pub(crate) use crate::model::time::days_from_civil;

/// The UTC calendar year containing `ns`; used to give RFC 3164 timestamps their missing year.
pub(crate) fn year_of(ns: i64) -> i64 {
    crate::model::time::civil_from_days(ns.div_euclid(NS_PER_SEC).div_euclid(SECS_PER_DAY)).0
}

/// A wall-clock time without a date's year resolved yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Civil {
    /// None when the sender left it out (RFC 3164).
    pub year: Option<i64>,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub nanos: u32,
    /// Seconds east of UTC; 0 when the sender gave no zone (we take such times as UTC).
    pub offset_secs: i32,
}

impl Civil {
    /// Nanoseconds since the epoch in the given year; None when out of i64 range.
    fn to_ns_in(self, year: i64) -> Option<i64> {
        let days = days_from_civil(year, self.month, self.day);
        let secs = days
            .checked_mul(SECS_PER_DAY)?
            .checked_add(i64::from(self.hour) * 3600 + i64::from(self.minute) * 60)?
            .checked_add(i64::from(self.second))?
            .checked_sub(i64::from(self.offset_secs))?;
        secs.checked_mul(NS_PER_SEC)?
            .checked_add(i64::from(self.nanos))
    }

    /// UTC nanoseconds; a missing year is taken from the receive time so the result is not more
    /// than a day in the future of `received_ns` (a December line read in January is last year's,
    /// a January line read on 31 December with a fast sender clock is next year's).
    pub fn to_ns(self, received_ns: i64) -> Option<i64> {
        if let Some(y) = self.year {
            return self.to_ns_in(y);
        }
        const SLACK: i64 = SECS_PER_DAY * NS_PER_SEC;
        let limit = received_ns.saturating_add(SLACK);
        let y = year_of(received_ns);
        for year in [y + 1, y] {
            match self.to_ns_in(year) {
                Some(ns) if ns <= limit => return Some(ns),
                _ => {}
            }
        }
        self.to_ns_in(y - 1)
    }
}

/// Reads exactly `n` ASCII digits at `pos`.
fn digits(b: &[u8], pos: usize, n: usize) -> Option<u32> {
    let s = b.get(pos..pos + n)?;
    let mut v = 0u32;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

/// `HH:MM:SS` at `pos`, range-checked (60 allowed for a leap second).
fn hms(b: &[u8], pos: usize) -> Option<(u32, u32, u32)> {
    let h = digits(b, pos, 2)?;
    let m = digits(b, pos + 3, 2)?;
    let s = digits(b, pos + 6, 2)?;
    if b[pos + 2] != b':' || b[pos + 5] != b':' || h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some((h, m, s))
}

/// `.fraction` of 1 or more digits at `pos` (digits past the ninth are ignored); returns
/// (nanoseconds, bytes consumed), (0, 0) when there is none.
fn fraction(b: &[u8], pos: usize) -> (u32, usize) {
    if b.get(pos) != Some(&b'.') {
        return (0, 0);
    }
    let mut nanos = 0u32;
    let mut n = 0;
    while let Some(&c) = b.get(pos + 1 + n) {
        if !c.is_ascii_digit() {
            break;
        }
        if n < 9 {
            nanos = nanos * 10 + u32::from(c - b'0');
        }
        n += 1;
    }
    if n == 0 {
        return (0, 0);
    }
    for _ in n..9 {
        nanos *= 10;
    }
    (nanos, n + 1)
}

/// Parses an RFC 3339 / RFC 5424 timestamp at the start of `b` (`T` or `t` separator, fraction of
/// any length, zone `Z`/`z`, `+hh:mm`, `+hhmm`, `+hh` or none = UTC); returns it and its length.
pub(crate) fn parse_rfc3339(b: &[u8]) -> Option<(Civil, usize)> {
    let year = digits(b, 0, 4)?;
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    if b[4] != b'-' || b[7] != b'-' || !matches!(b.get(10), Some(b'T' | b't')) {
        return None;
    }
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let (hour, minute, second) = hms(b, 11)?;
    let mut pos = 19;
    let (nanos, n) = fraction(b, pos);
    pos += n;
    let mut offset_secs = 0i32;
    match b.get(pos) {
        Some(b'Z' | b'z') => pos += 1,
        Some(&sign @ (b'+' | b'-')) => {
            let oh = digits(b, pos + 1, 2)?;
            pos += 3;
            let mut om = 0;
            if b.get(pos) == Some(&b':') {
                om = digits(b, pos + 1, 2)?;
                pos += 3;
            } else if let Some(m) = digits(b, pos, 2) {
                om = m;
                pos += 2;
            }
            if oh > 23 || om > 59 {
                return None;
            }
            let off = (oh * 3600 + om * 60) as i32;
            offset_secs = if sign == b'-' { -off } else { off };
        }
        _ => {}
    }
    let civil = Civil {
        year: Some(i64::from(year)),
        month,
        day,
        hour,
        minute,
        second,
        nanos,
        offset_secs,
    };
    Some((civil, pos))
}

/// Month number of a three-letter English abbreviation (any case).
fn month(b: &[u8]) -> Option<u32> {
    let m = [
        b.first()?.to_ascii_lowercase(),
        b.get(1)?.to_ascii_lowercase(),
        b.get(2)?.to_ascii_lowercase(),
    ];
    let n = match &m {
        b"jan" => 1,
        b"feb" => 2,
        b"mar" => 3,
        b"apr" => 4,
        b"may" => 5,
        b"jun" => 6,
        b"jul" => 7,
        b"aug" => 8,
        b"sep" => 9,
        b"oct" => 10,
        b"nov" => 11,
        b"dec" => 12,
        _ => return None,
    };
    Some(n)
}

/// Parses a BSD timestamp at the start of `b`: `Mmm dd hh:mm:ss` with the day as `dd`, ` d`
/// (space padded) or `d`, an optional fraction (Cisco `.483`) and an optional year before the
/// time (`Nov 24 2026 16:00:00`). No zone; see [`zone_abbreviation`].
pub(crate) fn parse_bsd(b: &[u8]) -> Option<(Civil, usize)> {
    let month = month(b)?;
    if b.get(3) != Some(&b' ') {
        return None;
    }
    let mut pos = 4;
    if b.get(pos) == Some(&b' ') {
        pos += 1;
    }
    let day = if let Some(d) = digits(b, pos, 2) {
        pos += 2;
        d
    } else {
        let d = digits(b, pos, 1)?;
        pos += 1;
        d
    };
    if !(1..=31).contains(&day) || b.get(pos) != Some(&b' ') {
        return None;
    }
    pos += 1;
    let mut year = None;
    if let Some(y) = digits(b, pos, 4)
        && b.get(pos + 4) == Some(&b' ')
    {
        year = Some(i64::from(y));
        pos += 5;
    }
    if b.len() < pos + 8 {
        return None;
    }
    let (hour, minute, second) = hms(b, pos)?;
    pos += 8;
    let (nanos, n) = fraction(b, pos);
    pos += n;
    let civil = Civil {
        year,
        month,
        day,
        hour,
        minute,
        second,
        nanos,
        offset_secs: 0,
    };
    Some((civil, pos))
}

/// UTC offset of the few zone abbreviations network gear prints after a BSD timestamp
/// (Cisco `... 18:48:50.483 UTC:`); unknown ones are not taken as a zone.
pub(crate) fn zone_abbreviation(b: &[u8]) -> Option<i32> {
    let h = match b {
        b"UTC" | b"GMT" | b"Z" | b"UT" => 0,
        b"CET" => 1,
        b"CEST" | b"EET" => 2,
        b"EEST" => 3,
        b"EST" => -5,
        b"EDT" | b"AST" => -4,
        b"CST" => -6,
        b"CDT" => -5,
        b"MST" => -7,
        b"MDT" => -6,
        b"PST" => -8,
        b"PDT" => -7,
        _ => return None,
    };
    Some(h * 3600)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    const SEC: i64 = NS_PER_SEC;

    fn utc(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> i64 {
        (days_from_civil(y, mo, d) * SECS_PER_DAY
            + i64::from(h) * 3600
            + i64::from(mi) * 60
            + i64::from(s))
            * SEC
    }

    #[test]
    fn civil_arithmetic() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(utc(2026, 11, 24, 16, 0, 0), 1_795_536_000 * SEC);
        for y in [1900, 1969, 1970, 2000, 2024, 2026, 2100] {
            assert_eq!(year_of(utc(y, 1, 1, 0, 0, 0)), y);
            assert_eq!(year_of(utc(y, 12, 31, 23, 59, 59)), y);
        }
    }

    #[test]
    fn rfc3339_forms() {
        let base = utc(2026, 11, 24, 16, 0, 0);
        let cases: &[(&str, i64)] = &[
            ("2026-11-24T16:00:00Z", base),
            ("2026-11-24t16:00:00z", base),
            ("2026-11-24T16:00:00", base),
            ("2026-11-24T17:00:00+01:00", base),
            ("2026-11-24T17:00:00+01", base),
            ("2026-11-24T10:30:00-0530", base),
            ("2026-11-24T10:30:00-05:30", base),
            ("2026-11-24T16:00:00.1Z", base + 100_000_000),
            ("2026-11-24T16:00:00.123456+00:00", base + 123_456_000),
            ("2026-11-24T16:00:00.123456789Z", base + 123_456_789),
            ("2026-11-24T16:00:00.1234567891Z", base + 123_456_789),
        ];
        for (s, want) in cases {
            let (c, n) = parse_rfc3339(s.as_bytes()).unwrap_or_else(|| panic!("{s}"));
            assert_eq!(n, s.len(), "{s}");
            assert_eq!(c.to_ns(0), Some(*want), "{s}");
        }
        for bad in [
            "2026-13-01T00:00:00Z",
            "2026-11-24 16:00:00Z",
            "2026-11-24T25:00:00Z",
            "2026",
        ] {
            assert!(parse_rfc3339(bad.as_bytes()).is_none(), "{bad}");
        }
    }

    #[test]
    fn bsd_forms() {
        let recv = utc(2026, 11, 25, 0, 0, 0);
        let cases: &[(&str, i64)] = &[
            ("Nov 24 16:00:00", utc(2026, 11, 24, 16, 0, 0)),
            ("Jun  9 01:02:03", utc(2026, 6, 9, 1, 2, 3)),
            ("Jun 9 01:02:03", utc(2026, 6, 9, 1, 2, 3)),
            (
                "Mar  1 18:48:50.483",
                utc(2026, 3, 1, 18, 48, 50) + 483_000_000,
            ),
            ("Nov 24 2025 16:00:00", utc(2025, 11, 24, 16, 0, 0)),
            // More than a day in the future of the receive time: last year's.
            ("Nov 27 00:00:00", utc(2025, 11, 27, 0, 0, 0)),
            ("Dec 31 23:59:59", utc(2025, 12, 31, 23, 59, 59)),
        ];
        for (s, want) in cases {
            let (c, n) = parse_bsd(s.as_bytes()).unwrap_or_else(|| panic!("{s}"));
            assert_eq!(n, s.len(), "{s}");
            assert_eq!(c.to_ns(recv), Some(*want), "{s}");
        }
    }

    #[test]
    fn year_rollover() {
        let (dec, _) = parse_bsd(b"Dec 31 23:59:58").unwrap();
        let jan_recv = utc(2027, 1, 1, 0, 0, 5);
        assert_eq!(dec.to_ns(jan_recv), Some(utc(2026, 12, 31, 23, 59, 58)));
        let (jan, _) = parse_bsd(b"Jan  1 00:00:30").unwrap();
        let dec_recv = utc(2026, 12, 31, 23, 59, 50);
        assert_eq!(jan.to_ns(dec_recv), Some(utc(2027, 1, 1, 0, 0, 30)));
        // Slightly in the future (clock skew under a day) stays in the receive year.
        let (t, _) = parse_bsd(b"Jun 10 12:00:00").unwrap();
        assert_eq!(
            t.to_ns(utc(2026, 6, 10, 0, 0, 0)),
            Some(utc(2026, 6, 10, 12, 0, 0))
        );
    }

    #[test]
    fn out_of_range_is_none_not_overflow() {
        let (c, _) = parse_rfc3339(b"9999-12-31T23:59:59Z").unwrap();
        assert_eq!(c.to_ns(0), None);
    }
}
