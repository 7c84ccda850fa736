//! Whole documents: export → restore round trips (another key, an empty or a populated
//! database, without secrets), a broken document changing nothing, and a large configuration.

use chrono::TimeZone;
use dbackup_adapters_core::registry;
use dbackup_core::db::Db;
use dbackup_vault_core as vault;
use serde_json::Value;

use super::*;
use crate::setting;
use crate::testutil::TestDb;
use crate::{export, ExportOptions};

pub(super) const KEY_A: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
pub(super) const KEY_B: &str = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";
const BACKUP_KEY: [u8; 32] = [7; 32];

pub(super) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
}

pub(super) fn sealer(k: &str) -> SecretBox {
    SecretBox::from_hex_key(k).unwrap()
}

/// A SuperAdmin restoring.
pub(super) fn admin() -> Principal {
    crate::testutil::super_admin("restorer", "s1")
}

fn adapter(
    db: &TestDb,
    s: &SecretBox,
    id: &str,
    name: &str,
    kind: &str,
    adapter_id: &str,
    config: Value,
) {
    let t = registry::find(adapter_id).unwrap();
    let sealed =
        dbackup_adapters_core::secrets::seal(s, t, id, config.as_object().unwrap()).unwrap();
    db.execute(
        r#"INSERT INTO "AdapterConfig" ("id", "name", "type", "adapterId", "config") VALUES (?, ?, ?, ?, ?)"#,
        &[id.into(), name.into(), kind.into(), adapter_id.into(), Value::Object(sealed).to_string().into()],
    )
    .unwrap();
}

