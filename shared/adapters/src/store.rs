//! `AdapterConfig` rows: load (decrypted), list, create, update, delete, and which jobs use one.

use dbackup_core::db::{Db, Rows, Value as DbValue};
use dbackup_core::ApiError;
use dbackup_identity::secretbox::SecretBox;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::registry::{self, AdapterType, Kind};
use crate::secrets;

/// One adapter with its config decrypted. Never serialize it to a client as is: use
/// [`Adapter::to_public`], which masks the secrets.
#[derive(Clone, PartialEq)]
pub struct Adapter {
    pub id: String,
    pub name: String,
    pub kind: Kind,
    /// The registry id (`postgres`, `s3-aws`, `discord`, …).
    pub adapter_id: String,
    /// Decrypted config.
    pub config: Map<String, Value>,
    /// Non-secret runtime data (`engineVersion`, `engineEdition`, `lastCheck`).
    pub metadata: Map<String, Value>,
    pub created_at: String,
    pub updated_at: String,
    pub last_health_check: Option<String>,
    pub last_status: String,
    pub consecutive_failures: i64,
}

impl std::fmt::Debug for Adapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Adapter")
            .field("id", &self.id)
            .field("adapter_id", &self.adapter_id)
            .field("config", &"(decrypted, not shown)")
            .finish_non_exhaustive()
    }
}

/// The public (masked) form of an adapter.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PublicAdapter {
    pub id: String,
    pub name: String,
    /// `database`, `storage` or `notification`.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "schema", schemars(extend("enum" = ["database", "storage", "notification"])))]
    pub kind: &'static str,
    pub adapter_id: String,
    pub config: Map<String, Value>,
    pub metadata: Map<String, Value>,
    pub created_at: String,
    pub updated_at: String,
    pub last_health_check: Option<String>,
    pub last_status: String,
    pub consecutive_failures: i64,
}

impl Adapter {
    /// The registry entry (a 500 if the row names an adapter this build does not know).
    pub fn adapter_type(&self) -> Result<&'static AdapterType, ApiError> {
        registry::find(&self.adapter_id).ok_or_else(|| {
            ApiError::internal(format!(
                "adapter {} has unknown adapterId {}",
                self.id, self.adapter_id
            ))
        })
    }

    /// The adapter as answers show it: secrets masked.
    pub fn to_public(&self) -> Result<PublicAdapter, ApiError> {
        let t = self.adapter_type()?;
        Ok(PublicAdapter {
            id: self.id.clone(),
            name: self.name.clone(),
            kind: self.kind.as_str(),
            adapter_id: self.adapter_id.clone(),
            config: secrets::mask(t, &self.config),
            metadata: self.metadata.clone(),
            created_at: self.created_at.clone(),
            updated_at: self.updated_at.clone(),
            last_health_check: self.last_health_check.clone(),
            last_status: self.last_status.clone(),
            consecutive_failures: self.consecutive_failures,
        })
    }
}

const COLUMNS: &str = r#""id", "name", "type", "adapterId", "config", "metadata", "createdAt",
    "updatedAt", "lastHealthCheck", "lastStatus", "consecutiveFailures""#;

fn col<'a>(rows: &Rows, row: &'a [DbValue], name: &str) -> Result<&'a DbValue, ApiError> {
    rows.column(name)
        .and_then(|i| row.get(i))
        .ok_or_else(|| ApiError::internal(format!("AdapterConfig.{name} missing from result")))
}

fn text(rows: &Rows, row: &[DbValue], name: &str) -> Result<String, ApiError> {
    col(rows, row, name)?
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| ApiError::internal(format!("AdapterConfig.{name} is not text")))
}

fn opt_text(rows: &Rows, row: &[DbValue], name: &str) -> Result<Option<String>, ApiError> {
    match col(rows, row, name)? {
        DbValue::Null => Ok(None),
        v => v
            .as_str()
            .map(|s| Some(s.to_owned()))
            .ok_or_else(|| ApiError::internal(format!("AdapterConfig.{name} is not text"))),
    }
}

fn json_object(text: Option<&str>, what: &str) -> Result<Map<String, Value>, ApiError> {
    match text {
        None | Some("") => Ok(Map::new()),
        Some(t) => match serde_json::from_str(t) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(Value::Null) => Ok(Map::new()),
            _ => Err(ApiError::internal(format!("{what} is not a JSON object"))),
        },
    }
}

