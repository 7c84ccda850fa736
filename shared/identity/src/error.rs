//! The crate's one error type and its single mapping to [`ApiError`] (and so to HTTP).

use dbackup_core::db::DbError;
use dbackup_core::ApiError;
use serde_json::{json, Value};

/// Why an identity operation failed. Each variant maps to exactly one HTTP status.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IdentityError {
    /// 400: the input is invalid; `details` says which part (e.g. `{"unknownPermissions": [..]}`).
    #[error("{message}")]
    Validation {
        message: String,
        details: Option<Value>,
    },
    /// 400: a re-authentication inside an authenticated request (current password, TOTP code)
    /// failed. Not 401/403, which would read as "your session is gone" or "not allowed".
    #[error("{0}")]
    ReauthFailed(&'static str),
    /// 401: login failed. Identical for an unknown email and a wrong password.
    #[error("invalid email or password")]
    InvalidCredentials,
    /// 401: a second factor (TOTP or backup code, or the challenge) was wrong or expired.
    #[error("invalid two-factor code")]
    InvalidSecondFactor,
    /// 401: no valid session or API key.
    #[error("authentication required")]
    Unauthenticated,
    /// 403: authenticated but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// 403: sign-up is closed because a user exists.
    #[error("setup has already been completed")]
    SetupClosed,
    /// 404: the named resource does not exist (or is not visible to the caller).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 409: the request conflicts with the current state (duplicate, last SuperAdmin, …).
    #[error("{0}")]
    Conflict(String),
    /// 429: too many failed attempts; retry after this many seconds (≥ 1).
    #[error("too many failed attempts, try again later")]
    Locked { retry_after_secs: u64 },
    /// 500: a deployment setting (`encryption_key`, `session_secret`) is missing or malformed.
    #[error("configuration error: {0}")]
    Config(String),
    /// 500: something that should not happen (randomness unavailable, a malformed row).
    #[error("internal error: {0}")]
    Internal(String),
    /// 500: the database failed.
    #[error("database error: {0}")]
    Db(#[from] DbError),
}

impl IdentityError {
    /// A 400 with a message and no details.
    pub fn validation(message: impl Into<String>) -> Self {
        IdentityError::Validation {
            message: message.into(),
            details: None,
        }
    }

    /// A 400 for one invalid field: details `{"field": name}`.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        IdentityError::Validation {
            message: message.into(),
            details: Some(json!({ "field": field })),
        }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> u16 {
        match self {
            IdentityError::Validation { .. } | IdentityError::ReauthFailed(_) => 400,
            IdentityError::InvalidCredentials
            | IdentityError::InvalidSecondFactor
            | IdentityError::Unauthenticated => 401,
            IdentityError::Forbidden(_) | IdentityError::SetupClosed => 403,
            IdentityError::NotFound(_) => 404,
            IdentityError::Conflict(_) => 409,
            IdentityError::Locked { .. } => 429,
            IdentityError::Config(_) | IdentityError::Internal(_) | IdentityError::Db(_) => 500,
        }
    }

    /// Seconds for a `Retry-After` header, for [`IdentityError::Locked`].
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            IdentityError::Locked { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        }
    }
}

impl From<IdentityError> for ApiError {
    fn from(e: IdentityError) -> Self {
        let status = e.status();
        match e {
            IdentityError::Validation { message, details } => {
                let err = ApiError::new(400, message);
                match details {
                    Some(d) => err.with_details(d),
                    None => err,
                }
            }
            IdentityError::Locked { retry_after_secs } => ApiError::new(429, e.to_string())
                .with_details(json!({ "retryAfterSecs": retry_after_secs })),
            IdentityError::Config(_) | IdentityError::Internal(_) | IdentityError::Db(_) => {
                ApiError::internal(e.to_string())
            }
            other => ApiError::new(status, other.to_string()),
        }
    }
}

/// Shorthand for this crate's results.
pub type Result<T, E = IdentityError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_to_api_errors() {
        let cases: Vec<(IdentityError, u16, Value)> = vec![
            (
                IdentityError::invalid_field("email", "invalid email"),
                400,
                json!({"error": "invalid email", "details": {"field": "email"}}),
            ),
            (
                IdentityError::InvalidCredentials,
                401,
                json!({"error": "invalid email or password"}),
            ),
            (
                IdentityError::Unauthenticated,
                401,
                json!({"error": "authentication required"}),
            ),
            (
                IdentityError::Forbidden("missing permission users:read".into()),
                403,
                json!({"error": "missing permission users:read"}),
            ),
            (
                IdentityError::SetupClosed,
                403,
                json!({"error": "setup has already been completed"}),
            ),
            (
                IdentityError::NotFound("user"),
                404,
                json!({"error": "user not found"}),
            ),
            (
                IdentityError::Conflict("email already in use".into()),
                409,
                json!({"error": "email already in use"}),
            ),
            (
                IdentityError::Locked {
                    retry_after_secs: 30,
                },
                429,
                json!({"error": "too many failed attempts, try again later",
                       "details": {"retryAfterSecs": 30}}),
            ),
        ];
        for (err, status, body) in cases {
            let api = ApiError::from(err.clone());
            assert_eq!(api.status, status, "{err:?}");
            assert_eq!(api.body(), body, "{err:?}");
        }
    }

    #[test]
    fn internal_causes_stay_in_the_log() {
        let api = ApiError::from(IdentityError::Db(DbError::new("disk I/O error")));
        assert_eq!(api.status, 500);
        assert_eq!(api.body(), json!({"error": "internal error"}));
        assert!(api.to_string().contains("disk I/O error"));
        let api = ApiError::from(IdentityError::Config("encryption_key is not hex".into()));
        assert_eq!(api.body(), json!({"error": "internal error"}));
    }

    #[test]
    fn retry_after_is_exposed() {
        assert_eq!(
            IdentityError::Locked {
                retry_after_secs: 7
            }
            .retry_after_secs(),
            Some(7)
        );
        assert_eq!(IdentityError::Unauthenticated.retry_after_secs(), None);
    }
}
