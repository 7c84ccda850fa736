//! The worker client: calling the worker's HTTP API (docs/CONTRACTS.md) behind a small trait, so
//! the same service code runs in a Spin component (`dbackup_web::worker::SpinWorker`), natively
//! in tests and tools ([`native::NativeWorker`], feature `native-worker`) and against a scripted
//! fake in unit tests ([`fake::FakeWorker`], feature `fake-worker`).
//!
//! Transport failures are [`ApiError`]s the way every caller has always reported them: 503
//! "worker unreachable" when the request does not get an answer, 502 "worker sent an invalid
//! answer" when the answer is not the JSON expected. A worker that answers with an error status
//! is not a transport failure: the status and body reach the caller, which decides what the
//! refusal means.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::ApiError;

/// The HTTP methods the worker's API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// Which worker of the pool a call goes to: the configured one (`worker_url`, the pool's
/// `default` member) or a registered worker at its base URL (docs/WORKER.md, "A pool of
/// workers").
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Target {
    #[default]
    Default,
    /// A registered worker's base URL (`http://host:port`, no trailing slash).
    At(String),
}

impl Target {
    /// The registered worker at `url`, or the configured one when `url` is `None`.
    pub fn from_url(url: Option<&str>) -> Self {
        match url {
            Some(u) => Target::At(u.trim_end_matches('/').to_owned()),
            None => Target::Default,
        }
    }
}

/// The worker's raw answer: its status and body bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerAnswer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl WorkerAnswer {
    /// The body as JSON (`null` when empty); a body that is not JSON is a 502.
    pub fn json(&self, path: &str) -> Result<Value, ApiError> {
        if self.body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&self.body).map_err(|e| invalid_answer(path, e))
    }
}

/// A worker that answered a typed call with a non-2xx status: the status and its error body
/// (`{"error", "details"?}`, or whatever JSON it sent; `null` when it sent none).
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub status: u16,
    pub body: Value,
}

impl Refusal {
    /// The worker's `error` text, `"error"` when the body has none.
    pub fn error(&self) -> &str {
        self.body
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("error")
    }
}

/// The 502 of an answer that is not the JSON expected.
fn invalid_answer(path: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::new(502, "worker sent an invalid answer").with_cause(format!("{path}: {e}"))
}

/// Calls the worker. Implementations provide [`Worker::send`]; the typed helpers are shared.
///
/// The futures are not `Send`: components are single-threaded wasm, and the native client
/// blocks.
#[allow(
    async_fn_in_trait,
    reason = "single-threaded callers (wasm components, tests): no Send bound is needed"
)]
pub trait Worker {
    /// Sends `method path` with an optional JSON body (already encoded) and returns the answer,
    /// whatever its status; a request that gets no answer is a 503 "worker unreachable".
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<WorkerAnswer, ApiError>;

    /// Sends to the pool member `target`. A client that reaches only the configured worker keeps
    /// this default: another target is a 503 "worker unreachable", never a silent fallback to
    /// the configured worker.
    async fn send_to(
        &self,
        target: &Target,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<WorkerAnswer, ApiError> {
        match target {
            Target::Default => self.send(method, path, body).await,
            Target::At(url) => Err(ApiError::unavailable("worker unreachable").with_cause(
                format!("{url}{path}: this client reaches only the configured worker"),
            )),
        }
    }

    /// POSTs a JSON body and parses the JSON answer (an empty body is `null`).
    async fn post_json(&self, path: &str, body: &Value) -> Result<(u16, Value), ApiError> {
        let answer = self.send(Method::Post, path, Some(encode(body)?)).await?;
        Ok((answer.status, answer.json(path)?))
    }

    /// GETs a JSON document (an empty body is `null`).
    async fn get_json(&self, path: &str) -> Result<(u16, Value), ApiError> {
        let answer = self.send(Method::Get, path, None).await?;
        Ok((answer.status, answer.json(path)?))
    }

    /// POSTs a typed request: a 2xx answer parsed as `Resp` (a body that does not parse is a
    /// 502), any other status as a [`Refusal`].
    async fn post<Req, Resp>(
        &self,
        path: &str,
        request: &Req,
    ) -> Result<Result<Resp, Refusal>, ApiError>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned,
    {
        let answer = self
            .send(Method::Post, path, Some(encode(request)?))
            .await?;
        if !(200..300).contains(&answer.status) {
            let body = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
            return Ok(Err(Refusal {
                status: answer.status,
                body,
            }));
        }
        let body = if answer.body.is_empty() {
            b"null".as_slice()
        } else {
            answer.body.as_slice()
        };
        serde_json::from_slice(body)
            .map(Ok)
            .map_err(|e| invalid_answer(path, e))
    }
}

/// A client of the pool pointed at one member: every call of `worker` goes to `target` (the
/// worker recorded on an execution, for its dispatch, status polls and cancel).
pub struct On<'a, W: ?Sized> {
    pub worker: &'a W,
    pub target: Target,
}

