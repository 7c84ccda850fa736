//! An in-process S3 server for the tests: s3s-fs with SigV4 checking on a loopback port, on its
//! own thread and runtime; stopped on drop. Buckets are folders under [`S3Server::root`].

use std::path::PathBuf;

use crate::TempDir;

/// A running s3s-fs server.
pub struct S3Server {
    /// Where it listens (`http://{addr}` is the endpoint; use path-style requests).
    pub addr: std::net::SocketAddr,
    /// The folder that holds one sub-folder per bucket.
    pub root: PathBuf,
    _dir: TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl S3Server {
    /// Starts a server that accepts only `access_key`/`secret_key`, with `bucket` created.
    pub fn start(access_key: &str, secret_key: &str, bucket: &str) -> S3Server {
        use s3s::auth::SimpleAuth;
        use s3s::service::S3ServiceBuilder;

        let dir = TempDir::new();
        let root = dir.join("s3");
        std::fs::create_dir_all(root.join(bucket)).expect("bucket folder");
        let fs = s3s_fs::FileSystem::new(&root).expect("s3s-fs");
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(access_key, secret_key));
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
