//! Joining an app's pool of workers (docs/WORKER.md, "A pool of workers"): with
//! `DBACKUP_APP_URL` set, the worker POSTs its registration (`dbackup_protocol::registration`)
//! to the app at start and then every `heartbeatSecs`, signed with the worker token like a
//! callback event. The app counts the worker healthy while the heartbeats arrive.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use dbackup_protocol::registration::REGISTER_PATH;

use crate::callback::{self, Callback};
use crate::config::PoolConfig;

/// How long one registration attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Registers now and then every heartbeat interval, forever (the task ends with the runtime).
/// Failures are logged when the outcome changes, not on every beat.
pub async fn heartbeat(pool: PoolConfig, token: String) {
    let url = format!("{}{REGISTER_PATH}", pool.app_url);
    let target = match Callback::signed_with(&url, Arc::from(token.as_bytes())) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("dbackup-worker: DBACKUP_APP_URL: {e}");
            return;
        }
    };
    let body = match serde_json::to_vec(&pool.registration) {
        Ok(b) => Bytes::from(b),
        Err(e) => {
            eprintln!("dbackup-worker: registration: {e}");
            return;
        }
    };
    let interval = Duration::from_secs(u64::from(pool.registration.heartbeat_secs));
    let name = &pool.registration.name;
    let mut last: Option<String> = None;
    loop {
        let outcome = match tokio::time::timeout(
            ATTEMPT_TIMEOUT,
            callback::post(&target, body.clone()),
        )
        .await
        {
            Ok(Ok(status)) if status.is_success() => "registered".to_owned(),
            Ok(Ok(status)) => format!("refused ({status})"),
            Ok(Err(e)) => format!("failed: {e}"),
            Err(_) => format!("failed: no answer within {} s", ATTEMPT_TIMEOUT.as_secs()),
        };
        if last.as_deref() != Some(outcome.as_str()) {
            eprintln!(
                "dbackup-worker: registration as {name} at {}: {outcome}",
                pool.app_url
            );
            last = Some(outcome);
        }
        tokio::time::sleep(interval).await;
    }
}
