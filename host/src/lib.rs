//! dbackup's local host: serves a Spin manifest (HTTP routes, cron triggers, static files, the
//! SQLite and variables interfaces) with wasmtime, so the same components run here and under
//! `spin up`.

pub mod app;
pub mod connection;
pub mod cron;
pub mod database;
pub mod limits;
pub mod manifest;
pub mod outbound;
mod outbound_hooks;
mod outbound_send;
pub mod rotate;
pub mod router;
pub mod runtime;
pub mod server;
mod sqlite_host;
pub mod variables;
pub mod worker;
