//! Callback events over real HTTP: a tiny receiver records the signed events.

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::{Worker, TOKEN};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;

/// The receivers' check (the protocol's one verify), with the documented 300 s skew.
fn verify_signature(
    key: &[u8],
    timestamp: &str,
    body: &[u8],
    signature: &str,
    now: u64,
    max_skew_secs: i64,
) -> bool {
    assert_eq!(max_skew_secs, dbackup_protocol::signature::MAX_SKEW_SECS);
    let now = i64::try_from(now).unwrap();
    dbackup_protocol::signature::verify(key, Some(timestamp), Some(signature), body, now).is_ok()
}

const KEY_HEX: &str = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";
const SIGNING_KEY_HEX: &str = "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf";

/// One accepted request: timestamp header, signature header, body.
#[derive(Clone)]
struct Received {
    timestamp: String,
    signature: String,
    body: String,
}

struct Receiver {
    addr: SocketAddr,
    accepted: Arc<Mutex<Vec<Received>>>,
    attempts: Arc<AtomicUsize>,
    tls: bool,
}

impl Receiver {
    /// Answers 500 to the first `fail_first` requests, then 200.
    async fn start(fail_first: usize) -> Receiver {
        Self::start_with(fail_first, None).await
    }

    /// Like [`Receiver::start`], over TLS when `tls` is given.
    async fn start_with(fail_first: usize, tls: Option<tokio_rustls::TlsAcceptor>) -> Receiver {
        let is_tls = tls.is_some();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let attempts = Arc::new(AtomicUsize::new(0));
        let (acc, att) = (accepted.clone(), attempts.clone());
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let (acc, att) = (acc.clone(), att.clone());
                let service = service_fn(move |req: Request<Incoming>| {
                    let (acc, att) = (acc.clone(), att.clone());
                    async move {
                        let header = |n: &str| {
                            req.headers()
                                .get(n)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("")
                                .to_owned()
                        };
                        let (timestamp, signature) =
                            (header("x-dbackup-timestamp"), header("x-dbackup-signature"));
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        let n = att.fetch_add(1, Ordering::SeqCst);
                        let status = if n < fail_first {
                            StatusCode::INTERNAL_SERVER_ERROR
                        } else {
                            acc.lock().unwrap().push(Received {
                                timestamp,
                                signature,
                                body: String::from_utf8(body.to_vec()).unwrap(),
                            });
                            StatusCode::OK
                        };
                        let mut response = Response::new(Full::new(Bytes::new()));
                        *response.status_mut() = status;
                        Ok::<_, Infallible>(response)
                    }
                });
                match &tls {
                    None => {
                        tokio::spawn(
                            http1::Builder::new().serve_connection(TokioIo::new(stream), service),
                        );
                    }
                    Some(acceptor) => {
                        let acceptor = acceptor.clone();
                        tokio::spawn(async move {
                            // A client that does not trust the certificate fails here.
                            if let Ok(stream) = acceptor.accept(stream).await {
                                let _ = http1::Builder::new()
                                    .serve_connection(TokioIo::new(stream), service)
                                    .await;
                            }
                        });
                    }
                }
            }
        });
        Receiver {
            addr,
            accepted,
            attempts,
            tls: is_tls,
        }
    }

    fn url(&self) -> String {
        if self.tls {
            format!("https://localhost:{}/hooks/dbackup", self.addr.port())
        } else {
            format!("http://{}/hooks/dbackup", self.addr)
        }
    }

    /// Waits for the result event; returns the accepted requests deduplicated by seq.
    async fn until_result(&self) -> Vec<(Received, Value)> {
        for _ in 0..200 {
            let done = self
                .accepted
                .lock()
                .unwrap()
                .iter()
                .any(|r| r.body.contains("\"type\":\"result\""));
            if done {
                let mut last_seq = 0;
                let mut out = Vec::new();
                for r in self.accepted.lock().unwrap().iter() {
                    let event: Value = serde_json::from_str(&r.body).unwrap();
                    let seq = event["seq"].as_u64().unwrap();
                    // The receiver contract: ignore seq <= last seen.
                    if seq > last_seq {
                        last_seq = seq;
                        out.push((r.clone(), event));
                    }
                }
                return out;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no result event received");
    }
}

async fn call(w: &Worker, path: &str, body: Value) -> common::Reply {
    w.request(Method::POST, path, Some(TOKEN), Some(&body.to_string()))
        .await
}

async fn wait_task(w: &Worker, id: &str) -> Value {
    for _ in 0..300 {
        let r = w.get(&format!("/v1/tasks/{id}"), Some(TOKEN)).await;
        if r.json["status"] != "running" {
            return r.json;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("task {id} did not finish");
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn backup_events_are_signed_ordered_retried_and_masked() {
    // Two 500s: the first event is retried twice before it is accepted.
    let receiver = Receiver::start(2).await;
    let w = Worker::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.db");
    let out = Command::new("sqlite3")
        .arg(&db)
        .arg("CREATE TABLE t(id INTEGER PRIMARY KEY, s TEXT); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 2000) INSERT INTO t SELECT i, 'row ' || i FROM c;")
        .output()
        .unwrap();
    assert!(out.status.success());
    let r = call(
        &w,
        "/v1/backups",
        json!({
            "executionId": "exec-cb",
            "source": {"engine": "sqlite", "path": db},
            "compression": "ZSTD",
            "encryption": {"keyHex": KEY_HEX},
            "destinations": [{"id": "d1", "storage": {"kind": "local", "path": dir.path().join("b")}}], "jobName": "j",
            "callback": {"url": receiver.url(), "signingKeyHex": SIGNING_KEY_HEX},
        }),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    let id = r.json["taskId"].as_str().unwrap().to_owned();
    let task = wait_task(&w, &id).await;
    assert_eq!(task["status"], "succeeded", "{task}");
    let events = receiver.until_result().await;
    assert!(receiver.attempts.load(Ordering::SeqCst) >= events.len() + 2);

    let seqs: Vec<u64> = events
        .iter()
        .map(|(_, e)| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(
        seqs,
        (1..=events.len() as u64).collect::<Vec<_>>(),
        "gaps or disorder"
    );
    // Exactly once: no duplicate was accepted either.
    assert_eq!(receiver.accepted.lock().unwrap().len(), events.len());

    let key = hex::decode(SIGNING_KEY_HEX).unwrap();
    let wrong = hex::decode(KEY_HEX).unwrap();
    for (r, e) in &events {
        assert_eq!(e["taskId"], id.as_str());
        assert_eq!(e["executionId"], "exec-cb");
        assert!(e["at"].as_str().unwrap().ends_with('Z'), "{e}");
        assert!(r.signature.starts_with("v1="));
        assert!(verify_signature(
            &key,
            &r.timestamp,
            r.body.as_bytes(),
            &r.signature,
            now(),
            300
        ));
        assert!(!verify_signature(
            &wrong,
            &r.timestamp,
            r.body.as_bytes(),
            &r.signature,
            now(),
            300
        ));
        let mut tampered = r.body.clone().into_bytes();
        tampered.push(b' ');
        assert!(!verify_signature(
            &key,
            &r.timestamp,
            &tampered,
            &r.signature,
            now(),
            300
        ));
        let lower = r.body.to_ascii_lowercase();
        assert!(
            !lower.contains(KEY_HEX) && !lower.contains(SIGNING_KEY_HEX),
            "{}",
            r.body
        );
    }

    let types: Vec<&str> = events
        .iter()
        .map(|(_, e)| e["type"].as_str().unwrap())
        .collect();
    let stages: Vec<&str> = events
        .iter()
        .filter(|(_, e)| e["type"] == "stage")
        .map(|(_, e)| e["stage"].as_str().unwrap())
        .collect();
    assert_eq!(
        stages,
        ["queued", "dumping", "storing", "verifying"],
        "{types:?}"
    );
    assert!(types.contains(&"log"), "{types:?}");
    let progress: Vec<&Value> = events
        .iter()
        .filter(|(_, e)| e["type"] == "progress")
        .map(|(_, e)| e)
        .collect();
    assert!(!progress.is_empty(), "{types:?}");
    let last_progress = progress.last().unwrap();
    assert_eq!(last_progress["bytesOut"], task["bytesOut"]);
    assert!(last_progress["rateBytesPerSec"].is_u64());
    let (_, result) = events.last().unwrap();
    assert_eq!(result["type"], "result");
    assert_eq!(result["status"], "succeeded");
    assert_eq!(result["sha256"], task["result"]["sha256"]);
    assert_eq!(result["size"], task["result"]["size"]);
    assert_eq!(result["path"], task["result"]["path"]);
    assert!(result["error"].is_null());

    // A restore with a callback: its own task id, stages and a result with the checksum.
    let restore_receiver = Receiver::start(0).await;
    let r = call(
        &w,
        "/v1/restores",
        json!({
            "source": {"storage": {"kind": "local", "path": dir.path().join("b")},
                       "objectName": task["result"]["objectName"]},
            "encryption": {"keyHex": KEY_HEX},
            "target": {"engine": "sqlite", "path": dir.path().join("restored.db")},
            "callback": {"url": restore_receiver.url(), "signingKeyHex": SIGNING_KEY_HEX},
        }),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    let restore_id = r.json["taskId"].as_str().unwrap().to_owned();
    let restored = wait_task(&w, &restore_id).await;
    assert_eq!(restored["status"], "succeeded", "{restored}");
    let events = restore_receiver.until_result().await;
    let stages: Vec<&str> = events
        .iter()
        .filter(|(_, e)| e["type"] == "stage")
        .map(|(_, e)| e["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["queued", "verifying", "preparing", "restoring"]);
    let (_, result) = events.last().unwrap();
    assert_eq!(result["taskId"], restore_id.as_str());
    assert_eq!(result["status"], "succeeded");
    assert_eq!(result["sha256"], task["result"]["sha256"]);
    for (r, _) in &events {
        assert!(!r.body.to_ascii_lowercase().contains(KEY_HEX), "{}", r.body);
    }
    w.stop().await.unwrap();
}

#[tokio::test]
async fn failed_task_events_mask_the_password() {
    let receiver = Receiver::start(0).await;
    let w = Worker::start().await;
    let dir = tempfile::tempdir().unwrap();
    let password = "Pw-callback-s3cret-77";
    let r = call(
        &w,
        "/v1/backups",
        json!({
            // Nothing listens on port 1: the dump fails.
            "source": {"engine": "mariadb", "host": "127.0.0.1", "port": 1, "user": "root",
                       "password": password, "database": "shop"},
            "compression": "GZIP",
            "destinations": [{"id": "d1", "storage": {"kind": "local", "path": dir.path()}}], "jobName": "j",
            "callback": {"url": receiver.url(), "signingKeyHex": SIGNING_KEY_HEX},
        }),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    let task = wait_task(&w, r.json["taskId"].as_str().unwrap()).await;
    assert_eq!(task["status"], "failed", "{task}");
    let events = receiver.until_result().await;
    for (r, _) in &events {
        assert!(!r.body.contains(password), "{}", r.body);
        assert!(
            !r.body.to_ascii_lowercase().contains(SIGNING_KEY_HEX),
            "{}",
            r.body
        );
    }
    let (_, result) = events.last().unwrap();
    assert_eq!(result["status"], "failed");
    assert_eq!(result["error"], task["error"]);
    assert!(events
        .iter()
        .any(|(_, e)| e["type"] == "log" && e["level"] == "error"));
    w.stop().await.unwrap();
}

#[tokio::test]
async fn invalid_callbacks_are_400() {
    let w = Worker::start().await;
    for callback in [
        json!({"url": "ftp://127.0.0.1/cb", "signingKeyHex": SIGNING_KEY_HEX}),
        json!({"url": "127.0.0.1/cb", "signingKeyHex": SIGNING_KEY_HEX}),
        json!({"url": "http://127.0.0.1/cb", "signingKeyHex": "abcd"}),
        json!({"url": "http://127.0.0.1/cb"}),
    ] {
        let r = call(
            &w,
            "/v1/backups",
            json!({
                "source": {"engine": "sqlite", "path": "/x.db"},
                "compression": "NONE",
                "destinations": [{"id": "d1", "storage": {"kind": "local", "path": "/tmp"}}], "jobName": "j",
                "callback": callback,
            }),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{callback} → {}", r.json);
    }
    w.stop().await.unwrap();
}

/// Shutdown right after a task finished still delivers its pending result event (bounded wait).
#[tokio::test]
async fn shutdown_waits_for_pending_result_events() {
    // Three 500s: ~1.4 s of backoff before the first event gets through.
    let receiver = Receiver::start(3).await;
    let w = Worker::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("small.db");
    let out = Command::new("sqlite3")
        .arg(&db)
        .arg("CREATE TABLE t(x); INSERT INTO t VALUES (1);")
        .output()
        .unwrap();
    assert!(out.status.success());
    let r = call(
        &w,
        "/v1/backups",
        json!({
            "source": {"engine": "sqlite", "path": db},
            "compression": "NONE",
            "destinations": [{"id": "d1", "storage": {"kind": "local", "path": dir.path().join("b")}}], "jobName": "j",
            "callback": {"url": receiver.url(), "signingKeyHex": SIGNING_KEY_HEX},
        }),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    let task = wait_task(&w, r.json["taskId"].as_str().unwrap()).await;
    assert_eq!(task["status"], "succeeded", "{task}");
    assert!(receiver.accepted.lock().unwrap().is_empty());
    w.stop().await.unwrap();
    let accepted = receiver.accepted.lock().unwrap().clone();
    let last: Value = serde_json::from_str(&accepted.last().unwrap().body).unwrap();
    assert_eq!(last["type"], "result");
    assert_eq!(last["seq"].as_u64().unwrap() as usize, accepted.len());
}

/// A test CA and a `localhost` server certificate it signed: (CA PEM, TLS acceptor).
fn tls_pair() -> (String, tokio_rustls::TlsAcceptor) {
    use tokio_rustls::rustls;
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "dbackup test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca, &ca_key)
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
        )
        .unwrap();
    (ca.pem(), tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// https callbacks: a receiver with a certificate from a private CA gets every signed event
/// once that CA is configured (`DBACKUP_WORKER_CA_FILE`); a receiver whose CA is not trusted
/// gets none (the TLS handshake fails), and the backup itself still succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_callbacks_trust_the_configured_ca_only() {
    let dir = tempfile::tempdir().unwrap();
    let (ca_pem, acceptor) = tls_pair();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    let receiver = Receiver::start_with(0, Some(acceptor)).await;
    let (_, untrusted_acceptor) = tls_pair();
    let untrusted = Receiver::start_with(0, Some(untrusted_acceptor)).await;
    let w = Worker::start_with_ca_file(ca_file).await;
    let db = dir.path().join("tls.db");
    let out = Command::new("sqlite3")
        .arg(&db)
        .arg("CREATE TABLE t(id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1), (2);")
        .output()
        .unwrap();
    assert!(out.status.success());
    let backup = |url: String| {
        json!({
            "source": {"engine": "sqlite", "path": db},
            "compression": "ZSTD",
            "destinations": [{"id": "d", "storage": {"kind": "local", "path": dir.path().join("b")}}],
            "jobName": "tls",
            "callback": {"url": url, "signingKeyHex": SIGNING_KEY_HEX},
        })
    };
    let r = call(&w, "/v1/backups", backup(receiver.url())).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    let task = wait_task(&w, r.json["taskId"].as_str().unwrap()).await;
    assert_eq!(task["status"], "succeeded", "{task}");
    let events = receiver.until_result().await;
    let key = hex::decode(SIGNING_KEY_HEX).unwrap();
    for (received, _) in &events {
        assert!(
            verify_signature(
                &key,
                &received.timestamp,
                received.body.as_bytes(),
                &received.signature,
                now(),
                300
            ),
            "bad signature on {}",
            received.body
        );
    }
    let result = &events.last().unwrap().1;
    assert_eq!(result["type"], "result");
    assert_eq!(result["status"], "succeeded", "{result}");

    let r = call(&w, "/v1/backups", backup(untrusted.url())).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    let task = wait_task(&w, r.json["taskId"].as_str().unwrap()).await;
    assert_eq!(task["status"], "succeeded", "{task}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        untrusted.accepted.lock().unwrap().len(),
        0,
        "nothing is delivered to an untrusted certificate"
    );
    w.stop().await.unwrap();
}

/// A files source whose file shrinks while it is read: the backup still succeeds (zeros fill
/// the size its header promised), and the execution log gets a warning naming the file.
#[tokio::test]
async fn a_file_that_shrinks_during_a_files_backup_is_a_logged_warning() {
    let receiver = Receiver::start(0).await;
    let w = Worker::start().await;
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    let file = tree.join("growing log.txt");
    let mut data = vec![0u8; 64 << 20];
    for (i, b) in data.iter_mut().enumerate() {
        *b = (i.wrapping_mul(2_654_435_761) >> 13) as u8;
    }
    std::fs::write(&file, &data).unwrap();
    drop(data);
    let r = call(
        &w,
        "/v1/backups",
        json!({
            "executionId": "exec-shrink",
            "source": {"engine": "files", "paths": [tree]},
            "compression": "ZSTD",
            "encryption": {"keyHex": KEY_HEX},
            "destinations": [{"id": "d1", "storage": {"kind": "local", "path": dir.path().join("b")}}], "jobName": "j",
            "callback": {"url": receiver.url(), "signingKeyHex": SIGNING_KEY_HEX},
        }),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    let id = r.json["taskId"].as_str().unwrap().to_owned();
    let read = w.wait_bytes_in(&id, 1 << 20).await;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .unwrap()
        .set_len(32 << 20)
        .unwrap();
    let task = wait_task(&w, &id).await;
    assert_eq!(task["status"], "succeeded", "{task}");
    let events = receiver.until_result().await;
    let warnings: Vec<&str> = events
        .iter()
        .filter(|(_, e)| e["type"] == "log" && e["level"] == "warning")
        .filter_map(|(_, e)| e["message"].as_str())
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?} (cut after {read} bytes)");
    assert!(
        warnings[0].contains(&format!("{} shrank while it was read", file.display()))
            && warnings[0].contains("from byte 33554432 to 67108864"),
        "{warnings:?}"
    );
}
