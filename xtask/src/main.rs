//! Project tasks: `cargo xtask up [--spin] | test [--no-spin] | build | openapi | format-vectors | bench host | bench hosts [--release] | bench control-plane [--jobs N] [--executions M] [--seconds S] [--clients C] [--spin] [--release] [--wasm-dir DIR] [--label TEXT] | bench run-now [--runs N] [--host ours|spin|both] [--label TEXT] [--app DIR --bin DIR] | bench pipeline [--size-mb N] [--runs N] [--no-restore] [--worker PATH]`.
//!
//! Everything a fresh machine of the project's kind lacks (the wasm32-wasip2 target, Debian
//! packages, test servers) is installed or started from here, so the README needs two commands.

#![forbid(unsafe_code)]

mod bench;
mod bench_control_plane;
mod bench_pipeline;
mod infra;

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

const USAGE: &str =
    "usage: cargo xtask <up [--listen IP:PORT] | up --spin [spin up args] | test [--no-spin] [-- nextest args] | build | openapi | format-vectors | bench host | bench hosts [--release] | bench control-plane [--jobs N] [--executions M] [--seconds S] [--clients C] [--spin] [--release] [--wasm-dir DIR] [--label TEXT] | bench run-now [--runs N] [--host ours|spin|both] [--label TEXT] [--app DIR --bin DIR] | bench pipeline [--size-mb N] [--runs N] [--no-restore] [--worker PATH]>";

fn main() {
    if let Err(e) = run() {
        eprintln!("xtask: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = repo_root();
    std::env::set_current_dir(&root)?;
    match args.first().map(String::as_str) {
        Some("up") => up(&root, &args[1..]),
        Some("test") => test(&root, &args[1..]),
        Some("build") => build(&root, Profile::Release).map(|_| ()),
        // Regenerates docs/openapi.json and the frontend's schema.gen.ts.
        Some("openapi") => openapi(&root),
        // Regenerates docs/format-vectors (the container's test vectors, docs/FORMAT.md).
        Some("format-vectors") => format_vectors(),
        Some("bench") if args.get(1).map(String::as_str) == Some("host") => bench::host(&root),
        Some("bench") if args.get(1).map(String::as_str) == Some("hosts") => {
            bench::hosts::hosts(&root, &args[2..])
        }
        Some("bench") if args.get(1).map(String::as_str) == Some("run-now") => {
            bench::run_now::run_now(&root, &args[2..])
        }
        Some("bench") if args.get(1).map(String::as_str) == Some("control-plane") => {
            bench_control_plane::control_plane(&root, &args[2..])
        }
        Some("bench") if args.get(1).map(String::as_str) == Some("pipeline") => {
            bench_pipeline::pipeline(&root, &args[2..])
        }
        _ => bail!("{USAGE}"),
    }
}

/// The repository root (the folder above xtask/).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Runs a command, failing with its name when it fails.
pub fn run_cmd(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    eprintln!("xtask: $ {}", shown.replace('"', ""));
    let status = cmd
        .status()
        .with_context(|| format!("cannot run {shown}"))?;
    if !status.success() {
        bail!("{shown} failed ({status})");
    }
    Ok(())
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Cargo's target directory (honours CARGO_TARGET_DIR and config).
pub fn target_dir(root: &Path) -> Result<PathBuf> {
    if let Ok(dir) = std::env::var("CARGO_TARGET_DIR") {
        let p = PathBuf::from(dir);
        return Ok(if p.is_absolute() { p } else { root.join(p) });
    }
    Ok(root.join("target"))
}

#[derive(Clone, Copy, PartialEq)]
pub enum Profile {
    Release,
    Debug,
}

/// Names of the wasm crates: every `components/*` plus the test fixtures under `tests/fixtures/*`.
fn wasm_packages(root: &Path, with_fixtures: bool) -> Result<Vec<String>> {
    let mut dirs = vec![root.join("components")];
    if with_fixtures {
        dirs.push(root.join("tests/fixtures"));
    }
    let mut out = Vec::new();
    for dir in dirs {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .with_context(|| format!("cannot list {}", dir.display()))?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.join("Cargo.toml").is_file())
            .collect();
        entries.sort();
        for p in entries {
            let manifest = std::fs::read_to_string(p.join("Cargo.toml"))?;
            let name = manifest
                .lines()
                .find_map(|l| l.strip_prefix("name = "))
                .map(|n| n.trim().trim_matches('"').to_owned())
                .with_context(|| format!("no package name in {}", p.display()))?;
            out.push(name);
        }
    }
    Ok(out)
}

/// Adds the wasm32-wasip2 target when rustup lacks it.
fn ensure_wasm_target() -> Result<()> {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    match out {
        Ok(o) if String::from_utf8_lossy(&o.stdout).contains("wasm32-wasip2") => Ok(()),
        Ok(_) => run_cmd(Command::new("rustup").args(["target", "add", "wasm32-wasip2"])),
        Err(_) => {
            eprintln!("xtask: rustup not found; assuming wasm32-wasip2 is available");
            Ok(())
        }
    }
}

/// Builds the wasm components (always release: they are what Spin runs) and puts them where
/// spin.toml expects them.
fn build_components(root: &Path, with_fixtures: bool) -> Result<PathBuf> {
    ensure_wasm_target()?;
    let mut cmd = cargo();
    cmd.args(["build", "--release", "--target", "wasm32-wasip2"]);
    for p in wasm_packages(root, with_fixtures)? {
        cmd.args(["-p", &p]);
    }
    run_cmd(&mut cmd)?;
    let built = target_dir(root)?.join("wasm32-wasip2/release");
    let expected = root.join("target/wasm32-wasip2/release");
    if built != expected {
        // spin.toml names target/…: mirror the .wasm files there when CARGO_TARGET_DIR is elsewhere.
        std::fs::create_dir_all(&expected)?;
        for entry in std::fs::read_dir(&built)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "wasm") {
                if let Some(name) = path.file_name() {
                    std::fs::copy(&path, expected.join(name))?;
                }
            }
        }
    }
    Ok(expected)
}

