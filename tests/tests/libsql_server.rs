//! The app on a libSQL server (`sqld`) as its shared database: the harness itself, our host's
//! journey on it, surviving a sqld restart, and two app instances (our host and `spin up`) on
//! one sqld with the runner's scheduled occurrences each run exactly once.
//!
//! Every test needs a real `sqld` on PATH and fails without one.

use dbackup_tests::request;
use dbackup_tests::sqld::Sqld;

/// The harness: auth is enforced, data survives stop/start_again on the same port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqld_harness_auth_and_restart() {
    let mut sqld = Sqld::start().await;
    sqld.execute("CREATE TABLE t (x INTEGER)")
        .await
        .expect("create");
    sqld.execute("INSERT INTO t VALUES (42)")
        .await
        .expect("insert");

    // A wrong token is refused.
    let body = serde_json::json!({"requests": [{"type": "execute", "stmt": {"sql": "SELECT 1"}}]});
    for auth in ["", "Bearer nope.nope.nope"] {
        let mut headers = vec![("content-type", "application/json")];
        if !auth.is_empty() {
            headers.push(("authorization", auth));
        }
        let resp = request(
            sqld.addr(),
            "POST",
            "/v2/pipeline",
            &headers,
            Some(body.to_string().into_bytes()),
        )
        .await
        .expect("sqld answers");
        assert_eq!(resp.status, 401, "auth {auth:?}: {}", resp.text());
    }

    sqld.stop().await;
    assert!(
        sqld.execute("SELECT 1").await.is_err(),
        "stopped sqld answers"
    );
    sqld.start_again().await;
    let rows = sqld.query("SELECT x FROM t").await.expect("select");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0][0]["value"], "42", "{rows:?}");
    assert!(sqld.runtime_config_toml().contains("type = \"libsql\""));
}
