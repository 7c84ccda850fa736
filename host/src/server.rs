//! The HTTP front: accepts connections, routes each request to its component as Spin would, reads
//! the request body within the route's limits ([`crate::limits`]) before any component runs, and
//! turns host-side failures into JSON errors.

use crate::connection::RequestGuard;
use crate::limits::HttpLimits;
use crate::router::{spin_headers, Router};
use crate::runtime::Runtime;
use anyhow::Result;
use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode, Scheme};
use wasmtime_wasi_http::p2::bindings::Proxy;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::WasiHttpView;

/// Everything a request needs.
pub struct HttpApp {
    pub runtime: Arc<Runtime>,
    pub router: Router,
    /// `host:port` the host listens on, for `spin-full-url` when a request has no Host header.
    pub authority: String,
    pub limits: Arc<HttpLimits>,
}

/// A small JSON response produced by the host itself.
pub fn json_response(status: u16, body: &serde_json::Value) -> hyper::Response<HyperOutgoingBody> {
    let bytes = Bytes::from(body.to_string());
    let mut resp = hyper::Response::new(
        Full::new(bytes)
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *resp.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    resp
}

/// A host answer after which the connection closes (the rest of the request body is not read
/// into a request; the connection closes lingering, see [`RequestGuard::linger_on_close`]).
fn closing(mut resp: hyper::Response<HyperOutgoingBody>) -> hyper::Response<HyperOutgoingBody> {
    resp.headers_mut().insert(
        hyper::header::CONNECTION,
        hyper::header::HeaderValue::from_static("close"),
    );
    resp
}

/// Why a request body was not accepted.
#[derive(Debug)]
enum BodyRefused {
    TooLarge { limit: u64 },
    TooSlow { limit: Duration },
    Broken(hyper::Error),
}

impl BodyRefused {
    fn response(&self) -> hyper::Response<HyperOutgoingBody> {
        closing(match self {
            BodyRefused::TooLarge { limit } => json_response(
                413,
                &serde_json::json!({
                    "error": format!("request body too large: at most {limit} bytes"),
                    "details": {"limit": limit},
                }),
            ),
            BodyRefused::TooSlow { limit } => json_response(
                408,
                &serde_json::json!({
                    "error": format!(
                        "request body not received within {} s",
                        limit.as_secs()
                    ),
                }),
            ),
            BodyRefused::Broken(_) => json_response(
                400,
                &serde_json::json!({"error": "the request body could not be read"}),
            ),
        })
    }
}

/// Reads a whole body of at most `limit` bytes within `time`. A declared length over the limit
/// is refused before reading a byte; a chunked body is read no further than the limit.
async fn read_body(body: Incoming, limit: u64, time: Duration) -> Result<Bytes, BodyRefused> {
    if body.size_hint().lower() > limit {
        return Err(BodyRefused::TooLarge { limit });
    }
    let read = async {
        let mut body = body;
        let mut buf = BytesMut::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(BodyRefused::Broken)?;
            if let Ok(data) = frame.into_data() {
                if (buf.len() + data.len()) as u64 > limit {
                    return Err(BodyRefused::TooLarge { limit });
                }
                buf.extend_from_slice(&data);
            }
        }
        Ok(buf.freeze())
    };
    tokio::time::timeout(time, read)
        .await
        .map_err(|_| BodyRefused::TooSlow { limit: time })?
}

/// A response body that keeps its request marked in flight until it has been sent.
struct Guarded {
    body: HyperOutgoingBody,
    _guard: RequestGuard,
}

