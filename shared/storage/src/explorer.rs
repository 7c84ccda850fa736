//! The storage explorer's logic (served by the `storage` component): which objects of a
//! worker listing are backups, their order and pages, the item shown for an object and its
//! `.meta.json` sidecar, and the sidecar rewritten by lock/unlock.

use dbackup_core::ApiError;
use serde_json::{json, Value};

pub use dbackup_protocol::sidecar::{sidecar_name, META_SUFFIX, PARTIAL_SUFFIX};

/// Default and largest page size of `GET /api/storage/{id}/backups`.
pub const DEFAULT_LIMIT: usize = 50;
/// See [`DEFAULT_LIMIT`].
pub const MAX_LIMIT: usize = 200;

/// One object of a worker `/v1/storage/list` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub name: String,
    pub size: u64,
    pub modified_unix: i64,
}

/// Checks a backup path given by a client: relative to the destination's base, no `..`, no
/// empty segment, not a sidecar or partial object. 400 otherwise.
pub fn validate_path(path: &str) -> Result<&str, ApiError> {
    let bad = |why: &str| {
        Err(ApiError::bad_request(format!("invalid path: {why}"))
            .with_details(json!({"field": "path"})))
    };
    if path.is_empty() {
        return bad("required");
    }
    if path.len() > 1024 {
        return bad("too long");
    }
    if path.starts_with('/') || path.contains('\\') || path.chars().any(char::is_control) {
        return bad("must be a relative object name");
    }
    if path
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return bad("must not contain empty, '.' or '..' segments");
    }
    if path.ends_with(META_SUFFIX) || path.ends_with(PARTIAL_SUFFIX) {
        return bad("names a sidecar or partial object, not a backup");
    }
    Ok(path)
}

/// The backups of a listing (sidecars and `.partial` objects left out), newest first (by
/// modification time, then name, so that pages are stable). 502 on a malformed listing.
pub fn backups_of(listing: &Value) -> Result<Vec<Listed>, ApiError> {
    let objects = listing["objects"].as_array().ok_or_else(|| {
        ApiError::new(
            502,
            "storage listing failed: the worker sent no object list",
        )
    })?;
    let mut out: Vec<Listed> = objects
        .iter()
        .filter_map(|o| {
            let name = o["name"].as_str()?;
            if name.ends_with(META_SUFFIX) || name.ends_with(PARTIAL_SUFFIX) {
                return None;
            }
            Some(Listed {
                name: name.to_owned(),
                size: o["size"].as_u64().unwrap_or(0),
                modified_unix: o["modifiedUnix"].as_i64().unwrap_or(0),
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.modified_unix
            .cmp(&a.modified_unix)
            .then_with(|| a.name.cmp(&b.name))
    });
    Ok(out)
}

/// The cursor that continues after `item`.
pub fn cursor_after(item: &Listed) -> String {
    format!("{}:{}", item.modified_unix, item.name)
}

/// The items after `cursor` (from [`cursor_after`]) in a list from [`backups_of`]; 400 on a
/// malformed cursor. A cursor whose object was deleted meanwhile still resumes at its place.
pub fn after_cursor<'a>(
    items: &'a [Listed],
    cursor: Option<&str>,
) -> Result<&'a [Listed], ApiError> {
    let Some(cursor) = cursor.filter(|c| !c.is_empty()) else {
        return Ok(items);
    };
    let (m, name) = cursor
        .split_once(':')
        .and_then(|(m, n)| Some((m.parse::<i64>().ok()?, n)))
        .ok_or_else(|| ApiError::bad_request("invalid cursor"))?;
    let start = items
        .iter()
        .position(|i| (i.modified_unix < m) || (i.modified_unix == m && i.name.as_str() > name))
        .unwrap_or(items.len());
    Ok(&items[start..])
}

/// Parses `limit` (1–[`MAX_LIMIT`], default [`DEFAULT_LIMIT`]).
pub fn parse_limit(limit: Option<&str>) -> Result<usize, ApiError> {
    match limit.filter(|l| !l.is_empty()) {
        None => Ok(DEFAULT_LIMIT),
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or_else(|| {
                ApiError::bad_request(format!("invalid limit: must be 1 to {MAX_LIMIT}"))
            }),
    }
}

/// Whether the sidecar says the backup is locked (protected from deletion and retention).
pub fn is_locked(sidecar: &Value) -> bool {
    sidecar["locked"].as_bool().unwrap_or(false)
}

