//! Time expressions for `from`/`until`: what graphite-web's `parseATTime` accepts (so existing
//! Grafana dashboards and scripts keep working) plus RFC 3339, which our own UI and API emit.
//!
//! Everything resolves to nanoseconds since the Unix epoch, in UTC: telltale stores UTC and a
//! server-local time zone would make the same URL mean different things on different hosts.
//! The civil-date math is hand-written (Howard Hinnant's `days_from_civil`) to avoid pulling a
//! date crate in for a dozen lines.

use thiserror::Error;

const NS_PER_SEC: i64 = 1_000_000_000;

/// The forms we accept, quoted in every error so the operator can fix the input without docs.
const ACCEPTED: &str = "use now, now-1h, -1h, +5min, epoch seconds, 2026-11-24T16:00:00Z, \
                        2026-11-24, HH:MM_YYYYMMDD or YYYYMMDD";

/// Why a time expression was rejected.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TimeError {
    #[error("empty time expression ({ACCEPTED})")]
    Empty,
    #[error("missing number before '{unit}' in '{input}' (write e.g. -1h or -30min)")]
    MissingNumber { input: String, unit: String },
    #[error(
        "unknown time unit '{unit}' in '{input}' (use s, min, h, d, w, mon or y, or their long \
         forms such as minutes)"
    )]
    UnknownUnit { input: String, unit: String },
    #[error("missing unit after '{number}' in '{input}' (write e.g. -1h or -30min)")]
    MissingUnit { input: String, number: String },
    #[error("invalid date '{input}': {reason}")]
    InvalidDate { input: String, reason: &'static str },
    #[error("time '{0}' is out of range (years 1678 to 2261 are representable)")]
    OutOfRange(String),
    #[error("unrecognized time '{0}' ({ACCEPTED})")]
    Unrecognized(String),
}

/// Parses a `from`/`until` expression relative to `now_ns` (ns since the epoch).
///
/// Accepted: `now`, `today`, `yesterday`, `tomorrow` (UTC midnights), offsets `-1h`, `+5min`,
/// `-1h30min`, `now-2d`, `today+8h` (units s, min, h, d, w, mon = 30 days, y = 365 days and
/// their graphite-web spellings), epoch seconds (or milliseconds when above 1e11), RFC 3339
/// (`2026-11-24T16:00:00Z`, offsets, fractions, a space instead of `T`, date-only as UTC
/// midnight) and graphite's absolute `HH:MM_YYYYMMDD` and `YYYYMMDD` (UTC).
pub fn parse_time(s: &str, now_ns: i64) -> Result<i64, TimeError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(TimeError::Empty);
    }
    // Every accepted form is short ASCII; checking once here makes the byte slicing below safe.
    if t.len() > 64 || !t.is_ascii() {
        return Err(TimeError::Unrecognized(truncate(t)));
    }
    let lower = t.to_ascii_lowercase();

    if lower.bytes().all(|b| b.is_ascii_digit()) {
        return parse_all_digits(t);
    }
    if let Some(ns) = parse_graphite_hhmm(&lower, t)? {
        return Ok(ns);
    }
    if looks_like_iso_date(t) {
        return parse_rfc3339(t);
    }
    // A reference (`now`, `today`, ... or nothing) followed by an optional signed offset.
    let split = lower.find(['+', '-']).unwrap_or(lower.len());
    let (reference, offset) = lower.split_at(split);
    let base = match reference {
        "" | "now" => now_ns,
        "today" | "midnight" => midnight(now_ns),
        "yesterday" => midnight(now_ns).saturating_sub(86_400 * NS_PER_SEC),
        "tomorrow" => midnight(now_ns).saturating_add(86_400 * NS_PER_SEC),
        other => time_of_day_reference(other, now_ns)
            .ok_or_else(|| TimeError::Unrecognized(t.to_string()))?,
    };
    if offset.is_empty() {
        return Ok(base);
    }
    let delta = parse_offset(offset, t)?;
    base.checked_add(delta)
        .ok_or_else(|| TimeError::OutOfRange(t.to_string()))
}

