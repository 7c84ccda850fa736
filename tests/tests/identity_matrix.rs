//! The authorization matrix, run over HTTP against the real app: every route × {anonymous, a
//! user without a group, a user whose group holds exactly P for each permission P in use, an API
//! key holding exactly P for each such P and one holding nothing, SuperAdmin}.
//!
//! The expected answers come from the reviewed expectation file `tests/route_permissions.txt`,
//! not from the route table the gate uses (`dbackup_routes::ROUTES`): the file is
//! compared with the table line by line (no server needed), so a permission changed in `ROUTES`
//! alone fails here, and changing who may call a route takes a second, visible edit.
//!
//! Expected: anonymous → 401 on every non-public route; a caller without the route's permission
//! → 403 naming it (a SuperAdmin-only route, or one whose handler also requires a SuperAdmin:
//! 403); a caller holding it (or any caller on an authenticated route) → neither 401 nor 403. Bodies are valid-looking and ids exist, so that
//! content rules (no escalation, own resources) never produce a 401/403 of their own; only the
//! gate's decision is asserted.

use std::collections::{BTreeMap, BTreeSet};

use dbackup_identity::Permission;
use dbackup_routes::{Access, ROUTES};
use dbackup_tests::{Api, Credential, HttpResponse, RealApp, TEST_PASSWORD};
use serde_json::{json, Value};

/// The reviewed expectation (compiled in, so editing it rebuilds the test).
const EXPECTATION_FILE: &str = include_str!("../route_permissions.txt");

/// What a route requires, in the expectation file's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Required {
    Public,
    Authenticated,
    SuperAdmin,
    Permission(Permission),
}

impl Required {
    fn parse(word: &str) -> Option<Required> {
        Some(match word {
            "public" => Required::Public,
            "authenticated" => Required::Authenticated,
            "superadmin" => Required::SuperAdmin,
            other => Required::Permission(Permission::parse(other)?),
        })
    }

    fn word(self) -> String {
        match self {
            Required::Public => "public".into(),
            Required::Authenticated => "authenticated".into(),
            Required::SuperAdmin => "superadmin".into(),
            Required::Permission(p) => p.as_str().into(),
        }
    }
}

/// The gate's access of a `ROUTES` rule in the expectation file's words.
fn table_word(access: Access) -> String {
    match access {
        Access::Public => "public".into(),
        Access::Authenticated => "authenticated".into(),
        Access::Permission(p) => p.as_str().into(),
        // A kind added to the table later (e.g. SuperAdmin-only) reads as its lowercased name.
        #[allow(unreachable_patterns)]
        other => format!("{other:?}").to_ascii_lowercase(),
    }
}

/// One line of the expectation file.
#[derive(Debug, Clone)]
struct Route {
    method: String,
    pattern: String,
    /// What the gate requires (compared with `ROUTES`).
    required: Required,
    /// `+ superadmin`: the handler then also requires a SuperAdmin.
    handler_superadmin: bool,
}

/// Parses the expectation file; panics naming the line when one is malformed.
fn expectations() -> Vec<Route> {
    let mut routes = Vec::new();
    for (n, line) in EXPECTATION_FILE.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let bad = || panic!("tests/route_permissions.txt:{}: {line:?}", n + 1);
        let Some((route, access)) = line.split_once('→') else {
            bad()
        };
        let mut words = route.split_whitespace();
        let (Some(method), Some(pattern), None) = (words.next(), words.next(), words.next()) else {
            bad()
        };
        let (gate, handler_superadmin) = match access.split_once('+').map(|(g, h)| (g, h.trim())) {
            Some((gate, "superadmin")) => (gate, true),
            Some(_) => bad(),
            None => (access, false),
        };
        let Some(required) = Required::parse(gate.trim()) else {
            bad()
        };
        routes.push(Route {
            method: method.to_owned(),
            pattern: pattern.to_owned(),
            required,
            handler_superadmin,
        });
    }
    routes
}

