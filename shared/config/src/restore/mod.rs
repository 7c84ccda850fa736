//! Restoring a config document: plan and apply in one `BEGIN IMMEDIATE` transaction.
//!
//! Entities are matched by natural key — groups by name, adapters by (type, name), encryption
//! profiles by key fingerprint, users by email, SSO providers by providerId, jobs by name,
//! settings by key — and every reference is resolved to the ids of *this* database (existing
//! rows, or the rows created moments before in the same transaction). Each entity is checked
//! and written by the same functions its API uses (one module per entity here, each naming the
//! API it stands in for), inside this one transaction; secrets are sealed again with the current
//! server key under their new row ids. A matched row is updated only when something differs; a
//! secret the document does not carry keeps its stored value.
//!
//! A dry run is the same transaction, rolled back: its change list is exactly what a real run
//! would do. Any error rolls everything back.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use dbackup_core::db::Db;
use dbackup_core::ApiError;
use dbackup_identity::secretbox::SecretBox;
use dbackup_identity::{Principal, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::sql::transaction;
use crate::{ConfigDocument, DOCUMENT_KIND, FORMAT_VERSION};

mod adapters;
mod groups;
mod jobs;
mod profiles;
mod settings;
mod sso;
mod users;

#[cfg(test)]
mod checks;
#[cfg(test)]
mod tests;

pub use adapters::check_worker_paths;

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

struct Restorer<'a> {
    db: &'a dyn Db,
    sealer: &'a SecretBox,
    doc: &'a ConfigDocument,
    /// Who restores: every create or change must be one they could make through the API.
    who: &'a Principal,
    now: DateTime<Utc>,
    /// `now` as the jobs' and the settings' API functions take it.
    now_iso: String,
    /// `now` as the identity API functions take it.
    now_ts: Timestamp,
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
        now_ts: Timestamp::from_millis(now.timestamp_millis()),
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

    /// The id of the adapter `(kind, name)`: restored in this run, else existing.
    fn adapter(&self, kind: &str, name: &str) -> Result<Option<String>, ApiError> {
        if let Some(id) = self.adapters.get(&(kind.to_owned(), name.to_owned())) {
            return Ok(Some(id.clone()));
        }
        adapters::find(self.db, kind, name)
    }

    /// The id of the encryption profile with key `fingerprint`: restored in this run, else
    /// existing.
    fn profile(&self, fingerprint: &str) -> Result<Option<String>, ApiError> {
        if let Some(id) = self.profiles.get(fingerprint) {
            return Ok(Some(id.clone()));
        }
        dbackup_vault_core::find_by_fingerprint(self.db, fingerprint)
    }
}
