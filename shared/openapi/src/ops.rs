//! The operation table: one entry per rule of `dbackup_routes::ROUTES` (a test fails
//! when a rule has no entry or an entry no rule), grouped by component like the route table.
//! Each names the Rust types its handler reads and writes; add yours next to your route.

use serde_json::Value;

use dbackup_identity as identity;
use identity::{
    api_keys, audit, authorize, groups, login, passkeys, sessions, setup, sso, two_factor, users,
};

use dbackup_adapters_core::{api as adapter_api, store};
use dbackup_config_core as config;
use dbackup_jobs_core::{execution, job, pool, queue, worker_request};
use dbackup_storage_core::explorer;
use dbackup_vault_core as vault;

use crate::settings_schema::{Settings, SettingsUpdate};
use crate::{op, Op};

/// Every operation, in route-table order.
pub fn operations() -> Vec<Op> {
    let mut ops = Vec::new();
    ops.extend(auth());
    ops.extend(users_ops());
    ops.extend(system());
    ops.extend(adapters());
    ops.extend(vault());
    ops.extend(jobs());
    ops.extend(executions());
    ops.extend(storage());
    ops
}

const SET_COOKIE: &str = "The session cookie (`dbackup_session`, HttpOnly, SameSite=Lax).";
const SSO_STATE_COOKIE: &str = "The SSO state cookie (`dbackup_sso_state`, HttpOnly, SameSite=Lax, sent only to the provider's callback path, 10 minutes): the callback refuses a state this browser did not start.";

