//! Outbound HTTP from components, allowed only to the component's `allowed_outbound_hosts`, and
//! never to a link-local or cloud metadata address (checked after DNS resolution, in
//! [`crate::outbound_send`]).

use crate::outbound::default_port;
use crate::runtime::ComponentInfo;
use std::sync::Arc;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

/// Per-store hooks carrying the component's allow-list.
pub struct OutboundHooks {
    component: Arc<ComponentInfo>,
}

impl OutboundHooks {
    pub fn new(component: Arc<ComponentInfo>) -> Self {
        OutboundHooks { component }
    }
}

type SendFuture = Box<
    dyn std::future::Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn std::future::Future<Output = Result<(), Error>> + Send>,
                ),
                Error,
            >,
        > + Send,
>;

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn std::future::Future<Output = Result<(), Error>> + Send>,
    ) -> SendFuture {
        let uri = request.uri();
        let scheme = uri.scheme_str().unwrap_or("https").to_ascii_lowercase();
        let host = uri.host().unwrap_or_default().to_owned();
        let port = uri
            .port_u16()
            .or_else(|| default_port(&scheme))
            .unwrap_or(0);
        if !self.component.outbound.allows(&scheme, &host, port) {
            eprintln!(
                "dbackup: denied outbound request from component {} to {scheme}://{host}:{port} (not in allowed_outbound_hosts)",
                self.component.id
            );
            return Box::new(async { Err(Error::HttpRequestDenied) });
        }
        _ = fut;
        let component = self.component.id.clone();
        Box::new(async move { crate::outbound_send::send(&component, request, options).await })
    }
}
