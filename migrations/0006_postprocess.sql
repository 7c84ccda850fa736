-- 0006_postprocess: post-processing (retention, notifications) of a finished execution becomes
-- at-least-once. `finalizedAt` (0004) is now the claim's lease, renewed after every step; a
-- claim older than the lease is taken over by the next tick (the runner that held it crashed).
--
-- Same conventions as 0001_init (see docs/SCHEMA.md). No BEGIN/COMMIT, no PRAGMA.

-- When post-processing was complete; NULL = still to do (finished executions up to 24 h old).
ALTER TABLE "Execution" ADD COLUMN "postProcessedAt" TEXT;
-- The steps already done, so a retry neither redoes retention nor re-sends a notification:
-- {"retention": [destinationId, ...], "notified": [adapterId, ...]}.
ALTER TABLE "Execution" ADD COLUMN "postProcess" TEXT NOT NULL DEFAULT '{}';

-- Executions claimed before this migration were post-processed at most once: done.
UPDATE "Execution" SET "postProcessedAt" = "finalizedAt" WHERE "finalizedAt" IS NOT NULL;

CREATE INDEX "Execution_postProcess_idx" ON "Execution" ("endedAt") WHERE "postProcessedAt" IS NULL;
