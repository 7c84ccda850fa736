//! Sealed `POST /v1/storage/put` (compression and encryption through the backup pipeline),
//! `get` with `decompress`, and `POST /v1/unseal`, over HTTP against local storage: round trips
//! for every compression, the bytes on disk readable by `dbackup-recover`'s reader, wrong key
//! and corruption as 422, a missing key as 400, size limits as 413/400.

mod common;

use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use common::{Worker, TOKEN};
use dbackup_worker::format::{BackupKey, Compression};
use dbackup_worker::stream::open_restore_stream;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const KEY_HEX: &str = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";
const OTHER_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

async fn call(w: &Worker, path: &str, body: Vec<u8>) -> (StatusCode, Bytes) {
    let req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(http::header::HOST, w.addr.to_string())
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Full::new(Bytes::from(body)))
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
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, bytes)
}

async fn post(w: &Worker, path: &str, body: &Value) -> (StatusCode, Bytes) {
    call(w, path, body.to_string().into_bytes()).await
}

fn json_of(b: &Bytes) -> Value {
    serde_json::from_slice(b).unwrap_or_else(|e| panic!("{e}: {b:?}"))
}

/// A config-document-like text of about `n` bytes.
fn document(n: usize) -> String {
    let mut s = String::from("{\"kind\":\"dbackup-config\",\"rows\":[");
    let mut i = 0;
    while s.len() < n {
        s.push_str(&format!("{{\"id\":{i},\"name\":\"row {i} ünïcode\"}},"));
        i += 1;
    }
    s.push_str("0]}");
    s
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealed_put_get_and_unseal_round_trip_every_compression() {
    let w = Worker::start().await;
    let dir = tempfile::tempdir().unwrap();
    let storage = json!({"kind": "local", "path": dir.path()});
    let content = document(3 * 1024 * 1024 + 17);
    let key = BackupKey::from_hex(KEY_HEX).unwrap();
    for (compression, suffix) in [
        ("NONE", ""),
        ("GZIP", ".gz"),
        ("ZSTD", ".zst"),
        ("BROTLI", ".br"),
    ] {
        // encrypted
        let name = format!("config-backups/doc.json{suffix}.dbk");
        let (status, body) = post(
            &w,
            "/v1/storage/put",
            &json!({"storage": storage, "name": name, "content": content, "compression": compression,
                    "encryption": {"keyHex": KEY_HEX, "keyFingerprint": key.fingerprint_hex()}}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{compression}: {body:?}");
        let answer = json_of(&body);
        let stored = std::fs::read(dir.path().join(&name)).unwrap();
        assert!(stored.starts_with(b"DBKENC01"));
        assert_eq!(answer["name"], name);
        assert_eq!(answer["size"].as_u64(), Some(stored.len() as u64));
        assert_eq!(answer["sha256"], hex::encode(Sha256::digest(&stored)));
        // the restore pipeline (what dbackup-recover uses) reads it back
        let (encoding, mut reader) =
            open_restore_stream(&stored[..], Some(&key), Compression::None).unwrap();
        assert_eq!(
            format!("{:?}", encoding.compression).to_uppercase(),
            compression
        );
        let mut back = Vec::new();
        std::io::Read::read_to_end(&mut reader, &mut back).unwrap();
        assert_eq!(back, content.as_bytes(), "{compression}");
        // get with decrypt + decompress streams the plaintext
        let (status, got) = post(
            &w,
            "/v1/storage/get",
            &json!({"storage": storage, "name": name, "decrypt": {"keyHex": KEY_HEX}, "decompress": true}),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(got, content.as_bytes(), "{compression}");
        // unseal of the same bytes
        let (status, plain) = post(
            &w,
            "/v1/unseal",
            &json!({"contentBase64": b64(&stored), "keyHex": KEY_HEX}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{compression}: {plain:?}");
        assert_eq!(plain, content.as_bytes(), "{compression}");

        // unencrypted (compression only; NONE without encryption is the plain 204 put)
        if compression != "NONE" {
            let plain_name = format!("plain/doc.json{suffix}");
            let (status, body) = post(
                &w,
                "/v1/storage/put",
                &json!({"storage": storage, "name": plain_name, "content": content, "compression": compression}),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{body:?}");
            let stored = std::fs::read(dir.path().join(&plain_name)).unwrap();
            assert!(!stored.starts_with(b"DBKENC01"));
            let (status, got) = post(
                &w,
                "/v1/storage/get",
                &json!({"storage": storage, "name": plain_name, "decompress": true, "compression": compression}),
            )
            .await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(got, content.as_bytes(), "{compression}");
            let (status, plain) = post(
                &w,
                "/v1/unseal",
                &json!({"contentBase64": b64(&stored), "compression": compression}),
            )
            .await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(plain, content.as_bytes(), "{compression}");
        }
    }
    // gzip is recognised by its magic without a hint
    let gz = std::fs::read(dir.path().join("plain/doc.json.gz")).unwrap();
    let (status, plain) = post(&w, "/v1/unseal", &json!({"contentBase64": b64(&gz)})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(plain, content.as_bytes());
    // an existing object: 409 unless overwrite
    let again = json!({"storage": storage, "name": "plain/doc.json.gz", "content": "{}", "compression": "GZIP"});
    assert_eq!(
        post(&w, "/v1/storage/put", &again).await.0,
        StatusCode::CONFLICT
    );
    let mut over = again.clone();
    over["overwrite"] = json!(true);
    assert_eq!(post(&w, "/v1/storage/put", &over).await.0, StatusCode::OK);
    let gz = std::fs::read(dir.path().join("plain/doc.json.gz")).unwrap();
    let (_, plain) = post(&w, "/v1/unseal", &json!({"contentBase64": b64(&gz)})).await;
    assert_eq!(plain, &b"{}"[..]);
    // no partial file is left behind by the sealed writes
    let leftovers: Vec<_> = walk(dir.path())
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_key_corruption_and_missing_key_are_refused() {
    let w = Worker::start().await;
    let dir = tempfile::tempdir().unwrap();
    let storage = json!({"kind": "local", "path": dir.path()});
    let name = "c/doc.json.gz.dbk";
    let (status, _) = post(
        &w,
        "/v1/storage/put",
        &json!({"storage": storage, "name": name, "content": document(300_000), "compression": "GZIP",
                "encryption": {"keyHex": KEY_HEX}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let stored = std::fs::read(dir.path().join(name)).unwrap();

    let (status, body) = post(
        &w,
        "/v1/unseal",
        &json!({"contentBase64": b64(&stored), "keyHex": OTHER_KEY}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        json_of(&body)["details"]
            .as_str()
            .unwrap()
            .starts_with("wrong key"),
        "{body:?}"
    );

    let mut corrupt = stored.clone();
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0x40;
    let (status, body) = post(
        &w,
        "/v1/unseal",
        &json!({"contentBase64": b64(&corrupt), "keyHex": KEY_HEX}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        json_of(&body)["details"]
            .as_str()
            .unwrap()
            .contains("chunk 0"),
        "{body:?}"
    );

    // cut inside the last of three chunks (a one-chunk file cannot tell a cut from damage)
    let (status, _) = post(
        &w,
        "/v1/storage/put",
        &json!({"storage": storage, "name": "c/three.json.dbk", "content": document(2_500_000),
                "encryption": {"keyHex": KEY_HEX}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let three = std::fs::read(dir.path().join("c/three.json.dbk")).unwrap();
    let truncated = &three[..three.len() - 10];
    let (status, body) = post(
        &w,
        "/v1/unseal",
        &json!({"contentBase64": b64(truncated), "keyHex": KEY_HEX}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body:?}");
    assert!(
        json_of(&body)["details"]
            .as_str()
            .unwrap()
            .contains("truncated"),
        "{body:?}"
    );

    let (status, body) = post(&w, "/v1/unseal", &json!({"contentBase64": b64(&stored)})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json_of(&body)["error"], "encrypted, key required");

    let (status, _) = post(
        &w,
        "/v1/unseal",
        &json!({"contentBase64": b64(&stored), "keyHex": "abc"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // a wrong key on get + decompress: 422 before any byte is streamed
    let (status, body) = post(
        &w,
        "/v1/storage/get",
        &json!({"storage": storage, "name": name, "decrypt": {"keyHex": OTHER_KEY}, "decompress": true}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body:?}");

    // garbage that claims gzip
    let (status, _) = post(
        &w,
        "/v1/unseal",
        &json!({"contentBase64": b64(b"\x1f\x8b\x08 not really gzip"), "compression": "GZIP"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = post(
        &w,
        "/v1/unseal",
        &json!({"contentBase64": "***not base64***"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // a fingerprint that does not match the key
    let (status, _) = post(
        &w,
        "/v1/storage/put",
        &json!({"storage": storage, "name": "c/x.gz.dbk", "content": "{}", "compression": "GZIP",
                "encryption": {"keyHex": KEY_HEX, "keyFingerprint": "0000000000000000"}}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(!dir.path().join("c/x.gz.dbk").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_limits() {
    let w = Worker::start().await;
    let dir = tempfile::tempdir().unwrap();
    let storage = json!({"kind": "local", "path": dir.path()});
    // Sealed: up to 32 MiB of content.
    let big = "x".repeat(32 * 1024 * 1024 + 1);
    let (status, body) = post(
        &w,
        "/v1/storage/put",
        &json!({"storage": storage, "name": "big.gz", "content": big, "compression": "GZIP"}),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body:?}");
    drop(big);
    let ok = "y".repeat(20 * 1024 * 1024);
    let (status, _) = post(
        &w,
        "/v1/storage/put",
        &json!({"storage": storage, "name": "ok.gz.dbk", "content": ok, "compression": "GZIP",
                "encryption": {"keyHex": KEY_HEX}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Unsealed puts keep their 1 MiB limit (400 naming content).
    let (status, body) = post(
        &w,
        "/v1/storage/put",
        &json!({"storage": storage, "name": "x.meta.json", "content": "z".repeat(1024 * 1024 + 1)}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body:?}");
    assert!(json_of(&body)["details"]
        .as_str()
        .unwrap()
        .contains("content"));
    // Bodies beyond the sealed limit are refused before they are read; other storage routes
    // keep the 1 MiB body limit.
    assert_eq!(declared_only(&w, "/v1/unseal", 50 * 1024 * 1024).await, 413);
    assert_eq!(
        declared_only(&w, "/v1/storage/put", 50 * 1024 * 1024).await,
        413
    );
    assert_eq!(
        declared_only(&w, "/v1/storage/list", 2 * 1024 * 1024).await,
        413
    );
    // A decompression bomb stops at the output limit.
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1024 * 1024];
    for _ in 0..300 {
        std::io::Write::write_all(&mut encoder, &zeros).unwrap();
    }
    let bomb = encoder.finish().unwrap();
    let (status, body) = post(&w, "/v1/unseal", &json!({"contentBase64": b64(&bomb)})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body:?}");
    assert!(json_of(&body)["details"]
        .as_str()
        .unwrap()
        .contains("exceeds"));
}

/// Sends only the headers of a POST declaring `length` body bytes; returns the status the
/// worker answers without reading the body.
async fn declared_only(w: &Worker, path: &str, length: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(w.addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n",
        w.addr
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"))
}
