//! Backup and restore tasks: request parsing, the in-memory task registry, and the blocking
//! runners that connect an engine, the stream stages and a storage.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::callback::{Callback, CallbackSpec, Emitter};
use crate::engines::process::ChildSlot;
use crate::engines::{Source, Target};
use crate::error::Error;
use crate::format::{BackupKey, Compression};
use crate::storage::{self as storage_mod, LocalRoots, ObjectWriter, Storage, StorageSpec};
use crate::stream::{self, describe_io_error, HashReader, Progress};
use crate::Config;

/// Tasks allowed to run at once; more get 429.
pub const MAX_RUNNING_TASKS: usize = crate::config::DEFAULT_MAX_TASKS;
/// Bytes of a restore's payload read before the target is touched (format header checks).
const HEAD_BYTES: usize = 4096;
/// How long finished tasks stay queryable.
const FINISHED_TASK_TTL: Duration = Duration::from_secs(3600);
/// Suffix of encrypted objects.
pub const ENCRYPTED_SUFFIX: &str = ".dbk";
/// Suffix of the metadata sidecar.
pub const META_SUFFIX: &str = ".meta.json";

/// Encryption settings of a request. `Debug` never shows the key.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EncryptionSpec {
    /// The profile key, 64 hex characters.
    pub key_hex: String,
    /// Expected fingerprint (16 hex characters); checked against the key when given.
    pub key_fingerprint: Option<String>,
}

impl fmt::Debug for EncryptionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptionSpec")
            .field("key_fingerprint", &self.key_fingerprint)
            .finish_non_exhaustive()
    }
}

impl EncryptionSpec {
    fn key(&self) -> Result<BackupKey, Error> {
        let key = BackupKey::from_hex(&self.key_hex)
            .map_err(|e| Error::InvalidBody(format!("encryption.keyHex: {e}")))?;
        if let Some(expected) = &self.key_fingerprint {
            if !expected.eq_ignore_ascii_case(&key.fingerprint_hex()) {
                return Err(Error::InvalidBody(
                    "encryption.keyFingerprint: does not match the key".into(),
                ));
            }
        }
        Ok(key)
    }
}

/// One destination of a backup: an id chosen by the caller (echoed in the result) and a storage.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DestinationSpec {
    /// Caller's id of this destination (e.g. the adapter config id).
    pub id: String,
    /// Where to write.
    pub storage: StorageSpec,
}

/// Most destinations one backup may have.
pub const MAX_DESTINATIONS: usize = 16;

/// `POST /v1/backups` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackupRequest {
    /// The host's execution id, echoed back.
    pub execution_id: Option<String>,
    /// Engine connection (see the engine modules).
    pub source: Value,
    /// Databases to dump; empty or absent = the source's own selection. Only one name is
    /// supported per backup so far (it sets `source.database` when the source has none).
    #[serde(default)]
    pub databases: Option<Vec<String>>,
    /// NONE, GZIP, ZSTD or BROTLI.
    pub compression: Compression,
    /// Level; default per algorithm.
    pub compression_level: Option<i32>,
    /// Encryption; absent = none.
    pub encryption: Option<EncryptionSpec>,
    /// Where to store (written concurrently).
    pub destinations: Vec<DestinationSpec>,
    /// Job name (a path segment of the object name).
    pub job_name: String,
    /// Optional object-name prefix (`/`-separated).
    #[serde(default)]
    pub prefix: Option<String>,
    /// Object timestamp (`YYYY-MM-DDTHH-MM-SSZ`); default now.
    pub timestamp: Option<String>,
    /// Free-form object copied into the `.meta.json` sidecar.
    #[serde(default)]
    pub meta: Option<Value>,
    /// Where to send signed events; absent = poll-only.
    pub callback: Option<CallbackSpec>,
}

/// Location of a stored object.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectLocation {
    /// The storage holding it.
    pub storage: StorageSpec,
    /// Object name relative to the storage's base.
    pub object_name: String,
}

/// `POST /v1/restores` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RestoreRequest {
    /// The host's execution id, echoed back.
    pub execution_id: Option<String>,
    /// The backup object.
    pub source: ObjectLocation,
    /// Key for encrypted objects. Given, the object must be a `DBKENC01` container (so must
    /// an object named `….dbk` or whose sidecar says encrypted).
    pub encryption: Option<EncryptionSpec>,
    /// Compression of an unencrypted object; default from its name suffix.
    pub compression: Option<Compression>,
    /// Target connection (its `database` is the target name: rename = another name).
    pub target: Value,
    /// Create a missing target database (default true).
    pub create_database: Option<bool>,
    /// Read and authenticate the whole object before touching the target (default true).
    pub verify: Option<bool>,
    /// Expected SHA-256 of the stored object (checked during verification).
    pub expected_sha256: Option<String>,
    /// Restore even where a version check refuses (e.g. a dump of a newer PostgreSQL major).
    pub force: Option<bool>,
    /// Account for `CREATE DATABASE` / ownership when the target user lacks the right.
    pub privileged: Option<crate::engines::Privileged>,
    /// Multi-database backups: restore only these databases, under the mapped names
    /// (`{"shop": "shop_copy"}`); absent = every database under its own name.
    pub database_mapping: Option<std::collections::BTreeMap<String, String>>,
    /// Where to send signed events; absent = poll-only.
    pub callback: Option<CallbackSpec>,
}

/// Task lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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

struct TaskState {
    status: Status,
    stage: &'static str,
    error: Option<String>,
    result: Option<Value>,
    finished: Option<Instant>,
}

/// One backup or restore.
pub struct Task {
    id: String,
    kind: &'static str,
    execution_id: Option<String>,
    progress: Progress,
    slot: ChildSlot,
    state: Mutex<TaskState>,
    events: Option<Arc<Emitter>>,
}

impl Task {
    fn set_stage(&self, stage: &'static str) {
        if let Ok(mut s) = self.state.lock() {
            s.stage = stage;
        }
        if let Some(events) = &self.events {
            events.stage(stage);
        }
    }

