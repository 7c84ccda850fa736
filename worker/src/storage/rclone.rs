//! Storage through the `rclone` tool: FTP/FTPS, WebDAV, SMB, the cloud drives and any other
//! rclone backend (docs/STORAGE.md).
//!
//! Each operation is one `rclone` child: `rcat` (upload, streamed from our pipe), `moveto`
//! (commit), `cat [--offset]` (download), `lsjson` (list, stat), `deletefile`. The remote is
//! named `dbk` and defined **only in the child's environment** (`RCLONE_CONFIG_DBK_TYPE`,
//! `RCLONE_CONFIG_DBK_<OPTION>`), with `RCLONE_CONFIG=""` so that no `rclone.conf` is read or
//! written; the child's environment is otherwise the cleared one of every client tool
//! ([`tool_command`]). Options rclone stores obscured (its `IsPassword` options, read from
//! `rclone config providers`) are obscured by `rclone obscure -` reading the secret on stdin.
//! No secret is ever on a command line.
//!
//! Uploads go to `<name>.partial` (`<name>.<tag>.partial` when replacing) and are moved to the
//! final name only at commit: an interrupted upload never leaves an object under its final
//! name, and listings skip `.partial` names. Short calls are bounded by [`CALL_TIMEOUT`];
//! streams by rclone's own connect and idle timeouts.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::local::PARTIAL_SUFFIX;
use super::{validate_name, ObjectInfo, ObjectWriter, RcloneSpec, Storage};
use crate::engines::process::tool_command;
use crate::mask_secrets;

/// The oldest rclone this backend works with (the `smb` backend and `lsjson --stat`).
pub const MIN_VERSION: (u32, u32) = (1, 60);
/// The remote's name inside the child's environment.
const ENV_PREFIX: &str = "RCLONE_CONFIG_DBK_";
/// Upper bound on one short call (stat, list, move, delete, obscure).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(300);
/// Upper bound on cleaning up after a failed upload.
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(30);
/// rclone's connect timeout and its idle I/O timeout (a stalled stream fails after this).
const CONNECT_TIMEOUT: &str = "15s";
const IO_TIMEOUT: &str = "60s";
/// At most this many options (plain + secret) per remote.
pub const MAX_OPTIONS: usize = 32;
/// Longest option value (a service-account JSON fits).
pub const MAX_VALUE: usize = 16 * 1024;
/// Longest base path.
const MAX_PATH: usize = 1024;
/// Largest `lsjson` answer read (about a million objects).
const MAX_LISTING: u64 = 256 << 20;
/// Bytes of rclone's stderr kept for error messages (the tail).
const STDERR_KEEP: usize = 8 * 1024;

/// Backends refused: they reach the worker's own files (local roots are the `local` storage's
/// business) or wrap another remote string that could (`alias`, `crypt`, …); `sftp` has its
/// own native storage with a pinned host key.
const DENIED_BACKENDS: &[(&str, &str)] = &[
    (
        "local",
        "use the local storage type (it enforces the local roots)",
    ),
    ("alias", "wraps another remote"),
    ("union", "wraps other remotes"),
    ("combine", "wraps other remotes"),
    ("crypt", "wraps another remote"),
    ("chunker", "wraps another remote"),
    ("compress", "wraps another remote"),
    ("hasher", "wraps another remote"),
    ("cache", "wraps another remote"),
    ("sftp", "use the sftp storage type (it pins the host key)"),
];

/// Why an option name is refused, if it is: options that read the worker's files
/// (`*_file`, certificates), run commands, or take credentials from the worker's environment
/// or its cloud metadata service (`env_auth`).
fn denied_option(name: &str) -> Option<&'static str> {
    if name.ends_with("_file") || matches!(name, "client_cert" | "client_key" | "ca_cert") {
        return Some("reads a file on the worker's machine");
    }
    if name.contains("command") || name == "ssh" {
        return Some("runs a command on the worker's machine");
    }
    if name == "env_auth" || name == "type" {
        return Some("is not allowed");
    }
    None
}

