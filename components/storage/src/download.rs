//! `GET /api/storage/{id}/download?path=&decrypt=`: the object streamed from the worker's
//! `/v1/storage/get` to the client chunk by chunk (wasi-http streams end to end: the component
//! holds one chunk at a time, never the whole backup). `decrypt=true` has the worker decrypt
//! it with the key of the encryption profile recorded in its sidecar.

use dbackup_core::query::query_param;
use dbackup_core::ApiError;
use dbackup_storage_core::backups;
use dbackup_storage_core::explorer::download_name;
use dbackup_web::gate::Ctx;
use dbackup_web::worker::SpinWorker;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use spin_sdk::http::{
    Fields, IncomingResponse, Method, OutgoingResponse, Request, ResponseOutparam,
};
use spin_sdk::variables;

use crate::explorer::{destination, path_param};

/// An open download: the worker's streaming response and what to call the file.
pub struct Opened {
    response: IncomingResponse,
    filename: String,
    path: String,
    decrypted: bool,
}

fn variable(name: &str) -> Result<String, ApiError> {
    variables::get(name)
        .map_err(|e| ApiError::unavailable("worker is not configured").with_cause(format!("{e:?}")))
}

/// Checks the request and opens the worker's stream (errors are JSON answers).
pub async fn open(ctx: &Ctx) -> Result<Opened, ApiError> {
    let storage = destination(ctx)?;
    let path = path_param(ctx)?;
    let decrypt = match query_param(&ctx.query, "decrypt").as_deref() {
        None | Some("" | "false" | "0") => false,
        Some("true" | "1") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "invalid decrypt {other:?}: true or false"
            )))
        }
    };
    let sealer = ctx.secret_box()?;
    let body =
        backups::download_request(&ctx.db, &sealer, &SpinWorker, &storage, &path, decrypt).await?;
    // Streamed, so not through the buffering worker client.
    let base = variable("worker_url")?;
    let token = variable("worker_token")?;
    let bytes = serde_json::to_vec(&body)
        .map_err(|e| ApiError::internal(format!("encoding worker request: {e}")))?;
    let request = Request::builder()
        .method(Method::Post)
        .uri(format!("{}/v1/storage/get", base.trim_end_matches('/')))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(bytes)
        .build();
    let response: IncomingResponse = spin_sdk::http::send(request)
        .await
        .map_err(|e| ApiError::unavailable("worker unreachable").with_cause(e.to_string()))?;
    let status = response.status();
    if status != 200 {
        // Errors are small JSON documents.
        let text = response.into_body().await.unwrap_or_default();
        let v: Value = serde_json::from_slice(&text).unwrap_or(Value::Null);
        return Err(match status {
            404 => ApiError::new(404, "backup not found"),
            s => backups::storage_error("download failed", s, &v),
        });
    }
    Ok(Opened {
        filename: download_name(&path, decrypt),
        response,
        path,
        decrypted: decrypt,
    })
}

/// Sends the headers, then copies the worker's body to the client as it arrives. A failure
/// after the headers went out can only cut the body short (the client sees a truncated
/// transfer, shorter than `content-length` when the worker announced one).
pub async fn pipe(ctx: &Ctx, opened: Opened, out: ResponseOutparam) {
    let mut headers: Vec<(String, Vec<u8>)> = vec![
        ("content-type".into(), b"application/octet-stream".to_vec()),
        ("cache-control".into(), b"no-store".to_vec()),
        (
            "content-disposition".into(),
            format!("attachment; filename=\"{}\"", opened.filename).into_bytes(),
        ),
    ];
    if let Some(len) = opened
        .response
        .headers()
        .get("content-length")
        .into_iter()
        .next()
    {
        headers.push(("content-length".into(), len));
    }
    if let Some(c) = &ctx.refreshed_cookie {
        headers.push(("set-cookie".into(), c.clone().into_bytes()));
    }
    let fields = match Fields::from_list(&headers) {
        Ok(f) => f,
        Err(_) => Fields::new(),
    };
    let outgoing = OutgoingResponse::new(fields);
    let _ = outgoing.set_status_code(200);
    let mut sink = outgoing.take_body();
    out.set(outgoing);
    if let Ok(id) = ctx.param("id") {
        let _ = ctx.audit(
            "EXPORT",
            "BACKUP",
            Some(id),
            json!({"path": opened.path, "decrypted": opened.decrypted}),
        );
    }
    let mut stream = opened.response.take_body_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                eprintln!(
                    "dbackup storage: download {}: worker stream: {e:?}",
                    opened.path
                );
                return;
            }
        };
        if let Err(e) = sink.send(chunk).await {
            eprintln!(
                "dbackup storage: download {}: client stream: {e:?}",
                opened.path
            );
            return;
        }
    }
}
