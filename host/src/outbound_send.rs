//! Sending a component's outbound HTTP request: resolve the host once, refuse the connection when
//! any resolved address is link-local or a cloud metadata service (`dbackup_core::net`), then
//! connect to exactly the addresses that were checked (a second lookup could answer differently:
//! DNS rebinding). TLS verifies the certificate against the host name of the URL.

use bytes::Bytes;
use dbackup_core::net;
use http::uri::Scheme;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, SizeHint};
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpStream;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

/// wasi-http's default for every timeout a guest leaves unset.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// The future that drives the connection after the response head arrived.
pub type ConnectionFuture = Box<dyn Future<Output = Result<(), Error>> + Send>;

/// Sends `request` for `component` (named in the log line of a refusal).
pub async fn send(
    component: &str,
    mut request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
) -> Result<(http::Response<WasiBody>, ConnectionFuture), Error> {
    let uri = request.uri();
    let tls = uri.scheme() == Some(&Scheme::HTTPS);
    let host = uri.host().ok_or(Error::HttpRequestUriInvalid)?.to_owned();
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let timeout = |pick: fn(&RequestOptions) -> Option<Duration>| {
        options.as_ref().and_then(pick).unwrap_or(DEFAULT_TIMEOUT)
    };
    let connect_timeout = timeout(|o| o.connect_timeout);
    let first_byte_timeout = timeout(|o| o.first_byte_timeout);
    let between_bytes_timeout = timeout(|o| o.between_bytes_timeout).max(Duration::from_nanos(1));

    let addrs = resolve(&host, port, connect_timeout).await?;
    if let Some(bad) = addrs.iter().find(|a| net::is_forbidden_ip(a.ip())) {
        eprintln!(
            "dbackup: refused outbound connection from component {component} to {host}:{port} ({} is link-local or a cloud metadata address)",
            bad.ip()
        );
        return Err(refused(&host));
    }

    let tcp = tokio::time::timeout(connect_timeout, TcpStream::connect(addrs.as_slice()))
        .await
        .map_err(|_| Error::ConnectionTimeout)?
        .map_err(connect_error)?;
    let io: Box<dyn Stream> = if tls {
        let name = server_name(&host)?;
        let connector = tokio_rustls::TlsConnector::from(tls_config()?);
        let stream = tokio::time::timeout(connect_timeout, connector.connect(name, tcp))
            .await
            .map_err(|_| Error::ConnectionTimeout)?
            .map_err(Error::Tls)?;
        Box::new(stream)
    } else {
        Box::new(tcp)
    };
    let (mut sender, connection) = tokio::time::timeout(
        connect_timeout,
        hyper::client::conn::http1::handshake(TokioIo::new(io)),
    )
    .await
    .map_err(|_| Error::ConnectionTimeout)??;

    // Origin form on the wire: the scheme and authority went into the connection (and `Host`).
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".to_owned());
    *request.uri_mut() = path.parse().map_err(|_| Error::HttpRequestUriInvalid)?;

    let mut connection = Box::pin(connection);
    let mut connection_done = false;
    let response = tokio::time::timeout(first_byte_timeout, async {
        let sent = sender.send_request(request);
        tokio::pin!(sent);
        tokio::select! {
            biased;
            response = &mut sent => response.map_err(Error::from),
            ended = connection.as_mut() => {
                connection_done = true;
                match ended {
                    // A connection that closes right after the response has delivered it.
                    Ok(()) => sent.await.map_err(Error::from),
                    Err(e) => Err(Error::from(e)),
                }
            }
        }
    })
    .await
    .map_err(|_| Error::ConnectionReadTimeout)??;
    let response = response.map(|incoming| {
        BetweenBytes {
            inner: incoming,
            timeout: between_bytes_timeout,
            sleep: Box::pin(tokio::time::sleep(between_bytes_timeout)),
        }
        .boxed_unsync()
    });
    let drive: ConnectionFuture = Box::new(async move {
        if connection_done {
            return Ok(());
        }
        connection.await.map_err(|e| {
            if e.is_timeout() {
                Error::HttpResponseTimeout
            } else {
                Error::from(e)
            }
        })
    });
    Ok((response, drive))
}

