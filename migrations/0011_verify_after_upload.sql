-- Job.verifyAfterUpload (issue 18 item 1): after each destination's upload the worker reads the
-- object back, authenticates it chunk by chunk and compares its SHA-256 (docs/WORKER.md). On by
-- default; off saves the read-back (a second transfer of every object on remote storage,
-- docs/BENCH.md "Verification after upload").
ALTER TABLE "Job" ADD COLUMN "verifyAfterUpload" INTEGER NOT NULL DEFAULT 1
    CHECK ("verifyAfterUpload" IN (0, 1));
