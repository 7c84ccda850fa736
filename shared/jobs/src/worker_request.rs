//! The worker requests the runner sends (`POST /v1/backups`, `POST /v1/restores`, typed by
//! `dbackup_protocol::tasks`), built from already-resolved parts: the worker connection/storage
//! specs come from the adapters crate, keys from the vault. Pure, so the shapes are unit-tested.

use chrono::{DateTime, Utc};
use dbackup_core::ApiError;
use dbackup_protocol::storage::StorageSpec;
use dbackup_protocol::tasks::{
    self, BackupRequest, CallbackSpec, DestinationSpec, EncryptionSpec, KeyKind, ObjectLocation,
    Privileged,
};
use dbackup_protocol::{Compression, PgMajor, ENCRYPTED_SUFFIX};
use serde_json::{json, Map, Value};

use crate::execution::Trigger;
use crate::job::StoredJob;

/// The callback URL the worker posts an execution's events to.
pub fn callback_url(app_url: &str, execution_id: &str) -> String {
    format!(
        "{}/api/internal/executions/{execution_id}/events",
        app_url.trim_end_matches('/')
    )
}

/// The object timestamp the worker puts in the name (`YYYY-MM-DDTHH-MM-SSZ`).
pub fn object_timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H-%M-%SZ").to_string()
}

/// An encryption key for the worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub profile_id: String,
    pub key_hex: String,
    /// What `key_hex` is: a symmetric profile key, a write-only profile's public key (backups)
    /// or the private key a restore of its backup brought.
    pub kind: KeyKind,
}

impl Key {
    fn spec(&self) -> EncryptionSpec {
        EncryptionSpec {
            key_hex: self.key_hex.clone(),
            key_fingerprint: None,
            key_kind: (self.kind != KeyKind::Symmetric).then_some(self.kind),
        }
    }
}

/// An adapter's storage spec (`worker_storage`) as the protocol's type; one the worker would
/// refuse is a 400 naming the destination.
pub fn storage_spec(destination_id: &str, spec: Value) -> Result<StorageSpec, ApiError> {
    serde_json::from_value(spec).map_err(|e| {
        ApiError::bad_request(format!(
            "destination {destination_id}: invalid storage: {e}"
        ))
    })
}

/// Everything a backup request needs besides the job.
#[derive(Debug, Clone)]
pub struct BackupParts {
    pub execution_id: String,
    /// The source's worker connection (`worker_source`).
    pub source: Value,
    /// `(destinationId, storage)` in the job's order.
    pub destinations: Vec<(String, StorageSpec)>,
    pub key: Option<Key>,
    pub callback_url: String,
    pub signing_key_hex: String,
    pub now: DateTime<Utc>,
    pub trigger: Trigger,
}

/// `POST /v1/backups` body for `job` (a compression the worker does not know is a 400).
pub fn backup_request(job: &StoredJob, parts: &BackupParts) -> Result<BackupRequest, ApiError> {
    let compression: Compression = serde_json::from_value(json!(job.compression))
        .map_err(|_| ApiError::bad_request(format!("invalid compression {:?}", job.compression)))?;
    Ok(BackupRequest {
        execution_id: Some(parts.execution_id.clone()),
        source: parts.source.clone(),
        databases: (!job.databases.is_empty()).then(|| job.databases.clone()),
        compression,
        compression_level: job
            .compression_level
            .map(|l| i32::try_from(l).unwrap_or(i32::MAX)),
        encryption: parts.key.as_ref().map(Key::spec),
        destinations: parts
            .destinations
            .iter()
            .map(|(id, storage)| DestinationSpec {
                id: id.clone(),
                storage: storage.clone(),
            })
            .collect(),
        job_name: job.name.clone(),
        prefix: None,
        timestamp: Some(object_timestamp(parts.now)),
        meta: Some(json!({
            "jobId": job.id,
            "jobName": job.name,
            "sourceId": job.source_id,
            "databases": job.databases,
            "encryptionProfileId": parts.key.as_ref().map(|k| &k.profile_id),
            "executionId": parts.execution_id,
            "trigger": parts.trigger,
            "timezone": job.timezone,
        })),
        callback: Some(CallbackSpec {
            url: parts.callback_url.clone(),
            signing_key_hex: parts.signing_key_hex.clone(),
        }),
        verify_after_upload: Some(job.verify_after_upload),
    })
}