impl<'a, W: Worker + ?Sized> On<'a, W> {
    pub fn new(worker: &'a W, target: Target) -> Self {
        On { worker, target }
    }
}

impl<W: Worker + ?Sized> Worker for On<'_, W> {
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<WorkerAnswer, ApiError> {
        self.worker.send_to(&self.target, method, path, body).await
    }

    async fn send_to(
        &self,
        target: &Target,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<WorkerAnswer, ApiError> {
        self.worker.send_to(target, method, path, body).await
    }
}

/// A request body as JSON bytes (a type that does not serialize is a 500).
fn encode<T: Serialize + ?Sized>(body: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(body)
        .map_err(|e| ApiError::internal(format!("encoding worker request: {e}")))
}

/// The worker over HTTP from native code (tests and tools), with a blocking client: each call
/// completes before its future is first polled to the end.
#[cfg(any(test, feature = "native-worker"))]
pub mod native {
    use super::{Method, Target, Worker, WorkerAnswer};
    use crate::ApiError;

    /// The worker at `base_url` (e.g. `http://127.0.0.1:3001`), authenticated with `token`.
    pub struct NativeWorker {
        base_url: String,
        token: String,
        agent: ureq::Agent,
    }

    impl NativeWorker {
        pub fn new(base_url: &str, token: &str) -> Self {
            let agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into();
            NativeWorker {
                base_url: base_url.trim_end_matches('/').to_owned(),
                token: token.to_owned(),
                agent,
            }
        }
    }

    impl Worker for NativeWorker {
        async fn send(
            &self,
            method: Method,
            path: &str,
            body: Option<Vec<u8>>,
        ) -> Result<WorkerAnswer, ApiError> {
            self.send_base(&self.base_url, method, path, body)
        }

        async fn send_to(
            &self,
            target: &Target,
            method: Method,
            path: &str,
            body: Option<Vec<u8>>,
        ) -> Result<WorkerAnswer, ApiError> {
            match target {
                Target::Default => self.send_base(&self.base_url, method, path, body),
                Target::At(url) => self.send_base(url, method, path, body),
            }
        }
    }

    impl NativeWorker {
        fn send_base(
            &self,
            base_url: &str,
            method: Method,
            path: &str,
            body: Option<Vec<u8>>,
        ) -> Result<WorkerAnswer, ApiError> {
            let unreachable = |e: String| {
                ApiError::unavailable("worker unreachable").with_cause(format!("{path}: {e}"))
            };
            let request = ureq::http::Request::builder()
                .method(method.as_str())
                .uri(format!("{base_url}{path}"))
                .header("authorization", format!("Bearer {}", self.token))
                .header("content-type", "application/json")
                .body(body.unwrap_or_default())
                .map_err(|e| unreachable(e.to_string()))?;
            let mut response = self
                .agent
                .run(request)
                .map_err(|e| unreachable(e.to_string()))?;
            let status = response.status().as_u16();
            let body = response
                .body_mut()
                .read_to_vec()
                .map_err(|e| unreachable(e.to_string()))?;
            Ok(WorkerAnswer { status, body })
        }
    }
}

/// A scripted worker for unit tests: answers per path, records every request.
#[cfg(any(test, feature = "fake-worker"))]
pub mod fake {
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::future::Future;
    use std::pin::pin;
    use std::rc::Rc;
    use std::task::{Context, Poll, Waker};

    use serde_json::Value;

    use super::{Method, Target, Worker, WorkerAnswer};
    use crate::ApiError;

