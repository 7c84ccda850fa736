//! A private OpenSSH `sshd` on a loopback port for the SFTP tests (see
//! shared/design TEST-INFRA.md §7): a system user with a real password hash (password auth
//! works with `UsePAM no`), fresh host and client keys, `internal-sftp`. Needs root and
//! `openssh-server` (installed by `cargo xtask test`'s `prepare()`).

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const USER: &str = "dbackup-sftp";
pub const PASSWORD: &str = "sftp-Test-pass-7d1c";
pub const PASSPHRASE: &str = "key-passphrase-42";

pub struct Sshd {
    pub port: u16,
    pub dir: tempfile::TempDir,
    /// The `ssh-ed25519 AAAA…` line of the host key.
    pub host_key: String,
    /// `SHA256:…` fingerprint of the host key.
    pub host_fingerprint: String,
    /// OpenSSH private key (encrypted with [`PASSPHRASE`]) authorized for [`USER`].
    pub client_key: String,
    /// A per-test base directory (absolute, inside the user's home; not created yet).
    pub base: PathBuf,
    child: Child,
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Creates the test user (once; tests run as parallel processes, so under a file lock) and
/// gives it a real SHA-512 crypt password hash: sshd checks it itself when PAM is off.
fn ensure_user() {
    use std::os::fd::AsRawFd;
    let lock = std::fs::File::create("/tmp/dbackup-sftp-user.lock").unwrap();
    // SAFETY: flock on a file descriptor we own; released when `lock` is closed.
    assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);
    let exists = Command::new("id")
        .arg(USER)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !exists {
        run(Command::new("useradd").args(["-m", "-s", "/bin/sh", USER]));
    }
    run(Command::new("chown")
        .arg(format!("{USER}:{USER}"))
        .arg(format!("/home/{USER}")));
    let hash = run(Command::new("openssl").args(["passwd", "-6", PASSWORD]));
    run(Command::new("usermod").args(["-p", &hash, USER]));
    drop(lock);
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn keygen(path: &Path, passphrase: &str) {
    run(Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            passphrase,
            "-C",
            "dbackup-test",
            "-f",
        ])
        .arg(path));
}

impl Sshd {
    pub fn start() -> Sshd {
        assert!(
            Path::new("/usr/sbin/sshd").exists(),
            "/usr/sbin/sshd missing: apt-get install openssh-server (cargo xtask test does)"
        );
        ensure_user();
        let dir = tempfile::tempdir().unwrap();
        // sshd reads the authorized keys with the user's privileges.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        keygen(&dir.path().join("hostkey"), "");
        keygen(&dir.path().join("clientkey"), PASSPHRASE);
        let authorized = dir.path().join("authorized_keys");
        std::fs::copy(dir.path().join("clientkey.pub"), &authorized).unwrap();
        std::fs::set_permissions(
            &authorized,
            std::os::unix::fs::PermissionsExt::from_mode(0o644),
        )
        .unwrap();
        std::fs::create_dir_all("/run/sshd").unwrap();
        let port = free_port();
        let config = dir.path().join("sshd_config");
        let mut f = std::fs::File::create(&config).unwrap();
        write!(
            f,
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/hostkey\nPidFile {d}/sshd.pid\n\
             AuthorizedKeysFile {d}/authorized_keys\nPasswordAuthentication yes\n\
             KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nUsePAM no\n\
             AllowUsers {USER}\nSubsystem sftp internal-sftp\nStrictModes no\n",
            d = dir.path().display()
        )
        .unwrap();
        drop(f);
        let child = Command::new("/usr/sbin/sshd")
            .arg("-D")
            .arg("-f")
            .arg(&config)
            .arg("-E")
            .arg(dir.path().join("sshd.log"))
            .spawn()
            .unwrap();
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "sshd did not listen: {}",
                std::fs::read_to_string(dir.path().join("sshd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let host_key = std::fs::read_to_string(dir.path().join("hostkey.pub"))
            .unwrap()
            .trim()
            .to_owned();
        let host_fingerprint = run(Command::new("ssh-keygen")
            .arg("-lf")
            .arg(dir.path().join("hostkey.pub")))
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_owned();
        let client_key = std::fs::read_to_string(dir.path().join("clientkey")).unwrap();
        let suffix: [u8; 6] = dbackup_worker::format::random_bytes().unwrap();
        let base = PathBuf::from(format!("/home/{USER}/t-{}", hex::encode(suffix)));
        Sshd {
            port,
            dir,
            host_key,
            host_fingerprint,
            client_key,
            base,
            child,
        }
    }

    /// Spec with key auth (encrypted key + passphrase) and the host key line pinned.
    pub fn key_spec(&self) -> Value {
        json!({"kind": "sftp", "host": "127.0.0.1", "port": self.port, "username": USER,
               "privateKey": self.client_key, "passphrase": PASSPHRASE,
               "hostKey": self.host_key, "path": self.base})
    }

    /// Spec with password auth and the host key's SHA256 fingerprint pinned.
    pub fn password_spec(&self) -> Value {
        json!({"kind": "sftp", "host": "127.0.0.1", "port": self.port, "username": USER,
               "password": PASSWORD, "hostKey": self.host_fingerprint, "path": self.base})
    }

    /// Another ed25519 public key line (not the server's).
    pub fn other_key(&self) -> String {
        let path = self.dir.path().join("otherkey");
        keygen(&path, "");
        std::fs::read_to_string(path.with_extension("pub"))
            .unwrap()
            .trim()
            .to_owned()
    }

    /// Kills sshd and every session process it forked (as a crashed server would vanish),
    /// without waiting for anything to finish.
    pub fn kill_all(&mut self) {
        let root = self.child.id();
        let mut victims = vec![root];
        // Descendants of our sshd, found through /proc/<pid>/stat's parent pid.
        loop {
            let before = victims.len();
            for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
                let Some(pid) = entry
                    .file_name()
                    .to_str()
                    .and_then(|s| s.parse::<u32>().ok())
                else {
                    continue;
                };
                let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                    continue;
                };
                let ppid = stat
                    .rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                    .and_then(|p| p.parse::<u32>().ok());
                if ppid.is_some_and(|p| victims.contains(&p)) && !victims.contains(&pid) {
                    victims.push(pid);
                }
            }
            if victims.len() == before {
                break;
            }
        }
        for pid in victims.iter().rev() {
            // SAFETY: kill(2) on processes this test started (sshd and its children).
            unsafe {
                libc::kill(*pid as i32, libc::SIGKILL);
            }
        }
        let _ = self.child.wait();
    }

    /// Stops sshd now.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.base);
    }
}
