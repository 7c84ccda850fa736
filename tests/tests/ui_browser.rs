//! The web UI in a real headless Chromium (Debian's /usr/bin/chromium driven by npm
//! playwright-core) against the real app started in-process. Each test runs one script from
//! `frontend/e2e/` with the app's base URL and checks its exit status and that every expected
//! step reported `ok`, in order.
//!
//! Needs `frontend/dist` and `frontend/node_modules` (`cargo xtask test` builds the UI with
//! `npm ci`) and Chromium (installed by `xtask/src/infra.rs` `prepare()`). A failing step saves
//! a full-page screenshot; the test names the folder.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use dbackup_host::app::{self, RunningHost};
use dbackup_host::worker::WorkerMode;
use dbackup_tests::{
    bin, free_port, host_config, psql, random_hex, real_app_env, repo, warm_real_app, RealApp,
    TempDir,
};

/// Runs `frontend/e2e/<script>` against the app at `addr` and checks that it reports `steps`
/// in order.
async fn run_script(addr: SocketAddr, script: &str, extra_args: &[&str], steps: &[&str]) {
    run_script_at(&format!("http://{addr}"), script, extra_args, steps).await;
}

/// [`run_script`] against the app at the base URL `base`.
async fn run_script_at(base: &str, script: &str, extra_args: &[&str], steps: &[&str]) {
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

    let artifacts = TempDir::new();
    let started = Instant::now();
    let child = tokio::process::Command::new("node")
        .arg(format!("e2e/{script}"))
        .arg(base)
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
        app.host.addr,
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
/// progress bar, cancelled while queued: the runner is off), the enabled toggle, and the dashboard
/// counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_setup_pages_in_chromium() {
    // The worker decides whether a local destination's path is allowed (inside its roots), so
    // creating one needs it; without the runner, "Run now" stays queued until cancelled.
    let dir = TempDir::new();
    let host = start_with_worker(&dir.join("data"), false).await;
    let storage = TempDir::new();
    let storage_dir = storage.path().to_string_lossy().into_owned();
    run_script(
        host.addr,
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
    host.shutdown().await;
}

/// The real app with its worker, and the runner (cron) if `cron`, like `cargo xtask up`.
async fn start_with_worker(data: &std::path::Path, cron: bool) -> RunningHost {
    warm_real_app().await;
    let port = free_port();
    let mut env = real_app_env(&format!("http://127.0.0.1:{}", free_port()));
    env.push(("SPIN_VARIABLE_APP_URL", format!("http://127.0.0.1:{port}")));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut config = host_config(repo().join("spin.toml"), data, &env);
    config.listen = ([127, 0, 0, 1], port).into();
    config.migrate = true;
    config.cron = cron;
    config.worker = WorkerMode::Spawn {
        binary: bin("dbackup-worker"),
    };
    app::start(config)
        .await
        .unwrap_or_else(|e| panic!("the app does not start: {e:#}"))
}

/// `run-backup.mjs`: with the worker and runner running, the source's "Test connection" says
/// Connected, and "Run now" on a job for a real PostgreSQL database is followed on the
/// execution page (live progress bar and logs) to Success, then listed in the history and on
/// the dashboard. The dump file is checked on disk here.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_run_in_chromium() {
    let dir = TempDir::new();
    let storage = TempDir::new();
    let database = format!("ui_backup_{}", &random_hex()[..12]);
    tokio::task::spawn_blocking({
        let database = database.clone();
        move || {
            psql("postgres", &format!("CREATE DATABASE {database}"));
            psql(
                &database,
                "CREATE TABLE orders (id int PRIMARY KEY, item text); \
                 INSERT INTO orders SELECT g, 'item ' || g FROM generate_series(1, 5000) g",
            );
        }
    })
    .await
    .expect("create the database");
    let host = start_with_worker(&dir.join("data"), true).await;
    let storage_dir = storage.path().to_string_lossy().into_owned();
    run_script(
        host.addr,
        "run-backup.mjs",
        &[&storage_dir, &database],
        &[
            "sign up",
            "a PostgreSQL source tests \"Connected\" through the worker",
            "a local destination",
            "a job for the database",
            "run now: the live view follows the execution to Success",
            "the history and the dashboard show the successful backup",
            "no uncaught errors in the page",
        ],
    )
    .await;
    host.shutdown().await;
    fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                files(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut written = Vec::new();
    files(storage.path(), &mut written);
    // The dump of 5,000 rows, gzip-compressed (an empty database dumps to well under 1 KiB);
    // not its `.meta.json` sidecar.
    let dump = written
        .iter()
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.contains(&format!("_{database}.dump")) && !n.ends_with(".json"))
        })
        .unwrap_or_else(|| panic!("no dump of {database} in {written:?}"));
    let size = std::fs::metadata(dump).map(|m| m.len()).unwrap_or(0);
    assert!(size > 4096, "{} is only {size} bytes", dump.display());
    tokio::task::spawn_blocking(move || {
        psql("postgres", &format!("DROP DATABASE IF EXISTS {database}"))
    })
    .await
    .expect("drop the database");
}

