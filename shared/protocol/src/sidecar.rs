//! The `<object>.meta.json` sidecar a backup writes next to its object (docs/FORMAT.md): what
//! the explorer lists, lock/unlock rewrites, and a restore consults. The object is restorable
//! without it, and storage is not trusted: a sidecar can add requirements (encrypted), never
//! lift the ones the object name carries.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::Compression;

/// Suffix of encrypted objects (`DBKENC01` containers).
pub const ENCRYPTED_SUFFIX: &str = ".dbk";
/// Suffix of the metadata sidecar.
pub const META_SUFFIX: &str = ".meta.json";
/// Suffix of an object being written (never listed, never a valid object name).
pub const PARTIAL_SUFFIX: &str = ".partial";
/// The sidecar format version the worker writes.
pub const SIDECAR_VERSION: u32 = 1;
/// Largest sidecar worth reading (bytes); anything larger is not one the worker wrote.
pub const MAX_SIDECAR_BYTES: u64 = 1024 * 1024;

/// The sidecar's object name: `<object>.meta.json`.
pub fn sidecar_name(object_name: &str) -> String {
    format!("{object_name}{META_SUFFIX}")
}

/// The sidecar. Reading is lenient: any field may be missing (defaults), unknown fields are
/// kept in `extra` so a rewrite (lock/unlock) does not drop them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Sidecar {
    /// [`SIDECAR_VERSION`].
    pub version: u32,
    /// Engine name (`postgresql`, `mariadb`, …).
    pub engine: String,
    /// `--version` line of the dump tool used.
    pub engine_tool_version: Option<String>,
    /// The source server's version string.
    pub server_version: Option<String>,
    /// The database dumped; `None` for a multi-database backup.
    pub database: Option<String>,
    /// Every database in the object.
    pub databases: Vec<String>,
    /// The job's name.
    pub job_name: String,
    /// The execution that wrote it.
    pub execution_id: Option<String>,
    /// The object's name.
    pub object_name: String,
    /// Payload format (`dump`, `sql`, `tar`, `rdb`, …).
    pub format: String,
    /// Compression of the payload.
    pub compression: Compression,
    /// Compression level, when one was asked for.
    pub compression_level: Option<i32>,
    /// Present (and not `false`) when the object is an encrypted container.
    #[serde(deserialize_with = "lenient_encryption")]
    pub encryption: Option<SidecarEncryption>,
    /// Bytes the dump tool produced.
    pub dump_size: u64,
    /// Bytes stored.
    pub size: u64,
    /// SHA-256 (hex) of the stored bytes.
    pub sha256: String,
    /// RFC 3339, seconds.
    pub created_at: String,
    /// Version of the worker that wrote it.
    pub app_version: String,
    /// Locked objects are kept by retention and refused by delete.
    pub locked: bool,
    /// The backup request's free-form `meta` object.
    pub meta: Option<Value>,
    /// Fields this version does not know (kept on rewrite).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `encryption` of a sidecar.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SidecarEncryption {
    /// `AES-256-GCM`.
    pub algorithm: String,
    /// `DBKENC01`.
    pub container: String,
    /// Fingerprint (16 hex) of the key.
    pub key_fingerprint: Option<String>,
}

impl SidecarEncryption {
    /// What the worker records for a key of fingerprint `key_fingerprint`.
    pub fn dbkenc01(key_fingerprint: String) -> Self {
        SidecarEncryption {
            algorithm: "AES-256-GCM".into(),
            container: "DBKENC01".into(),
            key_fingerprint: Some(key_fingerprint),
        }
    }
}

/// `null`, absent or `false` say "not encrypted"; any other value says encrypted (an object
/// of another shape is read as far as it goes).
fn lenient_encryption<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<SidecarEncryption>, D::Error> {
    let value = Value::deserialize(d)?;
    Ok(encryption_present(&value).then(|| serde_json::from_value(value).unwrap_or_default()))
}

/// The rule for `encryption`: anything but `null` or `false` means encrypted.
fn encryption_present(value: &Value) -> bool {
    !matches!(value, Value::Null | Value::Bool(false))
}

impl Sidecar {
    /// Parses sidecar bytes; `None` for anything that is not a JSON object of the sidecar's
    /// shape (an odd sidecar says nothing).
    pub fn parse(bytes: &[u8]) -> Option<Sidecar> {
        serde_json::from_slice(bytes).ok()
    }

    /// Parses a sidecar already read as JSON.
    pub fn from_value(value: &Value) -> Option<Sidecar> {
        serde_json::from_value(value.clone()).ok()
    }

    /// Whether the sidecar says the object is encrypted.
    pub fn is_encrypted(&self) -> bool {
        self.encryption.is_some()
    }

