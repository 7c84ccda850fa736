//! Serves `/api/adapter-types` and `/api/adapters`: sources, destinations and notification
//! channels (CRUD with secrets sealed and masked), connection tests, database lists and health
//! history. The logic lives in `dbackup_adapters_core`; the routes and their access in
//! `dbackup_routes` (authenticated; the adapter's type decides the permission, see
//! [`access`]).

mod access;
mod crud;
mod probe;

use spin_sdk::http::{Request, Response};
use spin_sdk::http_component;

#[http_component]
async fn handle(req: Request) -> Response {
    let ctx = match dbackup_web::gate::gate(req, "adapters") {
        Ok(ctx) => ctx,
        Err(refusal) => return refusal,
    };
    let result = match (ctx.rule.method, ctx.rule.pattern) {
        ("GET", "/api/adapter-types") => crud::types(&ctx),
        ("GET", "/api/adapters") => crud::list(&ctx),
        ("POST", "/api/adapters") => crud::create(&ctx).await,
        ("GET", "/api/adapters/{id}") => crud::get(&ctx),
        ("PUT", "/api/adapters/{id}") => crud::update(&ctx).await,
        ("DELETE", "/api/adapters/{id}") => crud::delete(&ctx),
        ("POST", "/api/adapters/test") => probe::test_unsaved(&ctx).await,
        ("POST", "/api/adapters/{id}/test") => probe::test_saved(&ctx).await,
        ("GET", "/api/adapters/{id}/databases") => probe::databases(&ctx).await,
        ("GET", "/api/adapters/{id}/health") => crud::health(&ctx),
        _ => Err(ctx.unhandled()),
    };
    ctx.finish(result)
}
