//! Backup and restore tasks: request parsing, the in-memory task registry, and the blocking
//! runners that connect an engine, the stream stages and a storage.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::path::PathBuf;
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
use crate::storage::{LocalStorage, Storage};
use crate::stream::{self, describe_io_error, HashReader, Progress};
use crate::Config;

/// Tasks allowed to run at once; more get 429.
pub const MAX_RUNNING_TASKS: usize = 4;
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

/// Local-directory destination of a backup.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LocalDestination {
    /// Storage kind; only `local` so far.
    pub kind: String,
    /// Absolute base directory.
    pub base_dir: PathBuf,
    /// Optional object-name prefix (`/`-separated).
    #[serde(default)]
    pub prefix: String,
    /// Job name (a path segment of the object name).
    pub job_name: String,
}

/// `POST /v1/backups` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackupRequest {
    /// The host's execution id, echoed back.
    pub execution_id: Option<String>,
    /// Engine connection (see the engine modules).
    pub source: Value,
    /// NONE, GZIP, ZSTD or BROTLI.
    pub compression: Compression,
    /// Level; default per algorithm.
    pub compression_level: Option<i32>,
    /// Encryption; absent = none.
    pub encryption: Option<EncryptionSpec>,
    /// Where to store.
    pub destination: LocalDestination,
    /// Object timestamp (`YYYY-MM-DDTHH-MM-SSZ`); default now.
    pub timestamp: Option<String>,
    /// Where to send signed events; absent = poll-only.
    pub callback: Option<CallbackSpec>,
}

/// Location of a stored object.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LocalObject {
    /// Storage kind; only `local` so far.
    pub kind: String,
    /// Absolute base directory.
    pub base_dir: PathBuf,
    /// Object name relative to the base.
    pub object_name: String,
}

