//! The S3 backend against a real S3 server (s3s-fs, SigV4 checked) on loopback: object
//! operations, multipart, pagination, error messages, and whole backups through S3.

mod common;

use std::io::{Read, Write};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::cli::{big_db, digest};
use common::s3::{S3Server, BUCKET};
use common::Worker;
use dbackup_worker::storage::{self, Storage, StorageSpec};
use http::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const KEY_HEX: &str = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";

fn open(spec: Value) -> Box<dyn Storage> {
    let spec: StorageSpec = serde_json::from_value(spec).unwrap();
    storage::open(&spec, &dbackup_worker::LocalRoots::none()).unwrap()
}

/// Deterministic incompressible bytes.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn read_all(s: &dyn Storage, name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    s.get(name).unwrap().read_to_end(&mut out).unwrap();
    out
}

#[test]
fn object_operations() {
    let server = S3Server::start();
    let s = open(server.spec("team/a"));
    let mut w = s.put("job/one.sql").unwrap();
    w.write_all(b"hello s3").unwrap();
    assert!(
        s.list("").unwrap().is_empty(),
        "nothing visible before commit"
    );
    w.commit().unwrap();
    assert!(server.object_path("team/a/job/one.sql").is_file());
    assert_eq!(read_all(&*s, "job/one.sql"), b"hello s3");
    let info = s.stat("job/one.sql").unwrap();
    assert_eq!((info.name.as_str(), info.size), ("job/one.sql", 8));
    assert!(info.modified_unix > 1_700_000_000, "{info:?}");
    let listed = s.list("job/").unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "job/one.sql");
    assert_eq!(listed[0].size, 8);
    let e = s.put("job/one.sql").err().unwrap();
    assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
    assert_eq!(
        s.stat("job/missing").unwrap_err().kind(),
        std::io::ErrorKind::NotFound
    );
    assert_eq!(
        s.get("job/missing").err().unwrap().kind(),
        std::io::ErrorKind::NotFound
    );
    assert!(s.get("../escape").is_err());
    s.delete("job/one.sql").unwrap();
    s.delete("job/one.sql").unwrap(); // absent is fine
    assert!(s.list("").unwrap().is_empty());
    assert_eq!(s.location("x/y"), "s3://backups/team/a/x/y");

    // An empty object is a single PUT too.
    s.put("empty").unwrap().commit().unwrap();
    assert_eq!(s.stat("empty").unwrap().size, 0);
}

#[test]
fn multipart_upload_with_three_parts_is_identical() {
    let server = S3Server::start();
    let s = open(server.spec(""));
    let data = noise(2 * 8 * 1024 * 1024 + 123_457, 42); // 3 parts: 8 MiB, 8 MiB, rest
    let mut w = s.put("big.bin").unwrap();
    for chunk in data.chunks(100_000) {
        w.write_all(chunk).unwrap();
    }
    assert!(
        !server.object_path("big.bin").exists(),
        "not visible before CompleteMultipartUpload"
    );
    w.commit().unwrap();
    assert_eq!(server.stats.parts.load(Ordering::SeqCst), 3);
    let back = read_all(&*s, "big.bin");
    assert_eq!(back.len(), data.len());
    assert!(back == data, "content differs");
    assert_eq!(s.stat("big.bin").unwrap().size, data.len() as u64);
}

#[test]
fn dropped_or_failed_upload_is_aborted() {
    let server = S3Server::start();
    let s = open(server.spec(""));
    let mut w = s.put("dropped.bin").unwrap();
    w.write_all(&noise(9 * 1024 * 1024, 1)).unwrap(); // one part uploaded
    drop(w);
    assert_eq!(server.stats.aborts.load(Ordering::SeqCst), 1);
    assert!(s.stat("dropped.bin").is_err());
    assert!(!server.object_path("dropped.bin").exists());
}