/// `settings-system.mjs`: with the worker and runner running, the database picker lists the
/// real PostgreSQL databases (the manual fallback shows why a list failed), the health grid
/// shows the runner's checks, the settings switches persist and the login page drops its
/// passkey button, a date-format change shows on the History page, the config backup runs,
/// is listed and dry-run restored (listed object and uploaded file), and the recovery kit is
/// downloaded as a ZIP.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn settings_and_system_features_in_chromium() {
    let dir = TempDir::new();
    let storage = TempDir::new();
    let database = format!("ui_sys_{}", &random_hex()[..12]);
    tokio::task::spawn_blocking({
        let database = database.clone();
        move || psql("postgres", &format!("CREATE DATABASE {database}"))
    })
    .await
    .expect("create the database");
    let host = start_with_worker(&dir.join("data"), true).await;
    let storage_dir = storage.path().to_string_lossy().into_owned();
    run_script(
        host.addr,
        "settings-system.mjs",
        &[&storage_dir, &database],
        &[
            "sign up; the login page offers passkey sign-in",
            "settings: switches, time zone and system channels persist",
            "with passkey sign-in disabled the login page has no passkey button",
            "sources list real PostgreSQL databases; system ones on request",
            "the job editor picks databases from the list; manual entry when listing fails",
            "the health grid shows the runner's checks with tooltips and keyboard",
            "a date-format change shows on the History page",
            "config backup: save, back up now, listed",
            "config restore: dry run of a listed backup shows the change table; confirm, then apply",
            "config restore: dry run of an uploaded file",
            "an encrypted config backup with secrets; its dry run finds the key by fingerprint",
            "recovery kit: wrong password inline, then a ZIP download",
            "at phone width the new pages do not overflow sideways",
            "no uncaught errors in the page",
        ],
    )
    .await;
    host.shutdown().await;
    tokio::task::spawn_blocking(move || {
        psql("postgres", &format!("DROP DATABASE IF EXISTS {database}"))
    })
    .await
    .expect("drop the database");
}

/// `storage.mjs`: a backup made by running a job is listed on the Storage page with its
/// metadata; lock disables delete (the server answers 409), unlock; download gives the stored
/// bytes; the restore dialog warns for a target whose recorded version is older, then restores
/// into a new database (checked here: same rows) followed to Success; delete confirms and
/// removes the object and its sidecar (checked here on disk).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn storage_explorer_and_restore_in_chromium() {
    let dir = TempDir::new();
    let storage = TempDir::new();
    let suffix = &random_hex()[..12];
    let (database, restored) = (
        format!("ui_store_{suffix}"),
        format!("ui_restored_{suffix}"),
    );
    tokio::task::spawn_blocking({
        let (database, restored) = (database.clone(), restored.clone());
        move || {
            psql("postgres", &format!("DROP DATABASE IF EXISTS {restored}"));
            psql("postgres", &format!("CREATE DATABASE {database}"));
            psql(
                &database,
                "CREATE TABLE orders (id int PRIMARY KEY, item text); \
                 INSERT INTO orders SELECT g, 'item ' || g FROM generate_series(1, 3000) g",
            );
        }
    })
    .await
    .expect("create the database");
    let data = dir.join("data");
    let host = start_with_worker(&data, true).await;
    // A source whose recorded server version is older than any real one: the dialog warns.
    dbackup_tests::sqlite_json(
        &data.join("dbackup.db"),
        r#"INSERT INTO "AdapterConfig" ("id", "name", "type", "adapterId", "config", "metadata") VALUES
           ('old-pg', 'Old server', 'database', 'postgres',
            '{"host":"127.0.0.1","port":5432,"user":"postgres","database":"postgres"}',
            '{"engineVersion":"9.6"}')"#,
    );
    let storage_dir = storage.path().to_string_lossy().into_owned();
    run_script(
        host.addr,
        "storage.mjs",
        &[&storage_dir, &database, &restored],
        &[
            "sign up",
            "a backup made by running a job",
            "the Storage page lists the backup with its metadata",
            "lock disables delete; unlock enables it again",
            "download gives the stored bytes",
            "the restore dialog warns about an older target, then restores into a new database",
            "delete asks for confirmation and removes the backup",
            "no uncaught errors in the page",
        ],
    )
    .await;
    host.shutdown().await;
    let rows = tokio::task::spawn_blocking({
        let restored = restored.clone();
        move || {
            let out = std::process::Command::new("psql")
                .args(["-X", "-A", "-t", "-h", "127.0.0.1", "-U", "postgres", "-d"])
                .arg(&restored)
                .args(["-c", "SELECT count(*), sum(id), max(item) FROM orders"])
                .output()
                .expect("run psql");
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        }
    })
    .await
    .expect("query");
    assert_eq!(rows, "3000|4501500|item 999", "the restored rows");
    let mut left = Vec::new();
    for e in std::fs::read_dir(storage.path())
        .into_iter()
        .flatten()
        .flatten()
    {
        for f in std::fs::read_dir(e.path()).into_iter().flatten().flatten() {
            left.push(f.path());
        }
    }
    assert!(left.is_empty(), "deleted from the storage: {left:?}");
    tokio::task::spawn_blocking(move || {
        psql("postgres", &format!("DROP DATABASE IF EXISTS {database}"));
        psql("postgres", &format!("DROP DATABASE IF EXISTS {restored}"));
    })
    .await
    .expect("drop the databases");
}

