//! Locating database client tools on disk.

use std::path::{Path, PathBuf};

/// One client tool the worker runs: `names` are alternatives tried in order (the first one
/// found is used), `used_by` is the source engine (`postgresql`, …) or storage (`rclone`)
/// that needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientTool {
    pub used_by: &'static str,
    pub names: &'static [&'static str],
}

/// MariaDB/MySQL dump tool.
pub const MARIADB_DUMP: &[&str] = &["mariadb-dump", "mysqldump"];
/// MariaDB/MySQL client (probe, database list, restore).
pub const MARIADB_CLIENT: &[&str] = &["mariadb", "mysql"];
/// SQLite shell (`.backup`, probe, restore checks).
pub const SQLITE: &[&str] = &["sqlite3"];
/// Redis/Valkey client (`--rdb` dump, probe).
pub const REDIS_CLI: &[&str] = &["redis-cli", "valkey-cli"];
/// MongoDB dump tool (MongoDB's database tools).
pub const MONGODUMP: &[&str] = &["mongodump"];
/// MongoDB restore tool (MongoDB's database tools).
pub const MONGORESTORE: &[&str] = &["mongorestore"];
/// MongoDB shell (probe only).
pub const MONGOSH: &[&str] = &["mongosh", "mongo"];
/// rclone, the storage of FTP/WebDAV/SMB and the cloud drives.
pub const RCLONE: &[&str] = &["rclone"];

/// Every client tool the worker looks for, in one place: the engines find their tools by
/// these names, and `deploy/worker/Containerfile` must install each (tests/tests/deploy.rs
/// checks it). PostgreSQL's are looked for as a set in each major's `bin` directory
/// (`/usr/lib/postgresql/<major>/bin`, `DBACKUP_PG_BIN_DIRS`; see `engines::pg_tools`), and a
/// task uses the set matching its server, so they are needed once per supported major.
pub const CLIENT_TOOLS: &[ClientTool] = &[
    ClientTool {
        used_by: "postgresql",
        names: &["pg_dump"],
    },
    ClientTool {
        used_by: "postgresql",
        names: &["pg_restore"],
    },
    ClientTool {
        used_by: "postgresql",
        names: &["psql"],
    },
    ClientTool {
        used_by: "mariadb",
        names: MARIADB_DUMP,
    },
    ClientTool {
        used_by: "mariadb",
        names: MARIADB_CLIENT,
    },
    ClientTool {
        used_by: "sqlite",
        names: SQLITE,
    },
    ClientTool {
        used_by: "redis",
        names: REDIS_CLI,
    },
    ClientTool {
        used_by: "mongodb",
        names: MONGODUMP,
    },
    ClientTool {
        used_by: "mongodb",
        names: MONGORESTORE,
    },
    ClientTool {
        used_by: "mongodb",
        names: MONGOSH,
    },
    ClientTool {
        used_by: "rclone",
        names: RCLONE,
    },
];

/// The first of `names` found on `PATH` (see [`find_tool`]).
pub fn find_first(names: &[&str]) -> Option<PathBuf> {
    names.iter().find_map(|n| find_tool(n, &[]))
}

/// Finds the executable `name` in `dirs` (in order), then in the directories of `PATH`.
pub fn find_tool(name: &str, dirs: &[PathBuf]) -> Option<PathBuf> {
    let path_dirs = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    dirs.iter()
        .chain(path_dirs.iter())
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// Whether `path` is an executable regular file.
#[cfg(unix)]
pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Whether `path` is a regular file.
#[cfg(not(unix))]
pub fn is_executable(path: &Path) -> bool {
    path.is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_dirs_win_over_path() {
        let dir = std::env::temp_dir().join(format!("dbackup-worker-tools-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fake = dir.join("psql");
        std::fs::write(&fake, "#!/bin/sh\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        assert_eq!(find_tool("psql", std::slice::from_ref(&dir)), Some(fake));
        assert_eq!(
            find_tool("definitely-not-a-tool-xyz", std::slice::from_ref(&dir)),
            None
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
