//! Notification payloads: what each channel sends for one [`Notification`]. Rendering is pure;
//! the component (or the runner) performs the HTTP request, or posts an [`OutboundMessage::Email`]
//! to the worker's `/v1/notify/email`.

use dbackup_core::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::registry::Kind;
use crate::store::Adapter;

/// The outcome a notification reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Success,
    Partial,
    Failure,
    /// Informational (test messages, health transitions back online).
    Info,
    /// Warnings (an adapter went offline).
    Warning,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Partial => "partial",
            Status::Failure => "failure",
            Status::Info => "info",
            Status::Warning => "warning",
        }
    }
    fn emoji(self) -> &'static str {
        match self {
            Status::Success => "✅",
            Status::Partial => "⚠️",
            Status::Failure => "❌",
            Status::Info => "ℹ️",
            Status::Warning => "⚠️",
        }
    }
    /// Embed / card colour (RGB).
    fn color(self) -> u32 {
        match self {
            Status::Success => 0x2E_CC_71,
            Status::Partial | Status::Warning => 0xF3_9C_12,
            Status::Failure => 0xE7_4C_3C,
            Status::Info => 0x34_98_DB,
        }
    }
}

/// One extra line of a notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationField {
    pub name: String,
    pub value: String,
}

/// What happened, independent of the channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub title: String,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default)]
    pub destinations: Vec<String>,
    /// Bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default)]
    pub fields: Vec<NotificationField>,
}

/// A request a channel needs made.
#[derive(Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum OutboundMessage {
    /// An HTTP request to a chat service or webhook.
    Http {
        method: String,
        url: String,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// The body of the worker's `POST /v1/notify/email`.
    Email { request: Value },
}

impl std::fmt::Debug for OutboundMessage {
    /// URLs, headers and SMTP passwords may carry secrets: only the shape is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutboundMessage::Http { method, body, .. } => f
                .debug_struct("Http")
                .field("method", method)
                .field("body_len", &body.len())
                .finish_non_exhaustive(),
            OutboundMessage::Email { .. } => f.write_str("Email(..)"),
        }
    }
}

/// Human-readable size (binary units).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// Human-readable duration.
pub fn human_duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{}m {}s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

impl Notification {
    /// `(label, value)` lines: job, source, destinations, size, duration, error, extra fields.
    pub fn lines(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(j) = &self.job {
            out.push(("Job".to_owned(), j.clone()));
        }
        if let Some(s) = &self.source {
            out.push(("Source".to_owned(), s.clone()));
        }
        if !self.destinations.is_empty() {
            out.push(("Destinations".to_owned(), self.destinations.join(", ")));
        }
        if let Some(s) = self.size {
            out.push(("Size".to_owned(), human_size(s)));
        }
        if let Some(d) = self.duration_ms {
            out.push(("Duration".to_owned(), human_duration(d)));
        }
        for f in &self.fields {
            out.push((f.name.clone(), f.value.clone()));
        }
        if let Some(e) = &self.error {
            out.push(("Error".to_owned(), e.clone()));
        }
        out
    }

    /// Plain text body: the title line, then one `Label: value` line each.
    pub fn text(&self) -> String {
        let mut s = format!("{} {}", self.status.emoji(), self.title);
        for (k, v) in self.lines() {
            s.push_str(&format!("\n{k}: {v}"));
        }
        s
    }

    fn subject(&self) -> String {
        format!("{} {}", self.status.emoji(), self.title)
    }
}

fn cfg<'a>(a: &'a Adapter, k: &str) -> Option<&'a str> {
    a.config
        .get(k)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn need<'a>(a: &'a Adapter, k: &str) -> Result<&'a str, ApiError> {
    cfg(a, k).ok_or_else(|| {
        ApiError::bad_request(format!("channel {} has no {k} in its config", a.name))
    })
}

fn json_post(url: String, body: &Value, extra: Vec<(String, String)>) -> OutboundMessage {
    let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    headers.extend(extra);
    OutboundMessage::Http {
        method: "POST".into(),
        url,
        headers,
        body: body.to_string(),
    }
}

