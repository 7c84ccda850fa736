//! Running a config backup and restoring one, with the worker behind the [`Worker`] client
//! (the components pass `dbackup_web::worker::SpinWorker`; tests the fake). The worker seals
//! and unseals (docs/CONTRACTS.md "v3 additions"): the container format stays in one place.

use base64::Engine;
use chrono::{DateTime, Utc};
use dbackup_adapters_core::notify::{send_to_channel, Deliver};
use dbackup_adapters_core::{Notification, Status};
use dbackup_core::db::Db;
use dbackup_core::worker::{Method, Refusal, Worker};
use dbackup_core::ApiError;
use dbackup_identity::secretbox::SecretBox;
use dbackup_identity::{settings, IdentityError, Principal};
use dbackup_protocol::seal::UnsealRequest;
use dbackup_protocol::storage::{
    GetRequest, ListRequest, NameRequest, PutRequest, SealedPut, StorageSpec,
};
use dbackup_protocol::tasks::EncryptionSpec;
use dbackup_protocol::Compression;
use dbackup_vault_core as vault;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::objects::{self, ConfigBackupItem, ConfigBackupList};
use crate::restore::{check_worker_paths, parse_document, restore, RestoreReport};
use crate::setting::{self, LastRun};
use crate::{export, ExportOptions};

/// Largest config backup read back for a restore (the worker's unseal limit).
pub const MAX_BACKUP_BYTES: usize = 32 * 1024 * 1024;

/// `POST /api/system/config-backup` (201).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RunResult {
    pub object_name: String,
    pub size: u64,
    pub sha256: String,
    pub destination_id: String,
    pub encrypted: bool,
    /// Entities exported, per kind.
    pub counts: Map<String, Value>,
}

/// Where a restore reads the backup from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RestoreSource {
    /// A storage adapter.
    pub destination_id: String,
    /// Object name under the destination (`config-backups/…`).
    pub name: String,
}

/// JSON body of `POST /api/system/config-restore` (an upload sends the file as the body and
/// these options in the query).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RestoreRequest {
    pub source: RestoreSource,
    #[serde(default)]
    pub dry_run: bool,
    /// The profile whose key decrypts the backup; default: found by the header's fingerprint.
    #[serde(default)]
    pub encryption_profile_id: Option<String>,
}

/// The worker's error as ours: its 404 stays a 404, its 409 (an object of that name exists: two
/// runs in the same second) a 409, 400/413/422 on unseal stay client errors, storage failures
/// are a 502 with the storage's message.
fn worker_error(what: &str, status: u16, v: &Value) -> ApiError {
    let message = v["error"].as_str().unwrap_or("worker error");
    let status = match status {
        404 => 404,
        409 => 409,
        503 => 503,
        _ => 502,
    };
    let mut e = ApiError::new(status, format!("{what}: {message}"));
    if let Some(d) = v.get("details").filter(|d| !d.is_null()) {
        e = e.with_details(d.clone());
    }
    e
}