/// Whether an option names a server to connect to (checked by the outbound rule).
fn is_target_option(name: &str) -> bool {
    matches!(name, "host" | "server" | "url" | "endpoint")
        || name.ends_with("_url")
        || name.ends_with("_endpoint")
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// Cheap checks without rclone: names, sizes, paths, and the outbound rule on every option
/// that names a server.
pub fn validate(spec: &RcloneSpec) -> io::Result<()> {
    let b = &spec.backend;
    if b.is_empty()
        || b.len() > 32
        || !b
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    {
        return Err(invalid(
            "storage.backend: must be an rclone backend type (lowercase letters and digits)".into(),
        ));
    }
    if let Some((_, why)) = DENIED_BACKENDS.iter().find(|(d, _)| d == b) {
        return Err(invalid(format!(
            "storage.backend: rclone backend {b} is not allowed: {why}"
        )));
    }
    if spec.options.len() + spec.secret_options.len() > MAX_OPTIONS {
        return Err(invalid(format!(
            "storage.options: at most {MAX_OPTIONS} options in all"
        )));
    }
    for (field, map) in [
        ("options", &spec.options),
        ("secretOptions", &spec.secret_options),
    ] {
        for (name, value) in map {
            let bad = |why: &str| invalid(format!("storage.{field}.{name}: {why}"));
            if name.is_empty()
                || name.len() > 64
                || !name
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
            {
                return Err(bad(
                    "must be an rclone option name (lowercase letters, digits, _)",
                ));
            }
            if let Some(why) = denied_option(name) {
                return Err(bad(why));
            }
            if value.len() > MAX_VALUE || value.contains('\0') {
                return Err(bad(&format!(
                    "must be at most {MAX_VALUE} bytes without NUL"
                )));
            }
            if field == "options" && spec.secret_options.contains_key(name) {
                return Err(bad("is given in options and secretOptions"));
            }
            if is_target_option(name) {
                if let Some(host) = target_host(value) {
                    dbackup_core::net::check_host(&host).map_err(bad)?;
                }
            }
        }
    }
    if spec.path.len() > MAX_PATH
        || spec.path.chars().any(char::is_control)
        || spec.path.split('/').any(|s| s == "..")
    {
        return Err(invalid(format!(
            "storage.path: must be at most {MAX_PATH} characters, without control characters or .."
        )));
    }
    Ok(())
}

/// The host of a URL (`https://host:port/…`) or of a bare `host[:port]`.
fn target_host(value: &str) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.contains("://") {
        return match url::Url::parse(value) {
            Ok(u) => u.host_str().map(|h| h.trim_matches(['[', ']']).to_owned()),
            Err(_) => Some(value.to_owned()),
        };
    }
    let host = value.split('/').next().unwrap_or(value);
    if host.starts_with('[') {
        return Some(host.split(']').next()?.trim_start_matches('[').to_owned());
    }
    if host.matches(':').count() == 1 {
        return host.split(':').next().map(str::to_owned);
    }
    Some(host.to_owned())
}

/// The rclone program found on `PATH`, its version checked once.
fn program() -> io::Result<PathBuf> {
    static FOUND: Mutex<Option<PathBuf>> = Mutex::new(None);
    if let Some(p) = FOUND.lock().ok().and_then(|g| g.clone()) {
        return Ok(p);
    }
    let path = crate::tools::find_tool("rclone", &[]).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "rclone is not installed on the worker: FTP, WebDAV, SMB and cloud-drive storage \
                 need rclone {}.{} or newer on PATH (Debian package `rclone`)",
                MIN_VERSION.0, MIN_VERSION.1
            ),
        )
    })?;
    let output = tool_command(&path)
        .arg("version")
        .env("RCLONE_CONFIG", "")
        .output()
        .map_err(|e| io::Error::other(format!("cannot run {}: {e}", path.display())))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let first = text.lines().next().unwrap_or("").trim().to_owned();
    match parse_version(&first) {
        Some(v) if v >= MIN_VERSION => {}
        Some((major, minor)) => {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "rclone {major}.{minor} at {} is too old: storage through rclone needs {}.{} or newer",
                    path.display(),
                    MIN_VERSION.0,
                    MIN_VERSION.1
                ),
            ))
        }
        None => {
            return Err(io::Error::other(format!(
                "{} does not look like rclone (`rclone version` said {first:?})",
                path.display()
            )))
        }
    }
    if let Ok(mut g) = FOUND.lock() {
        *g = Some(path.clone());
    }
    Ok(path)
}

