//! `AuditLog`: who did what to which resource. Writing redacts secrets from `details`;
//! reading filters and pages newest first with an opaque keyset cursor on `(createdAt, id)`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use dbackup_core::db::{Db, Value};
use dbackup_core::query::percent_decode;
use serde::Serialize;
use serde_json::Value as Json;

use crate::error::{IdentityError, Result};
use crate::settings;
use crate::sql::{self, Row};
use crate::time::Timestamp;

/// Action names used by identity (other components add their own, same style).
pub mod action {
    pub const LOGIN: &str = "LOGIN";
    pub const LOGIN_FAILED: &str = "LOGIN_FAILED";
    pub const LOGOUT: &str = "LOGOUT";
    pub const CREATE: &str = "CREATE";
    pub const UPDATE: &str = "UPDATE";
    pub const DELETE: &str = "DELETE";
    pub const EXECUTE: &str = "EXECUTE";
    pub const RESTORE: &str = "RESTORE";
    pub const REVEAL: &str = "REVEAL";
    pub const EXPORT: &str = "EXPORT";
}

/// Resource names used by identity.
pub mod resource {
    pub const AUTH: &str = "AUTH";
    pub const USER: &str = "USER";
    pub const GROUP: &str = "GROUP";
    pub const SESSION: &str = "SESSION";
    pub const API_KEY: &str = "API_KEY";
    pub const TWO_FACTOR: &str = "TWO_FACTOR";
    pub const PROFILE: &str = "PROFILE";
    pub const SETTINGS: &str = "SETTINGS";
}

/// Default page size.
pub const DEFAULT_LIMIT: i64 = 50;
/// Largest page size.
pub const MAX_LIMIT: i64 = 200;
/// What replaces a redacted value.
pub const REDACTED: &str = "[REDACTED]";

/// One event to record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditEvent<'a> {
    /// The acting user (`None` for the system or an unknown login).
    pub user_id: Option<&'a str>,
    pub action: &'a str,
    pub resource: &'a str,
    pub resource_id: Option<&'a str>,
    /// Context; secrets are masked by [`redact`] before storing.
    pub details: Option<Json>,
    pub ip_address: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// An audit row as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: String,
    pub user_id: Option<String>,
    /// The acting user's current name and email (null once the user is deleted).
    pub user_name: Option<String>,
    pub user_email: Option<String>,
    pub action: String,
    pub resource: String,
    pub resource_id: Option<String>,
    pub details: Option<Json>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: String,
}

/// One page of entries; `next_cursor` fetches the next (older) page, `None` at the end.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    pub next_cursor: Option<String>,
}

/// Whether a JSON key names a secret: password, secret, token, key (`apiKey`, `secretKey`),
/// credential, cookie, authorization, otp or (backup) codes.
fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase().replace(['_', '-'], "");
    [
        "password",
        "passwd",
        "secret",
        "token",
        "credential",
        "cookie",
        "authorization",
        "otp",
        "privatekey",
    ]
    .iter()
    .any(|s| k.contains(s))
        || k.ends_with("key")
        || k.ends_with("keys")
        || k == "code"
        || k == "codes"
        || k.contains("backupcode")
}

/// Masks the values of every secret-named key, at any depth.
pub fn redact(value: Json) -> Json {
    match value {
        Json::Object(map) => Json::Object(
            map.into_iter()
                .map(|(k, v)| {
                    if is_secret_key(&k) {
                        (k, Json::String(REDACTED.to_owned()))
                    } else {
                        (k, redact(v))
                    }
                })
                .collect(),
        ),
        Json::Array(items) => Json::Array(items.into_iter().map(redact).collect()),
        other => other,
    }
}

/// Records an event (details redacted); returns its id.
pub fn write(db: &dyn Db, event: &AuditEvent<'_>, now: Timestamp) -> Result<String> {
    let id = sql::new_id()?;
    let details = event.details.clone().map(|d| redact(d).to_string());
    let clip = |s: Option<&str>, n: usize| s.map(|s| s.chars().take(n).collect::<String>());
    sql::exec(
        db,
        r#"INSERT INTO "AuditLog" (id, userId, action, resource, resourceId, details, ipAddress,
           userAgent, createdAt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"#,
        &[
            id.as_str().into(),
            event.user_id.into(),
            event.action.into(),
            event.resource.into(),
            event.resource_id.into(),
            details.into(),
            clip(event.ip_address, 64).into(),
            clip(event.user_agent, 512).into(),
            now.iso().into(),
        ],
    )?;
    Ok(id)
}