fn json_of(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

/// [`worker_error`] of a refused typed call.
fn refused(what: &str, r: Refusal) -> ApiError {
    worker_error(what, r.status, &r.body)
}

/// POSTs `request` to the worker whose answer is bytes, not JSON (`/v1/storage/get`,
/// `/v1/unseal`): its status and raw body.
async fn fetch(
    worker: &impl Worker,
    path: &str,
    request: &impl Serialize,
) -> Result<(u16, Vec<u8>), ApiError> {
    let body = serde_json::to_vec(request)
        .map_err(|e| ApiError::internal(format!("encoding worker request: {e}")))?;
    let answer = worker.send(Method::Post, path, Some(body)).await?;
    Ok((answer.status, answer.body))
}

/// The worker StorageSpec of storage adapter `id` (404 when it is not one).
fn storage_of(db: &dyn Db, sealer: &SecretBox, id: &str) -> Result<StorageSpec, ApiError> {
    let spec = dbackup_adapters_core::destination_spec(db, sealer, id)?;
    serde_json::from_value(spec)
        .map_err(|e| ApiError::internal(format!("storage spec of destination {id}: {e}")))
}

/// The listing request of the config backups on `storage`.
fn listing(storage: &StorageSpec) -> ListRequest {
    ListRequest {
        storage: storage.clone(),
        prefix: objects::PREFIX.to_owned(),
    }
}

/// Exports, seals (gzip, encrypted when a profile is set) and uploads a config backup to the
/// configured destination, then applies keep-N. Does not record the run (see [`run_and_record`]).
pub async fn run(
    db: &dyn Db,
    sealer: &SecretBox,
    now: DateTime<Utc>,
    worker: &impl Worker,
) -> Result<RunResult, ApiError> {
    let c = setting::load(db)?;
    let destination_id = c.destination_id.clone().ok_or_else(|| {
        ApiError::bad_request("no destination configured for config backups")
            .with_details(json!({"field": "destinationId"}))
    })?;
    setting::validate(db, &c)?;
    let storage = storage_of(db, sealer, &destination_id)?;
    let encryption = match &c.encryption_profile_id {
        Some(id) => {
            // Config backups are read back by this server: a write-only profile cannot do that.
            vault::refuse_write_only(db, id, "encryptionProfileId")?;
            let (key_hex, fingerprint) = vault::key_hex(db, sealer, id)?;
            Some(EncryptionSpec {
                key_hex,
                key_fingerprint: Some(fingerprint),
                key_kind: None,
            })
        }
        None => None,
    };
    let doc = export(
        db,
        Some(sealer),
        ExportOptions {
            include_secrets: c.include_secrets,
            include_password_hashes: c.include_password_hashes,
        },
        &dbackup_jobs_core::iso(now),
    )?;
    let content = serde_json::to_string(&doc)
        .map_err(|e| ApiError::internal(format!("serializing the config document: {e}")))?;
    let encrypted = encryption.is_some();
    let name = objects::object_name(now, encrypted);
    let request = PutRequest {
        storage: storage.clone(),
        name: name.clone(),
        content,
        overwrite: false,
        compression: Some(Compression::Gzip),
        encryption,
    };
    let stored: SealedPut = worker
        .post("/v1/storage/put", &request)
        .await?
        .map_err(|r| refused("writing the config backup failed", r))?;
    // keep-N: a failure here does not undo the backup just written.
    let listed: Result<Value, Refusal> =
        worker.post("/v1/storage/list", &listing(&storage)).await?;
    if let Ok(items) = listed.map(|l| objects::backups_of(&l)) {
        for old in objects::to_delete(&items.unwrap_or_default(), c.keep) {
            let delete = NameRequest {
                storage: storage.clone(),
                name: old,
            };
            let _ = worker.post::<_, Value>("/v1/storage/delete", &delete).await;
        }
    }
    Ok(RunResult {
        object_name: name,
        size: stored.size,
        sha256: stored.sha256,
        destination_id,
        encrypted,
        counts: doc.counts(),
    })
}

/// [`run`], then records `configBackup.lastRun` (success or the error).
pub async fn run_and_record(
    db: &dyn Db,
    sealer: &SecretBox,
    now: DateTime<Utc>,
    worker: &impl Worker,
) -> Result<RunResult, ApiError> {
    let outcome = run(db, sealer, now, worker).await;
    let at = dbackup_jobs_core::iso(Utc::now().max(now));
    let last = match &outcome {
        Ok(r) => LastRun {
            at,
            status: "success".into(),
            object_name: Some(r.object_name.clone()),
            size: Some(r.size),
            error: None,
        },
        Err(e) => LastRun {
            at,
            status: "failed".into(),
            object_name: None,
            size: None,
            error: Some(failure_text(e)),
        },
    };
    setting::record_run(db, &last, now)?;
    outcome
}

/// A failed run as `lastRun.error` and the failure notification say it: the message, with the
/// worker's details when it sent text.
fn failure_text(e: &ApiError) -> String {
    match &e.details {
        Some(Value::String(d)) => format!("{}: {d}", e.message),
        _ => e.message.clone(),
    }
}

/// The scheduled run of `occurrence` (claimed by the caller with [`setting::claim_due`]):
/// [`run_and_record`], logged, and a failure sent to each of the `systemNotificationChannels`
/// (best effort: a channel that cannot be reached is logged and the others still get it).
pub async fn run_scheduled(
    db: &dyn Db,
    sealer: &SecretBox,
    occurrence: &str,
    now: DateTime<Utc>,
    worker: &impl Worker,
    deliver: &impl Deliver,
) {
    let e = match run_and_record(db, sealer, now, worker).await {
        Ok(r) => {
            eprintln!(
                "dbackup runner: config backup of {occurrence}: {} ({} bytes)",
                r.object_name, r.size
            );
            return;
        }
        Err(e) => e,
    };
    let error = failure_text(&e);
    eprintln!("dbackup runner: config backup of {occurrence} failed: {error}");
    let Ok(channels) = settings::system_notification_channels(db) else {
        return;
    };
    let msg = Notification {
        title: "Config backup failed".into(),
        status: Status::Failure,
        job: Some("config backup".into()),
        source: None,
        destinations: Vec::new(),
        size: None,
        duration_ms: None,
        error: Some(error),
        fields: Vec::new(),
    };
    for id in channels {
        if let Err(e) = send_to_channel(db, sealer, deliver, &id, &msg).await {
            eprintln!("dbackup runner: config backup notification to {id}: {e}");
        }
    }
}

/// The config backups on `destination_id` (default: the configured one), newest first.
pub async fn list(
    db: &dyn Db,
    sealer: &SecretBox,
    destination_id: Option<String>,
    worker: &impl Worker,
) -> Result<ConfigBackupList, ApiError> {
    let destination_id = destination_id.or(setting::load(db)?.destination_id);
    let Some(id) = destination_id.clone() else {
        return Ok(ConfigBackupList {
            destination_id: None,
            backups: Vec::new(),
        });
    };
    let storage = storage_of(db, sealer, &id)?;
    let listed: Value = worker
        .post("/v1/storage/list", &listing(&storage))
        .await?
        .map_err(|r| refused("listing the destination failed", r))?;
    let backups: Vec<ConfigBackupItem> = objects::backups_of(&listed)?;
    Ok(ConfigBackupList {
        destination_id,
        backups,
    })
}

/// What to restore: a destination object or uploaded bytes, the options, and on whose behalf
/// (without a caller, a 401).
#[derive(Debug, Clone, Default)]
pub struct RestoreInput<'a> {
    pub source: Option<&'a RestoreSource>,
    pub upload: Option<Vec<u8>>,
    pub encryption_profile_id: Option<&'a str>,
    pub dry_run: bool,
    /// The caller: the restore changes only what they could change through the API.
    pub caller: Option<Principal>,
}

