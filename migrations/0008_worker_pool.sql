-- 0008_worker_pool: a pool of workers (docs/WORKER.md, "A pool of workers"). The worker named by
-- the `worker_url` variable stays the implicit member "default" (no row); more workers register
-- with a signed call repeated as a heartbeat and are stored here.
--
-- Same conventions as 0001_init (see docs/SCHEMA.md). No BEGIN/COMMIT, no PRAGMA.

CREATE TABLE "Worker" (
    "id"         TEXT NOT NULL PRIMARY KEY,
    -- What the worker calls itself (DBACKUP_WORKER_NAME); a registration with a known name
    -- updates that row.
    "name"       TEXT NOT NULL UNIQUE,
    -- Its base URL as the app reaches it (http:// or https://, no path).
    "url"        TEXT NOT NULL,
    -- JSON array of labels (sources with a matching `workerLabel` run only there).
    "labels"     TEXT NOT NULL DEFAULT '[]',
    -- Tasks it runs at once.
    "capacity"   INTEGER NOT NULL,
    "version"    TEXT,
    -- Seconds between its registrations; healthy while the last is younger than three of them.
    "heartbeatSecs" INTEGER NOT NULL DEFAULT 15,
    -- Its last registration (heartbeat).
    "lastSeenAt" TEXT NOT NULL,
    -- When a call to it last got no answer (NULL after the next heartbeat): not chosen meanwhile.
    "unreachableAt" TEXT,
    "createdAt"  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- The pool member running an execution: NULL or 'default' = the configured worker.
ALTER TABLE "Execution" ADD COLUMN "workerId" TEXT;
CREATE INDEX "Execution_workerId_running_idx" ON "Execution" ("workerId") WHERE "status" = 'Running';
