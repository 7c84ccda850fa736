//! The rclone storage backend against real servers on loopback, started here: WebDAV
//! (`rclone serve webdav` with an htpasswd user), FTP and explicit FTPS (pyftpdlib from Debian's
//! `python3-pyftpdlib`, a self-signed certificate) and SMB (Debian's `smbd` with a private
//! smb.conf, passdb and share in a temp dir, on a free port). For each: upload → list →
//! download (whole and from an offset) → delete; listing past 1,000 objects; a server stopped
//! mid-upload fails with rclone's reason and leaves no object under the final name; no
//! secret on any process's command line while rclone runs. A missing server binary fails the
//! test. Needs root for smbd (`cargo xtask test` runs as root and installs the packages).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dbackup_worker::storage::{self, Storage, StorageSpec};
use serde_json::{json, Value};

const DAV_PASS: &str = "dav-Secret-51c0e";
const FTP_PASS: &str = "ftp-Secret-8a2f1";
const SMB_PASS: &str = "smb-Secret-3d9b7";
const SMB_USER: &str = "dbackup-smb";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn require(program: &str) -> PathBuf {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|d| d.join(program))
        .find(|p| p.is_file());
    found.unwrap_or_else(|| {
        panic!("{program} is missing: apt-get install rclone samba python3-pyftpdlib (cargo xtask test does)")
    })
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

/// A server this test started: killed and reaped on drop.
struct Server {
    child: Option<Child>,
    /// What the server serves, on disk.
    root: PathBuf,
    dir: tempfile::TempDir,
    log: PathBuf,
}