/// The error a component gets for a forbidden destination: a connection error whose message
/// says why (`ErrorCode::InternalError(Some(..))` in the guest).
fn refused(host: &str) -> Error {
    Error::InternalError(Some(format!(
        "destination IP prohibited: connection to {host} refused (it {})",
        net::REFUSED
    )))
}

/// Every address of `host` (an IP literal, bracketed for IPv6, or a name), looked up once.
async fn resolve(host: &str, port: u16, limit: Duration) -> Result<Vec<SocketAddr>, Error> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let addrs: Vec<SocketAddr> = tokio::time::timeout(limit, tokio::net::lookup_host((bare, port)))
        .await
        .map_err(|_| Error::DnsTimeout)?
        .map_err(|_| Error::DnsError {
            rcode: Some("address not available".to_owned()),
            info_code: Some(0),
        })?
        .collect();
    if addrs.is_empty() {
        return Err(Error::DestinationNotFound);
    }
    Ok(addrs)
}

fn connect_error(e: std::io::Error) -> Error {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => Error::ConnectionRefused,
        _ => Error::Connect(e),
    }
}

fn server_name(host: &str) -> Result<rustls::pki_types::ServerName<'static>, Error> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
        return Ok(rustls::pki_types::ServerName::from(ip));
    }
    Ok(rustls::pki_types::ServerName::try_from(bare.to_owned())?)
}

/// Client TLS with the web PKI roots, as wasi-http's default sender has.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, Error> {
    static CONFIG: OnceLock<Option<Arc<rustls::ClientConfig>>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.into(),
            };
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .ok()
                .map(|b| Arc::new(b.with_root_certificates(roots).with_no_client_auth()))
        })
        .clone()
        .ok_or(Error::ConfigurationError)
}

trait Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Sync + Unpin + 'static {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Sync + Unpin + 'static> Stream for T {}

/// A response body that fails when no frame arrives within `timeout` of the previous one.
struct BetweenBytes {
    inner: hyper::body::Incoming,
    timeout: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl Body for BetweenBytes {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let deadline = tokio::time::Instant::now() + self.timeout;
                self.sleep.as_mut().reset(deadline);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) if e.is_timeout() => {
                Poll::Ready(Some(Err(Error::HttpResponseTimeout)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Error::from(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match self.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Error::ConnectionReadTimeout))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn literals_resolve_to_themselves_and_names_through_the_resolver() {
        let one = |s: &str| s.parse::<SocketAddr>().expect("addr");
        let limit = Duration::from_secs(5);
        assert_eq!(
            resolve("169.254.169.254", 80, limit).await.expect("v4"),
            vec![one("169.254.169.254:80")]
        );
        assert_eq!(
            resolve("[fe80::1]", 8080, limit).await.expect("v6"),
            vec![one("[fe80::1]:8080")]
        );
        // inet_aton forms are names to the URL parser but addresses to the resolver.
        assert_eq!(
            resolve("0xa9fea9fe", 80, limit).await.expect("hex"),
            vec![one("169.254.169.254:80")]
        );
        let local = resolve("localhost", 80, limit).await.expect("localhost");
        assert!(local.iter().all(|a| a.ip().is_loopback()), "{local:?}");
    }

    #[test]
    fn the_refusal_says_so() {
        let e = refused("169.254.169.254");
        let text = e.to_string();
        assert!(text.contains("refused"), "{text}");
        assert!(text.contains(net::REFUSED), "{text}");
    }

    #[test]
    fn server_names() {
        assert!(server_name("example.com").is_ok());
        assert!(matches!(
            server_name("[::1]"),
            Ok(rustls::pki_types::ServerName::IpAddress(_))
        ));
        assert!(server_name("bad name").is_err());
    }
}
