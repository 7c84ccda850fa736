//! Outbound HTTP to an OpenID provider (discovery, token exchange, JWKS, userinfo) behind a
//! small trait, so the SSO flows (`sso_flow`) run in a Spin component
//! (`dbackup_web::provider_http::SpinProviderHttp`) and natively against a scripted fake
//! ([`fake::FakeProvider`]) in unit tests.

pub use dbackup_core::worker::Method;

/// One request to a provider: the flow sets every header (`accept`, `user-agent`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderRequest {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl ProviderRequest {
    /// The value of header `name`, if the request carries it.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A provider's answer, whatever its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderAnswer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Sends requests to OpenID providers.
///
/// The futures are not `Send`: components are single-threaded wasm.
#[allow(
    async_fn_in_trait,
    reason = "single-threaded callers (wasm components, tests): no Send bound is needed"
)]
pub trait ProviderHttp {
    /// Sends `request` and returns the answer whatever its status; `Err` (the reason, naming
    /// the URL) when no answer came.
    async fn send(&self, request: ProviderRequest) -> Result<ProviderAnswer, String>;
}

/// A scripted provider for unit tests: answers per URL, records every request.
#[cfg(test)]
pub mod fake {
    use std::cell::RefCell;
    use std::collections::HashMap;

    use super::{ProviderAnswer, ProviderHttp, ProviderRequest};

    /// A provider whose answers are scripted per exact URL; a URL with no script gets no answer
    /// (`Err`), like a provider that is down.
    #[derive(Default)]
    pub struct FakeProvider {
        scripts: RefCell<HashMap<String, ProviderAnswer>>,
        requests: RefCell<Vec<ProviderRequest>>,
    }

    impl FakeProvider {
        /// Answers every request to `url` with `status` and `body`.
        pub fn answer(&self, url: &str, status: u16, body: impl Into<Vec<u8>>) -> &Self {
            self.scripts.borrow_mut().insert(
                url.to_owned(),
                ProviderAnswer {
                    status,
                    body: body.into(),
                },
            );
            self
        }

        /// The requests so far to `url`, in order.
        pub fn requests_to(&self, url: &str) -> Vec<ProviderRequest> {
            self.requests
                .borrow()
                .iter()
                .filter(|r| r.url == url)
                .cloned()
                .collect()
        }
    }

    impl ProviderHttp for FakeProvider {
        async fn send(&self, request: ProviderRequest) -> Result<ProviderAnswer, String> {
            let url = request.url.clone();
            self.requests.borrow_mut().push(request);
            self.scripts
                .borrow()
                .get(&url)
                .cloned()
                .ok_or_else(|| format!("{url}: no script in the fake provider"))
        }
    }
}
