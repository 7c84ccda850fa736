//! Time bounds of one client connection, which hyper does not give on its own: a request's
//! headers must arrive within the header-read timeout of its first byte (slow-loris), and a
//! connection on which nothing moves — no request in flight, or a response the client does not
//! take — is closed after the idle timeout. The socket is wrapped to see bytes move; the service
//! marks requests in and out; a watchdog closes the connection when a bound is passed.
//!
//! A connection whose request body was refused (413, 408) is closed lingering (see
//! [`crate::limits::LINGER_TOTAL`]): when hyper shuts the socket down after the answer, the
//! wrapper shuts the write side and reads and discards what the client still sends, within
//! bounds, before the socket is dropped — so a client still writing its body reads the answer
//! instead of a connection reset.

use crate::limits::{LINGER_IDLE, LINGER_MAX_BYTES, LINGER_TOTAL};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// No request head is being read.
const NONE: u64 = u64::MAX;

/// What the watchdog knows of one connection. Times are milliseconds since `epoch`.
#[derive(Debug)]
pub struct Activity {
    epoch: Instant,
    /// The last byte read or written.
    last_io: AtomicU64,
    /// The first byte of a request head that has not been completely read yet ([`NONE`]).
    head_started: AtomicU64,
    /// Requests handed to the service whose response has not been completely sent.
    in_flight: AtomicUsize,
    /// Of those, the ones whose response head is out (the body is being sent).
    responding: AtomicUsize,
    /// A request body was left unread: close lingering.
    linger: AtomicBool,
}

/// Why the watchdog closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    /// The headers of a request did not arrive in time.
    Headers,
    /// Nothing moved on the connection.
    Idle,
}

impl Activity {
    pub fn new() -> Arc<Self> {
        Arc::new(Activity {
            epoch: Instant::now(),
            last_io: AtomicU64::new(0),
            head_started: AtomicU64::new(NONE),
            in_flight: AtomicUsize::new(0),
            responding: AtomicUsize::new(0),
            linger: AtomicBool::new(false),
        })
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(NONE - 1)
    }

    fn read(&self) {
        self.read_at(self.now());
    }

    fn read_at(&self, now: u64) {
        self.last_io.fetch_max(now, Ordering::Relaxed);
        // A byte with no request in flight starts a request head.
        if self.in_flight.load(Ordering::Acquire) == 0 {
            let _ =
                self.head_started
                    .compare_exchange(NONE, now, Ordering::AcqRel, Ordering::Relaxed);
        }
    }

    fn wrote(&self) {
        self.wrote_at(self.now());
    }

    fn wrote_at(&self, now: u64) {
        self.last_io.fetch_max(now, Ordering::Relaxed);
    }

    /// A request's head has been read and handed to the service; the returned guard marks it
    /// done when dropped (keep it with the response body until that is sent).
    pub fn request(self: &Arc<Self>) -> RequestGuard {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.head_started.store(NONE, Ordering::Release);
        RequestGuard {
            activity: self.clone(),
            responding: false,
        }
    }

    /// Whether a bound has passed, as of now.
    pub fn expired(&self, header_read: Duration, idle: Duration) -> Option<Expired> {
        self.expired_at(self.now(), header_read, idle)
    }

    fn expired_at(&self, now: u64, header_read: Duration, idle: Duration) -> Option<Expired> {
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(NONE - 1);
        let head = self.head_started.load(Ordering::Acquire);
        if head != NONE && now.saturating_sub(head) >= millis(header_read) {
            return Some(Expired::Headers);
        }
        let last = self.last_io.load(Ordering::Relaxed);
        // A request whose response has not started may legitimately be quiet (the component is
        // working; the body-read bound and the component's own limits apply to it).
        let working =
            self.in_flight.load(Ordering::Acquire) > self.responding.load(Ordering::Acquire);
        if !working && now.saturating_sub(last) >= millis(idle) {
            return Some(Expired::Idle);
        }
        None
    }
}

/// Marks one request as in flight until dropped.
#[derive(Debug)]
pub struct RequestGuard {
    activity: Arc<Activity>,
    responding: bool,
}

impl RequestGuard {
    /// The response head is ready: from now on the connection must keep moving.
    pub fn responding(&mut self) {
        if !self.responding {
            self.responding = true;
            self.activity.wrote();
            self.activity.responding.fetch_add(1, Ordering::AcqRel);
        }
    }
}

