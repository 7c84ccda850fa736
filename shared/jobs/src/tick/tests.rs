//! The runner's services (dispatch, reconcile, watchdog, post-processing, event callbacks)
//! against a migrated native database and a scripted worker.

use std::cell::RefCell;

use chrono::{DateTime, Duration, Utc};
use dbackup_adapters_core::notify::{Deliver, OutboundMessage};
use dbackup_adapters_core::registry;
use dbackup_core::sealed;
use dbackup_core::worker::fake::{block_on, FakeWorker};
use dbackup_core::worker::WorkerAnswer;
use dbackup_identity::secretbox::SecretBox;
use dbackup_protocol::events::{Event, EventBody, ResultEvent};
use dbackup_protocol::tasks::{
    BackupResult, DestinationReport, Stage, Status, TaskInfo, TaskKind, TaskResult,
};
use serde_json::{json, Value};

use crate::testutil::{TestDb, NOW};
use crate::{callback, dispatcher, execution, iso, job, post_process, reconcile, signature};

const APP_URL: &str = "http://app.internal:3000";

fn sealer() -> SecretBox {
    SecretBox::from_hex_key(&"11".repeat(32)).unwrap()
}

fn adapter(db: &TestDb, id: &str, type_id: &str, config: Value) {
    let Value::Object(config) = config else {
        panic!("config must be an object")
    };
    let t = registry::find(type_id).unwrap();
    dbackup_adapters_core::store::insert(db, &sealer(), id, id, t, &config).unwrap();
}

/// A database with a PostgreSQL source `src`, a local destination `dst1`, a Discord channel
/// `note` and the job `j1` ("nightly", keep 1 on `dst1`, notifications on every outcome).
fn runner_db() -> TestDb {
    let db = TestDb::migrated();
    adapter(
        &db,
        "src",
        "postgres",
        json!({"host": "db.internal", "port": 5432, "user": "app", "database": "shop"}),
    );
    adapter(&db, "dst1", "local", json!({"path": "/backups/one"}));
    adapter(
        &db,
        "note",
        "discord",
        json!({"webhookUrl": "https://discord.com/api/webhooks/1/tok"}),
    );
    let spec = job::parse_input(
        json!({
            "name": "nightly", "schedule": "0 3 * * *", "sourceId": "src",
            "destinations": [{"destinationId": "dst1",
                              "retention": {"mode": "SIMPLE", "simple": {"keepCount": 1}}}],
            "compression": "GZIP", "notificationIds": ["note"], "databases": ["shop"]
        }),
        "UTC",
    )
    .unwrap();
    job::insert(&db, "j1", &spec, NOW).unwrap();
    db
}

fn view(db: &TestDb, id: &str) -> Value {
    serde_json::to_value(execution::get_view(db, id).unwrap().unwrap()).unwrap()
}

