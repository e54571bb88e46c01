//! Civil-date arithmetic on Unix time (Howard Hinnant's algorithms), shared by the syslog
//! parsers, the daily partitions and the API's RFC 3339 output. Hand-written because it is
//! twenty lines and every caller needs it on the hot path without a date library's parsing.

/// Nanoseconds per second.
pub const NS_PER_SEC: i64 = 1_000_000_000;
/// Nanoseconds per day.
pub const NS_PER_DAY: i64 = 86_400 * NS_PER_SEC;

/// Days since 1970-01-01 of a proleptic Gregorian date (month 1-12, day 1-31).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month 1-12, day 1-31) of a day number since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days in a month, leap years included.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// The UTC day number of a timestamp in ns.
pub fn day_of_ns(ns: i64) -> i64 {
    ns.div_euclid(NS_PER_DAY)
}

/// `YYYY-MM-DD` of a day number (the partition directory name).
pub fn format_day(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Parses `YYYY-MM-DD` back into a day number.
pub fn parse_day(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y: i64 = s.get(0..4)?.parse().ok()?;
    let m: u32 = s.get(5..7)?.parse().ok()?;
    let d: u32 = s.get(8..10)?.parse().ok()?;
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// RFC 3339 in UTC with microseconds, e.g. `2026-11-24T16:00:00.123456Z`: the API's format.
pub fn format_rfc3339(ns: i64) -> String {
    let days = ns.div_euclid(NS_PER_DAY);
    let rem = ns.rem_euclid(NS_PER_DAY);
    let (y, mo, d) = civil_from_days(days);
    let secs = rem / NS_PER_SEC;
    let micros = (rem % NS_PER_SEC) / 1000;
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// Wall-clock now in ns since the epoch.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trips_across_leap_years_and_the_epoch() {
        for days in -800_000..800_000 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(20_781), (2026, 11, 24));
    }

    #[test]
    fn formats_rfc3339_and_days() {
        assert_eq!(
            format_rfc3339(1_795_536_000_123_456_789),
            "2026-11-24T16:00:00.123456Z"
        );
        assert_eq!(format_rfc3339(-1_000), "1969-12-31T23:59:59.999999Z");
        assert_eq!(format_day(20_781), "2026-11-24");
        assert_eq!(parse_day("2026-11-24"), Some(20_781));
        assert_eq!(parse_day("2026-02-30"), None);
        assert_eq!(parse_day("2026-1-24"), None);
    }
}