#[test]
fn listing_follows_continuation_tokens_past_1000_keys() {
    let server = S3Server::start();
    // s3s-fs serves plain files: create 1,050 objects directly.
    let dir = server.object_path("many/k");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..1050 {
        std::fs::write(dir.join(format!("{i:05}")), i.to_string()).unwrap();
    }
    std::fs::write(server.object_path("other"), "x").unwrap();
    let s = open(server.spec("many"));
    let listed = s.list("").unwrap();
    assert_eq!(listed.len(), 1050);
    assert_eq!(listed[0].name, "k/00000");
    assert_eq!(listed[1049].name, "k/01049");
    assert!(
        server.stats.lists.load(Ordering::SeqCst) >= 2,
        "more than one page was requested"
    );
}

/// A TCP proxy in front of the S3 server that cuts the first connection whose responses
/// pass `cut_after` bytes (once); counts the connections it accepted.
struct CutProxy {
    addr: std::net::SocketAddr,
    connections: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    cuts: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl CutProxy {
    fn start(upstream: std::net::SocketAddr, cut_after: usize) -> CutProxy {
        use std::net::{Shutdown, TcpListener, TcpStream};
        use std::sync::atomic::AtomicUsize;
        use std::sync::Arc;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let cuts = Arc::new(AtomicUsize::new(0));
        let (conns, cut_count) = (connections.clone(), cuts.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { break };
                conns.fetch_add(1, Ordering::SeqCst);
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                let (mut c_read, mut s_write) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c_read, &mut s_write);
                    let _ = s_write.shutdown(Shutdown::Write);
                });
                let cut_count = cut_count.clone();
                std::thread::spawn(move || {
                    let (mut s_read, mut c_write) = (server, client);
                    let mut buf = vec![0u8; 16 * 1024];
                    let mut sent = 0usize;
                    loop {
                        let n = match s_read.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if sent + n > cut_after && cut_count.load(Ordering::SeqCst) == 0 {
                            // Forward up to the limit, then drop the connection mid-body.
                            let _ = c_write.write_all(&buf[..cut_after - sent]);
                            cut_count.fetch_add(1, Ordering::SeqCst);
                            let _ = c_write.shutdown(Shutdown::Both);
                            let _ = s_read.shutdown(Shutdown::Both);
                            return;
                        }
                        if c_write.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        sent += n;
                    }
                    let _ = c_write.shutdown(Shutdown::Both);
                });
            }
        });
        CutProxy {
            addr,
            connections,
            cuts,
        }
    }
}

#[test]
fn ranged_get_resumes_after_a_dropped_connection() {
    let server = S3Server::start();
    let direct = open(server.spec(""));
    let data = noise(3 * 1024 * 1024 + 77, 9);
    let mut w = direct.put("obj.bin").unwrap();
    w.write_all(&data).unwrap();
    w.commit().unwrap();

    // Reads through the proxy: the first response is cut after 1 MiB and resumed.
    let proxy = CutProxy::start(server.addr, 1024 * 1024);
    let mut spec = server.spec("");
    spec["endpoint"] = json!(format!("http://{}", proxy.addr));
    let s = open(spec);
    let back = read_all(&*s, "obj.bin");
    assert_eq!(
        proxy.cuts.load(Ordering::SeqCst),
        1,
        "the connection was cut"
    );
    assert!(
        proxy.connections.load(Ordering::SeqCst) >= 2,
        "a second request resumed"
    );
    assert_eq!(back.len(), data.len());
    assert!(back == data, "resumed content differs");

    // A ranged read from an offset.
    let mut tail = Vec::new();
    s.get_from("obj.bin", 2_000_000)
        .unwrap()
        .read_to_end(&mut tail)
        .unwrap();
    assert!(tail == data[2_000_000..], "ranged read differs");
}