/// Filters and paging of `GET /api/audit`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub resource: Option<String>,
    pub action: Option<String>,
    pub user_id: Option<String>,
    /// Inclusive lower bound.
    pub from: Option<Timestamp>,
    /// Inclusive upper bound.
    pub to: Option<Timestamp>,
    /// From a previous page's `nextCursor`.
    pub cursor: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<i64>,
}

fn parse_bound(field: &str, value: &str, end_of_day: bool) -> Result<Timestamp> {
    if let Some(t) = Timestamp::parse_iso(value) {
        return Ok(t);
    }
    match Timestamp::parse_date(value) {
        Some(day) if end_of_day => Ok(Timestamp::from_millis(day.plus_secs(86_400).millis() - 1)),
        Some(day) => Ok(day),
        None => Err(IdentityError::invalid_field(
            field,
            format!("{field} must be a date (YYYY-MM-DD) or an ISO-8601 UTC timestamp"),
        )),
    }
}

impl AuditQuery {
    /// Parses a query string (`resource=USER&from=2024-01-01&limit=20`). A date-only `to`
    /// includes that whole day. 400 for a bad date or limit.
    pub fn from_query_string(qs: &str) -> Result<AuditQuery> {
        let mut q = AuditQuery::default();
        for pair in qs
            .trim_start_matches('?')
            .split('&')
            .filter(|p| !p.is_empty())
        {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = percent_decode(v);
            if v.is_empty() {
                continue;
            }
            match percent_decode(k).as_str() {
                "resource" => q.resource = Some(v),
                "action" => q.action = Some(v),
                "userId" => q.user_id = Some(v),
                "from" => q.from = Some(parse_bound("from", &v, false)?),
                "to" => q.to = Some(parse_bound("to", &v, true)?),
                "cursor" => q.cursor = Some(v),
                "limit" => {
                    q.limit = Some(v.parse().map_err(|_| {
                        IdentityError::invalid_field("limit", "limit must be a number")
                    })?)
                }
                _ => {}
            }
        }
        Ok(q)
    }
}

fn encode_cursor(created_at: &str, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{created_at}\n{id}"))
}

fn decode_cursor(cursor: &str) -> Result<(String, String)> {
    let bad = || IdentityError::invalid_field("cursor", "invalid cursor");
    let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (created_at, id) = text.split_once('\n').ok_or_else(bad)?;
    Ok((created_at.to_owned(), id.to_owned()))
}

fn from_row(r: &Row<'_>) -> Result<AuditEntry> {
    Ok(AuditEntry {
        id: r.text("id")?,
        user_id: r.opt_text("userId")?,
        user_name: r.opt_text("userName")?,
        user_email: r.opt_text("userEmail")?,
        action: r.text("action")?,
        resource: r.text("resource")?,
        resource_id: r.opt_text("resourceId")?,
        details: r
            .opt_text("details")?
            .map(|d| serde_json::from_str(&d).unwrap_or(Json::String(d))),
        ip_address: r.opt_text("ipAddress")?,
        user_agent: r.opt_text("userAgent")?,
        created_at: r.text("createdAt")?,
    })
}

