//! Storage: the `storage` object every storage operation names (docs/CONTRACTS.md,
//! "StorageSpec") and the `POST /v1/storage/{probe,check,list,stat,delete,get,put}` bodies and
//! answers. Object names are relative to the spec's base (`path`, or `prefix` in the bucket).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::tasks::EncryptionSpec;
use crate::{Compression, MASK};

/// Where objects live. The component resolves presets (s3-aws, minio, …) to one of these
/// kinds. `Debug` masks every secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum StorageSpec {
    /// A directory on the worker's machine.
    Local(LocalSpec),
    /// An S3-compatible bucket.
    S3(S3Spec),
    /// A directory on an SFTP server.
    Sftp(SftpSpec),
    /// A directory on any remote rclone reaches (FTP, WebDAV, SMB, cloud drives, …), through
    /// the `rclone` tool (docs/STORAGE.md).
    Rclone(RcloneSpec),
}

/// `{"kind":"local", "path"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LocalSpec {
    /// Absolute base directory.
    pub path: PathBuf,
}

/// `{"kind":"s3", endpoint, region, bucket, prefix?, pathStyle, accessKeyId, secretAccessKey}`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct S3Spec {
    /// `http(s)://host[:port]`.
    pub endpoint: String,
    /// Signing region (`us-east-1` for most S3-compatible servers).
    pub region: String,
    /// Bucket name.
    pub bucket: String,
    /// Key prefix all object names live under (`/`-separated, no leading slash needed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Path-style URLs (`endpoint/bucket/key`) instead of virtual-host style.
    #[serde(default)]
    pub path_style: bool,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
}

impl fmt::Debug for S3Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Spec")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("path_style", &self.path_style)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &MASK)
            .finish()
    }
}

/// `{"kind":"sftp", host, port, username, password?, privateKey?, passphrase?, hostKey, path}`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SftpSpec {
    /// Server host name or address.
    pub host: String,
    /// Server port (default 22).
    #[serde(default = "default_ssh_port")]
    pub port: u16,
    /// Login name.
    pub username: String,
    /// Password authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// OpenSSH private key (PEM text) for key authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
    /// Passphrase of `private_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passphrase: Option<String>,
    /// The pinned host key: an OpenSSH public-key line or a `SHA256:` fingerprint.
    pub host_key: String,
    /// Base directory on the server.
    pub path: String,
}

fn default_ssh_port() -> u16 {
    22
}

impl fmt::Debug for SftpSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let masked = |v: &Option<String>| v.as_ref().map(|_| MASK);
        f.debug_struct("SftpSpec")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &masked(&self.password))
            .field("private_key", &masked(&self.private_key))
            .field("passphrase", &masked(&self.passphrase))
            .field("host_key", &self.host_key)
            .field("path", &self.path)
            .finish()
    }
}

/// `{"kind":"rclone", backend, options?, secretOptions?, path}`: an rclone remote defined by
/// its backend type and options (rclone's own option names, e.g. `url`, `user`, `pass`). The
/// worker passes them to rclone in its environment only and obscures the ones rclone treats as
/// passwords itself; `secretOptions` are masked like every secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RcloneSpec {
    /// rclone backend type (`webdav`, `ftp`, `smb`, `drive`, `b2`, …).
    pub backend: String,
    /// Non-secret options by rclone option name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
    /// Secret options (passwords in clear text, tokens, keys) by rclone option name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secret_options: BTreeMap<String, String>,
    /// Base path on the remote (`share/dir` for SMB, `bucket/dir` for buckets); may be empty.
    #[serde(default)]
    pub path: String,
}

impl fmt::Debug for RcloneSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let masked: BTreeMap<&str, &str> = self
            .secret_options
            .keys()
            .map(|k| (k.as_str(), MASK))
            .collect();
        f.debug_struct("RcloneSpec")
            .field("backend", &self.backend)
            .field("options", &self.options)
            .field("secret_options", &masked)
            .field("path", &self.path)
            .finish()
    }
}

impl fmt::Debug for StorageSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageSpec::Local(s) => s.fmt(f),
            StorageSpec::S3(s) => s.fmt(f),
            StorageSpec::Sftp(s) => s.fmt(f),
            StorageSpec::Rclone(s) => s.fmt(f),
        }
    }
}