impl Body for Guarded {
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl HttpApp {
    /// Serves one request; never fails (errors become 404/408/413/500/502 JSON answers). `guard`
    /// marks the request in flight on its connection until the response has been sent.
    pub async fn handle(
        self: Arc<Self>,
        req: hyper::Request<Incoming>,
        client: SocketAddr,
        mut guard: RequestGuard,
    ) -> hyper::Response<HyperOutgoingBody> {
        let resp = self.respond(req, client, &guard).await;
        guard.responding();
        let (parts, body) = resp.into_parts();
        hyper::Response::from_parts(
            parts,
            Guarded {
                body,
                _guard: guard,
            }
            .boxed_unsync(),
        )
    }

    async fn respond(
        &self,
        req: hyper::Request<Incoming>,
        client: SocketAddr,
        guard: &RequestGuard,
    ) -> hyper::Response<HyperOutgoingBody> {
        let path = req.uri().path().to_owned();
        let Some(m) = self.router.route(&path) else {
            return json_response(404, &serde_json::json!({"error": "not found"}));
        };
        let Some(component) = self.runtime.components.get(&m.route.component) else {
            return json_response(404, &serde_json::json!({"error": "not found"}));
        };
        let (limit, time) = self.limits.for_path(&path);
        let (parts, body) = req.into_parts();
        let mut req = match read_body(body, limit, time).await {
            Ok(bytes) => hyper::Request::from_parts(parts, Full::new(bytes)),
            Err(refused) => {
                match &refused {
                    BodyRefused::Broken(e) => {
                        eprintln!("dbackup: request body from {client} on {path}: {e}");
                    }
                    // The client may still be sending the body it was refused.
                    BodyRefused::TooLarge { .. } | BodyRefused::TooSlow { .. } => {
                        guard.linger_on_close();
                    }
                }
                return refused.response();
            }
        };
        let authority = req
            .headers()
            .get(hyper::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_else(|| self.authority.clone());
        if !req.headers().contains_key(hyper::header::HOST) {
            if let Ok(v) = hyper::header::HeaderValue::from_str(&authority) {
                req.headers_mut().insert(hyper::header::HOST, v);
            }
        }
        let path_and_query = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".to_owned());
        let full_url = format!("http://{authority}{path_and_query}");
        for (name, value) in spin_headers(&m, &full_url, &client.to_string()) {
            if let Ok(v) = hyper::header::HeaderValue::from_str(&value) {
                req.headers_mut().insert(name, v);
            }
        }
        let component_id = component.info.id.clone();
        match self.call(&m.route.component, req).await {
            Ok(resp) => resp,
            Err(e) => {
                eprintln!("dbackup: component {component_id} failed on {path}: {e:#}");
                json_response(500, &serde_json::json!({"error": "internal error"}))
            }
        }
    }

    async fn call(
        &self,
        component_id: &str,
        req: hyper::Request<Full<Bytes>>,
    ) -> Result<hyper::Response<HyperOutgoingBody>> {
        let component = self
            .runtime
            .components
            .get(component_id)
            .ok_or_else(|| anyhow::anyhow!("unknown component"))?;
        let mut store = self.runtime.store(component)?;
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let req = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, req)
            .map_err(anyhow::Error::from)?;
        let out = store
            .data_mut()
            .http()
            .new_response_outparam(sender)
            .map_err(anyhow::Error::from)?;
        let pre = component.pre.clone();
        // The guest keeps running after it has sent the head (it streams the body), so it runs in
        // its own task.
        let task = tokio::task::spawn(async move {
            let instance = pre.instantiate_async(&mut store).await?;
            let proxy = Proxy::new(&mut store, &instance)?;
            proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, req, out)
                .await
        });
        match receiver.await {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(code)) => Ok(error_code_response(&code)),
            Err(_) => {
                let err = match task.await {
                    Ok(Ok(())) => anyhow::anyhow!("guest never set a response"),
                    Ok(Err(e)) => anyhow::Error::from(e),
                    Err(e) => anyhow::Error::from(e),
                };
                Err(err)
            }
        }
    }
}

fn error_code_response(code: &ErrorCode) -> hyper::Response<HyperOutgoingBody> {
    eprintln!("dbackup: component answered with an error code: {code:?}");
    json_response(502, &serde_json::json!({"error": "bad gateway"}))
}
