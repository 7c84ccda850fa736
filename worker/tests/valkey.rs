//! Valkey 8 (Debian bookworm-backports `valkey-server`, installed by `cargo xtask test`'s
//! prepare()): backup with `redis-cli --rdb` (or `valkey-cli`), restore by RDB placement into
//! a fresh Valkey, and the cross-version refusal (Valkey 8 writes RDB 11, Redis 7.0 loads
//! ≤ 10). `#[ignore]`d, so a plain `cargo nextest run` counts it as skipped; `cargo xtask test`
//! runs it, and then a missing valkey-server fails it (README, "Tests that need a server").

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::cli::config;
use dbackup_worker::format::Compression;
use dbackup_worker::tasks::{self, BackupPlan, BackupRequest, RestorePlan, RestoreRequest};
use serde_json::{json, Value};

const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

struct Server {
    child: std::process::Child,
    port: u16,
    cli: &'static str,
}

impl Server {
    fn start(program: &str, cli: &'static str, dir: &Path, dbfilename: &str) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(program)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir)
            .args(["--dbfilename", dbfilename])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = Server { child, port, cli };
        for _ in 0..200 {
            if server.try_cli(&["ping"]).is_some_and(|o| o == "PONG") {
                return server;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        panic!("{program} did not start");
    }

    fn try_cli(&self, args: &[&str]) -> Option<String> {
        let out = Command::new(self.cli)
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    fn cli(&self, args: &[&str]) -> String {
        self.try_cli(args).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn restore(base: &Path, object: &str, target: Value) -> Result<Value, String> {
    let req: RestoreRequest = serde_json::from_value(json!({
        "source": {"storage": {"kind": "local", "path": base}, "objectName": object},
        "encryption": {"keyHex": KEY_HEX},
        "target": target,
    }))
    .unwrap();
    let plan = RestorePlan::new(req).map_err(|e| e.to_string())?;
    tasks::run_restore(
        &config(),
        &tasks::detached_task(tasks::TaskKind::Restore),
        &plan,
    )
    .map(|r| serde_json::to_value(r).unwrap())
}

#[test]
#[ignore = "needs Valkey (valkey-server); cargo xtask test runs it"]
fn valkey_round_trip_and_cross_version_refusal() {
    assert!(
        have("valkey-server"),
        "Valkey not available: valkey-server is not installed (cargo xtask test installs it \
         from bookworm-backports; the install failed or was not run)"
    );
    let src = tempfile::tempdir().unwrap();
    let server = Server::start("valkey-server", "valkey-cli", src.path(), "dump.rdb");
    for i in 0..300 {
        server.cli(&["SET", &format!("key:{i}"), &format!("value-{i}")]);
    }
    server.cli(&["HSET", "h", "f1", "v1", "f2", "v2"]);
    server.cli(&["ZADD", "z", "1", "a", "2", "b"]);

    let base = tempfile::tempdir().unwrap();
    let req: BackupRequest = serde_json::from_value(json!({
        "source": {"engine": "valkey", "host": "127.0.0.1", "port": server.port},
        "compression": Compression::Zstd,
        "encryption": {"keyHex": KEY_HEX},
        "destinations": [{"id": "d1", "storage": {"kind": "local", "path": base.path()}}],
        "jobName": "valkey",
    }))
    .unwrap();
    let plan = BackupPlan::new(req).unwrap();
    let result = tasks::run_backup(
        &config(),
        &tasks::detached_task(tasks::TaskKind::Backup),
        &plan,
    )
    .map(|r| serde_json::to_value(r).unwrap())
    .unwrap();
    let object = result["objectName"].as_str().unwrap().to_owned();

    // Onto a target that loads at most RDB 10 (Redis 7.0): refused, nothing written there.
    let dst = tempfile::tempdir().unwrap();
    let rdb = dst.path().join("restored.rdb");
    let err = restore(
        base.path(),
        &object,
        json!({"engine": "valkey", "rdbPath": rdb, "maxRdbVersion": 10}),
    )
    .unwrap_err();
    assert!(err.contains("RDB version 11"), "{err}");
    assert_eq!(std::fs::read_dir(dst.path()).unwrap().count(), 0);

    // Onto Valkey (loads 11): placed, and a fresh server loads it.
    restore(
        base.path(),
        &object,
        json!({"engine": "valkey", "rdbPath": rdb, "maxRdbVersion": 11}),
    )
    .unwrap();
    let restored = Server::start("valkey-server", "valkey-cli", dst.path(), "restored.rdb");
    assert_eq!(restored.cli(&["DBSIZE"]), "302");
    assert_eq!(restored.cli(&["GET", "key:217"]), "value-217");
    assert_eq!(restored.cli(&["HGET", "h", "f2"]), "v2");
    assert_eq!(restored.cli(&["ZRANGE", "z", "0", "-1"]), "a\nb");

    // A Redis 7.0 RDB (version 10) loads into Valkey 8 too (redis-server: the engines tests
    // need it as well).
    let rsrc = tempfile::tempdir().unwrap();
    let redis = Server::start("redis-server", "redis-cli", rsrc.path(), "dump.rdb");
    redis.cli(&["SET", "from", "redis"]);
    let rbase = tempfile::tempdir().unwrap();
    let req: BackupRequest = serde_json::from_value(json!({
        "source": {"engine": "redis", "host": "127.0.0.1", "port": redis.port},
        "compression": Compression::Gzip,
        "encryption": {"keyHex": KEY_HEX},
        "destinations": [{"id": "d1", "storage": {"kind": "local", "path": rbase.path()}}],
        "jobName": "redis",
    }))
    .unwrap();
    let plan = BackupPlan::new(req).unwrap();
    let r = tasks::run_backup(
        &config(),
        &tasks::detached_task(tasks::TaskKind::Backup),
        &plan,
    )
    .map(|r| serde_json::to_value(r).unwrap())
    .unwrap();
    let vdst = tempfile::tempdir().unwrap();
    restore(
        rbase.path(),
        r["objectName"].as_str().unwrap(),
        json!({"engine": "valkey", "rdbPath": vdst.path().join("r.rdb"), "maxRdbVersion": 11}),
    )
    .unwrap();
    let v = Server::start("valkey-server", "valkey-cli", vdst.path(), "r.rdb");
    assert_eq!(v.cli(&["GET", "from"]), "redis");
}
