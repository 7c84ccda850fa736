//! Local directory storage: objects are files under a base directory.
//!
//! Writes go to `<name>.partial` (created exclusively, never through a symlink), are
//! fsynced, renamed atomically to `<name>`, and the directory is fsynced. Names are checked
//! lexically ([`super::validate_name`]) and no path component below the base may be a
//! symlink, so no name can reach outside the base directory.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use super::{validate_name, ObjectInfo, ObjectWriter, Storage};

/// Suffix of objects being written.
pub const PARTIAL_SUFFIX: &str = ".partial";

/// A storage rooted at a local directory (created if missing).
#[derive(Debug, Clone)]
pub struct LocalStorage {
    base: PathBuf,
}

impl LocalStorage {
    /// Opens (creating if needed) the base directory. It must be an absolute path.
    pub fn new(base: impl Into<PathBuf>) -> io::Result<Self> {
        let base = base.into();
        if !base.is_absolute() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the storage base directory must be an absolute path",
            ));
        }
        fs::create_dir_all(&base)?;
        let base = base.canonicalize()?;
        Ok(LocalStorage { base })
    }

    /// The canonical base directory.
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// Resolves `name` below the base, refusing symlinks in any existing component.
    /// With `create_dirs`, missing parent directories are created.
    fn resolve(&self, name: &str, create_dirs: bool) -> io::Result<PathBuf> {
        let segments = validate_name(name)?;
        let mut path = self.base.clone();
        let last = segments.len() - 1;
        for (i, segment) in segments.iter().enumerate() {
            path.push(segment);
            match fs::symlink_metadata(&path) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(io::Error::new(
                        io::ErrorKind::PermissionDenied,
                        format!("invalid object name: {name:?} passes through a symlink"),
                    ));
                }
                Ok(meta) if i < last && !meta.is_dir() => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("invalid object name: {segment:?} is not a directory"),
                    ));
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    if i < last && create_dirs {
                        match fs::create_dir(&path) {
                            Ok(()) => {}
                            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                            Err(e) => return Err(e),
                        }
                    } else if i < last {
                        return Err(e);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(path)
    }
}

fn partial_path(path: &Path) -> PathBuf {
    let mut os = path.as_os_str().to_owned();
    os.push(PARTIAL_SUFFIX);
    PathBuf::from(os)
}

fn info(name: String, meta: &fs::Metadata) -> ObjectInfo {
    ObjectInfo {
        name,
        size: meta.len(),
        modified_unix: meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs()),
    }
}

