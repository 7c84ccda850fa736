//! User-typed targets the worker connects to (S3 endpoints, SFTP servers, SMTP relays) never
//! reach link-local or cloud-metadata addresses: literals and the known metadata names are
//! refused with 400 when the request arrives, before any connection (`dbackup_core::net`);
//! names are checked again on every address they resolve to (unit tests of
//! `dbackup_worker::outbound`, including the S3 client's resolver hook).

mod common;

use common::{Worker, TOKEN};
use http::StatusCode;
use serde_json::{json, Value};

async fn post(w: &Worker, path: &str, body: Value) -> common::Reply {
    w.post(path, Some(TOKEN), &body.to_string()).await
}

fn s3(endpoint: &str) -> Value {
    json!({"kind": "s3", "endpoint": endpoint, "region": "us-east-1", "bucket": "b",
           "pathStyle": true, "accessKeyId": "AK", "secretAccessKey": "SK"})
}

fn sftp(host: &str) -> Value {
    json!({"kind": "sftp", "host": host, "username": "u", "password": "p",
           "hostKey": "SHA256:x", "path": "/b"})
}

#[tokio::test]
async fn metadata_targets_are_refused_before_connecting() {
    let w = Worker::start().await;
    let started = std::time::Instant::now();
    for (storage, field) in [
        (s3("http://169.254.169.254/"), "storage.endpoint"),
        (s3("http://169.254.169.254:9000"), "storage.endpoint"),
        (s3("http://0xa9fea9fe/"), "storage.endpoint"),
        (s3("http://[fe80::1]:9000/"), "storage.endpoint"),
        (s3("http://[fd00:ec2::254]/"), "storage.endpoint"),
        (s3("http://100.100.100.200/"), "storage.endpoint"),
        (s3("http://metadata.google.internal/"), "storage.endpoint"),
        (sftp("169.254.169.254"), "storage.host"),
        (sftp("fe80::1"), "storage.host"),
    ] {
        for op in ["list", "probe", "check"] {
            let r = post(
                &w,
                &format!("/v1/storage/{op}"),
                json!({"storage": storage}),
            )
            .await;
            assert_eq!(
                r.status,
                StatusCode::BAD_REQUEST,
                "{op} {storage}: {}",
                r.text
            );
            let details = r.json["details"].as_str().unwrap_or_default();
            assert!(
                details.starts_with(field) && details.contains("link-local"),
                "{op} {storage}: {details}"
            );
        }
        let r = post(
            &w,
            "/v1/backups",
            json!({"source": {"engine": "sqlite", "path": "/nonexistent.db"}, "compression": "NONE",
                   "destinations": [{"id": "d", "storage": storage}], "jobName": "j"}),
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "backup to {storage}: {}",
            r.text
        );
    }
    let r = post(
        &w,
        "/v1/notify/email",
        json!({"smtp": {"host": "169.254.169.254", "port": 25, "tls": "none"},
               "from": "a@example.com", "to": ["b@example.com"], "subject": "s", "text": "t"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    // Refused up front: no connection attempt (and no connect timeout) happened.
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // Loopback and private addresses stay allowed (self-hosted storage lives there).
    let r = post(
        &w,
        "/v1/storage/check",
        json!({"storage": s3("http://127.0.0.1:9000")}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = post(
        &w,
        "/v1/storage/check",
        json!({"storage": sftp("10.0.0.7")}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}