/// `(major, minor)` of `rclone version`'s first line (`rclone v1.60.1-DEV`).
pub fn parse_version(line: &str) -> Option<(u32, u32)> {
    let v = line.strip_prefix("rclone v")?;
    let mut parts = v.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// rclone's backends: type (its `Prefix`) → option name → whether rclone stores it obscured.
type Providers = HashMap<String, HashMap<String, bool>>;

fn providers(program: &Path) -> io::Result<Arc<Providers>> {
    static CACHE: Mutex<Option<Arc<Providers>>> = Mutex::new(None);
    if let Some(p) = CACHE.lock().ok().and_then(|g| g.clone()) {
        return Ok(p);
    }
    #[derive(Deserialize)]
    struct Backend {
        #[serde(rename = "Prefix")]
        prefix: String,
        #[serde(rename = "Options", default)]
        options: Option<Vec<Opt>>,
    }
    #[derive(Deserialize)]
    struct Opt {
        #[serde(rename = "Name")]
        name: String,
        #[serde(rename = "IsPassword", default)]
        is_password: bool,
    }
    let mut cmd = tool_command(program);
    cmd.env("RCLONE_CONFIG", "").args(["config", "providers"]);
    let out = run_to_end(cmd, None, 16 << 20, CALL_TIMEOUT, &[])?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "rclone config providers failed: {}",
            last_line(&out.stderr)
        )));
    }
    let backends: Vec<Backend> = serde_json::from_slice(&out.stdout)
        .map_err(|e| io::Error::other(format!("rclone config providers: {e}")))?;
    let table: Providers = backends
        .into_iter()
        .map(|b| {
            let opts = b
                .options
                .unwrap_or_default()
                .into_iter()
                .map(|o| (o.name, o.is_password))
                .collect();
            (b.prefix, opts)
        })
        .collect();
    let table = Arc::new(table);
    if let Ok(mut g) = CACHE.lock() {
        *g = Some(table.clone());
    }
    Ok(table)
}

/// What one finished child left.
struct Finished {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: String,
}

/// Runs `cmd` to its end (killed after `timeout`), feeding `input` on stdin and keeping up to
/// `max_stdout` bytes of its stdout; stderr is masked with `secrets`.
fn run_to_end(
    mut cmd: Command,
    input: Option<&[u8]>,
    max_stdout: u64,
    timeout: Duration,
    secrets: &[String],
) -> io::Result<Finished> {
    if input.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut running = Running::spawn(cmd, secrets)?;
    if let (Some(data), Some(mut stdin)) = (input, running.child.stdin.take()) {
        // Small inputs (a password) fit in the pipe buffer: no writer thread needed.
        let _ = stdin.write_all(data);
    }
    let stdout = running.child.stdout.take().map(|out| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = out.take(max_stdout).read_to_end(&mut buf);
            buf
        })
    });
    let status = running.wait(timeout)?;
    let stdout = stdout.and_then(|h| h.join().ok()).unwrap_or_default();
    let stderr = running.stderr();
    Ok(Finished {
        status,
        stdout,
        stderr,
    })
}

/// rclone's summary of the failure: its last log line, without the date and time, with the
/// `* cause` lines rclone lists under a multi-error line appended (`…: a; * b`).
fn last_line(stderr: &str) -> String {
    let strip = |line: &str| -> String {
        let line = line.trim();
        // rclone prefixes its log lines with a date and time.
        if line.as_bytes().first().is_some_and(u8::is_ascii_digit) {
            if let Some(rest) = line.splitn(3, ' ').nth(2) {
                return rest.to_owned();
            }
        }
        line.to_owned()
    };
    let lines: Vec<String> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(strip)
        .collect();
    let Some(head) = lines.iter().rposition(|l| !l.starts_with('*')) else {
        return lines.last().cloned().unwrap_or_else(|| "no message".into());
    };
    let mut message = lines[head].clone();
    for cause in &lines[head + 1..] {
        message.push_str("; ");
        message.push_str(cause);
    }
    message.chars().take(500).collect()
}

/// A running rclone child in its own process group; killed (the whole group) and reaped on
/// drop unless it was waited for.
struct Running {
    child: Child,
    stderr: Option<JoinHandle<Vec<u8>>>,
    collected: Option<String>,
    secrets: Vec<String>,
}

