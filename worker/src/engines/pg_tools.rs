//! Version-matched PostgreSQL client tools and the custom-format archive header.
//!
//! `pg_dump` refuses a server newer than itself, and `pg_restore` refuses an archive written
//! by a newer `pg_dump`. The worker therefore looks for tool sets (directories holding
//! `pg_dump`, `pg_restore`, `psql`) in `DBACKUP_PG_BIN_DIRS`, `/usr/lib/postgresql/*/bin`
//! and `PATH`, and picks, per task, the lowest major that is at least the one required.

use std::path::PathBuf;

use dbackup_protocol::PgMajor;

/// Directory pattern of Debian/Ubuntu's versioned PostgreSQL installs.
const DEBIAN_PG_LIB: &str = "/usr/lib/postgresql";

/// One directory of PostgreSQL client tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgTools {
    /// The `bin` directory.
    pub dir: PathBuf,
    /// Major version of its `pg_dump` (`psql` when there is no `pg_dump`).
    pub major: PgMajor,
    /// The tool's version line, e.g. `pg_dump (PostgreSQL) 17.11`.
    pub version_line: String,
}

impl PgTools {
    /// Path of `tool` in this set, if it is there.
    pub fn tool(&self, tool: &str) -> Option<PathBuf> {
        let path = self.dir.join(tool);
        crate::tools::is_executable(&path).then_some(path)
    }
}

/// Candidate directories, in order of preference: configured, Debian's, `PATH`.
fn candidate_dirs(configured: &[PathBuf]) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = configured.to_vec();
    let mut debian: Vec<PathBuf> = std::fs::read_dir(DEBIAN_PG_LIB)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    debian.sort();
    dirs.extend(debian);
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    let mut seen = Vec::new();
    dirs.retain(|d| {
        if d.as_os_str().is_empty() {
            return false;
        }
        let key = std::fs::canonicalize(d).unwrap_or_else(|_| d.clone());
        if seen.contains(&key) {
            false
        } else {
            seen.push(key);
            true
        }
    });
    dirs
}

/// Every tool set found, in order of preference (see [`candidate_dirs`]).
pub fn discover(configured: &[PathBuf]) -> Vec<PgTools> {
    candidate_dirs(configured)
        .into_iter()
        .filter_map(|dir| {
            let probe = ["pg_dump", "psql"]
                .iter()
                .map(|t| dir.join(t))
                .find(|p| crate::tools::is_executable(p))?;
            if is_pg_wrapper(&probe) {
                return None;
            }
            let line = cached_version(&probe)?;
            let major = PgMajor::from_version_line(&line)?;
            Some(PgTools {
                dir,
                major,
                version_line: line,
            })
        })
        .collect()
}

/// Debian's `pg_wrapper` (`/usr/bin/pg_dump` → `…/postgresql-common/pg_wrapper`) is a Perl
/// script that runs a tool from `/usr/lib/postgresql/*/bin`, which are candidates already;
/// going through it costs a Perl start (0.1–0.4 s) per call, so it is skipped.
fn is_pg_wrapper(tool: &std::path::Path) -> bool {
    std::fs::canonicalize(tool)
        .ok()
        .and_then(|p| p.file_name().map(|n| n == "pg_wrapper"))
        .unwrap_or(false)
}

/// `tool --version` of `probe`, remembered per path while the file's size and mtime stay the
/// same: discovery runs before every PostgreSQL task, and a `--version` per directory (one
/// through Debian's Perl `pg_wrapper` in `/usr/bin`) cost ~150 ms of each backup's start.
fn cached_version(probe: &std::path::Path) -> Option<String> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    type Stamp = (u64, Option<std::time::SystemTime>);
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, (Stamp, String)>>> = OnceLock::new();
    let meta = std::fs::metadata(probe).ok()?;
    let stamp: Stamp = (meta.len(), meta.modified().ok());
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some((seen, line)) = cache.lock().ok()?.get(probe) {
        if *seen == stamp {
            return Some(line.clone());
        }
    }
    let line = super::process::tool_version(probe)?;
    if let Ok(mut c) = cache.lock() {
        c.insert(probe.to_path_buf(), (stamp, line.clone()));
    }
    Some(line)
}

