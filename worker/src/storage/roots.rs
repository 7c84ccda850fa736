//! Where local storage may live. A local destination names a directory on the worker's
//! machine, and storage operations list, read, write and delete below it, so without a bound
//! anyone who may create a destination could read or delete any file the worker can (the
//! data directory's `secrets.env` and database above all). The operator sets the allowed roots
//! (`DBACKUP_LOCAL_ROOTS`, default `<data-dir>/backups`); a base directory is accepted only
//! when, with every symlink and `..` resolved, it lies inside a root, and neither inside the
//! data directory (other than its `backups/` folder) nor above it.
//!
//! [`super::open`] checks every local spec before the directory is created and again on the
//! canonical directory after; names below the base cannot leave it ([`super::local`]).

use std::fmt;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

/// The directories local storage may use, and the data directory it must stay out of.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct LocalRoots {
    roots: Vec<PathBuf>,
    data_dir: Option<PathBuf>,
}

impl fmt::Debug for LocalRoots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalRoots")
            .field("roots", &self.roots)
            .field("data_dir", &self.data_dir)
            .finish()
    }
}

/// The folder of the data directory that holds local backups by default.
pub const DATA_BACKUPS: &str = "backups";

impl LocalRoots {
    /// `roots` (absolute paths) minus `data_dir` (except its `backups/`).
    pub fn new(roots: Vec<PathBuf>, data_dir: Option<PathBuf>) -> Self {
        LocalRoots { roots, data_dir }
    }

    /// No local storage at all (workers that only use remote storage, tests).
    pub fn none() -> Self {
        LocalRoots::default()
    }

    /// The configured roots.
    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// The data directory local storage stays out of.
    pub fn data_dir(&self) -> Option<&Path> {
        self.data_dir.as_deref()
    }

    /// Checks a local base directory; `Ok` is the path with symlinks and `..` resolved (as far
    /// as it exists). A refusal is `InvalidInput` whose message starts with `storage.path:`.
    pub fn check(&self, base: &Path) -> io::Result<PathBuf> {
        let refuse = |why: String| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("storage.path: {} {why}", base.display()),
            )
        };
        if !base.is_absolute() {
            return Err(refuse("is not an absolute path".into()));
        }
        let resolved = resolve(base).map_err(|e| refuse(format!("cannot be resolved ({e})")))?;
        let inside_a_root = self
            .roots
            .iter()
            .filter_map(|root| resolve(root).ok())
            .any(|root| resolved.starts_with(&root));
        if !inside_a_root {
            let roots: Vec<String> = self.roots.iter().map(|r| r.display().to_string()).collect();
            return Err(refuse(if roots.is_empty() {
                "is refused: this worker allows no local storage (DBACKUP_LOCAL_ROOTS)".into()
            } else {
                format!(
                    "is outside the directories allowed for local storage ({}; DBACKUP_LOCAL_ROOTS)",
                    roots.join(", ")
                )
            }));
        }
        if let Some(data) = self.data_dir.as_deref().and_then(|d| resolve(d).ok()) {
            let backups = data.join(DATA_BACKUPS);
            if data.starts_with(&resolved) {
                return Err(refuse(
                    "holds the worker's data directory; name a directory inside an allowed root instead".into(),
                ));
            }
            if resolved.starts_with(&data) && !resolved.starts_with(&backups) {
                return Err(refuse(format!(
                    "is inside the data directory; only its {DATA_BACKUPS}/ folder may hold backups"
                )));
            }
        }
        Ok(resolved)
    }
}

impl LocalRoots {
    /// Checks the path of a database file the worker reads or writes (a SQLite source or
    /// restore target, a Redis/Valkey RDB): with every symlink and `..` resolved it must lie
    /// outside the data directory, which holds the app's own database (password hashes, sealed
    /// secrets), `secrets.env` and the local backups. Anywhere else is the operator's and the
    /// OS permissions' business. `Ok` is the resolved path; a refusal is `InvalidInput` whose
    /// message starts with `<field>:`.
    pub fn check_file(&self, path: &Path, field: &str) -> io::Result<PathBuf> {
        let refuse = |why: String| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{field}: {} {why}", path.display()),
            )
        };
        if !path.is_absolute() {
            return Err(refuse("is not an absolute path".into()));
        }
        let resolved = resolve(path).map_err(|e| refuse(format!("cannot be resolved ({e})")))?;
        if let Some(data) = self.data_dir.as_deref().and_then(|d| resolve(d).ok()) {
            if resolved.starts_with(&data) {
                return Err(refuse(
                    "is inside the worker's data directory (DBACKUP_WORKER_DATA_DIR), which no database file may use".into(),
                ));
            }
        }
        Ok(resolved)
    }
}