fn from_row(sealer: &SecretBox, rows: &Rows, row: &[DbValue]) -> Result<Adapter, ApiError> {
    let id = text(rows, row, "id")?;
    let kind_text = text(rows, row, "type")?;
    let kind = Kind::parse(&kind_text)
        .ok_or_else(|| ApiError::internal(format!("adapter {id} has type {kind_text}")))?;
    let adapter_id = text(rows, row, "adapterId")?;
    let t = registry::find(&adapter_id).ok_or_else(|| {
        ApiError::internal(format!("adapter {id} has unknown adapterId {adapter_id}"))
    })?;
    let stored = json_object(Some(&text(rows, row, "config")?), "AdapterConfig.config")?;
    let config = secrets::open(sealer, t, &id, &stored)?;
    let metadata = json_object(
        opt_text(rows, row, "metadata")?.as_deref(),
        "AdapterConfig.metadata",
    )?;
    Ok(Adapter {
        name: text(rows, row, "name")?,
        kind,
        adapter_id,
        config,
        metadata,
        created_at: text(rows, row, "createdAt")?,
        updated_at: text(rows, row, "updatedAt")?,
        last_health_check: opt_text(rows, row, "lastHealthCheck")?,
        last_status: text(rows, row, "lastStatus")?,
        consecutive_failures: col(rows, row, "consecutiveFailures")?.as_i64().unwrap_or(0),
        id,
    })
}

/// The adapter `id` with its config decrypted; 404 if there is none.
pub fn load(db: &dyn Db, sealer: &SecretBox, id: &str) -> Result<Adapter, ApiError> {
    let rows = db.execute(
        &format!(r#"SELECT {COLUMNS} FROM "AdapterConfig" WHERE "id" = ?"#),
        &[id.into()],
    )?;
    let row = rows.rows.first().ok_or_else(adapter_not_found)?;
    from_row(sealer, &rows, row)
}

/// Every adapter (of one kind), by name.
pub fn list(db: &dyn Db, sealer: &SecretBox, kind: Option<Kind>) -> Result<Vec<Adapter>, ApiError> {
    let rows = match kind {
        Some(k) => db.execute(
            &format!(
                r#"SELECT {COLUMNS} FROM "AdapterConfig" WHERE "type" = ? ORDER BY "name", "id""#
            ),
            &[k.as_str().into()],
        )?,
        None => db.execute(
            &format!(r#"SELECT {COLUMNS} FROM "AdapterConfig" ORDER BY "type", "name", "id""#),
            &[],
        )?,
    };
    rows.rows
        .iter()
        .map(|r| from_row(sealer, &rows, r))
        .collect()
}

pub use dbackup_core::id::new_id;

/// Inserts an adapter whose config is already validated (plaintext); seals its secrets.
pub fn insert(
    db: &dyn Db,
    sealer: &SecretBox,
    id: &str,
    name: &str,
    adapter: &AdapterType,
    config: &Map<String, Value>,
) -> Result<(), ApiError> {
    let sealed = secrets::seal(sealer, adapter, id, config)?;
    db.execute(
        r#"INSERT INTO "AdapterConfig" ("id", "name", "type", "adapterId", "config", "metadata")
           VALUES (?, ?, ?, ?, ?, '{}')"#,
        &[
            id.into(),
            name.into(),
            adapter.kind.as_str().into(),
            adapter.id.into(),
            Value::Object(sealed).to_string().into(),
        ],
    )?;
    Ok(())
}

/// Replaces name and config (validated, plaintext) of an adapter; `adapter` is its type (the
/// API never changes it, a config restore may, within the same kind).
pub fn update(
    db: &dyn Db,
    sealer: &SecretBox,
    id: &str,
    name: &str,
    adapter: &AdapterType,
    config: &Map<String, Value>,
) -> Result<(), ApiError> {
    let sealed = secrets::seal(sealer, adapter, id, config)?;
    db.execute(
        r#"UPDATE "AdapterConfig" SET "name" = ?, "adapterId" = ?, "config" = ?,
           "updatedAt" = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE "id" = ?"#,
        &[
            name.into(),
            adapter.id.into(),
            Value::Object(sealed).to_string().into(),
            id.into(),
        ],
    )?;
    Ok(())
}

/// Merges `patch` into the adapter's metadata (engine version after a successful probe).
pub fn merge_metadata(db: &dyn Db, id: &str, patch: &Map<String, Value>) -> Result<(), ApiError> {
    let rows = db.execute(
        r#"SELECT "metadata" FROM "AdapterConfig" WHERE "id" = ?"#,
        &[id.into()],
    )?;
    let current = rows.scalar().and_then(DbValue::as_str);
    let mut meta = json_object(current, "AdapterConfig.metadata")?;
    for (k, v) in patch {
        meta.insert(k.clone(), v.clone());
    }
    db.execute(
        r#"UPDATE "AdapterConfig" SET "metadata" = ? WHERE "id" = ?"#,
        &[Value::Object(meta).to_string().into(), id.into()],
    )?;
    Ok(())
}

/// A job that uses an adapter or key.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct JobRef {
    pub id: String,
    pub name: String,
}

fn table_exists(db: &dyn Db, table: &str) -> Result<bool, ApiError> {
    let rows = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
        &[table.into()],
    )?;
    Ok(!rows.rows.is_empty())
}