impl StorageSpec {
    /// The kind name (`local`, `s3`, `sftp`, `rclone`).
    pub fn kind(&self) -> &'static str {
        match self {
            StorageSpec::Local(_) => "local",
            StorageSpec::S3(_) => "s3",
            StorageSpec::Sftp(_) => "sftp",
            StorageSpec::Rclone(_) => "rclone",
        }
    }

    /// The secret values of this spec, to mask in events and logs.
    pub fn secrets(&self) -> Vec<String> {
        match self {
            StorageSpec::Local(_) => Vec::new(),
            StorageSpec::S3(s) => vec![s.secret_access_key.clone()],
            StorageSpec::Sftp(s) => [&s.password, &s.private_key, &s.passphrase]
                .into_iter()
                .flatten()
                .filter(|v| !v.is_empty())
                .cloned()
                .collect(),
            StorageSpec::Rclone(s) => s
                .secret_options
                .values()
                .filter(|v| !v.is_empty())
                .cloned()
                .collect(),
        }
    }
}

/// Metadata of one stored object (an entry of `list`, the answer of `stat`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectInfo {
    /// Object name relative to the storage's base, `/`-separated.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification, seconds since the Unix epoch.
    pub modified_unix: u64,
}

/// `POST /v1/storage/probe` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProbeRequest {
    /// The storage to list, write, read back and delete a probe object in.
    pub storage: StorageSpec,
}

/// `POST /v1/storage/probe` answer (200 whether or not the storage worked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeAnswer {
    /// Whether every step worked.
    pub ok: bool,
    /// Wall time in milliseconds.
    pub latency_ms: u64,
    /// What was done, or why it failed.
    pub message: String,
}

/// `POST /v1/storage/check` body: a storage spec, or a backup source whose file path is
/// checked (SQLite: never in the worker's data directory) — exactly one of them. Answer:
/// `{"ok": true}` ([`CheckAnswer`]) or a 400.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    /// A storage spec to check (local roots, shape) without touching it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<StorageSpec>,
    /// An engine connection (see docs/CONTRACTS.md, adapter config keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Value>,
}

/// `{"ok": true}`: the answer of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckAnswer {
    /// Always `true`.
    pub ok: bool,
}

/// `POST /v1/storage/list` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListRequest {
    /// The storage.
    pub storage: StorageSpec,
    /// Directory-like prefix of the names listed; empty = everything.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prefix: String,
}

/// `POST /v1/storage/list` answer: every object (all pages), sorted by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectList {
    /// The objects.
    pub objects: Vec<ObjectInfo>,
}

/// `POST /v1/storage/stat` and `POST /v1/storage/delete` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NameRequest {
    /// The storage.
    pub storage: StorageSpec,
    /// The object.
    pub name: String,
}

/// `POST /v1/storage/get` body; the answer is the object's bytes, streamed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetRequest {
    /// The storage.
    pub storage: StorageSpec,
    /// The object.
    pub name: String,
    /// Decrypt a `DBKENC01` container on the fly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decrypt: Option<DecryptSpec>,
    /// Undo the compression too: the container header's with `decrypt`, else `compression`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub decompress: bool,
    /// Compression of an unencrypted object (with `decompress`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<Compression>,
}

/// `{keyHex}`; `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DecryptSpec {
    /// The profile key, 64 hex characters.
    pub key_hex: String,
}

impl fmt::Debug for DecryptSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DecryptSpec { .. }")
    }
}

/// `POST /v1/storage/put` body. Without `compression`/`encryption` the content (≤ 1 MiB) is
/// written as is (204); with them it is sealed like a backup stream of those bytes (≤ 32 MiB)
/// and the answer is [`SealedPut`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PutRequest {
    /// The storage.
    pub storage: StorageSpec,
    /// The object.
    pub name: String,
    /// UTF-8 content.
    pub content: String,
    /// Replace an existing object (atomically at commit).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub overwrite: bool,
    /// Compression of a sealed put.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<Compression>,
    /// Encryption of a sealed put.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<EncryptionSpec>,
}

