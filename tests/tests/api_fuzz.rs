//! API fuzzing: schemathesis (PyPI, pinned by xtask) generates requests from docs/openapi.json
//! — valid and invalid bodies, query strings, path ids, headers — and sends them to the real app
//! (in-process host, the worker, a PostgreSQL source with one encrypted backup on a local
//! destination), signed in as the SuperAdmin and as a user without a group (session cookie plus
//! `X-Requested-With` for the CSRF guard), and through an API key (`Authorization: Bearer`).
//!
//! Asserted for every generated request: no 5xx (schemathesis's `not_a_server_error`), every
//! 4xx/5xx a JSON body `{"error": "…"}` (`errors_are_json`, tests/fuzz/hooks.py), and no
//! network error (a panicking handler drops the connection); after the runs, no panic in the
//! host (a panic hook) or the worker (its stderr), and the worker still answers.
//!
//! Left out (they would end the fuzzing session itself): `logout` (ends the session) and
//! `revokeSession` (revokes sessions). Everything else is fuzzed, in four runs: the
//! SuperAdmin's without DELETE; the same through an API key holding every permission (the
//! other security scheme); the user's without a group; and the SuperAdmin's DELETEs last, so
//! the fixtures exist for everything before. Schemathesis also reuses ids it saw in answers;
//! a request naming the fuzzing's own accounts or key by path id gets an id that exists
//! nowhere instead (tests/fuzz/hooks.py), so no run demotes the SuperAdmin mid-way.
//!
//! The run happens in a private network namespace with only loopback (this test's thread and
//! everything it starts), so generated host names and addresses — database hosts, S3 endpoints,
//! webhook URLs, OIDC issuers — reach nothing outside this machine; the fixture PostgreSQL is
//! bridged in from 127.0.0.1:5432 of the machine.
//!
//! The seed is random and printed with the case count; `DBACKUP_FUZZ_SEED=<seed>` replays a
//! run, `DBACKUP_FUZZ_EXAMPLES=<n>` changes the examples per operation and phase.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dbackup_identity::Permission;
use dbackup_tests::{
    collect_lines, psql, random_hex, repo, spawn_worker, Api, Credential, RealApp, TempDir,
    TEST_PASSWORD,
};
use serde_json::{json, Value};

/// Examples per operation in the fuzzing phase (the coverage phase adds its own boundary and
/// malformed cases per operation): about 7000 requests in all, a minute or two.
const EXAMPLES: u32 = 12;

/// The checks on every answer: no 5xx, errors as JSON, and the status counts. More (e.g.
/// `response_schema_conformance`, answers against the document) with
/// `DBACKUP_FUZZ_CHECKS=<check>,…`, added to these.
fn checks() -> String {
    let mut checks = String::from("not_a_server_error,errors_are_json,status_tally");
    if let Ok(more) = std::env::var("DBACKUP_FUZZ_CHECKS") {
        checks.push(',');
        checks.push_str(&more);
    }
    checks
}

/// The schemathesis program: `DBACKUP_SCHEMATHESIS` (set by `cargo xtask test`), else the
/// venv xtask installs it into. Missing is a failure, never a skip.
fn schemathesis() -> PathBuf {
    let program = std::env::var_os("DBACKUP_SCHEMATHESIS")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/dbackup-fuzz-venv/bin/schemathesis"));
    assert!(
        program.is_file(),
        "schemathesis is missing ({}): run through `cargo xtask test`, which installs it",
        program.display()
    );
    program
}

/// A thread left behind in the machine's network namespace, running jobs there for threads
/// that moved into the private one (a socket it connects works from anywhere).
struct MachineNetwork {
    jobs: mpsc::Sender<Box<dyn FnOnce() + Send>>,
}

impl MachineNetwork {
    /// Starts the thread; call before [`enter_private_network`].
    fn start() -> MachineNetwork {
        let (jobs, rx) = mpsc::channel::<Box<dyn FnOnce() + Send>>();
        std::thread::spawn(move || {
            for job in rx {
                job();
            }
        });
        MachineNetwork { jobs }
    }

    /// Runs `f` on the thread in the machine's namespace; returns its result.
    fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = mpsc::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = tx.send(f());
            }))
            .expect("the machine-network thread runs");
        rx.recv().expect("the machine-network thread answers")
    }
}

