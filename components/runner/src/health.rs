//! The adapter health checks of a tick: `dbackup_adapters_core::health::run_round` with the
//! Spin worker (each probe bounded by the adapter test's timeout) and notifier.

use dbackup_adapters_core::health::{self, Transition};
use dbackup_adapters_core::probe::TEST_TIMEOUT;
use dbackup_core::db::Db;
use dbackup_web::deadline::Bounded;
use dbackup_web::notify::SpinNotifier;
use dbackup_web::worker::SpinWorker;

/// Runs a round if one is due (`now`: unix seconds); returns the transitions that happened.
pub async fn run(db: &dyn Db, now: i64) -> Result<Vec<(String, Transition)>, String> {
    let sealer = dbackup_web::secret_box().map_err(|e| e.to_string())?;
    let worker = Bounded {
        inner: SpinWorker,
        limit: TEST_TIMEOUT,
    };
    health::run_round(db, &sealer, &worker, &SpinNotifier, now)
        .await
        .map_err(|e| e.to_string())
}