/// The job id recorded in a sidecar (`meta.jobId`).
pub fn job_id_of(sidecar: &Value) -> Option<&str> {
    sidecar["meta"]["jobId"].as_str()
}

/// One backup in the storage explorer: the storage's facts plus what its sidecar records.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct BackupItem {
    /// The object name (pass as `?path=`).
    pub path: String,
    pub size: u64,
    pub modified_at: Option<String>,
    /// When the backup was made (the modification time without a sidecar).
    pub created_at: Option<String>,
    /// Whether a sidecar (`.meta.json`) describes it.
    pub has_metadata: bool,
    pub job_id: Option<String>,
    pub job_name: Option<String>,
    pub source_id: Option<String>,
    #[cfg_attr(feature = "schema", schemars(with = "Vec<String>"))]
    pub databases: Value,
    pub engine: Option<String>,
    pub engine_version: Option<String>,
    pub format: Option<String>,
    pub compression: Option<String>,
    pub encrypted: bool,
    pub key_fingerprint: Option<String>,
    pub encryption_profile_id: Option<String>,
    pub sha256: Option<String>,
    pub execution_id: Option<String>,
    /// Locked backups are never deleted (by hand or by retention).
    pub locked: bool,
    /// `dbackup` for a backup DBackup wrote (restored with a "DBackup import" profile, or with
    /// `acceptUnauthenticated` when not encrypted); absent for ours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

/// One page of the storage explorer.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct BackupPage {
    pub items: Vec<BackupItem>,
    /// Pass as `cursor` for the next page; null at the end.
    pub next_cursor: Option<String>,
    /// Backups in the listing (before paging).
    pub total: usize,
}

/// The object's modification time as the schema writes times (none before 1970).
fn modified_iso(object: &Listed) -> Option<String> {
    (object.modified_unix >= 0)
        .then(|| dbackup_core::time::Timestamp::from_secs(object.modified_unix).iso())
}

/// The explorer's item for `object` and its sidecar (`null` when it has none: then only the
/// storage's facts are known, and `hasMetadata` is false).
pub fn item(object: &Listed, sidecar: &Value) -> BackupItem {
    if !object.name.ends_with(dbackup_protocol::ENCRYPTED_SUFFIX) {
        if let Ok(d) = dbackup_protocol::dbackup::DbackupMeta::parse(sidecar) {
            return dbackup_item(object, sidecar, &d);
        }
    }
    let meta = &sidecar["meta"];
    let has = sidecar.is_object();
    let str_of = |v: &Value| v.as_str().map(str::to_owned);
    // The recorded creation time; the modification time only when there is no sidecar.
    let created_at = str_of(&sidecar["createdAt"]).or_else(|| modified_iso(object));
    let databases = match &sidecar["databases"] {
        Value::Array(a) if !a.is_empty() => Value::Array(a.clone()),
        _ => match (&sidecar["database"], &meta["databases"]) {
            (Value::String(d), _) => json!([d]),
            (_, Value::Array(a)) => Value::Array(a.clone()),
            _ => json!([]),
        },
    };
    let encryption = &sidecar["encryption"];
    BackupItem {
        path: object.name.clone(),
        size: sidecar["size"].as_u64().unwrap_or(object.size),
        modified_at: modified_iso(object),
        created_at,
        has_metadata: has,
        job_id: str_of(&meta["jobId"]),
        job_name: str_of(&meta["jobName"]).or_else(|| str_of(&sidecar["jobName"])),
        source_id: str_of(&meta["sourceId"]),
        databases,
        engine: str_of(&sidecar["engine"]),
        engine_version: str_of(&sidecar["serverVersion"]),
        format: str_of(&sidecar["format"]),
        compression: str_of(&sidecar["compression"]),
        encrypted: encryption.is_object(),
        key_fingerprint: str_of(&encryption["keyFingerprint"]),
        encryption_profile_id: str_of(&meta["encryptionProfileId"]),
        sha256: str_of(&sidecar["sha256"]),
        execution_id: str_of(&meta["executionId"]).or_else(|| str_of(&sidecar["executionId"])),
        locked: is_locked(sidecar),
        origin: None,
    }
}

