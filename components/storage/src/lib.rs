//! Serves `/api/storage`: the storage explorer. Lists a destination's backups from the
//! worker's listing and their `.meta.json` sidecars, deletes (refused while locked), locks
//! and unlocks them (rewriting the sidecar), and streams downloads through the worker chunk by
//! chunk (never buffered whole). Logic lives in `dbackup_storage_core`.

mod download;
mod explorer;

use dbackup_core::ApiError;
use futures::SinkExt;
use spin_sdk::http::conversions::TryFromIncomingRequest;
use spin_sdk::http::{
    Fields, IncomingRequest, OutgoingResponse, Request, Response, ResponseOutparam,
};
use spin_sdk::http_component;

#[http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    let req = match Request::try_from_incoming_request(req).await {
        Ok(r) => r,
        Err(e) => {
            let err =
                ApiError::bad_request("could not read the request body").with_cause(e.to_string());
            return send(out, dbackup_web::error(&err)).await;
        }
    };
    let ctx = match dbackup_web::gate::gate(req, "storage") {
        Ok(ctx) => ctx,
        Err(refusal) => return send(out, refusal).await,
    };
    let result = match (ctx.rule.method, ctx.rule.pattern) {
        ("GET", "/api/storage/{id}/backups") => explorer::list(&ctx).await,
        ("DELETE", "/api/storage/{id}/backups") => explorer::delete(&ctx).await,
        ("POST", "/api/storage/{id}/backups/lock") => explorer::set_lock(&ctx, true).await,
        ("POST", "/api/storage/{id}/backups/unlock") => explorer::set_lock(&ctx, false).await,
        ("GET", "/api/storage/{id}/download") => match download::open(&ctx).await {
            // The worker's body is piped to the client as it arrives.
            Ok(stream) => return download::pipe(&ctx, stream, out).await,
            Err(e) => Err(e),
        },
        _ => Err(ctx.unhandled()),
    };
    send(out, ctx.finish(result)).await
}

/// Writes a buffered (small, JSON) response to the out-parameter.
async fn send(out: ResponseOutparam, resp: Response) {
    let headers: Vec<(String, Vec<u8>)> = resp
        .headers()
        .map(|(k, v)| (k.to_owned(), v.as_bytes().to_vec()))
        .collect();
    let Ok(fields) = Fields::from_list(&headers) else {
        let fallback = OutgoingResponse::new(Fields::new());
        let _ = fallback.set_status_code(500);
        out.set(fallback);
        return;
    };
    let outgoing = OutgoingResponse::new(fields);
    let _ = outgoing.set_status_code(*resp.status());
    let body = resp.into_body();
    let mut sink = outgoing.take_body();
    out.set(outgoing);
    if !body.is_empty() {
        if let Err(e) = sink.send(body).await {
            eprintln!("dbackup storage: writing the response: {e:?}");
        }
    }
}