impl Running {
    fn spawn(mut cmd: Command, secrets: &[String]) -> io::Result<Running> {
        let mut child = cmd
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot start rclone: {e}")))?;
        let stderr = child.stderr.take().map(|mut err| {
            std::thread::spawn(move || {
                let mut tail = Vec::new();
                let mut buf = [0u8; 4096];
                while let Ok(n) = err.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    tail.extend_from_slice(&buf[..n]);
                    if tail.len() > 2 * STDERR_KEEP {
                        tail.drain(..tail.len() - STDERR_KEEP);
                    }
                }
                tail
            })
        });
        Ok(Running {
            child,
            stderr,
            collected: None,
            secrets: secrets.to_vec(),
        })
    }

    fn kill(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: kill(2) on the child's own process group (tool_command sets
            // process_group(0)); no memory is involved.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }

    /// Waits for the exit, killing the child after `timeout`.
    fn wait(&mut self, timeout: Duration) -> io::Result<ExitStatus> {
        let deadline = Instant::now() + timeout;
        let mut pause = Duration::from_millis(2);
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                self.kill();
                let _ = self.child.wait();
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("rclone did not finish within {} s", timeout.as_secs()),
                ));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }

    /// The child's stderr, masked (once it has exited).
    fn stderr(&mut self) -> String {
        if self.collected.is_none() {
            let raw = self
                .stderr
                .take()
                .and_then(|h| h.join().ok())
                .unwrap_or_default();
            self.collected = Some(mask_secrets(
                String::from_utf8_lossy(&raw).trim(),
                &self.secrets,
            ));
        }
        self.collected.clone().unwrap_or_default()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
            let _ = self.child.wait();
        }
    }
}

/// What every call of one storage shares.
struct Inner {
    program: PathBuf,
    backend: String,
    /// `RCLONE_CONFIG_DBK_*` (obscured where rclone wants it).
    env: Vec<(String, String)>,
    /// Base path on the remote, without a trailing `/`.
    base: String,
    /// `backend` + server + base, for messages (no secrets).
    display: String,
    /// Secret values (clear and obscured) masked in every message.
    secrets: Vec<String>,
}

/// Storage on an rclone remote.
pub struct RcloneStorage {
    inner: Arc<Inner>,
}

impl RcloneStorage {
    /// Checks the spec against the installed rclone (version, backend, option names), obscures
    /// its password options and prepares the child environment. Connects to nothing: servers
    /// are reached by the first operation.
    pub fn new(spec: &RcloneSpec) -> io::Result<Self> {
        validate(spec)?;
        let program = program()?;
        let table = providers(&program)?;
        let known = table.get(&spec.backend).ok_or_else(|| {
            invalid(format!(
                "storage.backend: the worker's rclone has no backend {:?}",
                spec.backend
            ))
        })?;
        for (field, map) in [
            ("options", &spec.options),
            ("secretOptions", &spec.secret_options),
        ] {
            for name in map.keys() {
                match known.get(name) {
                    None => {
                        return Err(invalid(format!(
                            "storage.{field}.{name}: not an option of rclone backend {}",
                            spec.backend
                        )))
                    }
                    Some(true) if field == "options" => {
                        return Err(invalid(format!(
                            "storage.options.{name}: rclone treats it as a password: give it in secretOptions"
                        )))
                    }
                    Some(_) => {}
                }
            }
        }
        for (name, value) in spec.options.iter().chain(&spec.secret_options) {
            if is_target_option(name) {
                if let Some(host) = target_host(value) {
                    // Names that resolve to link-local or metadata addresses are refused, like
                    // the native backends' (unresolvable names are rclone's error to report).
                    if let Ok(addrs) = std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), 0))
                    {
                        let addrs: Vec<_> = addrs.collect();
                        crate::outbound::check_resolved(&host, &addrs)?;
                    }
                }
            }
        }
        let mut secrets: Vec<String> = spec
            .secret_options
            .values()
            .filter(|v| !v.is_empty())
            .cloned()
            .collect();
        let mut env = vec![(format!("{ENV_PREFIX}TYPE"), spec.backend.clone())];
        for (name, value) in &spec.options {
            env.push((
                format!("{ENV_PREFIX}{}", name.to_ascii_uppercase()),
                value.clone(),
            ));
        }
        for (name, value) in &spec.secret_options {
            let value = if known.get(name) == Some(&true) {
                let obscured = obscure(&program, value, &secrets)?;
                secrets.push(obscured.clone());
                obscured
            } else {
                value.clone()
            };
            env.push((format!("{ENV_PREFIX}{}", name.to_ascii_uppercase()), value));
        }
        let base = spec.path.trim_end_matches('/').to_owned();
        let server = ["url", "endpoint"]
            .iter()
            .find_map(|k| spec.options.get(*k))
            .and_then(|u| url::Url::parse(u).ok())
            .map(|mut u| {
                let _ = u.set_username("");
                let _ = u.set_password(None);
                u.set_query(None);
                u.to_string().trim_end_matches('/').to_owned()
            })
            .or_else(|| {
                let host = spec.options.get("host")?;
                Some(match spec.options.get("port") {
                    Some(port) => format!("{}://{host}:{port}", spec.backend),
                    None => format!("{}://{host}", spec.backend),
                })
            })
            .or_else(|| {
                spec.options
                    .get("account")
                    .map(|a| format!("{}://{a}", spec.backend))
            })
            .unwrap_or_else(|| format!("{}:", spec.backend));
        let display = if base.is_empty() {
            server
        } else if server.ends_with(':') || base.starts_with('/') {
            format!("{server}{base}")
        } else {
            format!("{server}/{base}")
        };
        Ok(RcloneStorage {
            inner: Arc::new(Inner {
                program,
                backend: spec.backend.clone(),
                env,
                base,
                display: mask_secrets(&display, &secrets),
                secrets,
            }),
        })
    }

    /// The environment a child gets for this remote (for tests of the mapping).
    pub fn child_env(&self) -> &[(String, String)] {
        &self.inner.env
    }
}