/// graphite-web's `parseTimeReference` beyond the plain words: an optional time of day
/// (`HH:MM`, `9am`, `5pm`, `noon`, `midnight`, `teatime`), then a day (`yesterday`, `today`,
/// `tomorrow`, `YYYYMMDD`, `MM/DD/YY[YY]`, a month name and day such as `jan15`, a weekday
/// such as `monday` for the latest one, or nothing for today). Spaces, `_` and `,` are
/// ignored, as graphite-web does (`noon yesterday`, `6pm_today`). UTC.
fn time_of_day_reference(reference: &str, now_ns: i64) -> Option<i64> {
    let r: String = reference
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | ','))
        .collect();
    let mut rest = r.as_str();
    let (mut hour, mut minute) = (0i64, 0i64);
    let small = |s: &str| -> Option<i64> { s.parse::<i64>().ok().filter(|n| (0..100).contains(n)) };
    if let Some(i) = rest.find(':').filter(|i| (1..3).contains(i)) {
        hour = small(&rest[..i])?;
        minute = small(rest.get(i + 1..i + 3)?)?;
        rest = &rest[i + 3..];
        if let Some(r) = rest.strip_prefix("am") {
            rest = r;
        } else if let Some(r) = rest.strip_prefix("pm") {
            hour = (hour + 12) % 24;
            rest = r;
        }
    }
    if let Some(i) = rest.find("am").filter(|i| (1..3).contains(i)) {
        hour = small(&rest[..i])?;
        rest = &rest[i + 2..];
    }
    if let Some(i) = rest.find("pm").filter(|i| (1..3).contains(i)) {
        hour = (small(&rest[..i])? + 12) % 24;
        rest = &rest[i + 2..];
    }
    for (word, h) in [("noon", 12), ("midnight", 0), ("teatime", 16)] {
        if let Some(r) = rest.strip_prefix(word) {
            (hour, minute, rest) = (h, 0, r);
            break;
        }
    }
    if hour > 23 || minute > 59 {
        return None;
    }
    let day = 86_400i64;
    let today = now_ns.div_euclid(day * NS_PER_SEC);
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let date = |y: i64, m: i64, d: i64| -> Option<i64> {
        ((1..=9999).contains(&y) && (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m))
            .then(|| days_from_civil(y, m, d))
    };
    let days = match rest {
        "" | "today" => today,
        "yesterday" => today - 1,
        "tomorrow" => today + 1,
        r if r.len() == 8 && all_digits(r) => date(num(&r[..4]), num(&r[4..6]), num(&r[6..]))?,
        r if r.matches('/').count() == 2 => {
            let mut it = r.split('/').map(|p| p.parse::<i64>().ok());
            let (m, d, mut y) = (it.next()??, it.next()??, it.next()??);
            if y < 1900 {
                y += 1900;
            }
            if y < 1970 {
                y += 100;
            }
            date(y, m, d)?
        }
        r if r.get(..3).is_some_and(|p| MONTHS.contains(&p)) => {
            let digits: String = r
                .chars()
                .rev()
                .take_while(char::is_ascii_digit)
                .take(2)
                .collect();
            let d: i64 = digits.chars().rev().collect::<String>().parse().ok()?;
            let m = MONTHS.iter().position(|p| Some(*p) == r.get(..3))? as i64 + 1;
            let (y, ..) = crate::model::time::civil_from_days(today);
            date(y, m, d)?
        }
        r if r.get(..3).is_some_and(|p| WEEKDAYS.contains(&p)) => {
            // 1970-01-01 was a Thursday; the latest such weekday, today included
            let now_wd = (today + 4).rem_euclid(7);
            let want = WEEKDAYS.iter().position(|p| Some(*p) == r.get(..3))? as i64;
            today - (now_wd - want).rem_euclid(7)
        }
        _ => return None,
    };
    (days * day + hour * 3600 + minute * 60).checked_mul(NS_PER_SEC)
}

