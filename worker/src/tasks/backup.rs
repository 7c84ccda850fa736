//! Backups: [`BackupPlan`] validates a [`BackupRequest`] and names the object
//! `<prefix>/<job>/<timestamp>_<db>.<ext>[.gz|.zst|.br][.dbk]`; [`run_backup`] streams the dump
//! through compress → encrypt → hash into every destination at once and writes the sidecar.

use std::io::{self, Write};
use std::sync::atomic::Ordering;

use dbackup_protocol::events::LogLevel;
use dbackup_protocol::sidecar::{sidecar_name, SidecarEncryption, SIDECAR_VERSION};
use dbackup_protocol::tasks::{
    BackupRequest, BackupResult, DestinationReport, DestinationSpec, Stage, TaskKind, TaskResult,
    VerificationStatus,
};
use dbackup_protocol::{Compression, Sidecar, ENCRYPTED_SUFFIX};
use serde_json::{json, Value};

use super::registry::{start, Registry, Task};
use super::verify::{verify_destinations, Target};
use super::{encryption_key, plan_callback, TaskCallback};
use crate::engines::Source;
use crate::error::Error;
use crate::format::BackupKey;
use crate::storage::{self as storage_mod, LocalRoots, ObjectWriter, SpecChecks, Storage};
use crate::stream::{self, describe_io_error};
use crate::Config;

/// Most destinations one backup may have.
pub const MAX_DESTINATIONS: usize = 16;

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

/// Dump warnings logged one by one; the rest are counted (the manifest lists them all).
const MAX_WARNINGS: usize = 50;

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
    callback: Option<TaskCallback>,
    /// Read every object back after upload (`verifyAfterUpload`, default on).
    verify: bool,
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
        let key = req.encryption.as_ref().map(encryption_key).transpose()?;
        if key
            .as_ref()
            .is_some_and(|k| k.kind() == crate::format::KeyKind::Private)
        {
            // A write-only profile sends its public key; a private key never belongs here.
            return Err(Error::InvalidBody(
                "encryption.keyKind: a backup is sealed with a symmetric or a public key, not a private key"
                    .into(),
            ));
        }
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
            verify: req.verify_after_upload.unwrap_or(true),
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
        TaskKind::Backup,
        execution_id,
        callback,
        move |c, t| run_backup(c, t, &plan),
    )
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

    fn report(&self) -> DestinationReport {
        match &self.error {
            None => DestinationReport::stored(&self.id, self.location.clone()),
            Some(e) => DestinationReport::failed(&self.id, e),
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
pub fn run_backup(config: &Config, task: &Task, plan: &BackupPlan) -> Result<TaskResult, String> {
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
                LogLevel::Info,
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
    task.set_stage(Stage::Dumping);
    task.log(
        LogLevel::Info,
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
    let mut warnings = None;
    let streamed = match &plan.multi {
        None => {
            let dump = plan.source.start_dump(config, &task.slot)?;
            if dump.tool_version.is_some() {
                tool_version = dump.tool_version;
            }
            server_version = dump.server_version;
            if let Some(v) = &server_version {
                task.log(
                    LogLevel::Info,
                    &format!(
                        "server version {v}; using {}",
                        tool_version.as_deref().unwrap_or("?")
                    ),
                );
            }
            process = dump.process;
            warnings = dump.warnings;
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
            task.log(
                LogLevel::Info,
                &format!("databases: {}", databases.join(", ")),
            );
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
    // A files source: entries skipped, files that shrank while read (named, in the manifest).
    let warnings = warnings.map(|w| w.take()).unwrap_or_default();
    for line in warnings.iter().take(MAX_WARNINGS) {
        task.log(LogLevel::Warning, line);
    }
    if warnings.len() > MAX_WARNINGS {
        task.log(
            LogLevel::Warning,
            &format!(
                "… and {} more (every one is in the archive's manifest)",
                warnings.len() - MAX_WARNINGS
            ),
        );
    }
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
    task.set_stage(Stage::Storing);
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

    if plan.verify {
        task.set_stage(Stage::Verifying);
    }
    let targets: Vec<Target<'_>> = dests
        .iter()
        .map(|d| Target {
            id: &d.id,
            storage: d.storage.as_deref().filter(|_| d.error.is_none()),
        })
        .collect();
    let written = stream::Written {
        size: summary.bytes_out,
        sha256: &summary.sha256,
    };
    let checks = verify_destinations(
        &targets,
        &object_name,
        plan.key.as_ref(),
        written,
        plan.verify,
        &task.progress.cancelled,
    );
    drop(targets);
    // A cancel during the read-back comes after every object was committed: the backup
    // stands, unverified.
    let cancelled = task.progress.cancelled.load(Ordering::SeqCst);
    let mut verification = Vec::with_capacity(checks.len());
    for (dest, (mut check, secs)) in dests.iter_mut().zip(checks) {
        if cancelled && check.status == VerificationStatus::Failed {
            check.status = VerificationStatus::Skipped;
            check.detail = "cancelled before the read-back finished".into();
        }
        match check.status {
            VerificationStatus::Verified => task.log(
                LogLevel::Info,
                &format!("{}: verified in {secs:.2} s ({})", dest.id, check.detail),
            ),
            VerificationStatus::Failed => {
                // The object stays where it is (evidence); without a sidecar and with the
                // destination failed, the execution says not to rely on it.
                dest.fail(format!(
                    "verification after upload failed: {}",
                    check.detail
                ));
            }
            VerificationStatus::Skipped => {}
        }
        verification.push(check);
    }

    let sidecar = Sidecar {
        version: SIDECAR_VERSION,
        engine: plan.source.engine().to_owned(),
        engine_tool_version: tool_version,
        server_version,
        database: plan.multi.is_none().then(|| plan.source.database()),
        databases,
        job_name: plan.job_name.clone(),
        execution_id: task.execution_id.clone(),
        object_name: object_name.clone(),
        format: if plan.multi.is_some() {
            "tar"
        } else {
            plan.source.extension()
        }
        .to_owned(),
        compression: plan.compression,
        compression_level: plan.level,
        encryption: plan
            .key
            .as_ref()
            .map(|k| SidecarEncryption::dbkenc01(k.fingerprint_hex())),
        dump_size: summary.bytes_in,
        size: summary.bytes_out,
        sha256: summary.sha256.clone(),
        created_at: started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        app_version: env!("CARGO_PKG_VERSION").to_owned(),
        locked: false,
        meta: plan.meta.clone(),
        extra: Default::default(),
    };
    let meta_name = sidecar_name(&object_name);
    let meta_text = sidecar.to_pretty_json();
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
    Ok(TaskResult::Backup(BackupResult {
        object_name,
        meta_name,
        path: first_ok.and_then(|d| d.location.clone()),
        size: summary.bytes_out,
        dump_size: summary.bytes_in,
        sha256: summary.sha256,
        engine_tool_version: sidecar.engine_tool_version,
        server_version: sidecar.server_version,
        destinations: dests.iter().map(Dest::report).collect(),
        warning: (!warnings.is_empty()).then(|| warnings.join("; ")),
        verification,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(sanitize("../etc"), "_etc");
        assert_eq!(sanitize("my db"), "my_db");
    }
}