impl RequestGuard {
    /// The request's body was refused and left unread (413, 408): the connection closes after
    /// the answer, lingering.
    pub fn linger_on_close(&self) {
        self.activity.linger.store(true, Ordering::Release);
    }
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.activity.wrote();
        if self.responding {
            self.activity.responding.fetch_sub(1, Ordering::AcqRel);
        }
        self.activity.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Resolves when a bound of `activity` has passed; checks a few times per bound.
pub async fn watchdog(activity: Arc<Activity>, header_read: Duration, idle: Duration) -> Expired {
    let step = (header_read.min(idle) / 8).clamp(Duration::from_millis(20), Duration::from_secs(1));
    let mut tick = tokio::time::interval(step);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Some(why) = activity.expired(header_read, idle) {
            return why;
        }
    }
}

/// Bounds of a lingering close.
#[derive(Debug, Clone, Copy)]
struct LingerBounds {
    total: Duration,
    idle: Duration,
    max_bytes: u64,
}

const LINGER: LingerBounds = LingerBounds {
    total: LINGER_TOTAL,
    idle: LINGER_IDLE,
    max_bytes: LINGER_MAX_BYTES,
};

/// Where a lingering close is.
enum Closing {
    Open,
    /// The write side is shut; what arrives is read and discarded until a bound is reached.
    Lingering {
        total: Pin<Box<Sleep>>,
        idle: Pin<Box<Sleep>>,
        discarded: u64,
        scratch: Box<[u8]>,
    },
    Closed,
}

/// A socket that reports every byte read or written to its [`Activity`], and closes lingering
/// when asked to.
pub struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
    bounds: LingerBounds,
    closing: Closing,
}

