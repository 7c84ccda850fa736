//! HTTP API tests against an in-process worker and the local PostgreSQL
//! (127.0.0.1:5432, trust auth, user `postgres`).

mod common;

use std::time::Duration;

use common::{Worker, TOKEN};
use http::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PASSWORD: &str = "s3cr3t-P@ss";

fn pg(extra: serde_json::Value) -> serde_json::Value {
    let mut body = json!({
        "engine": "postgresql",
        "host": "127.0.0.1",
        "port": 5432,
        "user": "postgres",
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

#[tokio::test]
async fn healthz_needs_no_token() {
    let w = Worker::start().await;
    let r = w.get("/healthz", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json,
        json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")})
    );
    assert_eq!(r.headers["content-type"], "application/json");
    w.stop().await.unwrap();
}

#[tokio::test]
async fn probe_rejects_missing_or_wrong_token() {
    let w = Worker::start().await;
    let same_length_wrong: String = TOKEN
        .chars()
        .map(|c| if c == '0' { '1' } else { c })
        .collect();
    assert_eq!(same_length_wrong.len(), TOKEN.len());
    assert_ne!(same_length_wrong, TOKEN);
    let too_short = &TOKEN[..TOKEN.len() - 1];
    let too_long = format!("{TOKEN}x");

    for token in [
        None,
        Some(same_length_wrong.as_str()),
        Some(too_short),
        Some(too_long.as_str()),
        Some(""),
    ] {
        let r = w.post("/v1/probe", token, &pg(json!({})).to_string()).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "token {token:?}");
        assert_eq!(r.json, json!({"error": "unauthorized"}));
        assert_eq!(r.headers["www-authenticate"], "Bearer");
    }
    w.stop().await.unwrap();
}

#[tokio::test]
async fn unknown_route_is_404_after_auth() {
    let w = Worker::start().await;
    let r = w.get("/v1/nope", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = w.get("/v1/nope", Some(TOKEN)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json, json!({"error": "not found"}));
    let r = w.get("/v1/probe", Some(TOKEN)).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.headers["allow"], "POST");
    w.stop().await.unwrap();
}

#[tokio::test]
async fn probe_local_postgres() {
    let w = Worker::start().await;
    let r = w.probe(pg(json!({}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["engine"], "postgresql");
    let major = r.json["majorVersion"].as_u64().unwrap();
    assert!(major >= 14, "majorVersion {major}");
    let version = r.json["version"].as_str().unwrap();
    assert!(version.starts_with(&major.to_string()), "{version}");
    let dbs: Vec<&str> = r.json["databases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert!(dbs.contains(&"postgres"), "{dbs:?}");
    assert_eq!(r.json["ok"], true);
    let system: Vec<&str> = r.json["databases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["system"] == true)
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(system, ["postgres"]);
    assert!(dbs.contains(&"test"), "{dbs:?}");
    assert!(!dbs.iter().any(|d| d.starts_with("template")), "{dbs:?}");
    let mut sorted = dbs.clone();
    sorted.sort();
    assert_eq!(dbs, sorted);
    assert!(r.json["latencyMs"].is_u64());

    // Explicit database and sslmode.
    let r = w
        .probe(pg(json!({"database": "test", "sslmode": "disable"})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    w.stop().await.unwrap();
}

#[tokio::test]
async fn probe_closed_port_is_422() {
    let w = Worker::start().await;
    let r = w.probe(pg(json!({"port": 1}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.json["error"], "connection failed");
    let details = r.json["details"].as_str().unwrap();
    assert!(details.contains("127.0.0.1"), "{details}");
    assert!(details.contains("port 1"), "{details}");
    assert!(details.contains("Connection refused"), "{details}");
    assert!(!details.contains('\n'));
    w.stop().await.unwrap();
}

#[tokio::test]
async fn password_never_leaks() {
    let w = Worker::start().await;

    // Trust auth ignores the password: success, and it is not echoed.
    let r = w.probe(pg(json!({"password": PASSWORD}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(!r.text.contains(PASSWORD));

    // Connection failure with a password.
    let r = w.probe(pg(json!({"port": 1, "password": PASSWORD}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!r.text.contains(PASSWORD), "{}", r.text);

    // A failure whose stderr really contains the secret (it is also the role name):
    // the server says `role "s3cr3t-P@ss" does not exist`, which must come back masked.
    let r = w
        .probe(pg(json!({"user": PASSWORD, "password": PASSWORD})))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(!r.text.contains(PASSWORD), "{}", r.text);
    let details = r.json["details"].as_str().unwrap();
    assert!(details.contains("role \"********\""), "{details}");
    w.stop().await.unwrap();
}

#[tokio::test]
async fn invalid_bodies_are_400() {
    let w = Worker::start().await;

    let r = w.post("/v1/probe", Some(TOKEN), "{not json").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json["error"], "invalid request body");
    assert!(!r.json["details"].as_str().unwrap().is_empty());

    let r = w.post("/v1/probe", Some(TOKEN), "").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    let r = w.post("/v1/probe", Some(TOKEN), "[1,2]").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    for (body, field) in [
        (pg(json!({"port": 0})), "port"),
        (pg(json!({"port": 70000})), "port"),
        (pg(json!({"port": "5432"})), "port"),
        (pg(json!({"host": ""})), "host"),
        (pg(json!({"host": "db host"})), "host"),
        (pg(json!({"user": ""})), "user"),
        (
            json!({"engine": "postgresql", "host": "h", "port": 5432}),
            "user",
        ),
        (pg(json!({"sslmode": "always"})), "sslmode"),
        (pg(json!({"database": "dbname=x host=evil"})), "database"),
    ] {
        let r = w.probe(body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(r.json["error"], "invalid request body");
        let details = r.json["details"].as_str().unwrap();
        assert!(details.contains(field), "{body} -> {details}");
    }
    w.stop().await.unwrap();
}

#[tokio::test]
async fn unsupported_engine_is_400() {
    let w = Worker::start().await;
    let r = w.probe(pg(json!({"engine": "oracle"}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json, json!({"error": "unsupported engine: oracle"}));
    let r = w.probe(json!({"host": "x"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json["details"], "missing field `engine`");
    w.stop().await.unwrap();
}

#[tokio::test]
async fn body_over_one_mib_is_413() {
    let w = Worker::start().await;
    let big = format!("\"{}\"", "x".repeat(dbackup_worker::MAX_BODY_BYTES));
    let r = w.post("/v1/probe", Some(TOKEN), &big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.json["error"], "request body too large");
    w.stop().await.unwrap();
}

#[tokio::test]
async fn chunked_body_over_one_mib_is_413() {
    let w = Worker::start().await;
    let mut stream = TcpStream::connect(w.addr).await.unwrap();
    let head = format!(
        "POST /v1/probe HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b' '; 64 * 1024];
    // Write up to 2 MiB; the server may stop reading and answer early.
    for _ in 0..32 {
        let frame = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
        if stream.write_all(&frame).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response)).await;
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    w.stop().await.unwrap();
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish() {
    let mut w = Worker::start().await;
    let body = pg(json!({})).to_string();
    let (first, rest) = body.split_at(10);

    // Start a request and send only part of its body.
    let mut stream = TcpStream::connect(w.addr).await.unwrap();
    let head = format!(
        "POST /v1/probe HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{first}",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    w.trigger_stop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // New connections are refused once shutdown started.
    assert!(TcpStream::connect(w.addr).await.is_err());

    // The in-flight request still completes.
    stream.write_all(rest.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut response))
        .await
        .expect("response timed out")
        .unwrap();
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"majorVersion\""), "{response}");

    tokio::time::timeout(Duration::from_secs(5), w.join())
        .await
        .expect("serve did not return after the last request")
        .unwrap();
}

#[tokio::test]
async fn healthz_rejects_other_methods() {
    let w = Worker::start().await;
    let r = w.request(Method::DELETE, "/healthz", None, None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    w.stop().await.unwrap();
}