/// Fills `{{name}}` placeholders of a webhook body template. Values are inserted JSON-escaped
/// (without quotes) so a template that is JSON stays JSON.
fn fill_template(template: &str, msg: &Notification) -> String {
    let esc = |s: &str| {
        let q = Value::String(s.to_owned()).to_string();
        q[1..q.len() - 1].to_owned()
    };
    let opt_num = |n: Option<u64>| n.map(|v| v.to_string()).unwrap_or_default();
    let vars: [(&str, String); 9] = [
        ("title", esc(&msg.title)),
        ("message", esc(&msg.text())),
        ("status", msg.status.as_str().to_owned()),
        ("job", esc(msg.job.as_deref().unwrap_or(""))),
        ("source", esc(msg.source.as_deref().unwrap_or(""))),
        ("destinations", esc(&msg.destinations.join(", "))),
        ("size", opt_num(msg.size)),
        ("durationMs", opt_num(msg.duration_ms)),
        ("error", esc(msg.error.as_deref().unwrap_or(""))),
    ];
    let mut out = template.to_owned();
    for (k, v) in vars {
        out = out.replace(&format!("{{{{{k}}}}}"), &v);
    }
    out
}

/// The request `a` (a notification channel) needs made to deliver `msg`.
pub fn render_notification(a: &Adapter, msg: &Notification) -> Result<OutboundMessage, ApiError> {
    if a.kind != Kind::Notification {
        return Err(ApiError::bad_request(format!(
            "adapter {} is not a notification channel",
            a.name
        )));
    }
    let lines = msg.lines();
    Ok(match a.adapter_id.as_str() {
        "discord" => {
            let fields: Vec<Value> = lines
                .iter()
                .filter(|(k, _)| k != "Error")
                .map(|(k, v)| json!({"name": k, "value": v, "inline": k != "Destinations"}))
                .collect();
            let mut embed = json!({
                "title": format!("{} {}", msg.status.emoji(), msg.title),
                "color": msg.status.color(),
                "fields": fields,
            });
            if let Some(e) = &msg.error {
                embed["description"] = json!(truncate(e, 4000));
            }
            let mut body = json!({
                "username": cfg(a, "username").unwrap_or("dbackup"),
                "embeds": [embed],
            });
            if let Some(u) = cfg(a, "avatarUrl") {
                body["avatar_url"] = json!(u);
            }
            json_post(need(a, "webhookUrl")?.to_owned(), &body, vec![])
        }
        "slack" => {
            let mut blocks = vec![json!({
                "type": "header",
                "text": {"type": "plain_text", "text": truncate(&msg.subject(), 150)},
            })];
            if !lines.is_empty() {
                blocks.push(json!({
                    "type": "section",
                    "fields": lines.iter().take(10).map(|(k, v)| json!({
                        "type": "mrkdwn", "text": format!("*{k}*\n{}", truncate(v, 1900)),
                    })).collect::<Vec<_>>(),
                }));
            }
            let mut body = json!({"text": msg.text(), "blocks": blocks});
            for (key, field) in [
                ("channel", "channel"),
                ("username", "username"),
                ("icon_emoji", "iconEmoji"),
            ] {
                if let Some(v) = cfg(a, field) {
                    body[key] = json!(v);
                }
            }
            json_post(need(a, "webhookUrl")?.to_owned(), &body, vec![])
        }
        "teams" => {
            let facts: Vec<Value> = lines
                .iter()
                .map(|(k, v)| json!({"title": k, "value": v}))
                .collect();
            let card = json!({
                "type": "AdaptiveCard",
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "version": "1.4",
                "body": [
                    {"type": "TextBlock", "size": "Medium", "weight": "Bolder", "wrap": true,
                     "text": msg.subject()},
                    {"type": "FactSet", "facts": facts},
                ],
            });
            let body = json!({
                "type": "message",
                "attachments": [{
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "content": card,
                }],
            });
            json_post(need(a, "webhookUrl")?.to_owned(), &body, vec![])
        }
        "telegram" => {
            let api = cfg(a, "apiUrl")
                .unwrap_or("https://api.telegram.org")
                .trim_end_matches('/');
            let url = format!("{api}/bot{}/sendMessage", need(a, "botToken")?);
            let mut body = json!({
                "chat_id": need(a, "chatId")?,
                "text": truncate(&msg.text(), 4000),
            });
            if a.config.get("disableNotification").and_then(Value::as_bool) == Some(true) {
                body["disable_notification"] = json!(true);
            }
            json_post(url, &body, vec![])
        }
        "gotify" => {
            let url = format!("{}/message", need(a, "serverUrl")?.trim_end_matches('/'));
            let priority = a
                .config
                .get("priority")
                .and_then(Value::as_i64)
                .unwrap_or(5);
            let priority = if msg.status == Status::Failure {
                priority.max(8)
            } else {
                priority
            };
            let body = json!({
                "title": msg.subject(),
                "message": lines.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join("\n"),
                "priority": priority,
            });
            json_post(
                url,
                &body,
                vec![("x-gotify-key".into(), need(a, "appToken")?.to_owned())],
            )
        }
        "ntfy" => {
            let url = cfg(a, "serverUrl")
                .unwrap_or("https://ntfy.sh")
                .trim_end_matches('/')
                .to_owned();
            let priority = a
                .config
                .get("priority")
                .and_then(Value::as_i64)
                .unwrap_or(3);
            let tag = match msg.status {
                Status::Success => "white_check_mark",
                Status::Failure => "x",
                Status::Partial | Status::Warning => "warning",
                Status::Info => "information_source",
            };
            let body = json!({
                "topic": need(a, "topic")?,
                "title": msg.title,
                "message": lines.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join("\n"),
                "priority": if msg.status == Status::Failure { priority.max(4) } else { priority },
                "tags": [tag],
            });
            let auth = cfg(a, "accessToken")
                .map(|t| vec![("authorization".to_owned(), format!("Bearer {t}"))])
                .unwrap_or_default();
            json_post(url, &body, auth)
        }
        "webhook" => {
            let mut headers: Vec<(String, String)> = Vec::new();
            let body = match cfg(a, "bodyTemplate") {
                Some(t) => fill_template(t, msg),
                None => serde_json::to_string(msg)
                    .map_err(|e| ApiError::internal(format!("encoding notification: {e}")))?,
            };
            let has_content_type = a
                .config
                .get("headers")
                .and_then(Value::as_object)
                .is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case("content-type")));
            if !has_content_type {
                headers.push(("content-type".into(), "application/json".into()));
            }
            if let Some(h) = a.config.get("headers").and_then(Value::as_object) {
                for (k, v) in h {
                    if let Some(v) = v.as_str() {
                        headers.push((k.to_ascii_lowercase(), v.to_owned()));
                    }
                }
            }
            if let Some(auth) = cfg(a, "authorization") {
                headers.push(("authorization".into(), auth.to_owned()));
            }
            OutboundMessage::Http {
                method: cfg(a, "method").unwrap_or("POST").to_owned(),
                url: need(a, "url")?.to_owned(),
                headers,
                body,
            }
        }
        "email" => {
            let mut smtp = Map::new();
            smtp.insert("host".into(), json!(need(a, "host")?));
            smtp.insert(
                "port".into(),
                a.config.get("port").cloned().unwrap_or(json!(587)),
            );
            smtp.insert("tls".into(), json!(cfg(a, "tls").unwrap_or("starttls")));
            if let Some(u) = cfg(a, "username") {
                smtp.insert("username".into(), json!(u));
            }
            if let Some(p) = cfg(a, "password") {
                smtp.insert("password".into(), json!(p));
            }
            let to = a.config.get("to").cloned().unwrap_or(json!([]));
            OutboundMessage::Email {
                request: json!({
                    "smtp": smtp,
                    "from": need(a, "from")?,
                    "to": to,
                    "subject": msg.subject(),
                    "text": msg.text(),
                }),
            }
        }
        other => {
            return Err(ApiError::internal(format!(
                "no renderer for notification adapter {other}"
            )))
        }
    })
}

fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// The message `POST /api/adapters/…/test` sends.
pub fn test_message() -> Notification {
    Notification {
        title: "dbackup test notification".into(),
        status: Status::Info,
        job: None,
        source: None,
        destinations: vec![],
        size: None,
        duration_ms: None,
        error: None,
        fields: vec![NotificationField {
            name: "Message".into(),
            value: "If you can read this, the channel works.".into(),
        }],
    }
}

/// Delivers rendered notifications: HTTP from the component, e-mail through the worker, each
/// bounded in time so a slow channel never holds up its caller. `Err` is the reason, for logs.
#[allow(
    async_fn_in_trait,
    reason = "single-threaded callers (wasm components, tests): no Send bound is needed"
)]
pub trait Deliver {
    async fn deliver(&self, out: OutboundMessage) -> Result<(), String>;

    /// Delivers and says what the channel answered (a connection test shows it). Implementations
    /// that know more than "sent" override it; `deliver` should then be `send` without the
    /// answer, so both report failures in the same words.
    async fn send(&self, out: OutboundMessage) -> Result<Delivered, String> {
        self.deliver(out).await.map(|()| Delivered::Sent)
    }
}

/// Renders `msg` for notification channel `channel_id` and delivers it: the channel's name, or
/// why it was not sent (for logs). Best effort: callers sending to several channels go on.
pub async fn send_to_channel(
    db: &dyn dbackup_core::db::Db,
    sealer: &crate::SecretBox,
    deliver: &impl Deliver,
    channel_id: &str,
    msg: &Notification,
) -> Result<String, String> {
    let channel = crate::store::load(db, sealer, channel_id).map_err(|e| e.message)?;
    let out = render_notification(&channel, msg).map_err(|e| e.message)?;
    deliver.deliver(out).await.map(|()| channel.name)
}

