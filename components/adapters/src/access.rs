//! Which permission an adapter route needs: the routes are `authenticated` in the route table
//! and the adapter's type decides (sources:*, destinations:*, notifications:*). An adapter the
//! caller may not read is a 404, as if it did not exist.

use dbackup_adapters_core::Kind;
use dbackup_core::ApiError;
use dbackup_identity::authorize;
use dbackup_identity::Permission;
use dbackup_web::gate::Ctx;

/// The read or write permission for adapters of `kind`.
pub fn permission(kind: Kind, write: bool) -> Permission {
    kind.permission(write)
}

/// Whether the caller may read adapters of `kind`.
pub fn can_read(ctx: &Ctx, kind: Kind) -> bool {
    ctx.principal
        .as_ref()
        .is_some_and(|p| p.has(permission(kind, false)))
}

/// 403 "missing permission …" unless the caller holds the permission.
pub fn require(ctx: &Ctx, kind: Kind, write: bool) -> Result<(), ApiError> {
    authorize::require(ctx.principal()?, permission(kind, write)).map_err(ApiError::from)
}

/// For an existing adapter: 404 if the caller may not read its kind, then 403 if a write is
/// needed and not held.
pub fn require_on(ctx: &Ctx, kind: Kind, write: bool) -> Result<(), ApiError> {
    if !can_read(ctx, kind) && !ctx.principal()?.has(permission(kind, true)) {
        return Err(dbackup_adapters_core::store::adapter_not_found());
    }
    require(ctx, kind, write)
}
