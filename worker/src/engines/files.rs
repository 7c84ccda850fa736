//! Files and folders: directories (and single files) streamed as a POSIX tar archive, built
//! on the fly while the pipeline reads it (no temp file), restored into a chosen directory.
//!
//! Layout of the archive (ustar headers, a pax `x` header before any member whose name, link
//! target or size does not fit ustar):
//!
//! 1. `dbackup-files.json`: format, version, the source paths and exclude patterns;
//! 2. `files/<name of source path>/…`: the trees, each directory's entries in byte order;
//!    directories, regular files and symlinks (stored as links, never followed); special files
//!    (FIFOs, sockets, devices) are skipped and listed in the manifest;
//! 3. `dbackup-files-manifest.json`: every member's path, type, mode, size and SHA-256 (known
//!    only once a file was read, hence last).
//!
//! A restore writes each file under a temporary name beside its place, checks the SHA-256 of
//! every file against the manifest, and only then moves them into place: a tampered member
//! fails the restore naming the file, and nothing is left behind.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::Fields;
use crate::error::Error;
use crate::storage::LocalRoots;

/// The `engine` value handled by this module.
pub const ENGINE: &str = "files";
/// First member: what the archive holds.
pub const HEADER_ENTRY: &str = "dbackup-files.json";
/// Last member: every entry with its size and SHA-256.
pub const MANIFEST_ENTRY: &str = "dbackup-files-manifest.json";
/// Prefix of every member holding data.
pub const DATA_PREFIX: &str = "files/";
/// `format` of both JSON members.
pub const FORMAT: &str = "dbackup-files-tar";
/// Most source paths per backup.
pub const MAX_PATHS: usize = 64;
/// Most exclude patterns.
pub const MAX_EXCLUDES: usize = 256;
/// Longest path (bytes) in the configuration.
pub const MAX_PATH_LEN: usize = 4096;
/// Longest exclude pattern (bytes).
pub const MAX_PATTERN_LEN: usize = 1024;
/// Most entries (files, directories, links) per backup: the manifest is kept in memory
/// (about 200 bytes an entry) until it is written at the end.
pub const MAX_ENTRIES: usize = 2_000_000;
/// Largest manifest member a restore accepts.
const MAX_MANIFEST_BYTES: u64 = 1 << 30;
/// Largest pax header or JSON header member a restore accepts.
const MAX_META_BYTES: u64 = 1 << 20;

const BLOCK: usize = 512;
const CHUNK: usize = 128 * 1024;
/// Compared with a chunk by `memcmp` (fast in unoptimised builds too).
static ZEROS: [u8; CHUNK] = [0; CHUNK];

/// A files source: `{engine: "files", paths: [..], excludes: [..]}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilesSource {
    /// Absolute paths of directories (or files) to back up.
    pub paths: Vec<PathBuf>,
    /// Glob patterns: without `/` they match any entry's name, with `/` the path relative to
    /// its source path (a leading `/` anchors at the file system root).
    pub excludes: Vec<String>,
}

/// A files restore target: `{engine: "files", path, overwrite}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilesTarget {
    /// Directory the trees are restored into (created if missing).
    pub path: PathBuf,
    /// Replace existing files (never directories); refused by default.
    pub overwrite: bool,
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::InvalidBody(msg.into())
}

fn check_abs_path(field: &str, p: &Path) -> Result<(), Error> {
    let bytes = p.as_os_str().as_bytes();
    if bytes.len() > MAX_PATH_LEN {
        return Err(invalid(format!(
            "{field}: longer than {MAX_PATH_LEN} bytes"
        )));
    }
    if !p.is_absolute() {
        return Err(invalid(format!("{field}: must be an absolute path")));
    }
    if bytes.contains(&0) {
        return Err(invalid(format!("{field}: must not contain NUL")));
    }
    Ok(())
}

impl FilesSource {
    pub(crate) fn from_fields(mut f: Fields) -> Result<Self, Error> {
        let _: String = f.required("engine")?;
        let paths: Vec<PathBuf> = f.required("paths")?;
        let excludes: Vec<String> = f.optional("excludes")?.unwrap_or_default();
        f.finish()?;
        let source = FilesSource { paths, excludes };
        source.validate()?;
        Ok(source)
    }

    /// Counts, lengths, absolute paths, distinct names, valid patterns.
    pub fn validate(&self) -> Result<(), Error> {
        if self.paths.is_empty() {
            return Err(invalid("paths: name at least one directory"));
        }
        if self.paths.len() > MAX_PATHS {
            return Err(invalid(format!("paths: at most {MAX_PATHS}")));
        }
        let mut names: HashMap<&OsStr, usize> = HashMap::new();
        for (i, p) in self.paths.iter().enumerate() {
            let field = format!("paths[{i}]");
            check_abs_path(&field, p)?;
            let Some(name) = p.file_name() else {
                return Err(invalid(format!(
                    "{field}: names no folder (`/` or ends in `..`)"
                )));
            };
            if let Some(j) = names.insert(name, i) {
                return Err(invalid(format!(
                    "{field}: has the same name as paths[{j}] ({}); each path is restored as <target>/<name>",
                    name.to_string_lossy()
                )));
            }
        }
        if self.excludes.len() > MAX_EXCLUDES {
            return Err(invalid(format!("excludes: at most {MAX_EXCLUDES}")));
        }
        for (i, e) in self.excludes.iter().enumerate() {
            if e.is_empty() || e.len() > MAX_PATTERN_LEN || e.chars().any(char::is_control) {
                return Err(invalid(format!(
                    "excludes[{i}]: 1 to {MAX_PATTERN_LEN} bytes, no control characters"
                )));
            }
            glob::Pattern::new(e)
                .map_err(|err| invalid(format!("excludes[{i}]: not a glob pattern ({err})")))?;
        }
        Ok(())
    }

