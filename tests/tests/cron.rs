//! The cron trigger: six-field expressions, ticks recorded by the `cronprobe` component, never two
//! ticks of one trigger at once.

use dbackup_host::database::{run_statement, Database, DatabaseConfig};
use dbackup_tests::{host_config, start_error, toml_str, wait_for, wasm, write_manifest, TempDir};
use std::path::Path;
use std::time::Duration;

fn manifest(expression: &str, sleep_ms: Option<u64>) -> String {
    let mut toml = format!(
        "spin_manifest_version = 2\n[application]\nname = \"cron\"\n\n\
         [[trigger.cron]]\ncomponent = \"probe\"\ncron_expression = {}\n\n\
         [component.probe]\nsource = {}\nsqlite_databases = [\"default\"]\n",
        toml_str(expression),
        toml_str(wasm("fixture_cronprobe").to_string_lossy()),
    );
    if let Some(ms) = sleep_ms {
        toml.push_str(&format!(
            "[component.probe.variables]\nsleep_ms = \"{ms}\"\n"
        ));
    }
    toml
}

/// One recorded tick.
#[derive(Debug, Clone, Copy)]
struct Tick {
    ts: i64,
    started_ms: i64,
    ended_ms: i64,
}

/// The ticks recorded so far in the default database under `data_dir` (none when the table does
/// not exist yet).
async fn ticks(data_dir: &Path) -> Vec<Tick> {
    let db = Database::open(&DatabaseConfig::Local {
        path: data_dir.join("dbackup.db"),
    })
    .await
    .expect("open the database");
    let conn = db.connect().await.expect("connect");
    let Ok(rows) = run_statement(
        &conn,
        "SELECT ts, started_ms, ended_ms FROM ticks ORDER BY started_ms",
        &[],
    )
    .await
    else {
        return Vec::new();
    };
    rows.rows
        .iter()
        .map(|r| {
            let int = |i: usize| r[i].as_i64().expect("integer column");
            Tick {
                ts: int(0),
                started_ms: int(1),
                ended_ms: int(2),
            }
        })
        .collect()
}

/// Runs the host with a cron trigger until `n` ticks are recorded (at most `timeout`), stops it
/// and returns every tick.
async fn run_until_ticks(toml: &str, n: usize, timeout: Duration) -> Vec<Tick> {
    let dir = TempDir::new();
    let data = dir.join("data");
    let mut config = host_config(write_manifest(dir.path(), toml), &data, &[]);
    config.cron = true;
    let host = dbackup_host::app::start(config).await.expect("starts");
    let reached = wait_for(timeout, || {
        let data = data.clone();
        async move { (ticks(&data).await.len() >= n).then_some(()) }
    })
    .await;
    // Shutdown lets a tick in progress finish.
    host.shutdown().await;
    let all = ticks(&data).await;
    assert!(
        reached.is_some(),
        "only {} ticks within {timeout:?}: {all:?}",
        all.len()
    );
    all
}

#[tokio::test]
async fn a_slow_tick_is_never_overlapped_by_the_next() {
    // Every second, but each tick takes 1.5 s: the trigger must skip, not overlap or queue.
    let ticks = run_until_ticks(
        &manifest("* * * * * *", Some(1500)),
        2,
        Duration::from_secs(15),
    )
    .await;
    assert!(ticks.len() >= 2, "{ticks:?}");
    for t in &ticks {
        assert!(t.ended_ms - t.started_ms >= 1500, "the tick slept: {t:?}");
    }
    for pair in ticks.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        assert!(
            b.started_ms >= a.ended_ms,
            "ticks overlap: {a:?} then {b:?}"
        );
        // The occurrences that fell inside a running tick were skipped, not queued.
        assert!(
            b.ts - a.ts >= 2,
            "missed occurrences were queued: {a:?} then {b:?}"
        );
    }
}

#[tokio::test]
async fn a_fast_tick_runs_every_second() {
    // No sleep_ms variable at all: the probe defaults to 0.
    let ticks = run_until_ticks(&manifest("* * * * * *", None), 2, Duration::from_secs(10)).await;
    assert!(ticks.len() >= 2, "{ticks:?}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let now = i64::try_from(now).expect("fits");
    for pair in ticks.windows(2) {
        assert!(
            pair[1].ts > pair[0].ts,
            "each tick has its own second: {ticks:?}"
        );
        assert!(pair[1].started_ms >= pair[0].ended_ms, "{ticks:?}");
    }
    for t in &ticks {
        // The timestamp handed to the component is the scheduled second, just before it ran.
        let delay_ms = t.started_ms - t.ts * 1000;
        assert!((-1000..=3000).contains(&delay_ms), "{t:?}");
        assert!((now - 60..=now).contains(&t.ts), "{t:?}");
    }
}

#[tokio::test]
async fn an_invalid_cron_expression_fails_the_start() {
    for expression in ["* * * * *", "61 * * * * *", "every minute"] {
        let dir = TempDir::new();
        let manifest = write_manifest(dir.path(), &manifest(expression, None));
        let mut config = host_config(manifest, &dir.join("data"), &[]);
        config.cron = true;
        let err = start_error(config).await;
        assert!(
            err.contains(&format!("invalid cron_expression {expression:?}")),
            "{err}"
        );
    }
}
