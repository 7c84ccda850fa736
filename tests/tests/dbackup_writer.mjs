// A faithful re-implementation of DBackup's backup writer (Skyfay/DBackup at bc:
// src/lib/runner/steps/03-upload.ts, src/lib/crypto-stream.ts, src/lib/core/interfaces.ts),
// used by tests/tests/dbackup_import.rs to produce the objects a user brings from DBackup.
//
//   node dbackup_writer.mjs <dump file> <destination root> <job name> <sourceType> <database>
//        <GZIP|BROTLI|NONE> <key hex | ""> <engine version>
//
// As DBackup does: ReadStream → zlib gzip/brotli at default levels → AES-256-GCM with the
// profile's raw 32-byte key and a random 16-byte IV (no header, nothing in the file) →
// WriteStream; then the tag is read and `<file>.meta.json` is written pretty-printed, with
// IV and tag in hex. Remote path `<job.name>/<basename>`. Prints the object's path relative to
// the destination root.

import { createReadStream, createWriteStream, mkdirSync, writeFileSync } from "node:fs";
import { createCipheriv, randomBytes, randomUUID } from "node:crypto";
import { createGzip, createBrotliCompress } from "node:zlib";
import { pipeline } from "node:stream/promises";
import { join, basename } from "node:path";

const [dump, root, jobName, sourceType, database, compression, keyHex, engineVersion] =
  process.argv.slice(2);

const ts = new Date().toISOString();
const sanitized = jobName.replace(/[^a-z0-9]/gi, "_");
let fileName = `${sanitized}_${ts.replace(/[:.]/g, "-")}.sql`;
const stages = [];
if (compression === "GZIP") {
  stages.push(createGzip());
  fileName += ".gz";
} else if (compression === "BROTLI") {
  stages.push(createBrotliCompress());
  fileName += ".br";
}
let cipher = null;
let iv = null;
if (keyHex) {
  const key = Buffer.from(keyHex, "hex");
  if (key.length !== 32) throw new Error("key must be 32 bytes");
  iv = randomBytes(16);
  cipher = createCipheriv("aes-256-gcm", key, iv);
  stages.push(cipher);
  fileName += ".enc";
}
const dir = join(root, jobName);
mkdirSync(dir, { recursive: true });
const out = join(dir, fileName);
await pipeline(createReadStream(dump), ...stages, createWriteStream(out));

const meta = {
  version: 1,
  jobId: randomUUID(),
  jobName,
  sourceName: `${sourceType} source`,
  sourceType,
  sourceId: randomUUID(),
  databases: { count: 1, names: [database] },
  engineVersion,
  timestamp: ts,
  originalFileName: basename(out),
};
if (compression === "GZIP" || compression === "BROTLI") meta.compression = compression;
if (cipher) {
  meta.encryption = {
    enabled: true,
    profileId: randomUUID(),
    algorithm: "aes-256-gcm",
    iv: iv.toString("hex"),
    authTag: cipher.getAuthTag().toString("hex"),
  };
}
writeFileSync(`${out}.meta.json`, JSON.stringify(meta, null, 2));
process.stdout.write(`${jobName}/${fileName}`);
