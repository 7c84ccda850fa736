//! `dbackup-worker` binary: read config, bind, serve until SIGINT/SIGTERM.

use std::process::ExitCode;

use dbackup_worker::{serve, Config, ENV_TOKEN};

const USAGE: &str = "usage: dbackup-worker [--listen IP:PORT]
environment: DBACKUP_WORKER_TOKEN (required, >= 32 chars), DBACKUP_WORKER_LISTEN (default 127.0.0.1:3001), DBACKUP_PG_BIN_DIRS (colon-separated), DBACKUP_WORKER_MAX_TASKS (default 4), DBACKUP_LOCAL_ROOTS (colon-separated, default <data-dir>/backups), DBACKUP_WORKER_DATA_DIR (default .dbackup); to join an app's pool of workers: DBACKUP_APP_URL, DBACKUP_WORKER_NAME (required with it), DBACKUP_WORKER_LABELS (comma-separated), DBACKUP_WORKER_CAPACITY (default DBACKUP_WORKER_MAX_TASKS), DBACKUP_WORKER_ADVERTISE_URL (default http://<listen address>), DBACKUP_WORKER_HEARTBEAT_SECS (default 15)";

fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if args.iter().any(|a| a == "--version" || a == "-V") {
        println!("dbackup-worker {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_env_and_args(args) {
        Ok(config) => config,
        Err(e) => return fail(2, &e),
    };
    // Still single-threaded: drop the token and any secret meant for the host (a worker
    // started by hand next to `spin up` may have them) from our environment. The tools start
    // with a cleared environment anyway (engines::process); this keeps the secrets out of
    // everything else the process does.
    let sensitive: Vec<_> = std::env::vars_os()
        .map(|(k, _)| k)
        .filter(|k| {
            k.to_str()
                .is_some_and(|k| k == ENV_TOKEN || k.starts_with("SPIN_VARIABLE_"))
        })
        .collect();
    for key in sensitive {
        std::env::remove_var(key);
    }

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => return fail(1, &format!("cannot start runtime: {}", os_message(&e))),
    };
    runtime.block_on(run(config))
}

async fn run(config: Config) -> ExitCode {
    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(listener) => listener,
        Err(e) => {
            return fail(
                1,
                &format!("cannot listen on {}: {}", config.listen, os_message(&e)),
            )
        }
    };
    let addr = listener.local_addr().unwrap_or(config.listen);
    eprintln!(
        "dbackup-worker {} listening on {addr}",
        env!("CARGO_PKG_VERSION")
    );
    match serve(listener, config, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(1, &e),
    }
}

/// Completes on the first SIGINT/SIGTERM; a second one exits immediately.
async fn shutdown_signal() {
    wait_for_signal().await;
    eprintln!("dbackup-worker: shutting down, waiting for in-flight requests");
    tokio::spawn(async {
        wait_for_signal().await;
        eprintln!("dbackup-worker: second signal, exiting now");
        std::process::exit(1);
    });
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

/// `io::Error` text without the trailing ` (os error N)`.
fn os_message(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(index) => text[..index].to_owned(),
        None => text,
    }
}

fn fail(code: u8, message: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("dbackup-worker: {message}");
    ExitCode::from(code)
}
