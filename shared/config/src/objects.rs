//! Config backup objects on a destination: `config-backups/dbackup-config_<UTC>.json.gz[.dbk]`,
//! the listing, keep-N, and the container header's key fingerprint.

use chrono::{DateTime, Utc};
use dbackup_core::time::Timestamp;
use dbackup_core::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Folder of config backups under a destination's base.
pub const PREFIX: &str = "config-backups/";
/// File name stem.
const STEM: &str = "dbackup-config_";
/// Suffix of every config backup (always gzip).
const GZ: &str = ".json.gz";
/// Suffix added when encrypted.
const DBK: &str = ".dbk";
/// The container magic (docs/FORMAT.md).
pub const MAGIC: &[u8; 8] = b"DBKENC01";

/// The object name of a config backup made at `at`.
pub fn object_name(at: DateTime<Utc>, encrypted: bool) -> String {
    format!(
        "{PREFIX}{STEM}{}{GZ}{}",
        dbackup_jobs_core::worker_request::object_timestamp(at),
        if encrypted { DBK } else { "" }
    )
}

/// Whether `name` (relative to the destination's base) is a config backup.
pub fn is_config_backup(name: &str) -> bool {
    name.strip_prefix(PREFIX)
        .and_then(|n| n.strip_prefix(STEM))
        .is_some_and(|rest| {
            !rest.contains('/') && (rest.ends_with(GZ) || rest.ends_with(&format!("{GZ}{DBK}")))
        })
}

/// One config backup on a destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConfigBackupItem {
    pub name: String,
    pub size: u64,
    pub modified_at: String,
    pub encrypted: bool,
}

/// `GET /api/system/config-backups`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConfigBackupList {
    pub destination_id: Option<String>,
    /// Newest first.
    pub backups: Vec<ConfigBackupItem>,
}

/// The config backups in a worker listing (`{objects: [{name, size, modifiedUnix}]}`), newest
/// first (names carry the UTC time, so name order is time order).
pub fn backups_of(listing: &Value) -> Result<Vec<ConfigBackupItem>, ApiError> {
    let objects = listing["objects"]
        .as_array()
        .ok_or_else(|| ApiError::new(502, "the worker sent an invalid listing"))?;
    let mut items: Vec<ConfigBackupItem> = objects
        .iter()
        .filter_map(|o| {
            let name = o["name"].as_str()?;
            is_config_backup(name).then(|| ConfigBackupItem {
                name: name.to_owned(),
                size: o["size"].as_u64().unwrap_or(0),
                modified_at: Timestamp::from_secs(o["modifiedUnix"].as_i64().unwrap_or(0)).iso(),
                encrypted: name.ends_with(DBK),
            })
        })
        .collect();
    items.sort_by(|a, b| b.name.cmp(&a.name));
    Ok(items)
}

/// Which backups keep-N deletes: all but the `keep` newest (by name).
pub fn to_delete(backups: &[ConfigBackupItem], keep: u32) -> Vec<String> {
    let mut names: Vec<&str> = backups.iter().map(|b| b.name.as_str()).collect();
    names.sort_unstable_by(|a, b| b.cmp(a));
    names
        .into_iter()
        .skip(keep as usize)
        .map(str::to_owned)
        .collect()
}

/// The key fingerprint (16 hex) in a container header, or `None` for unencrypted bytes.
pub fn header_fingerprint(bytes: &[u8]) -> Option<String> {
    (bytes.len() >= 32 && bytes.starts_with(MAGIC)).then(|| hex::encode(&bytes[16..24]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    #[test]
    fn names_listing_and_keep() {
        let t = Utc.with_ymd_and_hms(2026, 11, 27, 3, 0, 5).unwrap();
        assert_eq!(
            object_name(t, true),
            "config-backups/dbackup-config_2026-11-27T03-00-05Z.json.gz.dbk"
        );
        assert!(is_config_backup(&object_name(t, false)));
        assert!(!is_config_backup("config-backups/other.json.gz"));
        assert!(!is_config_backup("nightly/dbackup-config_x.json.gz"));
        assert!(!is_config_backup(
            "config-backups/dbackup-config_x.json.gz.meta.json"
        ));
        let listing = json!({"objects": [
            {"name": "config-backups/dbackup-config_2026-11-25T03-00-00Z.json.gz", "size": 10, "modifiedUnix": 0},
            {"name": "config-backups/dbackup-config_2026-11-27T03-00-00Z.json.gz.dbk", "size": 12, "modifiedUnix": 86400},
            {"name": "config-backups/dbackup-config_2026-11-26T03-00-00Z.json.gz.dbk", "size": 11, "modifiedUnix": 0},
            {"name": "config-backups/notes.txt", "size": 1, "modifiedUnix": 0},
        ]});
        let items = backups_of(&listing).unwrap();
        assert_eq!(items.len(), 3);
        assert!(items[0].name.contains("11-27") && items[0].encrypted);
        assert_eq!(items[0].modified_at, "1970-01-02T00:00:00.000Z");
        assert!(!items[2].encrypted);
        assert_eq!(
            to_delete(&items, 2),
            vec!["config-backups/dbackup-config_2026-11-25T03-00-00Z.json.gz".to_owned()]
        );
        assert!(to_delete(&items, 3).is_empty());
        assert!(backups_of(&json!({})).is_err());
    }

    #[test]
    fn fingerprint_from_header() {
        let mut h = b"DBKENC01".to_vec();
        h.extend_from_slice(&[1, 1, 1, 0, 0, 16, 0, 0]);
        h.extend_from_slice(&[0xab; 8]);
        h.extend_from_slice(&[0; 8]);
        assert_eq!(header_fingerprint(&h).as_deref(), Some("abababababababab"));
        assert_eq!(
            header_fingerprint(b"\x1f\x8b rest of a gzip file....................."),
            None
        );
    }
}
