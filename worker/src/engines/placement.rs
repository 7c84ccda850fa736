//! File-placement restores (SQLite database files, Redis RDB files): the stream is written
//! next to the target as `<target>.dbackup-restore.partial`, checked, and only then swapped
//! in; the previous file is kept as `<target>.bak-<UTC timestamp>` (the safety copy).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// An in-progress file placement; dropping it without [`Placement::commit`] removes the
/// partial file and leaves the target untouched.
pub struct Placement {
    file: Option<File>,
    partial: PathBuf,
    target: PathBuf,
}

impl Placement {
    /// Starts writing the replacement of `target` (its directory must exist).
    pub fn new(target: &Path) -> Result<Self, String> {
        if !target.is_absolute() {
            return Err("target path must be absolute".into());
        }
        let parent = target
            .parent()
            .filter(|p| p.is_dir())
            .ok_or_else(|| format!("directory of {} does not exist", target.display()))?;
        if fs::symlink_metadata(target).is_ok_and(|m| !m.is_file()) {
            return Err(format!(
                "{} exists and is not a regular file",
                target.display()
            ));
        }
        let name = target
            .file_name()
            .ok_or("target path has no file name")?
            .to_string_lossy()
            .into_owned();
        let partial = parent.join(format!("{name}.dbackup-restore.partial"));
        let _ = fs::remove_file(&partial);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&partial)
            .map_err(|e| format!("cannot create {}: {e}", partial.display()))?;
        Ok(Placement {
            file: Some(file),
            partial,
            target: target.to_owned(),
        })
    }

    /// The partial file (for checks before commit).
    pub fn partial_path(&self) -> &Path {
        &self.partial
    }

    /// Fsyncs the new file and closes it (call before checks that read it).
    pub fn sync(&mut self) -> Result<(), String> {
        if let Some(file) = self.file.take() {
            file.sync_all()
                .map_err(|e| format!("fsync {}: {e}", self.partial.display()))?;
        }
        Ok(())
    }

    /// Swaps the new file in; returns the safety-copy path if a previous file existed.
    /// `companions` (e.g. `-wal`, `-shm`) of the old file are moved aside with it.
    pub fn commit(mut self, companions: &[&str]) -> Result<Option<PathBuf>, String> {
        self.sync()?;
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        let mut safety = None;
        if self.target.exists() {
            let mut bak = self.target.clone().into_os_string();
            bak.push(format!(".bak-{stamp}"));
            let bak = PathBuf::from(bak);
            fs::rename(&self.target, &bak)
                .map_err(|e| format!("cannot keep the old file as {}: {e}", bak.display()))?;
            for suffix in companions {
                let mut old = self.target.clone().into_os_string();
                old.push(suffix);
                let old = PathBuf::from(old);
                if old.exists() {
                    let mut moved = bak.clone().into_os_string();
                    moved.push(suffix);
                    let _ = fs::rename(&old, PathBuf::from(moved));
                }
            }
            safety = Some(bak);
        }
        fs::rename(&self.partial, &self.target)
            .map_err(|e| format!("cannot move the restored file in place: {e}"))?;
        if let Some(dir) = self.target.parent() {
            let _ = File::open(dir).and_then(|d| d.sync_all());
        }
        self.partial = PathBuf::new();
        Ok(safety)
    }
}

impl Write for Placement {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(data),
            None => Err(io::Error::other("placement already closed")),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for Placement {
    fn drop(&mut self) {
        if !self.partial.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.partial);
        }
    }
}
