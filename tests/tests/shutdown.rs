//! Graceful shutdown: a request in flight is answered, new connections are refused.

use dbackup_tests::{get, is_listening, probe_manifest, start_host};
use std::time::{Duration, Instant};

#[tokio::test]
async fn in_flight_requests_finish_and_new_connections_are_refused() {
    let test = start_host(&probe_manifest(&["/..."], ""), &[]).await;
    let addr = test.addr();
    // Warm: the host answers at all.
    assert_eq!(get(addr, "/?action=sleep&ms=0").await.status, 200);

    let started = Instant::now();
    let slow = tokio::spawn(async move { get(addr, "/?action=sleep&ms=1500").await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!slow.is_finished(), "the slow request answered too early");

    let dir = test.dir;
    let shutdown = tokio::spawn(test.host.shutdown());
    // The listener closes at once, while the slow request is still running.
    let refused = dbackup_tests::wait_for(Duration::from_secs(1), || async {
        (!is_listening(addr).await).then_some(())
    })
    .await;
    assert!(
        refused.is_some(),
        "still accepting connections during shutdown"
    );
    assert!(
        !slow.is_finished(),
        "the slow request ended before its time"
    );

    let resp = slow.await.expect("request task");
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.json(), serde_json::json!({"slept": 1500}));
    assert!(started.elapsed() >= Duration::from_millis(1500));

    tokio::time::timeout(Duration::from_secs(10), shutdown)
        .await
        .expect("shutdown finishes soon after the last request")
        .expect("shutdown task");
    assert!(
        !is_listening(addr).await,
        "accepting connections after shutdown"
    );
    drop(dir);
}
