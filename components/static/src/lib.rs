//! Serves the built web UI from the `files` mount at `/`. Paths that are not files fall back to
//! `index.html` so client-side routes load the app; `..` never leaves the mount.

use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;

#[http_component]
fn handle(req: Request) -> Response {
    if !matches!(req.method(), Method::Get | Method::Head) {
        return text(405, "method not allowed");
    }
    let path = req
        .header("spin-path-info")
        .and_then(|h| h.as_str())
        .unwrap_or("/")
        .split(['?', '#'])
        .next()
        .unwrap_or("/")
        .to_owned();
    let Some(relative) = safe_relative(&path) else {
        return text(400, "bad path");
    };
    let head = matches!(req.method(), Method::Head);
    let candidate = format!("/{relative}");
    if !relative.is_empty() {
        if let Ok(bytes) = std::fs::read(&candidate) {
            return file(&candidate, bytes, head);
        }
        // A missing asset is a 404; a missing page is a client-side route.
        if relative
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.'))
        {
            return text(404, "not found");
        }
    }
    match std::fs::read("/index.html") {
        Ok(bytes) => file("/index.html", bytes, head),
        Err(_) => text(404, "the web UI is not built (cargo xtask build)"),
    }
}

/// The path without its leading slash, or `None` when it tries to escape the mount.
fn safe_relative(path: &str) -> Option<String> {
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            p if p.contains('\\') || p.contains('\0') => return None,
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

fn file(path: &str, bytes: Vec<u8>, head: bool) -> Response {
    // Vite puts content hashes in asset names: those may be cached for good.
    let cache = if path.starts_with("/assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    Response::builder()
        .status(200)
        .header("content-type", content_type(path))
        .header("cache-control", cache)
        .header("x-content-type-options", "nosniff")
        .body(if head { Vec::new() } else { bytes })
        .build()
}

fn text(status: u16, body: &str) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "text/plain; charset=utf-8")
        .body(body.to_owned())
        .build()
}
