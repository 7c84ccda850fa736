//! Restores: [`RestorePlan`] validates a [`RestoreRequest`]; [`run_restore`] verifies the whole
//! object first (every chunk authenticated, the expected SHA-256), reads the payload's head to
//! pick the tools and check versions, then streams it into the target — one database, or each
//! database of a multi-database archive under its mapped name.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use dbackup_protocol::events::LogLevel;
use dbackup_protocol::sidecar::{sidecar_name, MAX_SIDECAR_BYTES};
use dbackup_protocol::tasks::{
    MultiRestoreResult, Privileged, RestoreRequest, RestoreResult, RestoredDatabase, Stage,
    TaskKind, TaskResult,
};
use dbackup_protocol::{Compression, Sidecar, ENCRYPTED_SUFFIX};
use serde_json::{json, Value};

use super::registry::{start, Registry, Task};
use super::{encryption_key, plan_callback, TaskCallback};
use crate::engines::{Preflight, Target};
use crate::error::Error;
use crate::format::BackupKey;
use crate::import_dbackup;
use crate::storage::{self as storage_mod, SpecChecks, Storage, StorageSpec};
use crate::stream::{self, describe_io_error, HashReader, Progress};
use crate::Config;
use dbackup_protocol::dbackup::{DbackupImport, DbackupMeta};
use std::sync::OnceLock;

/// Bytes of a restore's payload read before the target is touched (format header checks).
const HEAD_BYTES: usize = 4096;

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
    database_mapping: Option<BTreeMap<String, String>>,
    privileged: Option<Privileged>,
    target_database_given: bool,
    expected_sha256: Option<String>,
    /// The object must be a `DBKENC01` container: a key was given or its name ends in `.dbk`
    /// (its sidecar can add the requirement at run time, never lift it).
    container_required: bool,
    /// A DBackup object (`crate::import_dbackup`): its key, if any, and the caller's consent to
    /// an unauthenticated one.
    dbackup: Option<DbackupPlan>,
    callback: Option<TaskCallback>,
}

/// [`RestorePlan::dbackup`].
struct DbackupPlan {
    key: Option<[u8; 32]>,
    accept_unauthenticated: bool,
    /// Its sidecar, read when the task starts.
    meta: OnceLock<DbackupMeta>,
}

fn dbackup_plan(spec: &DbackupImport) -> Result<DbackupPlan, Error> {
    let key = match &spec.key_hex {
        None => None,
        Some(h) => Some(
            hex::decode(h.trim())
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| {
                    Error::InvalidBody("dbackup.keyHex: must be 64 hex characters".into())
                })?,
        ),
    };
    Ok(DbackupPlan {
        key,
        accept_unauthenticated: spec.accept_unauthenticated,
        meta: OnceLock::new(),
    })
}

