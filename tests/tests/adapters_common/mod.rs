//! Shared by the adapters_*.rs tests: the real app with its worker spawned.

use dbackup_host::app;
use dbackup_host::worker::WorkerMode;
use dbackup_tests::{bin, free_port, host_config, real_app_env, repo, RealApp, TempDir};

/// The app with its worker spawned (the probes and storage tests go through it).
#[allow(dead_code)]
pub async fn start_app_with_worker() -> RealApp {
    start_app(false).await
}

/// [`start_app_with_worker`], with the cron trigger (the runner) running if `cron`.
pub async fn start_app(cron: bool) -> RealApp {
    dbackup_tests::warm_real_app().await;
    let dir = TempDir::new();
    let env = real_app_env(&format!("http://127.0.0.1:{}", free_port()));
    let value = |name: &str| {
        env.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (session_secret, encryption_key) = (
        value("SPIN_VARIABLE_SESSION_SECRET"),
        value("SPIN_VARIABLE_ENCRYPTION_KEY"),
    );
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut config = host_config(repo().join("spin.toml"), &dir.join("data"), &env);
    config.migrate = true;
    config.cron = cron;
    config.worker = WorkerMode::Spawn {
        binary: bin("dbackup-worker"),
    };
    let host = app::start(config)
        .await
        .unwrap_or_else(|e| panic!("the real app does not start: {e:#}"));
    RealApp {
        host,
        dir,
        session_secret,
        encryption_key,
    }
}