    /// Label used in object names: the last path's name, or `files`.
    pub fn label(&self) -> String {
        self.paths
            .first()
            .and_then(|p| p.file_name())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "files".into())
    }

    /// Each path must lie, symlinks resolved, inside an allowed root (`DBACKUP_LOCAL_ROOTS`)
    /// and outside the worker's data directory (its `backups/` folder included).
    pub fn check_paths(&self, roots: &LocalRoots) -> io::Result<()> {
        for (i, p) in self.paths.iter().enumerate() {
            check_in_roots(roots, p, &format!("source.paths[{i}]"))?;
        }
        Ok(())
    }

    /// Starts the archive: a reader producing it as it is read.
    pub fn start_dump(&self, roots: &LocalRoots) -> Result<TarDump, String> {
        self.check_paths(roots).map_err(|e| e.to_string())?;
        TarDump::new(self, Box::new(LocalFs))
    }

    /// The same archive of directories on an SSH host, walked and read over SFTP (pinned host
    /// key first). The paths are that host's: its own permissions decide what is read.
    pub fn start_remote_dump(&self, login: &crate::ssh::Login) -> Result<TarDump, String> {
        let remote =
            crate::storage::sftp::RemoteFiles::connect(login.clone()).map_err(|e| e.to_string())?;
        TarDump::new(self, Box::new(remote))
    }
}

/// [`LocalRoots::check`] with the error naming `field`, plus: nothing inside the data dir.
fn check_in_roots(roots: &LocalRoots, path: &Path, field: &str) -> io::Result<PathBuf> {
    let rename = |e: io::Error| {
        let msg = e.to_string();
        let msg = msg
            .strip_prefix("storage.path:")
            .map(|rest| format!("{field}:{rest}"))
            .unwrap_or(msg);
        io::Error::new(e.kind(), msg)
    };
    let resolved = roots.check(path).map_err(rename)?;
    if let Some(data) = roots.data_dir().and_then(|d| d.canonicalize().ok()) {
        if resolved.starts_with(&data) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{field}: {} is inside the worker's data directory",
                    path.display()
                ),
            ));
        }
    }
    Ok(resolved)
}

impl FilesTarget {
    pub(crate) fn from_fields(mut f: Fields) -> Result<Self, Error> {
        let _: String = f.required("engine")?;
        let path: PathBuf = f.required("path")?;
        let overwrite: bool = f.optional("overwrite")?.unwrap_or(false);
        f.finish()?;
        check_abs_path("path", &path)?;
        Ok(FilesTarget { path, overwrite })
    }

    /// The target directory must lie inside an allowed root and outside the data directory.
    pub fn check_paths(&self, roots: &LocalRoots) -> io::Result<()> {
        check_in_roots(roots, &self.path, "target.path").map(drop)
    }
}

/// Parses `{engine: "files", ...}` (used by the tests and [`super::Source`]).
pub fn source_from_value(v: Value) -> Result<FilesSource, Error> {
    match v {
        Value::Object(map) => FilesSource::from_fields(Fields::new(map)),
        _ => Err(invalid("expected a JSON object")),
    }
}

/// Parses `{engine: "files", path, overwrite}`.
pub fn target_from_value(v: Value) -> Result<FilesTarget, Error> {
    match v {
        Value::Object(map) => FilesTarget::from_fields(Fields::new(map)),
        _ => Err(invalid("expected a JSON object")),
    }
}

// ---------------------------------------------------------------------------------------
// Manifest

/// Kind of a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryType {
    File,
    Dir,
    Symlink,
}

/// One member in the manifest. Names that are not UTF-8 are given in hex (`pathHex`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_hex: Option<String>,
    #[serde(rename = "type")]
    pub kind: EntryType,
    pub mode: u32,
    #[serde(default)]
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_hex: Option<String>,
    /// The file shrank while it was read: its end is zeros the file never had (the hash
    /// is of what was stored).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shrank: bool,
}

impl ManifestEntry {
    fn name_bytes(&self) -> Result<Vec<u8>, String> {
        decode_name(self.path.as_deref(), self.path_hex.as_deref())
    }
}

/// An entry skipped at backup time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
}

/// The last member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    pub files: u64,
    pub bytes: u64,
    pub entries: Vec<ManifestEntry>,
    #[serde(default)]
    pub skipped: Vec<Skipped>,
}

fn encode_name(bytes: &[u8]) -> (Option<String>, Option<String>) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (Some(s.to_owned()), None),
        Err(_) => (None, Some(hex::encode(bytes))),
    }
}

fn decode_name(text: Option<&str>, hexed: Option<&str>) -> Result<Vec<u8>, String> {
    match (text, hexed) {
        (Some(t), None) => Ok(t.as_bytes().to_vec()),
        (None, Some(h)) => hex::decode(h).map_err(|_| "manifest: bad hex name".to_owned()),
        _ => Err("manifest: an entry without a path".into()),
    }
}

// ---------------------------------------------------------------------------------------
// Writing: the tar, produced as it is read

fn octal(field: &mut [u8], value: u64) {
    // `len - 1` digits then NUL.
    let digits = field.len() - 1;
    let text = format!("{value:0digits$o}");
    let text = text.as_bytes();
    let start = text.len().saturating_sub(digits);
    field[..digits].copy_from_slice(&text[start..]);
    field[digits] = 0;
}

const MAX_USTAR_SIZE: u64 = 0o77777777777;