#[test]
fn replacing_put_is_atomic_and_plain_put_never_overwrites() {
    let server = S3Server::start();
    let s = open(server.spec("p"));
    let mut w = s.put_replace("cfg.json").unwrap();
    w.write_all(b"one").unwrap();
    w.commit().unwrap();
    let mut w = s.put_replace("cfg.json").unwrap();
    w.write_all(b"two, longer").unwrap();
    assert_eq!(
        read_all(&*s, "cfg.json"),
        b"one",
        "the old object stays until commit"
    );
    w.commit().unwrap();
    assert_eq!(read_all(&*s, "cfg.json"), b"two, longer");
    // A multipart replacement too.
    let big = noise(9 * 1024 * 1024, 3);
    let mut w = s.put_replace("cfg.json").unwrap();
    w.write_all(&big).unwrap();
    assert_eq!(read_all(&*s, "cfg.json"), b"two, longer");
    w.commit().unwrap();
    assert!(read_all(&*s, "cfg.json") == big);

    // Plain put: refused up front, and refused at commit when the name was taken meanwhile.
    assert_eq!(
        s.put("cfg.json").err().unwrap().kind(),
        std::io::ErrorKind::AlreadyExists
    );
    let mut first = s.put("race.bin").unwrap();
    first.write_all(b"first").unwrap();
    let mut other = s.put_replace("race.bin").unwrap();
    other.write_all(b"other").unwrap();
    other.commit().unwrap();
    let e = first.commit().unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists, "{e}");
    assert_eq!(read_all(&*s, "race.bin"), b"other", "never overwritten");
}

#[test]
fn errors_are_clear() {
    let server = S3Server::start();
    let mut spec = server.spec("");
    spec["secretAccessKey"] = json!("WRONG-SECRET");
    let e = open(spec.clone()).list("").unwrap_err().to_string();
    assert!(e.contains("secret access key is wrong"), "{e}");
    assert!(!e.contains("WRONG-SECRET"), "{e}");
    let e = open(spec).put("x").err().unwrap().to_string();
    assert!(e.contains("access denied") || e.contains("secret"), "{e}");

    let mut spec = server.spec("");
    spec["accessKeyId"] = json!("NOBODY");
    let e = open(spec).list("").unwrap_err().to_string();
    assert!(e.contains("access key id"), "{e}");

    let mut spec = server.spec("");
    spec["bucket"] = json!("no-such-bucket");
    let e = open(spec).list("").unwrap_err().to_string();
    assert!(e.contains("\"no-such-bucket\" does not exist"), "{e}");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut spec = server.spec("");
    spec["endpoint"] = json!(format!("http://127.0.0.1:{port}"));
    let e = open(spec).list("").unwrap_err().to_string();
    assert!(e.contains("cannot reach the endpoint"), "{e}");

    let bad: Result<StorageSpec, _> =
        serde_json::from_value(json!({"kind": "s3", "endpoint": "x"}));
    assert!(bad.is_err());
}

