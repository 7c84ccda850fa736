//! `GET/PATCH /api/settings` over HTTP against the real app: every key of the typed settings
//! table with its default, each key's type and range check (400 naming the field, nothing
//! written), audit rows with old and new values, and the effect of `scheduler.timezone` on jobs
//! created without a timezone. (The runner's use of `maxConcurrentJobs` is covered by
//! `dbackup-jobs-core`'s `claim_cap_follows_the_max_concurrent_jobs_setting`.)

use dbackup_tests::{sqlite_json, Api, Credential, RealApp, TEST_PASSWORD};
use serde_json::{json, Value};

async fn settings_audit(api: &Api, admin: &Credential) -> Vec<Value> {
    let page = api
        .expect(
            admin,
            "GET",
            "/api/audit?limit=200&resource=SETTINGS",
            None,
            200,
        )
        .await;
    page["items"].as_array().expect("items").clone()
}

#[tokio::test]
async fn every_setting_is_typed_validated_audited_and_read() {
    let app = RealApp::start().await;
    let api = app.api();
    let (_, admin) = api
        .signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await;
    sqlite_json(
        &app.db_path(),
        r#"INSERT INTO "AdapterConfig" ("id", "name", "type", "adapterId", "config") VALUES
           ('src', 'Shop DB', 'database', 'postgres', '{"host":"127.0.0.1","port":5432,"user":"postgres","database":"postgres"}'),
           ('dst', 'Disk', 'storage', 'local', '{"path":"/tmp/dbackup-settings"}'),
           ('hook', 'Hook', 'notification', 'webhook', '{"url":"http://127.0.0.1:9/hook"}')"#,
    );

    let defaults = json!({
        "maxConcurrentJobs": 1, "healthCheckInterval": 60, "healthReminderInterval": 3600,
        "stallTimeoutMinutes": 10, "auditLogRetentionDays": 90, "sessionLifetimeHours": 168,
        "auth.disablePasskeyLogin": false, "scheduler.timezone": "UTC",
        "systemNotificationChannels": []
    });
    assert_eq!(
        api.expect(&admin, "GET", "/api/settings", None, 200).await,
        defaults
    );

    // Each key: a wrong type and an out-of-range (or unknown) value → 400 naming the key.
    let bad: &[(&str, Value)] = &[
        ("maxConcurrentJobs", json!("2")),
        ("maxConcurrentJobs", json!(0)),
        ("maxConcurrentJobs", json!(33)),
        ("maxConcurrentJobs", json!(1.5)),
        ("healthCheckInterval", json!(null)),
        ("healthCheckInterval", json!(0)),
        ("healthCheckInterval", json!(86_401)),
        ("healthReminderInterval", json!(59)),
        ("healthReminderInterval", json!(false)),
        ("stallTimeoutMinutes", json!(0)),
        ("stallTimeoutMinutes", json!(1441)),
        ("auditLogRetentionDays", json!(0)),
        ("auditLogRetentionDays", json!(366)),
        ("auditLogRetentionDays", json!("90")),
        ("sessionLifetimeHours", json!(0)),
        ("sessionLifetimeHours", json!(2161)),
        ("auth.disablePasskeyLogin", json!("true")),
        ("auth.disablePasskeyLogin", json!(1)),
        ("scheduler.timezone", json!("Mars/Olympus_Mons")),
        ("scheduler.timezone", json!(2)),
        ("systemNotificationChannels", json!("hook")),
        ("systemNotificationChannels", json!([1])),
        ("systemNotificationChannels", json!(["missing"])),
        // A storage adapter is not a notification channel.
        ("systemNotificationChannels", json!(["dst"])),
    ];
    for (key, value) in bad {
        let mut body = json!({ "sessionLifetimeHours": 24 });
        body[*key] = value.clone();
        if *key == "sessionLifetimeHours" {
            body = json!({ *key: value });
        }
        let resp = api
            .call(&admin, "PATCH", "/api/settings", Some(&body))
            .await;
        assert_eq!(resp.status, 400, "{body}: {}", resp.text());
        let err = resp.json();
        assert_eq!(err["details"]["field"], *key, "{body}: {err}");
        assert!(err["error"].as_str().is_some_and(|e| e.contains(*key)));
    }
    let resp = api
        .call(
            &admin,
            "PATCH",
            "/api/settings",
            Some(&json!({"maxConcurrentJobs": 2, "timezone": "UTC"})),
        )
        .await;
    assert_eq!(resp.status, 400);
    assert_eq!(resp.json()["details"]["unknownKeys"], json!(["timezone"]));
    // Nothing of the refused patches was written or audited.
    assert_eq!(
        api.expect(&admin, "GET", "/api/settings", None, 200).await,
        defaults
    );
    assert!(settings_audit(&api, &admin).await.is_empty());

    let wanted = json!({
        "maxConcurrentJobs": 32, "healthCheckInterval": 300, "healthReminderInterval": 60,
        "stallTimeoutMinutes": 1440, "auditLogRetentionDays": 365, "sessionLifetimeHours": 1,
        "auth.disablePasskeyLogin": true, "scheduler.timezone": "Europe/Berlin",
        "systemNotificationChannels": ["hook"]
    });
    let updated = api
        .expect(&admin, "PATCH", "/api/settings", Some(&wanted), 200)
        .await;
    assert_eq!(updated, wanted);
    assert_eq!(
        api.expect(&admin, "GET", "/api/settings", None, 200).await,
        wanted
    );
    let rows = settings_audit(&api, &admin).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["action"], "UPDATE");
    let mut expected_details = serde_json::Map::new();
    for (key, new) in wanted.as_object().expect("object") {
        expected_details.insert(key.clone(), json!({"old": defaults[key], "new": new}));
    }
    assert_eq!(rows[0]["details"], Value::Object(expected_details));

    // The values are stored where the readers look for them.
    let stored = sqlite_json(
        &app.db_path(),
        r#"SELECT key, value FROM "SystemSetting" WHERE key IN ('scheduler.timezone', 'systemNotificationChannels', 'maxConcurrentJobs') ORDER BY key"#,
    );
    assert_eq!(
        stored,
        vec![
            json!({"key": "maxConcurrentJobs", "value": "32"}),
            json!({"key": "scheduler.timezone", "value": "Europe/Berlin"}),
            json!({"key": "systemNotificationChannels", "value": "[\"hook\"]"}),
        ]
    );

    // scheduler.timezone is the default of jobs created without a timezone.
    let job = |name: &str| {
        json!({"name": name, "schedule": "0 3 * * *", "sourceId": "src", "databases": ["shop"],
               "destinations": [{"destinationId": "dst",
                                 "retention": {"mode": "SIMPLE", "simple": {"keepCount": 3}}}]})
    };
    let created = api
        .expect(&admin, "POST", "/api/jobs", Some(&job("berlin")), 201)
        .await;
    assert_eq!(created["timezone"], "Europe/Berlin");
    api.expect(
        &admin,
        "PATCH",
        "/api/settings",
        Some(&json!({"scheduler.timezone": "America/New_York"})),
        200,
    )
    .await;
    let created = api
        .expect(&admin, "POST", "/api/jobs", Some(&job("nyc")), 201)
        .await;
    assert_eq!(created["timezone"], "America/New_York");
    let rows = settings_audit(&api, &admin).await;
    assert_eq!(
        rows[0]["details"],
        json!({"scheduler.timezone": {"old": "Europe/Berlin", "new": "America/New_York"}})
    );
    app.shutdown().await;
}