fn auth() -> Vec<Op> {
    vec![
        op("GET", "/api/auth/setup-status", "getSetupStatus", "Whether the first user still has to sign up")
            .ok::<setup::SetupStatus>("Setup state."),
        op("POST", "/api/auth/signup", "signup", "Create the first user (a SuperAdmin), signed in")
            .describe("Only while no user exists (403 afterwards).")
            .body::<setup::SignupRequest>()
            .created::<users::User>("The new user; the session cookie is set.")
            .with_header("Set-Cookie", SET_COOKIE)
            .errors(&[403, 429]),
        op("POST", "/api/auth/login", "login", "Sign in with email and password")
            .describe("Answers either the signed-in user and session (cookie set) or, when 2FA is on, `twoFactorRequired: true` with a challenge for `POST /api/auth/login/2fa`. Repeated failures lock the account or throttle the address (429 with `Retry-After`).")
            .body::<login::LoginRequest>()
            .ok::<login::LoginAnswer>("Signed in (cookie set), or a second factor is required.")
            .with_header("Set-Cookie", SET_COOKIE)
            .errors(&[401, 429]),
        op("POST", "/api/auth/login/2fa", "loginSecondFactor", "Complete a login with a TOTP or backup code")
            .body::<login::SecondFactorRequest>()
            .ok::<login::SignedIn>("Signed in.")
            .with_header("Set-Cookie", SET_COOKIE)
            .errors(&[401, 429]),
        op("POST", "/api/auth/logout", "logout", "End the current session")
            .no_content("Signed out; the cookie is deleted.")
            .with_header("Set-Cookie", "Deletes the session cookie."),
        op("GET", "/api/auth/session", "getSession", "Who is calling, with which permissions")
            .ok::<authorize::WhoAmI>("The caller."),
        op("GET", "/api/auth/sessions", "listSessions", "The caller's live sessions, newest first")
            .ok::<Vec<sessions::Session>>("Sessions; `current` marks the calling one."),
        op("DELETE", "/api/auth/sessions/{id}", "revokeSession", "End a session")
            .describe("One's own sessions; anyone's with `users:write`.")
            .no_content("Revoked."),
        op("POST", "/api/auth/2fa/enroll", "enrollTwoFactor", "Start TOTP enrolment")
            .body::<two_factor::EnrollRequest>()
            .ok::<two_factor::Enrollment>("The secret and its otpauth:// URI (for a QR code)."),
        op("POST", "/api/auth/2fa/verify", "verifyTwoFactor", "Confirm TOTP enrolment with a code")
            .body::<two_factor::VerifyRequest>()
            .ok::<two_factor::BackupCodes>("2FA is on; the backup codes, shown this once."),
        op("POST", "/api/auth/2fa/disable", "disableTwoFactor", "Turn TOTP off")
            .body::<two_factor::Reauth>()
            .no_content("2FA is off."),
        op("POST", "/api/auth/2fa/backup-codes", "regenerateBackupCodes", "Replace the backup codes")
            .body::<two_factor::Reauth>()
            .ok::<two_factor::BackupCodes>("The new backup codes, shown this once."),
        op("POST", "/api/auth/passkeys/login/options", "passkeyLoginOptions", "WebAuthn options for a passkey sign-in")
            .describe("Empty body for passwordless login (403 while `auth.disablePasskeyLogin`), or the challenge of a password login to use a passkey as the second factor.")
            .optional_body::<passkeys::LoginOptionsRequest>()
            .ok::<passkeys::RequestOptions>("`PublicKeyCredentialRequestOptions` in JSON form.")
            .errors(&[401, 403]),
        op("POST", "/api/auth/passkeys/login/verify", "passkeyLoginVerify", "Sign in with a passkey assertion")
            .body::<passkeys::LoginRequest>()
            .ok::<login::SignedIn>("Signed in.")
            .with_header("Set-Cookie", SET_COOKIE)
            .errors(&[401, 429]),
        op("GET", "/api/auth/passkeys", "listPasskeys", "The caller's passkeys")
            .ok::<passkeys::PasskeyOverview>("Passkeys and whether they serve as a second factor."),
        op("POST", "/api/auth/passkeys/register/options", "passkeyRegisterOptions", "WebAuthn options to register a passkey")
            .ok::<passkeys::CreationOptions>("`PublicKeyCredentialCreationOptions` in JSON form."),
        op("POST", "/api/auth/passkeys/register/verify", "passkeyRegisterVerify", "Register a passkey from an attestation")
            .body::<passkeys::RegisterRequest>()
            .created::<passkeys::Passkey>("The new passkey."),
        op("POST", "/api/auth/passkeys/two-factor", "setPasskeyTwoFactor", "Use passkeys as the second factor, or stop")
            .body::<passkeys::TwoFactorToggle>()
            .ok::<passkeys::PasskeyOverview>("The passkey overview.")
            .errors(&[409]),
        op("PATCH", "/api/auth/passkeys/{id}", "renamePasskey", "Rename a passkey")
            .body::<passkeys::Rename>()
            .ok::<passkeys::Passkey>("The renamed passkey."),
        op("DELETE", "/api/auth/passkeys/{id}", "deletePasskey", "Delete a passkey")
            .no_content("Deleted (the last one also turns passkey 2FA off)."),
        op("GET", "/api/auth/sso/providers", "listLoginSsoProviders", "Enabled SSO providers, for the login page")
            .ok::<Vec<sso::LoginProvider>>("Providers (id, name, adapter)."),
        op("GET", "/api/auth/sso/{id}/start", "startSso", "Begin an SSO login (browser navigation)")
            .describe("The redirect URI sent to the provider is `{public_url}/api/auth/sso/{id}/callback` (the configured public URL, else `app_url`; never the request's Host).")
            .empty(302, "Redirect to the identity provider.")
            .with_header("Location", "The provider's authorization URL.")
            .with_header("Set-Cookie", SSO_STATE_COOKIE),
        op("GET", "/api/auth/sso/{id}/callback", "ssoCallback", "The identity provider's redirect back (browser navigation)")
            .query::<String>("code", false, "Authorization code.")
            .query::<String>("state", false, "The state the start stored.")
            .query::<String>("error", false, "The provider's error code, if it refused.")
            .describe("Needs the state cookie of the browser that started the flow. An existing account is reached only through a linked identity, or by verified email when the provider is trusted for email linking; an account with 2FA continues at `/login#twoFactorChallenge=…&methods=…` (SSO replaces the password, not the second factor). A link started from the profile ends at `/profile?linked=<providerId>`.")
            .empty(302, "Redirect into the UI: signed in, to the second factor, or with `?error=<code>` (docs/AUTH.md).")
            .with_header("Location", "Where the browser goes next.")
            .with_header("Set-Cookie", SET_COOKIE),
        op("GET", "/api/profile/accounts", "listLinkedAccounts", "The caller's linked SSO accounts")
            .ok::<sso::LinkedAccounts>("Linked accounts and the other ways to sign in."),
        op("POST", "/api/profile/accounts/link", "linkAccount", "Start linking an SSO identity to the caller's account")
            .describe("Answers the provider's authorization URL for the browser to visit and sets the state cookie. The callback links the identity only in a session of the same user, then redirects to `/profile?linked=<providerId>` (or `/profile?error=<code>`). 400 naming `providerId` for an unknown or disabled provider.")
            .body::<sso::LinkRequest>()
            .ok::<sso::LinkStart>("Where to send the browser.")
            .with_header("Set-Cookie", SSO_STATE_COOKIE),
        op("DELETE", "/api/profile/accounts/{id}", "unlinkAccount", "Unlink an SSO account")
            .no_content("Unlinked.")
            .errors(&[409]),
        op("GET", "/api/sso-providers", "listSsoProviders", "SSO providers (admin)")
            .ok::<Vec<sso::SsoProvider>>("Every provider; the client secret is never shown."),
        op("POST", "/api/sso-providers", "createSsoProvider", "Add an SSO provider")
            .describe("Needs every permission (a SuperAdmin): a provider decides who signs in. 403 otherwise, also with `settings:write`.")
            .body::<sso::ProviderInput>()
            .created::<sso::SsoProvider>("The provider.")
            .errors(&[409, 502]),
        op("GET", "/api/sso-providers/{id}", "getSsoProvider", "One SSO provider")
            .ok::<sso::SsoProvider>("The provider."),
        op("PATCH", "/api/sso-providers/{id}", "updateSsoProvider", "Change an SSO provider")
            .describe("Absent fields stay. Needs every permission (a SuperAdmin), like creating one.")
            .body::<sso::ProviderInput>()
            .ok::<sso::SsoProvider>("The provider.")
            .errors(&[409, 502]),
        op("DELETE", "/api/sso-providers/{id}", "deleteSsoProvider", "Delete an SSO provider")
            .describe("Needs every permission (a SuperAdmin), like creating one.")
            .no_content("Deleted."),
    ]
}

