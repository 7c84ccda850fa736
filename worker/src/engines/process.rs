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

    /// Sends SIGKILL to the recorded process group (and any recorded later).
    pub fn kill(&self) {
        self.killed.store(true, std::sync::atomic::Ordering::SeqCst);
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
    child: Child,
    stderr: Option<JoinHandle<Vec<u8>>>,
    secrets: Vec<String>,
}

impl Process {
    /// Spawns `cmd`, records it in `slot`, and starts collecting its stderr.
    pub fn spawn(
        tool: &str,
        cmd: &mut Command,
        slot: &ChildSlot,
        secrets: Vec<String>,
    ) -> Result<Process, String> {
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
            child,
            stderr,
            secrets,
        })
    }

    /// The child's stdout (once).
    pub fn take_stdout(&mut self) -> Option<std::process::ChildStdout> {
        self.child.stdout.take()
    }

    /// The child's stdin (once).
    pub fn take_stdin(&mut self) -> Option<std::process::ChildStdin> {
        self.child.stdin.take()
    }

    /// Kills the whole process group (used when the pipeline fails).
    pub fn kill(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: see ChildSlot::kill.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }

    /// Waits for exit; `Err` carries the tool's masked stderr when it failed.
    pub fn wait(mut self, slot: &ChildSlot) -> Result<String, String> {
        drop(self.child.stdin.take());
        let status = self
            .child
            .wait()
            .map_err(|e| format!("waiting for {}: {e}", self.tool))?;
        slot.set(None);
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        let stderr = mask_secrets(String::from_utf8_lossy(&stderr).trim(), &self.secrets);
        if status.success() {
            Ok(stderr)
        } else {
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
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // A process that was neither waited for nor finished is killed, never leaked.
        if let Ok(None) = self.child.try_wait() {
            self.kill();
            let _ = self.child.wait();
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
