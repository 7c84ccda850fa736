//! Health monitoring: every `healthCheckInterval` seconds (SystemSetting, default 60) one
//! runner claims a round and probes every database and storage adapter through the worker
//! (`/v1/probe`, `/v1/storage/probe`; each probe bounded by the worker's probe timeout), at most
//! [`CONCURRENCY`] at a time, then records each result and its status transition
//! (`dbackup_adapters_core::health`), notifies the system-event channels when an adapter goes
//! OFFLINE, comes back, or stays OFFLINE past the reminder interval, and deletes log rows older
//! than 48 h.

use dbackup_adapters_core::health::{self, Transition};
use dbackup_adapters_core::registry::Kind;
use dbackup_adapters_core::{render_notification, store, worker_source, worker_storage, SecretBox};
use dbackup_adapters_core::notify::Deliver;
use dbackup_core::db::Db;
use dbackup_web::notify::SpinNotifier;
use dbackup_web::worker;
use futures::StreamExt;
use serde_json::{json, Value};

/// Probes in flight at once.
const CONCURRENCY: usize = 4;

/// One probe's outcome.
struct Outcome {
    id: String,
    ok: bool,
    latency_ms: u64,
    error: Option<String>,
}

fn message(status: u16, body: &Value) -> String {
    let error = body["error"]
        .as_str()
        .or_else(|| body["message"].as_str())
        .unwrap_or("check failed");
    match body["details"].as_str() {
        Some(d) if !d.is_empty() => format!("{error}: {d}"),
        _ => format!("{error} (HTTP {status})"),
    }
}

async fn check(request: Result<(String, &'static str, Value), (String, String)>) -> Outcome {
    let (id, path, body) = match request {
        Ok(r) => r,
        Err((id, error)) => {
            return Outcome {
                id,
                ok: false,
                latency_ms: 0,
                error: Some(error),
            }
        }
    };
    let started = std::time::Instant::now();
    let answer = worker::post_json(path, &body).await;
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let (ok, error) = match answer {
        Ok((200, body)) if body["ok"] != json!(false) => (true, None),
        Ok((status, body)) => (false, Some(message(status, &body))),
        Err(e) => (false, Some(e.message)),
    };
    Outcome {
        id,
        ok,
        latency_ms,
        error,
    }
}

/// The worker request that checks adapter `id`, or why it cannot be built.
fn request(
    db: &dyn Db,
    sealer: &SecretBox,
    id: &str,
) -> Result<(String, &'static str, Value), (String, String)> {
    let fail = |e: dbackup_core::ApiError| (id.to_owned(), e.message);
    let adapter = store::load(db, sealer, id).map_err(fail)?;
    match adapter.kind {
        Kind::Database => Ok((
            id.to_owned(),
            "/v1/probe",
            worker_source(&adapter).map_err(fail)?,
        )),
        _ => Ok((
            id.to_owned(),
            "/v1/storage/probe",
            json!({ "storage": worker_storage(&adapter).map_err(fail)? }),
        )),
    }
}

/// Runs a round if one is due (`now`: unix seconds); returns the transitions that happened.
pub async fn run(db: &dyn Db, now: i64) -> Result<Vec<(String, Transition)>, String> {
    if !health::claim_round(db, now).map_err(|e| e.to_string())? {
        return Ok(Vec::new());
    }
    let key = spin_sdk::variables::get("encryption_key").map_err(|e| format!("{e:?}"))?;
    let sealer = SecretBox::from_hex_key(&key).map_err(|e| e.to_string())?;
    let ids = health::targets(db).map_err(|e| e.to_string())?;
    let requests: Vec<_> = ids.iter().map(|id| request(db, &sealer, id)).collect();
    let outcomes: Vec<Outcome> = futures::stream::iter(requests.into_iter().map(check))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let now_iso = dbackup_core::time::iso8601(u64::try_from(now).unwrap_or(0));
    let mut transitions = Vec::new();
    let mut notices = Vec::new();
    for o in outcomes {
        match health::record(db, &o.id, o.ok, o.latency_ms, o.error.as_deref(), &now_iso) {
            Ok(Some(t)) => {
                if t.went_offline || t.came_back {
                    eprintln!(
                        "dbackup runner: adapter {} is {}{}",
                        o.id,
                        t.status.as_str(),
                        o.error
                            .as_deref()
                            .map(|e| format!(": {e}"))
                            .unwrap_or_default()
                    );
                }
                notices.push((o.id.clone(), t, o.error.clone()));
                transitions.push((o.id, t));
            }
            Ok(None) => {}
            Err(e) => eprintln!("dbackup runner: recording the health of {}: {e}", o.id),
        }
    }
    if let Err(e) = notify(db, &sealer, &notices, now).await {
        eprintln!("dbackup runner: health notifications: {e}");
    }
    let cutoff =
        dbackup_core::time::iso8601(u64::try_from(now - health::RETENTION_SECS).unwrap_or(0));
    health::prune(db, &cutoff).map_err(|e| e.to_string())?;
    Ok(transitions)
}

/// Sends the system-event notification of each transition that warrants one (going OFFLINE,
/// coming back, or a reminder while OFFLINE) to the channels of the
/// `systemNotificationChannels` setting; the time of the notice goes into the adapter's
/// metadata (`lastHealthNotice`, unix seconds) for the reminder cooldown.
async fn notify(
    db: &dyn Db,
    sealer: &SecretBox,
    notices: &[(String, Transition, Option<String>)],
    now: i64,
) -> Result<(), String> {
    let channels = health::system_channels(db).map_err(|e| e.to_string())?;
    if channels.is_empty() {
        return Ok(());
    }
    let reminder = health::reminder_secs(db).map_err(|e| e.to_string())?;
    for (id, t, error) in notices {
        let Ok(adapter) = store::load(db, sealer, id) else {
            continue;
        };
        let last = adapter
            .metadata
            .get("lastHealthNotice")
            .and_then(Value::as_i64);
        if !health::should_notify(t, last, now, reminder) {
            continue;
        }
        let msg = health::transition_notification(&adapter.name, t, error.as_deref());
        for channel_id in &channels {
            let sent = match store::load(db, sealer, channel_id) {
                Ok(channel) => match render_notification(&channel, &msg) {
                    Ok(out) => SpinNotifier.deliver(out).await,
                    Err(e) => Err(e.message),
                },
                Err(e) => Err(e.message),
            };
            if let Err(e) = sent {
                eprintln!("dbackup runner: health notification to {channel_id}: {e}");
            }
        }
        let mut patch = serde_json::Map::new();
        patch.insert("lastHealthNotice".into(), json!(now));
        store::merge_metadata(db, id, &patch).map_err(|e| e.to_string())?;
    }
    Ok(())
}
