//! SSH client shared by SFTP storage and dumps over SSH (`russh`, `ring` crypto).
//!
//! The client is async; it runs on one small dedicated tokio runtime (shared by every SSH
//! connection of the process) and is exposed to blocking code by sending each operation to
//! that runtime and waiting on a std channel, which works from any thread.
//!
//! The server's host key must be pinned (an OpenSSH public-key line or a `SHA256:`
//! fingerprint); any other key is refused before authentication, so no password, key
//! signature or database secret is sent to an unknown server.
//!
//! [`RemoteChild`] runs one command on an exec channel: what the caller writes goes to the
//! command's stdin (after a prelude of secret lines, see [`remote_command`]), its stdout is
//! read through a blocking [`Read`], its stderr is kept (bounded) for error messages.

use std::future::Future;
use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use russh::keys::{HashAlg, PrivateKeyWithHashAlg, PublicKey};
use russh::ChannelMsg;
use serde_json::Value;

/// Timeout for connecting and for the SSH handshake + authentication.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Bytes of a remote command's stderr kept for error messages (the tail).
const STDERR_KEEP: usize = 16 * 1024;
/// Chunks of stdout/stdin buffered between the SSH runtime and the blocking side.
const QUEUE: usize = 32;

/// The runtime all SSH sessions run on (two threads: SSH crypto for concurrent transfers).
pub(crate) fn runtime() -> io::Result<&'static tokio::runtime::Runtime> {
    static RT: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("dbackup-ssh")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| io::Error::other(format!("ssh runtime: {e}")))
}

/// Runs `fut` on the SSH runtime and blocks the calling thread until it is done.
pub(crate) fn block<T: Send + 'static>(
    fut: impl Future<Output = T> + Send + 'static,
) -> io::Result<T> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    runtime()?.spawn(async move {
        let _ = tx.send(fut.await);
    });
    rx.recv()
        .map_err(|_| io::Error::other("ssh: the operation was dropped"))
}

/// The pinned host key.
#[derive(Debug, Clone)]
pub(crate) enum Pin {
    Key(Box<PublicKey>),
    Fingerprint(String),
}

impl Pin {
    /// Parses a pin; errors name `field` (e.g. `storage.hostKey`).
    pub(crate) fn parse(text: &str, field: &str) -> io::Result<Pin> {
        let text = text.trim();
        if let Some(fp) = text.strip_prefix("SHA256:") {
            return Ok(Pin::Fingerprint(fp.trim_end_matches('=').to_owned()));
        }
        PublicKey::from_openssh(text)
            .map(|k| Pin::Key(Box::new(k)))
            .map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "{field}: expected an OpenSSH public key line (\"ssh-ed25519 AAAA…\") or a \"SHA256:…\" fingerprint ({e})"
                    ),
                )
            })
    }

    pub(crate) fn matches(&self, key: &PublicKey) -> bool {
        match self {
            Pin::Key(pinned) => pinned.key_data() == key.key_data(),
            Pin::Fingerprint(fp) => {
                let seen = key.fingerprint(HashAlg::Sha256).to_string();
                seen.strip_prefix("SHA256:")
                    .map(|s| s.trim_end_matches('='))
                    == Some(fp.as_str())
            }
        }
    }
}

/// SSH client callbacks: only the host key check matters.
pub(crate) struct Client {
    pin: Pin,
    /// The fingerprint of a refused key, for the error message.
    refused: Arc<Mutex<Option<String>>>,
}

impl russh::client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_public_key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let key = match server_public_key {
            russh::keys::PublicKeyOrCertificate::PublicKey { key, .. } => key.clone(),
            russh::keys::PublicKeyOrCertificate::Certificate(cert) => {
                PublicKey::new(cert.public_key().clone(), "")
            }
        };
        if self.pin.matches(&key) {
            return Ok(true);
        }
        if let Ok(mut refused) = self.refused.lock() {
            *refused = Some(key.fingerprint(HashAlg::Sha256).to_string());
        }
        Ok(false)
    }
}

/// Where and how to log in.
#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    /// Host name or address.
    pub host: String,
    /// Port (22 by default).
    pub port: u16,
    /// User name.
    pub user: String,
    /// Password (tried after the key).
    pub password: Option<String>,
    /// OpenSSH/PEM private key.
    pub private_key: Option<String>,
    /// Passphrase of the private key.
    pub passphrase: Option<String>,
    /// Pinned host key (public-key line or `SHA256:` fingerprint).
    pub host_key: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("host_key", &self.host_key)
            .finish_non_exhaustive()
    }
}

/// Upper bounds of the `ssh` object's fields (bytes).
const MAX_TEXT: usize = 1024;
const MAX_KEY: usize = 16 * 1024;

