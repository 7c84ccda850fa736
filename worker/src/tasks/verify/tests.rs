use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::atomic::AtomicBool;

use dbackup_protocol::tasks::{BackupRequest, Status, TaskKind, TaskResult, VerificationStatus};
use serde_json::json;

use super::{hook, verify_destinations, Target};
use crate::format::BackupKey;
use crate::storage::{LocalStorage, ObjectInfo, ObjectWriter, Storage};
use crate::stream::{self, Progress, Written};
use crate::tasks::{detached_task, run_backup, BackupPlan};
use crate::{Config, LocalRoots, DEFAULT_MAX_TASKS, DEFAULT_PROBE_TIMEOUT};

const KEY_HEX: &str = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";

/// A storage wrapper that flips one bit of every object it reads back, at `offset`.
struct Corrupting<S> {
    inner: S,
    offset: usize,
}

struct Flip<R> {
    inner: R,
    at: usize,
    pos: usize,
}

impl<R: Read> Read for Flip<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if (self.pos..self.pos + n).contains(&self.at) {
            buf[self.at - self.pos] ^= 0x10;
        }
        self.pos += n;
        Ok(n)
    }
}

impl<S: Storage> Storage for Corrupting<S> {
    fn put(&self, name: &str) -> io::Result<Box<dyn ObjectWriter>> {
        self.inner.put(name)
    }
    fn put_replace(&self, name: &str) -> io::Result<Box<dyn ObjectWriter>> {
        self.inner.put_replace(name)
    }
    fn get(&self, name: &str) -> io::Result<Box<dyn Read + Send>> {
        Ok(Box::new(Flip {
            inner: self.inner.get(name)?,
            at: self.offset,
            pos: 0,
        }))
    }
    fn list(&self, prefix: &str) -> io::Result<Vec<ObjectInfo>> {
        self.inner.list(prefix)
    }
    fn stat(&self, name: &str) -> io::Result<ObjectInfo> {
        self.inner.stat(name)
    }
    fn delete(&self, name: &str) -> io::Result<()> {
        self.inner.delete(name)
    }
    fn location(&self, name: &str) -> String {
        self.inner.location(name)
    }
}

/// Writes 3 MiB of data encrypted (1 MiB chunks) to `storage` as `x.dbk`; its size and hash.
fn store(storage: &dyn Storage, key: &BackupKey) -> (u64, String) {
    let data: Vec<u8> = (0..3 << 20).map(|i: u32| (i % 251) as u8).collect();
    let mut w = storage.put("x.dbk").unwrap();
    let summary = stream::run_backup_stream(
        &data[..],
        crate::format::Compression::None,
        None,
        Some(key),
        &mut w,
        &Progress::default(),
    )
    .unwrap();
    w.commit().unwrap();
    (summary.bytes_out, summary.sha256)
}

#[test]
fn a_corrupted_read_back_fails_only_that_destination() {
    let dir = tempfile::tempdir().unwrap();
    let key = BackupKey::from_hex(KEY_HEX).unwrap();
    let good = LocalStorage::new(dir.path()).unwrap();
    let (size, sha256) = store(&good, &key);
    // The same object, read through a storage that damages byte 2 MiB + 100 (chunk 2).
    let bad = Corrupting {
        inner: LocalStorage::new(dir.path()).unwrap(),
        offset: 32 + 2 * ((1 << 20) + 16) + 100,
    };
    let targets = [
        Target {
            id: "good",
            storage: Some(&good),
        },
        Target {
            id: "bad",
            storage: Some(&bad),
        },
        Target {
            id: "upload-failed",
            storage: None,
        },
    ];
    let written = Written {
        size,
        sha256: &sha256,
    };
    let never = AtomicBool::new(false);
    let checks = verify_destinations(&targets, "x.dbk", Some(&key), written, true, &never);
    let statuses: Vec<_> = checks.iter().map(|(c, _)| c.status).collect();
    assert_eq!(
        statuses,
        [
            VerificationStatus::Verified,
            VerificationStatus::Failed,
            VerificationStatus::Skipped
        ]
    );
    assert_eq!(checks[1].0.destination_id, "bad");
    assert!(checks[1].0.detail.contains("chunk 2"), "{:?}", checks[1]);
    assert!(checks[0]
        .0
        .detail
        .contains("every container chunk authenticated"));
    assert!(checks[2].0.detail.contains("upload failed"));
    // Without the key the damage is still caught, by the checksum.
    let checks = verify_destinations(&targets[1..2], "x.dbk", None, written, true, &never);
    assert!(
        checks[0].0.detail.contains("SHA-256 of the stored object"),
        "{checks:?}"
    );
    // Off: nothing is read.
    let checks = verify_destinations(&targets, "x.dbk", Some(&key), written, false, &never);
    assert!(checks
        .iter()
        .all(|(c, _)| c.status == VerificationStatus::Skipped && c.detail.contains("off")));
    // An object gone before the read-back.
    let empty = tempfile::tempdir().unwrap();
    let gone = LocalStorage::new(empty.path()).unwrap();
    let checks = verify_destinations(
        &[Target {
            id: "gone",
            storage: Some(&gone),
        }],
        "x.dbk",
        Some(&key),
        written,
        true,
        &never,
    );
    assert_eq!(checks[0].0.status, VerificationStatus::Failed);
    assert!(
        checks[0].0.detail.starts_with("reading the object back:"),
        "{checks:?}"
    );
}

