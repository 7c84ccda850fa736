//! The component side of the worker API (docs/CONTRACTS.md): JSON over HTTP to `worker_url`,
//! authenticated with `worker_token`. Transport failures become 503 "worker unreachable".

use dbackup_core::ApiError;
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::variables;

/// The worker's base URL and token from the Spin variables.
fn endpoint() -> Result<(String, String), ApiError> {
    let url = variables::get("worker_url").map_err(|e| {
        ApiError::unavailable("worker is not configured").with_cause(format!("{e:?}"))
    })?;
    let token = variables::get("worker_token").map_err(|e| {
        ApiError::unavailable("worker is not configured").with_cause(format!("{e:?}"))
    })?;
    Ok((url.trim_end_matches('/').to_string(), token))
}

/// Sends `method path` with an optional JSON body; returns the status and the raw response.
pub async fn send(
    method: Method,
    path: &str,
    body: Option<&serde_json::Value>,
) -> Result<Response, ApiError> {
    let (base, token) = endpoint()?;
    let bytes = match body {
        Some(b) => serde_json::to_vec(b)
            .map_err(|e| ApiError::internal(format!("encoding worker request: {e}")))?,
        None => Vec::new(),
    };
    let request = Request::builder()
        .method(method)
        .uri(format!("{base}{path}"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(bytes)
        .build();
    spin_sdk::http::send::<_, Response>(request)
        .await
        .map_err(|e| ApiError::unavailable("worker unreachable").with_cause(format!("{path}: {e}")))
}

/// POSTs a JSON body and parses the JSON answer (an empty body is `null`).
pub async fn post_json(
    path: &str,
    body: &serde_json::Value,
) -> Result<(u16, serde_json::Value), ApiError> {
    let resp = send(Method::Post, path, Some(body)).await?;
    let status = *resp.status();
    let value = if resp.body().is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(resp.body()).map_err(|e| {
            ApiError::new(502, "worker sent an invalid answer").with_cause(format!("{path}: {e}"))
        })?
    };
    Ok((status, value))
}

/// GETs a JSON document.
pub async fn get_json(path: &str) -> Result<(u16, serde_json::Value), ApiError> {
    let resp = send(Method::Get, path, None).await?;
    let status = *resp.status();
    let value = if resp.body().is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(resp.body()).map_err(|e| {
            ApiError::new(502, "worker sent an invalid answer").with_cause(format!("{path}: {e}"))
        })?
    };
    Ok((status, value))
}
