//! Storage connection tests through the app and its worker against a real S3 server (s3s-fs
//! in-process, SigV4-verifying): generic `s3` and the `minio` preset succeed; a wrong secret,
//! a missing bucket and a closed port fail with a message saying which.

mod adapters_common;

use std::path::PathBuf;

use adapters_common::start_app_with_worker;
use dbackup_tests::{TempDir, TEST_PASSWORD};
use serde_json::{json, Value};

const ACCESS_KEY: &str = "AKIDADAPTERS";
const SECRET_KEY: &str = "SECRETADAPTERS";
const BUCKET: &str = "backups";

/// s3s-fs with SigV4 checking on a loopback port, on its own thread and runtime.
struct S3Server {
    addr: std::net::SocketAddr,
    root: PathBuf,
    _dir: TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl S3Server {
    fn start() -> S3Server {
        use s3s::auth::SimpleAuth;
        use s3s::service::S3ServiceBuilder;

        let dir = TempDir::new();
        let root = dir.join("s3");
        std::fs::create_dir_all(root.join(BUCKET)).expect("bucket folder");
        let fs = s3s_fs::FileSystem::new(&root).expect("s3s-fs");
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = builder.build();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                loop {
                    tokio::select! {
                        _ = &mut stopped => break,
                        accepted = listener.accept() => {
                            let Ok((stream, _)) = accepted else { continue };
                            let service = service.clone();
                            tokio::spawn(async move {
                                let _ = hyper::server::conn::http1::Builder::new()
                                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                                    .await;
                            });
                        }
                    }
                }
            });
            rt.shutdown_background();
        });
        S3Server {
            addr,
            root,
            _dir: dir,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[tokio::test]
async fn s3_probes_against_a_real_server() {
    let s3 = S3Server::start();
    let app = start_app_with_worker().await;
    let api = app.api();
    let (_, admin) = api
        .signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await;
    let endpoint = format!("http://{}", s3.addr);
    let test = |adapter_id: &str, config: Value| {
        let body = json!({"adapterId": adapter_id, "config": config});
        let admin = admin.clone();
        async move {
            api.expect(&admin, "POST", "/api/adapters/test", Some(&body), 200)
                .await
        }
    };
    let s3_config = |bucket: &str, secret: &str, endpoint: &str| {
        json!({"endpoint": endpoint, "region": "us-east-1", "bucket": bucket, "prefix": "probe-here",
               "forcePathStyle": true, "accessKeyId": ACCESS_KEY, "secretAccessKey": secret})
    };

    let r = test("s3", s3_config(BUCKET, SECRET_KEY, &endpoint)).await;
    assert_eq!(r["ok"], true, "{r}");
    let r = test(
        "minio",
        json!({"endpoint": endpoint, "bucket": BUCKET, "accessKeyId": ACCESS_KEY, "secretAccessKey": SECRET_KEY}),
    )
    .await;
    assert_eq!(r["ok"], true, "{r}");
    // The probe object is gone again.
    let left: Vec<_> = walk(&s3.root.join(BUCKET));
    assert!(left.is_empty(), "{left:?}");

    for (config, what) in [
        (
            s3_config(BUCKET, "wrong-secret", &endpoint),
            "SignatureDoesNotMatch",
        ),
        (
            s3_config("no-such-bucket", SECRET_KEY, &endpoint),
            "does not exist",
        ),
        (
            s3_config(BUCKET, SECRET_KEY, "http://127.0.0.1:1"),
            "Connection refused",
        ),
    ] {
        let r = test("s3", config).await;
        assert_eq!(r["ok"], false, "{what}: {r}");
        let m = r["message"].as_str().unwrap();
        assert!(
            m.contains(what) && !m.contains("wrong-secret"),
            "{what}: {m}"
        );
    }
    app.shutdown().await;
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
