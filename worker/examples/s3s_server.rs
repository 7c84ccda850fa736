//! A standalone S3 server for `cargo xtask bench pipeline`: s3s-fs (a dev-dependency, so an
//! example) with SigV4 checking on a loopback port. Usage: `s3s_server <root-dir> <port>`;
//! creates the bucket `backups`, access key `AKIDTEST`, secret `SECRETTEST`. Runs until killed.

use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(root), Some(port)) = (args.next(), args.next()) else {
        eprintln!("usage: s3s_server <root-dir> <port>");
        std::process::exit(2);
    };
    let Ok(port) = port.parse::<u16>() else {
        eprintln!("bad port {port}");
        std::process::exit(2);
    };
    let root = std::path::PathBuf::from(root);
    if let Err(e) = std::fs::create_dir_all(root.join("backups")) {
        eprintln!("cannot create {}: {e}", root.display());
        std::process::exit(1);
    }
    let fs = match s3s_fs::FileSystem::new(&root) {
        Ok(fs) => fs,
        Err(e) => {
            eprintln!("s3s-fs: {e:?}");
            std::process::exit(1);
        }
    };
    let mut builder = S3ServiceBuilder::new(fs);
    builder.set_auth(SimpleAuth::from_single("AKIDTEST", "SECRETTEST"));
    let service = builder.build();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("runtime: {e}");
            std::process::exit(1);
        }
    };
    rt.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("bind 127.0.0.1:{port}: {e}");
                std::process::exit(1);
            }
        };
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let service = service.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req| {
                    let service = service.clone();
                    async move { hyper::service::Service::call(&service, req).await }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
}
