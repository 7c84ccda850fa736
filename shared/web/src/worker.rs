//! The worker client of a Spin component ([`SpinWorker`]): JSON over HTTP to the `worker_url`
//! variable — or to a registered pool member's URL ([`Target::At`]) — authenticated with
//! `worker_token`. The trait and its typed helpers are `dbackup_core::worker`.

use dbackup_core::ApiError;
use spin_sdk::http::{Request, Response};
use spin_sdk::variables;

pub use dbackup_core::worker::{Method, On, Refusal, Target, Worker, WorkerAnswer};

/// The worker named by the Spin variables. The variables are read on each call, so a
/// component that never calls the worker works without them; a missing one is a 503 "worker is
/// not configured".
#[derive(Debug, Clone, Copy, Default)]
pub struct SpinWorker;

/// The worker's base URL (the `worker_url` variable, or the pool member's) and token from the
/// Spin variables.
fn endpoint(target: &Target) -> Result<(String, String), ApiError> {
    let url = match target {
        Target::At(url) => url.clone(),
        Target::Default => variables::get("worker_url").map_err(|e| {
            ApiError::unavailable("worker is not configured").with_cause(format!("{e:?}"))
        })?,
    };
    let token = variables::get("worker_token").map_err(|e| {
        ApiError::unavailable("worker is not configured").with_cause(format!("{e:?}"))
    })?;
    Ok((url.trim_end_matches('/').to_string(), token))
}

impl Worker for SpinWorker {
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<WorkerAnswer, ApiError> {
        self.send_to(&Target::Default, method, path, body).await
    }

    async fn send_to(
        &self,
        target: &Target,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<WorkerAnswer, ApiError> {
        let (base, token) = endpoint(target)?;
        let method = match method {
            Method::Get => spin_sdk::http::Method::Get,
            Method::Post => spin_sdk::http::Method::Post,
        };
        let request = Request::builder()
            .method(method)
            .uri(format!("{base}{path}"))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(body.unwrap_or_default())
            .build();
        let response = spin_sdk::http::send::<_, Response>(request)
            .await
            .map_err(|e| {
                ApiError::unavailable("worker unreachable").with_cause(format!("{path}: {e}"))
            })?;
        Ok(WorkerAnswer {
            status: *response.status(),
            body: response.into_body(),
        })
    }
}