fn job_refs(db: &dyn Db, sql: &str, id: &str) -> Result<Vec<JobRef>, ApiError> {
    let rows = db.execute(sql, &[id.into()])?;
    rows.rows
        .iter()
        .map(|r| {
            Ok(JobRef {
                id: text(&rows, r, "id")?,
                name: text(&rows, r, "name")?,
            })
        })
        .collect()
}

/// The jobs that use adapter `id` as source, destination (`Job.destinationId` or the
/// `JobDestination` table, when it exists) or notification channel.
pub fn jobs_using(db: &dyn Db, id: &str) -> Result<Vec<JobRef>, ApiError> {
    let mut jobs = job_refs(
        db,
        r#"SELECT "id", "name" FROM "Job" WHERE "sourceId" = ?1 OR "destinationId" = ?1"#,
        id,
    )?;
    // The jobs engineer's multi-destination table (migrations/0004), when present.
    if table_exists(db, "JobDestination")? {
        jobs.extend(job_refs(
            db,
            r#"SELECT j."id", j."name" FROM "Job" j JOIN "JobDestination" d ON d."jobId" = j."id"
               WHERE d."destinationId" = ?"#,
            id,
        )?);
    }
    jobs.extend(job_refs(
        db,
        r#"SELECT j."id", j."name" FROM "Job" j JOIN "JobNotification" n ON n."jobId" = j."id"
           WHERE n."adapterConfigId" = ?"#,
        id,
    )?);
    jobs.sort();
    jobs.dedup();
    Ok(jobs)
}

/// Deletes adapter `id`: 404 if absent, 409 naming the jobs that use it.
pub fn delete(db: &dyn Db, id: &str) -> Result<(), ApiError> {
    let exists = db.execute(
        r#"SELECT 1 FROM "AdapterConfig" WHERE "id" = ?"#,
        &[id.into()],
    )?;
    if exists.rows.is_empty() {
        return Err(adapter_not_found());
    }
    let jobs = jobs_using(db, id)?;
    if !jobs.is_empty() {
        let names: Vec<&str> = jobs.iter().map(|j| j.name.as_str()).collect();
        return Err(ApiError::new(
            409,
            format!("adapter is used by jobs: {}", names.join(", ")),
        )
        .with_details(json!({ "jobs": jobs })));
    }
    db.execute(
        r#"DELETE FROM "AdapterConfig" WHERE "id" = ?"#,
        &[id.into()],
    )?;
    Ok(())
}

/// The 404 for an adapter that does not exist (or that the caller may not see).
pub fn adapter_not_found() -> ApiError {
    ApiError::new(404, "adapter not found")
}

/// The kind of adapter `id` (404 if absent), read without decrypting anything: what decides
/// the permission a route on it needs.
pub fn kind_of(db: &dyn Db, id: &str) -> Result<Kind, ApiError> {
    kind_if_any(db, id)?.ok_or_else(adapter_not_found)
}

/// The kind of adapter `id`, `None` if there is none (for checking what a job or restore
/// refers to).
pub fn kind_if_any(db: &dyn Db, id: &str) -> Result<Option<Kind>, ApiError> {
    let rows = db.execute(
        r#"SELECT "type" FROM "AdapterConfig" WHERE "id" = ?"#,
        &[id.into()],
    )?;
    let Some(t) = rows.scalar().and_then(DbValue::as_str) else {
        return Ok(None);
    };
    Kind::parse(t)
        .map(Some)
        .ok_or_else(|| ApiError::internal(format!("adapter {id} has type {t}")))
}
