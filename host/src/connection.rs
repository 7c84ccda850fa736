//! Time bounds of one client connection, which hyper does not give on its own: a request's
//! headers must arrive within the header-read timeout of its first byte (slow-loris), and a
//! connection on which nothing moves — no request in flight, or a response the client does not
//! take — is closed after the idle timeout. The socket is wrapped to see bytes move; the service
//! marks requests in and out; a watchdog closes the connection when a bound is passed.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

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

/// A socket that reports every byte read or written to its [`Activity`].
pub struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S> Watched<S> {
    pub fn new(inner: S, activity: Arc<Activity>) -> Self {
        Watched { inner, activity }
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

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
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
        Pin::new(&mut self.inner).poll_shutdown(cx)
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
}