fn pax_record(out: &mut Vec<u8>, key: &str, value: &[u8]) {
    let body = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = body + 1;
    while len != body + len.to_string().len() {
        len = body + len.to_string().len();
    }
    out.extend_from_slice(len.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(key.as_bytes());
    out.push(b'=');
    out.extend_from_slice(value);
    out.push(b'\n');
}

fn fits_ustar(name: &[u8]) -> bool {
    name.len() < 100 && name.iter().all(|b| (0x20..0x7f).contains(b))
}

fn ustar_header(
    name: &[u8],
    typeflag: u8,
    mode: u32,
    size: u64,
    mtime: u64,
    link: &[u8],
) -> [u8; BLOCK] {
    let mut h = [0u8; BLOCK];
    let n = name.len().min(99);
    h[..n].copy_from_slice(&name[..n]);
    octal(&mut h[100..108], u64::from(mode & 0o7777));
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    octal(&mut h[124..136], size.min(MAX_USTAR_SIZE));
    octal(&mut h[136..148], mtime.min(MAX_USTAR_SIZE));
    h[156] = typeflag;
    let l = link.len().min(99);
    h[157..157 + l].copy_from_slice(&link[..l]);
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u64 = h.iter().map(|b| u64::from(*b)).sum();
    let text = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(text.as_bytes());
    h
}

/// Appends the header block(s) of one member (a pax header first when needed).
fn write_header(
    out: &mut Vec<u8>,
    name: &[u8],
    typeflag: u8,
    mode: u32,
    size: u64,
    mtime: u64,
    link: &[u8],
) {
    let mut pax = Vec::new();
    if !fits_ustar(name) {
        pax_record(&mut pax, "path", name);
    }
    if !link.is_empty() && !fits_ustar(link) {
        pax_record(&mut pax, "linkpath", link);
    }
    if size > MAX_USTAR_SIZE {
        pax_record(&mut pax, "size", size.to_string().as_bytes());
    }
    if !pax.is_empty() {
        out.extend_from_slice(&ustar_header(
            b"././@PaxHeader",
            b'x',
            0o644,
            pax.len() as u64,
            mtime,
            b"",
        ));
        out.extend_from_slice(&pax);
        pad(out, pax.len() as u64);
    }
    let short: Vec<u8> = if fits_ustar(name) {
        name.to_vec()
    } else {
        name.iter()
            .take(99)
            .map(|b| if (0x20..0x7f).contains(b) { *b } else { b'_' })
            .collect()
    };
    out.extend_from_slice(&ustar_header(
        &short,
        typeflag,
        mode,
        size,
        mtime,
        if fits_ustar(link) { link } else { b"" },
    ));
}

fn padding(size: u64) -> usize {
    ((BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64) as usize
}

fn pad(out: &mut Vec<u8>, size: u64) {
    out.resize(out.len() + padding(size), 0);
}

fn mtime_of(meta: &fs::Metadata) -> u64 {
    u64::try_from(meta.mtime()).unwrap_or(0)
}

struct Root {
    /// Absolute path on disk.
    path: PathBuf,
    /// `files/<name>`.
    member: Vec<u8>,
}

/// A directory being walked: its remaining entries (reversed: `pop` gives the next).
struct DirFrame {
    disk: PathBuf,
    member: Vec<u8>,
    /// Relative to the source path (for excludes).
    rel: PathBuf,
    pending: Vec<std::ffi::OsString>,
}

struct OpenFile {
    file: Box<dyn Read + Send>,
    remaining: u64,
    size: u64,
    hasher: Sha256,
    entry: ManifestEntry,
    disk: PathBuf,
    /// Shrank while read (logged once).
    shrank: bool,
}

/// The archive as a reader. Each `read` produces the next bytes: a header, a chunk of the
/// current file, or the manifest at the end. Memory: one chunk plus the manifest.
pub struct TarDump {
    fs: Box<dyn SourceFs>,
    buf: Vec<u8>,
    pos: usize,
    roots: Vec<Root>,
    stack: Vec<DirFrame>,
    current: Option<OpenFile>,
    excludes: Vec<(glob::Pattern, bool)>,
    manifest: Manifest,
    done: bool,
    /// Warnings (skipped entries, files that changed while read), also in the manifest.
    pub warnings: Warnings,
}

/// Warnings of a dump, shared with the task that logs them into the execution log.
#[derive(Debug, Clone, Default)]
pub struct Warnings(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl Warnings {
    fn push(&self, line: String) {
        if let Ok(mut w) = self.0.lock() {
            w.push(line);
        }
    }

    /// Takes the warnings gathered so far.
    pub fn take(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|mut w| std::mem::take(&mut *w))
            .unwrap_or_default()
    }

    /// How many are waiting.
    pub fn len(&self) -> usize {
        self.0.lock().map(|w| w.len()).unwrap_or(0)
    }

    /// Whether none is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl TarDump {
    fn new(source: &FilesSource, fs: Box<dyn SourceFs>) -> Result<Self, String> {
        let header = serde_json::json!({
            "format": FORMAT,
            "version": 1,
            "paths": source.paths.iter().map(|p| p.to_string_lossy()).collect::<Vec<_>>(),
            "excludes": source.excludes,
        });
        let header = serde_json::to_vec_pretty(&header).map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        write_header(
            &mut buf,
            HEADER_ENTRY.as_bytes(),
            b'0',
            0o644,
            header.len() as u64,
            now(),
            b"",
        );
        buf.extend_from_slice(&header);
        pad(&mut buf, header.len() as u64);
        let excludes = source
            .excludes
            .iter()
            .filter_map(|e| glob::Pattern::new(e).ok().map(|p| (p, e.contains('/'))))
            .collect();
        let mut roots: Vec<Root> = source
            .paths
            .iter()
            .map(|p| {
                let mut member = DATA_PREFIX.as_bytes().to_vec();
                member.extend_from_slice(p.file_name().map(OsStr::as_bytes).unwrap_or(b"root"));
                Root {
                    path: p.clone(),
                    member,
                }
            })
            .collect();
        roots.reverse();
        for r in &roots {
            fs.lstat(&r.path)
                .map_err(|e| format!("source: {}: {e}", r.path.display()))?;
        }
        Ok(TarDump {
            fs,
            buf,
            pos: 0,
            roots,
            stack: Vec::new(),
            current: None,
            excludes,
            manifest: Manifest {
                format: FORMAT.into(),
                version: 1,
                files: 0,
                bytes: 0,
                entries: Vec::new(),
                skipped: Vec::new(),
            },
            done: false,
            warnings: Warnings::default(),
        })
    }

    fn excluded(&self, abs: &Path, rel: &Path, name: &OsStr) -> bool {
        let opts = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: false,
        };
        self.excludes.iter().any(|(p, with_slash)| {
            if !with_slash {
                name.to_str().is_some_and(|n| p.matches_with(n, opts))
            } else if p.as_str().starts_with('/') {
                p.matches_path_with(abs, opts)
            } else {
                p.matches_path_with(rel, opts)
            }
        })
    }

    fn skip(&mut self, disk: &Path, reason: &str) {
        let line = format!("skipped {}: {reason}", disk.display());
        eprintln!("dbackup-worker: files: {line}");
        self.warnings.push(line);
        self.manifest.skipped.push(Skipped {
            path: disk.to_string_lossy().into_owned(),
            reason: reason.into(),
        });
    }

    /// Emits the header of the entry at `disk` (pushing a frame for a directory, opening a
    /// file). Returns without output for skipped entries.
    fn add_entry(&mut self, disk: PathBuf, member: Vec<u8>, rel: PathBuf) -> io::Result<()> {
        let meta = match self.fs.lstat(&disk) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.skip(&disk, "vanished while the backup ran");
                return Ok(());
            }
            Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", disk.display()))),
        };
        if self.manifest.entries.len() >= MAX_ENTRIES {
            return Err(io::Error::other(format!(
                "more than {MAX_ENTRIES} entries; split the source into several jobs"
            )));
        }
        let mode = meta.mode;
        let mtime = meta.mtime;
        let (path, path_hex) = encode_name(&member);
        let mut entry = ManifestEntry {
            path,
            path_hex,
            kind: EntryType::Dir,
            mode,
            size: 0,
            sha256: None,
            target: None,
            target_hex: None,
            shrank: false,
        };
        if meta.kind == MetaKind::Dir {
            let mut names = self
                .fs
                .list(&disk)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", disk.display())))?;
            names.sort_by(|a, b| b.as_bytes().cmp(a.as_bytes()));
            let mut dir_member = member.clone();
            dir_member.push(b'/');
            write_header(&mut self.buf, &dir_member, b'5', mode, 0, mtime, b"");
            self.manifest.entries.push(entry);
            self.stack.push(DirFrame {
                disk,
                member,
                rel,
                pending: names,
            });
        } else if meta.kind == MetaKind::Symlink {
            let target = self
                .fs
                .read_link(&disk)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", disk.display())))?;
            let tb = target.as_slice();
            write_header(&mut self.buf, &member, b'2', 0o777, 0, mtime, tb);
            entry.kind = EntryType::Symlink;
            entry.mode = 0o777;
            (entry.target, entry.target_hex) = encode_name(tb);
            self.manifest.entries.push(entry);
        } else if meta.kind == MetaKind::File {
            let (file, size) = match self.fs.open(&disk) {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    self.skip(&disk, "vanished while the backup ran");
                    return Ok(());
                }
                Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", disk.display()))),
            };
            write_header(&mut self.buf, &member, b'0', mode, size, mtime, b"");
            entry.kind = EntryType::File;
            entry.size = size;
            self.current = Some(OpenFile {
                file,
                remaining: size,
                size,
                hasher: Sha256::new(),
                entry,
                disk,
                shrank: false,
            });
        } else {
            let what = match meta.kind {
                MetaKind::Fifo => "a FIFO",
                MetaKind::Socket => "a socket",
                _ => "a device or special file",
            };
            self.skip(&disk, &format!("{what}, not stored"));
        }
        Ok(())
    }

    /// Produces the next bytes into `buf`. `false` at the end.
    fn refill(&mut self) -> io::Result<bool> {
        self.buf.clear();
        self.pos = 0;
        if let Some(cur) = &mut self.current {
            let want = cur.remaining.min(CHUNK as u64) as usize;
            self.buf.resize(want, 0);
            let mut got = 0;
            while got < want {
                match cur.file.read(&mut self.buf[got..want]) {
                    Ok(0) => break,
                    Ok(n) => got += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        return Err(io::Error::new(
                            e.kind(),
                            format!("{}: {e}", cur.disk.display()),
                        ))
                    }
                }
            }
            if got < want {
                // The file shrank: the header promised `size` bytes, so zeros fill it; the
                // manifest's hash is of what was stored.
                self.buf[got..want].fill(0);
            }
            if got < want && !cur.shrank {
                cur.shrank = true;
                cur.entry.shrank = true;
                let line = format!(
                    "{} shrank while it was read: stored with zeros from byte {} to {} (its size when the backup started); the manifest marks it shrank",
                    cur.disk.display(),
                    cur.size - cur.remaining + got as u64,
                    cur.size
                );
                eprintln!("dbackup-worker: files: {line}");
                self.warnings.push(line);
            }
            cur.hasher.update(&self.buf[..want]);
            cur.remaining -= want as u64;
            if cur.remaining == 0 {
                let cur = self
                    .current
                    .take()
                    .ok_or_else(|| io::Error::other("internal"))?;
                pad(&mut self.buf, cur.size);
                let mut entry = cur.entry;
                entry.sha256 = Some(hex::encode(cur.hasher.finalize()));
                self.manifest.files += 1;
                self.manifest.bytes += cur.size;
                self.manifest.entries.push(entry);
            }
            return Ok(true);
        }
        loop {
            if let Some(frame) = self.stack.last_mut() {
                let Some(name) = frame.pending.pop() else {
                    self.stack.pop();
                    continue;
                };
                let disk = frame.disk.join(&name);
                let rel = frame.rel.join(&name);
                let mut member = frame.member.clone();
                member.push(b'/');
                member.extend_from_slice(name.as_bytes());
                if self.excluded(&disk, &rel, &name) {
                    continue;
                }
                self.add_entry(disk, member, rel)?;
            } else if let Some(root) = self.roots.pop() {
                let name = root.path.file_name().unwrap_or_default().to_owned();
                if self.excluded(&root.path, Path::new(&name), &name) {
                    continue;
                }
                self.add_entry(root.path, root.member, PathBuf::new())?;
            } else if !self.done {
                self.done = true;
                let manifest = serde_json::to_vec(&self.manifest).map_err(io::Error::other)?;
                write_header(
                    &mut self.buf,
                    MANIFEST_ENTRY.as_bytes(),
                    b'0',
                    0o644,
                    manifest.len() as u64,
                    now(),
                    b"",
                );
                self.buf.extend_from_slice(&manifest);
                pad(&mut self.buf, manifest.len() as u64);
                self.buf.resize(self.buf.len() + 2 * BLOCK, 0);
                return Ok(true);
            } else {
                return Ok(false);
            }
            if !self.buf.is_empty() || self.current.is_some() {
                return Ok(true);
            }
        }
    }
}