/// Builds the web UI into frontend/dist (npm when the frontend has a package.json, otherwise the
/// static files in frontend/public are the UI).
fn build_frontend(root: &Path) -> Result<()> {
    let frontend = root.join("frontend");
    let dist = frontend.join("dist");
    if frontend.join("package.json").is_file() {
        let install = if frontend.join("package-lock.json").is_file() {
            "ci"
        } else {
            "install"
        };
        if !node_modules_current(&frontend) {
            run_cmd(
                Command::new("npm")
                    .args([install, "--no-audit", "--no-fund"])
                    .current_dir(&frontend),
            )?;
        }
        // The UI's API types come from docs/openapi.json: a stale schema.gen.ts fails here.
        run_cmd(
            Command::new("npm")
                .args(["run", "--silent", "check:api"])
                .current_dir(&frontend),
        )?;
        run_cmd(
            Command::new("npm")
                .args(["run", "build"])
                .current_dir(&frontend),
        )?;
    } else {
        if dist.exists() {
            std::fs::remove_dir_all(&dist)?;
        }
        copy_dir(&frontend.join("public"), &dist)?;
    }
    Ok(())
}

/// Whether `npm ci` already installed frontend/node_modules from the current lockfile: npm writes
/// node_modules/.package-lock.json on every install, so it is newer than package.json and
/// package-lock.json unless either changed since.
fn node_modules_current(frontend: &Path) -> bool {
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let Some(installed) = mtime(&frontend.join("node_modules/.package-lock.json")) else {
        return false;
    };
    ["package.json", "package-lock.json"]
        .iter()
        .all(|f| mtime(&frontend.join(f)).is_some_and(|t| t <= installed))
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in
        std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?
    {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &dest)?;
        } else {
            std::fs::copy(entry.path(), dest)?;
        }
    }
    Ok(())
}

/// Builds everything `up` runs; returns the folder holding the native binaries.
fn build(root: &Path, profile: Profile) -> Result<PathBuf> {
    build_components(root, false)?;
    build_frontend(root)?;
    let mut cmd = cargo();
    cmd.args(["build", "-p", "dbackup-host", "-p", "dbackup-worker"]);
    if profile == Profile::Release {
        cmd.arg("--release");
    }
    run_cmd(&mut cmd)?;
    Ok(target_dir(root)?.join(if profile == Profile::Release {
        "release"
    } else {
        "debug"
    }))
}