    /// The task's byte counters.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    fn log(&self, level: &str, message: &str) {
        if let Some(events) = &self.events {
            events.log(level, message);
        }
    }

    fn finish(&self, outcome: Result<Value, String>) {
        let cancelled = self.progress.cancelled.load(Ordering::SeqCst);
        let (status, error) = match &outcome {
            Ok(result) => (success_status(result), None),
            Err(_) if cancelled => (Status::Cancelled, Some("cancelled".to_owned())),
            Err(e) => (Status::Failed, Some(e.clone())),
        };
        let event = self.events.as_ref().map(|events| {
            events.progress(&self.progress);
            if let Some(e) = &error {
                events.log(if cancelled { "warning" } else { "error" }, e);
            }
            let result = outcome.as_ref().ok();
            if let Some(warning) = result.and_then(|r| r["warning"].as_str()) {
                events.log("warning", warning);
            }
            for failed in result
                .and_then(|r| r["destinations"].as_array())
                .into_iter()
                .flatten()
                .filter(|d| d["ok"] == false)
            {
                events.log(
                    "error",
                    &format!(
                        "destination {}: {}",
                        failed["id"].as_str().unwrap_or("?"),
                        failed["error"].as_str().unwrap_or("failed")
                    ),
                );
            }
            let field = |k: &str| result.map_or(Value::Null, |r| r[k].clone());
            let size = match field("size") {
                Value::Null => field("bytesRestored"),
                size => size,
            };
            let path = match field("path") {
                Value::Null => field("objectName"),
                path => path,
            };
            json!({
                "status": status,
                "size": size,
                "sha256": field("sha256"),
                "objectName": field("objectName"),
                "engineVersion": match field("serverVersion") {
                    Value::Null => field("engineToolVersion"),
                    server => server,
                },
                "destinations": field("destinations"),
                "path": path,
                "error": error,
                "result": result,
            })
        });
        if let Ok(mut s) = self.state.lock() {
            s.finished = Some(Instant::now());
            s.status = status;
            s.error = error;
            if let Ok(result) = outcome {
                s.stage = "done";
                s.result = Some(result);
            }
        }
        if let (Some(events), Some(event)) = (&self.events, event) {
            events.result(event);
        }
    }

    /// Stops the task: flags the pipeline and kills the tool's process group.
    pub fn cancel(&self) {
        self.progress.cancelled.store(true, Ordering::SeqCst);
        self.slot.kill();
    }

    /// The JSON of `GET /v1/tasks/{id}`.
    pub fn to_json(&self) -> Value {
        let Ok(s) = self.state.lock() else {
            return json!({"id": self.id, "status": "failed"});
        };
        json!({
            "id": self.id,
            "kind": self.kind,
            "executionId": self.execution_id,
            "status": s.status,
            "stage": s.stage,
            "bytesIn": self.progress.bytes_in.load(Ordering::Relaxed),
            "bytesOut": self.progress.bytes_out.load(Ordering::Relaxed),
            "error": s.error,
            "result": s.result,
        })
    }

    fn is_running(&self) -> bool {
        self.state
            .lock()
            .map(|s| s.status == Status::Running)
            .unwrap_or(false)
    }
}

/// `partial` when a result lists a failed destination, else `succeeded`.
fn success_status(result: &Value) -> Status {
    let failed = result["destinations"]
        .as_array()
        .is_some_and(|d| d.iter().any(|d| d["ok"] == false));
    if failed {
        Status::Partial
    } else {
        Status::Succeeded
    }
}

