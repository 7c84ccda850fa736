//! `/api/jobs`, `/api/executions` and the worker's events endpoint over HTTP against the real
//! app (no worker, no cron): job CRUD and validation, run → a Pending execution, history and
//! cancel, and the HMAC check of `POST /api/internal/executions/{id}/events`.

use std::time::{SystemTime, UNIX_EPOCH};

use dbackup_identity::secretbox::SecretBox;
use dbackup_tests::{sqlite_json, Api, Credential, RealApp, TEST_PASSWORD};
use serde_json::{json, Value};

/// Adapters inserted directly (configs without secret fields need no sealing): a PostgreSQL
/// source, two local destinations, a notification channel.
fn insert_adapters(app: &RealApp) {
    let db = app.db_path();
    sqlite_json(
        &db,
        r#"INSERT INTO "AdapterConfig" ("id", "name", "type", "adapterId", "config") VALUES
           ('src', 'Shop DB', 'database', 'postgres', '{"host":"127.0.0.1","port":5432,"user":"postgres","database":"postgres"}'),
           ('dst1', 'Disk A', 'storage', 'local', '{"path":"/tmp/dbackup-a"}'),
           ('dst2', 'Disk B', 'storage', 'local', '{"path":"/tmp/dbackup-b"}'),
           ('note', 'Hook', 'notification', 'webhook', '{"url":"http://127.0.0.1:9/hook"}')"#,
    );
}

fn job_body(name: &str) -> Value {
    json!({
        "name": name, "schedule": "0 3 * * *", "timezone": "Europe/Berlin", "sourceId": "src",
        "databases": ["shop"],
        "destinations": [
            {"destinationId": "dst1", "retention": {"mode": "SMART", "smart": {"daily": 7, "weekly": 4}}},
            {"destinationId": "dst2", "retention": {"mode": "SIMPLE", "simple": {"keepCount": 3}}}
        ],
        "compression": "ZSTD", "compressionLevel": 5, "notificationIds": ["note"],
        "notificationEvents": "FAILURE_ONLY"
    })
}

async fn admin(api: &Api) -> Credential {
    api.signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await
        .1
}

