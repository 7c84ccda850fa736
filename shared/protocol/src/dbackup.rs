//! Backups written by DBackup (Skyfay/DBackup), which users switching to us bring along
//! (docs/STORAGE.md, "Coming from DBackup"). DBackup stores `<job name>/<file>` plus a
//! pretty-printed `<file>.meta.json` sidecar `{version: 1, jobId, jobName, sourceName,
//! sourceType, sourceId, databases: {count, names?}, engineVersion?, timestamp,
//! originalFileName, compression?: "GZIP" | "BROTLI", encryption?: {enabled, profileId,
//! algorithm: "aes-256-gcm", iv, authTag}}`. The object is the dump, compressed (gzip or brotli)
//! and then, when encrypted, AES-256-GCM over the whole compressed stream with the profile's raw
//! 32-byte key, a 16-byte IV and the tag in the sidecar (hex), nothing in the object itself.
//!
//! Storage is not trusted: everything here comes from a sidecar anyone with write access to the
//! bucket could have written. The tag authenticates the object only together with a key the
//! user gave us; an unencrypted DBackup object cannot be authenticated at all.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Compression;

/// `dbackup` of a restore request: restore a DBackup object (the worker reads its sidecar).
/// `Debug` never shows the key.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DbackupImport {
    /// The "DBackup import" profile's key, 64 hex characters; required when the sidecar says
    /// the object is encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_hex: Option<String>,
    /// The caller accepts restoring an unencrypted object, which nothing authenticates.
    #[serde(default)]
    pub accept_unauthenticated: bool,
}

impl fmt::Debug for DbackupImport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbackupImport")
            .field("key_hex", &self.key_hex.as_ref().map(|_| crate::MASK))
            .field("accept_unauthenticated", &self.accept_unauthenticated)
            .finish()
    }
}

/// What a DBackup sidecar says, as far as a restore or the explorer needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbackupMeta {
    /// DBackup's adapter id (`postgres`, `mysql`, `mariadb`, `mongodb`, `sqlite`, `redis`, …).
    pub source_type: String,
    /// Our engine name for it (`postgresql` for `postgres`, else the same).
    pub engine: String,
    pub job_name: String,
    pub timestamp: Option<String>,
    pub engine_version: Option<String>,
    pub databases: Vec<String>,
    /// GZIP / BROTLI / none; anything else is refused by [`DbackupMeta::parse`].
    pub compression: Compression,
    /// IV and tag when the object is encrypted.
    pub encryption: Option<DbackupEncryption>,
}

/// `encryption` of a DBackup sidecar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbackupEncryption {
    /// 16 bytes (DBackup's IV length; GCM derives the initial counter from it by GHASH).
    pub iv: Vec<u8>,
    /// The 16-byte GCM tag over the whole object.
    pub auth_tag: [u8; 16],
    /// DBackup's profile id (theirs, not ours: shown to help pick the key).
    pub profile_id: Option<String>,
}

/// Whether a sidecar (as JSON) is DBackup's rather than ours: version 1 with `sourceType` and
/// `jobName`, and none of our own `engine`/`objectName`.
pub fn is_dbackup_sidecar(value: &Value) -> bool {
    value.get("version").and_then(Value::as_u64) == Some(1)
        && value.get("sourceType").is_some_and(Value::is_string)
        && value.get("jobName").is_some_and(Value::is_string)
        && value.get("engine").is_none()
        && value.get("objectName").is_none()
}

