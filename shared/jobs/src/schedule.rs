//! Cron schedules in a job's timezone: parsing (5 or 6 fields, `@daily`-style presets), the next
//! runs, and which occurrence a scheduler tick must run.
//!
//! Occurrences are computed on the job's local wall clock (croner handles the DST gap and the
//! repeated hour: a fixed-time job in the gap runs at the next valid time, in the overlap once),
//! then stored and compared in UTC.

use chrono::{DateTime, Utc};
pub use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds};
use croner::Cron;

/// How late an occurrence may be noticed and still run. Older missed occurrences (the app was
/// down) are skipped, never replayed.
pub const MISFIRE_GRACE_SECS: i64 = 300;

/// Parses a cron expression: 5 fields (minute first) or 6 (seconds first), or a preset
/// (`@yearly`, `@monthly`, `@weekly`, `@daily`, `@hourly`). The error is the parser's message.
pub fn parse(expr: &str) -> Result<Cron, String> {
    let expr = expr.trim();
    if expr.is_empty() {
        return Err("the schedule is empty".into());
    }
    CronParser::builder()
        .seconds(Seconds::Optional)
        .build()
        .parse(expr)
        .map_err(|e| e.to_string())
}

/// Parses an IANA timezone name (`Europe/Berlin`, `UTC`).
pub fn parse_timezone(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>().map_err(|_| {
        format!("unknown timezone {name:?} (expected an IANA name like Europe/Berlin)")
    })
}

/// The next `count` occurrences strictly after `after`, in UTC.
pub fn next_runs(cron: &Cron, tz: Tz, after: DateTime<Utc>, count: usize) -> Vec<DateTime<Utc>> {
    let start = after.with_timezone(&tz);
    cron.iter_after(start)
        .take(count)
        .map(|t| t.with_timezone(&Utc))
        .collect()
}

/// What a scheduler tick decides for one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// The occurrence to run now, if any.
    pub run: Option<DateTime<Utc>>,
    /// The new "last planned occurrence" marker, when it moves.
    pub marker: Option<DateTime<Utc>>,
}

/// Decides for a job whose last planned occurrence is `last`: the latest occurrence in
/// `(last, now]` becomes the new marker; it runs if it is at most [`MISFIRE_GRACE_SECS`] old.
/// Older occurrences in that range are skipped (no replay after downtime), and a tick that
/// finds nothing new changes nothing (late or repeated ticks never run an occurrence twice).
pub fn due(cron: &Cron, tz: Tz, last: DateTime<Utc>, now: DateTime<Utc>) -> Due {
    let local_now = now.with_timezone(&tz);
    let latest = match cron.find_previous_occurrence(&local_now, true) {
        Ok(t) => t.with_timezone(&Utc),
        Err(_) => {
            return Due {
                run: None,
                marker: None,
            }
        }
    };
    if latest <= last {
        return Due {
            run: None,
            marker: None,
        };
    }
    let fresh = (now - latest).num_seconds() <= MISFIRE_GRACE_SECS;
    Due {
        run: fresh.then_some(latest),
        marker: Some(latest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, s).single().unwrap()
    }

    #[test]
    fn parses_five_six_fields_and_presets() {
        for ok in [
            "*/5 * * * *",
            "0 */10 * * * *",
            "@daily",
            "@HOURLY",
            "0 3 * * MON-FRI",
        ] {
            assert!(parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "61 * * * *", "* * *", "@sometimes", "a b c d e"] {
            let e = parse(bad).unwrap_err();
            assert!(!e.is_empty(), "{bad}");
        }
    }

    #[test]
    fn next_runs_follow_the_timezone_and_dst() {
        let cron = parse("30 2 * * *").unwrap();
        // Berlin springs forward on 2025-03-30 at 02:00: 02:30 does not exist that night.
        let runs = next_runs(&cron, Tz::Europe__Berlin, utc(2025, 3, 28, 12, 0, 0), 4);
        let shown: Vec<String> = runs
            .iter()
            .map(|t| t.with_timezone(&Tz::Europe__Berlin).to_rfc3339())
            .collect();
        assert_eq!(
            shown,
            vec![
                "2025-03-29T02:30:00+01:00",
                "2025-03-30T03:00:00+02:00",
                "2025-03-31T02:30:00+02:00",
                "2025-04-01T02:30:00+02:00",
            ]
        );
        // New York falls back on 2025-11-02: 01:30 happens twice, the job runs once.
        let cron = parse("30 1 * * *").unwrap();
        let runs = next_runs(&cron, Tz::America__New_York, utc(2025, 11, 1, 12, 0, 0), 3);
        assert_eq!(
            runs,
            vec![
                utc(2025, 11, 2, 5, 30, 0),
                utc(2025, 11, 3, 6, 30, 0),
                utc(2025, 11, 4, 6, 30, 0)
            ]
        );
    }

    #[test]
    fn due_runs_each_occurrence_once_and_never_replays() {
        let cron = parse("0 * * * *").unwrap();
        let last = utc(2025, 1, 1, 10, 0, 0);
        // Not yet.
        assert_eq!(
            due(&cron, Tz::UTC, last, utc(2025, 1, 1, 10, 59, 50)),
            Due {
                run: None,
                marker: None
            }
        );
        // A late tick (40 s after 11:00) still runs 11:00 …
        let d = due(&cron, Tz::UTC, last, utc(2025, 1, 1, 11, 0, 40));
        assert_eq!(d.run, Some(utc(2025, 1, 1, 11, 0, 0)));
        // … and the next tick, with the marker moved, does not run it again.
        let d2 = due(
            &cron,
            Tz::UTC,
            d.marker.unwrap(),
            utc(2025, 1, 1, 11, 0, 50),
        );
        assert_eq!(d2.run, None);
        // After three hours of downtime: one marker move, nothing replayed.
        let d3 = due(&cron, Tz::UTC, last, utc(2025, 1, 1, 13, 20, 0));
        assert_eq!(d3.run, None);
        assert_eq!(d3.marker, Some(utc(2025, 1, 1, 13, 0, 0)));
        // Within the grace period after a restart: the latest occurrence runs (once).
        let d4 = due(&cron, Tz::UTC, last, utc(2025, 1, 1, 13, 4, 0));
        assert_eq!(d4.run, Some(utc(2025, 1, 1, 13, 0, 0)));
    }

    #[test]
    fn due_in_a_timezone() {
        let cron = parse("0 0 * * *").unwrap();
        let tz = Tz::Asia__Tokyo;
        // Midnight in Tokyo is 15:00 UTC the day before.
        let d = due(
            &cron,
            tz,
            utc(2025, 6, 1, 0, 0, 0),
            utc(2025, 6, 1, 15, 0, 5),
        );
        assert_eq!(d.run, Some(utc(2025, 6, 1, 15, 0, 0)));
    }
}
