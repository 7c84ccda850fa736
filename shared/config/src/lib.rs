//! dbackup's config self-backup (docs/CONFIG-BACKUP.md, docs/CONTRACTS.md "v3 additions"):
//!
//! - [`export`]: every configuration table → the versioned [`ConfigDocument`] (secrets
//!   decrypted with the server key only when asked to, password hashes only when asked to);
//! - [`restore`]: a document → one `BEGIN IMMEDIATE` transaction that matches entities by
//!   natural key, remaps ids and foreign keys, re-seals secrets with the current server key,
//!   and reports every change (a dry run is the same transaction, rolled back); every entity
//!   is checked and written by its API's own functions (one module per entity), and the caller
//!   may create or change only what its API would let them ([`access`]);
//! - [`setting`]: the `configBackup` system job (validation, defaults, next run, the scheduler's
//!   compare-and-set claim, the last run);
//! - [`objects`]: object names under `config-backups/`, keep-N, the listing;
//! - [`kit`]: the recovery kit ZIP of an encryption profile;
//! - [`run`]: running a backup and restoring one, the worker behind
//!   [`dbackup_core::worker::Worker`].
//!
//! No I/O besides the [`dbackup_core::db::Db`] and the worker client passed in.

#![forbid(unsafe_code)]

pub mod access;
pub mod export;
pub mod kit;
pub mod objects;
pub mod restore;
pub mod run;
pub mod setting;
mod sql;

#[cfg(test)]
mod testutil;

pub use export::{export, ConfigDocument, ExportOptions};
pub use restore::{restore, Change, ChangeAction, RestoreReport};
pub use setting::{ConfigBackupConfig, ConfigBackupView, LastRun};

/// `kind` of every config document.
pub const DOCUMENT_KIND: &str = "dbackup-config";
/// The document format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
