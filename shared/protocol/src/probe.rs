//! `POST /v1/probe`: `{engine, …connection}` (test a connection, list its databases) →
//! [`ProbeResult`]. Failures are error bodies: 422 `connection failed` / `probe query failed`
//! with `details`, 504 timeout, 503 tool missing.

use serde::{Deserialize, Serialize};

/// Successful answer of `POST /v1/probe`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeResult {
    /// Always `true` (failures are error answers).
    pub ok: bool,
    /// Engine name as sent in the request (e.g. `postgresql`).
    pub engine: String,
    /// Full server version string.
    pub version: String,
    /// The version's leading number (e.g. 15, and 9 for 9.6; 0 when it does not start with
    /// one). PostgreSQL's two-part majors before 10 are [`crate::PgMajor`].
    pub major_version: u32,
    /// Flavour or edition when the engine has several (`MariaDB (…)`, `Valkey`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edition: Option<String>,
    /// Databases that accept connections (templates excluded), system ones flagged.
    pub databases: Vec<ProbeDatabase>,
    /// Wall time of the probe in milliseconds.
    pub latency_ms: u64,
}

/// One database a probe saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeDatabase {
    /// Its name.
    pub name: String,
    /// The server's own database (`postgres`, `mysql`, `information_schema`, `admin`, …).
    pub system: bool,
}

impl ProbeResult {
    /// A successful probe; the major version is the version's leading number.
    pub fn new(
        engine: &str,
        version: String,
        edition: Option<String>,
        databases: Vec<ProbeDatabase>,
        latency_ms: u64,
    ) -> Self {
        ProbeResult {
            ok: true,
            engine: engine.to_owned(),
            major_version: crate::version::leading_number(&version).unwrap_or(0),
            version,
            edition,
            databases,
            latency_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_the_documented_shape() {
        let r = ProbeResult::new(
            "postgresql",
            "9.6.24".into(),
            None,
            vec![ProbeDatabase {
                name: "postgres".into(),
                system: true,
            }],
            12,
        );
        let golden = json!({"ok": true, "engine": "postgresql", "version": "9.6.24",
            "majorVersion": 9, "databases": [{"name": "postgres", "system": true}], "latencyMs": 12});
        assert_eq!(serde_json::to_value(&r).unwrap(), golden);
        assert_eq!(serde_json::from_value::<ProbeResult>(golden).unwrap(), r);
        let mongo = ProbeResult::new("mongodb", "".into(), Some("Community".into()), vec![], 1);
        assert_eq!(mongo.major_version, 0);
        assert_eq!(
            serde_json::to_value(&mongo).unwrap()["edition"],
            "Community"
        );
    }
}
