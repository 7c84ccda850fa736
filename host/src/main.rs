//! `dbackup`: serves spin.toml locally. Every startup problem ends in one line on stderr and exit 1.
//! `dbackup rotate-key` re-wraps every sealed value under a new `encryption_key` (see
//! `dbackup_host::rotate`).

use dbackup_host::app::{self, HostConfig};
use dbackup_host::database::{self, Database, DatabaseConfig};
use dbackup_host::rotate;
use dbackup_host::worker::WorkerMode;
use std::path::PathBuf;

const USAGE: &str =
    "usage: dbackup [--manifest spin.toml] [--listen 127.0.0.1:3000] [--data-dir .dbackup] \
[--runtime-config-file FILE] [--no-worker | --worker-bin PATH]
       dbackup rotate-key [--data-dir .dbackup] [--runtime-config-file FILE] [--dry-run]
         (keys from DBACKUP_OLD_ENCRYPTION_KEY and DBACKUP_NEW_ENCRYPTION_KEY; stop the host first)";

/// `dbackup rotate-key` options.
struct RotateArgs {
    data_dir: PathBuf,
    runtime_config: Option<PathBuf>,
    dry_run: bool,
}

fn parse_rotate_args(args: &[String]) -> Result<RotateArgs, String> {
    let mut out = RotateArgs {
        data_dir: HostConfig::new(PathBuf::from("spin.toml")).data_dir,
        runtime_config: None,
        dry_run: false,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--data-dir" => out.data_dir = PathBuf::from(value("--data-dir")?),
            "--runtime-config-file" => {
                out.runtime_config = Some(PathBuf::from(value("--runtime-config-file")?))
            }
            "--dry-run" => out.dry_run = true,
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(out)
}

/// Runs `rotate-key`; the message to print on success.
async fn rotate_key(args: RotateArgs) -> anyhow::Result<String> {
    let (old, new) = rotate::keys_from_env()?;
    let mut config = DatabaseConfig::Local {
        path: args.data_dir.join("dbackup.db"),
    };
    if let Some(rc) = &args.runtime_config {
        if let Some(c) = database::read_runtime_config(rc, &args.data_dir)?.remove("default") {
            config = c;
        }
    }
    if let DatabaseConfig::Local { path } = &config {
        if !path.exists() {
            anyhow::bail!("no database at {}", path.display());
        }
    }
    let db = Database::open(&config).await?;
    let conn = db.connect().await?;
    let counts = rotate::rotate(&conn, &old, &new, args.dry_run).await?;
    Ok(if args.dry_run {
        format!(
            "dry run: every sealed value decrypts with the old key; would re-wrap {counts} ({} in all); nothing changed",
            counts.total()
        )
    } else {
        format!(
            "re-wrapped {counts} ({} in all); start dbackup with the new encryption_key",
            counts.total()
        )
    })
}

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
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("rotate-key") {
        let parsed = match parse_rotate_args(&args[1..]) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("dbackup: {e}");
                std::process::exit(2);
            }
        };
        match rotate_key(parsed).await {
            Ok(message) => {
                eprintln!("dbackup: rotate-key: {message}");
                return;
            }
            Err(e) => {
                eprintln!("dbackup: rotate-key: {e:#}");
                std::process::exit(1);
            }
        }
    }
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
