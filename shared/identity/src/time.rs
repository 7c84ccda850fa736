//! Points in time as the identity logic uses them. Logic never reads a clock: every function
//! takes `now`, so tests control time. Stored as the schema's ISO-8601 UTC text with milliseconds.

use std::time::{SystemTime, UNIX_EPOCH};

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

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`, the schema's format (times before 1970 print as 1970).
    pub fn iso(self) -> String {
        dbackup_core::time::iso8601_ms(u64::try_from(self.0).unwrap_or(0))
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

/// Howard Hinnant's days-from-civil algorithm (inverse of `dbackup_core::time`'s).
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
