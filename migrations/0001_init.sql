-- 0001_init: initial dbackup schema.
--
-- Conventions (see docs/SCHEMA.md):
--   * Table names are the PascalCase model names, columns are camelCase, exactly as in the
--     original Prisma schema, so existing SQL and exports keep working.
--   * Ids are TEXT; the application generates them (UUIDs, or better-auth's own ids).
--   * Every timestamp is TEXT holding ISO-8601 UTC with milliseconds, e.g.
--     2024-05-01T12:34:56.789Z. Defaults use strftime('%Y-%m-%dT%H:%M:%fZ','now'), which produces
--     exactly that shape, so timestamps sort and compare correctly as text.
--   * Booleans are INTEGER 0/1 guarded by CHECK (nullable booleans also allow NULL).
--   * Prisma's @updatedAt becomes DEFAULT now() on insert; the application sets it on update.
--
-- The migration runner wraps this file in one transaction and executes it statement by
-- statement, so it contains no BEGIN/COMMIT and no PRAGMA.

-- ---------------------------------------------------------------------------------------------
-- Adapters, encryption, jobs, executions
-- ---------------------------------------------------------------------------------------------

CREATE TABLE "AdapterConfig" (
    "id"                  TEXT    NOT NULL PRIMARY KEY,
    "name"                TEXT    NOT NULL,
    "type"                TEXT    NOT NULL
                          CHECK ("type" IN ('database', 'storage', 'notification')),
    "adapterId"           TEXT    NOT NULL,
    "config"              TEXT    NOT NULL,
    "metadata"            TEXT,
    "createdAt"           TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    "updatedAt"           TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    "lastHealthCheck"     TEXT,
    "lastStatus"          TEXT    NOT NULL DEFAULT 'ONLINE'
                          CHECK ("lastStatus" IN ('ONLINE', 'DEGRADED', 'OFFLINE')),
    "consecutiveFailures" INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX "AdapterConfig_type_idx" ON "AdapterConfig" ("type");

CREATE TABLE "EncryptionProfile" (
    "id"          TEXT NOT NULL PRIMARY KEY,
    "name"        TEXT NOT NULL,
    "description" TEXT,
    "secretKey"   TEXT NOT NULL,
    "createdAt"   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    "updatedAt"   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE "Job" (
    "id"                  TEXT    NOT NULL PRIMARY KEY,
    "name"                TEXT    NOT NULL,
    "schedule"            TEXT    NOT NULL,
    "enabled"             INTEGER NOT NULL DEFAULT 1 CHECK ("enabled" IN (0, 1)),
    "compression"         TEXT    NOT NULL DEFAULT 'NONE'
                          CHECK ("compression" IN ('NONE', 'GZIP', 'BROTLI', 'ZSTD')),
    "retention"           TEXT    NOT NULL DEFAULT '{}',
    "notificationEvents"  TEXT    NOT NULL DEFAULT 'ALWAYS'
                          CHECK ("notificationEvents" IN ('ALWAYS', 'FAILURE_ONLY', 'SUCCESS_ONLY')),
    "createdAt"           TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    "updatedAt"           TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    -- An adapter or key that a job uses must not disappear under it: RESTRICT.
    "sourceId"            TEXT    NOT NULL
                          REFERENCES "AdapterConfig" ("id") ON DELETE RESTRICT ON UPDATE CASCADE,
    "destinationId"       TEXT    NOT NULL
                          REFERENCES "AdapterConfig" ("id") ON DELETE RESTRICT ON UPDATE CASCADE,
    "encryptionProfileId" TEXT
                          REFERENCES "EncryptionProfile" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

CREATE INDEX "Job_sourceId_idx" ON "Job" ("sourceId");
CREATE INDEX "Job_destinationId_idx" ON "Job" ("destinationId");
CREATE INDEX "Job_encryptionProfileId_idx" ON "Job" ("encryptionProfileId");

-- The implicit many-to-many "Notifications" relation between Job and AdapterConfig.
CREATE TABLE "JobNotification" (
    "jobId"           TEXT NOT NULL
                      REFERENCES "Job" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    "adapterConfigId" TEXT NOT NULL
                      REFERENCES "AdapterConfig" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    PRIMARY KEY ("jobId", "adapterConfigId")
);

CREATE INDEX "JobNotification_adapterConfigId_idx" ON "JobNotification" ("adapterConfigId");

CREATE TABLE "Execution" (
    "id"        TEXT NOT NULL PRIMARY KEY,
    -- NULL for manual restores, and after the job is deleted (history survives): SET NULL.
    "jobId"     TEXT
                REFERENCES "Job" ("id") ON DELETE SET NULL ON UPDATE CASCADE,
    "type"      TEXT NOT NULL DEFAULT 'Backup' CHECK ("type" IN ('Backup', 'Restore')),
    "status"    TEXT NOT NULL
                CHECK ("status" IN ('Pending', 'Running', 'Success', 'Failed', 'Partial', 'Cancelled')),
    "logs"      TEXT NOT NULL,
    "startedAt" TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    "endedAt"   TEXT,
    "size"      INTEGER,
    "path"      TEXT,
    "metadata"  TEXT
);

CREATE INDEX "Execution_jobId_startedAt_idx" ON "Execution" ("jobId", "startedAt");
CREATE INDEX "Execution_status_idx" ON "Execution" ("status");
CREATE INDEX "Execution_startedAt_idx" ON "Execution" ("startedAt");

-- ---------------------------------------------------------------------------------------------
-- Authentication (better-auth tables) and RBAC
-- ---------------------------------------------------------------------------------------------

CREATE TABLE "Group" (
    "id"          TEXT NOT NULL PRIMARY KEY,
    "name"        TEXT NOT NULL UNIQUE,
    "permissions" TEXT NOT NULL,
    "createdAt"   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    "updatedAt"   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE "User" (
    "id"               TEXT    NOT NULL PRIMARY KEY,
    "name"             TEXT    NOT NULL,
    "email"            TEXT    NOT NULL UNIQUE,
    "emailVerified"    INTEGER NOT NULL CHECK ("emailVerified" IN (0, 1)),
    "image"            TEXT,
    "timezone"         TEXT    NOT NULL DEFAULT 'UTC',
    "dateFormat"       TEXT    NOT NULL DEFAULT 'P',
    "timeFormat"       TEXT    NOT NULL DEFAULT 'p',
    "twoFactorEnabled" INTEGER CHECK ("twoFactorEnabled" IN (0, 1)),
    "passkeyTwoFactor" INTEGER DEFAULT 0 CHECK ("passkeyTwoFactor" IN (0, 1)),
    "createdAt"        TEXT    NOT NULL,
    "updatedAt"        TEXT    NOT NULL,
    -- Deleting a group leaves its members without a group (no permissions): SET NULL.
    "groupId"          TEXT
                       REFERENCES "Group" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);

CREATE INDEX "User_groupId_idx" ON "User" ("groupId");

CREATE TABLE "Session" (
    "id"        TEXT NOT NULL PRIMARY KEY,
    "expiresAt" TEXT NOT NULL,
    "token"     TEXT NOT NULL UNIQUE,
    "createdAt" TEXT NOT NULL,
    "updatedAt" TEXT NOT NULL,
    "ipAddress" TEXT,
    "userAgent" TEXT,
    "userId"    TEXT NOT NULL
                REFERENCES "User" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE INDEX "Session_userId_idx" ON "Session" ("userId");

-- better-auth's account table: one row per login method (credential password, OAuth/OIDC link).
CREATE TABLE "Account" (
    "id"                    TEXT NOT NULL PRIMARY KEY,
    "accountId"             TEXT NOT NULL,
    "providerId"            TEXT NOT NULL,
    "userId"                TEXT NOT NULL
                            REFERENCES "User" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    "accessToken"           TEXT,
    "refreshToken"          TEXT,
    "idToken"               TEXT,
    "accessTokenExpiresAt"  TEXT,
    "refreshTokenExpiresAt" TEXT,
    "scope"                 TEXT,
    -- Password hash for the "credential" provider; NULL for other providers.
    "password"              TEXT,
    "createdAt"             TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    "updatedAt"             TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE ("providerId", "accountId")
);

CREATE INDEX "Account_userId_idx" ON "Account" ("userId");

CREATE TABLE "Passkey" (
    "id"           TEXT    NOT NULL PRIMARY KEY,
    "name"         TEXT,
    "publicKey"    TEXT    NOT NULL,
    "credentialID" TEXT    NOT NULL UNIQUE,
    "counter"      INTEGER NOT NULL,
    "deviceType"   TEXT    NOT NULL,
    "backedUp"     INTEGER NOT NULL CHECK ("backedUp" IN (0, 1)),
    "transports"   TEXT,
    "createdAt"    TEXT,
    "aaguid"       TEXT,
    "userId"       TEXT    NOT NULL
                   REFERENCES "User" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE INDEX "Passkey_userId_idx" ON "Passkey" ("userId");

CREATE TABLE "TwoFactor" (
    "id"          TEXT NOT NULL PRIMARY KEY,
    "secret"      TEXT NOT NULL,
    "backupCodes" TEXT NOT NULL,
    "userId"      TEXT NOT NULL UNIQUE
                  REFERENCES "User" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE TABLE "SsoProvider" (
    "id"                    TEXT    NOT NULL PRIMARY KEY,
    "providerId"            TEXT    NOT NULL UNIQUE,
    "type"                  TEXT    NOT NULL DEFAULT 'oidc',
    "domain"                TEXT,
    "domainVerified"        INTEGER NOT NULL DEFAULT 0 CHECK ("domainVerified" IN (0, 1)),
    "issuer"                TEXT,
    "authorizationEndpoint" TEXT,
    "tokenEndpoint"         TEXT,
    "userInfoEndpoint"      TEXT,
    "jwksEndpoint"          TEXT,
    "clientId"              TEXT,
    "clientSecret"          TEXT,
    "adapterId"             TEXT    NOT NULL,
    "adapterConfig"         TEXT,
    "name"                  TEXT    NOT NULL,
    "enabled"               INTEGER NOT NULL DEFAULT 1 CHECK ("enabled" IN (0, 1)),
    "allowProvisioning"     INTEGER NOT NULL DEFAULT 1 CHECK ("allowProvisioning" IN (0, 1)),
    "createdAt"             TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    "updatedAt"             TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- ---------------------------------------------------------------------------------------------
-- System
-- ---------------------------------------------------------------------------------------------

CREATE TABLE "SystemSetting" (
    "key"         TEXT NOT NULL PRIMARY KEY,
    "value"       TEXT NOT NULL,
    "description" TEXT,
    "updatedAt"   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE "AuditLog" (
    "id"         TEXT NOT NULL PRIMARY KEY,
    -- NULL for system actions, and after the user is deleted (the trail survives): SET NULL.
    "userId"     TEXT
                 REFERENCES "User" ("id") ON DELETE SET NULL ON UPDATE CASCADE,
    "action"     TEXT NOT NULL,
    "resource"   TEXT NOT NULL,
    "resourceId" TEXT,
    "details"    TEXT,
    "ipAddress"  TEXT,
    "userAgent"  TEXT,
    "createdAt"  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE INDEX "AuditLog_userId_idx" ON "AuditLog" ("userId");
CREATE INDEX "AuditLog_resource_idx" ON "AuditLog" ("resource");
CREATE INDEX "AuditLog_createdAt_idx" ON "AuditLog" ("createdAt");

CREATE TABLE "HealthCheckLog" (
    "id"              TEXT    NOT NULL PRIMARY KEY,
    "adapterConfigId" TEXT    NOT NULL
                      REFERENCES "AdapterConfig" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    "status"          TEXT    NOT NULL CHECK ("status" IN ('ONLINE', 'DEGRADED', 'OFFLINE')),
    "latencyMs"       INTEGER NOT NULL,
    "error"           TEXT,
    "createdAt"       TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE INDEX "HealthCheckLog_adapterConfigId_createdAt_idx"
    ON "HealthCheckLog" ("adapterConfigId", "createdAt");