/// All tasks of this worker process.
#[derive(Default)]
pub struct Registry {
    tasks: Mutex<HashMap<String, Arc<Task>>>,
    senders: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Registry {
    fn insert(
        &self,
        kind: &'static str,
        execution_id: Option<String>,
        callback: Option<(Callback, Vec<String>)>,
        max_tasks: usize,
    ) -> Result<Arc<Task>, Error> {
        let mut tasks = self
            .tasks
            .lock()
            .map_err(|_| Error::Internal("task registry poisoned".into()))?;
        tasks.retain(|_, t| {
            t.state
                .lock()
                .map(|s| s.finished.is_none_or(|f| f.elapsed() < FINISHED_TASK_TTL))
                .unwrap_or(false)
        });
        if tasks.values().filter(|t| t.is_running()).count() >= max_tasks {
            return Err(Error::TooManyTasks(max_tasks));
        }
        let id = hex::encode(
            crate::format::random_bytes::<16>().map_err(|e| Error::Internal(e.to_string()))?,
        );
        let events = callback.map(|(callback, secrets)| {
            let (emitter, sender) =
                Emitter::start(callback, id.clone(), execution_id.clone(), secrets);
            if let Ok(mut senders) = self.senders.lock() {
                senders.retain(|s| !s.is_finished());
                senders.push(sender);
            }
            emitter
        });
        let task = Arc::new(Task {
            id: id.clone(),
            kind,
            execution_id,
            progress: Progress::default(),
            slot: ChildSlot::default(),
            events,
            state: Mutex::new(TaskState {
                status: Status::Running,
                stage: "queued",
                error: None,
                result: None,
                finished: None,
            }),
        });
        tasks.insert(id, task.clone());
        Ok(task)
    }

    /// Looks a task up.
    pub fn get(&self, id: &str) -> Option<Arc<Task>> {
        self.tasks.lock().ok()?.get(id).cloned()
    }

    /// Waits up to `limit` for the callback senders to deliver their pending events
    /// (the result events of tasks that just finished or were cancelled).
    pub async fn drain_callbacks(&self, limit: std::time::Duration) {
        let senders: Vec<_> = match self.senders.lock() {
            Ok(mut s) => s.drain(..).collect(),
            Err(_) => return,
        };
        let all = async {
            for sender in senders {
                let _ = sender.await;
            }
        };
        if tokio::time::timeout(limit, all).await.is_err() {
            eprintln!(
                "dbackup-worker: callback events still pending after {} s; stopping",
                limit.as_secs()
            );
        }
    }

    /// Cancels every running task (graceful shutdown).
    pub fn cancel_all(&self) {
        if let Ok(tasks) = self.tasks.lock() {
            for task in tasks.values().filter(|t| t.is_running()) {
                task.cancel();
            }
        }
    }
}

/// Replaces characters that are unsafe in an object-name segment.
fn sanitize(segment: &str) -> String {
    let cleaned: String = segment
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let trimmed = cleaned.trim_start_matches('.');
    if trimmed.is_empty() {
        "_".into()
    } else {
        trimmed.chars().take(100).collect()
    }
}

/// A validated backup.
pub struct BackupPlan {
    source: Source,
    /// Several databases (empty = every non-system one): a TAR of per-database dumps.
    multi: Option<Vec<String>>,
    compression: Compression,
    level: Option<i32>,
    key: Option<BackupKey>,
    destinations: Vec<DestinationSpec>,
    object_name: String,
    /// Byte offset in `object_name` where a uniqueness suffix goes (before the extension).
    name_suffix_at: usize,
    job_name: String,
    meta: Option<Value>,
    callback: Option<(Callback, Vec<String>)>,
}

impl BackupPlan {
    /// Validates a request; computes the object name
    /// `<prefix>/<job>/<timestamp>_<db>.<ext>[.gz|.zst|.br][.dbk]`.
    pub fn new(req: BackupRequest) -> Result<Self, Error> {
        let mut source_value = req.source;
        let engine = source_value["engine"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let multi = match req.databases.as_deref() {
            None => None,
            Some([one]) => {
                if let Some(obj) = source_value.as_object_mut() {
                    obj.insert("database".into(), json!(one));
                }
                None
            }
            Some(list) => {
                for (i, name) in list.iter().enumerate() {
                    if name.is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
                        return Err(Error::InvalidBody(format!(
                            "databases[{i}]: 1 to 128 characters, no control characters"
                        )));
                    }
                    if list[..i].contains(name) {
                        return Err(Error::InvalidBody(format!("databases[{i}]: duplicate")));
                    }
                }
                // The connection needs some database to validate and connect to.
                let connect_to = match (list.first(), engine.as_str()) {
                    (Some(first), _) => first.clone(),
                    (None, "postgresql") => "postgres".into(),
                    (None, _) => "information_schema".into(),
                };
                let client_server = matches!(engine.as_str(), "postgresql" | "mariadb" | "mysql");
                if let Some(obj) = source_value.as_object_mut().filter(|_| client_server) {
                    obj.entry("database").or_insert_with(|| json!(connect_to));
                }
                // mongodump without --db writes every database into one archive.
                (!(engine == "mongodb" && list.is_empty())).then(|| list.to_vec())
            }
        };
        if req.destinations.is_empty() {
            return Err(Error::InvalidBody(
                "destinations: at least one is required".into(),
            ));
        }
        if req.destinations.len() > MAX_DESTINATIONS {
            return Err(Error::InvalidBody(format!(
                "destinations: at most {MAX_DESTINATIONS}"
            )));
        }
        for (i, d) in req.destinations.iter().enumerate() {
            if d.id.is_empty() || d.id.len() > 200 {
                return Err(Error::InvalidBody(format!(
                    "destinations[{i}].id: 1 to 200 characters"
                )));
            }
            if req.destinations[..i].iter().any(|o| o.id == d.id) {
                return Err(Error::InvalidBody(format!(
                    "destinations[{i}].id: duplicate id"
                )));
            }
            d.storage
                .validate()
                .map_err(|e| Error::InvalidBody(format!("destinations[{i}].{e}")))?;
        }
        if req.meta.as_ref().is_some_and(|m| !m.is_object()) {
            return Err(Error::InvalidBody("meta: must be an object".into()));
        }
        let mut callback = plan_callback(
            req.callback.as_ref(),
            &source_value,
            req.encryption.as_ref(),
        )?;
        if let Some((_, secrets)) = &mut callback {
            for d in &req.destinations {
                secrets.extend(d.storage.secrets());
            }
        }
        let source = Source::from_value(source_value)?;
        if multi.is_some() && !source.supports_multi() {
            return Err(Error::InvalidBody(
                "databases: several databases per backup only for postgresql and mariadb/mysql"
                    .into(),
            ));
        }
        stream::Compressor::<io::Sink>::new(req.compression, req.compression_level, io::sink())
            .map_err(|e| Error::InvalidBody(format!("compressionLevel: {e}")))?;
        let key = req
            .encryption
            .as_ref()
            .map(EncryptionSpec::key)
            .transpose()?;
        if req.job_name.is_empty() {
            return Err(Error::InvalidBody("jobName: must not be empty".into()));
        }
        let timestamp = match req.timestamp {
            Some(t) => sanitize(&t),
            None => chrono::Utc::now().format("%Y-%m-%dT%H-%M-%SZ").to_string(),
        };
        let mut name = String::new();
        for segment in req
            .prefix
            .as_deref()
            .unwrap_or("")
            .split('/')
            .filter(|s| !s.is_empty())
        {
            name.push_str(&sanitize(segment));
            name.push('/');
        }
        name.push_str(&sanitize(&req.job_name));
        name.push('/');
        let (label, extension) = match &multi {
            None => (source.database(), source.extension()),
            Some(list) if list.is_empty() => ("all".to_owned(), "tar"),
            Some(list) => (list.join("+"), "tar"),
        };
        name.push_str(&format!("{timestamp}_{}", sanitize(&label)));
        let name_suffix_at = name.len();
        name.push_str(&format!(
            ".{}{}{}",
            extension,
            req.compression.suffix(),
            if key.is_some() { ENCRYPTED_SUFFIX } else { "" }
        ));
        storage_mod::validate_name(&name).map_err(|e| Error::InvalidBody(e.to_string()))?;
        Ok(BackupPlan {
            source,
            multi,
            compression: req.compression,
            level: req.compression_level,
            key,
            destinations: req.destinations,
            object_name: name,
            name_suffix_at,
            job_name: req.job_name,
            meta: req.meta,
            callback,
        })
    }
}

/// Candidate object names tried when the planned one is taken.
const NAME_ATTEMPTS: usize = 4;

impl BackupPlan {
    /// The object name to try at `attempt`: the planned name first, then with a short suffix
    /// from the execution id (or the task id), then from the task id, then with a counter,
    /// inserted before the extension (`…_db-1a2b3c4d.dump.zst`).
    fn candidate_name(&self, attempt: usize, execution_id: Option<&str>, task_id: &str) -> String {
        let short = |id: &str| -> String {
            id.chars()
                .filter(char::is_ascii_alphanumeric)
                .take(8)
                .collect::<String>()
                .to_ascii_lowercase()
        };
        let from_execution = execution_id.map(short).filter(|s| !s.is_empty());
        let suffix = match attempt {
            0 => return self.object_name.clone(),
            1 => from_execution.unwrap_or_else(|| short(task_id)),
            2 => short(task_id),
            n => format!("{}-{n}", short(task_id)),
        };
        let (stem, tail) = self.object_name.split_at(self.name_suffix_at);
        format!("{stem}-{suffix}{tail}")
    }
}

/// A validated restore.
pub struct RestorePlan {
    target: Target,
    key: Option<BackupKey>,
    compression_hint: Compression,
    storage: StorageSpec,
    object_name: String,
    create_database: bool,
    verify: bool,
    force: bool,
    database_mapping: Option<std::collections::BTreeMap<String, String>>,
    privileged: Option<crate::engines::Privileged>,
    target_database_given: bool,
    expected_sha256: Option<String>,
    /// The object must be a `DBKENC01` container: a key was given or its name ends in `.dbk`
    /// (its sidecar can add the requirement at run time, never lift it).
    container_required: bool,
    callback: Option<(Callback, Vec<String>)>,
}

impl RestorePlan {
    /// Validates a request.
    pub fn new(req: RestoreRequest) -> Result<Self, Error> {
        let mut callback =
            plan_callback(req.callback.as_ref(), &req.target, req.encryption.as_ref())?;
        if let Some((_, secrets)) = &mut callback {
            secrets.extend(req.source.storage.secrets());
            secrets.extend(req.privileged.iter().filter_map(|p| p.password.clone()));
        }
        if let Some(p) = &req.privileged {
            if p.user.is_empty() || p.user.chars().any(char::is_control) {
                return Err(Error::InvalidBody(
                    "privileged.user: must not be empty".into(),
                ));
            }
        }
        // A multi-database restore names its databases in the archive (or the mapping), so
        // `target.database` may be left out; a single-database restore then refuses.
        let mut target_value = req.target;
        let mut target_database_given = true;
        if let Some(obj) = target_value.as_object_mut() {
            let maria = matches!(
                obj.get("engine").and_then(Value::as_str),
                Some("mariadb" | "mysql")
            );
            if maria && !obj.contains_key("database") {
                target_database_given = false;
                obj.insert("database".into(), json!("information_schema"));
            }
        }
        let target = Target::from_value(target_value)?;
        let key = req
            .encryption
            .as_ref()
            .map(EncryptionSpec::key)
            .transpose()?;
        req.source
            .storage
            .validate()
            .map_err(|e| Error::InvalidBody(format!("source.{e}")))?;
        storage_mod::validate_name(&req.source.object_name)
            .map_err(|e| Error::InvalidBody(format!("source.objectName: {e}")))?;
        if let Some(mapping) = &req.database_mapping {
            if mapping.is_empty() {
                return Err(Error::InvalidBody(
                    "databaseMapping: name at least one database (or leave it out)".into(),
                ));
            }
            let mut targets: Vec<&String> = mapping.values().collect();
            if targets
                .iter()
                .any(|t| t.is_empty() || t.chars().any(char::is_control))
            {
                return Err(Error::InvalidBody(
                    "databaseMapping: target names must be non-empty".into(),
                ));
            }
            targets.sort();
            targets.dedup();
            if targets.len() != mapping.len() {
                return Err(Error::InvalidBody(
                    "databaseMapping: two databases map to the same target".into(),
                ));
            }
        }
        let compression_hint = req
            .compression
            .unwrap_or_else(|| compression_from_name(&req.source.object_name));
        let container_required =
            key.is_some() || req.source.object_name.ends_with(ENCRYPTED_SUFFIX);
        Ok(RestorePlan {
            target,
            key,
            compression_hint,
            storage: req.source.storage,
            object_name: req.source.object_name,
            create_database: req.create_database.unwrap_or(true),
            verify: req.verify.unwrap_or(true),
            force: req.force.unwrap_or(false),
            database_mapping: req.database_mapping,
            privileged: req.privileged,
            target_database_given,
            expected_sha256: req.expected_sha256.map(|s| s.to_ascii_lowercase()),
            container_required,
            callback,
        })
    }
}

/// Validates a request's callback and collects the task's secrets (connection passwords,
/// encryption key) to mask in its events.
fn plan_callback(
    spec: Option<&CallbackSpec>,
    connection: &Value,
    encryption: Option<&EncryptionSpec>,
) -> Result<Option<(Callback, Vec<String>)>, Error> {
    let Some(spec) = spec else { return Ok(None) };
    let callback = Callback::new(spec)?;
    let mut secrets = Vec::new();
    crate::callback::connection_secrets(connection, &mut secrets);
    if let Some(e) = encryption {
        secrets.push(e.key_hex.clone());
        secrets.push(e.key_hex.to_ascii_lowercase());
        secrets.push(e.key_hex.to_ascii_uppercase());
    }
    Ok(Some((callback, secrets)))
}

/// Compression implied by an object name's suffix (before an optional `.dbk`).
pub fn compression_from_name(name: &str) -> Compression {
    let name = name.strip_suffix(ENCRYPTED_SUFFIX).unwrap_or(name);
    [Compression::Gzip, Compression::Zstd, Compression::Brotli]
        .into_iter()
        .find(|c| name.ends_with(c.suffix()))
        .unwrap_or(Compression::None)
}

/// Registers and starts a backup; returns the task id.
pub fn start_backup(
    registry: &Registry,
    config: &Config,
    plan: BackupPlan,
    execution_id: Option<String>,
) -> Result<String, Error> {
    for (i, d) in plan.destinations.iter().enumerate() {
        d.storage
            .check_roots(&config.local_roots)
            .map_err(|e| Error::InvalidBody(format!("destinations[{i}].{e}")))?;
    }
    plan.source
        .check_paths(&config.local_roots)
        .map_err(|e| Error::InvalidBody(e.to_string()))?;
    let callback = plan.callback.clone();
    start(
        registry,
        config,
        "backup",
        execution_id,
        callback,
        move |c, t| run_backup(c, t, &plan),
    )
}

/// Registers and starts a restore; returns the task id.
pub fn start_restore(
    registry: &Registry,
    config: &Config,
    plan: RestorePlan,
    execution_id: Option<String>,
) -> Result<String, Error> {
    plan.storage
        .check_roots(&config.local_roots)
        .map_err(|e| Error::InvalidBody(format!("source.{e}")))?;
    plan.target
        .check_paths(&config.local_roots)
        .map_err(|e| Error::InvalidBody(e.to_string()))?;
    let callback = plan.callback.clone();
    start(
        registry,
        config,
        "restore",
        execution_id,
        callback,
        move |c, t| run_restore(c, t, &plan),
    )
}

/// Registers a task, sends its first events and runs `work` on a blocking thread.
fn start(
    registry: &Registry,
    config: &Config,
    kind: &'static str,
    execution_id: Option<String>,
    callback: Option<(Callback, Vec<String>)>,
    work: impl FnOnce(&Config, &Task) -> Result<Value, String> + Send + 'static,
) -> Result<String, Error> {
    let task = registry.insert(kind, execution_id, callback, config.max_tasks)?;
    let id = task.id.clone();
    let config = config.clone();
    start_events(&task, kind);
    tokio::task::spawn_blocking(move || {
        let outcome = work(&config, &task);
        task.finish(outcome);
    });
    Ok(id)
}

/// First events of a task with a callback, and its once-a-second progress ticker.
fn start_events(task: &Arc<Task>, kind: &str) {
    if let Some(events) = &task.events {
        events.stage("queued");
        events.log("info", &format!("{kind} task {} started", task.id));
        tokio::spawn(crate::callback::progress_ticker(
            events.clone(),
            task.clone(),
        ));
    }
}

/// One destination during a backup.
struct Dest {
    id: String,
    storage: Option<Box<dyn Storage>>,
    location: Option<String>,
    error: Option<String>,
}

/// Opens one destination's storage and starts the object there; the flag is set when the
/// name is already taken there.
fn open_destination(d: &DestinationSpec, name: &str, roots: &LocalRoots) -> Opened {
    let mut dest = Dest::new(&d.id);
    let storage = match storage_mod::open(&d.storage, roots) {
        Ok(storage) => storage,
        Err(e) => {
            dest.fail(format!("storage: {e}"));
            return (dest, None, false);
        }
    };
    dest.location = Some(storage.location(name));
    let mut exists = false;
    let writer = match storage.put(name) {
        Ok(w) => Some(w),
        Err(e) => {
            exists = e.kind() == io::ErrorKind::AlreadyExists;
            dest.fail(format!("storage: {e}"));
            None
        }
    };
    dest.storage = Some(storage);
    (dest, writer, exists)
}

/// A destination opened for a backup: its state, its writer, whether the name was taken.
type Opened = (Dest, Option<Box<dyn ObjectWriter>>, bool);

/// Opens every destination concurrently under `name`.
fn open_destinations(plan: &BackupPlan, name: &str, roots: &LocalRoots) -> Vec<Opened> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = plan
            .destinations
            .iter()
            .map(|d| scope.spawn(|| open_destination(d, name, roots)))
            .collect();
        handles
            .into_iter()
            .zip(&plan.destinations)
            .map(|(h, d)| {
                h.join().unwrap_or_else(|_| {
                    let mut dest = Dest::new(&d.id);
                    dest.fail("storage: opening panicked".into());
                    (dest, None, false)
                })
            })
            .collect()
    })
}

