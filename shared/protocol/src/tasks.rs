//! Backup and restore tasks: `POST /v1/backups`, `POST /v1/restores` (→ 202 [`TaskAccepted`]),
//! `GET /v1/tasks/{id}` and `POST /v1/tasks/{id}/cancel` (→ [`TaskInfo`]).
//!
//! Engine connections (`source` of a backup, `target` of a restore) stay JSON objects here:
//! their keys are the adapter config keys (docs/CONTRACTS.md) and each engine module of the
//! worker parses its own, naming the field in its errors.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::storage::StorageSpec;
use crate::{Compression, MASK};

/// Encryption of a backup, restore or sealed put: `{keyHex, keyFingerprint?}`. `Debug` never
/// shows the key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EncryptionSpec {
    /// The profile key, 64 hex characters.
    pub key_hex: String,
    /// Expected fingerprint (16 hex characters); checked against the key when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_fingerprint: Option<String>,
    /// What `keyHex` holds; absent = a symmetric profile key. A backup to a write-only profile
    /// sends its X25519 public key (`public`), a restore of such a backup the private key the
    /// user brought for that task (`private`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_kind: Option<KeyKind>,
}

/// `encryption.keyKind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyKind {
    /// A 32-byte AES key (container version 1).
    Symmetric,
    /// An X25519 public key: seals container version 2, opens nothing.
    Public,
    /// An X25519 private key: opens container version 2.
    Private,
}

impl fmt::Debug for EncryptionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptionSpec")
            .field("key_fingerprint", &self.key_fingerprint)
            .field("key_kind", &self.key_kind)
            .finish_non_exhaustive()
    }
}

/// `callback` of a task request: where the signed events go (docs/WORKER.md). `Debug` never
/// shows the key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CallbackSpec {
    /// `http(s)://host[:port]/path` receiving the events.
    pub url: String,
    /// HMAC-SHA256 key, 64 hex characters (32 bytes).
    pub signing_key_hex: String,
}

impl fmt::Debug for CallbackSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackSpec")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// One destination of a backup: an id chosen by the caller (echoed in the result) and a storage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DestinationSpec {
    /// Caller's id of this destination (e.g. the adapter config id).
    pub id: String,
    /// Where to write.
    pub storage: StorageSpec,
}

/// `POST /v1/backups` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackupRequest {
    /// The host's execution id, echoed back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
    /// Engine connection (`engine` plus the adapter config keys).
    pub source: Value,
    /// Databases to dump: absent = `source.database`; `[]` = every non-system database; one
    /// name sets `source.database`; several = one TAR of per-database dumps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub databases: Option<Vec<String>>,
    /// The compression of the stream.
    pub compression: Compression,
    /// Level; default per algorithm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression_level: Option<i32>,
    /// Encryption; absent = none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<EncryptionSpec>,
    /// Where to store (written concurrently).
    pub destinations: Vec<DestinationSpec>,
    /// Job name (a path segment of the object name).
    pub job_name: String,
    /// Optional object-name prefix (`/`-separated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Object timestamp (`YYYY-MM-DDTHH-MM-SSZ`); default now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Free-form object copied into the `.meta.json` sidecar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Value>,
    /// Where to send signed events; absent = poll-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback: Option<CallbackSpec>,
    /// Read each destination's object back after upload and check it ([`Verification`]);
    /// absent = on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_after_upload: Option<bool>,
}

/// Location of a stored object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectLocation {
    /// The storage holding it.
    pub storage: StorageSpec,
    /// Object name relative to the storage's base.
    pub object_name: String,
}

/// Credentials for the steps a restore user may not be allowed to do (`CREATE DATABASE`,
/// ownership). `Debug` masks the password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Privileged {
    /// Login of the privileged account.
    pub user: String,
    /// Its password (masked like every secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

impl fmt::Debug for Privileged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Privileged")
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| MASK))
            .finish()
    }
}

