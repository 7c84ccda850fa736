//! Assembles the OpenAPI 3.1 document from [`operations`] and the route table.

use std::collections::BTreeSet;

use dbackup_routes::{self as routes, Access, RouteRule};
use schemars::generate::SchemaSettings;
use schemars::SchemaGenerator;
use serde_json::{json, Map, Value};

use crate::{operations, Body, Content, Op};

/// Where `$ref`s point.
const SCHEMAS: &str = "#/components/schemas/";

/// The document's `info.title`.
pub const TITLE: &str = "dbackup API";

fn generator(serialize: bool) -> SchemaGenerator {
    let settings = SchemaSettings::draft2020_12().with(|s| {
        s.definitions_path = "/components/schemas".into();
        s.meta_schema = None;
    });
    if serialize {
        settings.for_serialize().into_generator()
    } else {
        settings.for_deserialize().into_generator()
    }
}

/// The rule of `ROUTES` an operation documents.
pub(crate) fn rule_for(op: &Op) -> Option<&'static RouteRule> {
    routes::ROUTES
        .iter()
        .find(|r| r.method == op.method && r.pattern == op.path)
}

/// `{name}`s of a path pattern, in order.
pub(crate) fn path_params(pattern: &str) -> Vec<&str> {
    pattern
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

/// The `x-permission` value: a permission string, `authenticated` or `public`.
fn access_name(access: Option<Access>) -> String {
    match access {
        Some(Access::Public) => "public".into(),
        Some(Access::Authenticated) | None => "authenticated".into(),
        Some(Access::Permission(p)) => p.as_str().into(),
    }
}

fn access_text(access: Option<Access>) -> String {
    match access {
        Some(Access::Public) => "**Access:** public (no credentials).".into(),
        Some(Access::Authenticated) | None => {
            "**Access:** any signed-in user or API key (`authenticated`).".into()
        }
        Some(Access::Permission(p)) => {
            format!("**Access:** requires the permission `{}`.", p.as_str())
        }
    }
}

/// Named error responses under `components/responses`, by status.
const ERRORS: &[(u16, &str, &str)] = &[
    (400, "BadRequest", "Invalid input: malformed JSON, a bad field (named in `details.field`), an unknown key."),
    (401, "Unauthorized", "No valid session cookie or API key."),
    (403, "Forbidden", "Authenticated, but lacking the permission (or a state-changing cookie request without `X-Requested-With`/same `Origin`)."),
    (404, "NotFound", "No such resource (or not visible to the caller)."),
    (409, "Conflict", "The resource's state forbids it (in use, locked, already exists, …)."),
    (413, "PayloadTooLarge", "The body is larger than allowed."),
    (422, "UnprocessableEntity", "Well-formed but refused by the target (e.g. a connection test that fails, a wrong key)."),
    (429, "TooManyRequests", "Throttled; `Retry-After` says when to try again."),
    (502, "BadGateway", "An outbound service (worker, storage, identity provider) failed."),
    (503, "ServiceUnavailable", "A dependency is unavailable (database not migrated, worker not configured)."),
    (504, "GatewayTimeout", "An outbound call took too long."),
];

fn error_name(status: u16) -> Option<&'static str> {
    ERRORS.iter().find(|e| e.0 == status).map(|e| e.1)
}

fn components_responses() -> Value {
    let mut out = Map::new();
    let body = json!({"application/json": {"schema": {"$ref": format!("{SCHEMAS}ErrorBody")}}});
    for (_, name, description) in ERRORS {
        out.insert(
            (*name).into(),
            json!({"description": description, "content": body}),
        );
    }
    out.insert(
        "Error".into(),
        json!({"description": "Any other error (5xx: `{\"error\": \"internal error\"}`, details only in the server log).", "content": body}),
    );
    Value::Object(out)
}