impl Dest {
    fn new(id: &str) -> Self {
        Dest {
            id: id.to_owned(),
            storage: None,
            location: None,
            error: None,
        }
    }

    fn fail(&mut self, error: String) {
        self.error.get_or_insert(error);
    }

    fn report(&self) -> Value {
        match &self.error {
            None => json!({"id": self.id, "ok": true, "path": self.location}),
            Some(e) => json!({"id": self.id, "ok": false, "error": e}),
        }
    }
}

/// Joins the errors of failed destinations into one message.
fn all_failed(dests: &[Dest]) -> String {
    let errors: Vec<String> = dests
        .iter()
        .map(|d| format!("{}: {}", d.id, d.error.as_deref().unwrap_or("failed")))
        .collect();
    format!("storage: every destination failed ({})", errors.join("; "))
}

/// Runs a backup to completion on the current (blocking) thread: the stream is written to
/// every destination at once; one failing destination does not stop the others.
pub fn run_backup(config: &Config, task: &Task, plan: &BackupPlan) -> Result<Value, String> {
    let started = chrono::Utc::now();
    // Open every storage and start every object before the dump, concurrently, so
    // unreachable or refusing storages fail early and slow handshakes (SSH) overlap. A name
    // taken on any destination (another backup of the job in the same second) moves every
    // destination to the next candidate name: never overwrite, one name for all.
    let mut attempt = 0;
    let (object_name, opened) = loop {
        let name = plan.candidate_name(attempt, task.execution_id.as_deref(), &task.id);
        let opened = open_destinations(plan, &name, &config.local_roots);
        let taken = opened.iter().any(|(_, _, exists)| *exists);
        if taken && attempt + 1 < NAME_ATTEMPTS {
            drop(opened); // uncommitted writers remove their partials / abort
            attempt += 1;
            continue;
        }
        if attempt > 0 {
            task.log(
                "info",
                &format!("{} already exists: storing as {name}", plan.object_name),
            );
        }
        let opened: Vec<(Dest, Option<Box<dyn ObjectWriter>>)> =
            opened.into_iter().map(|(d, w, _)| (d, w)).collect();
        break (name, opened);
    };
    let mut dests = Vec::with_capacity(opened.len());
    let mut writers: Vec<(usize, Box<dyn ObjectWriter>)> = Vec::new();
    for (i, (dest, writer)) in opened.into_iter().enumerate() {
        dests.push(dest);
        if let Some(w) = writer {
            writers.push((i, w));
        }
    }
    if writers.is_empty() {
        return Err(all_failed(&dests));
    }
    let mut tool_version = plan.source.tool_version(config);
    task.set_stage("dumping");
    task.log(
        "info",
        &format!(
            "dumping {} database {} to {} ({} destination(s))",
            plan.source.engine(),
            plan.source.database(),
            object_name,
            writers.len()
        ),
    );
    let mut sinks: Vec<Box<dyn ObjectWriter>> = Vec::with_capacity(writers.len());
    let mut owners = Vec::with_capacity(writers.len());
    for (i, w) in writers {
        owners.push(i);
        sinks.push(w);
    }
    let mut server_version = None;
    let mut databases = vec![plan.source.database()];
    let mut process = None;
    let streamed = match &plan.multi {
        None => {
            let dump = plan.source.start_dump(config, &task.slot)?;
            if dump.tool_version.is_some() {
                tool_version = dump.tool_version;
            }
            server_version = dump.server_version;
            if let Some(v) = &server_version {
                task.log(
                    "info",
                    &format!(
                        "server version {v}; using {}",
                        tool_version.as_deref().unwrap_or("?")
                    ),
                );
            }
            process = dump.process;
            stream::run_backup_fanout(
                dump.reader,
                plan.compression,
                plan.level,
                plan.key.as_ref(),
                &mut sinks,
                &task.progress,
            )
        }
        Some(list) => {
            databases = if list.is_empty() {
                plan.source.list_databases(config, &task.slot)?
            } else {
                list.clone()
            };
            if databases.is_empty() {
                return Err("the server has no non-system database to back up".into());
            }
            task.log("info", &format!("databases: {}", databases.join(", ")));
            let slot = &task.slot;
            let mut reader = crate::multi::MultiDumpReader::new(
                plan.source.engine(),
                databases.clone(),
                |name: &str| {
                    let dump = plan.source.with_database(name).start_dump(config, slot)?;
                    Ok(dump.into_part_source(slot))
                },
            );
            let streamed = stream::run_backup_fanout(
                &mut reader,
                plan.compression,
                plan.level,
                plan.key.as_ref(),
                &mut sinks,
                &task.progress,
            );
            if streamed.is_ok() {
                server_version = reader.server_version().map(str::to_owned);
                if let Some(v) = reader.tool_version() {
                    tool_version = Some(v.to_owned());
                }
            }
            streamed
        }
    };
    if streamed.is_err() {
        if let Some(p) = process.as_mut() {
            p.kill();
        }
    }
    let waited = process.map(|p| p.wait(&task.slot)).transpose();
    if task.progress.cancelled.load(Ordering::SeqCst) {
        return Err("cancelled".into()); // the writers drop here: partials removed, uploads aborted
    }
    let (summary, sink_errors) =
        streamed.map_err(|e| format!("backup stream: {}", describe_io_error(&e)))?;
    waited?;
    if summary.bytes_in == 0 {
        return Err("the dump tool produced no output".into());
    }
    task.set_stage("storing");
    // Commit the destinations whose stream succeeded, concurrently (S3 sends its last part).
    let commits: Vec<(usize, Result<(), String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = sinks
            .into_iter()
            .zip(owners.iter().copied())
            .zip(sink_errors)
            .map(|((writer, owner), error)| {
                scope.spawn(move || {
                    let result = match error {
                        Some(e) => Err(format!("storage: {}", describe_io_error(&e))),
                        None => writer.commit().map_err(|e| format!("storage: {e}")),
                    };
                    (owner, result)
                })
            })
            .collect();
        handles
            .into_iter()
            .zip(owners.iter().copied())
            .map(|(h, owner)| {
                h.join()
                    .unwrap_or_else(|_| (owner, Err("storage: commit panicked".into())))
            })
            .collect()
    });
    for (owner, result) in commits {
        if let Err(e) = result {
            dests[owner].fail(e);
        }
    }
    if dests.iter().all(|d| d.error.is_some()) {
        return Err(all_failed(&dests));
    }

    let meta = json!({
        "version": 1,
        "engine": plan.source.engine(),
        "engineToolVersion": tool_version,
        "serverVersion": server_version,
        "database": if plan.multi.is_some() { Value::Null } else { json!(plan.source.database()) },
        "databases": databases,
        "jobName": plan.job_name,
        "executionId": task.execution_id,
        "objectName": object_name,
        "format": if plan.multi.is_some() { "tar" } else { plan.source.extension() },
        "compression": plan.compression,
        "compressionLevel": plan.level,
        "encryption": plan.key.as_ref().map(|k| json!({
            "algorithm": "AES-256-GCM",
            "container": "DBKENC01",
            "keyFingerprint": k.fingerprint_hex(),
        })),
        "dumpSize": summary.bytes_in,
        "size": summary.bytes_out,
        "sha256": summary.sha256,
        "createdAt": started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "appVersion": env!("CARGO_PKG_VERSION"),
        "locked": false,
        "meta": plan.meta,
    });
    let meta_name = format!("{}{META_SUFFIX}", object_name);
    let meta_text = serde_json::to_string_pretty(&meta).unwrap_or_default();
    // The object is restorable without its sidecar, so a sidecar failure is reported, not fatal.
    let mut warnings = Vec::new();
    for dest in dests.iter().filter(|d| d.error.is_none()) {
        let Some(storage) = &dest.storage else {
            continue;
        };
        let written = storage.put(&meta_name).and_then(|mut w| {
            w.write_all(meta_text.as_bytes())?;
            w.commit()
        });
        if let Err(e) = written {
            warnings.push(format!("{}: metadata sidecar not written: {e}", dest.id));
        }
    }
    let first_ok = dests.iter().find(|d| d.error.is_none());
    Ok(json!({
        "objectName": object_name,
        "metaName": meta_name,
        "path": first_ok.and_then(|d| d.location.clone()),
        "size": summary.bytes_out,
        "dumpSize": summary.bytes_in,
        "sha256": summary.sha256,
        "engineToolVersion": meta["engineToolVersion"],
        "serverVersion": meta["serverVersion"],
        "destinations": dests.iter().map(Dest::report).collect::<Vec<_>>(),
        "warning": (!warnings.is_empty()).then(|| warnings.join("; ")),
    }))
}