fn truncate(s: &str) -> String {
    if s.chars().count() <= 40 {
        return s.to_string();
    }
    let mut out: String = s.chars().take(40).collect();
    out.push('…');
    out
}

/// UTC midnight of the day containing `ns`.
fn midnight(ns: i64) -> i64 {
    let day = 86_400 * NS_PER_SEC;
    // saturating: a `now` near i64::MIN (an absurd `now=`) must not overflow
    ns.saturating_sub(ns.rem_euclid(day))
}

/// All digits: `YYYYMMDD` when it reads as a plausible date (graphite's own rule), else epoch
/// seconds, or epoch milliseconds when the number is too large to be seconds (above 1e11 is
/// past year 5138 as seconds, so a JavaScript `Date.now()` is what was meant).
fn parse_all_digits(t: &str) -> Result<i64, TimeError> {
    if t.len() == 8 {
        let (y, m, d) = (num(&t[0..4]), num(&t[4..6]), num(&t[6..8]));
        if y > 1900 && (1..=12).contains(&m) && (1..=31).contains(&d) {
            return civil_to_ns(t, y, m, d, 0, 0, 0, 0);
        }
    }
    let n: i64 = t
        .parse()
        .map_err(|_| TimeError::OutOfRange(t.to_string()))?;
    let ns = if n > 100_000_000_000 {
        n.checked_mul(1_000_000)
    } else {
        n.checked_mul(NS_PER_SEC)
    };
    ns.ok_or_else(|| TimeError::OutOfRange(t.to_string()))
}

/// Parses ASCII digits known to be digits; callers check the slice first.
fn num(s: &str) -> i64 {
    s.bytes().fold(0i64, |acc, b| {
        acc.saturating_mul(10).saturating_add(i64::from(b - b'0'))
    })
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// graphite's `HH:MM_YYYYMMDD` (also without the underscore, as graphite strips it).
fn parse_graphite_hhmm(lower: &str, orig: &str) -> Result<Option<i64>, TimeError> {
    let compact: String = lower.chars().filter(|&c| c != '_').collect();
    let b = compact.as_bytes();
    if b.len() != 13 || b[2] != b':' {
        return Ok(None);
    }
    let (hh, mm, date) = (&compact[0..2], &compact[3..5], &compact[5..13]);
    if !(all_digits(hh) && all_digits(mm) && all_digits(date)) {
        return Ok(None);
    }
    let (h, mi) = (num(hh), num(mm));
    if h > 23 || mi > 59 {
        return Err(TimeError::InvalidDate {
            input: orig.to_string(),
            reason: "hour must be 00-23 and minute 00-59",
        });
    }
    let (y, m, d) = (num(&date[0..4]), num(&date[4..6]), num(&date[6..8]));
    civil_to_ns(orig, y, m, d, h, mi, 0, 0).map(Some)
}

/// `YYYY-MM-DD` at the start: the RFC 3339 family.
fn looks_like_iso_date(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
}

/// RFC 3339 and its everyday relatives: `T` or space separator, optional seconds and fraction,
/// `Z` or `±HH:MM` (no zone = UTC), or a bare date = UTC midnight.
fn parse_rfc3339(t: &str) -> Result<i64, TimeError> {
    let bad = |reason| TimeError::InvalidDate {
        input: t.to_string(),
        reason,
    };
    let (y, m, d) = (num(&t[0..4]), num(&t[5..7]), num(&t[8..10]));
    let rest = &t[10..];
    if rest.is_empty() {
        return civil_to_ns(t, y, m, d, 0, 0, 0, 0);
    }
    let rest = rest
        .strip_prefix(['T', 't', ' '])
        .ok_or_else(|| bad("expected 'T' or a space after the date"))?;
    let rb = rest.as_bytes();
    if rb.len() < 5 || rb[2] != b':' || !all_digits(&rest[0..2]) || !all_digits(&rest[3..5]) {
        return Err(bad("expected HH:MM after the date"));
    }
    let (h, mi) = (num(&rest[0..2]), num(&rest[3..5]));
    let mut rest = &rest[5..];
    let mut sec = 0;
    let mut frac_ns = 0;
    if let Some(r) = rest.strip_prefix(':') {
        if r.len() < 2 || !all_digits(&r[0..2]) {
            return Err(bad("expected two-digit seconds"));
        }
        sec = num(&r[0..2]);
        rest = &r[2..];
        if let Some(r) = rest.strip_prefix(['.', ',']) {
            let digits = r.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(bad("expected digits after the decimal point"));
            }
            // Nanosecond precision is all we keep; extra digits are truncated.
            let kept = &r[..digits.min(9)];
            frac_ns = num(kept) * 10i64.pow(9 - kept.len() as u32);
            rest = &r[digits..];
        }
    }
    if h > 23 || mi > 59 || sec > 60 {
        return Err(bad("hour must be 00-23, minute 00-59 and second 00-60"));
    }
    let offset_s = match rest {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return Err(bad("expected Z or an offset such as +02:00")),
            };
            let o = &rest[1..];
            let (oh, om) = if o.len() == 5 && o.as_bytes()[2] == b':' {
                (&o[0..2], &o[3..5])
            } else if o.len() == 4 {
                (&o[0..2], &o[2..4])
            } else if o.len() == 2 {
                (&o[0..2], "00")
            } else {
                return Err(bad("expected an offset such as +02:00"));
            };
            if !all_digits(oh) || !all_digits(om) || num(oh) > 23 || num(om) > 59 {
                return Err(bad("expected an offset such as +02:00"));
            }
            sign * (num(oh) * 3600 + num(om) * 60)
        }
    };
    // A leap second (:60) is folded onto the next second, as most systems do.
    let local = civil_to_ns(t, y, m, d, h, mi, sec, frac_ns)?;
    local
        .checked_sub(offset_s * NS_PER_SEC)
        .ok_or_else(|| TimeError::OutOfRange(t.to_string()))
}

