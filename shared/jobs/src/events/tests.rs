//! Worker events against a real (rusqlite) database with the app's migrations.

use super::*;
use crate::dispatcher::{claim_next, set_task};
use crate::execution::*;
use crate::job;
use crate::queue::enqueue_backup;
use crate::testutil::{spec, utc, TestDb, NOW};

#[test]
fn events_are_idempotent_and_build_logs_and_status() {
    let db = TestDb::migrated().with_adapters();
    job::insert(&db, "j1", &spec("@daily"), NOW).unwrap();
    enqueue_backup(&db, "e1", "j1", Trigger::Manual, None, NOW).unwrap();
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
fn the_read_back_checks_of_a_backup_are_shown_per_destination() {
    let db = TestDb::migrated().with_adapters();
    job::insert(&db, "j1", &spec("@daily"), NOW).unwrap();
    enqueue_backup(&db, "e1", "j1", Trigger::Manual, None, NOW).unwrap();
    claim_next(&db, 1, "sealed", NOW).unwrap().unwrap();
    let verification = json!([
        {"destinationId": "dst1", "status": "Verified", "checkedAt": "2026-01-01T00:00:01.000Z",
         "detail": "read back 40 bytes: every container chunk authenticated, SHA-256 equal"},
        {"destinationId": "dst2", "status": "Failed", "checkedAt": "2026-01-01T00:00:01.000Z",
         "detail": "read back: chunk 3 failed authentication"},
    ]);
    let event = json!({"type": "result", "seq": 1, "taskId": "t1", "status": "partial",
        "size": 40, "sha256": "ab", "objectName": "nightly/x.dump",
        "destinations": [{"id": "dst1", "ok": true},
            {"id": "dst2", "ok": false, "error": "verification after upload failed: read back: chunk 3 failed authentication"}],
        "result": {"objectName": "nightly/x.dump", "verification": verification}});
    apply_event(&db, "e1", &event, NOW).unwrap();
    let v = serde_json::to_value(get_view(&db, "e1").unwrap().unwrap()).unwrap();
    assert_eq!(v["status"], "Partial");
    assert_eq!(v["verification"], verification);
    // In the list too; null for an execution without a result.
    let page = list_view(
        &db,
        &ListQuery {
            limit: 10,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        serde_json::to_value(&page.items[0]).unwrap()["verification"],
        verification
    );
    enqueue_backup(&db, "e2", "j1", Trigger::Manual, None, NOW).unwrap();
    let v = serde_json::to_value(get_view(&db, "e2").unwrap().unwrap()).unwrap();
    assert!(v["verification"].is_null());
}

#[test]
fn a_late_result_does_not_revive_a_stalled_execution() {
    let db = TestDb::migrated().with_adapters();
    job::insert(&db, "j1", &spec("@daily"), NOW).unwrap();
    enqueue_backup(&db, "e1", "j1", Trigger::Manual, None, NOW).unwrap();
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
    enqueue_backup(&db, "e2", "j1", Trigger::Manual, None, NOW).unwrap();
    assert_eq!(claim_next(&db, 1, "k", NOW).unwrap().unwrap().id, "e2");
    // Post-processing is claimed once (e1 ended at 00:11).
    let at = utc(2026, 1, 1, 0, 12, 0);
    let f = claim_finished(&db, at).unwrap().unwrap();
    assert_eq!(f.id, "e1");
    assert_eq!(f.done, PostProcess::default());
    assert!(claim_finished(&db, at).unwrap().is_none());
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
            let cancelled = finish(
                &self.inner,
                "e1",
                ExecutionStatus::Cancelled,
                "Cancelled by user u1",
                NOW,
            )
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
    enqueue_backup(&db, "e1", "j1", Trigger::Manual, None, NOW).unwrap();
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
