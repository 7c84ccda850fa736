//! Database engines; one module per engine.

pub mod files;
pub mod mariadb;
pub mod mongodb;
pub mod pg_tools;
pub mod placement;
pub mod postgres;
mod probe;
pub mod process;
pub mod redis;
pub mod sqlite;
mod ssh_probe;

use std::io::Read;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::Error;
use crate::storage::LocalRoots;
use crate::Config;

pub use dbackup_protocol::probe::{ProbeDatabase, ProbeResult};
pub use dbackup_protocol::tasks::Privileged;

/// Dispatches a probe request body to the engine it names.
pub(crate) async fn probe(config: &Config, body: Value) -> Result<ProbeResult, Error> {
    let Value::Object(map) = body else {
        return Err(Error::InvalidBody("expected a JSON object".into()));
    };
    let engine = match map.get("engine") {
        Some(Value::String(engine)) => engine.clone(),
        Some(_) => return Err(Error::InvalidBody("engine: expected a string".into())),
        None => return Err(Error::InvalidBody("missing field `engine`".into())),
    };
    if map.get("ssh").is_some_and(|v| !v.is_null()) {
        return ssh_probe::probe(config, map).await;
    }
    match engine.as_str() {
        postgres::ENGINE => postgres::probe(config, Fields::new(map)).await,
        mariadb::ENGINE | mariadb::ENGINE_MYSQL => probe::mariadb(config, map).await,
        sqlite::ENGINE => probe::sqlite(config, map).await,
        redis::ENGINE | "valkey" => probe::redis(config, map).await,
        "mongodb" => probe::mongodb(config, Fields::new(map)).await,
        files::ENGINE => files::probe(&config.local_roots, map),
        other => Err(Error::UnsupportedEngine(truncate(other, 64))),
    }
}

/// The database a backup reads from.
#[derive(Debug, Clone)]
pub enum Source {
    /// PostgreSQL (`database` in the connection is the DB dumped).
    Postgres(postgres::PgConnection),
    /// MariaDB/MySQL.
    MariaDb(mariadb::MariaConnection),
    /// SQLite file.
    Sqlite(sqlite::SqliteFile),
    /// Redis/Valkey server.
    Redis(redis::RedisConnection),
    /// MongoDB (`database` none = every database in one archive).
    Mongo(mongodb::MongoConnection),
    /// Directories streamed as a tar archive.
    Files(files::FilesSource),
    /// Another source whose tools run on an SSH host (`ssh` in the source object).
    Ssh(Box<Source>, crate::ssh::Login),
}

/// Where a restore writes to.
#[derive(Debug, Clone)]
pub enum Target {
    /// PostgreSQL (`database` in the connection is the target DB; created if missing).
    Postgres(postgres::PgConnection),
    /// MariaDB/MySQL (`database` is the target DB; created if missing).
    MariaDb(mariadb::MariaConnection),
    /// SQLite file (replaced; the old file kept as a safety copy).
    Sqlite(sqlite::SqliteFile),
    /// Redis RDB file placement.
    Redis(redis::RdbTarget),
    /// MongoDB (`mongorestore`, renames via `--nsFrom/--nsTo`).
    Mongo(mongodb::MongoTarget),
    /// A directory the files archive is extracted into.
    Files(files::FilesTarget),
    /// Another target whose tools run on an SSH host (`ssh` in the target object).
    Ssh(Box<Target>, crate::ssh::Login),
}

/// Takes the optional `ssh` object out of a source/target; only engines whose tools stream
/// through stdin/stdout may use it (`dump_only`: also Redis, whose restore places a file).
fn take_ssh(
    map: &mut Map<String, Value>,
    engine: &str,
    field: &str,
    dump_only: bool,
) -> Result<Option<crate::ssh::Login>, Error> {
    let value = match map.remove("ssh") {
        None | Some(Value::Null) => return Ok(None),
        Some(v) => v,
    };
    let allowed = match engine {
        postgres::ENGINE | mariadb::ENGINE | mariadb::ENGINE_MYSQL | sqlite::ENGINE => true,
        // Files: the trees are read over SFTP; a restore writes on the worker's machine.
        redis::ENGINE | "valkey" | files::ENGINE => dump_only,
        _ => false,
    };
    if !allowed {
        return Err(Error::InvalidBody(format!(
            "{field}.ssh: not supported for engine {}",
            truncate(engine, 64)
        )));
    }
    crate::ssh::Login::from_value(value, &format!("{field}.ssh"))
        .map(Some)
        .map_err(Error::InvalidBody)
}

