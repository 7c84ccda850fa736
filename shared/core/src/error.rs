//! The one API error type: what the client sees (status, message, optional details) and what only
//! the log sees (the cause). Every component maps it to HTTP in one place.

use serde_json::{json, Value};

/// An error answered to an API client.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    /// Shown to the client; never contains internals for 5xx.
    pub message: String,
    pub details: Option<Value>,
    /// Kept for the log only.
    pub cause: Option<String>,
}

impl ApiError {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            details: None,
            cause: None,
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }
    pub fn not_found() -> Self {
        Self::new(404, "not found")
    }
    pub fn method_not_allowed() -> Self {
        Self::new(405, "method not allowed")
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(503, message)
    }
    /// A 500 whose cause goes to the log, never to the client.
    pub fn internal(cause: impl Into<String>) -> Self {
        ApiError {
            cause: Some(cause.into()),
            ..Self::new(500, "internal error")
        }
    }
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// The JSON body: `{"error": "...", "details"?: ...}` ([`ErrorBody`]).
    pub fn body(&self) -> Value {
        let body = ErrorBody {
            error: self.message.clone(),
            details: self.details.clone(),
        };
        serde_json::to_value(&body).unwrap_or_else(|_| json!({"error": self.message}))
    }
}

/// The JSON body of every error answer (4xx and 5xx).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ErrorBody {
    /// What went wrong, for people (never internals for a 5xx).
    pub error: String,
    /// Machine-readable context when there is some, e.g. `{"field": "name"}` for a 400 on
    /// one field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> Self {
        ApiError::internal(format!("database: {}", e.message))
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.message)?;
        if let Some(c) = &self.cause {
            write!(f, " ({c})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// Attaches a cause for the log.
    pub fn with_cause(mut self, cause: impl Into<String>) -> Self {
        self.cause = Some(cause.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_hide_their_cause() {
        let e = ApiError::internal("disk I/O error at /var/lib/x");
        assert_eq!(e.body(), json!({"error": "internal error"}));
        assert!(e.to_string().contains("disk I/O"));
    }

    #[test]
    fn details_are_included() {
        let e = ApiError::bad_request("invalid field").with_details(json!({"field": "name"}));
        assert_eq!(
            e.body(),
            json!({"error": "invalid field", "details": {"field": "name"}})
        );
    }
}