/// The type of a directory entry, from its `st_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MetaKind {
    Dir,
    File,
    Symlink,
    Fifo,
    Socket,
    Other,
}

impl MetaKind {
    /// From the file-type bits of a POSIX `st_mode`.
    pub(crate) fn from_mode(mode: u32) -> MetaKind {
        match mode & libc::S_IFMT {
            libc::S_IFDIR => MetaKind::Dir,
            libc::S_IFREG => MetaKind::File,
            libc::S_IFLNK => MetaKind::Symlink,
            libc::S_IFIFO => MetaKind::Fifo,
            libc::S_IFSOCK => MetaKind::Socket,
            _ => MetaKind::Other,
        }
    }
}

/// What the walk needs of an entry (`lstat`: a symlink is not followed).
#[derive(Debug, Clone, Copy)]
pub(crate) struct EntryMeta {
    pub kind: MetaKind,
    /// Permission bits (`& 0o7777`).
    pub mode: u32,
    /// Modification time, seconds since the epoch.
    pub mtime: u64,
}

/// Where a files source's trees are read: this machine, or an SSH host over SFTP
/// (`storage::sftp::RemoteFiles`).
pub(crate) trait SourceFs: Send {
    /// The entry itself (a symlink is not followed).
    fn lstat(&self, path: &Path) -> io::Result<EntryMeta>;
    /// A directory's entry names (without `.` and `..`).
    fn list(&self, path: &Path) -> io::Result<Vec<std::ffi::OsString>>;
    /// A symlink's target, as stored.
    fn read_link(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Opens a regular file for reading; its reader and its size now.
    fn open(&self, path: &Path) -> io::Result<(Box<dyn Read + Send>, u64)>;
}

/// The worker's own filesystem.
struct LocalFs;

impl SourceFs for LocalFs {
    fn lstat(&self, path: &Path) -> io::Result<EntryMeta> {
        let meta = fs::symlink_metadata(path)?;
        Ok(EntryMeta {
            kind: MetaKind::from_mode(meta.mode()),
            mode: meta.mode() & 0o7777,
            mtime: mtime_of(&meta),
        })
    }