fn object_and_engine(body: Value, field: &str) -> Result<(Map<String, Value>, String), Error> {
    let Value::Object(map) = body else {
        return Err(Error::InvalidBody(format!(
            "{field}: expected a JSON object"
        )));
    };
    let engine = match map.get("engine") {
        Some(Value::String(engine)) => engine.clone(),
        _ => {
            return Err(Error::InvalidBody(format!(
                "{field}.engine: expected a string"
            )))
        }
    };
    Ok((map, engine))
}

fn prefix_field(field: &str, e: Error) -> Error {
    match e {
        Error::InvalidBody(d) => Error::InvalidBody(format!("{field}.{d}")),
        other => other,
    }
}

impl Source {
    /// Parses the `source` object of a backup request.
    pub(crate) fn from_value(body: Value) -> Result<Self, Error> {
        let (mut map, engine) = object_and_engine(body, "source")?;
        let ssh = take_ssh(&mut map, &engine, "source", true)?;
        let parsed = match engine.as_str() {
            postgres::ENGINE => {
                postgres::PgConnection::from_fields(Fields::new(map)).map(Source::Postgres)
            }
            mariadb::ENGINE | mariadb::ENGINE_MYSQL => {
                mariadb::MariaConnection::from_fields(Fields::new(map)).map(Source::MariaDb)
            }
            sqlite::ENGINE => serde_json::from_value::<sqlite::SqliteFile>(Value::Object(map))
                .map_err(|e| Error::InvalidBody(e.to_string()))
                .and_then(|f| f.validate().map(|()| Source::Sqlite(f))),
            redis::ENGINE | "valkey" => {
                redis::RedisConnection::from_fields(Fields::new(map)).map(Source::Redis)
            }
            mongodb::ENGINE => {
                mongodb::MongoConnection::from_fields(Fields::new(map)).map(Source::Mongo)
            }
            files::ENGINE => files::FilesSource::from_fields(Fields::new(map)).map(Source::Files),
            other => return Err(Error::UnsupportedEngine(truncate(other, 64))),
        };
        let parsed = parsed.map_err(|e| prefix_field("source", e))?;
        Ok(match ssh {
            Some(login) => Source::Ssh(Box::new(parsed), login),
            None => parsed,
        })
    }

