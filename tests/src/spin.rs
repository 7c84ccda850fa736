//! The app under the real `spin up` (Spin 3.x + the trigger-cron plugin), with the worker
//! started by hand as the README's "Running under Spin" says, and the journey every Spin suite
//! runs ([`journey`]).
//!
//! `spin` is looked up on `PATH` (`cargo xtask test` installs it from `../shared/tools`); a
//! missing `spin` fails the test. Spin runs the repository's own `spin.toml` and the release
//! `.wasm` files at the paths it names (`target/wasm32-wasip2/release/`), `frontend/dist` for the
//! static UI, a fresh `--state-dir` (its `sqlite_db.db` is the database unless a runtime config
//! says otherwise) and fresh `SPIN_VARIABLE_*` secrets per app.

use crate::{
    bin, free_port, psql, random_hex, repo, request, wait_for, Api, Credential, HttpResponse,
    TempDir, TEST_PASSWORD,
};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncBufReadExt;

/// How to start a [`SpinApp`].
#[derive(Debug, Clone, Default)]
pub struct SpinOptions {
    /// A runtime config (TOML text) passed with `--runtime-config-file`, e.g. a
    /// `[sqlite_database.default]` of `type = "libsql"`.
    pub runtime_config: Option<String>,
    /// More `SPIN_VARIABLE_*` for Spin (`("SPIN_VARIABLE_PUBLIC_URL", …)`); they replace the
    /// generated ones of the same name.
    pub vars: Vec<(String, String)>,
}

/// Lines a child writes (stdout and stderr), prefixed with their stream.
type Log = Arc<Mutex<Vec<String>>>;

/// `spin up` on the repository's manifest and a `dbackup-worker`, each in its own process
/// group, both killed (with everything they started) on drop.
pub struct SpinApp {
    addr: SocketAddr,
    worker_addr: SocketAddr,
    spin: tokio::process::Child,
    worker: tokio::process::Child,
    spin_log: Log,
    worker_log: Log,
    /// The generated secrets and values, by `SPIN_VARIABLE_*` name.
    vars: Vec<(String, String)>,
    /// Unix time (s) when `spin up` was started, and when it first answered HTTP.
    started_unix: f64,
    answered_unix: f64,
    dir: TempDir,
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The runner's cron period in spin.toml (`*/10 * * * * *`), in seconds.
const TICK_SECS: f64 = 10.0;

/// Where Spin expects the components (the manifest's `source` paths, relative to it).
pub fn spin_wasm_dir() -> PathBuf {
    repo().join("target/wasm32-wasip2/release")
}

/// The `spin` program (`DBACKUP_SPIN`, else `spin` on `PATH`), or a panic saying how to get it.
pub fn spin_program() -> PathBuf {
    if let Some(p) = std::env::var_os("DBACKUP_SPIN").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("spin"))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "`spin` is not on PATH: `cargo xtask test` installs it (../shared/tools/install.sh); \
                 `cargo xtask test --no-spin` leaves the Spin suites out"
            )
        })
}

fn spawn_reader<R>(reader: R, prefix: &'static str, log: Log)
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(reader).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            log.lock().expect("log").push(format!("{prefix}: {line}"));
        }
    });
}

