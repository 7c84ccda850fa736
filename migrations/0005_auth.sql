-- 0005_auth: server-side records of passkey (WebAuthn) ceremonies and SSO (OIDC) logins.
--
-- Same conventions as 0001_init (see docs/SCHEMA.md). No BEGIN/COMMIT, no PRAGMA: the
-- migration runner owns the transaction.

-- One pending ceremony. `challenge` is the WebAuthn challenge (base64url) or the OIDC `state`;
-- a record is consumed by the DELETE … RETURNING that finds it (single use) and ignored once
-- `expiresAt` has passed. `kind` is `passkey-register`, `passkey-login`, `passkey-2fa` or
-- `sso`; `userId` binds registrations and second factors to their user; `data` is JSON (the
-- SSO provider, nonce, PKCE verifier).
CREATE TABLE "AuthChallenge" (
    "challenge" TEXT NOT NULL PRIMARY KEY,
    "kind"      TEXT NOT NULL
                CHECK ("kind" IN ('passkey-register', 'passkey-login', 'passkey-2fa', 'sso')),
    "userId"    TEXT
                REFERENCES "User" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    "data"      TEXT,
    "expiresAt" TEXT NOT NULL,
    "createdAt" TEXT NOT NULL
);

CREATE INDEX "AuthChallenge_expiresAt_idx" ON "AuthChallenge" ("expiresAt");

-- The COSE algorithm of a passkey's public key (-7 ES256, -8 EdDSA, -257 RS256), for listing.
ALTER TABLE "Passkey" ADD COLUMN "alg" INTEGER;
ALTER TABLE "Passkey" ADD COLUMN "lastUsedAt" TEXT;
