//! Passkeys end to end in headless Chromium with its WebAuthn virtual authenticator
//! (tests/passkey_browser/run.mjs, playwright-core over CDP): registration, passwordless login,
//! the passkey as second factor, a counter that goes backwards, and user verification off.
//! The app is served as `http://localhost:<port>` with that origin as its WebAuthn origin
//! (Chromium refuses an IP-literal RP ID).

use std::process::Command;

use dbackup_host::app;
use dbackup_tests::{
    free_port, host_config, real_app_env, repo, warm_real_app, Api, TempDir, TEST_PASSWORD,
};
use serde_json::Value;

fn script_dir() -> std::path::PathBuf {
    repo().join("tests").join("passkey_browser")
}

fn ensure_installed() {
    if script_dir().join("node_modules/playwright-core").is_dir() {
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(script_dir())
        .status()
        .expect("run npm ci in tests/passkey_browser");
    assert!(status.success(), "npm ci in tests/passkey_browser failed");
}

#[tokio::test]
async fn passkeys_in_chromium_with_a_virtual_authenticator() {
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "chromium is missing (cargo xtask test installs it)"
    );
    ensure_installed();
    warm_real_app().await;
    let port = free_port();
    let origin = format!("http://localhost:{port}");
    let dir = TempDir::new();
    let mut env = real_app_env(&format!("http://127.0.0.1:{}", free_port()));
    env.push(("SPIN_VARIABLE_WEBAUTHN_RP_ID", "localhost".to_owned()));
    env.push(("SPIN_VARIABLE_WEBAUTHN_ORIGINS", origin.clone()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut config = host_config(repo().join("spin.toml"), &dir.join("data"), &env);
    config.migrate = true;
    config.listen = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let host = app::start(config).await.expect("the app starts");
    let api = Api { addr: host.addr };
    let email = "admin@example.com";
    let (_, admin) = api.signup("Admin", email, TEST_PASSWORD).await;

    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("run.mjs")
            .current_dir(script_dir())
            .env("APP", &origin)
            .env("EMAIL", email)
            .env("PASSWORD", TEST_PASSWORD)
            .output()
            .expect("run node tests/passkey_browser/run.mjs")
    })
    .await
    .expect("browser run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    let r: Value = serde_json::from_str(line).unwrap_or_else(|e| {
        panic!(
            "no result ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(r.get("error").is_none(), "{r:#}");

    assert_eq!(r["passwordLogin"], 200, "{r:#}");
    assert_eq!(r["register"]["status"], 201, "{r:#}");
    assert_eq!(r["register"]["body"]["alg"], -7, "{r:#}");
    assert_eq!(r["credentials"][0]["rpId"], "localhost");
    assert_eq!(r["credentials"][0]["resident"], true);
    assert_eq!(r["passwordless"]["status"], 200, "{r:#}");
    assert_eq!(r["session"], email);
    assert_eq!(r["enable2fa"], 200);
    assert_eq!(r["passwordStep"]["twoFactorRequired"], true);
    assert_eq!(r["passwordStep"]["methods"][0], "passkey");
    assert_eq!(r["secondFactor"]["status"], 200, "{r:#}");
    assert!(r["counterBefore"].as_i64().unwrap() >= 2, "{r:#}");
    assert_eq!(r["counterRegression"]["status"], 401, "{r:#}");
    assert_eq!(r["counterRestored"], 200, "{r:#}");
    assert_eq!(r["withoutUv"]["error"], "NotAllowedError", "{r:#}");

    // The regression is in the audit log with both counters.
    let page = api
        .expect(
            &admin,
            "GET",
            "/api/audit?action=LOGIN_FAILED&limit=200",
            None,
            200,
        )
        .await;
    let row = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| {
            row["details"]["reason"]
                .as_str()
                .is_some_and(|s| s.contains("counter"))
        })
        .unwrap_or_else(|| panic!("no counter regression audited: {page:#}"));
    assert_eq!(row["details"]["receivedCounter"], 1);
    host.shutdown().await;
}
