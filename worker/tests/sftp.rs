//! The SFTP backend against a real OpenSSH sshd on loopback: key and password auth, host
//! key pinning, partial-then-rename writes, and a whole backup + restore through SFTP.

mod common;

use std::io::{Read, Write};

use common::cli::{big_db, sqlite};
use common::sshd::Sshd;
use common::Worker;
use dbackup_worker::storage::{self, Storage, StorageSpec};
use http::Method;
use serde_json::{json, Value};

const KEY_HEX: &str = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";

fn open(spec: Value) -> std::io::Result<Box<dyn Storage>> {
    let spec: StorageSpec = serde_json::from_value(spec).unwrap();
    storage::open(&spec, &dbackup_worker::LocalRoots::none())
}

#[test]
fn round_trip_with_key_auth() {
    let sshd = Sshd::start();
    let s = open(sshd.key_spec()).unwrap();
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 31 % 251) as u8).collect();
    let mut w = s.put("job/a.dump").unwrap();
    for chunk in data.chunks(200_000) {
        w.write_all(chunk).unwrap();
    }
    let partial = sshd.base.join("job/a.dump.partial");
    assert!(partial.is_file(), "written to <name>.partial first");
    assert!(!sshd.base.join("job/a.dump").exists());
    assert!(s.list("").unwrap().is_empty(), "partials are not listed");
    w.commit().unwrap();
    assert!(!partial.exists());
    assert_eq!(std::fs::read(sshd.base.join("job/a.dump")).unwrap(), data);

    let mut back = Vec::new();
    s.get("job/a.dump").unwrap().read_to_end(&mut back).unwrap();
    assert!(back == data, "read back differs");
    let info = s.stat("job/a.dump").unwrap();
    assert_eq!(info.size, data.len() as u64);
    assert!(info.modified_unix > 1_700_000_000);
    let listed = s.list("job").unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "job/a.dump");
    assert_eq!(
        s.put("job/a.dump").err().unwrap().kind(),
        std::io::ErrorKind::AlreadyExists
    );
    assert_eq!(
        s.stat("job/nope").unwrap_err().kind(),
        std::io::ErrorKind::NotFound
    );
    assert!(s.put("../escape").is_err());

    // A dropped writer leaves nothing behind.
    let mut w = s.put("job/dropped").unwrap();
    w.write_all(b"some bytes").unwrap();
    drop(w);
    assert!(!sshd.base.join("job/dropped.partial").exists());
    assert!(!sshd.base.join("job/dropped").exists());

    s.delete("job/a.dump").unwrap();
    s.delete("job/a.dump").unwrap();
    assert!(s.list("").unwrap().is_empty());
    assert!(s
        .location("x")
        .starts_with("sftp://dbackup-sftp@127.0.0.1:"));
}

#[test]
fn password_auth_with_fingerprint_pin() {
    let sshd = Sshd::start();
    let s = open(sshd.password_spec()).unwrap();
    let mut w = s.put("p.txt").unwrap();
    w.write_all(b"password auth works").unwrap();
    w.commit().unwrap();
    let mut text = String::new();
    s.get("p.txt").unwrap().read_to_string(&mut text).unwrap();
    assert_eq!(text, "password auth works");

    // A relative base is below the login directory.
    let rel = sshd.base.file_name().unwrap().to_str().unwrap().to_owned() + "-rel";
    let mut spec = sshd.password_spec();
    spec["path"] = json!(rel);
    let s = open(spec).unwrap();
    let mut w = s.put("a/b.txt").unwrap();
    w.write_all(b"relative").unwrap();
    w.commit().unwrap();
    let home = sshd.base.parent().unwrap().join(&rel);
    assert_eq!(std::fs::read(home.join("a/b.txt")).unwrap(), b"relative");
    assert_eq!(s.list("").unwrap()[0].name, "a/b.txt");
    std::fs::remove_dir_all(home).unwrap();
}

