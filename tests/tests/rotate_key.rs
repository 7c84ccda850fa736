//! `dbackup rotate-key` end to end: secrets created through the API (a PostgreSQL adapter's
//! password, a webhook's headers, an imported encryption profile key, a TOTP secret, a restore
//! queued with a privileged account's password, the config backup's settings), an SSO client
//! secret and an execution's callback key are sealed with the old key; the host stops. Every
//! envelope in the database is one `dbackup_core::sealed` lists (a scan of every text column
//! and the JSON inside), and opens under the context it gives. The binary refuses a wrong old
//! key naming the row (nothing changed), a dry run changes nothing, the real run re-wraps
//! everything; every envelope then opens with the new key only, and the host started with the
//! new key uses all of it (adapter test, reveal, TOTP login, the queued restore runs with its
//! privileged account); the old key no longer does.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dbackup_core::sealed::{self, Sealed};
use dbackup_host::app::{self, RunningHost};
use dbackup_host::worker::WorkerMode;
use dbackup_identity::secretbox::SecretBox;
use dbackup_tests::{
    bin, free_port, host_config, psql, random_hex, real_app_env, repo, sqlite_json, wait_for,
    warm_real_app, Api, Credential, TempDir, TEST_PASSWORD,
};
use serde_json::{json, Value};

const PROFILE_KEY: &str = "5eed00005eed00005eed00005eed00005eed00005eed00005eed00005eed0001";
const NEW_KEY: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";