fn param(name: &str, location: &str, required: bool, schema: Value, description: &str) -> Value {
    let mut p = json!({"name": name, "in": location, "required": required, "schema": schema});
    if !description.is_empty() {
        p["description"] = json!(description);
    }
    p
}

fn operation(op: &Op, req: &mut SchemaGenerator, resp: &mut SchemaGenerator) -> Value {
    let rule = rule_for(op);
    let access = rule.map(|r| r.access);
    let mut description = String::new();
    if let Some(d) = op.description {
        description.push_str(d);
        description.push_str("\n\n");
    }
    description.push_str(&access_text(access));
    let mut o = json!({
        "operationId": op.id,
        "summary": op.summary,
        "description": description,
        "tags": [rule.map_or("unrouted", |r| r.component)],
        "x-permission": access_name(access),
        "security": if access == Some(Access::Public) {
            json!([])
        } else {
            json!([{"sessionCookie": []}, {"apiKey": []}])
        },
    });

    let mut params = Vec::new();
    for name in path_params(op.path) {
        params.push(param(name, "path", true, json!({"type": "string"}), ""));
    }
    for p in &op.query {
        params.push(param(
            p.name,
            "query",
            p.required,
            (p.schema)(req).to_value(),
            p.description,
        ));
    }
    for p in &op.headers {
        params.push(param(
            p.name,
            "header",
            p.required,
            (p.schema)(req).to_value(),
            p.description,
        ));
    }
    if !params.is_empty() {
        o["parameters"] = Value::Array(params);
    }

    match &op.request {
        Some(Body::Json(schema)) => {
            o["requestBody"] = json!({
                "required": !op.request_optional,
                "content": {"application/json": {"schema": schema(req).to_value()}},
            });
        }
        Some(Body::Binary(media)) => {
            o["requestBody"] = json!({
                "required": !op.request_optional,
                "content": {*media: {"schema": {"type": "string", "contentMediaType": media}}},
            });
        }
        Some(Body::JsonOrBinary(schema, media)) => {
            o["requestBody"] = json!({
                "required": !op.request_optional,
                "content": {
                    "application/json": {"schema": schema(req).to_value()},
                    *media: {"schema": {"type": "string", "contentMediaType": media}},
                },
            });
        }
        None => {}
    }

    let mut responses = Map::new();
    for r in &op.responses {
        let mut v = json!({"description": r.description});
        match &r.content {
            Content::Empty => {}
            Content::Json(schema) => {
                v["content"] = json!({"application/json": {"schema": schema(resp).to_value()}});
            }
            Content::Raw(media) => {
                v["content"] =
                    json!({*media: {"schema": {"type": "string", "contentMediaType": media}}});
            }
        }
        if !r.headers.is_empty() {
            let mut h = Map::new();
            for (name, d) in &r.headers {
                h.insert(
                    (*name).into(),
                    json!({"description": d, "schema": {"type": "string"}}),
                );
            }
            v["headers"] = Value::Object(h);
        }
        responses.insert(r.status.to_string(), v);
    }
    let mut errors: BTreeSet<u16> = op.errors.iter().copied().collect();
    if op.request.is_some() || !op.query.is_empty() || !op.headers.is_empty() {
        errors.insert(400);
    }
    if access != Some(Access::Public) {
        errors.insert(401);
        errors.insert(403);
    }
    if !path_params(op.path).is_empty() {
        errors.insert(404);
    }
    for status in errors {
        if responses.contains_key(&status.to_string()) {
            continue;
        }
        let name = error_name(status).unwrap_or("Error");
        responses.insert(
            status.to_string(),
            json!({"$ref": format!("#/components/responses/{name}")}),
        );
    }
    responses.insert(
        "default".into(),
        json!({"$ref": "#/components/responses/Error"}),
    );
    o["responses"] = Value::Object(responses);
    o
}