impl Server {
    fn spawn(mut cmd: Command, port: u16, root: PathBuf, dir: tempfile::TempDir) -> Server {
        let log = dir.path().join("server.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
        let server = Server {
            child: Some(child),
            root,
            dir,
            log,
        };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "server did not listen on {port}: {}",
                std::fs::read_to_string(&server.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `rclone serve webdav` on a temp dir, user `davuser` from an htpasswd file (the password is
/// on no command line).
fn webdav() -> (Server, Value) {
    let rclone = require("rclone");
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("dav");
    std::fs::create_dir(&root).unwrap();
    let hash = run(Command::new("openssl").args(["passwd", "-apr1", DAV_PASS]));
    let htpasswd = dir.path().join("htpasswd");
    std::fs::write(&htpasswd, format!("davuser:{hash}\n")).unwrap();
    let port = free_port();
    let mut cmd = Command::new(rclone);
    cmd.env("RCLONE_CONFIG", "")
        .args(["serve", "webdav"])
        .arg(&root)
        // No directory cache: the listing test writes objects on the server's disk directly.
        .args(["--dir-cache-time", "0s"])
        .args(["--addr", &format!("127.0.0.1:{port}"), "--htpasswd"])
        .arg(&htpasswd);
    let server = Server::spawn(cmd, port, root, dir);
    let spec = json!({"kind": "rclone", "backend": "webdav",
        "options": {"url": format!("http://127.0.0.1:{port}/"), "vendor": "other", "user": "davuser"},
        "secretOptions": {"pass": DAV_PASS}, "path": "backups"});
    (server, spec)
}

/// pyftpdlib (Debian's python3) on a temp dir: plain FTP (`tls` "none"), explicit FTPS (AUTH
/// TLS) or implicit FTPS (TLS from the first byte: pyftpdlib has no such mode, so a handler
/// that starts the TLS handshake on connect), TLS required on both channels, a self-signed
/// certificate.
fn ftp(tls: &str) -> (Server, Value) {
    let explicit_tls = tls != "none";
    let python = PathBuf::from("/usr/bin/python3");
    let has_lib = Command::new(&python)
        .args(["-c", "import pyftpdlib"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        has_lib,
        "/usr/bin/python3 cannot import pyftpdlib: apt-get install python3-pyftpdlib (cargo xtask test does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ftp");
    std::fs::create_dir(&root).unwrap();
    let script = dir.path().join("ftpd.py");
    std::fs::write(
        &script,
        r#"import sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler, TLS_FTPHandler
from pyftpdlib.servers import FTPServer
port, root, pwfile, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
user, pw = open(pwfile).read().strip().split(":", 1)
auth = DummyAuthorizer()
auth.add_user(user, pw, root, perm="elradfmwMT")
class Implicit(TLS_FTPHandler):
    def handle(self):
        self.secure_connection(self.ssl_context)
        self._pbsz = True
        TLS_FTPHandler.handle(self)
if mode in ("explicit", "implicit"):
    handler = TLS_FTPHandler if mode == "explicit" else Implicit
    handler.certfile, handler.keyfile = sys.argv[5], sys.argv[6]
    handler.tls_control_required = True
    handler.tls_data_required = True
else:
    handler = FTPHandler
handler.authorizer = auth
FTPServer(("127.0.0.1", port), handler).serve_forever()
"#,
    )
    .unwrap();
    let pwfile = dir.path().join("users");
    std::fs::write(&pwfile, format!("ftpuser:{FTP_PASS}\n")).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    if explicit_tls {
        run(Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args(["-subj", "/CN=127.0.0.1", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert));
    }
    let port = free_port();
    let mut cmd = Command::new(python);
    cmd.arg(&script)
        .arg(port.to_string())
        .arg(&root)
        .arg(&pwfile)
        .arg(tls)
        .arg(&cert)
        .arg(&key);
    let server = Server::spawn(cmd, port, root, dir);
    // What the ftp adapter type maps to (shared/adapters worker_spec): LIST instead of MLSD.
    let mut options = json!({"host": "127.0.0.1", "port": port.to_string(), "user": "ftpuser",
        "disable_mlsd": "true"});
    if explicit_tls {
        let mode = if tls == "implicit" {
            "tls"
        } else {
            "explicit_tls"
        };
        options[mode] = json!("true");
        options["no_check_certificate"] = json!("true");
        // pyftpdlib (pyOpenSSL) truncates TLS 1.3 data connections at close; rclone notices
        // ("corrupted on transfer", the partial stays a partial) but the upload fails.
        options["disable_tls13"] = json!("true");
    }
    let spec = json!({"kind": "rclone", "backend": "ftp", "options": options,
        "secretOptions": {"pass": FTP_PASS}, "path": "backups"});
    (server, spec)
}

/// The SMB test user (a Unix account smbd maps to), created once under a file lock.
fn ensure_smb_user() {
    use std::os::fd::AsRawFd;
    let lock = std::fs::File::create("/tmp/dbackup-smb-user.lock").unwrap();
    // SAFETY: flock on a descriptor we own; released when `lock` is closed.
    assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);
    let exists = Command::new("id")
        .arg(SMB_USER)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !exists {
        run(Command::new("useradd").args(["-M", "-s", "/usr/sbin/nologin", SMB_USER]));
    }
}

/// smbd with a private smb.conf, passdb and share `backups` in a temp dir, on a free port.
fn smb() -> (Server, Value) {
    let smbd = require("smbd");
    let smbpasswd = require("smbpasswd");
    ensure_smb_user();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for sub in [
        "private", "lock", "state", "cache", "pid", "ncalrpc", "share",
    ] {
        std::fs::create_dir(d.join(sub)).unwrap();
    }
    let port = free_port();
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
    )
    .unwrap();
    let mut add = Command::new(smbpasswd)
        .arg("-c")
        .arg(&conf)
        .args(["-s", "-a", SMB_USER])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(format!("{SMB_PASS}\n{SMB_PASS}\n").as_bytes())
        .unwrap();
    assert!(add.wait().unwrap().success(), "smbpasswd -a failed");
    let mut cmd = Command::new(smbd);
    cmd.args(["--foreground", "--no-process-group", "--debug-stdout", "-s"])
        .arg(&conf);
    let root = d.join("share");
    let server = Server::spawn(cmd, port, root, dir);
    let spec = json!({"kind": "rclone", "backend": "smb",
        "options": {"host": "127.0.0.1", "port": port.to_string(), "user": SMB_USER},
        "secretOptions": {"pass": SMB_PASS}, "path": "backups/base"});
    (server, spec)
}

fn open(spec: &Value) -> std::io::Result<Box<dyn Storage>> {
    let spec: StorageSpec = serde_json::from_value(spec.clone()).unwrap();
    storage::open(&spec, &dbackup_worker::LocalRoots::none())
}

/// Every process's command line (NUL-separated args) that contains `needle`.
fn argv_with(needle: &str) -> Vec<String> {
    let mut hits = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let text = String::from_utf8_lossy(&raw).replace('\0', " ");
        if text.contains(needle) {
            hits.push(format!("{}: {text}", entry.file_name().to_string_lossy()));
        }
    }
    hits
}

/// Whether any process runs `rclone <verb>`.
fn rclone_running(verb: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        std::fs::read(e.path().join("cmdline")).is_ok_and(|raw| {
            let args: Vec<&[u8]> = raw.split(|b| *b == 0).collect();
            args.first().is_some_and(|a| a.ends_with(b"rclone")) && args.contains(&verb.as_bytes())
        })
    })
}

/// The files under `dir`, relative, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// upload → (no secret in any argv while rcat runs) → list → download whole and from an
/// offset → replace → delete, with the server's directory `on_disk` checked directly.
fn round_trip(spec: &Value, on_disk: &Path, secret: &str) {
    let s = open(spec).unwrap();
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 31 % 251) as u8).collect();
    let mut w = s.put("job/a.dump").unwrap();
    w.write_all(&data[..1_000_000]).unwrap();
    let started = Instant::now();
    while !rclone_running("rcat") {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "rclone rcat not seen"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let leaks = argv_with(secret);
    assert!(leaks.is_empty(), "secret on a command line: {leaks:?}");
    for chunk in data[1_000_000..].chunks(250_000) {
        w.write_all(chunk).unwrap();
    }
    assert!(
        !on_disk.join("job/a.dump").exists(),
        "nothing under the final name before commit"
    );
    assert!(s.list("").unwrap().is_empty(), "partials are not listed");
    w.commit().unwrap();
    assert_eq!(std::fs::read(on_disk.join("job/a.dump")).unwrap(), data);
    assert_eq!(files_under(on_disk), ["job/a.dump"], "no partial left");

    let mut back = Vec::new();
    s.get("job/a.dump").unwrap().read_to_end(&mut back).unwrap();
    assert!(back == data, "read back differs");
    let mut tail = Vec::new();
    s.get_from("job/a.dump", 2_500_001)
        .unwrap()
        .read_to_end(&mut tail)
        .unwrap();
    assert!(tail == data[2_500_001..], "ranged read differs");
    let info = s.stat("job/a.dump").unwrap();
    assert_eq!(info.size, data.len() as u64);
    assert!(info.modified_unix > 1_700_000_000, "{info:?}");
    let listed = s.list("job").unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "job/a.dump");
    assert_eq!(s.list("").unwrap(), listed);
    assert!(s.list("nothing-here").unwrap().is_empty());
    assert_eq!(
        s.put("job/a.dump").err().unwrap().kind(),
        std::io::ErrorKind::AlreadyExists
    );
    assert_eq!(
        s.stat("job/nope").unwrap_err().kind(),
        std::io::ErrorKind::NotFound
    );
    assert_eq!(
        s.get("job/nope").err().unwrap().kind(),
        std::io::ErrorKind::NotFound
    );
    assert!(s.put("../escape").is_err());