/// What a channel answered to a delivered notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    /// A chat service or webhook took it with this 2xx status.
    Http(u16),
    /// The worker sent the e-mail, with its own account of it (`sent to 2 recipient(s)`).
    Email(Option<String>),
    /// Sent, with nothing more known.
    Sent,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker_spec::tests::adapter;

    fn failure() -> Notification {
        Notification {
            title: "Backup of 'nightly' failed".into(),
            status: Status::Failure,
            job: Some("nightly".into()),
            source: Some("prod-db".into()),
            destinations: vec!["local".into(), "s3 \"eu\"".into()],
            size: Some(5 * 1024 * 1024 + 1234),
            duration_ms: Some(83_500),
            error: Some("pg_dump: connection refused".into()),
            fields: vec![],
        }
    }

    fn success() -> Notification {
        Notification {
            status: Status::Success,
            title: "Backup of 'nightly' succeeded".into(),
            error: None,
            ..failure()
        }
    }

    fn rendered(id: &str, config: Value) -> Value {
        let a = adapter(id, config);
        let f = render_notification(&a, &failure()).unwrap();
        let s = render_notification(&a, &success()).unwrap();
        json!({"failure": show(&f), "success": show(&s)})
    }

    fn show(m: &OutboundMessage) -> Value {
        match m {
            OutboundMessage::Http {
                method,
                url,
                headers,
                body,
            } => json!({
                "method": method, "url": url, "headers": headers,
                "body": serde_json::from_str::<Value>(body).unwrap_or(json!(body)),
            }),
            OutboundMessage::Email { request } => json!({"email": request}),
        }
    }

    #[test]
    fn discord() {
        insta::assert_json_snapshot!(rendered(
            "discord",
            json!({"webhookUrl": "https://discord.com/api/webhooks/1/tok", "avatarUrl": "https://x/a.png"})
        ));
    }
    #[test]
    fn slack() {
        insta::assert_json_snapshot!(rendered(
            "slack",
            json!({"webhookUrl": "https://hooks.slack.com/services/T/B/X", "channel": "#ops"})
        ));
    }
    #[test]
    fn teams() {
        insta::assert_json_snapshot!(rendered(
            "teams",
            json!({"webhookUrl": "https://example.webhook.office.com/x"})
        ));
    }
    #[test]
    fn telegram() {
        insta::assert_json_snapshot!(rendered(
            "telegram",
            json!({"botToken": "123:ABC", "chatId": "-100200"})
        ));
    }
    #[test]
    fn gotify() {
        insta::assert_json_snapshot!(rendered(
            "gotify",
            json!({"serverUrl": "https://gotify.example/", "appToken": "Atoken"})
        ));
    }
    #[test]
    fn ntfy() {
        insta::assert_json_snapshot!(rendered(
            "ntfy",
            json!({"topic": "backups", "accessToken": "tk_1"})
        ));
    }
    #[test]
    fn webhook_default_and_template() {
        insta::assert_json_snapshot!(rendered(
            "webhook",
            json!({"url": "http://127.0.0.1:9/hook", "headers": {"X-Env": "prod"}, "authorization": "Bearer s3cret"})
        ));
        insta::assert_json_snapshot!(rendered(
            "webhook",
            json!({"url": "http://127.0.0.1:9/hook", "method": "PUT",
                   "bodyTemplate": "{\"text\":\"{{title}}\",\"status\":\"{{status}}\",\"size\":{{size}},\"dest\":\"{{destinations}}\"}"})
        ));
    }
    #[test]
    fn email() {
        insta::assert_json_snapshot!(rendered(
            "email",
            json!({"host": "127.0.0.1", "port": 2525, "tls": "none", "username": "u", "password": "pw",
                   "from": "dbackup@example.com", "to": ["ops@example.com", "dba@example.com"]})
        ));
    }

    #[test]
    fn debug_hides_urls_and_passwords() {
        let a = adapter("telegram", json!({"botToken": "123:SECRET", "chatId": "1"}));
        let m = render_notification(&a, &test_message()).unwrap();
        assert!(!format!("{m:?}").contains("SECRET"));
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_duration(999), "999 ms");
        assert_eq!(human_duration(61_000), "1m 1s");
    }
}
