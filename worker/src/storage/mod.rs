//! Storage backends behind one small blocking trait; one module per backend.
//!
//! [`StorageSpec`] is what a request names (docs/CONTRACTS.md, "StorageSpec"); [`open`] turns
//! it into a [`Storage`].

pub mod local;
pub mod roots;
pub mod s3;
pub mod sftp;

use std::fmt;
use std::io::{self, Read, Write};
use std::path::PathBuf;

use serde::Deserialize;

pub use local::LocalStorage;
pub use roots::LocalRoots;
pub use s3::S3Storage;
pub use sftp::SftpStorage;

/// Where objects live: the `storage` object of a request. `Debug` masks every secret.
#[derive(Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum StorageSpec {
    /// A directory on the worker's machine.
    Local(LocalSpec),
    /// An S3-compatible bucket.
    S3(S3Spec),
    /// A directory on an SFTP server.
    Sftp(SftpSpec),
}

/// `{"kind":"local", "path"}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LocalSpec {
    /// Absolute base directory.
    pub path: PathBuf,
}

/// `{"kind":"s3", endpoint, region, bucket, prefix?, pathStyle, accessKeyId, secretAccessKey}`.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct S3Spec {
    /// `http(s)://host[:port]`.
    pub endpoint: String,
    /// Signing region (`us-east-1` for most S3-compatible servers).
    pub region: String,
    /// Bucket name.
    pub bucket: String,
    /// Key prefix all object names live under (`/`-separated, no leading slash needed).
    #[serde(default)]
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
            .field("secret_access_key", &crate::MASK)
            .finish()
    }
}

/// `{"kind":"sftp", host, port, username, password?, privateKey?, passphrase?, hostKey, path}`.
#[derive(Clone, Deserialize)]
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
    #[serde(default)]
    pub password: Option<String>,
    /// OpenSSH private key (PEM text) for key authentication.
    #[serde(default)]
    pub private_key: Option<String>,
    /// Passphrase of `private_key`.
    #[serde(default)]
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
        let masked = |v: &Option<String>| v.as_ref().map(|_| crate::MASK);
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

impl fmt::Debug for StorageSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageSpec::Local(s) => s.fmt(f),
            StorageSpec::S3(s) => s.fmt(f),
            StorageSpec::Sftp(s) => s.fmt(f),
        }
    }
}

impl StorageSpec {
    /// The kind name (`local`, `s3`, `sftp`).
    pub fn kind(&self) -> &'static str {
        match self {
            StorageSpec::Local(_) => "local",
            StorageSpec::S3(_) => "s3",
            StorageSpec::Sftp(_) => "sftp",
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
        }
    }

    /// For a local spec: its directory must lie within `roots` ([`LocalRoots::check`]; the
    /// error names `storage.path`). Remote specs pass.
    pub fn check_roots(&self, roots: &LocalRoots) -> io::Result<()> {
        match self {
            StorageSpec::Local(s) => roots.check(&s.path).map(drop),
            StorageSpec::S3(_) | StorageSpec::Sftp(_) => Ok(()),
        }
    }

    /// Cheap checks that need no network (absolute paths, URL shape, required fields).
    pub fn validate(&self) -> io::Result<()> {
        let invalid = |m: String| Err(io::Error::new(io::ErrorKind::InvalidInput, m));
        match self {
            StorageSpec::Local(s) if !s.path.is_absolute() => {
                invalid("storage.path: must be an absolute path".into())
            }
            StorageSpec::Local(_) => Ok(()),
            StorageSpec::S3(s) => s3::validate(s),
            StorageSpec::Sftp(s) => {
                if s.host.is_empty() || s.username.is_empty() {
                    return invalid("storage: sftp host and username are required".into());
                }
                if let Err(why) = dbackup_core::net::check_host(&s.host) {
                    return invalid(format!("storage.host: {why}"));
                }
                if s.password.is_none() && s.private_key.is_none() {
                    return invalid("storage: sftp needs a password or a privateKey".into());
                }
                if s.host_key.trim().is_empty() {
                    return invalid("storage.hostKey: the server's host key must be pinned".into());
                }
                Ok(())
            }
        }
    }
}

/// Opens the backend a spec names. Local storage must lie within `roots` (checked before its
/// base directory is created and again on the canonical directory); remote backends connect
/// lazily or on open (SFTP) and report unreachable servers as errors.
pub fn open(spec: &StorageSpec, roots: &LocalRoots) -> io::Result<Box<dyn Storage>> {
    spec.validate()?;
    match spec {
        StorageSpec::Local(s) => {
            let base = roots.check(&s.path)?;
            let storage = LocalStorage::new(base)?;
            roots.check(storage.base())?;
            Ok(Box::new(storage))
        }
        StorageSpec::S3(s) => Ok(Box::new(S3Storage::new(s)?)),
        StorageSpec::Sftp(s) => Ok(Box::new(SftpStorage::connect(s)?)),
    }
}

/// Metadata of one stored object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectInfo {
    /// Object name relative to the storage root, `/`-separated.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification, seconds since the Unix epoch.
    pub modified_unix: u64,
}