fn config() -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        token: "test-token-0123456789abcdef-0123456789".into(),
        pg_bin_dirs: Vec::new(),
        probe_timeout: DEFAULT_PROBE_TIMEOUT,
        max_tasks: DEFAULT_MAX_TASKS,
        ca_file: None,
        local_roots: LocalRoots::new(vec![std::env::temp_dir()], None),
        pool: None,
    }
}

fn sqlite_db(dir: &Path) -> std::path::PathBuf {
    let db = dir.join("shop.db");
    let status = std::process::Command::new("sqlite3")
        .arg(&db)
        .arg("CREATE TABLE t(id INTEGER PRIMARY KEY, s TEXT); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < 20000) INSERT INTO t SELECT i, 'item ' || i || hex(randomblob(16)) FROM c;")
        .status()
        .expect("sqlite3 (the test needs the sqlite3 CLI)");
    assert!(status.success());
    db
}

/// Damages the stored file of destination `victim` between its commit and its read-back.
fn damage(victim: &'static str) {
    hook::set_before_verify(move |id, storage, name| {
        if id != victim {
            return;
        }
        let path = storage.location(name);
        let mut bytes = std::fs::read(&path).unwrap();
        let at = bytes.len() / 2;
        bytes[at] ^= 0x01;
        std::fs::File::create(&path)
            .and_then(|mut f| f.write_all(&bytes))
            .unwrap();
    });
}

fn backup(dir: &Path, dests: &[&str], verify: Option<bool>) -> Result<TaskResult, String> {
    let db = sqlite_db(dir);
    let destinations: Vec<_> = dests
        .iter()
        .map(|d| json!({"id": d, "storage": {"kind": "local", "path": dir.join(d)}}))
        .collect();
    let mut req = json!({
        "source": {"engine": "sqlite", "path": db},
        "compression": "ZSTD",
        "encryption": {"keyHex": KEY_HEX},
        "destinations": destinations,
        "jobName": "nightly",
    });
    if let Some(v) = verify {
        req["verifyAfterUpload"] = json!(v);
    }
    let req: BackupRequest = serde_json::from_value(req).unwrap();
    let plan = BackupPlan::new(req).unwrap();
    run_backup(&config(), &detached_task(TaskKind::Backup), &plan)
}

#[test]
fn a_backup_whose_object_is_damaged_after_upload_is_partial() {
    let dir = tempfile::tempdir_in(std::env::temp_dir()).unwrap();
    damage("d2");
    let result = backup(dir.path(), &["d1", "d2"], None).unwrap();
    assert_eq!(result.status(), Status::Partial);
    let TaskResult::Backup(b) = &result else {
        panic!("{result:?}")
    };
    let statuses: Vec<_> = b.verification.iter().map(|v| v.status).collect();
    assert_eq!(
        statuses,
        [VerificationStatus::Verified, VerificationStatus::Failed]
    );
    assert!(b.destinations[0].ok);
    let error = b.destinations[1].error.as_deref().unwrap();
    assert!(
        error.starts_with("verification after upload failed: read back:")
            && error.contains("chunk"),
        "{error}"
    );
    // Only the verified destination gets the sidecar.
    assert!(dir.path().join("d1").join(&b.meta_name).exists());
    assert!(!dir.path().join("d2").join(&b.meta_name).exists());
}

#[test]
fn every_destination_damaged_fails_the_backup_with_its_checks() {
    let dir = tempfile::tempdir_in(std::env::temp_dir()).unwrap();
    damage("d1");
    let result = backup(dir.path(), &["d1"], None).unwrap();
    assert_eq!(result.status(), Status::Failed);
    assert!(result
        .failure()
        .unwrap()
        .contains("d1: verification after upload failed"));
    assert_eq!(result.verification()[0].status, VerificationStatus::Failed);
}

#[test]
fn verification_off_skips_the_read_back() {
    let dir = tempfile::tempdir_in(std::env::temp_dir()).unwrap();
    damage("d1"); // not read back, so not noticed
    let result = backup(dir.path(), &["d1"], Some(false)).unwrap();
    assert_eq!(result.status(), Status::Succeeded);
    assert_eq!(result.verification()[0].status, VerificationStatus::Skipped);
}