    /// Engine name.
    pub fn engine(&self) -> &'static str {
        match self {
            Source::Postgres(_) => postgres::ENGINE,
            Source::MariaDb(_) => mariadb::ENGINE,
            Source::Sqlite(_) => sqlite::ENGINE,
            Source::Redis(_) => redis::ENGINE,
            Source::Mongo(_) => mongodb::ENGINE,
            Source::Files(_) => files::ENGINE,
            Source::Ssh(inner, _) => inner.engine(),
        }
    }

    /// The database name used in object names and metadata.
    pub fn database(&self) -> String {
        match self {
            Source::Postgres(c) => c.database.clone(),
            Source::MariaDb(c) => c.database.clone(),
            Source::Sqlite(f) => f.label(),
            Source::Redis(_) => "redis".into(),
            Source::Mongo(c) => c.database.clone().unwrap_or_else(|| "all".into()),
            Source::Files(f) => f.label(),
            Source::Ssh(inner, _) => inner.database(),
        }
    }

    /// Whether several databases can go into one backup (a TAR of per-database dumps).
    pub fn supports_multi(&self) -> bool {
        if let Source::Ssh(inner, _) = self {
            return inner.supports_multi();
        }
        matches!(
            self,
            Source::Postgres(_) | Source::MariaDb(_) | Source::Mongo(_)
        )
    }

    /// The same server, another database.
    pub fn with_database(&self, database: &str) -> Source {
        match self {
            Source::Postgres(c) => Source::Postgres(postgres::PgConnection {
                database: database.to_owned(),
                ..c.clone()
            }),
            Source::MariaDb(c) => Source::MariaDb(mariadb::MariaConnection {
                database: database.to_owned(),
                ..c.clone()
            }),
            Source::Mongo(c) => Source::Mongo(mongodb::MongoConnection {
                database: Some(database.to_owned()),
                ..c.clone()
            }),
            Source::Ssh(inner, login) => {
                Source::Ssh(Box::new(inner.with_database(database)), login.clone())
            }
            other => other.clone(),
        }
    }

    /// The server's non-system databases (for `databases: []`).
    pub fn list_databases(
        &self,
        config: &Config,
        slot: &process::ChildSlot,
    ) -> Result<Vec<String>, String> {
        match self {
            Source::Postgres(c) => postgres::list_databases(c, config, slot),
            Source::MariaDb(c) => mariadb::list_databases(c, slot),
            Source::Ssh(inner, login) => {
                slot.with_remote(login, || inner.list_databases(config, slot))
            }
            Source::Mongo(_) => {
                Err("MongoDB: leave `databases` out or empty to dump every database".into())
            }
            _ => Err("several databases per backup: only for PostgreSQL and MariaDB/MySQL".into()),
        }
    }

    /// File extension of the raw dump.
    pub fn extension(&self) -> &'static str {
        match self {
            Source::Postgres(_) => "dump",
            Source::MariaDb(_) => "sql",
            Source::Sqlite(_) => "db",
            Source::Redis(_) => "rdb",
            Source::Mongo(_) => "archive",
            Source::Files(_) => "tar",
            // Over SSH a SQLite database travels as its `.dump` (sqlite::start_remote_dump).
            Source::Ssh(inner, _) if matches!(**inner, Source::Sqlite(_)) => "sql",
            Source::Ssh(inner, _) => inner.extension(),
        }
    }

    /// Client tool version line, for the metadata.
    pub fn tool_version(&self, _config: &Config) -> Option<String> {
        match self {
            // Known only once the tool is matched to the server (see Dump).
            Source::Postgres(_) => None,
            Source::MariaDb(_) => mariadb::version(),
            Source::Sqlite(_) => sqlite::version(),
            Source::Redis(_) => redis::version(),
            Source::Mongo(_) => mongodb::version(),
            Source::Files(_) => None,
            // The remote tool's version is not asked (PostgreSQL reports it per dump).
            Source::Ssh(..) => None,
        }
    }

    /// The database file this source reads (SQLite) must lie outside the worker's data
    /// directory ([`LocalRoots::check_file`]); the error names `source.path`. Checked when a
    /// task or probe is accepted and again when the dump starts.
    pub fn check_paths(&self, roots: &LocalRoots) -> std::io::Result<()> {
        match self {
            Source::Sqlite(f) => roots.check_file(&f.path, "source.path").map(drop),
            Source::Files(f) => f.check_paths(roots),
            // Paths on the SSH host are that host's business.
            Source::Ssh(..) => Ok(()),
            _ => Ok(()),
        }
    }

    /// Starts the dump. Blocking (SQLite makes its copy here).
    pub fn start_dump(&self, config: &Config, slot: &process::ChildSlot) -> Result<Dump, String> {
        if let Source::Ssh(inner, login) = self {
            if let Source::Sqlite(f) = &**inner {
                return slot.with_remote(login, || {
                    Dump::from_process(sqlite::start_remote_dump(f, slot)?, None)
                });
            }
            if let Source::Files(f) = &**inner {
                let tar = f.start_remote_dump(login)?;
                return Ok(Dump {
                    warnings: Some(tar.warnings.clone()),
                    reader: Box::new(tar),
                    process: None,
                    server_version: None,
                    tool_version: None,
                    _guard: None,
                });
            }
            return slot.with_remote(login, || inner.start_dump(config, slot));
        }
        self.check_paths(&config.local_roots)
            .map_err(|e| e.to_string())?;
        Ok(match self {
            Source::Postgres(c) => {
                let started = postgres::start_dump(c, config, slot)?;
                let mut dump = Dump::from_process(started.process, None)?;
                dump.server_version = Some(started.server_version);
                dump.tool_version = Some(started.tool_version);
                dump
            }
            Source::MariaDb(c) => {
                let (p, dir) = mariadb::start_dump(c, slot)?;
                Dump::from_process(p, Some(dir))?
            }
            Source::Sqlite(f) => {
                let (reader, dir) = sqlite::start_dump(f, slot)?;
                Dump {
                    reader,
                    process: None,
                    server_version: None,
                    tool_version: None,
                    warnings: None,
                    _guard: Some(dir),
                }
            }
            Source::Redis(c) => Dump::from_process(redis::start_dump(c, slot)?, None)?,
            Source::Mongo(c) => {
                let (p, dir) = mongodb::start_dump(c, slot)?;
                Dump::from_process(p, Some(dir))?
            }
            Source::Files(f) => {
                let tar = f.start_dump(&config.local_roots)?;
                Dump {
                    warnings: Some(tar.warnings.clone()),
                    reader: Box::new(tar),
                    process: None,
                    server_version: None,
                    tool_version: None,
                    _guard: None,
                }
            }
            Source::Ssh(..) => return Err("internal: nested SSH source".into()),
        })
    }
}