    // A sidecar is replaced in place.
    let mut w = s.put_replace("job/a.meta.json").unwrap();
    w.write_all(b"{\"v\":1}").unwrap();
    w.commit().unwrap();
    let mut w = s.put_replace("job/a.meta.json").unwrap();
    w.write_all(b"{\"v\":2}").unwrap();
    w.commit().unwrap();
    let mut meta = String::new();
    s.get("job/a.meta.json")
        .unwrap()
        .read_to_string(&mut meta)
        .unwrap();
    assert_eq!(meta, "{\"v\":2}");

    // A dropped writer leaves nothing behind.
    let mut w = s.put("job/dropped").unwrap();
    w.write_all(b"some bytes").unwrap();
    drop(w);
    assert_eq!(
        files_under(on_disk),
        ["job/a.dump", "job/a.meta.json"],
        "a dropped upload leaves nothing"
    );

    s.delete("job/a.dump").unwrap();
    s.delete("job/a.meta.json").unwrap();
    s.delete("job/a.dump").unwrap();
    assert!(s.list("").unwrap().is_empty());
    assert!(files_under(on_disk).is_empty());
    assert!(s.location("job/a.dump").ends_with("/job/a.dump"));
    assert!(!s.location("job/a.dump").contains(secret));
}

/// More objects than one page of any listing API (1,000), made on the server's disk.
fn lists_past_a_thousand(spec: &Value, on_disk: &Path) {
    for i in 0..1_050 {
        let dir = on_disk.join(format!("many/d{}", i % 3));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("o{i:04}.dbk")), i.to_string()).unwrap();
    }
    std::fs::write(on_disk.join("many/d0/x.dbk.partial"), b"half").unwrap();
    let s = open(spec).unwrap();
    let listed = s.list("many").unwrap();
    assert_eq!(listed.len(), 1_050);
    assert!(listed.windows(2).all(|w| w[0].name < w[1].name), "sorted");
    assert!(listed.iter().all(|o| o.name.starts_with("many/d")));
    assert_eq!(s.list("many/d1").unwrap().len(), 350);
}