    /// Whether sidecar bytes say the object is encrypted, looking at `encryption` alone (a
    /// sidecar odd elsewhere still adds the requirement; unreadable bytes say nothing).
    pub fn says_encrypted(bytes: &[u8]) -> bool {
        serde_json::from_slice::<Value>(bytes)
            .is_ok_and(|v| v.get("encryption").is_some_and(encryption_present))
    }

    /// The sidecar as the worker writes it: pretty JSON, keys sorted.
    pub fn to_pretty_json(&self) -> String {
        serde_json::to_value(self)
            .and_then(|v| serde_json::to_string_pretty(&v))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// What the worker wrote before the protocol crate (tasks.rs `json!`), for an encrypted
    /// single-database backup.
    fn golden() -> Value {
        json!({
            "version": 1,
            "engine": "postgresql",
            "engineToolVersion": "pg_dump (PostgreSQL) 16.4",
            "serverVersion": "16.4",
            "database": "shop",
            "databases": ["shop"],
            "jobName": "nightly",
            "executionId": "exec-1",
            "objectName": "acme/nightly/2026-11-27T03-00-00Z_shop.dump.zst.dbk",
            "format": "dump",
            "compression": "ZSTD",
            "compressionLevel": null,
            "encryption": {"algorithm": "AES-256-GCM", "container": "DBKENC01", "keyFingerprint": "0123456789abcdef"},
            "dumpSize": 1000,
            "size": 400,
            "sha256": "ab".repeat(32),
            "createdAt": "2026-11-27T03:00:00Z",
            "appVersion": "0.1.0",
            "locked": false,
            "meta": {"jobId": "j1"},
        })
    }

    fn typed() -> Sidecar {
        Sidecar {
            version: SIDECAR_VERSION,
            engine: "postgresql".into(),
            engine_tool_version: Some("pg_dump (PostgreSQL) 16.4".into()),
            server_version: Some("16.4".into()),
            database: Some("shop".into()),
            databases: vec!["shop".into()],
            job_name: "nightly".into(),
            execution_id: Some("exec-1".into()),
            object_name: "acme/nightly/2026-11-27T03-00-00Z_shop.dump.zst.dbk".into(),
            format: "dump".into(),
            compression: Compression::Zstd,
            compression_level: None,
            encryption: Some(SidecarEncryption::dbkenc01("0123456789abcdef".into())),
            dump_size: 1000,
            size: 400,
            sha256: "ab".repeat(32),
            created_at: "2026-11-27T03:00:00Z".into(),
            app_version: "0.1.0".into(),
            locked: false,
            meta: Some(json!({"jobId": "j1"})),
            extra: Map::new(),
        }
    }

    #[test]
    fn writes_the_golden_bytes_and_round_trips() {
        assert_eq!(
            typed().to_pretty_json(),
            serde_json::to_string_pretty(&golden()).unwrap()
        );
        assert_eq!(Sidecar::from_value(&golden()), Some(typed()));
        assert!(typed().is_encrypted());
        let plain = Sidecar {
            encryption: None,
            database: None,
            meta: None,
            ..typed()
        };
        let value: Value = serde_json::from_str(&plain.to_pretty_json()).unwrap();
        assert!(value["encryption"].is_null() && value["database"].is_null());
        assert!(value["meta"].is_null());
    }

    #[test]
    fn reading_is_lenient_and_keeps_unknown_fields() {
        let s = Sidecar::parse(br#"{"locked": true, "encryption": false, "note": "x"}"#).unwrap();
        assert!(s.locked && !s.is_encrypted());
        assert_eq!(s.extra["note"], "x");
        let rewritten: Value = serde_json::from_str(&s.to_pretty_json()).unwrap();
        assert_eq!(rewritten["note"], "x");
        assert!(Sidecar::parse(br#"{"encryption": true}"#)
            .unwrap()
            .is_encrypted());
        assert!(Sidecar::parse(br#"{"encryption": {"x": 1}}"#)
            .unwrap()
            .is_encrypted());
        assert!(!Sidecar::parse(b"{}").unwrap().is_encrypted());
        assert!(Sidecar::says_encrypted(
            br#"{"encryption": {}, "size": "odd"}"#
        ));
        assert!(!Sidecar::says_encrypted(br#"{"encryption": false}"#));
        assert!(!Sidecar::says_encrypted(b"garbage"));
        assert_eq!(Sidecar::parse(b"[1]"), None);
        assert_eq!(Sidecar::parse(b"not json"), None);
        assert_eq!(sidecar_name("a/b.dump"), "a/b.dump.meta.json");
    }
}
