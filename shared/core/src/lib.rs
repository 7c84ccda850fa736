//! What every dbackup crate uses: SQL access behind the [`db::Db`] trait, calls to the worker
//! behind the [`worker::Worker`] trait, migrations, errors and their HTTP mapping ([`ApiError`]),
//! time ([`time::Timestamp`]) and ids ([`id`]), the outbound-address rule ([`net`]) and the
//! registry of values sealed with the server key ([`sealed`]).

#![forbid(unsafe_code)]

pub mod db;
pub mod error;
pub mod health;
pub mod id;
pub mod migrations;
#[cfg(any(test, feature = "native-sqlite"))]
pub mod native_sqlite;
pub mod net;
pub mod query;
pub mod sealed;
pub mod time;
pub mod worker;

pub use error::ApiError;

/// The application version reported by the API.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
