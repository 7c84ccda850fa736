//! Verification after upload: once every destination has committed, each object is read back
//! from its storage, concurrently, and checked by [`stream::verify_object`] against the size
//! and SHA-256 computed while writing (and, encrypted, chunk by chunk with the key). A
//! destination whose object reads back different is reported `Failed`, and the backup counts
//! it as a failed destination.

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use dbackup_protocol::tasks::{Verification, VerificationStatus};

use crate::format::BackupKey;
use crate::storage::Storage;
use crate::stream::{self, Written};

/// One destination to check: its id and, when its upload succeeded, its storage.
pub(super) struct Target<'a> {
    pub id: &'a str,
    pub storage: Option<&'a dyn Storage>,
}

/// Reads `object_name` back from every target that stored it, concurrently; one
/// [`Verification`] per target, in order, with how long each read took. Targets without a
/// storage (failed uploads) and every target when `enabled` is false are `Skipped`.
pub(super) fn verify_destinations(
    targets: &[Target<'_>],
    object_name: &str,
    key: Option<&BackupKey>,
    written: Written<'_>,
    enabled: bool,
    cancelled: &AtomicBool,
) -> Vec<(Verification, f64)> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = targets
            .iter()
            .map(|t| {
                let storage = t.storage.filter(|_| enabled);
                #[cfg(test)]
                if let Some(storage) = storage {
                    hook::before_verify(t.id, storage, object_name);
                }
                storage.map(|storage| {
                    scope.spawn(move || {
                        let started = Instant::now();
                        let outcome = storage
                            .get(object_name)
                            .map_err(|e| format!("reading the object back: {e}"))
                            .and_then(|r| stream::verify_object(r, key, written, cancelled));
                        (outcome, started.elapsed().as_secs_f64())
                    })
                })
            })
            .collect();
        targets
            .iter()
            .zip(handles)
            .map(|(t, handle)| {
                let (status, detail, secs) = match handle {
                    None if !enabled => (
                        VerificationStatus::Skipped,
                        "verification after upload is off for this backup".to_owned(),
                        0.0,
                    ),
                    None => (
                        VerificationStatus::Skipped,
                        "the upload failed: nothing to read back".to_owned(),
                        0.0,
                    ),
                    Some(h) => match h.join() {
                        Ok((Ok(detail), secs)) => (VerificationStatus::Verified, detail, secs),
                        Ok((Err(why), secs)) => (VerificationStatus::Failed, why, secs),
                        Err(_) => (
                            VerificationStatus::Failed,
                            "verification panicked".to_owned(),
                            0.0,
                        ),
                    },
                };
                let checked_at =
                    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                (
                    Verification {
                        destination_id: t.id.to_owned(),
                        status,
                        checked_at,
                        detail,
                    },
                    secs,
                )
            })
            .collect()
    })
}

/// A test hook run on the backup's thread just before a destination's object is read back
/// (e.g. to damage it). Compiled into tests only.
#[cfg(test)]
pub(crate) mod hook {
    use std::cell::RefCell;

    use crate::storage::Storage;

    type Hook = Box<dyn Fn(&str, &dyn Storage, &str)>;

    thread_local! {
        static BEFORE_VERIFY: RefCell<Option<Hook>> = const { RefCell::new(None) };
    }

    /// Runs `f(destination_id, storage, object_name)` before each read-back on this thread.
    pub(crate) fn set_before_verify(f: impl Fn(&str, &dyn Storage, &str) + 'static) {
        BEFORE_VERIFY.with(|h| *h.borrow_mut() = Some(Box::new(f)));
    }

    pub(super) fn before_verify(id: &str, storage: &dyn Storage, object_name: &str) {
        BEFORE_VERIFY.with(|h| {
            if let Some(f) = h.borrow().as_ref() {
                f(id, storage, object_name);
            }
        });
    }
}

#[cfg(test)]
mod tests;