/// An object being written. Nothing is visible under the final name until
/// [`ObjectWriter::commit`]; dropping the writer without committing removes what was written.
pub trait ObjectWriter: Write + Send {
    /// Makes the object durable and visible under its final name.
    fn commit(self: Box<Self>) -> io::Result<()>;
}

/// A storage backend. All methods block; call them from blocking threads.
pub trait Storage: Send + Sync {
    /// Starts writing `name`; fails (`AlreadyExists`) if an object of that name exists or
    /// is being written.
    fn put(&self, name: &str) -> io::Result<Box<dyn ObjectWriter>>;
    /// Starts writing `name`, replacing an existing object atomically at commit: readers
    /// see the old object or the new one, never none or a partial one (SFTP servers without
    /// `posix-rename@openssh.com` have a short window without the object).
    fn put_replace(&self, name: &str) -> io::Result<Box<dyn ObjectWriter>>;
    /// Opens `name` for streaming reads.
    fn get(&self, name: &str) -> io::Result<Box<dyn Read + Send>>;
    /// Opens `name` for streaming reads from byte `offset` on. The default reads and
    /// discards the first `offset` bytes; backends override it with a real ranged read.
    fn get_from(&self, name: &str, offset: u64) -> io::Result<Box<dyn Read + Send>> {
        let mut reader = self.get(name)?;
        let skipped = io::copy(&mut (&mut reader).take(offset), &mut io::sink())?;
        if skipped < offset {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("object {name:?} is shorter than {offset} bytes"),
            ));
        }
        Ok(reader)
    }
    /// Lists the objects whose names start with `prefix` (a directory-like prefix), sorted.
    fn list(&self, prefix: &str) -> io::Result<Vec<ObjectInfo>>;
    /// Metadata of `name`.
    fn stat(&self, name: &str) -> io::Result<ObjectInfo>;
    /// Deletes `name` (not an error if it is absent).
    fn delete(&self, name: &str) -> io::Result<()>;
    /// A human-readable location of `name` (a path or URL, no secrets) for results and logs.
    fn location(&self, name: &str) -> String;
}

/// Validates an object name: relative, `/`-separated, no empty, `.` or `..` segments, no
/// NUL or backslash, not ending in the reserved `.partial` suffix.
pub fn validate_name(name: &str) -> io::Result<Vec<&str>> {
    let invalid = |why: &str| {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid object name: {why}"),
        ))
    };
    if name.is_empty() {
        return invalid("empty");
    }
    if name.len() > 1024 {
        return invalid("too long");
    }
    if name.starts_with('/') {
        return invalid("must be relative");
    }
    if name.contains('\0') || name.contains('\\') {
        return invalid("contains NUL or backslash");
    }
    if name.ends_with(local::PARTIAL_SUFFIX) {
        return invalid("the .partial suffix is reserved");
    }
    let segments: Vec<&str> = name.split('/').collect();
    if segments
        .iter()
        .any(|s| s.is_empty() || *s == "." || *s == "..")
    {
        return invalid("empty, '.' or '..' path segment");
    }
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_by_kind_and_mask_secrets() {
        let parse = |v: serde_json::Value| serde_json::from_value::<StorageSpec>(v);
        let local = parse(serde_json::json!({"kind": "local", "path": "/b"})).unwrap();
        assert_eq!(local.kind(), "local");
        assert!(local.validate().is_ok());
        assert!(parse(serde_json::json!({"kind": "local", "path": "/b", "extra": 1})).is_err());
        assert!(parse(serde_json::json!({"kind": "ftp", "path": "/b"})).is_err());
        let rel = parse(serde_json::json!({"kind": "local", "path": "b"})).unwrap();
        assert!(rel.validate().is_err());

        let s3 = parse(
            serde_json::json!({"kind": "s3", "endpoint": "http://h:9000",
            "region": "us-east-1", "bucket": "b", "pathStyle": true,
            "accessKeyId": "AKID", "secretAccessKey": "s3-secret-value"}),
        )
        .unwrap();
        let debug = format!("{s3:?}");
        assert!(
            debug.contains("AKID") && !debug.contains("s3-secret-value"),
            "{debug}"
        );
        assert_eq!(s3.secrets(), ["s3-secret-value"]);

        let sftp = parse(
            serde_json::json!({"kind": "sftp", "host": "h", "username": "u",
            "password": "pw-value", "privateKey": "-----BEGIN KEY-----", "passphrase": "pp-value",
            "hostKey": "SHA256:abc", "path": "/base"}),
        )
        .unwrap();
        let StorageSpec::Sftp(inner) = &sftp else {
            panic!("not sftp")
        };
        assert_eq!(inner.port, 22);
        let debug = format!("{sftp:?}");
        for secret in ["pw-value", "BEGIN KEY", "pp-value"] {
            assert!(!debug.contains(secret), "{debug}");
        }
        assert_eq!(sftp.secrets().len(), 3);
        let no_auth = parse(
            serde_json::json!({"kind": "sftp", "host": "h", "username": "u",
            "hostKey": "SHA256:abc", "path": "/base"}),
        )
        .unwrap();
        assert!(no_auth.validate().is_err());
        let no_pin = parse(
            serde_json::json!({"kind": "sftp", "host": "h", "username": "u",
            "password": "p", "hostKey": " ", "path": "/base"}),
        )
        .unwrap();
        assert!(no_pin.validate().is_err());
    }
}
