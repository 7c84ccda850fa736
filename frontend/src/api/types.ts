/**
 * JSON types of the dbackup API, hand-written to mirror the server.
 *
 * THIS FILE IS THE SINGLE PLACE TO REGENERATE FROM OPENAPI once the server publishes a spec.
 * Identity types mirror shared/identity/src (users.rs, groups.rs, api_keys.rs, audit.rs,
 * sessions.rs, settings.rs) and the snapshots in tests/tests/snapshots; adapters, vault, jobs and
 * executions mirror the contracts of issues 5 and 7 (docs/CONTRACTS.md) and may still move.
 */

/** Every error answer: `{"error": ..., "details"?: ...}`. */
export interface ErrorBody {
  error: string;
  details?: unknown;
}

export interface Health {
  status: 'ok' | string;
  database: string;
  worker: string;
  schemaVersion: number | string;
  version: string;
}

export interface GroupRef {
  id: string;
  name: string;
}

export interface User {
  id: string;
  name: string;
  email: string;
  emailVerified: boolean;
  image: string | null;
  timezone: string;
  dateFormat: string;
  timeFormat: string;
  twoFactorEnabled: boolean;
  groupId: string | null;
  group: GroupRef | null;
  createdAt: string;
  updatedAt: string;
}

export interface NewUser {
  name: string;
  email: string;
  password: string;
  groupId?: string | null;
}

export interface UserUpdate {
  name?: string;
  email?: string;
  groupId?: string | null;
  timezone?: string;
  dateFormat?: string;
  timeFormat?: string;
}

export type ProfileUpdate = Omit<UserUpdate, 'groupId'>;

export interface PasswordChange {
  currentPassword: string;
  newPassword: string;
}

export interface SessionInfo {
  authenticatedBy: 'session' | 'apiKey' | string;
  permissions: Permission[];
  session: { id: string; expiresAt: string } | null;
  user: User;
}

export interface SessionRow {
  id: string;
  userId: string;
  ipAddress: string | null;
  userAgent: string | null;
  createdAt: string;
  updatedAt: string;
  expiresAt: string;
  current: boolean;
}

export type LoginAnswer =
  | { twoFactorRequired: true; challenge: string; methods?: ('totp' | 'passkey' | string)[] }
  | { twoFactorRequired: false; user: User; session: { id: string; expiresAt: string } };

export interface Enrollment {
  secret: string;
  otpauthUri: string;
}

export interface Group {
  id: string;
  name: string;
  permissions: Permission[];
  memberCount: number;
  createdAt: string;
  updatedAt: string;
}

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  permissions: Permission[];
  userId: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  createdAt: string;
}

/** The 201 of `POST /api/api-keys`: the only time the full key is shown. */
export interface CreatedApiKey extends ApiKey {
  key: string;
}

export interface AuditEntry {
  id: string;
  userId: string | null;
  userName: string | null;
  userEmail: string | null;
  action: string;
  resource: string;
  resourceId: string | null;
  details: unknown;
  ipAddress: string | null;
  userAgent: string | null;
  createdAt: string;
}

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

/** `GET /api/settings`: the known settings, keyed by name. */
export interface Settings {
  sessionLifetimeHours: number;
  auditLogRetentionDays: number;
  maxConcurrentJobs: number;
  stallTimeoutMinutes: number;
  healthCheckInterval: number;
  healthReminderInterval: number;
  'auth.disablePasskeyLogin': boolean;
  'scheduler.timezone': string;
  systemNotificationChannels: string[];
  [key: string]: number | string | boolean | string[];
}

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

export type Permission = (typeof PERMISSIONS)[number];

// ---------------------------------------------------------------------------------------------
// Issue 5: adapters and the vault (contract; the API may not be deployed yet).
// ---------------------------------------------------------------------------------------------

export type AdapterKind = 'database' | 'storage' | 'notification';

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
}

export interface AdapterType {
  id: string;
  type: AdapterKind;
  name: string;
  schema: JsonSchema;
  /** Names of secret fields, when the server lists them beside the schema. */
  secretFields?: string[];
}

export interface Adapter {
  id: string;
  name: string;
  type: AdapterKind;
  adapterId: string;
  config: Record<string, unknown>;
  lastStatus?: string | null;
  lastHealthCheck?: string | null;
  consecutiveFailures?: number;
  metadata?: Record<string, unknown> | null;
  createdAt?: string;
  updatedAt?: string;
}

export interface AdapterTestResult {
  ok: boolean;
  latencyMs: number;
  version?: string;
  message: string;
}

export interface EncryptionProfile {
  id: string;
  name: string;
  fingerprint?: string;
  description?: string | null;
  createdAt?: string;
}

// ---------------------------------------------------------------------------------------------
// Issue 7: jobs and executions (contract; the API may not be deployed yet).
// ---------------------------------------------------------------------------------------------

export type Compression = 'NONE' | 'GZIP' | 'ZSTD' | 'BROTLI';

export type Retention =
  | { mode: 'NONE' }
  | { mode: 'SIMPLE'; simple: { keepCount: number } }
  | { mode: 'SMART'; smart: { daily: number; weekly: number; monthly: number; yearly: number } };

export interface JobDestination {
  destinationId: string;
  retention: Retention;
}

export interface JobBody {
  name: string;
  schedule: string;
  timezone?: string;
  enabled?: boolean;
  sourceId: string;
  databases: string[];
  destinations: JobDestination[];
  compression: Compression;
  compressionLevel?: number;
  encryptionProfileId?: string | null;
  notificationIds?: string[];
  notificationEvents?: 'ALWAYS' | 'FAILURE_ONLY' | 'SUCCESS_ONLY';
}