/// Fsyncs a directory so a rename in it is durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Storage for LocalStorage {
    fn put(&self, name: &str) -> io::Result<Box<dyn ObjectWriter>> {
        let path = self.resolve(name, true)?;
        if fs::symlink_metadata(&path).is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("object {name:?} already exists"),
            ));
        }
        let partial = partial_path(&path);
        // A stale partial from a crashed worker is ours to replace (never a symlink target).
        if let Ok(meta) = fs::symlink_metadata(&partial) {
            if meta.is_file() {
                fs::remove_file(&partial)?;
            }
        }
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&partial)?;
        Ok(Box::new(LocalWriter {
            file: Some(file),
            partial,
            path,
        }))
    }

    fn get(&self, name: &str) -> io::Result<Box<dyn Read + Send>> {
        let path = self.resolve(name, false)?;
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)?;
        Ok(Box::new(file))
    }

    fn list(&self, prefix: &str) -> io::Result<Vec<ObjectInfo>> {
        let start = if prefix.is_empty() {
            self.base.clone()
        } else {
            self.resolve(prefix.trim_end_matches('/'), false)?
        };
        let mut out = Vec::new();
        let mut stack = vec![start];
        while let Some(dir) = stack.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            for entry in entries {
                let entry = entry?;
                let meta = entry.metadata()?; // does not follow symlinks
                let path = entry.path();
                if meta.is_dir() {
                    stack.push(path);
                } else if meta.is_file() {
                    let Ok(rel) = path.strip_prefix(&self.base) else {
                        continue;
                    };
                    let Some(rel) = rel.to_str() else { continue };
                    if rel.ends_with(PARTIAL_SUFFIX) {
                        continue;
                    }
                    out.push(info(rel.to_owned(), &meta));
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn stat(&self, name: &str) -> io::Result<ObjectInfo> {
        let path = self.resolve(name, false)?;
        let meta = fs::symlink_metadata(&path)?;
        if !meta.is_file() {
            return Err(io::Error::new(io::ErrorKind::NotFound, "not a file"));
        }
        Ok(info(name.to_owned(), &meta))
    }

    fn delete(&self, name: &str) -> io::Result<()> {
        let path = match self.resolve(name, false) {
            Ok(path) => path,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn location(&self, name: &str) -> String {
        self.base.join(name).display().to_string()
    }
}

/// Writer of one local object.
struct LocalWriter {
    file: Option<File>,
    partial: PathBuf,
    path: PathBuf,
}

impl Write for LocalWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(data),
            None => Err(io::Error::other("object writer already closed")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl ObjectWriter for LocalWriter {
    fn commit(mut self: Box<Self>) -> io::Result<()> {
        let file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("object writer already closed"))?;
        file.sync_all()?;
        drop(file);
        // rename(2) would replace an object created meanwhile; link+unlink refuses to.
        fs::hard_link(&self.partial, &self.path)?;
        fs::remove_file(&self.partial)?;
        if let Some(dir) = self.path.parent() {
            sync_dir(dir)?;
        }
        Ok(())
    }
}

impl Drop for LocalWriter {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.partial);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn storage() -> (tempfile::TempDir, LocalStorage) {
        let dir = tempfile::tempdir().unwrap();
        let storage = LocalStorage::new(dir.path()).unwrap();
        (dir, storage)
    }

    #[test]
    fn put_commit_get_list_stat_delete() {
        let (_dir, s) = storage();
        let mut w = s.put("p/job/a.dump").unwrap();
        w.write_all(b"hello").unwrap();
        assert!(s.base().join("p/job/a.dump.partial").exists());
        assert!(!s.base().join("p/job/a.dump").exists());
        assert!(s.list("").unwrap().is_empty(), "partials are not listed");
        w.commit().unwrap();
        assert!(!s.base().join("p/job/a.dump.partial").exists());
        let mut text = String::new();
        s.get("p/job/a.dump")
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "hello");
        let listed = s.list("p/").unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].name, "p/job/a.dump");
        assert_eq!(s.stat("p/job/a.dump").unwrap().size, 5);
        assert!(s.put("p/job/a.dump").is_err(), "no overwrite");
        s.delete("p/job/a.dump").unwrap();
        s.delete("p/job/a.dump").unwrap();
        assert!(s.list("").unwrap().is_empty());
    }

    #[test]
    fn dropped_writer_leaves_nothing() {
        let (_dir, s) = storage();
        let mut w = s.put("x/y.sql").unwrap();
        w.write_all(b"partial data").unwrap();
        drop(w);
        assert!(!s.base().join("x/y.sql.partial").exists());
        assert!(!s.base().join("x/y.sql").exists());
    }

    #[test]
    fn escaping_names_are_refused() {
        let (_dir, s) = storage();
        for bad in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "a//b",
            "./a",
            "a/.",
            "",
            "a\\b",
            "a.partial",
        ] {
            assert!(s.put(bad).is_err(), "{bad:?}");
            assert!(s.get(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn symlinks_are_refused() {
        let (_dir, s) = storage();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), s.base().join("link")).unwrap();
        assert!(s.put("link/x").is_err());
        assert!(s.get("link/x").is_err());
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), s.base().join("file")).unwrap();
        assert!(s.get("file").is_err());
        assert!(s.put("file").is_err());
        assert!(s.list("").unwrap().is_empty());
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 1);
    }
}
