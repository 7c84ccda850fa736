//! An in-process S3 server (s3s-fs 0.14.1 with SigV4 checking) on a loopback port, running on
//! its own thread and runtime so blocking clients can be used from the test thread.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use serde_json::{json, Value};
use tokio::sync::Notify;

pub const ACCESS_KEY: &str = "AKIDTEST";
pub const SECRET_KEY: &str = "SECRETTEST";
pub const BUCKET: &str = "backups";

/// Request counters and the stop hook.
#[derive(Default)]
pub struct Stats {
    /// `UploadPart` requests answered.
    pub parts: AtomicUsize,
    /// `ListObjectsV2` requests answered.
    pub lists: AtomicUsize,
    /// `AbortMultipartUpload` requests answered.
    pub aborts: AtomicUsize,
    /// Stop the server once this many parts were uploaded (0 = never).
    pub stop_after_parts: AtomicUsize,
    /// Delay before answering each `UploadPart`, in milliseconds (a slow server).
    pub part_delay_ms: AtomicUsize,
    stop: Notify,
}

pub struct S3Server {
    pub addr: SocketAddr,
    pub root: tempfile::TempDir,
    pub stats: Arc<Stats>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl S3Server {
    /// Starts a server with one bucket, [`BUCKET`].
    pub fn start() -> S3Server {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join(BUCKET)).unwrap();
        let fs = s3s_fs::FileSystem::new(root.path()).unwrap();
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = builder.build();
        let stats = Arc::new(Stats::default());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let thread_stats = stats.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let mut connections = Vec::new();
                loop {
                    tokio::select! {
                        () = thread_stats.stop.notified() => break,
                        accepted = listener.accept() => {
                            let Ok((stream, _)) = accepted else { continue };
                            let service = service.clone();
                            let stats = thread_stats.clone();
                            let svc = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                                let query = req.uri().query().unwrap_or("").to_owned();
                                let method = req.method().clone();
                                let service = service.clone();
                                let stats = stats.clone();
                                async move {
                                    let delay = stats.part_delay_ms.load(Ordering::SeqCst);
                                    if delay > 0 && query.contains("partNumber=") {
                                        tokio::time::sleep(std::time::Duration::from_millis(delay as u64)).await;
                                    }
                                    let response = hyper::service::Service::call(&service, req).await;
                                    if query.contains("partNumber=") && method == http::Method::PUT {
                                        let n = stats.parts.fetch_add(1, Ordering::SeqCst) + 1;
                                        let stop = stats.stop_after_parts.load(Ordering::SeqCst);
                                        if stop > 0 && n >= stop {
                                            stats.stop.notify_one();
                                        }
                                    }
                                    if query.contains("list-type=2") {
                                        stats.lists.fetch_add(1, Ordering::SeqCst);
                                    }
                                    if query.contains("uploadId=") && method == http::Method::DELETE {
                                        stats.aborts.fetch_add(1, Ordering::SeqCst);
                                    }
                                    response
                                }
                            });
                            connections.push(tokio::spawn(async move {
                                let _ = hyper::server::conn::http1::Builder::new()
                                    .serve_connection(TokioIo::new(stream), svc)
                                    .await;
                            }));
                        }
                    }
                }
                // Stopped: drop the listener and cut every open connection.
                drop(listener);
                for c in connections {
                    c.abort();
                }
            });
            rt.shutdown_background();
        });
        S3Server {
            addr,
            root,
            stats,
            thread: Some(thread),
        }
    }

    /// The StorageSpec JSON for this server.
    pub fn spec(&self, prefix: &str) -> Value {
        json!({"kind": "s3", "endpoint": format!("http://{}", self.addr), "region": "us-east-1",
               "bucket": BUCKET, "prefix": prefix, "pathStyle": true,
               "accessKeyId": ACCESS_KEY, "secretAccessKey": SECRET_KEY})
    }

    /// Where s3s-fs keeps the object `key` of [`BUCKET`].
    pub fn object_path(&self, key: &str) -> PathBuf {
        self.root.path().join(BUCKET).join(key)
    }

    /// Stops the server now (listener closed, connections cut).
    pub fn stop(&mut self) {
        self.stats.stop.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}
