//! Signed callback events from a task to the components (see docs/WORKER.md, "Callback events").
//!
//! One sender task per worker task delivers the events in `seq` order, each retried with
//! exponential backoff. Emitting never blocks the data pipeline: events go into a bounded
//! in-memory queue (progress events are dropped first when it is full).

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use dbackup_protocol::events::{Event, EventBody, LogLevel, ProgressEvent, ResultEvent};
use dbackup_protocol::signature::{sign, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use dbackup_protocol::tasks::Stage;
use http::{header, Request, StatusCode};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::Notify;

pub use dbackup_protocol::tasks::CallbackSpec;

use crate::error::Error;
use crate::mask_secrets;
use crate::stream::Progress;

/// Queued (undelivered) events per task before progress events are dropped.
pub const QUEUE_CAPACITY: usize = 1024;
/// Minimum interval between two progress events of a task.
pub const PROGRESS_INTERVAL: Duration = Duration::from_secs(1);
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// Retry budget of an ordinary event.
const EVENT_RETRY_BUDGET: Duration = Duration::from_secs(120);
/// Retry budget of the result event (retried longest).
const RESULT_RETRY_BUDGET: Duration = Duration::from_secs(600);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// A validated callback target.
#[derive(Clone)]
pub struct Callback {
    authority: String,
    host: String,
    port: u16,
    path: String,
    /// The HMAC key: the execution's 32-byte key, or the worker token for registrations.
    key: Arc<[u8]>,
    /// `https`: TLS with the worker's trust roots.
    tls: bool,
}

/// Extra trust anchors for https callbacks (`DBACKUP_WORKER_CA_FILE`), set by [`configure_tls`].
static EXTRA_CA: std::sync::RwLock<Option<Arc<tokio_rustls::rustls::ClientConfig>>> =
    std::sync::RwLock::new(None);

/// Reads the PEM certificates of `ca_file` (if any) and makes https callbacks trust them in
/// addition to the built-in web PKI roots. Called by `serve` with the configured file; a file
/// that cannot be read or holds no certificate is an error.
pub fn configure_tls(ca_file: Option<&std::path::Path>) -> Result<(), String> {
    let Some(path) = ca_file else { return Ok(()) };
    use tokio_rustls::rustls::pki_types::{pem::PemObject, CertificateDer};
    let mut roots = web_roots();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<_, _>>())
        .map_err(|e| format!("{}: cannot read PEM certificates: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no PEM certificate found", path.display()));
    }
    for cert in certs {
        roots
            .add(cert)
            .map_err(|e| format!("{}: unusable CA certificate: {e}", path.display()))?;
    }
    let config = client_config(roots)?;
    if let Ok(mut slot) = EXTRA_CA.write() {
        *slot = Some(Arc::new(config));
    }
    Ok(())
}

