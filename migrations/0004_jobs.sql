-- 0004_jobs: several destinations per job (each with its own retention), the job's database
-- selection, timezone, compression level and scheduling marker; what the runner needs to queue,
-- dispatch, watch and finish executions.
--
-- Same conventions as 0001_init (see docs/SCHEMA.md). No BEGIN/COMMIT, no PRAGMA.

-- Job.destinationId stays (NOT NULL in 0001) and always holds the first destination, so SQL
-- written against the seed schema keeps working; JobDestination is the full list.
ALTER TABLE "Job" ADD COLUMN "databases" TEXT NOT NULL DEFAULT '[]';
-- IANA name; NULL = the system default (SystemSetting `timezone`, else UTC).
ALTER TABLE "Job" ADD COLUMN "timezone" TEXT;
ALTER TABLE "Job" ADD COLUMN "compressionLevel" INTEGER;
-- The last occurrence the scheduler planned (ran or skipped): the next run is the first
-- occurrence after it. Set to the save time on create/update, so nothing is replayed.
ALTER TABLE "Job" ADD COLUMN "lastScheduledAt" TEXT;

CREATE TABLE "JobDestination" (
    "jobId"         TEXT    NOT NULL
                    REFERENCES "Job" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    -- A destination a job writes to must not disappear under it: RESTRICT.
    "destinationId" TEXT    NOT NULL
                    REFERENCES "AdapterConfig" ("id") ON DELETE RESTRICT ON UPDATE CASCADE,
    -- RetentionPolicy JSON: {"mode":"NONE"} | {"mode":"SIMPLE",...} | {"mode":"SMART",...}.
    "retention"     TEXT    NOT NULL DEFAULT '{"mode":"NONE"}',
    "position"      INTEGER NOT NULL,
    PRIMARY KEY ("jobId", "destinationId")
);

CREATE INDEX "JobDestination_destinationId_idx" ON "JobDestination" ("destinationId");

-- The worker task running the execution (NULL until dispatched).
ALTER TABLE "Execution" ADD COLUMN "taskId" TEXT;
-- The per-execution key the worker signs its callback events with, sealed with the app's
-- encryption key.
ALTER TABLE "Execution" ADD COLUMN "callbackKey" TEXT;
-- The highest event `seq` applied (events with a seq ≤ this are duplicates).
ALTER TABLE "Execution" ADD COLUMN "lastSeq" INTEGER NOT NULL DEFAULT 0;
-- The last sign of life (dispatch or event): the watchdog fails a Running execution whose
-- heartbeat is older than stallTimeoutMinutes.
ALTER TABLE "Execution" ADD COLUMN "heartbeatAt" TEXT;
-- Scheduler | Manual | Api; and the planned occurrence for scheduled runs.
ALTER TABLE "Execution" ADD COLUMN "triggerType" TEXT;
ALTER TABLE "Execution" ADD COLUMN "scheduledFor" TEXT;
-- What to run, fixed at enqueue time for restores: {destinationId, path, targetSourceId,
-- databaseMapping, privileged}.
ALTER TABLE "Execution" ADD COLUMN "request" TEXT;
-- When post-processing (retention, notifications) of a finished execution was claimed.
ALTER TABLE "Execution" ADD COLUMN "finalizedAt" TEXT;

-- One execution per job and planned occurrence, even with several schedulers racing.
CREATE UNIQUE INDEX "Execution_jobId_scheduledFor_key"
    ON "Execution" ("jobId", "scheduledFor") WHERE "scheduledFor" IS NOT NULL;
CREATE INDEX "Execution_status_startedAt_idx" ON "Execution" ("status", "startedAt");

-- Jobs created before this migration keep their one destination and its retention.
INSERT INTO "JobDestination" ("jobId", "destinationId", "retention", "position")
    SELECT "id", "destinationId", "retention", 0 FROM "Job";