/// Reads and checks a DBackup object's sidecar (required: it holds the IV and the tag), and
/// refuses before anything is read what the plan cannot restore.
fn load_dbackup_meta(storage: &dyn Storage, name: &str, plan: &DbackupPlan) -> Result<(), String> {
    let reader = storage
        .get(&sidecar_name(name))
        .map_err(|e| format!("the DBackup object's sidecar {}: {e}", sidecar_name(name)))?;
    let mut text = Vec::new();
    reader
        .take(MAX_SIDECAR_BYTES)
        .read_to_end(&mut text)
        .map_err(|e| format!("reading the DBackup sidecar: {}", describe_io_error(&e)))?;
    let value: Value =
        serde_json::from_slice(&text).map_err(|_| "the DBackup sidecar is not JSON".to_owned())?;
    let meta = DbackupMeta::parse(&value).map_err(|e| format!("the DBackup sidecar: {e}"))?;
    match (&meta.encryption, plan.key) {
        (Some(_), None) => {
            return Err(
                "the DBackup object is encrypted: choose the \"DBackup import\" profile \
                        holding its key"
                    .into(),
            )
        }
        (None, Some(_)) => {
            return Err(
                "the DBackup sidecar says the object is not encrypted, but a key was \
                        given: refused (a sidecar cannot lift the requirement)"
                    .into(),
            )
        }
        (None, None) if !plan.accept_unauthenticated => {
            return Err(
                "the DBackup object is not encrypted, so nothing authenticates it: \
                        restore it only with acceptUnauthenticated: true"
                    .into(),
            )
        }
        _ => {}
    }
    let _ = plan.meta.set(meta);
    Ok(())
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
        let key = req.encryption.as_ref().map(encryption_key).transpose()?;
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
            .unwrap_or_else(|| Compression::from_object_name(&req.source.object_name));
        let container_required =
            key.is_some() || req.source.object_name.ends_with(ENCRYPTED_SUFFIX);
        let dbackup = req.dbackup.as_ref().map(dbackup_plan).transpose()?;
        if dbackup.is_some() && container_required {
            return Err(Error::InvalidBody(
                "dbackup: a DBackup object is never a DBKENC01 container (no encryption key, no .dbk name)"
                    .into(),
            ));
        }
        if let (Some((_, secrets)), Some(k)) = (&mut callback, &req.dbackup) {
            secrets.extend(k.key_hex.clone());
        }
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
            dbackup,
            callback,
        })
    }
}

impl RestorePlan {
    /// The payload of the stored bytes `reader` yields: decrypted (a container is required
    /// when `container_required`) and decompressed.
    fn open_payload<'a, R: Read + Send + 'a>(
        &self,
        reader: R,
        container_required: bool,
    ) -> Result<Box<dyn Read + Send + 'a>, String> {
        if let Some(d) = &self.dbackup {
            let meta = d.meta.get().ok_or("the DBackup sidecar was not read")?;
            return import_dbackup::open(reader, meta, d.key.as_ref(), d.accept_unauthenticated);
        }
        stream::open_restore_stream_requiring(
            reader,
            self.key.as_ref(),
            self.compression_hint,
            container_required,
        )
        .map(|(_, decoded)| decoded)
        .map_err(|e| e.to_string())
    }
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
        TaskKind::Restore,
        execution_id,
        callback,
        move |c, t| run_restore(c, t, &plan),
    )
}

