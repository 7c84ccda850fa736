//! The claim (FIFO, the concurrency cap) against a real (rusqlite) database with the app's
//! migrations.

use super::*;
use crate::execution::{finish, ExecutionStatus, Trigger};
use crate::job;
use crate::queue::{enqueue_backup, enqueue_restore};
use crate::testutil::{spec, TestDb, NOW};

#[test]
fn claim_respects_the_cap_and_fifo() {
    let db = TestDb::migrated().with_adapters();
    job::insert(&db, "j1", &spec("@daily"), NOW).unwrap();
    enqueue_backup(
        &db,
        "e1",
        "j1",
        Trigger::Manual,
        None,
        "2026-01-01T00:00:01.000Z",
    )
    .unwrap();
    enqueue_backup(
        &db,
        "e2",
        "j1",
        Trigger::Manual,
        None,
        "2026-01-01T00:00:02.000Z",
    )
    .unwrap();
    enqueue_restore(
        &db,
        "e3",
        None,
        &json!({"path": "x"}),
        "2026-01-01T00:00:03.000Z",
    )
    .unwrap();
    let c = claim_next(&db, 1, "sealed", NOW).unwrap().unwrap();
    assert_eq!(c.id, "e1");
    assert!(claim_next(&db, 1, "sealed", NOW).unwrap().is_none());
    assert_eq!(claim_next(&db, 2, "sealed", NOW).unwrap().unwrap().id, "e2");
    let r = claim_next(&db, 3, "sealed", NOW).unwrap().unwrap();
    assert_eq!((r.id.as_str(), r.kind.as_str()), ("e3", "Restore"));
    assert_eq!(r.request, Some(json!({"path": "x"})));
    assert!(claim_next(&db, 10, "sealed", NOW).unwrap().is_none());
    // Cancelling a finished execution changes nothing; a running one is cancelled once.
    assert_eq!(
        finish(
            &db,
            "e1",
            ExecutionStatus::Cancelled,
            "cancelled by a user",
            NOW
        )
        .unwrap(),
        Some(None)
    );
    assert_eq!(
        finish(&db, "e1", ExecutionStatus::Failed, "x", NOW).unwrap(),
        None
    );
}

/// The runner's cap is the `maxConcurrentJobs` setting of the shared table: with 2, two of
/// three queued executions run at once; the default (1) runs one.
#[test]
fn claim_cap_follows_the_max_concurrent_jobs_setting() {
    use dbackup_identity::{settings, time::Timestamp};
    let db = TestDb::migrated().with_adapters();
    job::insert(&db, "j1", &spec("@daily"), NOW).unwrap();
    for id in ["e1", "e2", "e3"] {
        enqueue_backup(&db, id, "j1", Trigger::Manual, None, NOW).unwrap();
    }
    let claim_all = || {
        let max = settings::integer(&db, settings::MAX_CONCURRENT_JOBS).unwrap();
        std::iter::from_fn(|| claim_next(&db, max, "sealed", NOW).unwrap())
            .map(|c| c.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(claim_all(), vec!["e1"]);
    let at = Timestamp::parse_iso(NOW).unwrap();
    settings::update(&db, &json!({"maxConcurrentJobs": 2}), at).unwrap();
    assert_eq!(claim_all(), vec!["e2"]);
    let running = sql::query(
        &db,
        r#"SELECT COUNT(*) AS n FROM "Execution" WHERE "status" = 'Running'"#,
        &[],
    )
    .unwrap();
    assert_eq!(running[0].int("n"), Some(2));
}