/// Picks the set with the lowest major ≥ `min_major` that has `tool` (ties: the earlier,
/// i.e. configured before discovered). The error names what was found and what to do.
pub fn select(
    sets: &[PgTools],
    min_major: PgMajor,
    tool: &str,
) -> Result<(PgTools, PathBuf), String> {
    let mut best: Option<(&PgTools, PathBuf)> = None;
    for set in sets.iter().filter(|s| s.major >= min_major) {
        if let Some(path) = set.tool(tool) {
            if best.as_ref().is_none_or(|(b, _)| set.major < b.major) {
                best = Some((set, path));
            }
        }
    }
    if let Some((set, path)) = best {
        return Ok((set.clone(), path));
    }
    let found: Vec<String> = sets
        .iter()
        .filter(|s| s.tool(tool).is_some())
        .map(|s| format!("{} in {}", s.major, s.dir.display()))
        .collect();
    Err(format!(
        "no {tool} of PostgreSQL {min_major} or newer found ({}); install the client tools of \
         PostgreSQL {min_major}+ and add their bin directory to {}",
        if found.is_empty() {
            "none found".to_owned()
        } else {
            format!("found: {}", found.join(", "))
        },
        crate::config::ENV_PG_BIN_DIRS,
    ))
}

/// Any `psql` (for version queries the newest is the safest choice; among equals the
/// earliest set, so a real binary wins over a `PATH` wrapper script).
pub fn any_psql(sets: &[PgTools]) -> Result<PathBuf, String> {
    let mut best: Option<(PgMajor, PathBuf)> = None;
    for (major, path) in sets
        .iter()
        .filter_map(|s| s.tool("psql").map(|p| (s.major, p)))
    {
        if best.as_ref().is_none_or(|(b, _)| major > *b) {
            best = Some((major, path));
        }
    }
    best.map(|(_, p)| p).ok_or_else(|| {
        format!(
            "psql not found (searched {}, {DEBIAN_PG_LIB}/*/bin and PATH)",
            crate::config::ENV_PG_BIN_DIRS
        )
    })
}

/// What the header of a `pg_dump -Fc` archive says about its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveInfo {
    /// Archive format version (`major.minor.rev`), e.g. `1.14.0`.
    pub format: (u8, u8, u8),
    /// The dumped database's name.
    pub database: Option<String>,
    /// `server_version` of the dumped server, e.g. `17.11`.
    pub server_version: Option<String>,
    /// Version of the `pg_dump` that wrote it, e.g. `18.6`.
    pub dump_version: Option<String>,
}

/// Archive format version 1.15 (PostgreSQL 16) stores the compression algorithm as a byte.
const K_VERS_1_15: (u8, u8, u8) = (1, 15, 0);
/// Since 1.10 the header carries the server and pg_dump versions.
const K_VERS_1_10: (u8, u8, u8) = (1, 10, 0);

/// Parses the header of a custom-format archive (`PGDMP…`); `None` when `head` is not one
/// or is too short to hold the version fields.
pub fn parse_archive_header(head: &[u8]) -> Option<ArchiveInfo> {
    let mut r = HeaderReader {
        data: head.strip_prefix(b"PGDMP")?,
        int_size: 4,
    };
    let format = (r.byte()?, r.byte()?, r.byte()?);
    if format < K_VERS_1_10 {
        return Some(ArchiveInfo {
            format,
            database: None,
            server_version: None,
            dump_version: None,
        });
    }
    r.int_size = usize::from(r.byte()?);
    if !(1..=8).contains(&r.int_size) {
        return None;
    }
    let _off_size = r.byte()?;
    let _archive_format = r.byte()?;
    if format >= K_VERS_1_15 {
        r.byte()?; // compression algorithm
    } else {
        r.int()?; // compression level
    }
    for _ in 0..7 {
        r.int()?; // creation time: sec, min, hour, mday, mon, year, isdst
    }
    let database = r.string()?;
    let server_version = r.string()?;
    let dump_version = r.string()?;
    Some(ArchiveInfo {
        format,
        database,
        server_version,
        dump_version,
    })
}

struct HeaderReader<'a> {
    data: &'a [u8],
    int_size: usize,
}

