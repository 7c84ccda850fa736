-- 0009_control_plane: what keeps the control plane's reads bounded at 1,000 jobs and 100,000
-- executions (issue 20, docs/BENCH.md "control plane"):
-- - indexes that make each list query an index range: executions newest first (all, by job, by
--   status, by type) with the id as tie-break for the keyset cursor, jobs by name, the audit
--   log by resource, action or user;
-- - ExecutionStat, per (jobId, type, status) the number of executions and the duration histogram
--   of the finished ones, kept by triggers: `GET /metrics` reads it instead of aggregating the
--   whole history on every scrape.
--
-- Same conventions as 0001_init (see docs/SCHEMA.md). No BEGIN/COMMIT, no PRAGMA.

CREATE INDEX "Execution_startedAt_id_idx" ON "Execution" ("startedAt", "id");
CREATE INDEX "Execution_jobId_startedAt_id_idx" ON "Execution" ("jobId", "startedAt", "id");
CREATE INDEX "Execution_status_startedAt_id_idx" ON "Execution" ("status", "startedAt", "id");
CREATE INDEX "Execution_type_startedAt_id_idx" ON "Execution" ("type", "startedAt", "id");
-- A job's newest successful backup (metrics' last success and size).
CREATE INDEX "Execution_jobId_status_endedAt_idx" ON "Execution" ("jobId", "status", "endedAt");
-- Superseded by the ones above (same leading columns).
DROP INDEX "Execution_startedAt_idx";
DROP INDEX "Execution_jobId_startedAt_idx";
DROP INDEX "Execution_status_startedAt_idx";
CREATE INDEX "Job_name_id_idx" ON "Job" ("name", "id");
-- The audit log's filtered pages (GET /api/audit?resource|action|userId, newest first): without
-- them a filter sorted every matching row of a 500,000-row log.
CREATE INDEX "AuditLog_resource_createdAt_id_idx" ON "AuditLog" ("resource", "createdAt", "id");
CREATE INDEX "AuditLog_action_createdAt_id_idx" ON "AuditLog" ("action", "createdAt", "id");
CREATE INDEX "AuditLog_userId_createdAt_id_idx" ON "AuditLog" ("userId", "createdAt", "id");

-- jobId '' = no job (manual restores, deleted jobs). `durations` counts the executions with an
-- `endedAt`, `durationSum` sums their seconds and each `le<N>` counts those that took at most N
-- seconds (the buckets of dbackup_backup_duration_seconds, dbackup_jobs_core::metrics).
CREATE TABLE "ExecutionStat" (
    "jobId"       TEXT    NOT NULL,
    "type"        TEXT    NOT NULL,
    "status"      TEXT    NOT NULL,
    "n"           INTEGER NOT NULL DEFAULT 0,
    "durations"   INTEGER NOT NULL DEFAULT 0,
    "durationSum" REAL    NOT NULL DEFAULT 0,
    "le1" INTEGER NOT NULL DEFAULT 0,
    "le5" INTEGER NOT NULL DEFAULT 0,
    "le15" INTEGER NOT NULL DEFAULT 0,
    "le30" INTEGER NOT NULL DEFAULT 0,
    "le60" INTEGER NOT NULL DEFAULT 0,
    "le300" INTEGER NOT NULL DEFAULT 0,
    "le900" INTEGER NOT NULL DEFAULT 0,
    "le1800" INTEGER NOT NULL DEFAULT 0,
    "le3600" INTEGER NOT NULL DEFAULT 0,
    "le7200" INTEGER NOT NULL DEFAULT 0,
    "le21600" INTEGER NOT NULL DEFAULT 0,
    "le86400" INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY ("jobId", "type", "status")
) WITHOUT ROWID;