/// Generates `.dbackup/secrets.env` (mode 0600) on first run and returns its variables.
pub fn local_secrets(root: &Path) -> Result<Vec<(String, String)>> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let dir = root.join(".dbackup");
    std::fs::create_dir_all(&dir)?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
    let path = dir.join("secrets.env");
    if !path.exists() {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        writeln!(f, "# Generated by `cargo xtask up` on first run. Keep it: encryption_key decrypts stored secrets.")?;
        for name in ["ENCRYPTION_KEY", "SESSION_SECRET", "WORKER_TOKEN"] {
            writeln!(f, "SPIN_VARIABLE_{name}={}", random_hex(32)?)?;
        }
    }
    let text = std::fs::read_to_string(&path)?;
    Ok(text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect())
}

/// `n` random bytes from the OS, hex-encoded.
pub fn random_hex(n: usize) -> Result<String> {
    use std::io::Read;
    let mut buf = vec![0u8; n];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// Regenerates docs/openapi.json (the document the `system` component serves) from the route
/// table and the Rust API types, then frontend/src/api/schema.gen.ts from it when the frontend
/// is installed.
fn openapi(root: &Path) -> Result<()> {
    run_cmd(cargo().args([
        "run",
        "--quiet",
        "-p",
        "dbackup-openapi",
        "--bin",
        "dbackup-openapi",
        "--",
        "docs/openapi.json",
    ]))?;
    // openapi-typescript lives in frontend/tools/openapi (its own lockfile: it needs the
    // TypeScript 5 compiler API); the script installs it on first use.
    run_cmd(
        Command::new("node")
            .args(["tools/openapi/gen.mjs"])
            .current_dir(root.join("frontend")),
    )
}

/// Writes the container's test vectors into docs/format-vectors from this build's
/// `dbackup_worker::format::vectors`; `format::tests::verify_vectors` then checks them.
fn format_vectors() -> Result<()> {
    run_cmd(cargo().args([
        "run",
        "--quiet",
        "-p",
        "dbackup-worker",
        "--example",
        "format_vectors",
        "--",
        "docs/format-vectors",
    ]))
}

fn up(root: &Path, args: &[String]) -> Result<()> {
    if args.first().map(String::as_str) == Some("--spin") {
        return up_spin(root, &args[1..]);
    }
    let bin = build(root, Profile::Release)?;
    let secrets = local_secrets(root)?;
    let mut cmd = Command::new(bin.join("dbackup"));
    cmd.args(["--manifest", "spin.toml", "--data-dir", ".dbackup"]);
    cmd.args(args);
    // The rest of the environment passes through to the host (e.g. DBACKUP_LOCAL_ROOTS, which
    // the host hands on to the worker it starts; docs/HOST.md, "Start-up").
    for (k, v) in secrets {
        // The environment of the user wins over the generated file.
        if std::env::var_os(&k).is_none() {
            cmd.env(k, v);
        }
    }
    eprintln!("xtask: starting dbackup on http://127.0.0.1:3000 (Ctrl-C stops it)");
    let status = cmd.status().context("cannot start dbackup")?;
    if !status.success() {
        bail!("dbackup exited with {status}");
    }
    Ok(())
}

/// `cargo xtask up --spin [spin up args]`: the same app and generated secrets as `up`, served by
/// the real `spin up` (state dir `.spin/`, where Spin keeps `sqlite_db.db`) on
/// http://127.0.0.1:3000 (or `--listen`), with `dbackup-worker` started beside it as the README's
/// "Running under Spin" says. Ctrl-C stops both.
fn up_spin(root: &Path, args: &[String]) -> Result<()> {
    infra::ensure_spin_tools(
        root,
        false,
        "no --spin (plain `cargo xtask up` serves the app with dbackup's own host)",
    )?;
    build_components(root, false)?;
    build_frontend(root)?;
    run_cmd(cargo().args(["build", "--release", "-p", "dbackup-worker"]))?;
    let worker_bin = target_dir(root)?.join("release/dbackup-worker");
    let mut vars: Vec<(String, String)> = local_secrets(root)?
        .into_iter()
        .map(|(k, v)| (k.clone(), std::env::var(&k).unwrap_or(v)))
        .collect();
    let listen = args
        .iter()
        .position(|a| a == "--listen")
        .and_then(|i| args.get(i + 1))
        .cloned()
        .or_else(|| {
            args.iter()
                .find_map(|a| a.strip_prefix("--listen=").map(str::to_owned))
        })
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    // Spin has no listen address to default `app_url` to (our host does): the worker's
    // callbacks must reach this listener.
    if std::env::var_os("SPIN_VARIABLE_APP_URL").is_none() {
        vars.push(("SPIN_VARIABLE_APP_URL".into(), format!("http://{listen}")));
    }
    let worker_url = std::env::var("SPIN_VARIABLE_WORKER_URL")
        .unwrap_or_else(|_| "http://127.0.0.1:3001".to_owned());
    let worker_listen = worker_url
        .strip_prefix("http://")
        .map(|a| a.trim_end_matches('/'))
        .with_context(|| {
            format!("SPIN_VARIABLE_WORKER_URL must be http://IP:PORT, not {worker_url}")
        })?
        .to_owned();
    let var = |name: &str| {
        vars.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let state_dir = root.join(".spin");
    std::fs::create_dir_all(&state_dir)?;
    // The worker as the README starts it: the token in its environment, Spin's state dir as
    // its data dir (local backups default to .spin/backups; DBACKUP_LOCAL_ROOTS passes through).
    let mut worker = Command::new(&worker_bin)
        .env("DBACKUP_WORKER_TOKEN", var("SPIN_VARIABLE_WORKER_TOKEN"))
        .env("DBACKUP_WORKER_DATA_DIR", &state_dir)
        .env("DBACKUP_WORKER_LISTEN", &worker_listen)
        .spawn()
        .with_context(|| format!("cannot start {}", worker_bin.display()))?;
    let mut spin = Command::new("spin");
    spin.args(["up", "--from", "spin.toml", "--state-dir"])
        .arg(&state_dir)
        .args(args);
    if !args
        .iter()
        .any(|a| a == "--listen" || a.starts_with("--listen="))
    {
        spin.args(["--listen", &listen]);
    }
    spin.envs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    eprintln!("xtask: starting spin up on http://{listen} and the worker on {worker_listen} (Ctrl-C stops both)");
    let status = spin.status().context("cannot start spin");
    let _ = worker.kill();
    let _ = worker.wait();
    let status = status?;
    if !status.success() {
        bail!("spin up exited with {status}");
    }
    Ok(())
}

fn test(root: &Path, args: &[String]) -> Result<()> {
    // `--no-spin` is ours, wherever it stands; the rest goes to nextest.
    let no_spin = args.iter().any(|a| a == "--no-spin");
    let extra: Vec<String> = args.iter().filter(|a| *a != "--no-spin").cloned().collect();
    let extra = extra.as_slice();
    let env = infra::prepare()?;
    if !no_spin {
        infra::ensure_spin_tools(root, true, "--no-spin (cargo xtask test --no-spin)")?;
    }
    let wasm_dir = build_components(root, true)?;
    build_frontend(root)?;
    // The web UI's unit tests (Vitest, a few seconds); the browser tests run under nextest.
    run_cmd(
        Command::new("npm")
            .args(["test", "--silent"])
            .current_dir(root.join("frontend")),
    )?;
    // The end-to-end tests spawn the real binaries.
    run_cmd(cargo().args(["build", "-p", "dbackup-host", "-p", "dbackup-worker"]))?;
    let bin_dir = target_dir(root)?.join("debug");
    let nextest = infra::have("cargo-nextest");
    let mut cmd = cargo();
    if nextest {
        cmd.args(["nextest", "run", "--no-fail-fast"]);
    } else {
        eprintln!("xtask: cargo-nextest not found; using cargo test (no #[ignore]d test runs)");
        cmd.args(["test", "--no-fail-fast"]);
    }
    let skipped = if nextest && !selects_ignored(extra) {
        select_ignored(&mut cmd, infra::ignored_tests(no_spin))
    } else {
        Vec::new()
    };
    // No -p: the workspace's default-members are exactly the natively testable crates.
    cmd.args(extra);
    cmd.env("DBACKUP_WASM_DIR", &wasm_dir)
        .env("DBACKUP_BIN_DIR", &bin_dir)
        .env("DBACKUP_REPO", root);
    // The tests keep local destinations in temporary directories, not in a data directory's
    // backups/ folder: the workers they start (directly or through the host) allow those.
    if std::env::var_os("DBACKUP_LOCAL_ROOTS").is_none() {
        cmd.env("DBACKUP_LOCAL_ROOTS", std::env::temp_dir());
    }
    for (k, v) in &env {
        cmd.env(k, v);
    }
    let result = run_cmd(&mut cmd);
    // Said again after nextest's own summary (which counts these among its skipped).
    for line in &skipped {
        eprintln!("{line}");
    }
    result
}

/// Whether the nextest arguments already choose the `#[ignore]`d tests or a filterset (nextest
/// unions filtersets, so one of ours would widen the user's): then they are left as given.
fn selects_ignored(args: &[String]) -> bool {
    args.iter().any(|a| {
        [
            "-E",
            "--filterset",
            "--run-ignored",
            "--ignored",
            "--include-ignored",
        ]
        .iter()
        .any(|flag| a.starts_with(flag))
    })
}

/// Runs the `#[ignore]`d groups whose server is there and leaves the others out by filterset;
/// returns a `SKIPPED` line for each group left out (printed before and after the run).
fn select_ignored(cmd: &mut Command, groups: Vec<infra::IgnoredTests>) -> Vec<String> {
    let mut left_out = Vec::new();
    let mut lines = Vec::new();
    for group in groups {
        if let Some(reason) = group.skipped {
            left_out.push(format!("({})", group.filter));
            lines.push(format!("xtask: SKIPPED {}: {reason}", group.what));
        }
    }
    cmd.args(["--run-ignored", "all"]);
    if !left_out.is_empty() {
        cmd.args(["-E", &format!("not ({})", left_out.join(" | "))]);
    }
    for line in &lines {
        eprintln!("{line}");
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(filter: &'static str, skipped: Option<&str>) -> infra::IgnoredTests {
        infra::IgnoredTests {
            what: "group",
            filter,
            skipped: skipped.map(str::to_owned),
        }
    }

    #[test]
    fn ignored_groups_run_unless_skipped_and_each_skip_is_said() {
        let mut cmd = Command::new("cargo");
        let lines = select_ignored(
            &mut cmd,
            vec![
                group("binary_id(a)", None),
                group("test(=b)", Some("no b")),
                group("test(=c)", Some("no c")),
            ],
        );
        let args: Vec<_> = cmd.get_args().map(|a| a.to_string_lossy()).collect();
        assert_eq!(
            args,
            [
                "--run-ignored",
                "all",
                "-E",
                "not ((test(=b)) | (test(=c)))"
            ]
        );
        assert_eq!(
            lines,
            ["xtask: SKIPPED group: no b", "xtask: SKIPPED group: no c"]
        );
    }

    #[test]
    fn no_spin_leaves_out_both_spin_binaries() {
        let filter = |no_spin| {
            let mut cmd = Command::new("cargo");
            let lines = select_ignored(&mut cmd, infra::ignored_tests(no_spin));
            let args: Vec<String> = cmd
                .get_args()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            (args.last().cloned().unwrap_or_default(), lines)
        };
        let (with_spin, lines) = filter(false);
        assert!(!with_spin.contains("spin_suite"), "{with_spin}");
        assert!(!lines.iter().any(|l| l.contains("Spin")), "{lines:?}");
        let (without, lines) = filter(true);
        assert!(without.starts_with("not ("), "{without}");
        for binary in [
            "binary_id(dbackup-tests::spin_suite)",
            "binary_id(dbackup-tests::libsql_server)",
        ] {
            assert!(without.contains(binary), "{without}");
        }
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("xtask: SKIPPED Spin suites") && l.contains("--no-spin")),
            "{lines:?}"
        );
    }

    #[test]
    fn a_selection_of_the_user_is_left_alone() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(!selects_ignored(&args(&[
            "-p",
            "dbackup-tests",
            "--",
            "valkey"
        ])));
        assert!(selects_ignored(&args(&["-E", "test(x)"])));
        assert!(selects_ignored(&args(&["--filterset=test(x)"])));
        assert!(selects_ignored(&args(&["--run-ignored", "only"])));
    }
}
