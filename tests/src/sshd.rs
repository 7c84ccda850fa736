//! A private OpenSSH `sshd -D` on a free loopback port for the dumps-over-SSH tests
//! (tests/tests/ssh_journey.rs, the browser test in ui_browser.rs): a fresh ed25519 host key,
//! root may log in with a fresh client key only. Needs root and `openssh-server` (installed by
//! `cargo xtask test`); panics naming what is missing. Killed on drop.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub struct Sshd {
    child: Child,
    pub port: u16,
    /// The `ssh-ed25519 AAAA…` line of the host key (what a source pins as `hostKey`).
    pub host_key: String,
    /// The OpenSSH private key (no passphrase) authorized for root.
    pub client_key: String,
    /// The private key's file.
    pub client_key_path: PathBuf,
    /// sshd's log (`-E`): "Accepted publickey for root" per login.
    pub log: PathBuf,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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

impl Sshd {
    /// Starts sshd with its keys and config in `dir` (a directory the caller keeps).
    pub fn start(dir: &Path) -> Sshd {
        assert!(
            Path::new("/usr/sbin/sshd").exists(),
            "/usr/sbin/sshd missing: apt-get install openssh-server (cargo xtask test does)"
        );
        for name in ["hostkey", "clientkey"] {
            run(Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", "dbackup-test", "-f"])
                .arg(dir.join(name)));
        }
        std::fs::copy(dir.join("clientkey.pub"), dir.join("authorized_keys")).expect("copy");
        std::fs::create_dir_all("/run/sshd").expect("/run/sshd");
        let port = crate::free_port();
        let config = dir.join("sshd_config");
        let mut f = std::fs::File::create(&config).expect("config");
        write!(
            f,
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/hostkey\nPidFile {d}/sshd.pid\n\
             AuthorizedKeysFile {d}/authorized_keys\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nUsePAM no\n\
             PermitRootLogin prohibit-password\nAllowUsers root\nStrictModes no\n",
            d = dir.display()
        )
        .expect("write");
        drop(f);
        let log = dir.join("sshd.log");
        let child = Command::new("/usr/sbin/sshd")
            .arg("-D")
            .arg("-f")
            .arg(&config)
            .arg("-E")
            .arg(&log)
            .spawn()
            .expect("sshd");
        let sshd = Sshd {
            child,
            port,
            host_key: std::fs::read_to_string(dir.join("hostkey.pub"))
                .expect("host key")
                .trim()
                .to_owned(),
            client_key: std::fs::read_to_string(dir.join("clientkey")).expect("client key"),
            client_key_path: dir.join("clientkey"),
            log,
        };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "sshd did not listen: {}",
                std::fs::read_to_string(&sshd.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        sshd
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}