#[tokio::test]
async fn job_crud_validation_run_and_history() {
    let app = RealApp::start().await;
    let api = app.api();
    let admin = admin(&api).await;
    insert_adapters(&app);

    let created = api
        .expect(&admin, "POST", "/api/jobs", Some(&job_body("nightly")), 201)
        .await;
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(created["timezone"], "Europe/Berlin");
    assert_eq!(created["destinationId"], "dst1");
    assert_eq!(
        created["destinations"][1]["retention"]["simple"]["keepCount"],
        3
    );
    assert_eq!(created["compressionLevel"], 5);
    assert_eq!(created["enabled"], true);
    assert_eq!(created["notificationIds"], json!(["note"]));
    assert!(created["nextRunAt"]
        .as_str()
        .is_some_and(|t| t.ends_with(":00:00.000Z")));

    let list = api.expect(&admin, "GET", "/api/jobs", None, 200).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    let one = api
        .expect(&admin, "GET", &format!("/api/jobs/{id}"), None, 200)
        .await;
    assert_eq!(one["name"], "nightly");

    // next-runs: 03:00 in Berlin is 02:00 UTC in winter, 01:00 in summer.
    let runs = api
        .expect(
            &admin,
            "GET",
            &format!("/api/jobs/{id}/next-runs?count=3"),
            None,
            200,
        )
        .await;
    let runs = runs["runs"].as_array().expect("runs").clone();
    assert_eq!(runs.len(), 3);
    for r in &runs {
        let t = r.as_str().expect("time");
        assert!(
            t.ends_with("T02:00:00.000Z") || t.ends_with("T01:00:00.000Z"),
            "{t}"
        );
    }
    api.expect(
        &admin,
        "GET",
        &format!("/api/jobs/{id}/next-runs?count=0"),
        None,
        400,
    )
    .await;

    // PUT replaces; a disabled job has no next runs.
    let mut body = job_body("nightly-2");
    body["enabled"] = json!(false);
    body["destinations"] = json!([{"destinationId": "dst2"}]);
    let updated = api
        .expect(&admin, "PUT", &format!("/api/jobs/{id}"), Some(&body), 200)
        .await;
    assert_eq!(updated["name"], "nightly-2");
    assert_eq!(updated["destinationId"], "dst2");
    assert_eq!(updated["destinations"].as_array().map(Vec::len), Some(1));
    assert!(updated["nextRunAt"].is_null());

    // Validation: 400 naming the field; the schedule's error is croner's message.
    let cases = [
        (json!({"schedule": "61 * * * *"}), "schedule"),
        (json!({"schedule": "not a cron"}), "schedule"),
        (json!({"timezone": "Mars/Olympus"}), "timezone"),
        (json!({"destinations": []}), "destinations"),
        (json!({"compression": "LZ4"}), "compression"),
        (json!({"compressionLevel": 42}), "compressionLevel"),
        (json!({"sourceId": "dst1"}), "sourceId"),
        (json!({"notificationIds": ["src"]}), "notificationIds"),
        (
            json!({"encryptionProfileId": "missing"}),
            "encryptionProfileId",
        ),
        (
            json!({"destinations": [{"destinationId": "dst1", "retention": {"mode": "SMART", "smart": {}}}]}),
            "destinations[0].retention",
        ),
    ];
    for (patch, field) in cases {
        let mut body = job_body("bad");
        for (k, v) in patch.as_object().expect("object") {
            body[k] = v.clone();
        }
        let err = api
            .expect(&admin, "POST", "/api/jobs", Some(&body), 400)
            .await;
        assert_eq!(err["details"]["field"], field, "{patch}: {err}");
        if field == "schedule" {
            let msg = err["error"].as_str().expect("error");
            assert!(
                msg.starts_with("invalid schedule: ") && msg.len() > 20,
                "{msg}"
            );
        }
    }
    api.expect(
        &admin,
        "POST",
        "/api/jobs",
        Some(&json!({"name": "x"})),
        400,
    )
    .await;
    api.expect(&admin, "POST", "/api/jobs", Some(&json!([1])), 400)
        .await;

    // Run now → 202 {executionId}; the execution is Pending (no runner here) with its log.
    let run = api
        .expect(&admin, "POST", &format!("/api/jobs/{id}/run"), None, 202)
        .await;
    let exec_id = run["executionId"].as_str().expect("executionId").to_owned();
    let exec = api
        .expect(
            &admin,
            "GET",
            &format!("/api/executions/{exec_id}"),
            None,
            200,
        )
        .await;
    assert_eq!(exec["status"], "Pending");
    assert_eq!(exec["type"], "Backup");
    assert_eq!(exec["jobId"], id.as_str());
    assert_eq!(exec["trigger"], "Manual");
    assert_eq!(exec["logs"][0]["message"], "Job queued (Manual)");
    for key in ["startedAt", "endedAt", "size", "path", "progress"] {
        assert!(exec.get(key).is_some(), "{key}");
    }

    let page = api
        .expect(
            &admin,
            "GET",
            &format!("/api/executions?jobId={id}&status=Pending&limit=10"),
            None,
            200,
        )
        .await;
    assert_eq!(page["items"][0]["id"], exec_id.as_str());
    assert!(page["items"][0].get("logs").is_none());
    api.expect(&admin, "GET", "/api/executions?status=Weird", None, 400)
        .await;
    api.expect(&admin, "GET", "/api/executions?limit=0", None, 400)
        .await;

    // Cancel a Pending execution; a second cancel is a 409.
    let cancelled = api
        .expect(
            &admin,
            "POST",
            &format!("/api/executions/{exec_id}/cancel"),
            None,
            200,
        )
        .await;
    assert_eq!(cancelled["status"], "Cancelled");
    assert!(cancelled["endedAt"].as_str().is_some());
    api.expect(
        &admin,
        "POST",
        &format!("/api/executions/{exec_id}/cancel"),
        None,
        409,
    )
    .await;

    // Restores are validated and queued like backups.
    let bad = api
        .expect(
            &admin,
            "POST",
            "/api/restores",
            Some(&json!({"destinationId": "src", "path": "a/b", "targetSourceId": "src"})),
            400,
        )
        .await;
    assert_eq!(bad["details"]["field"], "destinationId");
    let restore = api
        .expect(
            &admin,
            "POST",
            "/api/restores",
            Some(
                &json!({"destinationId": "dst1", "path": "nightly/x.dump", "targetSourceId": "src",
                          "databaseMapping": {"shop": "shop_copy"}}),
            ),
            202,
        )
        .await;
    let rid = restore["executionId"].as_str().expect("executionId");
    let r = api
        .expect(&admin, "GET", &format!("/api/executions/{rid}"), None, 200)
        .await;
    assert_eq!(
        (r["type"].as_str(), r["status"].as_str()),
        (Some("Restore"), Some("Pending"))
    );

    // Delete: the job goes, its history stays.
    api.expect(&admin, "DELETE", &format!("/api/jobs/{id}"), None, 204)
        .await;
    api.expect(&admin, "GET", &format!("/api/jobs/{id}"), None, 404)
        .await;
    let e = api
        .expect(
            &admin,
            "GET",
            &format!("/api/executions/{exec_id}"),
            None,
            200,
        )
        .await;
    assert!(e["jobId"].is_null());

    // Permissions: a key with jobs:read only may list but not create or run.
    let (_, reader) = api.create_api_key(&admin, "reader", &["jobs:read"]).await;
    api.expect(&reader, "GET", "/api/jobs", None, 200).await;
    api.expect(&reader, "POST", "/api/jobs", Some(&job_body("x")), 403)
        .await;
    api.expect(&reader, "GET", "/api/executions", None, 403)
        .await;
    app.shutdown().await;
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn sign(key: &[u8], ts: &str, body: &[u8]) -> String {
    dbackup_jobs_core::signature::sign(key, ts, body)
}

#[tokio::test]
async fn events_endpoint_checks_the_signature_and_is_idempotent() {
    let app = RealApp::start().await;
    let api = app.api();
    let admin = admin(&api).await;
    insert_adapters(&app);
    let job = api
        .expect(&admin, "POST", "/api/jobs", Some(&job_body("events")), 201)
        .await;
    let run = api
        .expect(
            &admin,
            "POST",
            &format!("/api/jobs/{}/run", job["id"].as_str().expect("id")),
            None,
            202,
        )
        .await;
    let exec = run["executionId"].as_str().expect("id").to_owned();
    let target = format!("/api/internal/executions/{exec}/events");
    let event = |seq: u64, message: &str| {
        json!({"taskId": "t1", "executionId": exec, "seq": seq, "type": "log",
               "at": "2026-01-01T00:00:00.000Z", "level": "info", "message": message})
        .to_string()
    };
    let post = |ts: String, sig: String, body: String| {
        let target = target.clone();
        async move {
            api.send(
                "POST",
                &target,
                &[
                    ("x-dbackup-timestamp", ts.as_str()),
                    ("x-dbackup-signature", sig.as_str()),
                ],
                Some(&serde_json::from_str::<Value>(&body).expect("json")),
            )
            .await
        }
    };

    // No key stored yet (never dispatched): nothing can verify → 401.
    let ts = now_secs().to_string();
    let body = event(1, "hello");
    let resp = post(
        ts.clone(),
        sign(&[1u8; 32], &ts, body.as_bytes()),
        body.clone(),
    )
    .await;
    assert_eq!(resp.status, 401, "{}", resp.text());

    // Store a callback key the way the runner does (sealed with the app's encryption key).
    let key = [42u8; 32];
    let sealed = SecretBox::from_hex_key(&app.encryption_key)
        .expect("box")
        .encrypt(hex_of(&key).as_bytes(), "Execution.callbackKey")
        .expect("seal");
    sqlite_json(
        &app.db_path(),
        &format!(
            r#"UPDATE "Execution" SET "status" = 'Running', "callbackKey" = '{sealed}' WHERE "id" = '{exec}'"#
        ),
    );

    // Wrong key, tampered body, stale timestamp, missing headers: 401, nothing stored.
    let good_sig = sign(&key, &ts, body.as_bytes());
    let resp = post(
        ts.clone(),
        sign(&[1u8; 32], &ts, body.as_bytes()),
        body.clone(),
    )
    .await;
    assert_eq!(resp.status, 401);
    let resp = post(ts.clone(), good_sig.clone(), event(1, "tampered")).await;
    assert_eq!(resp.status, 401);
    let old = (now_secs() - 3600).to_string();
    let resp = post(old.clone(), sign(&key, &old, body.as_bytes()), body.clone()).await;
    assert_eq!(resp.status, 401);
    let resp = api
        .send(
            "POST",
            &target,
            &[],
            Some(&serde_json::from_str::<Value>(&body).expect("json")),
        )
        .await;
    assert_eq!(resp.status, 401);
    assert_eq!(resp.json(), json!({"error": "unauthorized"}));

    // The right signature: stored once; a retry (same seq, new timestamp) is acknowledged and
    // ignored.
    let resp = post(ts.clone(), good_sig, body.clone()).await;
    assert_eq!(resp.status, 204, "{}", resp.text());
    let ts2 = (now_secs() + 1).to_string();
    let resp = post(ts2.clone(), sign(&key, &ts2, body.as_bytes()), body.clone()).await;
    assert_eq!(resp.status, 204);
    let result = json!({"taskId": "t1", "executionId": exec, "seq": 2, "type": "result",
                        "at": "2026-01-01T00:00:05.000Z", "status": "failed", "size": null,
                        "error": "pg_dump: connection refused"})
    .to_string();
    let resp = post(ts.clone(), sign(&key, &ts, result.as_bytes()), result).await;
    assert_eq!(resp.status, 204);

    let v = api
        .expect(&admin, "GET", &format!("/api/executions/{exec}"), None, 200)
        .await;
    let hellos = v["logs"]
        .as_array()
        .expect("logs")
        .iter()
        .filter(|l| l["message"] == "hello")
        .count();
    assert_eq!(hellos, 1, "{v}");
    assert_eq!(v["status"], "Failed");
    assert_eq!(v["error"], "pg_dump: connection refused");
    assert_eq!(v["endedAt"], "2026-01-01T00:00:05.000Z");
    let last = v["logs"]
        .as_array()
        .and_then(|l| l.last())
        .cloned()
        .expect("log");
    assert_eq!(last["level"], "error");
    assert_eq!(last["message"], "ERROR: pg_dump: connection refused");
    app.shutdown().await;
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
