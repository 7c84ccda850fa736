//! The worker's error body: `{"error": "<what>", "details"?: "<why>"}` (docs/WORKER.md).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Every 4xx/5xx answer of the worker. `details` is left out when there are none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Short, stable description (`invalid request body`, `not found`, `storage error`, …).
    pub error: String,
    /// The cause, free of secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

impl ErrorBody {
    /// An error without details.
    pub fn new(error: impl Into<String>) -> Self {
        ErrorBody {
            error: error.into(),
            details: None,
        }
    }

    /// An error with details.
    pub fn with_details(error: impl Into<String>, details: impl Into<String>) -> Self {
        ErrorBody {
            error: error.into(),
            details: Some(details.into()),
        }
    }

    /// The JSON value of the body.
    pub fn to_value(&self) -> serde_json::Value {
        let mut body = serde_json::Map::new();
        body.insert("error".into(), self.error.clone().into());
        if let Some(details) = &self.details {
            body.insert("details".into(), details.clone().into());
        }
        serde_json::Value::Object(body)
    }
}

/// `error: details`, or `error` alone.
impl fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.details {
            Some(details) => write!(f, "{}: {details}", self.error),
            None => f.write_str(&self.error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_shape() {
        let plain = ErrorBody::new("unauthorized");
        assert_eq!(plain.to_value(), json!({"error": "unauthorized"}));
        assert_eq!(serde_json::to_value(&plain).unwrap(), plain.to_value());
        assert_eq!(plain.to_string(), "unauthorized");
        let detailed = ErrorBody::with_details("storage error", "permission denied");
        assert_eq!(
            detailed.to_value().to_string(),
            r#"{"details":"permission denied","error":"storage error"}"#
        );
        assert_eq!(detailed.to_string(), "storage error: permission denied");
        let back: ErrorBody =
            serde_json::from_str(r#"{"error":"not found","details":"x"}"#).unwrap();
        assert_eq!(back, ErrorBody::with_details("not found", "x"));
    }
}