impl DbackupMeta {
    /// Reads a DBackup sidecar; `Err` names what is missing or malformed (a sidecar that is not
    /// DBackup's, an unknown compression or algorithm, an IV or tag of the wrong size).
    pub fn parse(value: &Value) -> Result<DbackupMeta, String> {
        if !is_dbackup_sidecar(value) {
            return Err("not a DBackup sidecar (version 1 with sourceType and jobName)".into());
        }
        let text = |k: &str| value.get(k).and_then(Value::as_str).map(str::to_owned);
        let source_type = text("sourceType").unwrap_or_default();
        let engine = match source_type.as_str() {
            "postgres" => "postgresql".to_owned(),
            other => other.to_owned(),
        };
        let compression = match value.get("compression") {
            None | Some(Value::Null) => Compression::None,
            Some(Value::String(c)) => match c.to_ascii_uppercase().as_str() {
                "GZIP" => Compression::Gzip,
                "BROTLI" => Compression::Brotli,
                "NONE" => Compression::None,
                _ => return Err(format!("compression: unknown DBackup compression {c:?}")),
            },
            Some(_) => return Err("compression: must be a string".into()),
        };
        let encryption = match value.get("encryption") {
            None | Some(Value::Null) | Some(Value::Bool(false)) => None,
            Some(Value::Object(e)) if e.get("enabled") == Some(&Value::Bool(false)) => None,
            Some(Value::Object(e)) => {
                let algorithm = e
                    .get("algorithm")
                    .and_then(Value::as_str)
                    .unwrap_or("aes-256-gcm");
                if !algorithm.eq_ignore_ascii_case("aes-256-gcm") {
                    return Err(format!(
                        "encryption.algorithm: {algorithm:?} is not aes-256-gcm"
                    ));
                }
                let hex_of = |k: &str| {
                    e.get(k)
                        .and_then(Value::as_str)
                        .and_then(|h| hex::decode(h).ok())
                        .ok_or_else(|| format!("encryption.{k}: missing or not hex"))
                };
                let iv = hex_of("iv")?;
                if iv.is_empty() || iv.len() > 64 {
                    return Err("encryption.iv: must be 1 to 64 bytes".into());
                }
                let auth_tag: [u8; 16] = hex_of("authTag")?
                    .try_into()
                    .map_err(|_| "encryption.authTag: must be 16 bytes".to_owned())?;
                Some(DbackupEncryption {
                    iv,
                    auth_tag,
                    profile_id: e
                        .get("profileId")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                })
            }
            Some(_) => return Err("encryption: must be an object".into()),
        };
        let databases = value
            .pointer("/databases/names")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Ok(DbackupMeta {
            source_type,
            engine,
            job_name: text("jobName").unwrap_or_default(),
            timestamp: text("timestamp"),
            engine_version: text("engineVersion"),
            databases,
            compression,
            encryption,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sidecar() -> Value {
        json!({
            "version": 1, "jobId": "c1", "jobName": "Nightly PG", "sourceName": "prod",
            "sourceType": "postgres", "sourceId": "s1",
            "databases": {"count": 1, "names": ["shop"]}, "engineVersion": "16.4",
            "timestamp": "2025-03-01T02:00:00.000Z",
            "originalFileName": "Nightly_PG_2025-03-01T02-00-00-000Z.sql.gz.enc",
            "compression": "GZIP",
            "encryption": {"enabled": true, "profileId": "p1", "algorithm": "aes-256-gcm",
                           "iv": "00".repeat(16), "authTag": "ab".repeat(16)},
        })
    }

    #[test]
    fn reads_dbackups_sidecar() {
        let m = DbackupMeta::parse(&sidecar()).unwrap();
        assert_eq!(m.engine, "postgresql");
        assert_eq!(m.compression, Compression::Gzip);
        assert_eq!(m.databases, ["shop"]);
        let e = m.encryption.unwrap();
        assert_eq!((e.iv.len(), e.auth_tag), (16, [0xab; 16]));
        let mut plain = sidecar();
        plain.as_object_mut().unwrap().remove("encryption");
        plain["compression"] = json!("BROTLI");
        let m = DbackupMeta::parse(&plain).unwrap();
        assert!(m.encryption.is_none());
        assert_eq!(m.compression, Compression::Brotli);
    }

    #[test]
    fn ours_and_odd_ones_are_not_dbackups() {
        assert!(!is_dbackup_sidecar(
            &json!({"version": 1, "engine": "postgresql", "jobName": "x"})
        ));
        assert!(!is_dbackup_sidecar(&Value::Null));
        let mut s = sidecar();
        s["encryption"]["authTag"] = json!("ab");
        assert!(DbackupMeta::parse(&s).unwrap_err().contains("authTag"));
        let mut s = sidecar();
        s["compression"] = json!("LZ4");
        assert!(DbackupMeta::parse(&s).unwrap_err().contains("compression"));
        let mut s = sidecar();
        s["encryption"]["algorithm"] = json!("aes-256-cbc");
        assert!(DbackupMeta::parse(&s).is_err());
        let d = DbackupImport {
            key_hex: Some("ab".repeat(32)),
            accept_unauthenticated: false,
        };
        assert!(!format!("{d:?}").contains("abab"));
    }
}