/// A dump in progress: its byte stream and the tool producing it.
pub struct Dump {
    /// The dump bytes.
    pub reader: Box<dyn Read + Send>,
    /// The tool, if one is still running.
    pub process: Option<process::Process>,
    /// The source server's version, when the engine asked for it (PostgreSQL).
    pub server_version: Option<String>,
    /// Version line of the tool matched to the server, when chosen per task.
    pub tool_version: Option<String>,
    /// What the dump noticed without failing (a files source: skipped entries, files that
    /// shrank while read), for the execution log.
    pub warnings: Option<files::Warnings>,
    _guard: Option<process::PrivateDir>,
}

impl Dump {
    /// This dump as one database of a multi-database archive: `finish` waits for the tool.
    pub fn into_part_source(self, slot: &process::ChildSlot) -> crate::multi::PartSource<'_> {
        let Dump {
            reader,
            process,
            server_version,
            tool_version,
            _guard,
            ..
        } = self;
        crate::multi::PartSource {
            reader,
            finish: Box::new(move || {
                let _guard = _guard;
                process.map(|p| p.wait(slot)).transpose().map(|_| ())
            }),
            server_version,
            tool_version,
        }
    }

    fn from_process(
        mut p: process::Process,
        guard: Option<process::PrivateDir>,
    ) -> Result<Self, String> {
        let stdout = p
            .take_stdout()
            .ok_or_else(|| format!("{} has no stdout", p.tool))?;
        Ok(Dump {
            reader: Box::new(stdout),
            process: Some(p),
            server_version: None,
            tool_version: None,
            warnings: None,
            _guard: guard,
        })
    }
}

impl Target {
    /// Parses the `target` object of a restore request.
    pub(crate) fn from_value(body: Value) -> Result<Self, Error> {
        let (mut map, engine) = object_and_engine(body, "target")?;
        let ssh = take_ssh(&mut map, &engine, "target", false)?;
        let parsed = match engine.as_str() {
            postgres::ENGINE => {
                postgres::PgConnection::from_fields(Fields::new(map)).map(Target::Postgres)
            }
            mariadb::ENGINE | mariadb::ENGINE_MYSQL => {
                mariadb::MariaConnection::from_fields(Fields::new(map)).map(Target::MariaDb)
            }
            sqlite::ENGINE => serde_json::from_value::<sqlite::SqliteFile>(Value::Object(map))
                .map_err(|e| Error::InvalidBody(e.to_string()))
                .and_then(|f| f.validate().map(|()| Target::Sqlite(f))),
            redis::ENGINE | "valkey" => {
                serde_json::from_value::<redis::RdbTarget>(Value::Object(map))
                    .map_err(|e| Error::InvalidBody(e.to_string()))
                    .and_then(|t| {
                        if t.rdb_path.is_absolute() {
                            Ok(Target::Redis(t))
                        } else {
                            Err(Error::InvalidBody("rdbPath: must be absolute".into()))
                        }
                    })
            }
            files::ENGINE => files::FilesTarget::from_fields(Fields::new(map)).map(Target::Files),
            mongodb::ENGINE => {
                mongodb::MongoConnection::from_fields(Fields::new(map)).map(|conn| {
                    Target::Mongo(mongodb::MongoTarget {
                        conn,
                        renames: Vec::new(),
                    })
                })
            }
            other => return Err(Error::UnsupportedEngine(truncate(other, 64))),
        };
        let parsed = parsed.map_err(|e| prefix_field("target", e))?;
        Ok(match ssh {
            Some(login) => Target::Ssh(Box::new(parsed), login),
            None => parsed,
        })
    }

