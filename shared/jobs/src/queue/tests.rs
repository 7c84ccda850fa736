//! The queue and the scheduler against a real (rusqlite) database with the app's
//! migrations.

use super::*;
use crate::job;
use crate::testutil::{spec, utc, TestDb};

fn ids() -> impl FnMut() -> Result<String, ApiError> {
    || crate::new_id()
}

#[test]
fn scheduler_runs_each_occurrence_once() {
    let db = TestDb::migrated().with_adapters();
    job::insert(&db, "j1", &spec("*/5 * * * *"), "2026-01-01T00:01:00.000Z").unwrap();
    // Nothing due before 00:05.
    assert!(schedule_due(&db, utc(2026, 1, 1, 0, 4, 59), ids())
        .unwrap()
        .is_empty());
    let p = schedule_due(&db, utc(2026, 1, 1, 0, 5, 3), ids()).unwrap();
    assert_eq!(
        p,
        vec![Planned {
            job_id: "j1".into(),
            occurrence: "2026-01-01T00:05:00.000Z".into(),
            run: true
        }]
    );
    // A second (late) tick finds nothing new.
    assert!(schedule_due(&db, utc(2026, 1, 1, 0, 5, 13), ids())
        .unwrap()
        .is_empty());
    assert_eq!(
        db.count(
            r#"SELECT COUNT(*) FROM "Execution" WHERE "scheduledFor" = '2026-01-01T00:05:00.000Z'"#
        ),
        1
    );
    // After an hour of downtime: only the latest occurrence (01:05, within the grace period)
    // runs; the eleven missed ones in between are not replayed.
    let p = schedule_due(&db, utc(2026, 1, 1, 1, 7, 0), ids()).unwrap();
    assert_eq!(p.len(), 1);
    assert!(p[0].run);
    assert_eq!(p[0].occurrence, "2026-01-01T01:05:00.000Z");
    assert_eq!(db.count(r#"SELECT COUNT(*) FROM "Execution""#), 2);
    // A disabled job is not scheduled.
    db.execute(r#"UPDATE "Job" SET "enabled" = 0"#, &[])
        .unwrap();
    assert!(schedule_due(&db, utc(2026, 1, 1, 1, 10, 1), ids())
        .unwrap()
        .is_empty());
}

#[test]
fn two_schedulers_on_one_file_run_each_occurrence_once() {
    let dir = std::env::temp_dir().join(format!("dbackup-jobs-race-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("db.sqlite");
    {
        let db = TestDb::file(&path).with_adapters();
        for i in 0..5 {
            job::insert(
                &db,
                &format!("j{i}"),
                &spec("* * * * *"),
                "2026-01-01T00:00:30.000Z",
            )
            .unwrap();
        }
    }
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || {
                let db = TestDb::file(&path);
                let mut runs = 0;
                for minute in 1..=10u32 {
                    for second in [0u32, 5, 10] {
                        let now = utc(2026, 1, 1, 0, minute, second);
                        runs += schedule_due(&db, now, ids())
                            .unwrap()
                            .iter()
                            .filter(|p| p.run)
                            .count();
                    }
                }
                runs
            })
        })
        .collect();
    let total: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let db = TestDb::file(&path);
    assert_eq!(total, 50);
    assert_eq!(db.count(r#"SELECT COUNT(*) FROM "Execution""#), 50);
    assert_eq!(
        db.count(r#"SELECT COUNT(DISTINCT "jobId" || "scheduledFor") FROM "Execution""#),
        50
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A `Db` whose statements starting with `prefix` fail `times` times (the database went away
/// between two statements of a tick).
struct Flaky<'a> {
    db: &'a TestDb,
    prefix: &'static str,
    times: std::cell::Cell<u32>,
}

impl Db for Flaky<'_> {
    fn execute(
        &self,
        sql: &str,
        params: &[dbackup_core::db::Value],
    ) -> Result<dbackup_core::db::Rows, dbackup_core::db::DbError> {
        if sql.trim_start().starts_with(self.prefix) && self.times.get() > 0 {
            self.times.set(self.times.get() - 1);
            return Err(dbackup_core::db::DbError::new("database unavailable"));
        }
        self.db.execute(sql, params)
    }
}

#[test]
fn an_occurrence_survives_a_tick_that_fails_half_way() {
    for prefix in ["INSERT", "UPDATE"] {
        let db = TestDb::migrated().with_adapters();
        job::insert(&db, "j1", &spec("*/5 * * * *"), "2026-01-01T00:01:00.000Z").unwrap();
        let flaky = Flaky {
            db: &db,
            prefix,
            times: std::cell::Cell::new(1),
        };
        // The tick at 00:05 fails half way (enqueue or marker); the next one plans it again.
        assert!(schedule_due(&flaky, utc(2026, 1, 1, 0, 5, 3), ids()).is_err());
        let p = schedule_due(&flaky, utc(2026, 1, 1, 0, 5, 13), ids()).unwrap();
        assert_eq!(p.len(), 1, "{prefix}: {p:?}");
        assert!(p[0].run);
        assert_eq!(p[0].occurrence, "2026-01-01T00:05:00.000Z");
        assert_eq!(
            db.count(
                r#"SELECT COUNT(*) FROM "Execution" WHERE "scheduledFor" = '2026-01-01T00:05:00.000Z'"#
            ),
            1,
            "{prefix}: the occurrence runs exactly once"
        );
        // And only once: a later tick finds nothing new.
        assert!(schedule_due(&flaky, utc(2026, 1, 1, 0, 5, 23), ids())
            .unwrap()
            .is_empty());
        assert_eq!(db.count(r#"SELECT COUNT(*) FROM "Execution""#), 1);
    }
}
