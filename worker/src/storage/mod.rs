//! Storage backends behind one small blocking trait; one module per backend.

pub mod local;

use std::io::{self, Read, Write};

pub use local::LocalStorage;

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
    /// Starts writing `name`; fails if an object of that name exists.
    fn put(&self, name: &str) -> io::Result<Box<dyn ObjectWriter>>;
    /// Opens `name` for streaming reads.
    fn get(&self, name: &str) -> io::Result<Box<dyn Read + Send>>;
    /// Lists the objects whose names start with `prefix` (a directory-like prefix), sorted.
    fn list(&self, prefix: &str) -> io::Result<Vec<ObjectInfo>>;
    /// Metadata of `name`.
    fn stat(&self, name: &str) -> io::Result<ObjectInfo>;
    /// Deletes `name` (not an error if it is absent).
    fn delete(&self, name: &str) -> io::Result<()>;
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
