//! Serves /api/users, /api/groups, /api/profile and /api/api-keys. Routes and their permissions
//! are in `dbackup_routes`; the gate checks them before any handler runs, and the
//! identity functions refuse escalation (nobody grants or manages more than they hold).

mod api_keys;
mod groups;
mod profile;
mod users;

use spin_sdk::http::{Request, Response};
use spin_sdk::http_component;

#[http_component]
fn handle(req: Request) -> Response {
    dbackup_web::gate::serve(req, "users", |ctx| {
        match (ctx.rule.method, ctx.rule.pattern) {
            ("GET", "/api/users") => users::list(ctx),
            ("POST", "/api/users") => users::create(ctx),
            ("GET", "/api/users/{id}") => users::get(ctx),
            ("PATCH", "/api/users/{id}") => users::update(ctx),
            ("DELETE", "/api/users/{id}") => users::delete(ctx),
            ("POST", "/api/users/{id}/reset-2fa") => users::reset_two_factor(ctx),
            ("GET", "/api/groups") => groups::list(ctx),
            ("POST", "/api/groups") => groups::create(ctx),
            ("GET", "/api/groups/{id}") => groups::get(ctx),
            ("PATCH", "/api/groups/{id}") => groups::update(ctx),
            ("DELETE", "/api/groups/{id}") => groups::delete(ctx),
            ("GET", "/api/profile") => profile::get(ctx),
            ("PATCH", "/api/profile") => profile::update(ctx),
            ("POST", "/api/profile/password") => profile::change_password(ctx),
            ("GET", "/api/api-keys") => api_keys::list(ctx),
            ("POST", "/api/api-keys") => api_keys::create(ctx),
            ("DELETE", "/api/api-keys/{id}") => api_keys::delete(ctx),
            _ => Err(ctx.unhandled()),
        }
    })
}
