//! Storage connection tests through the app and its worker against a real S3 server (s3s-fs
//! in-process, SigV4-verifying): generic `s3` and the `minio` preset succeed; a wrong secret,
//! a missing bucket and a closed port fail with a message saying which.

mod adapters_common;

use std::path::PathBuf;

use adapters_common::start_app_with_worker;
use dbackup_tests::s3::S3Server;
use dbackup_tests::TEST_PASSWORD;
use serde_json::{json, Value};

const ACCESS_KEY: &str = "AKIDADAPTERS";
const SECRET_KEY: &str = "SECRETADAPTERS";
const BUCKET: &str = "backups";

#[tokio::test]
async fn s3_probes_against_a_real_server() {
    let s3 = S3Server::start(ACCESS_KEY, SECRET_KEY, BUCKET);
    let app = start_app_with_worker().await;
    let api = app.api();
    let (_, admin) = api
        .signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await;
    let endpoint = format!("http://{}", s3.addr);
    let test = |adapter_id: &str, config: Value| {
        let body = json!({"adapterId": adapter_id, "config": config});
        let admin = admin.clone();
        async move {
            api.expect(&admin, "POST", "/api/adapters/test", Some(&body), 200)
                .await
        }
    };
    let s3_config = |bucket: &str, secret: &str, endpoint: &str| {
        json!({"endpoint": endpoint, "region": "us-east-1", "bucket": bucket, "prefix": "probe-here",
               "forcePathStyle": true, "accessKeyId": ACCESS_KEY, "secretAccessKey": secret})
    };

    let r = test("s3", s3_config(BUCKET, SECRET_KEY, &endpoint)).await;
    assert_eq!(r["ok"], true, "{r}");
    let r = test(
        "minio",
        json!({"endpoint": endpoint, "bucket": BUCKET, "accessKeyId": ACCESS_KEY, "secretAccessKey": SECRET_KEY}),
    )
    .await;
    assert_eq!(r["ok"], true, "{r}");
    // The probe object is gone again.
    let left: Vec<_> = walk(&s3.root.join(BUCKET));
    assert!(left.is_empty(), "{left:?}");

    for (config, what) in [
        (
            s3_config(BUCKET, "wrong-secret", &endpoint),
            "SignatureDoesNotMatch",
        ),
        (
            s3_config("no-such-bucket", SECRET_KEY, &endpoint),
            "does not exist",
        ),
        (
            s3_config(BUCKET, SECRET_KEY, "http://127.0.0.1:1"),
            "Connection refused",
        ),
    ] {
        let r = test("s3", config).await;
        assert_eq!(r["ok"], false, "{what}: {r}");
        let m = r["message"].as_str().unwrap();
        assert!(
            m.contains(what) && !m.contains("wrong-secret"),
            "{what}: {m}"
        );
    }
    app.shutdown().await;
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