// ---- whole backups through the worker ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_to_s3_and_local_then_restore_from_s3() {
    let server = S3Server::start();
    let w = Worker::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let expected = big_db(&db, 30);
    let local = dir.path().join("local");
    let started = Instant::now();
    let task = w
        .run_task(
            "/v1/backups",
            json!({
                "source": {"engine": "sqlite", "path": db},
                "compression": "ZSTD",
                "encryption": {"keyHex": KEY_HEX},
                "destinations": [
                    {"id": "s3", "storage": server.spec("org")},
                    {"id": "disk", "storage": {"kind": "local", "path": local}},
                ],
                "jobName": "nightly",
                "timestamp": "2026-11-27T03-00-00Z",
                "meta": {"jobId": "job-7", "note": "through s3"},
            }),
        )
        .await;
    let elapsed = started.elapsed();
    assert_eq!(task["status"], "succeeded", "{task}");
    let result = &task["result"];
    let object = result["objectName"].as_str().unwrap();
    assert_eq!(object, "nightly/2026-11-27T03-00-00Z_shop.db.zst.dbk");
    let size = result["size"].as_u64().unwrap();
    assert!(
        size > 3 * 8 * 1024 * 1024,
        "random blobs do not compress: {size}"
    );
    assert_eq!(
        result["destinations"],
        json!([
            {"id": "s3", "ok": true, "path": format!("s3://{BUCKET}/org/{object}")},
            {"id": "disk", "ok": true, "path": local.join(object)},
        ])
    );
    let parts = server.stats.parts.load(Ordering::SeqCst);
    assert!(parts >= 4, "multipart upload with {parts} parts");
    eprintln!(
        "backup of {} MiB to S3 + local: {:.2} s, {parts} parts",
        size >> 20,
        elapsed.as_secs_f64()
    );
    // Both copies are byte-identical and their sidecars carry the request's meta.
    let s3_file = std::fs::read(server.object_path(&format!("org/{object}"))).unwrap();
    let local_file = std::fs::read(local.join(object)).unwrap();
    assert!(s3_file == local_file);
    assert_eq!(hex::encode(Sha256::digest(&s3_file)), result["sha256"]);
    for meta_path in [
        server.object_path(&format!("org/{object}.meta.json")),
        local.join(format!("{object}.meta.json")),
    ] {
        let meta: Value = serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
        assert_eq!(
            meta["meta"],
            json!({"jobId": "job-7", "note": "through s3"})
        );
        assert_eq!(meta["sha256"], result["sha256"]);
    }

    let target = dir.path().join("restored.db");
    let task = w
        .run_task(
            "/v1/restores",
            json!({
                "source": {"storage": server.spec("org"), "objectName": object},
                "encryption": {"keyHex": KEY_HEX},
                "target": {"engine": "sqlite", "path": target},
                "expectedSha256": result["sha256"],
            }),
        )
        .await;
    assert_eq!(task["status"], "succeeded", "{task}");
    assert_eq!(digest(&target), expected);
    w.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_stopped_mid_upload() {
    let w = Worker::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    big_db(&db, 30);

    // Only S3: the task fails, and no object (nor sidecar) exists.
    let mut server = S3Server::start();
    server.stats.stop_after_parts.store(1, Ordering::SeqCst);
    let task = w
        .run_task(
            "/v1/backups",
            json!({
                "source": {"engine": "sqlite", "path": db},
                "compression": "NONE",
                "destinations": [{"id": "s3", "storage": server.spec("")}],
                "jobName": "j",
            }),
        )
        .await;
    assert_eq!(task["status"], "failed", "{task}");
    let error = task["error"].as_str().unwrap();
    assert!(error.contains("S3 upload"), "{error}");
    server.stop();
    let files = walk(&server.root.path().join(BUCKET));
    assert!(files.is_empty(), "left behind: {files:?}");

    // S3 + local: S3 fails mid-upload, the local copy completes and is restorable: partial.
    let mut server = S3Server::start();
    server.stats.stop_after_parts.store(2, Ordering::SeqCst);
    let local = dir.path().join("local");
    let task = w
        .run_task(
            "/v1/backups",
            json!({
                "source": {"engine": "sqlite", "path": db},
                "compression": "NONE",
                "encryption": {"keyHex": KEY_HEX},
                "destinations": [
                    {"id": "s3", "storage": server.spec("")},
                    {"id": "disk", "storage": {"kind": "local", "path": local}},
                ],
                "jobName": "j",
            }),
        )
        .await;
    assert_eq!(task["status"], "partial", "{task}");
    let dests = task["result"]["destinations"].as_array().unwrap();
    assert_eq!(dests[0]["ok"], false);
    assert!(dests[0]["error"].as_str().unwrap().contains("S3"), "{task}");
    assert_eq!(dests[1]["ok"], true);
    server.stop();
    assert!(walk(&server.root.path().join(BUCKET)).is_empty());
    let object = task["result"]["objectName"].as_str().unwrap();
    let stored = std::fs::read(local.join(object)).unwrap();
    assert_eq!(
        hex::encode(Sha256::digest(&stored)),
        task["result"]["sha256"]
    );
    let target = dir.path().join("restored.db");
    let restored = w
        .run_task(
            "/v1/restores",
            json!({
                "source": {"storage": {"kind": "local", "path": local}, "objectName": object},
                "encryption": {"keyHex": KEY_HEX},
                "target": {"engine": "sqlite", "path": target},
            }),
        )
        .await;
    assert_eq!(restored["status"], "succeeded", "{restored}");
    assert_eq!(digest(&target), digest(&db));
    w.stop().await.unwrap();
}

/// Files below `dir`, ignoring s3s-fs's own bookkeeping (dot files).
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if e.file_type().unwrap().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

