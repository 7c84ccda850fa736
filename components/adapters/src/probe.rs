//! `POST /api/adapters/test`, `POST /api/adapters/{id}/test`, `GET /api/adapters/{id}/databases`:
//! the adapter test of `dbackup_adapters_core::probe`, each call to the worker or a channel
//! bounded by its `TEST_TIMEOUT`.

use dbackup_adapters_core::api::AdapterTestRequest;
use dbackup_adapters_core::probe::{self, TEST_TIMEOUT};
use dbackup_adapters_core::{manage, store};
use dbackup_core::ApiError;
use dbackup_web::deadline::Bounded;
use dbackup_web::gate::Ctx;
use dbackup_web::notify::SpinNotifier;
use dbackup_web::worker::SpinWorker;
use spin_sdk::http::Response;

use crate::{access, crud};

/// The worker, answering within [`TEST_TIMEOUT`].
fn worker() -> Bounded<SpinWorker> {
    Bounded {
        inner: SpinWorker,
        limit: TEST_TIMEOUT,
    }
}

/// `POST /api/adapters/test`: tests a config that is not saved (needs the type's write
/// permission, since it connects wherever the body says). With `id`, `"••••"` takes that
/// adapter's stored secrets, and the test is audited like an update (`test`, the adapter and
/// the changed field names, never a value) before it runs: a test that hangs is on record too.
pub async fn test_unsaved(ctx: &Ctx) -> Result<Response, ApiError> {
    let body: AdapterTestRequest = ctx.body()?;
    let t = manage::adapter_type(&body.adapter_id, body.kind.as_deref())?;
    access::require(ctx, t.kind, true)?;
    let stored = match &body.id {
        Some(id) => {
            let stored = store::load(&ctx.db, &ctx.secret_box()?, id)?;
            access::require_on(ctx, stored.kind, true)?;
            Some(stored)
        }
        None => None,
    };
    let (adapter, audit) = probe::unsaved(t, &body, stored.as_ref())?;
    if let (Some(id), Some(details)) = (&body.id, audit) {
        ctx.audit("test", "adapter", Some(id), details)?;
    }
    dbackup_web::ok(&probe::test(&worker(), &SpinNotifier, &adapter).await)
}

/// `POST /api/adapters/{id}/test`: a database's server version goes into its `metadata`.
pub async fn test_saved(ctx: &Ctx) -> Result<Response, ApiError> {
    let a = crud::load_for(ctx, false)?;
    let now = ctx.now.iso();
    dbackup_web::ok(&probe::test_saved(&ctx.db, &worker(), &SpinNotifier, &a, &now).await?)
}

/// `GET /api/adapters/{id}/databases`: `[{name, system}]`; 502 with the reason when the
/// server cannot be reached.
pub async fn databases(ctx: &Ctx) -> Result<Response, ApiError> {
    let a = crud::load_for(ctx, false)?;
    let now = ctx.now.iso();
    dbackup_web::ok(&probe::databases(&ctx.db, &worker(), &SpinNotifier, &a, &now).await?)
}