/// `rclone obscure -` with the secret on stdin.
fn obscure(program: &Path, value: &str, secrets: &[String]) -> io::Result<String> {
    let mut cmd = tool_command(program);
    cmd.env("RCLONE_CONFIG", "").args(["obscure", "-"]);
    let out = run_to_end(
        cmd,
        Some(value.as_bytes()),
        64 * 1024,
        CALL_TIMEOUT,
        secrets,
    )?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() || text.is_empty() {
        return Err(io::Error::other(format!(
            "rclone obscure failed: {}",
            last_line(&out.stderr)
        )));
    }
    Ok(text)
}

impl Inner {
    /// `dbk:<base>/<name>` (names are validated: relative, no `..`).
    fn remote(&self, name: &str) -> String {
        match (self.base.is_empty(), name.is_empty()) {
            (true, _) => format!("dbk:{name}"),
            (false, true) => format!("dbk:{}", self.base),
            (false, false) => format!("dbk:{}/{name}", self.base),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = tool_command(&self.program);
        cmd.env("RCLONE_CONFIG", "")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .args(["--log-level", "ERROR", "--ask-password=false"])
            .args(["--contimeout", CONNECT_TIMEOUT, "--timeout", IO_TIMEOUT])
            .args(["--retries", "1", "--low-level-retries", "2"])
            .args(args);
        cmd
    }

    /// The error of a failed call, naming what was done and rclone's reason; rclone's exit
    /// codes 3 (directory not found) and 4 (file not found) are `NotFound`.
    fn failure(&self, what: &str, status: Option<ExitStatus>, stderr: &str) -> io::Error {
        let kind = match status.and_then(|s| s.code()) {
            Some(3) | Some(4) => io::ErrorKind::NotFound,
            _ => io::ErrorKind::Other,
        };
        io::Error::new(
            kind,
            format!(
                "rclone {what} on {} ({}) failed: {}",
                self.display,
                self.backend,
                mask_secrets(&last_line(stderr), &self.secrets)
            ),
        )
    }

    fn call(&self, what: &str, args: &[&str], max_stdout: u64) -> io::Result<Vec<u8>> {
        let out = run_to_end(
            self.command(args),
            None,
            max_stdout,
            CALL_TIMEOUT,
            &self.secrets,
        )
        .map_err(|e| io::Error::new(e.kind(), format!("rclone {what} on {}: {e}", self.display)))?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(self.failure(what, Some(out.status), &out.stderr))
        }
    }

