/**
 * JSON types of the dbackup API: aliases of the types generated from the server's OpenAPI
 * document (`schema.gen.ts`, from docs/openapi.json, itself generated from the Rust types —
 * docs/API.md). Regenerate with `npm run gen:api` (or `cargo xtask openapi`); `tsc` then fails
 * wherever the UI and the API disagree. The few narrowings below only refine what the API types
 * leave free-form (adapter config schemas, worker log entries) or what the job form always sets.
 */
import type { components } from './schema.gen';

type S = components['schemas'];

/** Every error answer: `{"error": ..., "details"?: ...}`. */
export type ErrorBody = S['ErrorBody'];

export type Health = S['HealthReport'];

export type GroupRef = S['GroupRef'];

export type User = S['User'];

export type NewUser = S['NewUser'];

export type UserUpdate = S['UserUpdate'];

export type ProfileUpdate = S['ProfileUpdate'];

export type PasswordChange = S['PasswordChange'];

export type SessionInfo = S['WhoAmI'];

export type SessionRow = S['Session'];

export type LoginAnswer = S['LoginAnswer'];

export type Enrollment = S['Enrollment'];

export type Group = S['Group'];

export type ApiKey = S['ApiKey'];

/** The 201 of `POST /api/api-keys`: the only time the full key is shown. */
export type CreatedApiKey = S['CreatedApiKey'];

export type AuditEntry = S['AuditEntry'];

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface AuditFilter {
  resource?: string;
  action?: string;
  userId?: string;
  from?: string;
  to?: string;
}

/** One worker of the pool (`GET /api/workers`). */
export type WorkerInfo = S['WorkerView'];

/** `GET /api/settings`: the known settings, keyed by name. */
export type Settings = S['Settings'];

/** Permission strings (shared/identity/src/permissions.rs). */
export const PERMISSIONS = [
  'users:read',
  'users:write',
  'groups:read',
  'groups:write',
  'sources:read',
  'sources:write',
  'destinations:read',
  'destinations:write',
  'jobs:read',
  'jobs:write',
  'jobs:execute',
  'storage:read',
  'storage:download',
  'storage:restore',
  'storage:delete',
  'history:read',
  'audit:read',
  'notifications:read',
  'notifications:write',
  'vault:read',
  'vault:write',
  'profile:update_name',
  'profile:update_email',
  'profile:update_password',
  'profile:manage_2fa',
  'profile:manage_passkeys',
  'settings:read',
  'settings:write',
  'api-keys:read',
  'api-keys:write',
] as const;

export type Permission = S['Permission'];

/** Compiles only while `PERMISSIONS` lists exactly the API's permissions. */
const permissionsMatchApi: [(typeof PERMISSIONS)[number]] extends [Permission]
  ? [Permission] extends [(typeof PERMISSIONS)[number]]
    ? true
    : false
  : false = true;
void permissionsMatchApi;

// ---------------------------------------------------------------------------------------------
// Issue 5: adapters and the vault (contract; the API may not be deployed yet).
// ---------------------------------------------------------------------------------------------

export type AdapterKind = S['PublicAdapter']['type'];

/** A JSON Schema subset, as `/api/adapter-types` describes adapter configs. */
export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: (string | number)[];
  default?: unknown;
  format?: string;
  minimum?: number;
  maximum?: number;
  items?: JsonSchema;
  additionalProperties?: boolean | JsonSchema;
  /** Secret fields are write-only: the API answers a mask, never the value. */
  secret?: boolean;
  writeOnly?: boolean;
  'x-secret'?: boolean;
  /** Changing this field drops the kept secrets: they must be entered again. */
  'x-binds-secrets'?: boolean;
}

/** `schema` is the adapter config's JSON Schema (free-form in the API's types). */
export type AdapterType = Omit<S['AdapterTypeInfo'], 'schema' | 'secretFields'> & {
  schema: JsonSchema;
  secretFields?: string[];
};

export type Adapter = S['PublicAdapter'];
export type NewAdapter = S['NewAdapter'];
export type AdapterUpdate = S['AdapterUpdate'];
export type AdapterTestRequest = S['AdapterTestRequest'];

export type AdapterTestResult = S['TestResult'];

export type EncryptionProfile = S['Profile'];

// ---------------------------------------------------------------------------------------------
// Issue 7: jobs and executions (contract; the API may not be deployed yet).
// ---------------------------------------------------------------------------------------------

export type Compression = S['JobView']['compression'];

export type Retention = S['RetentionPolicy'];

export type JobDestination = Omit<S['DestinationInput'], 'retention'> & { retention: Retention };

/** The job editor's body: the API's `JobInput` with the fields the form always sets made required. */
export type JobBody = Omit<S['JobInput'], 'databases' | 'destinations' | 'timezone' | 'compression'> & {
  databases: string[];
  destinations: JobDestination[];
  timezone?: string;
  compression: Compression;
};

export type Job = S['JobView'];

export type ExecutionStatus = S['ExecutionView']['status'];

export interface LogEntry {
  timestamp: string;
  level: string;
  stage?: string;
  message: string;
  details?: unknown;
}

export type Progress = S['Progress'];

/** `logs` are the worker's entries (free-form JSON in the API's types). */
export type Execution = Omit<S['ExecutionView'], 'logs'> & { logs?: LogEntry[] };

// --- passkeys and SSO (issue 4, docs/AUTH.md; shared/identity/src/{passkeys,sso}.rs) ---------

/** One of the caller's passkeys (never the public key). */
export type Passkey = S['Passkey'];

/** `GET /api/auth/passkeys`. */
export type PasskeyList = S['PasskeyOverview'];

/** `GET /api/auth/sso/providers` (public): enabled providers; `id` is the `providerId`. */
export type PublicSsoProvider = S['LoginProvider'];

export type SsoAdapter = 'generic' | 'authentik' | 'keycloak' | 'pocket-id' | 'authelia';

/** `/api/sso-providers` (read: settings:write; write: every permission); the client secret is only `hasClientSecret`. */
export type SsoProvider = S['SsoProvider'];

/** Body of `POST`/`PATCH /api/sso-providers` (absent fields are kept on PATCH). */
export type SsoProviderInput = S['ProviderInput'];

/** `POST /api/profile/accounts/link`: where to send the browser to link a provider. */
export type LinkStart = S['LinkStart'];

/** `GET /api/profile/accounts`: linked SSO accounts and the other ways to sign in. */
export type LinkedAccounts = S['LinkedAccounts'];

// --- v3: adapter databases and health history, config self-backup, recovery kit ---------------
// (components/adapters/src/{probe,crud}.rs; docs/CONTRACTS.md "v3 additions")

/** One entry of `GET /api/adapters/{id}/databases`. */
export type DatabaseInfo = S['DatabaseInfo'];

/** One health check (`HealthCheckLog`). */
export type HealthCheck = S['HealthEntry'];

/** `GET /api/adapters/{id}/health?from&to`: checks oldest first and the current state. */
export type AdapterHealth = S['HealthHistory'];

/** The config self-backup job (`configBackup` setting). */
export type ConfigBackupConfig = S['ConfigBackupConfig'];

/** `GET`/`PUT /api/system/config-backup`. */
export type ConfigBackupState = S['ConfigBackupView'];

/** 201 of `POST /api/system/config-backup` (run now). */
export type ConfigBackupRun = S['RunResult'];

/** `GET /api/system/config-backups`. */
export type ConfigBackupList = S['ConfigBackupList'];

export type ConfigChangeAction = S['ChangeAction'];

/** 200 of `POST /api/system/config-restore`. */
export type ConfigRestoreResult = S['RestoreReport'];