/// Runs a restore to completion on the current (blocking) thread.
pub fn run_restore(config: &Config, task: &Task, plan: &RestorePlan) -> Result<Value, String> {
    let storage = storage_mod::open(&plan.storage, &config.local_roots)
        .map_err(|e| format!("storage: {e}"))?;
    let open = || -> Result<Box<dyn Read + Send>, String> {
        storage
            .get(&plan.object_name)
            .map_err(|e| format!("cannot open {}: {e}", plan.object_name))
    };
    let magic = plan.target.payload_magic();
    // Storage is not trusted: where an encrypted backup is expected, a plaintext object is
    // someone else's dump. The sidecar may say so too (it can only add the requirement).
    let container_required =
        plan.container_required || sidecar_says_encrypted(storage.as_ref(), &plan.object_name);
    let mut verified_sha = None;
    if plan.verify {
        task.set_stage("verifying");
        let hashed = HashReader::new(open()?);
        let (count, sha) = verify_stream(hashed, plan, container_required, magic, task)?;
        if let Some(expected) = &plan.expected_sha256 {
            if *expected != sha {
                return Err(format!(
                    "checksum mismatch: the object's SHA-256 is {sha}, expected {expected}"
                ));
            }
        }
        task.progress.bytes_in.store(0, Ordering::Relaxed);
        task.progress.bytes_out.store(0, Ordering::Relaxed);
        verified_sha = Some((count, sha));
    }
    let reader =
        stream::CountingReader::new(open()?, &task.progress.bytes_out, &task.progress.cancelled);
    let (_, mut decoded) = stream::open_restore_stream_requiring(
        reader,
        plan.key.as_ref(),
        plan.compression_hint,
        container_required,
    )
    .map_err(|e| e.to_string())?;
    // The payload's head (e.g. the PostgreSQL archive header with the source server's
    // version) decides the tools and whether the target can take it, before it is touched.
    let mut head = Vec::with_capacity(HEAD_BYTES);
    (&mut decoded)
        .take(HEAD_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(|e| format!("restore stream: {}", describe_io_error(&e)))?;
    if crate::multi::is_multi(&head) {
        let payload = io::Cursor::new(head).chain(decoded);
        return run_restore_multi(config, task, plan, payload).map(|mut result| {
            result["sha256"] = json!(verified_sha.map(|(_, s)| s));
            result
        });
    }
    let mongo_target;
    let target = match (&plan.target, &plan.database_mapping) {
        // A MongoDB archive may hold several databases: the mapping goes to mongorestore.
        (Target::Mongo(t), Some(mapping)) => {
            let mut renamed = t.clone();
            for (from, to) in mapping {
                crate::engines::mongodb::check_rename(from, to)?;
                renamed.renames.push((from.clone(), to.clone()));
            }
            mongo_target = Target::Mongo(renamed);
            &mongo_target
        }
        (_, Some(_)) => return Err(
            "databaseMapping: the backup holds one database; name the target in target.database"
                .into(),
        ),
        (_, None) => &plan.target,
    };
    if !plan.target_database_given {
        return Err("target.database: required for a single-database backup".into());
    }
    task.set_stage("preparing");
    let preflight = plan
        .target
        .preflight(config, &head, plan.force, &task.slot)?;
    if let (Some(source), Some(target)) = (preflight.source_version(), preflight.target_version()) {
        task.log(
            "info",
            &format!("dump of server {source}, target server {target}"),
        );
    }
    if plan.create_database {
        target.prepare(&preflight, plan.privileged.as_ref(), &task.slot)?;
    }
    task.set_stage("restoring");
    task.log("info", &format!("restoring {}", plan.object_name));
    let mut restore = target.start_restore(config, &preflight, &task.slot)?;
    task.progress
        .bytes_in
        .fetch_add(head.len() as u64, Ordering::Relaxed);
    let copied = restore
        .writer()
        .write_all(&head)
        .and_then(|()| copy_counting(&mut decoded, restore.writer(), &task.progress));
    if task.progress.cancelled.load(Ordering::SeqCst) {
        return Err("cancelled".into());
    }
    if let Err(e) = copied {
        // Let the tool report its own error if it stopped reading first.
        let tool = target.finish_restore(restore, &task.slot).err();
        return Err(match tool {
            Some(tool) if e.kind() == io::ErrorKind::BrokenPipe => tool,
            _ => format!("restore stream: {}", describe_io_error(&e)),
        });
    }
    let safety_copy = target.finish_restore(restore, &task.slot)?;
    Ok(json!({
        "objectName": plan.object_name,
        "bytesRestored": task.progress.bytes_in.load(Ordering::Relaxed),
        "verified": plan.verify,
        "sha256": verified_sha.map(|(_, s)| s),
        "safetyCopy": safety_copy,
    }))
}

/// Largest sidecar read to learn whether an object must be encrypted.
const MAX_SIDECAR_BYTES: u64 = 1024 * 1024;

/// Whether `<name>.meta.json` says the object is encrypted. A missing, unreadable or odd
/// sidecar says nothing (the object is restorable without it).
fn sidecar_says_encrypted(storage: &dyn Storage, name: &str) -> bool {
    let Ok(reader) = storage.get(&format!("{name}{META_SUFFIX}")) else {
        return false;
    };
    let mut text = Vec::new();
    if reader
        .take(MAX_SIDECAR_BYTES)
        .read_to_end(&mut text)
        .is_err()
    {
        return false;
    }
    serde_json::from_slice::<Value>(&text).is_ok_and(|meta| {
        meta.get("encryption")
            .is_some_and(|e| !e.is_null() && e != &Value::Bool(false))
    })
}

/// The verification pass: authenticate every chunk and decompress everything to nowhere.
fn verify_stream<R: Read + Send>(
    hashed: HashReader<R>,
    plan: &RestorePlan,
    container_required: bool,
    magic: Option<&[u8]>,
    task: &Task,
) -> Result<(u64, String), String> {
    let mut hashed = hashed;
    {
        let counted = stream::CountingReader::new(
            &mut hashed,
            &task.progress.bytes_out,
            &task.progress.cancelled,
        );
        let (_, mut decoded) = stream::open_restore_stream_requiring(
            counted,
            plan.key.as_ref(),
            plan.compression_hint,
            container_required,
        )
        .map_err(|e| e.to_string())?;
        let mut head = Vec::new();
        (&mut decoded)
            .take(1024)
            .read_to_end(&mut head)
            .map_err(|e| format!("verification failed: {}", describe_io_error(&e)))?;
        let multi = crate::multi::is_multi(&head);
        if multi {
            let counted = CountingWrite {
                inner: io::Cursor::new(&head).chain(&mut decoded),
                progress: &task.progress,
            };
            let manifest = crate::multi::verify(counted, magic)?;
            check_mapping(plan, &manifest.databases)?;
        } else if plan.database_mapping.is_some() && !matches!(plan.target, Target::Mongo(_)) {
            return Err(
                "databaseMapping: the backup holds one database; name the target in target.database"
                    .into(),
            );
        } else if let Some(magic) = magic {
            if !head.starts_with(magic) {
                return Err(format!(
                    "verification failed: the backup is not a {} dump for this target",
                    String::from_utf8_lossy(magic).trim_end_matches('\0')
                ));
            }
        }
        if !multi {
            task.progress
                .bytes_in
                .fetch_add(head.len() as u64, Ordering::Relaxed);
            copy_counting(&mut decoded, &mut io::sink(), &task.progress)
                .map_err(|e| format!("verification failed: {}", describe_io_error(&e)))?;
        }
    }
    // Anything after the end of the payload (e.g. appended bytes) is also an error.
    let mut rest = [0u8; 1];
    if hashed.read(&mut rest).map_err(|e| e.to_string())? != 0 {
        return Err("verification failed: unexpected data after the end of the backup".into());
    }
    Ok(hashed.finish())
}

/// A reader that counts what passes through into `bytes_in` (and stops on cancel).
struct CountingWrite<'p, R> {
    inner: R,
    progress: &'p Progress,
}