/// Moves this thread (and whatever it starts from now on) into a new network namespace with
/// only the loopback interface, up.
fn enter_private_network() {
    // SAFETY: unshare changes only this thread's namespace; the ioctls read and write an
    // `ifreq` we own on a socket we own and close.
    unsafe {
        assert!(
            libc::unshare(libc::CLONE_NEWNET) == 0,
            "unshare(CLONE_NEWNET): {} — the API fuzz runs in a private network namespace \
             (needs root or CAP_SYS_ADMIN, as in CI)",
            std::io::Error::last_os_error()
        );
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let mut req: libc::ifreq = std::mem::zeroed();
        for (i, b) in b"lo\0".iter().enumerate() {
            req.ifr_name[i] = *b as libc::c_char;
        }
        assert!(
            libc::ioctl(fd, libc::SIOCGIFFLAGS as _, &mut req) == 0,
            "SIOCGIFFLAGS lo: {}",
            std::io::Error::last_os_error()
        );
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        assert!(
            libc::ioctl(fd, libc::SIOCSIFFLAGS as _, &req) == 0,
            "SIOCSIFFLAGS lo up: {}",
            std::io::Error::last_os_error()
        );
        libc::close(fd);
    }
}

/// Serves 127.0.0.1:5432 inside the private namespace by relaying each connection to the
/// machine's PostgreSQL at 127.0.0.1:5432.
async fn bridge_postgres(machine: Arc<MachineNetwork>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:5432")
        .await
        .expect("bind 127.0.0.1:5432 in the private namespace");
    tokio::spawn(async move {
        while let Ok((mut inside, _)) = listener.accept().await {
            let machine = machine.clone();
            tokio::spawn(async move {
                let target = SocketAddr::from(([127, 0, 0, 1], 5432));
                let outside = tokio::task::spawn_blocking(move || {
                    machine.run(move || TcpStream::connect_timeout(&target, Duration::from_secs(5)))
                })
                .await
                .ok()
                .and_then(Result::ok)
                .and_then(|s| s.set_nonblocking(true).map(|()| s).ok())
                .and_then(|s| tokio::net::TcpStream::from_std(s).ok());
                if let Some(mut outside) = outside {
                    let _ = tokio::io::copy_bidirectional(&mut inside, &mut outside).await;
                }
            });
        }
    });
}

/// Panics anywhere in this process (the host runs in it), recorded by a hook.
static PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn record_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if let Ok(mut panics) = PANICS.lock() {
            panics.push(info.to_string());
        }
        default(info);
    }));
}

#[test]
fn generated_requests_get_no_server_error_and_json_errors() {
    let program = schemathesis();
    let db = format!("fuzz_src_{}", std::process::id());
    psql("postgres", &format!("DROP DATABASE IF EXISTS {db}"));
    psql("postgres", &format!("CREATE DATABASE {db}"));
    psql(
        &db,
        "CREATE TABLE item (id int PRIMARY KEY, name text); \
         INSERT INTO item SELECT g, md5(g::text) FROM generate_series(1, 100) g;",
    );
    let machine = Arc::new(MachineNetwork::start());
    enter_private_network();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(fuzz(program, machine.clone(), &db));
    drop(runtime);
    machine.run(move || psql("postgres", &format!("DROP DATABASE IF EXISTS {db}")));
}

/// The schemathesis dictionaries of fixture ids and object names, by name (see
/// tests/fuzz/schemathesis.toml): the generated requests name them half of the time.
type Fixtures = BTreeMap<&'static str, Vec<String>>;

