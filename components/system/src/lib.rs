//! Serves `/api/health` (public, before the gate: it reports an unmigrated or unreachable
//! database instead of failing with it), `/api/audit`, `/api/settings`, `/metrics` (Prometheus),
//! `/api/system/config-*` (config self-backup and restore), `/api/workers` (the pool of
//! workers), `/api/openapi.json` (the OpenAPI
//! document), and JSON 404 for any other `/api` route. Routes and their permissions are in
//! `dbackup_routes`.

mod audit;
mod config_backup;
mod health;
mod metrics;
mod openapi;
mod settings;
mod workers;

use dbackup_routes as routes;
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;
use spin_sdk::variables;

#[http_component]
async fn handle(req: Request) -> Response {
    let method = req.method().to_string();
    let is_health = matches!(req.method(), Method::Get | Method::Head)
        && routes::find(&method, req.path()).is_some_and(|m| m.rule.pattern == "/api/health");
    if is_health {
        return dbackup_web::respond(health::health().await);
    }
    if matches!(req.method(), Method::Get | Method::Head) && req.path() == "/metrics" {
        let authorization = req
            .header("authorization")
            .and_then(|h| h.as_str())
            .map(str::to_owned);
        let token = variables::get("metrics_token").ok();
        if metrics::token_matches(authorization.as_deref(), token.as_deref()) {
            let up = health::worker_status().await == dbackup_core::health::WorkerStatus::Ok;
            let answer =
                dbackup_web::SpinDb::open_migrated().and_then(|db| metrics::response(&db, up));
            return dbackup_web::respond(answer);
        }
        return match dbackup_web::gate::gate(req, "system") {
            Ok(ctx) => {
                let up = health::worker_status().await == dbackup_core::health::WorkerStatus::Ok;
                let answer = metrics::response(&ctx.db, up);
                ctx.finish(answer)
            }
            Err(refusal) => refusal,
        };
    }
    if req.path().trim_end_matches('/') == "/api/workers" {
        return match dbackup_web::gate::gate(req, "system") {
            Ok(ctx) => {
                let answer = match (ctx.rule.method, ctx.rule.pattern) {
                    ("GET", "/api/workers") => workers::list(&ctx).await,
                    _ => Err(ctx.unhandled()),
                };
                ctx.finish(answer)
            }
            Err(refusal) => refusal,
        };
    }
    if req.path().starts_with("/api/system/config-") {
        return match dbackup_web::gate::gate(req, "system") {
            Ok(ctx) => {
                let answer = match (ctx.rule.method, ctx.rule.pattern) {
                    ("GET", "/api/system/config-backup") => config_backup::get(&ctx),
                    ("PUT", "/api/system/config-backup") => config_backup::put(&ctx),
                    ("POST", "/api/system/config-backup") => config_backup::run_now(&ctx).await,
                    ("GET", "/api/system/config-backups") => config_backup::list(&ctx).await,
                    ("POST", "/api/system/config-restore") => config_backup::restore(&ctx).await,
                    _ => Err(ctx.unhandled()),
                };
                ctx.finish(answer)
            }
            Err(refusal) => refusal,
        };
    }
    dbackup_web::gate::serve(req, "system", |ctx| {
        match (ctx.rule.method, ctx.rule.pattern) {
            ("GET", "/api/audit") => audit::list(ctx),
            ("GET", "/api/settings") => settings::get(ctx),
            ("PATCH", "/api/settings") => settings::update(ctx),
            ("GET", "/api/openapi.json") => openapi::get(ctx),
            _ => Err(ctx.unhandled()),
        }
    })
}
