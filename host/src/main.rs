//! `dbackup`: serves spin.toml locally. Every startup problem ends in one line on stderr and exit 1.

use dbackup_host::app::{self, HostConfig};
use dbackup_host::worker::WorkerMode;
use std::path::PathBuf;

const USAGE: &str =
    "usage: dbackup [--manifest spin.toml] [--listen 127.0.0.1:3000] [--data-dir .dbackup] \
[--runtime-config-file FILE] [--no-worker | --worker-bin PATH]";

fn parse_args() -> Result<HostConfig, String> {
    let mut config = HostConfig::new(PathBuf::from("spin.toml"));
    let mut no_worker = false;
    let mut worker_bin = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--manifest" | "-f" => config.manifest = PathBuf::from(value("--manifest")?),
            "--listen" => {
                let v = value("--listen")?;
                config.listen = v
                    .parse()
                    .map_err(|_| format!("--listen {v:?} is not an IP:PORT address"))?;
            }
            "--data-dir" => config.data_dir = PathBuf::from(value("--data-dir")?),
            "--runtime-config-file" => {
                config.runtime_config = Some(PathBuf::from(value("--runtime-config-file")?))
            }
            "--no-worker" => no_worker = true,
            "--worker-bin" => worker_bin = Some(PathBuf::from(value("--worker-bin")?)),
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    config.worker = if no_worker {
        WorkerMode::External
    } else {
        let binary = match worker_bin {
            Some(b) => b,
            None => app::sibling_binary("dbackup-worker").map_err(|e| e.to_string())?,
        };
        WorkerMode::Spawn { binary }
    };
    Ok(config)
}

#[tokio::main]
async fn main() {
    let config = match parse_args() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("dbackup: {e}");
            std::process::exit(2);
        }
    };
    let host = match app::start(config).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("dbackup: {e:#}");
            std::process::exit(1);
        }
    };
    eprintln!("dbackup: serving on http://{}", host.addr);
    app::shutdown_signal().await;
    eprintln!("dbackup: shutting down");
    host.shutdown().await;
}
