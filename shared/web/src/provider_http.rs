//! Outbound HTTP to OpenID providers from a Spin component ([`SpinProviderHttp`]); the trait and
//! the SSO flows that use it are `dbackup_identity::{provider_http, sso_flow}`.

use dbackup_identity::provider_http::{Method, ProviderAnswer, ProviderHttp, ProviderRequest};
use spin_sdk::http::{Request, Response};

/// Spin's outbound HTTP (the hosts `allowed_outbound_hosts` permits).
#[derive(Debug, Clone, Copy, Default)]
pub struct SpinProviderHttp;

impl ProviderHttp for SpinProviderHttp {
    async fn send(&self, request: ProviderRequest) -> Result<ProviderAnswer, String> {
        let mut builder = Request::builder();
        let method = match request.method {
            Method::Get => spin_sdk::http::Method::Get,
            Method::Post => spin_sdk::http::Method::Post,
        };
        builder.method(method).uri(request.url.as_str());
        for (name, value) in &request.headers {
            builder.header(*name, value.as_str());
        }
        let url = request.url;
        let response: Response = spin_sdk::http::send(builder.body(request.body).build())
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        Ok(ProviderAnswer {
            status: *response.status(),
            body: response.into_body(),
        })
    }
}
