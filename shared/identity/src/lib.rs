//! dbackup's identity logic, used through the gate by every component and tested natively: permissions and the access decision, password hashing, session JWTs and API keys, TOTP,
//! encryption of small secrets, brute-force lockout, CSRF, and the SQL for users, groups,
//! sessions, API keys, 2FA, passkeys (WebAuthn) and the audit log (over [`dbackup_core::db::Db`]).
//!
//! Nothing here reads a clock or the environment: time (`now`), `session_secret` and
//! `encryption_key` are passed in. Every failure is an [`IdentityError`], which maps to one HTTP
//! answer through `dbackup_core::ApiError`.
//!
//! A component handles a request in this order: `dbackup_routes::find` (unknown → 404),
//! [`authorize::resolve_principal`], [`authorize::authorize`] (401/403, before the body is
//! read), [`csrf::check`] for cookie principals, then the operation.

#![forbid(unsafe_code)]

pub mod api_keys;
pub mod audit;
pub mod authorize;
pub mod cookie;
pub mod csrf;
pub mod error;
pub mod groups;
pub(crate) mod input;
pub mod lockout;
pub mod login;
pub mod maintenance;
pub mod oidc;
pub mod passkeys;
pub mod password;
pub mod permissions;
pub mod provider_http;
pub mod secretbox;
pub mod sessions;
pub mod settings;
pub mod setup;
pub(crate) mod sql;
pub mod sso;
pub mod sso_flow;
pub mod time;
pub mod token;
pub mod totp;
pub mod two_factor;
pub mod users;
pub mod webauthn;
#[cfg(any(test, feature = "soft-authenticator"))]
pub mod webauthn_authenticator;

#[cfg(test)]
pub(crate) mod testutil;

pub use authorize::{Decision, Principal};
pub use error::IdentityError;
pub use permissions::{Permission, PermissionSet, SUPER_ADMIN_GROUP};
pub use time::Timestamp;
