//! The queue, scheduler and event logic against a real (rusqlite) database with the app's
//! migrations.

use super::*;
use crate::job;
use crate::testutil::{TestDb, NOW};
use chrono::TimeZone;

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, s).single().unwrap()
}

fn spec(schedule: &str) -> job::JobSpec {
    job::parse_input(
        json!({
            "name": "nightly", "schedule": schedule, "sourceId": "src",
            "destinations": [{"destinationId": "dst1", "retention": {"mode": "SIMPLE", "simple": {"keepCount": 3}}},
                             {"destinationId": "dst2"}],
            "compression": "GZIP", "compressionLevel": 6, "encryptionProfileId": "prof",
            "notificationIds": ["note"], "databases": ["shop"], "timezone": "Europe/Berlin"
        }),
        "UTC",
    )
    .unwrap()
}

fn ids() -> impl FnMut() -> Result<String, ApiError> {
    || crate::new_id()
}

#[test]
fn job_crud_round_trip() {
    let db = TestDb::migrated().with_adapters();
    let s = spec("0 3 * * *");
    job::check_references(&db, &s).unwrap();
    job::insert(&db, "j1", &s, NOW).unwrap();
    let stored = job::get(&db, "j1").unwrap().unwrap();
    assert_eq!(stored.destinations.len(), 2);
    assert_eq!(stored.destinations[0].0, "dst1");
    assert_eq!(stored.notification_ids, vec!["note"]);
    assert_eq!(stored.last_scheduled_at.as_deref(), Some(NOW));
    // Job.destinationId keeps the first destination (seed-schema compatibility).
    assert_eq!(
        db.scalar(r#"SELECT "destinationId" FROM "Job""#),
        "dst1".into()
    );
    let v = serde_json::to_value(stored.to_view(utc(2026, 1, 1, 12, 0, 0), None)).unwrap();
    assert_eq!(v["nextRunAt"], "2026-01-02T02:00:00.000Z"); // 03:00 in Berlin (UTC+1)
    assert_eq!(v["destinations"][1]["retention"], json!({"mode": "NONE"}));

    let mut s2 = spec("0 4 * * *");
    s2.destinations.reverse();
    s2.notification_ids.clear();
    assert!(job::update(&db, "j1", &s2, "2026-01-01T10:00:00.000Z").unwrap());
    let stored = job::get(&db, "j1").unwrap().unwrap();
    assert_eq!(stored.destinations[0].0, "dst2");
    assert!(stored.notification_ids.is_empty());
    // The schedule changed: the marker moved to the save time.
    assert_eq!(
        stored.last_scheduled_at.as_deref(),
        Some("2026-01-01T10:00:00.000Z")
    );
    assert!(!job::update(&db, "nope", &s2, NOW).unwrap());
    // A destination in use cannot be deleted under the job.
    assert!(db
        .execute(r#"DELETE FROM "AdapterConfig" WHERE "id" = 'dst1'"#, &[])
        .is_err());
    assert!(job::delete(&db, "j1").unwrap());
    assert_eq!(db.count(r#"SELECT COUNT(*) FROM "JobDestination""#), 0);
    assert!(!job::delete(&db, "j1").unwrap());
}

#[test]
fn validation_names_the_field() {
    let db = TestDb::migrated().with_adapters();
    let base = json!({"name": "n", "schedule": "@daily", "sourceId": "src",
                      "destinations": [{"destinationId": "dst1"}]});
    let bad = |patch: Value| {
        let mut body = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        match job::parse_input(body, "UTC") {
            Err(e) => e,
            Ok(s) => job::check_references(&db, &s).unwrap_err(),
        }
    };
    let e = bad(json!({"schedule": "61 * * * *"}));
    assert_eq!(e.status, 400);
    assert!(e.message.starts_with("invalid schedule: "), "{e:?}");
    for (patch, field) in [
        (json!({"timezone": "Mars/Olympus"}), "timezone"),
        (json!({"destinations": []}), "destinations"),
        (json!({"compression": "LZ4"}), "compression"),
        (
            json!({"compression": "GZIP", "compressionLevel": 12}),
            "compressionLevel",
        ),
        (json!({"compressionLevel": 3}), "compressionLevel"),
        (
            json!({"notificationEvents": "SOMETIMES"}),
            "notificationEvents",
        ),
        (json!({"name": "a/b"}), "name"),
        (json!({"sourceId": "dst1"}), "sourceId"),
        (
            json!({"destinations": [{"destinationId": "src"}]}),
            "destinations[0].destinationId",
        ),
        (
            json!({"destinations": [{"destinationId": "dst1"}, {"destinationId": "dst1"}]}),
            "destinations[1].destinationId",
        ),
        (
            json!({"destinations": [{"destinationId": "dst1", "retention": {"mode": "SIMPLE", "simple": {"keepCount": 0}}}]}),
            "destinations[0].retention",
        ),
        (json!({"notificationIds": ["src"]}), "notificationIds"),
        (
            json!({"encryptionProfileId": "nope"}),
            "encryptionProfileId",
        ),
    ] {
        let e = bad(patch.clone());
        assert_eq!(e.status, 400, "{patch}");
        assert_eq!(
            e.details.as_ref().unwrap()["field"],
            field,
            "{patch}: {e:?}"
        );
    }
    let e = job::parse_input(json!({"name": "n"}), "UTC").unwrap_err();
    assert!(e.message.contains("missing field"), "{e:?}");
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

#[test]
fn claim_respects_the_cap_and_fifo() {
    let db = TestDb::migrated().with_adapters();
    job::insert(&db, "j1", &spec("@daily"), NOW).unwrap();
    enqueue_backup(&db, "e1", "j1", "Manual", None, "2026-01-01T00:00:01.000Z").unwrap();
    enqueue_backup(&db, "e2", "j1", "Manual", None, "2026-01-01T00:00:02.000Z").unwrap();
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
        finish(&db, "e1", "Cancelled", "cancelled by a user", NOW).unwrap(),
        Some(None)
    );
    assert_eq!(finish(&db, "e1", "Failed", "x", NOW).unwrap(), None);
}

#[test]
fn events_are_idempotent_and_build_logs_and_status() {
    let db = TestDb::migrated().with_adapters();
    job::insert(&db, "j1", &spec("@daily"), NOW).unwrap();
    enqueue_backup(&db, "e1", "j1", "Manual", None, NOW).unwrap();
    claim_next(&db, 1, "sealed", NOW).unwrap().unwrap();
    let ev = |seq: i64, body: Value| {
        let mut b = body;
        b["seq"] = json!(seq);
        b["taskId"] = json!("t1");
        b["at"] = json!(format!("2026-01-01T00:00:{seq:02}.000Z"));
        b
    };
    let apply = |e: &Value| apply_event(&db, "e1", e, NOW).unwrap();
    assert_eq!(
        apply(&ev(1, json!({"type": "stage", "stage": "dumping"}))),
        EventOutcome::Applied { finished: false }
    );
    assert_eq!(
        apply(&ev(1, json!({"type": "stage", "stage": "dumping"}))),
        EventOutcome::Duplicate
    );
    apply(&ev(
        2,
        json!({"type": "log", "level": "info", "message": "pg_dump started"}),
    ));
    apply(&ev(
        3,
        json!({"type": "progress", "bytesIn": 100, "bytesOut": 40, "rateBytesPerSec": 100}),
    ));
    // A gap (seq 4 was given up by the worker) is fine; an older seq afterwards is a duplicate.
    assert_eq!(
        apply(&ev(
            5,
            json!({"type": "result", "status": "partial", "size": 40, "sha256": "ab",
                   "objectName": "nightly/x.dump", "destinations": [{"id": "dst1", "ok": true},
                   {"id": "dst2", "ok": false, "error": "disk full"}]})
        )),
        EventOutcome::Applied { finished: true }
    );
    assert_eq!(
        apply(&ev(4, json!({"type": "log", "message": "late"}))),
        EventOutcome::Duplicate
    );
    let v = serde_json::to_value(get_view(&db, "e1").unwrap().unwrap()).unwrap();
    assert_eq!(v["status"], "Partial");
    assert_eq!(v["size"], 40);
    assert_eq!(v["path"], "nightly/x.dump");
    assert_eq!(v["endedAt"], "2026-01-01T00:00:05.000Z");
    assert_eq!(v["progress"]["bytesIn"], 100);
    assert_eq!(v["progress"]["stage"], "Completed");
    assert_eq!(v["result"]["destinations"][1]["error"], "disk full");
    let messages: Vec<&str> = v["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        vec![
            "Job queued (Manual)",
            "Stage: Dumping",
            "pg_dump started",
            "Completed at some destinations only"
        ]
    );
    assert_eq!(v["logs"][2]["stage"], "Dumping");
    // Another task's events are refused.
    let mut other = ev(6, json!({"type": "log", "message": "x"}));
    other["taskId"] = json!("t2");
    assert_eq!(apply_event(&db, "e1", &other, NOW).unwrap_err().status, 409);
    assert_eq!(
        apply_event(&db, "nope", &ev(1, json!({"type": "log"})), NOW).unwrap(),
        EventOutcome::NotFound
    );
    assert_eq!(
        apply_event(&db, "e1", &json!({"type": "log"}), NOW)
            .unwrap_err()
            .status,
        400
    );
}

#[test]
fn a_late_result_does_not_revive_a_stalled_execution() {
    let db = TestDb::migrated().with_adapters();
    job::insert(&db, "j1", &spec("@daily"), NOW).unwrap();
    enqueue_backup(&db, "e1", "j1", "Manual", None, NOW).unwrap();
    claim_next(&db, 1, "k", "2026-01-01T00:00:00.000Z").unwrap();
    set_task(&db, "e1", "t1", "2026-01-01T00:00:00.000Z").unwrap();
    // Not stalled yet at 00:05 with a 10-minute timeout …
    assert!(fail_stalled(&db, "2025-12-31T23:55:00.000Z", 10, NOW)
        .unwrap()
        .is_empty());
    // … stalled at 00:11.
    let failed = fail_stalled(
        &db,
        "2026-01-01T00:01:00.000Z",
        10,
        "2026-01-01T00:11:00.000Z",
    )
    .unwrap();
    assert_eq!(failed, vec![("e1".to_owned(), Some("t1".to_owned()))]);
    let late =
        json!({"seq": 1, "taskId": "t1", "type": "result", "status": "succeeded", "size": 1});
    apply_event(&db, "e1", &late, NOW).unwrap();
    let v = serde_json::to_value(get_view(&db, "e1").unwrap().unwrap()).unwrap();
    assert_eq!(v["status"], "Failed");
    assert!(v["error"].as_str().unwrap().starts_with("stalled"));
    // The next execution can run: the queue is not blocked.
    enqueue_backup(&db, "e2", "j1", "Manual", None, NOW).unwrap();
    assert_eq!(claim_next(&db, 1, "k", NOW).unwrap().unwrap().id, "e2");
    // Post-processing is claimed once (e1 ended at 00:11).
    let at = utc(2026, 1, 1, 0, 12, 0);
    let f = claim_finished(&db, at).unwrap().unwrap();
    assert_eq!(f.id, "e1");
    assert_eq!(f.done, PostProcess::default());
    assert!(claim_finished(&db, at).unwrap().is_none());
}

/// A finished execution for the post-processing tests, ended at `ended`.
fn finished_execution(db: &TestDb, id: &str, ended: &str) {
    job::insert(db, "j1", &spec("@daily"), NOW).ok();
    enqueue_backup(db, id, "j1", "Manual", None, NOW).unwrap();
    db.execute(
        r#"UPDATE "Execution" SET "status" = 'Success', "endedAt" = ? WHERE "id" = ?"#,
        &[ended.into(), id.into()],
    )
    .unwrap();
}

#[test]
fn post_processing_is_at_least_once_with_a_lease_and_step_markers() {
    let db = TestDb::migrated().with_adapters();
    finished_execution(&db, "e1", "2026-01-01T10:00:00.000Z");
    let t0 = utc(2026, 1, 1, 10, 0, 5);
    let f = claim_finished(&db, t0).unwrap().unwrap();
    assert_eq!(f.id, "e1");
    // Held: another runner (or the next tick) does not get it within the lease.
    assert!(claim_finished(&db, t0 + chrono::Duration::seconds(60))
        .unwrap()
        .is_none());
    // The first steps are recorded with their logs; each renews the lease.
    let t1 = t0 + chrono::Duration::seconds(200);
    let entry = log_entry(
        &crate::iso(t1),
        "info",
        "Retention",
        "dst1: 1 backups, 1 kept",
    );
    mark_step(
        &db,
        "e1",
        Step::Retention("dst1"),
        &[entry.clone(), entry],
        &crate::iso(t1),
    )
    .unwrap();
    mark_step(&db, "e1", Step::Notified("note"), &[], &crate::iso(t1)).unwrap();
    // The runner crashes here. 4 minutes after the claim the renewed lease still holds …
    assert!(claim_finished(&db, t0 + chrono::Duration::seconds(240))
        .unwrap()
        .is_none());
    // … and once it has run out, the next tick takes over, knowing what was done.
    let t2 = t1 + chrono::Duration::seconds(POST_PROCESS_LEASE_SECS + 1);
    let again = claim_finished(&db, t2).unwrap().unwrap();
    assert_eq!(again.id, "e1");
    assert_eq!(again.done.retention, vec!["dst1".to_owned()]);
    assert_eq!(again.done.notified, vec!["note".to_owned()]);
    let retention_logs = again
        .logs
        .iter()
        .filter(|l| l["stage"] == "Retention")
        .count();
    assert_eq!(retention_logs, 2, "{:?}", again.logs);
    // Two racing runners: one wins (the lease was just renewed by the claim).
    assert!(claim_finished(&db, t2).unwrap().is_none());
    mark_post_processed(&db, "e1", &[], &crate::iso(t2)).unwrap();
    // Complete: never claimed again, even after the lease.
    assert!(claim_finished(&db, t2 + chrono::Duration::hours(1))
        .unwrap()
        .is_none());
}

#[test]
fn post_processing_gives_up_after_a_day() {
    let db = TestDb::migrated().with_adapters();
    finished_execution(&db, "old", "2026-01-01T00:00:00.000Z");
    finished_execution(&db, "new", "2026-01-01T23:00:00.000Z");
    let now = utc(2026, 1, 2, 0, 0, 1);
    assert_eq!(claim_finished(&db, now).unwrap().unwrap().id, "new");
    assert!(claim_finished(&db, now).unwrap().is_none());
    assert_eq!(
        db.count(
            r#"SELECT COUNT(*) FROM "Execution" WHERE "id" = 'old' AND "finalizedAt" IS NULL"#
        ),
        1
    );
}

#[test]
fn list_pages_with_a_cursor() {
    let db = TestDb::migrated().with_adapters();
    job::insert(&db, "j1", &spec("@daily"), NOW).unwrap();
    for i in 0..5 {
        enqueue_backup(
            &db,
            &format!("e{i}"),
            "j1",
            "Manual",
            None,
            &format!("2026-01-01T00:00:0{i}.000Z"),
        )
        .unwrap();
    }
    let q = |cursor: Option<String>| ListQuery {
        job_id: Some("j1".into()),
        limit: 2,
        cursor,
        ..Default::default()
    };
    let p1 = serde_json::to_value(list_view(&db, &q(None)).unwrap()).unwrap();
    assert_eq!(p1["items"][0]["id"], "e4");
    let p2 = serde_json::to_value(
        list_view(&db, &q(p1["nextCursor"].as_str().map(str::to_owned))).unwrap(),
    )
    .unwrap();
    assert_eq!(p2["items"][0]["id"], "e2");
    let p3 = serde_json::to_value(
        list_view(&db, &q(p2["nextCursor"].as_str().map(str::to_owned))).unwrap(),
    )
    .unwrap();
    assert_eq!(p3["items"].as_array().unwrap().len(), 1);
    assert!(p3["nextCursor"].is_null());
    assert!(p1["items"][0].get("logs").is_none());
    let q = ListQuery {
        status: Some("Running".into()),
        limit: 10,
        ..Default::default()
    };
    assert!(list_view(&db, &q).unwrap().items.is_empty());
}

/// The runner's cap is the `maxConcurrentJobs` setting of the shared table: with 2, two of
/// three queued executions run at once; the default (1) runs one.
#[test]
fn claim_cap_follows_the_max_concurrent_jobs_setting() {
    use dbackup_identity::{settings, time::Timestamp};
    let db = TestDb::migrated().with_adapters();
    job::insert(&db, "j1", &spec("@daily"), NOW).unwrap();
    for id in ["e1", "e2", "e3"] {
        enqueue_backup(&db, id, "j1", "Manual", None, NOW).unwrap();
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

/// A `Db` that cancels the execution right before the first event `UPDATE`, i.e. between the
/// event's read and its compare-and-set write (the race a cancel click can hit).
struct CancelBeforeEventWrite {
    inner: TestDb,
    fired: std::cell::Cell<bool>,
}

impl Db for CancelBeforeEventWrite {
    fn execute(
        &self,
        sql: &str,
        params: &[dbackup_core::db::Value],
    ) -> Result<dbackup_core::db::Rows, dbackup_core::db::DbError> {
        if !self.fired.get() && sql.contains(r#"SET "lastSeq" = ?"#) {
            self.fired.set(true);
            let cancelled = finish(&self.inner, "e1", "Cancelled", "Cancelled by user u1", NOW)
                .map_err(|e| dbackup_core::db::DbError::new(e.message))?;
            assert!(cancelled.is_some(), "the execution was running");
        }
        self.inner.execute(sql, params)
    }
}

#[test]
fn an_event_read_before_a_cancel_does_not_undo_it() {
    let db = TestDb::migrated().with_adapters();
    job::insert(&db, "j1", &spec("@daily"), NOW).unwrap();
    enqueue_backup(&db, "e1", "j1", "Manual", None, NOW).unwrap();
    claim_next(&db, 1, "k", NOW).unwrap();
    set_task(&db, "e1", "t1", NOW).unwrap();
    let racing = CancelBeforeEventWrite {
        inner: db,
        fired: std::cell::Cell::new(false),
    };
    let stage = json!({"seq": 1, "taskId": "t1", "type": "stage", "stage": "dumping"});
    // The first write loses the compare-and-set; the retry sees the cancel and keeps it.
    assert_eq!(
        apply_event(&racing, "e1", &stage, NOW).unwrap(),
        EventOutcome::Applied { finished: false }
    );
    let v = serde_json::to_value(get_view(&racing.inner, "e1").unwrap().unwrap()).unwrap();
    assert_eq!(v["status"], "Cancelled", "{v}");
    let logs = v["logs"].as_array().unwrap();
    assert!(
        logs.iter().any(|l| l["message"] == "Cancelled by user u1"),
        "{v}"
    );
    assert!(logs.iter().any(|l| l["message"] == "Stage: Dumping"), "{v}");
}
