//! The request and response types of `/api/adapters` and `/api/adapter-types` (the `adapters`
//! component (de)serializes these; the OpenAPI document is generated from them). An adapter's
//! `config` stays free-form JSON here: each adapter type validates it against its own JSON
//! Schema from the registry (`GET /api/adapter-types`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One adapter type of the registry, as `GET /api/adapter-types` lists it (fields in
/// alphabetical order, as the answer always had them).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AdapterTypeInfo {
    /// The `adapterId` (`postgres`, `s3`, `webhook`, …).
    pub id: &'static str,
    pub name: &'static str,
    /// The JSON Schema (2020-12) of this type's `config`.
    pub schema: Value,
    /// Config fields that are secrets: write-only, answered as `"••••"`.
    pub secret_fields: Vec<&'static str>,
    /// `database`, `storage` or `notification`.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "schema", schemars(extend("enum" = ["database", "storage", "notification"])))]
    pub kind: &'static str,
}

/// Body of `POST /api/adapters`.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewAdapter {
    pub name: String,
    /// `database`, `storage` or `notification`; when given it must match the adapter type's.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub adapter_id: String,
    /// Free-form here: validated against the adapter type's JSON Schema
    /// (`GET /api/adapter-types`), 400 naming the field.
    #[serde(default)]
    pub config: Value,
}

/// Body of `PUT /api/adapters/{id}`: absent fields stay; a secret sent as `"••••"` keeps the
/// stored one.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdapterUpdate {
    pub name: Option<String>,
    /// Free-form here: validated against the adapter type's JSON Schema.
    pub config: Option<Value>,
    /// Accepted when equal to the stored value (clients send the whole object back).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Accepted when equal to the stored value.
    pub adapter_id: Option<String>,
}

/// Body of `POST /api/adapters/test`: a configuration to test without saving it.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdapterTestRequest {
    /// An existing adapter being edited: `"••••"` in `config` takes its stored secrets.
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub adapter_id: String,
    /// Free-form here: validated against the adapter type's JSON Schema.
    #[serde(default)]
    pub config: Value,
}

/// A database a source's server has (`GET /api/adapters/{id}/databases`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DatabaseInfo {
    pub name: String,
    /// A system database (`postgres`, `mysql`, `admin`, …).
    #[serde(default)]
    pub system: bool,
}

/// The answer of a connection test.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TestResult {
    pub ok: bool,
    pub latency_ms: u64,
    /// The server's version (database sources).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edition: Option<String>,
    pub message: String,
    /// Databases the probe saw (database adapters only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<Vec<DatabaseInfo>>"))]
    pub databases: Option<Vec<Value>>,
}

impl TestResult {
    /// A failed test that took `latency_ms`.
    pub fn failed(latency_ms: u64, message: impl Into<String>) -> Self {
        TestResult {
            ok: false,
            latency_ms,
            version: None,
            edition: None,
            message: message.into(),
            databases: None,
        }
    }
}

/// One health check of an adapter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct HealthEntry {
    /// `ONLINE`, `DEGRADED` or `OFFLINE`.
    pub status: Option<String>,
    pub latency_ms: Option<i64>,
    pub error: Option<String>,
    pub created_at: Option<String>,
}

/// `GET /api/adapters/{id}/health`: the current state and the check history, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct HealthHistory {
    pub adapter_id: String,
    pub status: Option<String>,
    pub last_health_check: Option<String>,
    pub consecutive_failures: Option<i64>,
    /// At most 5000 checks.
    pub entries: Vec<HealthEntry>,
}
