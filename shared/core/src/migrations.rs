//! Schema migrations: the embedded SQL files, a statement splitter (Spin's `sqlite` `execute`
//! runs one statement per call) and a runner that applies pending migrations atomically under
//! SQLite's write lock.
//!
//! Applied migrations are recorded in `schema_migrations(version, name, checksum, applied_at)`,
//! which the runner creates itself (it is not part of any migration file).

use std::fmt;

use crate::db::{Db, DbError, Value};

/// One migration: a numbered SQL script, applied once, in version order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// Strictly increasing; equals the numeric prefix of `name`.
    pub version: i64,
    /// The file name without `.sql`, e.g. `0001_init`.
    pub name: &'static str,
    /// The whole script (no `BEGIN`/`COMMIT`, no `PRAGMA`: the runner owns the transaction).
    pub sql: &'static str,
}

/// Every migration this build knows, oldest first. Append only: never edit or reorder an entry
/// once it has shipped (the runner refuses a database whose applied checksum differs).
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_init",
        sql: include_str!("../../../migrations/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "0002_identity",
        sql: include_str!("../../../migrations/0002_identity.sql"),
    },
    Migration {
        version: 3,
        name: "0003_adapters",
        sql: include_str!("../../../migrations/0003_adapters.sql"),
    },
    Migration {
        version: 4,
        name: "0004_jobs",
        sql: include_str!("../../../migrations/0004_jobs.sql"),
    },
    Migration {
        version: 5,
        name: "0005_auth",
        sql: include_str!("../../../migrations/0005_auth.sql"),
    },
    Migration {
        version: 6,
        name: "0006_postprocess",
        sql: include_str!("../../../migrations/0006_postprocess.sql"),
    },
    Migration {
        version: 7,
        name: "0007_sso_linking",
        sql: include_str!("../../../migrations/0007_sso_linking.sql"),
    },
    Migration {
        version: 8,
        name: "0008_worker_pool",
        sql: include_str!("../../../migrations/0008_worker_pool.sql"),
    },
    Migration {
        version: 9,
        name: "0009_control_plane",
        sql: include_str!("../../../migrations/0009_control_plane.sql"),
    },
    Migration {
        version: 10,
        name: "0010_encryption_profile_kind",
        sql: include_str!("../../../migrations/0010_encryption_profile_kind.sql"),
    },
    Migration {
        version: 11,
        name: "0011_verify_after_upload",
        sql: include_str!("../../../migrations/0011_verify_after_upload.sql"),
    },
];

/// The schema version this build brings a database to (0 when there are no migrations).
pub fn latest_version() -> i64 {
    latest_of(MIGRATIONS)
}

fn latest_of(migrations: &[Migration]) -> i64 {
    migrations.iter().map(|m| m.version).max().unwrap_or(0)
}

/// A 64-bit FNV-1a digest of `sql`, as 16 lowercase hex digits.
///
/// It detects *accidental* edits of an already-applied migration file; it is not a
/// cryptographic hash and does not protect against deliberate tampering. `\r\n` is hashed as
/// `\n`, so a checkout with Windows line endings yields the same checksum.
pub fn checksum(sql: &str) -> String {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let bytes = sql.as_bytes();
    let mut hash = OFFSET_BASIS;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
            continue;
        }
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(PRIME);
    }
    format!("{hash:016x}")
}

// ---------------------------------------------------------------------------------------------
// Statement splitting
// ---------------------------------------------------------------------------------------------

/// Token classes of the statement-completeness state machine (the one `sqlite3_complete` uses).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tok {
    Semi = 0,
    Ws = 1,
    Other = 2,
    Explain = 3,
    Create = 4,
    Temp = 5,
    Trigger = 6,
    End = 7,
}

const START: u8 = 1;

/// `TRANSITIONS[state][token]`, states: 0 invalid, 1 start, 2 normal, 3 explain, 4 create,
/// 5 inside a trigger, 6 `;` inside a trigger, 7 `; END` inside a trigger. A `;` that leads to
/// state 1 ends a statement; inside a trigger only `; END ;` does.
const TRANSITIONS: [[u8; 8]; 8] = [
    //  SEMI WS OTHER EXPLAIN CREATE TEMP TRIGGER END
    [1, 0, 2, 3, 4, 2, 2, 2], // 0 invalid
    [1, 1, 2, 3, 4, 2, 2, 2], // 1 start
    [1, 2, 2, 2, 2, 2, 2, 2], // 2 normal
    [1, 3, 3, 2, 4, 2, 2, 2], // 3 explain
    [1, 4, 2, 2, 2, 4, 5, 2], // 4 create
    [6, 5, 5, 5, 5, 5, 5, 5], // 5 trigger
    [6, 6, 5, 5, 5, 5, 5, 7], // 6 semi
    [1, 7, 5, 5, 5, 5, 5, 5], // 7 end
];

fn is_id_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// Index just past the quote that closes a quoted token opened at `open`, where a doubled
/// closing quote is an escape (`'it''s'`, `"a""b"`). Unterminated: the end of input.
fn skip_quoted(bytes: &[u8], open: usize, close: u8) -> usize {
    let mut j = open + 1;
    while j < bytes.len() {
        if bytes[j] == close {
            if close != b']' && bytes.get(j + 1) == Some(&close) {
                j += 2;
                continue;
            }
            return j + 1;
        }
        j += 1;
    }
    bytes.len()
}

