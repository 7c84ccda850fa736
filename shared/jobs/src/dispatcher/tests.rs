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

// ---- Run now: the request that queued an execution starts it when a slot is free. ----

mod run_now {
    use super::*;
    use dbackup_adapters_core::registry;
    use dbackup_core::worker::fake::{block_on, FakeWorker};
    use dbackup_identity::{settings, time::Timestamp};

    const APP_URL: &str = "http://app.internal:3000";

    fn sealer() -> SecretBox {
        SecretBox::from_hex_key(&"11".repeat(32)).unwrap()
    }

    /// A PostgreSQL source `src`, a local destination `dst1` and job `j1` (no encryption),
    /// with `maxConcurrentJobs` = `cap`.
    fn app_db(cap: i64) -> TestDb {
        let db = TestDb::migrated();
        for (id, type_id, config) in [
            (
                "src",
                "postgres",
                json!({"host": "db.internal", "port": 5432, "user": "app", "database": "shop"}),
            ),
            ("dst1", "local", json!({"path": "/backups/one"})),
        ] {
            let Value::Object(config) = config else {
                unreachable!()
            };
            let t = registry::find(type_id).unwrap();
            dbackup_adapters_core::store::insert(&db, &sealer(), id, id, t, &config).unwrap();
        }
        let spec = job::parse_input(
            json!({"name": "nightly", "schedule": "0 3 * * *", "sourceId": "src",
                   "destinations": [{"destinationId": "dst1"}], "databases": ["shop"]}),
            "UTC",
        )
        .unwrap();
        job::insert(&db, "j1", &spec, NOW).unwrap();
        let at = Timestamp::parse_iso(NOW).unwrap();
        settings::update(&db, &json!({"maxConcurrentJobs": cap}), at).unwrap();
        crate::tick::record_heartbeat(&db, &crate::iso(chrono::Utc::now())).unwrap();
        db
    }

    /// A worker that accepts every backup with task `t-<executionId>`.
    fn accepting() -> FakeWorker {
        let worker = FakeWorker::new();
        worker.respond("/v1/backups", task_answer);
        worker
    }

    fn task_answer(body: &Value) -> dbackup_core::worker::WorkerAnswer {
        let id = body["executionId"].as_str().unwrap_or("?");
        dbackup_core::worker::WorkerAnswer {
            status: 202,
            body: json!({"taskId": format!("t-{id}")})
                .to_string()
                .into_bytes(),
        }
    }

    fn status(db: &TestDb, id: &str) -> (String, Option<String>) {
        let r = &sql::query(
            db,
            r#"SELECT "status", "taskId" FROM "Execution" WHERE "id" = ?"#,
            &[id.into()],
        )
        .unwrap()[0];
        (r.text("status").unwrap(), r.text("taskId"))
    }

    fn queue(db: &TestDb, id: &str, at: &str) {
        enqueue_backup(db, id, "j1", Trigger::Manual, None, at).unwrap();
    }

    fn now(db: &TestDb, worker: &FakeWorker, id: &str) {
        let s = sealer();
        block_on(dispatch_now(db, worker, Ok(&s), APP_URL, id));
    }

    fn tick(db: &TestDb, worker: &FakeWorker) {
        block_on(dispatch_queued(db, worker, &sealer(), APP_URL)).unwrap();
    }

