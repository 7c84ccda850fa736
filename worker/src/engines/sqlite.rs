//! SQLite: a consistent copy with `VACUUM INTO` (works while the database is in use),
//! restored by file placement with a safety copy of the old file.
//!
//! `VACUUM INTO` cannot write to a pipe (SQLite seeks in its output), so the copy goes to a
//! private 0700 temp directory and is streamed from there, then deleted.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::placement::Placement;
use super::process::{run_with_input, tool_command, ChildSlot, PrivateDir};
use crate::error::Error;
use crate::tools;

/// The `engine` value handled by this module.
pub const ENGINE: &str = "sqlite";
/// First bytes of every SQLite database file.
pub const MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// A SQLite database file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SqliteFile {
    /// Engine tag (`sqlite`).
    pub engine: String,
    /// Absolute path of the database file.
    pub path: PathBuf,
}

impl SqliteFile {
    /// Validates the path.
    pub fn validate(&self) -> Result<(), Error> {
        if !self.path.is_absolute() {
            return Err(Error::InvalidBody("path: must be absolute".into()));
        }
        Ok(())
    }

    /// Label used in object names: the file stem.
    pub fn label(&self) -> String {
        self.path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "sqlite".into())
    }
}

fn sqlite3() -> Result<PathBuf, String> {
    tools::find_first(tools::SQLITE).ok_or_else(|| "sqlite3 not found".to_owned())
}

/// `'…'` SQL string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Makes the consistent copy and returns a reader of it (the directory is deleted when the
/// returned guard drops).
pub fn start_dump(
    db: &SqliteFile,
    slot: &ChildSlot,
) -> Result<(Box<dyn Read + Send>, PrivateDir), String> {
    if !db.path.is_file() {
        return Err(format!("{} is not a file", db.path.display()));
    }
    let program = sqlite3()?;
    let dir = PrivateDir::new().map_err(|e| format!("temp dir: {e}"))?;
    let copy = dir.path().join("copy.db");
    let copy_str = copy.to_str().ok_or("temp path is not UTF-8")?;
    let sql = format!("VACUUM INTO {};\n", literal(copy_str));
    let mut cmd = tool_command(&program);
    cmd.arg("-bail").arg("-readonly").arg(&db.path);
    run_with_input("sqlite3", &mut cmd, sql.as_bytes(), slot, Vec::new())?;
    let file = File::open(&copy).map_err(|e| format!("opening the copy: {e}"))?;
    Ok((Box::new(file), dir))
}

/// Version of the sqlite3 tool.
pub fn version() -> Option<String> {
    sqlite3()
        .ok()
        .and_then(|p| super::process::tool_version(&p))
}

/// Starts the placement of a restored database at `target.path`.
pub fn start_restore(target: &SqliteFile) -> Result<Placement, String> {
    Placement::new(&target.path)
}

/// Checks the new file (`PRAGMA integrity_check`) and swaps it in.
pub fn finish_restore(
    mut placement: Placement,
    slot: &ChildSlot,
) -> Result<Option<PathBuf>, String> {
    placement.sync()?;
    check(placement.partial_path(), slot)?;
    placement.commit(&["-wal", "-shm", "-journal"])
}

fn check(path: &Path, slot: &ChildSlot) -> Result<(), String> {
    let mut head = [0u8; 16];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .map_err(|_| "the restored data is not a SQLite database".to_owned())?;
    if &head != MAGIC {
        return Err("the restored data is not a SQLite database (bad magic)".into());
    }
    let mut cmd = tool_command(&sqlite3()?);
    cmd.arg("-bail").arg("-readonly").arg(path);
    let out = run_with_input(
        "sqlite3",
        &mut cmd,
        b"PRAGMA integrity_check;\n",
        slot,
        Vec::new(),
    )?;
    if out.trim() != "ok" {
        return Err(format!(
            "integrity check of the restored database failed: {}",
            super::truncate(out.trim(), 300)
        ));
    }
    Ok(())
}