/// The shared civil-date math, on this module's i64 months and days.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    crate::model::time::days_from_civil(y, m as u32, d as u32)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    i64::from(crate::model::time::days_in_month(y, m as u32))
}

#[allow(clippy::too_many_arguments)]
fn civil_to_ns(
    input: &str,
    y: i64,
    m: i64,
    d: i64,
    h: i64,
    mi: i64,
    s: i64,
    frac_ns: i64,
) -> Result<i64, TimeError> {
    let bad = |reason| TimeError::InvalidDate {
        input: input.to_string(),
        reason,
    };
    if !(1..=12).contains(&m) {
        return Err(bad("month must be 01-12"));
    }
    if d < 1 || d > days_in_month(y, m) {
        return Err(bad("no such day in that month"));
    }
    let secs = days_from_civil(y, m, d) * 86_400 + h * 3600 + mi * 60 + s;
    secs.checked_mul(NS_PER_SEC)
        .and_then(|ns| ns.checked_add(frac_ns))
        .ok_or_else(|| TimeError::OutOfRange(input.to_string()))
}

/// graphite-web's `parseTimeOffset` as function arguments use it (`timeShift(x, "1d")`,
/// `movingAverage(x, "5min")`): a leading digit means a positive offset. Seconds.
pub fn parse_offset_seconds(s: &str) -> Option<i64> {
    let signed = if s.starts_with(|c: char| c.is_ascii_digit()) {
        format!("+{s}")
    } else {
        s.to_string()
    };
    parse_offset(&signed, s).ok().map(|ns| ns / NS_PER_SEC)
}

