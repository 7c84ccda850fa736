//! Serves `/api/jobs`: CRUD, `POST /api/jobs/{id}/run` (queues an execution; the runner
//! dispatches it on its next tick) and `GET /api/jobs/{id}/next-runs`. Routes and permissions
//! are in `dbackup_routes`; the logic is in `dbackup_jobs_core::job`.

mod handlers;

use spin_sdk::http::{Request, Response};
use spin_sdk::http_component;

#[http_component]
fn handle(req: Request) -> Response {
    dbackup_web::gate::serve(req, "jobs", |ctx| {
        match (ctx.rule.method, ctx.rule.pattern) {
            ("GET", "/api/jobs") => handlers::list(ctx),
            ("POST", "/api/jobs") => handlers::create(ctx),
            ("GET", "/api/jobs/{id}") => handlers::get(ctx),
            ("PUT", "/api/jobs/{id}") => handlers::update(ctx),
            ("DELETE", "/api/jobs/{id}") => handlers::delete(ctx),
            ("POST", "/api/jobs/{id}/run") => handlers::run(ctx),
            ("GET", "/api/jobs/{id}/next-runs") => handlers::next_runs(ctx),
            _ => Err(ctx.unhandled()),
        }
    })
}
