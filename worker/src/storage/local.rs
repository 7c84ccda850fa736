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

/// Suffix of objects being written (the protocol's: the components skip such names too).
pub use dbackup_protocol::PARTIAL_SUFFIX;

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

/// Creates `partial` exclusively and holds an exclusive `flock` on it while it is written. An
/// existing partial whose lock is free is a leftover of a crashed worker and is replaced; a
/// locked one belongs to a writer in progress (another backup of the same name), which is
/// reported as `AlreadyExists`.
fn create_partial(partial: &Path, name: &str) -> io::Result<File> {
    for _ in 0..2 {
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(partial)
        {
            Ok(file) => {
                lock(&file, true)?;
                return Ok(file);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let existing = OpenOptions::new()
                    .read(true)
                    .custom_flags(libc::O_NOFOLLOW)
                    .open(partial)?;
                if !existing.metadata()?.is_file() || !lock(&existing, false)? {
                    return Err(io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        format!("object {name:?} is being written by another task"),
                    ));
                }
                // Stale: remove it while holding its lock, then create ours.
                match fs::remove_file(partial) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("object {name:?} is being written by another task"),
    ))
}

/// `flock(LOCK_EX | LOCK_NB)`: `Ok(false)` when another open file description holds it. A
/// `must` lock that is unexpectedly taken is an error.
fn lock(file: &File, must: bool) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock(2) on a file descriptor owned by `file` for the duration of the call.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) && !must {
        return Ok(false);
    }
    Err(e)
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
        let file = create_partial(&partial, name)?;
        Ok(Box::new(LocalWriter {
            file: Some(file),
            partial,
            path,
            replace: false,
            written: 0,
            kicked: 0,
        }))
    }

    fn put_replace(&self, name: &str) -> io::Result<Box<dyn ObjectWriter>> {
        let path = self.resolve(name, true)?;
        if fs::symlink_metadata(&path).is_ok_and(|m| !m.is_file()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("object {name:?} exists and is not a file"),
            ));
        }
        let partial = partial_path(&path);
        let file = create_partial(&partial, name)?;
        Ok(Box::new(LocalWriter {
            file: Some(file),
            partial,
            path,
            replace: true,
            written: 0,
            kicked: 0,
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

    fn get_from(&self, name: &str, offset: u64) -> io::Result<Box<dyn Read + Send>> {
        use std::io::{Seek, SeekFrom};
        let path = self.resolve(name, false)?;
        let mut file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)?;
        file.seek(SeekFrom::Start(offset))?;
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
    /// Replace an existing object (rename) instead of refusing to (link + unlink).
    replace: bool,
    /// Bytes written so far.
    written: u64,
    /// Bytes whose writeback was started.
    kicked: u64,
}

/// Bytes written between two writeback kicks (`sync_file_range`), so the fsync at commit
/// finds little left to write instead of the whole object.
const WRITEBACK_EVERY: u64 = 8 * 1024 * 1024;

impl Write for LocalWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let Some(f) = &mut self.file else {
            return Err(io::Error::other("object writer already closed"));
        };
        let n = f.write(data)?;
        self.written += n as u64;
        if self.written - self.kicked >= WRITEBACK_EVERY {
            use std::os::fd::AsRawFd;
            let (from, len) = (self.kicked, self.written - self.kicked);
            // SAFETY: sync_file_range(2) on our own descriptor; it only starts writeback of
            // that range (no waiting) and touches no memory. Failure is harmless: the fsync
            // at commit still makes everything durable.
            unsafe {
                libc::sync_file_range(
                    f.as_raw_fd(),
                    from as libc::off64_t,
                    len as libc::off64_t,
                    libc::SYNC_FILE_RANGE_WRITE,
                );
            }
            self.kicked = self.written;
        }
        Ok(n)
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
        if self.replace {
            // rename(2) replaces atomically: readers see the old object or the new one.
            fs::rename(&self.partial, &self.path)?;
        } else {
            // rename(2) would replace an object created meanwhile; link+unlink refuses to.
            fs::hard_link(&self.partial, &self.path)?;
            fs::remove_file(&self.partial)?;
        }
        // The lock goes with the last descriptor, after the partial name is gone.
        drop(file);
        if let Some(dir) = self.path.parent() {
            sync_dir(dir)?;
        }
        Ok(())
    }
}

impl Drop for LocalWriter {
    fn drop(&mut self) {
        // Remove the partial while still holding its lock, so no other writer's is removed.
        if let Some(file) = self.file.take() {
            let _ = fs::remove_file(&self.partial);
            drop(file);
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
    fn replacing_put_is_atomic() {
        let (_dir, s) = storage();
        let mut w = s.put_replace("c/cfg.json").unwrap();
        w.write_all(b"one").unwrap();
        w.commit().unwrap();
        let mut w = s.put_replace("c/cfg.json").unwrap();
        w.write_all(b"two").unwrap();
        let read = |s: &LocalStorage| {
            let mut text = String::new();
            s.get("c/cfg.json")
                .unwrap()
                .read_to_string(&mut text)
                .unwrap();
            text
        };
        assert_eq!(read(&s), "one", "the old object stays until commit");
        w.commit().unwrap();
        assert_eq!(read(&s), "two");
        let mut tail = String::new();
        s.get_from("c/cfg.json", 1)
            .unwrap()
            .read_to_string(&mut tail)
            .unwrap();
        assert_eq!(tail, "wo");
        assert_eq!(s.list("").unwrap().len(), 1, "no partial left");
    }

    #[test]
    fn a_name_being_written_is_taken_and_a_stale_partial_is_replaced() {
        let (_dir, s) = storage();
        let mut first = s.put("j/a.dump").unwrap();
        first.write_all(b"first").unwrap();
        let e = s.put("j/a.dump").err().unwrap();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists, "{e}");
        first.commit().unwrap();
        let mut text = String::new();
        s.get("j/a.dump")
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(
            text, "first",
            "the second put did not touch the first's bytes"
        );

        // A partial nobody holds (a crashed worker's) is replaced.
        std::fs::write(s.base().join("j/b.dump.partial"), b"stale").unwrap();
        let mut w = s.put("j/b.dump").unwrap();
        w.write_all(b"fresh").unwrap();
        w.commit().unwrap();
        assert_eq!(std::fs::read(s.base().join("j/b.dump")).unwrap(), b"fresh");
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