#[test]
fn wrong_host_key_and_wrong_password_are_refused() {
    let sshd = Sshd::start();
    let mut spec = sshd.password_spec();
    spec["hostKey"] = json!(sshd.other_key());
    let e = open(spec).err().unwrap().to_string();
    assert!(e.contains("host key mismatch"), "{e}");
    assert!(
        e.contains(&sshd.host_fingerprint),
        "names the presented key: {e}"
    );

    let mut spec = sshd.password_spec();
    spec["hostKey"] = json!("SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    let e = open(spec).err().unwrap().to_string();
    assert!(e.contains("host key mismatch"), "{e}");

    let mut spec = sshd.password_spec();
    spec["password"] = json!("Nope-xyz-123");
    let e = open(spec).err().unwrap().to_string();
    assert!(e.contains("authentication failed"), "{e}");
    assert!(!e.contains("Nope-xyz-123"), "{e}");

    let mut spec = sshd.key_spec();
    spec["passphrase"] = json!("not the passphrase");
    let e = open(spec).err().unwrap().to_string();
    assert!(
        e.contains("privateKey") && e.contains("wrong passphrase"),
        "{e}"
    );
    let mut spec = sshd.key_spec();
    spec.as_object_mut().unwrap().remove("passphrase");
    let e = open(spec).err().unwrap().to_string();
    assert!(e.contains("a passphrase is required"), "{e}");

    let mut spec = sshd.password_spec();
    spec["hostKey"] = json!("garbage");
    let e = open(spec).err().unwrap().to_string();
    assert!(e.contains("hostKey"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_to_sftp_and_restore() {
    let sshd = Sshd::start();
    let w = Worker::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    sqlite(&db, "CREATE TABLE t(id INTEGER PRIMARY KEY, s TEXT); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 20000) INSERT INTO t SELECT i, 'row ' || i FROM c;");
    let task = w
        .run_task(
            "/v1/backups",
            json!({
                "source": {"engine": "sqlite", "path": db},
                "compression": "GZIP",
                "encryption": {"keyHex": KEY_HEX},
                "destinations": [{"id": "sftp", "storage": sshd.key_spec()}],
                "jobName": "nightly",
                "meta": {"jobId": "j1"},
            }),
        )
        .await;
    assert_eq!(task["status"], "succeeded", "{task}");
    let object = task["result"]["objectName"].as_str().unwrap().to_owned();
    assert!(sshd.base.join(&object).is_file());
    let meta: Value = serde_json::from_slice(
        &std::fs::read(sshd.base.join(format!("{object}.meta.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(meta["meta"]["jobId"], "j1");
    let path = task["result"]["destinations"][0]["path"].as_str().unwrap();
    assert!(
        path.starts_with("sftp://") && path.ends_with(&object),
        "{path}"
    );

    let target = dir.path().join("restored.db");
    let restored = w
        .run_task(
            "/v1/restores",
            json!({
                "source": {"storage": sshd.password_spec(), "objectName": object},
                "encryption": {"keyHex": KEY_HEX},
                "target": {"engine": "sqlite", "path": target},
                "expectedSha256": task["result"]["sha256"],
            }),
        )
        .await;
    assert_eq!(restored["status"], "succeeded", "{restored}");
    assert_eq!(
        sqlite(&target, "SELECT count(*), max(s) FROM t"),
        "20000|row 9999"
    );
    w.stop().await.unwrap();
}

#[test]
fn replacing_put_is_atomic_and_a_name_being_written_is_taken() {
    let sshd = Sshd::start();
    let s = open(sshd.key_spec()).unwrap();
    let read = |name: &str| {
        let mut out = Vec::new();
        s.get(name).unwrap().read_to_end(&mut out).unwrap();
        out
    };
    let mut w = s.put_replace("cfg/settings.json").unwrap();
    w.write_all(b"one").unwrap();
    w.commit().unwrap();
    let mut w = s.put_replace("cfg/settings.json").unwrap();
    w.write_all(b"two, longer").unwrap();
    assert_eq!(
        read("cfg/settings.json"),
        b"one",
        "the old object stays until commit"
    );
    w.commit().unwrap();
    assert_eq!(read("cfg/settings.json"), b"two, longer");
    let listed = s.list("").unwrap();
    assert_eq!(listed.len(), 1, "no partial listed or left: {listed:?}");
    assert_eq!(
        std::fs::read_dir(sshd.base.join("cfg")).unwrap().count(),
        1,
        "no partial file left"
    );

    // A plain put never overwrites, and a name being written is taken.
    let e = s.put("cfg/settings.json").err().unwrap();
    assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists, "{e}");
    let mut first = s.put("j/a.dump").unwrap();
    first.write_all(b"first").unwrap();
    let e = s.put("j/a.dump").err().unwrap();
    assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists, "{e}");
    first.commit().unwrap();
    assert_eq!(read("j/a.dump"), b"first");
}

/// Throughput of a 100 MiB object through the SFTP backend (a measurement, not a timed
/// assertion): `cargo nextest run -p dbackup-worker --test sftp --run-ignored only --no-capture`.
#[test]
#[ignore = "a measurement, not a test: run by hand"]
fn throughput_100_mib() {
    let sshd = Sshd::start();
    let s = open(sshd.key_spec()).unwrap();
    let block: Vec<u8> = (0..256 * 1024u32).map(|i| (i * 7 % 253) as u8).collect();
    let started = std::time::Instant::now();
    let mut w = s.put("t.bin").unwrap();
    for _ in 0..400 {
        w.write_all(&block).unwrap();
    }
    w.commit().unwrap();
    let up = started.elapsed().as_secs_f64();
    let started = std::time::Instant::now();
    let mut reader = s.get("t.bin").unwrap();
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0;
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
        "SFTP 100 MiB: upload {up:.2} s ({:.0} MiB/s), download {down:.2} s ({:.0} MiB/s)",
        100.0 / up,
        100.0 / down
    );
}

/// The SFTP server dies during an upload: the task fails cleanly (a failed result naming
/// SFTP) and no object exists under the final name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_killed_mid_upload_fails_cleanly() {
    let mut sshd = Sshd::start();
    let w = Worker::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("big.db");
    big_db(&db, 160);
    let id = w
        .start_task(
            "/v1/backups",
            json!({
                "source": {"engine": "sqlite", "path": db},
                "compression": "NONE",
                "destinations": [{"id": "sftp", "storage": sshd.key_spec()}],
                "jobName": "nightly",
            }),
        )
        .await;
    // Kill the server once some bytes went out (mid-upload).
    let started = std::time::Instant::now();
    loop {
        let t = w.call(Method::GET, &format!("/v1/tasks/{id}"), None).await;
        assert_eq!(
            t.json["status"], "running",
            "finished before the kill: {}",
            t.json
        );
        if t.json["bytesOut"].as_u64().unwrap_or(0) > 4 * 1024 * 1024 {
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(60));
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    sshd.kill_all();
    let task = w.wait_task(&id).await;
    assert_eq!(task["status"], "failed", "{task}");
    let error = task["error"].as_str().unwrap();
    assert!(error.to_lowercase().contains("sftp"), "{error}");
    // Nothing under the final name: at most the partial the dead server kept.
    let nightly = sshd.base.join("nightly");
    let left: Vec<String> = std::fs::read_dir(&nightly)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        left.iter().all(|n| n.ends_with(".partial")),
        "complete-looking object left: {left:?}"
    );
    w.stop().await.unwrap();
}