/// The body of `POST /api/restores`, as documented (OpenAPI); [`RestoreParams::from_body`]
/// validates it field by field (400 naming the field).
#[derive(Debug, Clone, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "BackupRestoreRequest"))]
#[serde(rename_all = "camelCase")]
pub struct RestoreRequest {
    /// The storage destination holding the backup.
    pub destination_id: String,
    /// The backup's object name, relative to the destination.
    pub path: String,
    /// The database source to restore into.
    pub target_source_id: String,
    /// `{from: to}` database renames.
    #[serde(default)]
    pub database_mapping: Option<std::collections::BTreeMap<String, String>>,
    /// `{user, password?}`: the account that creates the target database (which is then
    /// handed to the target's own user); the password is sealed at rest and never shown.
    /// `true`/`false` (the older flag) is accepted and sends no account.
    #[serde(default)]
    pub privileged: Option<PrivilegedInput>,
    /// Restore even where the worker's version check refuses (a dump of a newer server major).
    #[serde(default)]
    pub force: Option<bool>,
    /// Files sources only (required there): the absolute directory on the worker's machine
    /// the archive is restored into (inside its allowed roots; created if missing).
    #[serde(default)]
    pub target_path: Option<String>,
    /// Files sources only: replace existing files (never directories); default false.
    #[serde(default)]
    pub overwrite: Option<bool>,
    /// A backup made with a write-only (public-key) encryption profile: the X25519 private key
    /// of that profile's key pair, 64 hex characters. Used for this restore only: sealed while
    /// it waits for a worker, erased once the worker took the task, never logged or shown.
    #[serde(default)]
    pub private_key: Option<String>,
    /// A DBackup backup (docs/STORAGE.md "Coming from DBackup"): the "DBackup import" profile
    /// holding its key; absent = the only such profile.
    #[serde(default)]
    pub encryption_profile_id: Option<String>,
    /// A DBackup backup that is not encrypted cannot be authenticated: restore it anyway
    /// (audited). Default false: refused.
    #[serde(default)]
    pub accept_unauthenticated: Option<bool>,
}

/// `privileged` in `POST /api/restores`.
#[derive(Debug, Clone, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum PrivilegedInput {
    /// The older flag: no account is sent.
    Flag(bool),
    /// The privileged account.
    Account {
        /// Its login.
        user: String,
        /// Its password (sealed at rest, never shown).
        #[serde(default)]
        password: Option<String>,
    },
}

/// A privileged account for a restore (`privileged: {user, password?}`); the password is
/// plaintext here (sealed in the stored form) and never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivilegedAccount {
    pub user: String,
    pub password: Option<String>,
}

impl std::fmt::Debug for PrivilegedAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivilegedAccount")
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The private key a restore of a write-only profile's backup brings (64 lowercase hex);
/// `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKey(pub String);

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey(<redacted>)")
    }
}

/// A validated `POST /api/restores` body, as stored on the Restore execution.
#[derive(Debug, Clone, PartialEq)]
pub struct RestoreParams {
    pub destination_id: String,
    pub path: String,
    pub target_source_id: String,
    /// `{from: to}` database renames.
    pub database_mapping: Map<String, Value>,
    /// `privileged` was `true` or an account.
    pub privileged: bool,
    /// The account that creates the database.
    pub privileged_as: Option<PrivilegedAccount>,
    /// Restore even where the worker's version check refuses (a dump of a newer server major).
    pub force: bool,
    /// Files sources: the directory restored into.
    pub target_path: Option<String>,
    /// Files sources: replace existing files.
    pub overwrite: bool,
    /// Write-only profiles: the private key brought for this restore (never printed).
    pub private_key: Option<PrivateKey>,
    /// DBackup backups: the "DBackup import" profile to decrypt with.
    pub encryption_profile_id: Option<String>,
    /// DBackup backups: restore an unencrypted (unauthenticated) one.
    pub accept_unauthenticated: bool,
}

