//! Backup and restore tasks. The request and answer types are the protocol's
//! ([`dbackup_protocol::tasks`]); here they become plans ([`BackupPlan`], [`RestorePlan`]:
//! validated, object name chosen) that run on a blocking thread, tracked by the [`Registry`].
//!
//! - `registry`: the in-memory task registry, task status and the result event;
//! - `backup`: plan and run a backup (dump → compress → encrypt → every destination);
//! - `restore`: plan and run a restore (verify → prepare the target → restore).

mod backup;
mod registry;
mod restore;
mod verify;

use dbackup_protocol::tasks::{CallbackSpec, EncryptionSpec, KeyKind};
use serde_json::Value;

pub use backup::{run_backup, start_backup, BackupPlan};
pub use dbackup_protocol::tasks::{
    BackupRequest, DestinationSpec, ObjectLocation, RestoreRequest, Status, TaskKind,
};
pub use registry::{detached_task, Registry, Task};
pub use restore::{run_restore, start_restore, RestorePlan};

use crate::callback::Callback;
use crate::error::Error;
use crate::format::BackupKey;

/// The key of a request's `encryption` (of the kind `keyKind` says: a symmetric key, a
/// write-only profile's public key, or the private key of a restore), checked against
/// `keyFingerprint` when one is given (400 otherwise).
pub(crate) fn encryption_key(spec: &EncryptionSpec) -> Result<BackupKey, Error> {
    let key = match spec.key_kind.unwrap_or(KeyKind::Symmetric) {
        KeyKind::Symmetric => BackupKey::from_hex(&spec.key_hex),
        KeyKind::Public => BackupKey::public_from_hex(&spec.key_hex),
        KeyKind::Private => BackupKey::private_from_hex(&spec.key_hex),
    }
    .map_err(|e| Error::InvalidBody(format!("encryption.keyHex: {e}")))?;
    if let Some(expected) = &spec.key_fingerprint {
        if !expected.eq_ignore_ascii_case(&key.fingerprint_hex()) {
            return Err(Error::InvalidBody(
                "encryption.keyFingerprint: does not match the key".into(),
            ));
        }
    }
    Ok(key)
}

/// A task's callback target and the secrets to mask in its events.
pub(crate) type TaskCallback = (Callback, Vec<String>);

/// Validates a request's callback and collects the task's secrets (connection passwords,
/// encryption key) to mask in its events.
fn plan_callback(
    spec: Option<&CallbackSpec>,
    connection: &Value,
    encryption: Option<&EncryptionSpec>,
) -> Result<Option<TaskCallback>, Error> {
    let Some(spec) = spec else { return Ok(None) };
    let callback = Callback::new(spec)?;
    let mut secrets = Vec::new();
    crate::callback::connection_secrets(connection, &mut secrets);
    if let Some(e) = encryption {
        secrets.push(e.key_hex.clone());
        secrets.push(e.key_hex.to_ascii_lowercase());
        secrets.push(e.key_hex.to_ascii_uppercase());
    }
    Ok(Some((callback, secrets)))
}
