//! Serves `/api/jobs`: CRUD, `POST /api/jobs/{id}/run` (queues an execution and starts it at
//! once when a slot is free; otherwise the runner does on a later tick) and `GET /api/jobs/{id}/next-runs`. Routes and permissions
//! are in `dbackup_routes`; the logic is in `dbackup_jobs_core::job`.

mod handlers;

use spin_sdk::http::{Request, Response};
use spin_sdk::http_component;

#[http_component]
async fn handle(req: Request) -> Response {
    let ctx = match dbackup_web::gate::gate(req, "jobs") {
        Ok(ctx) => ctx,
        Err(refusal) => return refusal,
    };
    let result = match (ctx.rule.method, ctx.rule.pattern) {
        ("GET", "/api/jobs") => handlers::list(&ctx),
        ("POST", "/api/jobs") => handlers::create(&ctx),
        ("GET", "/api/jobs/{id}") => handlers::get(&ctx),
        ("PUT", "/api/jobs/{id}") => handlers::update(&ctx),
        ("DELETE", "/api/jobs/{id}") => handlers::delete(&ctx),
        ("POST", "/api/jobs/{id}/run") => handlers::run(&ctx).await,
        ("GET", "/api/jobs/{id}/next-runs") => handlers::next_runs(&ctx),
        _ => Err(ctx.unhandled()),
    };
    ctx.finish(result)
}
