//! The host binary against hostile clients and a hostile environment (issue 14, findings 8 and
//! 9): request bodies over a route's limit are refused with 413 before they are read, slow
//! clients (headers one byte a second, a stalled body, an idle connection) are cut off at their
//! time bound, and all the while other clients are served quickly; the worker the host starts
//! sees none of the host's secrets.

use dbackup_tests::{
    bin, collect_lines, dbackup_command, free_port, get, probe_manifest_with_variables, random_hex,
    repo, request, share_compile_cache, warm_real_app, write_manifest, CollectedLines, TempDir,
};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

const MIB: usize = 1024 * 1024;

/// A `dbackup` process; SIGTERM when dropped, so it stops its worker too.
struct Host {
    child: Child,
    addr: SocketAddr,
    /// The host's stderr (kept for failure messages).
    _lines: CollectedLines,
    _dir: TempDir,
}

impl Host {
    /// `dbackup --manifest <manifest> --data-dir <dir>/data --listen <free port> [extra]` with
    /// no `SPIN_VARIABLE_*` from the test's environment and `env` set; waits until it serves.
    async fn start(dir: TempDir, manifest: &Path, extra: &[&str], env: &[(&str, String)]) -> Self {
        let data = dir.join("data");
        share_compile_cache(&data);
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let mut cmd = dbackup_command(manifest, &data, addr, extra, env);
        let mut child = cmd.spawn().expect("start dbackup");
        let (lines, _reader) = collect_lines(child.stderr.take().expect("stderr"));
        let serving = format!("dbackup: serving on http://{addr}");
        let deadline = Instant::now() + Duration::from_secs(120);
        while !lines.lock().expect("lines").contains(&serving) {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "dbackup exited ({status}): {:#?}",
                    lines.lock().expect("lines")
                );
            }
            assert!(
                Instant::now() < deadline,
                "dbackup did not start: {:#?}",
                lines.lock().expect("lines")
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Host {
            child,
            addr,
            _lines: lines,
            _dir: dir,
        }
    }

    /// The repository's app with its worker, the four required variables plus `extra_env`.
    async fn real_app(extra_env: &[(&str, String)]) -> (Self, Vec<(&'static str, String)>) {
        warm_real_app().await;
        let vars = vec![
            ("SPIN_VARIABLE_ENCRYPTION_KEY", random_hex()),
            ("SPIN_VARIABLE_SESSION_SECRET", random_hex()),
            ("SPIN_VARIABLE_WORKER_TOKEN", random_hex()),
            (
                "SPIN_VARIABLE_WORKER_URL",
                format!("http://127.0.0.1:{}", free_port()),
            ),
        ];
        let mut env: Vec<(&str, String)> = vars.clone();
        env.extend(extra_env.iter().cloned());
        let host = Host::start(TempDir::new(), &repo().join("spin.toml"), &[], &env).await;
        (host, vars)
    }

    fn pid(&self) -> u32 {
        self.child.id().expect("dbackup runs")
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            if let Some(pid) = self.child.id().and_then(|p| i32::try_from(p).ok()) {
                // SAFETY: kill(2) on a child process this test started.
                unsafe {
                    libc::kill(pid, libc::SIGTERM);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Finding 8: the worker's environment
// ---------------------------------------------------------------------------------------------

/// The pids of the processes whose parent is `parent`.
fn children_of(parent: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("read /proc").flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // `pid (comm) state ppid …`; comm may contain spaces and parentheses.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(parent) {
            out.push(pid);
        }
    }
    out
}

fn environ(pid: u32) -> Vec<(String, String)> {
    let raw = std::fs::read(format!("/proc/{pid}/environ")).expect("read environ");
    raw.split(|b| *b == 0)
        .filter(|e| !e.is_empty())
        .map(|e| {
            let text = String::from_utf8_lossy(e).into_owned();
            match text.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => (text, String::new()),
            }
        })
        .collect()
}

#[tokio::test]
async fn the_worker_gets_an_allow_listed_environment() {
    let spin_canary = format!("spin-canary-{}", random_hex());
    let other_canary = format!("other-canary-{}", random_hex());
    let roots = TempDir::new();
    let roots_value = roots.path().display().to_string();
    let (host, vars) = Host::real_app(&[
        ("SPIN_VARIABLE_CANARY", spin_canary.clone()),
        ("SOME_CANARY", other_canary.clone()),
        ("DBACKUP_LOCAL_ROOTS", roots_value.clone()),
        ("DBACKUP_WORKER_MAX_TASKS", "3".to_owned()),
    ])
    .await;
    let workers: Vec<u32> = children_of(host.pid())
        .into_iter()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "dbackup-worker")
        })
        .collect();
    assert_eq!(workers.len(), 1, "one worker child expected: {workers:?}");
    let env = environ(workers[0]);
    let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();

    for (k, v) in &env {
        assert!(!k.starts_with("SPIN_VARIABLE_"), "{k} reached the worker");
        assert!(
            !v.contains(&spin_canary) && !v.contains(&other_canary),
            "a canary reached the worker in {k}"
        );
        for (name, secret) in &vars {
            if *name != "SPIN_VARIABLE_WORKER_TOKEN" && *name != "SPIN_VARIABLE_WORKER_URL" {
                assert!(!v.contains(secret.as_str()), "{name}'s value is in {k}");
            }
        }
    }
    assert!(!names.contains(&"SOME_CANARY"), "{names:?}");
    let get = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    assert_eq!(get("DBACKUP_LOCAL_ROOTS"), Some(roots_value));
    assert_eq!(get("DBACKUP_WORKER_MAX_TASKS").as_deref(), Some("3"));
    let data_dir = get("DBACKUP_WORKER_DATA_DIR").expect("the data dir is passed");
    assert!(Path::new(&data_dir).is_absolute(), "{data_dir}");
    assert!(
        Path::new(&data_dir).join("dbackup.db").is_file(),
        "{data_dir}"
    );
    assert!(get("PATH").is_some(), "{names:?}");
    // The token the worker needs, and only under the worker's own name.
    let token = vars
        .iter()
        .find(|(k, _)| *k == "SPIN_VARIABLE_WORKER_TOKEN")
        .map(|(_, v)| v.clone());
    assert_eq!(get("DBACKUP_WORKER_TOKEN"), token);
    drop(host);
}