/// `POST /v1/restores` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RestoreRequest {
    /// The host's execution id, echoed back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
    /// The backup object.
    pub source: ObjectLocation,
    /// Key for encrypted objects. Given, the object must be a `DBKENC01` container (so must
    /// an object named `….dbk` or whose sidecar says encrypted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<EncryptionSpec>,
    /// Compression of an unencrypted object; default from its name suffix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<Compression>,
    /// Target connection (its `database` is the target name: rename = another name).
    pub target: Value,
    /// Create a missing target database (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_database: Option<bool>,
    /// Read and authenticate the whole object before touching the target (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<bool>,
    /// Expected SHA-256 of the stored object (checked during verification).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_sha256: Option<String>,
    /// Restore even where a version check refuses (a dump of a newer PostgreSQL major).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
    /// Account for `CREATE DATABASE` / ownership when the target user lacks the right.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileged: Option<Privileged>,
    /// Multi-database backups: restore only these databases, under the mapped names
    /// (`{"shop": "shop_copy"}`); absent = every database under its own name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_mapping: Option<BTreeMap<String, String>>,
    /// The object is DBackup's (its `.meta.json` gives IV, tag and compression): decrypted with
    /// this key, authenticated whole before the target is touched (`verify` is implied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dbackup: Option<crate::dbackup::DbackupImport>,
    /// Where to send signed events; absent = poll-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback: Option<CallbackSpec>,
}

/// 202 answer of `POST /v1/backups` and `POST /v1/restores`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskAccepted {
    /// The worker's task id (32 hex).
    pub task_id: String,
}

/// What a task does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskKind {
    /// `POST /v1/backups`.
    Backup,
    /// `POST /v1/restores`.
    Restore,
}

impl TaskKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Backup => "backup",
            TaskKind::Restore => "restore",
        }
    }
}

/// Task lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Running.
    Running,
    /// Finished successfully.
    Succeeded,
    /// Backup stored at some but not all destinations.
    Partial,
    /// Finished with an error.
    Failed,
    /// Stopped by a cancel request.
    Cancelled,
}

/// Where a running task is: `queued`, then `dumping`, `storing` (backup) or `verifying`,
/// `preparing`, `restoring` (restore); `done` once it succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Registered, not started.
    Queued,
    /// A backup's dump tool runs.
    Dumping,
    /// A backup's destinations commit and the sidecars are written.
    Storing,
    /// A restore reads and authenticates the whole object; a backup reads each stored copy back.
    Verifying,
    /// A restore checks versions and creates the target database.
    Preparing,
    /// A restore's tool runs.
    Restoring,
    /// Finished successfully.
    Done,
}

impl Stage {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Queued => "queued",
            Stage::Dumping => "dumping",
            Stage::Storing => "storing",
            Stage::Verifying => "verifying",
            Stage::Preparing => "preparing",
            Stage::Restoring => "restoring",
            Stage::Done => "done",
        }
    }
}

/// `GET /v1/tasks/{id}` (and the 202 of a cancel).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskInfo {
    /// The task id.
    pub id: String,
    /// Backup or restore.
    pub kind: TaskKind,
    /// The request's `executionId`.
    pub execution_id: Option<String>,
    /// Lifecycle.
    pub status: Status,
    /// Where it is.
    pub stage: Stage,
    /// Bytes read from the dump tool (backup) or written to the restore tool (restore).
    pub bytes_in: u64,
    /// Bytes written to the storage (backup) or read from it (restore).
    pub bytes_out: u64,
    /// Why it failed (`cancelled` when cancelled).
    pub error: Option<String>,
    /// What it produced, once it succeeded.
    pub result: Option<TaskResult>,
}

/// The `result` of a finished task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TaskResult {
    /// Of a backup.
    Backup(BackupResult),
    /// Of a restore of a multi-database archive.
    RestoreMulti(MultiRestoreResult),
    /// Of a restore of one database.
    Restore(RestoreResult),
}

/// Result of a backup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupResult {
    /// The object's name (the same at every destination).
    pub object_name: String,
    /// Its sidecar's name.
    pub meta_name: String,
    /// Location of the first destination that stored it.
    pub path: Option<String>,
    /// Bytes stored.
    pub size: u64,
    /// Bytes the dump tool produced.
    pub dump_size: u64,
    /// SHA-256 (hex) of the stored bytes.
    pub sha256: String,
    /// `--version` line of the dump tool.
    pub engine_tool_version: Option<String>,
    /// The source server's version.
    pub server_version: Option<String>,
    /// One report per requested destination, in request order.
    pub destinations: Vec<DestinationReport>,
    /// Problems that did not fail the backup (e.g. a sidecar not written), `; `-joined.
    pub warning: Option<String>,
    /// The read-back check of each destination, in request order (empty from workers that
    /// predate it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verification: Vec<Verification>,
}