impl Login {
    /// Parses `{host, port?, user, password? | privateKey?, passphrase?, hostKey}`; errors
    /// name `<field>.<name>`.
    pub fn from_value(value: Value, field: &str) -> Result<Login, String> {
        let Value::Object(mut map) = value else {
            return Err(format!("{field}: expected a JSON object"));
        };
        let mut text = |name: &str, max: usize, required: bool| -> Result<Option<String>, String> {
            match map.remove(name) {
                None | Some(Value::Null) if required => {
                    Err(format!("{field}.{name}: missing field"))
                }
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s.len() > max => {
                    Err(format!("{field}.{name}: at most {max} bytes"))
                }
                Some(Value::String(s)) if s.is_empty() && required => {
                    Err(format!("{field}.{name}: must not be empty"))
                }
                Some(Value::String(s)) => Ok(Some(s).filter(|s| !s.is_empty())),
                Some(_) => Err(format!("{field}.{name}: expected a string")),
            }
        };
        let host = text("host", 253, true)?.unwrap_or_default();
        let user = text("user", 255, true)?.unwrap_or_default();
        let password = text("password", MAX_TEXT, false)?;
        let private_key = text("privateKey", MAX_KEY, false)?;
        let passphrase = text("passphrase", MAX_TEXT, false)?;
        let host_key = text("hostKey", MAX_KEY, true)?.unwrap_or_default();
        let port = match map.remove("port") {
            None | Some(Value::Null) => 22,
            Some(v) => v
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("{field}.port: must be between 1 and 65535"))?,
        };
        if let Some(name) = map.keys().next() {
            return Err(format!(
                "{field}: unknown field `{}`",
                name.chars().take(64).collect::<String>()
            ));
        }
        if host
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '/')
        {
            return Err(format!("{field}.host: not a host name"));
        }
        if user.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "{field}.user: must not contain whitespace or control characters"
            ));
        }
        if password.is_none() && private_key.is_none() {
            return Err(format!("{field}: give a password or a privateKey"));
        }
        Pin::parse(&host_key, &format!("{field}.hostKey")).map_err(|e| e.to_string())?;
        Ok(Login {
            host,
            port,
            user,
            password,
            private_key,
            passphrase,
            host_key,
        })
    }
}

/// Connects, checks the pinned host key, authenticates (private key first, then password).
/// `label` starts every message ("SFTP", "SSH"); `field` names the fields in input errors
/// (`storage`, `source.ssh`).
pub(crate) async fn connect(
    login: Login,
    label: &'static str,
    field: String,
) -> io::Result<russh::client::Handle<Client>> {
    let pin = Pin::parse(&login.host_key, &format!("{field}.hostKey"))?;
    let key = match &login.private_key {
        Some(pem) if !pem.trim().is_empty() => Some(
            russh::keys::decode_secret_key(pem, login.passphrase.as_deref()).map_err(|e| {
                let why = match (&e, &login.passphrase) {
                    (russh::keys::Error::KeyIsEncrypted, _) => {
                        "the key is encrypted: a passphrase is required".to_owned()
                    }
                    (_, Some(_)) => format!("cannot decrypt the key (wrong passphrase?): {e}"),
                    _ => format!("cannot read the key: {e}"),
                };
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{field}.privateKey: {why}"),
                )
            })?,
        ),
        _ => None,
    };
    let address = format!("{}:{}", login.host, login.port);
    let refused = Arc::new(Mutex::new(None));
    let client = Client {
        pin,
        refused: refused.clone(),
    };
    let config = Arc::new(russh::client::Config {
        inactivity_timeout: Some(Duration::from_secs(300)),
        keepalive_interval: Some(Duration::from_secs(30)),
        ..Default::default()
    });
    // Resolved and checked here, and the connection goes to the checked addresses.
    let addrs = crate::outbound::resolve_async(&login.host, login.port)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("{label}: {e}")))?;
    let connect = russh::client::connect(config, addrs.as_slice(), client);
    let mut handle = match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
        Err(_) => {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("{label}: connecting to {address} timed out"),
            ))
        }
        Ok(Err(e)) => {
            if let Some(seen) = refused.lock().ok().and_then(|r| r.clone()) {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!(
                        "{label}: host key mismatch for {address}: the server presented {seen}, which is not the pinned hostKey; refusing to connect"
                    ),
                ));
            }
            let kind = match &e {
                russh::Error::IO(io) => io.kind(),
                _ => io::ErrorKind::Other,
            };
            return Err(io::Error::new(
                kind,
                format!("{label}: cannot connect to {address}: {e}"),
            ));
        }
        Ok(Ok(handle)) => handle,
    };
    let auth = async {
        let mut ok = false;
        if let Some(key) = key {
            let hash = handle.best_supported_rsa_hash().await?.flatten();
            ok = handle
                .authenticate_publickey(
                    login.user.clone(),
                    PrivateKeyWithHashAlg::new(Arc::new(key), hash),
                )
                .await?
                .success();
        }
        if !ok {
            if let Some(password) = &login.password {
                ok = handle
                    .authenticate_password(login.user.clone(), password.clone())
                    .await?
                    .success();
            }
        }
        Ok::<_, russh::Error>(ok)
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, auth).await {
        Ok(Ok(true)) => Ok(handle),
        Ok(Ok(false)) => Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{label}: authentication failed for user {:?} on {address} (wrong password or key not authorized)",
                login.user
            ),
        )),
        Ok(Err(e)) => Err(io::Error::other(format!("{label} authentication: {e}"))),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("{label}: authentication timed out"),
        )),
    }
}

