//! SQLite: a consistent copy with `VACUUM INTO` (works while the database is in use),
//! restored by file placement with a safety copy of the old file.
//!
//! `VACUUM INTO` cannot write to a pipe (SQLite seeks in its output), so the copy goes to a
//! private 0700 temp directory and is streamed from there, then deleted.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::placement::Placement;
use super::process::{run_with_input, tool_command, ChildSlot, PrivateDir, Process};
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

/// First bytes of a `sqlite3 .dump` (SQL text): the form a SQLite database takes when it is
/// dumped over SSH (see [`start_remote_dump`]).
const SQL_HEADS: &[&[u8]] = &[b"PRAGMA foreign_keys=OFF;", b"BEGIN TRANSACTION;"];

/// What a SQLite target is given: a database file, or a `.dump`'s SQL text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// A database file (`SQLite format 3`), placed as it is.
    File,
    /// SQL text from `sqlite3 .dump`, executed into a new file by `sqlite3`.
    Sql,
}

/// Which [`Payload`] `head` starts; anything else is refused before the target is touched.
pub fn payload_of(head: &[u8]) -> Result<Payload, String> {
    if head.starts_with(MAGIC) {
        Ok(Payload::File)
    } else if SQL_HEADS.iter().any(|h| head.starts_with(h)) {
        Ok(Payload::Sql)
    } else {
        Err("the backup is neither a SQLite database file nor a sqlite3 .dump".into())
    }
}

/// A `sqlite3` command for the SSH host (found there by name through its `PATH`), with no
/// `~/.sqliterc` read and errors ending it.
fn remote_sqlite3() -> std::process::Command {
    let mut cmd = tool_command(Path::new("sqlite3"));
    cmd.args(["-init", "/dev/null", "-batch", "-bail"]);
    cmd
}

/// Dump over SSH: `sqlite3 -readonly <path> .dump` runs on the SSH host and its SQL text
/// streams back. `.dump` reads inside one transaction (a consistent copy while the database
/// is in use); `VACUUM INTO` (the local form) cannot write to a pipe, and Debian's sqlite3
/// has no `sqlite_dbpage` to stream pages, so the SQL text is what travels (extension `sql`).
pub fn start_remote_dump(db: &SqliteFile, slot: &ChildSlot) -> Result<Process, String> {
    let mut cmd = remote_sqlite3();
    cmd.arg("-readonly").arg(&db.path).arg(".dump");
    Process::spawn("sqlite3", &mut cmd, slot, Vec::new())
}

/// Probe over SSH: the remote sqlite3's version, and the file opened read-only as a database.
pub fn remote_probe(db: &SqliteFile, slot: &ChildSlot) -> Result<String, String> {
    let mut cmd = remote_sqlite3();
    cmd.arg("-readonly").arg(&db.path);
    let out = run_with_input(
        "sqlite3",
        &mut cmd,
        b"SELECT sqlite_version(); SELECT count(*) FROM sqlite_master;\n",
        slot,
        Vec::new(),
    )?;
    out.lines()
        .next()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .ok_or_else(|| "sqlite3 gave no version".to_owned())
}

/// The restored SQL text must end with the `.dump`'s `COMMIT;` (a cut text would otherwise
/// leave sqlite3 a transaction it rolls back silently: an empty database).
const SQL_TAIL: &[u8] = b"COMMIT;";

/// A restore of a SQLite target that runs a tool: SQL text into a new local file, or either
/// payload onto the SSH host.
pub struct ToolRestore {
    stdin: Box<dyn Write + Send>,
    process: Process,
    payload: Payload,
    /// The last bytes written (for the `COMMIT;` check).
    tail: Vec<u8>,
    /// A local placement (SQL text into a local file); `None` on the SSH host.
    placement: Option<Placement>,
    path: PathBuf,
}

impl Write for ToolRestore {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let n = self.stdin.write(data)?;
        self.tail.extend_from_slice(&data[..n]);
        if self.tail.len() > 64 {
            let cut = self.tail.len() - 64;
            self.tail.drain(..cut);
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.stdin.flush()
    }
}

/// Starts a restore of SQL text into a new file next to `target.path` on this machine
/// (placed like a database file once sqlite3 has executed it and it passed the checks).
pub fn start_sql_restore(target: &SqliteFile, slot: &ChildSlot) -> Result<ToolRestore, String> {
    let mut placement = Placement::new(&target.path)?;
    placement.sync()?;
    let mut cmd = tool_command(&sqlite3()?);
    cmd.args(["-init", "/dev/null", "-batch", "-bail"])
        .arg(placement.partial_path())
        .stdin(std::process::Stdio::piped());
    let mut process = Process::spawn("sqlite3", &mut cmd, slot, Vec::new())?;
    let stdin = process.take_stdin().ok_or("sqlite3 has no stdin")?;
    Ok(ToolRestore {
        stdin,
        process,
        payload: Payload::Sql,
        tail: Vec::new(),
        placement: Some(placement),
        path: target.path.clone(),
    })
}

/// The partial file on the SSH host is `<path>.dbackup-restore.partial` (as locally).
const REMOTE_PARTIAL: &str = "p=\"$1.dbackup-restore.partial\"";