async fn fuzz(program: PathBuf, machine: Arc<MachineNetwork>, db: &str) {
    bridge_postgres(machine).await;
    record_panics();
    let dir = TempDir::new();
    let roots = dir.join("roots");
    let store = roots.join("backups");
    std::fs::create_dir_all(&store).expect("backup folder");
    let worker_data = dir.join("worker");
    let app = RealApp::with_external_worker().dir(dir).app_url();

    // The worker, started here to read its stderr.
    let token = app.value("SPIN_VARIABLE_WORKER_TOKEN");
    let mut worker = spawn_worker(app.worker_addr(), &token, |c| {
        c.env("DBACKUP_WORKER_DATA_DIR", &worker_data)
            .env("DBACKUP_LOCAL_ROOTS", &roots)
            .env("RUST_BACKTRACE", "1")
            .stderr(std::process::Stdio::piped());
    })
    .await;
    let (worker_log, _reader) = collect_lines(worker.stderr.take().expect("stderr"));

    let app = app.start().await;
    let api = app.api();
    let admin = api.signup_admin().await;
    let fixtures = make_fixtures(&api, &admin, db, &store).await;

    let seed: u64 = match std::env::var("DBACKUP_FUZZ_SEED") {
        Ok(s) => s.parse().expect("DBACKUP_FUZZ_SEED is a number"),
        Err(_) => u64::from_str_radix(&random_hex()[..12], 16).expect("hex"),
    };
    let examples: u32 = std::env::var("DBACKUP_FUZZ_EXAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(EXAMPLES);
    let fuzzer = Fuzzer {
        program,
        config: base_config(&fixtures),
        url: format!("http://{}", app.host.addr),
        seed,
        examples,
        checks: checks(),
        reports: dbackup_tests::shared_tmp("api-fuzz"),
    };
    eprintln!(
        "api fuzz: schemathesis seed {seed}, {examples} examples per operation \
         (replay: DBACKUP_FUZZ_SEED={seed}; output in {})",
        fuzzer.reports.display()
    );

    // The identities: the SuperAdmin, an API key holding every permission (the other security
    // scheme; a key is never a SuperAdmin) and a user without a group. No request may change
    // their accounts or the key (tests/fuzz/hooks.py): that would end the runs' credentials.
    let everything: Vec<&str> = Permission::ALL.iter().map(|p| p.as_str()).collect();
    let (key_info, key) = api.create_api_key(&admin, "fuzz key", &everything).await;
    let nobody_user = api
        .create_user(&admin, "No Group", "nogroup@example.com", None)
        .await;
    let nobody = api.login("nogroup@example.com", TEST_PASSWORD).await;
    let me = api
        .expect(&admin, "GET", "/api/auth/session", None, 200)
        .await;
    let protected = [&me["user"]["id"], &key_info["id"], &nobody_user["id"]]
        .map(|id| id.as_str().expect("an id"));

    let started = Instant::now();
    let mut runs = Vec::new();
    let no_delete = ["--exclude-method", "DELETE"];
    runs.push(
        fuzzer
            .run("superadmin", &admin, &no_delete, &protected)
            .await,
    );
    runs.push(fuzzer.run("apikey", &key, &no_delete, &protected).await);
    runs.push(fuzzer.run("nogroup", &nobody, &[], &protected).await);
    // DELETE runs last, so that the fixtures exist for everything else.
    let only_delete = ["--include-method", "DELETE"];
    runs.push(
        fuzzer
            .run("superadmin-delete", &admin, &only_delete, &protected)
            .await,
    );
    let total: u64 = runs.iter().map(|r| r.cases).sum();
    eprintln!(
        "api fuzz: seed {seed}: {total} cases ({}) in {:.0} s",
        runs.iter()
            .map(|r| format!("{} {}", r.label, r.cases))
            .collect::<Vec<_>>()
            .join(", "),
        started.elapsed().as_secs_f64()
    );
    let failed: Vec<String> = runs
        .iter()
        .filter(|r| !r.ok)
        .map(|r| format!("as {}:\n{}", r.label, r.output))
        .collect();
    // The harness kept its sessions (an excluded operation leaking in would end them and
    // leave the rest of a run at the gate's 401).
    for who in [&admin, &key, &nobody] {
        let resp = api.call(who, "GET", "/api/auth/session", None).await;
        assert_eq!(resp.status, 200, "a fuzzing session ended: {}", resp.text());
    }

    // The worker survived and answers.
    assert!(
        worker.try_wait().expect("worker status").is_none(),
        "the worker exited during the fuzzing"
    );
    let health = api.call(&admin, "GET", "/api/health", None).await;
    assert_eq!(
        health.status,
        200,
        "health after the fuzzing: {}",
        health.text()
    );
    let worker_panics: Vec<String> = worker_log
        .lock()
        .expect("log")
        .iter()
        .filter(|l| l.contains("panicked"))
        .cloned()
        .collect();
    let host_panics = PANICS.lock().map(|p| p.clone()).unwrap_or_default();
    app.shutdown().await;
    assert!(
        failed.is_empty(),
        "schemathesis found failures (seed {seed}; replay with DBACKUP_FUZZ_SEED={seed}):\n{}",
        failed.join("\n\n")
    );
    assert!(
        host_panics.is_empty(),
        "the host panicked: {host_panics:#?}"
    );
    assert!(
        worker_panics.is_empty(),
        "the worker panicked: {worker_panics:#?}"
    );
    for r in &runs {
        assert_eq!(
            r.count(500..=599),
            0,
            "{}: 5xx answers: {:?}",
            r.label,
            r.by_status
        );
    }
    // The SuperAdmin's and the key's requests get past the gate (the credential works), the
    // user's without a group mostly do not.
    for r in &runs[..2] {
        assert!(
            r.count(200..=299) * 20 >= r.cases,
            "few of the {} run's requests succeed: {:?}",
            r.label,
            r.by_status
        );
    }
    assert!(
        runs[2].count(403..=403) * 2 >= runs[2].cases,
        "the user without a group was not refused: {:?}",
        runs[2].by_status
    );
    assert!(total > 0, "no case ran");
}

/// A PostgreSQL source, a local destination holding one encrypted backup of it, a webhook
/// channel, an encryption profile, the job and its execution, a group and a user.
async fn make_fixtures(api: &Api, admin: &Credential, db: &str, store: &Path) -> Fixtures {
    let create = |path: &'static str, body: Value| async move {
        let v = api.expect(admin, "POST", path, Some(&body), 201).await;
        v["id"].as_str().expect("id").to_owned()
    };
    let pg = create(
        "/api/adapters",
        json!({"name": "fuzz pg", "adapterId": "postgres",
               "config": {"host": "127.0.0.1", "port": 5432, "user": "postgres", "database": db}}),
    )
    .await;
    let disk = create(
        "/api/adapters",
        json!({"name": "fuzz disk", "adapterId": "local", "config": {"path": store}}),
    )
    .await;
    let hook = create(
        "/api/adapters",
        json!({"name": "fuzz hook", "adapterId": "webhook",
               "config": {"url": "http://127.0.0.1:9/hook"}}),
    )
    .await;
    let profile = create("/api/encryption-profiles", json!({"name": "fuzz key"})).await;
    let job = create(
        "/api/jobs",
        json!({"name": "fuzz job", "schedule": "@yearly", "sourceId": pg, "databases": [db],
               "destinations": [{"destinationId": disk}], "compression": "GZIP",
               "encryptionProfileId": profile}),
    )
    .await;
    let run = api
        .expect(admin, "POST", &format!("/api/jobs/{job}/run"), None, 202)
        .await;
    let execution = run["executionId"].as_str().expect("executionId").to_owned();
    let done = api.finished_execution(admin, &execution).await;
    assert_eq!(done["status"], "Success", "the fixture backup: {done}");
    let listing = api
        .expect(
            admin,
            "GET",
            &format!("/api/storage/{disk}/backups"),
            None,
            200,
        )
        .await;
    let objects: Vec<String> = listing["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["path"].as_str().map(str::to_owned))
        .collect();
    assert!(
        !objects.is_empty(),
        "the fixture backup is listed: {listing}"
    );
    let group = create(
        "/api/groups",
        json!({"name": "fuzz group", "permissions": []}),
    )
    .await;
    let user = create(
        "/api/users",
        json!({"name": "Fuzz", "email": "fuzz@example.com", "password": TEST_PASSWORD}),
    )
    .await;
    let all = vec![
        pg.clone(),
        disk.clone(),
        hook.clone(),
        profile.clone(),
        job.clone(),
        execution.clone(),
        group.clone(),
        user.clone(),
    ];
    Fixtures::from([
        ("fixtures", all),
        ("adapters", vec![pg, disk.clone(), hook]),
        ("destinations", vec![disk]),
        ("profiles", vec![profile]),
        ("jobs", vec![job]),
        ("executions", vec![execution]),
        ("groups", vec![group]),
        ("users", vec![user]),
        ("objects", objects),
    ])
}

/// tests/fuzz/schemathesis.toml plus the fixture dictionaries (each run adds its credential).
fn base_config(fixtures: &Fixtures) -> String {
    let template = std::fs::read_to_string(repo().join("tests/fuzz/schemathesis.toml"))
        .expect("tests/fuzz/schemathesis.toml");
    let list = |values: &[String]| {
        values
            .iter()
            .map(|v| Value::String(v.clone()).to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut text = template;
    for (name, values) in fixtures {
        text.push_str(&format!(
            "\n[dictionaries.{name}]\nvalues = [{}]\n",
            list(values)
        ));
    }
    text
}

/// One schemathesis setup, run once per identity.
struct Fuzzer {
    program: PathBuf,
    /// The configuration without the credential.
    config: String,
    url: String,
    seed: u64,
    examples: u32,
    /// Schemathesis `--checks`.
    checks: String,
    /// Each run's output, JSON report and status counts go to `<reports>/<label>/` (kept after
    /// the test, under the target dir).
    reports: PathBuf,
}

struct RunResult {
    label: &'static str,
    ok: bool,
    cases: u64,
    /// Answers per status code.
    by_status: BTreeMap<u16, u64>,
    /// The end of schemathesis's output (failures, then the summary).
    output: String,
}

impl RunResult {
    fn count(&self, range: std::ops::RangeInclusive<u16>) -> u64 {
        self.by_status
            .iter()
            .filter(|(s, _)| range.contains(s))
            .map(|(_, n)| n)
            .sum()
    }
}

impl Fuzzer {
    /// Runs schemathesis as `who` (a session or an API key) on the operations `select` picks.
    async fn run(
        &self,
        label: &'static str,
        who: &Credential,
        select: &[&str],
        protected: &[&str],
    ) -> RunResult {
        let (scheme, field, credential) = match who {
            Credential::Cookie(jwt) => ("sessionCookie", "api_key", jwt),
            Credential::Bearer(key) => ("apiKey", "bearer", key),
            Credential::Anonymous => panic!("the fuzzing signs in"),
        };
        let out = self.reports.join(label);
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir_all(&out).expect("report folder");
        let config_file = out.join("schemathesis.toml");
        let auth =
            format!("\n[auth.openapi.{scheme}]\n{field} = \"${{DBACKUP_FUZZ_CREDENTIAL}}\"\n");
        std::fs::write(&config_file, format!("{}{auth}", self.config)).expect("write the config");
        let (report, stats) = (out.join("report.json"), out.join("stats.json"));
        let started = Instant::now();
        let output = tokio::process::Command::new(&self.program)
            .current_dir(&out)
            .env("SCHEMATHESIS_HOOKS", repo().join("tests/fuzz/hooks.py"))
            .env("DBACKUP_FUZZ_CREDENTIAL", credential)
            .env("DBACKUP_FUZZ_PROTECTED", protected.join(" "))
            .env("DBACKUP_FUZZ_STATS", &stats)
            .env("NO_COLOR", "1")
            .arg("--config-file")
            .arg(&config_file)
            .arg("run")
            .arg(repo().join("docs/openapi.json"))
            .args(["--url", &self.url])
            .args(["--seed", &self.seed.to_string()])
            .args(["--max-examples", &self.examples.to_string()])
            .args(["--phases", "examples,coverage,fuzzing"])
            .args(["--checks", &self.checks])
            // Operations that would end the session the fuzzing runs in.
            .args(["--exclude-operation-id", "logout"])
            .args(["--exclude-operation-id", "revokeSession"])
            .args(select)
            .args(["--suppress-health-check", "all"])
            .args(["--no-color", "--output-truncate", "false"])
            .args(["--report", "json", "--report-json-path"])
            .arg(&report)
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .expect("run schemathesis");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        std::fs::write(out.join("output.txt"), &text).expect("keep the output");
        let json = |path: &Path| -> Value {
            std::fs::read_to_string(path)
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(Value::Null)
        };
        let report = json(&report);
        let by_status: BTreeMap<u16, u64> = json(&stats)["byStatus"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.parse().ok()?, v.as_u64()?)))
            .collect();
        let cases = report["test_cases"]["generated"].as_u64().unwrap_or(0);
        eprintln!(
            "api fuzz as {label}: {cases} cases in {:.0} s, exit {}; answers by status {by_status:?}",
            started.elapsed().as_secs_f64(),
            output.status
        );
        let lines: Vec<&str> = text.lines().collect();
        let keep = lines.len().saturating_sub(400);
        RunResult {
            label,
            ok: output.status.success() && report["exit_code"] == 0,
            cases,
            by_status,
            output: lines[keep..].join("\n"),
        }
    }
}