/// A signed offset like `-1h`, `+30min` or `-1h30min` (graphite applies the sign to every
/// part). Returns ns.
fn parse_offset(offset: &str, input: &str) -> Result<i64, TimeError> {
    let (sign, mut rest) = match offset.as_bytes().first() {
        Some(b'-') => (-1i64, &offset[1..]),
        Some(b'+') => (1i64, &offset[1..]),
        _ => return Err(TimeError::Unrecognized(input.to_string())),
    };
    if rest.is_empty() {
        return Err(TimeError::Unrecognized(input.to_string()));
    }
    let mut total: i64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let number = &rest[..digits];
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        if number.is_empty() {
            if unit.is_empty() {
                return Err(TimeError::Unrecognized(input.to_string()));
            }
            return Err(TimeError::MissingNumber {
                input: input.to_string(),
                unit: unit.to_string(),
            });
        }
        if unit.is_empty() {
            return Err(TimeError::MissingUnit {
                input: input.to_string(),
                number: number.to_string(),
            });
        }
        let unit_s = unit_seconds(unit).ok_or_else(|| TimeError::UnknownUnit {
            input: input.to_string(),
            unit: unit.to_string(),
        })?;
        let out_of_range = || TimeError::OutOfRange(input.to_string());
        let n: i64 = number.parse().map_err(|_| out_of_range())?;
        let part = n
            .checked_mul(unit_s)
            .and_then(|s| s.checked_mul(NS_PER_SEC))
            .ok_or_else(out_of_range)?;
        total = total.checked_add(part).ok_or_else(out_of_range)?;
    }
    Ok(sign * total)
}