/// The item of a backup DBackup wrote (its sidecar: `dbackup_protocol::dbackup`).
fn dbackup_item(
    object: &Listed,
    sidecar: &Value,
    d: &dbackup_protocol::dbackup::DbackupMeta,
) -> BackupItem {
    let str_of = |v: &Value| v.as_str().map(str::to_owned);
    BackupItem {
        path: object.name.clone(),
        size: object.size,
        modified_at: modified_iso(object),
        created_at: d.timestamp.clone().or_else(|| modified_iso(object)),
        has_metadata: true,
        job_id: None,
        job_name: Some(d.job_name.clone()),
        source_id: None,
        databases: json!(d.databases),
        engine: Some(d.engine.clone()),
        engine_version: d.engine_version.clone(),
        format: str_of(&sidecar["originalFileName"])
            .filter(|n| n.contains(".sql"))
            .map(|_| "sql".to_owned()),
        compression: match d.compression {
            dbackup_protocol::Compression::None => None,
            c => serde_json::to_value(c).ok().and_then(|v| str_of(&v)),
        },
        encrypted: d.encryption.is_some(),
        key_fingerprint: None,
        encryption_profile_id: None,
        sha256: None,
        execution_id: None,
        locked: is_locked(sidecar),
        origin: Some("dbackup".into()),
    }
}

/// The sidecar text with `locked` set; 409 when the backup has no sidecar to record it in.
pub fn with_lock(sidecar: &Value, locked: bool) -> Result<String, ApiError> {
    let Value::Object(map) = sidecar else {
        return Err(ApiError::new(
            409,
            "this backup has no metadata sidecar: it cannot be locked or unlocked",
        ));
    };
    let mut map = map.clone();
    map.insert("locked".into(), json!(locked));
    serde_json::to_string_pretty(&Value::Object(map))
        .map_err(|e| ApiError::internal(format!("encoding sidecar: {e}")))
}