impl<R: Read> Read for CountingWrite<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.progress.cancelled.load(Ordering::Relaxed) {
            return Err(stream::cancelled());
        }
        let n = self.inner.read(buf)?;
        self.progress
            .bytes_in
            .fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Every `databaseMapping` key must be a database of the archive; targets must be distinct.
fn check_mapping(plan: &RestorePlan, databases: &[String]) -> Result<(), String> {
    let Some(mapping) = &plan.database_mapping else {
        return Ok(());
    };
    for source in mapping.keys() {
        if !databases.contains(source) {
            return Err(format!(
                "databaseMapping: the backup has no database {source:?} (it has: {})",
                databases.join(", ")
            ));
        }
    }
    Ok(())
}

/// Restores a multi-database archive: all databases under their names, or the
/// `databaseMapping` keys under the mapped names. The first database's archive head decides
/// the tools and the version check before anything is created.
fn run_restore_multi(
    config: &Config,
    task: &Task,
    plan: &RestorePlan,
    payload: impl Read,
) -> Result<Value, String> {
    let mut restored = Vec::new();
    let mut preflight: Option<crate::engines::Preflight> = None;
    let target_name = |name: &str| -> Option<String> {
        match &plan.database_mapping {
            None => Some(name.to_owned()),
            Some(m) => m.get(name).cloned(),
        }
    };
    let manifest = crate::multi::restore_each(
        payload,
        |name| target_name(name).is_some(),
        |name, reader| {
            let Some(to) = target_name(name) else {
                return Ok(());
            };
            let target = plan.target.for_database(name, &to)?;
            let mut head = Vec::with_capacity(HEAD_BYTES);
            reader
                .take(HEAD_BYTES as u64)
                .read_to_end(&mut head)
                .map_err(|e| format!("restore stream: {}", describe_io_error(&e)))?;
            task.set_stage("preparing");
            let pre = target.preflight(config, &head, plan.force, &task.slot)?;
            if plan.create_database {
                target.prepare(&pre, plan.privileged.as_ref(), &task.slot)?;
            }
            task.set_stage("restoring");
            task.log("info", &format!("restoring database {name} into {to}"));
            let mut restore = target.start_restore(config, &pre, &task.slot)?;
            let before = task.progress.bytes_in.load(Ordering::Relaxed);
            task.progress
                .bytes_in
                .fetch_add(head.len() as u64, Ordering::Relaxed);
            let copied = restore
                .writer()
                .write_all(&head)
                .and_then(|()| copy_counting(reader, restore.writer(), &task.progress));
            if task.progress.cancelled.load(Ordering::SeqCst) {
                return Err("cancelled".into());
            }
            if let Err(e) = copied {
                let tool = target.finish_restore(restore, &task.slot).err();
                return Err(match tool {
                    Some(tool) if e.kind() == io::ErrorKind::BrokenPipe => {
                        format!("{name} → {to}: {tool}")
                    }
                    _ => format!("{name} → {to}: restore stream: {}", describe_io_error(&e)),
                });
            }
            target
                .finish_restore(restore, &task.slot)
                .map_err(|e| format!("{name} → {to}: {e}"))?;
            let bytes = task.progress.bytes_in.load(Ordering::Relaxed) - before;
            restored.push(json!({"source": name, "target": to, "bytes": bytes}));
            preflight.get_or_insert(pre);
            Ok(())
        },
    )?;
    Ok(json!({
        "objectName": plan.object_name,
        "bytesRestored": task.progress.bytes_in.load(Ordering::Relaxed),
        "verified": plan.verify,
        "databases": restored,
        "serverVersion": manifest.server_version,
        "targetVersion": preflight.as_ref().and_then(|p| p.target_version()),
    }))
}

