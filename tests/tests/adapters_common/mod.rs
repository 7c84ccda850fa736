//! Shared by the adapters_*.rs tests: the real app with its worker spawned.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use dbackup_tests::RealApp;
use http_body_util::BodyExt;

/// The app with its worker spawned (the probes and storage tests go through it).
#[allow(dead_code)]
pub async fn start_app_with_worker() -> RealApp {
    start_app(false).await
}

/// [`start_app_with_worker`], with the cron trigger (the runner) running if `cron`.
pub async fn start_app(cron: bool) -> RealApp {
    RealApp::with_worker().cron(cron).start().await
}

/// One request the local receiver got.
#[allow(dead_code)]
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// An HTTP server on loopback that records every request and answers 200 (or `status` set
/// by path: `/fail...` answers 500).
#[allow(dead_code)]
pub struct Receiver {
    pub addr: SocketAddr,
    got: Arc<Mutex<Vec<Received>>>,
    pub task: tokio::task::JoinHandle<()>,
}

#[allow(dead_code)]
impl Receiver {
    pub async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let sink = got.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let sink = sink.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(
                        move |req: hyper::Request<hyper::body::Incoming>| {
                            let sink = sink.clone();
                            async move {
                                let method = req.method().to_string();
                                let path = req.uri().to_string();
                                let mut headers: Vec<(String, String)> = req
                                    .headers()
                                    .iter()
                                    .filter(|(k, _)| {
                                        !["host", "content-length"].contains(&k.as_str())
                                    })
                                    .map(|(k, v)| {
                                        (k.to_string(), v.to_str().unwrap_or("?").to_owned())
                                    })
                                    .collect();
                                headers.sort();
                                let body = req
                                    .into_body()
                                    .collect()
                                    .await
                                    .map(|b| b.to_bytes())
                                    .unwrap_or_default();
                                let fail = path.starts_with("/fail");
                                sink.lock().unwrap().push(Received {
                                    method,
                                    path,
                                    headers,
                                    body: String::from_utf8_lossy(&body).into_owned(),
                                });
                                let status = if fail { 500 } else { 200 };
                                Ok::<_, std::convert::Infallible>(
                                    hyper::Response::builder()
                                        .status(status)
                                        .body(http_body_util::Full::new(bytes::Bytes::from_static(
                                            b"{\"ok\":true}",
                                        )))
                                        .unwrap(),
                                )
                            }
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Receiver { addr, got, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn take(&self) -> Vec<Received> {
        std::mem::take(&mut *self.got.lock().unwrap())
    }
}
