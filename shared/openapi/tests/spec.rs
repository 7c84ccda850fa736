//! The OpenAPI document: complete (one operation per route), current (docs/openapi.json is
//! what the code generates), internally consistent, and valid OpenAPI 3.1 by an independent
//! validator.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use dbackup_openapi::{document, document_json, operations};
use dbackup_routes::{Access, ROUTES};
use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn every_route_has_exactly_one_operation_and_every_operation_a_route() {
    let ops = operations();
    for r in ROUTES {
        let n = ops
            .iter()
            .filter(|o| o.method == r.method && o.path == r.pattern)
            .count();
        assert_eq!(
            n, 1,
            "{} {} has {n} operations in shared/openapi/src/ops.rs (needs exactly one)",
            r.method, r.pattern
        );
    }
    for o in &ops {
        assert!(
            ROUTES
                .iter()
                .any(|r| r.method == o.method && r.pattern == o.path),
            "operation {} ({} {}) has no rule in routes::ROUTES",
            o.id,
            o.method,
            o.path
        );
    }
    let ids: BTreeSet<&str> = ops.iter().map(|o| o.id).collect();
    assert_eq!(ids.len(), ops.len(), "operationIds must be unique");
    let doc = document();
    let count: usize = doc["paths"]
        .as_object()
        .map(|p| {
            p.values()
                .filter_map(Value::as_object)
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0);
    assert_eq!(
        count,
        ROUTES.len(),
        "the document has one operation per route"
    );
}

#[test]
fn committed_document_is_current() {
    let path = repo().join("docs/openapi.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == document_json(),
        "docs/openapi.json is stale or missing: run `cargo xtask openapi` and commit it"
    );
}

fn collect_refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r);
            }
            m.values().for_each(|x| collect_refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

#[test]
fn every_ref_resolves_and_every_schema_is_used() {
    let doc = document();
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(refs.len() > 100, "{} refs", refs.len());
    for r in &refs {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external $ref {r}"));
        assert!(doc.pointer(pointer).is_some(), "$ref {r} does not resolve");
    }
    let used: BTreeSet<&str> = refs
        .iter()
        .filter_map(|r| r.strip_prefix("#/components/schemas/"))
        .collect();
    for name in doc["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
    {
        assert!(
            used.contains(name.as_str()),
            "schema {name} is never referenced"
        );
    }
}

#[test]
fn path_parameters_match_the_patterns_and_access_is_declared() {
    let doc = document();
    for r in ROUTES {
        let o = &doc["paths"][r.pattern][r.method.to_ascii_lowercase()];
        let declared: Vec<&str> = o["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "path")
            .filter_map(|p| p["name"].as_str())
            .collect();
        let in_pattern: Vec<&str> = r
            .pattern
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        assert_eq!(declared, in_pattern, "{} {}", r.method, r.pattern);
        let (permission, security) = match r.access {
            Access::Public => ("public".to_owned(), 0),
            Access::Authenticated => ("authenticated".to_owned(), 2),
            Access::Permission(p) => (p.as_str().to_owned(), 2),
        };
        assert_eq!(o["x-permission"], permission, "{} {}", r.method, r.pattern);
        assert_eq!(o["security"].as_array().map(Vec::len), Some(security));
        assert!(
            o["description"]
                .as_str()
                .unwrap_or_default()
                .contains(&permission),
            "{} {}: the description names the access",
            r.method,
            r.pattern
        );
        assert_eq!(o["tags"][0], r.component);
        let responses = o["responses"].as_object().expect("responses");
        assert!(
            responses
                .keys()
                .any(|k| k.starts_with('2') || k.starts_with('3')),
            "{} {} documents a success",
            r.method,
            r.pattern
        );
        if r.access != Access::Public {
            assert_eq!(
                responses["401"]["$ref"], "#/components/responses/Unauthorized",
                "{} {}",
                r.method, r.pattern
            );
        }
    }
}

#[test]
fn error_body_is_the_one_api_error_renders() {
    let doc = document();
    let schema = &doc["components"]["schemas"]["ErrorBody"];
    assert_eq!(schema["required"], serde_json::json!(["error"]));
    let e =
        dbackup_core::ApiError::bad_request("bad").with_details(serde_json::json!({"field": "x"}));
    let body = e.body();
    let keys: BTreeSet<&String> = body.as_object().expect("object").keys().collect();
    let props: BTreeSet<&String> = schema["properties"]
        .as_object()
        .expect("properties")
        .keys()
        .collect();
    assert_eq!(keys, props);
}

/// The validator: `$DBACKUP_OPENAPI_VALIDATOR`, else the venv `cargo xtask test` prepares.
fn validator() -> PathBuf {
    std::env::var_os("DBACKUP_OPENAPI_VALIDATOR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from("/var/tmp/dbackup-openapi-venv/bin/openapi-spec-validator")
        })
}

#[test]
fn document_is_valid_openapi_3_1() {
    let bin = validator();
    assert!(
        bin.is_file(),
        "{} is missing: `cargo xtask test` installs PyPI openapi-spec-validator there \
         (or set DBACKUP_OPENAPI_VALIDATOR)",
        bin.display()
    );
    let dir = std::env::temp_dir().join(format!("dbackup-openapi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("openapi.json");
    std::fs::write(&file, document_json()).expect("write");
    let out = Command::new(&bin)
        .args(["--schema", "3.1.0"])
        .arg(&file)
        .output()
        .expect("run openapi-spec-validator");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "openapi-spec-validator refused:\n{text}"
    );
    assert!(text.contains("OK"), "{text}");

    // And it does refuse a broken document (the check is real).
    let mut broken = document();
    broken["paths"]["/api/users"]["get"]["responses"] = serde_json::json!("nope");
    std::fs::write(&file, serde_json::to_string(&broken).expect("json")).expect("write");
    let out = Command::new(&bin)
        .args(["--schema", "3.1.0"])
        .arg(&file)
        .output()
        .expect("run openapi-spec-validator");
    assert!(
        !out.status.success(),
        "the validator accepted a broken document"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Values the server really produces, each with the schema the document gives it.
fn samples() -> Vec<(&'static str, Value)> {
    use dbackup_identity::login::{LoginAnswer, SecondFactorChallenge, SignedIn};
    use dbackup_identity::{authorize::SessionRef, permissions, users::User};
    use dbackup_jobs_core::job::StoredJob;
    use dbackup_jobs_core::retention::{Gfs, RetentionPolicy};
    let json = |v: &dyn erased::Ser| v.value();
    let user = User {
        id: "u1".into(),
        name: "Ada".into(),
        email: "ada@example.com".into(),
        email_verified: false,
        image: None,
        timezone: "UTC".into(),
        date_format: "yyyy-MM-dd".into(),
        time_format: "HH:mm".into(),
        two_factor_enabled: false,
        group_id: None,
        group: None,
        created_at: "2026-01-01T00:00:00.000Z".into(),
        updated_at: "2026-01-01T00:00:00.000Z".into(),
    };
    let signed_in = LoginAnswer::SignedIn(Box::new(SignedIn {
        two_factor_required: false,
        user: user.clone(),
        session: SessionRef {
            id: "s1".into(),
            expires_at: "2026-01-08T00:00:00.000Z".into(),
        },
    }));
    let challenge = LoginAnswer::SecondFactorRequired(SecondFactorChallenge {
        two_factor_required: true,
        challenge: "c".into(),
        methods: vec!["totp", "passkey"],
    });
    let job = StoredJob {
        id: "j1".into(),
        name: "nightly".into(),
        schedule: "0 3 * * *".into(),
        timezone: "Europe/Berlin".into(),
        enabled: true,
        source_id: "src".into(),
        databases: vec!["shop".into()],
        destinations: vec![
            ("d1".into(), RetentionPolicy::Simple { keep_count: 7 }),
            (
                "d2".into(),
                RetentionPolicy::Smart(Gfs {
                    daily: 7,
                    weekly: 4,
                    monthly: 12,
                    yearly: 2,
                }),
            ),
        ],
        compression: "ZSTD".into(),
        compression_level: Some(3),
        encryption_profile_id: None,
        notification_ids: vec![],
        notification_events: "FAILURE_ONLY".into(),
        verify_after_upload: true,
        created_at: "2026-01-01T00:00:00.000Z".into(),
        updated_at: "2026-01-01T00:00:00.000Z".into(),
        last_scheduled_at: None,
    };
    let (_, unhealthy) = dbackup_core::health::report(
        Err("down".into()),
        dbackup_core::health::WorkerStatus::Unreachable,
        "0.1.0",
    );
    vec![
        ("User", json(&user)),
        ("LoginAnswer", json(&signed_in)),
        ("LoginAnswer", json(&challenge)),
        ("JobView", json(&job.to_view(chrono::Utc::now(), None))),
        ("RetentionPolicy", json(&RetentionPolicy::None)),
        ("HealthReport", json(&unhealthy)),
        (
            "ErrorBody",
            dbackup_core::ApiError::bad_request("bad")
                .with_details(serde_json::json!({"field": "name"}))
                .body(),
        ),
        ("ErrorBody", dbackup_core::ApiError::internal("x").body()),
        (
            "Settings",
            Value::Object(
                dbackup_identity::settings::ALL
                    .iter()
                    .map(|s| (s.key.to_owned(), default_of(s)))
                    .collect(),
            ),
        ),
    ]
    .into_iter()
    .chain(
        dbackup_adapters_core::registry::describe_all(None)
            .iter()
            .map(|t| ("AdapterTypeInfo", json(t))),
    )
    .chain(std::iter::once((
        "Group",
        serde_json::json!({"id": "g", "name": "All", "memberCount": 0,
            "createdAt": "x", "updatedAt": "x",
            "permissions": permissions::to_strings(&permissions::all())}),
    )))
    .collect()
}

/// A setting's default as JSON (the answer of a fresh instance).
fn default_of(s: &dbackup_identity::settings::Setting) -> Value {
    use dbackup_identity::settings::Kind;
    match s.kind {
        Kind::Integer { default, .. } => default.into(),
        Kind::Flag { default } => default.into(),
        Kind::Timezone { default } => default.into(),
        Kind::NotificationChannels => Value::Array(vec![]),
    }
}

mod erased {
    /// `serde_json::to_value` for any serializable value, behind a trait object.
    pub trait Ser {
        fn value(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Ser for T {
        fn value(&self) -> serde_json::Value {
            serde_json::to_value(self).expect("serializable")
        }
    }
}

#[test]
fn real_answers_validate_against_their_schemas() {
    let bin = validator();
    let python = bin.with_file_name("python");
    assert!(
        python.is_file(),
        "{} is missing (see validator())",
        python.display()
    );
    let doc = document();
    let cases: Vec<Value> = samples()
        .into_iter()
        .map(|(name, value)| serde_json::json!({"schema": name, "value": value}))
        .collect();
    assert!(cases.len() > 20, "{} cases", cases.len());
    // A wrong value must fail, or the check proves nothing.
    let mut all = cases.clone();
    all.push(serde_json::json!({"schema": "User", "value": {"id": 1}, "invalid": true}));
    all.push(serde_json::json!({"schema": "ExecutionView", "value": {"status": "Bogus"}, "invalid": true}));
    let dir = std::env::temp_dir().join(format!("dbackup-openapi-samples-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let input = dir.join("cases.json");
    std::fs::write(
        &input,
        serde_json::to_string(&serde_json::json!({"components": doc["components"], "cases": all}))
            .expect("json"),
    )
    .expect("write");
    let script = r##"
import json, sys
from jsonschema import Draft202012Validator
data = json.load(open(sys.argv[1]))
bad = []
for c in data["cases"]:
    root = {"$ref": "#/components/schemas/" + c["schema"], "components": data["components"]}
    errors = list(Draft202012Validator(root).iter_errors(c["value"]))
    if bool(errors) != bool(c.get("invalid")):
        bad.append(f'{c["schema"]}: {c["value"]!r}: {[e.message for e in errors][:3]}')
print("\n".join(bad) if bad else "OK")
sys.exit(1 if bad else 0)
"##;
    let out = Command::new(&python)
        .args(["-c", script])
        .arg(&input)
        .output()
        .expect("run python");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success() && text.trim() == "OK", "{text}");
}
