//! Storage through rclone end to end, through the host with the real worker and PostgreSQL,
//! against real servers on loopback: WebDAV (`rclone serve webdav`), FTP and explicit FTPS
//! (pyftpdlib from Debian's `python3-pyftpdlib`, a self-signed certificate) and SMB (Debian's
//! `smbd` with a private config and share). For each: the adapter created and tested through
//! the API → a PostgreSQL job runs twice → Success, the objects and sidecars on the server's
//! disk → retention (keep 1) deletes the older → the explorer lists and downloads the exact
//! bytes → a restore into a new database gives equal data → the explorer deletes the backup.
//! No secret on any process's command line, none in the app's answers or execution logs.
//! smbd needs root (`cargo xtask test` runs as root and installs rclone, samba, pyftpdlib).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dbackup_tests::{free_port, psql, sqlite_json, wait_for, Api, Credential, RealApp, TempDir};
use serde_json::{json, Value};

const DAV_PASS: &str = "dav-App-Secret-6e2a9";
const FTP_PASS: &str = "ftp-App-Secret-41c0d";
const SMB_PASS: &str = "smb-App-Secret-9b27e";
const SMB_USER: &str = "dbackup-smb";

/// A server this test started: killed and reaped on drop.
struct Server {
    child: Child,
}

impl Server {
    /// Spawns `cmd` (output into `dir/server.log`) and waits until `port` listens.
    fn spawn(mut cmd: Command, port: u16, dir: &Path) -> Server {
        let log = dir.join("server.log");
        let out = std::fs::File::create(&log).expect("log");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
        let server = Server { child };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "server did not listen on {port}: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A program from PATH or the sbin/bin directories; panics naming the package when missing.
fn require(program: &str) -> PathBuf {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
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

/// A storage server for one journey: the adapter to create, where its objects land on disk,
/// and the password that must never show.
struct Store {
    _server: Server,
    adapter_id: &'static str,
    name: &'static str,
    config: Value,
    /// The server's directory of the adapter's `path` (`dbackup/prod`).
    on_disk: PathBuf,
    secret: &'static str,
}

/// `rclone serve webdav` on `dir/dav`, user `davuser` from an htpasswd file (the password is
/// on no command line).
fn webdav(dir: &Path) -> Store {
    let root = dir.join("dav");
    std::fs::create_dir_all(&root).expect("dav root");
    let hash = run(Command::new("openssl").args(["passwd", "-apr1", DAV_PASS]));
    let htpasswd = dir.join("htpasswd");
    std::fs::write(&htpasswd, format!("davuser:{hash}\n")).expect("htpasswd");
    let port = free_port();
    let mut cmd = Command::new(require("rclone"));
    cmd.env("RCLONE_CONFIG", "")
        .args(["serve", "webdav"])
        .arg(&root)
        .args(["--addr", &format!("127.0.0.1:{port}"), "--htpasswd"])
        .arg(&htpasswd);
    Store {
        _server: Server::spawn(cmd, port, dir),
        adapter_id: "webdav",
        name: "Nextcloud",
        config: json!({"url": format!("http://127.0.0.1:{port}/"), "vendor": "other",
                       "user": "davuser", "password": DAV_PASS, "path": "dbackup/prod"}),
        on_disk: root.join("dbackup/prod"),
        secret: DAV_PASS,
    }
}

/// pyftpdlib on `dir/ftp`: plain FTP (`tls` "none") or explicit FTPS (AUTH TLS required on
/// both channels, a self-signed certificate, so the adapter sets noCheckCertificate). The
/// server offers TLS 1.2 at most: pyftpdlib (pyOpenSSL) truncates TLS 1.3 data connections
/// at close, which rclone rightly reports as a corrupted transfer.
fn ftp(dir: &Path, tls: &'static str) -> Store {
    let python = PathBuf::from("/usr/bin/python3");
    assert!(
        Command::new(&python)
            .args(["-c", "import pyftpdlib"])
            .status()
            .is_ok_and(|s| s.success()),
        "/usr/bin/python3 cannot import pyftpdlib: apt-get install python3-pyftpdlib (cargo xtask test does)"
    );
    let root = dir.join("ftp");
    std::fs::create_dir_all(&root).expect("ftp root");
    let script = dir.join("ftpd.py");
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
if mode == "explicit":
    from OpenSSL import SSL
    handler = TLS_FTPHandler
    handler.certfile, handler.keyfile = sys.argv[5], sys.argv[6]
    handler.ssl_options = (handler.ssl_options or 0) | SSL.OP_NO_TLSv1_3
    handler.tls_control_required = True
    handler.tls_data_required = True
else:
    handler = FTPHandler
handler.authorizer = auth
FTPServer(("127.0.0.1", port), handler).serve_forever()
"#,
    )
    .expect("ftpd.py");
    let pwfile = dir.join("users");
    std::fs::write(&pwfile, format!("ftpuser:{FTP_PASS}\n")).expect("users");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    if tls != "none" {
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
    let mut config = json!({"host": "127.0.0.1", "port": port, "user": "ftpuser",
                            "password": FTP_PASS, "tls": tls, "path": "dbackup/prod"});
    if tls != "none" {
        config["noCheckCertificate"] = json!(true);
    }
    Store {
        _server: Server::spawn(cmd, port, dir),
        adapter_id: "ftp",
        name: if tls == "none" {
            "Old FTP box"
        } else {
            "FTPS box"
        },
        config,
        on_disk: root.join("dbackup/prod"),
        secret: FTP_PASS,
    }
}

/// The SMB test user (a Unix account smbd maps to), created once under a file lock (tests
/// run as parallel processes; worker/tests/rclone_storage.rs uses the same account).
fn ensure_smb_user() {
    use std::os::fd::AsRawFd;
    let lock = std::fs::File::create("/tmp/dbackup-smb-user.lock").expect("lock");
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

/// smbd with a private smb.conf, passdb and share `backups` (on `dir/smb/share`), on a free
/// port; the password goes to smbpasswd on stdin.
fn smb(dir: &Path) -> Store {
    let smbd = require("smbd");
    let smbpasswd = require("smbpasswd");
    ensure_smb_user();
    let d = dir.join("smb");
    for sub in [
        "private", "lock", "state", "cache", "pid", "ncalrpc", "share",
    ] {
        std::fs::create_dir_all(d.join(sub)).expect("smb dir");
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
    .expect("smb.conf");
    let mut add = Command::new(smbpasswd)
        .arg("-c")
        .arg(&conf)
        .args(["-s", "-a", SMB_USER])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("smbpasswd");
    add.stdin
        .take()
        .expect("stdin")
        .write_all(format!("{SMB_PASS}\n{SMB_PASS}\n").as_bytes())
        .expect("smbpasswd stdin");
    assert!(
        add.wait().expect("smbpasswd").success(),
        "smbpasswd -a failed"
    );
    let mut cmd = Command::new(smbd);
    cmd.args(["--foreground", "--no-process-group", "--debug-stdout", "-s"])
        .arg(&conf);
    Store {
        _server: Server::spawn(cmd, port, &d),
        adapter_id: "smb",
        name: "NAS",
        config: json!({"host": "127.0.0.1", "port": port, "share": "backups", "user": SMB_USER,
                       "password": SMB_PASS, "path": "dbackup/prod"}),
        on_disk: d.join("share/dbackup/prod"),
        secret: SMB_PASS,
    }
}

/// The files under `dir`, relative, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else if let Ok(rel) = p.strip_prefix(base) {
                out.push(rel.display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Any process's command line holding `needle`.
fn argv_with(needle: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|raw| String::from_utf8_lossy(&raw).replace('\0', " "))
        .filter(|text| text.contains(needle))
        .collect()
}

async fn create(api: &Api, admin: &Credential, body: Value) -> String {
    let a = api
        .expect(admin, "POST", "/api/adapters", Some(&body), 201)
        .await;
    for secret in [DAV_PASS, FTP_PASS, SMB_PASS] {
        assert!(!a.to_string().contains(secret), "{a}");
    }
    a["id"].as_str().expect("id").to_owned()
}

/// Runs the job, waits for Success and for its post-processing (retention) to be over.
async fn run_job(api: &Api, admin: &Credential, db: &Path, job: &str) -> Value {
    let done = api.run_job(admin, job).await;
    assert_eq!(done["status"], "Success", "{done}");
    let id = done["id"].as_str().expect("id");
    let settled = format!(r#"SELECT "postProcessedAt" FROM "Execution" WHERE "id" = '{id}'"#);
    wait_for(Duration::from_secs(90), || async {
        sqlite_json(db, &settled)[0]["postProcessedAt"]
            .is_string()
            .then_some(())
    })
    .await
    .expect("the execution is post-processed");
    done
}

/// The journey through the app for one storage server (see the module comment).
async fn journey(kind: &str, start: impl FnOnce(&Path) -> Store) {
    let started = Instant::now();
    let pid = std::process::id();
    let (src_db, copy_db) = (format!("{kind}src_{pid}"), format!("{kind}copy_{pid}"));
    for db in [&src_db, &copy_db] {
        psql("postgres", &format!("DROP DATABASE IF EXISTS {db}"));
    }
    psql("postgres", &format!("CREATE DATABASE {src_db}"));
    psql(
        &src_db,
        "CREATE TABLE item (id int PRIMARY KEY, name text NOT NULL); \
         INSERT INTO item SELECT g, 'item ' || g FROM generate_series(1, 5000) g;",
    );
    let dir = TempDir::new();
    let store = start(dir.path());
    let secret = store.secret;
    let base = dir.path().to_owned();
    let real = RealApp::with_worker().dir(dir).app_url().start().await;
    let api = real.api();
    let admin = api.signup_admin().await;
    let db = real.db_path();

    let pg = create(
        &api,
        &admin,
        json!({"name": "PG", "type": "database", "adapterId": "postgres",
               "config": {"host": "127.0.0.1", "port": 5432, "user": "postgres", "database": src_db}}),
    )
    .await;
    let target = create(
        &api,
        &admin,
        json!({"name": "PG target", "type": "database", "adapterId": "postgres",
               "config": {"host": "127.0.0.1", "port": 5432, "user": "postgres", "database": "postgres"}}),
    )
    .await;
    let config = store.config.clone();
    // Test connection before saving (the worker writes, reads back and deletes a probe).
    let probe = api
        .expect(
            &admin,
            "POST",
            "/api/adapters/test",
            Some(&json!({"adapterId": store.adapter_id, "config": config})),
            200,
        )
        .await;
    assert_eq!(probe["ok"], true, "{probe}");
    let mut wrong = config.clone();
    wrong["password"] = json!("not-the-password");
    let refused = api
        .expect(
            &admin,
            "POST",
            "/api/adapters/test",
            Some(&json!({"adapterId": store.adapter_id, "config": wrong})),
            200,
        )
        .await;
    assert_eq!(refused["ok"], false, "{refused}");
    assert!(!refused.to_string().contains("not-the-password"));
    let dest = create(
        &api,
        &admin,
        json!({"name": store.name, "type": "storage", "adapterId": store.adapter_id, "config": config}),
    )
    .await;
    let job = api
        .expect(
            &admin,
            "POST",
            "/api/jobs",
            Some(&json!({
                "name": format!("to-{kind}"), "schedule": "@yearly", "sourceId": pg, "databases": [src_db],
                "destinations": [{"destinationId": dest,
                                  "retention": {"mode": "SIMPLE", "simple": {"keepCount": 1}}}],
                "compression": "GZIP",
            })),
            201,
        )
        .await;
    let job = job["id"].as_str().expect("job id").to_owned();

    let on_disk = store.on_disk.clone();
    let first = run_job(&api, &admin, &db, &job).await;
    let first_path = first["path"].as_str().expect("path").to_owned();
    assert!(
        on_disk.join(&first_path).is_file(),
        "{first_path} not on the {kind} server: {:?}",
        files_under(&base)
    );
    assert!(
        argv_with(secret).is_empty(),
        "the password is on a command line"
    );
    // Object names carry a timestamp in seconds: keep the two runs apart.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = run_job(&api, &admin, &db, &job).await;
    let path = second["path"].as_str().expect("path").to_owned();
    assert_ne!(path, first_path);

    // Retention kept the newest only; its sidecar beside it; no partial left.
    assert_eq!(
        files_under(&on_disk),
        vec![path.clone(), format!("{path}.meta.json")],
        "retention (keep 1) and atomic uploads"
    );
    let size = std::fs::metadata(on_disk.join(&path))
        .expect("object")
        .len();
    assert_eq!(second["size"].as_u64(), Some(size), "{second}");

    // The explorer lists it (with its metadata) and downloads the exact bytes.
    let listed = api
        .expect(
            &admin,
            "GET",
            &format!("/api/storage/{dest}/backups"),
            None,
            200,
        )
        .await;
    let items = listed["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{listed}");
    assert_eq!(items[0]["path"], json!(path));
    assert_eq!(items[0]["hasMetadata"], true, "{listed}");
    assert_eq!(items[0]["size"].as_u64(), Some(size));
    let dl = api
        .call(
            &admin,
            "GET",
            &format!(
                "/api/storage/{dest}/download?path={}",
                dbackup_tests::encode(&path)
            ),
            None,
        )
        .await;
    assert_eq!(dl.status, 200, "{}", dl.text());
    assert_eq!(
        dl.body.as_ref(),
        std::fs::read(on_disk.join(&path))
            .expect("object")
            .as_slice()
    );

    // Restore into a new database: equal rows.
    let restore = api
        .expect(
            &admin,
            "POST",
            "/api/restores",
            Some(
                &json!({"destinationId": dest, "path": path, "targetSourceId": target,
                         "databaseMapping": {src_db.clone(): copy_db.clone()}}),
            ),
            202,
        )
        .await;
    let rid = restore["executionId"].as_str().expect("id").to_owned();
    let restored = api.finished_execution(&admin, &rid).await;
    assert_eq!(restored["status"], "Success", "{restored}");
    let q = "SELECT count(*) || ':' || md5(string_agg(id || name, ',' ORDER BY id)) FROM item";
    let (a, b) = (psql(&src_db, q), psql(&copy_db, q));
    assert!(a.starts_with("5000:"), "{a}");
    assert_eq!(a, b, "the restored data differs");

    // The explorer deletes the backup and its sidecar on the server.
    api.expect(
        &admin,
        "DELETE",
        &format!(
            "/api/storage/{dest}/backups?path={}",
            dbackup_tests::encode(&path)
        ),
        None,
        204,
    )
    .await;
    assert!(files_under(&on_disk).is_empty(), "{:?}", files_under(&base));
    let logs: String = sqlite_json(
        &db,
        &format!(r#"SELECT "logs" FROM "Execution" WHERE "jobId" = '{job}'"#),
    )
    .iter()
    .map(|r| r["logs"].as_str().unwrap_or_default().to_owned())
    .collect();
    assert!(!logs.contains(secret));

    drop(store);
    for db in [&src_db, &copy_db] {
        psql("postgres", &format!("DROP DATABASE IF EXISTS {db}"));
    }
    eprintln!("{kind} journey: {:.1} s", started.elapsed().as_secs_f64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_job_to_webdav_backs_up_lists_restores_and_keeps_one() {
    journey("webdav", webdav).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_job_to_ftp_backs_up_lists_restores_and_keeps_one() {
    journey("ftp", |d| ftp(d, "none")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_job_to_ftps_backs_up_lists_restores_and_keeps_one() {
    journey("ftps", |d| ftp(d, "explicit")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_job_to_smb_backs_up_lists_restores_and_keeps_one() {
    journey("smb", smb).await;
}
