//! dbackup's OpenAPI 3.1 document, generated — never hand-edited — from two sources:
//!
//! - the operation table ([`operations`]): one [`Op`] per rule of
//!   `dbackup_routes::ROUTES`, naming its request and response types;
//! - those Rust types themselves, the ones the handlers (de)serialize, through `schemars`
//!   (JSON Schema 2020-12, OpenAPI 3.1's dialect). The shared crates derive `JsonSchema` behind
//!   their `schema` feature (`#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]`),
//!   which only this crate turns on, so the wasm components never compile schemars.
//!
//! Request bodies and query types are described as deserialized (`Option` fields optional),
//! responses as serialized (`Option` fields present, possibly `null`). `cargo xtask openapi`
//! writes the document to `docs/openapi.json`; the `system` component serves that file at
//! `GET /api/openapi.json`, and this crate's tests fail when it is stale or when a route has
//! no operation.

#![forbid(unsafe_code)]

mod document;
mod ops;
pub mod settings_schema;

pub use document::{document, document_json};
pub use ops::operations;

use schemars::{JsonSchema, Schema, SchemaGenerator};

/// Produces a type's schema with a generator (a `$ref` into `components/schemas` for named
/// types).
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// The [`SchemaFn`] of `T`.
pub fn schema_of<T: JsonSchema + ?Sized>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

/// A query or header parameter.
#[derive(Clone)]
pub struct Param {
    pub name: &'static str,
    pub required: bool,
    pub schema: SchemaFn,
    pub description: &'static str,
}

/// A request body.
#[derive(Clone)]
pub enum Body {
    /// `application/json` of a Rust type.
    Json(SchemaFn),
    /// Raw bytes of this media type (e.g. an uploaded file).
    Binary(&'static str),
    /// Either `application/json` of a Rust type or raw bytes of this media type.
    JsonOrBinary(SchemaFn, &'static str),
}

/// What one response status carries.
#[derive(Clone)]
pub enum Content {
    /// No body (204, redirects).
    Empty,
    /// `application/json` of a Rust type.
    Json(SchemaFn),
    /// A non-JSON body of this media type (`application/zip`, Prometheus text, …).
    Raw(&'static str),
}

/// One response of an operation.
#[derive(Clone)]
pub struct Response {
    pub status: u16,
    pub description: &'static str,
    pub content: Content,
    /// Response headers worth naming (`Set-Cookie`, `Location`, …): (name, description).
    pub headers: Vec<(&'static str, &'static str)>,
}

/// One operation: a rule of `ROUTES` with its types. Build with [`op`] and the chained
/// methods; the access (security, `x-permission`) comes from the route table itself.
#[derive(Clone)]
pub struct Op {
    pub method: &'static str,
    pub path: &'static str,
    pub id: &'static str,
    pub summary: &'static str,
    pub description: Option<&'static str>,
    pub query: Vec<Param>,
    pub headers: Vec<Param>,
    pub request: Option<Body>,
    /// Whether the request body may be omitted.
    pub request_optional: bool,
    pub responses: Vec<Response>,
    /// Error statuses beyond the ones derived from the access, parameters and body.
    pub errors: Vec<u16>,
}

/// Starts an operation for the rule `method path`.
pub fn op(method: &'static str, path: &'static str, id: &'static str, summary: &'static str) -> Op {
    Op {
        method,
        path,
        id,
        summary,
        description: None,
        query: Vec::new(),
        headers: Vec::new(),
        request: None,
        request_optional: false,
        responses: Vec::new(),
        errors: Vec::new(),
    }
}

impl Op {
    /// Longer text (Markdown) shown under the summary.
    pub fn describe(mut self, text: &'static str) -> Self {
        self.description = Some(text);
        self
    }
    /// A query parameter of type `T`.
    pub fn query<T: JsonSchema>(
        mut self,
        name: &'static str,
        required: bool,
        description: &'static str,
    ) -> Self {
        self.query.push(Param {
            name,
            required,
            schema: schema_of::<T>,
            description,
        });
        self
    }
    /// A request header of type `T`.
    pub fn header<T: JsonSchema>(
        mut self,
        name: &'static str,
        required: bool,
        description: &'static str,
    ) -> Self {
        self.headers.push(Param {
            name,
            required,
            schema: schema_of::<T>,
            description,
        });
        self
    }
    /// A JSON request body of type `T`.
    pub fn body<T: JsonSchema>(mut self) -> Self {
        self.request = Some(Body::Json(schema_of::<T>));
        self
    }
    /// A JSON request body of type `T` that may be omitted.
    pub fn optional_body<T: JsonSchema>(mut self) -> Self {
        self.request = Some(Body::Json(schema_of::<T>));
        self.request_optional = true;
        self
    }
    /// A JSON request body of type `T`, or instead raw bytes of `media_type` (an upload).
    pub fn json_or_raw_body<T: JsonSchema>(mut self, media_type: &'static str) -> Self {
        self.request = Some(Body::JsonOrBinary(schema_of::<T>, media_type));
        self
    }
    /// A raw request body of this media type.
    pub fn raw_body(mut self, media_type: &'static str) -> Self {
        self.request = Some(Body::Binary(media_type));
        self
    }
    /// A response with a JSON body of type `T`.
    pub fn json<T: JsonSchema>(mut self, status: u16, description: &'static str) -> Self {
        self.responses.push(Response {
            status,
            description,
            content: Content::Json(schema_of::<T>),
            headers: Vec::new(),
        });
        self
    }
    /// 200 with a JSON body of type `T`.
    pub fn ok<T: JsonSchema>(self, description: &'static str) -> Self {
        self.json::<T>(200, description)
    }
    /// 201 with a JSON body of type `T`.
    pub fn created<T: JsonSchema>(self, description: &'static str) -> Self {
        self.json::<T>(201, description)
    }
    /// 204 without a body.
    pub fn no_content(self, description: &'static str) -> Self {
        self.empty(204, description)
    }
    /// A response without a body.
    pub fn empty(mut self, status: u16, description: &'static str) -> Self {
        self.responses.push(Response {
            status,
            description,
            content: Content::Empty,
            headers: Vec::new(),
        });
        self
    }
    /// A response with a non-JSON body.
    pub fn raw(mut self, status: u16, media_type: &'static str, description: &'static str) -> Self {
        self.responses.push(Response {
            status,
            description,
            content: Content::Raw(media_type),
            headers: Vec::new(),
        });
        self
    }
    /// Names a header of the last response added.
    pub fn with_header(mut self, name: &'static str, description: &'static str) -> Self {
        if let Some(r) = self.responses.last_mut() {
            r.headers.push((name, description));
        }
        self
    }
    /// Error statuses this operation answers besides the derived ones (409, 422, 429, 502, …).
    pub fn errors(mut self, statuses: &[u16]) -> Self {
        self.errors.extend_from_slice(statuses);
        self
    }
}