fn users_ops() -> Vec<Op> {
    vec![
        op("GET", "/api/users", "listUsers", "Every user, by name")
            .ok::<Vec<users::User>>("Users."),
        op("POST", "/api/users", "createUser", "Create a user")
            .describe("Nobody grants more than they hold: the group's permissions must be a subset of the caller's.")
            .body::<users::NewUser>()
            .created::<users::User>("The user.")
            .errors(&[409]),
        op("GET", "/api/users/{id}", "getUser", "One user").ok::<users::User>("The user."),
        op("PATCH", "/api/users/{id}", "updateUser", "Change a user")
            .describe("Absent fields stay; `\"groupId\": null` removes the group.")
            .body::<users::UserUpdate>()
            .ok::<users::User>("The user.")
            .errors(&[409]),
        op("DELETE", "/api/users/{id}", "deleteUser", "Delete a user")
            .describe("Not oneself, not the last SuperAdmin.")
            .no_content("Deleted.")
            .errors(&[409]),
        op("POST", "/api/users/{id}/reset-2fa", "resetUserTwoFactor", "Turn a user's 2FA off")
            .ok::<users::User>("The user, 2FA off."),
        op("GET", "/api/groups", "listGroups", "Every group, by name")
            .ok::<Vec<groups::Group>>("Groups with effective permissions and member counts."),
        op("POST", "/api/groups", "createGroup", "Create a group")
            .body::<groups::NewGroup>()
            .created::<groups::Group>("The group.")
            .errors(&[409]),
        op("GET", "/api/groups/{id}", "getGroup", "One group").ok::<groups::Group>("The group."),
        op("PATCH", "/api/groups/{id}", "updateGroup", "Change a group")
            .describe("SuperAdmin cannot be edited.")
            .body::<groups::GroupUpdate>()
            .ok::<groups::Group>("The group.")
            .errors(&[409]),
        op("DELETE", "/api/groups/{id}", "deleteGroup", "Delete a group")
            .describe("Not SuperAdmin, not a group with members.")
            .no_content("Deleted.")
            .errors(&[409]),
        op("GET", "/api/profile", "getProfile", "The caller's own user").ok::<users::User>("The caller."),
        op("PATCH", "/api/profile", "updateProfile", "Change one's own name, email or display preferences")
            .describe("`name` needs `profile:update_name`, `email` `profile:update_email`; the display preferences only a session.")
            .body::<users::ProfileUpdate>()
            .ok::<users::User>("The caller.")
            .errors(&[409]),
        op("POST", "/api/profile/password", "changePassword", "Change one's own password")
            .describe("Every other session of the user ends.")
            .body::<users::PasswordChange>()
            .no_content("Changed."),
        op("GET", "/api/api-keys", "listApiKeys", "The caller's API keys, newest first")
            .ok::<Vec<api_keys::ApiKey>>("Keys (never the secret)."),
        op("POST", "/api/api-keys", "createApiKey", "Create an API key")
            .describe("The permissions must be a subset of the caller's. The answer carries the full key in `key`, this once.")
            .body::<api_keys::NewApiKeyRequest>()
            .created::<api_keys::CreatedApiKey>("The key, with its secret."),
        op("DELETE", "/api/api-keys/{id}", "deleteApiKey", "Delete one of the caller's API keys")
            .no_content("Deleted."),
    ]
}

