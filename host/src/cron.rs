//! The cron trigger, as Spin's `trigger-cron` plugin runs it: six-field expressions (seconds first),
//! `handle-cron-event` called with the tick's Unix timestamp, never two ticks of one trigger at once
//! (a tick that overruns makes the missed ones be skipped, not queued).

use crate::runtime::cron::SpinCronPre;
use crate::runtime::cron_metadata;
use crate::runtime::Runtime;
use anyhow::{anyhow, Result};
use croner::parser::{CronParser, Seconds};
use croner::Cron;
use std::sync::Arc;
use tokio::sync::watch;

/// Parses a cron expression the way the plugin accepts it (seconds required).
pub fn parse(expr: &str) -> Result<Cron> {
    CronParser::builder()
        .seconds(Seconds::Required)
        .build()
        .parse(expr)
        .map_err(|e| anyhow!("invalid cron_expression {expr:?}: {e}"))
}

/// One scheduled component.
pub struct CronTrigger {
    pub component: String,
    pub schedule: Cron,
}

/// Runs one tick of a component now.
pub async fn tick(runtime: &Runtime, component: &str, timestamp: u64) -> Result<()> {
    let loaded = runtime
        .components
        .get(component)
        .ok_or_else(|| anyhow!("unknown component {component}"))?;
    let mut store = runtime.store(loaded)?;
    let pre = SpinCronPre::new(loaded.pre.clone()).map_err(anyhow::Error::from)?;
    let instance = pre
        .instantiate_async(&mut store)
        .await
        .map_err(anyhow::Error::from)?;
    let result = instance
        .call_handle_cron_event(&mut store, cron_metadata(timestamp))
        .await
        .map_err(anyhow::Error::from)?;
    result.map_err(|e| match e {
        crate::runtime::cron::fermyon::spin_cron::cron_types::Error::Other(msg) => anyhow!("{msg}"),
    })
}

/// Runs a trigger until `stop` turns true; a tick in progress is allowed to finish.
pub async fn run(runtime: Arc<Runtime>, trigger: CronTrigger, mut stop: watch::Receiver<bool>) {
    loop {
        let now = chrono::Utc::now();
        let next = match trigger.schedule.find_next_occurrence(&now, false) {
            Ok(n) => n,
            Err(e) => {
                eprintln!(
                    "dbackup: cron {}: no next occurrence: {e}",
                    trigger.component
                );
                return;
            }
        };
        let wait = (next - now).to_std().unwrap_or_default();
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        let ts = u64::try_from(next.timestamp()).unwrap_or_default();
        if let Err(e) = tick(&runtime, &trigger.component, ts).await {
            eprintln!("dbackup: cron tick of {} failed: {e:#}", trigger.component);
        }
    }
}