/// Quotes `text` for a POSIX shell (single quotes; `'` as `'\''`).
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// The remote command line: a fixed wrapper that reads each secret variable from one line of
/// stdin and exports it, then `exec env NAME=value… program args…` with every word quoted.
/// The secrets' values never appear in it; `env` holds only non-secret settings.
pub fn remote_command(
    program: &str,
    args: &[String],
    env: &[(String, String)],
    secret_names: &[String],
) -> String {
    let mut line = String::new();
    for name in secret_names {
        line.push_str(&format!("IFS= read -r {name} || exit 126; export {name}; "));
    }
    line.push_str("exec env");
    for (k, v) in env {
        line.push(' ');
        line.push_str(&shell_quote(&format!("{k}={v}")));
    }
    line.push(' ');
    line.push_str(&shell_quote(program));
    for a in args {
        line.push(' ');
        line.push_str(&shell_quote(a));
    }
    line
}

/// How a remote command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteEnd {
    /// `exit-status` from the server.
    Exit(u32),
    /// `exit-signal` from the server.
    Signal(String),
}

/// A command running on an SSH host.
pub struct RemoteChild {
    stdout: Option<Box<dyn Read + Send>>,
    stdin: Option<Box<dyn Write + Send>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    done: Option<std::sync::mpsc::Receiver<Result<RemoteEnd, String>>>,
    ended: Option<Result<RemoteEnd, String>>,
    abort: tokio::task::AbortHandle,
}