/// Outcome of reading a destination's object back after upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VerificationStatus {
    /// Read back whole: every container chunk authenticated (encrypted objects), size and
    /// SHA-256 equal to what was written.
    Verified,
    /// Read back but different, or unreadable: the destination counts as failed.
    Failed,
    /// Not checked: verification off, or the upload itself failed.
    Skipped,
}

/// The read-back check of one destination (`verification[]` of a backup's result and of
/// `GET /api/executions/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    /// The request's destination id.
    pub destination_id: String,
    /// `Verified`, `Failed` or `Skipped`.
    pub status: VerificationStatus,
    /// When the check ended (RFC 3339, UTC).
    pub checked_at: String,
    /// What was checked, or why it failed or was skipped.
    pub detail: String,
}

impl Verification {
    /// Whether this check failed.
    pub fn failed(&self) -> bool {
        self.status == VerificationStatus::Failed
    }
}

/// What happened at one destination: `{id, ok: true, path}` or `{id, ok: false, error}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestinationReport {
    /// The request's destination id.
    pub id: String,
    /// Whether the object is stored there.
    pub ok: bool,
    /// Where (stored only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Why not (failed only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl DestinationReport {
    /// Stored at `path`.
    pub fn stored(id: &str, path: Option<String>) -> Self {
        DestinationReport {
            id: id.to_owned(),
            ok: true,
            path,
            error: None,
        }
    }

    /// Failed with `error`.
    pub fn failed(id: &str, error: &str) -> Self {
        DestinationReport {
            id: id.to_owned(),
            ok: false,
            path: None,
            error: Some(error.to_owned()),
        }
    }
}

/// Result of a restore of one database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreResult {
    /// The object restored.
    pub object_name: String,
    /// Payload bytes written to the target.
    pub bytes_restored: u64,
    /// Whether the object was verified before the target was touched.
    pub verified: bool,
    /// SHA-256 of the object (when verified).
    pub sha256: Option<String>,
    /// The replaced file kept aside (SQLite, Redis).
    pub safety_copy: Option<PathBuf>,
}

/// Result of a restore of a multi-database archive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MultiRestoreResult {
    /// The object restored.
    pub object_name: String,
    /// Payload bytes written to the targets.
    pub bytes_restored: u64,
    /// Whether the object was verified before the target was touched.
    pub verified: bool,
    /// Each database restored, in archive order.
    pub databases: Vec<RestoredDatabase>,
    /// The source server's version (archive manifest).
    pub server_version: Option<String>,
    /// The target server's version.
    pub target_version: Option<String>,
    /// SHA-256 of the object (when verified).
    pub sha256: Option<String>,
}

/// One database of a multi-database restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoredDatabase {
    /// Its name in the archive.
    pub source: String,
    /// The database it was restored into.
    pub target: String,
    /// Payload bytes written.
    pub bytes: u64,
}

impl TaskResult {
    /// Bytes stored (backup) or restored (restore).
    pub fn size(&self) -> u64 {
        match self {
            TaskResult::Backup(b) => b.size,
            TaskResult::RestoreMulti(r) => r.bytes_restored,
            TaskResult::Restore(r) => r.bytes_restored,
        }
    }

    /// SHA-256 of the stored object, when known.
    pub fn sha256(&self) -> Option<&str> {
        match self {
            TaskResult::Backup(b) => Some(&b.sha256),
            TaskResult::RestoreMulti(r) => r.sha256.as_deref(),
            TaskResult::Restore(r) => r.sha256.as_deref(),
        }
    }

    /// The object written or read.
    pub fn object_name(&self) -> &str {
        match self {
            TaskResult::Backup(b) => &b.object_name,
            TaskResult::RestoreMulti(r) => &r.object_name,
            TaskResult::Restore(r) => &r.object_name,
        }
    }

    /// Where the object is: a backup's first stored location, else the object name.
    pub fn path(&self) -> &str {
        match self {
            TaskResult::Backup(b) => b.path.as_deref().unwrap_or(&b.object_name),
            _ => self.object_name(),
        }
    }

    /// The source server's version, else the dump tool's.
    pub fn engine_version(&self) -> Option<&str> {
        match self {
            TaskResult::Backup(b) => b
                .server_version
                .as_deref()
                .or(b.engine_tool_version.as_deref()),
            TaskResult::RestoreMulti(r) => r.server_version.as_deref(),
            TaskResult::Restore(_) => None,
        }
    }

    /// A backup's destination reports.
    pub fn destinations(&self) -> Option<&[DestinationReport]> {
        match self {
            TaskResult::Backup(b) => Some(&b.destinations),
            _ => None,
        }
    }