/// Reads the token at `i`: its class and the index just past it.
fn next_token(bytes: &[u8], i: usize) -> (Tok, usize) {
    let b = bytes[i];
    match b {
        b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => (Tok::Ws, i + 1),
        b'-' if bytes.get(i + 1) == Some(&b'-') => {
            let end = bytes[i..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(bytes.len(), |p| i + p + 1);
            (Tok::Ws, end)
        }
        b'/' if bytes.get(i + 1) == Some(&b'*') => {
            let end = bytes[i + 2..]
                .windows(2)
                .position(|w| w == b"*/")
                .map_or(bytes.len(), |p| i + 2 + p + 2);
            (Tok::Ws, end)
        }
        b'\'' | b'"' | b'`' => (Tok::Other, skip_quoted(bytes, i, b)),
        b'[' => (Tok::Other, skip_quoted(bytes, i, b']')),
        b';' => (Tok::Semi, i + 1),
        _ if is_id_char(b) => {
            let end = bytes[i..]
                .iter()
                .position(|&c| !is_id_char(c))
                .map_or(bytes.len(), |p| i + p);
            let word = &bytes[i..end];
            let tok = if word.eq_ignore_ascii_case(b"create") {
                Tok::Create
            } else if word.eq_ignore_ascii_case(b"trigger") {
                Tok::Trigger
            } else if word.eq_ignore_ascii_case(b"temp") || word.eq_ignore_ascii_case(b"temporary")
            {
                Tok::Temp
            } else if word.eq_ignore_ascii_case(b"end") {
                Tok::End
            } else if word.eq_ignore_ascii_case(b"explain") {
                Tok::Explain
            } else {
                Tok::Other
            };
            (tok, end)
        }
        _ => (Tok::Other, i + 1),
    }
}

/// Splits a SQL script into single statements, each without its terminating `;`.
///
/// Understands `--` and `/* */` comments, `'…'` strings (with `''`), `"…"`, `` `…` `` and
/// `[…]` identifiers, and `CREATE [TEMP] TRIGGER … BEGIN …; …; END;` bodies, whose inner `;` do
/// not end the statement. Comments before a statement and empty or comment-only pieces are
/// dropped; comments inside a statement are kept (SQLite ignores them).
pub fn split_statements(sql: &str) -> Vec<String> {
    let bytes = sql.as_bytes();
    let mut statements = Vec::new();
    let mut state = START;
    // Byte index of the first token of the current statement, once one has been seen.
    let mut start: Option<usize> = None;
    let mut i = 0;
    while i < bytes.len() {
        let (tok, next) = next_token(bytes, i);
        if start.is_none() && tok != Tok::Ws && tok != Tok::Semi {
            start = Some(i);
        }
        state = TRANSITIONS[usize::from(state)][tok as usize];
        if tok == Tok::Semi && state == START {
            if let Some(s) = start.take() {
                // `start` and `i` sit on ASCII bytes, so both are char boundaries.
                statements.push(sql[s..i].trim_end().to_owned());
            }
        }
        i = next;
    }
    if let Some(s) = start {
        let rest = sql[s..].trim_end();
        if !rest.is_empty() {
            statements.push(rest.to_owned());
        }
    }
    statements
}

// ---------------------------------------------------------------------------------------------
// Runner
// ---------------------------------------------------------------------------------------------

/// Why migrating failed. In every case the database is left as it was before the attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum MigrationError {
    /// An applied migration's recorded checksum differs from this build's file: the file was
    /// edited after it shipped.
    ChecksumMismatch { version: i64, name: String },
    /// The database was migrated by a newer build; this build must not touch it.
    DatabaseNewer { db_version: i64, app_version: i64 },
    /// A migration older than the database's version was never applied (it was inserted into
    /// the list out of order); applying it now could run it against a schema it did not expect.
    OutOfOrder {
        version: i64,
        name: String,
        db_version: i64,
    },
    /// A statement of a migration failed; the whole run was rolled back.
    Failed {
        version: i64,
        name: String,
        error: DbError,
    },
    /// The runner's own bookkeeping failed (creating `schema_migrations`, `BEGIN IMMEDIATE`,
    /// e.g. `database is locked` when the busy timeout ran out, reading or recording versions,
    /// `COMMIT`). `step` names what was being done.
    Database { step: &'static str, error: DbError },
}

impl fmt::Display for MigrationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MigrationError::ChecksumMismatch { name, .. } => write!(
                f,
                "migration {name} was modified after it was applied (checksum mismatch)"
            ),
            MigrationError::DatabaseNewer {
                db_version,
                app_version,
            } => write!(
                f,
                "database schema version {db_version} is newer than this build supports \
                 ({app_version}); upgrade dbackup"
            ),
            MigrationError::OutOfOrder {
                name, db_version, ..
            } => write!(
                f,
                "migration {name} was never applied but the database is already at version \
                 {db_version}"
            ),
            MigrationError::Failed { name, error, .. } => {
                write!(f, "migration {name} failed: {error}")
            }
            MigrationError::Database { step, error } => {
                write!(f, "migrating the database failed ({step}): {error}")
            }
        }
    }
}

