//! Database engines; one module per engine.

pub mod postgres;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::Error;
use crate::Config;

/// Successful answer of `POST /v1/probe`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeResult {
    /// Engine name as sent in the request (e.g. `postgresql`).
    pub engine: &'static str,
    /// Full server version string.
    pub version: String,
    /// Major server version (e.g. 15).
    pub major_version: u32,
    /// Databases that accept connections, excluding templates, sorted by name.
    pub databases: Vec<String>,
    /// Wall time of the probe in milliseconds.
    pub latency_ms: u64,
}

/// Dispatches a probe request body to the engine it names.
pub(crate) async fn probe(config: &Config, body: Value) -> Result<ProbeResult, Error> {
    let Value::Object(map) = body else {
        return Err(Error::InvalidBody("expected a JSON object".into()));
    };
    let engine = match map.get("engine") {
        Some(Value::String(engine)) => engine.clone(),
        Some(_) => return Err(Error::InvalidBody("engine: expected a string".into())),
        None => return Err(Error::InvalidBody("missing field `engine`".into())),
    };
    match engine.as_str() {
        postgres::ENGINE => postgres::probe(config, Fields::new(map)).await,
        other => Err(Error::UnsupportedEngine(truncate(other, 64))),
    }
}

/// Field-by-field access to a JSON object so that every error names its field.
pub(crate) struct Fields {
    map: Map<String, Value>,
}

impl Fields {
    pub(crate) fn new(map: Map<String, Value>) -> Self {
        Fields { map }
    }

    /// Takes a required field.
    pub(crate) fn required<T: DeserializeOwned>(&mut self, name: &str) -> Result<T, Error> {
        self.optional(name)?
            .ok_or_else(|| Error::InvalidBody(format!("missing field `{name}`")))
    }

    /// Takes an optional field; `null` counts as absent.
    pub(crate) fn optional<T: DeserializeOwned>(&mut self, name: &str) -> Result<Option<T>, Error> {
        match self.map.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => serde_json::from_value(value)
                .map(Some)
                .map_err(|e| Error::InvalidBody(format!("{name}: {e}"))),
        }
    }

    /// Fails if any field was not taken (catches typos such as `sslMode`).
    pub(crate) fn finish(self) -> Result<(), Error> {
        match self.map.keys().next() {
            Some(name) => Err(Error::InvalidBody(format!(
                "unknown field `{}`",
                truncate(name, 64)
            ))),
            None => Ok(()),
        }
    }
}

/// Shortens user-supplied text that is echoed back in an error.
fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((index, _)) => format!("{}…", &text[..index]),
        None => text.to_owned(),
    }
}

/// Rejects a string that is empty or contains whitespace/control characters.
pub(crate) fn require_token_like(field: &str, value: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Err(Error::InvalidBody(format!("{field}: must not be empty")));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::InvalidBody(format!(
            "{field}: must not contain whitespace or control characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_name_the_field() {
        let Value::Object(map) = json!({"port": "x", "extra": 1}) else {
            unreachable!()
        };
        let mut fields = Fields::new(map);
        let err = fields.required::<i64>("port").unwrap_err().to_string();
        assert!(err.contains("port:"), "{err}");
        let err = fields.required::<String>("host").unwrap_err().to_string();
        assert!(err.contains("`host`"), "{err}");
        let err = fields.finish().unwrap_err().to_string();
        assert!(err.contains("`extra`"), "{err}");
    }

    #[test]
    fn truncates_long_text() {
        assert_eq!(truncate("abc", 2), "ab…");
        assert_eq!(truncate("ab", 2), "ab");
    }
}
