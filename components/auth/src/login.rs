//! Sign-up, login (password, then the second factor), logout.

use dbackup_core::ApiError;
use dbackup_identity::login::{self, LoggedIn, LoginOutcome, LoginRequest, SecondFactorRequest};
use dbackup_identity::setup::{self, SignupRequest};
use dbackup_web::gate::Ctx;
use spin_sdk::http::Response;

type Answer = Result<Response, ApiError>;

/// `GET /api/auth/setup-status` → `{"needsSetup": bool, "passkeyLogin": bool}`
/// (`passkeyLogin`: passwordless passkey sign-in is allowed, `auth.disablePasskeyLogin` off).
pub fn setup_status(ctx: &Ctx) -> Answer {
    dbackup_web::ok(&setup::SetupStatus {
        needs_setup: setup::needs_setup(&ctx.db)?,
        passkey_login: !dbackup_identity::passkeys::passkey_login_disabled(&ctx.db)?,
    })
}

/// `POST /api/auth/signup` → 201 with the new SuperAdmin user, signed in. 403 once set up.
pub fn signup(ctx: &Ctx) -> Answer {
    // Closed is closed, whatever the body: checked before the body is read.
    if !setup::needs_setup(&ctx.db)? {
        return Err(dbackup_identity::IdentityError::SetupClosed.into());
    }
    let req: SignupRequest = ctx.body()?;
    let l = login::signup(&ctx.db, &req, ctx.client(), &ctx.session_secret, ctx.now)?;
    with_session(ctx, dbackup_web::created(&l.user)?, &l)
}

/// `POST /api/auth/login` → the signed-in user and session, or
/// `{"twoFactorRequired": true, "challenge": …}`.
pub fn login(ctx: &Ctx) -> Answer {
    let req: LoginRequest = ctx.body()?;
    match login::login(&ctx.db, &req, ctx.client(), &ctx.session_secret, ctx.now)? {
        LoginOutcome::LoggedIn(l) => signed_in(ctx, &l),
        LoginOutcome::TwoFactorRequired { challenge, methods } => dbackup_web::ok(
            &login::LoginAnswer::SecondFactorRequired(login::SecondFactorChallenge {
                two_factor_required: true,
                challenge,
                methods,
            }),
        ),
    }
}

/// `POST /api/auth/login/2fa` `{challenge, code}` → the signed-in user and session.
pub fn second_factor(ctx: &Ctx) -> Answer {
    let req: SecondFactorRequest = ctx.body()?;
    let sbox = ctx.secret_box()?;
    let l = login::login_second_factor(
        &ctx.db,
        &sbox,
        &req,
        ctx.client(),
        &ctx.session_secret,
        ctx.now,
    )?;
    signed_in(ctx, &l)
}

/// `POST /api/auth/logout` → 204, the session ended and its cookie deleted.
pub fn logout(ctx: &Ctx) -> Answer {
    let principal = ctx.principal()?;
    login::logout(&ctx.db, principal, ctx.client(), ctx.now)?;
    let mut resp = dbackup_web::no_content()?;
    resp.set_header("set-cookie", ctx.clear_cookie());
    Ok(resp)
}

pub(crate) fn signed_in(ctx: &Ctx, l: &LoggedIn) -> Answer {
    with_session(ctx, dbackup_web::ok(&login::SignedIn::of(l))?, l)
}

fn with_session(ctx: &Ctx, mut resp: Response, l: &LoggedIn) -> Answer {
    resp.set_header("set-cookie", ctx.session_cookie(&l.session));
    Ok(resp)
}
