// Generated from docs/openapi.json by openapi-typescript (npm run gen:api; `cargo xtask openapi`
// regenerates both). Do not edit: change the Rust types, then regenerate.
export interface paths {
    "/api/adapter-types": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The adapter registry: every type with its config schema
         * @description **Access:** any signed-in user or API key (`authenticated`).
         */
        get: operations["listAdapterTypes"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/adapters": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Configured adapters the caller may read
         * @description The adapter's kind decides the permission (`sources:*`, `destinations:*`, `notifications:*`; read for GET and testing a saved adapter, write otherwise).
         *
         *     **Access:** any signed-in user or API key (`authenticated`).
         */
        get: operations["listAdapters"];
        put?: never;
        /**
         * Configure an adapter
         * @description The adapter's kind decides the permission (`sources:*`, `destinations:*`, `notifications:*`; read for GET and testing a saved adapter, write otherwise).
         *
         *     **Access:** any signed-in user or API key (`authenticated`).
         */
        post: operations["createAdapter"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/adapters/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One adapter
         * @description The adapter's kind decides the permission (`sources:*`, `destinations:*`, `notifications:*`; read for GET and testing a saved adapter, write otherwise).
         *
         *     **Access:** any signed-in user or API key (`authenticated`).
         */
        get: operations["getAdapter"];
        /**
         * Change an adapter
         * @description The adapter's kind decides the permission (`sources:*`, `destinations:*`, `notifications:*`; read for GET and testing a saved adapter, write otherwise).
         *
         *     **Access:** any signed-in user or API key (`authenticated`).
         */
        put: operations["updateAdapter"];
        post?: never;
        /**
         * Delete an adapter
         * @description 409 naming the jobs that use it.
         *
         *     **Access:** any signed-in user or API key (`authenticated`).
         */
        delete: operations["deleteAdapter"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/adapters/{id}/databases": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The databases a source's server has
         * @description The adapter's kind decides the permission (`sources:*`, `destinations:*`, `notifications:*`; read for GET and testing a saved adapter, write otherwise).
         *
         *     **Access:** any signed-in user or API key (`authenticated`).
         */
        get: operations["listAdapterDatabases"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/adapters/{id}/health": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * An adapter's health history
         * @description The adapter's kind decides the permission (`sources:*`, `destinations:*`, `notifications:*`; read for GET and testing a saved adapter, write otherwise).
         *
         *     **Access:** any signed-in user or API key (`authenticated`).
         */
        get: operations["getAdapterHealth"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/adapters/{id}/test": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Test a saved adapter
         * @description A database's server version is recorded in its `metadata`.
         *
         *     **Access:** any signed-in user or API key (`authenticated`).
         */
        post: operations["testAdapter"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/adapters/test": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Test a configuration without saving it
         * @description Needs the kind's write permission, since it connects wherever the body says.
         *
         *     **Access:** any signed-in user or API key (`authenticated`).
         */
        post: operations["testUnsavedAdapter"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/api-keys": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The caller's API keys, newest first
         * @description **Access:** requires the permission `api-keys:read`.
         */
        get: operations["listApiKeys"];
        put?: never;
        /**
         * Create an API key
         * @description The permissions must be a subset of the caller's. The answer carries the full key in `key`, this once.
         *
         *     **Access:** requires the permission `api-keys:write`.
         */
        post: operations["createApiKey"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/api-keys/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Delete one of the caller's API keys
         * @description **Access:** requires the permission `api-keys:write`.
         */
        delete: operations["deleteApiKey"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/audit": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The audit log, newest first
         * @description **Access:** requires the permission `audit:read`.
         */
        get: operations["listAudit"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/2fa/backup-codes": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Replace the backup codes
         * @description **Access:** requires the permission `profile:manage_2fa`.
         */
        post: operations["regenerateBackupCodes"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/2fa/disable": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Turn TOTP off
         * @description **Access:** requires the permission `profile:manage_2fa`.
         */
        post: operations["disableTwoFactor"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/2fa/enroll": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Start TOTP enrolment
         * @description **Access:** requires the permission `profile:manage_2fa`.
         */
        post: operations["enrollTwoFactor"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/2fa/verify": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Confirm TOTP enrolment with a code
         * @description **Access:** requires the permission `profile:manage_2fa`.
         */
        post: operations["verifyTwoFactor"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/login": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Sign in with email and password
         * @description Answers either the signed-in user and session (cookie set) or, when 2FA is on, `twoFactorRequired: true` with a challenge for `POST /api/auth/login/2fa`. Repeated failures lock the account or throttle the address (429 with `Retry-After`).
         *
         *     **Access:** public (no credentials).
         */
        post: operations["login"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/login/2fa": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Complete a login with a TOTP or backup code
         * @description **Access:** public (no credentials).
         */
        post: operations["loginSecondFactor"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/logout": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * End the current session
         * @description **Access:** any signed-in user or API key (`authenticated`).
         */
        post: operations["logout"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/passkeys": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The caller's passkeys
         * @description **Access:** requires the permission `profile:manage_passkeys`.
         */
        get: operations["listPasskeys"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/passkeys/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Delete a passkey
         * @description **Access:** requires the permission `profile:manage_passkeys`.
         */
        delete: operations["deletePasskey"];
        options?: never;
        head?: never;
        /**
         * Rename a passkey
         * @description **Access:** requires the permission `profile:manage_passkeys`.
         */
        patch: operations["renamePasskey"];
        trace?: never;
    };
    "/api/auth/passkeys/login/options": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * WebAuthn options for a passkey sign-in
         * @description Empty body for passwordless login (403 while `auth.disablePasskeyLogin`), or the challenge of a password login to use a passkey as the second factor.
         *
         *     **Access:** public (no credentials).
         */
        post: operations["passkeyLoginOptions"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/passkeys/login/verify": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Sign in with a passkey assertion
         * @description **Access:** public (no credentials).
         */
        post: operations["passkeyLoginVerify"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/passkeys/register/options": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * WebAuthn options to register a passkey
         * @description **Access:** requires the permission `profile:manage_passkeys`.
         */
        post: operations["passkeyRegisterOptions"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/passkeys/register/verify": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Register a passkey from an attestation
         * @description **Access:** requires the permission `profile:manage_passkeys`.
         */
        post: operations["passkeyRegisterVerify"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/passkeys/two-factor": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Use passkeys as the second factor, or stop
         * @description **Access:** requires the permission `profile:manage_passkeys`.
         */
        post: operations["setPasskeyTwoFactor"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/session": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Who is calling, with which permissions
         * @description **Access:** any signed-in user or API key (`authenticated`).
         */
        get: operations["getSession"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/sessions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The caller's live sessions, newest first
         * @description **Access:** any signed-in user or API key (`authenticated`).
         */
        get: operations["listSessions"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/sessions/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * End a session
         * @description One's own sessions; anyone's with `users:write`.
         *
         *     **Access:** any signed-in user or API key (`authenticated`).
         */
        delete: operations["revokeSession"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/setup-status": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Whether the first user still has to sign up
         * @description **Access:** public (no credentials).
         */
        get: operations["getSetupStatus"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/signup": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Create the first user (a SuperAdmin), signed in
         * @description Only while no user exists (403 afterwards).
         *
         *     **Access:** public (no credentials).
         */
        post: operations["signup"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/sso/{id}/callback": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The identity provider's redirect back (browser navigation)
         * @description Needs the state cookie of the browser that started the flow. An existing account is reached only through a linked identity, or by verified email when the provider is trusted for email linking; an account with 2FA continues at `/login#twoFactorChallenge=…&methods=…` (SSO replaces the password, not the second factor). A link started from the profile ends at `/profile?linked=<providerId>`.
         *
         *     **Access:** public (no credentials).
         */
        get: operations["ssoCallback"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/sso/{id}/start": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Begin an SSO login (browser navigation)
         * @description The redirect URI sent to the provider is `{public_url}/api/auth/sso/{id}/callback` (the configured public URL, else `app_url`; never the request's Host).
         *
         *     **Access:** public (no credentials).
         */
        get: operations["startSso"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/auth/sso/providers": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Enabled SSO providers, for the login page
         * @description **Access:** public (no credentials).
         */
        get: operations["listLoginSsoProviders"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/encryption-profiles": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Encryption profiles (never the key)
         * @description **Access:** requires the permission `vault:read`.
         */
        get: operations["listEncryptionProfiles"];
        put?: never;
        /**
         * Create or import an encryption profile
         * @description **Access:** requires the permission `vault:write`.
         */
        post: operations["createEncryptionProfile"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/encryption-profiles/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One encryption profile
         * @description **Access:** requires the permission `vault:read`.
         */
        get: operations["getEncryptionProfile"];
        put?: never;
        post?: never;
        /**
         * Delete an encryption profile
         * @description 409 naming the jobs that encrypt with it.
         *
         *     **Access:** requires the permission `vault:write`.
         */
        delete: operations["deleteEncryptionProfile"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/encryption-profiles/{id}/recovery-kit": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Download a profile's recovery kit (ZIP)
         * @description The ZIP holds `key.hex`, a step-by-step README, `FORMAT.md`, `dbackup_decrypt.py` (Python 3 + `cryptography`) and `requirements.txt`. A wrong or missing password is a 400, audited like a failed reveal; success is audited as EXPORT.
         *
         *     **Access:** requires the permission `vault:write`.
         */
        get: operations["getRecoveryKit"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/encryption-profiles/{id}/reveal": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Reveal a profile's key
         * @description Re-enter the password; a wrong one is a 400. Every attempt is audited (the key never is).
         *
         *     **Access:** requires the permission `vault:write`.
         */
        post: operations["revealEncryptionKey"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/executions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Executions (backups and restores), newest first
         * @description **Access:** requires the permission `history:read`.
         */
        get: operations["listExecutions"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/executions/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One execution with its logs and progress
         * @description **Access:** requires the permission `history:read`.
         */
        get: operations["getExecution"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/executions/{id}/cancel": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Cancel a pending or running execution
         * @description **Access:** requires the permission `jobs:execute`.
         */
        post: operations["cancelExecution"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/groups": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Every group, by name
         * @description **Access:** requires the permission `groups:read`.
         */
        get: operations["listGroups"];
        put?: never;
        /**
         * Create a group
         * @description **Access:** requires the permission `groups:write`.
         */
        post: operations["createGroup"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/groups/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One group
         * @description **Access:** requires the permission `groups:read`.
         */
        get: operations["getGroup"];
        put?: never;
        post?: never;
        /**
         * Delete a group
         * @description Not SuperAdmin, not a group with members.
         *
         *     **Access:** requires the permission `groups:write`.
         */
        delete: operations["deleteGroup"];
        options?: never;
        head?: never;
        /**
         * Change a group
         * @description SuperAdmin cannot be edited.
         *
         *     **Access:** requires the permission `groups:write`.
         */
        patch: operations["updateGroup"];
        trace?: never;
    };
    "/api/health": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Liveness of the database and the worker
         * @description **Access:** public (no credentials).
         */
        get: operations["getHealth"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/jobs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Backup jobs, by name
         * @description Without `limit` every job (`nextCursor` null); with `limit` one page, the next one with `cursor`.
         *
         *     **Access:** requires the permission `jobs:read`.
         */
        get: operations["listJobs"];
        put?: never;
        /**
         * Create a backup job
         * @description The source, destinations, encryption profile and notification channels must exist (400 naming the field).
         *
         *     **Access:** requires the permission `jobs:write`.
         */
        post: operations["createJob"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/jobs/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One job
         * @description **Access:** requires the permission `jobs:read`.
         */
        get: operations["getJob"];
        /**
         * Replace a job's configuration
         * @description **Access:** requires the permission `jobs:write`.
         */
        put: operations["updateJob"];
        post?: never;
        /**
         * Delete a job (its history stays, detached)
         * @description **Access:** requires the permission `jobs:write`.
         */
        delete: operations["deleteJob"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/jobs/{id}/next-runs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A job's next scheduled runs
         * @description **Access:** requires the permission `jobs:read`.
         */
        get: operations["getJobNextRuns"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/jobs/{id}/run": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Run a job now
         * @description Queues a Pending execution and starts it on the worker before answering when a slot under maxConcurrentJobs is free and the runner is alive; otherwise the runner starts it once a slot is.
         *
         *     **Access:** requires the permission `jobs:execute`.
         */
        post: operations["runJob"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/openapi.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * This OpenAPI 3.1 document
         * @description Generated from the route table and the Rust request/response types (`cargo xtask openapi`).
         *
         *     **Access:** any signed-in user or API key (`authenticated`).
         */
        get: operations["getOpenApi"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/profile": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The caller's own user
         * @description **Access:** any signed-in user or API key (`authenticated`).
         */
        get: operations["getProfile"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /**
         * Change one's own name, email or display preferences
         * @description `name` needs `profile:update_name`, `email` `profile:update_email`; the display preferences only a session.
         *
         *     **Access:** any signed-in user or API key (`authenticated`).
         */
        patch: operations["updateProfile"];
        trace?: never;
    };
    "/api/profile/accounts": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The caller's linked SSO accounts
         * @description **Access:** any signed-in user or API key (`authenticated`).
         */
        get: operations["listLinkedAccounts"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/profile/accounts/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Unlink an SSO account
         * @description **Access:** any signed-in user or API key (`authenticated`).
         */
        delete: operations["unlinkAccount"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/profile/accounts/link": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Start linking an SSO identity to the caller's account
         * @description Answers the provider's authorization URL for the browser to visit and sets the state cookie. The callback links the identity only in a session of the same user, then redirects to `/profile?linked=<providerId>` (or `/profile?error=<code>`). 400 naming `providerId` for an unknown or disabled provider.
         *
         *     **Access:** any signed-in user or API key (`authenticated`).
         */
        post: operations["linkAccount"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/profile/password": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Change one's own password
         * @description Every other session of the user ends.
         *
         *     **Access:** requires the permission `profile:update_password`.
         */
        post: operations["changePassword"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/restores": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Restore a backup into a source
         * @description Queues a Restore execution and, like a run now, starts it before answering when a slot is free.
         *
         *     **Access:** requires the permission `storage:restore`.
         */
        post: operations["createRestore"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/settings": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Every setting with its effective value
         * @description **Access:** requires the permission `settings:read`.
         */
        get: operations["getSettings"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /**
         * Change settings
         * @description **Access:** requires the permission `settings:write`.
         */
        patch: operations["updateSettings"];
        trace?: never;
    };
    "/api/sso-providers": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * SSO providers (admin)
         * @description **Access:** requires the permission `settings:write`.
         */
        get: operations["listSsoProviders"];
        put?: never;
        /**
         * Add an SSO provider
         * @description Needs every permission (a SuperAdmin): a provider decides who signs in. 403 otherwise, also with `settings:write`.
         *
         *     **Access:** requires the permission `settings:write`.
         */
        post: operations["createSsoProvider"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/sso-providers/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One SSO provider
         * @description **Access:** requires the permission `settings:write`.
         */
        get: operations["getSsoProvider"];
        put?: never;
        post?: never;
        /**
         * Delete an SSO provider
         * @description Needs every permission (a SuperAdmin), like creating one.
         *
         *     **Access:** requires the permission `settings:write`.
         */
        delete: operations["deleteSsoProvider"];
        options?: never;
        head?: never;
        /**
         * Change an SSO provider
         * @description Absent fields stay. Needs every permission (a SuperAdmin), like creating one.
         *
         *     **Access:** requires the permission `settings:write`.
         */
        patch: operations["updateSsoProvider"];
        trace?: never;
    };
    "/api/storage/{id}/backups": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Backups on a destination
         * @description **Access:** requires the permission `storage:read`.
         */
        get: operations["listBackups"];
        put?: never;
        post?: never;
        /**
         * Delete a backup and its sidecar
         * @description **Access:** requires the permission `storage:delete`.
         */
        delete: operations["deleteBackup"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/storage/{id}/backups/lock": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Protect a backup from deletion and retention
         * @description **Access:** requires the permission `storage:delete`.
         */
        post: operations["lockBackup"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/storage/{id}/backups/unlock": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Remove a backup's lock
         * @description **Access:** requires the permission `storage:delete`.
         */
        post: operations["unlockBackup"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/storage/{id}/download": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Download a backup (streamed)
         * @description **Access:** requires the permission `storage:download`.
         */
        get: operations["downloadBackup"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/system/config-backup": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The config self-backup job: configuration, last run, next run
         * @description **Access:** requires the permission `settings:read`.
         */
        get: operations["getConfigBackup"];
        /**
         * Configure the config self-backup job
         * @description Fields absent keep their value. 400 naming the field for a bad cron or timezone, a destination that is not a storage adapter, a missing profile when secrets or password hashes are included, `enabled` without a destination. Audited.
         *
         *     **Access:** requires the permission `settings:write`.
         */
        put: operations["updateConfigBackup"];
        /**
         * Run the config self-backup now
         * @description Synchronous (≤ 60 s): exports settings, adapters, jobs, users, groups, SSO providers and encryption profiles as versioned JSON, GZIP-compressed and encrypted when a profile is set, to `config-backups/` of the destination; keep-N applied afterwards. Audited.
         *
         *     **Access:** requires the permission `settings:write`.
         */
        post: operations["runConfigBackup"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/system/config-backups": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Config backups on a destination, newest first
         * @description **Access:** requires the permission `settings:read`.
         */
        get: operations["listConfigBackups"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/system/config-restore": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Restore a config backup (or dry-run it)
         * @description JSON names a backup on a destination; alternatively the raw file is the body (`application/octet-stream`, ≤ 32 MiB) with the options in the query. All or nothing: one transaction; entities matched by natural key, ids remapped. Creates or changes only what the caller could through each entity's API (403 naming the entity otherwise, dry runs too); each entity validated as by its API (400 with `details.entity`, `name`, `field`); users whose password hash or group changed are signed out. Audited.
         *
         *     **Access:** requires the permission `settings:write`.
         */
        post: operations["restoreConfig"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/users": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Every user, by name
         * @description **Access:** requires the permission `users:read`.
         */
        get: operations["listUsers"];
        put?: never;
        /**
         * Create a user
         * @description Nobody grants more than they hold: the group's permissions must be a subset of the caller's.
         *
         *     **Access:** requires the permission `users:write`.
         */
        post: operations["createUser"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/users/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One user
         * @description **Access:** requires the permission `users:read`.
         */
        get: operations["getUser"];
        put?: never;
        post?: never;
        /**
         * Delete a user
         * @description Not oneself, not the last SuperAdmin.
         *
         *     **Access:** requires the permission `users:write`.
         */
        delete: operations["deleteUser"];
        options?: never;
        head?: never;
        /**
         * Change a user
         * @description Absent fields stay; `"groupId": null` removes the group.
         *
         *     **Access:** requires the permission `users:write`.
         */
        patch: operations["updateUser"];
        trace?: never;
    };
    "/api/users/{id}/reset-2fa": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Turn a user's 2FA off
         * @description **Access:** requires the permission `users:write`.
         */
        post: operations["resetUserTwoFactor"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/workers": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The pool of workers: the configured one and the registered ones
         * @description `default` is the worker at the `worker_url` variable (capacity `maxConcurrentJobs`, healthy when it answers `/healthz` now); the others registered themselves (docs/WORKER.md, "A pool of workers") and are healthy while their heartbeats arrive. `running` counts their Running executions.
         *
         *     **Access:** requires the permission `settings:read`.
         */
        get: operations["listWorkers"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Prometheus metrics
         * @description Also open to `Authorization: Bearer <metrics_token>` (the Spin variable `metrics_token`).
         *
         *     **Access:** requires the permission `settings:read`.
         */
        get: operations["getMetrics"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /** @description Body of `POST /api/adapters/test`: a configuration to test without saving it. */
        AdapterTestRequest: {
            adapterId: string;
            /**
             * @description Free-form here: validated against the adapter type's JSON Schema.
             * @default null
             */
            config?: unknown;
            /** @description An existing adapter being edited: `"••••"` in `config` takes its stored secrets. */
            id?: string | null;
            /** @default null */
            name?: string | null;
            type?: string | null;
        };
        /**
         * @description One adapter type of the registry, as `GET /api/adapter-types` lists it (fields in
         *     alphabetical order, as the answer always had them).
         */
        AdapterTypeInfo: {
            /** @description The `adapterId` (`postgres`, `s3`, `webhook`, …). */
            id: string;
            name: string;
            /** @description The JSON Schema (2020-12) of this type's `config`. */
            schema: unknown;
            /** @description Config fields that are secrets: write-only, answered as `"••••"`. */
            secretFields: string[];
            /**
             * @description `database`, `storage` or `notification`.
             * @enum {string}
             */
            type: "database" | "storage" | "notification";
        };
        /**
         * @description Body of `PUT /api/adapters/{id}`: absent fields stay; a secret sent as `"••••"` keeps the
         *     stored one.
         */
        AdapterUpdate: {
            /** @description Accepted when equal to the stored value. */
            adapterId?: string | null;
            /** @description Free-form here: validated against the adapter type's JSON Schema. */
            config?: unknown;
            name?: string | null;
            /** @description Accepted when equal to the stored value (clients send the whole object back). */
            type?: string | null;
        };
        /** @description An API key as the API lists it (never the secret or its hash). */
        ApiKey: {
            createdAt: string;
            expiresAt: string | null;
            id: string;
            lastUsedAt: string | null;
            name: string;
            permissions: components["schemas"]["Permission"][];
            /** @description The lookup prefix, to recognise a key (`dbk_<prefix>_…`). */
            prefix: string;
            userId: string;
        };
        /** @description An audit row as the API shows it. */
        AuditEntry: {
            action: string;
            createdAt: string;
            details: unknown;
            id: string;
            ipAddress: string | null;
            resource: string;
            resourceId: string | null;
            userAgent: string | null;
            userEmail: string | null;
            userId: string | null;
            /** @description The acting user's current name and email (null once the user is deleted). */
            userName: string | null;
        };
        /** @description One page of entries; `next_cursor` fetches the next (older) page, `None` at the end. */
        AuditPage: {
            items: components["schemas"]["AuditEntry"][];
            nextCursor: string | null;
        };
        /** @description `AuthenticatorSelectionCriteria`. */
        AuthenticatorSelection: {
            requireResidentKey: boolean;
            residentKey: string;
            userVerification: string;
        };
        /**
         * @description Answer of `POST /api/auth/2fa/verify` and `POST /api/auth/2fa/backup-codes`: the backup
         *     codes, shown this once.
         */
        BackupCodes: {
            backupCodes: string[];
        };
        /** @description One backup in the storage explorer: the storage's facts plus what its sidecar records. */
        BackupItem: {
            compression: string | null;
            /** @description When the backup was made (the modification time without a sidecar). */
            createdAt: string | null;
            databases: string[];
            encrypted: boolean;
            encryptionProfileId: string | null;
            engine: string | null;
            engineVersion: string | null;
            executionId: string | null;
            format: string | null;
            /** @description Whether a sidecar (`.meta.json`) describes it. */
            hasMetadata: boolean;
            jobId: string | null;
            jobName: string | null;
            keyFingerprint: string | null;
            /** @description Locked backups are never deleted (by hand or by retention). */
            locked: boolean;
            modifiedAt: string | null;
            /**
             * @description `dbackup` for a backup DBackup wrote (restored with a "DBackup import" profile, or with
             *     `acceptUnauthenticated` when not encrypted); absent for ours.
             */
            origin?: string | null;
            /** @description The object name (pass as `?path=`). */
            path: string;
            sha256: string | null;
            /** Format: uint64 */
            size: number;
            sourceId: string | null;
        };
        /** @description One page of the storage explorer. */
        BackupPage: {
            items: components["schemas"]["BackupItem"][];
            /** @description Pass as `cursor` for the next page; null at the end. */
            nextCursor: string | null;
            /**
             * Format: uint
             * @description Backups in the listing (before paging).
             */
            total: number;
        };
        /**
         * @description The body of `POST /api/restores`, as documented (OpenAPI); [`RestoreParams::from_body`]
         *     validates it field by field (400 naming the field).
         */
        BackupRestoreRequest: {
            /**
             * @description A DBackup backup that is not encrypted cannot be authenticated: restore it anyway
             *     (audited). Default false: refused.
             * @default null
             */
            acceptUnauthenticated?: boolean | null;
            /**
             * @description `{from: to}` database renames.
             * @default null
             */
            databaseMapping?: {
                [key: string]: string;
            } | null;
            /** @description The storage destination holding the backup. */
            destinationId: string;
            /**
             * @description A DBackup backup (docs/STORAGE.md "Coming from DBackup"): the "DBackup import" profile
             *     holding its key; absent = the only such profile.
             * @default null
             */
            encryptionProfileId?: string | null;
            /**
             * @description Restore even where the worker's version check refuses (a dump of a newer server major).
             * @default null
             */
            force?: boolean | null;
            /**
             * @description Files sources only: replace existing files (never directories); default false.
             * @default null
             */
            overwrite?: boolean | null;
            /** @description The backup's object name, relative to the destination. */
            path: string;
            /**
             * @description A backup made with a write-only (public-key) encryption profile: the X25519 private key
             *     of that profile's key pair, 64 hex characters. Used for this restore only: sealed while
             *     it waits for a worker, erased once the worker took the task, never logged or shown.
             * @default null
             */
            privateKey?: string | null;
            /**
             * @description `{user, password?}`: the account that creates the target database (which is then
             *     handed to the target's own user); the password is sealed at rest and never shown.
             *     `true`/`false` (the older flag) is accepted and sends no account.
             */
            privileged?: components["schemas"]["PrivilegedInput"] | null;
            /**
             * @description Files sources only (required there): the absolute directory on the worker's machine
             *     the archive is restored into (inside its allowed roots; created if missing).
             * @default null
             */
            targetPath?: string | null;
            /** @description The database source to restore into. */
            targetSourceId: string;
        };
        /** @description One entry of the change list. */
        Change: {
            action: components["schemas"]["ChangeAction"];
            /** @description `setting`, `adapter`, `encryptionProfile`, `group`, `user`, `ssoProvider` or `job`. */
            entity: string;
            /** @description The natural key (setting key, name, fingerprint, email, providerId). */
            name: string;
            reason?: string | null;
        };
        /**
         * @description What a restore does to one entity.
         * @enum {string}
         */
        ChangeAction: "create" | "update" | "unchanged" | "skip";
        /** @description Changes per action. */
        ChangeCounts: {
            /** Format: uint */
            create: number;
            /** Format: uint */
            skip: number;
            /** Format: uint */
            unchanged: number;
            /** Format: uint */
            update: number;
        };
        /** @description The system job's configuration (`GET/PUT /api/system/config-backup` `config`). */
        ConfigBackupConfig: {
            /** @description The storage adapter that receives `config-backups/…`. */
            destinationId: string | null;
            enabled: boolean;
            /** @description Encrypts the backup; required with `includeSecrets` or `includePasswordHashes`. */
            encryptionProfileId: string | null;
            includePasswordHashes: boolean;
            includeSecrets: boolean;
            /**
             * Format: uint32
             * @description Config backups kept on the destination (1–1000); older ones are deleted after a success.
             */
            keep: number;
            /** @description Cron expression (5 or 6 fields, or a preset). */
            schedule: string;
            /** @description IANA timezone of the schedule. */
            timezone: string;
        };
        /** @description The system job's configuration (`GET/PUT /api/system/config-backup` `config`). */
        ConfigBackupConfigInput: {
            /** @description The storage adapter that receives `config-backups/…`. */
            destinationId?: string | null;
            enabled: boolean;
            /** @description Encrypts the backup; required with `includeSecrets` or `includePasswordHashes`. */
            encryptionProfileId?: string | null;
            includePasswordHashes: boolean;
            includeSecrets: boolean;
            /**
             * Format: uint32
             * @description Config backups kept on the destination (1–1000); older ones are deleted after a success.
             */
            keep: number;
            /** @description Cron expression (5 or 6 fields, or a preset). */
            schedule: string;
            /** @description IANA timezone of the schedule. */
            timezone: string;
        };
        /** @description One config backup on a destination. */
        ConfigBackupItem: {
            encrypted: boolean;
            modifiedAt: string;
            name: string;
            /** Format: uint64 */
            size: number;
        };
        /** @description `GET /api/system/config-backups`. */
        ConfigBackupList: {
            /** @description Newest first. */
            backups: components["schemas"]["ConfigBackupItem"][];
            destinationId: string | null;
        };
        /** @description `GET /api/system/config-backup`. */
        ConfigBackupView: {
            config: components["schemas"]["ConfigBackupConfig"];
            lastRun: components["schemas"]["LastRun"] | null;
            /** @description The next scheduled run (RFC 3339), `null` when disabled. */
            nextRunAt: string | null;
        };
        /** @description A key just created: the only time its full `token` is available. */
        CreatedApiKey: {
            createdAt: string;
            expiresAt: string | null;
            id: string;
            /**
             * @description `dbk_<prefix>_<secret>`: show once, never log. Serialized as `key`, the only time an
             *     answer carries it.
             */
            key: string;
            lastUsedAt: string | null;
            name: string;
            permissions: components["schemas"]["Permission"][];
            /** @description The lookup prefix, to recognise a key (`dbk_<prefix>_…`). */
            prefix: string;
            userId: string;
        };
        /** @description `PublicKeyCredentialCreationOptions` in JSON form (`navigator.credentials.create`). */
        CreationOptions: {
            attestation: string;
            authenticatorSelection: components["schemas"]["AuthenticatorSelection"];
            /** @description base64url. */
            challenge: string;
            excludeCredentials: components["schemas"]["CredentialDescriptor"][];
            pubKeyCredParams: components["schemas"]["CredentialParameter"][];
            rp: components["schemas"]["RpEntity"];
            /**
             * Format: int64
             * @description Milliseconds.
             */
            timeout: number;
            user: components["schemas"]["UserEntity"];
        };
        /** @description A `PublicKeyCredential` as JSON (`toJSON()` form, binary fields base64url). */
        Credential: {
            id: string;
            /** @default null */
            rawId?: string | null;
            response: components["schemas"]["CredentialResponse"];
            /** @default null */
            type?: string | null;
        };
        /** @description A credential (`PublicKeyCredentialDescriptor`, JSON form). */
        CredentialDescriptor: {
            /** @description base64url. */
            id: string;
            transports: string[];
            /** @description Always `public-key`. */
            type: string;
        };
        /** @description An accepted algorithm (`PublicKeyCredentialParameters`). */
        CredentialParameter: {
            /**
             * Format: int64
             * @description COSE algorithm id.
             */
            alg: number;
            /** @description Always `public-key`. */
            type: string;
        };
        /**
         * @description The `response` of a [`Credential`]: attestation fields for registration, assertion fields
         *     for login.
         */
        CredentialResponse: {
            /** @default null */
            attestationObject?: string | null;
            /** @default null */
            authenticatorData?: string | null;
            clientDataJSON: string;
            /** @default null */
            signature?: string | null;
            /** @default null */
            transports?: string[] | null;
            /** @default null */
            userHandle?: string | null;
        };
        /** @description A database a source's server has (`GET /api/adapters/{id}/databases`). */
        DatabaseInfo: {
            name: string;
            /**
             * @description A system database (`postgres`, `mysql`, `admin`, …).
             * @default false
             */
            system: boolean;
        };
        /** @description One destination of a job, with its retention. */
        DestinationInput: {
            destinationId: string;
            /**
             * @description Absent: `{"mode": "NONE"}`.
             * @default null
             */
            retention?: components["schemas"]["RetentionPolicyInput"];
        };
        /** @description Answer of `POST /api/auth/2fa/enroll`. */
        Enrollment: {
            /** @description `otpauth://` URI for a QR code. */
            otpauthUri: string;
            /** @description Base32 secret for manual entry. */
            secret: string;
        };
        /** @description Body of `POST /api/auth/2fa/enroll`. */
        EnrollRequest: {
            password: string;
        };
        /** @description The JSON body of every error answer (4xx and 5xx). */
        ErrorBody: {
            /**
             * @description Machine-readable context when there is some, e.g. `{"field": "name"}` for a 400 on
             *     one field.
             */
            details?: unknown;
            /** @description What went wrong, for people (never internals for a 5xx). */
            error: string;
        };
        /** @description The answer of `POST /api/jobs/{id}/run` and `POST /api/restores` (202): the queued execution. */
        ExecutionAccepted: {
            executionId: string;
        };
        /** @description One page of executions. */
        ExecutionPage: {
            items: components["schemas"]["ExecutionView"][];
            /** @description Pass as `cursor` for the next (older) page; null at the end. */
            nextCursor: string | null;
        };
        /** @description The last execution of a job, short form (`lastExecution` of a job). */
        ExecutionRef: {
            endedAt: string | null;
            id: string;
            startedAt: string;
            /** @enum {string} */
            status: "Pending" | "Running" | "Success" | "Partial" | "Failed" | "Cancelled";
        };
        /** @description An execution (backup or restore) as `GET /api/executions[/{id}]` shows it. */
        ExecutionView: {
            endedAt: string | null;
            /** @description Why it failed. */
            error: string | null;
            id: string;
            jobId: string | null;
            /** @description The job's current name (null once the job is deleted). */
            jobName: string | null;
            /** @description The log entries (`GET /api/executions/{id}` only). */
            logs?: unknown[] | null;
            /** @description The backup's object name. */
            path: string | null;
            progress: components["schemas"]["Progress"];
            /** @description The worker's result (sizes, checksums, per-destination outcome). */
            result: unknown;
            /** @description What retention did after the backup. */
            retention: unknown;
            scheduledFor: string | null;
            /**
             * Format: int64
             * @description Bytes stored (backups).
             */
            size: number | null;
            startedAt: string;
            /**
             * @description `Pending`, `Running`, `Success`, `Partial`, `Failed` or `Cancelled`.
             * @enum {string}
             */
            status: "Pending" | "Running" | "Success" | "Partial" | "Failed" | "Cancelled";
            /** @description `Scheduler`, `Manual` or `Api`. */
            trigger: string | null;
            /**
             * @description `Backup` or `Restore`.
             * @enum {string}
             */
            type: "Backup" | "Restore";
            /**
             * @description A backup's read-back check per destination after upload, in the job's destination
             *     order (null for restores and until the result is in).
             */
            verification: components["schemas"]["VerificationDoc"][] | null;
            /**
             * @description The pool member that runs or ran it: `default` (the configured `worker_url`) or a
             *     registered worker's id (`GET /api/workers`); null until dispatched.
             */
            workerId: string | null;
            /** @description That worker's name. */
            workerName: string | null;
        };
        /** @description The SMART tiers. */
        Gfs: {
            /**
             * Format: uint32
             * @default 0
             */
            daily: number;
            /**
             * Format: uint32
             * @default 0
             */
            monthly: number;
            /**
             * Format: uint32
             * @default 0
             */
            weekly: number;
            /**
             * Format: uint32
             * @default 0
             */
            yearly: number;
        };
        /** @description The SMART tiers. */
        GfsInput: {
            /**
             * Format: uint32
             * @default 0
             */
            daily?: number;
            /**
             * Format: uint32
             * @default 0
             */
            monthly?: number;
            /**
             * Format: uint32
             * @default 0
             */
            weekly?: number;
            /**
             * Format: uint32
             * @default 0
             */
            yearly?: number;
        };
        /** @description A group as the API shows it. */
        Group: {
            createdAt: string;
            id: string;
            /** Format: int64 */
            memberCount: number;
            name: string;
            /** @description Effective permissions (every permission for SuperAdmin). */
            permissions: components["schemas"]["Permission"][];
            updatedAt: string;
        };
        /** @description The group a user belongs to, as shown with the user. */
        GroupRef: {
            id: string;
            name: string;
        };
        /** @description Body of `PATCH /api/groups/{id}`: absent fields stay. */
        GroupUpdate: {
            name?: string | null;
            permissions?: components["schemas"]["Permission"][] | null;
        };
        /** @description One health check of an adapter. */
        HealthEntry: {
            createdAt: string | null;
            error: string | null;
            /** Format: int64 */
            latencyMs: number | null;
            /** @description `ONLINE`, `DEGRADED` or `OFFLINE`. */
            status: string | null;
        };
        /** @description `GET /api/adapters/{id}/health`: the current state and the check history, oldest first. */
        HealthHistory: {
            adapterId: string;
            /** Format: int64 */
            consecutiveFailures: number | null;
            /** @description At most 5000 checks. */
            entries: components["schemas"]["HealthEntry"][];
            lastHealthCheck: string | null;
            status: string | null;
        };
        /** @description The body of `GET /api/health` (200 and 503 alike). */
        HealthReport: {
            /** @description `ok`, `not migrated` or `unavailable`. */
            database: string;
            /**
             * Format: int64
             * @description The last applied migration (null when the database is unavailable).
             */
            schemaVersion: number | null;
            /** @description `ok` or `unavailable`. */
            status: string;
            /** @description The app's version. */
            version: string;
            /** @description `ok` or `unreachable`. */
            worker: string;
        };
        /** @description One destination of a job as shown, with its retention and position. */
        JobDestinationView: {
            destinationId: string;
            /** Format: uint */
            position: number;
            retention: components["schemas"]["RetentionPolicy"];
        };
        /** @description The request body of `POST /api/jobs` and `PUT /api/jobs/{id}` (PUT replaces the job). */
        JobInput: {
            /**
             * @description `NONE`, `GZIP`, `ZSTD` or `BROTLI`; absent: `ZSTD` at level 3 (multi-threaded; the
             *     fastest and smallest in docs/BENCH.md's compression table).
             * @default null
             */
            compression?: string | null;
            /**
             * Format: int64
             * @description Absent: the worker's default for the compression (3 for ZSTD, 6 for GZIP).
             * @default null
             */
            compressionLevel?: number | null;
            /** @default [] */
            databases?: string[];
            destinations: components["schemas"]["DestinationInput"][];
            /** @default null */
            enabled?: boolean | null;
            /** @default null */
            encryptionProfileId?: string | null;
            name: string;
            /** @default null */
            notificationEvents?: string | null;
            /** @default [] */
            notificationIds?: string[];
            schedule: string;
            sourceId: string;
            /** @default null */
            timezone?: string | null;
            /**
             * @description Read every destination's object back after upload and check it (chunks authenticated,
             *     SHA-256 compared); absent: on. Off saves a second transfer of each object.
             * @default null
             */
            verifyAfterUpload?: boolean | null;
        };
        /** @description `GET /api/jobs`. */
        JobList: {
            items: components["schemas"]["JobView"][];
            /**
             * @description With `limit`: pass as `cursor` for the next page; null at the end and without `limit`
             *     (which lists every job).
             */
            nextCursor: string | null;
        };
        /** @description A job that uses an adapter or key. */
        JobRef: {
            id: string;
            name: string;
        };
        /** @description A job as the API shows it. */
        JobView: {
            /**
             * @description `NONE`, `GZIP`, `ZSTD` or `BROTLI`.
             * @enum {string}
             */
            compression: "NONE" | "GZIP" | "ZSTD" | "BROTLI";
            /** Format: int64 */
            compressionLevel: number | null;
            createdAt: string;
            /** @description Databases to back up (empty: all). */
            databases: string[];
            /** @description The first destination's id (compatibility with single-destination clients). */
            destinationId: string | null;
            destinations: components["schemas"]["JobDestinationView"][];
            enabled: boolean;
            encryptionProfileId: string | null;
            id: string;
            lastExecution: components["schemas"]["ExecutionRef"] | null;
            name: string;
            /** @description The next scheduled run (UTC), null when disabled. */
            nextRunAt: string | null;
            /**
             * @description `ALWAYS`, `FAILURE_ONLY` or `SUCCESS_ONLY`.
             * @enum {string}
             */
            notificationEvents: "ALWAYS" | "FAILURE_ONLY" | "SUCCESS_ONLY";
            notificationIds: string[];
            /** @description The first destination's retention (`{"mode": "NONE"}` without destinations). */
            retention: components["schemas"]["RetentionPolicy"];
            /** @description Cron expression (5 or 6 fields, or `@daily`-style). */
            schedule: string;
            sourceId: string;
            /** @description IANA timezone the schedule runs in. */
            timezone: string;
            updatedAt: string;
            /** @description Each destination's object is read back after upload and checked (default true). */
            verifyAfterUpload: boolean;
        };
        /** @description Outcome of the last run. */
        LastRun: {
            /** @description When it ended (RFC 3339). */
            at: string;
            error?: string | null;
            objectName?: string | null;
            /** Format: uint64 */
            size?: number | null;
            /** @description `success` or `failed`. */
            status: string;
        };
        /** @description One SSO account linked to a user. */
        LinkedAccount: {
            /** @description The subject at the identity provider. */
            accountId: string;
            createdAt: string;
            id: string;
            providerId: string;
            /** @description Null when the provider was deleted. */
            providerName: string | null;
        };
        /**
         * @description `GET /api/profile/accounts`: the linked accounts and the other ways to sign in (unlinking
         *     the last way is refused).
         */
        LinkedAccounts: {
            accounts: components["schemas"]["LinkedAccount"][];
            hasPassword: boolean;
            /**
             * Format: uint
             * @description How many passkeys the user has.
             */
            passkeys: number;
        };
        /** @description Body of `POST /api/profile/accounts/link`. */
        LinkRequest: {
            /** @description The provider to link (its `providerId`). */
            providerId: string;
        };
        /** @description Answer of `POST /api/profile/accounts/link`. */
        LinkStart: {
            /** @description The provider's authorization URL: send the browser there (the state cookie is set). */
            url: string;
        };
        /** @description `POST /api/auth/login`'s answer: signed in, or a second factor is required. */
        LoginAnswer: components["schemas"]["SignedIn"] | components["schemas"]["SecondFactorChallenge"];
        /**
         * @description Body of `POST /api/auth/passkeys/login/options`: empty for passwordless login, or the
         *     challenge a password login answered with, to use a passkey as the second factor.
         */
        LoginOptionsRequest: {
            /** @default null */
            twoFactorChallenge?: string | null;
        };
        /** @description An enabled provider as the login page shows it. */
        LoginProvider: {
            /** @description `generic`, `keycloak`, `authentik`, … */
            adapter: string;
            /** @description The `providerId` (used in `/api/auth/sso/{id}/start`). */
            id: string;
            name: string;
        };
        /** @description Body of `POST /api/auth/login`. */
        LoginRequest: {
            email: string;
            password: string;
        };
        /** @description Body of `POST /api/adapters`. */
        NewAdapter: {
            adapterId: string;
            /**
             * @description Free-form here: validated against the adapter type's JSON Schema
             *     (`GET /api/adapter-types`), 400 naming the field.
             * @default null
             */
            config?: unknown;
            name: string;
            /** @description `database`, `storage` or `notification`; when given it must match the adapter type's. */
            type?: string | null;
        };
        /** @description Body of `POST /api/api-keys`. */
        NewApiKeyRequest: {
            /**
             * @description ISO-8601 UTC (`2025-01-01T00:00:00Z`); absent or null: never expires.
             * @default null
             */
            expiresAt?: string | null;
            name: string;
            /** @default [] */
            permissions?: components["schemas"]["Permission"][];
        };
        /** @description Body of `POST /api/groups`. */
        NewGroup: {
            name: string;
            /** @default [] */
            permissions?: components["schemas"]["Permission"][];
        };
        /** @description Body of `POST /api/encryption-profiles`. */
        NewProfile: {
            description?: string | null;
            /** @description 64 hex characters to import; absent: a random key is generated. */
            key?: string | null;
            /**
             * @description `symmetric` (default), `dbackup-import` (a DBackup profile's key, 64 hex characters
             *     in `key`, required: it only reads DBackup's backups and is never offered to a job) or
             *     `public` (write-only: only `publicKey` is stored; backups are sealed to it and only the
             *     matching private key, which the server never sees, opens them).
             * @default null
             */
            kind?: string | null;
            name: string;
            /**
             * @description `kind: "public"` only (required there): the X25519 public key, 64 hex characters
             *     (`dbackup-recover keygen`'s `publicKey`, or generated in the browser).
             * @default null
             */
            publicKey?: string | null;
        };
        /** @description Body of `POST /api/users` (and, without `groupId`, of sign-up). */
        NewUser: {
            email: string;
            /** @default null */
            groupId?: string | null;
            name: string;
            password: string;
        };
        /** @description `GET /api/jobs/{id}/next-runs`. */
        NextRuns: {
            enabled: boolean;
            jobId: string;
            /** @description ISO 8601 UTC times; empty for a disabled job. */
            runs: string[];
            timezone: string;
        };
        /** @description A passkey as the API shows it (never the public key). */
        Passkey: {
            aaguid: string | null;
            /**
             * Format: int64
             * @description COSE algorithm id (-7 ES256, -8 EdDSA, -257 RS256).
             */
            alg: number | null;
            backedUp: boolean;
            createdAt: string | null;
            /** @description base64url. */
            credentialId: string;
            deviceType: string;
            id: string;
            lastUsedAt: string | null;
            name: string | null;
            transports: string[];
        };
        /** @description Body of `POST /api/auth/passkeys/login/verify`. */
        PasskeyLoginRequest: {
            credential: components["schemas"]["Credential"];
            /** @default null */
            twoFactorChallenge?: string | null;
        };
        /** @description `GET /api/auth/passkeys`: the caller's passkeys and whether they are the second factor. */
        PasskeyOverview: {
            passkeys: components["schemas"]["Passkey"][];
            passkeyTwoFactor: boolean;
        };
        /** @description Body of `POST /api/profile/password`. */
        PasswordChange: {
            currentPassword: string;
            newPassword: string;
        };
        /** @enum {string} */
        Permission: "users:read" | "users:write" | "groups:read" | "groups:write" | "sources:read" | "sources:write" | "destinations:read" | "destinations:write" | "jobs:read" | "jobs:write" | "jobs:execute" | "storage:read" | "storage:download" | "storage:restore" | "storage:delete" | "history:read" | "audit:read" | "notifications:read" | "notifications:write" | "vault:read" | "vault:write" | "profile:update_name" | "profile:update_email" | "profile:update_password" | "profile:manage_2fa" | "profile:manage_passkeys" | "settings:read" | "settings:write" | "api-keys:read" | "api-keys:write";
        /** @description `privileged` in `POST /api/restores`. */
        PrivilegedInput: boolean | {
            /**
             * @description Its password (sealed at rest, never shown).
             * @default null
             */
            password?: string | null;
            /** @description Its login. */
            user: string;
        };
        /** @description A profile as answers show it (never the key). */
        Profile: {
            createdAt: string;
            description: string | null;
            /** @description 16 hex characters, as in backup headers. */
            fingerprint: string;
            id: string;
            /** @description Jobs that encrypt with this profile. */
            jobs: components["schemas"]["JobRef"][];
            /**
             * @description [`KIND_SYMMETRIC`] (our backups), [`KIND_DBACKUP_IMPORT`] (reads DBackup's backups
             *     only) or `public` (write-only).
             */
            kind: string;
            name: string;
            updatedAt: string;
        };
        /** @description Body of `PATCH /api/profile`: a user's own name, email and display preferences. */
        ProfileUpdate: {
            dateFormat?: string | null;
            email?: string | null;
            name?: string | null;
            timeFormat?: string | null;
            timezone?: string | null;
        };
        /** @description Progress of a running execution, from the worker's progress events (null until known). */
        Progress: {
            /** Format: int64 */
            bytesIn: number | null;
            /** Format: int64 */
            bytesOut: number | null;
            /** Format: double */
            percent: number | null;
            /** Format: double */
            rateBytesPerSec: number | null;
            /** @description `dump`, `compress`, `encrypt`, `upload`, … */
            stage: string | null;
        };
        /** @description Body of `POST /api/sso-providers` and `PATCH /api/sso-providers/{id}` (absent fields stay). */
        ProviderInput: {
            adapter?: string | null;
            allowProvisioning?: boolean | null;
            authorizationEndpoint?: string | null;
            baseUrl?: string | null;
            clientId?: string | null;
            clientSecret?: string | null;
            domain?: string | null;
            enabled?: boolean | null;
            issuer?: string | null;
            jwksEndpoint?: string | null;
            name?: string | null;
            providerId?: string | null;
            realm?: string | null;
            slug?: string | null;
            tokenEndpoint?: string | null;
            /** @description Link a sign-in to the existing account with the same verified email (default false). */
            trustEmailLinking?: boolean | null;
            userInfoEndpoint?: string | null;
        };
        /** @description The public (masked) form of an adapter. */
        PublicAdapter: {
            adapterId: string;
            config: {
                [key: string]: unknown;
            };
            /** Format: int64 */
            consecutiveFailures: number;
            createdAt: string;
            id: string;
            lastHealthCheck: string | null;
            lastStatus: string;
            metadata: {
                [key: string]: unknown;
            };
            name: string;
            /**
             * @description `database`, `storage` or `notification`.
             * @enum {string}
             */
            type: "database" | "storage" | "notification";
            updatedAt: string;
        };
        /**
         * @description Proof of presence for disabling 2FA or regenerating backup codes: the password or a current
         *     code (TOTP or backup).
         */
        Reauth: {
            code?: string | null;
            password?: string | null;
        };
        /** @description Body of `POST /api/auth/passkeys/register/verify`. */
        RegisterRequest: {
            credential: components["schemas"]["Credential"];
            /** @default null */
            name?: string | null;
        };
        /** @description Body of `PATCH /api/auth/passkeys/{id}`. */
        Rename: {
            name: string;
        };
        /** @description `PublicKeyCredentialRequestOptions` in JSON form (`navigator.credentials.get`). */
        RequestOptions: {
            /** @description Empty for passwordless login (discoverable credentials). */
            allowCredentials: components["schemas"]["CredentialDescriptor"][];
            /** @description base64url. */
            challenge: string;
            rpId: string;
            /**
             * Format: int64
             * @description Milliseconds.
             */
            timeout: number;
            userVerification: string;
        };
        /** @description `POST /api/system/config-restore`. */
        RestoreReport: {
            changes: components["schemas"]["Change"][];
            counts: components["schemas"]["ChangeCounts"];
            createdAt: string;
            dryRun: boolean;
            /** Format: uint32 */
            formatVersion: number;
            warnings: string[];
        };
        /**
         * @description JSON body of `POST /api/system/config-restore` (an upload sends the file as the body and
         *     these options in the query).
         */
        RestoreRequest: {
            /** @default false */
            dryRun?: boolean;
            /**
             * @description The profile whose key decrypts the backup; default: found by the header's fingerprint.
             * @default null
             */
            encryptionProfileId?: string | null;
            source: components["schemas"]["RestoreSource"];
        };
        /** @description Where a restore reads the backup from. */
        RestoreSource: {
            /** @description A storage adapter. */
            destinationId: string;
            /** @description Object name under the destination (`config-backups/…`). */
            name: string;
        };
        /** @description Which backups of a destination to keep: NONE (all), SIMPLE (the newest `keepCount`), SMART (grandfather-father-son tiers). */
        RetentionPolicy: {
            /** @constant */
            mode: "NONE";
        } | {
            /** @constant */
            mode: "SIMPLE";
            simple: {
                keepCount: number;
            };
        } | {
            /** @constant */
            mode: "SMART";
            smart: components["schemas"]["Gfs"];
        };
        /** @description Which backups of a destination to keep: NONE (all), SIMPLE (the newest `keepCount`), SMART (grandfather-father-son tiers). */
        RetentionPolicyInput: {
            /** @constant */
            mode: "NONE";
        } | {
            /** @constant */
            mode: "SIMPLE";
            simple: {
                keepCount: number;
            };
        } | {
            /** @constant */
            mode: "SMART";
            smart: components["schemas"]["GfsInput"];
        };
        /** @description Answer of `POST /api/encryption-profiles/{id}/reveal`. */
        RevealedKey: {
            /** @description 16 hex characters, as in backup headers. */
            fingerprint: string;
            id: string;
            /** @description The 32-byte key, 64 hex characters. */
            key: string;
            name: string;
        };
        /** @description Body of `POST /api/encryption-profiles/{id}/reveal`: the caller's password again. */
        RevealRequest: {
            password: string;
        };
        /** @description The relying party (`PublicKeyCredentialRpEntity`). */
        RpEntity: {
            id: string;
            name: string;
        };
        /** @description `POST /api/system/config-backup` (201). */
        RunResult: {
            /** @description Entities exported, per kind. */
            counts: {
                [key: string]: unknown;
            };
            destinationId: string;
            encrypted: boolean;
            objectName: string;
            sha256: string;
            /** Format: uint64 */
            size: number;
        };
        /** @description The answer of `POST /api/auth/login` when a second factor is needed. */
        SecondFactorChallenge: {
            /**
             * @description Send back with the code to `POST /api/auth/login/2fa` (or as `twoFactorChallenge` for a
             *     passkey).
             */
            challenge: string;
            /** @description `totp` and/or `passkey`: what the account accepts. */
            methods: ("totp" | "passkey")[];
            /**
             * @description Always `true` here.
             * @constant
             */
            twoFactorRequired: true;
        };
        /** @description Body of `POST /api/auth/login/2fa`. */
        SecondFactorRequest: {
            challenge: string;
            code: string;
        };
        /** @description A session as the API shows it (the row's `token` column is never shown). */
        Session: {
            createdAt: string;
            /** @description Whether this is the session making the request (set by [`list_for_user`]). */
            current: boolean;
            expiresAt: string;
            id: string;
            ipAddress: string | null;
            /** @description Last refresh of the sliding expiry. */
            updatedAt: string;
            userAgent: string | null;
            userId: string;
        };
        /** @description The current session, as shown by [`WhoAmI`]. */
        SessionRef: {
            expiresAt: string;
            id: string;
        };
        /** @description Every setting with its effective value (the default when unset). */
        Settings: {
            /** @default 90 */
            auditLogRetentionDays: number;
            /** @default false */
            "auth.disablePasskeyLogin": boolean;
            /** @default 60 */
            healthCheckInterval: number;
            /** @default 3600 */
            healthReminderInterval: number;
            /** @default 1 */
            maxConcurrentJobs: number;
            /**
             * @description An IANA timezone name, e.g. `Europe/Berlin`.
             * @default UTC
             */
            "scheduler.timezone": string;
            /** @default 168 */
            sessionLifetimeHours: number;
            /** @default 10 */
            stallTimeoutMinutes: number;
            /**
             * @description Ids of notification adapters that receive system events.
             * @default []
             */
            systemNotificationChannels: string[];
        };
        /** @description Any subset of the settings; unknown keys are a 400. Every change is audited with its old and new value. */
        SettingsUpdate: {
            /** @default 90 */
            auditLogRetentionDays?: number;
            /** @default false */
            "auth.disablePasskeyLogin"?: boolean;
            /** @default 60 */
            healthCheckInterval?: number;
            /** @default 3600 */
            healthReminderInterval?: number;
            /** @default 1 */
            maxConcurrentJobs?: number;
            /**
             * @description An IANA timezone name, e.g. `Europe/Berlin`.
             * @default UTC
             */
            "scheduler.timezone"?: string;
            /** @default 168 */
            sessionLifetimeHours?: number;
            /** @default 10 */
            stallTimeoutMinutes?: number;
            /**
             * @description Ids of notification adapters that receive system events.
             * @default []
             */
            systemNotificationChannels?: string[];
        };
        /** @description `GET /api/auth/setup-status`. */
        SetupStatus: {
            /** @description No user exists yet: the UI shows the first-run sign-up. */
            needsSetup: boolean;
            /** @description Passwordless passkey sign-in is allowed (`auth.disablePasskeyLogin` off). */
            passkeyLogin: boolean;
        };
        /**
         * @description The answer of a completed sign-in (`POST /api/auth/login` without 2FA, `…/login/2fa`,
         *     `…/passkeys/login/verify`); the session cookie is set with it.
         */
        SignedIn: {
            session: components["schemas"]["SessionRef"];
            /**
             * @description Always `false` here.
             * @constant
             */
            twoFactorRequired: false;
            user: components["schemas"]["User"];
        };
        /** @description Body of `POST /api/auth/signup`. */
        SignupRequest: {
            email: string;
            name: string;
            password: string;
        };
        /** @description An SSO provider as the admin API shows it (`hasClientSecret` instead of the secret). */
        SsoProvider: {
            adapter: string;
            adapterConfig: unknown;
            allowProvisioning: boolean;
            authorizationEndpoint: string | null;
            clientId: string | null;
            createdAt: string;
            domain: string | null;
            enabled: boolean;
            hasClientSecret: boolean;
            id: string;
            issuer: string | null;
            jwksEndpoint: string | null;
            name: string;
            providerId: string;
            tokenEndpoint: string | null;
            /** @description Whether a verified email links a sign-in to the existing account (off: owners link). */
            trustEmailLinking: boolean;
            updatedAt: string;
            userInfoEndpoint: string | null;
        };
        /** @description The answer of a connection test. */
        TestResult: {
            /** @description Databases the probe saw (database adapters only). */
            databases?: components["schemas"]["DatabaseInfo"][] | null;
            edition?: string | null;
            /** Format: uint64 */
            latencyMs: number;
            message: string;
            ok: boolean;
            /** @description The server's version (database sources). */
            version?: string | null;
        };
        /** @description Body of `POST /api/auth/passkeys/two-factor`. */
        TwoFactorToggle: {
            enabled: boolean;
        };
        /** @description A user as the API shows it (never any secret). */
        User: {
            createdAt: string;
            dateFormat: string;
            email: string;
            emailVerified: boolean;
            group: components["schemas"]["GroupRef"] | null;
            groupId: string | null;
            id: string;
            image: string | null;
            name: string;
            timeFormat: string;
            timezone: string;
            twoFactorEnabled: boolean;
            updatedAt: string;
        };
        /** @description The user (`PublicKeyCredentialUserEntity`, id base64url). */
        UserEntity: {
            displayName: string;
            id: string;
            name: string;
        };
        /** @description Body of `PATCH /api/users/{id}`: absent fields stay; `"groupId": null` removes the group. */
        UserUpdate: {
            dateFormat?: string | null;
            email?: string | null;
            /** @default null */
            groupId?: string | null;
            name?: string | null;
            timeFormat?: string | null;
            timezone?: string | null;
        };
        /**
         * @description `verification[]` of an execution, for the API document (the value is the worker's
         *     `dbackup_protocol::tasks::Verification`, stored as it arrived).
         */
        VerificationDoc: {
            /** @description When the check ended. */
            checkedAt: string;
            /** @description The destination (adapter config id). */
            destinationId: string;
            /** @description What was checked, or why it failed or was skipped. */
            detail: string;
            /**
             * @description `Verified`: read back whole, every container chunk authenticated (encrypted backups)
             *     and the SHA-256 equal to the one computed while writing; `Failed`: different or
             *     unreadable (the destination then counts as failed); `Skipped`: not read back
             *     (verification off for the job, or the upload failed).
             * @enum {string}
             */
            status: "Verified" | "Failed" | "Skipped";
        };
        /** @description Body of `POST /api/auth/2fa/verify`. */
        VerifyRequest: {
            code: string;
        };
        /** @description Answer of `GET /api/auth/session`: who is calling and with what. */
        WhoAmI: {
            /**
             * @description `"session"` or `"apiKey"`.
             * @enum {string}
             */
            authenticatedBy: "session" | "apiKey";
            /** @description Effective permissions, as strings. */
            permissions: components["schemas"]["Permission"][];
            /** @description The cookie session's id and expiry (null for API keys). */
            session: components["schemas"]["SessionRef"] | null;
            user: components["schemas"]["User"];
        };
        /** @description A worker as `GET /api/workers` shows it. */
        WorkerView: {
            /**
             * Format: int64
             * @description Tasks it runs at once (`maxConcurrentJobs` for the configured worker).
             */
            capacity: number;
            /**
             * @description The configured worker: it answered `/healthz` just now; a registered one: its last
             *     heartbeat is younger than three heartbeat intervals and no call to it went unanswered
             *     since.
             */
            healthy: boolean;
            /** @description `default` for the configured worker (`worker_url`), else the registered worker's id. */
            id: string;
            labels: string[];
            /** @description Its last registration (null for the configured worker). */
            lastSeenAt: string | null;
            name: string;
            /**
             * Format: int64
             * @description Its Running executions.
             */
            running: number;
            url: string;
            version: string | null;
        };
    };
    responses: {
        /** @description An outbound service (worker, storage, identity provider) failed. */
        BadGateway: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["ErrorBody"];
            };
        };
        /** @description Invalid input: malformed JSON, a bad field (named in `details.field`), an unknown key. */
        BadRequest: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["ErrorBody"];
            };
        };
        /** @description The resource's state forbids it (in use, locked, already exists, …). */
        Conflict: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["ErrorBody"];
            };
        };
        /** @description Any other error (5xx: `{"error": "internal error"}`, details only in the server log). */
        Error: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["ErrorBody"];
            };
        };
        /** @description Authenticated, but lacking the permission (or a state-changing cookie request without `X-Requested-With`/same `Origin`). */
        Forbidden: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["ErrorBody"];
            };
        };
        /** @description An outbound call took too long. */
        GatewayTimeout: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["ErrorBody"];
            };
        };
        /** @description No such resource (or not visible to the caller). */
        NotFound: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["ErrorBody"];
            };
        };
        /** @description The body is larger than allowed. */
        PayloadTooLarge: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["ErrorBody"];
            };
        };
        /** @description A dependency is unavailable (database not migrated, worker not configured). */
        ServiceUnavailable: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["ErrorBody"];
            };
        };
        /** @description Throttled; `Retry-After` says when to try again. */
        TooManyRequests: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["ErrorBody"];
            };
        };
        /** @description No valid session cookie or API key. */
        Unauthorized: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["ErrorBody"];
            };
        };
        /** @description Well-formed but refused by the target (e.g. a connection test that fails, a wrong key). */
        UnprocessableEntity: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["ErrorBody"];
            };
        };
    };
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    listAdapterTypes: {
        parameters: {
            query?: {
                /** @description `database`, `storage` or `notification`. */
                type?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Adapter types; `schema` is the JSON Schema an adapter's `config` must satisfy. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AdapterTypeInfo"][];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    listAdapters: {
        parameters: {
            query?: {
                /** @description `database`, `storage` or `notification`. */
                type?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Adapters (secrets masked as `"••••"`). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PublicAdapter"][];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    createAdapter: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["NewAdapter"];
            };
        };
        responses: {
            /** @description The adapter (secrets masked). */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PublicAdapter"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    getAdapter: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The adapter (secrets masked). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PublicAdapter"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    updateAdapter: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["AdapterUpdate"];
            };
        };
        responses: {
            /** @description The adapter (secrets masked). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PublicAdapter"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    deleteAdapter: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    listAdapterDatabases: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Databases. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DatabaseInfo"][];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            502: components["responses"]["BadGateway"];
            default: components["responses"]["Error"];
        };
    };
    getAdapterHealth: {
        parameters: {
            query?: {
                /** @description Inclusive lower bound (ISO 8601). */
                from?: string;
                /** @description Inclusive upper bound (ISO 8601). */
                to?: string;
            };
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The current state and the checks, oldest first. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HealthHistory"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    testAdapter: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The test's result. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TestResult"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    testUnsavedAdapter: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["AdapterTestRequest"];
            };
        };
        responses: {
            /** @description The test's result (`ok: false` with the reason when it fails). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TestResult"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    listApiKeys: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Keys (never the secret). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ApiKey"][];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    createApiKey: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["NewApiKeyRequest"];
            };
        };
        responses: {
            /** @description The key, with its secret. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CreatedApiKey"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    deleteApiKey: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    listAudit: {
        parameters: {
            query?: {
                /** @description Only this action. */
                action?: string;
                /** @description `nextCursor` of the previous page. */
                cursor?: string;
                /** @description Inclusive lower bound (ISO 8601 date or date-time). */
                from?: string;
                /** @description 1–200, default 50. */
                limit?: number;
                /** @description Only this resource. */
                resource?: string;
                /** @description Inclusive upper bound (ISO 8601 date or date-time). */
                to?: string;
                /** @description Only this user's actions. */
                userId?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AuditPage"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    regenerateBackupCodes: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["Reauth"];
            };
        };
        responses: {
            /** @description The new backup codes, shown this once. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BackupCodes"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    disableTwoFactor: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["Reauth"];
            };
        };
        responses: {
            /** @description 2FA is off. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    enrollTwoFactor: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["EnrollRequest"];
            };
        };
        responses: {
            /** @description The secret and its otpauth:// URI (for a QR code). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Enrollment"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    verifyTwoFactor: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["VerifyRequest"];
            };
        };
        responses: {
            /** @description 2FA is on; the backup codes, shown this once. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BackupCodes"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    login: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["LoginRequest"];
            };
        };
        responses: {
            /** @description Signed in (cookie set), or a second factor is required. */
            200: {
                headers: {
                    /** @description The session cookie (`dbackup_session`, HttpOnly, SameSite=Lax). */
                    "Set-Cookie"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LoginAnswer"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            429: components["responses"]["TooManyRequests"];
            default: components["responses"]["Error"];
        };
    };
    loginSecondFactor: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SecondFactorRequest"];
            };
        };
        responses: {
            /** @description Signed in. */
            200: {
                headers: {
                    /** @description The session cookie (`dbackup_session`, HttpOnly, SameSite=Lax). */
                    "Set-Cookie"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SignedIn"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            429: components["responses"]["TooManyRequests"];
            default: components["responses"]["Error"];
        };
    };
    logout: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Signed out; the cookie is deleted. */
            204: {
                headers: {
                    /** @description Deletes the session cookie. */
                    "Set-Cookie"?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    listPasskeys: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Passkeys and whether they serve as a second factor. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PasskeyOverview"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    deletePasskey: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted (the last one also turns passkey 2FA off). */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    renamePasskey: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["Rename"];
            };
        };
        responses: {
            /** @description The renamed passkey. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Passkey"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    passkeyLoginOptions: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["LoginOptionsRequest"];
            };
        };
        responses: {
            /** @description `PublicKeyCredentialRequestOptions` in JSON form. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RequestOptions"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    passkeyLoginVerify: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["PasskeyLoginRequest"];
            };
        };
        responses: {
            /** @description Signed in. */
            200: {
                headers: {
                    /** @description The session cookie (`dbackup_session`, HttpOnly, SameSite=Lax). */
                    "Set-Cookie"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SignedIn"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            429: components["responses"]["TooManyRequests"];
            default: components["responses"]["Error"];
        };
    };
    passkeyRegisterOptions: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description `PublicKeyCredentialCreationOptions` in JSON form. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CreationOptions"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    passkeyRegisterVerify: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RegisterRequest"];
            };
        };
        responses: {
            /** @description The new passkey. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Passkey"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    setPasskeyTwoFactor: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["TwoFactorToggle"];
            };
        };
        responses: {
            /** @description The passkey overview. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PasskeyOverview"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    getSession: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The caller. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WhoAmI"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    listSessions: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Sessions; `current` marks the calling one. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Session"][];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    revokeSession: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Revoked. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    getSetupStatus: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Setup state. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SetupStatus"];
                };
            };
            default: components["responses"]["Error"];
        };
    };
    signup: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SignupRequest"];
            };
        };
        responses: {
            /** @description The new user; the session cookie is set. */
            201: {
                headers: {
                    /** @description The session cookie (`dbackup_session`, HttpOnly, SameSite=Lax). */
                    "Set-Cookie"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["User"];
                };
            };
            400: components["responses"]["BadRequest"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["TooManyRequests"];
            default: components["responses"]["Error"];
        };
    };
    ssoCallback: {
        parameters: {
            query?: {
                /** @description Authorization code. */
                code?: string;
                /** @description The provider's error code, if it refused. */
                error?: string;
                /** @description The state the start stored. */
                state?: string;
            };
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Redirect into the UI: signed in, to the second factor, or with `?error=<code>` (docs/AUTH.md). */
            302: {
                headers: {
                    /** @description Where the browser goes next. */
                    Location?: string;
                    /** @description The session cookie (`dbackup_session`, HttpOnly, SameSite=Lax). */
                    "Set-Cookie"?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    startSso: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Redirect to the identity provider. */
            302: {
                headers: {
                    /** @description The provider's authorization URL. */
                    Location?: string;
                    /** @description The SSO state cookie (`dbackup_sso_state`, HttpOnly, SameSite=Lax, sent only to the provider's callback path, 10 minutes): the callback refuses a state this browser did not start. */
                    "Set-Cookie"?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    listLoginSsoProviders: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Providers (id, name, adapter). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LoginProvider"][];
                };
            };
            default: components["responses"]["Error"];
        };
    };
    listEncryptionProfiles: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Profiles, with the jobs that use each. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Profile"][];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    createEncryptionProfile: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["NewProfile"];
            };
        };
        responses: {
            /** @description The profile (never the key). */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Profile"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    getEncryptionProfile: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The profile. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Profile"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    deleteEncryptionProfile: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    getRecoveryKit: {
        parameters: {
            query?: never;
            header: {
                /** @description The caller's password. */
                "X-Confirm-Password": string;
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The kit. */
            200: {
                headers: {
                    /** @description attachment; filename="dbackup-recovery-kit_<name>.zip" */
                    "Content-Disposition"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/zip": string;
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    revealEncryptionKey: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RevealRequest"];
            };
        };
        responses: {
            /** @description The key, hex-encoded. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RevealedKey"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    listExecutions: {
        parameters: {
            query?: {
                /** @description `nextCursor` of the previous page. */
                cursor?: string;
                /** @description Only this job's. */
                jobId?: string;
                /** @description 1–200, default 50. */
                limit?: number;
                /** @description `Pending`, `Running`, `Success`, `Partial`, `Failed` or `Cancelled`. */
                status?: string;
                /** @description `Backup` or `Restore`. */
                type?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page, without logs. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionPage"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    getExecution: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The execution. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionView"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    cancelExecution: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The execution, Cancelled. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionView"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    listGroups: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Groups with effective permissions and member counts. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Group"][];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    createGroup: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["NewGroup"];
            };
        };
        responses: {
            /** @description The group. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Group"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    getGroup: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The group. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Group"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    deleteGroup: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    updateGroup: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["GroupUpdate"];
            };
        };
        responses: {
            /** @description The group. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Group"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    getHealth: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Healthy. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HealthReport"];
                };
            };
            /** @description Unhealthy (database unreachable or not migrated). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HealthReport"];
                };
            };
            default: components["responses"]["Error"];
        };
    };
    listJobs: {
        parameters: {
            query?: {
                /** @description `nextCursor` of the previous page. */
                cursor?: string;
                /** @description 1–200; without it, every job. */
                limit?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Jobs. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["JobList"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    createJob: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["JobInput"];
            };
        };
        responses: {
            /** @description The job. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["JobView"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    getJob: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The job. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["JobView"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    updateJob: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["JobInput"];
            };
        };
        responses: {
            /** @description The job. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["JobView"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    deleteJob: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    getJobNextRuns: {
        parameters: {
            query?: {
                /** @description 1–50, default 5. */
                count?: number;
            };
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Next runs (UTC); empty for a disabled job. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["NextRuns"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    runJob: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Queued. */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionAccepted"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    getOpenApi: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The document. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": unknown;
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    getProfile: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The caller. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["User"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    updateProfile: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ProfileUpdate"];
            };
        };
        responses: {
            /** @description The caller. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["User"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    listLinkedAccounts: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Linked accounts and the other ways to sign in. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LinkedAccounts"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    unlinkAccount: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Unlinked. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    linkAccount: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["LinkRequest"];
            };
        };
        responses: {
            /** @description Where to send the browser. */
            200: {
                headers: {
                    /** @description The SSO state cookie (`dbackup_sso_state`, HttpOnly, SameSite=Lax, sent only to the provider's callback path, 10 minutes): the callback refuses a state this browser did not start. */
                    "Set-Cookie"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LinkStart"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    changePassword: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["PasswordChange"];
            };
        };
        responses: {
            /** @description Changed. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    createRestore: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["BackupRestoreRequest"];
            };
        };
        responses: {
            /** @description Queued. */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionAccepted"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    getSettings: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Settings. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Settings"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    updateSettings: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SettingsUpdate"];
            };
        };
        responses: {
            /** @description Every setting after the change. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Settings"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    listSsoProviders: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every provider; the client secret is never shown. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SsoProvider"][];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    createSsoProvider: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ProviderInput"];
            };
        };
        responses: {
            /** @description The provider. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SsoProvider"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["Conflict"];
            502: components["responses"]["BadGateway"];
            default: components["responses"]["Error"];
        };
    };
    getSsoProvider: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The provider. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SsoProvider"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    deleteSsoProvider: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    updateSsoProvider: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ProviderInput"];
            };
        };
        responses: {
            /** @description The provider. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SsoProvider"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            502: components["responses"]["BadGateway"];
            default: components["responses"]["Error"];
        };
    };
    listBackups: {
        parameters: {
            query?: {
                /** @description `nextCursor` of the previous page. */
                cursor?: string;
                /** @description Only this job's backups. */
                jobId?: string;
                /** @description Page size (1–200, default 50). */
                limit?: number;
            };
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BackupPage"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            502: components["responses"]["BadGateway"];
            default: components["responses"]["Error"];
        };
    };
    deleteBackup: {
        parameters: {
            query: {
                /** @description The backup's object name. */
                path: string;
            };
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            502: components["responses"]["BadGateway"];
            default: components["responses"]["Error"];
        };
    };
    lockBackup: {
        parameters: {
            query: {
                /** @description The backup's object name. */
                path: string;
            };
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The backup, with its new lock state. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BackupItem"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            502: components["responses"]["BadGateway"];
            default: components["responses"]["Error"];
        };
    };
    unlockBackup: {
        parameters: {
            query: {
                /** @description The backup's object name. */
                path: string;
            };
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The backup, with its new lock state. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BackupItem"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            502: components["responses"]["BadGateway"];
            default: components["responses"]["Error"];
        };
    };
    downloadBackup: {
        parameters: {
            query: {
                /** @description Decrypt with the backup's encryption profile. */
                decrypt?: boolean;
                /** @description The backup's object name. */
                path: string;
            };
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The bytes. */
            200: {
                headers: {
                    /** @description attachment; filename=… */
                    "Content-Disposition"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/octet-stream": string;
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            502: components["responses"]["BadGateway"];
            default: components["responses"]["Error"];
        };
    };
    getConfigBackup: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The system job. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ConfigBackupView"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    updateConfigBackup: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ConfigBackupConfigInput"];
            };
        };
        responses: {
            /** @description The system job after the change. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ConfigBackupView"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    runConfigBackup: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description What was written. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RunResult"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            502: components["responses"]["BadGateway"];
            default: components["responses"]["Error"];
        };
    };
    listConfigBackups: {
        parameters: {
            query?: {
                /** @description Another storage adapter than the configured one. */
                destinationId?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The backups. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ConfigBackupList"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            502: components["responses"]["BadGateway"];
            default: components["responses"]["Error"];
        };
    };
    restoreConfig: {
        parameters: {
            query?: {
                /** @description Upload only: report what would change, change nothing. */
                dryRun?: boolean;
                /** @description Upload only: the profile whose key decrypts it (default: found by the key fingerprint). */
                encryptionProfileId?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RestoreRequest"];
                "application/octet-stream": string;
            };
        };
        responses: {
            /** @description What changed (or would). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RestoreReport"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["PayloadTooLarge"];
            422: components["responses"]["UnprocessableEntity"];
            502: components["responses"]["BadGateway"];
            default: components["responses"]["Error"];
        };
    };
    listUsers: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Users. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["User"][];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    createUser: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["NewUser"];
            };
        };
        responses: {
            /** @description The user. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["User"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    getUser: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The user. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["User"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    deleteUser: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    updateUser: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UserUpdate"];
            };
        };
        responses: {
            /** @description The user. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["User"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    resetUserTwoFactor: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The user, 2FA off. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["User"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    listWorkers: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every worker, the configured one first. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WorkerView"][];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    getMetrics: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Prometheus text exposition format 0.0.4. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": string;
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
}
