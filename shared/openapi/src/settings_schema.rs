//! The schema of `GET/PATCH /api/settings`, generated from the typed settings table
//! (`dbackup_identity::settings::ALL`: each key's type, range and default) — the same table
//! the handler validates with, so the schema cannot drift from it.

use std::borrow::Cow;

use dbackup_identity::settings::{Kind, ALL};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Map, Value};

/// `GET /api/settings`' answer, as a named schema.
pub struct Settings;
/// `PATCH /api/settings`' body, as a named schema.
pub struct SettingsUpdate;

fn to_schema(v: Value) -> Schema {
    match v {
        Value::Object(m) => m.into(),
        _ => Schema::default(),
    }
}

impl JsonSchema for Settings {
    fn schema_name() -> Cow<'static, str> {
        "Settings".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        to_schema(settings(false))
    }
}

impl JsonSchema for SettingsUpdate {
    fn schema_name() -> Cow<'static, str> {
        "SettingsUpdate".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        to_schema(settings(true))
    }
}

/// The settings object: every key present (`update == false`, the answer), or any subset of
/// them and nothing else (`update == true`, the `PATCH` body).
pub fn settings(update: bool) -> Value {
    let mut props = Map::new();
    for s in ALL {
        let schema = match s.kind {
            Kind::Integer { min, max, default } => {
                json!({"type": "integer", "minimum": min, "maximum": max, "default": default})
            }
            Kind::Flag { default } => json!({"type": "boolean", "default": default}),
            Kind::Timezone { default } => json!({
                "type": "string",
                "default": default,
                "description": "An IANA timezone name, e.g. `Europe/Berlin`.",
            }),
            Kind::NotificationChannels => json!({
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": "Ids of notification adapters that receive system events.",
            }),
        };
        props.insert(s.key.to_owned(), schema);
    }
    let keys: Vec<&str> = ALL.iter().map(|s| s.key).collect();
    if update {
        json!({
            "type": "object",
            "description": "Any subset of the settings; unknown keys are a 400. Every change is audited with its old and new value.",
            "properties": props,
            "additionalProperties": false,
        })
    } else {
        json!({
            "type": "object",
            "description": "Every setting with its effective value (the default when unset).",
            "properties": props,
            "required": keys,
            "additionalProperties": false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_is_described_with_its_range() {
        let s = settings(false);
        assert_eq!(s["required"].as_array().map(Vec::len), Some(ALL.len()));
        assert_eq!(s["properties"]["maxConcurrentJobs"]["maximum"], json!(32));
        assert_eq!(
            s["properties"]["auditLogRetentionDays"]["default"],
            json!(90)
        );
        assert_eq!(
            s["properties"]["auth.disablePasskeyLogin"]["type"],
            json!("boolean")
        );
        assert!(settings(true).get("required").is_none());
    }
}