/// Reads (from `request.source`, or the `upload`ed bytes), decrypts with the vault key named by
/// the header's fingerprint (or `encryption_profile_id`), and restores — a dry run when asked.
pub async fn restore_from(
    db: &dyn Db,
    sealer: &SecretBox,
    input: RestoreInput<'_>,
    now: DateTime<Utc>,
    worker: &impl Worker,
) -> Result<RestoreReport, ApiError> {
    let RestoreInput {
        source,
        upload,
        encryption_profile_id,
        dry_run,
        caller,
    } = input;
    let caller = caller.ok_or_else(|| ApiError::from(IdentityError::Unauthenticated))?;
    // Storage is not trusted: an object named `….dbk` must be the encrypted container (the
    // worker's unseal refuses anything else given the name), never plain JSON put in its place.
    let stored_name = match (&upload, source) {
        (None, Some(s)) => Some(s.name.clone()),
        _ => None,
    };
    let must_be_sealed = stored_name.as_deref().is_some_and(|n| n.ends_with(".dbk"));
    let bytes = match (upload, source) {
        (Some(b), _) => b,
        (None, Some(s)) => {
            if !objects::is_config_backup(&s.name) {
                return Err(ApiError::bad_request(
                    "source.name must name a config backup (config-backups/dbackup-config_….json.gz[.dbk])",
                )
                .with_details(json!({"field": "source.name"})));
            }
            let storage = storage_of(db, sealer, &s.destination_id)?;
            let request = GetRequest {
                storage,
                name: s.name.clone(),
                decrypt: None,
                decompress: false,
                compression: None,
            };
            let (status, body) = fetch(worker, "/v1/storage/get", &request).await?;
            match status {
                200 => body,
                404 => return Err(ApiError::new(404, "config backup not found")),
                s => {
                    let body = json_of(&body);
                    return Err(worker_error("reading the config backup failed", s, &body));
                }
            }
        }
        (None, None) => return Err(ApiError::bad_request("nothing to restore")),
    };
    if bytes.len() > MAX_BACKUP_BYTES {
        return Err(ApiError::new(
            413,
            format!("config backups are at most {MAX_BACKUP_BYTES} bytes"),
        ));
    }
    let plain = if bytes.first() == Some(&b'{') && !must_be_sealed {
        bytes
    } else {
        let mut request = UnsealRequest {
            content_base64: base64::engine::general_purpose::STANDARD.encode(&bytes),
            key_hex: None,
            compression: None,
            name: stored_name,
        };
        if let Some(fp) = objects::header_fingerprint(&bytes) {
            let profile = match encryption_profile_id {
                Some(id) => id.to_owned(),
                None => vault::find_by_fingerprint(db, &fp)?.ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "the backup is encrypted with key {fp}, which is not in the vault: import that key as an encryption profile first"
                    ))
                    .with_details(json!({"field": "encryptionProfileId", "keyFingerprint": fp}))
                })?,
            };
            let (key_hex, _) = vault::key_hex(db, sealer, &profile)?;
            request.key_hex = Some(key_hex);
        }
        drop(bytes);
        let (status, body) = fetch(worker, "/v1/unseal", &request).await?;
        match status {
            200 => body,
            400 | 413 | 422 => {
                let v = json_of(&body);
                let mut e = ApiError::new(
                    422,
                    format!(
                        "cannot read the config backup: {}",
                        v["error"].as_str().unwrap_or("unseal failed")
                    ),
                );
                if let Some(d) = v.get("details").filter(|d| !d.is_null()) {
                    e = e.with_details(d.clone());
                }
                return Err(e);
            }
            s => {
                let body = json_of(&body);
                return Err(worker_error("reading the config backup failed", s, &body));
            }
        }
    };
    let doc = parse_document(&plain)?;
    check_worker_paths(&doc, worker).await?;
    restore(db, sealer, &doc, &caller, now, dry_run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TestDb;
    use dbackup_adapters_core::store;
    use dbackup_core::worker::fake::{block_on, FakeWorker};
    use dbackup_core::worker::WorkerAnswer;
    use std::cell::RefCell;
    use std::collections::BTreeMap;
    use std::rc::Rc;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn answer(status: u16, body: Value) -> WorkerAnswer {
        WorkerAnswer {
            status,
            body: body.to_string().into_bytes(),
        }
    }

    /// The fake worker's storage: object name → bytes.
    type Objects = Rc<RefCell<BTreeMap<String, Vec<u8>>>>;

    /// A fake worker storing objects in memory, "sealing" as the identity (plain JSON).
    fn storage_worker() -> (FakeWorker, Objects) {
        let objects = Objects::default();
        let worker = FakeWorker::new();
        let name = |body: &Value| body["name"].as_str().unwrap_or_default().to_owned();
        let store = objects.clone();
        worker.respond("/v1/storage/put", move |body| {
            // Like the worker: an exclusive put, 409 when the name exists.
            let name = name(body);
            if store.borrow().contains_key(&name) {
                return answer(409, json!({"error": "object exists"}));
            }
            assert_eq!(body["compression"], "GZIP");
            let content = body["content"].as_str().unwrap().as_bytes().to_vec();
            let size = content.len();
            store.borrow_mut().insert(name.clone(), content);
            answer(200, json!({"name": name, "size": size, "sha256": "ab"}))
        });
        let store = objects.clone();
        worker.respond("/v1/storage/list", move |_| {
            let objects: Vec<Value> = store
                .borrow()
                .iter()
                .map(|(n, b)| json!({"name": n, "size": b.len(), "modifiedUnix": 0}))
                .collect();
            answer(200, json!({"objects": objects}))
        });
        let store = objects.clone();
        worker.respond("/v1/storage/delete", move |body| {
            store.borrow_mut().remove(&name(body));
            WorkerAnswer {
                status: 204,
                body: Vec::new(),
            }
        });
        let store = objects.clone();
        worker.respond("/v1/storage/get", move |body| {
            match store.borrow().get(&name(body)) {
                Some(b) => WorkerAnswer {
                    status: 200,
                    body: b.clone(),
                },
                None => answer(404, json!({"error": "not found"})),
            }
        });
        // Like the worker: local storage outside /etc, no database file named dbackup.db (the
        // data directory's).
        worker.respond("/v1/storage/check", |body| {
            let local = body["storage"]["path"].as_str().unwrap_or_default();
            let file = body["source"]["path"].as_str().unwrap_or_default();
            let refused = |details: String| {
                answer(
                    400,
                    json!({"error": "invalid request body", "details": details}),
                )
            };
            if local.starts_with("/etc") {
                refused(format!("storage.path: {local} is outside the directories allowed for local storage (/srv/b; DBACKUP_LOCAL_ROOTS)"))
            } else if file.ends_with("dbackup.db") {
                refused(format!(
                    "source.path: {file} is inside the worker's data directory"
                ))
            } else {
                answer(200, json!({"ok": true}))
            }
        });
        (worker, objects)
    }

    fn configured() -> TestDb {
        let db = TestDb::migrated();
        let s = SecretBox::from_hex_key(KEY).unwrap();
        let t = dbackup_adapters_core::registry::find("local").unwrap();
        let cfg = dbackup_adapters_core::secrets::seal(
            &s,
            t,
            "d1",
            json!({"path": "/b"}).as_object().unwrap(),
        )
        .unwrap();
        db.execute(
            r#"INSERT INTO "AdapterConfig" ("id","name","type","adapterId","config") VALUES ('d1','disk','storage','local',?)"#,
            &[Value::Object(cfg).to_string().into()],
        )
        .unwrap();
        setting::update(&db, &json!({"destinationId": "d1", "keep": 2}), Utc::now()).unwrap();
        db
    }

    #[test]
    fn runs_keep_n_and_restores_from_the_destination() {
        let db = configured();
        let s = SecretBox::from_hex_key(KEY).unwrap();
        let (worker, objects) = storage_worker();
        let base = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 27, 3, 0, 0).unwrap();
        for i in 0..3 {
            let r = block_on(run_and_record(
                &db,
                &s,
                base + chrono::Duration::seconds(i),
                &worker,
            ))
            .unwrap();
            assert!(!r.encrypted);
            assert_eq!(r.counts["adapters"], 1);
        }
        let names: Vec<String> = objects.borrow().keys().cloned().collect();
        assert_eq!(
            names,
            vec![
                "config-backups/dbackup-config_2026-11-27T03-00-01Z.json.gz".to_owned(),
                "config-backups/dbackup-config_2026-11-27T03-00-02Z.json.gz".to_owned(),
            ]
        );
        let last = setting::last_run(&db).unwrap().unwrap();
        assert_eq!(last.status, "success");
        assert_eq!(last.object_name.as_deref(), Some(names[1].as_str()));
        let listed = block_on(list(&db, &s, None, &worker)).unwrap();
        assert_eq!(listed.backups[0].name, names[1]);

        let source = RestoreSource {
            destination_id: "d1".into(),
            name: names[1].clone(),
        };
        let report = block_on(restore_from(
            &db,
            &s,
            RestoreInput {
                source: Some(&source),
                dry_run: true,
                caller: Some(crate::testutil::super_admin("u", "s")),
                ..Default::default()
            },
            Utc::now(),
            &worker,
        ))
        .unwrap();
        assert!(report.dry_run);
        assert_eq!(report.counts.unchanged, report.changes.len());
        let missing = RestoreSource {
            destination_id: "d1".into(),
            name: "config-backups/dbackup-config_2020-01-01T00-00-00Z.json.gz".into(),
        };
        let e = block_on(restore_from(
            &db,
            &s,
            RestoreInput {
                source: Some(&missing),
                dry_run: true,
                caller: Some(crate::testutil::super_admin("u", "s")),
                ..Default::default()
            },
            Utc::now(),
            &worker,
        ))
        .unwrap_err();
        assert_eq!(e.status, 404);
    }

    /// Found by tests/tests/api_fuzz.rs: two runs in one second wrote the same name and the
    /// second answered 502.
    #[test]
    fn two_runs_in_one_second_conflict_instead_of_failing_the_server() {
        let db = configured();
        let s = SecretBox::from_hex_key(KEY).unwrap();
        let (worker, _) = storage_worker();
        let now = Utc::now();
        block_on(run(&db, &s, now, &worker)).unwrap();
        let e = block_on(run(&db, &s, now, &worker)).unwrap_err();
        assert_eq!(e.status, 409, "{e:?}");
    }

    #[test]
    fn a_failed_run_is_recorded() {
        let db = configured();
        let s = SecretBox::from_hex_key(KEY).unwrap();
        let worker = FakeWorker::new();
        worker.answer(
            "/v1/storage/*",
            422,
            json!({"error": "storage error", "details": "disk full"}),
        );
        let e = block_on(run_and_record(&db, &s, Utc::now(), &worker)).unwrap_err();
        assert_eq!(e.status, 502);
        let last = setting::last_run(&db).unwrap().unwrap();
        assert_eq!(last.status, "failed");
        assert_eq!(
            last.error.as_deref(),
            Some("writing the config backup failed: storage error: disk full")
        );
    }

    /// Delivers nothing; records what it was given.
    #[derive(Default)]
    struct Outbox(RefCell<Vec<dbackup_adapters_core::OutboundMessage>>);

    impl Deliver for Outbox {
        async fn deliver(&self, out: dbackup_adapters_core::OutboundMessage) -> Result<(), String> {
            self.0.borrow_mut().push(out);
            Ok(())
        }
    }

    /// A scheduled run that fails is recorded and sent to every system notification channel
    /// that exists; one that succeeds sends nothing.
    #[test]
    fn a_failed_scheduled_run_notifies_the_system_channels() {
        let db = configured();
        let s = SecretBox::from_hex_key(KEY).unwrap();
        let t = dbackup_adapters_core::registry::find("discord").unwrap();
        let hook = json!({"webhookUrl": "https://discord.example/hook/1"});
        store::insert(&db, &s, "n1", "chat", t, hook.as_object().unwrap()).unwrap();
        db.exec(r#"INSERT INTO "SystemSetting" ("key","value") VALUES ('systemNotificationChannels','["n1","gone"]')"#);
        let outbox = Outbox::default();
        let (worker, _) = storage_worker();
        block_on(run_scheduled(&db, &s, "o1", Utc::now(), &worker, &outbox));
        assert!(outbox.0.borrow().is_empty(), "a success notifies nobody");
        let down = FakeWorker::new();
        down.answer(
            "/v1/storage/*",
            422,
            json!({"error": "storage error", "details": "disk full"}),
        );
        block_on(run_scheduled(&db, &s, "o2", Utc::now(), &down, &outbox));
        let sent = outbox.0.borrow();
        assert_eq!(sent.len(), 1, "the channel that exists");
        let dbackup_adapters_core::OutboundMessage::Http { url, body, .. } = &sent[0] else {
            panic!("discord is HTTP: {:?}", sent[0]);
        };
        assert_eq!(url, "https://discord.example/hook/1");
        assert!(body.contains("disk full"), "{body}");
        assert_eq!(setting::last_run(&db).unwrap().unwrap().status, "failed");
    }

    #[test]
    fn plain_json_in_place_of_an_encrypted_backup_is_refused() {
        let db = configured();
        let s = SecretBox::from_hex_key(KEY).unwrap();
        let source = RestoreSource {
            destination_id: "d1".into(),
            name: "config-backups/dbackup-config_2026-11-27T03-00-00Z.json.gz.dbk".into(),
        };
        let worker = FakeWorker::new();
        // Someone wrote a plain document under the encrypted backup's name.
        worker.respond("/v1/storage/get", |_| WorkerAnswer {
            status: 200,
            body: br#"{"kind":"dbackup-config"}"#.to_vec(),
        });
        // The worker refuses plaintext under a .dbk name.
        worker.answer(
            "/v1/unseal",
            422,
            json!({"error": "cannot unseal", "details": "refused: not an encrypted dbackup container"}),
        );
        let e = block_on(restore_from(
            &db,
            &s,
            RestoreInput {
                source: Some(&source),
                dry_run: true,
                caller: Some(crate::testutil::super_admin("u", "s")),
                ..Default::default()
            },
            Utc::now(),
            &worker,
        ))
        .unwrap_err();
        assert_eq!(e.status, 422, "{e:?}");
        let sent = worker.requests_to("/v1/unseal");
        assert_eq!(sent.len(), 1, "the document went to /v1/unseal");
        assert_eq!(sent[0].body["name"], json!(source.name));
    }

    /// Imported local destinations and SQLite sources go through the worker's path check, as
    /// `POST /api/adapters` does: 400 naming the adapter and `path`, nothing written.
    #[test]
    fn imported_paths_are_checked_by_the_worker() {
        let db = configured();
        let s = SecretBox::from_hex_key(KEY).unwrap();
        let (worker, objects) = storage_worker();
        block_on(run_and_record(&db, &s, Utc::now(), &worker)).unwrap();
        let stored = objects.borrow().values().next().unwrap().clone();
        let doc: Value = serde_json::from_slice(&stored).unwrap();
        let admin = || Some(crate::testutil::super_admin("u", "s"));
        let cases = [
            ("disk", "local", "storage", "/etc/cron.d"),
            ("app", "sqlite", "database", "/srv/dbackup/dbackup.db"),
        ];
        for (name, adapter_id, kind, path) in cases {
            let mut doc = doc.clone();
            let adapters = doc["adapters"].as_array_mut().unwrap();
            adapters.retain(|a| a["name"] != name);
            adapters.push(json!({"name": name, "type": kind, "adapterId": adapter_id,
                                 "config": {"path": path}}));
            for dry_run in [true, false] {
                let checks_before = worker.requests_to("/v1/storage/check").len();
                let e = block_on(restore_from(
                    &db,
                    &s,
                    RestoreInput {
                        upload: Some(doc.to_string().into_bytes()),
                        dry_run,
                        caller: admin(),
                        ..Default::default()
                    },
                    Utc::now(),
                    &worker,
                ))
                .unwrap_err();
                assert_eq!(e.status, 400, "{e:?}");
                assert!(
                    e.message.starts_with(&format!(
                        "invalid config backup: adapter {name:?}: invalid {adapter_id} config: path {path}"
                    )),
                    "{}",
                    e.message
                );
                let details = e.details.unwrap();
                assert_eq!(details["entity"], "adapter");
                assert_eq!(details["name"], name);
                assert_eq!(details["field"], "path");
                assert!(worker.requests_to("/v1/storage/check").len() > checks_before);
            }
        }
        let paths = crate::sql::rows(&db, r#"SELECT "name" FROM "AdapterConfig""#, &[]).unwrap();
        assert_eq!(paths.len(), 1, "nothing was added");
        let stored = crate::sql::rows(
            &db,
            r#"SELECT "config" FROM "AdapterConfig" WHERE "name" = 'disk'"#,
            &[],
        )
        .unwrap();
        let config = crate::sql::text(&stored[0], "config").unwrap();
        assert!(config.contains("\"/b\""), "unchanged: {config}");

        // The same document with paths the worker accepts restores.
        let report = block_on(restore_from(
            &db,
            &s,
            RestoreInput {
                upload: Some(doc.to_string().into_bytes()),
                dry_run: true,
                caller: admin(),
                ..Default::default()
            },
            Utc::now(),
            &worker,
        ))
        .unwrap();
        assert!(report.dry_run);
    }

    #[test]
    fn an_encrypted_upload_needs_its_key_in_the_vault() {
        let db = configured();
        let s = SecretBox::from_hex_key(KEY).unwrap();
        let mut bytes = b"DBKENC01\x01\x01\x01\x00\x00\x10\x00\x00".to_vec();
        bytes.extend_from_slice(&[0xcd; 8]);
        bytes.extend_from_slice(&[0; 40]);
        let worker = FakeWorker::new();
        worker.answer("*", 500, Value::Null);
        let e = block_on(restore_from(
            &db,
            &s,
            RestoreInput {
                upload: Some(bytes),
                dry_run: true,
                caller: Some(crate::testutil::super_admin("u", "s")),
                ..Default::default()
            },
            Utc::now(),
            &worker,
        ))
        .unwrap_err();
        assert_eq!(e.status, 400);
        assert!(e.message.contains("cdcdcdcdcdcdcdcd"), "{}", e.message);
        assert!(worker.requests().is_empty(), "refused before the worker");
    }
}
