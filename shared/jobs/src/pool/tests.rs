use super::*;
use crate::testutil::{utc, TestDb};
use dbackup_protocol::signature::sign;

fn member(id: &str, labels: &[&str], capacity: i64, running: i64, healthy: bool) -> Member {
    Member {
        id: id.into(),
        name: id.into(),
        url: (id != DEFAULT_WORKER).then(|| format!("http://{id}:3001")),
        labels: labels.iter().map(|l| (*l).to_owned()).collect(),
        capacity,
        running,
        healthy,
        version: None,
        last_seen_at: None,
    }
}

#[test]
fn the_member_with_most_free_slots_that_serves_the_label_is_chosen() {
    let pool = [
        member(DEFAULT_WORKER, &[], 2, 1, true),
        member("a", &[], 3, 0, true),
        member("eu", &["eu"], 4, 0, true),
    ];
    // Unlabelled: any member, most free slots first.
    assert_eq!(choose(&pool, None), Some(2));
    // Labelled: only members carrying the label (case-insensitive).
    assert_eq!(choose(&pool, Some("EU")), Some(2));
    assert_eq!(choose(&pool, Some("us")), None);
    // Full or unhealthy members are skipped; ties prefer the configured worker, then the name.
    let pool = [
        member(DEFAULT_WORKER, &[], 2, 1, true),
        member("b", &[], 2, 1, true),
        member("a", &[], 2, 1, true),
        member("eu", &["eu"], 1, 1, true),
        member("dead", &[], 9, 0, false),
    ];
    assert_eq!(choose(&pool, None), Some(0));
    assert_eq!(choose(&pool[1..], None), Some(1));
    assert_eq!(choose(&pool, Some("eu")), None);
}

fn registration(name: &str, labels: &[&str], capacity: i64) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "name": name, "url": format!("http://{name}.local:3001/"), "labels": labels,
        "capacity": capacity, "version": "0.1.0", "heartbeatSecs": 5
    }))
    .unwrap()
}

const TOKEN: &[u8] = b"0123456789abcdef0123456789abcdef";

fn signed_register(db: &TestDb, body: &[u8], now: DateTime<Utc>) -> Result<String, ApiError> {
    let ts = now.timestamp().to_string();
    let sig = sign(TOKEN, &ts, body);
    register(
        db,
        TOKEN,
        Signed {
            timestamp: Some(&ts),
            signature: Some(&sig),
        },
        body,
        now,
    )
}

#[test]
fn registration_is_signed_bounded_and_a_heartbeat_updates_the_row() {
    let db = TestDb::migrated();
    let t0 = utc(2026, 1, 1, 0, 0, 0);
    let body = registration("w1", &["eu"], 2);
    let id = signed_register(&db, &body, t0).unwrap();
    // Unsigned, signed with another key, or stale: 401.
    let e = register(&db, TOKEN, Signed::default(), &body, t0).unwrap_err();
    assert_eq!(e.status, 401);
    let ts = t0.timestamp().to_string();
    let bad_sig = sign(b"another-token-another-token-xxxxx", &ts, &body);
    let e = register(
        &db,
        TOKEN,
        Signed {
            timestamp: Some(&ts),
            signature: Some(&bad_sig),
        },
        &body,
        t0,
    )
    .unwrap_err();
    assert_eq!(e.status, 401);
    // Bad fields: 400 naming them.
    let bad = serde_json::to_vec(&json!({
        "name": "default", "url": "file:///x", "labels": ["a b"], "capacity": 0,
        "version": "1", "heartbeatSecs": 5
    }))
    .unwrap();
    let e = signed_register(&db, &bad, t0).unwrap_err();
    assert_eq!(e.status, 400, "{e:?}");
    let fields = e.details.unwrap()["fields"].clone();
    for f in ["name", "url", "labels", "capacity"] {
        assert!(fields.get(f).is_some(), "{f} in {fields}");
    }
    // Too large: 413.
    let e = signed_register(&db, &vec![b' '; MAX_BODY_BYTES + 1], t0).unwrap_err();
    assert_eq!(e.status, 413);

    // A heartbeat with new values updates the same row.
    let t1 = t0 + Duration::seconds(5);
    assert_eq!(
        signed_register(&db, &registration("w1", &["eu", "net-a"], 3), t1).unwrap(),
        id
    );
    let members = members(&db, t1).unwrap();
    assert_eq!(members.len(), 2);
    let w1 = &members[1];
    assert_eq!(
        (w1.name.as_str(), w1.url.as_deref(), w1.capacity, w1.healthy),
        ("w1", Some("http://w1.local:3001"), 3, true)
    );
    assert_eq!(w1.labels, ["eu", "net-a"]);
    // Three missed heartbeats (5 s each): unhealthy.
    assert!(!members_at(&db, t1 + Duration::seconds(16))[1].healthy);
    assert!(members_at(&db, t1 + Duration::seconds(14))[1].healthy);
    // A call it did not answer: unhealthy until its next heartbeat.
    mark_unreachable(&db, &id, t1).unwrap();
    assert!(!members_at(&db, t1)[1].healthy);
    signed_register(&db, &registration("w1", &["eu"], 3), t1).unwrap();
    assert!(members_at(&db, t1)[1].healthy);
}

fn members_at(db: &TestDb, now: DateTime<Utc>) -> Vec<Member> {
    members(db, now).unwrap()
}

#[test]
fn the_pool_is_bounded() {
    let db = TestDb::migrated();
    let now = utc(2026, 1, 1, 0, 0, 0);
    for i in 0..MAX_WORKERS {
        db.exec(&format!(
            r#"INSERT INTO "Worker" ("id", "name", "url", "capacity", "lastSeenAt")
               VALUES ('id{i}', 'w{i}', 'http://h{i}', 1, '2026-01-01T00:00:00.000Z')"#
        ));
    }
    let e = signed_register(&db, &registration("one-more", &[], 1), now).unwrap_err();
    assert_eq!(e.status, 409);
    // A known name still refreshes.
    signed_register(&db, &registration("w7", &[], 2), now).unwrap();
}

#[test]
fn running_executions_count_per_member_and_old_rows_are_the_default_worker() {
    let db = TestDb::migrated();
    db.exec(
        r#"INSERT INTO "Worker" ("id", "name", "url", "capacity", "lastSeenAt")
           VALUES ('w1', 'w1', 'http://h1', 2, '2026-01-01T00:00:00.000Z')"#,
    );
    db.exec(
        r#"INSERT INTO "Execution" ("id", "status", "logs", "workerId") VALUES
           ('e1', 'Running', '[]', NULL), ('e2', 'Running', '[]', 'default'),
           ('e3', 'Running', '[]', 'w1'), ('e4', 'Success', '[]', 'w1')"#,
    );
    let counts = running_counts(&db).unwrap();
    assert_eq!(counts.get(DEFAULT_WORKER), Some(&2));
    assert_eq!(counts.get("w1"), Some(&1));
    let now = utc(2026, 1, 1, 0, 0, 1);
    let a = assigned(&db, "e3", now).unwrap();
    assert_eq!(
        (a.name.as_str(), a.target, a.heard_recently),
        ("w1", Target::At("http://h1".into()), true)
    );
    assert_eq!(assigned(&db, "e1", now).unwrap().target, Target::Default);
    let a = assigned(&db, "e3", now + Duration::seconds(60)).unwrap();
    assert!(!a.heard_recently);
}
