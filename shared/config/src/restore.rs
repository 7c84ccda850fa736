//! Restoring a config document: plan and apply in one `BEGIN IMMEDIATE` transaction.
//!
//! Entities are matched by natural key — groups by name, adapters by (type, name), encryption
//! profiles by key fingerprint, users by email, SSO providers by providerId, jobs by name,
//! settings by key — and every reference is resolved to the ids of *this* database (existing
//! rows, or the rows created moments before in the same transaction). Secrets are sealed again
//! with the current server key under their new row ids. A matched row is updated only when
//! something differs; a secret the document does not carry keeps its stored value.
//!
//! A dry run is the same transaction, rolled back: its change list is exactly what a real run
//! would do. Any error rolls everything back.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use dbackup_adapters_core::{
    fingerprint::fingerprint_hex, registry, secrets, validate, vault, worker_spec,
};
use dbackup_core::db::{Db, Value as DbValue};
use dbackup_core::{net, ApiError};
use dbackup_identity::permissions::{self, SUPER_ADMIN_GROUP};
use dbackup_identity::secretbox::SecretBox;
use dbackup_identity::{groups, sessions, settings, sso, users, Principal, Timestamp};
use dbackup_jobs_core::job;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::access;
use crate::export::{adapter_context, secret_fields, sso_context, two_factor_context};
use crate::setting::{self, ConfigBackupConfig};
use crate::sql::{json_column, rows, text, to_db, transaction, Row};
use crate::{ConfigDocument, DOCUMENT_KIND, FORMAT_VERSION};

/// What a restore does to one entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum ChangeAction {
    Create,
    Update,
    Unchanged,
    Skip,
}

/// One entry of the change list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// `setting`, `adapter`, `encryptionProfile`, `group`, `user`, `ssoProvider` or `job`.
    pub entity: String,
    pub action: ChangeAction,
    /// The natural key (setting key, name, fingerprint, email, providerId).
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Changes per action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ChangeCounts {
    pub create: usize,
    pub update: usize,
    pub unchanged: usize,
    pub skip: usize,
}

/// `POST /api/system/config-restore`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RestoreReport {
    pub dry_run: bool,
    pub format_version: u32,
    pub created_at: String,
    pub changes: Vec<Change>,
    pub counts: ChangeCounts,
    pub warnings: Vec<String>,
}

/// Parses a (decrypted, decompressed) document: 400 when it is not a config backup or is of a
/// newer format.
pub fn parse_document(bytes: &[u8]) -> Result<ConfigDocument, ApiError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request(format!("not a dbackup config backup: invalid JSON ({e})"))
    })?;
    if value.get("kind").and_then(Value::as_str) != Some(DOCUMENT_KIND) {
        return Err(ApiError::bad_request(format!(
            "not a dbackup config backup: kind is not {DOCUMENT_KIND:?}"
        )));
    }
    match value.get("formatVersion").and_then(Value::as_u64) {
        Some(v) if v <= u64::from(FORMAT_VERSION) && v >= 1 => {}
        Some(v) => {
            return Err(ApiError::bad_request(format!(
            "config backup formatVersion {v} is not supported (this build reads {FORMAT_VERSION})"
        )))
        }
        None => {
            return Err(ApiError::bad_request(
                "not a dbackup config backup: formatVersion missing",
            ))
        }
    }
    serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request(format!("invalid config backup: {e}")))
}

fn invalid(what: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!("invalid config backup: {what}"))
}

/// 400 for field `field` of entity `entity` named `name`.
fn bad(entity: &str, name: &str, field: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!(
        "invalid config backup: {entity} {name:?}: {field} {why}"
    ))
    .with_details(json!({"entity": entity, "name": name, "field": field}))
}

/// An answer of an entity's API check (400 invalid, 403 not allowed, 409 conflict) as the
/// restore's: the message names the entity, `details` add `entity` and `name` to the API's own
/// (`field`, …; for a per-field map `fields`, `field` is its first key).
fn about(entity: &str, name: &str, e: impl Into<ApiError>) -> ApiError {
    let mut e: ApiError = e.into();
    let mut details = match e.details.take() {
        Some(Value::Object(m)) => m,
        Some(other) => Map::from_iter([("details".to_owned(), other)]),
        None => Map::new(),
    };
    if !details.contains_key("field") {
        let first = details
            .get("fields")
            .and_then(Value::as_object)
            .and_then(|f| f.keys().next().cloned());
        if let Some(f) = first {
            details.insert("field".into(), json!(f));
        }
    }
    details.insert("entity".into(), json!(entity));
    details.insert("name".into(), json!(name));
    let prefix = if e.status == 400 {
        "invalid config backup: "
    } else {
        ""
    };
    ApiError::new(
        e.status,
        format!("{prefix}{entity} {name:?}: {}", e.message),
    )
    .with_details(Value::Object(details))
}

fn required(entity: &Map<String, Value>, key: &str, what: &str) -> Result<String, ApiError> {
    entity
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            invalid(format!("{what}: {key} missing"))
                .with_details(json!({"entity": what, "field": key}))
        })
}

/// A list of strings (absent or null: empty); 400 naming `field` otherwise.
fn strings(
    entity: &Map<String, Value>,
    field: &str,
    kind: &str,
    name: &str,
) -> Result<Vec<String>, ApiError> {
    match entity.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| bad(kind, name, field, "must be a list of strings"))
            })
            .collect(),
        Some(_) => Err(bad(kind, name, field, "must be a list of strings")),
    }
}