    /// Leading bytes every valid payload for this target starts with (checked before the
    /// target is touched), if the format has a magic.
    pub fn payload_magic(&self) -> Option<&'static [u8]> {
        match self {
            Target::Postgres(_) => Some(b"PGDMP"),
            Target::MariaDb(_) => None,
            // A database file or a `.dump`'s SQL text (sqlite::payload_of, in preflight).
            Target::Sqlite(_) => None,
            Target::Redis(_) => Some(b"REDIS"),
            Target::Mongo(_) => Some(mongodb::MAGIC),
            Target::Files(_) => Some(files::HEADER_ENTRY.as_bytes()),
            Target::Ssh(inner, _) => inner.payload_magic(),
        }
    }

    /// Checks, before anything is written, that the payload starting with `head` can go onto
    /// this target, and chooses the tools (PostgreSQL: server-version check, version-matched
    /// `pg_restore`; a newer-major dump is refused unless `force`).
    pub fn preflight(
        &self,
        config: &Config,
        head: &[u8],
        force: bool,
        slot: &process::ChildSlot,
    ) -> Result<Preflight, String> {
        if let Target::Ssh(inner, login) = self {
            return slot.with_remote(login, || inner.preflight(config, head, force, slot));
        }
        Ok(match self {
            Target::Postgres(c) => Preflight {
                pg: Some(postgres::plan_restore(c, config, head, force, slot)?),
                ..Preflight::default()
            },
            Target::Redis(t) => {
                redis::check_rdb_version(t, head)?;
                Preflight::default()
            }
            Target::Sqlite(_) => Preflight {
                sqlite: Some(sqlite::payload_of(head)?),
                ..Preflight::default()
            },
            _ => Preflight::default(),
        })
    }

    /// The same server, database `source` of a multi-database archive restored as `database`.
    pub fn for_database(&self, source: &str, database: &str) -> Result<Target, String> {
        match self {
            Target::Ssh(inner, login) => Ok(Target::Ssh(
                Box::new(inner.for_database(source, database)?),
                login.clone(),
            )),
            Target::Mongo(t) => {
                mongodb::check_rename(source, database)?;
                Ok(Target::Mongo(mongodb::MongoTarget {
                    conn: t.conn.clone(),
                    renames: vec![(source.to_owned(), database.to_owned())],
                }))
            }
            Target::Postgres(c) => Ok(Target::Postgres(postgres::PgConnection {
                database: database.to_owned(),
                ..c.clone()
            })),
            Target::MariaDb(c) => Ok(Target::MariaDb(mariadb::MariaConnection {
                database: database.to_owned(),
                ..c.clone()
            })),
            _ => Err(
                "a multi-database backup restores only onto PostgreSQL, MariaDB/MySQL or MongoDB"
                    .into(),
            ),
        }
    }

    /// Creates the target database if missing (client-server engines only), with the
    /// `privileged` account when given.
    pub fn prepare(
        &self,
        pre: &Preflight,
        privileged: Option<&Privileged>,
        slot: &process::ChildSlot,
    ) -> Result<(), String> {
        match self {
            Target::Postgres(c) => {
                postgres::create_database_if_missing(c, pre.pg()?, privileged, slot)
            }
            Target::MariaDb(c) => mariadb::create_database_if_missing(c, privileged, slot),
            Target::Ssh(inner, login) => {
                slot.with_remote(login, || inner.prepare(pre, privileged, slot))
            }
            Target::Sqlite(_) | Target::Redis(_) | Target::Mongo(_) | Target::Files(_) => Ok(()),
        }
    }

    /// The file this target writes (SQLite database, Redis/Valkey RDB) must lie outside the
    /// worker's data directory ([`LocalRoots::check_file`]); the error names `target.path` or
    /// `target.rdbPath`. Checked when the restore is accepted and again when it starts.
    pub fn check_paths(&self, roots: &LocalRoots) -> std::io::Result<()> {
        match self {
            Target::Sqlite(f) => roots.check_file(&f.path, "target.path").map(drop),
            Target::Redis(t) => roots.check_file(&t.rdb_path, "target.rdbPath").map(drop),
            Target::Files(t) => t.check_paths(roots),
            Target::Ssh(..) => Ok(()),
            _ => Ok(()),
        }
    }

    /// Starts the restore: a tool reading stdin, or a file placement.
    pub fn start_restore(
        &self,
        config: &Config,
        pre: &Preflight,
        slot: &process::ChildSlot,
    ) -> Result<Restore, String> {
        if let Target::Ssh(inner, login) = self {
            if let Target::Sqlite(f) = &**inner {
                let payload = pre.sqlite()?;
                return slot.with_remote(login, || {
                    sqlite::start_remote_restore(f, payload, slot).map(Restore::Tool)
                });
            }
            return slot.with_remote(login, || inner.start_restore(config, pre, slot));
        }
        self.check_paths(&config.local_roots)
            .map_err(|e| e.to_string())?;
        Ok(match self {
            Target::Postgres(c) => {
                Restore::from_process(postgres::start_restore(c, pre.pg()?, slot)?, None)?
            }
            Target::MariaDb(c) => {
                let (p, dir) = mariadb::start_restore(c, slot)?;
                Restore::from_process(p, Some(dir))?
            }
            Target::Sqlite(f) => match pre.sqlite()? {
                sqlite::Payload::File => Restore::Placement(sqlite::start_restore(f)?),
                sqlite::Payload::Sql => Restore::Tool(sqlite::start_sql_restore(f, slot)?),
            },
            Target::Redis(t) => Restore::Placement(redis::start_restore(t)?),
            Target::Mongo(t) => {
                let (p, dir) = mongodb::start_restore(t, slot)?;
                Restore::from_process(p, Some(dir))?
            }
            Target::Files(t) => Restore::Files(files::Extract::start(t, &config.local_roots)?),
            Target::Ssh(..) => return Err("internal: nested SSH target".into()),
        })
    }

    /// Completes a restore whose stream was fully written; returns the safety copy, if any.
    pub fn finish_restore(
        &self,
        restore: Restore,
        slot: &process::ChildSlot,
    ) -> Result<Option<std::path::PathBuf>, String> {
        match (self, restore) {
            (Target::Ssh(_, login), Restore::Tool(t)) => slot.with_remote(login, || t.finish(slot)),
            (_, Restore::Tool(t)) => t.finish(slot),
            (
                _,
                Restore::Process {
                    stdin,
                    process,
                    _guard,
                },
            ) => {
                drop(stdin);
                process.wait(slot).map(|_| None)
            }
            (Target::Sqlite(_), Restore::Placement(p)) => sqlite::finish_restore(p, slot),
            (Target::Redis(t), Restore::Placement(p)) => redis::finish_restore(p, t),
            (_, Restore::Files(x)) => x.finish().map(|_| None),
            (_, Restore::Placement(_)) => Err("internal: placement for a server target".into()),
        }
    }

    /// Ends a restore whose stream failed without swapping anything in; returns the tool's
    /// own error when it has one (it explains a broken pipe better than the pipe does).
    pub fn abort_restore(&self, restore: Restore, slot: &process::ChildSlot) -> Option<String> {
        match (self, restore) {
            (Target::Ssh(_, login), Restore::Tool(t)) => slot.with_remote(login, || t.abort(slot)),
            (_, Restore::Tool(t)) => t.abort(slot),
            (_, other) => self.finish_restore(other, slot).err(),
        }
    }
}