    fn stat(&self, name: &str) -> io::Result<ObjectInfo> {
        let out = self.call(
            "stat",
            &["lsjson", "--stat", "--no-mimetype", &self.remote(name)],
            1 << 20,
        )?;
        let entry: Entry = serde_json::from_slice(&out)
            .map_err(|e| io::Error::other(format!("rclone lsjson --stat: {e}")))?;
        if entry.is_dir {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{name:?} is a directory"),
            ));
        }
        Ok(entry.info(name.to_owned()))
    }

    fn exists(&self, name: &str) -> io::Result<bool> {
        match self.stat(name) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn delete(&self, name: &str) -> io::Result<()> {
        match self.call("deletefile", &["deletefile", &self.remote(name)], 1 << 20) {
            Ok(_) => Ok(()),
            Err(e)
                if e.kind() == io::ErrorKind::NotFound
                    || e.to_string().contains("doesn't exist")
                    || e.to_string().contains("not found") =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn start_upload(self: &Arc<Self>, name: &str, replace: bool) -> io::Result<RcloneWriter> {
        validate_name(name)?;
        let partial = if replace {
            let tag = hex::encode(crate::format::random_bytes::<4>()?);
            format!("{name}.{tag}{PARTIAL_SUFFIX}")
        } else {
            if self.exists(name)? {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("object {name:?} already exists"),
                ));
            }
            let partial = format!("{name}{PARTIAL_SUFFIX}");
            if self.exists(&partial)? {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("object {name:?} is being written (a {PARTIAL_SUFFIX} object exists)"),
                ));
            }
            partial
        };
        let mut cmd = self.command(&["rcat", &self.remote(&partial)]);
        cmd.stdin(Stdio::piped()).stdout(Stdio::null());
        let mut running = Running::spawn(cmd, &self.secrets)?;
        let stdin = running.child.stdin.take();
        Ok(RcloneWriter {
            inner: self.clone(),
            stdin,
            running: Some(running),
            name: name.to_owned(),
            partial,
            replace,
        })
    }
}

/// One `lsjson` entry.
#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "Path")]
    path: String,
    #[serde(rename = "Size", default)]
    size: i64,
    #[serde(rename = "ModTime", default)]
    mod_time: String,
    #[serde(rename = "IsDir", default)]
    is_dir: bool,
}

impl Entry {
    fn info(&self, name: String) -> ObjectInfo {
        let modified_unix = chrono::DateTime::parse_from_rfc3339(&self.mod_time)
            .ok()
            .and_then(|t| u64::try_from(t.timestamp()).ok())
            .unwrap_or(0);
        ObjectInfo {
            name,
            size: u64::try_from(self.size).unwrap_or(0),
            modified_unix,
        }
    }
}

impl Storage for RcloneStorage {
    fn put(&self, name: &str) -> io::Result<Box<dyn ObjectWriter>> {
        Ok(Box::new(self.inner.start_upload(name, false)?))
    }

    fn put_replace(&self, name: &str) -> io::Result<Box<dyn ObjectWriter>> {
        Ok(Box::new(self.inner.start_upload(name, true)?))
    }

    fn get(&self, name: &str) -> io::Result<Box<dyn Read + Send>> {
        self.get_from(name, 0)
    }

    fn get_from(&self, name: &str, offset: u64) -> io::Result<Box<dyn Read + Send>> {
        validate_name(name)?;
        let info = self.inner.stat(name)?;
        if offset > info.size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("object {name:?} is shorter than {offset} bytes"),
            ));
        }
        let offset = offset.to_string();
        let mut cmd = self
            .inner
            .command(&["cat", "--offset", &offset, &self.inner.remote(name)]);
        cmd.stdout(Stdio::piped());
        let mut running = Running::spawn(cmd, &self.inner.secrets)?;
        let stdout = running
            .child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("rclone cat: no stdout"))?;
        Ok(Box::new(RcloneReader {
            inner: self.inner.clone(),
            stdout,
            running: Some(running),
        }))
    }

    fn list(&self, prefix: &str) -> io::Result<Vec<ObjectInfo>> {
        let start = prefix.trim_end_matches('/');
        if !start.is_empty() {
            validate_name(start)?;
        }
        let remote = self.inner.remote(start);
        let out = match self.inner.call(
            "list",
            &["lsjson", "-R", "--files-only", "--no-mimetype", &remote],
            MAX_LISTING,
        ) {
            Ok(out) => out,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let entries: Vec<Entry> = serde_json::from_slice(&out)
            .map_err(|e| io::Error::other(format!("rclone lsjson answer: {e}")))?;
        let mut objects: Vec<ObjectInfo> = entries
            .iter()
            .filter(|e| !e.is_dir && !e.path.ends_with(PARTIAL_SUFFIX))
            .map(|e| {
                let name = if start.is_empty() {
                    e.path.clone()
                } else {
                    format!("{start}/{}", e.path)
                };
                e.info(name)
            })
            .collect();
        objects.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(objects)
    }

    fn stat(&self, name: &str) -> io::Result<ObjectInfo> {
        validate_name(name)?;
        self.inner.stat(name)
    }

    fn delete(&self, name: &str) -> io::Result<()> {
        validate_name(name)?;
        self.inner.delete(name)
    }

    fn location(&self, name: &str) -> String {
        format!("{}/{name}", self.inner.display)
    }
}

