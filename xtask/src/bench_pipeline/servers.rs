//! The storage servers of the pipeline bench, on loopback ports, each serving a directory under
//! the bench's work directory and killed on drop: OpenSSH `sshd` (SFTP, root by key),
//! `rclone serve webdav` (htpasswd), pyftpdlib (plain FTP) and `smbd` (a private smb.conf and
//! passdb). The same servers the tests start (worker/tests/sftp.rs, rclone_storage.rs); each
//! returns the worker's storage spec for it.

use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{free_port, Killed};

const DAV_PASS: &str = "bench-dav-5e1";
const FTP_PASS: &str = "bench-ftp-77a";
const SMB_PASS: &str = "bench-smb-3c2";
/// The Unix account smbd maps the share's user to (the tests' one).
const SMB_USER: &str = "dbackup-smb";

fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd.output().with_context(|| format!("{cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// `s` as a JSON string literal (xtask has no serde_json).
fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn require(path: &str, package: &str) -> Result<()> {
    if !Path::new(path).exists() {
        bail!("{path} is missing: apt-get install {package} (cargo xtask test installs it)");
    }
    Ok(())
}

/// Spawns `cmd` (output to `dir/<name>.log`) and waits until `port` accepts connections.
fn spawn(mut cmd: Command, port: u16, dir: &Path, name: &str) -> Result<Killed> {
    let log = dir.join(format!("{name}.log"));
    let out = std::fs::File::create(&log)?;
    let child = cmd
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .spawn()
        .with_context(|| format!("starting {name}"))?;
    let server = Killed(child);
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > Duration::from_secs(30) {
            bail!(
                "{name} did not listen on {port}: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(server)
}

/// sshd with a fresh host key; root logs in with a fresh client key; `internal-sftp`.
pub fn sftp(work: &Path) -> Result<(Killed, String)> {
    require("/usr/sbin/sshd", "openssh-server")?;
    let dir = work.join("sshd");
    std::fs::create_dir_all(&dir)?;
    for name in ["hostkey", "clientkey"] {
        output(
            Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", "bench", "-f"])
                .arg(dir.join(name)),
        )?;
    }
    std::fs::copy(dir.join("clientkey.pub"), dir.join("authorized_keys"))?;
    std::fs::create_dir_all("/run/sshd")?;
    let port = free_port()?;
    let config = dir.join("sshd_config");
    let mut f = std::fs::File::create(&config)?;
    write!(
        f,
        "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/hostkey\nPidFile {d}/sshd.pid\n\
         AuthorizedKeysFile {d}/authorized_keys\nPasswordAuthentication no\n\
         KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nUsePAM no\n\
         PermitRootLogin prohibit-password\nAllowUsers root\nStrictModes no\n\
         Subsystem sftp internal-sftp\n",
        d = dir.display()
    )?;
    drop(f);
    let mut cmd = Command::new("/usr/sbin/sshd");
    cmd.arg("-D").arg("-f").arg(&config).arg("-e");
    let server = spawn(cmd, port, &dir, "sshd")?;
    let spec = format!(
        r#"{{"kind": "sftp", "host": "127.0.0.1", "port": {port}, "username": "root", "privateKey": {}, "hostKey": {}, "path": {}}}"#,
        json_str(&std::fs::read_to_string(dir.join("clientkey"))?),
        json_str(std::fs::read_to_string(dir.join("hostkey.pub"))?.trim()),
        json_str(&work.join("sftp-root").to_string_lossy()),
    );
    Ok((server, spec))
}

/// `rclone serve webdav` on `work/dav`, user `bench` from an htpasswd file.
pub fn webdav(work: &Path) -> Result<(Killed, String)> {
    require("/usr/bin/rclone", "rclone")?;
    let dir = work.join("webdav");
    let root = dir.join("root");
    std::fs::create_dir_all(&root)?;
    let hash = output(Command::new("openssl").args(["passwd", "-apr1", DAV_PASS]))?;
    let htpasswd = dir.join("htpasswd");
    std::fs::write(&htpasswd, format!("bench:{hash}\n"))?;
    let port = free_port()?;
    let mut cmd = Command::new("rclone");
    cmd.env("RCLONE_CONFIG", "")
        .args(["serve", "webdav"])
        .arg(&root)
        .args(["--addr", &format!("127.0.0.1:{port}"), "--htpasswd"])
        .arg(&htpasswd);
    let server = spawn(cmd, port, &dir, "webdav")?;
    let spec = format!(
        r#"{{"kind": "rclone", "backend": "webdav", "options": {{"url": "http://127.0.0.1:{port}/", "vendor": "other", "user": "bench"}}, "secretOptions": {{"pass": "{DAV_PASS}"}}, "path": "backups"}}"#
    );
    Ok((server, spec))
}

/// pyftpdlib (Debian's python3-pyftpdlib), plain FTP, user `bench`.
pub fn ftp(work: &Path) -> Result<(Killed, String)> {
    require(
        "/usr/lib/python3/dist-packages/pyftpdlib/__init__.py",
        "python3-pyftpdlib",
    )?;
    let dir = work.join("ftp");
    let root = dir.join("root");
    std::fs::create_dir_all(&root)?;
    let script = dir.join("ftpd.py");
    std::fs::write(
        &script,
        r#"import sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer
port, root, pw = int(sys.argv[1]), sys.argv[2], open(sys.argv[3]).read().strip()
auth = DummyAuthorizer()
auth.add_user("bench", pw, root, perm="elradfmwMT")
FTPHandler.authorizer = auth
FTPServer(("127.0.0.1", port), FTPHandler).serve_forever()
"#,
    )?;
    let pwfile = dir.join("password");
    std::fs::write(&pwfile, FTP_PASS)?;
    let port = free_port()?;
    let mut cmd = Command::new("/usr/bin/python3");
    cmd.arg(&script)
        .arg(port.to_string())
        .arg(&root)
        .arg(&pwfile);
    let server = spawn(cmd, port, &dir, "ftpd")?;
    // What the ftp adapter type maps to (shared/adapters worker_spec): LIST instead of MLSD.
    let spec = format!(
        r#"{{"kind": "rclone", "backend": "ftp", "options": {{"host": "127.0.0.1", "port": "{port}", "user": "bench", "disable_mlsd": "true"}}, "secretOptions": {{"pass": "{FTP_PASS}"}}, "path": "backups"}}"#
    );
    Ok((server, spec))
}

/// smbd with a private smb.conf, passdb and share `backups` on `work/smb/share`.
pub fn smb(work: &Path) -> Result<(Killed, String)> {
    require("/usr/sbin/smbd", "samba")?;
    require("/usr/bin/smbpasswd", "samba-common-bin")?;
    let exists = Command::new("id")
        .arg(SMB_USER)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !exists {
        output(Command::new("useradd").args(["-M", "-s", "/usr/sbin/nologin", SMB_USER]))?;
    }
    let d = work.join("smb");
    for sub in [
        "private", "lock", "state", "cache", "pid", "ncalrpc", "share",
    ] {
        std::fs::create_dir_all(d.join(sub))?;
    }
    let port = free_port()?;
    let conf = d.join("smb.conf");
    std::fs::write(
        &conf,
        format!(
            "[global]\n  smb ports = {port}\n  bind interfaces only = yes\n  interfaces = 127.0.0.1\n\
             \x20 private dir = {d}/private\n  lock directory = {d}/lock\n  state directory = {d}/state\n\
             \x20 cache directory = {d}/cache\n  pid directory = {d}/pid\n  ncalrpc dir = {d}/ncalrpc\n\
             \x20 log file = {d}/log.smbd\n  passdb backend = tdbsam:{d}/private/passdb.tdb\n\
             \x20 server role = standalone server\n  map to guest = never\n  load printers = no\n\
             \x20 printcap name = /dev/null\n  disable spoolss = yes\n  disable netbios = yes\n\
             \x20 server min protocol = SMB2\n\
             [backups]\n  path = {d}/share\n  read only = no\n  force user = root\n  valid users = {SMB_USER}\n",
            d = d.display()
        ),
    )?;
    let mut add = Command::new("smbpasswd")
        .arg("-c")
        .arg(&conf)
        .args(["-s", "-a", SMB_USER])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
    add.stdin
        .take()
        .context("smbpasswd stdin")?
        .write_all(format!("{SMB_PASS}\n{SMB_PASS}\n").as_bytes())?;
    if !add.wait()?.success() {
        bail!("smbpasswd -a failed");
    }
    let mut cmd = Command::new("smbd");
    cmd.args(["--foreground", "--no-process-group", "--debug-stdout", "-s"])
        .arg(&conf);
    let server = spawn(cmd, port, &d, "smbd")?;
    let spec = format!(
        r#"{{"kind": "rclone", "backend": "smb", "options": {{"host": "127.0.0.1", "port": "{port}", "user": "{SMB_USER}"}}, "secretOptions": {{"pass": "{SMB_PASS}"}}, "path": "backups/bench"}}"#
    );
    Ok((server, spec))
}
