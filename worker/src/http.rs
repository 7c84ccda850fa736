//! HTTP routing, authentication, body handling and request logging.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use serde_json::json;
use subtle::ConstantTimeEq;

use dbackup_protocol::tasks::TaskAccepted;

use crate::error::{json_response, Error};
use crate::tasks::{self, BackupPlan, BackupRequest, RestorePlan, RestoreRequest};
use crate::{engines, Config, MAX_BODY_BYTES};

/// How long a client may take to send the request body.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest request path written to the log.
const MAX_LOGGED_PATH: usize = 200;

/// Shared per-server state.
pub(crate) struct State {
    pub(crate) config: Config,
    pub(crate) tasks: tasks::Registry,
}

/// Response body of every route: JSON bodies are `Full`, `/v1/storage/get` streams.
pub(crate) type ResponseBody = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

/// Boxes a `Full` JSON response.
pub(crate) fn boxed(response: Response<Full<Bytes>>) -> Response<ResponseBody> {
    response.map(|body| body.map_err(|never| match never {}).boxed())
}

/// hyper service entry point: handles one request and logs one line for it.
pub(crate) async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<ResponseBody>, Infallible> {
    let started = Instant::now();
    let method = req.method().clone();
    let path: String = req.uri().path().chars().take(MAX_LOGGED_PATH).collect();

    let routed = if path.starts_with("/v1/storage/") {
        crate::storage_api::route(&state, req).await
    } else if path == "/v1/unseal" {
        crate::seal_api::route(&state, req).await
    } else {
        route(&state, req).await.map(boxed)
    };
    let response = match routed {
        Ok(response) => response,
        Err(error) => {
            if let Error::Internal(message) = &error {
                // Messages are masked where they are created; this is the only log of them.
                eprintln!("dbackup-worker: {method} {path}: internal error: {message}");
            }
            boxed(error.into_response())
        }
    };
    eprintln!(
        "dbackup-worker: {method} {path} {} {}ms",
        response.status().as_u16(),
        started.elapsed().as_millis()
    );
    Ok(response)
}

async fn route(state: &State, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Error> {
    if req.uri().path() == "/healthz" {
        return match *req.method() {
            Method::GET | Method::HEAD => Ok(json_response(
                StatusCode::OK,
                &json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }),
            )),
            _ => Err(Error::MethodNotAllowed("GET, HEAD")),
        };
    }

    authorize(&req, state.config.token.as_bytes())?;

    match req.uri().path() {
        // Lets the host check at start that both sides hold the same token.
        "/v1/ping" => Ok(json_response(
            StatusCode::OK,
            &serde_json::json!({"status": "ok"}),
        )),
        "/v1/probe" => {
            if req.method() != Method::POST {
                return Err(Error::MethodNotAllowed("POST"));
            }
            let body = read_json(req).await?;
            let result = engines::probe(&state.config, body).await?;
            Ok(json_response(StatusCode::OK, &to_value(&result)?))
        }
        "/v1/notify/email" => {
            if req.method() != Method::POST {
                return Err(Error::MethodNotAllowed("POST"));
            }
            let body = read_json(req).await?;
            let answer = crate::notify::send(&state.config, body).await?;
            Ok(json_response(StatusCode::OK, &to_value(&answer)?))
        }
        "/v1/backups" => {
            if req.method() != Method::POST {
                return Err(Error::MethodNotAllowed("POST"));
            }
            let body: BackupRequest = parse(read_json(req).await?)?;
            let execution_id = body.execution_id.clone();
            let plan = BackupPlan::new(body)?;
            let id = tasks::start_backup(&state.tasks, &state.config, plan, execution_id)?;
            Ok(json_response(
                StatusCode::ACCEPTED,
                &to_value(&TaskAccepted { task_id: id })?,
            ))
        }
        "/v1/restores" => {
            if req.method() != Method::POST {
                return Err(Error::MethodNotAllowed("POST"));
            }
            let body: RestoreRequest = parse(read_json(req).await?)?;
            let execution_id = body.execution_id.clone();
            let plan = RestorePlan::new(body)?;
            let id = tasks::start_restore(&state.tasks, &state.config, plan, execution_id)?;
            Ok(json_response(
                StatusCode::ACCEPTED,
                &to_value(&TaskAccepted { task_id: id })?,
            ))
        }
        path => {
            let Some(rest) = path.strip_prefix("/v1/tasks/") else {
                return Err(Error::NotFound);
            };
            match rest.split_once('/') {
                None => {
                    if req.method() != Method::GET {
                        return Err(Error::MethodNotAllowed("GET"));
                    }
                    let task = state.tasks.get(rest).ok_or(Error::NotFound)?;
                    Ok(json_response(StatusCode::OK, &task.to_json()))
                }
                Some((id, "cancel")) => {
                    if req.method() != Method::POST {
                        return Err(Error::MethodNotAllowed("POST"));
                    }
                    let task = state.tasks.get(id).ok_or(Error::NotFound)?;
                    task.cancel();
                    Ok(json_response(StatusCode::ACCEPTED, &task.to_json()))
                }
                Some(_) => Err(Error::NotFound),
            }
        }
    }
}

