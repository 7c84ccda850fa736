//! The route table: every route of every component, with what it requires. The gate
//! (`dbackup_web::gate`) looks each request up here before anything else (an unknown route is a
//! 404, a known one goes through `dbackup_identity::authorize::decide`); the OpenAPI document and
//! the HTTP tests' authorization matrix are generated from it.

#![forbid(unsafe_code)]

pub use dbackup_identity::authorize::Access;
use dbackup_identity::permissions::Permission;

/// One route: method, path pattern (`{name}` matches one non-empty segment), access, and the
/// component that serves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteRule {
    pub method: &'static str,
    pub pattern: &'static str,
    pub access: Access,
    pub component: &'static str,
}

const fn rule(
    method: &'static str,
    pattern: &'static str,
    access: Access,
    component: &'static str,
) -> RouteRule {
    RouteRule {
        method,
        pattern,
        access,
        component,
    }
}

use Access::{Authenticated as AUTHENTICATED, Public as PUBLIC};
use Permission as P;

const fn perm(p: Permission) -> Access {
    Access::Permission(p)
}

/// Every route, grouped by component.
pub static ROUTES: &[RouteRule] = &[
    // --- auth: sign-up, login, sessions, 2FA ---------------------------------------------------
    rule("GET", "/api/auth/setup-status", PUBLIC, "auth"),
    rule("POST", "/api/auth/signup", PUBLIC, "auth"),
    rule("POST", "/api/auth/login", PUBLIC, "auth"),
    rule("POST", "/api/auth/login/2fa", PUBLIC, "auth"),
    rule("POST", "/api/auth/logout", AUTHENTICATED, "auth"),
    rule("GET", "/api/auth/session", AUTHENTICATED, "auth"),
    rule("GET", "/api/auth/sessions", AUTHENTICATED, "auth"),
    // Own sessions; holders of users:write may revoke anyone's.
    rule("DELETE", "/api/auth/sessions/{id}", AUTHENTICATED, "auth"),
    rule(
        "POST",
        "/api/auth/2fa/enroll",
        perm(P::ProfileManage2fa),
        "auth",
    ),
    rule(
        "POST",
        "/api/auth/2fa/verify",
        perm(P::ProfileManage2fa),
        "auth",
    ),
    rule(
        "POST",
        "/api/auth/2fa/disable",
        perm(P::ProfileManage2fa),
        "auth",
    ),
    rule(
        "POST",
        "/api/auth/2fa/backup-codes",
        perm(P::ProfileManage2fa),
        "auth",
    ),
    // --- auth: passkeys (own passkeys; login public, see `passkeys`) ----------------------------
    rule("POST", "/api/auth/passkeys/login/options", PUBLIC, "auth"),
    rule("POST", "/api/auth/passkeys/login/verify", PUBLIC, "auth"),
    rule(
        "GET",
        "/api/auth/passkeys",
        perm(P::ProfileManagePasskeys),
        "auth",
    ),
    rule(
        "POST",
        "/api/auth/passkeys/register/options",
        perm(P::ProfileManagePasskeys),
        "auth",
    ),
    rule(
        "POST",
        "/api/auth/passkeys/register/verify",
        perm(P::ProfileManagePasskeys),
        "auth",
    ),
    rule(
        "POST",
        "/api/auth/passkeys/two-factor",
        perm(P::ProfileManagePasskeys),
        "auth",
    ),
    rule(
        "PATCH",
        "/api/auth/passkeys/{id}",
        perm(P::ProfileManagePasskeys),
        "auth",
    ),
    rule(
        "DELETE",
        "/api/auth/passkeys/{id}",
        perm(P::ProfileManagePasskeys),
        "auth",
    ),
    // --- auth: SSO (OIDC) login, public; providers read with settings:write, written only by
    // callers holding every permission (checked in the handler: sso::ensure_may_manage) --------
    rule("GET", "/api/auth/sso/providers", PUBLIC, "auth"),
    rule("GET", "/api/auth/sso/{id}/start", PUBLIC, "auth"),
    rule("GET", "/api/auth/sso/{id}/callback", PUBLIC, "auth"),
    // The caller's own SSO links (served by auth; spin.toml routes this prefix there). Linking
    // one starts from the session (POST: the CSRF rule applies).
    rule("GET", "/api/profile/accounts", AUTHENTICATED, "auth"),
    rule("POST", "/api/profile/accounts/link", AUTHENTICATED, "auth"),
    rule(
        "DELETE",
        "/api/profile/accounts/{id}",
        AUTHENTICATED,
        "auth",
    ),
    rule("GET", "/api/sso-providers", perm(P::SettingsWrite), "auth"),
    rule("POST", "/api/sso-providers", perm(P::SettingsWrite), "auth"),
    rule(
        "GET",
        "/api/sso-providers/{id}",
        perm(P::SettingsWrite),
        "auth",
    ),
    rule(
        "PATCH",
        "/api/sso-providers/{id}",
        perm(P::SettingsWrite),
        "auth",
    ),
    rule(
        "DELETE",
        "/api/sso-providers/{id}",
        perm(P::SettingsWrite),
        "auth",
    ),
    // --- users: users, groups, profile, API keys -----------------------------------------------
    rule("GET", "/api/users", perm(P::UsersRead), "users"),
    rule("POST", "/api/users", perm(P::UsersWrite), "users"),
    rule("GET", "/api/users/{id}", perm(P::UsersRead), "users"),
    rule("PATCH", "/api/users/{id}", perm(P::UsersWrite), "users"),
    rule("DELETE", "/api/users/{id}", perm(P::UsersWrite), "users"),
    rule(
        "POST",
        "/api/users/{id}/reset-2fa",
        perm(P::UsersWrite),
        "users",
    ),
    rule("GET", "/api/groups", perm(P::GroupsRead), "users"),
    rule("POST", "/api/groups", perm(P::GroupsWrite), "users"),
    rule("GET", "/api/groups/{id}", perm(P::GroupsRead), "users"),
    rule("PATCH", "/api/groups/{id}", perm(P::GroupsWrite), "users"),
    rule("DELETE", "/api/groups/{id}", perm(P::GroupsWrite), "users"),
    rule("GET", "/api/profile", AUTHENTICATED, "users"),
    // `name` needs profile:update_name, `email` profile:update_email; display preferences
    // (timezone, dateFormat, timeFormat) need only a session: see `users::update_profile`.
    rule("PATCH", "/api/profile", AUTHENTICATED, "users"),
    rule(
        "POST",
        "/api/profile/password",
        perm(P::ProfileUpdatePassword),
        "users",
    ),
    rule("GET", "/api/api-keys", perm(P::ApiKeysRead), "users"),
    rule("POST", "/api/api-keys", perm(P::ApiKeysWrite), "users"),
    rule(
        "DELETE",
        "/api/api-keys/{id}",
        perm(P::ApiKeysWrite),
        "users",
    ),
    // --- system: health, audit, settings -------------------------------------------------------
    rule("GET", "/api/health", PUBLIC, "system"),
    rule("GET", "/api/audit", perm(P::AuditRead), "system"),
    rule("GET", "/api/settings", perm(P::SettingsRead), "system"),
    rule("PATCH", "/api/settings", perm(P::SettingsWrite), "system"),
    // The pool of workers: the configured one and the registered ones, with health and load.
    rule("GET", "/api/workers", perm(P::SettingsRead), "system"),
    // Prometheus metrics; also open to `Authorization: Bearer <metrics_token>` (Spin variable).
    rule("GET", "/metrics", perm(P::SettingsRead), "system"),
    // The OpenAPI 3.1 document (docs/openapi.json, generated by `cargo xtask openapi`).
    rule("GET", "/api/openapi.json", AUTHENTICATED, "system"),
    // Config self-backup: the system job's settings, run now, the list, and restore.
    rule(
        "GET",
        "/api/system/config-backup",
        perm(P::SettingsRead),
        "system",
    ),
    rule(
        "PUT",
        "/api/system/config-backup",
        perm(P::SettingsWrite),
        "system",
    ),
    rule(
        "POST",
        "/api/system/config-backup",
        perm(P::SettingsWrite),
        "system",
    ),
    rule(
        "GET",
        "/api/system/config-backups",
        perm(P::SettingsRead),
        "system",
    ),
    rule(
        "POST",
        "/api/system/config-restore",
        perm(P::SettingsWrite),
        "system",
    ),
    // --- adapters: sources, destinations, notification channels ---------------------------------
    // Authenticated here; the adapter's type decides the permission in the handler
    // (sources:*, destinations:*, notifications:*; read for GET and a saved adapter's test,
    // write otherwise). Lists show only the kinds the caller may read.
    rule("GET", "/api/adapter-types", AUTHENTICATED, "adapters"),
    rule("GET", "/api/adapters", AUTHENTICATED, "adapters"),
    rule("POST", "/api/adapters", AUTHENTICATED, "adapters"),
    rule("POST", "/api/adapters/test", AUTHENTICATED, "adapters"),
    rule("GET", "/api/adapters/{id}", AUTHENTICATED, "adapters"),
    rule("PUT", "/api/adapters/{id}", AUTHENTICATED, "adapters"),
    rule("DELETE", "/api/adapters/{id}", AUTHENTICATED, "adapters"),
    rule("POST", "/api/adapters/{id}/test", AUTHENTICATED, "adapters"),
    rule(
        "GET",
        "/api/adapters/{id}/databases",
        AUTHENTICATED,
        "adapters",
    ),
    rule(
        "GET",
        "/api/adapters/{id}/health",
        AUTHENTICATED,
        "adapters",
    ),
    // --- vault: encryption profiles ------------------------------------------------------------
    rule(
        "GET",
        "/api/encryption-profiles",
        perm(P::VaultRead),
        "vault",
    ),
    rule(
        "POST",
        "/api/encryption-profiles",
        perm(P::VaultWrite),
        "vault",
    ),
    rule(
        "GET",
        "/api/encryption-profiles/{id}",
        perm(P::VaultRead),
        "vault",
    ),
    rule(
        "DELETE",
        "/api/encryption-profiles/{id}",
        perm(P::VaultWrite),
        "vault",
    ),
    // Re-entering the password is checked by the handler (a wrong one is a 400).
    rule(
        "POST",
        "/api/encryption-profiles/{id}/reveal",
        perm(P::VaultWrite),
        "vault",
    ),
    // The recovery kit (ZIP with the key); the password in X-Confirm-Password is checked by the
    // handler (a wrong one is a 400).
    rule(
        "GET",
        "/api/encryption-profiles/{id}/recovery-kit",
        perm(P::VaultWrite),
        "vault",
    ),
    // --- jobs: backup jobs ----------------------------------------------------------------------
    rule("GET", "/api/jobs", perm(P::JobsRead), "jobs"),
    rule("POST", "/api/jobs", perm(P::JobsWrite), "jobs"),
    rule("GET", "/api/jobs/{id}", perm(P::JobsRead), "jobs"),
    rule("PUT", "/api/jobs/{id}", perm(P::JobsWrite), "jobs"),
    rule("DELETE", "/api/jobs/{id}", perm(P::JobsWrite), "jobs"),
    rule("POST", "/api/jobs/{id}/run", perm(P::JobsExecute), "jobs"),
    rule("GET", "/api/jobs/{id}/next-runs", perm(P::JobsRead), "jobs"),
    // --- executions: history, cancel, restores ------------------------------------------------
    // (`POST /api/internal/executions/{id}/events` is not here: the worker authenticates it
    // with the execution's HMAC key, checked by the executions component before the gate; nor
    // is `POST /api/internal/workers/register`, signed with the worker token.)
    rule("GET", "/api/executions", perm(P::HistoryRead), "executions"),
    rule(
        "GET",
        "/api/executions/{id}",
        perm(P::HistoryRead),
        "executions",
    ),
    rule(
        "POST",
        "/api/executions/{id}/cancel",
        perm(P::JobsExecute),
        "executions",
    ),
    rule(
        "POST",
        "/api/restores",
        perm(P::StorageRestore),
        "executions",
    ),
    // --- storage: the storage explorer (`?path=` names the backup) ---------------------------
    rule(
        "GET",
        "/api/storage/{id}/backups",
        perm(P::StorageRead),
        "storage",
    ),
    rule(
        "DELETE",
        "/api/storage/{id}/backups",
        perm(P::StorageDelete),
        "storage",
    ),
    // Locking protects from deletion, so changing it needs the right to delete.
    rule(
        "POST",
        "/api/storage/{id}/backups/lock",
        perm(P::StorageDelete),
        "storage",
    ),
    rule(
        "POST",
        "/api/storage/{id}/backups/unlock",
        perm(P::StorageDelete),
        "storage",
    ),
    rule(
        "GET",
        "/api/storage/{id}/download",
        perm(P::StorageDownload),
        "storage",
    ),
];