    /// A backup's non-fatal problems.
    pub fn warning(&self) -> Option<&str> {
        match self {
            TaskResult::Backup(b) => b.warning.as_deref(),
            _ => None,
        }
    }

    /// The status a task with this result ends in: `partial` when a destination failed,
    /// `failed` when every one did (each read back wrong: the upload itself went through).
    pub fn status(&self) -> Status {
        let dests = self.destinations().unwrap_or_default();
        if !dests.is_empty() && dests.iter().all(|d| !d.ok) {
            Status::Failed
        } else if dests.iter().any(|d| !d.ok) {
            Status::Partial
        } else {
            Status::Succeeded
        }
    }

    /// Why a result whose [`status`](Self::status) is `failed` failed: every destination's
    /// error, `; `-joined.
    pub fn failure(&self) -> Option<String> {
        if self.status() != Status::Failed {
            return None;
        }
        let errors: Vec<String> = self
            .destinations()
            .unwrap_or_default()
            .iter()
            .map(|d| format!("{}: {}", d.id, d.error.as_deref().unwrap_or("failed")))
            .collect();
        Some(format!(
            "storage: every destination failed ({})",
            errors.join("; ")
        ))
    }

    /// A backup's read-back checks.
    pub fn verification(&self) -> &[Verification] {
        match self {
            TaskResult::Backup(b) => &b.verification,
            _ => &[],
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn backup_request_accepts_what_the_components_send() {
        let golden = json!({
            "executionId": "exec-1",
            "source": {"engine": "postgresql", "host": "db", "port": 5432, "user": "u", "password": "p", "database": "shop"},
            "compression": "ZSTD",
            "encryption": {"keyHex": "00".repeat(32), "keyFingerprint": "0123456789abcdef"},
            "destinations": [{"id": "d1", "storage": {"kind": "local", "path": "/b"}}],
            "jobName": "nightly",
            "prefix": "acme",
            "meta": {"jobId": "j1"},
            "callback": {"url": "http://h/cb", "signingKeyHex": "ab".repeat(32)},
        });
        let req: BackupRequest = serde_json::from_value(golden.clone()).unwrap();
        assert_eq!(req.compression, Compression::Zstd);
        assert_eq!(serde_json::to_value(&req).unwrap(), golden);
        let debug = format!("{req:?}");
        assert!(!debug.contains(&"00".repeat(32)) && !debug.contains(&"ab".repeat(32)));
        let mut unknown = golden.clone();
        unknown["destination"] = json!([]);
        let e = serde_json::from_value::<BackupRequest>(unknown).unwrap_err();
        assert!(e.to_string().contains("unknown field `destination`"), "{e}");
    }

    #[test]
    fn restore_request_round_trips() {
        let golden = json!({
            "executionId": "exec-2",
            "source": {"storage": {"kind": "local", "path": "/b"}, "objectName": "a/x.dump.dbk"},
            "encryption": {"keyHex": "00".repeat(32)},
            "target": {"engine": "postgresql", "database": "shop_copy"},
            "verify": true,
            "expectedSha256": "ab".repeat(32),
            "force": false,
            "privileged": {"user": "postgres", "password": "pw"},
            "databaseMapping": {"shop": "shop_copy"},
        });
        let req: RestoreRequest = serde_json::from_value(golden.clone()).unwrap();
        assert_eq!(serde_json::to_value(&req).unwrap(), golden);
        assert!(!format!("{req:?}").contains("\"pw\""));
        assert!(serde_json::from_value::<Privileged>(json!({"user": "u", "role": "x"})).is_err());
    }

    /// A backup stored at one destination of two.
    pub(crate) fn backup_result() -> BackupResult {
        BackupResult {
            object_name: "a/x.dump".into(),
            meta_name: "a/x.dump.meta.json".into(),
            path: Some("/b/a/x.dump".into()),
            size: 10,
            dump_size: 20,
            sha256: "ab".into(),
            engine_tool_version: Some("pg_dump (PostgreSQL) 16.4".into()),
            server_version: None,
            destinations: vec![
                DestinationReport::stored("d1", Some("/b/a/x.dump".into())),
                DestinationReport::failed("d2", "storage: refused"),
            ],
            warning: None,
            verification: Vec::new(),
        }
    }

    #[test]
    fn task_info_writes_what_the_worker_wrote() {
        // tasks.rs `to_json` and `run_backup`'s `json!` before the protocol crate.
        let golden = json!({
            "id": "t1", "kind": "backup", "executionId": null, "status": "partial",
            "stage": "done", "bytesIn": 20, "bytesOut": 10, "error": null,
            "result": {
                "objectName": "a/x.dump", "metaName": "a/x.dump.meta.json", "path": "/b/a/x.dump",
                "size": 10, "dumpSize": 20, "sha256": "ab",
                "engineToolVersion": "pg_dump (PostgreSQL) 16.4", "serverVersion": null,
                "destinations": [{"id": "d1", "ok": true, "path": "/b/a/x.dump"},
                                 {"id": "d2", "ok": false, "error": "storage: refused"}],
                "warning": null,
            },
        });
        let result = TaskResult::Backup(backup_result());
        assert_eq!(result.status(), Status::Partial);
        let info = TaskInfo {
            id: "t1".into(),
            kind: TaskKind::Backup,
            execution_id: None,
            status: result.status(),
            stage: Stage::Done,
            bytes_in: 20,
            bytes_out: 10,
            error: None,
            result: Some(result),
        };
        let value = serde_json::to_value(&info).unwrap();
        assert_eq!(value, golden);
        assert_eq!(value.to_string(), golden.to_string());
        assert_eq!(serde_json::from_value::<TaskInfo>(golden).unwrap(), info);
    }

    #[test]
    fn restore_results_of_both_shapes() {
        let single = json!({"objectName": "a/x.dump", "bytesRestored": 5, "verified": true,
            "sha256": null, "safetyCopy": "/data/x.db.before-restore"});
        let parsed: TaskResult = serde_json::from_value(single.clone()).unwrap();
        assert!(matches!(parsed, TaskResult::Restore(_)));
        assert_eq!(serde_json::to_value(&parsed).unwrap(), single);
        assert_eq!((parsed.size(), parsed.path()), (5, "a/x.dump"));
        let multi = json!({"objectName": "a/x.tar", "bytesRestored": 9, "verified": true,
            "databases": [{"source": "shop", "target": "shop_copy", "bytes": 9}],
            "serverVersion": "16.4", "targetVersion": "17.1", "sha256": "cd"});
        let parsed: TaskResult = serde_json::from_value(multi.clone()).unwrap();
        assert!(matches!(parsed, TaskResult::RestoreMulti(_)));
        assert_eq!(serde_json::to_value(&parsed).unwrap(), multi);
        assert_eq!(parsed.engine_version(), Some("16.4"));
        assert_eq!(parsed.status(), Status::Succeeded);
    }

    #[test]
    fn verification_is_what_the_api_shows() {
        let mut backup = backup_result();
        backup.verification = vec![Verification {
            destination_id: "d1".into(),
            status: VerificationStatus::Verified,
            checked_at: "2026-12-07T19:00:00Z".into(),
            detail: "read back 10 bytes".into(),
        }];
        let value = serde_json::to_value(&backup).unwrap();
        assert_eq!(
            value["verification"],
            json!([{"destinationId": "d1", "status": "Verified",
                    "checkedAt": "2026-12-07T19:00:00Z", "detail": "read back 10 bytes"}])
        );
        let parsed: TaskResult = serde_json::from_value(value).unwrap();
        assert_eq!(parsed.verification().len(), 1);
        assert!(!parsed.verification()[0].failed());
        // Every destination failed (e.g. each read back wrong): the task failed, naming them.
        backup.destinations[0] = DestinationReport::failed("d1", "verification: sha256 differs");
        let all_failed = TaskResult::Backup(backup);
        assert_eq!(all_failed.status(), Status::Failed);
        let why = all_failed.failure().unwrap();
        assert!(
            why.contains("d1: verification: sha256 differs")
                && why.contains("d2: storage: refused"),
            "{why}"
        );
        assert_eq!(TaskResult::Backup(backup_result()).failure(), None);
    }

    #[test]
    fn names() {
        assert_eq!(serde_json::to_value(Stage::Verifying).unwrap(), "verifying");
        assert_eq!(Stage::Verifying.as_str(), "verifying");
        assert_eq!(serde_json::to_value(TaskKind::Restore).unwrap(), "restore");
        assert_eq!(
            serde_json::to_value(Status::Cancelled).unwrap(),
            "cancelled"
        );
        assert_eq!(
            serde_json::to_value(TaskAccepted {
                task_id: "t".into()
            })
            .unwrap(),
            json!({"taskId": "t"})
        );
    }
}