/// The host on `data` with these keys (the session secret fixed so sessions survive restarts);
/// with `cron` the runner ticks (and the worker's callbacks reach this host).
async fn start(data: &Path, encryption_key: &str, session_secret: &str, cron: bool) -> RunningHost {
    let port = free_port();
    let mut env = real_app_env(&format!("http://127.0.0.1:{}", free_port()));
    env.push(("SPIN_VARIABLE_APP_URL", format!("http://127.0.0.1:{port}")));
    for (k, v) in env.iter_mut() {
        match *k {
            "SPIN_VARIABLE_ENCRYPTION_KEY" => *v = encryption_key.to_owned(),
            "SPIN_VARIABLE_SESSION_SECRET" => *v = session_secret.to_owned(),
            _ => {}
        }
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut config = host_config(repo().join("spin.toml"), data, &env);
    config.listen = ([127, 0, 0, 1], port).into();
    config.migrate = true;
    config.cron = cron;
    config.worker = WorkerMode::Spawn {
        binary: bin("dbackup-worker"),
    };
    app::start(config).await.expect("host starts")
}

/// Runs `dbackup rotate-key` with the keys in the environment: (exit code, stderr).
fn rotate(data: &Path, old: Option<&str>, new: Option<&str>, dry_run: bool) -> (i32, String) {
    let mut cmd = Command::new(bin("dbackup"));
    cmd.arg("rotate-key").arg("--data-dir").arg(data);
    if dry_run {
        cmd.arg("--dry-run");
    }
    cmd.env_remove("DBACKUP_OLD_ENCRYPTION_KEY")
        .env_remove("DBACKUP_NEW_ENCRYPTION_KEY");
    if let Some(k) = old {
        cmd.env("DBACKUP_OLD_ENCRYPTION_KEY", k);
    }
    if let Some(k) = new {
        cmd.env("DBACKUP_NEW_ENCRYPTION_KEY", k);
    }
    let out = cmd.output().expect("run dbackup rotate-key");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// One envelope found in the database.
#[derive(Debug, Clone, PartialEq)]
struct Found {
    /// `table.column[/json/path]` and the row.
    at: String,
    kind: &'static Sealed,
    context: String,
    value: String,
}

/// Every envelope in every text column of every table, and inside the JSON a column holds;
/// each must be one `dbackup_core::sealed` lists (else rotate-key would not re-wrap it).
fn sealed_values(db: &Path) -> Vec<Found> {
    fn walk(v: &Value, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, String)>) {
        match v {
            Value::String(s) if sealed::is_envelope(s) => out.push((path.clone(), s.clone())),
            Value::Object(m) => {
                for (k, v) in m {
                    path.push(k.clone());
                    walk(v, path, out);
                    path.pop();
                }
            }
            Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    path.push(i.to_string());
                    walk(v, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    let tables = sqlite_json(
        db,
        r#"SELECT name, sql LIKE '%WITHOUT ROWID%' AS keyed FROM sqlite_master
           WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"#,
    );
    for t in tables {
        let table = t["name"].as_str().expect("name");
        // A WITHOUT ROWID table has no rowid; its scan runs in primary-key order.
        let order = if t["keyed"] == 1 {
            ""
        } else {
            " ORDER BY rowid"
        };
        for row in sqlite_json(db, &format!(r#"SELECT * FROM "{table}"{order}"#)) {
            let row = row.as_object().expect("row").clone();
            for (column, value) in &row {
                let Some(text) = value.as_str() else { continue };
                let mut envelopes = Vec::new();
                match serde_json::from_str::<Value>(text) {
                    Ok(json @ (Value::Object(_) | Value::Array(_))) => {
                        walk(&json, &mut Vec::new(), &mut envelopes)
                    }
                    _ if sealed::is_envelope(text) => envelopes.push((Vec::new(), text.to_owned())),
                    _ => {}
                }
                for (path, envelope) in envelopes {
                    let at = format!("{table}.{column}/{} in {row:?}", path.join("/"));
                    let path: Vec<&str> = path.iter().map(String::as_str).collect();
                    let kind = sealed::locate(table, column, &path).unwrap_or_else(|| {
                        panic!("{at}: a sealed value dbackup_core::sealed does not list")
                    });
                    let cell = |c: &str| {
                        Some(
                            row.get(c)
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_owned(),
                        )
                    };
                    let context = kind
                        .context_of(cell, path.first().copied())
                        .expect("context");
                    found.push(Found {
                        at,
                        kind,
                        context,
                        value: envelope,
                    });
                }
            }
        }
    }
    found
}

/// The envelopes alone, for before/after comparisons.
fn sealed_state(db: &Path) -> Vec<String> {
    sealed_values(db).into_iter().map(|f| f.value).collect()
}

/// Asserts every envelope opens with `key` under its registry context; their plaintexts.
fn open_all(found: &[Found], key: &str) -> Vec<Vec<u8>> {
    let sbox = SecretBox::from_hex_key(key).expect("box");
    found
        .iter()
        .map(|f| {
            sbox.decrypt(&f.value, &f.context)
                .unwrap_or_else(|e| panic!("{} ({}): {e}", f.at, f.context))
        })
        .collect()
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// Password, then a TOTP code: the status of the second step.
async fn totp_login(api: &Api, totp: &totp_rs::TOTP) -> u16 {
    let resp = api
        .call(
            &Credential::Anonymous,
            "POST",
            "/api/auth/login",
            Some(&json!({"email": "admin@example.com", "password": TEST_PASSWORD})),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let challenge = resp.json()["challenge"]
        .as_str()
        .expect("challenge")
        .to_owned();
    // A fresh time step each call (codes are single-use per step).
    let step = now_secs() / 30;
    tokio::time::sleep(std::time::Duration::from_secs(
        ((step + 1) * 30).saturating_sub(now_secs()),
    ))
    .await;
    let code = totp.generate(now_secs());
    api.call(
        &Credential::Anonymous,
        "POST",
        "/api/auth/login/2fa",
        Some(&json!({"challenge": challenge, "code": code})),
    )
    .await
    .status
}

async fn test_adapter(api: &Api, who: &Credential, id: &str) -> dbackup_tests::HttpResponse {
    api.call(who, "POST", &format!("/api/adapters/{id}/test"), None)
        .await
}

#[tokio::test]
async fn rotate_key_rewraps_every_secret_in_one_go() {
    warm_real_app().await;
    let (old, session) = (random_hex(), random_hex());
    let dir = TempDir::new();
    let data = dir.join("data");
    let db = data.join("dbackup.db");

    let host = start(&data, &old, &session, false).await;
    let api = Api { addr: host.addr };
    let (_, admin) = api
        .signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await;
    let pg = api
        .expect(
            &admin,
            "POST",
            "/api/adapters",
            Some(&json!({"name": "pg", "adapterId": "postgres",
                "config": {"host": "127.0.0.1", "user": "postgres", "password": "unused-with-trust"}})),
            201,
        )
        .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let profile = api
        .expect(
            &admin,
            "POST",
            "/api/encryption-profiles",
            Some(&json!({"name": "imported", "key": PROFILE_KEY})),
            201,
        )
        .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let enrollment = api
        .expect(
            &admin,
            "POST",
            "/api/auth/2fa/enroll",
            Some(&json!({"password": TEST_PASSWORD})),
            200,
        )
        .await;
    let totp = totp_rs::TOTP::from_url(enrollment["otpauthUri"].as_str().expect("uri"))
        .expect("otpauth URI");
    api.expect(
        &admin,
        "POST",
        "/api/auth/2fa/verify",
        Some(&json!({"code": totp.generate(now_secs())})),
        200,
    )
    .await;
    // An SSO provider (its API needs a live issuer; the row is sealed like the API seals it).
    let sso_sealed = SecretBox::from_hex_key(&old)
        .expect("box")
        .encrypt(b"sso-client-secret", "SsoProvider.clientSecret:corp")
        .expect("seal");
    sqlite_json(
        &db,
        &format!(
            r#"INSERT INTO "SsoProvider" ("id", "providerId", "adapterId", "name", "clientSecret")
               VALUES ('sso1', 'corp', 'generic', 'Corp', '{sso_sealed}')"#
        ),
    );
    let r = test_adapter(&api, &admin, &pg).await;
    assert_eq!(
        (r.status, r.json()["ok"].clone()),
        (200, json!(true)),
        "{}",
        r.text()
    );
    // A webhook whose headers are a secret map (each value sealed).
    let hook = api
        .expect(
            &admin,
            "POST",
            "/api/adapters",
            Some(&json!({"name": "hook", "adapterId": "webhook",
            "config": {"url": "http://127.0.0.1:9/hook",
                       "headers": {"Authorization": "Bearer hook-token", "X-Env": "test"}}})),
            201,
        )
        .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    // A restore queued with a privileged account (the runner is off, so it stays queued over
    // the rotation): a custom-format dump on a local destination, into a fresh database.
    let store = dir.join("backups");
    std::fs::create_dir_all(store.join("rotate")).expect("backup folder");
    let source_db = format!("rk_src_{}", std::process::id());
    let target_db = format!("rk_dst_{}", std::process::id());
    for db in [&source_db, &target_db] {
        psql("postgres", &format!("DROP DATABASE IF EXISTS {db}"));
    }
    psql("postgres", &format!("CREATE DATABASE {source_db}"));
    psql(
        &source_db,
        "CREATE TABLE t (id int); INSERT INTO t VALUES (42);",
    );
    let dumped = Command::new("pg_dump")
        .args([
            "-Fc",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            &source_db,
            "-f",
        ])
        .arg(store.join("rotate/shop.dump"))
        .status()
        .expect("run pg_dump");
    assert!(dumped.success());
    psql("postgres", &format!("DROP DATABASE {source_db}"));
    let disk = api
        .expect(
            &admin,
            "POST",
            "/api/adapters",
            Some(&json!({"name": "disk", "adapterId": "local",
                "config": {"path": store.display().to_string()}})),
            201,
        )
        .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    // The config backup's settings name a destination and a profile (nothing sealed of their own).
    api.expect(
        &admin,
        "PUT",
        "/api/system/config-backup",
        Some(&json!({"enabled": false, "destinationId": disk,
            "encryptionProfileId": profile, "includeSecrets": true, "keep": 2})),
        200,
    )
    .await;
    let restore = api
        .expect(
            &admin,
            "POST",
            "/api/restores",
            Some(
                &json!({"destinationId": disk, "path": "rotate/shop.dump", "targetSourceId": pg,
                "databaseMapping": {"shop": target_db},
                "privileged": {"user": "postgres", "password": "privileged-pw"}}),
            ),
            202,
        )
        .await["executionId"]
        .as_str()
        .expect("executionId")
        .to_owned();
    // A finished execution keeps the callback key the runner sealed for it.
    let callback_sealed = SecretBox::from_hex_key(&old)
        .expect("box")
        .encrypt(b"00ff", &sealed::execution_callback_key())
        .expect("seal");
    sqlite_json(
        &db,
        &format!(
            r#"INSERT INTO "Execution" ("id", "type", "status", "logs", "callbackKey")
               VALUES ('done1', 'Backup', 'Success', '[]', '{callback_sealed}')"#
        ),
    );
    host.shutdown().await;

    // Every envelope is one the registry lists, of every kind it lists, opening with the old key.
    let found = sealed_values(&db);
    let kinds: BTreeSet<&str> = found.iter().map(|f| f.kind.label).collect();
    let all: BTreeSet<&str> = sealed::ALL.iter().map(|s| s.label).collect();
    assert_eq!(kinds, all, "{found:#?}");
    let plaintexts = open_all(&found, &old);
    assert!(
        plaintexts.contains(&b"privileged-pw".to_vec()),
        "{found:#?}"
    );
    let before = sealed_state(&db);
    // pg password, 2 headers, profile, TOTP, SSO, callback key, privileged password.
    assert_eq!(before.len(), 8, "{found:#?}");

    // Keys only from the environment.
    let (code, err) = rotate(&data, None, Some(NEW_KEY), false);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("DBACKUP_OLD_ENCRYPTION_KEY"), "{err}");
    let (code, err) = rotate(&data, Some(&old), Some(&old), false);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("same key"), "{err}");
    // A wrong old key: the first sealed row is named, nothing changes.
    let (code, err) = rotate(&data, Some(NEW_KEY), Some(&old), false);
    assert_eq!(code, 1, "{err}");
    let first = if pg < hook {
        format!("AdapterConfig \"{pg}\" (postgres) field password")
    } else {
        format!("AdapterConfig \"{hook}\" (webhook) field headers")
    };
    assert!(
        err.contains(&first) && err.contains("nothing was changed"),
        "{err}"
    );
    assert!(!err.contains(NEW_KEY) && !err.contains(&old), "{err}");
    assert_eq!(sealed_state(&db), before);
    // Dry run: everything checked and counted, nothing changed.
    let (code, err) = rotate(&data, Some(&old), Some(NEW_KEY), true);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("2 adapter secret fields, 1 encryption profile keys, 1 2FA secrets, 1 SSO client secrets, 1 execution callback keys, 1 restore privileged passwords (7 in all)"),
        "{err}"
    );
    assert_eq!(sealed_state(&db), before);

    let started = std::time::Instant::now();
    let (code, err) = rotate(&data, Some(&old), Some(NEW_KEY), false);
    println!("rotate-key took {:?}: {err}", started.elapsed());
    assert_eq!(code, 0, "{err}");
    let after = sealed_state(&db);
    assert_eq!(after.len(), before.len());
    for (b, a) in before.iter().zip(&after) {
        assert_ne!(b, a);
    }
    // Every envelope opens with the new key, to the same plaintext, and no longer with the old.
    let found = sealed_values(&db);
    assert_eq!(open_all(&found, NEW_KEY), plaintexts);
    let old_box = SecretBox::from_hex_key(&old).expect("box");
    for f in &found {
        assert!(old_box.decrypt(&f.value, &f.context).is_err(), "{}", f.at);
    }
    let stored = sqlite_json(
        &db,
        r#"SELECT clientSecret FROM "SsoProvider" WHERE id = 'sso1'"#,
    );
    let sso_now = stored[0]["clientSecret"].as_str().expect("secret");
    let new_box = SecretBox::from_hex_key(NEW_KEY).expect("box");
    assert_eq!(
        new_box
            .decrypt(sso_now, "SsoProvider.clientSecret:corp")
            .expect("decrypts with the new key"),
        b"sso-client-secret"
    );
    assert!(SecretBox::from_hex_key(&old)
        .expect("box")
        .decrypt(sso_now, "SsoProvider.clientSecret:corp")
        .is_err());

    // The host with the new key, runner on: everything decrypts, the queued restore runs with
    // its privileged account.
    let host = start(&data, NEW_KEY, &session, true).await;
    let api = Api { addr: host.addr };
    let r = test_adapter(&api, &admin, &pg).await;
    assert_eq!(
        (r.status, r.json()["ok"].clone()),
        (200, json!(true)),
        "{}",
        r.text()
    );
    let revealed = api
        .expect(
            &admin,
            "POST",
            &format!("/api/encryption-profiles/{profile}/reveal"),
            Some(&json!({"password": TEST_PASSWORD})),
            200,
        )
        .await;
    assert!(revealed.to_string().contains(PROFILE_KEY), "{revealed}");
    assert_eq!(totp_login(&api, &totp).await, 200);
    let done = wait_for(Duration::from_secs(120), || async {
        let v = api
            .expect(
                &admin,
                "GET",
                &format!("/api/executions/{restore}"),
                None,
                200,
            )
            .await;
        (!matches!(v["status"].as_str(), Some("Pending" | "Running"))).then_some(v)
    })
    .await
    .expect("the queued restore finishes");
    assert_eq!(done["status"], "Success", "{done}");
    assert_eq!(psql(&target_db, "SELECT id FROM t"), "42");
    psql("postgres", &format!("DROP DATABASE IF EXISTS {target_db}"));
    host.shutdown().await;

    // The old key no longer opens anything.
    let host = start(&data, &old, &session, false).await;
    let api = Api { addr: host.addr };
    let r = test_adapter(&api, &admin, &pg).await;
    assert!(
        r.status >= 500 || r.json()["ok"] != json!(true),
        "{}",
        r.text()
    );
    let r = api
        .call(
            &admin,
            "POST",
            &format!("/api/encryption-profiles/{profile}/reveal"),
            Some(&json!({"password": TEST_PASSWORD})),
        )
        .await;
    assert!(r.status >= 500, "{} {}", r.status, r.text());
    assert!(!r.text().contains(PROFILE_KEY));
    assert_ne!(totp_login(&api, &totp).await, 200);
    host.shutdown().await;
}
