//! Pieces of a backup journey set up through the API only (no SQL into the app's database, so
//! they work whatever backs it: a local file or a libSQL server): a PostgreSQL source database
//! with data and the name of its restore copy, the source/target/destination adapters and an
//! encryption profile, and a job.

use crate::{psql, Api, Credential};
use serde_json::{json, Value};
use std::path::Path;

/// A PostgreSQL database with 5,000 rows (`src`) and the name of a database to restore it into
/// (`copy`); both dropped on drop.
pub struct PgPair {
    pub src: String,
    pub copy: String,
}

impl PgPair {
    /// Creates `<label>_src_<pid>` with the rows; `<label>_copy_<pid>` is left for the restore.
    pub fn new(label: &str) -> PgPair {
        let pid = std::process::id();
        let pair = PgPair {
            src: format!("{label}_src_{pid}"),
            copy: format!("{label}_copy_{pid}"),
        };
        pair.drop_both();
        psql("postgres", &format!("CREATE DATABASE {}", pair.src));
        psql(
            &pair.src,
            "CREATE TABLE item (id int PRIMARY KEY, name text NOT NULL); \
             INSERT INTO item SELECT g, 'item ' || g FROM generate_series(1, 5000) g;",
        );
        pair
    }

    /// Asserts the copy holds the same rows as the source (count and a digest).
    pub fn assert_equal(&self) {
        let q = "SELECT count(*) || ':' || md5(string_agg(id || name, ',' ORDER BY id)) FROM item";
        let (src, copy) = (psql(&self.src, q), psql(&self.copy, q));
        assert!(src.starts_with("5000:"), "source: {src}");
        assert_eq!(copy, src, "the restored data differs");
    }

    fn drop_both(&self) {
        for db in [&self.src, &self.copy] {
            psql(
                "postgres",
                &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
            );
        }
    }
}

impl Drop for PgPair {
    fn drop(&mut self) {
        self.drop_both();
    }
}

/// The ids a journey needs, created through the API as `admin`.
pub struct JourneyIds {
    /// The PostgreSQL source (database `pg.src`).
    pub source: String,
    /// The PostgreSQL restore target (database `postgres`; the mapping names the copy).
    pub target: String,
    /// The local destination at `folder`.
    pub disk: String,
    /// A generated encryption profile.
    pub profile: String,
}

/// Creates the source, restore target, local destination (`folder`) and encryption profile.
pub async fn setup(api: &Api, admin: &Credential, pg: &PgPair, folder: &Path) -> JourneyIds {
    let create = |body: Value| async move {
        let created = api
            .expect(admin, "POST", "/api/adapters", Some(&body), 201)
            .await;
        created["id"].as_str().expect("adapter id").to_owned()
    };
    let source = create(
        json!({"name": "PG source", "type": "database", "adapterId": "postgres",
        "config": {"host": "127.0.0.1", "port": 5432, "user": "postgres", "database": pg.src}}),
    )
    .await;
    let target = create(
        json!({"name": "PG target", "type": "database", "adapterId": "postgres",
        "config": {"host": "127.0.0.1", "port": 5432, "user": "postgres", "database": "postgres"}}),
    )
    .await;
    let disk = create(
        json!({"name": "Local disk", "type": "storage", "adapterId": "local",
        "config": {"path": folder.to_string_lossy()}}),
    )
    .await;
    let profile = api
        .expect(
            admin,
            "POST",
            "/api/encryption-profiles",
            Some(&json!({"name": "journey key"})),
            201,
        )
        .await["id"]
        .as_str()
        .expect("profile id")
        .to_owned();
    JourneyIds {
        source,
        target,
        disk,
        profile,
    }
}

/// Creates an enabled job backing up `pg.src` (GZIP, encrypted, keep 10) on `schedule` (UTC);
/// returns it (as the API answered).
pub async fn create_job(
    api: &Api,
    admin: &Credential,
    name: &str,
    schedule: &str,
    ids: &JourneyIds,
    pg: &PgPair,
) -> Value {
    api.expect(
        admin,
        "POST",
        "/api/jobs",
        Some(&json!({
            "name": name, "schedule": schedule, "timezone": "UTC",
            "sourceId": ids.source, "databases": [pg.src],
            "destinations": [{"destinationId": ids.disk,
                              "retention": {"mode": "SIMPLE", "simple": {"keepCount": 10}}}],
            "compression": "GZIP", "encryptionProfileId": ids.profile
        })),
        201,
    )
    .await
}
