//! Secrets stay secret: one whole identity flow through the `dbackup` binary (so its stderr —
//! the host's and every component's log — can be captured) with canary passwords, and the
//! API key, TOTP secret and backup codes it hands out. None of them may appear in any response
//! body or header (except the one answer that hands the secret out), in any log line, in any
//! AuditLog row, or anywhere in the database files.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dbackup_tests::{
    bin, free_port, random_hex, repo, session_cookie, share_compile_cache, sqlite_json,
    warm_real_app, Api, Credential, HttpResponse, TempDir,
};
use serde_json::{json, Value};
use tokio::process::Command;

/// Every response of the flow, labelled.
#[derive(Default)]
struct Recorder {
    responses: Vec<(String, HttpResponse)>,
}

impl Recorder {
    fn keep(&mut self, label: &str, resp: HttpResponse) -> &HttpResponse {
        self.responses.push((label.to_owned(), resp));
        &self.responses.last().expect("just pushed").1
    }
}

fn full_text(resp: &HttpResponse) -> String {
    let mut text = resp.text();
    for (name, value) in &resp.headers {
        text.push_str(&format!(
            "\n{name}: {}",
            String::from_utf8_lossy(value.as_bytes())
        ));
    }
    text
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

#[tokio::test]
async fn canaries_never_leak() {
    warm_real_app().await;
    let dir = TempDir::new();
    let data = dir.join("data");
    share_compile_cache(&data);
    let listen = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let (encryption_key, session_secret, worker_token) = (random_hex(), random_hex(), random_hex());
    let mut child = Command::new(bin("dbackup"))
        .arg("--manifest")
        .arg(repo().join("spin.toml"))
        .arg("--data-dir")
        .arg(&data)
        .arg("--listen")
        .arg(listen.to_string())
        .arg("--no-worker")
        .env("SPIN_VARIABLE_ENCRYPTION_KEY", &encryption_key)
        .env("SPIN_VARIABLE_SESSION_SECRET", &session_secret)
        .env("SPIN_VARIABLE_WORKER_TOKEN", &worker_token)
        .env(
            "SPIN_VARIABLE_WORKER_URL",
            format!("http://127.0.0.1:{}", free_port()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start dbackup");
    let stderr = child.stderr.take().expect("stderr");
    let (lines, reader) = dbackup_tests::collect_lines(stderr);
    let serving = format!("dbackup: serving on http://{listen}");
    let up = dbackup_tests::wait_for(Duration::from_secs(120), || {
        let lines = lines.clone();
        let serving = serving.clone();
        async move {
            lines
                .lock()
                .expect("lines")
                .contains(&serving)
                .then_some(())
        }
    })
    .await;
    assert!(
        up.is_some(),
        "dbackup did not start: {:#?}",
        lines.lock().expect("lines")
    );

    let api = Api { addr: listen };
    let anon = Credential::Anonymous;
    let canary = |what: &str| format!("canary-{what}-{}", &random_hex()[..20]);
    let (admin_pw, user_pw, new_pw, wrong_pw) = (
        canary("admin"),
        canary("user"),
        canary("new"),
        canary("wrong"),
    );
    let mut rec = Recorder::default();

    // Sign-up, a failed and a good login.
    let resp = api
        .call(
            &anon,
            "POST",
            "/api/auth/signup",
            Some(&json!({"name": "Admin", "email": "admin@example.com", "password": admin_pw})),
        )
        .await;
    assert_eq!(resp.status, 201, "{}", resp.text());
    let admin = Credential::Cookie(session_cookie(&resp).expect("cookie"));
    rec.keep("signup", resp);
    let wrong = json!({"email": "admin@example.com", "password": wrong_pw});
    let resp = api
        .call(&anon, "POST", "/api/auth/login", Some(&wrong))
        .await;
    assert_eq!(resp.status, 401);
    rec.keep("failed login", resp);
    // Malformed bodies carrying a canary are refused without echoing it.
    let resp = api
        .send(
            "POST",
            "/api/auth/login",
            &[("content-type", "application/json")],
            None,
        )
        .await;
    rec.keep("empty login", resp);
    let truncated = format!(r#"{{"email":"admin@example.com","password":"{wrong_pw}""#);
    let resp = dbackup_tests::request(
        listen,
        "POST",
        "/api/auth/login",
        &[("content-type", "application/json")],
        Some(truncated.into_bytes()),
    )
    .await
    .expect("request");
    assert_eq!(resp.status, 400, "{}", resp.text());
    rec.keep("truncated login", resp);

    // A user with their own password; an unknown field carrying a canary is ignored.
    let group = api
        .create_group(&admin, "Ops", &["users:read", "api-keys:write"])
        .await;
    let resp = api
        .call(
            &admin,
            "POST",
            "/api/users",
            Some(
                &json!({"name": "Ann", "email": "ann@example.com", "password": user_pw,
                         "groupId": group["id"]}),
            ),
        )
        .await;
    assert_eq!(resp.status, 201, "{}", resp.text());
    let ann_id = resp.json()["id"].as_str().expect("id").to_owned();
    rec.keep("create user", resp);
    let resp = api
        .call(
            &admin,
            "PATCH",
            &format!("/api/users/{ann_id}"),
            Some(&json!({"name": "Ann B", "password": user_pw})),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    rec.keep("update user", resp);
    let ann_login = json!({"email": "ann@example.com", "password": user_pw});
    let resp = api
        .call(&anon, "POST", "/api/auth/login", Some(&ann_login))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    rec.keep("ann login", resp);

    // An API key: its secret appears in the creation answer only.
    let resp = api
        .call(
            &admin,
            "POST",
            "/api/api-keys",
            Some(&json!({"name": "ci", "permissions": ["users:read", "audit:read"]})),
        )
        .await;
    assert_eq!(resp.status, 201, "{}", resp.text());
    let api_key = resp.json()["key"].as_str().expect("key").to_owned();
    rec.keep("create api key", resp);
    let bearer = Credential::Bearer(api_key.clone());
    let resp = api.call(&bearer, "GET", "/api/users", None).await;
    assert_eq!(resp.status, 200);
    rec.keep("use api key", resp);
    let resp = api.call(&admin, "GET", "/api/api-keys", None).await;
    rec.keep("list api keys", resp);

    // TOTP: the secret in the enrollment answer only, backup codes in the verification only.
    let resp = api
        .call(
            &admin,
            "POST",
            "/api/auth/2fa/enroll",
            Some(&json!({"password": admin_pw})),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let enrollment = resp.json();
    let totp_secret = enrollment["secret"].as_str().expect("secret").to_owned();
    rec.keep("2fa enroll", resp);
    let totp = totp_rs::TOTP::from_url(enrollment["otpauthUri"].as_str().expect("uri"))
        .expect("otpauth URI");
    let resp = api
        .call(
            &admin,
            "POST",
            "/api/auth/2fa/verify",
            Some(&json!({"code": totp.generate(now_secs())})),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let backup_codes: Vec<String> = resp.json()["backupCodes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().expect("code").to_owned())
        .collect();
    rec.keep("2fa verify", resp);
    let resp = api.call(&admin, "POST", "/api/auth/logout", None).await;
    rec.keep("logout", resp);
    let admin_login = json!({"email": "admin@example.com", "password": admin_pw});
    let resp = api
        .call(&anon, "POST", "/api/auth/login", Some(&admin_login))
        .await;
    let challenge = resp.json()["challenge"]
        .as_str()
        .expect("challenge")
        .to_owned();
    rec.keep("login, 2fa challenge", resp);
    let resp = api
        .call(
            &anon,
            "POST",
            "/api/auth/login/2fa",
            Some(&json!({"challenge": challenge, "code": backup_codes[0]})),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let admin = Credential::Cookie(session_cookie(&resp).expect("cookie"));
    rec.keep("login 2fa (backup code)", resp);
    let resp = api
        .call(
            &admin,
            "POST",
            "/api/auth/2fa/disable",
            Some(&json!({"code": backup_codes[1]})),
        )
        .await;
    assert_eq!(resp.status, 204, "{}", resp.text());
    rec.keep("2fa disable", resp);

    // Password change, login with the new password, a wrong current password.
    let change = json!({"currentPassword": admin_pw, "newPassword": new_pw});
    let resp = api
        .call(&admin, "POST", "/api/profile/password", Some(&change))
        .await;
    assert_eq!(resp.status, 204, "{}", resp.text());
    rec.keep("password change", resp);
    let bad_change = json!({"currentPassword": wrong_pw, "newPassword": new_pw});
    let resp = api
        .call(&admin, "POST", "/api/profile/password", Some(&bad_change))
        .await;
    assert_eq!(resp.status, 400);
    rec.keep("bad password change", resp);
    let resp = api
        .call(
            &anon,
            "POST",
            "/api/auth/login",
            Some(&json!({"email": "admin@example.com", "password": new_pw})),
        )
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    rec.keep("login new password", resp);

    // Reading everything back.
    for target in [
        "/api/auth/session",
        "/api/auth/sessions",
        "/api/users",
        "/api/groups",
        "/api/profile",
        "/api/settings",
        "/api/audit?limit=200",
    ] {
        let resp = api.call(&admin, "GET", target, None).await;
        assert_eq!(resp.status, 200, "{target}: {}", resp.text());
        rec.keep(target, resp);
    }
    let resp = api.call(&bearer, "GET", "/api/audit?limit=200", None).await;
    rec.keep("audit via key", resp);

    // Stop the host and collect its log.
    let pid = i32::try_from(child.id().expect("pid")).expect("pid");
    // SAFETY: kill(2) on the child process this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("dbackup stops")
        .expect("wait");
    assert_eq!(status.code(), Some(0));
    reader.await.expect("stderr reader");
    let log = lines.lock().expect("lines").join("\n");

    // What may appear where.
    let passwords = [&admin_pw, &user_pw, &new_pw, &wrong_pw];
    let variables = [&encryption_key, &session_secret, &worker_token];
    let mut handed_out: Vec<(&str, &str)> = vec![
        (api_key.as_str(), "create api key"),
        (totp_secret.as_str(), "2fa enroll"),
    ];
    for code in &backup_codes {
        handed_out.push((code.as_str(), "2fa verify"));
    }
    // The key's secret part alone must not leak either.
    let key_secret = api_key.rsplit('_').next().expect("secret part").to_owned();
    handed_out.push((key_secret.as_str(), "create api key"));

    for (label, resp) in &rec.responses {
        let text = full_text(resp);
        for secret in passwords.iter().chain(&variables) {
            assert!(
                !text.contains(secret.as_str()),
                "{label} leaks {secret}: {text}"
            );
        }
        for (secret, only_in) in &handed_out {
            assert!(
                label == only_in || !text.contains(secret),
                "{label} leaks {secret} (only `{only_in}` may show it): {text}"
            );
        }
    }
    let all_secrets: Vec<&str> = passwords
        .iter()
        .chain(&variables)
        .map(|s| s.as_str())
        .chain(handed_out.iter().map(|(s, _)| *s))
        .collect();
    for secret in &all_secrets {
        assert!(!log.contains(secret), "the log leaks {secret}:\n{log}");
    }

    let db = data.join("dbackup.db");
    let audit = sqlite_json(&db, r#"SELECT * FROM "AuditLog""#);
    assert!(audit.len() >= 15, "{audit:#?}");
    let audit_text = Value::Array(audit).to_string();
    for secret in &all_secrets {
        assert!(
            !audit_text.contains(secret),
            "AuditLog leaks {secret}: {audit_text}"
        );
    }
    // Nothing in the database files at all: passwords hashed, key hashed, TOTP secret encrypted,
    // backup codes hashed.
    let mut stored = String::new();
    for file in ["dbackup.db", "dbackup.db-wal"] {
        if let Ok(bytes) = std::fs::read(data.join(file)) {
            stored.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    assert!(
        stored.contains("ann@example.com"),
        "the search must see the stored rows"
    );
    for secret in &all_secrets {
        assert!(
            !stored.contains(secret),
            "the database holds {secret} in clear"
        );
    }
}
