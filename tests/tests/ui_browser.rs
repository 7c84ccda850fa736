//! The web UI in a real headless Chromium (Debian's /usr/bin/chromium driven by npm
//! playwright-core) against the real app started in-process. Each test runs one script from
//! `frontend/e2e/` with the app's base URL and checks its exit status and that every expected
//! step reported `ok`, in order.
//!
//! Needs `frontend/dist` and `frontend/node_modules` (`cargo xtask test` builds the UI with
//! `npm ci`) and Chromium (installed by `xtask/src/infra.rs` `prepare()`). A failing step saves
//! a full-page screenshot; the test names the folder.

use std::process::Stdio;
use std::time::{Duration, Instant};

use dbackup_tests::{repo, RealApp, TempDir};

/// Runs `frontend/e2e/<script>` against `app` and checks that it reports `steps` in order.
async fn run_script(app: &RealApp, script: &str, extra_args: &[&str], steps: &[&str]) {
    let frontend = repo().join("frontend");
    assert!(
        frontend.join("dist/index.html").is_file(),
        "frontend/dist is missing: run through `cargo xtask test` (it builds the UI)"
    );
    assert!(
        frontend.join("node_modules/playwright-core").is_dir(),
        "frontend/node_modules is missing: run through `cargo xtask test` (npm ci)"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(
        std::path::Path::new(&chromium).is_file(),
        "{chromium} is missing: `cargo xtask test` installs Debian's chromium"
    );

    let base = format!("http://{}", app.host.addr);
    let artifacts = TempDir::new();
    let started = Instant::now();
    let child = tokio::process::Command::new("node")
        .arg(format!("e2e/{script}"))
        .arg(&base)
        .args(extra_args)
        .current_dir(&frontend)
        .env("CHROMIUM", &chromium)
        .env("DBACKUP_E2E_ARTIFACTS", artifacts.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start node");
    let out = tokio::time::timeout(Duration::from_secs(240), child.wait_with_output())
        .await
        .expect("the browser script finishes within 4 minutes")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!(
        "{script} ({:.1} s):\n{stdout}",
        started.elapsed().as_secs_f64()
    );
    if !out.status.success() {
        // Keep the failure screenshot: the temp dir would be removed on drop.
        let keep = std::env::temp_dir().join(format!(
            "dbackup-ui-failure-{}-{}",
            script.trim_end_matches(".mjs"),
            std::process::id()
        ));
        let _ = std::fs::rename(artifacts.path(), &keep);
        panic!(
            "{script} failed ({}); screenshots in {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
            out.status,
            keep.display()
        );
    }
    let mut at = 0;
    for (i, step) in steps.iter().enumerate() {
        let want = format!("ok {} - {step}", i + 1);
        let found = stdout[at..]
            .find(&want)
            .unwrap_or_else(|| panic!("step missing or out of order: {want}\n{stdout}"));
        at += found + want.len();
    }
    assert!(
        stdout.contains(&format!("ALL OK ({} steps)", steps.len())),
        "{stdout}"
    );
    assert!(!stdout.contains("FAILED"), "{stdout}");
}

/// `journey.mjs`: first-run sign-up, sign out and in (wrong password first), a group through
/// the permission matrix, a user, an API key (used with curl-like fetches), TOTP enrolment and
/// sign-in with a code, the audit log and its filter, settings, the pages of APIs still being
/// built, an operator's navigation and 403 page, and the lockout message.
#[tokio::test]
async fn identity_journey_in_chromium() {
    let app = RealApp::start().await;
    run_script(
        &app,
        "journey.mjs",
        &[],
        &[
            "first run shows sign-up",
            "sign-up creates the admin and signs in",
            "sign out returns to the login page",
            "wrong password shows the server message",
            "sign in with the right password",
            "a client-side route survives a reload",
            "create a group with the permission matrix",
            "create a user in that group",
            "a server validation error is shown in the form",
            "create an API key and use it",
            "enrol in 2FA with the QR code page",
            "sign in again with a TOTP code",
            "the audit log shows those actions and filters them",
            "settings save through the API",
            "pages of APIs still being built render",
            "the operator sees only their navigation",
            "repeated failures show the lockout with the wait time",
            "no uncaught errors in the page",
        ],
    )
    .await;
    app.shutdown().await;
}

/// `backup-setup.mjs`: a destination and a PostgreSQL source through the forms generated from
/// `/api/adapter-types` (write-only secret kept on edit, never in a response), "Test connection"
/// inline, an encryption profile revealed with the password, a job with a destination and
/// retention, its next-runs preview, a refused cron, run now (the execution page with its
/// progress bar, cancelled while queued: no worker here), the enabled toggle, and the dashboard
/// counts.
#[tokio::test]
async fn backup_setup_pages_in_chromium() {
    let app = RealApp::start().await;
    let storage = TempDir::new();
    let storage_dir = storage.path().to_string_lossy().into_owned();
    run_script(
        &app,
        "backup-setup.mjs",
        &[&storage_dir],
        &[
            "sign up",
            "create a destination from the generated form and test it",
            "create a PostgreSQL source; its password is write-only",
            "test a saved source inline",
            "create an encryption profile and reveal its key",
            "create a job with the editor",
            "the editor previews the next runs; cron mode edits the schedule",
            "run now opens the live execution view; cancel it",
            "the enabled toggle pauses the job",
            "history renders",
            "no uncaught errors in the page",
        ],
    )
    .await;
    app.shutdown().await;
}
