//! Outgoing HTTP from components: only to `allowed_outbound_hosts`, and never to a link-local or
//! cloud metadata address, whatever the URL looks like (checked by the host after resolution).

use dbackup_tests::{encode, get, probe_manifest, start_host};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A tiny HTTP server answering every request with 418; counts the requests it gets.
struct Teapot {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Teapot {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let counter = counter.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 1024];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    counter.fetch_add(1, Ordering::SeqCst);
                    let _ = stream
                        .write_all(
                            b"HTTP/1.1 418 I'm a teapot\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                        )
                        .await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Teapot { addr, hits, task }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for Teapot {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn outbound(host: SocketAddr, url: &str) -> Value {
    let resp = get(host, &format!("/?action=outbound&url={}", encode(url))).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    resp.json()
}

fn assert_denied(answer: &Value) {
    let err = answer["error"]
        .as_str()
        .unwrap_or_else(|| panic!("expected a denial, got {answer}"));
    assert!(err.contains("HttpRequestDenied"), "{err}");
}

#[tokio::test]
async fn only_allowed_hosts_are_reachable() {
    let allowed = Teapot::start().await;
    let other = Teapot::start().await;
    let host = start_host(
        &probe_manifest(
            &["/..."],
            &format!("allowed_outbound_hosts = [\"{}\"]", allowed.url()),
        ),
        &[],
    )
    .await;
    let addr = host.addr();

    assert_eq!(
        outbound(addr, &format!("{}/some/path?q=1", allowed.url())).await,
        json!({"status": 418})
    );
    assert_eq!(allowed.hits(), 1);

    // Same host, another port: denied before any connection is made.
    assert_denied(&outbound(addr, &other.url()).await);
    // Another scheme or host name for the allowed address: denied too.
    assert_denied(&outbound(addr, &format!("https://{}", allowed.addr)).await);
    assert_denied(&outbound(addr, &format!("http://localhost:{}", allowed.addr.port())).await);
    assert_eq!(other.hits(), 0);
    assert_eq!(allowed.hits(), 1);
    host.shutdown().await;
}

#[tokio::test]
async fn no_allowed_hosts_means_no_outbound_requests() {
    let server = Teapot::start().await;
    for settings in ["", "allowed_outbound_hosts = []"] {
        let host = start_host(&probe_manifest(&["/..."], settings), &[]).await;
        assert_denied(&outbound(host.addr(), &server.url()).await);
        // Not even the host itself.
        assert_denied(&outbound(host.addr(), &format!("http://{}/", host.addr())).await);
        host.shutdown().await;
    }
    assert_eq!(server.hits(), 0);
}

/// The fixture sends the request itself, so no validation of the URL happens before the host:
/// the refusal at connect time is the only defence exercised here.
#[tokio::test]
async fn metadata_and_link_local_addresses_are_refused_at_connect_time() {
    let server = Teapot::start().await;
    let host = start_host(
        &probe_manifest(
            &["/..."],
            "allowed_outbound_hosts = [\"http://*:*\", \"https://*:*\"]",
        ),
        &[],
    )
    .await;
    let addr = host.addr();
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "https://169.254.169.254/",
        "http://169.254.169.254:8080/",
        "http://[fe80::1]/",
        "http://[fe80::a9fe:a9fe]:3000/",
        "http://[fd00:ec2::254]/",
        "http://100.100.100.200/",
        // IPv4 inside IPv6, and the numeric forms the resolver reads as 169.254.169.254.
        "http://[::ffff:169.254.169.254]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://0xa9fea9fe/",
        "http://2852039166/",
        "http://169.254.43518/",
    ] {
        let started = Instant::now();
        let answer = tokio::time::timeout(Duration::from_secs(15), outbound(addr, url))
            .await
            .unwrap_or_else(|_| panic!("{url}: no answer within 15 s (a connection attempt?)"));
        let err = answer["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{url}: expected a refusal, got {answer}"));
        assert!(
            err.contains("refused") && err.contains("link-local or cloud metadata"),
            "{url}: {err}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{url}: refused only after {:?}",
            started.elapsed()
        );
    }
    // Loopback (and private ranges) stay reachable: self-hosted services live there.
    assert_eq!(
        outbound(addr, &format!("{}/ok", server.url())).await,
        json!({"status": 418})
    );
    assert_eq!(
        outbound(addr, &format!("http://localhost:{}/ok", server.addr.port())).await,
        json!({"status": 418})
    );
    assert_eq!(server.hits(), 2);
    host.shutdown().await;
}
