//! Tests of the `dbackup-worker` binary: configuration errors, bind errors, SIGTERM.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_dbackup-worker");
const TOKEN: &str = "test-token-0123456789abcdef-0123456789";

fn worker() -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_remove("DBACKUP_WORKER_TOKEN")
        .env_remove("DBACKUP_WORKER_LISTEN")
        .env_remove("DBACKUP_PG_BIN_DIRS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs to completion (with a timeout) and returns (exit code, stderr).
fn run(mut cmd: Command) -> (Option<i32>, String) {
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("worker did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status.code(), stderr)
}

fn one_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one stderr line, got {stderr:?}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    lines[0]
}

#[test]
fn missing_token_exits_2_with_one_line() {
    let (code, stderr) = run(worker());
    assert_eq!(code, Some(2));
    assert_eq!(
        one_line(&stderr),
        "dbackup-worker: DBACKUP_WORKER_TOKEN is not set"
    );
}

#[test]
fn short_token_exits_2_without_echoing_it() {
    let mut cmd = worker();
    cmd.env("DBACKUP_WORKER_TOKEN", "tooshort-secret");
    let (code, stderr) = run(cmd);
    assert_eq!(code, Some(2));
    let line = one_line(&stderr);
    assert!(line.contains("DBACKUP_WORKER_TOKEN"), "{line}");
    assert!(line.contains("at least 32"), "{line}");
    assert!(!line.contains("tooshort-secret"), "{line}");
}

#[test]
fn token_flag_is_refused() {
    let mut cmd = worker();
    cmd.env("DBACKUP_WORKER_TOKEN", TOKEN)
        .args(["--token", TOKEN]);
    let (code, stderr) = run(cmd);
    assert_eq!(code, Some(2));
    let line = one_line(&stderr);
    assert!(line.contains("DBACKUP_WORKER_TOKEN"), "{line}");
    assert!(!line.contains(TOKEN), "{line}");
}

#[test]
fn port_in_use_exits_1_with_one_line() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let mut cmd = worker();
    cmd.env("DBACKUP_WORKER_TOKEN", TOKEN)
        .env("DBACKUP_WORKER_LISTEN", addr.to_string());
    let (code, stderr) = run(cmd);
    assert_eq!(code, Some(1));
    assert_eq!(
        one_line(&stderr),
        format!("dbackup-worker: cannot listen on {addr}: Address already in use")
    );
    drop(taken);
}

#[test]
fn sigterm_shuts_down_cleanly() {
    let mut cmd = worker();
    cmd.env("DBACKUP_WORKER_TOKEN", TOKEN)
        .env("DBACKUP_WORKER_LISTEN", "127.0.0.1:1") // overridden by the flag
        .args(["--listen", "127.0.0.1:0"]);
    let mut child = cmd.spawn().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    let addr = first
        .trim()
        .rsplit(' ')
        .next()
        .and_then(|a| a.parse::<std::net::SocketAddr>().ok())
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
    assert_ne!(addr.port(), 0);

    // It serves.
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    std::io::Write::write_all(
        &mut stream,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("worker ignored SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(rest.contains("GET /healthz 200"), "{rest}");
    assert!(rest.contains("shutting down"), "{rest}");
}
