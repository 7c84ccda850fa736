//! Code shared by dbackup's components, the host and the runner: the domain model, SQL access,
//! migrations, errors and their HTTP mapping.

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