fn system() -> Vec<Op> {
    vec![
        op("GET", "/api/health", "getHealth", "Liveness of the database and the worker")
            .ok::<dbackup_core::health::HealthReport>("Healthy.")
            .json::<dbackup_core::health::HealthReport>(503, "Unhealthy (database unreachable or not migrated)."),
        op("GET", "/api/audit", "listAudit", "The audit log, newest first")
            .query::<String>("resource", false, "Only this resource.")
            .query::<String>("action", false, "Only this action.")
            .query::<String>("userId", false, "Only this user's actions.")
            .query::<String>("from", false, "Inclusive lower bound (ISO 8601 date or date-time).")
            .query::<String>("to", false, "Inclusive upper bound (ISO 8601 date or date-time).")
            .query::<String>("cursor", false, "`nextCursor` of the previous page.")
            .query::<i64>("limit", false, "1–200, default 50.")
            .ok::<audit::AuditPage>("One page."),
        op("GET", "/api/settings", "getSettings", "Every setting with its effective value")
            .ok::<Settings>("Settings."),
        op("PATCH", "/api/settings", "updateSettings", "Change settings")
            .body::<SettingsUpdate>()
            .ok::<Settings>("Every setting after the change."),
        op("GET", "/api/workers", "listWorkers", "The pool of workers: the configured one and the registered ones")
            .describe("`default` is the worker at the `worker_url` variable (capacity `maxConcurrentJobs`, healthy when it answers `/healthz` now); the others registered themselves (docs/WORKER.md, \"A pool of workers\") and are healthy while their heartbeats arrive. `running` counts their Running executions.")
            .ok::<Vec<pool::WorkerView>>("Every worker, the configured one first."),
        op("GET", "/metrics", "getMetrics", "Prometheus metrics")
            .describe("Also open to `Authorization: Bearer <metrics_token>` (the Spin variable `metrics_token`).")
            .raw(200, "text/plain", "Prometheus text exposition format 0.0.4."),
        op("GET", "/api/system/config-backup", "getConfigBackup", "The config self-backup job: configuration, last run, next run")
            .ok::<config::ConfigBackupView>("The system job."),
        op("PUT", "/api/system/config-backup", "updateConfigBackup", "Configure the config self-backup job")
            .describe("Fields absent keep their value. 400 naming the field for a bad cron or timezone, a destination that is not a storage adapter, a missing profile when secrets or password hashes are included, `enabled` without a destination. Audited.")
            .body::<config::ConfigBackupConfig>()
            .ok::<config::ConfigBackupView>("The system job after the change."),
        op("POST", "/api/system/config-backup", "runConfigBackup", "Run the config self-backup now")
            .describe("Synchronous (≤ 60 s): exports settings, adapters, jobs, users, groups, SSO providers and encryption profiles as versioned JSON, GZIP-compressed and encrypted when a profile is set, to `config-backups/` of the destination; keep-N applied afterwards. Audited.")
            .created::<config::run::RunResult>("What was written.")
            .errors(&[502]),
        op("GET", "/api/system/config-backups", "listConfigBackups", "Config backups on a destination, newest first")
            .query::<String>("destinationId", false, "Another storage adapter than the configured one.")
            .ok::<config::objects::ConfigBackupList>("The backups.")
            .errors(&[502]),
        op("POST", "/api/system/config-restore", "restoreConfig", "Restore a config backup (or dry-run it)")
            .describe("JSON names a backup on a destination; alternatively the raw file is the body (`application/octet-stream`, ≤ 32 MiB) with the options in the query. All or nothing: one transaction; entities matched by natural key, ids remapped. Creates or changes only what the caller could through each entity's API (403 naming the entity otherwise, dry runs too); each entity validated as by its API (400 with `details.entity`, `name`, `field`); users whose password hash or group changed are signed out. Audited.")
            .json_or_raw_body::<config::run::RestoreRequest>("application/octet-stream")
            .query::<bool>("dryRun", false, "Upload only: report what would change, change nothing.")
            .query::<String>("encryptionProfileId", false, "Upload only: the profile whose key decrypts it (default: found by the key fingerprint).")
            .ok::<config::RestoreReport>("What changed (or would).")
            .errors(&[413, 422, 502]),
        op("GET", "/api/openapi.json", "getOpenApi", "This OpenAPI 3.1 document")
            .describe("Generated from the route table and the Rust request/response types (`cargo xtask openapi`).")
            .ok::<Value>("The document."),
    ]
}