impl RestoreParams {
    /// Validates the API body (400 naming the field).
    pub fn from_body(body: &Value) -> Result<Self, dbackup_core::ApiError> {
        use dbackup_core::ApiError;
        let text = |k: &str| -> Result<String, ApiError> {
            body.get(k)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| {
                    ApiError::bad_request(format!("invalid {k}: is required"))
                        .with_details(json!({"field": k}))
                })
        };
        let path = text("path")?;
        if path.starts_with('/') || path.split('/').any(|s| s == ".." || s.is_empty()) {
            return Err(ApiError::bad_request(
                "invalid path: must be an object name relative to the destination",
            )
            .with_details(json!({"field": "path"})));
        }
        let mapping = match body.get("databaseMapping") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => {
                for (from, to) in m {
                    if from.trim().is_empty() || to.as_str().is_none_or(|t| t.trim().is_empty()) {
                        return Err(ApiError::bad_request(
                            "invalid databaseMapping: names must be non-empty strings",
                        )
                        .with_details(json!({"field": "databaseMapping"})));
                    }
                }
                m.clone()
            }
            Some(_) => {
                return Err(
                    ApiError::bad_request("invalid databaseMapping: must be an object")
                        .with_details(json!({"field": "databaseMapping"})),
                )
            }
        };
        let (privileged, privileged_as) = privileged_of(body.get("privileged"))?;
        let target_path = match body.get("targetPath") {
            None | Some(Value::Null) => None,
            Some(Value::String(p))
                if p.starts_with('/')
                    && p.len() <= 4096
                    && !p.split('/').any(|s| s == "..")
                    && !p.chars().any(char::is_control) =>
            {
                Some(p.clone())
            }
            Some(_) => {
                return Err(ApiError::bad_request(
                    "invalid targetPath: must be an absolute directory path (at most 4096 bytes, no ..)",
                )
                .with_details(json!({"field": "targetPath"})))
            }
        };
        let overwrite = match body.get("overwrite") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(
                    ApiError::bad_request("invalid overwrite: must be a boolean")
                        .with_details(json!({"field": "overwrite"})),
                )
            }
        };
        let accept_unauthenticated = match body.get("acceptUnauthenticated") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(ApiError::bad_request(
                    "invalid acceptUnauthenticated: must be a boolean",
                )
                .with_details(json!({"field": "acceptUnauthenticated"})))
            }
        };
        let encryption_profile_id = match body.get("encryptionProfileId") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) if !p.trim().is_empty() && p.len() <= 128 => {
                Some(p.trim().to_owned())
            }
            Some(_) => {
                return Err(ApiError::bad_request(
                    "invalid encryptionProfileId: must be a profile id",
                )
                .with_details(json!({"field": "encryptionProfileId"})))
            }
        };
        let private_key = match body.get("privateKey") {
            None | Some(Value::Null) => None,
            Some(Value::String(k))
                if k.trim().len() == 64 && k.trim().bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                Some(PrivateKey(k.trim().to_ascii_lowercase()))
            }
            Some(_) => {
                return Err(ApiError::bad_request(
                    "invalid privateKey: must be 64 hex characters (the X25519 private key)",
                )
                .with_details(json!({"field": "privateKey"})))
            }
        };
        Ok(RestoreParams {
            private_key,
            encryption_profile_id,
            accept_unauthenticated,
            target_path,
            overwrite,
            destination_id: text("destinationId")?,
            path,
            target_source_id: text("targetSourceId")?,
            database_mapping: mapping,
            privileged,
            privileged_as,
            force: match body.get("force") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => {
                    return Err(ApiError::bad_request("invalid force: must be a boolean")
                        .with_details(json!({"field": "force"})))
                }
            },
        })
    }

    /// The stored JSON form; `seal` seals the privileged account's password
    /// ([`dbackup_core::sealed::RESTORE_PRIVILEGED_PASSWORD`]), stored as
    /// `privilegedAs.passwordSealed`.
    pub fn to_stored<E>(&self, seal: impl Fn(&str) -> Result<String, E>) -> Result<Value, E> {
        let mut v = json!({
            "destinationId": self.destination_id,
            "path": self.path,
            "targetSourceId": self.target_source_id,
            "databaseMapping": self.database_mapping,
            "privileged": self.privileged,
            "force": self.force,
        });
        if let Some(p) = &self.target_path {
            v["targetPath"] = json!(p);
            v["overwrite"] = json!(self.overwrite);
        }
        if let Some(p) = &self.encryption_profile_id {
            v["encryptionProfileId"] = json!(p);
        }
        if self.accept_unauthenticated {
            v["acceptUnauthenticated"] = json!(true);
        }
        if let Some(k) = &self.private_key {
            v["privateKeySealed"] = json!(seal(&k.0)?);
        }
        if let Some(a) = &self.privileged_as {
            let mut account = json!({"user": a.user});
            if let Some(p) = &a.password {
                account["passwordSealed"] = json!(seal(p)?);
            }
            v["privilegedAs"] = account;
        }
        Ok(v)
    }

    /// Reads the stored form back ([`Self::to_stored`]); `unseal` opens the password.
    pub fn from_stored(
        stored: &Value,
        unseal: impl Fn(&str) -> Result<String, dbackup_core::ApiError>,
    ) -> Result<Self, dbackup_core::ApiError> {
        let mut params = Self::from_body(stored)?;
        if let Some(sealed) = stored.get("privateKeySealed").and_then(Value::as_str) {
            params.private_key = Some(PrivateKey(unseal(sealed)?));
        }
        if let Some(a) = stored.get("privilegedAs") {
            let user = a.get("user").and_then(Value::as_str).unwrap_or_default();
            let password = match a.get("passwordSealed").and_then(Value::as_str) {
                Some(sealed) => Some(unseal(sealed)?),
                None => None,
            };
            params.privileged = true;
            params.privileged_as = Some(PrivilegedAccount {
                user: user.to_owned(),
                password,
            });
        }
        Ok(params)
    }

    /// The target database for a backup of `source_database` (the mapping, else the same
    /// name, else the target connection's own database).
    pub fn target_database(&self, source_database: Option<&str>) -> Option<String> {
        if let Some(from) = source_database {
            if let Some(to) = self.database_mapping.get(from).and_then(Value::as_str) {
                return Some(to.to_owned());
            }
        }
        if self.database_mapping.len() == 1 {
            return self
                .database_mapping
                .values()
                .next()
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
        source_database.map(str::to_owned)
    }
}