/// What [`Target::preflight`] decided.
#[derive(Debug, Default)]
pub struct Preflight {
    pg: Option<postgres::PgRestorePlan>,
    sqlite: Option<sqlite::Payload>,
}

impl Preflight {
    fn sqlite(&self) -> Result<sqlite::Payload, String> {
        self.sqlite
            .ok_or_else(|| "internal: SQLite restore without preflight".to_owned())
    }

    fn pg(&self) -> Result<&postgres::PgRestorePlan, String> {
        self.pg
            .as_ref()
            .ok_or_else(|| "internal: PostgreSQL restore without preflight".to_owned())
    }

    /// The target server's version, when it was asked (PostgreSQL).
    pub fn target_version(&self) -> Option<&str> {
        self.pg.as_ref().map(|p| p.target_version.as_str())
    }

    /// The source server's version recorded in the dump, when the format carries it.
    pub fn source_version(&self) -> Option<&str> {
        self.pg
            .as_ref()
            .and_then(|p| p.archive.as_ref())
            .and_then(|a| a.server_version.as_deref())
    }
}

/// A restore in progress.
pub enum Restore {
    /// A client tool reading the dump on stdin.
    Process {
        /// The tool's stdin.
        stdin: Box<dyn std::io::Write + Send>,
        /// The tool.
        process: process::Process,
        /// Keeps the defaults file alive.
        _guard: Option<process::PrivateDir>,
    },
    /// A file being placed.
    Placement(placement::Placement),
    /// A files archive being extracted.
    Files(files::Extract),
    /// A SQLite target fed through a tool (SQL text, or any payload over SSH).
    Tool(sqlite::ToolRestore),
}

