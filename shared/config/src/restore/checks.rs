//! A restore changes only what the caller could change through each entity's API and signs out
//! users whose password or group it changed (issue 14, finding 1). The fixtures here also serve
//! each entity module's tests that a document its API would refuse changes nothing
//! ([`refused_naming`]).

use dbackup_adapters_core::{registry, secrets, validate};
use dbackup_identity::permissions::{self, SUPER_ADMIN_GROUP};

use super::*;
use crate::testutil::{member, super_admin, TestDb};
use crate::{export, ExportOptions};
use chrono::TimeZone;
use dbackup_identity::permissions::Permission;

const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

pub(super) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
}

pub(super) fn sealer() -> SecretBox {
    SecretBox::from_hex_key(KEY).unwrap()
}

const OPS: &[Permission] = &[
    Permission::SettingsRead,
    Permission::SettingsWrite,
    Permission::UsersRead,
    Permission::UsersWrite,
    Permission::GroupsRead,
    Permission::GroupsWrite,
];

/// SuperAdmin `a@example.com` (the only one) and `m@example.com` in "Ops" ([`OPS`]), each with
/// a password hash and two sessions.
pub(super) fn install() -> TestDb {
    let db = TestDb::migrated();
    let ops = permissions::to_json(&OPS.iter().copied().collect());
    db.execute(
        r#"INSERT INTO "Group" ("id","name","permissions","createdAt","updatedAt") VALUES
           ('sa','SuperAdmin','[]','t','t'), ('ops','Ops',?,'t','t')"#,
        &[ops.into()],
    )
    .unwrap();
    for (id, email, group) in [("a", "a@example.com", "sa"), ("m", "m@example.com", "ops")] {
        db.execute(
            r#"INSERT INTO "User" ("id","name","email","emailVerified","createdAt","updatedAt","groupId")
               VALUES (?,?,?,1,'t','t',?)"#,
            &[id.into(), id.into(), email.into(), group.into()],
        )
        .unwrap();
        db.execute(
            r#"INSERT INTO "Account" ("id","accountId","providerId","userId","password","createdAt","updatedAt")
               VALUES (?,?,'credential',?,?,'t','t')"#,
            &[
                format!("acc-{id}").into(),
                id.into(),
                id.into(),
                format!("$argon2id$hash-of-{id}").into(),
            ],
        )
        .unwrap();
        for n in 1..=2 {
            db.execute(
                r#"INSERT INTO "Session" ("id","expiresAt","token","createdAt","updatedAt","userId")
                   VALUES (?,'2999-01-01T00:00:00.000Z',?,'t','t',?)"#,
                &[
                    format!("{id}{n}").into(),
                    format!("tok-{id}{n}").into(),
                    id.into(),
                ],
            )
            .unwrap();
        }
    }
    db
}

/// Mallory: what "Ops" holds, acting from session m1.
fn mallory() -> Principal {
    member("m", "m1", "Ops", OPS)
}

pub(super) fn admin() -> Principal {
    super_admin("a", "a1")
}

/// The install's own export, without secrets, with password hashes.
pub(super) fn document(db: &TestDb) -> ConfigDocument {
    let options = ExportOptions {
        include_secrets: false,
        include_password_hashes: true,
    };
    export(db, Some(&sealer()), options, "t").unwrap()
}

pub(super) fn object(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

pub(super) fn user<'a>(doc: &'a mut ConfigDocument, email: &str) -> &'a mut Map<String, Value> {
    doc.users.iter_mut().find(|u| u["email"] == email).unwrap()
}

/// A change to a document.
pub(super) type Edit = Box<dyn Fn(&mut ConfigDocument)>;

/// Everything a restore could have changed here, as text.
fn state(db: &TestDb) -> String {
    let mut out = String::new();
    for sql in [
        r#"SELECT "name", "permissions", "updatedAt" FROM "Group" ORDER BY "name""#,
        r#"SELECT "email", "groupId", "name", "updatedAt" FROM "User" ORDER BY "email""#,
        r#"SELECT "userId", "password" FROM "Account" ORDER BY "userId""#,
        r#"SELECT "id" FROM "Session" ORDER BY "id""#,
        r#"SELECT "name" FROM "AdapterConfig" ORDER BY "name""#,
        r#"SELECT "providerId" FROM "SsoProvider""#,
        r#"SELECT "key" FROM "SystemSetting" ORDER BY "key""#,
        r#"SELECT "name", "schedule" FROM "Job" ORDER BY "name""#,
        r#"SELECT "name", "fingerprint" FROM "EncryptionProfile" ORDER BY "name""#,
    ] {
        out.push_str(&format!("{:?}\n", db.execute(sql, &[]).unwrap().rows));
    }
    out
}

fn sessions_of(db: &TestDb, user: &str) -> Vec<String> {
    db.execute(
        r#"SELECT "id" FROM "Session" WHERE "userId" = ? ORDER BY "id""#,
        &[user.into()],
    )
    .unwrap()
    .rows
    .iter()
    .filter_map(|r| r[0].as_str().map(str::to_owned))
    .collect()
}

