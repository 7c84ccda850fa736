//! `GET /api/openapi.json` over HTTP against the real app: refused without credentials, served
//! to any session or API key as the committed docs/openapi.json (which `dbackup-openapi`'s
//! tests keep current), and covering every route of the table.

use dbackup_tests::{repo, Credential, RealApp, TEST_PASSWORD};
use serde_json::Value;

#[tokio::test]
async fn the_document_is_served_to_signed_in_callers() {
    let app = RealApp::start().await;
    let api = app.api();
    let (_, admin) = api
        .signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await;
    api.expect(
        &Credential::Anonymous,
        "GET",
        "/api/openapi.json",
        None,
        401,
    )
    .await;

    let served = api
        .expect(&admin, "GET", "/api/openapi.json", None, 200)
        .await;
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("docs/openapi.json")).expect("docs/openapi.json"),
    )
    .expect("committed JSON");
    assert_eq!(served, committed);
    assert_eq!(served["openapi"], "3.1.0");
    for r in dbackup_routes::ROUTES {
        let op = &served["paths"][r.pattern][r.method.to_ascii_lowercase()];
        assert!(op["operationId"].is_string(), "{} {}", r.method, r.pattern);
    }

    // A key without any permission may read it too (authenticated, nothing more).
    let (_, key) = api.create_api_key(&admin, "docs", &[]).await;
    let by_key = api
        .expect(&key, "GET", "/api/openapi.json", None, 200)
        .await;
    assert_eq!(by_key["info"]["title"], "dbackup API");
    app.shutdown().await;
}