/// The server dies while an upload streams: the write or the commit fails with rclone's
/// reason, and no object appears under the final name.
fn server_stopped_mid_upload(server: &mut Server, spec: &Value, on_disk: &Path) {
    let s = open(spec).unwrap();
    let mut w = s.put("cut/big.dump").unwrap();
    let chunk = vec![7u8; 256 * 1024];
    for _ in 0..8 {
        w.write_all(&chunk).unwrap();
    }
    // Streaming for a while, and (where the server writes as it receives) seen on its disk.
    let cut = on_disk.join("cut");
    let started = Instant::now();
    while files_under(&cut).is_empty() && started.elapsed() < Duration::from_secs(3) {
        w.write_all(&chunk).unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    let err = if !files_under(&cut).is_empty() {
        server.stop();
        let mut failure = None;
        for _ in 0..400 {
            if let Err(e) = w.write_all(&chunk) {
                failure = Some(e);
                break;
            }
        }
        match failure {
            Some(e) => e,
            None => w.commit().expect_err("commit after the server stopped"),
        }
    } else {
        // rclone spools this backend's stream to a temp file and uploads it at the end (no
        // streaming PUT): make it big, commit, and stop the server once the upload shows.
        for _ in 0..256 {
            w.write_all(&chunk).unwrap();
        }
        let committing = std::thread::spawn(move || w.commit());
        let started = Instant::now();
        while files_under(&cut).is_empty() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the upload never reached the server"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        server.stop();
        committing
            .join()
            .unwrap()
            .expect_err("commit while the server stopped")
    };
    let message = err.to_string();
    assert!(
        message.contains("rclone upload on") && !message.ends_with("no message"),
        "{message}"
    );
    assert!(
        !on_disk.join("cut/big.dump").exists(),
        "an interrupted upload is never visible under its final name: {:?}",
        files_under(on_disk)
    );
    println!("server stopped mid-upload: {message}");
}

#[test]
fn webdav_round_trip_listing_and_cut_upload() {
    let (mut server, spec) = webdav();
    let on_disk = server.root.join("backups");
    round_trip(&spec, &on_disk, DAV_PASS);
    lists_past_a_thousand(&spec, &on_disk);
    server_stopped_mid_upload(&mut server, &spec, &on_disk);
    // The server is gone: a clean error naming the address, not a hang.
    let err = open(&spec).unwrap().list("").unwrap_err().to_string();
    assert!(err.contains("connection refused"), "{err}");
    assert!(!err.contains(DAV_PASS));
}

#[test]
fn webdav_wrong_password_is_a_clean_error() {
    let (server, mut spec) = webdav();
    spec["secretOptions"]["pass"] = json!("not-the-password");
    let err = open(&spec).unwrap().list("").unwrap_err().to_string();
    assert!(err.contains("401") || err.contains("Unauthorized"), "{err}");
    assert!(!err.contains("not-the-password"));
    drop(server);
}

#[test]
fn ftp_round_trip_and_cut_upload() {
    let (mut server, spec) = ftp("none");
    let on_disk = server.root.join("backups");
    round_trip(&spec, &on_disk, FTP_PASS);
    server_stopped_mid_upload(&mut server, &spec, &on_disk);
}

#[test]
fn ftps_explicit_round_trip() {
    let (server, spec) = ftp("explicit");
    let on_disk = server.root.join("backups");
    round_trip(&spec, &on_disk, FTP_PASS);
    // Without TLS the server refuses the login (tls_control_required).
    let mut plain = spec.clone();
    plain["options"]
        .as_object_mut()
        .unwrap()
        .remove("explicit_tls");
    let err = open(&plain).unwrap().list("").unwrap_err().to_string();
    assert!(err.contains("rclone list on"), "{err}");
    drop(server);
}

#[test]
fn ftps_implicit_round_trip() {
    let (server, spec) = ftp("implicit");
    let on_disk = server.root.join("backups");
    round_trip(&spec, &on_disk, FTP_PASS);
    drop(server);
}

#[test]
fn smb_round_trip_listing_and_cut_upload() {
    let (mut server, spec) = smb();
    let on_disk = server.root.join("base");
    round_trip(&spec, &on_disk, SMB_PASS);
    lists_past_a_thousand(&spec, &on_disk);
    server_stopped_mid_upload(&mut server, &spec, &on_disk);
    let _ = &server.dir;
}

#[test]
fn unknown_backends_and_options_are_refused_by_name() {
    let err = |spec: Value| open(&spec).err().unwrap().to_string();
    assert!(err(json!({"kind": "rclone", "backend": "nosuchbackend"}))
        .starts_with("storage.backend: the worker's rclone has no backend"));
    assert!(err(json!({"kind": "rclone", "backend": "webdav",
        "options": {"url": "http://127.0.0.1:1", "no_such_option": "1"}}))
    .starts_with("storage.options.no_such_option: not an option of rclone backend webdav"));
    assert!(err(json!({"kind": "rclone", "backend": "ftp",
        "options": {"host": "127.0.0.1", "pass": "clear"}}))
    .starts_with("storage.options.pass: rclone treats it as a password"));
    assert!(
        err(json!({"kind": "rclone", "backend": "local", "path": "/etc"}))
            .starts_with("storage.backend: rclone backend local is not allowed")
    );
}

/// Every adapter type's mapping (the reviewed snapshot of shared/adapters' `rclone_specs`) is
/// accepted by the installed rclone: backend and option names exist, passwords are obscured
/// in the child's environment, everything else passes as is. The cloud drives cannot be
/// reached from here; this is what is checked of them.
#[test]
fn every_mapped_adapter_type_opens_with_the_installed_rclone() {
    let snap = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/adapters/src/snapshots/dbackup_adapters_core__worker_spec__tests__rclone_specs.snap"
    ))
    .unwrap();
    let body = snap.split("\n---\n").nth(1).unwrap();
    let specs: serde_json::Map<String, Value> = serde_json::from_str(body).unwrap();
    assert_eq!(specs.len(), 12);
    for (name, spec) in &specs {
        let parsed: StorageSpec = serde_json::from_value(spec.clone()).unwrap();
        let StorageSpec::Rclone(inner) = &parsed else {
            panic!("{name}: not an rclone spec")
        };
        let storage = dbackup_worker::storage::RcloneStorage::new(inner)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let env: std::collections::BTreeMap<&str, &str> = storage
            .child_env()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(env["RCLONE_CONFIG_DBK_TYPE"], spec["backend"], "{name}");
        for (option, value) in spec["options"].as_object().into_iter().flatten() {
            let key = format!("RCLONE_CONFIG_DBK_{}", option.to_ascii_uppercase());
            assert_eq!(Some(env[key.as_str()]), value.as_str(), "{name}.{option}");
        }
        for (option, value) in spec["secretOptions"].as_object().into_iter().flatten() {
            let key = format!("RCLONE_CONFIG_DBK_{}", option.to_ascii_uppercase());
            let passed = env[key.as_str()];
            if option == "pass" {
                assert_ne!(Some(passed), value.as_str(), "{name}: pass is obscured");
                assert!(!passed.is_empty());
            } else {
                assert_eq!(Some(passed), value.as_str(), "{name}.{option}");
            }
        }
        assert!(!storage.location("x").contains("pw"), "{name}");
    }
}