    fn list(&self, path: &Path) -> io::Result<Vec<std::ffi::OsString>> {
        fs::read_dir(path)?
            .map(|item| item.map(|i| i.file_name()))
            .collect()
    }

    fn read_link(&self, path: &Path) -> io::Result<Vec<u8>> {
        Ok(fs::read_link(path)?.into_os_string().into_vec())
    }

    fn open(&self, path: &Path) -> io::Result<(Box<dyn Read + Send>, u64)> {
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(path)?;
        let size = file.metadata()?.len();
        Ok((Box::new(file), size))
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Read for TarDump {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.buf.len() {
            if !self.refill()? {
                return Ok(0);
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

// ---------------------------------------------------------------------------------------
// Reading: extraction into a directory

fn parse_octal(field: &[u8]) -> Result<u64, String> {
    let text: String = field
        .iter()
        .take_while(|b| **b != 0)
        .map(|b| char::from(*b))
        .collect();
    let text = text.trim();
    if text.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(text, 8).map_err(|_| "bad tar header (number)".to_owned())
}

fn read_exact_or(r: &mut dyn Read, buf: &mut [u8], what: &str) -> Result<(), String> {
    r.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            format!("the archive ends inside {what}")
        } else {
            format!("reading the archive: {e}")
        }
    })
}

fn skip_padding(r: &mut dyn Read, size: u64, what: &str) -> Result<(), String> {
    let mut p = [0u8; BLOCK];
    read_exact_or(r, &mut p[..padding(size)], what)
}

struct Member {
    name: Vec<u8>,
    typeflag: u8,
    mode: u32,
    size: u64,
    mtime: u64,
    link: Vec<u8>,
}

/// Next member header (pax records applied), `None` at the end-of-archive blocks.
fn next_member(r: &mut dyn Read) -> Result<Option<Member>, String> {
    let mut pax: HashMap<String, Vec<u8>> = HashMap::new();
    loop {
        let mut h = [0u8; BLOCK];
        read_exact_or(r, &mut h, "a header")?;
        if h.iter().all(|b| *b == 0) {
            return Ok(None);
        }
        let stored = parse_octal(&h[148..156])?;
        let sum: u64 = h
            .iter()
            .enumerate()
            .map(|(i, b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u64::from(*b)
                }
            })
            .sum();
        if stored != sum || &h[257..262] != b"ustar" {
            return Err("not a dbackup files archive (bad tar header)".into());
        }
        let typeflag = h[156];
        let mut size = parse_octal(&h[124..136])?;
        if typeflag == b'x' {
            if size > MAX_META_BYTES {
                return Err("pax header too large".into());
            }
            let mut data = vec![0u8; size as usize];
            read_exact_or(r, &mut data, "a pax header")?;
            skip_padding(r, size, "a pax header")?;
            let mut rest = &data[..];
            while !rest.is_empty() {
                let sp = rest
                    .iter()
                    .position(|b| *b == b' ')
                    .ok_or("bad pax record")?;
                let len: usize = std::str::from_utf8(&rest[..sp])
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .filter(|l| *l > sp + 2 && *l <= rest.len())
                    .ok_or("bad pax record")?;
                let rec = &rest[sp + 1..len - 1];
                let eq = rec
                    .iter()
                    .position(|b| *b == b'=')
                    .ok_or("bad pax record")?;
                let key = String::from_utf8_lossy(&rec[..eq]).into_owned();
                pax.insert(key, rec[eq + 1..].to_vec());
                rest = &rest[len..];
            }
            continue;
        }
        let mut name: Vec<u8> = h[..100].iter().copied().take_while(|b| *b != 0).collect();
        let prefix: Vec<u8> = h[345..500]
            .iter()
            .copied()
            .take_while(|b| *b != 0)
            .collect();
        if !prefix.is_empty() {
            let mut full = prefix;
            full.push(b'/');
            full.extend_from_slice(&name);
            name = full;
        }
        let mut link: Vec<u8> = h[157..257]
            .iter()
            .copied()
            .take_while(|b| *b != 0)
            .collect();
        if let Some(p) = pax.remove("path") {
            name = p;
        }
        if let Some(l) = pax.remove("linkpath") {
            link = l;
        }
        if let Some(s) = pax.remove("size") {
            size = std::str::from_utf8(&s)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or("bad pax size")?;
        }
        return Ok(Some(Member {
            name,
            typeflag,
            mode: parse_octal(&h[100..108])? as u32,
            size,
            mtime: parse_octal(&h[136..148])?,
            link,
        }));
    }
}

fn show(name: &[u8]) -> String {
    String::from_utf8_lossy(name).escape_debug().to_string()
}

/// The member's path below `files/` as components; refuses absolute paths, `..`, `.`, empty
/// components and NUL (tar-slip).
fn safe_components(name: &[u8]) -> Result<Vec<&[u8]>, String> {
    let trimmed = name.strip_suffix(b"/").unwrap_or(name);
    let rest = trimmed
        .strip_prefix(DATA_PREFIX.as_bytes())
        .ok_or_else(|| format!("unexpected member {} (outside files/)", show(name)))?;
    let parts: Vec<&[u8]> = rest.split(|b| *b == b'/').collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || *p == b"." || *p == b".." || p.contains(&0))
    {
        return Err(format!(
            "member {} has an unsafe path (absolute, `..`, `.` or empty components); refused",
            show(name)
        ));
    }
    Ok(parts)
}

struct Placed {
    member: Vec<u8>,
    partial: PathBuf,
    fin: PathBuf,
    kind: EntryType,
    size: u64,
    sha256: Option<String>,
    link: Vec<u8>,
}

/// Extraction state; partial files are removed on drop unless committed.
struct Extractor {
    target: PathBuf,
    overwrite: bool,
    dirs_ok: HashSet<PathBuf>,
    placed: Vec<Placed>,
    dirs: Vec<(Vec<u8>, PathBuf, u32, u64)>,
    seen: HashSet<Vec<u8>>,
    committed: bool,
    serial: u64,
}

impl Drop for Extractor {
    fn drop(&mut self) {
        if !self.committed {
            for p in &self.placed {
                let _ = fs::remove_file(&p.partial);
            }
        }
    }
}

impl Extractor {
    /// Makes sure `rel` (components below the target) exists as real directories (never
    /// through a symlink), creating what is missing.
    fn ensure_dir(&mut self, parts: &[&[u8]]) -> Result<PathBuf, String> {
        let mut path = self.target.clone();
        for part in parts {
            path.push(OsStr::from_bytes(part));
            if self.dirs_ok.contains(&path) {
                continue;
            }
            match fs::symlink_metadata(&path) {
                Ok(m) if m.file_type().is_dir() => {}
                Ok(_) => {
                    return Err(format!(
                        "{} exists and is not a directory; refused",
                        path.display()
                    ))
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    fs::create_dir(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                    fs::set_permissions(&path, fs::Permissions::from_mode(0o700))
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                }
                Err(e) => return Err(format!("{}: {e}", path.display())),
            }
            self.dirs_ok.insert(path.clone());
        }
        Ok(path)
    }

    fn check_free(&self, fin: &Path) -> Result<(), String> {
        match fs::symlink_metadata(fin) {
            Ok(m) if m.file_type().is_dir() => {
                Err(format!("{} exists as a directory; refused", fin.display()))
            }
            Ok(_) if !self.overwrite => Err(format!(
                "{} exists; refused (restore with overwrite: true to replace files)",
                fin.display()
            )),
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(format!("{}: {e}", fin.display())),
        }
    }

    fn partial_for(&mut self, parent: &Path) -> PathBuf {
        self.serial += 1;
        parent.join(format!(
            ".dbackup-restore-{}-{}.partial",
            std::process::id(),
            self.serial
        ))
    }

    fn member(&mut self, r: &mut dyn Read, m: Member) -> Result<(), String> {
        let parts = safe_components(&m.name)?;
        let key = m.name.strip_suffix(b"/").unwrap_or(&m.name).to_vec();
        if !self.seen.insert(key.clone()) {
            return Err(format!("member {} appears twice; refused", show(&m.name)));
        }
        let (last, parents) = parts.split_last().ok_or("empty member name")?;
        match m.typeflag {
            b'5' => {
                let dir = self.ensure_dir(&parts)?;
                self.dirs.push((key, dir, m.mode & 0o777, m.mtime));
                Ok(())
            }
            b'2' => {
                if m.link.is_empty() || m.link.contains(&0) {
                    return Err(format!("symlink {} has no target", show(&m.name)));
                }
                let parent = self.ensure_dir(parents)?;
                let fin = parent.join(OsStr::from_bytes(last));
                self.check_free(&fin)?;
                let partial = self.partial_for(&parent);
                std::os::unix::fs::symlink(OsStr::from_bytes(&m.link), &partial)
                    .map_err(|e| format!("{}: {e}", partial.display()))?;
                self.placed.push(Placed {
                    member: key,
                    partial,
                    fin,
                    kind: EntryType::Symlink,
                    size: 0,
                    sha256: None,
                    link: m.link,
                });
                Ok(())
            }
            b'0' | 0 => {
                let parent = self.ensure_dir(parents)?;
                let fin = parent.join(OsStr::from_bytes(last));
                self.check_free(&fin)?;
                let partial = self.partial_for(&parent);
                let mut file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .custom_flags(libc::O_NOFOLLOW)
                    .open(&partial)
                    .map_err(|e| format!("{}: {e}", partial.display()))?;
                self.placed.push(Placed {
                    member: key.clone(),
                    partial: partial.clone(),
                    fin,
                    kind: EntryType::File,
                    size: m.size,
                    sha256: None,
                    link: Vec::new(),
                });
                let sha = copy_sparse(r, &mut file, m.size, &m.name)
                    .map_err(|e| format!("{}: {e}", show(&m.name)))?;
                skip_padding(r, m.size, "a file")?;
                file.set_permissions(fs::Permissions::from_mode(m.mode & 0o777))
                    .map_err(|e| format!("{}: {e}", partial.display()))?;
                let _ = file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(m.mtime));
                if let Some(p) = self.placed.last_mut() {
                    p.sha256 = Some(sha);
                }
                Ok(())
            }
            other => Err(format!(
                "member {} has an unsupported type `{}`",
                show(&m.name),
                char::from(other).escape_debug()
            )),
        }
    }

