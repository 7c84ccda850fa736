//! Storage backends behind one small blocking trait; one module per backend.
//!
//! [`StorageSpec`] (the protocol's) is what a request names; [`open`] turns it into a
//! [`Storage`] after the checks of [`SpecChecks`].

pub mod local;
pub mod rclone;
pub mod roots;
pub mod s3;
pub mod sftp;

use std::io::{self, Read, Write};

pub use dbackup_protocol::storage::{
    LocalSpec, ObjectInfo, RcloneSpec, S3Spec, SftpSpec, StorageSpec,
};
pub use local::LocalStorage;
pub use rclone::RcloneStorage;
pub use roots::LocalRoots;
pub use s3::S3Storage;
pub use sftp::SftpStorage;

/// The worker's checks of a [`StorageSpec`] (the type is the protocol's).
pub trait SpecChecks {
    /// For a local spec: its directory must lie within `roots` ([`LocalRoots::check`]; the
    /// error names `storage.path`). Remote specs pass.
    fn check_roots(&self, roots: &LocalRoots) -> io::Result<()>;
    /// Cheap checks that need no network (absolute paths, URL shape, required fields).
    fn validate(&self) -> io::Result<()>;
}

impl SpecChecks for StorageSpec {
    fn check_roots(&self, roots: &LocalRoots) -> io::Result<()> {
        match self {
            StorageSpec::Local(s) => roots.check(&s.path).map(drop),
            StorageSpec::S3(_) | StorageSpec::Sftp(_) | StorageSpec::Rclone(_) => Ok(()),
        }
    }

    fn validate(&self) -> io::Result<()> {
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
            StorageSpec::Rclone(s) => rclone::validate(s),
        }
    }
}

/// Opens the backend a spec names. Local storage must lie within `roots` (checked before its
/// base directory is created and again on the canonical directory); remote backends connect
/// lazily or on open (SFTP) and report unreachable servers as errors; rclone remotes are
/// checked against the installed rclone on open.
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
        StorageSpec::Rclone(s) => Ok(Box::new(RcloneStorage::new(s)?)),
    }
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
    fn specs_are_validated() {
        let parse = |v: serde_json::Value| serde_json::from_value::<StorageSpec>(v).unwrap();
        assert!(parse(serde_json::json!({"kind": "local", "path": "/b"}))
            .validate()
            .is_ok());
        assert!(parse(serde_json::json!({"kind": "local", "path": "b"}))
            .validate()
            .is_err());
        let no_auth = parse(
            serde_json::json!({"kind": "sftp", "host": "h", "username": "u",
            "hostKey": "SHA256:abc", "path": "/base"}),
        );
        assert!(no_auth.validate().is_err());
        let no_pin = parse(
            serde_json::json!({"kind": "sftp", "host": "h", "username": "u",
            "password": "p", "hostKey": " ", "path": "/base"}),
        );
        assert!(no_pin.validate().is_err());
    }
}
