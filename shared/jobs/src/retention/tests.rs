//! Retention over many schedules × policies, snapshot-tested (rustic's `forget` style): each
//! snapshot lists every backup newest first with its local time, verdict and reasons.

use super::*;
use chrono::{Duration, TimeZone};

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).single().unwrap()
}

/// `count` backups every `step`, starting at `start`.
fn every(start: DateTime<Utc>, step: Duration, count: usize) -> Vec<Backup> {
    (0..count)
        .map(|i| {
            let t = start + step * i32::try_from(i).unwrap();
            Backup {
                name: format!("b{:03}_{}", i, t.format("%Y%m%dT%H%M")),
                created_at: t,
                locked: false,
            }
        })
        .collect()
}

fn lock(mut backups: Vec<Backup>, idx: &[usize]) -> Vec<Backup> {
    for i in idx {
        backups[*i].locked = true;
    }
    backups
}

fn smart(daily: u32, weekly: u32, monthly: u32, yearly: u32) -> RetentionPolicy {
    RetentionPolicy::Smart(Gfs {
        daily,
        weekly,
        monthly,
        yearly,
    })
}

fn render(policy: &RetentionPolicy, backups: &[Backup], tz: Tz, protect: Option<&str>) -> String {
    let decisions = apply(policy, backups, tz, protect);
    assert_eq!(decisions.len(), backups.len());
    let mut out = format!(
        "policy: {}\ntimezone: {tz}\nprotect: {}\nkept: {} of {}\n\n",
        policy.to_json(),
        protect.unwrap_or("-"),
        decisions.iter().filter(|d| d.keep).count(),
        decisions.len()
    );
    for d in &decisions {
        let b = backups.iter().find(|b| b.name == d.name).unwrap();
        let local = b.created_at.with_timezone(&tz);
        let w = local.iso_week();
        out.push_str(&format!(
            "{} {} {:>20} W{}-{:02} {:<6} {}\n",
            if d.keep { "KEEP" } else { "del " },
            local.format("%a %Y-%m-%d %H:%M %Z"),
            d.name,
            w.year(),
            w.week(),
            if b.locked { "locked" } else { "" },
            d.reasons.join("; ")
        ));
    }
    out
}

macro_rules! case {
    ($name:ident, $policy:expr, $backups:expr, $tz:expr) => {
        case!($name, $policy, $backups, $tz, None);
    };
    ($name:ident, $policy:expr, $backups:expr, $tz:expr, $protect:expr) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(render(&$policy, &$backups, $tz, $protect));
        }
    };
}

