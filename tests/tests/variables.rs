//! `fermyon:spin/variables@2.0.0`: component variables templated over application variables,
//! `SPIN_VARIABLE_*` overrides, undefined and missing variables.

use dbackup_tests::{
    get, host_config, probe_manifest_with_variables, start_error, start_host, write_manifest,
    TempDir,
};
use serde_json::{json, Value};
use std::net::SocketAddr;

fn manifest() -> String {
    probe_manifest_with_variables(
        "greeting = { default = \"hello\" }\napi_token = { required = true, secret = true }",
        &["/..."],
        "[component.probe.variables]\n\
         message = \"{{ greeting }}, world\"\n\
         token = \"{{ api_token }}\"\n\
         plain = \"literal value\"",
    )
}

async fn var(addr: SocketAddr, name: &str) -> Value {
    let resp = get(addr, &format!("/?action=var&name={name}")).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    resp.json()
}

#[tokio::test]
async fn templates_expand_from_defaults_and_the_environment() {
    let host = start_host(&manifest(), &[("SPIN_VARIABLE_API_TOKEN", "s3cr3t")]).await;
    let addr = host.addr();
    assert_eq!(var(addr, "message").await, json!({"value": "hello, world"}));
    assert_eq!(var(addr, "token").await, json!({"value": "s3cr3t"}));
    assert_eq!(var(addr, "plain").await, json!({"value": "literal value"}));
    host.shutdown().await;

    let host = start_host(
        &manifest(),
        &[
            ("SPIN_VARIABLE_API_TOKEN", "other"),
            ("SPIN_VARIABLE_GREETING", "hi"),
        ],
    )
    .await;
    assert_eq!(
        var(host.addr(), "message").await,
        json!({"value": "hi, world"})
    );
    assert_eq!(var(host.addr(), "token").await, json!({"value": "other"}));
    host.shutdown().await;
}

#[tokio::test]
async fn undefined_and_invalid_names_are_errors() {
    let host = start_host(&manifest(), &[("SPIN_VARIABLE_API_TOKEN", "t")]).await;
    let addr = host.addr();
    // Application variables are not visible unless the component declares them.
    for name in ["nope", "greeting", "api_token"] {
        let answer = var(addr, name).await;
        let err = answer["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: {answer}"));
        assert!(err.starts_with("Undefined("), "{name}: {err}");
    }
    let answer = var(addr, "Bad-Name").await;
    let err = answer["error"].as_str().expect("an error");
    assert!(err.starts_with("InvalidName("), "{err}");
    host.shutdown().await;
}

#[tokio::test]
async fn a_missing_required_variable_fails_the_start() {
    let dir = TempDir::new();
    let manifest = write_manifest(dir.path(), &manifest());
    let err = start_error(host_config(
        manifest,
        &dir.join("data"),
        &[("SPIN_VARIABLE_GREETING", "hi")],
    ))
    .await;
    assert!(
        err.starts_with("required variable not set: SPIN_VARIABLE_API_TOKEN"),
        "{err}"
    );
}

#[tokio::test]
async fn app_url_defaults_to_the_hosts_own_address() {
    let manifest = probe_manifest_with_variables(
        "app_url = { default = \"http://127.0.0.1:3000\" }",
        &["/..."],
        "[component.probe.variables]\napp = \"{{ app_url }}\"",
    );
    // Unset: the address the host listens on (the worker's callbacks must reach this host).
    let host = start_host(&manifest, &[]).await;
    let addr = host.addr();
    assert_eq!(
        var(addr, "app").await,
        json!({"value": format!("http://{addr}")})
    );
    host.shutdown().await;
    // Set: the configured value wins (a reverse proxy, another machine).
    let host = start_host(
        &manifest,
        &[("SPIN_VARIABLE_APP_URL", "https://backup.example.com")],
    )
    .await;
    assert_eq!(
        var(host.addr(), "app").await,
        json!({"value": "https://backup.example.com"})
    );
    host.shutdown().await;
}