/// Answer of a sealed put: the stored object's name, size and SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedPut {
    /// The object.
    pub name: String,
    /// Bytes stored.
    pub size: u64,
    /// SHA-256 (hex) of the stored bytes.
    pub sha256: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn specs_round_trip_the_documented_shapes() {
        for golden in [
            json!({"kind":"local","path":"/abs/base"}),
            json!({"kind":"s3","endpoint":"http://127.0.0.1:19200","region":"us-east-1","bucket":"b","prefix":"opt/prefix","pathStyle":true,"accessKeyId":"AK","secretAccessKey":"SK"}),
            json!({"kind":"sftp","host":"127.0.0.1","port":2222,"username":"u","password":"p","privateKey":"-----BEGIN OPENSSH PRIVATE KEY-----","passphrase":"pp","hostKey":"ssh-ed25519 AAAA","path":"/base"}),
            json!({"kind":"rclone","backend":"webdav","options":{"url":"http://127.0.0.1:8080","user":"u"},"secretOptions":{"pass":"p"},"path":"backups"}),
        ] {
            let spec: StorageSpec = serde_json::from_value(golden.clone()).unwrap();
            assert_eq!(serde_json::to_value(&spec).unwrap(), golden);
        }
        let sftp: StorageSpec = serde_json::from_value(json!({"kind": "sftp", "host": "h",
            "username": "u", "password": "pw-value", "hostKey": "SHA256:abc", "path": "/b"}))
        .unwrap();
        let StorageSpec::Sftp(inner) = &sftp else {
            panic!("not sftp")
        };
        assert_eq!(inner.port, 22);
        assert!(!format!("{sftp:?}").contains("pw-value"));
        assert_eq!(sftp.secrets(), ["pw-value"]);
        assert!(serde_json::from_value::<StorageSpec>(
            json!({"kind": "local", "path": "/b", "x": 1})
        )
        .is_err());
        assert!(
            serde_json::from_value::<StorageSpec>(json!({"kind": "ftp", "path": "/b"})).is_err()
        );
        let rclone: StorageSpec = serde_json::from_value(json!({"kind": "rclone",
            "backend": "ftp", "secretOptions": {"pass": "ftp-secret"}}))
        .unwrap();
        assert!(!format!("{rclone:?}").contains("ftp-secret"));
        assert_eq!(rclone.secrets(), ["ftp-secret"]);
        assert_eq!(rclone.kind(), "rclone");
    }

    #[test]
    fn requests_and_answers() {
        let local = json!({"kind": "local", "path": "/b"});
        let get: GetRequest = serde_json::from_value(
            json!({"storage": local, "name": "a.dbk", "decrypt": {"keyHex": "00"}, "decompress": true}),
        )
        .unwrap();
        assert!(get.decompress && get.compression.is_none());
        assert!(!format!("{get:?}").contains("\"00\""));
        assert_eq!(
            serde_json::to_value(&get).unwrap(),
            json!({"storage": local, "name": "a.dbk", "decrypt": {"keyHex": "00"}, "decompress": true})
        );
        let list: ListRequest = serde_json::from_value(json!({"storage": local})).unwrap();
        assert_eq!(list.prefix, "");
        assert!(serde_json::from_value::<NameRequest>(
            json!({"storage": local, "name": "x", "y": 1})
        )
        .is_err());
        let put: PutRequest =
            serde_json::from_value(json!({"storage": local, "name": "a.meta.json",
            "content": "{}", "overwrite": true}))
            .unwrap();
        assert!(put.overwrite && put.encryption.is_none());
        let check: CheckRequest =
            serde_json::from_value(json!({"source": {"engine": "sqlite", "path": "/x"}})).unwrap();
        assert!(check.storage.is_none() && check.source.is_some());
        assert!(serde_json::from_value::<CheckRequest>(json!({"storageSpec": {}})).is_err());
        assert_eq!(
            serde_json::to_value(ObjectList {
                objects: vec![ObjectInfo {
                    name: "a".into(),
                    size: 5,
                    modified_unix: 7
                }]
            })
            .unwrap()
            .to_string(),
            r#"{"objects":[{"modifiedUnix":7,"name":"a","size":5}]}"#
        );
        assert_eq!(
            serde_json::to_value(ProbeAnswer {
                ok: true,
                latency_ms: 3,
                message: "m".into()
            })
            .unwrap(),
            json!({"ok": true, "latencyMs": 3, "message": "m"})
        );
        assert_eq!(
            serde_json::to_value(SealedPut {
                name: "n".into(),
                size: 1,
                sha256: "s".into()
            })
            .unwrap(),
            json!({"name": "n", "size": 1, "sha256": "s"})
        );
        assert_eq!(
            serde_json::to_value(CheckAnswer { ok: true }).unwrap(),
            json!({"ok": true})
        );
    }
}