/// Restores `doc` as `actor`, dry run and real; both must fail alike and change nothing.
pub(super) fn refused(db: &TestDb, doc: &ConfigDocument, actor: &Principal) -> ApiError {
    let before = state(db);
    let dry = restore(db, &sealer(), doc, actor, now(), true).unwrap_err();
    let real = restore(db, &sealer(), doc, actor, now(), false).unwrap_err();
    assert_eq!((dry.status, &dry.message), (real.status, &real.message));
    assert_eq!(state(db), before, "{}", real.message);
    real
}

#[test]
fn the_own_export_restores_unchanged_for_anyone_with_settings_write() {
    let db = install();
    let doc = document(&db);
    let settings_only = Principal::ApiKey {
        key_id: "k".into(),
        user_id: "m".into(),
        permissions: [Permission::SettingsWrite].into(),
    };
    let r = restore(&db, &sealer(), &doc, &settings_only, now(), false).unwrap();
    assert_eq!(r.counts.update + r.counts.create, 0, "{:?}", r.changes);
    // The SuperAdmin group is never modified, whatever the document lists for it.
    let mut doc = document(&db);
    doc.groups
        .iter_mut()
        .find(|g| g["name"] == SUPER_ADMIN_GROUP)
        .unwrap()
        .insert("permissions".into(), json!(["jobs:read"]));
    let r = restore(&db, &sealer(), &doc, &settings_only, now(), false).unwrap();
    assert_eq!(r.counts.update, 0, "{:?}", r.changes);
}

#[test]
fn a_restore_grants_nothing_the_caller_does_not_hold() {
    let db = install();
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "widen own group",
            Box::new(|d| {
                let g = d.groups.iter_mut().find(|g| g["name"] == "Ops").unwrap();
                g["permissions"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!("vault:write"));
            }),
            "vault:write",
        ),
        (
            "a new group stronger than the caller",
            Box::new(|d| {
                d.groups.push(
                    json!({"name": "Keys", "permissions": ["vault:read"]})
                        .as_object()
                        .unwrap()
                        .clone(),
                )
            }),
            "vault:read",
        ),
        (
            "move self into SuperAdmin",
            Box::new(|d| {
                user(d, "m@example.com").insert("group".into(), json!(SUPER_ADMIN_GROUP));
            }),
            "you do not hold",
        ),
        (
            "a new user in SuperAdmin",
            Box::new(|d| {
                let mut u = user(d, "m@example.com").clone();
                u.insert("email".into(), json!("new@example.com"));
                u.insert("group".into(), json!(SUPER_ADMIN_GROUP));
                d.users.push(u);
            }),
            "you do not hold",
        ),
        (
            "take over the SuperAdmin's password",
            Box::new(|d| {
                user(d, "a@example.com").insert("passwordHash".into(), json!("$argon2id$known"));
            }),
            "you do not hold",
        ),
        (
            "rename the SuperAdmin",
            Box::new(|d| {
                user(d, "a@example.com").insert("name".into(), json!("Renamed"));
            }),
            "you do not hold",
        ),
        (
            "an adapter without sources:write",
            Box::new(|d| {
                d.adapters.push(
                    json!({"name": "pg", "type": "database", "adapterId": "postgres",
                           "config": {"host": "db", "user": "u", "password": "p"}})
                    .as_object()
                    .unwrap()
                    .clone(),
                )
            }),
            "sources:write",
        ),
        (
            "an SSO provider without being SuperAdmin",
            Box::new(|d| {
                d.sso_providers.push(
                    json!({"providerId": "corp", "name": "Corp", "adapterId": "generic",
                           "issuer": "https://idp.example", "clientId": "c"})
                    .as_object()
                    .unwrap()
                    .clone(),
                )
            }),
            "every permission",
        ),
    ];
    for (what, mutate, names) in cases {
        let mut doc = document(&db);
        mutate(&mut doc);
        let e = refused(&db, &doc, &mallory());
        assert_eq!(e.status, 403, "{what}: {}", e.message);
        assert!(e.message.contains(names), "{what}: {}", e.message);
        assert!(e.details.as_ref().unwrap()["entity"].is_string(), "{what}");
    }
    // Within her permissions the restore works, as the API would.
    let mut doc = document(&db);
    doc.groups.push(
        json!({"name": "Readers", "permissions": ["settings:read"]})
            .as_object()
            .unwrap()
            .clone(),
    );
    user(&mut doc, "m@example.com").insert("name".into(), json!("Mallory"));
    let r = restore(&db, &sealer(), &doc, &mallory(), now(), false).unwrap();
    assert_eq!(
        (r.counts.create, r.counts.update),
        (1, 1),
        "{:?}",
        r.changes
    );
    // Nobody removes the last SuperAdmin, not even a SuperAdmin.
    let mut doc = document(&db);
    user(&mut doc, "a@example.com").insert("group".into(), json!("Ops"));
    let e = refused(&db, &doc, &admin());
    assert_eq!(e.status, 409, "{}", e.message);
}