INSERT INTO "ExecutionStat" ("jobId", "type", "status", "n", "durations", "durationSum", "le1", "le5", "le15", "le30", "le60", "le300", "le900", "le1800", "le3600", "le7200", "le21600", "le86400")
SELECT COALESCE(e."jobId", ''), e."type", e."status",
       COUNT(*),
       SUM("endedAt" IS NOT NULL),
       COALESCE(SUM(MAX(0.0, (julianday(e."endedAt") - julianday(e."startedAt")) * 86400.0)), 0.0),
       SUM(COALESCE(MAX(0.0, (julianday(e."endedAt") - julianday(e."startedAt")) * 86400.0) <= 1, 0)),
       SUM(COALESCE(MAX(0.0, (julianday(e."endedAt") - julianday(e."startedAt")) * 86400.0) <= 5, 0)),
       SUM(COALESCE(MAX(0.0, (julianday(e."endedAt") - julianday(e."startedAt")) * 86400.0) <= 15, 0)),
       SUM(COALESCE(MAX(0.0, (julianday(e."endedAt") - julianday(e."startedAt")) * 86400.0) <= 30, 0)),
       SUM(COALESCE(MAX(0.0, (julianday(e."endedAt") - julianday(e."startedAt")) * 86400.0) <= 60, 0)),
       SUM(COALESCE(MAX(0.0, (julianday(e."endedAt") - julianday(e."startedAt")) * 86400.0) <= 300, 0)),
       SUM(COALESCE(MAX(0.0, (julianday(e."endedAt") - julianday(e."startedAt")) * 86400.0) <= 900, 0)),
       SUM(COALESCE(MAX(0.0, (julianday(e."endedAt") - julianday(e."startedAt")) * 86400.0) <= 1800, 0)),
       SUM(COALESCE(MAX(0.0, (julianday(e."endedAt") - julianday(e."startedAt")) * 86400.0) <= 3600, 0)),
       SUM(COALESCE(MAX(0.0, (julianday(e."endedAt") - julianday(e."startedAt")) * 86400.0) <= 7200, 0)),
       SUM(COALESCE(MAX(0.0, (julianday(e."endedAt") - julianday(e."startedAt")) * 86400.0) <= 21600, 0)),
       SUM(COALESCE(MAX(0.0, (julianday(e."endedAt") - julianday(e."startedAt")) * 86400.0) <= 86400, 0))
  FROM "Execution" e GROUP BY 1, 2, 3;

CREATE TRIGGER "Execution_stat_insert" AFTER INSERT ON "Execution" BEGIN
    INSERT INTO "ExecutionStat" ("jobId", "type", "status", "n", "durations", "durationSum", "le1", "le5", "le15", "le30", "le60", "le300", "le900", "le1800", "le3600", "le7200", "le21600", "le86400")
    VALUES (COALESCE(NEW."jobId", ''), NEW."type", NEW."status",
        1,
        NEW."endedAt" IS NOT NULL,
        COALESCE(MAX(0.0, (julianday(NEW."endedAt") - julianday(NEW."startedAt")) * 86400.0), 0.0),
        COALESCE(MAX(0.0, (julianday(NEW."endedAt") - julianday(NEW."startedAt")) * 86400.0) <= 1, 0),
        COALESCE(MAX(0.0, (julianday(NEW."endedAt") - julianday(NEW."startedAt")) * 86400.0) <= 5, 0),
        COALESCE(MAX(0.0, (julianday(NEW."endedAt") - julianday(NEW."startedAt")) * 86400.0) <= 15, 0),
        COALESCE(MAX(0.0, (julianday(NEW."endedAt") - julianday(NEW."startedAt")) * 86400.0) <= 30, 0),
        COALESCE(MAX(0.0, (julianday(NEW."endedAt") - julianday(NEW."startedAt")) * 86400.0) <= 60, 0),
        COALESCE(MAX(0.0, (julianday(NEW."endedAt") - julianday(NEW."startedAt")) * 86400.0) <= 300, 0),
        COALESCE(MAX(0.0, (julianday(NEW."endedAt") - julianday(NEW."startedAt")) * 86400.0) <= 900, 0),
        COALESCE(MAX(0.0, (julianday(NEW."endedAt") - julianday(NEW."startedAt")) * 86400.0) <= 1800, 0),
        COALESCE(MAX(0.0, (julianday(NEW."endedAt") - julianday(NEW."startedAt")) * 86400.0) <= 3600, 0),
        COALESCE(MAX(0.0, (julianday(NEW."endedAt") - julianday(NEW."startedAt")) * 86400.0) <= 7200, 0),
        COALESCE(MAX(0.0, (julianday(NEW."endedAt") - julianday(NEW."startedAt")) * 86400.0) <= 21600, 0),
        COALESCE(MAX(0.0, (julianday(NEW."endedAt") - julianday(NEW."startedAt")) * 86400.0) <= 86400, 0))
    ON CONFLICT DO UPDATE SET "n" = "n" + excluded."n", "durations" = "durations" + excluded."durations", "durationSum" = "durationSum" + excluded."durationSum", "le1" = "le1" + excluded."le1", "le5" = "le5" + excluded."le5", "le15" = "le15" + excluded."le15", "le30" = "le30" + excluded."le30", "le60" = "le60" + excluded."le60", "le300" = "le300" + excluded."le300", "le900" = "le900" + excluded."le900", "le1800" = "le1800" + excluded."le1800", "le3600" = "le3600" + excluded."le3600", "le7200" = "le7200" + excluded."le7200", "le21600" = "le21600" + excluded."le21600", "le86400" = "le86400" + excluded."le86400";
