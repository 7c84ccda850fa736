//! Serves /api/auth: first-user sign-up, password login with the second factor, logout, the
//! caller's sessions, TOTP 2FA management, passkeys (WebAuthn), and SSO (OpenID Connect)
//! with its provider administration (`/api/sso-providers`). Routes and their
//! permissions are in `dbackup_routes`; the gate checks them before any handler runs.

mod login;
mod passkeys;
mod sessions;
mod sso;
mod two_factor;

use spin_sdk::http::{Request, Response};
use spin_sdk::http_component;

#[http_component]
fn handle(req: Request) -> Response {
    dbackup_web::gate::serve(req, "auth", |ctx| {
        match (ctx.rule.method, ctx.rule.pattern) {
            ("GET", "/api/auth/setup-status") => login::setup_status(ctx),
            ("POST", "/api/auth/signup") => login::signup(ctx),
            ("POST", "/api/auth/login") => login::login(ctx),
            ("POST", "/api/auth/login/2fa") => login::second_factor(ctx),
            ("POST", "/api/auth/logout") => login::logout(ctx),
            ("GET", "/api/auth/session") => sessions::current(ctx),
            ("GET", "/api/auth/sessions") => sessions::list(ctx),
            ("DELETE", "/api/auth/sessions/{id}") => sessions::revoke(ctx),
            ("POST", "/api/auth/2fa/enroll") => two_factor::enroll(ctx),
            ("POST", "/api/auth/2fa/verify") => two_factor::verify(ctx),
            ("POST", "/api/auth/2fa/disable") => two_factor::disable(ctx),
            ("POST", "/api/auth/2fa/backup-codes") => two_factor::backup_codes(ctx),
            ("GET", "/api/auth/passkeys") => passkeys::list(ctx),
            ("POST", "/api/auth/passkeys/register/options") => passkeys::register_options(ctx),
            ("POST", "/api/auth/passkeys/register/verify") => passkeys::register_verify(ctx),
            ("POST", "/api/auth/passkeys/two-factor") => passkeys::two_factor(ctx),
            ("PATCH", "/api/auth/passkeys/{id}") => passkeys::rename(ctx),
            ("DELETE", "/api/auth/passkeys/{id}") => passkeys::delete(ctx),
            ("POST", "/api/auth/passkeys/login/options") => passkeys::login_options(ctx),
            ("POST", "/api/auth/passkeys/login/verify") => passkeys::login_verify(ctx),
            ("GET", "/api/auth/sso/providers") => sso::public_list(ctx),
            ("GET", "/api/auth/sso/{id}/start") => sso::start(ctx),
            ("GET", "/api/auth/sso/{id}/callback") => sso::callback(ctx),
            ("GET", "/api/profile/accounts") => sso::accounts(ctx),
            ("POST", "/api/profile/accounts/link") => sso::link(ctx),
            ("DELETE", "/api/profile/accounts/{id}") => sso::unlink(ctx),
            ("GET", "/api/sso-providers") => sso::list(ctx),
            ("POST", "/api/sso-providers") => sso::create(ctx),
            ("GET", "/api/sso-providers/{id}") => sso::get(ctx),
            ("PATCH", "/api/sso-providers/{id}") => sso::update(ctx),
            ("DELETE", "/api/sso-providers/{id}") => sso::delete(ctx),
            _ => Err(ctx.unhandled()),
        }
    })
}