// 1. Hourly for three days, NONE keeps everything.
case!(
    hourly_none,
    RetentionPolicy::None,
    every(utc(2025, 6, 1, 0, 0), Duration::hours(6), 12),
    Tz::UTC
);
// 2. Hourly, SIMPLE keep 3.
case!(
    hourly_simple_3,
    RetentionPolicy::Simple { keep_count: 3 },
    every(utc(2025, 6, 1, 0, 0), Duration::hours(1), 8),
    Tz::UTC
);
// 3. Daily across the 2024/2025 boundary: 2024-12-30 and -31 are ISO week 2025-W01.
case!(
    daily_year_boundary_2024_smart,
    smart(3, 4, 2, 2),
    every(utc(2024, 12, 20, 2, 0), Duration::days(1), 20),
    Tz::UTC
);
// 4. Daily across 2020/2021: ISO year 2020 has a W53 that runs into January 2021.
case!(
    daily_year_boundary_2020_w53,
    smart(0, 3, 0, 0),
    every(utc(2020, 12, 24, 12, 0), Duration::days(1), 16),
    Tz::UTC
);
// 5. Weekly for two years, monthly + yearly tiers.
case!(
    weekly_two_years_monthly_yearly,
    smart(0, 0, 6, 2),
    every(utc(2023, 1, 2, 3, 0), Duration::weeks(1), 104),
    Tz::UTC
);
// 6. Every 30 minutes over Berlin's spring-forward night (2025-03-30, 02:00 → 03:00).
case!(
    berlin_spring_forward_daily,
    smart(3, 1, 0, 0),
    every(utc(2025, 3, 28, 20, 0), Duration::minutes(150), 24),
    Tz::Europe__Berlin
);
// 7. Hourly over New York's fall-back night (2025-11-02, 02:00 → 01:00): the repeated hour.
case!(
    new_york_fall_back_hourly,
    smart(2, 0, 0, 0),
    every(utc(2025, 11, 1, 22, 0), Duration::hours(1), 36),
    Tz::America__New_York
);
// 8. Late-evening backups: local days in Auckland differ from UTC days.
case!(
    auckland_local_days,
    smart(4, 0, 0, 0),
    every(utc(2025, 1, 10, 11, 30), Duration::hours(12), 10),
    Tz::Pacific__Auckland
);
// 9. Same backups in UTC: different daily buckets than in Auckland.
case!(
    auckland_backups_in_utc,
    smart(4, 0, 0, 0),
    every(utc(2025, 1, 10, 11, 30), Duration::hours(12), 10),
    Tz::UTC
);
// 10. Half-hour offset zone (Asia/Kolkata), every 6 hours, daily + weekly.
case!(
    kolkata_six_hourly,
    smart(3, 2, 0, 0),
    every(utc(2025, 2, 1, 0, 0), Duration::hours(6), 40),
    Tz::Asia__Kolkata
);
// 11. Locked backups are kept and take no slot.
case!(
    simple_with_locked,
    RetentionPolicy::Simple { keep_count: 2 },
    lock(
        every(utc(2025, 5, 1, 1, 0), Duration::days(1), 7),
        &[6, 3, 0]
    ),
    Tz::UTC
);
// 12. SMART with locked backups in the middle of buckets.
case!(
    smart_with_locked,
    smart(2, 2, 1, 0),
    lock(
        every(utc(2025, 5, 1, 1, 0), Duration::hours(20), 20),
        &[19, 10]
    ),
    Tz::UTC
);
// 13. The backup just made is kept even when every tier is full of newer ones.
case!(
    protect_just_created,
    RetentionPolicy::Simple { keep_count: 1 },
    every(utc(2025, 7, 1, 0, 0), Duration::hours(1), 4),
    Tz::UTC,
    Some("b000_20250701T0000")
);
// 14. Leap day and month ends.
case!(
    leap_year_february,
    smart(2, 0, 3, 1),
    every(utc(2024, 2, 25, 23, 0), Duration::days(1), 10),
    Tz::UTC
);
// 15. Monthly for three years with every tier.
case!(
    monthly_three_years_all_tiers,
    smart(3, 3, 12, 3),
    every(utc(2022, 1, 15, 4, 0), Duration::days(30), 37),
    Tz::Europe__London
);
// 16. Every day of two New-Year weeks in Berlin, near midnight (UTC is the day before).
case!(
    berlin_new_year_midnight,
    smart(2, 2, 2, 2),
    every(utc(2025, 12, 26, 23, 30), Duration::days(1), 12),
    Tz::Europe__Berlin
);
// 17. Ties: two backups at the same instant (name decides, descending).
case!(
    same_instant_ties,
    smart(1, 0, 0, 0),
    vec![
        Backup {
            name: "a".into(),
            created_at: utc(2025, 1, 1, 0, 0),
            locked: false
        },
        Backup {
            name: "b".into(),
            created_at: utc(2025, 1, 1, 0, 0),
            locked: false
        },
        Backup {
            name: "c".into(),
            created_at: utc(2024, 12, 31, 0, 0),
            locked: false
        },
    ],
    Tz::UTC
);
// 18. Empty destination.
case!(empty, smart(7, 4, 6, 2), Vec::<Backup>::new(), Tz::UTC);
// 19. Several backups a day for two weeks, the classic 7/4/6/2.
case!(
    classic_7_4_6_2,
    smart(7, 4, 6, 2),
    every(utc(2025, 8, 20, 1, 0), Duration::hours(8), 45),
    Tz::UTC
);
// 20. Sydney's fall-back (2025-04-06, 03:00 → 02:00), every 90 minutes.
case!(
    sydney_fall_back,
    smart(3, 0, 0, 0),
    every(utc(2025, 4, 4, 10, 0), Duration::minutes(90), 40),
    Tz::Australia__Sydney
);