/// A configured install: a group, an admin with a password, a postgres source with a
/// password, two local destinations, a discord channel, a profile, a job using all of them,
/// an SSO provider with a client secret, settings and the config backup job.
fn source_db() -> TestDb {
    let s = sealer(KEY_A);
    let db = TestDb::migrated();
    db.exec(r#"INSERT INTO "Group" ("id","name","permissions","createdAt","updatedAt") VALUES ('g1','Admins','["jobs:read","jobs:write"]','t','t')"#);
    db.exec(r#"INSERT INTO "User" ("id","name","email","emailVerified","createdAt","updatedAt","groupId") VALUES ('u1','Ada','ada@example.com',1,'t','t','g1')"#);
    db.exec(r#"INSERT INTO "Account" ("id","accountId","providerId","userId","password","createdAt","updatedAt") VALUES ('a1','u1','credential','u1','$argon2id$fake','t','t')"#);
    adapter(
        &db,
        &s,
        "pg",
        "main db",
        "database",
        "postgres",
        json!({"host": "127.0.0.1", "port": 5432, "user": "postgres", "password": "pg-secret", "database": "shop"}),
    );
    adapter(
        &db,
        &s,
        "d1",
        "disk",
        "storage",
        "local",
        json!({"path": "/backups"}),
    );
    adapter(
        &db,
        &s,
        "d2",
        "disk2",
        "storage",
        "local",
        json!({"path": "/backups2"}),
    );
    adapter(
        &db,
        &s,
        "n1",
        "chat",
        "notification",
        "discord",
        json!({"webhookUrl": "https://discord.example/hook/secret", "username": "dbackup"}),
    );
    let key = BACKUP_KEY;
    vault::create(&db, &s, "main key", Some("offsite"), &key).unwrap();
    let profile_id = db
        .scalar(r#"SELECT "id" FROM "EncryptionProfile""#)
        .as_str()
        .unwrap()
        .to_owned();
    db.execute(
        r#"INSERT INTO "Job" ("id","name","schedule","enabled","compression","sourceId","destinationId","encryptionProfileId","databases","timezone","retention")
           VALUES ('j1','nightly','0 2 * * *',1,'ZSTD','pg','d1',?,'["shop"]','Europe/Berlin','{"mode":"SIMPLE","simple":{"keepCount":3}}')"#,
        &[profile_id.as_str().into()],
    ).unwrap();
    db.exec(r#"INSERT INTO "JobDestination" ("jobId","destinationId","retention","position") VALUES ('j1','d1','{"mode":"SIMPLE","simple":{"keepCount":3}}',0),('j1','d2','{"mode":"NONE"}',1)"#);
    db.exec(r#"INSERT INTO "JobNotification" ("jobId","adapterConfigId") VALUES ('j1','n1')"#);
    let secret = s
        .encrypt(b"sso-secret", "SsoProvider.clientSecret:corp")
        .unwrap();
    db.execute(
        r#"INSERT INTO "SsoProvider" ("id","providerId","issuer","clientId","clientSecret","adapterId","adapterConfig","name","trustEmailLinking") VALUES ('s1','corp','https://idp.example','client',?,'generic','{"issuer":"https://idp.example"}','Corp',1)"#,
        &[secret.into()],
    ).unwrap();
    db.exec(r#"INSERT INTO "SystemSetting" ("key","value") VALUES ('maxConcurrentJobs','3'),('systemNotificationChannels','["n1"]')"#);
    setting::update(
        &db,
        &json!({"enabled": true, "destinationId": "d2", "encryptionProfileId": profile_id, "includeSecrets": true, "keep": 4}),
        now(),
    ).unwrap();
    db
}

fn full() -> ExportOptions {
    ExportOptions {
        include_secrets: true,
        include_password_hashes: true,
    }
}

fn actions(r: &RestoreReport, entity: &str) -> Vec<(String, ChangeAction)> {
    r.changes
        .iter()
        .filter(|c| c.entity == entity)
        .map(|c| (c.name.clone(), c.action))
        .collect()
}

#[test]
fn export_carries_secrets_only_when_asked() {
    let db = source_db();
    let s = sealer(KEY_A);
    let plain = export(
        &db,
        None,
        ExportOptions::default(),
        "2026-11-27T12:00:00.000Z",
    )
    .unwrap();
    let text = serde_json::to_string(&plain).unwrap();
    for secret in [
        "pg-secret",
        "discord.example/hook",
        "sso-secret",
        "$argon2id$fake",
        "v1:",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    assert_eq!(plain.kind, "dbackup-config");
    assert_eq!(plain.jobs[0]["source"], "main db");
    assert_eq!(plain.jobs[0]["destinations"][1]["name"], "disk2");
    assert_eq!(plain.jobs[0]["notifications"], json!(["chat"]));
    assert_eq!(
        plain.settings["systemNotificationChannels"],
        json!(["chat"])
    );
    assert_eq!(plain.settings["configBackup"]["destination"], "disk2");
    assert_eq!(plain.users[0]["group"], "Admins");
    assert!(plain.users[0].get("passwordHash").is_none());
    let counts = plain.counts();
    assert_eq!(counts["adapters"], 4);
    assert_eq!(counts["jobs"], 1);

    let secret = export(&db, Some(&s), full(), "t").unwrap();
    let text = serde_json::to_string(&secret).unwrap();
    for secret in [
        "pg-secret",
        "discord.example/hook/secret",
        "sso-secret",
        "$argon2id$fake",
        &hex::encode(BACKUP_KEY),
    ] {
        assert!(text.contains(secret), "{secret} missing");
    }
    // a wrong server key is an error, never sealed text passed on
    assert_eq!(
        export(&db, Some(&sealer(KEY_B)), full(), "t")
            .unwrap_err()
            .status,
        500
    );
}

#[test]
fn restore_into_an_empty_database_with_another_key() {
    let doc = export(&source_db(), Some(&sealer(KEY_A)), full(), "t").unwrap();
    let target = TestDb::migrated();
    let s = sealer(KEY_B);
    let dry = restore(&target, &s, &doc, &admin(), now(), true).unwrap();
    assert!(dry.dry_run);
    assert_eq!(
        target.count(r#"SELECT count(*) FROM "AdapterConfig""#),
        0,
        "dry run wrote"
    );
    assert_eq!(target.count(r#"SELECT count(*) FROM "SystemSetting""#), 0);
    assert_eq!(
        actions(&dry, "job"),
        vec![("nightly".into(), ChangeAction::Create)]
    );
    assert_eq!(dry.counts.create, 1 + 4 + 1 + 1 + 1 + 1);
    let real = restore(&target, &s, &doc, &admin(), now(), false).unwrap();
    assert_eq!(real.changes, dry.changes);
    assert!(real.warnings.is_empty(), "{:?}", real.warnings);

    // ids are new, references point at them, secrets open with the new key
    let again = export(&target, Some(&s), full(), "t").unwrap();
    assert_eq!(again.adapters, doc.adapters);
    assert_eq!(again.jobs, doc.jobs);
    assert_eq!(again.users, doc.users);
    assert_eq!(again.sso_providers, doc.sso_providers);
    assert_eq!(again.encryption_profiles, doc.encryption_profiles);
    assert_eq!(again.settings, doc.settings);
    assert_eq!(
        target.count(r#"SELECT count(*) FROM "AdapterConfig" WHERE "id" IN ('pg','d1','d2','n1')"#),
        0
    );
    let job_dest = target.scalar(
        r#"SELECT a."name" FROM "Job" j JOIN "AdapterConfig" a ON a."id" = j."destinationId""#,
    );
    assert_eq!(job_dest.as_str(), Some("disk"));
    let cb = setting::load(&target).unwrap();
    let d2 = target.scalar(r#"SELECT "id" FROM "AdapterConfig" WHERE "name" = 'disk2'"#);
    assert_eq!(cb.destination_id.as_deref(), d2.as_str());
    assert!(cb.enabled && cb.include_secrets && cb.keep == 4);
    // the old key opens nothing
    assert!(export(&target, Some(&sealer(KEY_A)), full(), "t").is_err());
    // a job restored now does not catch up on old occurrences
    assert!(target
        .scalar(r#"SELECT "lastScheduledAt" FROM "Job""#)
        .as_str()
        .is_some());

    // restoring the same document again changes nothing
    let twice = restore(&target, &s, &doc, &admin(), now(), false).unwrap();
    assert_eq!(
        twice.counts.create + twice.counts.update + twice.counts.skip,
        0,
        "{:?}",
        twice.changes
    );
}

#[test]
fn restore_into_a_non_empty_database_remaps_and_updates() {
    let doc = export(&source_db(), Some(&sealer(KEY_A)), full(), "t").unwrap();
    let s = sealer(KEY_B);
    let target = TestDb::migrated();
    // Existing rows: "disk" with another path (updated), an unrelated adapter, the job under
    // another id pointing at the unrelated adapter.
    adapter(
        &target,
        &s,
        "x-disk",
        "disk",
        "storage",
        "local",
        json!({"path": "/elsewhere"}),
    );
    adapter(
        &target,
        &s,
        "x-pg",
        "main db",
        "database",
        "postgres",
        json!({"host": "127.0.0.1", "port": 5432, "user": "postgres", "password": "pg-secret", "database": "shop"}),
    );
    adapter(
        &target,
        &s,
        "other",
        "other",
        "storage",
        "local",
        json!({"path": "/o"}),
    );
    target.exec(r#"INSERT INTO "Job" ("id","name","schedule","sourceId","destinationId") VALUES ('x-job','nightly','0 1 * * *','x-pg','other')"#);
    target.exec(r#"INSERT INTO "JobDestination" ("jobId","destinationId","position") VALUES ('x-job','other',0)"#);
    let r = restore(&target, &s, &doc, &admin(), now(), false).unwrap();
    assert_eq!(
        actions(&r, "adapter"),
        vec![
            ("main db".into(), ChangeAction::Unchanged),
            ("chat".into(), ChangeAction::Create),
            ("disk".into(), ChangeAction::Update),
            ("disk2".into(), ChangeAction::Create),
        ]
    );
    assert_eq!(
        actions(&r, "job"),
        vec![("nightly".into(), ChangeAction::Update)]
    );
    assert_eq!(target.count(r#"SELECT count(*) FROM "Job""#), 1);
    assert_eq!(
        target
            .scalar(r#"SELECT "destinationId" FROM "Job""#)
            .as_str(),
        Some("x-disk")
    );
    assert_eq!(
        target
            .scalar(r#"SELECT "schedule" FROM "Job" WHERE "id" = 'x-job'"#)
            .as_str(),
        Some("0 2 * * *")
    );
    assert_eq!(
        target.count(r#"SELECT count(*) FROM "JobDestination" WHERE "jobId" = 'x-job'"#),
        2
    );
    assert_eq!(
        target.count(r#"SELECT count(*) FROM "JobDestination" WHERE "destinationId" = 'other'"#),
        0
    );
    let path = export(&target, Some(&s), full(), "t").unwrap();
    let disk = path.adapters.iter().find(|a| a["name"] == "disk").unwrap();
    assert_eq!(disk["config"]["path"], "/backups");
}

#[test]
fn without_secrets_existing_secrets_stay_and_missing_ones_are_reported() {
    let plain = export(&source_db(), None, ExportOptions::default(), "t").unwrap();
    let s = sealer(KEY_B);
    let target = TestDb::migrated();
    adapter(
        &target,
        &s,
        "x-pg",
        "main db",
        "database",
        "postgres",
        json!({"host": "127.0.0.1", "port": 5432, "user": "postgres", "password": "kept", "database": "shop"}),
    );
    let r = restore(&target, &s, &plain, &admin(), now(), false).unwrap();
    // the profile key is not in the document and not in the vault: the job is skipped
    assert_eq!(actions(&r, "encryptionProfile")[0].1, ChangeAction::Skip);
    assert_eq!(actions(&r, "job")[0].1, ChangeAction::Skip);
    assert_eq!(
        actions(&r, "adapter")[0],
        ("main db".into(), ChangeAction::Unchanged)
    );
    let reasons: Vec<_> = r.changes.iter().filter_map(|c| c.reason.clone()).collect();
    assert!(
        reasons.iter().any(|x| x.contains("webhookUrl")),
        "{reasons:?}"
    );
    assert!(
        r.warnings.iter().any(|w| w.contains("no password")),
        "{:?}",
        r.warnings
    );
    let after = export(
        &target,
        Some(&s),
        ExportOptions {
            include_secrets: true,
            include_password_hashes: false,
        },
        "t",
    )
    .unwrap();
    let pg = after
        .adapters
        .iter()
        .find(|a| a["name"] == "main db")
        .unwrap();
    assert_eq!(pg["config"]["password"], "kept");
}

#[test]
fn a_bad_document_changes_nothing() {
    let mut doc = export(&source_db(), Some(&sealer(KEY_A)), full(), "t").unwrap();
    // the last entity to apply is broken: everything before it is rolled back
    doc.jobs[0].insert("destinations".into(), json!([]));
    let target = TestDb::migrated();
    let e = restore(&target, &sealer(KEY_B), &doc, &admin(), now(), false).unwrap_err();
    assert_eq!(e.status, 400, "{}", e.message);
    for table in [
        "AdapterConfig",
        "Group",
        "User",
        "EncryptionProfile",
        "SsoProvider",
        "SystemSetting",
        "Job",
    ] {
        assert_eq!(
            target.count(&format!(r#"SELECT count(*) FROM "{table}""#)),
            0,
            "{table}"
        );
    }
    let mut doc = export(&source_db(), Some(&sealer(KEY_A)), full(), "t").unwrap();
    doc.encryption_profiles[0].insert("key".into(), json!("ff".repeat(32)));
    let e = restore(&target, &sealer(KEY_B), &doc, &admin(), now(), false).unwrap_err();
    assert!(e.message.contains("does not match"), "{}", e.message);
    assert_eq!(target.count(r#"SELECT count(*) FROM "Group""#), 0);
    let mut doc = export(&source_db(), Some(&sealer(KEY_A)), full(), "t").unwrap();
    doc.settings.insert("maxConcurrentJobs".into(), json!(99));
    assert_eq!(
        restore(&target, &sealer(KEY_B), &doc, &admin(), now(), false)
            .unwrap_err()
            .status,
        400
    );
    assert_eq!(target.count(r#"SELECT count(*) FROM "AdapterConfig""#), 0);
}

#[test]
fn documents_are_checked() {
    assert!(parse_document(b"not json")
        .unwrap_err()
        .message
        .contains("invalid JSON"));
    assert!(parse_document(br#"{"kind":"other"}"#)
        .unwrap_err()
        .message
        .contains("kind"));
    assert!(
        parse_document(br#"{"kind":"dbackup-config","formatVersion":2}"#)
            .unwrap_err()
            .message
            .contains("formatVersion 2")
    );
    assert!(
        parse_document(br#"{"kind":"dbackup-config","formatVersion":1}"#)
            .unwrap_err()
            .message
            .contains("invalid config backup")
    );
    let doc = export(&source_db(), None, ExportOptions::default(), "t").unwrap();
    let bytes = serde_json::to_vec(&doc).unwrap();
    assert_eq!(parse_document(&bytes).unwrap(), doc);
}

/// 100 adapters, 300 jobs, 50 users: export and restore into an empty database; prints
/// the document size and the times.
#[test]
fn a_large_configuration_round_trips() {
    let key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    let s = SecretBox::from_hex_key(key).unwrap();
    let db = TestDb::migrated();
    db.exec(r#"INSERT INTO "Group" ("id","name","permissions","createdAt","updatedAt") VALUES ('g','Ops','["jobs:read"]','t','t')"#);
    let pg = registry::find("postgres").unwrap();
    for i in 0..100 {
        let (kind, adapter, config) = if i % 2 == 0 {
            (
                "database",
                pg,
                json!({"host": "db", "port": 5432, "user": "u", "password": format!("secret-{i}"), "database": "d"}),
            )
        } else {
            (
                "storage",
                registry::find("local").unwrap(),
                json!({"path": format!("/b/{i}")}),
            )
        };
        let id = format!("a{i}");
        let sealed =
            dbackup_adapters_core::secrets::seal(&s, adapter, &id, config.as_object().unwrap())
                .unwrap();
        db.execute(
            r#"INSERT INTO "AdapterConfig" ("id","name","type","adapterId","config") VALUES (?,?,?,?,?)"#,
            &[id.as_str().into(), format!("adapter {i}").into(), kind.into(), adapter.id.into(), Value::Object(sealed).to_string().into()],
        ).unwrap();
    }
    for i in 0..300 {
        let (src, dst) = (
            format!("a{}", (i % 50) * 2),
            format!("a{}", (i % 50) * 2 + 1),
        );
        db.execute(
            r#"INSERT INTO "Job" ("id","name","schedule","sourceId","destinationId") VALUES (?,?,'0 3 * * *',?,?)"#,
            &[format!("j{i}").into(), format!("job {i}").into(), src.as_str().into(), dst.as_str().into()],
        ).unwrap();
        db.execute(
            r#"INSERT INTO "JobDestination" ("jobId","destinationId","position") VALUES (?,?,0)"#,
            &[format!("j{i}").into(), dst.into()],
        )
        .unwrap();
    }
    for i in 0..50 {
        db.execute(
            r#"INSERT INTO "User" ("id","name","email","emailVerified","createdAt","updatedAt","groupId") VALUES (?,?,?,1,'t','t','g')"#,
            &[format!("u{i}").into(), format!("User {i}").into(), format!("u{i}@example.com").into()],
        ).unwrap();
    }
    let opts = ExportOptions {
        include_secrets: true,
        include_password_hashes: true,
    };
    let t = std::time::Instant::now();
    let doc = export(&db, Some(&s), opts, "t").unwrap();
    let exported = t.elapsed();
    let json = serde_json::to_vec(&doc).unwrap();
    let target = TestDb::migrated();
    let t = std::time::Instant::now();
    let r = restore(
        &target,
        &s,
        &doc,
        &crate::testutil::super_admin("u", "s"),
        Utc::now(),
        false,
    )
    .unwrap();
    let restored = t.elapsed();
    assert_eq!(r.counts.create, 1 + 100 + 50 + 300);
    assert_eq!(
        target.count(r#"SELECT count(*) FROM "JobDestination""#),
        300
    );
    eprintln!(
        "scale: document {} bytes, export {exported:?}, restore {restored:?} ({})",
        json.len(),
        if cfg!(debug_assertions) {
            "debug build"
        } else {
            "release build"
        }
    );
}
