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

/// A worker client whose every call must answer within a limit: a worker that stays silent
/// longer is a 504 "no answer within N s" (what connection tests report), never a hang.
pub struct Bounded<W> {
    pub inner: W,
    pub limit: Duration,
}

impl<W: dbackup_core::worker::Worker> dbackup_core::worker::Worker for Bounded<W> {
    async fn send(
        &self,
        method: dbackup_core::worker::Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<dbackup_core::worker::WorkerAnswer, dbackup_core::ApiError> {
        let target = dbackup_core::worker::Target::Default;
        self.send_to(&target, method, path, body).await
    }

    async fn send_to(
        &self,
        target: &dbackup_core::worker::Target,
        method: dbackup_core::worker::Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<dbackup_core::worker::WorkerAnswer, dbackup_core::ApiError> {
        within(self.limit, self.inner.send_to(target, method, path, body))
            .await
            .unwrap_or_else(|| {
                Err(dbackup_core::ApiError::new(
                    504,
                    format!("no answer within {} s", self.limit.as_secs()),
                )
                .with_cause(path.to_owned()))
            })
    }
}