/// Runs a restore to completion on the current (blocking) thread.
pub fn run_restore(config: &Config, task: &Task, plan: &RestorePlan) -> Result<TaskResult, String> {
    let storage = storage_mod::open(&plan.storage, &config.local_roots)
        .map_err(|e| format!("storage: {e}"))?;
    let open = || -> Result<Box<dyn Read + Send>, String> {
        storage
            .get(&plan.object_name)
            .map_err(|e| format!("cannot open {}: {e}", plan.object_name))
    };
    let magic = plan.target.payload_magic();
    if let Some(d) = &plan.dbackup {
        load_dbackup_meta(storage.as_ref(), &plan.object_name, d)?;
    }
    // Storage is not trusted: where an encrypted backup is expected, a plaintext object is
    // someone else's dump. The sidecar may say so too (it can only add the requirement).
    let container_required =
        plan.container_required || sidecar_says_encrypted(storage.as_ref(), &plan.object_name);
    let mut verified_sha = None;
    // A DBackup object's one tag covers all of it: always read it whole first.
    if plan.verify || plan.dbackup.is_some() {
        task.set_stage(Stage::Verifying);
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
    let mut decoded = plan.open_payload(reader, container_required)?;
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
            result.sha256 = verified_sha.map(|(_, s)| s);
            TaskResult::RestoreMulti(result)
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
    task.set_stage(Stage::Preparing);
    let preflight = plan
        .target
        .preflight(config, &head, plan.force, &task.slot)?;
    if let (Some(source), Some(target)) = (preflight.source_version(), preflight.target_version()) {
        task.log(
            LogLevel::Info,
            &format!("dump of server {source}, target server {target}"),
        );
    }
    if plan.create_database {
        target.prepare(&preflight, plan.privileged.as_ref(), &task.slot)?;
    }
    task.set_stage(Stage::Restoring);
    task.log(LogLevel::Info, &format!("restoring {}", plan.object_name));
    let safety_copy = stream_into(config, task, target, &preflight, &head, &mut decoded, |e| e)?;
    Ok(TaskResult::Restore(RestoreResult {
        object_name: plan.object_name.clone(),
        bytes_restored: task.progress.bytes_in.load(Ordering::Relaxed),
        verified: plan.verify || plan.dbackup.is_some(),
        sha256: verified_sha.map(|(_, s)| s),
        safety_copy,
    }))
}

/// Whether `<name>.meta.json` says the object is encrypted. A missing, unreadable or odd
/// sidecar says nothing (the object is restorable without it).
fn sidecar_says_encrypted(storage: &dyn Storage, name: &str) -> bool {
    let Ok(reader) = storage.get(&sidecar_name(name)) else {
        return false;
    };
    let mut text = Vec::new();
    reader
        .take(MAX_SIDECAR_BYTES)
        .read_to_end(&mut text)
        .is_ok()
        && Sidecar::says_encrypted(&text)
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
        let mut decoded = plan.open_payload(counted, container_required)?;
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
) -> Result<MultiRestoreResult, String> {
    let mut restored = Vec::new();
    let mut preflight: Option<Preflight> = None;
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
            task.set_stage(Stage::Preparing);
            let pre = target.preflight(config, &head, plan.force, &task.slot)?;
            if plan.create_database {
                target.prepare(&pre, plan.privileged.as_ref(), &task.slot)?;
            }
            task.set_stage(Stage::Restoring);
            task.log(
                LogLevel::Info,
                &format!("restoring database {name} into {to}"),
            );
            let before = task.progress.bytes_in.load(Ordering::Relaxed);
            stream_into(config, task, &target, &pre, &head, reader, |e| {
                format!("{name} → {to}: {e}")
            })?;
            let bytes = task.progress.bytes_in.load(Ordering::Relaxed) - before;
            restored.push(RestoredDatabase {
                source: name.to_owned(),
                target: to,
                bytes,
            });
            preflight.get_or_insert(pre);
            Ok(())
        },
    )?;
    Ok(MultiRestoreResult {
        object_name: plan.object_name.clone(),
        bytes_restored: task.progress.bytes_in.load(Ordering::Relaxed),
        verified: plan.verify || plan.dbackup.is_some(),
        databases: restored,
        server_version: manifest.server_version,
        target_version: preflight
            .as_ref()
            .and_then(|p| p.target_version())
            .map(str::to_owned),
        sha256: None,
    })
}

/// Starts the target's restore, writes `head` and the rest of `payload` into it and finishes
/// it; returns the safety copy, if any. Stream and tool errors go through `context` (the
/// tool's own error wins when it stopped reading first); a cancel is plain `cancelled`.
fn stream_into(
    config: &Config,
    task: &Task,
    target: &Target,
    preflight: &Preflight,
    head: &[u8],
    payload: &mut dyn Read,
    context: impl Fn(String) -> String,
) -> Result<Option<PathBuf>, String> {
    let mut restore = target.start_restore(config, preflight, &task.slot)?;
    task.progress
        .bytes_in
        .fetch_add(head.len() as u64, Ordering::Relaxed);
    let copied = restore
        .writer()
        .write_all(head)
        .and_then(|()| copy_counting(payload, restore.writer(), &task.progress));
    if task.progress.cancelled.load(Ordering::SeqCst) {
        return Err("cancelled".into());
    }
    if let Err(e) = copied {
        let tool = target.abort_restore(restore, &task.slot);
        return Err(context(match tool {
            Some(tool) if e.kind() == io::ErrorKind::BrokenPipe => tool,
            _ => format!("restore stream: {}", describe_io_error(&e)),
        }));
    }
    target.finish_restore(restore, &task.slot).map_err(context)
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