/// Without rclone on PATH, or with one older than 1.60, opening an rclone storage says so.
#[test]
fn a_missing_or_old_rclone_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let spec: StorageSpec = serde_json::from_value(json!({"kind": "rclone", "backend": "webdav",
        "options": {"url": "http://127.0.0.1:1"}}))
    .unwrap();
    // This test runs in its own process (nextest): PATH is ours to change.
    std::env::set_var("PATH", dir.path());
    let err = open_spec(&spec);
    assert!(
        err.contains("rclone is not installed on the worker") && err.contains("1.60"),
        "{err}"
    );
    let fake = dir.path().join("rclone");
    std::fs::write(&fake, "#!/bin/sh\necho 'rclone v1.53.3-DEV'\n").unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let err = open_spec(&spec);
    assert!(
        err.contains("rclone 1.53") && err.contains("too old"),
        "{err}"
    );
}

fn open_spec(spec: &StorageSpec) -> String {
    match storage::open(spec, &dbackup_worker::LocalRoots::none()) {
        Ok(_) => panic!("opened"),
        Err(e) => e.to_string(),
    }
}

/// Upload and download throughput of 128 MiB through each local server, and the peak RSS of
/// the rclone child during the upload (`cargo nextest run -p dbackup-worker --test
/// rclone_storage --run-ignored only --no-capture`).
#[test]
#[ignore = "a measurement, not a test: run by hand"]
fn throughput_128_mib() {
    const MIB: usize = 1 << 20;
    let block: Vec<u8> = (0..MIB).map(|i| (i * 7 % 251) as u8).collect();
    for kind in ["webdav", "ftp", "smb"] {
        let (server, spec) = match kind {
            "webdav" => webdav(),
            "ftp" => ftp("none"),
            _ => smb(),
        };
        let s = open(&spec).unwrap();
        let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sampler = {
            let (peak, done) = (peak.clone(), done.clone());
            std::thread::spawn(move || {
                while !done.load(std::sync::atomic::Ordering::SeqCst) {
                    for e in std::fs::read_dir("/proc").unwrap().flatten() {
                        let Ok(raw) = std::fs::read(e.path().join("cmdline")) else {
                            continue;
                        };
                        let args: Vec<&[u8]> = raw.split(|b| *b == 0).collect();
                        if !(args.first().is_some_and(|a| a.ends_with(b"rclone"))
                            && args.contains(&b"rcat".as_slice()))
                        {
                            continue;
                        }
                        let status =
                            std::fs::read_to_string(e.path().join("status")).unwrap_or_default();
                        if let Some(kib) = status
                            .lines()
                            .find(|l| l.starts_with("VmRSS:"))
                            .and_then(|l| l.split_whitespace().nth(1))
                            .and_then(|v| v.parse::<u64>().ok())
                        {
                            peak.fetch_max(kib, std::sync::atomic::Ordering::SeqCst);
                        }
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            })
        };
        let started = Instant::now();
        let mut w = s.put("bench/big.dump").unwrap();
        for _ in 0..128 {
            w.write_all(&block).unwrap();
        }
        w.commit().unwrap();
        let up = started.elapsed();
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        sampler.join().unwrap();
        let started = Instant::now();
        let n = std::io::copy(&mut s.get("bench/big.dump").unwrap(), &mut std::io::sink()).unwrap();
        let down = started.elapsed();
        assert_eq!(n, 128 * MIB as u64);
        println!(
            "{kind}: upload {:.0} MiB/s, download {:.0} MiB/s, rclone rcat peak RSS {} MiB",
            128.0 / up.as_secs_f64(),
            128.0 / down.as_secs_f64(),
            peak.load(std::sync::atomic::Ordering::SeqCst) / 1024
        );
        s.delete("bench/big.dump").unwrap();
        drop(server);
    }
}