// The underlying `DbError` is already part of the message, so `source()` stays `None`.
impl std::error::Error for MigrationError {}

const CREATE_SCHEMA_MIGRATIONS: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (\
     version INTEGER PRIMARY KEY, \
     name TEXT NOT NULL, \
     checksum TEXT NOT NULL, \
     applied_at TEXT NOT NULL)";

fn is_no_such_table(e: &DbError) -> bool {
    e.message.contains("no such table")
}

/// The database's schema version: the highest applied migration, 0 for a new database
/// (including one without a `schema_migrations` table).
pub fn current_version(db: &dyn Db) -> Result<i64, DbError> {
    match db.execute(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        &[],
    ) {
        Ok(rows) => Ok(rows.scalar().and_then(Value::as_i64).unwrap_or(0)),
        Err(e) if is_no_such_table(&e) => Ok(0),
        Err(e) => Err(e),
    }
}

/// Applies every migration of [`MIGRATIONS`] the database does not have yet, in one
/// transaction, and returns their versions (empty when the database is up to date).
///
/// `now_iso` (ISO-8601 UTC) is recorded as `applied_at`. The run holds SQLite's write lock
/// (`BEGIN IMMEDIATE`) from the version check to the commit, so a concurrent migrator waits on
/// the connection's busy timeout and then finds nothing left to do. On any error everything is
/// rolled back.
pub fn apply_pending(db: &dyn Db, now_iso: &str) -> Result<Vec<i64>, MigrationError> {
    apply_list(db, MIGRATIONS, now_iso)
}

/// [`apply_pending`] over an explicit migration list (sorted by version), so tests can inject
/// broken or edited migrations.
pub(crate) fn apply_list(
    db: &dyn Db,
    migrations: &[Migration],
    now_iso: &str,
) -> Result<Vec<i64>, MigrationError> {
    db.execute("BEGIN IMMEDIATE", &[])
        .map_err(|error| MigrationError::Database {
            step: "begin transaction",
            error,
        })?;
    match apply_in_transaction(db, migrations, now_iso) {
        Ok(applied) => match db.execute("COMMIT", &[]) {
            Ok(_) => Ok(applied),
            Err(error) => {
                rollback(db);
                Err(MigrationError::Database {
                    step: "commit",
                    error,
                })
            }
        },
        Err(e) => {
            rollback(db);
            Err(e)
        }
    }
}

fn rollback(db: &dyn Db) {
    // A failed ROLLBACK (e.g. SQLite already rolled back on its own) leaves nothing to undo.
    let _ = db.execute("ROLLBACK", &[]);
}

