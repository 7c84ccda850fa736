//! Serves `/api/health` (public, before the gate: it reports an unmigrated or unreachable
//! database instead of failing with it), `/api/audit`, `/api/settings`, and JSON 404 for any
//! other `/api` route. Routes and their permissions are in `dbackup_identity::routes`.

mod audit;
mod health;
mod settings;

use dbackup_identity::routes;
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;

#[http_component]
async fn handle(req: Request) -> Response {
    let method = req.method().to_string();
    let is_health = matches!(req.method(), Method::Get | Method::Head)
        && routes::find(&method, req.path()).is_some_and(|m| m.rule.pattern == "/api/health");
    if is_health {
        return dbackup_web::respond(health::health().await);
    }
    dbackup_web::gate::serve(req, "system", |ctx| {
        match (ctx.rule.method, ctx.rule.pattern) {
            ("GET", "/api/audit") => audit::list(ctx),
            ("GET", "/api/settings") => settings::get(ctx),
            ("PATCH", "/api/settings") => settings::update(ctx),
            _ => Err(ctx.unhandled()),
        }
    })
}