    /// One request the fake received (the body parsed as JSON, `null` when absent), and the
    /// pool member it was sent to.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Recorded {
        pub method: Method,
        pub path: String,
        pub body: Value,
        pub target: Target,
    }

    type Script = Rc<dyn Fn(&Value) -> WorkerAnswer>;

    /// A worker whose answers are scripted per path (exact path, or a prefix ending in `*`).
    /// A path with no script answers 503 "worker unreachable", like a worker that is down.
    /// A pool member is scripted with its base URL before the path
    /// (`"http://w2:3001/v1/backups"`); a request to a member falls back to the path's script
    /// unless the member is [`FakeWorker::down`].
    #[derive(Default)]
    pub struct FakeWorker {
        scripts: RefCell<HashMap<String, Script>>,
        requests: RefCell<Vec<Recorded>>,
        down: RefCell<Vec<String>>,
    }

    impl FakeWorker {
        pub fn new() -> Self {
            Self::default()
        }

        /// Answers every request to `path` with `status` and `body`.
        pub fn answer(&self, path: &str, status: u16, body: Value) -> &Self {
            let bytes = body.to_string().into_bytes();
            self.respond(path, move |_| WorkerAnswer {
                status,
                body: bytes.clone(),
            })
        }

        /// Answers requests to `path` with what `f` makes of the request's JSON body.
        pub fn respond(&self, path: &str, f: impl Fn(&Value) -> WorkerAnswer + 'static) -> &Self {
            self.scripts
                .borrow_mut()
                .insert(path.to_owned(), Rc::new(f));
            self
        }

        /// The pool member at `url` answers nothing (503 "worker unreachable") from now on.
        pub fn down(&self, url: &str) -> &Self {
            self.down.borrow_mut().push(url.to_owned());
            self
        }

        /// Every request so far, in order.
        pub fn requests(&self) -> Vec<Recorded> {
            self.requests.borrow().clone()
        }

        /// The requests so far to `path`.
        pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
            self.requests
                .borrow()
                .iter()
                .filter(|r| r.path == path)
                .cloned()
                .collect()
        }

        fn script(&self, path: &str) -> Option<Script> {
            let scripts = self.scripts.borrow();
            if let Some(s) = scripts.get(path) {
                return Some(s.clone());
            }
            scripts
                .iter()
                .filter(|(p, _)| {
                    p.strip_suffix('*')
                        .is_some_and(|prefix| path.starts_with(prefix))
                })
                .max_by_key(|(p, _)| p.len())
                .map(|(_, s)| s.clone())
        }
    }

    impl Worker for FakeWorker {
        async fn send(
            &self,
            method: Method,
            path: &str,
            body: Option<Vec<u8>>,
        ) -> Result<WorkerAnswer, ApiError> {
            self.send_to(&Target::Default, method, path, body).await
        }

        async fn send_to(
            &self,
            target: &Target,
            method: Method,
            path: &str,
            body: Option<Vec<u8>>,
        ) -> Result<WorkerAnswer, ApiError> {
            let body = body
                .map(|b| serde_json::from_slice(&b).unwrap_or(Value::Null))
                .unwrap_or(Value::Null);
            self.requests.borrow_mut().push(Recorded {
                method,
                path: path.to_owned(),
                body: body.clone(),
                target: target.clone(),
            });
            let script = match target {
                Target::Default => self.script(path),
                Target::At(url) if self.down.borrow().contains(url) => None,
                Target::At(url) => self
                    .script(&format!("{url}{path}"))
                    .or_else(|| self.script(path)),
            };
            match script {
                Some(script) => Ok(script(&body)),
                None => Err(ApiError::unavailable("worker unreachable")
                    .with_cause(format!("{path}: no script in the fake worker"))),
            }
        }
    }

    /// Runs a future that never waits (services called with a [`FakeWorker`] and a native
    /// database) to completion; panics if it does wait.
    pub fn block_on<F: Future>(f: F) -> F::Output {
        let mut f = pin!(f);
        let mut cx = Context::from_waker(Waker::noop());
        match f.as_mut().poll(&mut cx) {
            Poll::Ready(out) => out,
            Poll::Pending => panic!("a future driven by block_on waited for something"),
        }
    }
}