impl Restore {
    fn from_process(
        mut process: process::Process,
        guard: Option<process::PrivateDir>,
    ) -> Result<Self, String> {
        let stdin = process
            .take_stdin()
            .ok_or_else(|| format!("{} has no stdin", process.tool))?;
        Ok(Restore::Process {
            stdin,
            process,
            _guard: guard,
        })
    }

    /// The sink the decompressed stream is copied into.
    pub fn writer(&mut self) -> &mut dyn std::io::Write {
        match self {
            Restore::Process { stdin, .. } => stdin,
            Restore::Placement(p) => p,
            Restore::Files(x) => x,
            Restore::Tool(t) => t,
        }
    }
}

/// Field-by-field access to a JSON object so that every error names its field.
pub(crate) struct Fields {
    map: Map<String, Value>,
}

impl Fields {
    pub(crate) fn new(map: Map<String, Value>) -> Self {
        Fields { map }
    }

    /// Takes a required field.
    pub(crate) fn required<T: DeserializeOwned>(&mut self, name: &str) -> Result<T, Error> {
        self.optional(name)?
            .ok_or_else(|| Error::InvalidBody(format!("missing field `{name}`")))
    }

    /// Takes an optional field; `null` counts as absent.
    pub(crate) fn optional<T: DeserializeOwned>(&mut self, name: &str) -> Result<Option<T>, Error> {
        match self.map.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => serde_json::from_value(value)
                .map(Some)
                .map_err(|e| Error::InvalidBody(format!("{name}: {e}"))),
        }
    }

    /// Fails if any field was not taken (catches typos such as `sslMode`).
    pub(crate) fn finish(self) -> Result<(), Error> {
        match self.map.keys().next() {
            Some(name) => Err(Error::InvalidBody(format!(
                "unknown field `{}`",
                truncate(name, 64)
            ))),
            None => Ok(()),
        }
    }
}

/// Shortens user-supplied text that is echoed back in an error.
fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((index, _)) => format!("{}…", &text[..index]),
        None => text.to_owned(),
    }
}

/// Rejects a string that is empty or contains whitespace/control characters.
pub(crate) fn require_token_like(field: &str, value: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Err(Error::InvalidBody(format!("{field}: must not be empty")));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::InvalidBody(format!(
            "{field}: must not contain whitespace or control characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_name_the_field() {
        let Value::Object(map) = json!({"port": "x", "extra": 1}) else {
            unreachable!()
        };
        let mut fields = Fields::new(map);
        let err = fields.required::<i64>("port").unwrap_err().to_string();
        assert!(err.contains("port:"), "{err}");
        let err = fields.required::<String>("host").unwrap_err().to_string();
        assert!(err.contains("`host`"), "{err}");
        let err = fields.finish().unwrap_err().to_string();
        assert!(err.contains("`extra`"), "{err}");
    }

    #[test]
    fn truncates_long_text() {
        assert_eq!(truncate("abc", 2), "ab…");
        assert_eq!(truncate("ab", 2), "ab");
    }
}