#[test]
fn input_order_does_not_matter() {
    let mut backups = every(utc(2025, 1, 1, 0, 0), Duration::hours(7), 30);
    let sorted = apply(&smart(3, 2, 1, 1), &backups, Tz::UTC, None);
    backups.reverse();
    backups.swap(3, 17);
    assert_eq!(apply(&smart(3, 2, 1, 1), &backups, Tz::UTC, None), sorted);
}

#[test]
fn iso_week_year_is_used_for_weekly_buckets() {
    // 2024-12-30 (Mon) and 2025-01-05 (Sun) are one ISO week: 2025-W01. With weekly = 1 only
    // the newest of that week is kept; the calendar-year key DBackup used would split them.
    let backups = vec![
        Backup {
            name: "mon".into(),
            created_at: utc(2024, 12, 30, 12, 0),
            locked: false,
        },
        Backup {
            name: "sun".into(),
            created_at: utc(2025, 1, 5, 12, 0),
            locked: false,
        },
    ];
    let d = apply(&smart(0, 2, 0, 0), &backups, Tz::UTC, None);
    assert_eq!(d[0].name, "sun");
    assert!(d[0].keep);
    assert_eq!(d[0].reasons, vec!["weekly 2025-W01 (1/2)"]);
    assert!(!d[1].keep);
    assert_eq!(d[1].reasons, vec!["weekly 2025-W01 has a newer backup"]);
}

#[test]
fn locked_backups_take_no_slot() {
    let backups = lock(every(utc(2025, 1, 1, 0, 0), Duration::days(1), 4), &[3, 2]);
    let d = apply(
        &RetentionPolicy::Simple { keep_count: 2 },
        &backups,
        Tz::UTC,
        None,
    );
    let kept: Vec<_> = d
        .iter()
        .filter(|d| d.keep)
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(kept.len(), 4, "{d:?}");
}

#[test]
fn policy_json_round_trip_and_validation() {
    for (input, canonical) in [
        (json!({}), json!({"mode": "NONE"})),
        (json!(null), json!({"mode": "NONE"})),
        (json!({"mode": "NONE"}), json!({"mode": "NONE"})),
        (
            json!({"mode": "SIMPLE", "simple": {"keepCount": 5}}),
            json!({"mode": "SIMPLE", "simple": {"keepCount": 5}}),
        ),
        (
            json!({"mode": "SMART", "smart": {"daily": 7, "monthly": 6}}),
            json!({"mode": "SMART", "smart": {"daily": 7, "weekly": 0, "monthly": 6, "yearly": 0}}),
        ),
    ] {
        let p = RetentionPolicy::from_json(&input).unwrap();
        assert_eq!(p.to_json(), canonical);
        assert_eq!(RetentionPolicy::from_json(&canonical).unwrap(), p);
    }
    for (bad, msg) in [
        (json!([]), "retention must be an object"),
        (
            json!({"mode": "FOREVER"}),
            "retention.mode must be NONE, SIMPLE or SMART",
        ),
        (json!({"mode": "SIMPLE"}), "retention.simple is required"),
        (
            json!({"mode": "SIMPLE", "simple": {"keepCount": 0}}),
            "keepCount must be at least 1",
        ),
        (
            json!({"mode": "SIMPLE", "simple": {"keepCount": -1}}),
            "keepCount must be an integer",
        ),
        (
            json!({"mode": "SMART", "smart": {"daily": 0}}),
            "at least one tier above 0",
        ),
        (
            json!({"mode": "SMART", "smart": {"hourly": 3}}),
            "unknown field `hourly`",
        ),
        (json!({"mode": "NONE", "x": 1}), "unknown field `x`"),
    ] {
        let e = RetentionPolicy::from_json(&bad).unwrap_err();
        assert!(e.0.contains(msg), "{bad}: {e}");
    }
}