#[test]
fn users_whose_password_or_group_changed_are_signed_out() {
    let db = install();
    let mut doc = document(&db);
    user(&mut doc, "m@example.com").insert("group".into(), json!(SUPER_ADMIN_GROUP));
    user(&mut doc, "a@example.com").insert("passwordHash".into(), json!("$argon2id$new"));
    let admin = admin();
    let dry = restore(&db, &sealer(), &doc, &admin, now(), true).unwrap();
    assert_eq!(
        sessions_of(&db, "m"),
        ["m1", "m2"],
        "a dry run signs nobody out"
    );
    let real = restore(&db, &sealer(), &doc, &admin, now(), false).unwrap();
    assert_eq!(real.changes, dry.changes);
    assert!(sessions_of(&db, "m").is_empty());
    // The restoring admin keeps the session they restored from.
    assert_eq!(sessions_of(&db, "a"), ["a1"]);
    for email in ["a@example.com", "m@example.com"] {
        let c = real.changes.iter().find(|c| c.name == email).unwrap();
        assert_eq!(c.action, ChangeAction::Update);
        assert!(c.reason.as_deref().unwrap().contains("signed out"), "{c:?}");
    }
    // A profile-only change signs nobody out.
    let mut doc = document(&db);
    user(&mut doc, "m@example.com").insert("timezone".into(), json!("Europe/Berlin"));
    db.exec(r#"INSERT INTO "Session" ("id","expiresAt","token","createdAt","updatedAt","userId") VALUES ('m3','2999-01-01T00:00:00.000Z','tok-m3','t','t','m')"#);
    restore(&db, &sealer(), &doc, &admin, now(), false).unwrap();
    assert_eq!(sessions_of(&db, "m"), ["m3"]);
}

/// The install's own export plus a source "pg", a destination "disk" and a job "nightly"
/// using them: a document every entity's API accepts.
pub(super) fn valid_document(db: &TestDb) -> ConfigDocument {
    let mut d = document(db);
    d.adapters = vec![
        object(
            json!({"name": "pg", "type": "database", "adapterId": "postgres",
                      "config": {"host": "db", "user": "u", "password": "p"}}),
        ),
        object(
            json!({"name": "disk", "type": "storage", "adapterId": "local",
                      "config": {"path": "/backups"}}),
        ),
    ];
    d.jobs = vec![object(
        json!({"name": "nightly", "schedule": "0 3 * * *", "source": "pg",
               "destinations": [{"name": "disk", "retention": {"mode": "NONE"}}]}),
    )];
    d
}

/// [`valid_document`] after each edit, restored by the SuperAdmin (dry run and real): refused
/// with `status` naming the entity and, for a 400, the field — and nothing written.
pub(super) fn refused_naming(cases: Vec<(Edit, &str, &str)>, status: u16) {
    let db = install();
    restore(&db, &sealer(), &valid_document(&db), &admin(), now(), true).unwrap();
    for (edit, entity, field) in cases {
        let mut doc = valid_document(&db);
        edit(&mut doc);
        let e = refused(&db, &doc, &admin());
        let details = e.details.clone().unwrap_or(Value::Null);
        assert_eq!(e.status, status, "{entity}.{field}: {}", e.message);
        assert_eq!(details["entity"], entity, "{}: {details}", e.message);
        if status == 400 {
            assert_eq!(details["field"], field, "{}: {details}", e.message);
        }
        assert!(e.message.contains(entity), "{}", e.message);
    }
}

#[test]
fn a_secret_stays_only_with_the_target_it_was_entered_for() {
    let db = install();
    let s = sealer();
    let t = registry::find("postgres").unwrap();
    let config = json!({"host": "db.internal", "port": 5432, "user": "u", "password": "kept",
                        "database": "postgres", "sslmode": "prefer"});
    let checked = validate::validate(t, &config).unwrap();
    let sealed = secrets::seal(&s, t, "x-pg", &checked).unwrap();
    db.execute(
        r#"INSERT INTO "AdapterConfig" ("id","name","type","adapterId","config") VALUES ('x-pg','pg','database','postgres',?)"#,
        &[Value::Object(sealed).to_string().into()],
    )
    .unwrap();
    // Without secrets, an unchanged target keeps the stored password…
    let doc = document(&db);
    assert!(doc.adapters[0]["config"].get("password").is_none());
    let r = restore(&db, &s, &doc, &admin(), now(), false).unwrap();
    assert_eq!(r.counts.update, 0, "{:?}", r.changes);
    // …a document pointing it at another host does not carry it along.
    let mut doc = document(&db);
    doc.adapters[0]["config"]["host"] = json!("collector.example");
    let e = refused(&db, &doc, &admin());
    assert_eq!(e.status, 400, "{}", e.message);
    assert_eq!(e.details.unwrap()["field"], "password");
}