impl<S> Watched<S> {
    pub fn new(inner: S, activity: Arc<Activity>) -> Self {
        Watched {
            inner,
            activity,
            bounds: LINGER,
            closing: Closing::Open,
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Watched<S> {
    /// Reads and discards until the client's EOF, an error, or a bound of [`LingerBounds`].
    fn poll_linger(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Closing::Lingering {
            total,
            idle,
            discarded,
            scratch,
        } = &mut self.closing
        else {
            return Poll::Ready(());
        };
        loop {
            if *discarded >= self.bounds.max_bytes {
                return Poll::Ready(());
            }
            let mut buf = ReadBuf::new(scratch);
            match Pin::new(&mut self.inner).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if buf.filled().is_empty() => return Poll::Ready(()),
                Poll::Ready(Ok(())) => {
                    *discarded += buf.filled().len() as u64;
                    idle.as_mut().reset(Instant::now() + self.bounds.idle);
                }
                Poll::Ready(Err(_)) => return Poll::Ready(()),
                Poll::Pending => {
                    if total.as_mut().poll(cx).is_ready() || idle.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(());
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        polled
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Closing::Open = this.closing {
            std::task::ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
            if !this.activity.linger.load(Ordering::Acquire) {
                this.closing = Closing::Closed;
                return Poll::Ready(Ok(()));
            }
            let now = Instant::now();
            this.closing = Closing::Lingering {
                total: Box::pin(tokio::time::sleep_until(now + this.bounds.total)),
                idle: Box::pin(tokio::time::sleep_until(now + this.bounds.idle)),
                discarded: 0,
                scratch: vec![0u8; 64 * 1024].into_boxed_slice(),
            };
        }
        std::task::ready!(this.poll_linger(cx));
        this.closing = Closing::Closed;
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: Duration = Duration::from_secs(10);
    const IDLE: Duration = Duration::from_secs(60);

    fn at(a: &Activity, secs: u64) -> Option<Expired> {
        a.expired_at(secs * 1000, HEAD, IDLE)
    }

    #[test]
    fn a_silent_connection_is_idle() {
        let a = Activity::new();
        assert_eq!(at(&a, 59), None);
        assert_eq!(at(&a, 60), Some(Expired::Idle));
    }

    #[test]
    fn headers_trickling_in_are_cut_off_at_the_header_timeout() {
        let a = Activity::new();
        for s in 1..=9 {
            a.read_at(s * 1000);
            assert_eq!(at(&a, s), None, "after {s} s");
        }
        // Bytes keep coming, but the head started at 1 s.
        a.read_at(10_500);
        assert_eq!(at(&a, 11), Some(Expired::Headers));
    }

    #[test]
    fn a_request_being_worked_on_may_be_quiet_but_its_response_may_not() {
        let a = Activity::new();
        a.read_at(1000);
        let mut guard = a.request();
        assert_eq!(at(&a, 500), None, "the component may take its time");
        guard.responding();
        let start = a.now() / 1000;
        assert_eq!(at(&a, start + 59), None);
        assert_eq!(
            at(&a, start + 61),
            Some(Expired::Idle),
            "a stalled response"
        );
        drop(guard);
        // Between requests: idle again from the end of the response, no header timer running.
        let end = a.now() / 1000;
        assert_eq!(at(&a, end + 30), None);
        a.read_at((end + 30) * 1000);
        assert_eq!(at(&a, end + 41), Some(Expired::Headers));
    }

    /// A connected pair: the host's side wrapped with short linger bounds, and the client's.
    async fn pair(linger: bool) -> (Watched<tokio::net::TcpStream>, tokio::net::TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let client = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let (server, _) = listener.accept().await.expect("accept");
        let activity = Activity::new();
        let guard = activity.request();
        if linger {
            guard.linger_on_close();
        }
        drop(guard);
        let mut watched = Watched::new(server, activity);
        watched.bounds = LingerBounds {
            total: Duration::from_millis(1500),
            idle: Duration::from_millis(300),
            max_bytes: 256 * 1024,
        };
        (watched, client)
    }

    /// The client writes `chunk` every `every` (until the host's shutdown returned); returns
    /// how long the host's shutdown took, whether every client write succeeded meanwhile, and
    /// what the client read (the answer, then EOF).
    async fn close_while_sending(
        linger: bool,
        chunk: usize,
        every: Duration,
        stop_after: Option<usize>,
    ) -> (Duration, bool, Vec<u8>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut server, client) = pair(linger).await;
        let (mut rd, mut wr) = client.into_split();
        let writer = tokio::spawn(async move {
            let block = vec![b'x'; chunk];
            let mut n = 0;
            loop {
                if stop_after.is_some_and(|max| n >= max) {
                    // Stop sending but keep the connection open.
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    return (true, wr);
                }
                if wr.write_all(&block).await.is_err() {
                    return (false, wr);
                }
                n += 1;
                tokio::time::sleep(every).await;
            }
        });
        // Let some of the body arrive unread, as when a body is refused by its declared length.
        tokio::time::sleep(Duration::from_millis(50)).await;
        server.write_all(b"answer").await.expect("answer");
        let started = Instant::now();
        server.shutdown().await.expect("shutdown");
        let took = started.elapsed();
        let mut read = Vec::new();
        let mut buf = [0u8; 64];
        while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(3), rd.read(&mut buf)).await
        {
            if n == 0 {
                break;
            }
            read.extend_from_slice(&buf[..n]);
        }
        drop(server);
        let writes_ok = if writer.is_finished() {
            writer.await.map(|(ok, _)| ok).unwrap_or(false)
        } else {
            writer.abort();
            true
        };
        (took, writes_ok, read)
    }

    #[tokio::test]
    async fn a_lingering_close_reads_until_the_client_stops() {
        // 64 KiB, then nothing: closed once the idle bound passes, every write accepted.
        let (took, writes_ok, read) =
            close_while_sending(true, 64 * 1024, Duration::from_millis(1), Some(1)).await;
        assert!(writes_ok);
        assert_eq!(read, b"answer");
        assert!(
            took >= Duration::from_millis(250) && took < Duration::from_millis(1200),
            "{took:?}"
        );
    }

    #[tokio::test]
    async fn a_lingering_close_is_bounded_in_bytes_and_time() {
        // A client that never stops sending fast: cut at 256 KiB, long before the time bound.
        let (took, _, read) = close_while_sending(true, 64 * 1024, Duration::ZERO, None).await;
        assert!(took < Duration::from_millis(1000), "{took:?}");
        assert!(read.starts_with(b"answer"), "{read:?}");
        // A client trickling a byte every 100 ms: cut at the total bound.
        let (took, _, _) = close_while_sending(true, 1, Duration::from_millis(100), None).await;
        assert!(
            took >= Duration::from_millis(1400) && took < Duration::from_millis(2500),
            "{took:?}"
        );
    }

    #[tokio::test]
    async fn without_a_refused_body_the_close_does_not_linger() {
        let (took, _, read) =
            close_while_sending(false, 1, Duration::from_millis(100), Some(1)).await;
        assert!(took < Duration::from_millis(100), "{took:?}");
        assert_eq!(read, b"answer");
    }
}
