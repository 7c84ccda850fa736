//! `GET /api/openapi.json` (any signed-in user or API key): the OpenAPI 3.1 document. It is
//! docs/openapi.json, generated from the route table and the Rust API types by
//! `cargo xtask openapi` (crate `dbackup-openapi`, whose tests keep the file current) and
//! embedded here at build time, so schemars never reaches the wasm.

use dbackup_core::ApiError;
use dbackup_web::gate::Ctx;
use spin_sdk::http::Response;

/// The committed document.
const DOCUMENT: &str = include_str!("../../../docs/openapi.json");

/// The document, `application/json`.
pub fn get(_ctx: &Ctx) -> Result<Response, ApiError> {
    Ok(Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .header("cache-control", "no-cache")
        .body(DOCUMENT)
        .build())
}
