//! The HTTP front: accepts connections, routes each request to its component as Spin would, and
//! turns host-side failures into JSON errors.

use crate::router::{spin_headers, Router};
use crate::runtime::Runtime;
use anyhow::Result;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use std::net::SocketAddr;
use std::sync::Arc;
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

impl HttpApp {
    /// Serves one request; never fails (errors become 404/500/502 JSON answers).
    pub async fn handle(
        self: Arc<Self>,
        mut req: hyper::Request<Incoming>,
        client: SocketAddr,
    ) -> hyper::Response<HyperOutgoingBody> {
        let path = req.uri().path().to_owned();
        let Some(m) = self.router.route(&path) else {
            return json_response(404, &serde_json::json!({"error": "not found"}));
        };
        let Some(component) = self.runtime.components.get(&m.route.component) else {
            return json_response(404, &serde_json::json!({"error": "not found"}));
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
        req: hyper::Request<Incoming>,
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