/// Throughput of a ~100 MiB object through the S3 backend (a measurement, not a timed
/// assertion): `cargo nextest run -p dbackup-worker --test s3 --run-ignored only --no-capture`.
#[test]
#[ignore = "a measurement, not a test: run by hand"]
fn throughput_100_mib() {
    let server = S3Server::start();
    let s = open(server.spec(""));
    let block = noise(1024 * 1024, 9);
    let started = Instant::now();
    let mut w = s.put("throughput.bin").unwrap();
    for _ in 0..100 {
        w.write_all(&block).unwrap();
    }
    w.commit().unwrap();
    let up = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut reader = s.get("throughput.bin").unwrap();
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0usize;
    loop {
        let n = reader.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        total += n;
    }
    let down = started.elapsed().as_secs_f64();
    assert_eq!(total, 100 * 1024 * 1024);
    eprintln!(
        "S3 100 MiB: upload {up:.2} s ({:.0} MiB/s, {} parts), download {down:.2} s ({:.0} MiB/s)",
        100.0 / up,
        server.stats.parts.load(Ordering::SeqCst),
        100.0 / down
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_mid_upload_aborts_and_leaves_nothing() {
    let w = Worker::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    big_db(&db, 30);
    let server = S3Server::start();
    server.stats.part_delay_ms.store(400, Ordering::SeqCst);
    let local = dir.path().join("local");
    let id = w
        .start_task(
            "/v1/backups",
            json!({
                "source": {"engine": "sqlite", "path": db},
                "compression": "NONE",
                "destinations": [
                    {"id": "s3", "storage": server.spec("")},
                    {"id": "disk", "storage": {"kind": "local", "path": local}},
                ],
                "jobName": "j",
            }),
        )
        .await;
    let started = Instant::now();
    while server.stats.parts.load(Ordering::SeqCst) < 1 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no part was uploaded"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let r = w
        .call(Method::POST, &format!("/v1/tasks/{id}/cancel"), None)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let task = w.wait_task(&id).await;
    assert_eq!(task["status"], "cancelled", "{task}");
    assert!(
        server.stats.parts.load(Ordering::SeqCst) < 4,
        "cancelled before the end"
    );
    assert_eq!(
        server.stats.aborts.load(Ordering::SeqCst),
        1,
        "multipart aborted"
    );
    let left: Vec<_> = walk(&server.root.path().join(BUCKET))
        .into_iter()
        .chain(walk(&local))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    w.stop().await.unwrap();
}

/// A restore whose S3 download loses its connection mid-object resumes from the byte offset
/// (ranged GET) and restores the same content.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_resumes_a_download_cut_mid_object() {
    let server = S3Server::start();
    let w = Worker::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let expected = big_db(&db, 6);
    let task = w
        .run_task(
            "/v1/backups",
            json!({
                "source": {"engine": "sqlite", "path": db},
                "compression": "ZSTD",
                "encryption": {"keyHex": KEY_HEX},
                "destinations": [{"id": "s3", "storage": server.spec("r")}],
                "jobName": "j",
            }),
        )
        .await;
    assert_eq!(task["status"], "succeeded", "{task}");
    let object = task["result"]["objectName"].as_str().unwrap().to_owned();

    let proxy = CutProxy::start(server.addr, 2 * 1024 * 1024);
    let mut spec = server.spec("r");
    spec["endpoint"] = json!(format!("http://{}", proxy.addr));
    let target = dir.path().join("restored.db");
    let restored = w
        .run_task(
            "/v1/restores",
            json!({
                "source": {"storage": spec, "objectName": object},
                "encryption": {"keyHex": KEY_HEX},
                "target": {"engine": "sqlite", "path": target},
                "expectedSha256": task["result"]["sha256"],
            }),
        )
        .await;
    assert_eq!(restored["status"], "succeeded", "{restored}");
    assert_eq!(proxy.cuts.load(Ordering::SeqCst), 1, "the download was cut");
    assert_eq!(digest(&target), expected);
    w.stop().await.unwrap();
}