/// Starts a restore onto the SSH host (`slot` names it): a fixed `sh` script (the path is an
/// argument, quoted) writes `<path>.dbackup-restore.partial` there — `sqlite3` executing SQL
/// text, or `cat` taking a database file — and [`ToolRestore::finish`] checks and swaps it
/// in with a second command.
pub fn start_remote_restore(
    target: &SqliteFile,
    payload: Payload,
    slot: &ChildSlot,
) -> Result<ToolRestore, String> {
    let path = target.path.to_str().ok_or("target.path: not UTF-8")?;
    let write = match payload {
        Payload::Sql => "exec sqlite3 -init /dev/null -batch -bail \"$p\"",
        Payload::File => "exec cat > \"$p\"",
    };
    let script = format!(
        "{REMOTE_PARTIAL}; d=$(dirname -- \"$1\"); [ -d \"$d\" ] || {{ echo \"directory $d does not exist\" >&2; exit 1; }}; rm -f -- \"$p\" && umask 077 && {write}"
    );
    let mut cmd = tool_command(Path::new("sh"));
    cmd.arg("-c").arg(script).arg("sh").arg(path);
    let tool = match payload {
        Payload::Sql => "sqlite3",
        Payload::File => "cat",
    };
    let mut process = Process::spawn(tool, &mut cmd, slot, Vec::new())?;
    let stdin = process.take_stdin().ok_or("sh has no stdin")?;
    Ok(ToolRestore {
        stdin,
        process,
        payload,
        tail: Vec::new(),
        placement: None,
        path: target.path.clone(),
    })
}

/// Checks the file on the SSH host and swaps it in (the old one and its `-wal`/`-shm`/
/// `-journal` kept as `<path>.bak-<UTC stamp>`); prints the safety copy's path. `$1` is the
/// target path, `$2` the stamp.
const REMOTE_FINISH: &str = r#"p="$1.dbackup-restore.partial"; t="$1"; fail() { rm -f -- "$p"; echo "$*" >&2; exit 1; }
[ -f "$p" ] || fail "the restored file $p is missing"
[ -s "$p" ] || sqlite3 -init /dev/null -batch "$p" "VACUUM;" || fail "cannot initialise the empty database"
[ "$(head -c 15 -- "$p")" = "SQLite format 3" ] || fail "the restored data is not a SQLite database (bad magic)"
r=$(sqlite3 -init /dev/null -batch -bail -readonly "$p" "PRAGMA integrity_check;" 2>&1 | head -c 300)
[ "$r" = ok ] || fail "integrity check of the restored database failed: $r"
sync -- "$p" 2>/dev/null || sync
if [ -L "$t" ] || { [ -e "$t" ] && [ ! -f "$t" ]; }; then fail "$t exists and is not a regular file"; fi
if [ -e "$t" ]; then
  b="$t.bak-$2"
  mv -- "$t" "$b" || fail "cannot keep the old file as $b"
  for s in -wal -shm -journal; do if [ -e "$t$s" ]; then mv -- "$t$s" "$b$s"; fi; done
  printf '%s\n' "$b"
fi
mv -- "$p" "$t" || fail "cannot move the restored file in place"
"#;

impl ToolRestore {
    /// Completes the restore once the stream was written: the tool's end, the `COMMIT;`
    /// check for SQL text, then the checks and the swap. Returns the safety copy.
    pub fn finish(self, slot: &ChildSlot) -> Result<Option<PathBuf>, String> {
        let ToolRestore {
            stdin,
            process,
            payload,
            tail,
            placement,
            path,
        } = self;
        drop(stdin);
        let waited = process.wait(slot);
        if let Err(e) = waited {
            if placement.is_none() {
                remove_remote_partial(&path, slot);
            }
            return Err(e);
        }
        let text_end = String::from_utf8_lossy(&tail);
        if payload == Payload::Sql && !text_end.trim_end().ends_with("COMMIT;") {
            if placement.is_none() {
                remove_remote_partial(&path, slot);
            }
            return Err(format!(
                "the SQL text does not end with {} (cut short?); the target is untouched",
                String::from_utf8_lossy(SQL_TAIL)
            ));
        }
        match placement {
            Some(mut placement) => {
                // An empty database's dump creates no pages: give it a header.
                if std::fs::metadata(placement.partial_path()).is_ok_and(|m| m.len() == 0) {
                    let mut cmd = tool_command(&sqlite3()?);
                    cmd.arg("-batch").arg(placement.partial_path());
                    run_with_input("sqlite3", &mut cmd, b"VACUUM;\n", slot, Vec::new())?;
                }
                placement.sync()?;
                finish_restore(placement, slot)
            }
            None => {
                let p = path.to_str().ok_or("target.path: not UTF-8")?;
                let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
                let mut cmd = tool_command(Path::new("sh"));
                cmd.arg("-c").arg(REMOTE_FINISH).arg("sh").arg(p).arg(stamp);
                let out = run_with_input("sh", &mut cmd, b"", slot, Vec::new())?;
                Ok(out
                    .lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty())
                    .map(PathBuf::from))
            }
        }
    }

    /// Ends a restore whose stream failed: nothing is swapped in, the partial file goes.
    /// Returns the tool's own error, if it gave one (it often explains the broken pipe).
    pub fn abort(self, slot: &ChildSlot) -> Option<String> {
        let ToolRestore {
            stdin,
            process,
            placement,
            path,
            ..
        } = self;
        // End of input: sqlite3 rolls its open transaction back, cat ends; a cut
        // connection has already ended the remote command.
        drop(stdin);
        let err = process.wait(slot).err();
        drop(placement);
        if !slot.was_killed() {
            remove_remote_partial(&path, slot);
        }
        err
    }
}

/// Removes `<path>.dbackup-restore.partial` on the SSH host, best effort (a later restore
/// removes a leftover before it writes).
fn remove_remote_partial(path: &Path, slot: &ChildSlot) {
    if !slot.is_remote() {
        return;
    }
    let Some(p) = path.to_str() else { return };
    let mut cmd = tool_command(Path::new("sh"));
    cmd.arg("-c")
        .arg(format!("{REMOTE_PARTIAL}; rm -f -- \"$p\""))
        .arg("sh")
        .arg(p);
    let _ = run_with_input("sh", &mut cmd, b"", slot, Vec::new());
}
