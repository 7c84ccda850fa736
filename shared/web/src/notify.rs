//! Notification delivery from a Spin component ([`SpinNotifier`]): chat services and webhooks
//! by outbound HTTP from here, e-mail through the worker (`POST /v1/notify/email`), each within
//! [`SEND_TIMEOUT`].

use std::time::Duration;

use dbackup_adapters_core::notify::{Deliver, Delivered, OutboundMessage};
use dbackup_adapters_core::probe::refusal_text;
use dbackup_core::worker::Worker;
use serde_json::Value;
use spin_sdk::http::{Method, Request, Response};

use crate::worker::SpinWorker;

/// Longest wait for one notification to be delivered; a slow channel never holds up the runner.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(15);

/// Delivers notifications from a Spin component.
#[derive(Debug, Clone, Copy, Default)]
pub struct SpinNotifier;

impl Deliver for SpinNotifier {
    async fn deliver(&self, out: OutboundMessage) -> Result<(), String> {
        self.send(out).await.map(|_| ())
    }

    async fn send(&self, out: OutboundMessage) -> Result<Delivered, String> {
        crate::deadline::within(SEND_TIMEOUT, send(out))
            .await
            .unwrap_or_else(|| Err(format!("no answer within {} s", SEND_TIMEOUT.as_secs())))
    }
}

async fn send(out: OutboundMessage) -> Result<Delivered, String> {
    match out {
        OutboundMessage::Email { request } => {
            let (status, body) = SpinWorker
                .post_json("/v1/notify/email", &request)
                .await
                .map_err(|e| match &e.details {
                    Some(d) => format!("{}: {d}", e.message),
                    None => e.message.clone(),
                })?;
            let said = body
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_owned);
            match status {
                200..=299 if body.get("ok").and_then(Value::as_bool) != Some(false) => {
                    Ok(Delivered::Email(said))
                }
                200..=299 => Err(said.unwrap_or_else(|| "sending failed".to_owned())),
                _ => Err(refusal_text(status, &body)),
            }
        }
        OutboundMessage::Http {
            method,
            url,
            headers,
            body,
        } => {
            let method = match method.as_str() {
                "PUT" => Method::Put,
                "PATCH" => Method::Patch,
                "GET" => Method::Get,
                _ => Method::Post,
            };
            let mut req = Request::builder();
            req.method(method).uri(url.as_str());
            for (k, v) in &headers {
                req.header(k.as_str(), v.as_str());
            }
            let req = req.body(body.into_bytes()).build();
            let resp: Response = spin_sdk::http::send(req)
                .await
                .map_err(|e| format!("request failed: {e}"))?;
            let status = *resp.status();
            if (200..300).contains(&status) {
                Ok(Delivered::Http(status))
            } else {
                Err(format!("the service answered HTTP {status}"))
            }
        }
    }
}
