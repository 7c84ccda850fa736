//! dbackup worker: a native sidecar that runs database client tools (`psql`, `pg_dump`, …)
//! on behalf of the dbackup host over a small bearer-token-protected HTTP API.
//!
//! Embed it with [`Config`] and [`serve`]; the `dbackup-worker` binary is a thin wrapper.

pub mod callback;
mod config;
pub mod engines;
mod error;
pub mod format;
mod http;
pub mod import_dbackup;
pub mod multi;
mod notify;
pub mod outbound;
mod register;
mod seal_api;
mod secrets;
pub mod ssh;
pub mod storage;
mod storage_api;
pub mod stream;
pub mod tasks;
pub mod tools;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

pub use config::{
    Config, ConfigError, PoolConfig, DEFAULT_DATA_DIR, DEFAULT_LISTEN, DEFAULT_MAX_TASKS,
    DEFAULT_PROBE_TIMEOUT, ENV_ADVERTISE_URL, ENV_APP_URL, ENV_CA_FILE, ENV_DATA_DIR,
    ENV_HEARTBEAT_SECS, ENV_LISTEN, ENV_LOCAL_ROOTS, ENV_MAX_TASKS, ENV_PG_BIN_DIRS, ENV_TOKEN,
    ENV_WORKER_CAPACITY, ENV_WORKER_LABELS, ENV_WORKER_NAME, MIN_TOKEN_LEN,
};
pub use error::Error;
pub use secrets::{mask_secrets, MASK};
pub use storage::LocalRoots;

/// Largest accepted request body, in bytes (1 MiB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How long a client may take to send request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Upper bound on waiting for in-flight requests after shutdown was requested.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(60);
/// Upper bound on waiting for pending callback events after shutdown was requested.
const CALLBACK_SHUTDOWN_GRACE: Duration = Duration::from_secs(15);

/// Serves the worker API on `listener` until `shutdown` completes, then stops accepting
/// connections, cancels running tasks, waits (up to 15 s) for pending callback events and
/// (up to 60 s) for in-flight requests to finish.
///
/// `config.listen` is ignored here (the caller binds); the token is re-validated.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    config.validate()?;
    callback::configure_tls(config.ca_file.as_deref())
        .map_err(|e| anyhow::anyhow!("{}: {e}", config::ENV_CA_FILE))?;
    let heartbeat = config
        .pool
        .clone()
        .map(|pool| tokio::spawn(register::heartbeat(pool, config.token.clone())));
    let state = Arc::new(http::State {
        config,
        tasks: tasks::Registry::default(),
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);

    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _peer)) => stream,
                    Err(e) => {
                        // E.g. too many open files: back off instead of spinning or exiting.
                        eprintln!("dbackup-worker: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let state = state.clone();
                let service = service_fn(move |req| http::handle(state.clone(), req));
                let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
                tokio::spawn(async move {
                    // Client disconnects and header timeouts are routine; nothing to report.
                    let _ = connection.await;
                });
            }
        }
    }

    drop(listener);
    if let Some(h) = heartbeat {
        h.abort();
    }
    // Running backups and restores are cancelled (children killed, partials removed).
    state.tasks.cancel_all();
    // Pending result events (including those of the tasks just cancelled) get a bounded wait.
    state.tasks.drain_callbacks(CALLBACK_SHUTDOWN_GRACE).await;
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            eprintln!("dbackup-worker: in-flight requests still running after {} s; stopping", SHUTDOWN_GRACE.as_secs());
        }
    }
    Ok(())
}