/// `ssh-files.mjs` (issue 17's forms): with the worker and runner running and a private sshd
/// (root by key), a PostgreSQL source made with the "Run the dump over SSH" sub-form tests
/// "Failed" with another pinned host key and "Connected" with the right one, is created, shows
/// its SSH host on edit with the key masked and saves unchanged; a files source from list rows
/// is backed up and restored from the Storage page into a target directory. Checked here: the
/// restored tree (minus the excluded `*.log`) equals the source, and sshd logged the key login.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ssh_source_and_files_restore_in_chromium() {
    let roots = std::env::var("DBACKUP_LOCAL_ROOTS").unwrap_or_default();
    let tmp = std::env::temp_dir();
    assert!(
        roots
            .split(':')
            .any(|r| !r.is_empty() && tmp.starts_with(r)),
        "this test needs DBACKUP_LOCAL_ROOTS to include {} (got {roots:?})",
        tmp.display()
    );
    let work = TempDir::new();
    let sshd = dbackup_tests::sshd::Sshd::start(work.path());
    // Another host's key, for the refused pin.
    let other = work.join("otherkey");
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()
        .expect("ssh-keygen");
    assert!(status.success());
    let other_key = std::fs::read_to_string(other.with_extension("pub"))
        .expect("other key")
        .trim()
        .to_owned();
    let site = work.join("site");
    std::fs::create_dir_all(site.join("assets/img")).expect("mkdir");
    std::fs::write(site.join("index.html"), "<h1>hi</h1>").expect("write");
    std::fs::write(site.join("assets/img/logo 1.png"), vec![0x89u8; 70_000]).expect("write");
    std::fs::write(site.join("assets/ünï code.txt"), "odd name").expect("write");
    std::fs::write(site.join("app.log"), "excluded").expect("write");
    let restored = work.join("restored");
    let storage = TempDir::new();
    let host = start_with_worker(&work.join("data"), true).await;
    let s = |p: &std::path::Path| p.to_string_lossy().into_owned();
    run_script(
        host.addr,
        "ssh-files.mjs",
        &[
            &sshd.port.to_string(),
            &s(&sshd.client_key_path),
            &sshd.host_key,
            &other_key,
            &s(&site),
            &s(&restored),
            &s(storage.path()),
        ],
        &[
            "sign up",
            "a PostgreSQL source with the SSH sub-form: a wrong host key fails, the pinned one connects",
            "editing shows the SSH host and keeps the key write-only",
            "a files source from list rows: paths and excludes",
            "a files backup restored into a chosen directory from the Storage page",
            "no uncaught errors in the page",
        ],
    )
    .await;
    host.shutdown().await;
    assert!(
        sshd.log_text().contains("Accepted publickey for root"),
        "{}",
        sshd.log_text()
    );
    /// Relative path → contents of every file under `dir`.
    fn tree(dir: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
        fn walk(
            base: &std::path::Path,
            dir: &std::path::Path,
            out: &mut std::collections::BTreeMap<String, Vec<u8>>,
        ) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(base, &p, out);
                } else {
                    let rel = p.strip_prefix(base).expect("under base");
                    out.insert(
                        rel.to_string_lossy().into_owned(),
                        std::fs::read(&p).expect("read"),
                    );
                }
            }
        }
        let mut out = std::collections::BTreeMap::new();
        walk(dir, dir, &mut out);
        out
    }
    let mut want = tree(&site);
    want.remove("app.log");
    assert_eq!(
        tree(&restored.join("site")).keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    assert!(
        tree(&restored.join("site")) == want,
        "restored contents differ"
    );
}