impl RemoteChild {
    /// Connects (host key checked first), opens an exec channel for `command`, and sends
    /// `prelude` (the secret lines) before anything the caller writes to stdin.
    /// `tool` names the command in messages.
    pub fn spawn(
        login: &Login,
        tool: &str,
        command: String,
        prelude: Vec<u8>,
    ) -> Result<RemoteChild, String> {
        let lost = format!(
            "the SSH connection to {}:{} closed before the remote {tool} exited",
            login.host, login.port
        );
        let login = login.clone();
        let handle = block(connect(login, "SSH", "source.ssh".into()))
            .and_then(|r| r)
            .map_err(|e| e.to_string())?;
        let (out_tx, out_rx) = tokio::sync::mpsc::channel::<io::Result<Vec<u8>>>(QUEUE);
        let (in_tx, mut in_rx) = tokio::sync::mpsc::channel::<Vec<u8>>(QUEUE);
        let (done_tx, done_rx) = std::sync::mpsc::sync_channel(1);
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel::<Result<(), String>>(1);
        let err_sink = stderr.clone();
        let task = runtime().map_err(|e| e.to_string())?.spawn(async move {
            let handle = handle;
            let opened = async {
                let channel = handle
                    .channel_open_session()
                    .await
                    .map_err(|e| format!("SSH: opening a channel: {e}"))?;
                channel
                    .exec(true, command)
                    .await
                    .map_err(|e| format!("SSH: exec request: {e}"))?;
                Ok::<_, String>(channel)
            };
            let channel = match tokio::time::timeout(CONNECT_TIMEOUT, opened).await {
                Ok(Ok(c)) => c,
                Ok(Err(e)) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
                Err(_) => {
                    let _ = ready_tx.send(Err("SSH: opening the exec channel timed out".into()));
                    return;
                }
            };
            let _ = ready_tx.send(Ok(()));
            let (mut read, write) = channel.split();
            let writer = tokio::spawn(async move {
                if !prelude.is_empty() {
                    write.data_bytes(prelude).await?;
                }
                while let Some(chunk) = in_rx.recv().await {
                    write.data_bytes(chunk).await?;
                }
                write.eof().await?;
                Ok::<_, russh::Error>(write)
            });
            let mut end = None;
            let mut reader_gone = false;
            while let Some(msg) = read.wait().await {
                match msg {
                    ChannelMsg::Data { data } if !reader_gone => {
                        reader_gone = out_tx.send(Ok(data.to_vec())).await.is_err();
                    }
                    ChannelMsg::ExtendedData { data, .. } => {
                        if let Ok(mut tail) = err_sink.lock() {
                            tail.extend_from_slice(&data);
                            if tail.len() > 2 * STDERR_KEEP {
                                let cut = tail.len() - STDERR_KEEP;
                                tail.drain(..cut);
                            }
                        }
                    }
                    ChannelMsg::ExitStatus { exit_status } => {
                        end = Some(RemoteEnd::Exit(exit_status))
                    }
                    ChannelMsg::ExitSignal { signal_name, .. } => {
                        end = Some(RemoteEnd::Signal(format!("{signal_name:?}")))
                    }
                    _ => {}
                }
            }
            writer.abort();
            let result = end.ok_or(lost);
            if let Err(e) = &result {
                let _ = out_tx
                    .send(Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        e.clone(),
                    )))
                    .await;
            }
            drop(out_tx);
            let _ = done_tx.send(result);
            let _ = handle
                .disconnect(russh::Disconnect::ByApplication, "", "en")
                .await;
        });
        let abort = task.abort_handle();
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err("SSH: the connection task ended".into()),
        }
        Ok(RemoteChild {
            stdout: Some(Box::new(ChannelReader {
                rx: out_rx,
                buf: Vec::new(),
                pos: 0,
            })),
            stdin: Some(Box::new(ChannelWriter { tx: Some(in_tx) })),
            stderr,
            done: Some(done_rx),
            ended: None,
            abort,
        })
    }

    /// The command's stdout (once).
    pub fn take_stdout(&mut self) -> Option<Box<dyn Read + Send>> {
        self.stdout.take()
    }

    /// The command's stdin (once); dropping it sends EOF.
    pub fn take_stdin(&mut self) -> Option<Box<dyn Write + Send>> {
        self.stdin.take()
    }

    /// A handle that closes the connection (the server then ends the command).
    pub fn abort_handle(&self) -> tokio::task::AbortHandle {
        self.abort.clone()
    }

    /// Closes the connection.
    pub fn kill(&mut self) {
        self.abort.abort();
    }

    /// Whether the command has ended (or the connection is gone).
    pub fn finished(&mut self) -> bool {
        if self.ended.is_some() {
            return true;
        }
        match self.done.as_ref().map(|d| d.try_recv()) {
            Some(Ok(r)) => {
                self.ended = Some(r);
                true
            }
            Some(Err(std::sync::mpsc::TryRecvError::Disconnected)) | None => true,
            Some(Err(std::sync::mpsc::TryRecvError::Empty)) => false,
        }
    }

    /// Waits for the end (stdin is closed first); returns it with the stderr tail.
    pub fn wait(&mut self) -> (Result<RemoteEnd, String>, Vec<u8>) {
        drop(self.stdin.take());
        let result = match self.ended.take() {
            Some(r) => r,
            None => match self.done.take().map(|d| d.recv()) {
                Some(Ok(r)) => r,
                _ => Err("the SSH connection was closed".into()),
            },
        };
        let stderr = self
            .stderr
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default();
        (result, stderr)
    }
}

impl Drop for RemoteChild {
    fn drop(&mut self) {
        if !self.finished() {
            self.abort.abort();
        }
    }
}

struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<io::Result<Vec<u8>>>,
    buf: Vec<u8>,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.buf.len() {
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => {
                    self.buf = chunk;
                    self.pos = 0;
                }
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

struct ChannelWriter {
    tx: Option<tokio::sync::mpsc::Sender<Vec<u8>>>,
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        let tx = self
            .tx
            .as_ref()
            .ok_or_else(|| io::Error::from(io::ErrorKind::BrokenPipe))?;
        let n = data.len().min(256 * 1024);
        tx.blocking_send(data[..n].to_vec()).map_err(|_| {
            io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the SSH channel is closed (the remote command ended or the connection was cut)",
            )
        })?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_key_pins_parse() {
        let line =
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test";
        let key = PublicKey::from_openssh(line).unwrap();
        assert!(Pin::parse(line, "f").unwrap().matches(&key));
        let fp = key.fingerprint(HashAlg::Sha256).to_string();
        assert!(Pin::parse(&fp, "f").unwrap().matches(&key));
        assert!(!Pin::parse("SHA256:AAAA", "f").unwrap().matches(&key));
        assert!(Pin::parse("not a key", "f").is_err());
    }

    #[test]
    fn remote_command_quotes_and_hides_secrets() {
        let cmd = remote_command(
            "pg_dump",
            &["-d".into(), "it's".into()],
            &[("PGSSLMODE".into(), "prefer".into())],
            &["PGPASSWORD".into()],
        );
        assert_eq!(
            cmd,
            "IFS= read -r PGPASSWORD || exit 126; export PGPASSWORD; exec env 'PGSSLMODE=prefer' 'pg_dump' '-d' 'it'\\''s'"
        );
    }
}