fn web_roots() -> tokio_rustls::rustls::RootCertStore {
    tokio_rustls::rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

fn client_config(
    roots: tokio_rustls::rustls::RootCertStore,
) -> Result<tokio_rustls::rustls::ClientConfig, String> {
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    Ok(
        tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// The TLS client configuration for https callbacks: web PKI roots plus the configured CA.
fn tls_config() -> Result<Arc<tokio_rustls::rustls::ClientConfig>, String> {
    static WEB_ONLY: std::sync::OnceLock<Result<Arc<tokio_rustls::rustls::ClientConfig>, String>> =
        std::sync::OnceLock::new();
    if let Some(config) = EXTRA_CA.read().ok().and_then(|c| c.clone()) {
        return Ok(config);
    }
    WEB_ONLY
        .get_or_init(|| client_config(web_roots()).map(Arc::new))
        .clone()
}

impl Callback {
    /// Validates `url` (http) and the 32-byte hex key.
    pub fn new(spec: &CallbackSpec) -> Result<Self, Error> {
        let bad = |m: &str| Error::InvalidBody(format!("callback.{m}"));
        let key: [u8; 32] = hex::decode(&spec.signing_key_hex)
            .ok()
            .and_then(|k| k.try_into().ok())
            .ok_or_else(|| bad("signingKeyHex: expected 64 hex characters (32 bytes)"))?;
        Self::signed_with(&spec.url, Arc::from(key.as_slice())).map_err(|m| bad(&m))
    }

    /// A target at `url` (http or https) whose requests are signed with `key`; the error names
    /// what is wrong with the URL (`url: …`).
    pub fn signed_with(url: &str, key: Arc<[u8]>) -> Result<Self, String> {
        let bad = |m: &str| m.to_owned();
        let uri: http::Uri = url.parse().map_err(|_| bad("url: not a valid URL"))?;
        let tls = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(bad("url: must start with http:// or https://")),
        };
        let authority = uri.authority().ok_or_else(|| bad("url: missing host"))?;
        if authority.as_str().contains('@') {
            return Err(bad("url: credentials in the URL are not allowed"));
        }
        let host = authority.host().trim_matches(['[', ']']).to_owned();
        if host.is_empty() {
            return Err(bad("url: missing host"));
        }
        Ok(Callback {
            authority: authority.as_str().to_owned(),
            host,
            port: authority.port_u16().unwrap_or(if tls { 443 } else { 80 }),
            path: uri
                .path_and_query()
                .map_or("/".into(), |p| p.as_str().to_owned()),
            key,
            tls,
        })
    }
}

/// Collects the string values of every `password`-like field of a connection object.
pub fn connection_secrets(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let k = k.to_ascii_lowercase();
                if let (true, Value::String(s)) = (
                    k.contains("password") || k.contains("secret") || k.contains("token"),
                    v,
                ) {
                    out.push(s.clone());
                } else {
                    connection_secrets(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| connection_secrets(v, out)),
        _ => {}
    }
}

/// An event waiting for its `seq`: when it happened and what.
struct Queued {
    at: String,
    body: EventBody,
}

struct Queue {
    events: VecDeque<Queued>,
    last_progress: Option<(Instant, u64, u64)>,
    result_queued: bool,
}

/// The event source of one task; the sender task drains it.
pub struct Emitter {
    task_id: String,
    execution_id: Option<String>,
    secrets: Vec<String>,
    queue: Mutex<Queue>,
    notify: Notify,
    started: Instant,
}

impl Emitter {
    /// Creates the emitter and spawns its sender task (needs a tokio runtime context).
    pub fn start(
        callback: Callback,
        task_id: String,
        execution_id: Option<String>,
        mut secrets: Vec<String>,
    ) -> (Arc<Emitter>, tokio::task::JoinHandle<()>) {
        secrets.push(hex::encode(&callback.key));
        secrets.push(hex::encode_upper(&callback.key));
        let emitter = Arc::new(Emitter {
            task_id,
            execution_id,
            secrets,
            queue: Mutex::new(Queue {
                events: VecDeque::new(),
                last_progress: None,
                result_queued: false,
            }),
            notify: Notify::new(),
            started: Instant::now(),
        });
        let handle = tokio::spawn(sender(emitter.clone(), callback));
        (emitter, handle)
    }

    fn push(&self, body: EventBody) {
        let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let Ok(mut q) = self.queue.lock() else { return };
        if q.result_queued {
            return;
        }
        let progress = matches!(body, EventBody::Progress(_));
        if q.events.len() >= QUEUE_CAPACITY {
            if progress {
                return;
            }
            // Make room by dropping the oldest progress event; never drop anything else.
            if let Some(i) = q
                .events
                .iter()
                .position(|e| matches!(e.body, EventBody::Progress(_)))
            {
                q.events.remove(i);
            }
        }
        if matches!(body, EventBody::Result(_)) {
            q.result_queued = true;
        }
        q.events.push_back(Queued { at, body });
        drop(q);
        self.notify.notify_one();
    }

    /// A stage change.
    pub fn stage(&self, stage: Stage) {
        self.push(EventBody::Stage { stage });
    }

    /// A log line; every secret of the task is masked.
    pub fn log(&self, level: LogLevel, message: &str) {
        let message = mask_secrets(message, &self.secrets);
        self.push(EventBody::Log { level, message });
    }

    /// A progress event, unless one was emitted less than a second ago (or nothing changed).
    pub fn progress(&self, progress: &Progress) {
        let bytes_in = progress.bytes_in.load(Ordering::Relaxed);
        let bytes_out = progress.bytes_out.load(Ordering::Relaxed);
        let now = Instant::now();
        let rate = {
            let Ok(mut q) = self.queue.lock() else { return };
            let (since, base, base_out) = q.last_progress.unwrap_or((self.started, 0, 0));
            if q.last_progress.is_some()
                && (now.duration_since(since) < PROGRESS_INTERVAL
                    || (base, base_out) == (bytes_in, bytes_out))
            {
                return; // too soon, or nothing changed
            }
            q.last_progress = Some((now, bytes_in, bytes_out));
            let secs = now.duration_since(since).as_secs_f64().max(0.001);
            (bytes_in.saturating_sub(base) as f64 / secs) as u64
        };
        self.push(EventBody::Progress(ProgressEvent {
            bytes_in,
            bytes_out,
            rate_bytes_per_sec: rate,
        }));
    }

    /// The final event, masked like the log lines; nothing is queued after it.
    pub fn result(&self, event: ResultEvent) {
        let masked = serde_json::to_string(&event)
            .ok()
            .and_then(|text| serde_json::from_str(&mask_secrets(&text, &self.secrets)).ok())
            .unwrap_or(event);
        self.push(EventBody::Result(Box::new(masked)));
    }

    /// Whether the result event has been queued.
    pub fn finished(&self) -> bool {
        self.queue.lock().map(|q| q.result_queued).unwrap_or(true)
    }
}

/// Emits a progress event every second while the task runs.
pub async fn progress_ticker(emitter: Arc<Emitter>, task: Arc<crate::tasks::Task>) {
    let mut tick = tokio::time::interval(PROGRESS_INTERVAL);
    tick.tick().await;
    loop {
        tick.tick().await;
        if emitter.finished() {
            return;
        }
        emitter.progress(task.progress());
    }
}

async fn sender(emitter: Arc<Emitter>, callback: Callback) {
    let mut seq: u64 = 0;
    loop {
        let next = emitter
            .queue
            .lock()
            .ok()
            .and_then(|mut q| q.events.pop_front());
        let Some(Queued { at, body }) = next else {
            emitter.notify.notified().await;
            continue;
        };
        seq += 1;
        let is_result = matches!(body, EventBody::Result(_));
        let event = Event {
            task_id: emitter.task_id.clone(),
            execution_id: emitter.execution_id.clone(),
            seq,
            at,
            body,
        };
        // Through a `Value`: keys sorted, the bytes the receivers have always seen.
        let body = serde_json::to_value(&event)
            .map(|v| v.to_string())
            .unwrap_or_default();
        deliver(&callback, &emitter.task_id, seq, body, is_result).await;
        if is_result {
            return;
        }
    }
}

/// Delivers one event, retrying connection errors, 5xx and 429 with exponential backoff.
async fn deliver(callback: &Callback, task_id: &str, seq: u64, body: String, is_result: bool) {
    let budget = if is_result {
        RESULT_RETRY_BUDGET
    } else {
        EVENT_RETRY_BUDGET
    };
    let started = Instant::now();
    let mut backoff = FIRST_BACKOFF;
    let body = Bytes::from(body);
    loop {
        let outcome = tokio::time::timeout(ATTEMPT_TIMEOUT, post(callback, body.clone())).await;
        let problem = match outcome {
            Ok(Ok(status)) if status.is_success() => return,
            Ok(Ok(status))
                if status.is_client_error() && status != StatusCode::TOO_MANY_REQUESTS =>
            {
                eprintln!(
                    "dbackup-worker: task {task_id}: callback rejected event {seq} with {status}; skipping it"
                );
                return;
            }
            Ok(Ok(status)) => format!("status {status}"),
            Ok(Err(e)) => e,
            Err(_) => "timed out".into(),
        };
        if started.elapsed() + backoff > budget {
            eprintln!(
                "dbackup-worker: task {task_id}: giving up on callback event {seq} after {} s: {problem}",
                started.elapsed().as_secs()
            );
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// POSTs `body` to `callback`, signed; the answer's status.
pub(crate) async fn post(callback: &Callback, body: Bytes) -> Result<StatusCode, String> {
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let signature = sign(&callback.key, &timestamp, &body);
    let stream = TcpStream::connect((callback.host.as_str(), callback.port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let mut sender = if callback.tls {
        use tokio_rustls::rustls::pki_types::ServerName;
        let name = ServerName::try_from(callback.host.clone())
            .map_err(|e| format!("TLS server name {:?}: {e}", callback.host))?;
        let stream = tokio_rustls::TlsConnector::from(tls_config()?)
            .connect(name, stream)
            .await
            .map_err(|e| format!("TLS: {e}"))?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(conn);
        sender
    } else {
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(conn);
        sender
    };
    let req = Request::post(callback.path.as_str())
        .header(header::HOST, callback.authority.as_str())
        .header(header::CONTENT_TYPE, "application/json")
        .header(
            header::USER_AGENT,
            concat!("dbackup-worker/", env!("CARGO_PKG_VERSION")),
        )
        .header(TIMESTAMP_HEADER, timestamp)
        .header(SIGNATURE_HEADER, signature)
        .body(Full::new(body))
        .map_err(|e| format!("request: {e}"))?;
    let response = sender
        .send_request(req)
        .await
        .map_err(|e| format!("send: {e}"))?;
    Ok(response.status())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn log_lines_are_masked_and_progress_dropped_first() {
        let callback = Callback::new(&CallbackSpec {
            url: "http://127.0.0.1:1/cb".into(),
            signing_key_hex: "cd".repeat(32),
        })
        .unwrap();
        let (emitter, sender) = Emitter::start(
            callback,
            "t".into(),
            None,
            vec!["hunter2-pw".into(), "ab".repeat(32)],
        );
        sender.abort();
        emitter.log(
            LogLevel::Error,
            &format!(
                "auth failed for hunter2-pw key {} {}",
                "ab".repeat(32),
                "cd".repeat(32)
            ),
        );
        {
            let q = emitter.queue.lock().unwrap();
            let EventBody::Log { message, .. } = &q.events[0].body else {
                panic!("not a log event")
            };
            assert_eq!(message, "auth failed for ******** key ******** ********");
        }
        let progress = Progress::default();
        emitter.progress(&progress);
        for _ in 0..QUEUE_CAPACITY {
            emitter.stage(Stage::Dumping);
        }
        emitter.progress(&progress);
        let q = emitter.queue.lock().unwrap();
        assert!(q
            .events
            .iter()
            .all(|e| !matches!(e.body, EventBody::Progress(_))));
        assert_eq!(q.events.len(), QUEUE_CAPACITY + 1);
    }

    #[test]
    fn validation() {
        let spec = |url: &str, key: &str| CallbackSpec {
            url: url.into(),
            signing_key_hex: key.into(),
        };
        let k = "ab".repeat(32);
        assert!(Callback::new(&spec("http://127.0.0.1:8080/cb?x=1", &k)).is_ok());
        assert!(Callback::new(&spec("ftp://h/cb", &k)).is_err());
        let https = Callback::new(&spec("https://hooks.example/cb", &k)).unwrap();
        assert!(https.tls);
        assert_eq!(https.port, 443);
        assert!(configure_tls(Some(std::path::Path::new("/nonexistent/ca.pem"))).is_err());
        assert!(Callback::new(&spec("h/cb", &k)).is_err());
        assert!(Callback::new(&spec("http://u:p@h/cb", &k)).is_err());
        assert!(Callback::new(&spec("http://h/cb", "abcd")).is_err());
        assert!(Callback::new(&spec("http://h/cb", &"zz".repeat(32))).is_err());
    }
}
