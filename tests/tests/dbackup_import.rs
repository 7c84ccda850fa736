//! Coming from DBackup (issue 18 item 5; docs/STORAGE.md "Coming from DBackup"): objects written
//! by a faithful re-implementation of DBackup's writer (`dbackup_writer.mjs`, Node's crypto and
//! zlib the way DBackup uses them) from real `pg_dump -F c -Z 6` and `mariadb-dump --databases`
//! dumps, encrypted and not, gzip and brotli, are listed by the storage explorer as DBackup
//! backups and restored through the API with a "DBackup import" profile into real PostgreSQL and
//! MariaDB, equal to the source. A tampered byte and a wrong key are refused before the target
//! is touched; an unencrypted object needs `acceptUnauthenticated: true`.

use std::path::Path;
use std::process::Command;

use dbackup_tests::{psql, sqlite_json, Api, Credential, RealApp, TempDir};
use serde_json::{json, Value};

const KEY: &str = "5f1c0e9a2b7d4c3e8f6a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60";
const WRONG_KEY: &str = "0000000000000000000000000000000000000000000000000000000000000001";

fn mariadb(db: Option<&str>, sql: &str) -> String {
    let mut cmd = Command::new("mariadb");
    cmd.args(["-h", "127.0.0.1", "-P", "3306", "-u", "root", "-N", "-B"]);
    if let Some(db) = db {
        cmd.arg(db);
    }
    let out = cmd.args(["-e", sql]).output().expect("mariadb client");
    assert!(
        out.status.success(),
        "mariadb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn pg_checksum(db: &str) -> String {
    psql(
        db,
        "SELECT count(*) || ':' || md5(string_agg(id || '|' || name || '|' || v::text, ',' ORDER BY id)) FROM item",
    )
}

fn pg_exists(db: &str) -> bool {
    psql(
        "postgres",
        &format!("SELECT count(*) FROM pg_database WHERE datname = '{db}'"),
    ) == "1"
}

fn maria_checksum(db: &str) -> String {
    mariadb(
        Some(db),
        "SET SESSION group_concat_max_len = 1073741824; \
         SELECT CONCAT(COUNT(*), ':', MD5(GROUP_CONCAT(CONCAT_WS('|', id, name) ORDER BY id))) FROM item",
    )
}

fn maria_exists(db: &str) -> bool {
    mariadb(
        None,
        &format!("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{db}'"),
    ) == "1"
}

/// Runs the Node writer; returns the object's path relative to `root`.
#[allow(clippy::too_many_arguments)]
fn dbackup_write(
    dump: &Path,
    root: &Path,
    job: &str,
    source_type: &str,
    database: &str,
    compression: &str,
    key: &str,
) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dbackup_writer.mjs");
    let out = Command::new("node")
        .arg(script)
        .arg(dump)
        .arg(root)
        .args([job, source_type, database, compression, key, "16.0"])
        .output()
        .expect("node is required (DBackup's writer is re-implemented with Node's crypto)");
    assert!(
        out.status.success(),
        "writer: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

async fn restore(api: &Api, admin: &Credential, body: Value) -> Value {
    let queued = api
        .expect(admin, "POST", "/api/restores", Some(&body), 202)
        .await;
    let id = queued["executionId"].as_str().expect("executionId");
    api.finished_execution(admin, id).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dbackups_backups_are_listed_and_restored_and_tampering_is_refused() {
    let tag = std::process::id();
    let dir = TempDir::new();
    let store = dir.join("backups");
    std::fs::create_dir_all(&store).expect("backup folder");

    // --- the sources, dumped the way DBackup dumps them ----------------------------------------
    let pg_src = format!("h7_dbk_pg_{tag}");
    psql("postgres", &format!("DROP DATABASE IF EXISTS {pg_src}"));
    psql("postgres", &format!("CREATE DATABASE {pg_src}"));
    psql(
        &pg_src,
        "CREATE TABLE item (id int PRIMARY KEY, name text NOT NULL, v numeric(12,2)); \
         INSERT INTO item SELECT g, 'item ' || md5(g::text), g * 1.5 FROM generate_series(1, 5000) g;",
    );
    let pg_sum = pg_checksum(&pg_src);
    let pg_dump_file = dir.join("pg.dump");
    let st = Command::new("pg_dump")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-F",
            "c",
            "-Z",
            "6",
            "-d",
            &pg_src,
            "-f",
        ])
        .arg(&pg_dump_file)
        .status()
        .expect("pg_dump");
    assert!(st.success());
    let maria_src = format!("h7_dbk_maria_{tag}");
    mariadb(None, &format!("DROP DATABASE IF EXISTS `{maria_src}`"));
    mariadb(None, &format!("CREATE DATABASE `{maria_src}`"));
    mariadb(
        Some(&maria_src),
        "CREATE TABLE item (id INT PRIMARY KEY, name VARCHAR(100)); \
         INSERT INTO item SELECT seq, CONCAT('row ', MD5(seq)) FROM seq_1_to_3000;",
    );
    let maria_sum = maria_checksum(&maria_src);
    let maria_dump_file = dir.join("maria.sql");
    let out = Command::new("mariadb-dump")
        .args([
            "-h",
            "127.0.0.1",
            "-P",
            "3306",
            "-u",
            "root",
            "--protocol=tcp",
            "--databases",
        ])
        .arg(&maria_src)
        .output()
        .expect("mariadb-dump");
    assert!(out.status.success());
    std::fs::write(&maria_dump_file, &out.stdout).expect("dump");

    // --- DBackup's objects ---------------------------------------------------------------------
    let pg_enc_gz = dbackup_write(
        &pg_dump_file,
        &store,
        "Nightly PG",
        "postgres",
        &pg_src,
        "GZIP",
        KEY,
    );
    let pg_plain_br = dbackup_write(
        &pg_dump_file,
        &store,
        "Nightly PG",
        "postgres",
        &pg_src,
        "BROTLI",
        "",
    );
    let maria_enc_br = dbackup_write(
        &maria_dump_file,
        &store,
        "Maria",
        "mariadb",
        &maria_src,
        "BROTLI",
        KEY,
    );
    let maria_plain_gz = dbackup_write(
        &maria_dump_file,
        &store,
        "Maria",
        "mysql",
        &maria_src,
        "GZIP",
        "",
    );
    // A copy of the encrypted PostgreSQL backup with one byte flipped in the middle.
    let tampered = "Tampered/Tampered.sql.gz.enc".to_owned();
    std::fs::create_dir_all(store.join("Tampered")).expect("dir");
    let mut bytes = std::fs::read(store.join(&pg_enc_gz)).expect("object");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(store.join(&tampered), &bytes).expect("tampered copy");
    std::fs::copy(
        store.join(format!("{pg_enc_gz}.meta.json")),
        store.join(format!("{tampered}.meta.json")),
    )
    .expect("sidecar");

    // --- the app -------------------------------------------------------------------------------
    let app = RealApp::with_worker().dir(dir).app_url().start().await;
    let api = app.api();
    let admin = api.signup_admin().await;
    let db = app.db_path();
    sqlite_json(
        &db,
        &format!(
            r#"INSERT INTO "AdapterConfig" ("id", "name", "type", "adapterId", "config") VALUES
               ('pg', 'PG', 'database', 'postgres', '{{"host":"127.0.0.1","port":5432,"user":"postgres","database":"postgres"}}'),
               ('maria', 'Maria', 'database', 'mariadb', '{{"host":"127.0.0.1","port":3306,"user":"root","database":"{maria_src}"}}'),
               ('disk', 'Disk', 'storage', 'local', '{{"path":"{}"}}')"#,
            store.display()
        ),
    );
    // The key, entered once, as a "DBackup import" profile; without a key it is a 400.
    let e = api
        .expect(
            &admin,
            "POST",
            "/api/encryption-profiles",
            Some(&json!({"name": "From DBackup", "kind": "dbackup-import"})),
            400,
        )
        .await;
    assert_eq!(e["details"]["field"], "key", "{e}");
    let profile = api
        .expect(
            &admin,
            "POST",
            "/api/encryption-profiles",
            Some(&json!({"name": "From DBackup", "kind": "dbackup-import", "key": KEY})),
            201,
        )
        .await;
    assert_eq!(profile["kind"], "dbackup-import");
    assert!(!profile.to_string().contains(KEY));
    let stored = sqlite_json(&db, r#"SELECT "secretKey" FROM "EncryptionProfile""#);
    assert!(
        !json!(stored).to_string().contains(KEY),
        "the key is sealed at rest"
    );
    // Such a profile never encrypts a job's backups.
    let e = api
        .expect(
            &admin,
            "POST",
            "/api/jobs",
            Some(&json!({"name": "j", "schedule": "@yearly",
            "sourceId": "pg", "destinations": [{"destinationId": "disk"}],
            "encryptionProfileId": profile["id"]})),
            400,
        )
        .await;
    assert_eq!(e["details"]["field"], "encryptionProfileId", "{e}");

    // --- the explorer lists them as DBackup backups --------------------------------------------
    let page = api
        .expect(&admin, "GET", "/api/storage/disk/backups", None, 200)
        .await;
    let items = page["items"].as_array().expect("items");
    let item = |p: &str| -> Value {
        items
            .iter()
            .find(|i| i["path"] == p)
            .cloned()
            .unwrap_or_else(|| panic!("{p} not listed: {page}"))
    };
    for (path, engine, encrypted, compression) in [
        (&pg_enc_gz, "postgresql", true, "GZIP"),
        (&pg_plain_br, "postgresql", false, "BROTLI"),
        (&maria_enc_br, "mariadb", true, "BROTLI"),
        (&maria_plain_gz, "mysql", false, "GZIP"),
    ] {
        let i = item(path);
        assert_eq!(i["origin"], "dbackup", "{i}");
        assert_eq!(i["engine"], engine, "{i}");
        assert_eq!(i["encrypted"], encrypted, "{i}");
        assert_eq!(i["compression"], compression, "{i}");
        assert!(
            i["createdAt"].as_str().is_some_and(|t| t.starts_with("20")),
            "{i}"
        );
        assert_eq!(i["engineVersion"], "16.0");
    }

    // --- restores: equal data ------------------------------------------------------------------
    let pg_dst = format!("h7_dbk_pg_dst_{tag}");
    psql("postgres", &format!("DROP DATABASE IF EXISTS {pg_dst}"));
    let done = restore(
        &api,
        &admin,
        json!({"destinationId": "disk", "path": pg_enc_gz,
        "targetSourceId": "pg", "databaseMapping": {pg_src.clone(): pg_dst}}),
    )
    .await;
    assert_eq!(done["status"], "Success", "{done}");
    assert_eq!(pg_checksum(&pg_dst), pg_sum);
    psql("postgres", &format!("DROP DATABASE {pg_dst}"));

    // Unencrypted: refused without the acknowledgement (400 naming it), then restored with it.
    let body = json!({"destinationId": "disk", "path": pg_plain_br, "targetSourceId": "pg",
        "databaseMapping": {pg_src.clone(): pg_dst}});
    let e = api
        .expect(&admin, "POST", "/api/restores", Some(&body), 400)
        .await;
    assert_eq!(e["details"]["field"], "acceptUnauthenticated", "{e}");
    let mut acknowledged = body.clone();
    acknowledged["acceptUnauthenticated"] = json!(true);
    let done = restore(&api, &admin, acknowledged).await;
    assert_eq!(done["status"], "Success", "{done}");
    assert_eq!(pg_checksum(&pg_dst), pg_sum);
    psql("postgres", &format!("DROP DATABASE {pg_dst}"));
    let audit = sqlite_json(
        &db,
        r#"SELECT "details" FROM "AuditLog" WHERE "action" = 'RESTORE'"#,
    );
    assert!(
        json!(audit).to_string().contains("acceptUnauthenticated"),
        "{audit:?}"
    );

    // MariaDB (DBackup's dumps name their database: restored under its own name).
    for (path, extra) in [
        (&maria_enc_br, json!({})),
        (&maria_plain_gz, json!({"acceptUnauthenticated": true})),
    ] {
        mariadb(None, &format!("DROP DATABASE `{maria_src}`"));
        assert!(!maria_exists(&maria_src));
        let mut body = json!({"destinationId": "disk", "path": path, "targetSourceId": "maria"});
        body.as_object_mut()
            .expect("object")
            .extend(extra.as_object().expect("o").clone());
        let done = restore(&api, &admin, body).await;
        assert_eq!(done["status"], "Success", "{path}: {done}");
        assert_eq!(maria_checksum(&maria_src), maria_sum, "{path}");
    }

    // --- refused before the target is touched --------------------------------------------------
    let done = restore(
        &api,
        &admin,
        json!({"destinationId": "disk", "path": tampered,
        "targetSourceId": "pg", "databaseMapping": {pg_src.clone(): pg_dst}}),
    )
    .await;
    assert_eq!(done["status"], "Failed", "{done}");
    assert!(done.to_string().contains("not authenticated"), "{done}");
    assert!(
        !pg_exists(&pg_dst),
        "the tampered object created the target"
    );
    let wrong = api
        .expect(
            &admin,
            "POST",
            "/api/encryption-profiles",
            Some(&json!({"name": "Wrong", "kind": "dbackup-import", "key": WRONG_KEY})),
            201,
        )
        .await;
    // Two import profiles: the restore must name one.
    let body = json!({"destinationId": "disk", "path": pg_enc_gz, "targetSourceId": "pg",
        "databaseMapping": {pg_src.clone(): pg_dst}});
    let e = api
        .expect(&admin, "POST", "/api/restores", Some(&body), 400)
        .await;
    assert_eq!(e["details"]["field"], "encryptionProfileId", "{e}");
    let mut with_wrong = body.clone();
    with_wrong["encryptionProfileId"] = wrong["id"].clone();
    let done = restore(&api, &admin, with_wrong).await;
    assert_eq!(done["status"], "Failed", "{done}");
    assert!(done.to_string().contains("not authenticated"), "{done}");
    assert!(!pg_exists(&pg_dst), "a wrong key created the target");
    // A decrypted download would release plaintext before the tag is checked: refused.
    let dl = api
        .call(
            &admin,
            "GET",
            &format!(
                "/api/storage/disk/download?path={}&decrypt=true",
                dbackup_tests::encode(&pg_enc_gz)
            ),
            None,
        )
        .await;
    assert_eq!(dl.status, 400, "{}", dl.text());

    psql("postgres", &format!("DROP DATABASE IF EXISTS {pg_src}"));
    mariadb(None, &format!("DROP DATABASE IF EXISTS `{maria_src}`"));
    app.shutdown().await;
}
