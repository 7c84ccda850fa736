//! `POST /v1/storage/{probe,list,stat,delete,get,put}` over HTTP, against local storage, the
//! in-process S3 server and (probe) a private sshd.

mod common;

use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use common::s3::S3Server;
use common::sshd::Sshd;
use common::{Worker, TOKEN};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const KEY_HEX: &str = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";

/// One POST; returns status, headers and the raw body (not necessarily JSON).
async fn raw(
    w: &Worker,
    path: &str,
    token: Option<&str>,
    body: &Value,
) -> (StatusCode, HeaderMap, Bytes) {
    raw_method(w, Method::POST, path, token, body).await
}

async fn raw_method(
    w: &Worker,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: &Value,
) -> (StatusCode, HeaderMap, Bytes) {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::HOST, w.addr.to_string())
        .header(http::header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        builder = builder.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let req = builder
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let stream = tokio::net::TcpStream::connect(w.addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let response = tokio::time::timeout(Duration::from_secs(120), sender.send_request(req))
        .await
        .unwrap()
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, bytes)
}

async fn post(w: &Worker, op: &str, body: Value) -> (StatusCode, Value) {
    let (status, _, bytes) = raw(w, &format!("/v1/storage/{op}"), Some(TOKEN), &body).await;
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{e}: {bytes:?}"))
    };
    (status, json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_object_routes() {
    let w = Worker::start().await;
    let dir = tempfile::tempdir().unwrap();
    let storage = json!({"kind": "local", "path": dir.path()});
    let name = "acme/nightly/x.sql.gz.meta.json";

    let (s, _) = post(
        &w,
        "put",
        json!({"storage": storage, "name": name, "content": "{\"locked\":false}"}),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        std::fs::read_to_string(dir.path().join(name)).unwrap(),
        "{\"locked\":false}"
    );
    let (s, body) = post(
        &w,
        "put",
        json!({"storage": storage, "name": name, "content": "x"}),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    let (s, _) = post(&w, "put", json!({"storage": storage, "name": name, "content": "{\"locked\":true}", "overwrite": true})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        std::fs::read_to_string(dir.path().join(name)).unwrap(),
        "{\"locked\":true}"
    );

    let (s, info) = post(&w, "stat", json!({"storage": storage, "name": name})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(info["name"], name);
    assert_eq!(info["size"], 15);
    assert!(info["modifiedUnix"].as_u64().unwrap() > 1_700_000_000);

    std::fs::write(dir.path().join("acme/other.bin"), vec![7u8; 1000]).unwrap();
    let (s, listed) = post(
        &w,
        "list",
        json!({"storage": storage, "prefix": "acme/nightly/"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(listed["objects"].as_array().unwrap().len(), 1);
    let (_, listed) = post(&w, "list", json!({"storage": storage})).await;
    let names: Vec<&str> = listed["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["acme/nightly/x.sql.gz.meta.json", "acme/other.bin"]);

    let (s, headers, bytes) = raw(
        &w,
        "/v1/storage/get",
        Some(TOKEN),
        &json!({"storage": storage, "name": "acme/other.bin"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        headers[http::header::CONTENT_TYPE],
        "application/octet-stream"
    );
    assert_eq!(headers[http::header::CONTENT_LENGTH], "1000");
    assert_eq!(bytes.as_ref(), &[7u8; 1000][..]);

    let (s, _) = post(&w, "delete", json!({"storage": storage, "name": name})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, body) = post(&w, "stat", json!({"storage": storage, "name": name})).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    let (s, _) = post(&w, "get", json!({"storage": storage, "name": name})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = post(&w, "delete", json!({"storage": storage, "name": name})).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "absent is not an error");

    // Bad input.
    for (op, body) in [
        ("stat", json!({"storage": storage, "name": "../etc/passwd"})),
        ("get", json!({"storage": storage, "name": "/etc/passwd"})),
        (
            "put",
            json!({"storage": storage, "name": "a/../../b", "content": "x"}),
        ),
        (
            "list",
            json!({"storage": {"kind": "local", "path": "relative"}}),
        ),
        (
            "stat",
            json!({"storage": {"kind": "ftp", "path": "/x"}, "name": "a"}),
        ),
        ("stat", json!({"storage": storage, "name": "a", "extra": 1})),
        (
            "get",
            json!({"storage": storage, "name": "a", "decrypt": {"keyHex": "abc"}}),
        ),
    ] {
        let (s, body) = post(&w, op, body.clone()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{op} {body}");
        assert!(body["error"].is_string());
    }
    let (s, _, _) = raw(&w, "/v1/storage/list", None, &json!({"storage": storage})).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, _) = raw_method(&w, Method::GET, "/v1/storage/list", Some(TOKEN), &json!({})).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    let (s, _, _) = raw(&w, "/v1/storage/nope", Some(TOKEN), &json!({})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    w.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_local_s3_and_sftp() {
    let w = Worker::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (s, r) = post(
        &w,
        "probe",
        json!({"storage": {"kind": "local", "path": dir.path()}}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(r["ok"], true, "{r}");
    assert!(r["latencyMs"].is_u64());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "probe object removed"
    );

    let server = S3Server::start();
    let (_, r) = post(&w, "probe", json!({"storage": server.spec("p")})).await;
    assert_eq!(r["ok"], true, "{r}");
    let mut bad = server.spec("p");
    bad["secretAccessKey"] = json!("WRONG");
    let (s, r) = post(&w, "probe", json!({"storage": bad})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(r["ok"], false);
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .contains("secret access key is wrong"),
        "{r}"
    );
    assert!(!r.to_string().contains("WRONG\""), "{r}");

    let sshd = Sshd::start();
    let (_, r) = post(&w, "probe", json!({"storage": sshd.password_spec()})).await;
    assert_eq!(r["ok"], true, "{r}");
    let mut pinned = sshd.password_spec();
    pinned["hostKey"] = json!(sshd.other_key());
    let (_, r) = post(&w, "probe", json!({"storage": pinned})).await;
    assert_eq!(r["ok"], false);
    assert!(
        r["message"].as_str().unwrap().contains("host key mismatch"),
        "{r}"
    );
    w.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_streams_from_s3_and_decrypts() {
    let w = Worker::start().await;
    let server = S3Server::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let out = Command::new("sqlite3")
        .arg(&db)
        .arg(
            "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB);
         WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 12)
         INSERT INTO t SELECT i, randomblob(1048576) FROM c;",
        )
        .output()
        .unwrap();
    assert!(out.status.success());
    let body = json!({
        "source": {"engine": "sqlite", "path": db},
        "compression": "NONE",
        "encryption": {"keyHex": KEY_HEX},
        "destinations": [{"id": "s3", "storage": server.spec("x")}],
        "jobName": "j",
    });
    let r = w.post("/v1/backups", Some(TOKEN), &body.to_string()).await;
    let task = w.wait_task(r.json["taskId"].as_str().unwrap()).await;
    assert_eq!(task["status"], "succeeded", "{task}");
    let object = task["result"]["objectName"].as_str().unwrap();

    // As stored: the SHA-256 of the streamed bytes is the backup's.
    let (s, headers, bytes) = raw(
        &w,
        "/v1/storage/get",
        Some(TOKEN),
        &json!({"storage": server.spec("x"), "name": object}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        headers[http::header::CONTENT_LENGTH].to_str().unwrap(),
        bytes.len().to_string()
    );
    assert!(bytes.len() > 12 * 1024 * 1024);
    assert_eq!(
        hex::encode(Sha256::digest(&bytes)),
        task["result"]["sha256"]
    );

    // Decrypted on the fly: a readable SQLite database.
    let (s, headers, bytes) = raw(
        &w,
        "/v1/storage/get",
        Some(TOKEN),
        &json!({"storage": server.spec("x"), "name": object, "decrypt": {"keyHex": KEY_HEX}}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(headers.get(http::header::CONTENT_LENGTH).is_none());
    assert!(headers[http::header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .ends_with(".db\""));
    assert!(bytes.starts_with(b"SQLite format 3\0"));
    let copy = dir.path().join("copy.db");
    std::fs::write(&copy, &bytes).unwrap();
    let out = Command::new("sqlite3")
        .arg(&copy)
        .arg("SELECT count(*), sum(length(b)) FROM t")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "12|12582912");

    // Wrong key: refused before any byte is sent.
    let (s, _, bytes) = raw(&w, "/v1/storage/get", Some(TOKEN),
        &json!({"storage": server.spec("x"), "name": object, "decrypt": {"keyHex": "00".repeat(32)}})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["error"], "cannot decrypt");
    assert!(!body.to_string().contains(&"00".repeat(32)));
    w.stop().await.unwrap();
}
