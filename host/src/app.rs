//! Starting and stopping the whole host: manifest → variables → listener (and an external
//! worker's check) → databases (migrated) → compiled components → spawned worker → HTTP server
//! and cron triggers; and graceful shutdown.

use crate::connection::{self, Activity, Watched};
use crate::cron::{self, CronTrigger};
use crate::database::{self, Database, DatabaseConfig};
use crate::limits::HttpLimits;
use crate::manifest::Manifest;
use crate::router::{Route, Router};
use crate::runtime::{Runtime, Shared};
use crate::server::HttpApp;
use crate::variables::Variables;
use crate::worker::{self, WorkerMode, WorkerProcess};
use anyhow::{anyhow, bail, Context, Result};
use hyper_util::rt::TokioIo;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Everything the host needs to start.
#[derive(Debug, Clone)]
pub struct HostConfig {
    pub manifest: PathBuf,
    pub listen: SocketAddr,
    /// Private data folder: the default database file and the compiled-component cache.
    pub data_dir: PathBuf,
    pub runtime_config: Option<PathBuf>,
    pub worker: WorkerMode,
    /// Overrides for `SPIN_VARIABLE_*` lookups (tests); otherwise the process environment.
    /// Its entries also overlay the environment a spawned worker inherits (through the same
    /// allow-list, so e.g. `DBACKUP_LOCAL_ROOTS` passes and `SPIN_VARIABLE_*` does not).
    pub env: Option<BTreeMap<String, String>>,
    /// Whether cron triggers run.
    pub cron: bool,
    /// Whether the `default` database is migrated at start.
    pub migrate: bool,
}

impl HostConfig {
    /// The defaults of the `dbackup` binary for a manifest.
    pub fn new(manifest: PathBuf) -> Self {
        HostConfig {
            manifest,
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            data_dir: PathBuf::from(".dbackup"),
            runtime_config: None,
            worker: WorkerMode::Disabled,
            env: None,
            cron: true,
            migrate: true,
        }
    }
}

