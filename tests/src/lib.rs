//! Helpers for the integration tests (HTTP client, fixtures, paths).
//!
//! The tests need the wasm components and the native binaries built first; `cargo xtask test`
//! builds them and passes their folders in `DBACKUP_WASM_DIR`, `DBACKUP_BIN_DIR` and
//! `DBACKUP_REPO`.

#![forbid(unsafe_code)]

pub mod journey;
pub mod s3;
pub mod spin;
pub mod sqld;
pub mod sshd;

use anyhow::{anyhow, Context, Result};
use bytes::Bytes;
use dbackup_host::app::{self, HostConfig, RunningHost};
use dbackup_host::worker::WorkerMode;
use http_body_util::{BodyExt, Full};
use hyper::HeaderMap;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------------------------

fn env_dir(var: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => panic!(
            "{var} is not set: run the integration tests through `cargo xtask test` \
             (it builds the wasm components and binaries first)"
        ),
    }
}

/// A built `.wasm` file from `DBACKUP_WASM_DIR` (`name` with or without `.wasm`).
pub fn wasm(name: &str) -> PathBuf {
    let file = if name.ends_with(".wasm") {
        name.to_owned()
    } else {
        format!("{name}.wasm")
    };
    let path = env_dir("DBACKUP_WASM_DIR").join(file);
    assert!(
        path.is_file(),
        "{} does not exist: run through `cargo xtask test`",
        path.display()
    );
    path
}

/// The folder of the built `.wasm` files.
pub fn wasm_dir() -> PathBuf {
    env_dir("DBACKUP_WASM_DIR")
}

/// A native binary (`dbackup`, `dbackup-worker`) from `DBACKUP_BIN_DIR`.
pub fn bin(name: &str) -> PathBuf {
    let path = env_dir("DBACKUP_BIN_DIR").join(name);
    assert!(
        path.is_file(),
        "{} does not exist: run through `cargo xtask test`",
        path.display()
    );
    path
}

/// `dbackup --manifest <manifest> --data-dir <data_dir> --listen <listen> [extra]` with no
/// `SPIN_VARIABLE_*` from the test's environment and `env` set; stderr piped, killed on drop.
pub fn dbackup_command(
    manifest: &Path,
    data_dir: &Path,
    listen: SocketAddr,
    extra: &[&str],
    env: &[(&str, String)],
) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(bin("dbackup"));
    cmd.arg("--manifest")
        .arg(manifest)
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--listen")
        .arg(listen.to_string())
        .args(extra);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("SPIN_VARIABLE_") {
            cmd.env_remove(k);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// The repository root (`DBACKUP_REPO`, else the folder above this crate).
pub fn repo() -> PathBuf {
    match std::env::var_os("DBACKUP_REPO") {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("..")),
    }
}

// ---------------------------------------------------------------------------------------------
// Temporary folders, manifests, ports
// ---------------------------------------------------------------------------------------------

