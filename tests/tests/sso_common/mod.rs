//! What the SSO tests share: the test OpenID Connect provider (node-oidc-provider, tests/oidc/,
//! started on loopback) and a minimal browser that walks its login and consent forms.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use dbackup_tests::{repo, Api, Credential};
use serde_json::Value;

/// The `providerId` the tests configure.
pub const SLUG: &str = "test-idp";

fn oidc_dir() -> PathBuf {
    repo().join("tests").join("oidc")
}

/// Installs the provider's locked dependencies if `cargo xtask test` has not.
fn ensure_installed() {
    if oidc_dir().join("node_modules/oidc-provider").is_dir() {
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(oidc_dir())
        .status()
        .expect("run npm ci in tests/oidc");
    assert!(status.success(), "npm ci in tests/oidc failed");
}

/// The provider process, killed on drop.
pub struct Provider {
    child: Child,
    pub port: u16,
}

impl Provider {
    /// Starts the provider on `port`, accepting `redirect_uri`, signing with key `kid`.
    pub fn start(port: u16, redirect_uri: &str, kid: &str) -> Provider {
        ensure_installed();
        let child = Command::new("node")
            .arg("provider.mjs")
            .current_dir(oidc_dir())
            .env("PORT", port.to_string())
            .env("REDIRECT_URIS", redirect_uri)
            .env("KID", kid)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start node tests/oidc/provider.mjs");
        let provider = Provider { child, port };
        let url = format!("{}/.well-known/openid-configuration", provider.issuer());
        for _ in 0..100 {
            if ureq::get(&url).call().is_ok() {
                return provider;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the OIDC provider did not come up on {url}");
    }

    pub fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The body of `POST /api/sso-providers` for this provider (generic adapter).
    pub fn provider_body(&self) -> Value {
        serde_json::json!({
            "name": "Test IdP", "providerId": SLUG, "adapter": "generic", "issuer": self.issuer(),
            "clientId": "backup-app", "clientSecret": "backup-secret", "allowProvisioning": true,
        })
    }

    pub fn set_mode(&self, mode: &str) {
        ureq::post(&format!("{}/__test/mode", self.issuer()))
            .send(mode)
            .expect("set the provider's test mode");
    }

    pub fn kids(&self) -> Vec<String> {
        let jwks: Value = ureq::get(&format!("{}/jwks", self.issuer()))
            .call()
            .expect("jwks")
            .into_body()
            .read_to_string()
            .ok()
            .and_then(|b| serde_json::from_str(&b).ok())
            .expect("jwks json");
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal browser: one cookie jar for every loopback origin (paths ignored), manual
/// redirects.
pub struct Browser {
    agent: ureq::Agent,
    pub jar: BTreeMap<String, String>,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
    pub url: String,
}

fn absolute(base: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        return location.to_owned();
    }
    let origin: String = {
        let (scheme, rest) = base.split_once("://").unwrap();
        format!("{scheme}://{}", rest.split('/').next().unwrap())
    };
    format!("{origin}{location}")
}

impl Browser {
    pub fn new() -> Browser {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .build()
            .into();
        Browser {
            agent,
            jar: BTreeMap::new(),
        }
    }

    /// A browser holding this session cookie.
    pub fn signed_in(jwt: &str) -> Browser {
        let mut b = Browser::new();
        b.jar.insert("dbackup_session".into(), jwt.to_owned());
        b
    }

    fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn absorb(&mut self, url: &str, resp: ureq::http::Response<ureq::Body>) -> Page {
        for c in resp.headers().get_all("set-cookie") {
            let c = c.to_str().unwrap_or_default();
            let pair = c.split(';').next().unwrap_or_default();
            if let Some((k, v)) = pair.split_once('=') {
                let expired = c.to_lowercase().contains("expires=thu, 01 jan 1970")
                    || c.to_lowercase().contains("max-age=0");
                if v.is_empty() || expired {
                    self.jar.remove(k.trim());
                } else {
                    self.jar.insert(k.trim().to_owned(), v.to_owned());
                }
            }
        }
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .map(|l| absolute(url, l));
        let body = resp.into_body().read_to_string().unwrap_or_default();
        Page {
            status,
            location,
            body,
            url: url.to_owned(),
        }
    }

    pub fn get(&mut self, url: &str) -> Page {
        let resp = self
            .agent
            .get(url)
            .header("cookie", &self.cookie_header())
            .call()
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        self.absorb(url, resp)
    }

    fn post_form(&mut self, url: &str, fields: &[(&str, &str)]) -> Page {
        let resp = self
            .agent
            .post(url)
            .header("cookie", &self.cookie_header())
            .send_form(fields.iter().copied())
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        self.absorb(url, resp)
    }

    /// A JSON API call from the page (the UI's fetch: cookies and `X-Requested-With`).
    pub fn post_json(&mut self, url: &str, body: &Value) -> Page {
        let resp = self
            .agent
            .post(url)
            .header("cookie", &self.cookie_header())
            .header("x-requested-with", "dbackup-ui")
            .header("content-type", "application/json")
            .send(body.to_string())
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        self.absorb(url, resp)
    }

    /// From `first` (an app URL that redirects to the provider, or the provider's authorization
    /// URL) through the provider's login and consent forms up to the redirect back to the app;
    /// returns the callback URL (not yet visited).
    pub fn through_provider(&mut self, first: &str, app: &str, user: &str) -> String {
        let mut page = self.get(first);
        for _ in 0..20 {
            if let Some(next) = page.location.clone() {
                if next.starts_with(app) {
                    return next;
                }
                page = self.get(&next);
                continue;
            }
            assert_eq!(page.status, 200, "{}: {}", page.url, page.body);
            page = if page.body.contains(r#"name="login""#) {
                self.post_form(
                    &page.url,
                    &[("prompt", "login"), ("login", user), ("password", "x")],
                )
            } else if page.body.contains("consent") {
                self.post_form(&page.url, &[("prompt", "consent")])
            } else {
                panic!("unexpected provider page {}: {}", page.url, page.body)
            };
        }
        panic!("the flow did not return to the app")
    }

    /// From the app's `/start` up to the callback URL (not yet visited).
    pub fn until_callback(&mut self, app: &str, user: &str) -> String {
        self.through_provider(&format!("{app}/api/auth/sso/{SLUG}/start"), app, user)
    }

    /// A whole login: the final redirect's location and the session it set, if any.
    pub fn login(&mut self, app: &str, user: &str) -> (String, Option<String>) {
        let callback = self.until_callback(app, user);
        self.finish(&callback)
    }

    /// Visits a callback URL without a session; returns where the app redirects and the
    /// session it set.
    pub fn finish(&mut self, callback: &str) -> (String, Option<String>) {
        self.jar.remove("dbackup_session");
        self.visit(callback)
    }

    /// Visits a callback URL with the cookies the browser holds; returns where the app
    /// redirects (relative to the app) and the session cookie afterwards.
    pub fn visit(&mut self, callback: &str) -> (String, Option<String>) {
        let page = self.get(callback);
        assert_eq!(page.status, 302, "{}: {}", page.url, page.body);
        let location = page.location.expect("a redirect");
        let app = callback.split("/api/").next().unwrap();
        let relative = location.strip_prefix(app).unwrap_or(&location).to_owned();
        (relative, self.jar.get("dbackup_session").cloned())
    }
}

/// Runs a blocking browser step off the runtime (the app is served by the same runtime).
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("browser step")
}

/// The user a session cookie belongs to.
pub async fn session_user(api: &Api, jwt: &str) -> Value {
    api.expect(
        &Credential::Cookie(jwt.to_owned()),
        "GET",
        "/api/auth/session",
        None,
        200,
    )
    .await["user"]
        .clone()
}