/// Kills the process group led by `child` (the child was started with `process_group(0)`), so
/// the trigger processes `spin up` starts, and the tools a worker runs, go too.
fn kill_group(child: &tokio::process::Child) {
    if let Some(pid) = child.id() {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

impl SpinApp {
    /// Starts the worker (as the README says: `DBACKUP_WORKER_TOKEN`, `DBACKUP_WORKER_DATA_DIR`,
    /// `DBACKUP_LOCAL_ROOTS`, `DBACKUP_WORKER_LISTEN`) and `spin up` on a free port, and returns
    /// once Spin answers HTTP (the database may not be migrated yet: that is the runner's first
    /// tick). Panics, with Spin's output, when either does not come up within 3 minutes.
    pub async fn start(options: SpinOptions) -> SpinApp {
        let spin = spin_program();
        let manifest = repo().join("spin.toml");
        for wasm in [
            "dbackup_runner.wasm",
            "dbackup_static.wasm",
            "dbackup_auth.wasm",
        ] {
            let path = spin_wasm_dir().join(wasm);
            assert!(
                path.is_file(),
                "{} does not exist: spin.toml names target/wasm32-wasip2/release/ (`cargo xtask test` builds the components and copies them there)",
                path.display()
            );
        }
        assert!(
            repo().join("frontend/dist/index.html").is_file(),
            "frontend/dist/index.html does not exist: `cargo xtask test` builds the web UI"
        );

        let dir = TempDir::new();
        let state_dir = dir.join("state");
        let backups = dir.join("backups");
        std::fs::create_dir_all(&state_dir).expect("state dir");
        std::fs::create_dir_all(&backups).expect("backups dir");
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let worker_addr = SocketAddr::from(([127, 0, 0, 1], free_port()));

        let mut vars: Vec<(String, String)> = vec![
            ("SPIN_VARIABLE_ENCRYPTION_KEY".into(), random_hex()),
            ("SPIN_VARIABLE_SESSION_SECRET".into(), random_hex()),
            ("SPIN_VARIABLE_WORKER_TOKEN".into(), random_hex()),
            ("SPIN_VARIABLE_METRICS_TOKEN".into(), random_hex()),
            (
                "SPIN_VARIABLE_WORKER_URL".into(),
                format!("http://{worker_addr}"),
            ),
            ("SPIN_VARIABLE_APP_URL".into(), format!("http://{addr}")),
        ];
        for (k, v) in options.vars {
            vars.retain(|(name, _)| *name != k);
            vars.push((k, v));
        }
        let var = |name: &str| {
            vars.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };

        // The worker, as README "Running under Spin" starts it: the token from the environment
        // (never argv), Spin's state dir as its data dir, the test's backup folder as a local root.
        let worker_log = Log::default();
        let mut cmd = tokio::process::Command::new(bin("dbackup-worker"));
        cmd.env("DBACKUP_WORKER_TOKEN", var("SPIN_VARIABLE_WORKER_TOKEN"))
            .env("DBACKUP_WORKER_DATA_DIR", &state_dir)
            .env("DBACKUP_WORKER_LISTEN", worker_addr.to_string())
            .env("DBACKUP_LOCAL_ROOTS", &backups)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        remove_spin_variables(&mut cmd);
        let mut worker = cmd.spawn().expect("start dbackup-worker");
        spawn_reader(
            worker.stdout.take().expect("stdout"),
            "worker",
            worker_log.clone(),
        );
        spawn_reader(
            worker.stderr.take().expect("stderr"),
            "worker",
            worker_log.clone(),
        );

        // Start two seconds after a tick boundary of the runner's cron (every 10 s, on the wall
        // clock): Spin answers HTTP within about a second when its compile cache is warm, so
        // the API's 503 before the first tick is there to observe. (Started less than a second
        // after a boundary, trigger-cron fires that boundary's tick at once.)
        let into_period = unix_now() % TICK_SECS;
        let wait = (TICK_SECS + 2.0 - into_period) % TICK_SECS;
        tokio::time::sleep(Duration::from_secs_f64(wait)).await;

        let spin_log = Log::default();
        let mut cmd = tokio::process::Command::new(&spin);
        cmd.arg("up")
            .arg("--from")
            .arg(&manifest)
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--state-dir")
            .arg(&state_dir);
        if let Some(config) = &options.runtime_config {
            let path = dir.join("runtime-config.toml");
            std::fs::write(&path, config).expect("write the runtime config");
            cmd.arg("--runtime-config-file").arg(path);
        }
        remove_spin_variables(&mut cmd);
        cmd.envs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(dir.path())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let started_unix = unix_now();
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", spin.display()));
        spawn_reader(
            child.stdout.take().expect("stdout"),
            "spin",
            spin_log.clone(),
        );
        spawn_reader(
            child.stderr.take().expect("stderr"),
            "spin",
            spin_log.clone(),
        );
        let mut app = SpinApp {
            addr,
            worker_addr,
            spin: child,
            worker,
            spin_log,
            worker_log,
            vars,
            started_unix,
            answered_unix: 0.0,
            dir,
        };

        let started = Instant::now();
        let deadline = started + Duration::from_secs(180);
        loop {
            if let Ok(Some(status)) = app.spin.try_wait() {
                panic!("spin up exited with {status}\n{}", app.log());
            }
            if let Ok(Some(status)) = app.worker.try_wait() {
                panic!("dbackup-worker exited with {status}\n{}", app.log());
            }
            let worker_up = tokio::net::TcpStream::connect(app.worker_addr)
                .await
                .is_ok();
            if worker_up
                && request(app.addr, "GET", "/api/health", &[], None)
                    .await
                    .is_ok()
            {
                break;
            }
            if Instant::now() > deadline {
                panic!("spin up did not answer within 180 s\n{}", app.log());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        app.answered_unix = unix_now();
        eprintln!(
            "spin up answers on {} after {:.1} s",
            app.addr,
            started.elapsed().as_secs_f64()
        );
        app
    }

    /// Whether Spin answered HTTP at least a second before the runner's first tick could
    /// come (the first 10-s boundary after `spin up` started): then the API must be seen
    /// answering 503 before it is migrated (unless the database was migrated before).
    pub fn answered_before_first_tick(&self) -> bool {
        let first_tick = (self.started_unix / TICK_SECS).floor() * TICK_SECS + TICK_SECS;
        self.answered_unix + 1.0 < first_tick
    }

    /// Spin's listen address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://IP:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// An API client for the app.
    pub fn api(&self) -> Api {
        Api { addr: self.addr }
    }

    /// The worker's address (`SPIN_VARIABLE_WORKER_URL`).
    pub fn worker_addr(&self) -> SocketAddr {
        self.worker_addr
    }

    /// The value given to Spin as `name` (e.g. `SPIN_VARIABLE_METRICS_TOKEN`).
    pub fn var(&self, name: &str) -> String {
        self.vars
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{name} was not given to spin"))
    }

    /// Spin's state dir (`--state-dir`; also the worker's data dir).
    pub fn state_dir(&self) -> PathBuf {
        self.dir.join("state")
    }

    /// The folder local destinations may use (`DBACKUP_LOCAL_ROOTS` of the worker).
    pub fn backup_folder(&self) -> PathBuf {
        self.dir.join("backups")
    }

    /// What `spin up` (and its triggers) and the worker wrote so far, plus the tail of each
    /// component's stderr log under the state dir: for failure messages.
    pub fn log(&self) -> String {
        let mut out = String::from("--- spin up output ---\n");
        for line in self.spin_log.lock().expect("log").iter() {
            out.push_str(line);
            out.push('\n');
        }
        out.push_str("--- worker output ---\n");
        for line in self.worker_log.lock().expect("log").iter() {
            out.push_str(line);
            out.push('\n');
        }
        let logs = self.state_dir().join("logs");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&logs)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            if text.trim().is_empty() {
                continue;
            }
            let tail: Vec<&str> = text.lines().rev().take(40).collect();
            out.push_str(&format!("--- {} (last 40 lines) ---\n", file.display()));
            for line in tail.into_iter().rev() {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }

    /// Stops both processes (and everything they started).
    pub async fn stop(mut self) {
        kill_group(&self.spin);
        kill_group(&self.worker);
        let _ = self.spin.wait().await;
        let _ = self.worker.wait().await;
    }
}

impl Drop for SpinApp {
    fn drop(&mut self) {
        kill_group(&self.spin);
        kill_group(&self.worker);
    }
}

fn remove_spin_variables(cmd: &mut tokio::process::Command) {
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("SPIN_VARIABLE_") {
            cmd.env_remove(k);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The journey
// ---------------------------------------------------------------------------------------------

/// Timings of one [`journey`], for the test's report.
#[derive(Debug, Clone)]
pub struct JourneyTimes {
    /// Whether the API was seen answering 503 before the runner's first tick migrated it.
    pub saw_unmigrated: bool,
    pub migrated_after: Duration,
    pub run_now_success_after: Duration,
    pub scheduled_success_after: Duration,
    pub total: Duration,
}

/// The whole user journey against `app`, every step asserted, through the HTTP API only (so it
/// runs the same whatever database Spin was given): migrations by the runner's first tick
/// (503 until then), sign-up, session, sign-out, sign-in, an API key; a PostgreSQL source with a
/// few rows (its connection tested through the worker), a local destination, an encryption
/// profile, a ZSTD encrypted job; run now → Success, the backup listed, downloaded and decrypted
/// through the storage explorer; the job on its schedule (every minute) → Success with trigger Scheduler; restore
/// into a new database with equal rows; a config backup (run, list); `/metrics` (API key and
/// metrics token); the static UI (`/`, an asset, a client-side route).
pub async fn journey(app: &SpinApp) -> JourneyTimes {
    let started = Instant::now();
    let api = app.api();
    let fail = |what: &str| -> String { format!("{what}\n{}", app.log()) };

    // ------------------------------------------------------------- migrations by the runner
    let seen = std::cell::Cell::new(false);
    let migrated = wait_for(Duration::from_secs(120), || async {
        {
            let health = get(api, "/api/health").await;
            match health.status {
                200 => {
                    let body = health.json();
                    assert_eq!(body["database"], "ok", "{body}");
                    Some(body)
                }
                503 => {
                    let body = health.json();
                    assert_eq!(body["database"], "not migrated", "{body}");
                    // Every other route answers 503 too until the runner has run (or 401 once
                    // it has, between the two requests).
                    let gated = get(api, "/api/auth/session").await;
                    match gated.status {
                        503 => {
                            assert_eq!(gated.json(), json!({"error": "database is not migrated"}));
                            seen.set(true);
                        }
                        401 => {}
                        other => panic!(
                            "/api/auth/session before migration: {other} {}",
                            gated.text()
                        ),
                    }
                    None
                }
                other => panic!("/api/health: {other} {}", health.text()),
            }
        }
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "{}",
            fail("the runner did not migrate the database within 120 s")
        )
    });
    assert_eq!(migrated["worker"], "ok", "{migrated}");
    let saw_unmigrated = seen.get();
    if app.answered_before_first_tick() {
        assert!(
            saw_unmigrated,
            "{}",
            fail("Spin answered before the runner's first tick, yet no 503 was seen")
        );
    }
    let migrated_after = started.elapsed();

    // ------------------------------------------------------------------- identity basics
    let email = "admin@example.com";
    let (user, admin) = api.signup("Admin", email, TEST_PASSWORD).await;
    assert_eq!(user["email"], email, "{user}");
    let session = api
        .expect(&admin, "GET", "/api/auth/session", None, 200)
        .await;
    assert!(session.to_string().contains(email), "{session}");
    // A second sign-up is refused: the first user is the only self-registered one.
    let again = api
        .call(
            &Credential::Anonymous,
            "POST",
            "/api/auth/signup",
            Some(&json!({"name": "Eve", "email": "eve@example.com", "password": TEST_PASSWORD})),
        )
        .await;
    assert!(
        matches!(again.status, 403 | 409),
        "second signup: {} {}",
        again.status,
        again.text()
    );
    let out = api.call(&admin, "POST", "/api/auth/logout", None).await;
    assert_eq!(out.status, 204, "logout: {}", out.text());
    assert_eq!(
        api.call(&admin, "GET", "/api/auth/session", None)
            .await
            .status,
        401
    );
    let wrong = api
        .call(
            &Credential::Anonymous,
            "POST",
            "/api/auth/login",
            Some(&json!({"email": email, "password": "not the password"})),
        )
        .await;
    assert_eq!(wrong.status, 401, "wrong password: {}", wrong.text());
    let admin = api.login(email, TEST_PASSWORD).await;
    api.expect(&admin, "GET", "/api/auth/session", None, 200)
        .await;
    // The audit log has the client's address from Spin's `spin-client-addr` header and the
    // request's User-Agent.
    let failed = api
        .expect(&admin, "GET", "/api/audit?action=LOGIN_FAILED", None, 200)
        .await;
    let row = &failed["items"][0];
    assert_eq!(row["ipAddress"], "127.0.0.1", "{failed}");
    assert_eq!(row["userAgent"], crate::TEST_USER_AGENT, "{failed}");
    let (_, key) = api
        .create_api_key(&admin, "spin suite", &["jobs:read", "settings:read"])
        .await;
    let jobs = api.expect(&key, "GET", "/api/jobs", None, 200).await;
    assert_eq!(jobs["items"], json!([]), "{jobs}");
    // Spin's routing: the more specific wildcard wins (/api/profile/accounts/... is auth's
    // although /api/profile/... is users'), an exact route beats /api/..., an unknown API path
    // reaches the system component's 404.
    let accounts = api
        .expect(&admin, "GET", "/api/profile/accounts", None, 200)
        .await;
    assert_eq!(accounts["hasPassword"], true, "{accounts}");
    let profile = api.expect(&admin, "GET", "/api/profile", None, 200).await;
    assert_eq!(profile["email"], email, "{profile}");
    let types = api
        .expect(&admin, "GET", "/api/adapter-types", None, 200)
        .await;
    assert!(types.to_string().contains("postgres"), "{types}");
    let unknown = api.call(&admin, "GET", "/api/no-such-route", None).await;
    assert_eq!(unknown.status, 404, "{}", unknown.text());
    assert_eq!(unknown.json(), json!({"error": "not found"}));
    let denied = api.call(&key, "GET", "/api/users", None).await;
    assert_eq!(
        denied.status,
        403,
        "API key beyond its permissions: {}",
        denied.text()
    );

    // ------------------------------------------------------ source, destination, key, job
    let suffix = format!("{}_{}", std::process::id(), app.addr.port());
    let (src_db, copy_db) = (format!("spin_src_{suffix}"), format!("spin_copy_{suffix}"));
    for db in [&src_db, &copy_db] {
        psql("postgres", &format!("DROP DATABASE IF EXISTS {db}"));
    }
    psql("postgres", &format!("CREATE DATABASE {src_db}"));
    psql(
        &src_db,
        "CREATE TABLE item (id int PRIMARY KEY, name text NOT NULL); \
         INSERT INTO item SELECT g, 'item ' || g FROM generate_series(1, 500) g;",
    );
    let store = app.backup_folder();
    let pg = api
        .expect(
            &admin,
            "POST",
            "/api/adapters",
            Some(&json!({"name": "PG", "adapterId": "postgres", "config": {
                "host": "127.0.0.1", "port": 5432, "user": "postgres", "database": src_db}})),
            201,
        )
        .await;
    let target = api
        .expect(
            &admin,
            "POST",
            "/api/adapters",
            Some(
                &json!({"name": "PG target", "adapterId": "postgres", "config": {
                "host": "127.0.0.1", "port": 5432, "user": "postgres", "database": "postgres"}}),
            ),
            201,
        )
        .await;
    let disk = api
        .expect(
            &admin,
            "POST",
            "/api/adapters",
            Some(&json!({"name": "Disk", "adapterId": "local", "config": {"path": store}})),
            201,
        )
        .await;
    let (pg_id, target_id, disk_id) = (id(&pg), id(&target), id(&disk));
    let profile = api
        .expect(
            &admin,
            "POST",
            "/api/encryption-profiles",
            Some(&json!({"name": "Spin key"})),
            201,
        )
        .await;
    let profile_id = id(&profile);
    // The adapters component reaches the worker through Spin's outbound HTTP (the
    // `{{ worker_url }}` template in allowed_outbound_hosts): a connection test of the source.
    let probe = api
        .expect(
            &admin,
            "POST",
            &format!("/api/adapters/{pg_id}/test"),
            None,
            200,
        )
        .await;
    assert_eq!(probe["ok"], true, "{probe}");
    let job = api
        .expect(
            &admin,
            "POST",
            "/api/jobs",
            Some(&json!({
                "name": "spin", "schedule": "* * * * *", "timezone": "UTC",
                "sourceId": pg_id, "databases": [src_db],
                "destinations": [{"destinationId": disk_id}],
                "compression": "ZSTD", "encryptionProfileId": profile_id
            })),
            201,
        )
        .await;
    let job_id = id(&job);

    // ------------------------------------------------------------------------ run now
    let run = api
        .expect(
            &admin,
            "POST",
            &format!("/api/jobs/{job_id}/run"),
            None,
            202,
        )
        .await;
    let exec_id = run["executionId"].as_str().expect("executionId").to_owned();
    let exec = finished(app, &admin, &exec_id, Duration::from_secs(150)).await;
    assert_eq!(exec["status"], "Success", "{}", fail(&exec.to_string()));
    assert_eq!(exec["trigger"], "Manual", "{exec}");
    let run_now_success_after = started.elapsed();
    let path = exec["path"].as_str().expect("path").to_owned();
    let object = store.join(&path);
    let bytes =
        std::fs::read(&object).unwrap_or_else(|e| panic!("the backup {}: {e}", object.display()));
    assert!(
        bytes.starts_with(b"DBKENC01"),
        "the backup is not encrypted"
    );
    assert_eq!(exec["size"].as_u64(), Some(bytes.len() as u64), "{exec}");
    assert!(store.join(format!("{path}.meta.json")).is_file());

    // The storage explorer (storage component → worker): the backup listed with its sidecar's
    // metadata, downloaded through Spin byte for byte, and decrypted on request (a ZSTD frame).
    let listed = api
        .expect(
            &admin,
            "GET",
            &format!("/api/storage/{disk_id}/backups"),
            None,
            200,
        )
        .await;
    let item = listed["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["path"] == path.as_str()))
        .unwrap_or_else(|| panic!("{path} is not listed: {listed}"));
    assert_eq!(item["encrypted"], true, "{item}");
    assert_eq!(item["compression"], "ZSTD", "{item}");
    assert_eq!(item["jobId"], job_id.as_str(), "{item}");
    let download = format!(
        "/api/storage/{disk_id}/download?path={}",
        crate::encode(&path)
    );
    let raw = api.call(&admin, "GET", &download, None).await;
    assert_eq!(raw.status, 200, "{}", raw.text());
    assert_eq!(
        raw.body.as_ref(),
        bytes.as_slice(),
        "the downloaded backup differs"
    );
    let clear = api
        .call(&admin, "GET", &format!("{download}&decrypt=true"), None)
        .await;
    assert_eq!(clear.status, 200, "{}", clear.text());
    assert!(
        clear.body.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]),
        "the decrypted backup is not a ZSTD frame"
    );

    // ----------------------------------------------------------------- on its schedule
    let listing = format!("/api/executions?jobId={job_id}&limit=50");
    let scheduled = wait_for(Duration::from_secs(150), || async {
        let page = api.expect(&admin, "GET", &listing, None, 200).await;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        if let Some(bad) = items
            .iter()
            .find(|e| matches!(e["status"].as_str(), Some("Failed" | "Cancelled")))
        {
            panic!("{}", fail(&format!("an execution failed: {bad}")));
        }
        items
            .into_iter()
            .find(|e| e["trigger"] == "Scheduler" && e["status"] == "Success")
    })
    .await
    .unwrap_or_else(|| panic!("{}", fail("no scheduled run succeeded within 150 s")));
    let scheduled_success_after = started.elapsed();
    let scheduled_for = scheduled["scheduledFor"].as_str().unwrap_or_default();
    assert!(
        scheduled_for.ends_with(":00.000Z") || scheduled_for.ends_with(":00Z"),
        "a scheduled run is for a whole minute: {scheduled}"
    );
    // Stop scheduling (the rest of the journey wants a quiet queue).
    let mut body = job.clone();
    body["enabled"] = json!(false);
    api.expect(
        &admin,
        "PUT",
        &format!("/api/jobs/{job_id}"),
        Some(&body),
        200,
    )
    .await;

    // ------------------------------------------------------------------------ restore
    let restore = api
        .expect(
            &admin,
            "POST",
            "/api/restores",
            Some(
                &json!({"destinationId": disk_id, "path": path, "targetSourceId": target_id,
                         "databaseMapping": {src_db.clone(): copy_db.clone()}}),
            ),
            202,
        )
        .await;
    let rid = restore["executionId"]
        .as_str()
        .expect("executionId")
        .to_owned();
    let restored = finished(app, &admin, &rid, Duration::from_secs(150)).await;
    assert_eq!(
        restored["status"],
        "Success",
        "{}",
        fail(&restored.to_string())
    );
    assert_eq!(restored["type"], "Restore", "{restored}");
    let q = "SELECT count(*) || ':' || md5(string_agg(id || name, ',' ORDER BY id)) FROM item";
    let original = psql(&src_db, q);
    assert!(original.starts_with("500:"), "{original}");
    assert_eq!(psql(&copy_db, q), original);

    // ------------------------------------------------------------------ config backup
    api.expect(
        &admin,
        "PUT",
        "/api/system/config-backup",
        Some(&json!({"destinationId": disk_id, "encryptionProfileId": profile_id, "keep": 2})),
        200,
    )
    .await;
    let cfg = api
        .expect(&admin, "POST", "/api/system/config-backup", None, 201)
        .await;
    let name = cfg["objectName"].as_str().expect("objectName").to_owned();
    assert!(name.starts_with("config-backups/dbackup-config_"), "{cfg}");
    assert_eq!(cfg["encrypted"], true, "{cfg}");
    assert_eq!(cfg["counts"]["jobs"], 1, "{cfg}");
    assert_eq!(cfg["counts"]["adapters"], 3, "{cfg}");
    let file = std::fs::read(store.join(&name)).expect("the config backup on disk");
    assert!(file.starts_with(b"DBKENC01"));
    let listed = api
        .expect(&admin, "GET", "/api/system/config-backups", None, 200)
        .await;
    assert_eq!(listed["backups"][0]["name"], name, "{listed}");

    // ------------------------------------------------------------------------ metrics
    let token = Credential::Bearer(app.var("SPIN_VARIABLE_METRICS_TOKEN"));
    for who in [&key, &token] {
        let scrape = api.call(who, "GET", "/metrics", None).await;
        assert_eq!(scrape.status, 200, "/metrics: {}", scrape.text());
        let text = scrape.text();
        assert!(
            scrape
                .header("content-type")
                .is_some_and(|c| c.starts_with("text/plain")),
            "{:?}",
            scrape.headers
        );
        let success = text.lines().any(|l| {
            l.starts_with("dbackup_executions{")
                && l.contains(&format!("job_id=\"{job_id}\""))
                && l.contains("status=\"Success\"")
        });
        assert!(
            success,
            "no Success executions of the job in /metrics:\n{text}"
        );
        assert!(text.contains("dbackup_worker_up 1"), "{text}");
    }
    let anonymous = api
        .call(&Credential::Anonymous, "GET", "/metrics", None)
        .await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.text());

    // ---------------------------------------------------------------------- static UI
    let index = get(api, "/").await;
    assert_eq!(index.status, 200, "GET /: {}", index.text());
    assert!(
        index
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/html")),
        "{:?}",
        index.headers
    );
    let html = index.text();
    let asset = html
        .split(['"', '\''])
        .find(|s| s.starts_with("/assets/") && (s.ends_with(".js") || s.ends_with(".css")))
        .unwrap_or_else(|| panic!("no /assets/ file in index.html:\n{html}"))
        .to_owned();
    let served = get(api, &asset).await;
    assert_eq!(served.status, 200, "GET {asset}");
    assert!(!served.body.is_empty());
    let kind = if asset.ends_with(".js") {
        "javascript"
    } else {
        "text/css"
    };
    assert!(
        served
            .header("content-type")
            .is_some_and(|c| c.contains(kind)),
        "{asset}: {:?}",
        served.headers
    );
    // Spin serves a copy of frontend/dist taken at start; a rebuild since (another build in
    // this checkout) renames the assets, so compare only when the file is still there.
    if let Ok(expected) = std::fs::read(
        repo()
            .join("frontend/dist")
            .join(asset.trim_start_matches('/')),
    ) {
        assert_eq!(served.body.as_ref(), expected.as_slice(), "{asset} differs");
    }
    // A client-side route gets index.html.
    let route = get(api, "/jobs").await;
    assert_eq!(route.status, 200);
    assert_eq!(route.text(), html);

    for db in [&src_db, &copy_db] {
        psql("postgres", &format!("DROP DATABASE IF EXISTS {db}"));
    }
    JourneyTimes {
        saw_unmigrated,
        migrated_after,
        run_now_success_after,
        scheduled_success_after,
        total: started.elapsed(),
    }
}

fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_owned()
}

async fn get(api: Api, target: &str) -> HttpResponse {
    request(api.addr, "GET", target, &[], None)
        .await
        .unwrap_or_else(|e| panic!("GET {target}: {e:#}"))
}

/// Polls an execution until it is neither Pending nor Running.
async fn finished(app: &SpinApp, who: &Credential, id: &str, timeout: Duration) -> Value {
    let api = app.api();
    let target = format!("/api/executions/{id}");
    let last = Mutex::new(Value::Null);
    wait_for(timeout, || async {
        let v = api.expect(who, "GET", &target, None, 200).await;
        *last.lock().expect("last") = v.clone();
        (!matches!(v["status"].as_str(), Some("Pending" | "Running"))).then_some(v)
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "execution {id} did not finish within {timeout:?}: {}\n{}",
            last.lock().expect("last"),
            app.log()
        )
    })
}
