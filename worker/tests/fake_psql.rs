//! Checks what the worker hands to the client tool (argv, environment, stdin) and that
//! the overall timeout kills it, using a stand-in `psql` found via DBACKUP_PG_BIN_DIRS.
//! Everything runs sequentially in one test so no other thread forks while the scripts
//! are being written (avoids ETXTBSY).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::TOKEN;
use dbackup_worker::{serve, Config};
use http::StatusCode;
use serde_json::json;

const PASSWORD: &str = "s3cr3t-P@ss";

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dbackup-worker-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_script(dir: &Path, body: &str) {
    let path = dir.join("psql");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn wait_exit(child: &mut std::process::Child) -> Option<i32> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        assert!(Instant::now() < deadline, "worker did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn client_tool_gets_secrets_only_via_env_and_is_killed_on_timeout() {
    // --- argv / env / stdin, through the real binary with a polluted environment ---
    let dir = temp_dir("fake-psql");
    let rec = dir.join("rec");
    write_script(
        &dir,
        &format!(
            "printf '%s\\n' \"$@\" > {rec}.argv\nenv > {rec}.env\ncat > {rec}.stdin\n\
             printf '16.4 (fake)\\npostgres\\nzeta\\n'",
            rec = rec.display()
        ),
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_dbackup-worker"))
        .args(["--listen", "127.0.0.1:0"])
        .env("DBACKUP_WORKER_TOKEN", TOKEN)
        .env("DBACKUP_PG_BIN_DIRS", &dir)
        .env("PGHOST", "evil.example")
        .env("PGPASSFILE", "/nonexistent/pgpass")
        .env("PGOPTIONS", "-c statement_timeout=1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    let addr: std::net::SocketAddr = first.trim().rsplit(' ').next().unwrap().parse().unwrap();

    let body = json!({
        "engine": "postgresql", "host": "127.0.0.1", "port": 5432, "user": "postgres",
        "password": PASSWORD, "sslmode": "require", "database": "test",
    })
    .to_string();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST /v1/probe HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let json: serde_json::Value =
        serde_json::from_str(response.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(json["version"], "16.4 (fake)");
    assert_eq!(json["majorVersion"], 16);
    assert_eq!(
        json["databases"],
        json!([{"name": "postgres", "system": true}, {"name": "zeta", "system": false}])
    );

    let argv = std::fs::read_to_string(rec.with_extension("argv")).unwrap();
    let args: Vec<&str> = argv.lines().collect();
    assert_eq!(
        args,
        [
            "-X",
            "-A",
            "-t",
            "-q",
            "-w",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-p",
            "5432",
            "-U",
            "postgres",
            "-d",
            "test"
        ]
    );
    assert!(!argv.contains(PASSWORD));

    let env = std::fs::read_to_string(rec.with_extension("env")).unwrap();
    let vars: Vec<&str> = env.lines().collect();
    for expected in [
        format!("PGPASSWORD={PASSWORD}"),
        "PGCONNECT_TIMEOUT=10".into(),
        "PGSSLMODE=require".into(),
    ] {
        assert!(
            vars.contains(&expected.as_str()),
            "missing {expected}: {env}"
        );
    }
    for forbidden in ["PGHOST=", "PGPASSFILE=", "PGOPTIONS=", "DBACKUP_"] {
        assert!(
            !vars.iter().any(|v| v.starts_with(forbidden)),
            "{forbidden} leaked: {env}"
        );
    }
    assert!(!env.contains(TOKEN), "worker token leaked to the child");

    let stdin = std::fs::read_to_string(rec.with_extension("stdin")).unwrap();
    assert!(
        stdin.contains("SELECT current_setting('server_version');"),
        "{stdin}"
    );
    assert!(stdin.contains("FROM pg_database"), "{stdin}");

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(wait_exit(&mut child), Some(0));
    let mut log = String::new();
    stderr.read_to_string(&mut log).unwrap();
    assert!(log.contains("POST /v1/probe 200"), "{log}");
    assert!(!log.contains(PASSWORD) && !log.contains(TOKEN), "{log}");
    std::fs::remove_dir_all(&dir).unwrap();

    // --- overall timeout: in-process server with a 1 s limit and a tool that hangs ---
    let dir = temp_dir("slow-psql");
    let pid_file = dir.join("pid");
    write_script(
        &dir,
        &format!("echo $$ > {}\nexec sleep 60", pid_file.display()),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = Config {
        listen: addr,
        token: TOKEN.into(),
        pg_bin_dirs: vec![dir.clone()],
        probe_timeout: Duration::from_secs(1),
        max_tasks: dbackup_worker::DEFAULT_MAX_TASKS,
        ca_file: None,
        local_roots: dbackup_worker::LocalRoots::new(vec![std::env::temp_dir()], None),
        pool: None,
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, config, async move {
        let _ = stopped.await;
    }));
    let started = Instant::now();
    let req = http::Request::post("/v1/probe")
        .header("host", "x")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(http_body_util::Full::new(bytes::Bytes::from(
            json!({"engine": "postgresql", "host": "127.0.0.1", "port": 5432, "user": "postgres"})
                .to_string(),
        )))
        .unwrap();
    let reply = common::send(addr, req).await;
    assert_eq!(reply.status, StatusCode::GATEWAY_TIMEOUT, "{}", reply.text);
    assert_eq!(reply.json["error"], "timed out");
    assert!(started.elapsed() < Duration::from_secs(10));

    // The hung tool was killed.
    let pid = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let alive = Path::new(&format!("/proc/{pid}")).exists()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|s| s.contains(") Z "))
                .unwrap_or(true);
        if !alive {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "psql stand-in {pid} still running"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let _ = stop.send(());
    server.await.unwrap().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
