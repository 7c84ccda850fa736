//! Test support: the shared [`TestDb`] (a migrated native SQLite) and the jobs tests' clock.

pub use dbackup_core::native_sqlite::TestDb;

/// The instant the jobs tests treat as now.
pub const NOW: &str = "2026-01-01T00:00:00.000Z";