/// An upload: `rclone rcat` into the partial name, `rclone moveto` at commit.
struct RcloneWriter {
    inner: Arc<Inner>,
    stdin: Option<ChildStdin>,
    running: Option<Running>,
    name: String,
    /// Empty once committed or cleaned up.
    partial: String,
    replace: bool,
}

impl RcloneWriter {
    /// The failure of the `rcat` child (after it exited or was killed).
    fn rcat_failure(&mut self) -> io::Error {
        drop(self.stdin.take());
        let Some(mut running) = self.running.take() else {
            return io::Error::other("rclone upload already failed");
        };
        let status = running.wait(CLEANUP_TIMEOUT).ok();
        let stderr = running.stderr();
        self.inner.failure("upload", status, &stderr)
    }
}

impl Write for RcloneWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let Some(stdin) = self.stdin.as_mut() else {
            return Err(io::Error::other("rclone upload already closed or failed"));
        };
        match stdin.write(data) {
            Ok(n) => Ok(n),
            // rclone exited (the server went away, the login failed): its reason, not EPIPE.
            Err(_) => Err(self.rcat_failure()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl ObjectWriter for RcloneWriter {
    fn commit(mut self: Box<Self>) -> io::Result<()> {
        drop(self.stdin.take());
        let mut running = self
            .running
            .take()
            .ok_or_else(|| io::Error::other("rclone upload already failed"))?;
        let status = running.wait(CALL_TIMEOUT)?;
        if !status.success() {
            let stderr = running.stderr();
            return Err(self.inner.failure("upload", Some(status), &stderr));
        }
        let (from, to) = (
            self.inner.remote(&self.partial),
            self.inner.remote(&self.name),
        );
        if !self.replace && self.inner.exists(&self.name)? {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("object {:?} already exists", self.name),
            ));
        }
        // --ignore-times: a replaced sidecar of the same size and second is still moved (rclone
        // would otherwise take the two for equal and only delete the source).
        self.inner
            .call("moveto", &["moveto", "--ignore-times", &from, &to], 1 << 20)?;
        self.partial.clear();
        Ok(())
    }
}

impl Drop for RcloneWriter {
    fn drop(&mut self) {
        drop(self.stdin.take());
        if let Some(mut running) = self.running.take() {
            running.kill();
            let _ = running.wait(CLEANUP_TIMEOUT);
        }
        if self.partial.is_empty() {
            return;
        }
        // Uncommitted or failed: remove the partial (best effort; a server that is gone keeps
        // it, under its .partial name that listings skip).
        let remote = self.inner.remote(&self.partial);
        let _ = run_to_end(
            self.inner.command(&["deletefile", &remote]),
            None,
            1 << 16,
            CLEANUP_TIMEOUT,
            &self.inner.secrets,
        );
    }
}

/// A download: `rclone cat`'s stdout; its exit status is checked at the end of the stream.
struct RcloneReader {
    inner: Arc<Inner>,
    stdout: ChildStdout,
    running: Option<Running>,
}

impl Read for RcloneReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.stdout.read(buf)?;
        if n == 0 && !buf.is_empty() {
            if let Some(mut running) = self.running.take() {
                let status = running.wait(CALL_TIMEOUT)?;
                if !status.success() {
                    let stderr = running.stderr();
                    return Err(self.inner.failure("download", Some(status), &stderr));
                }
            }
        }
        Ok(n)
    }
}

