//! Test support: a native `Db` over rusqlite with every migration applied, and fixtures.

use dbackup_core::db::{Db, DbError, Rows, Value};
use dbackup_identity::groups::GroupGrant;
use dbackup_identity::permissions::{self, Permission, SUPER_ADMIN_GROUP};
use dbackup_identity::Principal;

pub const NOW: &str = "2026-01-01T00:00:00.000Z";

/// A native `Db` over rusqlite.
pub struct TestDb(pub rusqlite::Connection);

impl TestDb {
    /// An in-memory database, migrated, foreign keys on.
    pub fn migrated() -> Self {
        Self::prepare(rusqlite::Connection::open_in_memory().unwrap())
    }

    /// A file database (several connections share it), migrated by the first opener.
    pub fn file(path: &std::path::Path) -> Self {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .unwrap();
        Self::prepare(conn)
    }

    fn prepare(conn: rusqlite::Connection) -> Self {
        let db = TestDb(conn);
        db.execute("PRAGMA foreign_keys = ON", &[]).unwrap();
        dbackup_core::migrations::apply_pending(&db, NOW).unwrap();
        db
    }

    /// Runs a statement that must succeed.
    pub fn exec(&self, sql: &str) {
        self.execute(sql, &[]).unwrap();
    }

    /// The first column of the first row.
    pub fn scalar(&self, sql: &str) -> Value {
        self.execute(sql, &[])
            .unwrap()
            .scalar()
            .cloned()
            .unwrap_or(Value::Null)
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.scalar(sql).as_i64().unwrap()
    }

    /// Adapters `src` (database), `dst1` (storage) and the profile `prof` (plain rows).
    pub fn with_adapters(self) -> Self {
        for (id, kind, adapter) in [
            ("src", "database", "postgres"),
            ("dst1", "storage", "local"),
        ] {
            self.execute(
                r#"INSERT INTO "AdapterConfig" ("id", "name", "type", "adapterId", "config") VALUES (?, ?, ?, ?, '{}')"#,
                &[id.into(), id.into(), kind.into(), adapter.into()],
            )
            .unwrap();
        }
        self.exec(
            r#"INSERT INTO "EncryptionProfile" ("id", "name", "secretKey", "fingerprint") VALUES ('prof', 'p', 'sealed', '00')"#,
        );
        self
    }
}

impl Db for TestDb {
    fn execute(&self, sql: &str, params: &[Value]) -> Result<Rows, DbError> {
        dbackup_core::native_sqlite::execute(&self.0, sql, params)
    }
}

/// A signed-in user `user_id` (session `session_id`) in group `group` holding `holds`.
pub fn member(user_id: &str, session_id: &str, group: &str, holds: &[Permission]) -> Principal {
    Principal::User {
        user_id: user_id.into(),
        session_id: session_id.into(),
        group: Some(GroupGrant {
            id: group.to_lowercase(),
            name: group.into(),
            permissions: holds.iter().copied().collect(),
        }),
    }
}

/// A SuperAdmin, signed in with session `session_id`.
pub fn super_admin(user_id: &str, session_id: &str) -> Principal {
    let all: Vec<Permission> = permissions::all().into_iter().collect();
    member(user_id, session_id, SUPER_ADMIN_GROUP, &all)
}