    /// Posted backups per execution id.
    fn posts(worker: &FakeWorker) -> Vec<String> {
        worker
            .requests_to("/v1/backups")
            .iter()
            .map(|r| r.body["executionId"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn run_now_starts_the_execution_before_the_answer_when_a_slot_is_free() {
        let db = app_db(1);
        let worker = accepting();
        queue(&db, "e1", NOW);
        now(&db, &worker, "e1");
        assert_eq!(posts(&worker), ["e1"]);
        assert_eq!(status(&db, "e1"), ("Running".into(), Some("t-e1".into())));
        let logs = execution::get_view(&db, "e1")
            .unwrap()
            .unwrap()
            .logs
            .unwrap();
        assert!(
            logs.to_string()
                .contains("Started on the worker (task t-e1)"),
            "{logs}"
        );
    }

    #[test]
    fn run_now_leaves_it_queued_when_every_slot_is_taken_and_the_tick_starts_it_later() {
        let db = app_db(1);
        let worker = accepting();
        queue(&db, "e1", "2026-01-01T00:00:01.000Z");
        now(&db, &worker, "e1");
        queue(&db, "e2", "2026-01-01T00:00:02.000Z");
        now(&db, &worker, "e2");
        assert_eq!(posts(&worker), ["e1"]);
        assert_eq!(status(&db, "e2"), ("Pending".into(), None));
        finish(&db, "e1", ExecutionStatus::Success, "done", NOW).unwrap();
        tick(&db, &worker);
        assert_eq!(posts(&worker), ["e1", "e2"]);
        assert_eq!(status(&db, "e2").0, "Running");
    }

    /// FIFO holds: an execution queued earlier (its own run-now found no slot) starts first, and
    /// the request stops after its own execution's turn (e3, queued after it, waits).
    #[test]
    fn run_now_starts_older_queued_work_first_and_stops_after_its_own() {
        let db = app_db(3);
        let worker = accepting();
        queue(&db, "e1", "2026-01-01T00:00:01.000Z");
        queue(&db, "e2", "2026-01-01T00:00:02.000Z");
        queue(&db, "e3", "2026-01-01T00:00:03.000Z");
        now(&db, &worker, "e2");
        assert_eq!(posts(&worker), ["e1", "e2"]);
        assert_eq!(status(&db, "e3"), ("Pending".into(), None));
    }

    /// However run-now requests and ticks interleave (the same execution's dispatch twice, a
    /// tick between, later requests), each execution is claimed and posted once and the cap
    /// holds: the claim is the one conditional UPDATE (racing processes: tests/tests/run_now.rs).
    #[test]
    fn run_now_and_ticks_never_start_an_execution_twice() {
        let db = app_db(2);
        let worker = accepting();
        for (id, at) in [
            ("e1", "2026-01-01T00:00:01.000Z"),
            ("e2", "2026-01-01T00:00:02.000Z"),
            ("e3", "2026-01-01T00:00:03.000Z"),
        ] {
            queue(&db, id, at);
        }
        now(&db, &worker, "e1");
        now(&db, &worker, "e1");
        tick(&db, &worker);
        now(&db, &worker, "e2");
        now(&db, &worker, "e1");
        now(&db, &worker, "e3");
        tick(&db, &worker);
        assert_eq!(posts(&worker), ["e1", "e2"]);
        assert_eq!(status(&db, "e3"), ("Pending".into(), None));
        finish(&db, "e1", ExecutionStatus::Success, "done", NOW).unwrap();
        now(&db, &worker, "e3");
        now(&db, &worker, "e3");
        tick(&db, &worker);
        assert_eq!(posts(&worker), ["e1", "e2", "e3"]);
    }

    /// Without the sealing key nothing is claimed (the tick reports the same error): the
    /// execution stays queued, the request still answers.
    #[test]
    fn run_now_without_the_sealing_key_leaves_the_execution_queued() {
        let db = app_db(1);
        let worker = accepting();
        queue(&db, "e1", NOW);
        let e = dbackup_core::ApiError::internal("variable encryption_key: missing");
        block_on(dispatch_now(&db, &worker, Err(&e), APP_URL, "e1"));
        assert!(posts(&worker).is_empty());
        assert_eq!(status(&db, "e1"), ("Pending".into(), None));
    }

    /// Without a live runner (none ticked, or the last tick is minutes old) the request
    /// leaves the execution queued, as before: nothing would watch or finish it.
    #[test]
    fn run_now_without_a_live_runner_leaves_the_execution_queued() {
        let db = app_db(1);
        let worker = accepting();
        let old =
            chrono::Utc::now() - chrono::Duration::seconds(crate::tick::RUNNER_ALIVE_SECS + 5);
        crate::tick::record_heartbeat(&db, &crate::iso(old)).unwrap();
        queue(&db, "e1", NOW);
        now(&db, &worker, "e1");
        assert!(posts(&worker).is_empty());
        assert_eq!(status(&db, "e1"), ("Pending".into(), None));
        db.exec(r#"DELETE FROM "SystemSetting" WHERE "key" = 'runner.lastTickAt'"#);
        now(&db, &worker, "e1");
        assert!(posts(&worker).is_empty());
        crate::tick::record_heartbeat(&db, &crate::iso(chrono::Utc::now())).unwrap();
        now(&db, &worker, "e1");
        assert_eq!(posts(&worker), ["e1"]);
    }
}