// ---------------------------------------------------------------------------------------------
// Finding 9: request limits
// ---------------------------------------------------------------------------------------------

/// What a raw client saw: the response text read (head and what followed) and how many body
/// bytes it managed to send before the host stopped taking them.
struct RawOutcome {
    response: String,
    sent: usize,
    elapsed: Duration,
}

impl RawOutcome {
    fn status(&self) -> Option<u16> {
        self.response
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
    }

    fn body_json(&self) -> serde_json::Value {
        let body = self
            .response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or_default();
        serde_json::from_str(body)
            .unwrap_or_else(|e| panic!("not a JSON body ({e}): {:?}", self.response))
    }
}

/// Sends `head`, then `total` body bytes (as chunks of 64 KiB, chunk-encoded if `chunked`)
/// while reading the answer at the same time; stops at the first write error or when the
/// answer is complete (the host closed the connection).
async fn send_large(addr: SocketAddr, head: String, total: usize, chunked: bool) -> RawOutcome {
    let started = Instant::now();
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut rd, mut wr) = stream.into_split();
    let writer = tokio::spawn(async move {
        if wr.write_all(head.as_bytes()).await.is_err() {
            return 0;
        }
        let block = vec![b'x'; 64 * 1024];
        let mut sent = 0;
        while sent < total {
            let n = block.len().min(total - sent);
            let result = if chunked {
                let mut frame = format!("{n:x}\r\n").into_bytes();
                frame.extend_from_slice(&block[..n]);
                frame.extend_from_slice(b"\r\n");
                wr.write_all(&frame).await
            } else {
                wr.write_all(&block[..n]).await
            };
            if result.is_err() {
                return sent;
            }
            sent += n;
        }
        if chunked {
            let _ = wr.write_all(b"0\r\n\r\n").await;
        }
        sent
    });
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => response.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no complete answer within 120 s");
    let elapsed = started.elapsed();
    let sent = tokio::time::timeout(Duration::from_secs(60), writer)
        .await
        .expect("the writer stops once the host closes")
        .expect("writer task");
    RawOutcome {
        response: String::from_utf8_lossy(&response).into_owned(),
        sent,
        elapsed,
    }
}