fn opt_str(entity: &Map<String, Value>, key: &str) -> Option<String> {
    entity.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// A JSON value as its column text (objects/arrays as JSON, strings as is).
fn json_text(v: Option<&Value>, default: &str) -> String {
    match v {
        None | Some(Value::Null) => default.to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn bool_value(v: Option<&Value>, default: bool) -> DbValue {
    DbValue::Integer(i64::from(v.and_then(Value::as_bool).unwrap_or(default)))
}

struct Restorer<'a> {
    db: &'a dyn Db,
    sealer: &'a SecretBox,
    doc: &'a ConfigDocument,
    /// Who restores: every create or change must be one they could make through the API.
    who: &'a Principal,
    now: DateTime<Utc>,
    now_iso: String,
    changes: Vec<Change>,
    warnings: Vec<String>,
    /// (type, name) → id, for rows created or matched in this run.
    adapters: HashMap<(String, String), String>,
    /// fingerprint → id.
    profiles: HashMap<String, String>,
    /// name → id.
    groups: HashMap<String, String>,
    /// Users whose password hash or group changed: signed out at the end.
    signed_out: Vec<String>,
}

/// The files the document's adapters name on the worker's machine — a local destination's
/// directory, a SQLite source's file — checked by the worker (`POST /v1/storage/check`) as
/// `POST /api/adapters` does ([`dbackup_adapters_core::worker_spec::path_check`]): a path
/// outside the local storage roots or into the worker's data directory is a 400 naming the
/// adapter and `path`, before anything is written (dry runs too). `post` is the worker.
pub async fn check_worker_paths<P, F>(doc: &ConfigDocument, post: &mut P) -> Result<(), ApiError>
where
    P: FnMut(&'static str, Value) -> F,
    F: std::future::Future<Output = Result<(u16, Vec<u8>), ApiError>>,
{
    for a in &doc.adapters {
        let (Some(Value::String(adapter_id)), Some(Value::Object(config))) =
            (a.get("adapterId"), a.get("config"))
        else {
            continue; // restore() refuses it, naming the field
        };
        if !config.get("path").is_some_and(Value::is_string) {
            continue;
        }
        let Some(request) = worker_spec::path_check(adapter_id, config) else {
            continue;
        };
        let name = a.get("name").and_then(Value::as_str).unwrap_or_default();
        let (status, body) = post("/v1/storage/check", request).await?;
        let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
        worker_spec::path_verdict(adapter_id, status, &body)
            .map_err(|e| about("adapter", name, e))?;
    }
    Ok(())
}

/// Restores `doc` into `db` on behalf of `who`; with `dry_run` nothing is committed. Returns
/// the change list. Creating or changing anything `who` could not create or change through its
/// API is a 403 (dry runs too), an entity its API would refuse a 400 naming it; either way
/// nothing is written ([`crate::access`]).
pub fn restore(
    db: &dyn Db,
    sealer: &SecretBox,
    doc: &ConfigDocument,
    who: &Principal,
    now: DateTime<Utc>,
    dry_run: bool,
) -> Result<RestoreReport, ApiError> {
    let mut r = Restorer {
        db,
        sealer,
        doc,
        who,
        now,
        now_iso: dbackup_jobs_core::iso(now),
        changes: Vec::new(),
        warnings: Vec::new(),
        adapters: HashMap::new(),
        profiles: HashMap::new(),
        groups: HashMap::new(),
        signed_out: Vec::new(),
    };
    transaction(db, !dry_run, || {
        r.groups()?;
        r.adapters()?;
        r.profiles()?;
        r.users()?;
        r.sso_providers()?;
        r.jobs()?;
        r.settings()?;
        r.sign_out()?;
        Ok(())
    })?;
    let mut counts = ChangeCounts::default();
    for c in &r.changes {
        match c.action {
            ChangeAction::Create => counts.create += 1,
            ChangeAction::Update => counts.update += 1,
            ChangeAction::Unchanged => counts.unchanged += 1,
            ChangeAction::Skip => counts.skip += 1,
        }
    }
    Ok(RestoreReport {
        dry_run,
        format_version: doc.format_version,
        created_at: doc.created_at.clone(),
        changes: r.changes,
        counts,
        warnings: r.warnings,
    })
}

impl Restorer<'_> {
    fn change(&mut self, entity: &str, action: ChangeAction, name: &str, reason: Option<String>) {
        self.changes.push(Change {
            entity: entity.to_owned(),
            action,
            name: name.to_owned(),
            reason,
        });
    }

    fn new_id(&self) -> Result<String, ApiError> {
        dbackup_jobs_core::new_id()
    }

    /// Groups, as `POST /api/groups` / `PATCH /api/groups/{id}` would create and change them:
    /// known permission names only, nobody grants what they do not hold, SuperAdmin is never
    /// modified (it holds every permission whatever the document lists).
    fn groups(&mut self) -> Result<(), ApiError> {
        for (i, g) in self.doc.groups.iter().enumerate() {
            let raw = required(g, "name", &format!("groups[{i}]"))?;
            let list = strings(g, "permissions", "group", &raw)?;
            let wanted =
                groups::validate_permissions(&list).map_err(|e| about("group", &raw, e))?;
            if raw == SUPER_ADMIN_GROUP {
                let id = groups::super_admin_id(self.db)?
                    .ok_or_else(|| bad("group", &raw, "name", "cannot be created by a restore"))?;
                self.change("group", ChangeAction::Unchanged, &raw, None);
                self.groups.insert(raw, id);
                continue;
            }
            let name = groups::validate_name(&raw).map_err(|e| about("group", &raw, e))?;
            let existing = rows(
                self.db,
                r#"SELECT "id" FROM "Group" WHERE "name" = ?"#,
                &[name.as_str().into()],
            )?;
            let id = match existing.first().and_then(|row| text(row, "id")) {
                Some(id) => {
                    let current = groups::get(self.db, &id)?;
                    let held = permissions::validate(&current.permissions).unwrap_or_default();
                    if held == wanted {
                        self.change("group", ChangeAction::Unchanged, &name, None);
                    } else {
                        access::may_call(self.who, "PATCH", &format!("/api/groups/{id}"))
                            .and_then(|()| {
                                groups::ensure_may_update(
                                    &self.who.permissions(),
                                    &current,
                                    Some(&wanted),
                                )
                                .map_err(ApiError::from)
                            })
                            .map_err(|e| about("group", &name, e))?;
                        self.db.execute(
                            r#"UPDATE "Group" SET "permissions" = ?, "updatedAt" = ? WHERE "id" = ?"#,
                            &[
                                permissions::to_json(&wanted).into(),
                                self.now_iso.as_str().into(),
                                id.as_str().into(),
                            ],
                        )?;
                        self.change("group", ChangeAction::Update, &name, None);
                    }
                    id
                }
                None => {
                    access::may_call(self.who, "POST", "/api/groups")
                        .and_then(|()| access::ensure_held(self.who, &wanted))
                        .map_err(|e| about("group", &name, e))?;
                    let id = self.new_id()?;
                    self.db.execute(
                        r#"INSERT INTO "Group" ("id", "name", "permissions", "createdAt", "updatedAt")
                           VALUES (?, ?, ?, ?, ?)"#,
                        &[
                            id.as_str().into(),
                            name.as_str().into(),
                            permissions::to_json(&wanted).into(),
                            self.now_iso.as_str().into(),
                            self.now_iso.as_str().into(),
                        ],
                    )?;
                    self.change("group", ChangeAction::Create, &name, None);
                    id
                }
            };
            self.groups.insert(name, id);
        }
        Ok(())
    }

    /// Seals the secret fields of a plaintext config under row `id`.
    fn seal_config(
        &self,
        id: &str,
        adapter_id: &str,
        plain: &Map<String, Value>,
    ) -> Result<Map<String, Value>, ApiError> {
        let mut out = plain.clone();
        let fields: Vec<String> = match registry::find(adapter_id) {
            Some(t) => t.secret_fields().map(str::to_owned).collect(),
            None => Vec::new(),
        };
        for f in fields {
            if let Some(value) = plain.get(&f) {
                let sealed = secrets::seal_value(self.sealer, value, &adapter_context(id, &f))?;
                out.insert(f, sealed);
            }
        }
        Ok(out)
    }

    /// The stored config of row `id` with its secrets decrypted.
    fn open_config(
        &self,
        id: &str,
        adapter_id: &str,
        stored: &Map<String, Value>,
    ) -> Result<Map<String, Value>, ApiError> {
        let mut out = stored.clone();
        for f in secret_fields(adapter_id, stored) {
            let Some(sealed) = stored.get(&f) else {
                continue;
            };
            let plain = secrets::open_value(self.sealer, sealed, &adapter_context(id, &f))
                .ok_or_else(|| {
                    ApiError::internal(format!(
                        "adapter {id}: secret field {f} does not decrypt with the current encryption_key"
                    ))
                })?;
            out.insert(f, plain);
        }
        Ok(out)
    }

    /// Adapters, as `POST /api/adapters` / `PUT /api/adapters/{id}` would create and change
    /// them: a known adapter of the stated type, the name and config validated by the registry
    /// (outbound-address rules included), the kind's write permission. A secret the document
    /// leaves out keeps the stored one exactly as a PUT sending the mask would, so not when a
    /// field binding it to its target changes ([`secrets::merge`]). A secret neither in the
    /// document nor stored may be missing: the adapter is restored without it, with a warning.
    fn adapters(&mut self) -> Result<(), ApiError> {
        for (i, a) in self.doc.adapters.iter().enumerate() {
            let what = format!("adapters[{i}]");
            let raw = required(a, "name", &what)?;
            let name = validate::name(&raw).map_err(|e| about("adapter", &raw, e))?;
            let kind = required(a, "type", &what)?;
            let adapter_id = required(a, "adapterId", &what)?;
            let t = registry::find(&adapter_id).ok_or_else(|| {
                bad(
                    "adapter",
                    &name,
                    "adapterId",
                    format!("{adapter_id:?} is unknown"),
                )
            })?;
            if t.kind.as_str() != kind {
                return Err(bad(
                    "adapter",
                    &name,
                    "type",
                    format!("must be {} for {}", t.kind.as_str(), t.id),
                ));
            }
            let Some(Value::Object(config)) = a.get("config") else {
                return Err(bad("adapter", &name, "config", "must be an object"));
            };
            let missing_secrets: Vec<&str> = t
                .secret_fields()
                .filter(|f| !config.contains_key(*f))
                .collect();
            let existing = rows(
                self.db,
                r#"SELECT "id", "adapterId", "config" FROM "AdapterConfig" WHERE "type" = ? AND "name" = ?
                   ORDER BY "createdAt", "id" LIMIT 1"#,
                &[kind.as_str().into(), name.as_str().into()],
            )?;
            let id = match existing.first() {
                Some(row) => {
                    let id = text(row, "id").unwrap_or_default();
                    let stored_adapter = text(row, "adapterId").unwrap_or_default();
                    let stored = match json_column(row, "config", json!({})) {
                        Value::Object(m) => m,
                        _ => Map::new(),
                    };
                    let stored_plain = self.open_config(&id, &stored_adapter, &stored)?;
                    let mut incoming = config.clone();
                    if stored_adapter == adapter_id {
                        for f in &missing_secrets {
                            if stored_plain.contains_key(*f) {
                                incoming.insert((*f).to_owned(), json!(secrets::MASK));
                            }
                        }
                    }
                    let merged = match secrets::merge(t, &Value::Object(incoming), &stored_plain)
                        .map_err(|e| about("adapter", &name, e))?
                    {
                        Value::Object(m) => m,
                        _ => Map::new(),
                    };
                    let still_missing: Vec<&str> = missing_secrets
                        .iter()
                        .copied()
                        .filter(|f| !merged.contains_key(*f))
                        .collect();
                    let checked = checked_config(t, &name, &merged, &still_missing)?;
                    if stored_adapter == adapter_id && checked == stored_plain {
                        self.change("adapter", ChangeAction::Unchanged, &name, None);
                    } else {
                        access::require(self.who, t.kind.permission(true))
                            .map_err(|e| about("adapter", &name, e))?;
                        let sealed = self.seal_config(&id, &adapter_id, &checked)?;
                        self.db.execute(
                            r#"UPDATE "AdapterConfig" SET "adapterId" = ?, "config" = ?, "updatedAt" = ? WHERE "id" = ?"#,
                            &[
                                adapter_id.as_str().into(),
                                Value::Object(sealed).to_string().into(),
                                self.now_iso.as_str().into(),
                                id.as_str().into(),
                            ],
                        )?;
                        self.change("adapter", ChangeAction::Update, &name, None);
                    }
                    id
                }
                None => {
                    let checked = checked_config(t, &name, config, &missing_secrets)?;
                    access::require(self.who, t.kind.permission(true))
                        .map_err(|e| about("adapter", &name, e))?;
                    let id = self.new_id()?;
                    let sealed = self.seal_config(&id, &adapter_id, &checked)?;
                    self.db.execute(
                        r#"INSERT INTO "AdapterConfig" ("id", "name", "type", "adapterId", "config", "createdAt", "updatedAt")
                           VALUES (?, ?, ?, ?, ?, ?, ?)"#,
                        &[
                            id.as_str().into(),
                            name.as_str().into(),
                            kind.as_str().into(),
                            adapter_id.as_str().into(),
                            Value::Object(sealed).to_string().into(),
                            self.now_iso.as_str().into(),
                            self.now_iso.as_str().into(),
                        ],
                    )?;
                    let reason = (!missing_secrets.is_empty()).then(|| {
                        format!("secrets not in the backup: {}", missing_secrets.join(", "))
                    });
                    if let Some(r) = &reason {
                        self.warnings.push(format!(
                            "adapter {name:?}: {r}; enter them again before use"
                        ));
                    }
                    self.change("adapter", ChangeAction::Create, &name, reason);
                    id
                }
            };
            self.adapters.insert((kind, name), id);
        }
        Ok(())
    }

    /// The id of the adapter `(kind, name)`: restored in this run, else existing.
    fn adapter(&self, kind: &str, name: &str) -> Result<Option<String>, ApiError> {
        if let Some(id) = self.adapters.get(&(kind.to_owned(), name.to_owned())) {
            return Ok(Some(id.clone()));
        }
        Ok(rows(
            self.db,
            r#"SELECT "id" FROM "AdapterConfig" WHERE "type" = ? AND "name" = ? ORDER BY "createdAt", "id" LIMIT 1"#,
            &[kind.into(), name.into()],
        )?
        .first()
        .and_then(|r| text(r, "id")))
    }

    fn profile(&self, fingerprint: &str) -> Result<Option<String>, ApiError> {
        if let Some(id) = self.profiles.get(fingerprint) {
            return Ok(Some(id.clone()));
        }
        Ok(rows(
            self.db,
            r#"SELECT "id" FROM "EncryptionProfile" WHERE "fingerprint" = ?"#,
            &[fingerprint.into()],
        )?
        .first()
        .and_then(|r| text(r, "id")))
    }

    fn profiles(&mut self) -> Result<(), ApiError> {
        for (i, p) in self.doc.encryption_profiles.iter().enumerate() {
            let what = format!("encryptionProfiles[{i}]");
            let fingerprint = required(p, "fingerprint", &what)?.to_lowercase();
            let raw = opt_str(p, "name").unwrap_or_else(|| fingerprint.clone());
            let name = validate::name(&raw).map_err(|e| about("encryptionProfile", &raw, e))?;
            let description = opt_str(p, "description");
            // Storing keys and naming them is what `POST /api/encryption-profiles` needs.
            let may_write = |r: &Self| {
                access::may_call(r.who, "POST", "/api/encryption-profiles")
                    .map_err(|e| about("encryptionProfile", &name, e))
            };
            let existing = rows(
                self.db,
                r#"SELECT "id", "name", "description" FROM "EncryptionProfile" WHERE "fingerprint" = ?"#,
                &[fingerprint.as_str().into()],
            )?;
            if let Some(row) = existing.first() {
                let id = text(row, "id").unwrap_or_default();
                if text(row, "name").as_deref() == Some(name.as_str())
                    && text(row, "description") == description
                {
                    self.change("encryptionProfile", ChangeAction::Unchanged, &name, None);
                } else {
                    may_write(self)?;
                    self.db.execute(
                        r#"UPDATE "EncryptionProfile" SET "name" = ?, "description" = ?, "updatedAt" = ? WHERE "id" = ?"#,
                        &[
                            name.as_str().into(),
                            description.clone().into(),
                            self.now_iso.as_str().into(),
                            id.as_str().into(),
                        ],
                    )?;
                    self.change("encryptionProfile", ChangeAction::Update, &name, None);
                }
                self.profiles.insert(fingerprint, id);
                continue;
            }
            let Some(key_hex) = opt_str(p, "key") else {
                let reason = format!(
                    "the key ({fingerprint}) is not in this backup: import it into the vault first"
                );
                self.warnings
                    .push(format!("encryption profile {name:?}: {reason}"));
                self.change("encryptionProfile", ChangeAction::Skip, &name, Some(reason));
                continue;
            };
            let key = vault::parse_key(&key_hex).map_err(|_| {
                bad(
                    "encryptionProfile",
                    &name,
                    "key",
                    "is not 64 hex characters",
                )
            })?;
            if fingerprint_hex(&key) != fingerprint {
                return Err(bad(
                    "encryptionProfile",
                    &name,
                    "key",
                    format!("does not match fingerprint {fingerprint}"),
                ));
            }
            may_write(self)?;
            let created = vault::create(self.db, self.sealer, &name, description.as_deref(), &key)
                .map_err(|e| about("encryptionProfile", &name, e))?;
            self.change("encryptionProfile", ChangeAction::Create, &name, None);
            self.profiles.insert(fingerprint, created.id);
        }
        Ok(())
    }

    /// Users, as `POST /api/users` / `PATCH /api/users/{id}` would create and change them:
    /// email, name and preferences validated as the API does; users:write; a user is put only
    /// into a group the caller could assign (the last SuperAdmin never leaves); an existing user
    /// is changed at all (profile, group, password hash) only when the caller could manage them,
    /// i.e. holds every permission they hold. A user whose password hash or group changes is
    /// signed out everywhere ([`Restorer::sign_out`]).
    fn users(&mut self) -> Result<(), ApiError> {
        for (i, u) in self.doc.users.iter().enumerate() {
            let raw = required(u, "email", &format!("users[{i}]"))?;
            let email = users::normalize_email(&raw).map_err(|e| about("user", &raw, e))?;
            let fields = users::validated(&users::UserUpdate {
                name: Some(opt_str(u, "name").unwrap_or_else(|| email.clone())),
                timezone: Some(opt_str(u, "timezone").unwrap_or_else(|| "UTC".into())),
                date_format: Some(opt_str(u, "dateFormat").unwrap_or_else(|| "P".into())),
                time_format: Some(opt_str(u, "timeFormat").unwrap_or_else(|| "p".into())),
                ..Default::default()
            })
            .map_err(|e| about("user", &email, e))?;
            let hash = match opt_str(u, "passwordHash") {
                Some(h) if !is_password_hash(&h) => {
                    return Err(bad(
                        "user",
                        &email,
                        "passwordHash",
                        "must be an argon2 PHC string",
                    ))
                }
                other => other,
            };
            let group_id = match opt_str(u, "group") {
                None => None,
                Some(g) => match self.groups.get(&g).cloned() {
                    Some(id) => Some(id),
                    None => {
                        let found = rows(
                            self.db,
                            r#"SELECT "id" FROM "Group" WHERE "name" = ?"#,
                            &[g.as_str().into()],
                        )?
                        .first()
                        .and_then(|r| text(r, "id"));
                        if found.is_none() {
                            self.warnings
                                .push(format!("user {email:?}: group {g:?} not found; no group"));
                        }
                        found
                    }
                },
            };
            let columns: [(&str, DbValue); 7] = [
                ("name", fields.name.into()),
                ("emailVerified", bool_value(u.get("emailVerified"), false)),
                ("image", opt_str(u, "image").into()),
                ("timezone", fields.timezone.into()),
                ("dateFormat", fields.date_format.into()),
                ("timeFormat", fields.time_format.into()),
                ("groupId", group_id.clone().into()),
            ];
            if let Some(current) = users::find_by_email(self.db, &email)? {
                let id = current.id.clone();
                let row = rows(
                    self.db,
                    r#"SELECT * FROM "User" WHERE "id" = ?"#,
                    &[id.as_str().into()],
                )?;
                let profile_changed = row.first().is_none_or(|r| differs(r, &columns));
                let group_changed = current.group_id != group_id;
                let hash_changed = match &hash {
                    Some(h) => users::password_hash(self.db, &id)?.as_deref() != Some(h),
                    None => false,
                };
                if !profile_changed && !hash_changed {
                    self.change("user", ChangeAction::Unchanged, &email, None);
                    continue;
                }
                let holds = &self.who.permissions();
                access::may_call(self.who, "PATCH", &format!("/api/users/{id}"))
                    .and_then(|()| {
                        users::ensure_manageable(self.db, holds, &current)?;
                        if group_changed {
                            users::ensure_group_change(
                                self.db,
                                holds,
                                &current,
                                group_id.as_deref(),
                            )?;
                        }
                        Ok(())
                    })
                    .map_err(|e| about("user", &email, e))?;
                if profile_changed {
                    update_row(self.db, "User", &id, &columns, &self.now_iso)?;
                }
                if let (Some(h), true) = (&hash, hash_changed) {
                    self.set_password(&id, h)?;
                }
                let reason = (group_changed || hash_changed).then(|| {
                    self.signed_out.push(id.clone());
                    "password or group changed: signed out everywhere".to_owned()
                });
                self.change("user", ChangeAction::Update, &email, reason);
                continue;
            }
            access::may_call(self.who, "POST", "/api/users")
                .and_then(|()| {
                    users::ensure_may_assign(self.db, &self.who.permissions(), group_id.as_deref())
                        .map_err(ApiError::from)
                })
                .map_err(|e| about("user", &email, e))?;
            let id = self.new_id()?;
            let two_factor = u.get("twoFactor").and_then(Value::as_object);
            let mut cols: Vec<(&str, DbValue)> = columns.to_vec();
            cols.push(("id", id.as_str().into()));
            cols.push(("email", email.as_str().into()));
            cols.push((
                "twoFactorEnabled",
                DbValue::Integer(i64::from(two_factor.is_some())),
            ));
            cols.push(("passkeyTwoFactor", DbValue::Integer(0)));
            cols.push(("createdAt", self.now_iso.as_str().into()));
            cols.push(("updatedAt", self.now_iso.as_str().into()));
            insert_row(self.db, "User", &cols)?;
            let mut reason = None;
            match &hash {
                Some(h) => self.set_password(&id, h)?,
                None => {
                    let r = "no password in the backup: reset it or sign in with SSO".to_owned();
                    self.warnings.push(format!("user {email:?}: {r}"));
                    reason = Some(r);
                }
            }
            if let Some(t) = two_factor {
                let secret = t.get("secret").and_then(Value::as_str).unwrap_or_default();
                let sealed = self
                    .sealer
                    .encrypt(secret.as_bytes(), &two_factor_context(&id))
                    .map_err(ApiError::from)?;
                insert_row(
                    self.db,
                    "TwoFactor",
                    &[
                        ("id", self.new_id()?.into()),
                        ("secret", sealed.into()),
                        ("backupCodes", json_text(t.get("backupCodes"), "[]").into()),
                        ("userId", id.as_str().into()),
                        ("verified", bool_value(t.get("verified"), true)),
                        ("createdAt", self.now_iso.as_str().into()),
                        ("updatedAt", self.now_iso.as_str().into()),
                    ],
                )?;
            }
            self.change("user", ChangeAction::Create, &email, reason);
        }
        Ok(())
    }

    /// Signs out (deletes every session of) each user whose password hash or group the restore
    /// changed, as a password change does; the caller's own current session stays. API keys stay:
    /// they act with their owner's current permissions anyway.
    fn sign_out(&mut self) -> Result<(), ApiError> {
        for id in &self.signed_out {
            let keep = (id == self.who.user_id())
                .then(|| self.who.session_id())
                .flatten();
            sessions::revoke_all_except(self.db, id, keep)?;
        }
        Ok(())
    }

    fn set_password(&self, user_id: &str, hash: &str) -> Result<(), ApiError> {
        let updated = rows(
            self.db,
            r#"UPDATE "Account" SET "password" = ?, "updatedAt" = ? WHERE "userId" = ? AND "providerId" = ?
               RETURNING "id""#,
            &[
                hash.into(),
                self.now_iso.as_str().into(),
                user_id.into(),
                dbackup_identity::users::CREDENTIAL_PROVIDER.into(),
            ],
        )?;
        if updated.is_empty() {
            insert_row(
                self.db,
                "Account",
                &[
                    ("id", self.new_id()?.into()),
                    ("accountId", user_id.into()),
                    (
                        "providerId",
                        dbackup_identity::users::CREDENTIAL_PROVIDER.into(),
                    ),
                    ("userId", user_id.into()),
                    ("password", hash.into()),
                    ("createdAt", self.now_iso.as_str().into()),
                    ("updatedAt", self.now_iso.as_str().into()),
                ],
            )?;
        }
        Ok(())
    }

    fn sso_providers(&mut self) -> Result<(), ApiError> {
        const TEXT: &[&str] = &[
            "type",
            "domain",
            "issuer",
            "authorizationEndpoint",
            "tokenEndpoint",
            "userInfoEndpoint",
            "jwksEndpoint",
            "clientId",
            "adapterId",
            "adapterConfig",
            "name",
        ];
        const FLAGS: &[(&str, bool)] = &[
            ("domainVerified", false),
            ("enabled", true),
            ("allowProvisioning", true),
            ("trustEmailLinking", false),
        ];
        for (i, p) in self.doc.sso_providers.iter().enumerate() {
            let what = format!("ssoProviders[{i}]");
            let provider_id = required(p, "providerId", &what)?;
            required(p, "name", &what)?;
            required(p, "adapterId", &what)?;
            check_sso_provider(&provider_id, p)?;
            let mut columns: Vec<(&str, DbValue)> = TEXT
                .iter()
                .map(|c| (*c, p.get(*c).map(to_db).unwrap_or(DbValue::Null)))
                .collect();
            if matches!(columns[0].1, DbValue::Null) {
                columns[0].1 = "oidc".into();
            }
            for (c, default) in FLAGS {
                columns.push((*c, bool_value(p.get(*c), *default)));
            }
            let secret = opt_str(p, "clientSecret");
            let existing = rows(
                self.db,
                r#"SELECT * FROM "SsoProvider" WHERE "providerId" = ?"#,
                &[provider_id.as_str().into()],
            )?;
            if let Some(row) = existing.first() {
                let id = text(row, "id").unwrap_or_default();
                let mut changed = differs(row, &columns);
                if let Some(s) = &secret {
                    let current = text(row, "clientSecret").and_then(|sealed| {
                        self.sealer
                            .decrypt(&sealed, &sso_context(&provider_id))
                            .ok()
                            .and_then(|b| String::from_utf8(b).ok())
                    });
                    if current.as_deref() != Some(s.as_str()) {
                        let sealed = self
                            .sealer
                            .encrypt(s.as_bytes(), &sso_context(&provider_id))
                            .map_err(ApiError::from)?;
                        columns.push(("clientSecret", sealed.into()));
                        changed = true;
                    }
                }
                if changed {
                    self.may_change_sso(&provider_id)?;
                    update_row(self.db, "SsoProvider", &id, &columns, &self.now_iso)?;
                }
                let action = if changed {
                    ChangeAction::Update
                } else {
                    ChangeAction::Unchanged
                };
                self.change("ssoProvider", action, &provider_id, None);
                continue;
            }
            let mut reason = None;
            match &secret {
                Some(s) => {
                    let sealed = self
                        .sealer
                        .encrypt(s.as_bytes(), &sso_context(&provider_id))
                        .map_err(ApiError::from)?;
                    columns.push(("clientSecret", sealed.into()));
                }
                None => {
                    let r = "client secret not in the backup: enter it again".to_owned();
                    self.warnings
                        .push(format!("SSO provider {provider_id:?}: {r}"));
                    reason = Some(r);
                }
            }
            self.may_change_sso(&provider_id)?;
            columns.push(("id", self.new_id()?.into()));
            columns.push(("providerId", provider_id.as_str().into()));
            columns.push(("createdAt", self.now_iso.as_str().into()));
            columns.push(("updatedAt", self.now_iso.as_str().into()));
            insert_row(self.db, "SsoProvider", &columns)?;
            self.change("ssoProvider", ChangeAction::Create, &provider_id, reason);
        }
        Ok(())
    }

    /// An SSO provider decides who signs in: creating or changing one through a restore needs
    /// what the SSO provider API needs (every permission, `sso::ensure_may_manage`).
    fn may_change_sso(&self, provider_id: &str) -> Result<(), ApiError> {
        access::may_call(self.who, "POST", "/api/sso-providers")
            .and_then(|()| sso::ensure_may_manage(self.who).map_err(ApiError::from))
            .map_err(|e| about("ssoProvider", provider_id, e))
    }

    /// Jobs, as `POST /api/jobs` / `PUT /api/jobs/{id}` would store them: every field checked by
    /// `dbackup_jobs_core::job` (name, cron schedule, timezone, databases, each destination's
    /// retention, compression and level, notification events) before any reference is resolved,
    /// the references checked as the API does, jobs:write. A job whose source, destination or
    /// encryption key is not here is skipped with a warning.
    fn jobs(&mut self) -> Result<(), ApiError> {
        for (i, j) in self.doc.jobs.iter().enumerate() {
            let what = format!("jobs[{i}]");
            let raw = required(j, "name", &what)?;
            let existing = rows(
                self.db,
                r#"SELECT * FROM "Job" WHERE "name" = ? ORDER BY "createdAt", "id" LIMIT 1"#,
                &[raw.as_str().into()],
            )?;
            // As PUT: a job without a timezone keeps its own; as POST: the system's.
            let default_tz = match existing.first().and_then(|r| text(r, "timezone")) {
                Some(tz) => tz,
                None => job::default_timezone(self.db)?,
            };
            let mut dests = Vec::new();
            match j.get("destinations") {
                None | Some(Value::Null) => {}
                Some(Value::Array(items)) => {
                    for d in items {
                        let Some(dname) = d.get("name").and_then(Value::as_str) else {
                            return Err(bad("job", &raw, "destinations", "each needs a name"));
                        };
                        dests.push(job::DestinationInput {
                            destination_id: dname.to_owned(),
                            retention: d.get("retention").cloned().unwrap_or(Value::Null),
                        });
                    }
                }
                Some(_) => return Err(bad("job", &raw, "destinations", "must be a list")),
            }
            let compression_level =
                match j.get("compressionLevel") {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(v.as_i64().ok_or_else(|| {
                        bad("job", &raw, "compressionLevel", "must be an integer")
                    })?),
                };
            // References by natural key stand in for the ids until they are resolved below.
            let input = job::JobInput {
                name: raw.clone(),
                schedule: opt_str(j, "schedule").unwrap_or_default(),
                timezone: opt_str(j, "timezone"),
                enabled: j.get("enabled").and_then(Value::as_bool),
                source_id: opt_str(j, "source").unwrap_or_default(),
                databases: strings(j, "databases", "job", &raw)?,
                destinations: dests,
                compression: opt_str(j, "compression"),
                compression_level,
                encryption_profile_id: opt_str(j, "encryptionProfile"),
                notification_ids: strings(j, "notifications", "job", &raw)?,
                notification_events: opt_str(j, "notificationEvents"),
            };
            let mut spec = input
                .validate(&default_tz)
                .map_err(|e| about("job", &raw, e))?;
            let name = spec.name.clone();
            let skip = |r: &mut Self, reason: String| {
                r.warnings
                    .push(format!("job {name:?} not restored: {reason}"));
                r.change("job", ChangeAction::Skip, &name, Some(reason));
            };
            let Some(source_id) = self.adapter("database", &spec.source_id)? else {
                skip(self, format!("source {:?} not found", spec.source_id));
                continue;
            };
            spec.source_id = source_id;
            let mut missing = None;
            for (dest, _) in spec.destinations.iter_mut() {
                match self.adapter("storage", dest)? {
                    Some(id) => *dest = id,
                    None => missing = Some(dest.clone()),
                }
            }
            if let Some(dname) = missing {
                skip(self, format!("destination {dname:?} not found"));
                continue;
            }
            if let Some(fp) = spec.encryption_profile_id.take() {
                match self.profile(&fp.to_lowercase())? {
                    Some(id) => spec.encryption_profile_id = Some(id),
                    None => {
                        skip(self, format!("encryption profile {fp} is not in the vault"));
                        continue;
                    }
                }
            }
            let mut notifications: Vec<String> = Vec::new();
            for nname in std::mem::take(&mut spec.notification_ids) {
                match self.adapter("notification", &nname)? {
                    Some(id) if !notifications.contains(&id) => notifications.push(id),
                    Some(_) => {}
                    None => self.warnings.push(format!(
                        "job {name:?}: notification channel {nname:?} not found; left out"
                    )),
                }
            }
            spec.notification_ids = notifications.clone();
            job::check_references(self.db, &spec).map_err(|e| about("job", &name, e))?;
            let destinations: Vec<(String, String)> = spec
                .destinations
                .iter()
                .map(|(id, policy)| (id.clone(), policy.to_json().to_string()))
                .collect();
            let columns: Vec<(&str, DbValue)> = vec![
                ("schedule", spec.schedule.as_str().into()),
                ("timezone", spec.timezone.as_str().into()),
                ("enabled", spec.enabled.into()),
                ("compression", spec.compression.as_str().into()),
                ("compressionLevel", spec.compression_level.into()),
                // As the API stores it: the first destination's retention.
                ("retention", destinations[0].1.as_str().into()),
                (
                    "notificationEvents",
                    spec.notification_events.as_str().into(),
                ),
                (
                    "databases",
                    Value::from(spec.databases.clone()).to_string().into(),
                ),
                ("sourceId", spec.source_id.as_str().into()),
                ("destinationId", destinations[0].0.as_str().into()),
                (
                    "encryptionProfileId",
                    spec.encryption_profile_id.clone().into(),
                ),
            ];
            let (id, action) = match existing.first() {
                Some(row) => {
                    let id = text(row, "id").unwrap_or_default();
                    let stored_dests: Vec<(String, String)> = rows(
                        self.db,
                        r#"SELECT "destinationId", "retention" FROM "JobDestination" WHERE "jobId" = ? ORDER BY "position""#,
                        &[id.as_str().into()],
                    )?
                    .iter()
                    .map(|d| (text(d, "destinationId").unwrap_or_default(), text(d, "retention").unwrap_or_default()))
                    .collect();
                    let mut stored_notes: Vec<String> = rows(
                        self.db,
                        r#"SELECT "adapterConfigId" FROM "JobNotification" WHERE "jobId" = ?"#,
                        &[id.as_str().into()],
                    )?
                    .iter()
                    .filter_map(|n| text(n, "adapterConfigId"))
                    .collect();
                    stored_notes.sort();
                    let mut wanted_notes = notifications.clone();
                    wanted_notes.sort();
                    let same_dests = stored_dests.len() == destinations.len()
                        && stored_dests.iter().zip(&destinations).all(|(a, b)| {
                            a.0 == b.0
                                && serde_json::from_str::<Value>(&a.1).ok()
                                    == serde_json::from_str::<Value>(&b.1).ok()
                        });
                    if !differs(row, &columns) && same_dests && stored_notes == wanted_notes {
                        self.change("job", ChangeAction::Unchanged, &name, None);
                        continue;
                    }
                    access::may_call(self.who, "PUT", &format!("/api/jobs/{id}"))
                        .map_err(|e| about("job", &name, e))?;
                    update_row(self.db, "Job", &id, &columns, &self.now_iso)?;
                    (id, ChangeAction::Update)
                }
                None => {
                    access::may_call(self.who, "POST", "/api/jobs")
                        .map_err(|e| about("job", &name, e))?;
                    let id = self.new_id()?;
                    let mut cols = columns.clone();
                    cols.push(("id", id.as_str().into()));
                    cols.push(("name", name.as_str().into()));
                    cols.push(("createdAt", self.now_iso.as_str().into()));
                    cols.push(("updatedAt", self.now_iso.as_str().into()));
                    // The schedule starts now: no catch-up run of occurrences before the restore.
                    cols.push(("lastScheduledAt", self.now_iso.as_str().into()));
                    insert_row(self.db, "Job", &cols)?;
                    (id, ChangeAction::Create)
                }
            };
            self.db.execute(
                r#"DELETE FROM "JobDestination" WHERE "jobId" = ?"#,
                &[id.as_str().into()],
            )?;
            for (position, (dest, retention)) in destinations.iter().enumerate() {
                insert_row(
                    self.db,
                    "JobDestination",
                    &[
                        ("jobId", id.as_str().into()),
                        ("destinationId", dest.as_str().into()),
                        ("retention", retention.as_str().into()),
                        ("position", DbValue::Integer(position as i64)),
                    ],
                )?;
            }
            self.db.execute(
                r#"DELETE FROM "JobNotification" WHERE "jobId" = ?"#,
                &[id.as_str().into()],
            )?;
            for n in &notifications {
                insert_row(
                    self.db,
                    "JobNotification",
                    &[
                        ("jobId", id.as_str().into()),
                        ("adapterConfigId", n.as_str().into()),
                    ],
                )?;
            }
            self.change("job", action, &name, None);
        }
        Ok(())
    }

    fn settings(&mut self) -> Result<(), ApiError> {
        let now_ts = Timestamp::from_millis(self.now.timestamp_millis());
        for (key, value) in &self.doc.settings {
            if key == setting::KEY {
                self.config_backup(value)?;
                continue;
            }
            let Some(s) = settings::find(key) else {
                self.change(
                    "setting",
                    ChangeAction::Skip,
                    key,
                    Some("unknown setting".into()),
                );
                continue;
            };
            let mut wanted = value.clone();
            if key == settings::SYSTEM_NOTIFICATION_CHANNELS {
                let mut ids = Vec::new();
                for n in value.as_array().into_iter().flatten() {
                    let nname = n.as_str().unwrap_or_default();
                    match self.adapter("notification", nname)? {
                        Some(id) => ids.push(Value::String(id)),
                        None => self.warnings.push(format!(
                            "setting {key}: notification channel {nname:?} not found; left out"
                        )),
                    }
                }
                wanted = Value::Array(ids);
            }
            let stored =
                settings::validate(self.db, s, &wanted).map_err(|e| about("setting", key, e))?;
            if settings::value(self.db, s)? == wanted {
                self.change("setting", ChangeAction::Unchanged, key, None);
                continue;
            }
            access::may_call(self.who, "PATCH", "/api/settings")
                .map_err(|e| about("setting", key, e))?;
            settings::set(self.db, s.key, &stored, now_ts)?;
            self.change("setting", ChangeAction::Update, key, None);
        }
        Ok(())
    }

    fn config_backup(&mut self, value: &Value) -> Result<(), ApiError> {
        let Some(m) = value.as_object() else {
            return Err(invalid("settings.configBackup must be an object"));
        };
        let mut patch = m.clone();
        let destination = patch.remove("destination");
        let profile = patch.remove("encryptionProfile");
        patch.remove("destinationId");
        patch.remove("encryptionProfileId");
        let mut reason = None;
        let destination_id = match destination.as_ref().and_then(Value::as_str) {
            None => None,
            Some(n) => {
                let id = self.adapter("storage", n)?;
                if id.is_none() {
                    reason = Some(format!("destination {n:?} not found"));
                }
                id
            }
        };
        let profile_id = match profile.as_ref().and_then(Value::as_str) {
            None => None,
            Some(fp) => {
                let id = self.profile(&fp.to_lowercase())?;
                if id.is_none() {
                    reason = Some(format!("encryption profile {fp} is not in the vault"));
                }
                id
            }
        };
        if let Some(r) = reason {
            self.warnings
                .push(format!("configBackup not restored: {r}"));
            self.change("setting", ChangeAction::Skip, setting::KEY, Some(r));
            return Ok(());
        }
        patch.insert("destinationId".into(), json!(destination_id));
        patch.insert("encryptionProfileId".into(), json!(profile_id));
        let tz = settings::scheduler_timezone(self.db)?;
        let wanted = setting::merge(ConfigBackupConfig::defaults(&tz), &patch)
            .map_err(|e| about("setting", setting::KEY, e))?;
        setting::validate(self.db, &wanted).map_err(|e| about("setting", setting::KEY, e))?;
        if setting::stored(self.db)?.as_ref() == Some(&wanted) {
            self.change("setting", ChangeAction::Unchanged, setting::KEY, None);
            return Ok(());
        }
        access::may_call(self.who, "PUT", "/api/system/config-backup")
            .map_err(|e| about("setting", setting::KEY, e))?;
        setting::save(self.db, &wanted, self.now)?;
        if wanted.enabled {
            // The restored schedule starts now.
            self.db.execute(
                r#"INSERT INTO "SystemSetting" ("key", "value", "updatedAt") VALUES (?, ?, ?)
                   ON CONFLICT ("key") DO UPDATE SET "value" = excluded."value""#,
                &[
                    setting::MARKER_KEY.into(),
                    self.now_iso.as_str().into(),
                    self.now_iso.as_str().into(),
                ],
            )?;
        }
        self.change("setting", ChangeAction::Update, setting::KEY, None);
        Ok(())
    }
}

/// `config` as the registry validates and normalizes it for adapter type `t` (400 naming the
/// adapter and its first bad field). Secrets in `absent` (in neither the document nor the store)
/// may be missing: then the config is kept as given, its other fields having passed.
fn checked_config(
    t: &registry::AdapterType,
    name: &str,
    config: &Map<String, Value>,
    absent: &[&str],
) -> Result<Map<String, Value>, ApiError> {
    match validate::validate(t, &Value::Object(config.clone())) {
        Ok(normalized) => Ok(normalized),
        Err(e) => {
            let only_absent_secrets = e
                .details
                .as_ref()
                .and_then(|d| d.get("fields"))
                .and_then(Value::as_object)
                .is_some_and(|f| !f.is_empty() && f.keys().all(|k| absent.contains(&k.as_str())));
            if only_absent_secrets {
                Ok(config.clone())
            } else {
                Err(about("adapter", name, e))
            }
        }
    }
}

/// Whether any of `columns` differs from `row` (integers compared as integers, JSON text as
/// JSON).
fn differs(row: &Row, columns: &[(&str, DbValue)]) -> bool {
    columns.iter().any(|(c, v)| {
        let current = row.get(*c).map(to_db).unwrap_or(DbValue::Null);
        match (&current, v) {
            (DbValue::Text(a), DbValue::Text(b)) if a != b => {
                match (
                    serde_json::from_str::<Value>(a),
                    serde_json::from_str::<Value>(b),
                ) {
                    (Ok(x), Ok(y)) if x.is_object() || x.is_array() => x != y,
                    _ => true,
                }
            }
            (a, b) => a != b,
        }
    })
}

/// Checks an SSO provider of the document as `POST /api/sso-providers` checks its input
/// (`dbackup_identity::sso::prepare`: name, providerId, adapter and the issuer it implies,
/// clientId, …) and every URL the server would call (issuer and discovered endpoints) with the
/// outbound-address rule (`dbackup_core::net`). A client secret missing from the document is
/// allowed (the provider is restored without it, with a warning).
fn check_sso_provider(provider_id: &str, p: &Map<String, Value>) -> Result<(), ApiError> {
    let config: Map<String, Value> = match p.get("adapterConfig") {
        Some(Value::String(s)) => serde_json::from_str(s).unwrap_or_default(),
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    let from_config = |k: &str| config.get(k).and_then(Value::as_str).map(str::to_owned);
    let input = sso::ProviderInput {
        name: opt_str(p, "name"),
        provider_id: Some(provider_id.to_owned()),
        adapter: opt_str(p, "adapterId"),
        issuer: from_config("issuer").or_else(|| opt_str(p, "issuer")),
        base_url: from_config("baseUrl"),
        slug: from_config("slug"),
        realm: from_config("realm"),
        authorization_endpoint: from_config("authorizationEndpoint"),
        token_endpoint: from_config("tokenEndpoint"),
        user_info_endpoint: from_config("userInfoEndpoint"),
        jwks_endpoint: from_config("jwksEndpoint"),
        client_id: opt_str(p, "clientId"),
        // Only its presence is checked here; a backup without secrets has none.
        client_secret: Some(opt_str(p, "clientSecret").unwrap_or_else(|| "-".into())),
        domain: opt_str(p, "domain"),
        enabled: p.get("enabled").and_then(Value::as_bool),
        allow_provisioning: p.get("allowProvisioning").and_then(Value::as_bool),
        trust_email_linking: p.get("trustEmailLinking").and_then(Value::as_bool),
    };
    sso::prepare(&input, None).map_err(|e| about("ssoProvider", provider_id, e))?;
    for field in [
        "issuer",
        "authorizationEndpoint",
        "tokenEndpoint",
        "userInfoEndpoint",
        "jwksEndpoint",
    ] {
        if let Some(url) = p.get(field).and_then(Value::as_str) {
            net::check_url(url).map_err(|why| bad("ssoProvider", provider_id, field, why))?;
        }
    }
    Ok(())
}

/// Whether `h` looks like a stored password hash (an argon2 PHC string).
fn is_password_hash(h: &str) -> bool {
    h.starts_with("$argon2")
        && h.len() <= 1024
        && !h.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn insert_row(db: &dyn Db, table: &str, columns: &[(&str, DbValue)]) -> Result<(), ApiError> {
    let names: Vec<String> = columns.iter().map(|(c, _)| format!("\"{c}\"")).collect();
    let marks = vec!["?"; columns.len()].join(", ");
    let values: Vec<DbValue> = columns.iter().map(|(_, v)| v.clone()).collect();
    db.execute(
        &format!(
            "INSERT INTO \"{table}\" ({}) VALUES ({marks})",
            names.join(", ")
        ),
        &values,
    )?;
    Ok(())
}

fn update_row(
    db: &dyn Db,
    table: &str,
    id: &str,
    columns: &[(&str, DbValue)],
    now: &str,
) -> Result<(), ApiError> {
    let sets: Vec<String> = columns
        .iter()
        .map(|(c, _)| format!("\"{c}\" = ?"))
        .collect();
    let mut values: Vec<DbValue> = columns.iter().map(|(_, v)| v.clone()).collect();
    values.push(now.into());
    values.push(id.into());
    db.execute(
        &format!(
            "UPDATE \"{table}\" SET {}, \"updatedAt\" = ? WHERE \"id\" = ?",
            sets.join(", ")
        ),
        &values,
    )?;
    Ok(())
}

#[cfg(test)]
mod checks;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TestDb;
    use crate::{export, ExportOptions};
    use chrono::TimeZone;
    use dbackup_core::db::Db;

    const KEY_A: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const KEY_B: &str = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";
    const BACKUP_KEY: [u8; 32] = [7; 32];

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
    }

    fn sealer(k: &str) -> SecretBox {
        SecretBox::from_hex_key(k).unwrap()
    }

    /// A SuperAdmin restoring.
    fn admin() -> Principal {
        crate::testutil::super_admin("restorer", "s1")
    }

    fn adapter(
        db: &TestDb,
        s: &SecretBox,
        id: &str,
        name: &str,
        kind: &str,
        adapter_id: &str,
        config: Value,
    ) {
        let t = registry::find(adapter_id).unwrap();
        let sealed =
            dbackup_adapters_core::secrets::seal(s, t, id, config.as_object().unwrap()).unwrap();
        db.execute(
            r#"INSERT INTO "AdapterConfig" ("id", "name", "type", "adapterId", "config") VALUES (?, ?, ?, ?, ?)"#,
            &[id.into(), name.into(), kind.into(), adapter_id.into(), Value::Object(sealed).to_string().into()],
        )
        .unwrap();
    }

    /// A configured install: a group, an admin with a password, a postgres source with a
    /// password, two local destinations, a discord channel, a profile, a job using all of them,
    /// an SSO provider with a client secret, settings and the config backup job.
    fn source_db() -> TestDb {
        let s = sealer(KEY_A);
        let db = TestDb::migrated();
        db.exec(r#"INSERT INTO "Group" ("id","name","permissions","createdAt","updatedAt") VALUES ('g1','Admins','["jobs:read","jobs:write"]','t','t')"#);
        db.exec(r#"INSERT INTO "User" ("id","name","email","emailVerified","createdAt","updatedAt","groupId") VALUES ('u1','Ada','ada@example.com',1,'t','t','g1')"#);
        db.exec(r#"INSERT INTO "Account" ("id","accountId","providerId","userId","password","createdAt","updatedAt") VALUES ('a1','u1','credential','u1','$argon2id$fake','t','t')"#);
        adapter(
            &db,
            &s,
            "pg",
            "main db",
            "database",
            "postgres",
            json!({"host": "127.0.0.1", "port": 5432, "user": "postgres", "password": "pg-secret", "database": "shop"}),
        );
        adapter(
            &db,
            &s,
            "d1",
            "disk",
            "storage",
            "local",
            json!({"path": "/backups"}),
        );
        adapter(
            &db,
            &s,
            "d2",
            "disk2",
            "storage",
            "local",
            json!({"path": "/backups2"}),
        );
        adapter(
            &db,
            &s,
            "n1",
            "chat",
            "notification",
            "discord",
            json!({"webhookUrl": "https://discord.example/hook/secret", "username": "dbackup"}),
        );
        let key = BACKUP_KEY;
        vault::create(&db, &s, "main key", Some("offsite"), &key).unwrap();
        let profile_id = db
            .scalar(r#"SELECT "id" FROM "EncryptionProfile""#)
            .as_str()
            .unwrap()
            .to_owned();
        db.execute(
            r#"INSERT INTO "Job" ("id","name","schedule","enabled","compression","sourceId","destinationId","encryptionProfileId","databases","timezone","retention")
               VALUES ('j1','nightly','0 2 * * *',1,'ZSTD','pg','d1',?,'["shop"]','Europe/Berlin','{"mode":"SIMPLE","simple":{"keepCount":3}}')"#,
            &[profile_id.as_str().into()],
        ).unwrap();
        db.exec(r#"INSERT INTO "JobDestination" ("jobId","destinationId","retention","position") VALUES ('j1','d1','{"mode":"SIMPLE","simple":{"keepCount":3}}',0),('j1','d2','{"mode":"NONE"}',1)"#);
        db.exec(r#"INSERT INTO "JobNotification" ("jobId","adapterConfigId") VALUES ('j1','n1')"#);
        let secret = s
            .encrypt(b"sso-secret", "SsoProvider.clientSecret:corp")
            .unwrap();
        db.execute(
            r#"INSERT INTO "SsoProvider" ("id","providerId","issuer","clientId","clientSecret","adapterId","name","trustEmailLinking") VALUES ('s1','corp','https://idp.example','client',?,'generic','Corp',1)"#,
            &[secret.into()],
        ).unwrap();
        db.exec(r#"INSERT INTO "SystemSetting" ("key","value") VALUES ('maxConcurrentJobs','3'),('systemNotificationChannels','["n1"]')"#);
        setting::update(
            &db,
            &json!({"enabled": true, "destinationId": "d2", "encryptionProfileId": profile_id, "includeSecrets": true, "keep": 4}),
            now(),
        ).unwrap();
        db
    }

    fn full() -> ExportOptions {
        ExportOptions {
            include_secrets: true,
            include_password_hashes: true,
        }
    }

    fn actions(r: &RestoreReport, entity: &str) -> Vec<(String, ChangeAction)> {
        r.changes
            .iter()
            .filter(|c| c.entity == entity)
            .map(|c| (c.name.clone(), c.action))
            .collect()
    }

    #[test]
    fn export_carries_secrets_only_when_asked() {
        let db = source_db();
        let s = sealer(KEY_A);
        let plain = export(
            &db,
            None,
            ExportOptions::default(),
            "2026-11-27T12:00:00.000Z",
        )
        .unwrap();
        let text = serde_json::to_string(&plain).unwrap();
        for secret in [
            "pg-secret",
            "discord.example/hook",
            "sso-secret",
            "$argon2id$fake",
            "v1:",
        ] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert_eq!(plain.kind, "dbackup-config");
        assert_eq!(plain.jobs[0]["source"], "main db");
        assert_eq!(plain.jobs[0]["destinations"][1]["name"], "disk2");
        assert_eq!(plain.jobs[0]["notifications"], json!(["chat"]));
        assert_eq!(
            plain.settings["systemNotificationChannels"],
            json!(["chat"])
        );
        assert_eq!(plain.settings["configBackup"]["destination"], "disk2");
        assert_eq!(plain.users[0]["group"], "Admins");
        assert!(plain.users[0].get("passwordHash").is_none());
        let counts = plain.counts();
        assert_eq!(counts["adapters"], 4);
        assert_eq!(counts["jobs"], 1);

        let secret = export(&db, Some(&s), full(), "t").unwrap();
        let text = serde_json::to_string(&secret).unwrap();
        for secret in [
            "pg-secret",
            "discord.example/hook/secret",
            "sso-secret",
            "$argon2id$fake",
            &hex::encode(BACKUP_KEY),
        ] {
            assert!(text.contains(secret), "{secret} missing");
        }
        // a wrong server key is an error, never sealed text passed on
        assert_eq!(
            export(&db, Some(&sealer(KEY_B)), full(), "t")
                .unwrap_err()
                .status,
            500
        );
    }

    #[test]
    fn restore_into_an_empty_database_with_another_key() {
        let doc = export(&source_db(), Some(&sealer(KEY_A)), full(), "t").unwrap();
        let target = TestDb::migrated();
        let s = sealer(KEY_B);
        let dry = restore(&target, &s, &doc, &admin(), now(), true).unwrap();
        assert!(dry.dry_run);
        assert_eq!(
            target.count(r#"SELECT count(*) FROM "AdapterConfig""#),
            0,
            "dry run wrote"
        );
        assert_eq!(target.count(r#"SELECT count(*) FROM "SystemSetting""#), 0);
        assert_eq!(
            actions(&dry, "job"),
            vec![("nightly".into(), ChangeAction::Create)]
        );
        assert_eq!(dry.counts.create, 1 + 4 + 1 + 1 + 1 + 1);
        let real = restore(&target, &s, &doc, &admin(), now(), false).unwrap();
        assert_eq!(real.changes, dry.changes);
        assert!(real.warnings.is_empty(), "{:?}", real.warnings);

        // ids are new, references point at them, secrets open with the new key
        let again = export(&target, Some(&s), full(), "t").unwrap();
        assert_eq!(again.adapters, doc.adapters);
        assert_eq!(again.jobs, doc.jobs);
        assert_eq!(again.users, doc.users);
        assert_eq!(again.sso_providers, doc.sso_providers);
        assert_eq!(again.encryption_profiles, doc.encryption_profiles);
        assert_eq!(again.settings, doc.settings);
        assert_eq!(
            target.count(
                r#"SELECT count(*) FROM "AdapterConfig" WHERE "id" IN ('pg','d1','d2','n1')"#
            ),
            0
        );
        let job_dest = target.scalar(
            r#"SELECT a."name" FROM "Job" j JOIN "AdapterConfig" a ON a."id" = j."destinationId""#,
        );
        assert_eq!(job_dest.as_str(), Some("disk"));
        let cb = setting::load(&target).unwrap();
        let d2 = target.scalar(r#"SELECT "id" FROM "AdapterConfig" WHERE "name" = 'disk2'"#);
        assert_eq!(cb.destination_id.as_deref(), d2.as_str());
        assert!(cb.enabled && cb.include_secrets && cb.keep == 4);
        // the old key opens nothing
        assert!(export(&target, Some(&sealer(KEY_A)), full(), "t").is_err());
        // a job restored now does not catch up on old occurrences
        assert!(target
            .scalar(r#"SELECT "lastScheduledAt" FROM "Job""#)
            .as_str()
            .is_some());

        // restoring the same document again changes nothing
        let twice = restore(&target, &s, &doc, &admin(), now(), false).unwrap();
        assert_eq!(
            twice.counts.create + twice.counts.update + twice.counts.skip,
            0,
            "{:?}",
            twice.changes
        );
    }

    #[test]
    fn restore_into_a_non_empty_database_remaps_and_updates() {
        let doc = export(&source_db(), Some(&sealer(KEY_A)), full(), "t").unwrap();
        let s = sealer(KEY_B);
        let target = TestDb::migrated();
        // Existing rows: "disk" with another path (updated), an unrelated adapter, the job under
        // another id pointing at the unrelated adapter.
        adapter(
            &target,
            &s,
            "x-disk",
            "disk",
            "storage",
            "local",
            json!({"path": "/elsewhere"}),
        );
        adapter(
            &target,
            &s,
            "x-pg",
            "main db",
            "database",
            "postgres",
            json!({"host": "127.0.0.1", "port": 5432, "user": "postgres", "password": "pg-secret", "database": "shop"}),
        );
        adapter(
            &target,
            &s,
            "other",
            "other",
            "storage",
            "local",
            json!({"path": "/o"}),
        );
        target.exec(r#"INSERT INTO "Job" ("id","name","schedule","sourceId","destinationId") VALUES ('x-job','nightly','0 1 * * *','x-pg','other')"#);
        target.exec(r#"INSERT INTO "JobDestination" ("jobId","destinationId","position") VALUES ('x-job','other',0)"#);
        let r = restore(&target, &s, &doc, &admin(), now(), false).unwrap();
        assert_eq!(
            actions(&r, "adapter"),
            vec![
                ("main db".into(), ChangeAction::Unchanged),
                ("chat".into(), ChangeAction::Create),
                ("disk".into(), ChangeAction::Update),
                ("disk2".into(), ChangeAction::Create),
            ]
        );
        assert_eq!(
            actions(&r, "job"),
            vec![("nightly".into(), ChangeAction::Update)]
        );
        assert_eq!(target.count(r#"SELECT count(*) FROM "Job""#), 1);
        assert_eq!(
            target
                .scalar(r#"SELECT "destinationId" FROM "Job""#)
                .as_str(),
            Some("x-disk")
        );
        assert_eq!(
            target
                .scalar(r#"SELECT "schedule" FROM "Job" WHERE "id" = 'x-job'"#)
                .as_str(),
            Some("0 2 * * *")
        );
        assert_eq!(
            target.count(r#"SELECT count(*) FROM "JobDestination" WHERE "jobId" = 'x-job'"#),
            2
        );
        assert_eq!(
            target
                .count(r#"SELECT count(*) FROM "JobDestination" WHERE "destinationId" = 'other'"#),
            0
        );
        let path = export(&target, Some(&s), full(), "t").unwrap();
        let disk = path.adapters.iter().find(|a| a["name"] == "disk").unwrap();
        assert_eq!(disk["config"]["path"], "/backups");
    }

    #[test]
    fn without_secrets_existing_secrets_stay_and_missing_ones_are_reported() {
        let plain = export(&source_db(), None, ExportOptions::default(), "t").unwrap();
        let s = sealer(KEY_B);
        let target = TestDb::migrated();
        adapter(
            &target,
            &s,
            "x-pg",
            "main db",
            "database",
            "postgres",
            json!({"host": "127.0.0.1", "port": 5432, "user": "postgres", "password": "kept", "database": "shop"}),
        );
        let r = restore(&target, &s, &plain, &admin(), now(), false).unwrap();
        // the profile key is not in the document and not in the vault: the job is skipped
        assert_eq!(actions(&r, "encryptionProfile")[0].1, ChangeAction::Skip);
        assert_eq!(actions(&r, "job")[0].1, ChangeAction::Skip);
        assert_eq!(
            actions(&r, "adapter")[0],
            ("main db".into(), ChangeAction::Unchanged)
        );
        let reasons: Vec<_> = r.changes.iter().filter_map(|c| c.reason.clone()).collect();
        assert!(
            reasons.iter().any(|x| x.contains("webhookUrl")),
            "{reasons:?}"
        );
        assert!(
            r.warnings.iter().any(|w| w.contains("no password")),
            "{:?}",
            r.warnings
        );
        let after = export(
            &target,
            Some(&s),
            ExportOptions {
                include_secrets: true,
                include_password_hashes: false,
            },
            "t",
        )
        .unwrap();
        let pg = after
            .adapters
            .iter()
            .find(|a| a["name"] == "main db")
            .unwrap();
        assert_eq!(pg["config"]["password"], "kept");
    }

    #[test]
    fn a_bad_document_changes_nothing() {
        let mut doc = export(&source_db(), Some(&sealer(KEY_A)), full(), "t").unwrap();
        // the last entity to apply is broken: everything before it is rolled back
        doc.jobs[0].insert("destinations".into(), json!([]));
        let target = TestDb::migrated();
        let e = restore(&target, &sealer(KEY_B), &doc, &admin(), now(), false).unwrap_err();
        assert_eq!(e.status, 400, "{}", e.message);
        for table in [
            "AdapterConfig",
            "Group",
            "User",
            "EncryptionProfile",
            "SsoProvider",
            "SystemSetting",
            "Job",
        ] {
            assert_eq!(
                target.count(&format!(r#"SELECT count(*) FROM "{table}""#)),
                0,
                "{table}"
            );
        }
        let mut doc = export(&source_db(), Some(&sealer(KEY_A)), full(), "t").unwrap();
        doc.encryption_profiles[0].insert("key".into(), json!("ff".repeat(32)));
        let e = restore(&target, &sealer(KEY_B), &doc, &admin(), now(), false).unwrap_err();
        assert!(e.message.contains("does not match"), "{}", e.message);
        assert_eq!(target.count(r#"SELECT count(*) FROM "Group""#), 0);
        let mut doc = export(&source_db(), Some(&sealer(KEY_A)), full(), "t").unwrap();
        doc.settings.insert("maxConcurrentJobs".into(), json!(99));
        assert_eq!(
            restore(&target, &sealer(KEY_B), &doc, &admin(), now(), false)
                .unwrap_err()
                .status,
            400
        );
        assert_eq!(target.count(r#"SELECT count(*) FROM "AdapterConfig""#), 0);
    }

    #[test]
    fn documents_are_checked() {
        assert!(parse_document(b"not json")
            .unwrap_err()
            .message
            .contains("invalid JSON"));
        assert!(parse_document(br#"{"kind":"other"}"#)
            .unwrap_err()
            .message
            .contains("kind"));
        assert!(
            parse_document(br#"{"kind":"dbackup-config","formatVersion":2}"#)
                .unwrap_err()
                .message
                .contains("formatVersion 2")
        );
        assert!(
            parse_document(br#"{"kind":"dbackup-config","formatVersion":1}"#)
                .unwrap_err()
                .message
                .contains("invalid config backup")
        );
        let doc = export(&source_db(), None, ExportOptions::default(), "t").unwrap();
        let bytes = serde_json::to_vec(&doc).unwrap();
        assert_eq!(parse_document(&bytes).unwrap(), doc);
    }

    /// The webhook's header values are secrets: exported only with secrets, restored sealed
    /// under the target's key (each value), and a document without them keeps the stored ones.
    #[test]
    fn webhook_headers_travel_as_secrets() {
        let source = TestDb::migrated();
        let t = registry::find("webhook").unwrap();
        let config = validate::validate(
            t,
            &json!({"url": "https://hooks.example/in",
                    "headers": {"Authorization": "Bearer hdr-secret"}}),
        )
        .unwrap();
        dbackup_adapters_core::store::insert(&source, &sealer(KEY_A), "w1", "hook", t, &config)
            .unwrap();
        let bare = export(&source, None, ExportOptions::default(), "t").unwrap();
        assert!(!serde_json::to_string(&bare).unwrap().contains("hdr-secret"));
        assert!(bare.adapters[0]["config"].get("headers").is_none());
        let doc = export(&source, Some(&sealer(KEY_A)), full(), "t").unwrap();
        assert_eq!(
            doc.adapters[0]["config"]["headers"],
            json!({"Authorization": "Bearer hdr-secret"})
        );

        let target = TestDb::migrated();
        restore(&target, &sealer(KEY_B), &doc, &admin(), now(), false).unwrap();
        let stored = target
            .count(r#"SELECT count(*) FROM "AdapterConfig" WHERE "config" LIKE '%hdr-secret%'"#);
        assert_eq!(stored, 0, "sealed at rest");
        let id = crate::sql::rows(&target, r#"SELECT "id" FROM "AdapterConfig""#, &[]).unwrap();
        let id = crate::sql::text(&id[0], "id").unwrap();
        let loaded = dbackup_adapters_core::store::load(&target, &sealer(KEY_B), &id).unwrap();
        assert_eq!(loaded.config["headers"], config["headers"]);
        // Restored again from the document without secrets: the stored headers stay.
        restore(&target, &sealer(KEY_B), &bare, &admin(), now(), false).unwrap();
        let loaded = dbackup_adapters_core::store::load(&target, &sealer(KEY_B), &id).unwrap();
        assert_eq!(loaded.config["headers"], config["headers"]);
    }
}

#[cfg(test)]
mod scale {
    use super::*;
    use crate::testutil::TestDb;
    use crate::{export, ExportOptions};
    use dbackup_core::db::Db;

    /// 100 adapters, 300 jobs, 50 users: export and restore into an empty database; prints
    /// the document size and the times.
    #[test]
    fn a_large_configuration_round_trips() {
        let key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
        let s = SecretBox::from_hex_key(key).unwrap();
        let db = TestDb::migrated();
        db.exec(r#"INSERT INTO "Group" ("id","name","permissions","createdAt","updatedAt") VALUES ('g','Ops','["jobs:read"]','t','t')"#);
        let pg = registry::find("postgres").unwrap();
        for i in 0..100 {
            let (kind, adapter, config) = if i % 2 == 0 {
                (
                    "database",
                    pg,
                    json!({"host": "db", "port": 5432, "user": "u", "password": format!("secret-{i}"), "database": "d"}),
                )
            } else {
                (
                    "storage",
                    registry::find("local").unwrap(),
                    json!({"path": format!("/b/{i}")}),
                )
            };
            let id = format!("a{i}");
            let sealed =
                dbackup_adapters_core::secrets::seal(&s, adapter, &id, config.as_object().unwrap())
                    .unwrap();
            db.execute(
                r#"INSERT INTO "AdapterConfig" ("id","name","type","adapterId","config") VALUES (?,?,?,?,?)"#,
                &[id.as_str().into(), format!("adapter {i}").into(), kind.into(), adapter.id.into(), Value::Object(sealed).to_string().into()],
            ).unwrap();
        }
        for i in 0..300 {
            let (src, dst) = (
                format!("a{}", (i % 50) * 2),
                format!("a{}", (i % 50) * 2 + 1),
            );
            db.execute(
                r#"INSERT INTO "Job" ("id","name","schedule","sourceId","destinationId") VALUES (?,?,'0 3 * * *',?,?)"#,
                &[format!("j{i}").into(), format!("job {i}").into(), src.as_str().into(), dst.as_str().into()],
            ).unwrap();
            db.execute(
                r#"INSERT INTO "JobDestination" ("jobId","destinationId","position") VALUES (?,?,0)"#,
                &[format!("j{i}").into(), dst.into()],
            ).unwrap();
        }
        for i in 0..50 {
            db.execute(
                r#"INSERT INTO "User" ("id","name","email","emailVerified","createdAt","updatedAt","groupId") VALUES (?,?,?,1,'t','t','g')"#,
                &[format!("u{i}").into(), format!("User {i}").into(), format!("u{i}@example.com").into()],
            ).unwrap();
        }
        let opts = ExportOptions {
            include_secrets: true,
            include_password_hashes: true,
        };
        let t = std::time::Instant::now();
        let doc = export(&db, Some(&s), opts, "t").unwrap();
        let exported = t.elapsed();
        let json = serde_json::to_vec(&doc).unwrap();
        let target = TestDb::migrated();
        let t = std::time::Instant::now();
        let r = restore(
            &target,
            &s,
            &doc,
            &crate::testutil::super_admin("u", "s"),
            Utc::now(),
            false,
        )
        .unwrap();
        let restored = t.elapsed();
        assert_eq!(r.counts.create, 1 + 100 + 50 + 300);
        assert_eq!(
            target.count(r#"SELECT count(*) FROM "JobDestination""#),
            300
        );
        eprintln!(
            "scale: document {} bytes, export {exported:?}, restore {restored:?} ({})",
            json.len(),
            if cfg!(debug_assertions) {
                "debug build"
            } else {
                "release build"
            }
        );
    }
}