/// A route found for a request, with its path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    pub rule: &'static RouteRule,
    /// `(name, value)` for each `{name}` in the pattern, in order.
    pub params: Vec<(&'static str, String)>,
}

impl RouteMatch {
    /// The value of path parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The path without query string and trailing slash, split into segments.
fn segments(path: &str) -> Vec<&str> {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let path = path.strip_suffix('/').unwrap_or(path);
    path.split('/').skip(1).collect()
}

fn match_pattern(pattern: &'static str, path: &[&str]) -> Option<Vec<(&'static str, String)>> {
    let pat: Vec<&'static str> = pattern.split('/').skip(1).collect();
    if pat.len() != path.len() {
        return None;
    }
    let mut params = Vec::new();
    for (p, s) in pat.into_iter().zip(path) {
        match p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) if !s.is_empty() => params.push((name, (*s).to_owned())),
            Some(_) => return None,
            None if p == *s => {}
            None => return None,
        }
    }
    Some(params)
}

/// The rule for `method` and `path` (query string ignored, one trailing slash tolerated, HEAD
/// treated as GET), or `None`: the component answers 404.
pub fn find(method: &str, path: &str) -> Option<RouteMatch> {
    let method = if method.eq_ignore_ascii_case("HEAD") {
        "GET"
    } else {
        method
    };
    let segs = segments(path);
    ROUTES.iter().find_map(|rule| {
        if !rule.method.eq_ignore_ascii_case(method) {
            return None;
        }
        match_pattern(rule.pattern, &segs).map(|params| RouteMatch { rule, params })
    })
}

