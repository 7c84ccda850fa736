//! The app under the real `spin up` + trigger-cron (not our host): the repository's spin.toml and
//! release `.wasm` files, the worker started by hand as the README says, and the whole journey
//! (`dbackup_tests::spin::journey`): migrations by the runner's first tick, identity basics, a
//! PostgreSQL job run now and on its schedule, restore with equal data, config backup,
//! `/metrics`, the static UI — once on Spin's local SQLite file and once on a libSQL server
//! (a real `sqld` with JWT auth, `type = "libsql"` in the runtime config). Ignored by a plain `cargo nextest run` (it needs `spin`); `cargo xtask test` runs it,
//! `cargo xtask test --no-spin` leaves it out.

use dbackup_tests::spin::{journey, SpinApp, SpinOptions};
use dbackup_tests::sqld::Sqld;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs spin (+ trigger-cron): cargo xtask test runs it"]
async fn journey_under_spin_up() {
    let app = SpinApp::start(SpinOptions::default()).await;
    let times = journey(&app).await;
    eprintln!("spin journey: {times:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs spin (+ trigger-cron) and sqld: cargo xtask test runs it"]
async fn journey_under_spin_up_on_a_libsql_server() {
    let sqld = Sqld::start().await;
    let app = SpinApp::start(SpinOptions {
        runtime_config: Some(sqld.runtime_config_toml()),
        ..SpinOptions::default()
    })
    .await;
    let times = journey(&app).await;
    eprintln!("spin journey on sqld: {times:?}");
    // The app's rows are on the server, not in a local file: the journey's executions are there.
    let rows = sqld
        .query("SELECT count(*) FROM \"Execution\" WHERE status = 'Success'")
        .await
        .expect("sqld answers");
    let done = rows
        .first()
        .and_then(|r| r[0]["value"].as_str())
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0);
    assert!(
        done >= 2,
        "the journey's successful executions are on sqld: {rows:?}"
    );
    assert!(
        !std::fs::read_dir(app.state_dir())
            .map(|d| d.flatten().any(|e| e.file_name() == "sqlite_db.db"))
            .unwrap_or(false),
        "Spin made a local database although the runtime config names a libSQL server"
    );
    app.stop().await;
}