impl HeaderReader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.data.split_first()?;
        self.data = rest;
        Some(b)
    }

    /// pg_dump's `WriteInt`: a sign byte, then `int_size` bytes little-endian.
    fn int(&mut self) -> Option<i64> {
        let negative = self.byte()? != 0;
        let mut value: i64 = 0;
        for i in 0..self.int_size {
            value |= i64::from(self.byte()?) << (8 * i);
        }
        Some(if negative { -value } else { value })
    }

    /// `WriteStr`: a length (−1 = NULL), then the bytes.
    fn string(&mut self) -> Option<Option<String>> {
        let len = self.int()?;
        if len < 0 {
            return Some(None);
        }
        let len = usize::try_from(len).ok().filter(|l| *l <= 1024)?;
        if self.data.len() < len {
            return None;
        }
        let (s, rest) = self.data.split_at(len);
        self.data = rest;
        Some(Some(String::from_utf8_lossy(s).into_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(dir: &str, major: PgMajor) -> PgTools {
        PgTools {
            dir: PathBuf::from(dir),
            major,
            version_line: format!("pg_dump (PostgreSQL) {major}.1"),
        }
    }

    #[test]
    fn select_prefers_lowest_sufficient_major_and_explains_misses() {
        let dir = tempfile::tempdir().unwrap();
        let mut sets = Vec::new();
        let nine_six = PgMajor::parse("9.6").unwrap();
        for major in [
            PgMajor::new(18),
            PgMajor::new(15),
            PgMajor::new(17),
            nine_six,
        ] {
            let bin = dir.path().join(major.to_string());
            std::fs::create_dir_all(&bin).unwrap();
            let tool = bin.join("pg_dump");
            std::fs::write(&tool, "#!/bin/sh\n").unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
            sets.push(set(bin.to_str().unwrap(), major));
        }
        let pick = |min: PgMajor| select(&sets, min, "pg_dump").map(|(s, _)| s.major);
        assert_eq!(pick(PgMajor::new(16)), Ok(PgMajor::new(17)));
        assert_eq!(pick(PgMajor::new(15)), Ok(PgMajor::new(15)));
        assert_eq!(pick(PgMajor::new(18)), Ok(PgMajor::new(18)));
        // A 9.6 server needs 9.6 tools or newer; a 9.5 one takes the 9.6 set.
        assert_eq!(pick(nine_six), Ok(nine_six));
        assert_eq!(pick(PgMajor::parse("9.5").unwrap()), Ok(nine_six));
        assert_eq!(pick(PgMajor::parse("9.6.24").unwrap()), Ok(nine_six));
        let err = select(&sets, PgMajor::new(19), "pg_dump").unwrap_err();
        assert!(err.contains("PostgreSQL 19 or newer"), "{err}");
        assert!(err.contains("found: 18 in"), "{err}");
        assert!(err.contains("DBACKUP_PG_BIN_DIRS"), "{err}");
        let err = select(&sets, PgMajor::new(10), "pg_restore").unwrap_err();
        assert!(err.contains("none found"), "{err}");
    }

    /// Builds a header the way pg_dump's WriteHead does.
    fn header(format: (u8, u8, u8), server: &str, dump: &str) -> Vec<u8> {
        fn int(out: &mut Vec<u8>, v: i64) {
            out.push(u8::from(v < 0));
            out.extend_from_slice(&(v.unsigned_abs() as u32).to_le_bytes());
        }
        fn string(out: &mut Vec<u8>, s: &str) {
            int(out, s.len() as i64);
            out.extend_from_slice(s.as_bytes());
        }
        let mut out = b"PGDMP".to_vec();
        out.extend_from_slice(&[format.0, format.1, format.2, 4, 8, 1]);
        if format >= K_VERS_1_15 {
            out.push(0);
        } else {
            int(&mut out, -1);
        }
        for v in [1, 2, 3, 4, 5, 124, 0] {
            int(&mut out, v);
        }
        string(&mut out, "shop");
        string(&mut out, server);
        string(&mut out, dump);
        out.extend_from_slice(b"rest of the archive");
        out
    }

    #[test]
    fn parses_archive_headers_of_both_layouts() {
        let info = parse_archive_header(&header((1, 14, 0), "14.23", "15.19")).unwrap();
        assert_eq!(info.format, (1, 14, 0));
        assert_eq!(info.database.as_deref(), Some("shop"));
        assert_eq!(info.server_version.as_deref(), Some("14.23"));
        assert_eq!(info.dump_version.as_deref(), Some("15.19"));
        let info = parse_archive_header(&header((1, 16, 0), "18.6", "18.6")).unwrap();
        assert_eq!(info.server_version.as_deref(), Some("18.6"));
        assert_eq!(parse_archive_header(b"SQLite format 3"), None);
        let full = header((1, 16, 0), "18.6", "18.6");
        assert_eq!(parse_archive_header(&full[..40]), None, "truncated header");
    }
}
