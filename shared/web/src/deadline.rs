//! A bounded wait for outbound calls: races a future against a monotonic-clock deadline, so a
//! connection test or a notification never hangs on a silent server. Runs under spin-executor
//! (`spin_sdk::http::run` or an HTTP handler).

use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use futures::future::{select, Either};
use wasi::clocks::monotonic_clock;

/// Completes once `d` has passed.
async fn sleep(d: Duration) {
    let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    let deadline = monotonic_clock::now().saturating_add(nanos);
    futures::future::poll_fn(|cx| {
        if monotonic_clock::now() >= deadline {
            Poll::Ready(())
        } else {
            spin_executor::push_waker(
                monotonic_clock::subscribe_instant(deadline),
                cx.waker().clone(),
            );
            Poll::Pending
        }
    })
    .await
}

/// `Some(output)` if `f` finishes within `d`, else `None` (and `f` is dropped, cancelling it).
pub async fn within<T>(d: Duration, f: impl Future<Output = T>) -> Option<T> {
    let f = pin!(f);
    let timer = pin!(sleep(d));
    match select(f, timer).await {
        Either::Left((out, _)) => Some(out),
        Either::Right(((), _)) => None,
    }
}
