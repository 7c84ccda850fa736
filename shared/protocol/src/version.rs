//! PostgreSQL major versions. From 10 on the major is the first number (`16.4` → 16); before
//! 10 it had two parts (`9.6.24` → 9.6), and `pg_dump` 9.5 refuses a 9.6 server as it refuses
//! a newer major. Every comparison of PostgreSQL majors (tool choice, the newer-dump check of a
//! restore, on the worker and in the components) goes through [`PgMajor`].

use std::fmt;

/// A PostgreSQL major release: `16` (from 10 on), `9.6` (before 10). Ordered by release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PgMajor {
    /// The first number.
    pub first: u32,
    /// The second number before 10; always 0 from 10 on.
    pub second: u32,
}

impl PgMajor {
    /// A major from 10 on.
    pub const fn new(first: u32) -> Self {
        PgMajor { first, second: 0 }
    }

    /// Parses a version string (`server_version`, an archive header's version): `16.4`,
    /// `16.4 (Debian 16.4-1)`, `17beta1`, `17devel`, `9.6.24`. `None` when it does not
    /// start with a number.
    pub fn parse(version: &str) -> Option<Self> {
        let mut parts = version.trim().split(|c: char| !c.is_ascii_digit());
        let first: u32 = parts.next()?.parse().ok()?;
        if first >= 10 {
            return Some(PgMajor::new(first));
        }
        let second = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        Some(PgMajor { first, second })
    }

    /// From `server_version_num`: `150020` → 15, `90624` → 9.6.
    pub fn from_version_num(num: u32) -> Self {
        if num >= 100_000 {
            PgMajor::new(num / 10_000)
        } else {
            PgMajor {
                first: num / 10_000,
                second: num / 100 % 100,
            }
        }
    }

    /// From a tool's `--version` line: `pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)`
    /// → 15 (the first word that starts with a digit).
    pub fn from_version_line(line: &str) -> Option<Self> {
        line.split_whitespace()
            .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))
            .and_then(PgMajor::parse)
    }
}

/// `16`, `9.6`.
impl fmt::Display for PgMajor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first >= 10 {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}.{}", self.first, self.second)
        }
    }
}

/// Leading integer of a version string: `"15.19 (Debian …)"` → 15, `"17devel"` → 17,
/// `"9.6.24"` → 9 (the `majorVersion` of a probe, for every engine).
pub fn leading_number(version: &str) -> Option<u32> {
    let digits: String = version.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        let v = |first, second| Some(PgMajor { first, second });
        assert_eq!(PgMajor::parse("16.4"), v(16, 0));
        assert_eq!(PgMajor::parse("16.4 (Debian 16.4-1.pgdg120+1)"), v(16, 0));
        assert_eq!(PgMajor::parse("10.23"), v(10, 0));
        assert_eq!(PgMajor::parse("10"), v(10, 0));
        assert_eq!(PgMajor::parse("9.6.24"), v(9, 6));
        assert_eq!(PgMajor::parse("9.6"), v(9, 6));
        assert_eq!(PgMajor::parse(" 9.5.25 "), v(9, 5));
        assert_eq!(PgMajor::parse("17beta1"), v(17, 0));
        assert_eq!(PgMajor::parse("17devel"), v(17, 0));
        assert_eq!(PgMajor::parse("x"), None);
        assert_eq!(PgMajor::parse(""), None);
        assert_eq!(PgMajor::from_version_num(160004), PgMajor::new(16));
        assert_eq!(PgMajor::from_version_num(100023), PgMajor::new(10));
        assert_eq!(
            PgMajor::from_version_num(90624),
            PgMajor {
                first: 9,
                second: 6
            }
        );
        assert_eq!(
            PgMajor::from_version_num(90525),
            PgMajor {
                first: 9,
                second: 5
            }
        );
        assert_eq!(
            PgMajor::from_version_line("pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)"),
            v(15, 0)
        );
        assert_eq!(
            PgMajor::from_version_line("pg_dump (PostgreSQL) 9.6.24"),
            v(9, 6)
        );
        assert_eq!(
            PgMajor::from_version_line("psql (PostgreSQL) 18.6"),
            v(18, 0)
        );
        assert_eq!(PgMajor::from_version_line("garbage"), None);
    }

    #[test]
    fn orders_by_release_and_displays() {
        let nine_five = PgMajor {
            first: 9,
            second: 5,
        };
        let nine_six = PgMajor::parse("9.6.24").unwrap();
        assert!(nine_five < nine_six && nine_six < PgMajor::new(10));
        assert!(PgMajor::new(10) < PgMajor::new(16));
        assert_eq!(nine_six.to_string(), "9.6");
        assert_eq!(PgMajor::new(16).to_string(), "16");
        // The server's and the archive's forms of one release agree.
        assert_eq!(PgMajor::from_version_num(90624), nine_six);
        assert_eq!(leading_number("9.6.24"), Some(9));
        assert_eq!(leading_number("17devel"), Some(17));
        assert_eq!(leading_number("v1"), None);
    }
}
