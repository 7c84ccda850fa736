//! Shared helpers: an in-process worker and a minimal HTTP/1.1 client.

#![allow(dead_code)]

pub mod cli;
pub mod s3;
pub mod sshd;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use dbackup_worker::{serve, Config, LocalRoots, DEFAULT_PROBE_TIMEOUT};

pub const TOKEN: &str = "test-token-0123456789abcdef-0123456789";

/// Local storage in the tests lives in temporary directories.
pub fn temp_roots() -> LocalRoots {
    LocalRoots::new(vec![std::env::temp_dir()], None)
}

/// A worker running in-process on an ephemeral port.
pub struct Worker {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Worker {
    pub async fn start() -> Worker {
        Self::start_with_max_tasks(dbackup_worker::DEFAULT_MAX_TASKS).await
    }

    /// A worker that runs at most `max_tasks` tasks at once.
    pub async fn start_with_max_tasks(max_tasks: usize) -> Worker {
        Self::start_with(max_tasks, None, temp_roots()).await
    }

    /// A worker whose local storage is confined to `roots` (and kept out of `data_dir`).
    pub async fn start_with_roots(
        roots: Vec<std::path::PathBuf>,
        data_dir: Option<std::path::PathBuf>,
    ) -> Worker {
        Self::start_with(
            dbackup_worker::DEFAULT_MAX_TASKS,
            None,
            LocalRoots::new(roots, data_dir),
        )
        .await
    }

    /// A worker trusting the extra CA certificates in `ca_file` for https callbacks.
    #[allow(dead_code)]
    pub async fn start_with_ca_file(ca_file: std::path::PathBuf) -> Worker {
        Self::start_with(
            dbackup_worker::DEFAULT_MAX_TASKS,
            Some(ca_file),
            temp_roots(),
        )
        .await
    }

    async fn start_with(
        max_tasks: usize,
        ca_file: Option<std::path::PathBuf>,
        local_roots: LocalRoots,
    ) -> Worker {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let config = Config {
            listen: addr,
            token: TOKEN.to_owned(),
            pg_bin_dirs: Vec::new(),
            probe_timeout: DEFAULT_PROBE_TIMEOUT,
            max_tasks,
            ca_file,
            local_roots,
            pool: None,
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, config, async move {
            let _ = stopped.await;
        }));
        Worker {
            addr,
            stop: Some(stop),
            task,
        }
    }

    /// Requests graceful shutdown and waits for `serve` to return.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(70), &mut self.task)
            .await
            .expect("serve did not return")
            .expect("serve panicked")
    }

    /// Asks `serve` to shut down without waiting.
    pub fn trigger_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    pub async fn join(mut self) -> anyhow::Result<()> {
        (&mut self.task).await.expect("serve panicked")
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &str) -> Reply {
        self.request(Method::POST, path, token, Some(body)).await
    }

    /// A request with the token and an optional JSON body.
    pub async fn call(&self, method: Method, path: &str, body: Option<serde_json::Value>) -> Reply {
        let body = body.map(|b| b.to_string());
        self.request(method, path, Some(TOKEN), body.as_deref())
            .await
    }

    /// `POST path` with `body`, which must be accepted (202) as a task; its id.
    pub async fn start_task(&self, path: &str, body: serde_json::Value) -> String {
        let r = self.call(Method::POST, path, Some(body)).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
        r.json["taskId"]
            .as_str()
            .unwrap_or_else(|| panic!("no taskId: {}", r.json))
            .to_owned()
    }

    /// [`Worker::start_task`], then [`Worker::wait_task`]: the finished task.
    pub async fn run_task(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        let id = self.start_task(path, body).await;
        self.wait_task(&id).await
    }

    /// Polls `GET /v1/tasks/{id}` until the task no longer runs (at most 2 minutes); the task.
    pub async fn wait_task(&self, id: &str) -> serde_json::Value {
        for _ in 0..1200 {
            let r = self
                .call(Method::GET, &format!("/v1/tasks/{id}"), None)
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            if r.json["status"] != "running" {
                return r.json;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("task {id} did not finish");
    }

    /// Polls a running task until it has read more than `min` bytes (at most 90 s), asserting it
    /// still runs meanwhile (a test that cuts something mid-task needs it unfinished); the bytes.
    pub async fn wait_bytes_in(&self, id: &str, min: u64) -> u64 {
        let started = std::time::Instant::now();
        loop {
            let t = self
                .call(Method::GET, &format!("/v1/tasks/{id}"), None)
                .await;
            assert_eq!(
                t.json["status"], "running",
                "finished before the cut: {}",
                t.json
            );
            let read = t.json["bytesIn"].as_u64().unwrap_or(0);
            if read > min {
                return read;
            }
            assert!(started.elapsed() < Duration::from_secs(90), "{}", t.json);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    pub async fn probe(&self, body: serde_json::Value) -> Reply {
        self.post("/v1/probe", Some(TOKEN), &body.to_string()).await
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Reply {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::HOST, self.addr.to_string());
        if let Some(token) = token {
            builder = builder.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if body.is_some() {
            builder = builder.header(http::header::CONTENT_TYPE, "application/json");
        }
        let req = builder
            .body(Full::new(Bytes::from(body.unwrap_or("").to_owned())))
            .unwrap();
        send(self.addr, req).await
    }
}

/// A response with its body parsed as JSON.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub json: serde_json::Value,
}

/// Sends one request on a fresh connection.
pub async fn send(addr: SocketAddr, req: Request<Full<Bytes>>) -> Reply {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let response = tokio::time::timeout(Duration::from_secs(60), sender.send_request(req))
        .await
        .expect("request timed out")
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("response is not JSON ({e}): {text:?}"));
    Reply {
        status,
        headers,
        text,
        json,
    }
}
