-- What an encryption profile's key is for (docs/SECURITY.md, docs/STORAGE.md):
--   'symmetric'       our own profiles: a 32-byte key that encrypts and decrypts DBKENC01 containers;
--   'dbackup-import'  a key brought over from DBackup, used only to read DBackup's backups
--                     (never offered to a job);
--   'public'          write-only profiles (issue 18 item 4).
ALTER TABLE "EncryptionProfile" ADD COLUMN "kind" TEXT NOT NULL DEFAULT 'symmetric';