/// Like a browser uploading a file (no `Expect: 100-continue`): sends the head and the whole
/// body of `len` bytes, and only then reads the answer. Returns whether every write was
/// accepted, and the answer read (head and body, up to the host's close).
async fn send_then_read(
    addr: SocketAddr,
    head: String,
    len: usize,
) -> (std::io::Result<()>, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut bytes = head.into_bytes();
    bytes.resize(bytes.len() + len, b'{');
    let written = stream.write_all(&bytes).await;
    let (text, _) = read_to_close(&mut stream, Duration::from_secs(30)).await;
    (written, text)
}

/// Polls `GET /api/health` every 100 ms until `stop`; returns every latency (all must be 200).
fn health_probe(
    addr: SocketAddr,
    stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<Vec<Duration>> {
    tokio::spawn(async move {
        let mut latencies = Vec::new();
        while !*stop.borrow() {
            let started = Instant::now();
            let resp = get(addr, "/api/health").await;
            assert_eq!(resp.status, 200, "{}", resp.text());
            latencies.push(started.elapsed());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        latencies
    })
}

fn summary(latencies: &[Duration]) -> (usize, Duration, Duration) {
    let mut sorted = latencies.to_vec();
    sorted.sort();
    let max = sorted.last().copied().unwrap_or_default();
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or_default();
    (sorted.len(), median, max)
}

#[tokio::test]
async fn oversized_bodies_are_refused_unread_while_others_are_served() {
    let (host, _) = Host::real_app(&[]).await;
    let addr = host.addr;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let probe = health_probe(addr, stop_rx);

    // Eight clients keep sending 100 MiB bodies (declared, then chunked) for three seconds,
    // while the probe measures an ordinary request.
    let hundred = 100 * MIB;
    let abusers: Vec<_> = (0..8)
        .map(|_| {
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                let until = Instant::now() + Duration::from_secs(3);
                while Instant::now() < until {
                    let declared = send_large(
                        addr,
                        format!(
                            "POST /api/auth/login HTTP/1.1\r\nHost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {hundred}\r\n\r\n"
                        ),
                        hundred,
                        false,
                    )
                    .await;
                    let chunked = send_large(
                        addr,
                        format!(
                            "POST /api/auth/login HTTP/1.1\r\nHost: {addr}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
                        ),
                        hundred,
                        true,
                    )
                    .await;
                    outcomes.push((declared, chunked));
                }
                outcomes
            })
        })
        .collect();
    let mut rounds = Vec::new();
    for a in abusers {
        rounds.extend(a.await.expect("abusive client"));
    }
    // A larger limit for the config restore route, 32 MiB: over it the same refusal.
    let restore = send_large(
        addr,
        format!(
            "POST /api/system/config-restore HTTP/1.1\r\nHost: {addr}\r\ncontent-length: {}\r\n\r\n",
            40 * MIB
        ),
        40 * MIB,
        false,
    )
    .await;
    stop_tx.send(true).expect("stop the probe");
    let latencies = probe.await.expect("probe");
    eprintln!(
        "{} rounds of 2 × 100 MiB bodies refused by 8 clients in 3 s",
        rounds.len()
    );
    let (declared, chunked) = rounds.pop().expect("at least one round");
    for (i, (d, c)) in rounds.iter().enumerate() {
        assert_eq!(d.status(), Some(413), "round {i}: {:?}", d.response);
        assert_eq!(c.status(), Some(413), "round {i}: {:?}", c.response);
        assert!(d.sent < 32 * MIB && c.sent < 32 * MIB, "round {i}");
    }

    for (what, outcome, limit) in [
        ("declared 100 MiB", &declared, MIB),
        ("chunked 100 MiB", &chunked, MIB),
        ("config restore 40 MiB", &restore, 32 * MIB),
    ] {
        eprintln!(
            "{what}: {:?} after {:?}, {} KiB of the body sent before the host closed",
            outcome.status(),
            outcome.elapsed,
            outcome.sent / 1024
        );
        assert_eq!(
            outcome.status(),
            Some(413),
            "{what}: {:?}",
            outcome.response
        );
        let body = outcome.body_json();
        assert!(
            body["error"]
                .as_str()
                .is_some_and(|e| e.contains("too large")),
            "{what}: {body}"
        );
        assert_eq!(body["details"]["limit"], limit as u64, "{what}: {body}");
        assert!(
            outcome
                .response
                .to_ascii_lowercase()
                .contains("connection: close"),
            "{what}: {:?}",
            outcome.response
        );
        assert!(
            outcome.elapsed < Duration::from_secs(10),
            "{what}: answered after {:?}",
            outcome.elapsed
        );
    }
    // Not read to its end: the host stopped taking the body long before 100 MiB (what was sent
    // is at most the limit, plus the 4 MiB the lingering close discards, plus what the sockets'
    // buffers hold).
    assert!(
        declared.sent < 32 * MIB,
        "declared: sent {} bytes",
        declared.sent
    );
    assert!(
        chunked.sent < 32 * MIB,
        "chunked: sent {} bytes",
        chunked.sent
    );

    let (count, median, max) = summary(&latencies);
    eprintln!("GET /api/health meanwhile: {count} requests, median {median:?}, max {max:?}");
    assert!(count >= 10, "the probe ran {count} times");
    assert!(
        max < Duration::from_secs(2),
        "a normal request took {max:?}"
    );

    // Under the route's own limit, the body reaches the component (the gate answers: no
    // session), while 2 MiB anywhere else is over the default 1 MiB.
    let two = vec![b'{'; 2 * MIB];
    let resp = request(
        addr,
        "POST",
        "/api/system/config-restore",
        &[],
        Some(two.clone()),
    )
    .await
    .expect("config restore");
    assert_eq!(resp.status, 401, "{}", resp.text());
    // A client still writing the body it is refused reads the 413, not a connection reset: the
    // host closes lingering (it reads and discards what follows the answer, within bounds).
    for i in 0..5 {
        let (written, text) = send_then_read(
            addr,
            format!(
                "POST /api/auth/login HTTP/1.1\r\nHost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                two.len()
            ),
            two.len(),
        )
        .await;
        assert!(
            written.is_ok(),
            "round {i}: the host reset the connection while the body was sent: {written:?}, read {text:?}"
        );
        assert!(text.starts_with("HTTP/1.1 413"), "round {i}: {text:?}");
        let resp = request(
            addr,
            "POST",
            "/api/auth/login",
            &[("content-type", "application/json")],
            Some(two.clone()),
        )
        .await
        .unwrap_or_else(|e| panic!("login {i}: {e:#}"));
        assert_eq!(resp.status, 413, "{}", resp.text());
        assert_eq!(resp.json()["details"]["limit"], MIB as u64);
    }
    drop(host);
}