/// One page of entries matching `q`, newest first.
pub fn query(db: &dyn Db, q: &AuditQuery) -> Result<AuditPage> {
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(IdentityError::invalid_field(
            "limit",
            format!("limit must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let mut sql = String::from(
        r#"SELECT a.id, a.userId, u.name AS userName, u.email AS userEmail, a.action, a.resource,
           a.resourceId, a.details, a.ipAddress, a.userAgent, a.createdAt
           FROM "AuditLog" a LEFT JOIN "User" u ON u.id = a.userId WHERE 1 = 1"#,
    );
    let mut params: Vec<Value> = Vec::new();
    for (column, value) in [
        ("a.resource", &q.resource),
        ("a.action", &q.action),
        ("a.userId", &q.user_id),
    ] {
        if let Some(v) = value {
            sql.push_str(&format!(" AND {column} = ?"));
            params.push(v.as_str().into());
        }
    }
    if let Some(from) = q.from {
        sql.push_str(" AND a.createdAt >= ?");
        params.push(from.iso().into());
    }
    if let Some(to) = q.to {
        sql.push_str(" AND a.createdAt <= ?");
        params.push(to.iso().into());
    }
    if let Some(cursor) = &q.cursor {
        let (created_at, id) = decode_cursor(cursor)?;
        sql.push_str(" AND (a.createdAt, a.id) < (?, ?)");
        params.push(created_at.into());
        params.push(id.into());
    }
    sql.push_str(" ORDER BY a.createdAt DESC, a.id DESC LIMIT ?");
    params.push((limit + 1).into());
    let mut items = sql::all(db, &sql, &params, from_row)?;
    let more = items.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    items.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = if more {
        items.last().map(|e| encode_cursor(&e.created_at, &e.id))
    } else {
        None
    };
    Ok(AuditPage { items, next_cursor })
}

/// Deletes entries older than the retention setting (`auditLogRetentionDays`, default 90).
pub fn apply_retention(db: &dyn Db, now: Timestamp) -> Result<()> {
    let days = settings::audit_retention_days(db)?;
    sql::exec(
        db,
        r#"DELETE FROM "AuditLog" WHERE createdAt < ?"#,
        &[now.plus_secs(-days * 86_400).iso().into()],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use serde_json::json;

    fn event<'a>(action: &'a str, resource: &'a str, user: Option<&'a str>) -> AuditEvent<'a> {
        AuditEvent {
            user_id: user,
            action,
            resource,
            ..Default::default()
        }
    }

    #[test]
    fn redact_masks_secret_keys_at_any_depth() {
        let input = json!({
            "email": "ann@example.com",
            "password": "hunter22",
            "newPassword": "x",
            "config": {"host": "db", "secretKey": "s", "api_key": "k", "nested": [{"token": "t"}]},
            "backupCodes": ["a", "b"],
            "code": "123456",
            "keyId": "visible",
            "name": "key rotation",
            "count": 3
        });
        assert_eq!(
            redact(input),
            json!({
                "email": "ann@example.com",
                "password": REDACTED,
                "newPassword": REDACTED,
                "config": {"host": "db", "secretKey": REDACTED, "api_key": REDACTED,
                           "nested": [{"token": REDACTED}]},
                "backupCodes": REDACTED,
                "code": REDACTED,
                "keyId": "visible",
                "name": "key rotation",
                "count": 3
            })
        );
        assert_eq!(redact(json!("plain")), json!("plain"));
    }

    #[test]
    fn write_stores_redacted_details() {
        let db = TestDb::migrated();
        insert_user(&db, "a", None);
        let id = write(
            &db,
            &AuditEvent {
                user_id: Some("a"),
                action: action::CREATE,
                resource: resource::API_KEY,
                resource_id: Some("k1"),
                details: Some(json!({"name": "ci", "token": "dbk_canary"})),
                ip_address: Some("10.0.0.1"),
                user_agent: Some("curl/8"),
            },
            NOW,
        )
        .unwrap();
        let stored = db.text(r#"SELECT details FROM "AuditLog""#).unwrap();
        assert!(!stored.contains("canary"), "{stored}");
        let page = query(&db, &AuditQuery::default()).unwrap();
        assert_eq!(page.next_cursor, None);
        let e = &page.items[0];
        assert_eq!(e.id, id);
        assert_eq!(e.user_name.as_deref(), Some("User a"));
        assert_eq!(e.user_email.as_deref(), Some("a@example.com"));
        assert_eq!(e.details, Some(json!({"name": "ci", "token": REDACTED})));
        assert_eq!(e.created_at, NOW.iso());
        assert_eq!(
            (e.ip_address.as_deref(), e.user_agent.as_deref()),
            (Some("10.0.0.1"), Some("curl/8"))
        );
    }

    #[test]
    fn keyset_pages_newest_first_without_gaps_or_repeats() {
        let db = TestDb::migrated();
        let mut ids = Vec::new();
        // 7 events, several sharing a timestamp: the id breaks ties.
        for i in 0..7 {
            let t = NOW.plus_secs(i / 2);
            ids.push((
                t.iso(),
                write(&db, &event(action::LOGIN, resource::AUTH, None), t).unwrap(),
            ));
        }
        ids.sort();
        ids.reverse();
        let mut seen = Vec::new();
        let mut q = AuditQuery {
            limit: Some(3),
            ..Default::default()
        };
        loop {
            let page = query(&db, &q).unwrap();
            seen.extend(
                page.items
                    .iter()
                    .map(|e| (e.created_at.clone(), e.id.clone())),
            );
            match page.next_cursor {
                Some(c) => q.cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, ids);
        // An exact multiple of the page size ends without an empty extra page.
        let page = query(
            &db,
            &AuditQuery {
                limit: Some(7),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!((page.items.len(), page.next_cursor), (7, None));
    }

    #[test]
    fn filters() {
        let db = TestDb::migrated();
        insert_user(&db, "a", None);
        write(&db, &event(action::LOGIN, resource::AUTH, Some("a")), NOW).unwrap();
        write(
            &db,
            &event(action::CREATE, resource::USER, Some("a")),
            NOW.plus_secs(86_400),
        )
        .unwrap();
        write(
            &db,
            &event(action::DELETE, resource::USER, None),
            NOW.plus_secs(2 * 86_400),
        )
        .unwrap();
        let count = |qs: &str| {
            query(&db, &AuditQuery::from_query_string(qs).unwrap())
                .unwrap()
                .items
                .len()
        };
        assert_eq!(count(""), 3);
        assert_eq!(count("resource=USER"), 2);
        assert_eq!(count("resource=USER&action=DELETE"), 1);
        assert_eq!(count("userId=a"), 2);
        let day1 = &NOW.plus_secs(86_400).iso()[..10];
        assert_eq!(count(&format!("from={day1}")), 2);
        assert_eq!(count(&format!("to={day1}")), 2);
        assert_eq!(count(&format!("from={day1}&to={day1}")), 1);
        let exact = NOW.plus_secs(86_400).iso().replace(':', "%3A");
        assert_eq!(count(&format!("from={exact}&to={exact}")), 1);
        assert_eq!(count("action=LOGIN&limit=1"), 1);
    }

    #[test]
    fn bad_parameters_are_400() {
        let db = TestDb::migrated();
        for qs in [
            "limit=0",
            "limit=201",
            "limit=abc",
            "from=yesterday",
            "to=2024-13-01",
            "cursor=%%%",
        ] {
            let r = AuditQuery::from_query_string(qs).and_then(|q| query(&db, &q));
            assert_eq!(r.unwrap_err().status(), 400, "{qs}");
        }
        let q = AuditQuery::from_query_string("cursor=bm90LWEtY3Vyc29y").unwrap();
        assert_eq!(query(&db, &q).unwrap_err().status(), 400);
        assert_eq!(
            AuditQuery::from_query_string("?resource=API%5FKEY&x=1&limit=").unwrap(),
            AuditQuery {
                resource: Some("API_KEY".into()),
                ..Default::default()
            }
        );
    }

    #[test]
    fn retention_deletes_old_rows() {
        let db = TestDb::migrated();
        write(&db, &event(action::LOGIN, resource::AUTH, None), NOW).unwrap();
        write(
            &db,
            &event(action::LOGIN, resource::AUTH, None),
            NOW.plus_secs(89 * 86_400),
        )
        .unwrap();
        apply_retention(&db, NOW.plus_secs(91 * 86_400)).unwrap();
        assert_eq!(db.count(r#"SELECT COUNT(*) FROM "AuditLog""#), 1);
        settings::set(&db, settings::AUDIT_LOG_RETENTION_DAYS, "1", NOW).unwrap();
        apply_retention(&db, NOW.plus_secs(91 * 86_400)).unwrap();
        assert_eq!(db.count(r#"SELECT COUNT(*) FROM "AuditLog""#), 0);
    }
}