/// The `RCLONE_CONFIG_DBK_*` variables of a spec before obscuring, sorted (unit tests of the
/// adapter → rclone mapping use it without rclone installed).
pub fn plain_env(spec: &RcloneSpec) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    env.insert(format!("{ENV_PREFIX}TYPE"), spec.backend.clone());
    for (name, value) in spec.options.iter().chain(&spec.secret_options) {
        env.insert(
            format!("{ENV_PREFIX}{}", name.to_ascii_uppercase()),
            value.clone(),
        );
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(v: serde_json::Value) -> RcloneSpec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn versions_parse() {
        assert_eq!(parse_version("rclone v1.60.1-DEV"), Some((1, 60)));
        assert_eq!(parse_version("rclone v1.68.2"), Some((1, 68)));
        assert_eq!(parse_version("rsync  version 3"), None);
        assert!(parse_version("rclone v1.53.3-DEV").unwrap() < MIN_VERSION);
    }

    #[test]
    fn specs_are_checked_without_rclone() {
        let ok = spec(serde_json::json!({"backend": "webdav",
            "options": {"url": "http://127.0.0.1:8080/dav", "user": "u"},
            "secretOptions": {"pass": "p"}, "path": "backups"}));
        assert!(validate(&ok).is_ok());
        let why = |v: serde_json::Value| validate(&spec(v)).unwrap_err().to_string();
        assert!(why(serde_json::json!({"backend": "local"})).starts_with("storage.backend:"));
        assert!(why(serde_json::json!({"backend": "crypt"})).contains("wraps"));
        assert!(why(serde_json::json!({"backend": "Web DAV"})).starts_with("storage.backend:"));
        assert!(why(serde_json::json!({"backend": "webdav",
            "options": {"bearer_token_command": "cat /etc/shadow"}}))
        .contains("storage.options.bearer_token_command: runs a command"));
        assert!(why(serde_json::json!({"backend": "drive",
            "options": {"service_account_file": "/etc/key.json"}}))
        .contains("reads a file"));
        assert!(
            why(serde_json::json!({"backend": "s3", "options": {"env_auth": "true"}}))
                .contains("storage.options.env_auth")
        );
        assert!(why(serde_json::json!({"backend": "webdav",
            "options": {"url": "http://169.254.169.254/latest"}}))
        .starts_with("storage.options.url:"));
        assert!(why(serde_json::json!({"backend": "ftp",
            "options": {"host": "169.254.169.254"}}))
        .starts_with("storage.options.host:"));
        assert!(why(serde_json::json!({"backend": "ftp",
            "options": {"pass": "a"}, "secretOptions": {"pass": "b"}}))
        .contains("options and secretOptions"));
        assert!(
            why(serde_json::json!({"backend": "ftp", "path": "a/../../b"}))
                .starts_with("storage.path:")
        );
        let many: serde_json::Map<String, serde_json::Value> = (0..40)
            .map(|i| (format!("o{i}"), serde_json::json!("v")))
            .collect();
        assert!(why(serde_json::json!({"backend": "ftp", "options": many}))
            .starts_with("storage.options: at most"));
        assert!(why(serde_json::json!({"backend": "ftp",
            "secretOptions": {"pass": "x".repeat(MAX_VALUE + 1)}}))
        .starts_with("storage.secretOptions.pass:"));
    }

    #[test]
    fn target_hosts() {
        assert_eq!(
            target_host("https://h.example:8443/dav").as_deref(),
            Some("h.example")
        );
        assert_eq!(target_host("h.example:21").as_deref(), Some("h.example"));
        assert_eq!(target_host("[::1]:21").as_deref(), Some("::1"));
        assert_eq!(
            target_host("s3.example.com/x").as_deref(),
            Some("s3.example.com")
        );
        assert_eq!(target_host(""), None);
    }

    #[test]
    fn plain_env_names_every_option() {
        let env = plain_env(&spec(serde_json::json!({"backend": "smb",
            "options": {"host": "nas", "user": "u", "domain": "WORKGROUP"},
            "secretOptions": {"pass": "pw"}, "path": "share/dir"})));
        assert_eq!(
            env.into_iter().collect::<Vec<_>>(),
            [
                (
                    "RCLONE_CONFIG_DBK_DOMAIN".to_owned(),
                    "WORKGROUP".to_owned()
                ),
                ("RCLONE_CONFIG_DBK_HOST".to_owned(), "nas".to_owned()),
                ("RCLONE_CONFIG_DBK_PASS".to_owned(), "pw".to_owned()),
                ("RCLONE_CONFIG_DBK_TYPE".to_owned(), "smb".to_owned()),
                ("RCLONE_CONFIG_DBK_USER".to_owned(), "u".to_owned()),
            ]
        );
    }

    #[test]
    fn last_lines_drop_the_timestamp() {
        assert_eq!(
            last_line("2026/12/07 16:19:45 Failed to cat: directory not found\n"),
            "Failed to cat: directory not found"
        );
        assert_eq!(last_line("plain message"), "plain message");
        assert_eq!(
            last_line("2026/12/07 16:19:45 ERROR : x: upload failed\n2026/12/07 16:19:45 Failed to rcat with 2 errors:\n\t* EOF\n"),
            "Failed to rcat with 2 errors:; * EOF"
        );
        assert_eq!(last_line(""), "no message");
    }
}
