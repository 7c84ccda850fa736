-- Issue 5 (adapters, vault): each encryption profile's key fingerprint, the one the worker
-- writes into every backup header (hex of SHA-256("dbackup key fingerprint v1\0" || key)[..8]),
-- so lists show it without unsealing keys and restores find the right profile. Unique: the
-- same key cannot be imported twice.
ALTER TABLE "EncryptionProfile" ADD COLUMN "fingerprint" TEXT;

CREATE UNIQUE INDEX "EncryptionProfile_fingerprint_key" ON "EncryptionProfile" ("fingerprint");
