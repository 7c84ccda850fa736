-- 0002_identity: API keys, persisted login throttling, TOTP enrollment state, audit paging.
--
-- Same conventions as 0001_init (see docs/SCHEMA.md): PascalCase tables, camelCase columns,
-- TEXT ids, ISO-8601 UTC millisecond timestamps, 0/1 booleans with CHECK. No BEGIN/COMMIT, no
-- PRAGMA: the migration runner owns the transaction.

-- API keys: `dbk_<prefix>_<secret>` is shown once; only its SHA-256 (`keyHash`, hex) is kept.
-- `prefix` (8 hex chars) finds the row; `permissions` is a JSON array, a subset of the creator's.
CREATE TABLE "ApiKey" (
    "id"          TEXT NOT NULL PRIMARY KEY,
    "name"        TEXT NOT NULL,
    "prefix"      TEXT NOT NULL UNIQUE,
    "keyHash"     TEXT NOT NULL,
    "permissions" TEXT NOT NULL DEFAULT '[]',
    -- A key acts for its creator: it goes with them.
    "userId"      TEXT NOT NULL
                  REFERENCES "User" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    "expiresAt"   TEXT,
    "lastUsedAt"  TEXT,
    "createdAt"   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE INDEX "ApiKey_userId_idx" ON "ApiKey" ("userId");

-- Failed-login counters, persisted because components are stateless. `key` is
-- `account:<lowercased email>` or `ip:<address>`; `lockedUntil` is NULL while not locked.
CREATE TABLE "LoginThrottle" (
    "key"         TEXT    NOT NULL PRIMARY KEY,
    "failures"    INTEGER NOT NULL DEFAULT 0,
    "lockedUntil" TEXT,
    "updatedAt"   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- TOTP: `secret` holds the AES-256-GCM-encrypted secret (`v1:…`), `backupCodes` a JSON array of
-- hashed unused codes. A row is pending until the first code is verified (`verified` = 1).
-- `lastUsedStep` is the last accepted 30-second step: a code is accepted only for a later step,
-- so each code works once.
ALTER TABLE "TwoFactor" ADD COLUMN "verified" INTEGER NOT NULL DEFAULT 0 CHECK ("verified" IN (0, 1));
ALTER TABLE "TwoFactor" ADD COLUMN "lastUsedStep" INTEGER;
ALTER TABLE "TwoFactor" ADD COLUMN "createdAt" TEXT;
ALTER TABLE "TwoFactor" ADD COLUMN "updatedAt" TEXT;

-- Keyset pagination of the audit log: newest first on (createdAt, id).
CREATE INDEX "AuditLog_createdAt_id_idx" ON "AuditLog" ("createdAt", "id");
CREATE INDEX "AuditLog_action_idx" ON "AuditLog" ("action");

-- Expired-session cleanup.
CREATE INDEX "Session_expiresAt_idx" ON "Session" ("expiresAt");