fn adapters() -> Vec<Op> {
    const PER_KIND: &str = "The adapter's kind decides the permission (`sources:*`, `destinations:*`, `notifications:*`; read for GET and testing a saved adapter, write otherwise).";
    const KINDS: &str = "`database`, `storage` or `notification`.";
    vec![
        op(
            "GET",
            "/api/adapter-types",
            "listAdapterTypes",
            "The adapter registry: every type with its config schema",
        )
        .query::<String>("type", false, KINDS)
        .ok::<Vec<adapter_api::AdapterTypeInfo>>(
            "Adapter types; `schema` is the JSON Schema an adapter's `config` must satisfy.",
        ),
        op(
            "GET",
            "/api/adapters",
            "listAdapters",
            "Configured adapters the caller may read",
        )
        .describe(PER_KIND)
        .query::<String>("type", false, KINDS)
        .ok::<Vec<store::PublicAdapter>>("Adapters (secrets masked as `\"••••\"`)."),
        op(
            "POST",
            "/api/adapters",
            "createAdapter",
            "Configure an adapter",
        )
        .describe(PER_KIND)
        .body::<adapter_api::NewAdapter>()
        .created::<store::PublicAdapter>("The adapter (secrets masked).")
        .errors(&[409]),
        op(
            "POST",
            "/api/adapters/test",
            "testUnsavedAdapter",
            "Test a configuration without saving it",
        )
        .describe("Needs the kind's write permission, since it connects wherever the body says.")
        .body::<adapter_api::AdapterTestRequest>()
        .ok::<adapter_api::TestResult>(
            "The test's result (`ok: false` with the reason when it fails).",
        ),
        op("GET", "/api/adapters/{id}", "getAdapter", "One adapter")
            .describe(PER_KIND)
            .ok::<store::PublicAdapter>("The adapter (secrets masked)."),
        op(
            "PUT",
            "/api/adapters/{id}",
            "updateAdapter",
            "Change an adapter",
        )
        .describe(PER_KIND)
        .body::<adapter_api::AdapterUpdate>()
        .ok::<store::PublicAdapter>("The adapter (secrets masked).")
        .errors(&[409]),
        op(
            "DELETE",
            "/api/adapters/{id}",
            "deleteAdapter",
            "Delete an adapter",
        )
        .describe("409 naming the jobs that use it.")
        .no_content("Deleted.")
        .errors(&[409]),
        op(
            "POST",
            "/api/adapters/{id}/test",
            "testAdapter",
            "Test a saved adapter",
        )
        .describe("A database's server version is recorded in its `metadata`.")
        .ok::<adapter_api::TestResult>("The test's result."),
        op(
            "GET",
            "/api/adapters/{id}/databases",
            "listAdapterDatabases",
            "The databases a source's server has",
        )
        .describe(PER_KIND)
        .ok::<Vec<adapter_api::DatabaseInfo>>("Databases.")
        .errors(&[502]),
        op(
            "GET",
            "/api/adapters/{id}/health",
            "getAdapterHealth",
            "An adapter's health history",
        )
        .describe(PER_KIND)
        .query::<String>("from", false, "Inclusive lower bound (ISO 8601).")
        .query::<String>("to", false, "Inclusive upper bound (ISO 8601).")
        .ok::<adapter_api::HealthHistory>("The current state and the checks, oldest first."),
    ]
}

