//! The app under the real `spin up` + trigger-cron (not our host): the repository's spin.toml and
//! release `.wasm` files, the worker started by hand as the README says, and the whole journey
//! (`dbackup_tests::spin::journey`): migrations by the runner's first tick, identity basics, a
//! PostgreSQL job run now and on its schedule, restore with equal data, config backup,
//! `/metrics`, the static UI. Ignored by a plain `cargo nextest run` (it needs `spin`); `cargo xtask test` runs it,
//! `cargo xtask test --no-spin` leaves it out.

use dbackup_tests::spin::{journey, SpinApp, SpinOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs spin (+ trigger-cron): cargo xtask test runs it"]
async fn journey_under_spin_up() {
    let app = SpinApp::start(SpinOptions::default()).await;
    let times = journey(&app).await;
    eprintln!("spin journey: {times:?}");
    app.stop().await;
}
