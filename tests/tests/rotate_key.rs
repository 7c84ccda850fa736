//! `dbackup rotate-key` end to end: secrets created through the API (a PostgreSQL adapter's
//! password, an imported encryption profile key, a TOTP secret) and an SSO client secret are
//! sealed with the old key; the host stops; the binary refuses a wrong old key naming the row
//! (nothing changed), a dry run changes nothing, the real run re-wraps everything; the host
//! started with the new key decrypts all of it (adapter test, reveal, TOTP login), the old
//! key no longer does.

use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use dbackup_host::app::{self, RunningHost};
use dbackup_host::worker::WorkerMode;
use dbackup_identity::secretbox::SecretBox;
use dbackup_tests::{
    bin, free_port, host_config, random_hex, real_app_env, repo, sqlite_json, warm_real_app, Api,
    Credential, TempDir, TEST_PASSWORD,
};
use serde_json::{json, Value};

const PROFILE_KEY: &str = "5eed00005eed00005eed00005eed00005eed00005eed00005eed00005eed0001";
const NEW_KEY: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";

/// The host on `data` with these keys (the session secret fixed so sessions survive restarts).
async fn start(data: &Path, encryption_key: &str, session_secret: &str) -> RunningHost {
    let mut env = real_app_env(&format!("http://127.0.0.1:{}", free_port()));
    for (k, v) in env.iter_mut() {
        match *k {
            "SPIN_VARIABLE_ENCRYPTION_KEY" => *v = encryption_key.to_owned(),
            "SPIN_VARIABLE_SESSION_SECRET" => *v = session_secret.to_owned(),
            _ => {}
        }
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut config = host_config(repo().join("spin.toml"), data, &env);
    config.migrate = true;
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

/// Every sealed column, for before/after comparisons.
fn sealed_state(db: &Path) -> Vec<Value> {
    sqlite_json(
        db,
        r#"SELECT 'a' AS t, id, config AS v FROM "AdapterConfig"
           UNION ALL SELECT 'p', id, secretKey FROM "EncryptionProfile"
           UNION ALL SELECT 't', userId, secret FROM "TwoFactor"
           UNION ALL SELECT 's', id, clientSecret FROM "SsoProvider"
           ORDER BY 1, 2"#,
    )
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

    let host = start(&data, &old, &session).await;
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
    host.shutdown().await;

    let before = sealed_state(&db);
    assert_eq!(before.len(), 4, "{before:?}");

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
    assert!(
        err.contains(&format!("AdapterConfig \"{pg}\" (postgres) field password"))
            && err.contains("nothing was changed"),
        "{err}"
    );
    assert!(!err.contains(NEW_KEY) && !err.contains(&old), "{err}");
    assert_eq!(sealed_state(&db), before);
    // Dry run: everything checked and counted, nothing changed.
    let (code, err) = rotate(&data, Some(&old), Some(NEW_KEY), true);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("1 adapter secret fields, 1 encryption profile keys, 1 2FA secrets, 1 SSO client secrets, 0 execution callback keys (4 in all)"),
        "{err}"
    );
    assert_eq!(sealed_state(&db), before);

    let started = std::time::Instant::now();
    let (code, err) = rotate(&data, Some(&old), Some(NEW_KEY), false);
    println!("rotate-key took {:?}: {err}", started.elapsed());
    assert_eq!(code, 0, "{err}");
    let after = sealed_state(&db);
    assert_eq!(after.len(), 4);
    for (b, a) in before.iter().zip(&after) {
        assert_ne!(b["v"], a["v"], "{a}");
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

    // The host with the new key: everything decrypts.
    let host = start(&data, NEW_KEY, &session).await;
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
    host.shutdown().await;

    // The old key no longer opens anything.
    let host = start(&data, &old, &session).await;
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
