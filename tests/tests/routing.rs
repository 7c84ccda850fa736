//! Spin's HTTP routing as the host does it: several routes to one component, the most specific
//! route wins, and the `spin-*` headers the component sees.

use dbackup_tests::{get, probe_manifest, start_host};
use std::net::SocketAddr;

const ROUTES: &[&str] = &["/...", "/api/...", "/api/exact", "/api/users/..."];

struct Seen {
    matched: String,
    path_info: String,
    component_route: String,
    json: serde_json::Value,
}

async fn probe(addr: SocketAddr, path: &str) -> Seen {
    let sep = if path.contains('?') { '&' } else { '?' };
    let resp = get(addr, &format!("{path}{sep}action=headers")).await;
    assert_eq!(resp.status, 200, "{path}: {}", resp.text());
    let json = resp.json();
    let field = |k: &str| {
        json[k]
            .as_str()
            .unwrap_or_else(|| panic!("{path}: no {k} in {json}"))
            .to_owned()
    };
    Seen {
        matched: field("spin-matched-route"),
        path_info: field("spin-path-info"),
        component_route: field("spin-component-route"),
        json: json.clone(),
    }
}

#[tokio::test]
async fn most_specific_route_wins_and_spin_headers_are_set() {
    let host = start_host(&probe_manifest(ROUTES, ""), &[]).await;
    let addr = host.addr();

    // (request path, matched route, spin-path-info, spin-component-route)
    let cases = [
        // Spin sends an empty spin-component-route for the catch-all.
        ("/", "/...", "/", ""),
        ("/hello/world", "/...", "/hello/world", ""),
        ("/apix", "/...", "/apix", ""),
        // Repeated leading slashes count as one, as in Spin.
        ("//api/users/42", "/api/users/...", "/42", "/api/users"),
        ("/api", "/api/...", "", "/api"),
        ("/api/jobs/3", "/api/...", "/jobs/3", "/api"),
        // An exact route beats every wildcard, also with a trailing slash.
        ("/api/exact", "/api/exact", "", "/api/exact"),
        ("/api/exact/", "/api/exact", "", "/api/exact"),
        // Below an exact route, the wildcards apply again.
        ("/api/exact/more", "/api/...", "/exact/more", "/api"),
        // The longest wildcard wins.
        ("/api/users", "/api/users/...", "", "/api/users"),
        ("/api/users/42", "/api/users/...", "/42", "/api/users"),
        (
            "/api/users/42/keys",
            "/api/users/...",
            "/42/keys",
            "/api/users",
        ),
        ("/api/usersx", "/api/...", "/usersx", "/api"),
    ];
    for (path, matched, info, component_route) in cases {
        let seen = probe(addr, path).await;
        assert_eq!(seen.matched, matched, "matched route of {path}");
        assert_eq!(seen.path_info, info, "spin-path-info of {path}");
        assert_eq!(
            seen.component_route, component_route,
            "spin-component-route of {path}"
        );
        assert_eq!(seen.json["spin-base-path"], "/", "{path}");
        assert_eq!(seen.json["spin-raw-component-route"], matched, "{path}");
        assert_eq!(seen.json["method"], "GET", "{path}");
    }

    // The full URL keeps the query; the client address is the peer's.
    let seen = probe(addr, "/api/users/7?x=1&y=two").await;
    assert_eq!(
        seen.json["spin-full-url"],
        format!("http://{addr}/api/users/7?x=1&y=two&action=headers")
    );
    let uri = seen.json["uri"].as_str().expect("uri");
    assert!(
        uri.ends_with("/api/users/7?x=1&y=two&action=headers"),
        "uri {uri}"
    );
    let client: SocketAddr = seen.json["spin-client-addr"]
        .as_str()
        .expect("spin-client-addr")
        .parse()
        .expect("spin-client-addr is IP:PORT");
    assert_eq!(client.ip().to_string(), "127.0.0.1");
    assert_ne!(client.port(), 0);
    assert_ne!(
        client.port(),
        addr.port(),
        "the client's port, not the host's"
    );

    host.shutdown().await;
}

#[tokio::test]
async fn unmatched_path_is_a_json_404_without_a_catch_all() {
    let host = start_host(&probe_manifest(&["/api/...", "/exact"], ""), &[]).await;
    let addr = host.addr();
    for path in ["/", "/index.html", "/apix", "/exact/below", "/other/api"] {
        let resp = get(addr, &format!("{path}?action=headers")).await;
        assert_eq!(resp.status, 404, "{path}: {}", resp.text());
        assert_eq!(
            resp.header("content-type"),
            Some("application/json"),
            "{path}"
        );
        assert_eq!(
            resp.json(),
            serde_json::json!({"error": "not found"}),
            "{path}"
        );
    }
    // The routes that exist still answer.
    assert_eq!(probe(addr, "/exact").await.matched, "/exact");
    assert_eq!(probe(addr, "/api/x").await.matched, "/api/...");
    host.shutdown().await;
}