/// A fresh folder under the system temp dir, removed on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let base = std::env::temp_dir();
        loop {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            let path = base.join(format!(
                "dbackup-tests-{}-{}-{nanos}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            match std::fs::create_dir(&path) {
                Ok(()) => return TempDir { path },
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => panic!("cannot create {}: {e}", path.display()),
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.path.join(p)
    }
}

impl Default for TempDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Writes `toml` as `dir/spin.toml` and returns its path.
pub fn write_manifest(dir: &Path, toml: &str) -> PathBuf {
    let path = dir.join("spin.toml");
    std::fs::write(&path, toml).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    path
}

/// A TOML string literal (quotes and escapes) for a path or value.
pub fn toml_str(s: impl AsRef<str>) -> String {
    toml_quote(s.as_ref())
}

fn toml_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A port nobody listens on right now (bound and released), picked at random below Linux's
/// ephemeral range (32768–60999). A port the kernel hands out for `:0` is also what it gives
/// outgoing connections, so one of the many clients of a parallel run could take it before the
/// server that was to listen there binds it (seen in CI: "Address already in use").
pub fn free_port() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    const LOW: u16 = 20_000;
    const HIGH: u16 = 32_767;
    for _ in 0..1000 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        let port = LOW + (h.finish() % u64::from(HIGH - LOW + 1)) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// 32 random bytes as 64 hex digits.
pub fn random_hex() -> String {
    use std::io::Read;
    let mut buf = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .expect("read /dev/urandom");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// A folder under the target dir (`target/tmp/<name>`; the system temp dir when unknown) for
/// caches shared by every test process.
pub fn shared_tmp(name: &str) -> PathBuf {
    let dir = match std::env::var_os("DBACKUP_BIN_DIR") {
        Some(bin) if !bin.is_empty() => PathBuf::from(bin)
            .parent()
            .map(|target| target.join("tmp").join(name))
            .unwrap_or_else(|| std::env::temp_dir().join(name)),
        _ => std::env::temp_dir().join(name),
    };
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

fn compile_cache() -> PathBuf {
    shared_tmp("dbackup-tests-cwasm")
}

/// Points `data_dir/cache` at one compiled-component cache shared by every test, so each
/// component is compiled once per build rather than once per test (the cache is keyed by the
/// wasm bytes and the engine, and written atomically).
pub fn share_compile_cache(data_dir: &Path) {
    let shared = compile_cache();
    std::fs::create_dir_all(data_dir).expect("create the data dir");
    let link = data_dir.join("cache");
    if !link.exists() {
        std::os::unix::fs::symlink(&shared, &link).expect("link the shared compile cache");
    }
}

// ---------------------------------------------------------------------------------------------
// Starting the host in-process
// ---------------------------------------------------------------------------------------------

/// A config for an in-process host on a random port: no worker, no cron, no migrations, the
/// given `SPIN_VARIABLE_*` environment, a data dir sharing the compile cache.
pub fn host_config(manifest: PathBuf, data_dir: &Path, env: &[(&str, &str)]) -> HostConfig {
    share_compile_cache(data_dir);
    HostConfig {
        manifest,
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: data_dir.to_path_buf(),
        runtime_config: None,
        worker: WorkerMode::Disabled,
        env: Some(
            env.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
        ),
        cron: false,
        migrate: false,
    }
}

/// The variables the repository's spin.toml requires, with the worker at `worker_url`.
pub fn real_app_env(worker_url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("SPIN_VARIABLE_ENCRYPTION_KEY", random_hex()),
        ("SPIN_VARIABLE_SESSION_SECRET", random_hex()),
        ("SPIN_VARIABLE_WORKER_TOKEN", random_hex()),
        ("SPIN_VARIABLE_WORKER_URL", worker_url.to_owned()),
    ]
}

/// Makes sure every component of the repository's spin.toml is in the shared compile cache.
///
/// Compiling them all takes a while with a debug build of Cranelift; tests that start the real
/// app in parallel would otherwise all compile the same components at once. The first caller
/// compiles (by starting the app once) while holding a file lock; the others wait for it, then
/// find the cache warm.
pub async fn warm_real_app() {
    let lock_path = compile_cache().join("real-app.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", lock_path.display()));
    let lock = tokio::task::spawn_blocking(move || {
        lock.lock().expect("lock the compile cache");
        lock
    })
    .await
    .expect("lock task");
    let dir = TempDir::new();
    let env = real_app_env("http://127.0.0.1:9");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let config = host_config(repo().join("spin.toml"), &dir.join("data"), &env);
    let host = app::start(config)
        .await
        .unwrap_or_else(|e| panic!("the real app does not start: {e:#}"));
    host.shutdown().await;
    drop(lock);
}

/// A host started on `toml` (written into a fresh temp dir, which is also the data dir).
pub struct TestHost {
    pub host: RunningHost,
    pub dir: TempDir,
}

impl TestHost {
    pub fn addr(&self) -> SocketAddr {
        self.host.addr
    }

    pub async fn shutdown(self) -> TempDir {
        self.host.shutdown().await;
        self.dir
    }
}

/// Starts a host on a manifest written to a fresh temp dir, with [`host_config`] defaults.
pub async fn start_host(toml: &str, env: &[(&str, &str)]) -> TestHost {
    let dir = TempDir::new();
    let manifest = write_manifest(dir.path(), toml);
    let config = host_config(manifest, &dir.join("data"), env);
    let host = app::start(config).await.expect("the host starts");
    TestHost { host, dir }
}

/// Starts a host expecting failure; returns the error as text (with its causes).
pub async fn start_error(config: HostConfig) -> String {
    match app::start(config).await {
        Ok(host) => {
            host.shutdown().await;
            panic!("the host started but was expected to fail")
        }
        Err(e) => format!("{e:#}"),
    }
}

/// A manifest routing `routes` to the component `probe` (hostprobe), with extra component
/// settings (TOML lines inside `[component.probe]`).
pub fn probe_manifest(routes: &[&str], component_settings: &str) -> String {
    probe_manifest_with_variables("", routes, component_settings)
}

/// [`probe_manifest`] with application variables (TOML lines inside `[variables]`).
pub fn probe_manifest_with_variables(
    variables: &str,
    routes: &[&str],
    component_settings: &str,
) -> String {
    let mut toml = String::from("spin_manifest_version = 2\n[application]\nname = \"probe\"\n");
    if !variables.is_empty() {
        toml.push_str(&format!("\n[variables]\n{variables}\n"));
    }
    for r in routes {
        toml.push_str(&format!(
            "\n[[trigger.http]]\nroute = {}\ncomponent = \"probe\"\n",
            toml_quote(r)
        ));
    }
    toml.push_str(&format!(
        "\n[component.probe]\nsource = {}\n{component_settings}\n",
        toml_quote(&wasm("fixture_hostprobe").to_string_lossy())
    ));
    toml
}

// ---------------------------------------------------------------------------------------------
// HTTP client
// ---------------------------------------------------------------------------------------------

/// A whole response.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl HttpResponse {
    /// The body as JSON (panics with the body when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "response ({}) is not JSON ({e}): {}",
                self.status,
                self.text()
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends one HTTP/1.1 request on a new connection. `target` is sent as written (raw path and
/// query), so tests can send paths a URL library would normalise.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> Result<HttpResponse> {
    tokio::time::timeout(
        Duration::from_secs(60),
        request_inner(addr, method, target, headers, body),
    )
    .await
    .map_err(|_| anyhow!("{method} {target}: no answer within 60 s"))?
}

async fn request_inner(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> Result<HttpResponse> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .with_context(|| format!("connect to {addr}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("HTTP handshake")?;
    let conn = tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut builder = hyper::Request::builder()
        .method(method)
        .uri(target)
        .header(hyper::header::HOST, addr.to_string());
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let req = builder
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .context("build the request")?;
    let resp = sender
        .send_request(req)
        .await
        .with_context(|| format!("{method} {target}"))?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .context("read the body")?
        .to_bytes();
    drop(sender);
    conn.abort();
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

/// `GET target`.
pub async fn get(addr: SocketAddr, target: &str) -> HttpResponse {
    request(addr, "GET", target, &[], None)
        .await
        .unwrap_or_else(|e| panic!("GET {target}: {e:#}"))
}

/// `POST target` with a JSON body.
pub async fn post_json(addr: SocketAddr, target: &str, body: &Value) -> HttpResponse {
    request(
        addr,
        "POST",
        target,
        &[("content-type", "application/json")],
        Some(body.to_string().into_bytes()),
    )
    .await
    .unwrap_or_else(|e| panic!("POST {target}: {e:#}"))
}

// ---------------------------------------------------------------------------------------------
// hostprobe helpers
// ---------------------------------------------------------------------------------------------

/// Runs statements through hostprobe's `sql` action on database `db`; returns the JSON answer.
pub async fn probe_sql(addr: SocketAddr, db: &str, statements: Value) -> Value {
    let resp = post_json(
        addr,
        "/probe?action=sql",
        &serde_json::json!({"db": db, "statements": statements}),
    )
    .await;
    assert_eq!(resp.status, 200, "sql probe failed: {}", resp.text());
    resp.json()
}

/// One statement without parameters, for [`probe_sql`].
pub fn stmt(sql: &str) -> Value {
    serde_json::json!({"sql": sql, "params": []})
}

/// One statement with parameters, for [`probe_sql`].
pub fn stmt_with(sql: &str, params: Value) -> Value {
    serde_json::json!({"sql": sql, "params": params})
}

/// Percent-encodes a query-string value.
pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Waiting
// ---------------------------------------------------------------------------------------------

/// Polls `f` every 50 ms until it returns `Some`, for at most `timeout`.
pub async fn wait_for<T, F, Fut>(timeout: Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether something accepts TCP connections at `addr`.
pub async fn is_listening(addr: SocketAddr) -> bool {
    tokio::net::TcpStream::connect(addr).await.is_ok()
}

// ---------------------------------------------------------------------------------------------
// The real app: starting it (with or without a worker), accounts and credentials
// ---------------------------------------------------------------------------------------------

/// The repository's app (spin.toml) started in-process: migrated, its own data dir, port and
/// fresh secrets, known to the test (to forge tokens, read sealed values, start a worker).
pub struct RealApp {
    pub host: RunningHost,
    pub dir: TempDir,
    pub session_secret: String,
    pub encryption_key: String,
    pub worker_token: String,
    /// Where the app expects its worker.
    pub worker_addr: SocketAddr,
}

/// How a [`RealApp`] gets its worker.
enum WorkerChoice {
    /// None (identity and API tests: the worker URL points at a closed port).
    None,
    /// `dbackup-worker` spawned and stopped by the host.
    Spawn,
    /// Started by the test at [`RealAppBuilder::worker_addr`] (to kill it or read its log).
    External,
}

/// Options for starting a [`RealApp`]: `RealApp::with_worker().app_url().start().await`.
pub struct RealAppBuilder {
    dir: Option<TempDir>,
    worker: WorkerChoice,
    worker_addr: SocketAddr,
    cron: bool,
    app_url: bool,
    runtime_config: Option<PathBuf>,
    env: Vec<(&'static str, String)>,
}

impl RealAppBuilder {
    /// The app's folder (its data dir is `data/` inside), instead of a fresh one.
    pub fn dir(mut self, dir: TempDir) -> Self {
        self.dir = Some(dir);
        self
    }

    /// Runs the cron trigger (the runner) if `cron`.
    pub fn cron(mut self, cron: bool) -> Self {
        self.cron = cron;
        self
    }

    /// Listens on a port chosen up front and tells the app its URL (`SPIN_VARIABLE_APP_URL`).
    pub fn app_url(mut self) -> Self {
        self.app_url = true;
        self
    }

    /// Reads the databases from a runtime-config file (`--runtime-config-file`), e.g. a libSQL
    /// server's ([`sqld::Sqld::write_runtime_config`]).
    pub fn runtime_config(mut self, path: impl Into<PathBuf>) -> Self {
        self.runtime_config = Some(path.into());
        self
    }

    /// Sets a `SPIN_VARIABLE_*` (or replaces one of the generated secrets).
    pub fn var(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.env.retain(|(k, _)| *k != name);
        self.env.push((name, value.into()));
        self
    }

    /// Where the app expects its worker: an external worker listens here.
    pub fn worker_addr(&self) -> SocketAddr {
        self.worker_addr
    }

    /// The generated value of `name` (e.g. `SPIN_VARIABLE_WORKER_TOKEN`).
    pub fn value(&self, name: &str) -> String {
        self.env
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{name} is not set"))
    }

    /// The host configuration [`RealAppBuilder::start`] uses, for the app in folder `dir`
    /// (data dir `dir/data`), for a test that starts hosts itself (several on one data dir, or
    /// on a runtime it can drop); each call picks a new port under [`RealAppBuilder::app_url`].
    pub fn host_config(&self, dir: &Path) -> HostConfig {
        let mut listen = SocketAddr::from(([127, 0, 0, 1], 0));
        let mut env: Vec<(&str, String)> = self.env.clone();
        if self.app_url {
            listen.set_port(free_port());
            env.retain(|(k, _)| *k != "SPIN_VARIABLE_APP_URL");
            env.push(("SPIN_VARIABLE_APP_URL", format!("http://{listen}")));
        }
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut config = host_config(repo().join("spin.toml"), &dir.join("data"), &env);
        config.listen = listen;
        config.migrate = true;
        config.cron = self.cron;
        config.runtime_config = self.runtime_config.clone();
        config.worker = match self.worker {
            WorkerChoice::None => WorkerMode::Disabled,
            WorkerChoice::Spawn => WorkerMode::Spawn {
                binary: bin("dbackup-worker"),
            },
            WorkerChoice::External => WorkerMode::External,
        };
        config
    }

    /// Starts the app (compiling the components into the shared cache first if needed).
    pub async fn start(mut self) -> RealApp {
        warm_real_app().await;
        let dir = self.dir.take().unwrap_or_default();
        let host = app::start(self.host_config(dir.path()))
            .await
            .unwrap_or_else(|e| panic!("the real app does not start: {e:#}"));
        RealApp {
            host,
            dir,
            session_secret: self.value("SPIN_VARIABLE_SESSION_SECRET"),
            encryption_key: self.value("SPIN_VARIABLE_ENCRYPTION_KEY"),
            worker_token: self.value("SPIN_VARIABLE_WORKER_TOKEN"),
            worker_addr: self.worker_addr,
        }
    }
}

impl RealApp {
    /// Starts the app without a worker or cron.
    pub async fn start() -> RealApp {
        Self::start_with_cron(false).await
    }

    /// [`RealApp::start`], with the cron trigger (the runner) running if `cron`.
    pub async fn start_with_cron(cron: bool) -> RealApp {
        Self::without_worker().cron(cron).start().await
    }

    /// The app without a worker (its URL is a closed port) or cron, to configure further.
    pub fn without_worker() -> RealAppBuilder {
        Self::builder(WorkerChoice::None)
    }

    /// The app with a spawned `dbackup-worker` and the runner (cron) on: what backups,
    /// restores, probes and the storage explorer need.
    pub fn with_worker() -> RealAppBuilder {
        Self::builder(WorkerChoice::Spawn).cron(true)
    }

    /// The app and the runner, with a worker the test starts itself
    /// ([`RealAppBuilder::worker_addr`], `SPIN_VARIABLE_WORKER_TOKEN`; see [`spawn_worker`]).
    pub fn with_external_worker() -> RealAppBuilder {
        Self::builder(WorkerChoice::External).cron(true)
    }

    fn builder(worker: WorkerChoice) -> RealAppBuilder {
        let worker_addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        RealAppBuilder {
            dir: None,
            env: real_app_env(&format!("http://{worker_addr}")),
            worker,
            worker_addr,
            cron: false,
            app_url: false,
            runtime_config: None,
        }
    }

    pub fn api(&self) -> Api {
        Api {
            addr: self.host.addr,
        }
    }

    /// The app's data dir.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The app's database file.
    pub fn db_path(&self) -> PathBuf {
        self.data_dir().join("dbackup.db")
    }

    /// A folder for a local destination (`backups/` in the app's folder, created).
    pub fn backup_folder(&self) -> PathBuf {
        let store = self.dir.join("backups");
        std::fs::create_dir_all(&store).expect("create the backup folder");
        store
    }

    pub async fn shutdown(self) {
        self.host.shutdown().await;
    }
}

/// `dbackup-worker` listening on `listen` with `token` (what the app's `worker_token` says),
/// killed on drop; `configure` adds environment or stdio before it starts. Returns once it
/// accepts connections.
pub async fn spawn_worker(
    listen: SocketAddr,
    token: &str,
    configure: impl FnOnce(&mut tokio::process::Command),
) -> tokio::process::Child {
    let mut cmd = tokio::process::Command::new(bin("dbackup-worker"));
    cmd.env("DBACKUP_WORKER_LISTEN", listen.to_string())
        .env("DBACKUP_WORKER_TOKEN", token)
        .kill_on_drop(true);
    configure(&mut cmd);
    let child = cmd.spawn().expect("start the worker");
    wait_for(Duration::from_secs(15), || async {
        tokio::net::TcpStream::connect(listen).await.ok()
    })
    .await
    .expect("the worker listens");
    child
}

/// How a request authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Anonymous,
    /// The session cookie's JWT. Requests send `X-Requested-With` too (the CSRF rule), unless
    /// made with [`Api::send`] and explicit headers.
    Cookie(String),
    /// An API key, as `Authorization: Bearer`.
    Bearer(String),
}

/// The password of the accounts identity tests create (unless a test picks its own).
pub const TEST_PASSWORD: &str = "correct horse battery staple";

/// The `User-Agent` of [`Api::call`] (audit rows record it).
pub const TEST_USER_AGENT: &str = "dbackup-tests";

/// An HTTP client for the app's API.
#[derive(Debug, Clone, Copy)]
pub struct Api {
    pub addr: SocketAddr,
}

impl Api {
    /// This app's origin, for a same-origin `Origin` header.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sends a request with exactly these headers (plus `Host`) and, if given, a JSON body.
    pub async fn send(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> HttpResponse {
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if body.is_some() {
            all.push(("content-type", "application/json"));
        }
        request(
            self.addr,
            method,
            target,
            &all,
            body.map(|b| b.to_string().into_bytes()),
        )
        .await
        .unwrap_or_else(|e| panic!("{method} {target}: {e:#}"))
    }

    /// Sends a request as `who` (cookie requests carry `X-Requested-With`; every one
    /// `User-Agent: dbackup-tests`).
    pub async fn call(
        &self,
        who: &Credential,
        method: &str,
        target: &str,
        body: Option<&Value>,
    ) -> HttpResponse {
        let cookie;
        let bearer;
        let mut headers: Vec<(&str, &str)> = match who {
            Credential::Anonymous => vec![],
            Credential::Cookie(jwt) => {
                cookie = format!("dbackup_session={jwt}");
                vec![("cookie", &cookie), ("x-requested-with", "XMLHttpRequest")]
            }
            Credential::Bearer(key) => {
                bearer = format!("Bearer {key}");
                vec![("authorization", &bearer)]
            }
        };
        headers.push(("user-agent", TEST_USER_AGENT));
        self.send(method, target, &headers, body).await
    }

    /// [`Api::call`] expecting `status`; returns the JSON body (`null` for an empty one).
    pub async fn expect(
        &self,
        who: &Credential,
        method: &str,
        target: &str,
        body: Option<&Value>,
        status: u16,
    ) -> Value {
        let resp = self.call(who, method, target, body).await;
        assert_eq!(resp.status, status, "{method} {target}: {}", resp.text());
        if resp.body.is_empty() {
            Value::Null
        } else {
            resp.json()
        }
    }

    /// Polls `GET /api/executions/{id}` as `who` until the execution is neither Pending nor
    /// Running (at most 180 s); returns it.
    pub async fn finished_execution(&self, who: &Credential, id: &str) -> Value {
        let target = format!("/api/executions/{id}");
        wait_for(Duration::from_secs(180), || async {
            let v = self.expect(who, "GET", &target, None, 200).await;
            (!matches!(v["status"].as_str(), Some("Pending" | "Running"))).then_some(v)
        })
        .await
        .unwrap_or_else(|| panic!("execution {id} did not finish"))
    }

    /// `POST /api/jobs/{job}/run` as `who` (202), then [`Api::finished_execution`].
    pub async fn run_job(&self, who: &Credential, job: &str) -> Value {
        let run = self
            .expect(who, "POST", &format!("/api/jobs/{job}/run"), None, 202)
            .await;
        let id = run["executionId"].as_str().expect("executionId");
        self.finished_execution(who, id).await
    }

    /// Signs up the first user; returns the user and their session.
    pub async fn signup(&self, name: &str, email: &str, password: &str) -> (Value, Credential) {
        let body = serde_json::json!({"name": name, "email": email, "password": password});
        let resp = self
            .call(
                &Credential::Anonymous,
                "POST",
                "/api/auth/signup",
                Some(&body),
            )
            .await;
        assert_eq!(resp.status, 201, "signup: {}", resp.text());
        let jwt = session_cookie(&resp).expect("signup sets the session cookie");
        (resp.json(), Credential::Cookie(jwt))
    }

    /// Signs up the first user as `Admin <admin@example.com>` with [`TEST_PASSWORD`]; returns
    /// the session.
    pub async fn signup_admin(&self) -> Credential {
        self.signup("Admin", "admin@example.com", TEST_PASSWORD)
            .await
            .1
    }

    /// Logs in with a password (no 2FA); returns the session.
    pub async fn login(&self, email: &str, password: &str) -> Credential {
        let body = serde_json::json!({"email": email, "password": password});
        let resp = self
            .call(
                &Credential::Anonymous,
                "POST",
                "/api/auth/login",
                Some(&body),
            )
            .await;
        assert_eq!(resp.status, 200, "login {email}: {}", resp.text());
        Credential::Cookie(session_cookie(&resp).expect("login sets the session cookie"))
    }

    /// Creates a user as `admin` (in group `group_id`) with [`TEST_PASSWORD`]; returns it.
    pub async fn create_user(
        &self,
        admin: &Credential,
        name: &str,
        email: &str,
        group_id: Option<&str>,
    ) -> Value {
        let body = serde_json::json!({
            "name": name, "email": email, "password": TEST_PASSWORD, "groupId": group_id,
        });
        self.expect(admin, "POST", "/api/users", Some(&body), 201)
            .await
    }

    /// Creates a group as `admin`; returns it.
    pub async fn create_group(
        &self,
        admin: &Credential,
        name: &str,
        permissions: &[&str],
    ) -> Value {
        let body = serde_json::json!({"name": name, "permissions": permissions});
        self.expect(admin, "POST", "/api/groups", Some(&body), 201)
            .await
    }

    /// Creates an API key as `owner`; returns the answer (with the one-time `key`) and the
    /// bearer credential.
    pub async fn create_api_key(
        &self,
        owner: &Credential,
        name: &str,
        permissions: &[&str],
    ) -> (Value, Credential) {
        let body = serde_json::json!({"name": name, "permissions": permissions});
        let created = self
            .expect(owner, "POST", "/api/api-keys", Some(&body), 201)
            .await;
        let key = created["key"].as_str().expect("the new key").to_owned();
        (created, Credential::Bearer(key))
    }
}

/// The session JWT a response sets (`Set-Cookie: dbackup_session=…`), if it sets a non-empty one.
pub fn session_cookie(resp: &HttpResponse) -> Option<String> {
    resp.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("dbackup_session="))
        .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
        .filter(|jwt| !jwt.is_empty())
}

/// Runs `sql` with the `sqlite3` command-line tool on `db` (JSON mode); returns the rows.
/// Runs `sql` with `psql` against the test PostgreSQL (127.0.0.1:5432, user postgres, trust);
/// panics naming the statement when it fails; returns the unaligned, tuples-only output.
pub fn psql(db: &str, sql: &str) -> String {
    let out = std::process::Command::new("psql")
        .args([
            "-X",
            "-A",
            "-t",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
        ])
        .args(["-U", "postgres", "-d", db, "-c", sql])
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "psql {db} {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// An `ACCESS EXCLUSIVE` lock on a PostgreSQL table, held by a `psql` session until dropped:
/// a `pg_dump` started meanwhile waits for it, so a test can act on a backup that is certainly
/// still dumping, whatever the machine's load.
pub struct PgTableLock {
    child: std::process::Child,
    /// Kept open: psql ends its session at the end of its input.
    _stdin: std::process::ChildStdin,
}

impl PgTableLock {
    /// Takes the lock in `db` on `table` and returns once PostgreSQL shows it granted.
    pub fn hold(db: &str, table: &str) -> Self {
        use std::io::Write;
        let mut child = std::process::Command::new("psql")
            .args([
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                db,
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("run psql");
        let mut stdin = child.stdin.take().expect("psql stdin");
        writeln!(
            stdin,
            "SET application_name = 'dbackup-test-lock'; BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE;"
        )
        .expect("write to psql");
        let granted = format!(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE a.application_name = 'dbackup-test-lock' AND a.datname = '{db}' \
             AND l.mode = 'AccessExclusiveLock' AND l.granted AND l.relation IS NOT NULL"
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while psql(db, &granted) == "0" {
            assert!(
                Instant::now() < deadline,
                "the lock on {table} was not granted"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            _stdin: stdin,
        }
    }
}

impl Drop for PgTableLock {
    /// Ends the session: PostgreSQL releases the lock with it.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn sqlite_json(db: &Path, sql: &str) -> Vec<Value> {
    let out = std::process::Command::new("sqlite3")
        .arg("-json")
        .arg("-cmd")
        .arg(".timeout 5000")
        .arg(db)
        .arg(sql)
        .output()
        .expect("run sqlite3 (apt-get install sqlite3)");
    assert!(
        out.status.success(),
        "sqlite3 {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    if text.trim().is_empty() {
        return Vec::new();
    }
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("sqlite3 output ({e}): {text}"))
}

/// Lines a child process writes to stderr, collected as they arrive (the task ends at EOF).
pub type CollectedLines = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// Starts collecting a child's stderr lines.
pub fn collect_lines(
    stderr: tokio::process::ChildStderr,
) -> (CollectedLines, tokio::task::JoinHandle<()>) {
    use tokio::io::AsyncBufReadExt;
    let lines = CollectedLines::default();
    let sink = lines.clone();
    let reader = tokio::spawn(async move {
        let mut reader = tokio::io::BufReader::new(stderr).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            sink.lock().expect("lines").push(line);
        }
    });
    (lines, reader)
}
