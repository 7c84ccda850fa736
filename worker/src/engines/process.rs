//! Child processes of client tools: cleared environment plus an allow-list, own process group
//! (so cancel can kill the whole group), stderr captured (bounded) and masked, private temp
//! files.

use std::ffi::OsString;
use std::io::{self, Read};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::thread::JoinHandle;

use crate::mask_secrets;

/// Bytes of a tool's stderr kept for error messages (the tail).
const STDERR_KEEP: usize = 16 * 1024;

/// The only variables of the worker's environment a client tool inherits: the search path,
/// home (client files such as `~/.postgresql/root.crt`), the temp dir, the time zone and the
/// TLS trust store. Everything else stays behind — the host's `SPIN_VARIABLE_*` secrets, the
/// worker's own settings, a stray `PGPASSFILE` or `MYSQL_PWD`; what a tool needs (its password,
/// `PGSSLMODE`, …) its engine sets deliberately.
const INHERITED: &[&str] = &[
    "PATH",
    "HOME",
    "TMPDIR",
    "TZ",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

/// The inherited part of a client tool's environment ([`INHERITED`]).
pub fn inherited_env() -> Vec<(OsString, OsString)> {
    INHERITED
        .iter()
        .filter_map(|k| std::env::var_os(k).map(|v| (OsString::from(k), v)))
        .collect()
}

/// A command for a client tool: cleared environment plus [`inherited_env`] and `LC_ALL=C`,
/// stdin closed, stdout/stderr piped, its own process group.
pub fn tool_command(program: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .envs(inherited_env())
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    cmd
}

/// Where a task records its running child so that cancel can kill the process group.
#[derive(Debug, Default)]
pub struct ChildSlot {
    pgid: Mutex<Option<i32>>,
    killed: std::sync::atomic::AtomicBool,
    /// While set, tools run on this SSH host instead of locally ([`ChildSlot::with_remote`]).
    remote: Mutex<Option<crate::ssh::Login>>,
    /// The running remote command's connection (closed by [`ChildSlot::kill`]).
    remote_abort: Mutex<Option<tokio::task::AbortHandle>>,
}

impl ChildSlot {
    fn set(&self, pid: Option<u32>) {
        let pgid = pid.and_then(|p| i32::try_from(p).ok());
        if let Ok(mut slot) = self.pgid.lock() {
            *slot = pgid;
        }
        // A cancel that arrived before the child existed still applies.
        if pgid.is_some() && self.killed.load(std::sync::atomic::Ordering::SeqCst) {
            self.kill();
        }
    }

    /// Runs `f` with every tool started through this slot running on the SSH host `login`.
    pub fn with_remote<T>(&self, login: &crate::ssh::Login, f: impl FnOnce() -> T) -> T {
        if let Ok(mut r) = self.remote.lock() {
            *r = Some(login.clone());
        }
        let out = f();
        if let Ok(mut r) = self.remote.lock() {
            *r = None;
        }
        out
    }

    fn remote(&self) -> Option<crate::ssh::Login> {
        self.remote.lock().ok().and_then(|r| r.clone())
    }

    /// The SSH host tools run on now, if any.
    pub fn remote_login(&self) -> Option<crate::ssh::Login> {
        self.remote()
    }

    /// Whether tools started now run on an SSH host.
    pub fn is_remote(&self) -> bool {
        self.remote.lock().is_ok_and(|r| r.is_some())
    }

    fn set_remote_abort(&self, abort: Option<tokio::task::AbortHandle>) {
        let set = abort.is_some();
        if let Ok(mut slot) = self.remote_abort.lock() {
            *slot = abort;
        }
        if set && self.killed.load(std::sync::atomic::Ordering::SeqCst) {
            self.kill();
        }
    }

    /// Sends SIGKILL to the recorded process group (and any recorded later); closes the
    /// connection of a remote command.
    pub fn kill(&self) {
        self.killed.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Ok(slot) = self.remote_abort.lock() {
            if let Some(abort) = &*slot {
                abort.abort();
            }
        }
        if let Ok(slot) = self.pgid.lock() {
            if let Some(pgid) = *slot {
                // SAFETY: kill(2) with a negative pid signals that process group; no memory
                // is involved. The group is the child's own (process_group(0)).
                unsafe {
                    libc::kill(-pgid, libc::SIGKILL);
                }
            }
        }
    }

    /// Whether [`ChildSlot::kill`] was called.
    pub fn was_killed(&self) -> bool {
        self.killed.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A running client tool.
pub struct Process {
    /// Tool name for messages.
    pub tool: String,
    child: Kid,
    stderr: Option<JoinHandle<Vec<u8>>>,
    secrets: Vec<String>,
}

/// A local child process or a command on an SSH host.
enum Kid {
    Local(Child),
    Remote(crate::ssh::RemoteChild),
}

/// Environment variables that carry a tool's password: over SSH they travel on stdin.
const SECRET_ENV: &[&str] = &["PGPASSWORD", "MYSQL_PWD", "REDISCLI_AUTH"];

/// Starts `cmd` on the SSH host `login`: the program by name (a version-matched PostgreSQL
/// tool under `/usr/lib/postgresql/` by the same path), its arguments and non-secret settings
/// quoted into the remote command line, its password variables sent as the first lines of
/// stdin and exported by a fixed wrapper (see [`crate::ssh::remote_command`]). A MariaDB
/// `--defaults-extra-file` (a local file) becomes `MYSQL_PWD` the same way.
fn spawn_remote(
    tool: &str,
    cmd: &Command,
    slot: &ChildSlot,
    secrets: Vec<String>,
    login: &crate::ssh::Login,
) -> Result<Process, String> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let program = if program.starts_with("/usr/lib/postgresql/") {
        program
    } else {
        Path::new(&program)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or(program)
    };
    let mut args = Vec::new();
    let mut secret_vals: Vec<(String, String)> = Vec::new();
    for arg in cmd.get_args() {
        let arg = arg.to_string_lossy();
        if let Some(file) = arg.strip_prefix("--defaults-extra-file=") {
            let text = std::fs::read_to_string(file).map_err(|e| format!("defaults file: {e}"))?;
            if let Some(password) = secrets.first() {
                if text.contains("password=") {
                    secret_vals.push(("MYSQL_PWD".into(), password.clone()));
                }
            }
            continue;
        }
        args.push(arg.into_owned());
    }
    let mut env = Vec::new();
    for (k, v) in cmd.get_envs() {
        let (Some(v), k) = (v, k.to_string_lossy().into_owned()) else {
            continue;
        };
        let v = v.to_string_lossy().into_owned();
        if SECRET_ENV.contains(&k.as_str()) || secrets.contains(&v) {
            secret_vals.push((k, v));
        } else if !INHERITED.contains(&k.as_str()) {
            env.push((k, v));
        }
    }
    let mut prelude = Vec::new();
    for (_, v) in &secret_vals {
        if v.contains('\n') || v.contains('\r') || v.contains('\0') {
            return Err(format!(
                "{tool} over SSH: the password must not contain a line break"
            ));
        }
        prelude.extend_from_slice(v.as_bytes());
        prelude.push(b'\n');
    }
    let names: Vec<String> = secret_vals.into_iter().map(|(k, _)| k).collect();
    let line = crate::ssh::remote_command(&program, &args, &env, &names);
    let child = crate::ssh::RemoteChild::spawn(login, tool, line, prelude)
        .map_err(|e| format!("cannot start {tool} over SSH: {e}"))?;
    slot.set_remote_abort(Some(child.abort_handle()));
    Ok(Process {
        tool: tool.to_owned(),
        child: Kid::Remote(child),
        stderr: None,
        secrets,
    })
}

impl Process {
    /// Spawns `cmd`, records it in `slot`, and starts collecting its stderr. While the slot
    /// names an SSH host ([`ChildSlot::with_remote`]) the tool runs there.
    pub fn spawn(
        tool: &str,
        cmd: &mut Command,
        slot: &ChildSlot,
        secrets: Vec<String>,
    ) -> Result<Process, String> {
        if let Some(login) = slot.remote() {
            return spawn_remote(tool, cmd, slot, secrets, &login);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {tool}: {e}"))?;
        slot.set(Some(child.id()));
        {
            use std::os::fd::AsRawFd;
            if let Some(out) = &child.stdout {
                grow_pipe(out.as_raw_fd());
            }
            if let Some(input) = &child.stdin {
                grow_pipe(input.as_raw_fd());
            }
        }
        let stderr = child.stderr.take().map(|mut err| {
            std::thread::spawn(move || {
                let mut tail = Vec::new();
                let mut buf = [0u8; 8192];
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
        Ok(Process {
            tool: tool.to_owned(),
            child: Kid::Local(child),
            stderr,
            secrets,
        })
    }

    /// The child's stdout (once).
    pub fn take_stdout(&mut self) -> Option<Box<dyn Read + Send>> {
        match &mut self.child {
            Kid::Local(c) => c.stdout.take().map(|o| Box::new(o) as Box<dyn Read + Send>),
            Kid::Remote(r) => r.take_stdout(),
        }
    }

    /// The child's stdin (once).
    pub fn take_stdin(&mut self) -> Option<Box<dyn std::io::Write + Send>> {
        match &mut self.child {
            Kid::Local(c) => c
                .stdin
                .take()
                .map(|i| Box::new(i) as Box<dyn std::io::Write + Send>),
            Kid::Remote(r) => r.take_stdin(),
        }
    }

    /// Kills the whole process group (used when the pipeline fails); a remote command's
    /// connection is closed (the server ends the command).
    pub fn kill(&mut self) {
        match &mut self.child {
            Kid::Local(c) => {
                if let Ok(pid) = i32::try_from(c.id()) {
                    // SAFETY: see ChildSlot::kill.
                    unsafe {
                        libc::kill(-pid, libc::SIGKILL);
                    }
                }
            }
            Kid::Remote(r) => r.kill(),
        }
    }

    /// Waits for exit; `Err` carries the tool's masked stderr when it failed.
    pub fn wait(mut self, slot: &ChildSlot) -> Result<String, String> {
        let (status, stderr) = match &mut self.child {
            Kid::Local(child) => {
                drop(child.stdin.take());
                let status = child
                    .wait()
                    .map_err(|e| format!("waiting for {}: {e}", self.tool))?;
                slot.set(None);
                let stderr = self
                    .stderr
                    .take()
                    .and_then(|h| h.join().ok())
                    .unwrap_or_default();
                (
                    if status.success() {
                        Ok(())
                    } else {
                        Err(status.to_string())
                    },
                    stderr,
                )
            }
            Kid::Remote(r) => {
                let (end, stderr) = r.wait();
                slot.set_remote_abort(None);
                let status = match end {
                    Ok(crate::ssh::RemoteEnd::Exit(0)) => Ok(()),
                    Ok(crate::ssh::RemoteEnd::Exit(n)) => {
                        Err(format!("exit status: {n}, over SSH"))
                    }
                    Ok(crate::ssh::RemoteEnd::Signal(s)) => Err(format!("signal {s}, over SSH")),
                    Err(e) => {
                        let stderr =
                            mask_secrets(String::from_utf8_lossy(&stderr).trim(), &self.secrets);
                        let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
                        return Err(format!(
                            "{} over SSH: {e}{}",
                            self.tool,
                            last.map(|l| format!(
                                " (last stderr line: {})",
                                super::truncate(l, 300)
                            ))
                            .unwrap_or_default()
                        ));
                    }
                };
                (status, stderr)
            }
        };
        let stderr = mask_secrets(String::from_utf8_lossy(&stderr).trim(), &self.secrets);
        if let Err(status) = status {
            let last = stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("no message");
            Err(format!(
                "{} failed ({status}): {}",
                self.tool,
                super::truncate(last, 500)
            ))
        } else {
            Ok(stderr)
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // A process that was neither waited for nor finished is killed, never leaked.
        match &mut self.child {
            Kid::Local(child) => {
                if let Ok(None) = child.try_wait() {
                    if let Ok(pid) = i32::try_from(child.id()) {
                        // SAFETY: see ChildSlot::kill.
                        unsafe {
                            libc::kill(-pid, libc::SIGKILL);
                        }
                    }
                    let _ = child.wait();
                }
            }
            Kid::Remote(_) => {} // RemoteChild closes its connection on drop
        }
    }
}

/// Pipe capacity asked for the tools' data pipes: Linux's unprivileged maximum
/// (`/proc/sys/fs/pipe-max-size`), so a tool keeps writing while the pipeline is busy with a
/// block instead of stalling on a full 64 KiB pipe (and stalling its server in turn).
const PIPE_SIZE: i32 = 1 << 20;

/// Grows a pipe's buffer to [`PIPE_SIZE`]; best effort (the default stays on failure).
fn grow_pipe(fd: i32) {
    // SAFETY: fcntl(2) F_SETPIPE_SZ on a pipe descriptor the caller owns; no memory involved.
    unsafe {
        libc::fcntl(fd, libc::F_SETPIPE_SZ, PIPE_SIZE);
    }
}

/// Runs a tool to completion with `input` on stdin; returns its stdout.
pub fn run_with_input(
    tool: &str,
    cmd: &mut Command,
    input: &[u8],
    slot: &ChildSlot,
    secrets: Vec<String>,
) -> Result<String, String> {
    cmd.stdin(Stdio::piped());
    let mut process = Process::spawn(tool, cmd, slot, secrets.clone())?;
    let stdin = process.take_stdin();
    let mut stdout = process.take_stdout();
    let writer = std::thread::spawn({
        let input = input.to_vec();
        move || {
            if let Some(mut stdin) = stdin {
                use std::io::Write;
                let _ = stdin.write_all(&input);
            }
        }
    });
    let mut out = Vec::new();
    if let Some(stdout) = &mut stdout {
        let _ = stdout.take(1 << 20).read_to_end(&mut out);
    }
    let _ = writer.join();
    process.wait(slot)?;
    Ok(mask_secrets(&String::from_utf8_lossy(&out), &secrets))
}

/// A private 0700 directory for secret or temporary files; removed on drop.
pub struct PrivateDir {
    path: PathBuf,
}

impl PrivateDir {
    /// Creates a fresh directory under the system temp dir.
    pub fn new() -> io::Result<Self> {
        let random: [u8; 8] = crate::format::random_bytes()?;
        let path = std::env::temp_dir().join(format!("dbackup-worker-{}", hex::encode(random)));
        std::fs::DirBuilder::new().mode(0o700).create(&path)?;
        Ok(PrivateDir { path })
    }

    /// The directory path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes a new 0600 file in the directory and returns its path.
    pub fn write_secret_file(&self, name: &str, contents: &[u8]) -> io::Result<PathBuf> {
        use std::io::Write;
        let path = self.path.join(name);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        file.write_all(contents)?;
        Ok(path)
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// First line of `tool --version`, if the tool runs.
pub fn tool_version(program: &Path) -> Option<String> {
    let output = tool_command(program).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines().next().map(|l| l.trim().to_owned())
}