/// Opens a connection and sends `text` one byte per `every`; returns how long after the first
/// byte the host closed the connection (`None`: it took the whole text and answered).
async fn trickle(addr: SocketAddr, text: &'static [u8], every: Duration) -> Option<Duration> {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let started = Instant::now();
    for byte in text {
        if stream.write_all(&[*byte]).await.is_err() {
            return Some(started.elapsed());
        }
        // A closed connection shows as EOF on read before a write fails.
        let mut buf = [0u8; 256];
        match tokio::time::timeout(every, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            // Answered: the host waited for the whole head, however long it took.
            Ok(Ok(_)) => return None,
            Err(_) => {}
        }
    }
    None
}

#[tokio::test]
async fn slow_loris_is_cut_off_at_the_header_timeout_while_others_are_served() {
    let (host, _) = Host::real_app(&[]).await;
    let addr = host.addr;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let probe = health_probe(addr, stop_rx);
    const HEAD: &[u8] = b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let lorises: Vec<_> = (0..50)
        .map(|_| tokio::spawn(trickle(addr, HEAD, Duration::from_secs(1))))
        .collect();
    let mut cut = Vec::new();
    for l in lorises {
        cut.push(l.await.expect("slow client"));
    }
    stop_tx.send(true).expect("stop the probe");
    let latencies = probe.await.expect("probe");

    let times: Vec<Duration> = cut
        .iter()
        .map(|c| c.expect("the host closed the slow connection before its headers were complete"))
        .collect();
    let (_, _, latest) = summary(&times);
    let earliest = times.iter().min().copied().unwrap_or_default();
    eprintln!("50 slow clients cut off after {earliest:?} .. {latest:?} (header timeout 10 s)");
    assert!(
        earliest >= Duration::from_secs(9),
        "cut off early: {earliest:?}"
    );
    assert!(latest < Duration::from_secs(14), "cut off late: {latest:?}");

    let (count, median, max) = summary(&latencies);
    eprintln!("GET /api/health meanwhile: {count} requests, median {median:?}, max {max:?}");
    assert!(count >= 20, "the probe ran {count} times");
    assert!(
        max < Duration::from_secs(2),
        "a normal request took {max:?}"
    );
    drop(host);
}