fn vault() -> Vec<Op> {
    vec![
        op("GET", "/api/encryption-profiles", "listEncryptionProfiles", "Encryption profiles (never the key)")
            .ok::<Vec<vault::Profile>>("Profiles, with the jobs that use each."),
        op("POST", "/api/encryption-profiles", "createEncryptionProfile", "Create or import an encryption profile")
            .body::<vault::NewProfile>()
            .created::<vault::Profile>("The profile (never the key).")
            .errors(&[409]),
        op("GET", "/api/encryption-profiles/{id}", "getEncryptionProfile", "One encryption profile")
            .ok::<vault::Profile>("The profile."),
        op("DELETE", "/api/encryption-profiles/{id}", "deleteEncryptionProfile", "Delete an encryption profile")
            .describe("409 naming the jobs that encrypt with it.")
            .no_content("Deleted.")
            .errors(&[409]),
        op("POST", "/api/encryption-profiles/{id}/reveal", "revealEncryptionKey", "Reveal a profile's key")
            .describe("Re-enter the password; a wrong one is a 400. Every attempt is audited (the key never is).")
            .body::<vault::RevealRequest>()
            .ok::<vault::RevealedKey>("The key, hex-encoded."),
        op("GET", "/api/encryption-profiles/{id}/recovery-kit", "getRecoveryKit", "Download a profile's recovery kit (ZIP)")
            .describe("The ZIP holds `key.hex`, a step-by-step README, `FORMAT.md`, `dbackup_decrypt.py` (Python 3 + `cryptography`) and `requirements.txt`. A wrong or missing password is a 400, audited like a failed reveal; success is audited as EXPORT.")
            .header::<String>("X-Confirm-Password", true, "The caller's password.")
            .raw(200, "application/zip", "The kit.")
            .with_header("Content-Disposition", "attachment; filename=\"dbackup-recovery-kit_<name>.zip\""),
    ]
}

fn jobs() -> Vec<Op> {
    vec![
        op("GET", "/api/jobs", "listJobs", "Backup jobs, by name")
            .describe("Without `limit` every job (`nextCursor` null); with `limit` one page, the next one with `cursor`.")
            .query::<i64>("limit", false, "1–200; without it, every job.")
            .query::<String>("cursor", false, "`nextCursor` of the previous page.")
            .ok::<job::JobList>("Jobs."),
        op("POST", "/api/jobs", "createJob", "Create a backup job")
            .describe("The source, destinations, encryption profile and notification channels must exist (400 naming the field).")
            .body::<job::JobInput>()
            .created::<job::JobView>("The job.")
            .errors(&[409]),
        op("GET", "/api/jobs/{id}", "getJob", "One job").ok::<job::JobView>("The job."),
        op("PUT", "/api/jobs/{id}", "updateJob", "Replace a job's configuration")
            .body::<job::JobInput>()
            .ok::<job::JobView>("The job.")
            .errors(&[409]),
        op("DELETE", "/api/jobs/{id}", "deleteJob", "Delete a job (its history stays, detached)")
            .no_content("Deleted."),
        op("POST", "/api/jobs/{id}/run", "runJob", "Run a job now")
            .describe("Queues a Pending execution and starts it on the worker before answering when a slot under maxConcurrentJobs is free and the runner is alive; otherwise the runner starts it once a slot is.")
            .json::<queue::ExecutionAccepted>(202, "Queued.")
            .errors(&[409]),
        op("GET", "/api/jobs/{id}/next-runs", "getJobNextRuns", "A job's next scheduled runs")
            .query::<i64>("count", false, "1–50, default 5.")
            .ok::<job::NextRuns>("Next runs (UTC); empty for a disabled job."),
    ]
}