export interface Job extends JobBody {
  id: string;
  lastExecution?: { id: string; status: ExecutionStatus; startedAt: string | null; endedAt: string | null } | null;
  nextRunAt?: string | null;
  createdAt?: string;
  updatedAt?: string;
}

export type ExecutionStatus = 'Pending' | 'Running' | 'Success' | 'Failed' | 'Cancelled' | 'Partial';

export interface LogEntry {
  timestamp: string;
  level: string;
  stage?: string;
  message: string;
  details?: unknown;
}

export interface Progress {
  stage?: string | null;
  percent?: number | null;
  bytesIn?: number | null;
  bytesOut?: number | null;
  rateBytesPerSec?: number | null;
}

export interface Execution {
  id: string;
  jobId: string | null;
  jobName?: string | null;
  trigger?: string | null;
  error?: string | null;
  type: 'Backup' | 'Restore' | string;
  status: ExecutionStatus;
  startedAt: string | null;
  endedAt: string | null;
  size: number | null;
  path: string | null;
  logs?: LogEntry[];
  progress?: Progress | null;
}

// --- passkeys and SSO (issue 4, docs/AUTH.md; shared/identity/src/{passkeys,sso}.rs) ---------

/** One of the caller's passkeys (never the public key). */
export interface Passkey {
  id: string;
  name: string | null;
  credentialId: string;
  deviceType: string;
  backedUp: boolean;
  transports: string[];
  aaguid: string | null;
  alg: number | null;
  createdAt: string | null;
  lastUsedAt: string | null;
}

/** `GET /api/auth/passkeys`. */
export interface PasskeyList {
  passkeys: Passkey[];
  passkeyTwoFactor: boolean;
}

/** `GET /api/auth/sso/providers` (public): enabled providers; `id` is the `providerId`. */
export interface PublicSsoProvider {
  id: string;
  name: string;
  adapter: string;
}

export type SsoAdapter = 'generic' | 'authentik' | 'keycloak' | 'pocket-id' | 'authelia';

/** `/api/sso-providers` (settings:write); the client secret is only `hasClientSecret`. */
export interface SsoProvider {
  id: string;
  providerId: string;
  name: string;
  adapter: SsoAdapter | string;
  adapterConfig: Record<string, string>;
  issuer: string | null;
  authorizationEndpoint: string | null;
  tokenEndpoint: string | null;
  userInfoEndpoint: string | null;
  jwksEndpoint: string | null;
  clientId: string | null;
  hasClientSecret: boolean;
  domain: string | null;
  enabled: boolean;
  allowProvisioning: boolean;
  createdAt: string;
  updatedAt: string;
}

/** Body of `POST`/`PATCH /api/sso-providers` (absent fields are kept on PATCH). */
export interface SsoProviderInput {
  name?: string;
  providerId?: string;
  adapter?: string;
  issuer?: string;
  baseUrl?: string;
  slug?: string;
  realm?: string;
  authorizationEndpoint?: string;
  tokenEndpoint?: string;
  userInfoEndpoint?: string;
  jwksEndpoint?: string;
  clientId?: string;
  clientSecret?: string;
  domain?: string;
  enabled?: boolean;
  allowProvisioning?: boolean;
}

/** `GET /api/profile/accounts`: linked SSO accounts and the other ways to sign in. */
export interface LinkedAccounts {
  accounts: { id: string; providerId: string; providerName: string | null; accountId: string; createdAt: string }[];
  hasPassword: boolean;
  passkeys: number;
}

// --- v3: adapter databases and health history, config self-backup, recovery kit ---------------
// (components/adapters/src/{probe,crud}.rs; docs/CONTRACTS.md "v3 additions")

/** One entry of `GET /api/adapters/{id}/databases`. */
export interface DatabaseInfo {
  name: string;
  system: boolean;
}

/** One health check (`HealthCheckLog`). */
export interface HealthCheck {
  status: 'ONLINE' | 'DEGRADED' | 'OFFLINE' | string | null;
  latencyMs: number | null;
  error: string | null;
  createdAt: string | null;
}

/** `GET /api/adapters/{id}/health?from&to`: checks oldest first and the current state. */
export interface AdapterHealth {
  adapterId: string;
  status: string | null;
  lastHealthCheck: string | null;
  consecutiveFailures: number | null;
  entries: HealthCheck[];
}

/** The config self-backup job (`configBackup` setting). */
export interface ConfigBackupConfig {
  enabled: boolean;
  schedule: string;
  timezone: string;
  destinationId: string | null;
  encryptionProfileId: string | null;
  includeSecrets: boolean;
  includePasswordHashes: boolean;
  keep: number;
}

/** `GET`/`PUT /api/system/config-backup`. */
export interface ConfigBackupState {
  config: ConfigBackupConfig;
  lastRun: { at: string; status: 'success' | 'failed'; objectName?: string; size?: number; error?: string } | null;
  nextRunAt: string | null;
}

/** 201 of `POST /api/system/config-backup` (run now). */
export interface ConfigBackupRun {
  objectName: string;
  size: number;
  sha256: string;
  destinationId: string;
  encrypted: boolean;
  counts: Record<string, number>;
}

/** `GET /api/system/config-backups`. */
export interface ConfigBackupList {
  destinationId: string | null;
  backups: { name: string; size: number; modifiedAt: string | null; encrypted: boolean }[];
}

export type ConfigChangeAction = 'create' | 'update' | 'unchanged' | 'skip';

/** 200 of `POST /api/system/config-restore`. */
export interface ConfigRestoreResult {
  dryRun: boolean;
  formatVersion: number;
  createdAt: string;
  changes: { entity: string; action: ConfigChangeAction; name: string; reason?: string }[];
  counts: Record<ConfigChangeAction, number>;
  warnings: string[];
}