END;

CREATE TRIGGER "Execution_stat_update"
    AFTER UPDATE OF "jobId", "type", "status", "startedAt", "endedAt" ON "Execution" BEGIN
    UPDATE "ExecutionStat" SET
        "n" = "n" - 1,
        "durations" = "durations" - (OLD."endedAt" IS NOT NULL),
        "durationSum" = "durationSum" - COALESCE(MAX(0.0, (julianday(OLD."endedAt") - julianday(OLD."startedAt")) * 86400.0), 0.0),
        "le1" = "le1" - COALESCE(MAX(0.0, (julianday(OLD."endedAt") - julianday(OLD."startedAt")) * 86400.0) <= 1, 0),
        "le5" = "le5" - COALESCE(MAX(0.0, (julianday(OLD."endedAt") - julianday(OLD."startedAt")) * 86400.0) <= 5, 0),
        "le15" = "le15" - COALESCE(MAX(0.0, (julianday(OLD."endedAt") - julianday(OLD."startedAt")) * 86400.0) <= 15, 0),
        "le30" = "le30" - COALESCE(MAX(0.0, (julianday(OLD."endedAt") - julianday(OLD."startedAt")) * 86400.0) <= 30, 0),
        "le60" = "le60" - COALESCE(MAX(0.0, (julianday(OLD."endedAt") - julianday(OLD."startedAt")) * 86400.0) <= 60, 0),
        "le300" = "le300" - COALESCE(MAX(0.0, (julianday(OLD."endedAt") - julianday(OLD."startedAt")) * 86400.0) <= 300, 0),
        "le900" = "le900" - COALESCE(MAX(0.0, (julianday(OLD."endedAt") - julianday(OLD."startedAt")) * 86400.0) <= 900, 0),
        "le1800" = "le1800" - COALESCE(MAX(0.0, (julianday(OLD."endedAt") - julianday(OLD."startedAt")) * 86400.0) <= 1800, 0),
        "le3600" = "le3600" - COALESCE(MAX(0.0, (julianday(OLD."endedAt") - julianday(OLD."startedAt")) * 86400.0) <= 3600, 0),
        "le7200" = "le7200" - COALESCE(MAX(0.0, (julianday(OLD."endedAt") - julianday(OLD."startedAt")) * 86400.0) <= 7200, 0),
        "le21600" = "le21600" - COALESCE(MAX(0.0, (julianday(OLD."endedAt") - julianday(OLD."startedAt")) * 86400.0) <= 21600, 0),
        "le86400" = "le86400" - COALESCE(MAX(0.0, (julianday(OLD."endedAt") - julianday(OLD."startedAt")) * 86400.0) <= 86400, 0)
    WHERE "jobId" = COALESCE(OLD."jobId", '') AND "type" = OLD."type" AND "status" = OLD."status";
    INSERT INTO "ExecutionStat" ("jobId", "type", "status", "n", "durations", "durationSum", "le1", "le5", "le15", "le30", "le60", "le300", "le900", "le1800", "le3600", "le7200", "le21600", "le86400")
    VALUES (COALESCE(NEW."jobId", ''), NEW."type", NEW."status",
        1,
        NEW."endedAt" IS NOT NULL,
        COALESCE(MAX(0.0, (julianday(NEW."endedAt") - julianday(NEW."startedAt")) * 86400.0), 0.0),
        COALESCE(MAX(0.0, (julianday(NEW."endedAt") - julianday(NEW."startedAt")) * 86400.0) <= 1, 0),
        COALESCE(MAX(0.0, (julianday(NEW."endedAt") - julianday(NEW."startedAt")) * 86400.0) <= 5, 0),
        COALESCE(MAX(0.0, (julianday(NEW."endedAt") - julianday(NEW."startedAt")) * 86400.0) <= 15, 0),
        COALESCE(MAX(0.0, (julianday(NEW."endedAt") - julianday(NEW."startedAt")) * 86400.0) <= 30, 0),
        COALESCE(MAX(0.0, (julianday(NEW."endedAt") - julianday(NEW."startedAt")) * 86400.0) <= 60, 0),
        COALESCE(MAX(0.0, (julianday(NEW."endedAt") - julianday(NEW."startedAt")) * 86400.0) <= 300, 0),
        COALESCE(MAX(0.0, (julianday(NEW."endedAt") - julianday(NEW."startedAt")) * 86400.0) <= 900, 0),
        COALESCE(MAX(0.0, (julianday(NEW."endedAt") - julianday(NEW."startedAt")) * 86400.0) <= 1800, 0),
        COALESCE(MAX(0.0, (julianday(NEW."endedAt") - julianday(NEW."startedAt")) * 86400.0) <= 3600, 0),
        COALESCE(MAX(0.0, (julianday(NEW."endedAt") - julianday(NEW."startedAt")) * 86400.0) <= 7200, 0),
        COALESCE(MAX(0.0, (julianday(NEW."endedAt") - julianday(NEW."startedAt")) * 86400.0) <= 21600, 0),
        COALESCE(MAX(0.0, (julianday(NEW."endedAt") - julianday(NEW."startedAt")) * 86400.0) <= 86400, 0))
    ON CONFLICT DO UPDATE SET "n" = "n" + excluded."n", "durations" = "durations" + excluded."durations", "durationSum" = "durationSum" + excluded."durationSum", "le1" = "le1" + excluded."le1", "le5" = "le5" + excluded."le5", "le15" = "le15" + excluded."le15", "le30" = "le30" + excluded."le30", "le60" = "le60" + excluded."le60", "le300" = "le300" + excluded."le300", "le900" = "le900" + excluded."le900", "le1800" = "le1800" + excluded."le1800", "le3600" = "le3600" + excluded."le3600", "le7200" = "le7200" + excluded."le7200", "le21600" = "le21600" + excluded."le21600", "le86400" = "le86400" + excluded."le86400";