/// `POST /v1/restores` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RestoreRequest {
    /// The host's execution id, echoed back.
    pub execution_id: Option<String>,
    /// The backup object.
    pub source: LocalObject,
    /// Key for encrypted objects.
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
        let event = self.events.as_ref().map(|events| {
            events.progress(&self.progress);
            let (status, error) = match &outcome {
                Ok(_) => (Status::Succeeded, None),
                Err(_) if cancelled => (Status::Cancelled, Some("cancelled".to_owned())),
                Err(e) => (Status::Failed, Some(e.clone())),
            };
            if let Some(e) = &error {
                events.log(if cancelled { "warning" } else { "error" }, e);
            }
            let result = outcome.as_ref().ok();
            if let Some(warning) = result.and_then(|r| r["warning"].as_str()) {
                events.log("warning", warning);
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
                "path": path,
                "error": error,
                "result": result,
            })
        });
        if let Ok(mut s) = self.state.lock() {
            s.finished = Some(Instant::now());
            match outcome {
                Ok(result) => {
                    s.status = Status::Succeeded;
                    s.stage = "done";
                    s.result = Some(result);
                }
                Err(_) if cancelled => {
                    s.status = Status::Cancelled;
                    s.error = Some("cancelled".into());
                }
                Err(e) => {
                    s.status = Status::Failed;
                    s.error = Some(e);
                }
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
        if tasks.values().filter(|t| t.is_running()).count() >= MAX_RUNNING_TASKS {
            return Err(Error::TooManyTasks);
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
    compression: Compression,
    level: Option<i32>,
    key: Option<BackupKey>,
    base_dir: PathBuf,
    object_name: String,
    job_name: String,
    callback: Option<(Callback, Vec<String>)>,
}

impl BackupPlan {
    /// Validates a request; computes the object name
    /// `<prefix>/<job>/<timestamp>_<db>.<ext>[.gz|.zst|.br][.dbk]`.
    pub fn new(req: BackupRequest) -> Result<Self, Error> {
        let callback = plan_callback(req.callback.as_ref(), &req.source, req.encryption.as_ref())?;
        let source = Source::from_value(req.source)?;
        stream::Compressor::<io::Sink>::new(req.compression, req.compression_level, io::sink())
            .map_err(|e| Error::InvalidBody(format!("compressionLevel: {e}")))?;
        let key = req
            .encryption
            .as_ref()
            .map(EncryptionSpec::key)
            .transpose()?;
        let dest = req.destination;
        if dest.kind != "local" {
            return Err(Error::InvalidBody(format!(
                "destination.kind: unsupported storage {:?} (only \"local\")",
                dest.kind.chars().take(32).collect::<String>()
            )));
        }
        if !dest.base_dir.is_absolute() {
            return Err(Error::InvalidBody(
                "destination.baseDir: must be absolute".into(),
            ));
        }
        if dest.job_name.is_empty() {
            return Err(Error::InvalidBody(
                "destination.jobName: must not be empty".into(),
            ));
        }
        let timestamp = match req.timestamp {
            Some(t) => sanitize(&t),
            None => chrono::Utc::now().format("%Y-%m-%dT%H-%M-%SZ").to_string(),
        };
        let mut name = String::new();
        for segment in dest.prefix.split('/').filter(|s| !s.is_empty()) {
            name.push_str(&sanitize(segment));
            name.push('/');
        }
        name.push_str(&sanitize(&dest.job_name));
        name.push('/');
        name.push_str(&format!(
            "{timestamp}_{}.{}{}{}",
            sanitize(&source.database()),
            source.extension(),
            req.compression.suffix(),
            if key.is_some() { ENCRYPTED_SUFFIX } else { "" }
        ));
        crate::storage::validate_name(&name).map_err(|e| Error::InvalidBody(e.to_string()))?;
        Ok(BackupPlan {
            source,
            compression: req.compression,
            level: req.compression_level,
            key,
            base_dir: dest.base_dir,
            object_name: name,
            job_name: dest.job_name,
            callback,
        })
    }
}

/// A validated restore.
pub struct RestorePlan {
    target: Target,
    key: Option<BackupKey>,
    compression_hint: Compression,
    base_dir: PathBuf,
    object_name: String,
    create_database: bool,
    verify: bool,
    expected_sha256: Option<String>,
    callback: Option<(Callback, Vec<String>)>,
}

impl RestorePlan {
    /// Validates a request.
    pub fn new(req: RestoreRequest) -> Result<Self, Error> {
        let callback = plan_callback(req.callback.as_ref(), &req.target, req.encryption.as_ref())?;
        let target = Target::from_value(req.target)?;
        let key = req
            .encryption
            .as_ref()
            .map(EncryptionSpec::key)
            .transpose()?;
        if req.source.kind != "local" {
            return Err(Error::InvalidBody(
                "source.kind: only \"local\" is supported".into(),
            ));
        }
        if !req.source.base_dir.is_absolute() {
            return Err(Error::InvalidBody(
                "source.baseDir: must be absolute".into(),
            ));
        }
        crate::storage::validate_name(&req.source.object_name)
            .map_err(|e| Error::InvalidBody(format!("source.objectName: {e}")))?;
        let compression_hint = req
            .compression
            .unwrap_or_else(|| compression_from_name(&req.source.object_name));
        Ok(RestorePlan {
            target,
            key,
            compression_hint,
            base_dir: req.source.base_dir,
            object_name: req.source.object_name,
            create_database: req.create_database.unwrap_or(true),
            verify: req.verify.unwrap_or(true),
            expected_sha256: req.expected_sha256.map(|s| s.to_ascii_lowercase()),
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
    let task = registry.insert(kind, execution_id, callback)?;
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

/// Runs a backup to completion on the current (blocking) thread.
pub fn run_backup(config: &Config, task: &Task, plan: &BackupPlan) -> Result<Value, String> {
    let started = chrono::Utc::now();
    let storage = LocalStorage::new(&plan.base_dir).map_err(|e| format!("storage: {e}"))?;
    let tool_version = plan.source.tool_version(config);
    task.set_stage("dumping");
    task.log(
        "info",
        &format!(
            "dumping {} database {} to {}",
            plan.source.engine(),
            plan.source.database(),
            plan.object_name
        ),
    );
    let dump = plan.source.start_dump(config, &task.slot)?;
    let mut process = dump.process;
    let mut writer = match storage.put(&plan.object_name) {
        Ok(w) => w,
        Err(e) => return Err(format!("storage: {e}")),
    };
    let streamed = stream::run_backup_stream(
        dump.reader,
        plan.compression,
        plan.level,
        plan.key.as_ref(),
        &mut writer,
        &task.progress,
    );
    if streamed.is_err() {
        if let Some(p) = process.as_mut() {
            p.kill();
        }
    }
    let waited = process.map(|p| p.wait(&task.slot)).transpose();
    if task.progress.cancelled.load(Ordering::SeqCst) {
        return Err("cancelled".into()); // `writer` drops here: the partial is removed
    }
    let summary = streamed.map_err(|e| format!("backup stream: {}", describe_io_error(&e)))?;
    waited?;
    if summary.bytes_in == 0 {
        return Err("the dump tool produced no output".into());
    }
    task.set_stage("storing");
    writer.commit().map_err(|e| format!("storage: {e}"))?;

    let meta = json!({
        "version": 1,
        "engine": plan.source.engine(),
        "engineToolVersion": tool_version,
        "database": plan.source.database(),
        "jobName": plan.job_name,
        "executionId": task.execution_id,
        "objectName": plan.object_name,
        "format": plan.source.extension(),
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
    });
    let meta_name = format!("{}{META_SUFFIX}", plan.object_name);
    // The object is restorable without its sidecar, so a sidecar failure is reported, not fatal.
    let meta_error = storage
        .put(&meta_name)
        .and_then(|mut w| {
            w.write_all(
                serde_json::to_string_pretty(&meta)
                    .unwrap_or_default()
                    .as_bytes(),
            )?;
            w.commit()
        })
        .err()
        .map(|e| format!("metadata sidecar not written: {e}"));
    Ok(json!({
        "objectName": plan.object_name,
        "metaName": meta_name,
        "path": storage.base().join(&plan.object_name),
        "size": summary.bytes_out,
        "dumpSize": summary.bytes_in,
        "sha256": summary.sha256,
        "engineToolVersion": meta["engineToolVersion"],
        "warning": meta_error,
    }))
}

/// Runs a restore to completion on the current (blocking) thread.
pub fn run_restore(config: &Config, task: &Task, plan: &RestorePlan) -> Result<Value, String> {
    let storage = LocalStorage::new(&plan.base_dir).map_err(|e| format!("storage: {e}"))?;
    let open = || -> Result<Box<dyn Read + Send>, String> {
        storage
            .get(&plan.object_name)
            .map_err(|e| format!("cannot open {}: {e}", plan.object_name))
    };
    let magic = plan.target.payload_magic();
    let mut verified_sha = None;
    if plan.verify {
        task.set_stage("verifying");
        let hashed = HashReader::new(open()?);
        let (count, sha) = verify_stream(hashed, plan, magic, task)?;
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
    if plan.create_database {
        task.set_stage("preparing");
        plan.target.prepare(config, &task.slot)?;
    }
    task.set_stage("restoring");
    task.log("info", &format!("restoring {}", plan.object_name));
    let reader =
        stream::CountingReader::new(open()?, &task.progress.bytes_out, &task.progress.cancelled);
    let (_, mut decoded) =
        stream::open_restore_stream(reader, plan.key.as_ref(), plan.compression_hint)
            .map_err(|e| e.to_string())?;
    let mut restore = plan.target.start_restore(config, &task.slot)?;
    let copied = copy_counting(&mut decoded, restore.writer(), &task.progress);
    if task.progress.cancelled.load(Ordering::SeqCst) {
        return Err("cancelled".into());
    }
    if let Err(e) = copied {
        // Let the tool report its own error if it stopped reading first.
        let tool = plan.target.finish_restore(restore, &task.slot).err();
        return Err(match tool {
            Some(tool) if e.kind() == io::ErrorKind::BrokenPipe => tool,
            _ => format!("restore stream: {}", describe_io_error(&e)),
        });
    }
    let safety_copy = plan.target.finish_restore(restore, &task.slot)?;
    Ok(json!({
        "objectName": plan.object_name,
        "bytesRestored": task.progress.bytes_in.load(Ordering::Relaxed),
        "verified": plan.verify,
        "sha256": verified_sha.map(|(_, s)| s),
        "safetyCopy": safety_copy,
    }))
}

/// The verification pass: authenticate every chunk and decompress everything to nowhere.
fn verify_stream<R: Read + Send>(
    hashed: HashReader<R>,
    plan: &RestorePlan,
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
        let (_, mut decoded) =
            stream::open_restore_stream(counted, plan.key.as_ref(), plan.compression_hint)
                .map_err(|e| e.to_string())?;
        let mut head = Vec::new();
        (&mut decoded)
            .take(16)
            .read_to_end(&mut head)
            .map_err(|e| format!("verification failed: {}", describe_io_error(&e)))?;
        if let Some(magic) = magic {
            if !head.starts_with(magic) {
                return Err(format!(
                    "verification failed: the backup is not a {} dump for this target",
                    String::from_utf8_lossy(magic).trim_end_matches('\0')
                ));
            }
        }
        task.progress
            .bytes_in
            .fetch_add(head.len() as u64, Ordering::Relaxed);
        copy_counting(&mut decoded, &mut io::sink(), &task.progress)
            .map_err(|e| format!("verification failed: {}", describe_io_error(&e)))?;
    }
    // Anything after the end of the payload (e.g. appended bytes) is also an error.
    let mut rest = [0u8; 1];
    if hashed.read(&mut rest).map_err(|e| e.to_string())? != 0 {
        return Err("verification failed: unexpected data after the end of the backup".into());
    }
    Ok(hashed.finish())
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