fn messages(v: &Value) -> Vec<String> {
    v["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["message"].as_str().unwrap().to_owned())
        .collect()
}

fn utc(s: &str) -> DateTime<Utc> {
    crate::parse_iso(s).unwrap()
}

/// A Running execution `id` of job `j1` with worker task `task`, last heard of at [`NOW`].
fn running(db: &TestDb, id: &str, task: &str) {
    crate::queue::enqueue_backup(db, id, "j1", execution::Trigger::Manual, None, NOW).unwrap();
    crate::dispatcher::claim_next(db, 5, "sealed", NOW)
        .unwrap()
        .unwrap();
    crate::dispatcher::set_task(db, id, task, NOW).unwrap();
}

/// Queues backups `ids` of job `j1` and runs the dispatcher against a worker that answers
/// `POST /v1/backups` with `status` and `answer`.
fn dispatch(db: &TestDb, ids: &[&str], status: u16, answer: Value) -> FakeWorker {
    for id in ids {
        crate::queue::enqueue_backup(db, id, "j1", execution::Trigger::Manual, None, NOW).unwrap();
    }
    let worker = FakeWorker::new();
    worker.answer("/v1/backups", status, answer);
    block_on(dispatcher::dispatch_queued(db, &worker, &sealer(), APP_URL)).unwrap();
    worker
}

#[test]
fn a_queued_backup_is_posted_to_the_worker_and_its_task_recorded() {
    let db = runner_db();
    let worker = dispatch(&db, &["e1"], 202, json!({"taskId": "t1"}));

    let sent = worker.requests_to("/v1/backups");
    assert_eq!(sent.len(), 1);
    let body = &sent[0].body;
    assert_eq!(body["executionId"], "e1");
    assert_eq!(body["source"]["engine"], "postgresql");
    assert_eq!(body["source"]["host"], "db.internal");
    assert_eq!(
        body["destinations"],
        json!([{"id": "dst1", "storage": {"kind": "local", "path": "/backups/one"}}])
    );
    assert_eq!(body["meta"]["trigger"], "Manual");
    assert_eq!(
        body["callback"]["url"],
        "http://app.internal:3000/api/internal/executions/e1/events"
    );
    // The signing key sent is the one sealed on the row (the events callback opens it).
    let sealed_key = crate::callback::callback_key(&db, "e1")
        .unwrap()
        .flatten()
        .unwrap();
    let opened = sealer()
        .decrypt(&sealed_key, &sealed::execution_callback_key())
        .unwrap();
    assert_eq!(
        body["callback"]["signingKeyHex"],
        json!(String::from_utf8(opened).unwrap())
    );
    let v = view(&db, "e1");
    assert_eq!(v["status"], "Running");
    assert!(messages(&v).contains(&"Started on the worker (task t1)".to_owned()));
    assert_eq!(
        db.text(r#"SELECT "taskId" FROM "Execution" WHERE "id" = 'e1'"#)
            .as_deref(),
        Some("t1")
    );
}

#[test]
fn a_backup_the_worker_refuses_or_cannot_take_fails_with_the_reason() {
    let db = runner_db();
    dispatch(
        &db,
        &["e1"],
        400,
        json!({"error": "invalid request", "details": "source.host: required"}),
    );
    let v = view(&db, "e1");
    assert_eq!(v["status"], "Failed");
    assert_eq!(
        v["error"],
        r#"the worker refused the backup (400 invalid request): "source.host: required""#
    );

    // No worker at all: the execution fails rather than waiting for the watchdog.
    crate::queue::enqueue_backup(&db, "e2", "j1", execution::Trigger::Manual, None, NOW).unwrap();
    block_on(dispatcher::dispatch_queued(
        &db,
        &FakeWorker::new(),
        &sealer(),
        APP_URL,
    ))
    .unwrap();
    assert_eq!(view(&db, "e2")["error"], "worker unreachable");
}

#[test]
fn dispatch_respects_the_concurrency_cap() {
    let db = runner_db();
    db.exec(
        r#"INSERT INTO "SystemSetting" ("key", "value") VALUES ('maxConcurrentJobs', '1')
           ON CONFLICT("key") DO UPDATE SET "value" = excluded."value""#,
    );
    let worker = dispatch(&db, &["e1", "e2"], 202, json!({"taskId": "t1"}));
    assert_eq!(worker.requests_to("/v1/backups").len(), 1);
    assert_eq!(view(&db, "e2")["status"], "Pending");
}

fn finished_task(id: &str, execution_id: &str) -> TaskInfo {
    TaskInfo {
        id: id.into(),
        kind: TaskKind::Backup,
        execution_id: Some(execution_id.into()),
        status: Status::Succeeded,
        stage: Stage::Done,
        bytes_in: 100,
        bytes_out: 40,
        error: None,
        result: Some(TaskResult::Backup(BackupResult {
            object_name: "nightly/x.dump.gz".into(),
            meta_name: "nightly/x.dump.gz.meta.json".into(),
            path: Some("/backups/one/nightly/x.dump.gz".into()),
            size: 40,
            dump_size: 100,
            sha256: "ab".repeat(32),
            engine_tool_version: Some("pg_dump (PostgreSQL) 16.4".into()),
            server_version: Some("16.4".into()),
            destinations: vec![DestinationReport::stored(
                "dst1",
                Some("/backups/one/nightly/x.dump.gz".into()),
            )],
            warning: None,
            verification: Vec::new(),
        })),
    }
}

/// A lost result event: the reconcile path applies the task the worker reports, and records
/// what the event path records — `path` and `engineVersion` included.
#[test]
fn reconcile_applies_a_lost_result_as_the_event_would() {
    let db = runner_db();
    running(&db, "e1", "t1");
    running(&db, "e2", "t2");
    let worker = FakeWorker::new();
    worker.answer(
        "/v1/tasks/t1",
        200,
        serde_json::to_value(finished_task("t1", "e1")).unwrap(),
    );
    block_on(reconcile::reconcile(
        &db,
        &worker,
        utc("2026-01-01T00:10:00.000Z"),
    ))
    .unwrap();
    // e2's task is not scripted: the worker is unreachable for it, nothing changes.
    assert_eq!(view(&db, "e2")["status"], "Running");

    // The event path: the result event the worker sends for the same task.
    let event = Event {
        task_id: "t2".into(),
        execution_id: Some("e2".into()),
        seq: 1,
        at: "2026-01-01T00:10:00.000Z".into(),
        body: EventBody::Result(Box::new(ResultEvent::from_task(&finished_task("t2", "e2")))),
    };
    crate::events::apply_event(
        &db,
        "e2",
        &serde_json::to_value(&event).unwrap(),
        "2026-01-01T00:10:00.000Z",
    )
    .unwrap();

    let (reconciled, delivered) = (view(&db, "e1"), view(&db, "e2"));
    assert_eq!(reconciled["status"], "Success");
    assert_eq!(reconciled["path"], "nightly/x.dump.gz");
    assert_eq!(reconciled["result"]["engineVersion"], "16.4");
    assert_eq!(
        reconciled["result"]["path"],
        "/backups/one/nightly/x.dump.gz"
    );
    for key in ["status", "size", "path", "result", "progress", "endedAt"] {
        assert_eq!(reconciled[key], delivered[key], "{key}");
    }
}

#[test]
fn reconcile_fails_a_task_the_worker_forgot_and_keeps_a_running_one_alive() {
    let db = runner_db();
    running(&db, "e1", "t1");
    running(&db, "e2", "t2");
    let worker = FakeWorker::new();
    worker.answer("/v1/tasks/t1", 404, json!({"error": "not found"}));
    let mut task = finished_task("t2", "e2");
    task.status = Status::Running;
    task.result = None;
    worker.answer("/v1/tasks/t2", 200, serde_json::to_value(task).unwrap());
    let now = utc("2026-01-01T00:10:00.000Z");
    block_on(reconcile::reconcile(&db, &worker, now)).unwrap();
    let v = view(&db, "e1");
    assert_eq!(v["status"], "Failed");
    assert_eq!(
        v["error"],
        "the worker no longer knows this task (it was restarted or crashed)"
    );
    assert_eq!(view(&db, "e2")["status"], "Running");
    assert_eq!(
        db.text(r#"SELECT "heartbeatAt" FROM "Execution" WHERE "id" = 'e2'"#),
        Some(iso(now))
    );
}

#[test]
fn the_watchdog_fails_a_silent_execution_and_cancels_its_task() {
    let db = runner_db();
    running(&db, "e1", "t1");
    let worker = FakeWorker::new();
    worker.answer("/v1/tasks/t1/cancel", 202, json!({}));
    // Quiet for 5 minutes: not yet (the default stall timeout is 10).
    block_on(reconcile::watchdog(
        &db,
        &worker,
        utc("2026-01-01T00:05:00.000Z"),
    ))
    .unwrap();
    assert_eq!(view(&db, "e1")["status"], "Running");
    block_on(reconcile::watchdog(
        &db,
        &worker,
        utc("2026-01-01T00:11:00.000Z"),
    ))
    .unwrap();
    assert_eq!(view(&db, "e1")["status"], "Failed");
    assert_eq!(worker.requests_to("/v1/tasks/t1/cancel").len(), 1);
}

/// Records the notifications it is asked to deliver.
#[derive(Default)]
struct Outbox(RefCell<Vec<OutboundMessage>>);

impl Deliver for Outbox {
    async fn deliver(&self, out: OutboundMessage) -> Result<(), String> {
        self.0.borrow_mut().push(out);
        Ok(())
    }
}

/// A storage with three backups of `nightly` (and their sidecars) of three days.
fn storage_with_three_backups(worker: &FakeWorker) {
    let names = [
        "nightly/a.dump.gz",
        "nightly/b.dump.gz",
        "nightly/c.dump.gz",
    ];
    let objects: Vec<Value> = names
        .iter()
        .flat_map(|n| {
            [
                json!({"name": n}),
                json!({"name": format!("{n}.meta.json")}),
            ]
        })
        .collect();
    worker.answer("/v1/storage/list", 200, json!({"objects": objects}));
    worker.respond("/v1/storage/get", |body| {
        let day = match body["name"].as_str().unwrap_or_default() {
            "nightly/a.dump.gz.meta.json" => "01",
            "nightly/b.dump.gz.meta.json" => "02",
            "nightly/c.dump.gz.meta.json" => "03",
            _ => {
                return WorkerAnswer {
                    status: 404,
                    body: br#"{"error":"not found"}"#.to_vec(),
                }
            }
        };
        WorkerAnswer {
            status: 200,
            body: json!({"createdAt": format!("2026-01-{day}T03:00:00.000Z")})
                .to_string()
                .into_bytes(),
        }
    });
    worker.answer("/v1/storage/delete", 204, Value::Null);
}

#[test]
fn post_processing_applies_retention_and_notifies_once() {
    let db = runner_db();
    running(&db, "e1", "t1");
    let ended = iso(Utc::now() - Duration::minutes(1));
    let result = json!({"seq": 1, "taskId": "t1", "type": "result", "at": ended,
        "status": "succeeded", "size": 40, "objectName": "nightly/c.dump.gz",
        "destinations": [{"id": "dst1", "ok": true}]});
    crate::events::apply_event(&db, "e1", &result, &ended).unwrap();
    let worker = FakeWorker::new();
    storage_with_three_backups(&worker);
    let outbox = Outbox::default();

    block_on(post_process::run(&db, &worker, &outbox, &sealer())).unwrap();

    let deleted: Vec<Value> = worker
        .requests_to("/v1/storage/delete")
        .into_iter()
        .map(|r| r.body["name"].clone())
        .collect();
    assert_eq!(
        deleted,
        [
            "nightly/b.dump.gz",
            "nightly/b.dump.gz.meta.json",
            "nightly/a.dump.gz",
            "nightly/a.dump.gz.meta.json"
        ]
    );
    assert_eq!(
        worker.requests_to("/v1/storage/list")[0].body["prefix"],
        "nightly/"
    );
    let logs = messages(&view(&db, "e1"));
    assert!(
        logs.iter()
            .any(|m| m.starts_with("dst1: 3 backups, 1 kept, 2 deleted")),
        "{logs:?}"
    );
    assert!(
        logs.contains(&"notification sent to note".to_owned()),
        "{logs:?}"
    );
    let sent = outbox.0.borrow();
    assert_eq!(sent.len(), 1);
    let OutboundMessage::Http { url, body, .. } = &sent[0] else {
        panic!("discord is an HTTP channel")
    };
    assert_eq!(url, "https://discord.com/api/webhooks/1/tok");
    assert!(
        body.contains("Backup of job 'nightly' finished: Success"),
        "{body}"
    );
    drop(sent);

    // Done once: a second run finds nothing to post-process.
    block_on(post_process::run(&db, &worker, &outbox, &sealer())).unwrap();
    assert_eq!(outbox.0.borrow().len(), 1);
    assert_eq!(worker.requests_to("/v1/storage/list").len(), 1);
    assert!(db
        .text(r#"SELECT "postProcessedAt" FROM "Execution" WHERE "id" = 'e1'"#)
        .is_some());
}

#[test]
fn a_failed_backup_is_notified_without_retention() {
    let db = runner_db();
    running(&db, "e1", "t1");
    let ended = iso(Utc::now());
    execution::finish(
        &db,
        "e1",
        execution::ExecutionStatus::Failed,
        "pg_dump: connection refused",
        &ended,
    )
    .unwrap();
    let worker = FakeWorker::new();
    let outbox = Outbox::default();
    block_on(post_process::run(&db, &worker, &outbox, &sealer())).unwrap();
    assert!(worker.requests().is_empty());
    let sent = outbox.0.borrow();
    let OutboundMessage::Http { body, .. } = &sent[0] else {
        panic!("discord is an HTTP channel")
    };
    assert!(body.contains("pg_dump: connection refused"), "{body}");
}

#[test]
fn a_backup_that_reads_back_wrong_is_notified_naming_the_check() {
    let db = runner_db();
    running(&db, "e1", "t1");
    let ended = iso(Utc::now());
    let detail = "read back: chunk 3 failed authentication (corrupted, reordered or tampered)";
    let result = json!({"seq": 1, "taskId": "t1", "type": "result", "at": ended,
        "status": "failed", "error": "storage: every destination failed (dst1: verification after upload failed)",
        "size": 40, "objectName": "nightly/c.dump.gz",
        "destinations": [{"id": "dst1", "ok": false, "error": "verification after upload failed"}],
        "result": {"objectName": "nightly/c.dump.gz", "verification": [{"destinationId": "dst1",
            "status": "Failed", "checkedAt": ended, "detail": detail}]}});
    crate::events::apply_event(&db, "e1", &result, &ended).unwrap();
    assert_eq!(view(&db, "e1")["status"], "Failed");
    let worker = FakeWorker::new();
    let outbox = Outbox::default();
    block_on(post_process::run(&db, &worker, &outbox, &sealer())).unwrap();
    let sent = outbox.0.borrow();
    let OutboundMessage::Http { body, .. } = &sent[0] else {
        panic!("discord is an HTTP channel")
    };
    assert!(body.contains("Verification failed at "), "{body}");
    assert!(body.contains("chunk 3 failed authentication"), "{body}");
}

#[test]
fn a_signed_event_is_applied_and_a_forged_one_refused() {
    let db = runner_db();
    let worker = dispatch(&db, &["e1"], 202, json!({"taskId": "t1"}));
    let key_hex = worker.requests_to("/v1/backups")[0].body["callback"]["signingKeyHex"]
        .as_str()
        .unwrap()
        .to_owned();
    let key = hex::decode(key_hex).unwrap();
    let now = Utc::now();
    let timestamp = now.timestamp().to_string();
    let body = json!({"seq": 1, "taskId": "t1", "type": "stage", "stage": "dumping",
                      "at": iso(now)})
    .to_string();
    let good = signature::sign(&key, &timestamp, body.as_bytes());
    let forged = signature::sign(b"another key", &timestamp, body.as_bytes());
    let receive = |sig: &str| {
        let signed = callback::Signed {
            timestamp: Some(timestamp.as_str()),
            signature: Some(sig),
        };
        callback::receive(&db, &sealer(), "e1", signed, body.as_bytes(), now)
    };
    assert_eq!(receive(&forged).unwrap_err().status, 401);
    receive(&good).unwrap();
    assert_eq!(view(&db, "e1")["progress"]["stage"], "Dumping");
    let missing = callback::receive(
        &db,
        &sealer(),
        "nope",
        callback::Signed::default(),
        b"{}",
        now,
    )
    .unwrap_err();
    assert_eq!(missing.status, 401);
}

#[test]
fn the_heartbeat_is_one_row() {
    let db = TestDb::migrated();
    super::record_heartbeat(&db, NOW).unwrap();
    super::record_heartbeat(&db, "2026-01-01T00:00:10.000Z").unwrap();
    assert_eq!(
        db.text(r#"SELECT "value" FROM "SystemSetting" WHERE "key" = 'runner.lastTickAt'"#)
            .as_deref(),
        Some("2026-01-01T00:00:10.000Z")
    );
}

// --- the pool of workers -------------------------------------------------------------------

/// A registered worker `name` at `http://{name}:3001`, heard from just now.
fn pool_member(db: &TestDb, name: &str, labels: &[&str], capacity: i64) {
    db.exec(&format!(
        r#"INSERT INTO "Worker" ("id", "name", "url", "labels", "capacity", "heartbeatSecs", "lastSeenAt")
           VALUES ('{name}', '{name}', 'http://{name}:3001', '{}', {capacity}, 5, '{}')"#,
        serde_json::to_string(labels).unwrap(),
        iso(Utc::now())
    ));
}

fn worker_of(db: &TestDb, id: &str) -> Option<String> {
    db.text(&format!(
        r#"SELECT "workerId" FROM "Execution" WHERE "id" = '{id}'"#
    ))
}

/// The configured worker (1 slot), `wa` (2 slots) and `weu` (1 slot, label `eu`); `src-eu`
/// pins `eu` (job `j-eu`).
fn pool_db() -> TestDb {
    let db = runner_db();
    db.exec(
        r#"INSERT INTO "SystemSetting" ("key", "value") VALUES ('maxConcurrentJobs', '1')
           ON CONFLICT("key") DO UPDATE SET "value" = excluded."value""#,
    );
    pool_member(&db, "wa", &[], 2);
    pool_member(&db, "weu", &["eu"], 1);
    adapter(
        &db,
        "src-eu",
        "postgres",
        json!({"host": "db.eu", "port": 5432, "user": "app", "workerLabel": "eu"}),
    );
    let spec = job::parse_input(
        json!({"name": "eu", "schedule": "0 3 * * *", "sourceId": "src-eu",
               "destinations": [{"destinationId": "dst1"}]}),
        "UTC",
    )
    .unwrap();
    job::insert(&db, "j-eu", &spec, NOW).unwrap();
    db
}

fn accept_everywhere(worker: &FakeWorker) {
    let n = std::rc::Rc::new(std::cell::Cell::new(0));
    worker.respond("/v1/backups", move |_| {
        n.set(n.get() + 1);
        WorkerAnswer {
            status: 202,
            body: json!({"taskId": format!("t{}", n.get())})
                .to_string()
                .into_bytes(),
        }
    });
}

#[test]
fn the_pool_spreads_the_queue_by_capacity_and_pins_labelled_sources() {
    let db = pool_db();
    // The pinned backup first: it must wait for weu even while others have free slots.
    crate::queue::enqueue_backup(&db, "eu1", "j-eu", execution::Trigger::Manual, None, NOW)
        .unwrap();
    crate::queue::enqueue_backup(&db, "eu2", "j-eu", execution::Trigger::Manual, None, NOW)
        .unwrap();
    for id in ["e1", "e2", "e3", "e4", "e5"] {
        crate::queue::enqueue_backup(&db, id, "j1", execution::Trigger::Manual, None, NOW).unwrap();
    }
    let worker = FakeWorker::new();
    accept_everywhere(&worker);
    block_on(dispatcher::dispatch_queued(
        &db,
        &worker,
        &sealer(),
        APP_URL,
    ))
    .unwrap();

    assert_eq!(worker_of(&db, "eu1").as_deref(), Some("weu"));
    assert_eq!(view(&db, "eu2")["status"], "Pending");
    // Unpinned: most free slots first — wa (2), then the configured worker (1).
    let placed: Vec<_> = ["e1", "e2", "e3", "e4", "e5"]
        .iter()
        .map(|id| worker_of(&db, id))
        .collect();
    assert_eq!(
        placed,
        [
            Some("wa".into()),
            Some("default".into()),
            Some("wa".into()),
            None,
            None
        ]
    );
    // Each went to its member's URL; the execution shows the member.
    let targets: Vec<_> = worker
        .requests_to("/v1/backups")
        .iter()
        .map(|r| r.target.clone())
        .collect();
    use dbackup_core::worker::Target;
    assert_eq!(
        targets,
        [
            Target::At("http://weu:3001".into()),
            Target::At("http://wa:3001".into()),
            Target::Default,
            Target::At("http://wa:3001".into()),
        ]
    );
    let v = view(&db, "eu1");
    assert_eq!(
        (v["workerId"].as_str(), v["workerName"].as_str()),
        (Some("weu"), Some("weu"))
    );
    // The waiting pinned backup says why, once.
    block_on(dispatcher::dispatch_queued(
        &db,
        &worker,
        &sealer(),
        APP_URL,
    ))
    .unwrap();
    let why: Vec<_> = messages(&view(&db, "eu2"))
        .into_iter()
        .filter(|m| m.contains("labelled eu"))
        .collect();
    assert_eq!(
        why,
        ["Every worker labelled eu is busy: waiting for a free slot"]
    );
    assert_eq!(
        worker.requests_to("/v1/backups").len(),
        4,
        "no member over capacity"
    );
}

#[test]
fn a_member_that_does_not_answer_gets_no_work_and_its_dead_tasks_fail() {
    let db = pool_db();
    for id in ["e1", "e2"] {
        crate::queue::enqueue_backup(&db, id, "j1", execution::Trigger::Manual, None, NOW).unwrap();
    }
    let worker = FakeWorker::new();
    accept_everywhere(&worker);
    worker.down("http://wa:3001");
    block_on(dispatcher::dispatch_queued(
        &db,
        &worker,
        &sealer(),
        APP_URL,
    ))
    .unwrap();
    // e1 tried wa (no answer: queued again, wa out), then both ran where there was room.
    let wa = &crate::pool::members(&db, Utc::now()).unwrap()[1];
    assert_eq!((wa.name.as_str(), wa.healthy), ("wa", false));
    assert_eq!(worker_of(&db, "e2").as_deref(), Some("default"));
    assert_eq!(view(&db, "e1")["status"], "Pending");
    assert!(
        messages(&view(&db, "e1")).contains(&"Worker wa did not answer: queued again".to_owned())
    );

    // A task on a member that stopped answering and registering fails; the cancel goes there.
    db.exec(
        r#"UPDATE "Execution" SET "status" = 'Running', "workerId" = 'weu', "taskId" = 'tx',
                  "heartbeatAt" = '2026-01-01T00:00:00.000Z' WHERE "id" = 'e1'"#,
    );
    worker.down("http://weu:3001");
    let later = Utc::now() + Duration::seconds(60);
    block_on(reconcile::reconcile(&db, &worker, later)).unwrap();
    let v = view(&db, "e1");
    assert_eq!(v["status"], "Failed");
    assert!(
        messages(&v)
            .iter()
            .any(|m| m.contains("worker weu stopped answering")),
        "{v}"
    );
    let polled = worker.requests_to("/v1/tasks/tx");
    assert_eq!(
        polled[0].target,
        dbackup_core::worker::Target::At("http://weu:3001".into())
    );
}

#[test]
fn a_restore_follows_its_target_source_label_and_a_cancel_goes_to_the_member() {
    let db = pool_db();
    crate::queue::enqueue_restore(
        &db,
        "r1",
        None,
        &json!({"destinationId": "dst1", "path": "nightly/x.dump", "targetSourceId": "src-eu"}),
        NOW,
    )
    .unwrap();
    crate::queue::enqueue_backup(&db, "e1", "j1", execution::Trigger::Manual, None, NOW).unwrap();
    let queued = crate::pool::queued(&db).unwrap();
    let labels: Vec<_> = queued
        .iter()
        .map(|q| (q.id.as_str(), q.label.as_deref()))
        .collect();
    assert_eq!(labels, [("r1", Some("eu")), ("e1", None)]);

    // A Running execution on weu: the user's cancel stops the task there.
    db.exec(
        r#"UPDATE "Execution" SET "status" = 'Running', "workerId" = 'weu', "taskId" = 't9'
            WHERE "id" = 'e1'"#,
    );
    let worker = FakeWorker::new();
    worker.answer("http://weu:3001/v1/tasks/t9/cancel", 200, json!({}));
    block_on(crate::cancel::cancel(&db, &worker, "e1", Some("u1"), NOW)).unwrap();
    let sent = worker.requests_to("/v1/tasks/t9/cancel");
    assert_eq!(
        sent[0].target,
        dbackup_core::worker::Target::At("http://weu:3001".into())
    );
    assert_eq!(view(&db, "e1")["status"], "Cancelled");
}
