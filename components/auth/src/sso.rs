//! SSO (OpenID Connect): the admin API for providers (reading needs settings:write, writing
//! every permission: `sso::ensure_may_manage`), the public provider list, the login and the
//! linking of a signed-in user's account. The flows (state cookie, redirect URI from the public
//! origin, audited failures to `/login?error=<code>`) are `dbackup_identity::sso_flow`, over
//! Spin's outbound HTTP (`dbackup_web::provider_http`).

use dbackup_core::ApiError;
use dbackup_identity::audit::action;
use dbackup_identity::sso::{self, SsoProvider};
use dbackup_identity::sso_flow::{self, Redirect, Visit};
use dbackup_web::gate::Ctx;
use dbackup_web::provider_http::SpinProviderHttp;
use serde_json::json;
use spin_sdk::http::Response;

type Answer = Result<Response, ApiError>;

fn visit(ctx: &Ctx) -> Visit<'_> {
    Visit {
        db: &ctx.db,
        client: ctx.client(),
        now: ctx.now,
        public_origin: ctx.public_origin.as_deref(),
    }
}

fn redirect(to: Redirect) -> Answer {
    let mut resp = Response::builder()
        .status(302)
        .header("location", to.location)
        .header("cache-control", "no-store")
        .body(Vec::new())
        .build();
    if let Some(cookie) = to.set_cookie {
        resp.set_header("set-cookie", cookie);
    }
    Ok(resp)
}

/// `GET /api/sso-providers`.
pub fn list(ctx: &Ctx) -> Answer {
    dbackup_web::ok(&sso::list(&ctx.db)?)
}

/// `GET /api/sso-providers/{id}`.
pub fn get(ctx: &Ctx) -> Answer {
    dbackup_web::ok(&sso::get(&ctx.db, ctx.param("id")?)?)
}

fn audit_change(ctx: &Ctx, act: &str, p: &SsoProvider) -> Result<(), ApiError> {
    ctx.audit(
        act,
        sso::AUDIT_RESOURCE,
        Some(&p.id),
        json!({ "providerId": p.provider_id, "name": p.name, "adapter": p.adapter,
                "enabled": p.enabled, "allowProvisioning": p.allow_provisioning,
                "trustEmailLinking": p.trust_email_linking }),
    )
}

/// `POST /api/sso-providers` → 201. 403 unless the caller holds every permission.
pub fn create(ctx: &Ctx) -> Answer {
    sso::ensure_may_manage(ctx.principal()?)?;
    let input: sso::ProviderInput = ctx.body()?;
    let created = sso_flow::create_provider(
        &ctx.db,
        &SpinProviderHttp,
        || ctx.secret_box(),
        &input,
        ctx.now,
    );
    let p = spin_sdk::http::run(created)?;
    audit_change(ctx, action::CREATE, &p)?;
    dbackup_web::created(&p)
}

/// `PATCH /api/sso-providers/{id}`. 403 unless the caller holds every permission.
pub fn update(ctx: &Ctx) -> Answer {
    sso::ensure_may_manage(ctx.principal()?)?;
    let input: sso::ProviderInput = ctx.body()?;
    let id = ctx.param("id")?;
    let updated = sso_flow::update_provider(
        &ctx.db,
        &SpinProviderHttp,
        || ctx.secret_box(),
        id,
        &input,
        ctx.now,
    );
    let p = spin_sdk::http::run(updated)?;
    audit_change(ctx, action::UPDATE, &p)?;
    dbackup_web::ok(&p)
}

/// `DELETE /api/sso-providers/{id}` → 204 (its linked accounts go too). 403 unless the caller
/// holds every permission.
pub fn delete(ctx: &Ctx) -> Answer {
    sso::ensure_may_manage(ctx.principal()?)?;
    let p = sso::delete(&ctx.db, ctx.param("id")?)?;
    audit_change(ctx, action::DELETE, &p)?;
    dbackup_web::no_content()
}

/// `GET /api/auth/sso/providers` → `[{id, name, adapter}]` of the enabled providers.
pub fn public_list(ctx: &Ctx) -> Answer {
    dbackup_web::ok(&sso::public_list(&ctx.db)?)
}

/// `GET /api/auth/sso/{id}/start` → 302 to the provider with the state cookie.
pub fn start(ctx: &Ctx) -> Answer {
    redirect(sso_flow::start(&visit(ctx), ctx.param("id")?)?)
}

/// `POST /api/profile/accounts/link` `{providerId}` → `{url}` and the state cookie. A
/// state-changing request (so the CSRF rule applies): a page cannot start it for a visitor.
pub fn link(ctx: &Ctx) -> Answer {
    let user_id = ctx.principal()?.user_id();
    let req: sso::LinkRequest = ctx.body()?;
    let (started, state_cookie) = sso_flow::start_link(&visit(ctx), user_id, &req)?;
    let mut resp = dbackup_web::ok(&started)?;
    resp.set_header("set-cookie", state_cookie);
    Ok(resp)
}

/// `GET /api/auth/sso/{id}/callback?code&state` → 302 to the app (session cookie), the
/// profile, or `/login?error=…`.
pub fn callback(ctx: &Ctx) -> Answer {
    let cb = sso_flow::Callback {
        slug: ctx.param("id")?,
        query: &ctx.query,
        cookie_header: &ctx.cookie_header,
        signed_in_user: ctx.principal.as_ref().map(|p| p.user_id()),
        session_secret: &ctx.session_secret,
    };
    let visit = visit(ctx);
    let flow = sso_flow::callback(&visit, &SpinProviderHttp, || ctx.secret_box(), &cb);
    redirect(spin_sdk::http::run(flow)?)
}

/// `GET /api/profile/accounts` → the caller's SSO links and other sign-in methods.
pub fn accounts(ctx: &Ctx) -> Answer {
    let user_id = ctx.principal()?.user_id();
    dbackup_web::ok(&sso::linked_accounts(&ctx.db, user_id)?)
}

/// `DELETE /api/profile/accounts/{id}` → 204; 409 for the last way to sign in.
pub fn unlink(ctx: &Ctx) -> Answer {
    let user_id = ctx.principal()?.user_id();
    let id = ctx.param("id")?;
    let provider = sso::unlink(&ctx.db, user_id, id)?;
    ctx.audit(
        action::DELETE,
        sso::AUDIT_RESOURCE,
        Some(id),
        json!({ "event": "unlinked", "provider": provider }),
    )?;
    dbackup_web::no_content()
}