fn executions() -> Vec<Op> {
    vec![
        op(
            "GET",
            "/api/executions",
            "listExecutions",
            "Executions (backups and restores), newest first",
        )
        .query::<String>("jobId", false, "Only this job's.")
        .query::<String>(
            "status",
            false,
            "`Pending`, `Running`, `Success`, `Partial`, `Failed` or `Cancelled`.",
        )
        .query::<String>("type", false, "`Backup` or `Restore`.")
        .query::<String>("cursor", false, "`nextCursor` of the previous page.")
        .query::<i64>("limit", false, "1–200, default 50.")
        .ok::<execution::ExecutionPage>("One page, without logs."),
        op(
            "GET",
            "/api/executions/{id}",
            "getExecution",
            "One execution with its logs and progress",
        )
        .ok::<execution::ExecutionView>("The execution."),
        op(
            "POST",
            "/api/executions/{id}/cancel",
            "cancelExecution",
            "Cancel a pending or running execution",
        )
        .ok::<execution::ExecutionView>("The execution, Cancelled.")
        .errors(&[409]),
        op(
            "POST",
            "/api/restores",
            "createRestore",
            "Restore a backup into a source",
        )
        .describe("Queues a Restore execution and, like a run now, starts it before answering when a slot is free.")
        .body::<worker_request::RestoreRequest>()
        .json::<queue::ExecutionAccepted>(202, "Queued.")
        .errors(&[409]),
    ]
}

fn storage() -> Vec<Op> {
    vec![
        op(
            "GET",
            "/api/storage/{id}/backups",
            "listBackups",
            "Backups on a destination",
        )
        .query::<String>("jobId", false, "Only this job's backups.")
        .query::<String>("cursor", false, "`nextCursor` of the previous page.")
        .query::<i64>("limit", false, "Page size (1–200, default 50).")
        .ok::<explorer::BackupPage>("One page.")
        .errors(&[502]),
        op(
            "DELETE",
            "/api/storage/{id}/backups",
            "deleteBackup",
            "Delete a backup and its sidecar",
        )
        .query::<String>("path", true, "The backup's object name.")
        .no_content("Deleted.")
        .errors(&[409, 502]),
        op(
            "POST",
            "/api/storage/{id}/backups/lock",
            "lockBackup",
            "Protect a backup from deletion and retention",
        )
        .query::<String>("path", true, "The backup's object name.")
        .ok::<explorer::BackupItem>("The backup, with its new lock state.")
        .errors(&[502]),
        op(
            "POST",
            "/api/storage/{id}/backups/unlock",
            "unlockBackup",
            "Remove a backup's lock",
        )
        .query::<String>("path", true, "The backup's object name.")
        .ok::<explorer::BackupItem>("The backup, with its new lock state.")
        .errors(&[502]),
        op(
            "GET",
            "/api/storage/{id}/download",
            "downloadBackup",
            "Download a backup (streamed)",
        )
        .query::<String>("path", true, "The backup's object name.")
        .query::<bool>(
            "decrypt",
            false,
            "Decrypt with the backup's encryption profile.",
        )
        .raw(200, "application/octet-stream", "The bytes.")
        .with_header("Content-Disposition", "attachment; filename=…")
        .errors(&[502]),
    ]
}