/// Seconds per unit, spelled as graphite-web spells them. A bare `m` is rejected on purpose:
/// graphite rejects it too, and minutes-versus-months is exactly the mistake to refuse.
fn unit_seconds(unit: &str) -> Option<i64> {
    Some(match unit {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        "w" | "week" | "weeks" => 7 * 86_400,
        "mon" | "month" | "months" => 30 * 86_400,
        "y" | "year" | "years" => 365 * 86_400,
        _ => return None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is the failure report
mod tests {
    use super::*;

    /// 2026-11-24T16:00:00Z
    const NOW: i64 = 1_795_536_000 * NS_PER_SEC;
    const H: i64 = 3600 * NS_PER_SEC;

    #[test]
    fn now_and_references() {
        assert_eq!(parse_time("now", NOW), Ok(NOW));
        assert_eq!(parse_time(" NOW ", NOW), Ok(NOW));
        assert_eq!(parse_time("today", NOW), Ok(NOW - 16 * H));
        assert_eq!(parse_time("yesterday", NOW), Ok(NOW - 40 * H));
        assert_eq!(parse_time("tomorrow", NOW), Ok(NOW + 8 * H));
    }

    #[test]
    fn graphite_time_of_day_and_day_references() {
        // NOW is 2026-11-24 16:00 UTC, a Tuesday
        let midnight = NOW - 16 * H;
        assert_eq!(parse_time("noon yesterday", NOW), Ok(midnight - 12 * H));
        assert_eq!(parse_time("noon", NOW), Ok(midnight + 12 * H));
        assert_eq!(parse_time("6pm_today", NOW), Ok(midnight + 18 * H));
        assert_eq!(parse_time("9am tomorrow", NOW), Ok(midnight + 33 * H));
        assert_eq!(parse_time("teatime", NOW), Ok(NOW));
        assert_eq!(parse_time("midnight yesterday", NOW), Ok(midnight - 24 * H));
        assert_eq!(
            parse_time("3:30pm 20261123", NOW),
            Ok(midnight - 24 * H + 15 * H + 1800 * NS_PER_SEC)
        );
        assert_eq!(parse_time("11/20/26", NOW), Ok(midnight - 4 * 24 * H));
        assert_eq!(parse_time("nov20", NOW), Ok(midnight - 4 * 24 * H));
        assert_eq!(parse_time("monday", NOW), Ok(midnight - 24 * H));
        assert_eq!(parse_time("tuesday", NOW), Ok(midnight));
        assert_eq!(parse_time("noon yesterday-1h", NOW), Ok(midnight - 13 * H));
        assert!(parse_time("noon someday", NOW).is_err());
        assert!(parse_time("25:00", NOW).is_err());
        assert!(parse_time("feb31", NOW).is_err());
    }

    #[test]
    fn relative_offsets() {
        assert_eq!(parse_time("-1h", NOW), Ok(NOW - H));
        assert_eq!(parse_time("-30min", NOW), Ok(NOW - 30 * 60 * NS_PER_SEC));
        assert_eq!(parse_time("-2d", NOW), Ok(NOW - 48 * H));
        assert_eq!(parse_time("-1w", NOW), Ok(NOW - 7 * 24 * H));
        assert_eq!(parse_time("-1mon", NOW), Ok(NOW - 30 * 24 * H));
        assert_eq!(parse_time("-1y", NOW), Ok(NOW - 365 * 24 * H));
        assert_eq!(parse_time("+5min", NOW), Ok(NOW + 5 * 60 * NS_PER_SEC));
        assert_eq!(parse_time("-10s", NOW), Ok(NOW - 10 * NS_PER_SEC));
        assert_eq!(parse_time("now-1h", NOW), Ok(NOW - H));
        assert_eq!(parse_time("-1h30min", NOW), Ok(NOW - 90 * 60 * NS_PER_SEC));
        assert_eq!(parse_time("today+8h", NOW), Ok(NOW - 8 * H));
    }

    #[test]
    fn every_unit_spelling() {
        for (u, s) in [
            ("s", 1),
            ("sec", 1),
            ("secs", 1),
            ("second", 1),
            ("seconds", 1),
            ("min", 60),
            ("mins", 60),
            ("minute", 60),
            ("minutes", 60),
            ("h", 3600),
            ("hour", 3600),
            ("hours", 3600),
            ("d", 86_400),
            ("day", 86_400),
            ("days", 86_400),
            ("w", 604_800),
            ("week", 604_800),
            ("weeks", 604_800),
            ("mon", 2_592_000),
            ("month", 2_592_000),
            ("months", 2_592_000),
            ("y", 31_536_000),
            ("year", 31_536_000),
            ("years", 31_536_000),
        ] {
            assert_eq!(
                parse_time(&format!("-2{u}"), NOW),
                Ok(NOW - 2 * s * NS_PER_SEC),
                "{u}"
            );
        }
    }

    #[test]
    fn epoch_seconds_and_millis() {
        assert_eq!(parse_time("1795536000", 0), Ok(NOW));
        assert_eq!(parse_time("1795536000123", 0), Ok(NOW + 123_000_000));
        assert_eq!(parse_time("0", NOW), Ok(0));
    }

    #[test]
    fn rfc3339() {
        assert_eq!(parse_time("2026-11-24T16:00:00Z", 0), Ok(NOW));
        assert_eq!(parse_time("2026-11-24t16:00:00z", 0), Ok(NOW));
        assert_eq!(parse_time("2026-11-24T18:00:00+02:00", 0), Ok(NOW));
        assert_eq!(parse_time("2026-11-24T11:30:00-04:30", 0), Ok(NOW));
        assert_eq!(
            parse_time("2026-11-24T16:00:00.25Z", 0),
            Ok(NOW + 250_000_000)
        );
        assert_eq!(
            parse_time("2026-11-24T16:00:00.123456789123Z", 0),
            Ok(NOW + 123_456_789)
        );
        assert_eq!(parse_time("2026-11-24 16:00:00", 0), Ok(NOW));
        assert_eq!(parse_time("2026-11-24T16:00", 0), Ok(NOW));
        assert_eq!(parse_time("2026-11-24", 0), Ok(NOW - 16 * H));
        assert_eq!(parse_time("1970-01-01T00:00:00Z", 5), Ok(0));
        assert_eq!(parse_time("1969-12-31T23:59:59Z", 5), Ok(-NS_PER_SEC));
        assert_eq!(parse_time("2024-02-29", 0), Ok(1_709_164_800 * NS_PER_SEC));
    }

    #[test]
    fn graphite_absolute() {
        assert_eq!(parse_time("16:00_20261124", 0), Ok(NOW));
        assert_eq!(parse_time("16:0020261124", 0), Ok(NOW));
        assert_eq!(parse_time("20261124", 0), Ok(NOW - 16 * H));
    }

    #[test]
    fn civil_math_matches_known_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1600, 1, 1), -135_140);
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert_eq!(parse_time("", 0), Err(TimeError::Empty));
        let e = parse_time("-1m", 0).unwrap_err();
        assert!(matches!(e, TimeError::UnknownUnit { .. }), "{e}");
        assert!(e.to_string().contains("unknown time unit 'm'"), "{e}");
        let e = parse_time("-h", 0).unwrap_err();
        assert!(matches!(e, TimeError::MissingNumber { .. }), "{e}");
        let e = parse_time("-5", 0).unwrap_err();
        assert!(matches!(e, TimeError::MissingUnit { .. }), "{e}");
        let e = parse_time("2026-02-30", 0).unwrap_err();
        assert!(e.to_string().contains("no such day"), "{e}");
        let e = parse_time("2026-13-01T00:00:00Z", 0).unwrap_err();
        assert!(e.to_string().contains("month"), "{e}");
        let e = parse_time("2026-11-24T25:00:00Z", 0).unwrap_err();
        assert!(e.to_string().contains("hour"), "{e}");
        let e = parse_time("2026-11-24T16:00:00Q", 0).unwrap_err();
        assert!(e.to_string().contains("offset"), "{e}");
        let e = parse_time("last tuesday", 0).unwrap_err();
        assert!(e.to_string().starts_with("unrecognized time"), "{e}");
        assert!(e.to_string().contains("HH:MM_YYYYMMDD"), "{e}");
        assert!(!e.to_string().ends_with('.'));
        let e = parse_time("99999999999999999999", 0).unwrap_err();
        assert!(matches!(e, TimeError::OutOfRange(_)), "{e}");
        let e = parse_time("-999999999999y", 0).unwrap_err();
        assert!(matches!(e, TimeError::OutOfRange(_)), "{e}");
        let e = parse_time("9999-01-01", 0).unwrap_err();
        assert!(matches!(e, TimeError::OutOfRange(_)), "{e}");
        let e = parse_time("25:00_20261124", 0).unwrap_err();
        assert!(e.to_string().contains("hour"), "{e}");
    }

    #[test]
    fn never_panics_on_odd_input() {
        for s in [
            "-",
            "+",
            "now-",
            "now+-1h",
            "2026-11-24T",
            "2026-11-24T1",
            "2026-11-24T16:00:",
            "2026-11-24T16:00:00.",
            "2026-11-24T16:00:00+",
            "2026-11-24T16:00:00+1",
            "2026-11-24Té6:00",
            "é",
            "::_",
            "12:34_é0261124",
            "-1é",
            "-1h-",
            "--1h",
            "1/1/99999999999999999",
            "1/1/9223372036854775807",
            "12/31/-9223372036854775808",
            "1:",
            "12:3",
            "99pm",
            "jan",
            "jan99",
            "sat,",
            "noon_",
        ] {
            let _ = parse_time(s, NOW);
        }
    }

    proptest::proptest! {
        /// Any text, and text shaped like graphite-web's references, parses or errs, never
        /// panics (overflowing dates and offsets included).
        #[test]
        fn any_reference_parses_or_errs(
            s in "\\PC{0,40}",
            r in "([0-9]{1,3}:[0-9]{0,3}|[0-9]{1,3}[ap]m|noon|teatime)?[ _,]?(yesterday|today|monday|jan[0-9]{0,3}|[0-9]{1,2}/[0-9]{1,2}/-?[0-9]{1,22}|[0-9]{8})?([+-][0-9]{1,20}(s|min|h|d|w|mon|y))?",
        ) {
            let _ = parse_time(&s, NOW);
            let _ = parse_time(&r, NOW);
            let _ = parse_time(&r, i64::MAX);
            let _ = parse_time(&r, i64::MIN);
        }
    }
}
