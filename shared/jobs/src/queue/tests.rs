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