/// A running host.
pub struct RunningHost {
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningHost {
    /// Stops accepting, lets in-flight requests and cron ticks finish (30 s at most), stops the
    /// worker.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }

    /// Waits until the host stops by itself (it does not, unless a fatal error occurs).
    pub async fn wait(&mut self) {
        let _ = (&mut self.task).await;
    }
}

async fn open_databases(
    manifest: &Manifest,
    config: &HostConfig,
) -> Result<HashMap<String, Database>> {
    let mut configs: BTreeMap<String, DatabaseConfig> = BTreeMap::new();
    configs.insert(
        "default".to_owned(),
        DatabaseConfig::Local {
            path: config.data_dir.join("dbackup.db"),
        },
    );
    if let Some(rc) = &config.runtime_config {
        configs.extend(database::read_runtime_config(rc, &config.data_dir)?);
    }
    let mut needed: Vec<&String> = manifest
        .components
        .values()
        .flat_map(|c| c.sqlite_databases.iter())
        .collect();
    needed.sort();
    needed.dedup();
    let mut out = HashMap::new();
    for label in needed {
        let Some(cfg) = configs.get(label) else {
            bail!("sqlite database {label:?} is used by a component but not defined in a runtime config");
        };
        out.insert(label.clone(), Database::open(cfg).await?);
    }
    Ok(out)
}

/// Starts the host; every configuration problem is returned as one readable error.
pub async fn start(config: HostConfig) -> Result<RunningHost> {
    let manifest = Manifest::load(&config.manifest)?;
    // The port and an external worker first: a host that cannot serve must not touch (migrate)
    // the database. The listen address is also `app_url`'s value when nothing sets it.
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr()?;
    let own_url = own_url(addr);
    let env = config.env.clone();
    let variables = Variables::resolve(&manifest, |k| {
        let value = match &env {
            Some(map) => map.get(k).cloned(),
            None => std::env::var(k).ok(),
        };
        // The worker posts execution events to `app_url`; the manifest default names port
        // 3000, which is wrong for a host listening elsewhere (a random port in tests,
        // `--listen`), so an unset `app_url` is this host's own address.
        value.or_else(|| (k == APP_URL_VARIABLE).then(|| own_url.clone()))
    })?;
    let limits = Arc::new(HttpLimits::from_tool_table(
        manifest.application.tool.get("dbackup"),
    )?);
    let triggers = manifest
        .cron_triggers
        .iter()
        .map(|t| {
            Ok(CronTrigger {
                component: t.component.clone(),
                schedule: cron::parse(&t.cron_expression)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;

    if let WorkerMode::External = &config.worker {
        let (url, token) = worker_settings(&variables)?;
        let authority = worker::authority_of(&url)?;
        if !worker::check(&authority, &token).await? {
            eprintln!("dbackup: warning: no worker answers at {url} yet");
        }
    }

    if !config.data_dir.exists() {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&config.data_dir)
            .with_context(|| format!("cannot create data folder {}", config.data_dir.display()))?;
    }
    let databases = open_databases(&manifest, &config).await?;
    if config.migrate {
        if let Some(db) = databases.get("default") {
            let applied = database::migrate(db).await?;
            if !applied.is_empty() {
                eprintln!("dbackup: applied migrations {applied:?}");
            }
        }
    }

    let cache_dir = config.data_dir.join("cache");
    let shared = Arc::new(Shared { databases });
    let runtime = Arc::new(Runtime::new(&manifest, &variables, shared, &cache_dir)?);

    let mut worker_process = None;
    match &config.worker {
        WorkerMode::Disabled => {}
        WorkerMode::Spawn { binary } => {
            let (url, token) = worker_settings(&variables)?;
            let mut host_env: BTreeMap<std::ffi::OsString, std::ffi::OsString> =
                std::env::vars_os().collect();
            for (k, v) in config.env.iter().flatten() {
                host_env.insert(k.into(), v.into());
            }
            worker_process = Some(
                WorkerProcess::spawn(
                    binary,
                    &url,
                    &token,
                    &config.data_dir,
                    host_env.into_iter().collect(),
                )
                .await?,
            );
        }
        // Checked before the database is touched, above.
        WorkerMode::External => {}
    }

    let router = Router::new(
        manifest
            .http_triggers
            .iter()
            .map(|t| Route::new(&t.route, &t.component))
            .collect(),
    );
    let app = Arc::new(HttpApp {
        runtime: runtime.clone(),
        router,
        authority: addr.to_string(),
        limits: limits.clone(),
    });

    let (stop_tx, stop_rx) = watch::channel(false);
    let cron_tasks: Vec<_> = if config.cron {
        triggers
            .into_iter()
            .map(|t| tokio::spawn(cron::run(runtime.clone(), t, stop_rx.clone())))
            .collect()
    } else {
        Vec::new()
    };

    let task = tokio::spawn(async move {
        serve(listener, app, limits, stop_rx).await;
        for t in cron_tasks {
            let _ = t.await;
        }
        if let Some(mut w) = worker_process {
            w.stop().await;
        }
    });
    Ok(RunningHost {
        addr,
        stop: stop_tx,
        task,
    })
}

/// The environment variable that sets `app_url`, the base URL the worker calls back.
const APP_URL_VARIABLE: &str = "SPIN_VARIABLE_APP_URL";

/// `http://<addr>`, with a wildcard listen address (`0.0.0.0`, `::`) replaced by the loopback
/// address of the same family, which a worker on this machine can reach.
fn own_url(addr: std::net::SocketAddr) -> String {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

fn worker_settings(variables: &Variables) -> Result<(String, String)> {
    let url = variables
        .get("worker_url")
        .ok_or_else(|| anyhow!("the manifest has no worker_url variable"))?;
    let token = variables
        .get("worker_token")
        .ok_or_else(|| anyhow!("the manifest has no worker_token variable"))?;
    Ok((url.to_owned(), token.to_owned()))
}

async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<HttpApp>,
    limits: Arc<HttpLimits>,
    mut stop: watch::Receiver<bool>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, client) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        eprintln!("dbackup: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let activity = Activity::new();
                let app = app.clone();
                let requests = activity.clone();
                let service = hyper::service::service_fn(move |req| {
                    let app = app.clone();
                    let guard = requests.request();
                    async move {
                        Ok::<_, std::convert::Infallible>(app.handle(req, client, guard).await)
                    }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(Watched::new(stream, activity.clone())), service);
                let conn = graceful.watch(conn);
                // Dropping the connection (when the watchdog fires first) closes the socket.
                let watchdog =
                    connection::watchdog(activity, limits.header_read_timeout, limits.idle_timeout);
                tokio::spawn(async move {
                    tokio::select! {
                        done = conn => {
                            if let Err(e) = done {
                                if !e.is_incomplete_message() {
                                    eprintln!("dbackup: connection from {client}: {e}");
                                }
                            }
                        }
                        _ = watchdog => {}
                    }
                });
            }
            _ = stop.changed() => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(30), graceful.shutdown())
        .await
        .is_err()
    {
        eprintln!("dbackup: some requests were still running after 30 s; stopping anyway");
    }
}

/// Resolves after SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

/// Context helper for the binary: the path of a sibling executable.
pub fn sibling_binary(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find the host's own path")?;
    Ok(exe.with_file_name(name))
}

#[cfg(test)]
mod tests {
    use super::own_url;

    #[test]
    fn own_url_names_a_reachable_address() {
        let url = |s: &str| own_url(s.parse().expect("socket address"));
        assert_eq!(url("127.0.0.1:3000"), "http://127.0.0.1:3000");
        assert_eq!(url("0.0.0.0:8080"), "http://127.0.0.1:8080");
        assert_eq!(url("[::]:8080"), "http://[::1]:8080");
        assert_eq!(url("192.168.1.5:80"), "http://192.168.1.5:80");
    }
}
