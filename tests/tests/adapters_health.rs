//! Health monitoring by the runner (cron every 10 s): a Redis server started here goes
//! ONLINE → DEGRADED → DEGRADED → OFFLINE when stopped and ONLINE again when restarted, as
//! recorded in HealthCheckLog and shown by `GET /api/adapters/{id}/health`; the system-event
//! channel (a webhook to a local receiver) gets "offline" and "back online" exactly once each.

mod adapters_common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use adapters_common::{start_app, Receiver};
use dbackup_tests::{free_port, sqlite_json, Api, Credential, TEST_PASSWORD};
use serde_json::{json, Value};

fn redis(port: u16) -> Child {
    Command::new("redis-server")
        .args([
            "--bind",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server")
}

async fn health(api: &Api, who: &Credential, id: &str) -> Value {
    api.expect(who, "GET", &format!("/api/adapters/{id}/health"), None, 200)
        .await
}

/// Waits (up to `secs`) until the adapter's status is `status`; returns the health answer.
async fn until(api: &Api, who: &Credential, id: &str, status: &str, secs: u64) -> Value {
    let found = dbackup_tests::wait_for(Duration::from_secs(secs), || async {
        let h = health(api, who, id).await;
        (h["status"] == status && !h["entries"].as_array().unwrap().is_empty()).then_some(h)
    })
    .await;
    match found {
        Some(h) => h,
        None => panic!(
            "not {status} within {secs} s: {}",
            health(api, who, id).await
        ),
    }
}

#[tokio::test]
async fn online_degraded_offline_online() {
    let port = free_port();
    let mut server = redis(port);
    let app = start_app(true).await;
    let api = app.api();
    let (_, admin) = api
        .signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await;
    // Check on every runner tick.
    sqlite_json(
        &app.db_path(),
        "INSERT INTO SystemSetting (key, value) VALUES ('healthCheckInterval', '1') \
         ON CONFLICT(key) DO UPDATE SET value = '1'",
    );
    let a = api
        .expect(
            &admin,
            "POST",
            "/api/adapters",
            Some(&json!({"name": "cache", "adapterId": "redis",
            "config": {"host": "127.0.0.1", "port": port}})),
            201,
        )
        .await;
    let id = a["id"].as_str().unwrap().to_owned();
    // System events go to a webhook channel (a local receiver).
    let receiver = Receiver::start().await;
    let channel = api
        .expect(&admin, "POST", "/api/adapters", Some(&json!({"name": "ops hook", "adapterId": "webhook",
            "config": {"url": receiver.url("/events"), "bodyTemplate": "{\"title\": \"{{title}}\", \"status\": \"{{status}}\"}"}})), 201)
        .await;
    sqlite_json(
        &app.db_path(),
        &format!(
            "INSERT INTO SystemSetting (key, value) VALUES ('systemNotificationChannels', '[\"{}\"]')",
            channel["id"].as_str().unwrap()
        ),
    );

    let h = until(&api, &admin, &id, "ONLINE", 40).await;
    assert_eq!(h["consecutiveFailures"], 0);
    assert_eq!(h["entries"][0]["status"], "ONLINE");
    assert!(h["entries"][0]["latencyMs"].is_i64());

    server.kill().unwrap();
    server.wait().unwrap();
    let h = until(&api, &admin, &id, "OFFLINE", 60).await;
    assert_eq!(h["consecutiveFailures"], 3);
    let statuses: Vec<&str> = h["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    let first_failure = statuses.iter().position(|s| *s != "ONLINE").unwrap();
    assert_eq!(
        &statuses[first_failure..first_failure + 3],
        ["DEGRADED", "DEGRADED", "OFFLINE"],
        "{statuses:?}"
    );
    let error = h["entries"][first_failure]["error"].as_str().unwrap();
    assert!(error.contains("Connection refused"), "{error}");

    let events = |r: &Receiver| -> Vec<serde_json::Value> {
        r.take()
            .iter()
            .map(|e| serde_json::from_str(&e.body).unwrap())
            .collect()
    };
    assert_eq!(
        events(&receiver),
        [json!({"title": "cache is offline", "status": "failure"})]
    );

    let mut server = redis(port);
    let h = until(&api, &admin, &id, "ONLINE", 40).await;
    assert_eq!(h["consecutiveFailures"], 0);
    assert!(h["lastHealthCheck"].as_str().unwrap().ends_with('Z'));
    let back = dbackup_tests::wait_for(Duration::from_secs(5), || {
        let got = events(&receiver);
        async move { (!got.is_empty()).then_some(got) }
    })
    .await;
    assert_eq!(
        back,
        Some(vec![
            json!({"title": "cache is back online", "status": "success"})
        ])
    );
    server.kill().unwrap();
    server.wait().unwrap();
    receiver.task.abort();
    app.shutdown().await;
}
