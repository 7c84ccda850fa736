//! The execution rows (post-processing claims, views) and jobs against a real (rusqlite)
//! database with the app's migrations.

use super::*;
use crate::job;
use crate::queue::enqueue_backup;
use crate::testutil::{spec, utc, TestDb, NOW};

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

/// A job created without `compression` gets ZSTD at level 3 (the default since issue 19: in
/// docs/BENCH.md it is faster and smaller than GZIP-6); a level alone is ZSTD's; an explicit
/// choice is kept as given.
#[test]
fn zstd_level_3_is_the_default_compression() {
    let base = json!({"name": "n", "schedule": "@daily", "sourceId": "src",
                      "destinations": [{"destinationId": "dst1"}]});
    let parsed = |patch: Value| {
        let mut body = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let s = job::parse_input(body, "UTC").unwrap();
        (s.compression, s.compression_level)
    };
    assert_eq!(parsed(json!({})), ("ZSTD".to_owned(), Some(3)));
    assert_eq!(
        parsed(json!({"compressionLevel": 9})),
        ("ZSTD".to_owned(), Some(9))
    );
    assert_eq!(
        parsed(json!({"compression": "zstd"})),
        ("ZSTD".to_owned(), None)
    );
    assert_eq!(
        parsed(json!({"compression": "NONE"})),
        ("NONE".to_owned(), None)
    );
    assert_eq!(
        parsed(json!({"compression": "GZIP", "compressionLevel": 6})),
        ("GZIP".to_owned(), Some(6))
    );
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
        (
            json!({"compression": "NONE", "compressionLevel": 3}),
            "compressionLevel",
        ),
        // Without compression the level is ZSTD's (1–19).
        (json!({"compressionLevel": 20}), "compressionLevel"),
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

/// A finished execution for the post-processing tests, ended at `ended`.
fn finished_execution(db: &TestDb, id: &str, ended: &str) {
    job::insert(db, "j1", &spec("@daily"), NOW).ok();
    enqueue_backup(db, id, "j1", Trigger::Manual, None, NOW).unwrap();
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
            Trigger::Manual,
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