/// Replaces `$ref`s to `from` by `$ref`s to `to` anywhere in `v`.
fn rename_refs(v: &mut Value, from: &str, to: &str) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get_mut("$ref") {
                if r.strip_prefix(SCHEMAS) == Some(from) {
                    *r = format!("{SCHEMAS}{to}");
                }
            }
            for x in m.values_mut() {
                rename_refs(x, from, to);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| rename_refs(x, from, to)),
        _ => {}
    }
}

/// Renames request-side schemas `names` to `<name>Input`, with every request-side `$ref`.
fn rename_request_side(
    names: &[String],
    requested: &mut Map<String, Value>,
    paths: &mut Map<String, Value>,
    request_side: &[(String, String)],
) {
    for name in names {
        let input = format!("{name}Input");
        for v in requested.values_mut() {
            rename_refs(v, name, &input);
        }
        for (path, method) in request_side {
            let o = &mut paths[path][method.as_str()];
            if let Some(b) = o.get_mut("requestBody") {
                rename_refs(b, name, &input);
            }
            if let Some(p) = o.get_mut("parameters") {
                rename_refs(p, name, &input);
            }
        }
        if let Some(v) = requested.remove(name) {
            requested.insert(input, v);
        }
    }
}

/// The whole document.
pub fn document() -> Value {
    let ops = operations();
    let mut req = generator(false);
    let mut resp = generator(true);
    // Generated in two halves so request-side schemas (requestBody, parameters) can be
    // renamed when a type's deserialize and serialize shapes differ.
    let mut request_side: Vec<(String, String)> = Vec::new();
    let mut paths: Map<String, Value> = Map::new();
    for op in &ops {
        let o = operation(op, &mut req, &mut resp);
        let entry = paths.entry(op.path.to_owned()).or_insert_with(|| json!({}));
        entry[op.method.to_ascii_lowercase()] = o;
        request_side.push((op.path.to_owned(), op.method.to_ascii_lowercase()));
    }
    // Every error answer's body, referenced by `components/responses`.
    resp.subschema_for::<dbackup_core::error::ErrorBody>();
    let mut schemas = resp.take_definitions(true);
    let mut requested = req.take_definitions(true);
    // A name both sides define differently: the request side becomes `<Name>Input` (repeated,
    // since a renamed reference makes the schemas holding it differ too).
    loop {
        let clashes: Vec<String> = requested
            .iter()
            .filter(|(k, v)| schemas.get(*k).is_some_and(|s| s != *v))
            .map(|(k, _)| k.clone())
            .collect();
        if clashes.is_empty() {
            break;
        }
        rename_request_side(&clashes, &mut requested, &mut paths, &request_side);
    }
    for (k, v) in requested {
        schemas.entry(k).or_insert(v);
    }

    let mut tags: Vec<&str> = routes::ROUTES.iter().map(|r| r.component).collect();
    tags.dedup();
    let mut seen = BTreeSet::new();
    tags.retain(|t| seen.insert(*t));
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": dbackup_core::VERSION,
            "description": "Self-hosted database backup automation. Generated from the route table (`shared/routes/src/lib.rs`) and the Rust request/response types by `cargo xtask openapi`; see docs/API.md.",
            "license": {"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"},
        },
        "tags": tags.iter().map(|t| json!({"name": t, "description": format!("Served by the `{t}` component.")})).collect::<Vec<_>>(),
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": components_responses(),
            "securitySchemes": {
                "sessionCookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": dbackup_identity::cookie::SESSION_COOKIE,
                    "description": "The session set by a login. State-changing requests (POST, PUT, PATCH, DELETE) with the cookie must also send `X-Requested-With` or a same-origin `Origin` (CSRF guard).",
                },
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key (`Authorization: Bearer dbk_…`, created with `POST /api/api-keys`); it holds the permissions it was created with.",
                },
            },
        },
    })
}

/// The document as committed in `docs/openapi.json`: pretty-printed, trailing newline.
pub fn document_json() -> String {
    let mut s = serde_json::to_string_pretty(&document()).unwrap_or_default();
    s.push('\n');
    s
}
