//! Test support: the shared [`TestDb`] (a migrated native SQLite), the jobs tests' clock and
//! their job.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;

use crate::job;

pub use dbackup_core::native_sqlite::TestDb;

/// The instant the jobs tests treat as now.
pub const NOW: &str = "2026-01-01T00:00:00.000Z";

/// A UTC instant.
pub fn utc(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, s).single().unwrap()
}

/// The jobs tests' job ("nightly", Berlin time, two destinations) on `schedule`.
pub fn spec(schedule: &str) -> job::JobSpec {
    job::parse_input(
        json!({
            "name": "nightly", "schedule": schedule, "sourceId": "src",
            "destinations": [{"destinationId": "dst1", "retention": {"mode": "SIMPLE", "simple": {"keepCount": 3}}},
                             {"destinationId": "dst2"}],
            "compression": "GZIP", "compressionLevel": 6, "encryptionProfileId": "prof",
            "notificationIds": ["note"], "databases": ["shop"], "timezone": "Europe/Berlin"
        }),
        "UTC",
    )
    .unwrap()
}