/// A download's file name: the last segment of `path`, reduced to safe characters (for
/// `Content-Disposition`).
pub fn download_name(path: &str, decrypted: bool) -> String {
    let last = path.rsplit('/').next().unwrap_or(path);
    let last = if decrypted {
        last.strip_suffix(".enc").unwrap_or(last)
    } else {
        last
    };
    let safe: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-+".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.is_empty() {
        "backup".into()
    } else {
        safe
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(n: usize) -> Value {
        let mut objects = Vec::new();
        for i in 0..n {
            let name = format!("job/job_{i:05}.sql.gz");
            objects.push(json!({"name": name, "size": 10 + i, "modifiedUnix": 1_000 + i as i64}));
            objects.push(json!({"name": format!("{name}.meta.json"), "size": 5, "modifiedUnix": 1_000 + i as i64}));
        }
        objects.push(json!({"name": "job/x.sql.partial", "size": 1, "modifiedUnix": 99_999}));
        json!({ "objects": objects })
    }

    #[test]
    fn pages_walk_every_backup_once_beyond_a_thousand() {
        let all = backups_of(&listing(2_345)).unwrap();
        assert_eq!(all.len(), 2_345);
        assert_eq!(all[0].name, "job/job_02344.sql.gz");
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let rest = after_cursor(&all, cursor.as_deref()).unwrap();
            let page = &rest[..rest.len().min(MAX_LIMIT)];
            if page.is_empty() {
                break;
            }
            seen.extend(page.iter().map(|p| p.name.clone()));
            cursor = Some(cursor_after(page.last().unwrap()));
        }
        assert_eq!(seen.len(), 2_345);
        let unique: std::collections::BTreeSet<_> = seen.iter().collect();
        assert_eq!(unique.len(), 2_345);
    }

    #[test]
    fn cursor_resumes_after_a_deleted_object_and_rejects_garbage() {
        let all = backups_of(&listing(5)).unwrap();
        let cursor = cursor_after(&all[1]);
        let without: Vec<Listed> = all
            .iter()
            .filter(|l| l.name != all[1].name)
            .cloned()
            .collect();
        let rest = after_cursor(&without, Some(&cursor)).unwrap();
        assert_eq!(rest[0].name, all[2].name);
        assert!(after_cursor(&all, Some("nonsense")).is_err());
        assert_eq!(after_cursor(&all, Some("")).unwrap().len(), 5);
    }

    #[test]
    fn malformed_listing_is_an_error_not_empty() {
        assert_eq!(backups_of(&json!({"error": "x"})).unwrap_err().status, 502);
        assert!(backups_of(&json!({"objects": []})).unwrap().is_empty());
    }

    #[test]
    fn paths_are_checked() {
        assert!(validate_path("job/a.sql.gz").is_ok());
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a//b",
            "a/./b",
            "a.sql.meta.json",
            "a.partial",
            "a\\b",
            "a\nb",
        ] {
            assert_eq!(validate_path(bad).unwrap_err().status, 400, "{bad:?}");
        }
        assert!(parse_limit(Some("0")).is_err());
        assert!(parse_limit(Some("201")).is_err());
        assert_eq!(parse_limit(None).unwrap(), DEFAULT_LIMIT);
    }

    #[test]
    fn item_from_sidecar_and_without_one() {
        let object = Listed {
            name: "nightly/nightly_2026.sql.gz.enc".into(),
            size: 1234,
            modified_unix: 1_767_225_600,
        };
        let sidecar = json!({
            "version": 1, "engine": "postgresql", "serverVersion": "16.4",
            "database": "shop", "databases": null, "jobName": "nightly",
            "format": "sql", "compression": "Gzip", "size": 1234, "sha256": "ab",
            "encryption": {"algorithm": "AES-256-GCM", "keyFingerprint": "f00d"},
            "createdAt": "2026-01-01T00:00:00Z", "locked": true,
            "meta": {"jobId": "j1", "jobName": "nightly", "encryptionProfileId": "p1", "executionId": "e1"},
        });
        let v = serde_json::to_value(item(&object, &sidecar)).unwrap();
        assert_eq!(v["jobId"], "j1");
        assert_eq!(v["databases"], json!(["shop"]));
        assert_eq!(v["engine"], "postgresql");
        assert_eq!(v["engineVersion"], "16.4");
        assert_eq!(v["encrypted"], true);
        assert_eq!(v["keyFingerprint"], "f00d");
        assert_eq!(v["locked"], true);
        assert_eq!(v["createdAt"], "2026-01-01T00:00:00Z");
        let bare = serde_json::to_value(item(&object, &Value::Null)).unwrap();
        assert_eq!(bare["hasMetadata"], false);
        assert_eq!(bare["locked"], false);
        assert_eq!(bare["size"], 1234);
        assert_eq!(bare["createdAt"], "2026-01-01T00:00:00.000Z");
    }

    #[test]
    fn dbackups_objects_are_listed_as_such() {
        let object = Listed {
            name: "Nightly PG/Nightly_PG_2025-03-01T02-00-00-000Z.sql.gz.enc".into(),
            size: 99,
            modified_unix: 1_767_225_600,
        };
        let sidecar = json!({
            "version": 1, "jobId": "c1", "jobName": "Nightly PG", "sourceName": "prod",
            "sourceType": "postgres", "sourceId": "s1",
            "databases": {"count": 1, "names": ["shop"]}, "engineVersion": "16.4",
            "timestamp": "2025-03-01T02:00:00.000Z",
            "originalFileName": "Nightly_PG_2025-03-01T02-00-00-000Z.sql.gz.enc",
            "compression": "GZIP",
            "encryption": {"enabled": true, "profileId": "p1", "algorithm": "aes-256-gcm",
                           "iv": "00".repeat(16), "authTag": "ab".repeat(16)},
        });
        let v = serde_json::to_value(item(&object, &sidecar)).unwrap();
        assert_eq!(v["origin"], "dbackup");
        assert_eq!(v["engine"], "postgresql");
        assert_eq!(v["engineVersion"], "16.4");
        assert_eq!(v["createdAt"], "2025-03-01T02:00:00.000Z");
        assert_eq!(v["jobName"], "Nightly PG");
        assert_eq!(v["databases"], json!(["shop"]));
        assert_eq!(v["compression"], "GZIP");
        assert_eq!(v["encrypted"], true);
        assert!(v["jobId"].is_null() && v["encryptionProfileId"].is_null());
        let mut plain = sidecar.clone();
        plain.as_object_mut().unwrap().remove("encryption");
        let v = serde_json::to_value(item(&object, &plain)).unwrap();
        assert_eq!(
            (v["encrypted"].clone(), v["origin"].clone()),
            (json!(false), json!("dbackup"))
        );
        // One of ours whose sidecar was rewritten to look like DBackup's: still ours.
        let ours = Listed {
            name: "n/x.dump.zst.dbk".into(),
            ..object
        };
        assert!(serde_json::to_value(item(&ours, &sidecar))
            .unwrap()
            .get("origin")
            .is_none());
    }

    #[test]
    fn lock_rewrites_only_the_flag() {
        let sidecar = json!({"locked": false, "sha256": "ab"});
        let text = with_lock(&sidecar, true).unwrap();
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, json!({"locked": true, "sha256": "ab"}));
        assert_eq!(with_lock(&Value::Null, true).unwrap_err().status, 409);
        assert_eq!(download_name("job/a b\".sql.gz.enc", true), "a_b_.sql.gz");
    }
}
