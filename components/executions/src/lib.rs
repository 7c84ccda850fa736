//! Serves `/api/executions` (history, one execution with logs and live progress, cancel),
//! `/api/restores` (queues a Restore execution) and `/api/internal/executions/{id}/events`
//! (the worker's signed callback events, verified with the execution's own HMAC key before
//! anything else) and `/api/internal/workers/register` (a pool worker's registration, signed
//! with the worker token) — these two are not in the route table because no user credential
//! applies to them.

mod events;
mod executions;
mod restores;
mod workers;

use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;

#[http_component]
async fn handle(req: Request) -> Response {
    if let Some(id) = events::route(&req) {
        if *req.method() != Method::Post {
            return dbackup_web::error(&dbackup_core::ApiError::method_not_allowed());
        }
        return dbackup_web::respond(events::receive(&id, req));
    }
    if workers::route(&req) {
        if *req.method() != Method::Post {
            return dbackup_web::error(&dbackup_core::ApiError::method_not_allowed());
        }
        return dbackup_web::respond(workers::register(req));
    }
    let ctx = match dbackup_web::gate::gate(req, "executions") {
        Ok(ctx) => ctx,
        Err(refusal) => return refusal,
    };
    let result = match (ctx.rule.method, ctx.rule.pattern) {
        ("GET", "/api/executions") => executions::list(&ctx),
        ("GET", "/api/executions/{id}") => executions::get(&ctx),
        ("POST", "/api/executions/{id}/cancel") => executions::cancel(&ctx).await,
        ("POST", "/api/restores") => restores::create(&ctx).await,
        _ => Err(ctx.unhandled()),
    };
    ctx.finish(result)
}