    /// Compares what was extracted with the manifest.
    fn verify(&self, manifest: &Manifest) -> Result<(), String> {
        let mut expected: HashMap<Vec<u8>, &ManifestEntry> = HashMap::new();
        for e in &manifest.entries {
            expected.insert(e.name_bytes()?, e);
        }
        for p in &self.placed {
            let Some(e) = expected.remove(&p.member) else {
                return Err(format!("{}: not in the manifest; refused", show(&p.member)));
            };
            if e.kind != p.kind {
                return Err(format!(
                    "{}: type differs from the manifest",
                    show(&p.member)
                ));
            }
            match p.kind {
                EntryType::File => {
                    if e.size != p.size || e.sha256 != p.sha256 {
                        return Err(format!(
                            "{}: SHA-256 mismatch (archive member altered or damaged); nothing restored",
                            show(&p.member)
                        ));
                    }
                }
                EntryType::Symlink => {
                    let t = decode_name(e.target.as_deref(), e.target_hex.as_deref())?;
                    if t != p.link {
                        return Err(format!(
                            "{}: link target differs from the manifest",
                            show(&p.member)
                        ));
                    }
                }
                EntryType::Dir => {}
            }
        }
        for (name, _, _, _) in &self.dirs {
            if expected
                .remove(name)
                .is_none_or(|e| e.kind != EntryType::Dir)
            {
                return Err(format!("{}: not in the manifest; refused", show(name)));
            }
        }
        if let Some(name) = expected.keys().next() {
            return Err(format!(
                "{}: in the manifest but missing from the archive",
                show(name)
            ));
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<(), String> {
        for p in &self.placed {
            self.check_free(&p.fin)?;
            fs::rename(&p.partial, &p.fin).map_err(|e| format!("{}: {e}", p.fin.display()))?;
        }
        self.committed = true;
        // Directory modes last (a read-only directory would have blocked its files).
        for (_, dir, mode, mtime) in self.dirs.iter().rev() {
            let _ = fs::set_permissions(dir, fs::Permissions::from_mode(*mode));
            if let Ok(f) = File::open(dir) {
                let _ = f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(*mtime));
            }
        }
        Ok(())
    }
}

/// Copies `size` bytes into `file`, leaving runs of zeros as holes; returns the SHA-256.
fn copy_sparse(
    r: &mut dyn Read,
    file: &mut File,
    size: u64,
    name: &[u8],
) -> Result<String, String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut left = size;
    let mut hole = false;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        read_exact_or(r, &mut buf[..n], &format!("file {}", show(name)))?;
        hasher.update(&buf[..n]);
        if buf[..n] == ZEROS[..n] {
            file.seek(SeekFrom::Current(n as i64))
                .map_err(|e| e.to_string())?;
            hole = true;
        } else {
            file.write_all(&buf[..n]).map_err(|e| e.to_string())?;
            hole = false;
        }
        left -= n as u64;
    }
    if hole {
        file.set_len(size).map_err(|e| e.to_string())?;
    }
    Ok(hex::encode(hasher.finalize()))
}