/// `path` with every existing symlink resolved and `.`/`..` applied, component by component;
/// components that do not exist (yet) are kept as they are. A symlink whose target does not
/// exist is an error (what it would become cannot be checked).
fn resolve(path: &Path) -> io::Result<PathBuf> {
    let mut out = PathBuf::from("/");
    for component in path.components() {
        match component {
            Component::RootDir | Component::CurDir => {}
            Component::Prefix(_) => {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, "path prefix"))
            }
            // `out` is canonical up to here, so its parent is the real parent.
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(name) => {
                out.push(name);
                match fs::symlink_metadata(&out) {
                    Ok(meta) if meta.file_type().is_symlink() => out = out.canonicalize()?,
                    Ok(_) => {}
                    Err(e)
                        if e.kind() == io::ErrorKind::NotFound
                            || e.raw_os_error() == Some(libc::ENOTDIR) => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dirs {
        root: tempfile::TempDir,
        outside: tempfile::TempDir,
        data: tempfile::TempDir,
        roots: LocalRoots,
    }

    fn dirs() -> Dirs {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let data = tempfile::tempdir().unwrap();
        std::fs::create_dir(data.path().join("backups")).unwrap();
        let roots = LocalRoots::new(
            vec![root.path().to_owned(), data.path().join("backups")],
            Some(data.path().to_owned()),
        );
        Dirs {
            root,
            outside,
            data,
            roots,
        }
    }

    #[test]
    fn inside_a_root_even_when_missing() {
        let d = dirs();
        let canonical = d.root.path().canonicalize().unwrap();
        assert_eq!(d.roots.check(d.root.path()).unwrap(), canonical);
        assert_eq!(
            d.roots.check(&d.root.path().join("a/b/c")).unwrap(),
            canonical.join("a/b/c")
        );
        assert!(d.roots.check(&d.data.path().join("backups/job")).is_ok());
        // `..` that stays inside is fine.
        assert!(d.roots.check(&d.root.path().join("a/../b")).is_ok());
    }

    #[test]
    fn outside_symlinks_dotdot_and_the_data_directory_are_refused() {
        let d = dirs();
        std::os::unix::fs::symlink(d.outside.path(), d.root.path().join("out")).unwrap();
        std::os::unix::fs::symlink("/nonexistent/dbackup", d.root.path().join("dangling")).unwrap();
        std::fs::create_dir(d.root.path().join("real")).unwrap();
        let escape = d
            .root
            .path()
            .join("..")
            .join(d.outside.path().file_name().unwrap());
        for bad in [
            PathBuf::from("/etc"),
            PathBuf::from("/"),
            d.outside.path().to_owned(),
            d.root.path().join("out"),
            d.root.path().join("out/deeper/still"),
            d.root.path().join("dangling"),
            escape,
            d.root.path().join("missing/../../x"),
            d.root.path().join("real/../.."),
            d.data.path().to_owned(),
            d.data.path().join("cache"),
            d.data.path().join("backups/.."),
            PathBuf::from("relative/path"),
        ] {
            let e = d.roots.check(&bad).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
            assert!(e.to_string().starts_with("storage.path: "), "{e}");
        }
        let e = d.roots.check(Path::new("/etc")).unwrap_err().to_string();
        assert!(e.contains("DBACKUP_LOCAL_ROOTS"), "{e}");
        // The whole data directory as a root (a mistake) still keeps everything but backups/.
        let wide = LocalRoots::new(
            vec![d.data.path().to_owned()],
            Some(d.data.path().to_owned()),
        );
        let e = wide.check(&d.data.path().join("cache")).unwrap_err();
        assert!(e.to_string().contains("inside the data directory"), "{e}");
        assert!(wide.check(&d.data.path().join("secrets.env")).is_err());
        assert!(wide.check(&d.data.path().join("backups/x")).is_ok());
    }

    #[test]
    fn a_root_above_the_data_directory_does_not_expose_it() {
        let parent = tempfile::tempdir().unwrap();
        let data = parent.path().join("data");
        std::fs::create_dir_all(data.join("backups")).unwrap();
        let roots = LocalRoots::new(vec![parent.path().to_owned()], Some(data.clone()));
        assert!(
            roots.check(parent.path()).is_err(),
            "the data dir is below it"
        );
        assert!(roots.check(&data).is_err());
        assert!(roots.check(&parent.path().join("elsewhere")).is_ok());
        assert!(roots.check(&data.join("backups")).is_ok());
    }

    #[test]
    fn database_files_stay_out_of_the_data_directory() {
        let d = dirs();
        std::fs::write(d.data.path().join("dbackup.db"), "x").unwrap();
        std::os::unix::fs::symlink(d.data.path().join("dbackup.db"), d.root.path().join("l.db"))
            .unwrap();
        std::os::unix::fs::symlink(d.data.path(), d.outside.path().join("dir")).unwrap();
        for bad in [
            d.data.path().join("dbackup.db"),
            d.data.path().join("secrets.env"),
            d.data.path().join("backups/job/x.db"),
            d.root.path().join("l.db"),
            d.outside.path().join("dir/dbackup.db"),
            d.outside.path().join("sub/../dir/dbackup.db"),
            PathBuf::from("relative.db"),
        ] {
            let e = d.roots.check_file(&bad, "source.path").unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
            assert!(e.to_string().starts_with("source.path: "), "{e}");
        }
        // Anywhere else is fine, outside the roots of local storage too.
        let elsewhere = d.outside.path().join("app.db");
        assert!(d.roots.check_file(&elsewhere, "source.path").is_ok());
        assert!(d
            .roots
            .check_file(Path::new("/var/lib/redis/dump.rdb"), "x")
            .is_ok());
    }

    #[test]
    fn no_roots_refuses_everything() {
        let dir = tempfile::tempdir().unwrap();
        let e = LocalRoots::none().check(dir.path()).unwrap_err();
        assert!(e.to_string().contains("no local storage"), "{e}");
    }
}