/// The methods served at `path` (for a 405 `Allow` header); empty if the path is unknown.
pub fn allowed_methods(path: &str) -> Vec<&'static str> {
    let segs = segments(path);
    let mut methods: Vec<&'static str> = ROUTES
        .iter()
        .filter(|r| match_pattern(r.pattern, &segs).is_some())
        .map(|r| r.method)
        .collect();
    methods.dedup();
    methods
}

/// The routes a component serves.
pub fn for_component(component: &str) -> impl Iterator<Item = &'static RouteRule> + '_ {
    ROUTES.iter().filter(move |r| r.component == component)
}

/// The table as Markdown (`| Method | Path | Access | Component |`), for docs and reports.
pub fn table_markdown() -> String {
    let mut out = String::from("| Method | Path | Access | Component |\n|---|---|---|---|\n");
    for r in ROUTES {
        let access = match r.access {
            Access::Public => "public".to_owned(),
            Access::Authenticated => "authenticated".to_owned(),
            Access::Permission(p) => p.as_str().to_owned(),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            r.method, r.pattern, access, r.component
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbackup_identity::authorize::test_principals::{grant, user};
    use dbackup_identity::authorize::{decide, Decision, Principal};
    use dbackup_identity::groups::GroupGrant;
    use dbackup_identity::permissions::{PermissionSet, SUPER_ADMIN_GROUP};

    /// The matrix the HTTP tests check, here for every rule: anonymous, no group, each single
    /// permission (as a group and as an API key), SuperAdmin.
    #[test]
    fn matrix_over_every_route() {
        let super_admin = user(Some(GroupGrant {
            permissions: dbackup_identity::permissions::all(),
            ..grant(SUPER_ADMIN_GROUP, &[])
        }));
        // SuperAdmin holds everything even if the stored list is empty.
        let super_admin_empty = user(Some(grant(SUPER_ADMIN_GROUP, &[])));
        for rule in ROUTES {
            let public = rule.access == Access::Public;
            let expect_anon = if public {
                Decision::Allow
            } else {
                Decision::Unauthenticated
            };
            assert_eq!(decide(rule.access, None), expect_anon, "{rule:?}");
            let expect_no_group = match rule.access {
                Access::Permission(_) => Decision::Forbidden,
                _ => Decision::Allow,
            };
            assert_eq!(
                decide(rule.access, Some(&user(None))),
                expect_no_group,
                "{rule:?}"
            );
            let empty_key = Principal::ApiKey {
                key_id: "k".into(),
                user_id: "u".into(),
                permissions: PermissionSet::new(),
            };
            assert_eq!(
                decide(rule.access, Some(&empty_key)),
                expect_no_group,
                "{rule:?}"
            );
            for p in Permission::ALL {
                let expected = match rule.access {
                    Access::Permission(needed) if needed != *p => Decision::Forbidden,
                    _ => Decision::Allow,
                };
                let as_group = user(Some(grant("G", &[*p])));
                assert_eq!(
                    decide(rule.access, Some(&as_group)),
                    expected,
                    "{rule:?} {p}"
                );
                let as_key = Principal::ApiKey {
                    key_id: "k".into(),
                    user_id: "u".into(),
                    permissions: [*p].into(),
                };
                assert_eq!(decide(rule.access, Some(&as_key)), expected, "{rule:?} {p}");
            }
            assert_eq!(
                decide(rule.access, Some(&super_admin)),
                Decision::Allow,
                "{rule:?}"
            );
            assert_eq!(
                decide(rule.access, Some(&super_admin_empty)),
                Decision::Allow,
                "{rule:?}"
            );
        }
    }

    #[test]
    fn finds_routes_with_parameters() {
        let m = find("DELETE", "/api/users/abc-123").unwrap();
        assert_eq!(m.rule.pattern, "/api/users/{id}");
        assert_eq!(m.rule.access, Access::Permission(Permission::UsersWrite));
        assert_eq!(m.param("id"), Some("abc-123"));
        assert_eq!(m.param("other"), None);

        let m = find("POST", "/api/users/u1/reset-2fa").unwrap();
        assert_eq!(m.rule.pattern, "/api/users/{id}/reset-2fa");
        assert_eq!(m.param("id"), Some("u1"));

        let m = find("get", "/api/users?limit=5").unwrap();
        assert_eq!(m.rule.pattern, "/api/users");
        assert!(m.params.is_empty());
        assert_eq!(
            find("GET", "/api/users/").unwrap().rule.pattern,
            "/api/users"
        );
        assert_eq!(
            find("HEAD", "/api/health").unwrap().rule.access,
            Access::Public
        );
        assert_eq!(
            find("POST", "/api/auth/login/2fa").unwrap().rule.pattern,
            "/api/auth/login/2fa"
        );
    }

    #[test]
    fn unknown_routes_are_none() {
        for (m, p) in [
            ("GET", "/api/nope"),
            ("PUT", "/api/users/1"),
            ("GET", "/api/users//reset-2fa"),
            ("POST", "/api/users/1/reset-2fa/x"),
            ("GET", "/api/users/1/2"),
            ("DELETE", "/api/auth/sessions"),
            ("DELETE", "/api/auth/sessions/"),
            ("GET", "/api"),
            ("GET", ""),
            ("GET", "api/users"),
        ] {
            assert_eq!(find(m, p), None, "{m} {p}");
        }
    }

    #[test]
    fn allowed_methods_for_405() {
        assert_eq!(
            allowed_methods("/api/users/1"),
            vec!["GET", "PATCH", "DELETE"]
        );
        assert_eq!(allowed_methods("/api/audit"), vec!["GET"]);
        assert!(allowed_methods("/api/nope").is_empty());
    }

    #[test]
    fn table_is_well_formed() {
        for (i, r) in ROUTES.iter().enumerate() {
            assert!(
                r.pattern.starts_with("/api/") || r.pattern == "/metrics",
                "{r:?}"
            );
            assert!(
                ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&r.method),
                "{r:?}"
            );
            assert!(
                [
                    "auth",
                    "users",
                    "system",
                    "adapters",
                    "vault",
                    "jobs",
                    "executions",
                    "runner",
                    "storage"
                ]
                .contains(&r.component),
                "{r:?}"
            );
            // No duplicate (method, pattern) and no rule shadowing another.
            for other in &ROUTES[i + 1..] {
                assert!(
                    !(r.method == other.method && r.pattern == other.pattern),
                    "duplicate {r:?}"
                );
            }
            // Each rule is found by a concrete path built from its own pattern.
            let concrete = r.pattern.replace("{id}", "x1");
            assert_eq!(find(r.method, &concrete).map(|m| m.rule), Some(r), "{r:?}");
        }
        assert_eq!(for_component("system").count(), 12);
        assert!(
            table_markdown().contains("| DELETE | /api/api-keys/{id} | api-keys:write | users |")
        );
    }

    #[test]
    fn readme_lists_the_current_table() {
        let readme = include_str!("../README.md");
        assert!(
            readme.contains(&table_markdown()),
            "update shared/routes/README.md with routes::table_markdown():\n{}",
            table_markdown()
        );
    }

    #[test]
    fn only_bootstrap_routes_are_public() {
        let public: Vec<_> = ROUTES
            .iter()
            .filter(|r| r.access == Access::Public)
            .map(|r| format!("{} {}", r.method, r.pattern))
            .collect();
        assert_eq!(
            public,
            vec![
                "GET /api/auth/setup-status",
                "POST /api/auth/signup",
                "POST /api/auth/login",
                "POST /api/auth/login/2fa",
                "POST /api/auth/passkeys/login/options",
                "POST /api/auth/passkeys/login/verify",
                "GET /api/auth/sso/providers",
                "GET /api/auth/sso/{id}/start",
                "GET /api/auth/sso/{id}/callback",
                "GET /api/health",
            ]
        );
    }
}