/// The fast half: the file and `ROUTES` name the same routes with the same access.
#[test]
fn the_route_table_matches_the_reviewed_expectations() {
    let mut file: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut problems = Vec::new();
    for r in expectations() {
        let key = (r.method.clone(), r.pattern.clone());
        if file.insert(key, r.required.word()).is_some() {
            problems.push(format!(
                "{} {} is listed twice in the file",
                r.method, r.pattern
            ));
        }
    }
    let table: BTreeMap<(String, String), String> = ROUTES
        .iter()
        .map(|r| {
            (
                (r.method.to_owned(), r.pattern.to_owned()),
                table_word(r.access),
            )
        })
        .collect();
    for ((method, pattern), want) in &file {
        match table.get(&(method.clone(), pattern.clone())) {
            None => problems.push(format!("{method} {pattern}: in the file, not in ROUTES")),
            Some(got) if got != want => problems.push(format!(
                "{method} {pattern}: ROUTES requires {got}, the reviewed file says {want}"
            )),
            Some(_) => {}
        }
    }
    for ((method, pattern), got) in &table {
        if !file.contains_key(&(method.clone(), pattern.clone())) {
            problems.push(format!(
                "{method} {pattern}: in ROUTES ({got}), not in the file"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "shared/routes/src/lib.rs (ROUTES) and tests/route_permissions.txt disagree; a \
         change of who may call a route needs both edits:\n{}",
        problems.join("\n")
    );
}

/// What a caller holds.
#[derive(Debug, Clone)]
enum Holds {
    /// Anonymous: no credentials at all.
    Nothing,
    Exactly(BTreeSet<Permission>),
    /// SuperAdmin.
    Everything,
}

struct Caller {
    label: String,
    credential: Credential,
    holds: Holds,
    /// A session of the user the caller acts for, to create resources the caller owns (its own
    /// cookie for users; the owner's for API keys).
    owner: Option<Credential>,
}

impl Caller {
    fn has(&self, p: Permission) -> bool {
        match &self.holds {
            Holds::Nothing => false,
            Holds::Exactly(set) => set.contains(&p),
            Holds::Everything => true,
        }
    }
}

/// The gate's decision the expectation file prescribes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Unauthenticated,
    Forbidden(Permission),
    /// A SuperAdmin-only route refused to anyone else.
    ForbiddenNotSuperAdmin,
    Admitted,
}

fn expect(route: &Route, caller: &Caller) -> Expect {
    let gate = gate_expect(route, caller);
    match (gate, &caller.holds) {
        (Expect::Admitted, Holds::Exactly(_)) if route.handler_superadmin => {
            Expect::ForbiddenNotSuperAdmin
        }
        _ => gate,
    }
}

fn gate_expect(route: &Route, caller: &Caller) -> Expect {
    match (route.required, &caller.holds) {
        (Required::Public, _) => Expect::Admitted,
        (_, Holds::Nothing) => Expect::Unauthenticated,
        (Required::Authenticated, _) => Expect::Admitted,
        (Required::SuperAdmin, Holds::Everything) => Expect::Admitted,
        (Required::SuperAdmin, _) => Expect::ForbiddenNotSuperAdmin,
        (Required::Permission(p), _) if caller.has(p) => Expect::Admitted,
        (Required::Permission(p), _) => Expect::Forbidden(p),
    }
}

const CSRF_REFUSAL: &str =
    "cross-site request refused: send a same-origin Origin or X-Requested-With header";

fn error_of(resp: &HttpResponse) -> String {
    serde_json::from_slice::<Value>(&resp.body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Whether the answer is one of the gate's refusals (or its 404/405 for unknown routes).
fn gate_refusal(resp: &HttpResponse) -> bool {
    let error = error_of(resp);
    matches!(
        (resp.status, error.as_str()),
        (401, "authentication required")
            | (404, "not found")
            | (405, "method not allowed")
            | (403, CSRF_REFUSAL)
    ) || (resp.status == 403 && error.starts_with("missing permission"))
}

fn check(route: &Route, expected: Expect, resp: &HttpResponse) -> Result<(), String> {
    let error = error_of(resp);
    let ok = match expected {
        Expect::Unauthenticated => resp.status == 401 && error == "authentication required",
        Expect::Forbidden(p) => resp.status == 403 && error == format!("missing permission {p}"),
        // Public routes may refuse by content (sign-up once set up, a wrong second factor);
        // protected ones must not answer 401/403 at all to a holder.
        Expect::ForbiddenNotSuperAdmin => resp.status == 403 && !error.is_empty(),
        Expect::Admitted if route.required == Required::Public => {
            !gate_refusal(resp) && resp.status < 500
        }
        Expect::Admitted => {
            !gate_refusal(resp) && ![401, 403].contains(&resp.status) && resp.status < 500
        }
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "expected {expected:?}, got {} {}",
            resp.status,
            resp.text()
        ))
    }
}

/// Resources the requests point at, created by the SuperAdmin; destructive requests that are
/// expected to pass get fresh ones.
struct Fixtures {
    api: Api,
    admin: Credential,
    /// A user without a group: anyone with users:write may manage them.
    victim_user: String,
    /// A group without permissions or members.
    empty_group: String,
    /// One of the SuperAdmin's keys.
    admin_key: String,
    /// A user whose sessions are revoked by the session route.
    fodder_email: String,
    fodder_session: String,
    /// A user the login route signs in.
    login_email: String,
    next: usize,
}

impl Fixtures {
    fn unique(&mut self, what: &str) -> String {
        self.next += 1;
        format!("{what}-{}", self.next)
    }

    async fn session_id(&self, who: &Credential) -> String {
        let me = self
            .api
            .expect(who, "GET", "/api/auth/session", None, 200)
            .await;
        me["session"]["id"].as_str().expect("session id").to_owned()
    }

    /// The id a `{id}` of `rule` names for `caller`.
    async fn id_for(&mut self, rule: &Route, caller: &Caller, admitted: bool) -> String {
        let destructive = rule.method == "DELETE" && admitted;
        let api = self.api;
        if rule.pattern.starts_with("/api/users/") {
            if !destructive {
                return self.victim_user.clone();
            }
            let name = self.unique("victim");
            let user = api
                .create_user(&self.admin, &name, &format!("{name}@example.com"), None)
                .await;
            return user["id"].as_str().expect("id").to_owned();
        }
        if rule.pattern.starts_with("/api/groups/") {
            if !destructive {
                return self.empty_group.clone();
            }
            let name = self.unique("doomed group");
            let group = api.create_group(&self.admin, &name, &[]).await;
            return group["id"].as_str().expect("id").to_owned();
        }
        if rule.pattern.starts_with("/api/api-keys/") {
            if !destructive {
                return self.admin_key.clone();
            }
            let owner = caller
                .owner
                .clone()
                .expect("an admitted caller acts for a user");
            let name = self.unique("doomed key");
            let (key, _) = api.create_api_key(&owner, &name, &[]).await;
            return key["id"].as_str().expect("id").to_owned();
        }
        if rule.pattern.starts_with("/api/auth/sessions/") {
            // Holders of users:write revoke anyone's session: give each a fresh one.
            if admitted && caller.has(Permission::UsersWrite) {
                let session = api.login(&self.fodder_email, TEST_PASSWORD).await;
                return self.session_id(&session).await;
            }
            return self.fodder_session.clone();
        }
        if ["/api/jobs/", "/api/executions/", "/api/storage/"]
            .iter()
            .any(|p| rule.pattern.starts_with(p))
        {
            // Jobs and executions: a missing id is the handler's 404, never a 401/403.
            return "00000000-0000-4000-8000-000000000000".to_owned();
        }
        if ["/api/adapters/", "/api/encryption-profiles/"]
            .iter()
            .any(|p| rule.pattern.starts_with(p))
        {
            // Adapters and encryption profiles: a missing id is the handler's 404 ("adapter
            // not found"), never a 401/403. The per-type permissions of the adapter routes
            // are covered by tests/tests/adapters_api.rs.
            return "00000000-0000-4000-8000-000000000000".to_owned();
        }
        if [
            "/api/auth/passkeys/",
            "/api/auth/sso/",
            "/api/sso-providers/",
            "/api/profile/accounts/",
        ]
        .iter()
        .any(|p| rule.pattern.starts_with(p))
        {
            // Passkeys, SSO providers, linked accounts: a missing id is the handler's 404.
            return "00000000-0000-4000-8000-000000000000".to_owned();
        }
        panic!(
            "no fixture for the {{id}} of {} {}",
            rule.method, rule.pattern
        );
    }

    /// A valid-looking body: passes content rules where that is cheap, otherwise fails them
    /// with a 4xx that is neither 401 nor 403 (a wrong current password is a 400).
    fn body_for(&mut self, rule: &Route) -> Option<Value> {
        let name = self.unique("matrix");
        let body = match (rule.method.as_str(), rule.pattern.as_str()) {
            ("POST", "/api/auth/signup") => json!({
                "name": name, "email": format!("{name}@example.com"), "password": TEST_PASSWORD,
            }),
            ("POST", "/api/auth/login") => {
                json!({"email": self.login_email, "password": TEST_PASSWORD})
            }
            ("POST", "/api/auth/login/2fa") => json!({"challenge": "x.y.z", "code": "123456"}),
            ("POST", "/api/auth/2fa/enroll") => json!({"password": "not the password"}),
            ("POST", "/api/auth/2fa/verify") => json!({"code": "123456"}),
            ("POST", "/api/auth/2fa/disable" | "/api/auth/2fa/backup-codes") => {
                json!({"password": "not the password"})
            }
            ("POST", "/api/users") => json!({
                "name": name, "email": format!("{name}@example.com"), "password": TEST_PASSWORD,
            }),
            ("PATCH", "/api/users/{id}") => json!({"timezone": "Europe/Berlin"}),
            ("POST", "/api/groups") => json!({"name": name, "permissions": []}),
            ("PATCH", "/api/groups/{id}") => json!({"permissions": []}),
            ("PATCH", "/api/profile") => json!({"timezone": "UTC"}),
            ("POST", "/api/profile/password") => json!({
                "currentPassword": "not the password", "newPassword": "another password",
            }),
            ("POST", "/api/api-keys") => json!({"name": name, "permissions": []}),
            ("PATCH", "/api/settings") => json!({"auditLogRetentionDays": 90}),
            ("GET" | "DELETE", _) => return None,
            _ => json!({}),
        };
        Some(body)
    }
}

/// Whether a request ends the caller's own session (run last).
fn ends_sessions(rule: &Route) -> bool {
    rule.pattern == "/api/auth/logout"
}

#[tokio::test]
async fn every_route_for_every_kind_of_caller() {
    let app = RealApp::start().await;
    let api = app.api();
    let started = std::time::Instant::now();
    let (_, admin) = api
        .signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await;

    let routes = expectations();
    let used: BTreeSet<Permission> = routes
        .iter()
        .filter_map(|r| match r.required {
            Required::Permission(p) => Some(p),
            _ => None,
        })
        .collect();

    let mut callers = vec![
        Caller {
            label: "anonymous".into(),
            credential: Credential::Anonymous,
            holds: Holds::Nothing,
            owner: None,
        },
        Caller {
            label: "SuperAdmin".into(),
            credential: admin.clone(),
            holds: Holds::Everything,
            owner: Some(admin.clone()),
        },
    ];
    let user = api
        .create_user(&admin, "No Group", "nogroup@example.com", None)
        .await;
    assert_eq!(user["groupId"], Value::Null);
    let no_group = api.login("nogroup@example.com", TEST_PASSWORD).await;
    callers.push(Caller {
        label: "user without group".into(),
        credential: no_group.clone(),
        holds: Holds::Exactly(BTreeSet::new()),
        owner: Some(no_group),
    });
    for (i, p) in used.iter().enumerate() {
        let group = api
            .create_group(&admin, &format!("only {p}"), &[p.as_str()])
            .await;
        let email = format!("holder{i}@example.com");
        api.create_user(
            &admin,
            &format!("Holder of {p}"),
            &email,
            group["id"].as_str(),
        )
        .await;
        let session = api.login(&email, TEST_PASSWORD).await;
        callers.push(Caller {
            label: format!("user in a group with {p}"),
            credential: session.clone(),
            holds: Holds::Exactly([*p].into()),
            owner: Some(session),
        });
    }
    let key_sets: Vec<BTreeSet<Permission>> = std::iter::once(BTreeSet::new())
        .chain(used.iter().map(|p| [*p].into()))
        .collect();
    for set in key_sets {
        let strings: Vec<&str> = set.iter().map(|p| p.as_str()).collect();
        let (_, key) = api
            .create_api_key(&admin, &format!("key {strings:?}"), &strings)
            .await;
        callers.push(Caller {
            label: format!("API key with {strings:?}"),
            credential: key,
            holds: Holds::Exactly(set),
            owner: Some(admin.clone()),
        });
    }

    let victim = api
        .create_user(&admin, "Victim", "victim@example.com", None)
        .await;
    let empty_group = api.create_group(&admin, "Empty", &[]).await;
    let (admin_key, _) = api.create_api_key(&admin, "admin's key", &[]).await;
    api.create_user(&admin, "Fodder", "fodder@example.com", None)
        .await;
    api.create_user(&admin, "Login", "login@example.com", None)
        .await;
    let mut fixtures = Fixtures {
        api,
        admin: admin.clone(),
        victim_user: victim["id"].as_str().expect("id").to_owned(),
        empty_group: empty_group["id"].as_str().expect("id").to_owned(),
        admin_key: admin_key["id"].as_str().expect("id").to_owned(),
        fodder_email: "fodder@example.com".into(),
        fodder_session: String::new(),
        login_email: "login@example.com".into(),
        next: 0,
    };
    let fodder = api.login("fodder@example.com", TEST_PASSWORD).await;
    fixtures.fodder_session = fixtures.session_id(&fodder).await;
    let setup = started.elapsed();

    let mut rules: Vec<&Route> = routes.iter().collect();
    rules.sort_by_key(|r| ends_sessions(r));
    let mut failures = Vec::new();
    let mut cases = 0;
    for rule in rules {
        for caller in &callers {
            let expected = expect(rule, caller);
            let admitted = expected == Expect::Admitted;
            let path = if rule.pattern.contains("{id}") {
                let id = fixtures.id_for(rule, caller, admitted).await;
                rule.pattern.replace("{id}", &id)
            } else {
                rule.pattern.to_owned()
            };
            let body = fixtures.body_for(rule);
            let resp = api
                .call(&caller.credential, &rule.method, &path, body.as_ref())
                .await;
            cases += 1;
            if let Err(why) = check(rule, expected, &resp) {
                failures.push(format!(
                    "{} {} as {}: {why}",
                    rule.method, rule.pattern, caller.label
                ));
            }
        }
    }
    eprintln!(
        "authorization matrix: {} routes × {} callers = {cases} cases; setup {setup:?}, total {:?}",
        routes.len(),
        callers.len(),
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    app.shutdown().await;
}