END;

CREATE TRIGGER "Execution_stat_delete" AFTER DELETE ON "Execution" BEGIN
    UPDATE "ExecutionStat" SET
        "n" = "n" - 1,
        "durations" = "durations" - (OLD."endedAt" IS NOT NULL),
        "durationSum" = "durationSum" - COALESCE(MAX(0.0, (julianday(OLD."endedAt") - julianday(OLD."startedAt")) * 86400.0), 0.0),
        "le1" = "le1" - COALESCE(MAX(0.0, (julianday(OLD."endedAt") - julianday(OLD."startedAt")) * 86400.0) <= 1, 0),
        "le5" = "le5" - COALESCE(MAX(0.0, (julianday(OLD."endedAt") - julianday(OLD."startedAt")) * 86400.0) <= 5, 0),
        "le15" = "le15" - COALESCE(MAX(0.0, (julianday(OLD."endedAt") - julianday(OLD."startedAt")) * 86400.0) <= 15, 0),
        "le30" = "le30" - COALESCE(MAX(0.0, (julianday(OLD."endedAt") - julianday(OLD."startedAt")) * 86400.0) <= 30, 0),
        "le60" = "le60" - COALESCE(MAX(0.0, (julianday(OLD."endedAt") - julianday(OLD."startedAt")) * 86400.0) <= 60, 0),
        "le300" = "le300" - COALESCE(MAX(0.0, (julianday(OLD."endedAt") - julianday(OLD."startedAt")) * 86400.0) <= 300, 0),
        "le900" = "le900" - COALESCE(MAX(0.0, (julianday(OLD."endedAt") - julianday(OLD."startedAt")) * 86400.0) <= 900, 0),
        "le1800" = "le1800" - COALESCE(MAX(0.0, (julianday(OLD."endedAt") - julianday(OLD."startedAt")) * 86400.0) <= 1800, 0),
        "le3600" = "le3600" - COALESCE(MAX(0.0, (julianday(OLD."endedAt") - julianday(OLD."startedAt")) * 86400.0) <= 3600, 0),
        "le7200" = "le7200" - COALESCE(MAX(0.0, (julianday(OLD."endedAt") - julianday(OLD."startedAt")) * 86400.0) <= 7200, 0),
        "le21600" = "le21600" - COALESCE(MAX(0.0, (julianday(OLD."endedAt") - julianday(OLD."startedAt")) * 86400.0) <= 21600, 0),
        "le86400" = "le86400" - COALESCE(MAX(0.0, (julianday(OLD."endedAt") - julianday(OLD."startedAt")) * 86400.0) <= 86400, 0)
    WHERE "jobId" = COALESCE(OLD."jobId", '') AND "type" = OLD."type" AND "status" = OLD."status";
END;