fn copy_counting(
    reader: &mut dyn Read,
    writer: &mut dyn Write,
    progress: &Progress,
) -> io::Result<u64> {
    let mut buf = vec![0u8; 128 * 1024];
    let mut total = 0u64;
    loop {
        if progress.cancelled.load(Ordering::Relaxed) {
            return Err(stream::cancelled());
        }
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        writer.write_all(&buf[..n])?;
        total += n as u64;
        progress.bytes_in.fetch_add(n as u64, Ordering::Relaxed);
    }
    writer.flush()?;
    Ok(total)
}

/// Creates a task object for in-process use (tests, tools) without a registry.
pub fn detached_task(kind: &'static str) -> Task {
    Task {
        id: String::new(),
        kind,
        execution_id: None,
        progress: Progress::default(),
        slot: ChildSlot::default(),
        state: Mutex::new(TaskState {
            status: Status::Running,
            stage: "queued",
            error: None,
            result: None,
            finished: None,
        }),
        events: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(sanitize("../etc"), "_etc");
        assert_eq!(sanitize("my db"), "my_db");
        assert_eq!(
            compression_from_name("a/b_x.dump.zst.dbk"),
            Compression::Zstd
        );
        assert_eq!(compression_from_name("a/b_x.sql.gz"), Compression::Gzip);
        assert_eq!(compression_from_name("a/b_x.rdb"), Compression::None);
    }
}
