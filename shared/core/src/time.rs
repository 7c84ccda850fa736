//! Points in time as dbackup stores them: ISO-8601 UTC text with milliseconds
//! (`2026-01-02T03:04:05.678Z`), one type for all of it. Logic never reads a clock: functions
//! take `now`, so tests control time.

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};

/// A point in time: Unix milliseconds, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// From Unix milliseconds.
    pub const fn from_millis(ms: i64) -> Self {
        Timestamp(ms)
    }

    /// From Unix seconds.
    pub const fn from_secs(secs: i64) -> Self {
        Timestamp(secs.saturating_mul(1000))
    }

    /// From the system clock value a component read (times before 1970 become 1970).
    pub fn from_system_time(t: SystemTime) -> Self {
        let ms = t
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Timestamp(ms)
    }

    /// Unix milliseconds.
    pub const fn millis(self) -> i64 {
        self.0
    }

    /// Unix seconds (rounded down).
    pub const fn secs(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// This time plus `secs` seconds (saturating; negative goes back).
    pub const fn plus_secs(self, secs: i64) -> Self {
        Timestamp(self.0.saturating_add(secs.saturating_mul(1000)))
    }

    /// Whole seconds from `self` until `later`, rounded up; 0 if `later` is not after `self`.
    pub fn secs_until(self, later: Timestamp) -> u64 {
        let ms = later.0.saturating_sub(self.0);
        if ms <= 0 {
            0
        } else {
            u64::try_from((ms + 999) / 1000).unwrap_or(u64::MAX)
        }
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`, the schema's format (proleptic Gregorian, UTC; times before
    /// 1970 print as 1970).
    pub fn iso(self) -> String {
        let ms = self.0.max(0);
        let (days, in_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
        let (y, m, d) = civil_from_days(days);
        let secs = in_day / 1000;
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
            secs / 3600,
            (secs % 3600) / 60,
            secs % 60,
            in_day % 1000
        )
    }

    /// As a `chrono` time, for schedule arithmetic (out of chrono's range: the epoch).
    pub fn to_datetime(self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.0).unwrap_or_default()
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (the fraction is truncated to milliseconds).
    pub fn parse_iso(s: &str) -> Option<Timestamp> {
        let b = s.as_bytes();
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' {
            return None;
        }
        if b[13] != b':' || b[16] != b':' || *b.last()? != b'Z' {
            return None;
        }
        let num = |from: usize, to: usize| -> Option<i64> {
            let part = s.get(from..to)?;
            if part.bytes().all(|c| c.is_ascii_digit()) {
                part.parse().ok()
            } else {
                None
            }
        };
        let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
        let (h, mi, sec) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
        if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
            return None;
        }
        if h > 23 || mi > 59 || sec > 59 {
            return None;
        }
        let mut ms = 0;
        let rest = &s[19..s.len() - 1];
        if !rest.is_empty() {
            let frac = rest.strip_prefix('.')?;
            if frac.is_empty() || !frac.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let mut digits: String = frac.chars().take(3).collect();
            while digits.len() < 3 {
                digits.push('0');
            }
            ms = digits.parse().ok()?;
        }
        let days = days_from_civil(y, mo, d);
        Some(Timestamp(
            ((days * 86_400 + h * 3600 + mi * 60 + sec) * 1000) + ms,
        ))
    }

    /// Parses a date `YYYY-MM-DD` as midnight UTC of that day.
    pub fn parse_date(s: &str) -> Option<Timestamp> {
        if s.len() != 10 {
            return None;
        }
        Timestamp::parse_iso(&format!("{s}T00:00:00Z"))
    }
}

/// Millisecond precision (chrono's finer part is dropped, as the schema's text drops it).
impl From<DateTime<Utc>> for Timestamp {
    fn from(t: DateTime<Utc>) -> Self {
        Timestamp(t.timestamp_millis())
    }
}

/// Parses an RFC 3339 time with any offset (`…Z`, `…+02:00`; the worker's and stored times),
/// keeping chrono's full precision; [`Timestamp::parse_iso`] accepts only the schema's `Z` form.
pub fn parse_rfc3339(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Howard Hinnant's days-from-civil algorithm (inverse of [`civil_from_days`]).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_round_trip() {
        for ms in [0, 951_782_400_005, 1_795_000_000_789, 4_102_444_799_999] {
            let t = Timestamp::from_millis(ms);
            assert_eq!(Timestamp::parse_iso(&t.iso()), Some(t), "{}", t.iso());
        }
        assert_eq!(
            Timestamp::from_secs(1_795_000_000).iso(),
            "2026-11-18T11:06:40.000Z"
        );
    }

    #[test]
    fn parses_variants_and_rejects_garbage() {
        let base = Timestamp::parse_iso("2024-05-01T12:34:56Z").unwrap();
        assert_eq!(
            Timestamp::parse_iso("2024-05-01T12:34:56.7Z"),
            Some(Timestamp::from_millis(base.millis() + 700))
        );
        assert_eq!(
            Timestamp::parse_iso("2024-05-01T12:34:56.123456Z"),
            Some(Timestamp::from_millis(base.millis() + 123))
        );
        for bad in [
            "",
            "2024-05-01",
            "2024-05-01T12:34:56",
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-05-01T24:00:00Z",
            "2024-05-01T12:34:56.Z",
            "2024-05-01T12:34:56+02:00",
            "2024-05-01 12:34:56Z",
            "abcd-05-01T12:34:56Z",
        ] {
            assert_eq!(Timestamp::parse_iso(bad), None, "{bad}");
        }
        assert_eq!(
            Timestamp::parse_date("2024-02-29"),
            Timestamp::parse_iso("2024-02-29T00:00:00.000Z")
        );
        assert_eq!(Timestamp::parse_date("2024-02-30"), None);
    }

    /// The schema's text at the edges of the calendar (was `iso8601`/`iso8601_ms`).
    #[test]
    fn formats_unix_seconds_and_milliseconds() {
        assert_eq!(Timestamp::from_secs(0).iso(), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            Timestamp::from_secs(951_782_400).iso(),
            "2000-02-29T00:00:00.000Z"
        );
        assert_eq!(
            Timestamp::from_millis(1_795_000_000_789).iso(),
            "2026-11-18T11:06:40.789Z"
        );
        assert_eq!(
            Timestamp::from_millis(951_782_400_005).iso(),
            "2000-02-29T00:00:00.005Z"
        );
        assert_eq!(Timestamp::from_millis(-5).iso(), "1970-01-01T00:00:00.000Z");
    }

    /// Same text as chrono's RFC 3339 with milliseconds (the job logic's former `iso`).
    #[test]
    fn chrono_round_trip() {
        for ms in [0, 951_782_400_005, 1_795_000_000_789, 4_102_444_799_999] {
            let dt = DateTime::from_timestamp_millis(ms).unwrap();
            let t = Timestamp::from(dt);
            assert_eq!(
                t.iso(),
                dt.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            );
            assert_eq!(t.to_datetime(), dt);
        }
        let fine = DateTime::from_timestamp(1_795_000_000, 789_999_999).unwrap();
        assert_eq!(Timestamp::from(fine).iso(), "2026-11-18T11:06:40.789Z");
        assert_eq!(
            parse_rfc3339(" 2026-11-18T13:06:40.5+02:00 "),
            DateTime::from_timestamp(1_795_000_000, 500_000_000)
        );
        assert_eq!(parse_rfc3339("2026-11-18"), None);
    }

    #[test]
    fn arithmetic() {
        let t = Timestamp::from_secs(100);
        assert_eq!(t.plus_secs(30).secs(), 130);
        assert_eq!(t.secs_until(Timestamp::from_millis(100_001)), 1);
        assert_eq!(t.secs_until(Timestamp::from_secs(90)), 0);
        assert_eq!(t.secs_until(Timestamp::from_secs(160)), 60);
        assert!(Timestamp::from_system_time(SystemTime::now()).secs() > 1_700_000_000);
    }
}