/// `privileged`: `true`/`false`/null, or `{user, password?}` (400 naming the field otherwise).
fn privileged_of(
    v: Option<&Value>,
) -> Result<(bool, Option<PrivilegedAccount>), dbackup_core::ApiError> {
    let bad = |m: &str| {
        dbackup_core::ApiError::bad_request(format!("invalid privileged: {m}"))
            .with_details(json!({"field": "privileged"}))
    };
    let m = match v {
        None | Some(Value::Null) => return Ok((false, None)),
        Some(Value::Bool(b)) => return Ok((*b, None)),
        Some(Value::Object(m)) => m,
        Some(_) => return Err(bad("must be a boolean or {user, password?}")),
    };
    if let Some(k) = m
        .keys()
        .find(|k| !["user", "password"].contains(&k.as_str()))
    {
        return Err(bad(&format!("unknown field {k:?}")));
    }
    let user = m
        .get("user")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| bad("user is required"))?;
    if user.len() > 128 || user.chars().any(char::is_control) {
        return Err(bad(
            "user must be at most 128 characters, without control characters",
        ));
    }
    let password = match m.get("password") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) if p.is_empty() => None,
        Some(Value::String(p)) if p.len() <= 1024 && !p.contains('\0') => Some(p.clone()),
        Some(_) => return Err(bad("password must be a string of at most 1024 characters")),
    };
    Ok((
        true,
        Some(PrivilegedAccount {
            user: user.to_owned(),
            password,
        }),
    ))
}

/// Why a restore of the backup described by `sidecar` (its `.meta.json`) onto a server of
/// `target_version` would be refused by the worker: a PostgreSQL dump of a newer major than
/// the target's. `None` when it would not, or when either version is unknown.
pub fn newer_dump(sidecar: &Value, target_version: &str) -> Option<String> {
    if sidecar.get("engine").and_then(Value::as_str) != Some("postgresql") {
        return None;
    }
    let source = sidecar.get("serverVersion").and_then(Value::as_str)?;
    let (s, t) = (PgMajor::parse(source)?, PgMajor::parse(target_version)?);
    (s > t).then(|| {
        format!(
            "the backup was taken from PostgreSQL {source} and the target server runs \
             {target_version}: restoring onto an older major can fail or lose features \
             (send force: true to restore anyway)"
        )
    })
}