/// What a restore did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extracted {
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub bytes: u64,
}

/// Reads a files archive from `r` and restores it into `target` (checked against `roots`).
/// Nothing is moved into place until every file matched the manifest.
pub fn extract(
    r: &mut dyn Read,
    target: &FilesTarget,
    roots: &LocalRoots,
) -> Result<Extracted, String> {
    let dir = check_in_roots(roots, &target.path, "target.path").map_err(|e| e.to_string())?;
    let first = next_member(r)?.ok_or("empty archive")?;
    if first.name != HEADER_ENTRY.as_bytes() || first.size > MAX_META_BYTES {
        return Err(format!(
            "not a dbackup files archive (first member is not {HEADER_ENTRY})"
        ));
    }
    let mut head = vec![0u8; first.size as usize];
    read_exact_or(r, &mut head, HEADER_ENTRY)?;
    skip_padding(r, first.size, HEADER_ENTRY)?;
    let head: Map<String, Value> =
        serde_json::from_slice(&head).map_err(|e| format!("{HEADER_ENTRY}: {e}"))?;
    if head.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(format!("{HEADER_ENTRY}: format is not {FORMAT}"));
    }
    fs::create_dir_all(&dir).map_err(|e| format!("target.path: {}: {e}", dir.display()))?;
    let mut x = Extractor {
        target: dir,
        overwrite: target.overwrite,
        dirs_ok: HashSet::new(),
        placed: Vec::new(),
        dirs: Vec::new(),
        seen: HashSet::new(),
        committed: false,
        serial: 0,
    };
    let manifest = loop {
        let m = next_member(r)?.ok_or("the archive has no manifest (truncated?)")?;
        if m.name == MANIFEST_ENTRY.as_bytes() {
            if m.size > MAX_MANIFEST_BYTES {
                return Err("manifest too large".into());
            }
            let mut data = vec![0u8; m.size as usize];
            read_exact_or(r, &mut data, MANIFEST_ENTRY)?;
            skip_padding(r, m.size, MANIFEST_ENTRY)?;
            let manifest: Manifest =
                serde_json::from_slice(&data).map_err(|e| format!("{MANIFEST_ENTRY}: {e}"))?;
            break manifest;
        }
        if x.placed.len() + x.dirs.len() >= MAX_ENTRIES {
            return Err(format!("more than {MAX_ENTRIES} members"));
        }
        x.member(r, m)?;
    };
    if next_member(r)?.is_some() {
        return Err("members after the manifest; refused".into());
    }
    // Drain the rest (zero padding up to the record size) so the writer never sees a broken pipe.
    io::copy(r, &mut io::sink()).map_err(|e| format!("reading the archive: {e}"))?;
    x.verify(&manifest)?;
    x.commit()?;
    let mut out = Extracted {
        dirs: x.dirs.len() as u64,
        ..Extracted::default()
    };
    for p in &x.placed {
        match p.kind {
            EntryType::File => {
                out.files += 1;
                out.bytes += p.size;
            }
            EntryType::Symlink => out.symlinks += 1,
            EntryType::Dir => {}
        }
    }
    Ok(out)
}

/// A restore in progress: the stream goes through a pipe into [`extract`] on its own thread.
pub struct Extract {
    writer: Option<io::PipeWriter>,
    handle: Option<std::thread::JoinHandle<Result<Extracted, String>>>,
}

impl Extract {
    /// Starts the extraction thread.
    pub fn start(target: &FilesTarget, roots: &LocalRoots) -> Result<Self, String> {
        target.check_paths(roots).map_err(|e| e.to_string())?;
        let (mut reader, writer) = io::pipe().map_err(|e| format!("pipe: {e}"))?;
        let target = target.clone();
        let roots = roots.clone();
        let handle = std::thread::Builder::new()
            .name("files-restore".into())
            .spawn(move || extract(&mut reader, &target, &roots))
            .map_err(|e| format!("thread: {e}"))?;
        Ok(Extract {
            writer: Some(writer),
            handle: Some(handle),
        })
    }

    /// Ends the stream and waits for the extraction.
    pub fn finish(mut self) -> Result<Extracted, String> {
        drop(self.writer.take());
        match self.handle.take().map(|h| h.join()) {
            Some(Ok(result)) => result,
            _ => Err("files restore: the extraction thread panicked".into()),
        }
    }
}

