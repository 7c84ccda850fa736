//! `POST /v1/notify/email` `{smtp, from, to, subject, text}` → 200 [`NotifyAnswer`] (`ok:
//! false` with the reason when the server refuses or cannot be reached; 400 for a malformed
//! request).

use std::fmt;

use serde::{Deserialize, Serialize};

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain (local relays).
    None,
    /// Upgrade required.
    Starttls,
    /// Implicit TLS.
    Tls,
}

/// The SMTP server. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Smtp {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Transport security.
    pub tls: TlsMode,
    /// Login, when the server needs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Password of `username`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

impl fmt::Debug for Smtp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Smtp")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// `POST /v1/notify/email` body: one plain-text message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EmailRequest {
    /// The server.
    pub smtp: Smtp,
    /// Sender address.
    pub from: String,
    /// Recipients (at least one).
    pub to: Vec<String>,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
}

/// Answer of `POST /v1/notify/email`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyAnswer {
    /// Whether the server accepted the message.
    pub ok: bool,
    /// What happened (masked).
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_and_hides_the_password() {
        let golden = json!({"smtp": {"host": "mail", "port": 587, "tls": "starttls",
            "username": "u", "password": "hunter2"}, "from": "a@example.com",
            "to": ["b@example.com"], "subject": "s", "text": "t"});
        let req: EmailRequest = serde_json::from_value(golden.clone()).unwrap();
        assert_eq!(serde_json::to_value(&req).unwrap(), golden);
        assert!(!format!("{req:?}").contains("hunter2"));
        assert!(
            serde_json::from_value::<Smtp>(json!({"host": "h", "port": 25, "tls": "ssl"})).is_err()
        );
        assert_eq!(
            serde_json::to_value(NotifyAnswer {
                ok: false,
                message: "m".into()
            })
            .unwrap(),
            json!({"ok": false, "message": "m"})
        );
    }
}
