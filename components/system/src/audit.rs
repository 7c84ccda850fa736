//! `GET /api/audit` (audit:read).

use dbackup_core::ApiError;
use dbackup_identity::audit::{self, AuditQuery};
use dbackup_web::gate::Ctx;
use spin_sdk::http::Response;

/// `GET /api/audit?resource&action&userId&from&to&cursor&limit` → `{items, nextCursor}`,
/// newest first; pass `nextCursor` as `cursor` for the next (older) page.
pub fn list(ctx: &Ctx) -> Result<Response, ApiError> {
    let query = AuditQuery::from_query_string(&ctx.query)?;
    dbackup_web::ok(&audit::query(&ctx.db, &query)?)
}
