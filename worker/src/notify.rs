//! `POST /v1/notify/email`: sends one plain-text e-mail over SMTP (lettre, rustls): TLS mode
//! `none` (plain, for local relays), `starttls` (upgrade required) or `tls` (implicit TLS).
//! Bounded by `probe_timeout`. The SMTP password is never logged or echoed: it is masked in
//! every message. Delivery failures are `200 {ok: false, message}` (the request was fine);
//! malformed requests are 400.

use dbackup_protocol::notify::{EmailRequest, NotifyAnswer, TlsMode};
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::Value;

use crate::error::Error;
use crate::{mask_secrets, Config};

fn mailbox(field: &str, text: &str) -> Result<Mailbox, Error> {
    text.parse().map_err(|e| {
        Error::InvalidBody(format!("{field}: {text:?} is not an e-mail address ({e})"))
    })
}

/// Builds the message (400 for bad addresses), then sends it.
pub(crate) async fn send(config: &Config, body: Value) -> Result<NotifyAnswer, Error> {
    let req: EmailRequest =
        serde_json::from_value(body).map_err(|e| Error::InvalidBody(e.to_string()))?;
    crate::engines::require_token_like("smtp.host", &req.smtp.host)?;
    dbackup_core::net::check_host(&req.smtp.host)
        .map_err(|why| Error::InvalidBody(format!("smtp.host: {why}")))?;
    if req.smtp.port == 0 {
        return Err(Error::InvalidBody(
            "smtp.port: must be between 1 and 65535".into(),
        ));
    }
    if req.to.is_empty() {
        return Err(Error::InvalidBody("to: at least one recipient".into()));
    }
    let mut builder = Message::builder()
        .from(mailbox("from", &req.from)?)
        .subject(req.subject.clone());
    for to in &req.to {
        builder = builder.to(mailbox("to", to)?);
    }
    let message = builder
        .header(ContentType::TEXT_PLAIN)
        .body(req.text.clone())
        .map_err(|e| Error::InvalidBody(format!("message: {e}")))?;

    let smtp = &req.smtp;
    let secrets: Vec<String> = smtp.password.iter().cloned().collect();
    let failed = |what: &str, e: &dyn std::fmt::Display| NotifyAnswer {
        ok: false,
        message: mask_secrets(&format!("{what}: {e}"), &secrets),
    };
    // The relay's name is resolved and checked here (crate::outbound) and the connection goes
    // to the checked address; TLS still verifies the certificate against the name.
    let resolved = tokio::time::timeout(
        config.probe_timeout,
        crate::outbound::resolve_async(&smtp.host, smtp.port),
    )
    .await;
    let address = match resolved {
        Ok(Ok(addrs)) => match addrs.first() {
            Some(a) => a.ip().to_string(),
            None => return Ok(failed("cannot resolve the SMTP server", &smtp.host)),
        },
        Ok(Err(e)) => return Ok(failed("cannot connect to the SMTP server", &e)),
        Err(_) => return Ok(failed("cannot resolve the SMTP server", &"timed out")),
    };
    let tls = match smtp.tls {
        TlsMode::None => Ok(Tls::None),
        TlsMode::Starttls => TlsParameters::new(smtp.host.clone()).map(Tls::Required),
        TlsMode::Tls => TlsParameters::new(smtp.host.clone()).map(Tls::Wrapper),
    };
    let tls = match tls {
        Ok(tls) => tls,
        Err(e) => return Ok(failed("TLS setup failed", &e)),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(address)
        .tls(tls)
        .port(smtp.port)
        .timeout(Some(config.probe_timeout));
    if let Some(user) = smtp.username.as_ref().filter(|u| !u.is_empty()) {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            smtp.password.clone().unwrap_or_default(),
        ));
    }
    let transport = builder.build();
    let sent = tokio::time::timeout(config.probe_timeout, transport.send(message)).await;
    Ok(match sent {
        Err(_) => NotifyAnswer {
            ok: false,
            message: format!(
                "the SMTP server did not answer within {} s",
                config.probe_timeout.as_secs()
            ),
        },
        Ok(Err(e)) => failed(
            &format!("sending via {}:{} failed", smtp.host, smtp.port),
            &error_chain(&e),
        ),
        Ok(Ok(resp)) => NotifyAnswer {
            ok: true,
            message: format!(
                "sent to {} recipient(s) via {}:{} ({})",
                req.to.len(),
                smtp.host,
                smtp.port,
                resp.code()
            ),
        },
    })
}

/// The error with its sources, `: `-joined (lettre's top-level text alone is vague).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn a_metadata_relay_is_refused() {
        let config = crate::Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            token: "0123456789abcdef0123456789abcdef".into(),
            pg_bin_dirs: Vec::new(),
            probe_timeout: std::time::Duration::from_secs(5),
            max_tasks: 1,
            ca_file: None,
            local_roots: crate::LocalRoots::none(),
            pool: None,
        };
        let body = |host: &str| {
            json!({"smtp": {"host": host, "port": 25, "tls": "none"}, "from": "a@example.com",
                   "to": ["b@example.com"], "subject": "s", "text": "t"})
        };
        for host in ["169.254.169.254", "fe80::1", "metadata.google.internal"] {
            match send(&config, body(host)).await {
                Err(Error::InvalidBody(m)) => assert!(m.starts_with("smtp.host"), "{m}"),
                other => panic!("{host}: {other:?}"),
            }
        }
    }
}
