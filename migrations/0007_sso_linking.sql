-- 0007_sso_linking: an SSO provider may link a sign-in to an existing account by email only when
-- a SuperAdmin marked it trusted for that (issue 14: an admin-controlled IdP could otherwise sign
-- in as any account whose email it asserts). Off for every provider, existing ones included:
-- their existing links keep working; new ones are made by the account's owner, signed in
-- (Profile → Linked accounts).
--
-- Same conventions as 0001_init (see docs/SCHEMA.md). No BEGIN/COMMIT, no PRAGMA: the
-- migration runner owns the transaction.

ALTER TABLE "SsoProvider" ADD COLUMN "trustEmailLinking" INTEGER NOT NULL DEFAULT 0
    CHECK ("trustEmailLinking" IN (0, 1));
