//! Migrations at host start: a fresh database gets every migration once, a restart changes
//! nothing, a database from a newer build is refused, and an unmigrated database makes the API
//! answer 503.

use dbackup_core::db::Value;
use dbackup_core::migrations::{self, MIGRATIONS};
use dbackup_host::app::{self, HostConfig};
use dbackup_host::database::{run_statement, Database, DatabaseConfig};
use dbackup_tests::{get, host_config, start_error, toml_str, wasm, write_manifest, TempDir};
use std::path::{Path, PathBuf};

/// The real `system` component on `/api/health` and `/api/...`.
fn setup() -> (TempDir, PathBuf) {
    let dir = TempDir::new();
    let toml = format!(
        "spin_manifest_version = 2\n[application]\nname = \"migrations\"\n\n\
         [[trigger.http]]\nroute = \"/api/health\"\ncomponent = \"system\"\n\n\
         [[trigger.http]]\nroute = \"/api/...\"\ncomponent = \"system\"\n\n\
         [component.system]\nsource = {}\nsqlite_databases = [\"default\"]\n",
        toml_str(wasm("dbackup_system").to_string_lossy())
    );
    let manifest = write_manifest(dir.path(), &toml);
    (dir, manifest)
}

fn config(manifest: &Path, dir: &TempDir, migrate: bool) -> HostConfig {
    let mut config = host_config(manifest.to_path_buf(), &dir.join("data"), &[]);
    config.migrate = migrate;
    config
}

async fn query(data_dir: &Path, sql: &str) -> Vec<Vec<Value>> {
    let db = Database::open(&DatabaseConfig::Local {
        path: data_dir.join("dbackup.db"),
    })
    .await
    .expect("open the database");
    let conn = db.connect().await.expect("connect");
    run_statement(&conn, sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {}", e.message))
        .rows
}

/// `(version, name, checksum, applied_at)` of every applied migration.
async fn applied(data_dir: &Path) -> Vec<(i64, String, String, String)> {
    query(
        data_dir,
        "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version",
    )
    .await
    .into_iter()
    .map(|r| {
        let text = |i: usize| r[i].as_str().expect("text").to_owned();
        (r[0].as_i64().expect("version"), text(1), text(2), text(3))
    })
    .collect()
}

#[tokio::test]
async fn a_fresh_database_is_migrated_once() {
    let (dir, manifest) = setup();
    let data = dir.join("data");
    let host = app::start(config(&manifest, &dir, true))
        .await
        .expect("starts");
    let health = get(host.addr, "/api/health").await;
    assert_eq!(health.status, 200, "{}", health.text());
    assert_eq!(health.json()["database"], "ok");
    assert_eq!(health.json()["schemaVersion"], migrations::latest_version());
    host.shutdown().await;

    let first = applied(&data).await;
    let expected: Vec<(i64, String, String)> = MIGRATIONS
        .iter()
        .map(|m| (m.version, m.name.to_owned(), migrations::checksum(m.sql)))
        .collect();
    let got: Vec<(i64, String, String)> = first
        .iter()
        .map(|(v, n, c, _)| (*v, n.clone(), c.clone()))
        .collect();
    assert_eq!(got, expected);
    assert!(!MIGRATIONS.is_empty());

    // A restart on the same folder applies nothing and still serves.
    let host = app::start(config(&manifest, &dir, true))
        .await
        .expect("restarts");
    assert_eq!(get(host.addr, "/api/health").await.status, 200);
    host.shutdown().await;
    assert_eq!(
        applied(&data).await,
        first,
        "the restart changed schema_migrations"
    );
}

#[tokio::test]
async fn a_database_from_a_newer_build_is_refused() {
    let (dir, manifest) = setup();
    let data = dir.join("data");
    app::start(config(&manifest, &dir, true))
        .await
        .expect("starts")
        .shutdown()
        .await;
    query(
        &data,
        "INSERT INTO schema_migrations (version, name, checksum, applied_at) \
         VALUES (9999, '9999_future', '0000000000000000', '2099-01-01T00:00:00.000Z')",
    )
    .await;

    let err = start_error(config(&manifest, &dir, true)).await;
    assert!(err.contains("9999"), "{err}");
    assert!(err.contains("newer than this build"), "{err}");
    // The refused start left the database alone.
    assert_eq!(applied(&data).await.last().map(|a| a.0), Some(9999));
}

#[tokio::test]
async fn an_unmigrated_database_answers_503() {
    let (dir, manifest) = setup();
    let host = app::start(config(&manifest, &dir, false))
        .await
        .expect("starts");
    let health = get(host.addr, "/api/health").await;
    assert_eq!(health.status, 503, "{}", health.text());
    let body = health.json();
    assert_eq!(body["database"], "not migrated", "{body}");
    assert_eq!(body["status"], "unavailable", "{body}");
    assert_eq!(body["schemaVersion"], 0, "{body}");
    host.shutdown().await;
    let tables = query(
        &dir.join("data"),
        "SELECT count(*) FROM sqlite_master WHERE name = 'schema_migrations'",
    )
    .await;
    assert_eq!(
        tables,
        vec![vec![Value::Integer(0)]],
        "migrate: false created tables"
    );
}

/// The database holds password hashes and encrypted secrets: the database file is the owner's
/// alone, and so is a folder the host creates for it.
#[tokio::test]
async fn a_fresh_database_and_its_new_folder_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, manifest) = setup();
    let rc = dir.join("runtime-config.toml");
    std::fs::write(
        &rc,
        "[sqlite_database.default]\ntype = \"spin\"\npath = \"private/sub/app.db\"\n",
    )
    .expect("write the runtime config");
    let mut cfg = config(&manifest, &dir, true);
    cfg.runtime_config = Some(rc);
    let host = app::start(cfg).await.expect("the host starts");
    let mode = |p: &Path| {
        std::fs::metadata(p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(&dir.join("private/sub")), 0o700, "database folder");
    assert_eq!(mode(&dir.join("private")), 0o700, "its parent");
    assert_eq!(
        mode(&dir.join("private/sub/app.db")),
        0o600,
        "database file"
    );
    host.shutdown().await;
}