/// Whether the backup at `path` is encrypted, so that its restore must send the key (and the
/// worker then accepts nothing but the encrypted container): its name ends in `.dbk`, as every
/// object of an encrypted job's execution does, or its sidecar says so. Either is enough, since
/// storage is not trusted: a rewritten sidecar cannot lift the requirement the name carries.
pub fn backup_is_encrypted(path: &str, sidecar: &Value) -> bool {
    // Stricter than `Sidecar::says_encrypted` (the worker's reading, where `false` means not
    // encrypted): any non-null `encryption` asks for the key, as before.
    path.ends_with(ENCRYPTED_SUFFIX) || sidecar.get("encryption").is_some_and(|e| !e.is_null())
}

/// `POST /v1/restores` body. `target` is the target source's worker connection; its
/// `database` is replaced by the mapped name. `sidecar` is the backup's `.meta.json` (null if
/// absent): it gives the source database and the checksum.
#[allow(clippy::too_many_arguments)]
pub fn restore_request(
    execution_id: &str,
    params: &RestoreParams,
    storage: StorageSpec,
    mut target: Value,
    sidecar: &Value,
    key: Option<&Key>,
    callback_url: &str,
    signing_key_hex: &str,
) -> tasks::RestoreRequest {
    // A files source restores into the directory named in the request.
    if target.get("engine").and_then(Value::as_str) == Some("files") {
        target =
            json!({"engine": "files", "path": params.target_path, "overwrite": params.overwrite});
    }
    let files = target.get("engine").and_then(Value::as_str) == Some("files");
    let source_db = sidecar.get("database").and_then(Value::as_str);
    // A multi-database backup (a TAR with a manifest) names its databases itself: the worker
    // applies the mapping per database; a single-database one is restored into the mapped name.
    let multi = sidecar
        .get("databases")
        .and_then(Value::as_array)
        .is_some_and(|d| d.len() > 1);
    if !multi && !files {
        if let (Some(db), Some(obj)) = (params.target_database(source_db), target.as_object_mut()) {
            obj.insert("database".into(), json!(db));
        }
    }
    let mapping = (multi && !params.database_mapping.is_empty()).then(|| {
        params
            .database_mapping
            .iter()
            .filter_map(|(from, to)| Some((from.clone(), to.as_str()?.to_owned())))
            .collect()
    });
    tasks::RestoreRequest {
        execution_id: Some(execution_id.to_owned()),
        source: ObjectLocation {
            storage,
            object_name: params.path.clone(),
        },
        encryption: key.map(Key::spec),
        compression: None,
        target,
        create_database: Some(true),
        verify: Some(true),
        expected_sha256: sidecar
            .get("sha256")
            .and_then(Value::as_str)
            .map(str::to_owned),
        force: params.force.then_some(true),
        privileged: params.privileged_as.as_ref().map(|a| Privileged {
            user: a.user.clone(),
            password: a.password.clone(),
        }),
        database_mapping: mapping,
        dbackup: None,
        callback: Some(CallbackSpec {
            url: callback_url.to_owned(),
            signing_key_hex: signing_key_hex.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retention::RetentionPolicy;
    use chrono::TimeZone;

    fn local() -> StorageSpec {
        storage_spec("d1", json!({"kind": "local", "path": "/b"})).unwrap()
    }

    /// The restore request as JSON, as the worker receives it.
    #[allow(clippy::too_many_arguments)]
    fn restore(
        execution_id: &str,
        params: &RestoreParams,
        storage: StorageSpec,
        target: Value,
        sidecar: &Value,
        key: Option<&Key>,
        callback_url: &str,
        signing_key_hex: &str,
    ) -> Value {
        serde_json::to_value(restore_request(
            execution_id,
            params,
            storage,
            target,
            sidecar,
            key,
            callback_url,
            signing_key_hex,
        ))
        .unwrap()
    }

    fn job() -> StoredJob {
        StoredJob {
            id: "j1".into(),
            name: "nightly".into(),
            schedule: "@daily".into(),
            timezone: "Europe/Berlin".into(),
            enabled: true,
            source_id: "src".into(),
            databases: vec!["shop".into()],
            destinations: vec![("d1".into(), RetentionPolicy::None)],
            compression: "ZSTD".into(),
            compression_level: Some(5),
            encryption_profile_id: Some("prof".into()),
            notification_ids: vec![],
            notification_events: "ALWAYS".into(),
            verify_after_upload: false,
            created_at: String::new(),
            updated_at: String::new(),
            last_scheduled_at: None,
        }
    }

    #[test]
    fn backup_request_shape() {
        let parts = BackupParts {
            execution_id: "e1".into(),
            source: json!({"engine": "postgresql", "host": "127.0.0.1"}),
            destinations: vec![("d1".into(), local())],
            key: Some(Key {
                profile_id: "prof".into(),
                key_hex: "ab".repeat(32),
                kind: KeyKind::Symmetric,
            }),
            callback_url: callback_url("http://127.0.0.1:3000/", "e1"),
            signing_key_hex: "cd".repeat(32),
            now: Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
            trigger: Trigger::Manual,
        };
        let body = serde_json::to_value(backup_request(&job(), &parts).unwrap()).unwrap();
        assert_eq!(
            body,
            json!({
                "executionId": "e1",
                "source": {"engine": "postgresql", "host": "127.0.0.1"},
                "databases": ["shop"],
                "compression": "ZSTD",
                "compressionLevel": 5,
                "encryption": {"keyHex": "ab".repeat(32)},
                "destinations": [{"id": "d1", "storage": {"kind": "local", "path": "/b"}}],
                "jobName": "nightly",
                "timestamp": "2026-01-02T03-04-05Z",
                "meta": {"jobId": "j1", "jobName": "nightly", "sourceId": "src", "databases": ["shop"],
                         "encryptionProfileId": "prof", "executionId": "e1", "trigger": "Manual",
                         "timezone": "Europe/Berlin"},
                "callback": {"url": "http://127.0.0.1:3000/api/internal/executions/e1/events",
                             "signingKeyHex": "cd".repeat(32)},
                "verifyAfterUpload": false,
            })
        );
    }

    /// `verifyAfterUpload` of a job: on unless turned off, stored, shown and sent to the worker.
    #[test]
    fn verify_after_upload_is_a_job_option_default_on() {
        use crate::testutil::{spec, TestDb, NOW};
        let db = TestDb::migrated().with_adapters();
        let on = spec("@daily");
        assert!(on.verify_after_upload);
        crate::job::insert(&db, "on", &on, NOW).unwrap();
        let mut off = crate::job::parse_input(
            json!({"name": "off", "schedule": "@daily", "sourceId": "src",
                   "destinations": [{"destinationId": "dst1"}], "verifyAfterUpload": false}),
            "UTC",
        )
        .unwrap();
        crate::job::insert(&db, "off", &off, NOW).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        for (id, want) in [("on", true), ("off", false)] {
            let stored = crate::job::get(&db, id).unwrap().unwrap();
            assert_eq!(stored.verify_after_upload, want);
            let view = serde_json::to_value(stored.to_view(now, None)).unwrap();
            assert_eq!(view["verifyAfterUpload"], want);
            let parts = BackupParts {
                execution_id: "e1".into(),
                source: json!({"engine": "postgresql"}),
                destinations: vec![("dst1".into(), local())],
                key: None,
                callback_url: "http://h/cb".into(),
                signing_key_hex: "cd".repeat(32),
                now,
                trigger: Trigger::Manual,
            };
            let body = serde_json::to_value(backup_request(&stored, &parts).unwrap()).unwrap();
            assert_eq!(body["verifyAfterUpload"], want);
        }
        // A PUT turns it back on.
        off.verify_after_upload = true;
        assert!(crate::job::update(&db, "off", &off, NOW).unwrap());
        assert!(
            crate::job::get(&db, "off")
                .unwrap()
                .unwrap()
                .verify_after_upload
        );
    }

    #[test]
    fn an_encrypted_backup_is_known_by_its_name_or_its_sidecar() {
        let encrypted = json!({"encryption": {"algorithm": "AES-256-GCM", "keyFingerprint": "f"}});
        assert!(backup_is_encrypted("nightly/x.dump.zst.dbk", &Value::Null));
        // A sidecar rewritten to say "not encrypted" does not change what the name says.
        assert!(backup_is_encrypted(
            "nightly/x.dump.dbk",
            &json!({"encryption": null})
        ));
        assert!(backup_is_encrypted("nightly/x.dump", &encrypted));
        assert!(!backup_is_encrypted(
            "nightly/x.dump.zst",
            &json!({"encryption": null})
        ));
        assert!(!backup_is_encrypted("nightly/x.dump", &Value::Null));
    }

    #[test]
    fn restore_params_and_request() {
        let p = RestoreParams::from_body(&json!({
            "destinationId": "d1", "path": "nightly/x.dump", "targetSourceId": "t",
            "databaseMapping": {"shop": "shop_copy"}
        }))
        .unwrap();
        let body = restore(
            "e2",
            &p,
            local(),
            json!({"engine": "postgresql", "database": "postgres"}),
            &json!({"database": "shop", "sha256": "00ff"}),
            None,
            "http://a/cb",
            "k",
        );
        assert_eq!(body["target"]["database"], "shop_copy");
        assert_eq!(body["source"]["objectName"], "nightly/x.dump");
        assert_eq!(body["expectedSha256"], "00ff");
        assert!(body.get("encryption").is_none());
        assert!(body.get("databaseMapping").is_none());
        assert!(body.get("force").is_none());

        // A multi-database backup: the worker maps per database; the target keeps its own.
        let p = RestoreParams::from_body(&json!({
            "destinationId": "d1", "path": "nightly/x.tar", "targetSourceId": "t",
            "databaseMapping": {"shop": "shop_copy"}, "force": true
        }))
        .unwrap();
        let body = restore(
            "e3",
            &p,
            local(),
            json!({"engine": "postgresql", "database": "postgres"}),
            &json!({"database": null, "databases": ["shop", "crm"]}),
            None,
            "http://a/cb",
            "k",
        );
        assert_eq!(body["target"]["database"], "postgres");
        assert_eq!(body["databaseMapping"], json!({"shop": "shop_copy"}));
        assert_eq!(body["force"], true);
        assert!(body.get("privileged").is_none());
        for bad in [
            json!({"destinationId": "d", "path": "x", "targetSourceId": "t", "privileged": "yes"}),
            json!({"destinationId": "d", "path": "x", "targetSourceId": "t", "privileged": {"password": "p"}}),
            json!({"destinationId": "d", "path": "x", "targetSourceId": "t", "privileged": {"user": " "}}),
            json!({"destinationId": "d", "path": "x", "targetSourceId": "t", "privileged": {"user": "a", "password": 5}}),
            json!({"destinationId": "d", "path": "x", "targetSourceId": "t", "privileged": {"user": "a", "pass": "p"}}),
            json!({"destinationId": "d", "path": "x", "targetSourceId": "t", "force": "yes"}),
            json!({"path": "x", "targetSourceId": "t"}),
            json!({"destinationId": "d", "path": "../x", "targetSourceId": "t"}),
            json!({"destinationId": "d", "path": "/abs", "targetSourceId": "t"}),
            json!({"destinationId": "d", "path": "x", "targetSourceId": "t", "databaseMapping": {"a": 1}}),
        ] {
            assert_eq!(
                RestoreParams::from_body(&bad).unwrap_err().status,
                400,
                "{bad}"
            );
        }
    }

    #[test]
    fn a_files_source_restores_into_the_target_path() {
        let p = RestoreParams::from_body(&json!({
            "destinationId": "d1", "path": "files/x.tar.zst", "targetSourceId": "t",
            "targetPath": "/srv/restored", "overwrite": true,
        }))
        .unwrap();
        assert_eq!(p.target_path.as_deref(), Some("/srv/restored"));
        assert!(p.overwrite);
        let stored = p.to_stored(|_| Ok::<_, ()>(String::new())).unwrap();
        assert_eq!(stored["targetPath"], "/srv/restored");
        let body = restore(
            "e1",
            &p,
            local(),
            json!({"engine": "files", "paths": ["/srv/www"], "excludes": ["*.log"]}),
            &json!({"database": "www", "sha256": "ab"}),
            None,
            "http://cb",
            "00",
        );
        assert_eq!(
            body["target"],
            json!({"engine": "files", "path": "/srv/restored", "overwrite": true})
        );
        for bad in [json!("relative"), json!("/a/../b"), json!(5)] {
            let e = RestoreParams::from_body(&json!({
                "destinationId": "d1", "path": "x", "targetSourceId": "t", "targetPath": bad,
            }))
            .unwrap_err();
            assert_eq!(e.status, 400);
        }
        let e = RestoreParams::from_body(&json!({
            "destinationId": "d1", "path": "x", "targetSourceId": "t", "overwrite": "yes",
        }))
        .unwrap_err();
        assert_eq!(e.status, 400);
    }

    #[test]
    fn privileged_account_is_sealed_at_rest_and_sent_to_the_worker() {
        let seal =
            |p: &str| -> Result<String, dbackup_core::ApiError> { Ok(format!("sealed:{p}")) };
        let unseal = |s: &str| -> Result<String, dbackup_core::ApiError> {
            Ok(s.strip_prefix("sealed:").unwrap().to_owned())
        };
        // The older flag still works and sends no account.
        let p = RestoreParams::from_body(&json!({
            "destinationId": "d1", "path": "x.dump", "targetSourceId": "t", "privileged": true
        }))
        .unwrap();
        assert!(p.privileged && p.privileged_as.is_none());
        let stored = p.to_stored(seal).unwrap();
        assert_eq!(stored["privileged"], true);
        assert!(stored.get("privilegedAs").is_none());

        let p = RestoreParams::from_body(&json!({
            "destinationId": "d1", "path": "x.dump", "targetSourceId": "t",
            "privileged": {"user": " admin ", "password": "s3cret"}
        }))
        .unwrap();
        assert!(!format!("{p:?}").contains("s3cret"));
        let stored = p.to_stored(seal).unwrap();
        assert!(!stored.to_string().contains("\"s3cret"), "{stored}");
        assert_eq!(
            stored["privilegedAs"],
            json!({"user": "admin", "passwordSealed": "sealed:s3cret"})
        );
        // An API body cannot smuggle a stored account in.
        let smuggled = RestoreParams::from_body(&stored).unwrap();
        assert!(smuggled.privileged_as.is_none());
        let back = RestoreParams::from_stored(&stored, unseal).unwrap();
        assert_eq!(back, p);
        let body = restore(
            "e4",
            &back,
            local(),
            json!({"engine": "postgresql", "database": "postgres"}),
            &Value::Null,
            None,
            "http://a/cb",
            "k",
        );
        assert_eq!(
            body["privileged"],
            json!({"user": "admin", "password": "s3cret"})
        );
        // Without a password.
        let p = RestoreParams::from_body(&json!({
            "destinationId": "d1", "path": "x.dump", "targetSourceId": "t",
            "privileged": {"user": "admin", "password": null}
        }))
        .unwrap();
        let back = RestoreParams::from_stored(&p.to_stored(seal).unwrap(), unseal).unwrap();
        let body = restore(
            "e5",
            &back,
            local(),
            json!({}),
            &Value::Null,
            None,
            "u",
            "k",
        );
        assert_eq!(body["privileged"], json!({"user": "admin"}));
    }

    #[test]
    fn newer_postgres_dumps_are_found_before_queueing() {
        let side = |v: &str| json!({"engine": "postgresql", "serverVersion": v});
        let refused = newer_dump(&side("17.2"), "16.4").unwrap();
        assert!(refused.contains("17.2") && refused.contains("16.4") && refused.contains("force"));
        assert!(newer_dump(&side("9.6.24"), "9.5.1").is_some());
        assert!(newer_dump(&side("16.1"), "16.4").is_none());
        assert!(newer_dump(&side("15.8"), "16.4").is_none());
        assert!(newer_dump(&side("9.6.24"), "10.1").is_none());
        // Unknown versions, other engines, no sidecar: not decided here.
        assert!(newer_dump(&side("17.2"), "").is_none());
        assert!(newer_dump(&json!({"engine": "postgresql"}), "16.4").is_none());
        assert!(newer_dump(&json!({"engine": "mysql", "serverVersion": "9.0"}), "8.0").is_none());
        assert!(newer_dump(&Value::Null, "16.4").is_none());
    }
}