impl Write for Extract {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.writer {
            Some(w) => w.write(buf),
            None => Err(io::ErrorKind::BrokenPipe.into()),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Extract {
    fn drop(&mut self) {
        drop(self.writer.take());
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// `POST /v1/probe` for a files source: every path inside the roots, present and readable
/// (a directory listed, a file opened). `databases` lists the paths.
pub(crate) fn probe(
    roots: &LocalRoots,
    map: Map<String, Value>,
) -> Result<super::ProbeResult, Error> {
    let started = std::time::Instant::now();
    let source = FilesSource::from_fields(Fields::new(map))?;
    source
        .check_paths(roots)
        .map_err(|e| Error::InvalidBody(e.to_string()))?;
    let mut databases = Vec::new();
    for p in &source.paths {
        let meta = fs::symlink_metadata(p)
            .map_err(|e| Error::ConnectionFailed(format!("{}: {e}", p.display())))?;
        let readable = if meta.is_dir() {
            fs::read_dir(p).map(drop)
        } else {
            File::open(p).map(drop)
        };
        readable.map_err(|e| Error::ConnectionFailed(format!("{}: {e}", p.display())))?;
        databases.push(super::ProbeDatabase {
            name: p.to_string_lossy().into_owned(),
            system: false,
        });
    }
    Ok(super::ProbeResult {
        ok: true,
        engine: ENGINE.into(),
        version: "tar (dbackup-files-tar 1)".into(),
        major_version: 1,
        edition: None,
        databases,
        latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_records_count_their_own_length() {
        for n in 80..1100 {
            let mut out = Vec::new();
            pax_record(&mut out, "path", &vec![b'a'; n]);
            let sp = out.iter().position(|b| *b == b' ').unwrap();
            let len: usize = std::str::from_utf8(&out[..sp]).unwrap().parse().unwrap();
            assert_eq!(len, out.len(), "value of {n} bytes");
        }
    }

    #[test]
    fn headers_round_trip_long_odd_names_and_huge_sizes() {
        let names: [&[u8]; 4] = [
            b"files/a/short.txt",
            "files/ünïcødé/日本語 with space".as_bytes(),
            b"files/line\nbreak",
            &[b'n'; 300],
        ];
        for name in names {
            for size in [0u64, 1, MAX_USTAR_SIZE, MAX_USTAR_SIZE + 1, 1 << 40] {
                let mut out = Vec::new();
                write_header(&mut out, name, b'0', 0o640, size, 1_700_000_000, b"");
                let m = next_member(&mut out.as_slice()).unwrap().unwrap();
                assert_eq!(m.name, name);
                assert_eq!(m.size, size);
                assert_eq!(m.mode, 0o640);
                assert_eq!(m.mtime, 1_700_000_000);
            }
        }
        let mut out = Vec::new();
        let target = "../ünï/".repeat(40);
        write_header(&mut out, b"files/l", b'2', 0o777, 0, 0, target.as_bytes());
        let m = next_member(&mut out.as_slice()).unwrap().unwrap();
        assert_eq!(m.link, target.as_bytes());
        assert_eq!(m.typeflag, b'2');
    }

    #[test]
    fn a_file_that_shrinks_while_read_is_padded_and_still_verifies() {
        let root = tempfile::tempdir().unwrap();
        let src = root.path().join("src");
        fs::create_dir(&src).unwrap();
        fs::write(src.join("log"), vec![b'x'; 3 * CHUNK]).unwrap();
        let roots = LocalRoots::new(vec![root.path().to_owned()], None);
        let source =
            source_from_value(serde_json::json!({"engine": "files", "paths": [src]})).unwrap();
        let mut dump = source.start_dump(&roots).unwrap();
        let mut archive = Vec::new();
        let mut block = [0u8; BLOCK];
        while dump.current.is_none() {
            let n = dump.read(&mut block).unwrap();
            archive.extend_from_slice(&block[..n]);
        }
        // Opened: cut it short, the header already promised 3 chunks.
        fs::OpenOptions::new()
            .write(true)
            .open(src.join("log"))
            .unwrap()
            .set_len(1000)
            .unwrap();
        dump.read_to_end(&mut archive).unwrap();
        let warnings = dump.warnings.take();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("log shrank while it was read")
                && warnings[0].contains("from byte 1000 to"),
            "{warnings:?}"
        );
        // The manifest (last member) marks the file.
        let text = String::from_utf8_lossy(&archive);
        assert!(
            text.contains("\"shrank\":true"),
            "no shrank mark in the manifest"
        );
        let dest = root.path().join("dest");
        let target =
            target_from_value(serde_json::json!({"engine": "files", "path": dest})).unwrap();
        extract(&mut archive.as_slice(), &target, &roots).unwrap();
        let back = fs::read(dest.join("src/log")).unwrap();
        assert_eq!(back.len(), 3 * CHUNK);
        assert!(back[..1000].iter().all(|b| *b == b'x'));
        assert!(back[1000..].iter().all(|b| *b == 0));
    }

    #[test]
    fn unsafe_member_paths_are_refused() {
        assert_eq!(
            safe_components(b"files/a/b/").unwrap(),
            [&b"a"[..], &b"b"[..]]
        );
        for bad in [
            &b"files/../x"[..],
            b"files/a/../../x",
            b"files/./x",
            b"files//x",
            b"files/",
            b"/etc/passwd",
            b"other/x",
            b"files/a\0b",
        ] {
            assert!(safe_components(bad).is_err(), "{}", show(bad));
        }
    }

    #[test]
    fn config_bounds_name_the_field() {
        let err = |v: Value| source_from_value(v).unwrap_err().to_string();
        assert!(err(serde_json::json!({"engine": "files", "paths": []})).contains("paths"));
        assert!(err(serde_json::json!({"engine": "files", "paths": ["rel"]})).contains("paths[0]"));
        assert!(
            err(serde_json::json!({"engine": "files", "paths": ["/a/x", "/b/x"]}))
                .contains("paths[1]")
        );
        assert!(err(serde_json::json!({"engine": "files", "paths": ["/"]})).contains("paths[0]"));
        let many: Vec<String> = (0..=MAX_PATHS).map(|i| format!("/d/{i}")).collect();
        assert!(err(serde_json::json!({"engine": "files", "paths": many})).contains("paths"));
        assert!(
            err(serde_json::json!({"engine": "files", "paths": ["/a"], "excludes": ["a\nb"]}))
                .contains("excludes[0]")
        );
        assert!(
            err(serde_json::json!({"engine": "files", "paths": ["/a"], "extra": 1}))
                .contains("extra")
        );
        let long = format!("/{}", "x".repeat(MAX_PATH_LEN));
        assert!(err(serde_json::json!({"engine": "files", "paths": [long]})).contains("paths[0]"));
    }
}