#[cfg(test)]
mod native_tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;

    use super::fake::block_on;
    use super::native::NativeWorker;
    use super::Worker;
    use serde_json::json;

    /// A one-shot HTTP server: answers one request with `answer`, hands back what it read.
    fn serve_once(answer: &'static str) -> (String, std::thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while !String::from_utf8_lossy(&request).contains("\"a\":1") {
                let n = conn.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&buf[..n]);
            }
            conn.write_all(answer.as_bytes()).unwrap();
            String::from_utf8_lossy(&request).into_owned()
        });
        (url, handle)
    }

    #[test]
    fn posts_with_the_token_and_reads_any_status() {
        let (url, server) = serve_once(
            "HTTP/1.1 409 Conflict\r\ncontent-type: application/json\r\ncontent-length: 16\r\nconnection: close\r\n\r\n{\"error\":\"busy\"}",
        );
        let worker = NativeWorker::new(&format!("{url}/"), "tok");
        let (status, body) = block_on(worker.post_json("/v1/backups", &json!({"a": 1}))).unwrap();
        assert_eq!((status, body), (409, json!({"error": "busy"})));
        let request = server.join().unwrap().to_ascii_lowercase();
        assert!(
            request.starts_with("post /v1/backups http/1.1"),
            "{request}"
        );
        assert!(request.contains("authorization: bearer tok"), "{request}");
    }

    #[test]
    fn no_server_is_an_unreachable_worker() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let worker = NativeWorker::new(&format!("http://127.0.0.1:{port}"), "tok");
        let e = block_on(worker.get_json("/v1/ping")).unwrap_err();
        assert_eq!((e.status, e.message.as_str()), (503, "worker unreachable"));
    }
}

#[cfg(test)]
mod tests {
    use super::fake::{block_on, FakeWorker};
    use super::*;
    use serde_json::json;

    #[test]
    fn post_json_returns_the_status_and_json_of_any_answer() {
        let w = FakeWorker::new();
        w.answer("/v1/backups", 400, json!({"error": "bad"}));
        let (status, body) = block_on(w.post_json("/v1/backups", &json!({"a": 1}))).unwrap();
        assert_eq!((status, body), (400, json!({"error": "bad"})));
        let sent = w.requests();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].method, Method::Post);
        assert_eq!(sent[0].body, json!({"a": 1}));
    }

    #[test]
    fn an_empty_answer_is_null_and_garbage_is_a_502() {
        let w = FakeWorker::new();
        w.respond("/v1/tasks/*", |_| WorkerAnswer {
            status: 200,
            body: Vec::new(),
        });
        w.respond("/v1/ping", |_| WorkerAnswer {
            status: 200,
            body: b"<html>".to_vec(),
        });
        assert_eq!(
            block_on(w.get_json("/v1/tasks/t1")).unwrap(),
            (200, Value::Null)
        );
        let e = block_on(w.get_json("/v1/ping")).unwrap_err();
        assert_eq!(
            (e.status, e.message.as_str()),
            (502, "worker sent an invalid answer")
        );
    }

    #[test]
    fn an_unscripted_path_is_an_unreachable_worker() {
        let e = block_on(FakeWorker::new().get_json("/v1/ping")).unwrap_err();
        assert_eq!((e.status, e.message.as_str()), (503, "worker unreachable"));
    }

    #[derive(serde::Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Accepted {
        task_id: String,
    }

    #[test]
    fn typed_post_parses_a_2xx_and_hands_back_a_refusal() {
        let w = FakeWorker::new();
        w.answer("/v1/backups", 202, json!({"taskId": "t1"}));
        w.answer(
            "/v1/restores",
            409,
            json!({"error": "busy", "details": "x"}),
        );
        let ok: Result<Accepted, Refusal> = block_on(w.post("/v1/backups", &json!({}))).unwrap();
        assert_eq!(
            ok,
            Ok(Accepted {
                task_id: "t1".into()
            })
        );
        let refused: Result<Accepted, Refusal> =
            block_on(w.post("/v1/restores", &json!({}))).unwrap();
        let r = refused.unwrap_err();
        assert_eq!((r.status, r.error()), (409, "busy"));
        w.answer("/v1/backups", 202, json!({"other": 1}));
        let e = block_on(w.post::<_, Accepted>("/v1/backups", &json!({}))).unwrap_err();
        assert_eq!(e.status, 502);
    }
}
