//! The worker's single API error type and its (one) mapping to HTTP; the body is the
//! protocol's [`ErrorBody`].

use std::{fmt, io};

use bytes::Bytes;
use dbackup_protocol::ErrorBody;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::Full;

/// Every failure a request can end with. Messages stored in the variants must already be
/// free of secrets (see [`crate::mask_secrets`]).
#[derive(Debug)]
pub enum Error {
    /// Missing or wrong bearer token (401).
    Unauthorized,
    /// No such route (404).
    NotFound,
    /// The route exists but not for this method (405); holds the `Allow` value.
    MethodNotAllowed(&'static str),
    /// The request body did not arrive in time (408).
    RequestTimeout,
    /// The request body exceeds the limit (413).
    PayloadTooLarge,
    /// Malformed or invalid request body (400); holds the details.
    InvalidBody(String),
    /// The `engine` field names an engine this worker does not handle (400).
    UnsupportedEngine(String),
    /// The database could not be reached or refused the login (422); holds the details.
    ConnectionFailed(String),
    /// Connected, but the probe query failed (422); holds the details.
    QueryFailed(String),
    /// A required client tool is not installed (503); holds the tool name.
    ToolNotFound(&'static str),
    /// The client tool did not finish in time and was killed (504); holds the details.
    Timeout(String),
    /// The worker already runs its maximum number of tasks (429).
    TooManyTasks(usize),
    /// A field of a (large) body exceeds its limit (413).
    ContentTooLarge {
        /// The field.
        what: &'static str,
        /// Its limit in bytes.
        limit: usize,
    },
    /// A storage call failed: bad names/specs 400, missing objects 404, existing objects 409,
    /// timeouts 504, anything the storage refused or failed 422.
    Storage(io::Error),
    /// The content is an encrypted container and no key was sent (400).
    KeyRequired,
    /// Stored bytes could not be decrypted or decompressed (422); `error` says what was
    /// attempted (`cannot decrypt`, `cannot unseal`).
    Unreadable {
        /// What was attempted.
        error: &'static str,
        /// The cause.
        details: String,
    },
    /// Anything else (500). The message is logged, never sent to the client.
    Internal(String),
}

impl Error {
    /// HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::NotFound => StatusCode::NOT_FOUND,
            Error::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Error::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::InvalidBody(_) | Error::UnsupportedEngine(_) => StatusCode::BAD_REQUEST,
            Error::ConnectionFailed(_) | Error::QueryFailed(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::ToolNotFound(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Error::TooManyTasks(_) => StatusCode::TOO_MANY_REQUESTS,
            Error::ContentTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Storage(e) => match e.kind() {
                io::ErrorKind::InvalidInput => StatusCode::BAD_REQUEST,
                io::ErrorKind::NotFound => StatusCode::NOT_FOUND,
                io::ErrorKind::AlreadyExists => StatusCode::CONFLICT,
                io::ErrorKind::TimedOut => StatusCode::GATEWAY_TIMEOUT,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            },
            Error::KeyRequired => StatusCode::BAD_REQUEST,
            Error::Unreadable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The body sent to the client: `{"error": ..., "details"?: ...}`.
    pub fn body(&self) -> ErrorBody {
        let (error, details): (String, Option<String>) = match self {
            Error::Unauthorized => ("unauthorized".into(), None),
            Error::NotFound => ("not found".into(), None),
            Error::MethodNotAllowed(_) => ("method not allowed".into(), None),
            Error::RequestTimeout => ("request body timed out".into(), None),
            Error::PayloadTooLarge => (
                "request body too large".into(),
                Some(format!("limit is {} bytes", crate::MAX_BODY_BYTES)),
            ),
            Error::InvalidBody(d) => ("invalid request body".into(), Some(d.clone())),
            Error::UnsupportedEngine(engine) => (format!("unsupported engine: {engine}"), None),
            Error::ConnectionFailed(d) => ("connection failed".into(), Some(d.clone())),
            Error::QueryFailed(d) => ("probe query failed".into(), Some(d.clone())),
            Error::ToolNotFound(tool) => (
                format!("{tool} not found"),
                Some(format!(
                    "install the client tools or set {}",
                    crate::config::ENV_PG_BIN_DIRS
                )),
            ),
            Error::Timeout(d) => ("timed out".into(), Some(d.clone())),
            Error::TooManyTasks(max) => (
                "too many tasks".into(),
                Some(format!(
                    "this worker runs at most {max} tasks at once ({})",
                    crate::config::ENV_MAX_TASKS
                )),
            ),
            Error::ContentTooLarge { what, limit } => (
                "request body too large".into(),
                Some(format!("{what}: at most {limit} bytes")),
            ),
            Error::Storage(e) => {
                let error = match e.kind() {
                    io::ErrorKind::InvalidInput => "invalid request body",
                    io::ErrorKind::NotFound => "not found",
                    io::ErrorKind::AlreadyExists => "object exists",
                    io::ErrorKind::TimedOut => "timed out",
                    _ => "storage error",
                };
                (error.into(), Some(e.to_string()))
            }
            Error::KeyRequired => (
                "encrypted, key required".into(),
                Some("the content is a dbackup encrypted container: send keyHex".into()),
            ),
            Error::Unreadable { error, details } => ((*error).into(), Some(details.clone())),
            Error::Internal(_) => ("internal error".into(), None),
        };
        ErrorBody { error, details }
    }

    /// Converts the error into the HTTP response (the only place errors become HTTP).
    pub fn into_response(self) -> Response<Full<Bytes>> {
        let mut response = json_response(self.status(), &self.body().to_value());
        let headers = response.headers_mut();
        match self {
            Error::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Error::MethodNotAllowed(allow) => {
                headers.insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            _ => {}
        }
        response
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Internal(message) => write!(f, "internal error: {message}"),
            other => other.body().fmt(f),
        }
    }
}

impl std::error::Error for Error {}

/// Builds a JSON response with the worker's standard headers.
pub(crate) fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        use serde_json::json;
        assert_eq!(
            Error::Unauthorized.body().to_value(),
            json!({"error": "unauthorized"})
        );
        assert_eq!(
            Error::UnsupportedEngine("mysql".into()).body().to_value(),
            json!({"error": "unsupported engine: mysql"})
        );
        let internal = Error::Internal("secret path /etc/x".into());
        assert_eq!(internal.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            internal.body().to_value(),
            json!({"error": "internal error"})
        );
        let missing = Error::Storage(io::Error::new(io::ErrorKind::NotFound, "no such object"));
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            missing.body().to_value(),
            json!({"error": "not found", "details": "no such object"})
        );
        assert_eq!(missing.to_string(), "not found: no such object");
        let response = Error::Unauthorized.into_response();
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
    }
}