fn apply_in_transaction(
    db: &dyn Db,
    migrations: &[Migration],
    now_iso: &str,
) -> Result<Vec<i64>, MigrationError> {
    // Created inside the transaction, so a failed first run leaves a brand-new database empty.
    db.execute(CREATE_SCHEMA_MIGRATIONS, &[])
        .map_err(|error| MigrationError::Database {
            step: "create schema_migrations",
            error,
        })?;

    // Re-read under the write lock: another process may have migrated while we waited.
    let rows = db
        .execute(
            "SELECT version, checksum FROM schema_migrations ORDER BY version",
            &[],
        )
        .map_err(|error| MigrationError::Database {
            step: "read schema_migrations",
            error,
        })?;
    let mut applied: Vec<(i64, String)> = Vec::with_capacity(rows.rows.len());
    for row in &rows.rows {
        let version = row.first().and_then(Value::as_i64);
        let sum = row.get(1).and_then(Value::as_str);
        match (version, sum) {
            (Some(v), Some(s)) => applied.push((v, s.to_owned())),
            _ => {
                return Err(MigrationError::Database {
                    step: "read schema_migrations",
                    error: DbError::new(format!("unexpected schema_migrations row: {row:?}")),
                })
            }
        }
    }
    let db_version = applied.iter().map(|(v, _)| *v).max().unwrap_or(0);

    for m in migrations {
        if let Some((_, recorded)) = applied.iter().find(|(v, _)| *v == m.version) {
            if *recorded != checksum(m.sql) {
                return Err(MigrationError::ChecksumMismatch {
                    version: m.version,
                    name: m.name.to_owned(),
                });
            }
        } else if m.version <= db_version {
            return Err(MigrationError::OutOfOrder {
                version: m.version,
                name: m.name.to_owned(),
                db_version,
            });
        }
    }

    let app_version = latest_of(migrations);
    if db_version > app_version {
        return Err(MigrationError::DatabaseNewer {
            db_version,
            app_version,
        });
    }

    let mut done = Vec::new();
    for m in migrations.iter().filter(|m| m.version > db_version) {
        let failed = |error: DbError| MigrationError::Failed {
            version: m.version,
            name: m.name.to_owned(),
            error,
        };
        for statement in split_statements(m.sql) {
            db.execute(&statement, &[]).map_err(failed)?;
        }
        db.execute(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) \
             VALUES (?, ?, ?, ?)",
            &[
                Value::Integer(m.version),
                Value::from(m.name),
                Value::Text(checksum(m.sql)),
                Value::from(now_iso),
            ],
        )
        .map_err(failed)?;
        done.push(m.version);
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::native_sqlite::TestDb;

    const NOW: &str = "2024-01-02T03:04:05.678Z";

    fn table_names(db: &TestDb) -> Vec<String> {
        db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
            &[],
        )
        .unwrap()
        .rows
        .iter()
        .map(|r| r[0].as_str().unwrap().to_owned())
        .collect()
    }

    fn schema_objects(db: &TestDb) -> i64 {
        db.count("SELECT COUNT(*) FROM sqlite_master")
    }

    // --- the migration list -------------------------------------------------------------------

    #[test]
    fn migrations_are_ordered_and_named_by_version() {
        assert!(!MIGRATIONS.is_empty());
        let mut previous = 0;
        for m in MIGRATIONS {
            assert!(m.version > previous, "{} is out of order", m.name);
            previous = m.version;
            let prefix: String = m.name.chars().take_while(char::is_ascii_digit).collect();
            assert!(!prefix.is_empty(), "{} has no numeric prefix", m.name);
            assert_eq!(prefix.parse::<i64>().unwrap(), m.version, "{}", m.name);
            assert!(m.name[prefix.len()..].starts_with('_'), "{}", m.name);
        }
        assert_eq!(latest_version(), previous);
    }

    #[test]
    fn migration_files_hold_no_transaction_or_pragma() {
        for m in MIGRATIONS {
            for s in split_statements(m.sql) {
                let head = s.trim_start().to_ascii_uppercase();
                for banned in ["BEGIN", "COMMIT", "END", "ROLLBACK", "PRAGMA", "SAVEPOINT"] {
                    assert!(!head.starts_with(banned), "{}: {s}", m.name);
                }
            }
        }
    }

    // --- checksum -----------------------------------------------------------------------------

    #[test]
    fn checksum_is_fnv1a_64() {
        assert_eq!(checksum(""), "cbf29ce484222325");
        assert_eq!(checksum("a"), "af63dc4c8601ec8c");
        assert_eq!(checksum("foobar"), "85944171f73967e8");
    }

    #[test]
    fn checksum_ignores_crlf_but_not_edits() {
        assert_eq!(checksum("a;\r\nb;\r\n"), checksum("a;\nb;\n"));
        assert_ne!(
            checksum("CREATE TABLE a(x);"),
            checksum("CREATE TABLE a(y);")
        );
        assert_eq!(checksum("lone\rcr").len(), 16);
        assert_ne!(checksum("lone\rcr"), checksum("lonecr"));
    }

    // --- split_statements ---------------------------------------------------------------------

    #[test]
    fn split_simple() {
        assert_eq!(
            split_statements("CREATE TABLE a(x);\nINSERT INTO a VALUES (1);"),
            ["CREATE TABLE a(x)", "INSERT INTO a VALUES (1)"]
        );
    }

    #[test]
    fn split_keeps_last_statement_without_semicolon() {
        assert_eq!(
            split_statements("SELECT 1;\n  SELECT 2  \n"),
            ["SELECT 1", "SELECT 2"]
        );
    }

    #[test]
    fn split_drops_empty_and_comment_only_pieces() {
        assert!(split_statements("").is_empty());
        assert!(split_statements(" ;; ; \n").is_empty());
        assert!(split_statements("-- just a comment; really\n/* and; this */\n;").is_empty());
        assert_eq!(
            split_statements("-- header\n\nSELECT 1;\n-- trailing; comment\n/* end */"),
            ["SELECT 1"]
        );
    }

    #[test]
    fn split_line_comments() {
        assert_eq!(
            split_statements("SELECT 1 -- not; the end\n, 2;SELECT 3;"),
            ["SELECT 1 -- not; the end\n, 2", "SELECT 3"]
        );
        // A comment running to the end of input without a newline.
        assert_eq!(split_statements("SELECT 1; -- bye;"), ["SELECT 1"]);
    }

    #[test]
    fn split_block_comments() {
        assert_eq!(
            split_statements("SELECT /* a; b */ 1; /* x; */ SELECT 2;"),
            ["SELECT /* a; b */ 1", "SELECT 2"]
        );
        // `/*/` does not close the comment; an unterminated comment runs to the end.
        assert_eq!(
            split_statements("SELECT 1 /*/ ; */;"),
            ["SELECT 1 /*/ ; */"]
        );
        assert!(split_statements("/* never closed; ").is_empty());
    }

    #[test]
    fn split_single_quoted_strings() {
        assert_eq!(
            split_statements("INSERT INTO t VALUES ('a;b', 'it''s; fine', '');SELECT ';';"),
            [
                "INSERT INTO t VALUES ('a;b', 'it''s; fine', '')",
                "SELECT ';'"
            ]
        );
        assert_eq!(
            split_statements("SELECT '-- not a comment;', '/* nor; this */';"),
            ["SELECT '-- not a comment;', '/* nor; this */'"]
        );
    }

    #[test]
    fn split_double_quoted_identifiers() {
        assert_eq!(
            split_statements(r#"CREATE TABLE "a;b" ("x""; y" TEXT);SELECT 1;"#),
            [r#"CREATE TABLE "a;b" ("x""; y" TEXT)"#, "SELECT 1"]
        );
    }

    #[test]
    fn split_backtick_and_bracket_identifiers() {
        assert_eq!(
            split_statements("CREATE TABLE `a;b` ([c;d] TEXT, `e``;f` INT);SELECT 1;"),
            ["CREATE TABLE `a;b` ([c;d] TEXT, `e``;f` INT)", "SELECT 1"]
        );
    }

    #[test]
    fn split_trigger_bodies() {
        let sql = "CREATE TABLE t(x, y);\n\
            CREATE TRIGGER t_ai AFTER INSERT ON t BEGIN\n\
              UPDATE t SET y = 1 WHERE rowid = NEW.rowid;\n\
              INSERT INTO t(x) SELECT CASE WHEN NEW.x > 1 THEN 'a;' ELSE 'b' END;\n\
            END;\n\
            create temp trigger t_ad after delete on t begin delete from t; end;\n\
            CREATE TEMPORARY TRIGGER IF NOT EXISTS t_au AFTER UPDATE ON t BEGIN SELECT 1; END\n;\
            INSERT INTO t(x) VALUES (1);";
        let parts = split_statements(sql);
        assert_eq!(parts.len(), 5, "{parts:#?}");
        assert_eq!(parts[0], "CREATE TABLE t(x, y)");
        assert!(parts[1].starts_with("CREATE TRIGGER t_ai"));
        assert!(parts[1].ends_with("END;\nEND"), "{}", parts[1]);
        assert_eq!(
            parts[2],
            "create temp trigger t_ad after delete on t begin delete from t; end"
        );
        assert!(parts[3].starts_with("CREATE TEMPORARY TRIGGER"));
        assert_eq!(parts[4], "INSERT INTO t(x) VALUES (1)");

        // Every piece is one statement SQLite accepts.
        let db = TestDb::empty();
        for p in &parts {
            db.exec(p);
        }
    }

    #[test]
    fn split_does_not_mistake_identifiers_for_trigger_keywords() {
        assert_eq!(
            split_statements(
                r#"CREATE TABLE "trigger"(x); CREATE TABLE end_(x); SELECT 1 AS "end"; SELECT 2;"#
            ),
            [
                r#"CREATE TABLE "trigger"(x)"#,
                "CREATE TABLE end_(x)",
                r#"SELECT 1 AS "end""#,
                "SELECT 2"
            ]
        );
    }

    #[test]
    fn split_keeps_non_ascii_text() {
        assert_eq!(
            split_statements("SELECT 'héllo; wörld', ünï;SELECT '✓';"),
            ["SELECT 'héllo; wörld', ünï", "SELECT '✓'"]
        );
    }

    // --- runner -------------------------------------------------------------------------------

    const ALL_TABLES: &[&str] = &[
        "AdapterConfig",
        "AuthChallenge",
        "Job",
        "Execution",
        "EncryptionProfile",
        "User",
        "Group",
        "Session",
        "Account",
        "Passkey",
        "TwoFactor",
        "SsoProvider",
        "SystemSetting",
        "AuditLog",
        "HealthCheckLog",
        "JobNotification",
        "ApiKey",
        "LoginThrottle",
        "JobDestination",
        "Worker",
        "ExecutionStat",
        "schema_migrations",
    ];

    #[test]
    fn current_version_of_new_database_is_zero() {
        let db = TestDb::empty();
        assert_eq!(current_version(&db).unwrap(), 0);
        db.exec(CREATE_SCHEMA_MIGRATIONS);
        assert_eq!(current_version(&db).unwrap(), 0);
    }

    #[test]
    fn apply_creates_every_table_then_is_a_no_op() {
        let db = TestDb::empty();
        let versions: Vec<i64> = MIGRATIONS.iter().map(|m| m.version).collect();
        assert_eq!(apply_pending(&db, NOW).unwrap(), versions);
        let tables = table_names(&db);
        for t in ALL_TABLES {
            assert!(tables.iter().any(|n| n == t), "missing table {t}");
        }
        assert_eq!(tables.len(), ALL_TABLES.len(), "{tables:?}");
        assert_eq!(current_version(&db).unwrap(), latest_version());

        let row = db
            .execute(
                "SELECT version, name, checksum, applied_at FROM schema_migrations",
                &[],
            )
            .unwrap();
        let expected: Vec<Vec<Value>> = MIGRATIONS
            .iter()
            .map(|m| {
                vec![
                    Value::Integer(m.version),
                    Value::from(m.name),
                    Value::Text(checksum(m.sql)),
                    Value::from(NOW),
                ]
            })
            .collect();
        assert_eq!(row.rows, expected);
        assert_eq!(MIGRATIONS[0].name, "0001_init");
        assert_eq!(MIGRATIONS[1].name, "0002_identity");

        let objects = schema_objects(&db);
        assert_eq!(
            apply_pending(&db, "2030-01-01T00:00:00.000Z").unwrap(),
            Vec::<i64>::new()
        );
        assert_eq!(schema_objects(&db), objects);
        assert_eq!(
            db.count("SELECT COUNT(*) FROM schema_migrations"),
            MIGRATIONS.len() as i64
        );
    }

    #[test]
    fn apply_continues_from_the_recorded_version() {
        let db = TestDb::empty();
        let first = [Migration {
            version: 1,
            name: "0001_a",
            sql: "CREATE TABLE a(x);",
        }];
        let both = [
            first[0],
            Migration {
                version: 2,
                name: "0002_b",
                sql: "CREATE TABLE b(x); INSERT INTO b VALUES (1);",
            },
        ];
        assert_eq!(apply_list(&db, &first, NOW).unwrap(), vec![1]);
        assert_eq!(apply_list(&db, &both, NOW).unwrap(), vec![2]);
        assert_eq!(current_version(&db).unwrap(), 2);
        assert_eq!(db.count("SELECT COUNT(*) FROM b"), 1);
    }

    #[test]
    fn broken_migration_leaves_database_unchanged() {
        let db = TestDb::empty();
        let list = [
            Migration {
                version: 1,
                name: "0001_ok",
                sql: "CREATE TABLE a(x);\nCREATE TABLE b(y);",
            },
            Migration {
                version: 2,
                name: "0002_broken",
                sql: "CREATE TABLE c(z);\nCREAT TABLE d(w);",
            },
        ];
        let err = apply_list(&db, &list, NOW).unwrap_err();
        match &err {
            MigrationError::Failed { version, name, .. } => {
                assert_eq!(*version, 2);
                assert_eq!(name, "0002_broken");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(
            err.to_string(),
            r#"migration 0002_broken failed: near "CREAT": syntax error"#
        );
        // Nothing at all was left behind, not even schema_migrations.
        assert_eq!(schema_objects(&db), 0);
        assert_eq!(current_version(&db).unwrap(), 0);
        // The connection is usable and not stuck in a transaction.
        assert_eq!(apply_list(&db, &list[..1], NOW).unwrap(), vec![1]);
    }

    #[test]
    fn broken_later_migration_keeps_earlier_state() {
        let db = TestDb::empty();
        let ok = Migration {
            version: 1,
            name: "0001_ok",
            sql: "CREATE TABLE a(x);",
        };
        apply_list(&db, &[ok], NOW).unwrap();
        let before = schema_objects(&db);
        let bad = Migration {
            version: 2,
            name: "0002_bad",
            sql: "INSERT INTO a VALUES (1); CREATE TABLE b(x); INSERT INTO missing VALUES (1);",
        };
        let err = apply_list(&db, &[ok, bad], NOW).unwrap_err();
        assert!(matches!(err, MigrationError::Failed { version: 2, .. }));
        assert!(err.to_string().contains("no such table: missing"), "{err}");
        assert_eq!(schema_objects(&db), before);
        assert_eq!(db.count("SELECT COUNT(*) FROM a"), 0);
        assert_eq!(current_version(&db).unwrap(), 1);
    }

    #[test]
    fn checksum_mismatch_is_detected() {
        let db = TestDb::empty();
        let original = Migration {
            version: 1,
            name: "0001_a",
            sql: "CREATE TABLE a(x);",
        };
        apply_list(&db, &[original], NOW).unwrap();
        let edited = Migration {
            sql: "CREATE TABLE a(x, y);",
            ..original
        };
        let next = Migration {
            version: 2,
            name: "0002_b",
            sql: "CREATE TABLE b(x);",
        };
        let err = apply_list(&db, &[edited, next], NOW).unwrap_err();
        assert_eq!(
            err,
            MigrationError::ChecksumMismatch {
                version: 1,
                name: "0001_a".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "migration 0001_a was modified after it was applied (checksum mismatch)"
        );
        // The pending migration was not applied.
        assert_eq!(current_version(&db).unwrap(), 1);
        assert!(!table_names(&db).iter().any(|t| t == "b"));
    }

    #[test]
    fn newer_database_is_refused() {
        let db = TestDb::empty();
        apply_pending(&db, NOW).unwrap();
        let future = latest_version() + 1;
        db.exec(&format!(
            "INSERT INTO schema_migrations VALUES ({future}, 'future', 'x', '{NOW}')"
        ));
        let err = apply_pending(&db, NOW).unwrap_err();
        assert_eq!(
            err,
            MigrationError::DatabaseNewer {
                db_version: future,
                app_version: latest_version()
            }
        );
        assert!(err.to_string().contains("newer than this build"), "{err}");
    }

    #[test]
    fn migration_inserted_below_the_database_version_is_refused() {
        let db = TestDb::empty();
        let m1 = Migration {
            version: 1,
            name: "0001_a",
            sql: "CREATE TABLE a(x);",
        };
        let m3 = Migration {
            version: 3,
            name: "0003_c",
            sql: "CREATE TABLE c(x);",
        };
        apply_list(&db, &[m1, m3], NOW).unwrap();
        let m2 = Migration {
            version: 2,
            name: "0002_b",
            sql: "CREATE TABLE b(x);",
        };
        let err = apply_list(&db, &[m1, m2, m3], NOW).unwrap_err();
        assert_eq!(
            err,
            MigrationError::OutOfOrder {
                version: 2,
                name: "0002_b".into(),
                db_version: 3
            }
        );
    }

    #[test]
    fn begin_failure_is_reported() {
        let db = TestDb::empty();
        db.exec("BEGIN");
        let err = apply_pending(&db, NOW).unwrap_err();
        assert!(
            matches!(
                err,
                MigrationError::Database {
                    step: "begin transaction",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn concurrent_migrators_apply_once() {
        let path = std::env::temp_dir().join(format!(
            "dbackup-migrations-{}-{}.db",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || apply_pending(&TestDb::open(&path), NOW).unwrap())
            })
            .collect();
        let mut results: Vec<Vec<i64>> = workers.into_iter().map(|w| w.join().unwrap()).collect();
        results.sort();
        let _ = std::fs::remove_file(&path);
        let all: Vec<i64> = MIGRATIONS.iter().map(|m| m.version).collect();
        assert_eq!(results, vec![vec![], vec![], vec![], all]);
    }

    // --- schema behaviour ---------------------------------------------------------------------

    fn migrated() -> TestDb {
        let db = TestDb::empty();
        apply_pending(&db, NOW).unwrap();
        db.exec("PRAGMA foreign_keys = ON");
        db.exec(r#"INSERT INTO "Group" (id, name, permissions) VALUES ('g1', 'Admins', '[]')"#);
        db.exec(
            r#"INSERT INTO "User" (id, name, email, emailVerified, createdAt, updatedAt, groupId)
               VALUES ('u1', 'Ann', 'ann@example.com', 1, 'now', 'now', 'g1')"#,
        );
        db.exec(
            r#"INSERT INTO "AdapterConfig" (id, name, type, adapterId, config) VALUES
               ('src', 'MySQL', 'database', 'mysql', '{}'),
               ('dst', 'S3', 'storage', 's3', '{}'),
               ('ntf', 'Discord', 'notification', 'discord', '{}')"#,
        );
        db.exec(
            r#"INSERT INTO "EncryptionProfile" (id, name, secretKey) VALUES ('k1', 'Key', 'enc')"#,
        );
        db.exec(
            r#"INSERT INTO "Job" (id, name, schedule, sourceId, destinationId, encryptionProfileId)
               VALUES ('j1', 'Nightly', '0 3 * * *', 'src', 'dst', 'k1')"#,
        );
        db.exec(r#"INSERT INTO "JobNotification" (jobId, adapterConfigId) VALUES ('j1', 'ntf')"#);
        db.exec(r#"INSERT INTO "Execution" (id, jobId, status, logs) VALUES ('e1', 'j1', 'Success', '[]')"#,
        );
        db
    }

    #[test]
    fn deleting_a_user_cascades_and_keeps_the_audit_trail() {
        let db = migrated();
        db.exec(
            r#"INSERT INTO "Session" (id, expiresAt, token, createdAt, updatedAt, userId)
               VALUES ('s1', 'later', 'tok', 'now', 'now', 'u1')"#,
        );
        db.exec(
            r#"INSERT INTO "Account" (id, accountId, providerId, userId, password)
               VALUES ('a1', 'u1', 'credential', 'u1', 'hash')"#,
        );
        db.exec(r#"INSERT INTO "Passkey" (id, publicKey, credentialID, counter, deviceType, backedUp, userId)
               VALUES ('p1', 'pk', 'cred', 0, 'singleDevice', 0, 'u1')"#,
        );
        db.exec(r#"INSERT INTO "TwoFactor" (id, secret, backupCodes, userId) VALUES ('t1', 's', 'b', 'u1')"#,
        );
        db.exec(r#"INSERT INTO "AuditLog" (id, userId, action, resource) VALUES ('l1', 'u1', 'LOGIN', 'USER')"#,
        );
        db.exec(r#"DELETE FROM "User" WHERE id = 'u1'"#);
        for t in ["Session", "Account", "Passkey", "TwoFactor"] {
            assert_eq!(
                db.count(&format!(r#"SELECT COUNT(*) FROM "{t}""#)),
                0,
                "{t}"
            );
        }
        assert_eq!(
            db.count(r#"SELECT COUNT(*) FROM "AuditLog" WHERE userId IS NULL"#),
            1
        );
    }

    #[test]
    fn deleting_a_group_ungroups_its_users() {
        let db = migrated();
        db.exec(r#"DELETE FROM "Group" WHERE id = 'g1'"#);
        assert_eq!(
            db.count(r#"SELECT COUNT(*) FROM "User" WHERE groupId IS NULL"#),
            1
        );
    }

    #[test]
    fn deleting_a_job_keeps_its_history() {
        let db = migrated();
        db.exec(r#"DELETE FROM "Job" WHERE id = 'j1'"#);
        assert_eq!(
            db.count(r#"SELECT COUNT(*) FROM "Execution" WHERE id = 'e1' AND jobId IS NULL"#),
            1
        );
        assert_eq!(db.count(r#"SELECT COUNT(*) FROM "JobNotification""#), 0);
        // With the job gone its adapters and key can be deleted.
        db.exec(r#"DELETE FROM "AdapterConfig""#);
        db.exec(r#"DELETE FROM "EncryptionProfile""#);
    }

    #[test]
    fn adapters_and_keys_in_use_cannot_be_deleted() {
        let db = migrated();
        for sql in [
            r#"DELETE FROM "AdapterConfig" WHERE id = 'src'"#,
            r#"DELETE FROM "AdapterConfig" WHERE id = 'dst'"#,
            r#"DELETE FROM "EncryptionProfile" WHERE id = 'k1'"#,
        ] {
            let err = db.execute(sql, &[]).unwrap_err();
            assert!(
                err.message.contains("FOREIGN KEY constraint failed"),
                "{sql}: {err}"
            );
        }
        // A notification channel can go; it is unlinked from the job.
        db.exec(r#"DELETE FROM "AdapterConfig" WHERE id = 'ntf'"#);
        assert_eq!(db.count(r#"SELECT COUNT(*) FROM "JobNotification""#), 0);
    }

    #[test]
    fn deleting_an_adapter_drops_its_health_log() {
        let db = migrated();
        db.exec(
            r#"INSERT INTO "HealthCheckLog" (id, adapterConfigId, status, latencyMs)
               VALUES ('h1', 'ntf', 'OFFLINE', 12)"#,
        );
        db.exec(r#"DELETE FROM "AdapterConfig" WHERE id = 'ntf'"#);
        assert_eq!(db.count(r#"SELECT COUNT(*) FROM "HealthCheckLog""#), 0);
    }

    #[test]
    fn enumerations_and_booleans_are_checked() {
        let db = migrated();
        for sql in [
            r#"INSERT INTO "AdapterConfig" (id, name, type, adapterId, config) VALUES ('x', 'x', 'db', 'x', '{}')"#,
            r#"UPDATE "AdapterConfig" SET lastStatus = 'UP'"#,
            r#"UPDATE "Job" SET compression = 'LZ4'"#,
            r#"UPDATE "Job" SET notificationEvents = 'NEVER'"#,
            r#"UPDATE "Job" SET enabled = 2"#,
            r#"UPDATE "Execution" SET type = 'Verify'"#,
            r#"UPDATE "Execution" SET status = 'Done'"#,
            r#"UPDATE "User" SET emailVerified = 'yes'"#,
            r#"INSERT INTO "HealthCheckLog" (id, adapterConfigId, status, latencyMs) VALUES ('h', 'src', 'UP', 1)"#,
        ] {
            let err = db.execute(sql, &[]).unwrap_err();
            assert!(
                err.message.contains("CHECK constraint failed"),
                "{sql}: {err}"
            );
        }
        for status in [
            "Pending",
            "Running",
            "Success",
            "Failed",
            "Partial",
            "Cancelled",
        ] {
            db.execute(
                r#"UPDATE "Execution" SET status = ?"#,
                &[Value::from(status)],
            )
            .unwrap();
        }
    }

    #[test]
    fn defaults_match_the_seed() {
        let db = migrated();
        let rows = db
            .execute(
                r#"SELECT enabled, compression, retention, notificationEvents, createdAt
                   FROM "Job" WHERE id = 'j1'"#,
                &[],
            )
            .unwrap();
        let row = &rows.rows[0];
        assert_eq!(row[0], Value::Integer(1));
        assert_eq!(row[1], Value::from("NONE"));
        assert_eq!(row[2], Value::from("{}"));
        assert_eq!(row[3], Value::from("ALWAYS"));
        // ISO-8601 UTC with milliseconds: 2024-01-02T03:04:05.678Z
        let ts = row[4].as_str().unwrap();
        assert_eq!(ts.len(), 24, "{ts}");
        assert_eq!(&ts[10..11], "T");
        assert_eq!(&ts[19..20], ".");
        assert!(ts.ends_with('Z'));

        let rows = db
            .execute(
                r#"SELECT timezone, dateFormat, timeFormat, passkeyTwoFactor, twoFactorEnabled
                   FROM "User""#,
                &[],
            )
            .unwrap();
        assert_eq!(
            rows.rows[0],
            vec![
                Value::from("UTC"),
                Value::from("P"),
                Value::from("p"),
                Value::Integer(0),
                Value::Null
            ]
        );
        assert_eq!(
            db.count(r#"SELECT COUNT(*) FROM "AdapterConfig" WHERE lastStatus = 'ONLINE' AND consecutiveFailures = 0"#
            ),
            3
        );
        assert_eq!(
            db.count(r#"SELECT COUNT(*) FROM "Execution" WHERE type = 'Backup'"#),
            1
        );
    }

    #[test]
    fn unique_constraints_hold() {
        let db = migrated();
        db.exec(r#"INSERT INTO "Account" (id, accountId, providerId, userId) VALUES ('a1', 'x', 'oidc', 'u1')"#,
        );
        for sql in [
            r#"INSERT INTO "Account" (id, accountId, providerId, userId) VALUES ('a2', 'x', 'oidc', 'u1')"#,
            r#"INSERT INTO "User" (id, name, email, emailVerified, createdAt, updatedAt)
               VALUES ('u2', 'B', 'ann@example.com', 0, 'now', 'now')"#,
            r#"INSERT INTO "Group" (id, name, permissions) VALUES ('g2', 'Admins', '[]')"#,
        ] {
            let err = db.execute(sql, &[]).unwrap_err();
            assert!(
                err.message.contains("UNIQUE constraint failed"),
                "{sql}: {err}"
            );
        }
    }
}