/// A probe manifest whose host limits are short enough to watch: 2 s for headers, idleness and
/// a body; 1000 bytes per body, 5000 on `/big`.
fn short_limits_manifest(dir: &Path) -> std::path::PathBuf {
    let mut toml = probe_manifest_with_variables(
        "worker_url = { default = \"http://127.0.0.1:9\" }\nworker_token = { default = \"t\" }",
        &["/..."],
        "",
    );
    toml.push_str(
        "\n[application.tool.dbackup]\nmax_body_bytes = 1000\nheader_read_timeout_secs = 2\n\
         idle_timeout_secs = 2\nbody_read_timeout_secs = 2\n\
         [[application.tool.dbackup.body_limits]]\npath = \"/big\"\nmax_bytes = 5000\n",
    );
    write_manifest(dir, &toml)
}

/// Reads until EOF (or an error); returns what was read and when the connection ended.
async fn read_to_close(stream: &mut TcpStream, limit: Duration) -> (String, Option<Duration>) {
    let started = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let ended = tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .is_ok();
    (
        String::from_utf8_lossy(&out).into_owned(),
        ended.then(|| started.elapsed()),
    )
}

#[tokio::test]
async fn idle_connections_and_slow_bodies_are_bounded() {
    let dir = TempDir::new();
    let manifest = short_limits_manifest(dir.path());
    let host = Host::start(dir, &manifest, &["--no-worker"], &[]).await;
    let addr = host.addr;

    // A connection that never sends a byte.
    let mut silent = TcpStream::connect(addr).await.expect("connect");
    let (text, closed) = read_to_close(&mut silent, Duration::from_secs(10)).await;
    let closed = closed.expect("an idle connection is closed");
    assert!(text.is_empty(), "{text}");
    assert!(
        closed >= Duration::from_millis(1800) && closed < Duration::from_secs(5),
        "closed after {closed:?}"
    );

    // A kept-alive connection after its request: closed once idle.
    let mut kept = TcpStream::connect(addr).await.expect("connect");
    kept.write_all(format!("GET /?action=headers HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .expect("send");
    let (text, closed) = read_to_close(&mut kept, Duration::from_secs(10)).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let closed = closed.expect("an idle kept-alive connection is closed");
    assert!(closed < Duration::from_secs(5), "closed after {closed:?}");

    // A body that stops coming: 408 at the body-read bound.
    let mut slow = TcpStream::connect(addr).await.expect("connect");
    slow.write_all(
        format!("POST /?action=headers HTTP/1.1\r\nHost: {addr}\r\ncontent-length: 100\r\n\r\n0123456789")
            .as_bytes(),
    )
    .await
    .expect("send");
    let (text, closed) = read_to_close(&mut slow, Duration::from_secs(10)).await;
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("not received within 2 s"), "{text}");
    let closed = closed.expect("closed after the 408");
    assert!(
        closed >= Duration::from_millis(1800) && closed < Duration::from_secs(5),
        "closed after {closed:?}"
    );

    // The per-route limit from the manifest.
    let body = vec![b'x'; 4000];
    let big = request(addr, "POST", "/big?action=headers", &[], Some(body.clone()))
        .await
        .expect("big");
    assert_eq!(big.status, 200, "{}", big.text());
    let other = request(addr, "POST", "/other?action=headers", &[], Some(body))
        .await
        .expect("other");
    assert_eq!(other.status, 413, "{}", other.text());
    assert_eq!(other.json()["details"]["limit"], 1000);
    drop(host);
}

#[tokio::test]
async fn limits_in_the_manifest_are_checked_at_start() {
    let dir = TempDir::new();
    let mut toml = probe_manifest_with_variables("", &["/..."], "");
    toml.push_str("\n[application.tool.dbackup]\nmax_body_byte = 10\n");
    let manifest = write_manifest(dir.path(), &toml);
    let out = Command::new(bin("dbackup"))
        .arg("--manifest")
        .arg(&manifest)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--listen")
        .arg(format!("127.0.0.1:{}", free_port()))
        .arg("--no-worker")
        .output()
        .await
        .expect("run dbackup");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("[application.tool.dbackup]"), "{stderr}");
    assert!(stderr.contains("max_body_byte"), "{stderr}");
}