/// tests/oidc/provider.mjs (node-oidc-provider) on a free loopback port, killed on drop.
struct OidcProvider {
    child: std::process::Child,
    issuer: String,
}

impl OidcProvider {
    fn start(redirect_uri: &str) -> OidcProvider {
        let dir = repo().join("tests").join("oidc");
        if !dir.join("node_modules/oidc-provider").is_dir() {
            let status = std::process::Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir)
                .status()
                .expect("run npm ci in tests/oidc");
            assert!(status.success(), "npm ci in tests/oidc failed");
        }
        let port = free_port();
        let child = std::process::Command::new("node")
            .arg("provider.mjs")
            .current_dir(&dir)
            .env("PORT", port.to_string())
            .env("REDIRECT_URIS", redirect_uri)
            .env("KID", "ui-key")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start node tests/oidc/provider.mjs");
        let provider = OidcProvider {
            child,
            issuer: format!("http://127.0.0.1:{port}"),
        };
        let url = format!("{}/.well-known/openid-configuration", provider.issuer);
        for _ in 0..150 {
            if ureq::get(&url).call().is_ok() {
                return provider;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the OIDC provider did not come up on {url}");
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `passkeys-ui.mjs`: served as `http://localhost:<port>` (the WebAuthn origin; Chromium refuses
/// an IP-literal RP ID) with a CDP virtual authenticator: a passkey added, renamed and used as
/// second factor in Profile, passwordless sign-in with it, the SSO providers page (field
/// checks, the discovery error of an unreachable issuer, a provider saved against the real
/// node-oidc-provider with its secret write-only, edit, enable/disable), an SSO error code on
/// the login page, the full SSO button sign-in at that provider, the refused unlink of the only
/// way in, linking the provider from the profile, and the passkey deleted after confirmation.
#[tokio::test]
async fn passkeys_and_sso_in_chromium() {
    warm_real_app().await;
    let port = free_port();
    let origin = format!("http://localhost:{port}");
    let dir = TempDir::new();
    let mut env = real_app_env(&format!("http://127.0.0.1:{}", free_port()));
    env.push(("SPIN_VARIABLE_WEBAUTHN_RP_ID", "localhost".to_owned()));
    env.push(("SPIN_VARIABLE_WEBAUTHN_ORIGINS", origin.clone()));
    // The browser's origin: the SSO redirect URI and the state cookie's host.
    env.push(("SPIN_VARIABLE_PUBLIC_URL", origin.clone()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut config = host_config(repo().join("spin.toml"), &dir.join("data"), &env);
    config.migrate = true;
    config.listen = ([127, 0, 0, 1], port).into();
    let host = app::start(config)
        .await
        .unwrap_or_else(|e| panic!("the app does not start: {e:#}"));
    let callback = format!("{origin}/api/auth/sso/test-idp/callback");
    let provider = tokio::task::spawn_blocking(move || OidcProvider::start(&callback))
        .await
        .expect("start the OIDC provider");
    run_script_at(
        &origin,
        "passkeys-ui.mjs",
        &[&provider.issuer],
        &[
            "sign up; a virtual authenticator is attached",
            "add a passkey with a name in Profile",
            "rename the passkey",
            "passkey as second factor: password, then the passkey",
            "sign out, then sign in with the passkey (no password)",
            "the SSO form checks fields and shows the discovery error of an unreachable issuer",
            "edit keeps the secret; disabling hides the login button",
            "an SSO failure code is shown on the login page",
            "sign in with the SSO button at the real provider",
            "the linked account cannot be unlinked while it is the only way in",
            "link the provider to the signed-in account from the profile",
            "delete the passkey after confirming",
            "no uncaught errors in the page",
        ],
    )
    .await;
    drop(provider);
    host.shutdown().await;
}