/// An answer as JSON (keys sorted, as every answer of the worker is written).
pub(crate) fn to_value(answer: &impl serde::Serialize) -> Result<serde_json::Value, Error> {
    serde_json::to_value(answer).map_err(|e| Error::Internal(format!("serializing an answer: {e}")))
}

/// Deserializes a typed request body; errors name the problem (serde's message).
pub(crate) fn parse<T: serde::de::DeserializeOwned>(body: serde_json::Value) -> Result<T, Error> {
    serde_json::from_value(body).map_err(|e| Error::InvalidBody(e.to_string()))
}

/// Checks `Authorization: Bearer <token>` in constant time.
pub(crate) fn authorize<B>(req: &Request<B>, expected: &[u8]) -> Result<(), Error> {
    let mut values = req.headers().get_all(header::AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(Error::Unauthorized);
    };
    let value = value.as_bytes();
    let Some(space) = value.iter().position(|b| *b == b' ') else {
        return Err(Error::Unauthorized);
    };
    let (scheme, rest) = value.split_at(space);
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return Err(Error::Unauthorized);
    }
    let presented = rest.trim_ascii();
    // Slices of different lengths compare unequal (only the length is not hidden).
    if bool::from(presented.ct_eq(expected)) {
        Ok(())
    } else {
        Err(Error::Unauthorized)
    }
}

/// Reads a body of at most [`MAX_BODY_BYTES`] and parses it as JSON.
pub(crate) async fn read_json(req: Request<Incoming>) -> Result<serde_json::Value, Error> {
    read_json_within(req, MAX_BODY_BYTES, BODY_TIMEOUT).await
}

/// Reads a JSON body of at most `limit` bytes (413 beyond, also when the declared length is)
/// within `timeout` (408 after).
pub(crate) async fn read_json_within(
    req: Request<Incoming>,
    limit: usize,
    timeout: Duration,
) -> Result<serde_json::Value, Error> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(Error::PayloadTooLarge);
    }
    let limited = Limited::new(req.into_body(), limit);
    let collected = tokio::time::timeout(timeout, limited.collect())
        .await
        .map_err(|_| Error::RequestTimeout)?;
    let bytes = match collected {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => return Err(Error::PayloadTooLarge),
        Err(e) => return Err(Error::InvalidBody(format!("cannot read body: {e}"))),
    };
    serde_json::from_slice(&bytes).map_err(|e| Error::InvalidBody(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn check(value: Option<&str>) -> bool {
        let mut builder = Request::builder();
        if let Some(value) = value {
            builder = builder.header(header::AUTHORIZATION, value);
        }
        authorize(&builder.body(()).unwrap(), TOKEN).is_ok()
    }

    #[test]
    fn bearer_parsing() {
        assert!(check(Some("Bearer 0123456789abcdef0123456789abcdef")));
        assert!(check(Some("bearer 0123456789abcdef0123456789abcdef")));
        assert!(!check(None));
        assert!(!check(Some("Bearer")));
        assert!(!check(Some("Bearer ")));
        assert!(!check(Some("Basic 0123456789abcdef0123456789abcdef")));
        assert!(!check(Some("Bearer 0123456789abcdef0123456789abcdeX")));
        assert!(!check(Some("Bearer 0123456789abcdef")));
        assert!(!check(Some("Bearer 0123456789abcdef0123456789abcdef0")));
    }

    #[test]
    fn duplicate_headers_rejected() {
        let req = Request::builder()
            .header(
                header::AUTHORIZATION,
                "Bearer 0123456789abcdef0123456789abcdef",
            )
            .header(
                header::AUTHORIZATION,
                "Bearer 0123456789abcdef0123456789abcdef",
            )
            .body(())
            .unwrap();
        assert!(authorize(&req, TOKEN).is_err());
    }
}
