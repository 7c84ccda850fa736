//! `cargo xtask bench control-plane`'s runner measurement (not a test): the jobs part of a
//! runner tick (`dbackup_jobs_core::tick::run`) natively against a copy of the bench's
//! generated database, with a worker that accepts every backup (`FakeWorker`). It measures
//! the tick's database work and logic — what grows with jobs and executions — without the
//! wasm instantiation and the host's SQLite bridge (the bench reports those apart).
//!
//! `control_plane_tick <database file> <encryption key hex>` prints
//! `idle_ms <median> <max>` over 5 ticks with nothing due, then makes every job due (schedule
//! `* * * * *`, last planned 90 s ago) and prints `due_ms <ms> queued <n> dispatched <n>` for the
//! one tick that queues them all and dispatches up to `maxConcurrentJobs`.

use std::time::Instant;

use chrono::Utc;
use dbackup_adapters_core::notify::{Deliver, OutboundMessage};
use dbackup_core::native_sqlite::TestDb;
use dbackup_core::worker::fake::{block_on, FakeWorker};
use dbackup_identity::secretbox::SecretBox;
use dbackup_jobs_core::tick::{self, TickContext};
use serde_json::json;

/// Notifications are not part of the measurement: dropped.
struct Discard;

impl Deliver for Discard {
    async fn deliver(&self, _out: OutboundMessage) -> Result<(), String> {
        Ok(())
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(path), Some(key)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: control_plane_tick <database file> <encryption key hex>");
        std::process::exit(2);
    };
    let db = TestDb::open(std::path::Path::new(path));
    let sealer = match SecretBox::from_hex_key(key) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("control_plane_tick: the encryption key: {e}");
            std::process::exit(2);
        }
    };
    let worker = FakeWorker::new();
    worker.answer("/v1/backups", 202, json!({"taskId": "bench"}));
    let cx = TickContext {
        worker: &worker,
        notifier: &Discard,
        sealer: Ok(&sealer),
        app_url: "http://127.0.0.1:1",
    };
    let tick = || {
        let started = Instant::now();
        block_on(tick::run(&db, &cx, Utc::now()));
        started.elapsed().as_secs_f64() * 1000.0
    };

    let mut idle: Vec<f64> = (0..5).map(|_| tick()).collect();
    idle.sort_by(f64::total_cmp);
    println!("idle_ms {:.2} {:.2}", idle[2], idle[4]);

    let before = db.count(r#"SELECT COUNT(*) FROM "Execution""#);
    let planned = dbackup_jobs_core::iso(Utc::now() - chrono::Duration::seconds(90));
    db.exec(&format!(
        r#"UPDATE "Job" SET "schedule" = '* * * * *', "lastScheduledAt" = '{planned}', "enabled" = 1"#
    ));
    let due = tick();
    let queued = db.count(r#"SELECT COUNT(*) FROM "Execution""#) - before;
    let dispatched = worker.requests_to("/v1/backups").len();
    println!("due_ms {due:.2} queued {queued} dispatched {dispatched}");
}
