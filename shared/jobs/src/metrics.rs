//! The Prometheus metrics of `GET /metrics` (served by the `system` component): the text format
//! (0.0.4) rendered from the execution history, the jobs and the adapters' health, plus whether
//! the worker answered its probe (the caller's to find out).
//!
//! Access: an API key or session with `settings:read` (through the gate), or
//! `Authorization: Bearer <metrics_token>` when the optional Spin variable `metrics_token` is
//! set (checked before the gate, compared in constant time).
//!
//! Series (gauges unless noted; `job_name`/`adapter_name` are for display):
//! - `dbackup_executions{job_id,job_name,type,status}`: executions in the history.
//! - `dbackup_job_last_success_timestamp_seconds{job_id,job_name}`: end of the newest
//!   successful backup, 0 when there is none (alert: `time() - x > 26*3600`).
//! - `dbackup_job_last_backup_size_bytes{job_id,job_name}`: size of the newest successful
//!   backup that has one.
//! - `dbackup_backup_duration_seconds` (histogram): finished successful/partial backups.
//! - `dbackup_queue_depth`: Pending executions; `dbackup_executions_running`: Running ones.
//! - `dbackup_adapter_health{adapter_id,adapter_name,type,status}`: 1 for the adapter's
//!   current status, 0 for the others (database and storage adapters).
//! - `dbackup_adapter_consecutive_failures{adapter_id,adapter_name,type}`.
//! - `dbackup_worker_up`: 1 when the worker answers `/healthz`.

use std::fmt::Write as _;

use dbackup_core::db::{Db, Rows, Value};
use dbackup_core::ApiError;

/// Upper bounds (seconds) of the duration histogram's buckets (`+Inf` is added).
pub const DURATION_BUCKETS: [f64; 12] = [
    1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 21600.0, 86400.0,
];

const HEALTH_STATES: [&str; 3] = ["ONLINE", "DEGRADED", "OFFLINE"];

/// Whether `authorization` carries the configured metrics token (never when none is set).
pub fn token_matches(authorization: Option<&str>, configured: Option<&str>) -> bool {
    let (Some(given), Some(want)) = (
        authorization.and_then(dbackup_identity::authorize::bearer_token),
        configured.map(str::trim).filter(|t| !t.is_empty()),
    ) else {
        return false;
    };
    given.len() == want.len()
        && given
            .bytes()
            .zip(want.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

fn text(rows: &Rows, row: &[Value], name: &str) -> String {
    rows.column(name)
        .and_then(|i| row.get(i))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn number(rows: &Rows, row: &[Value], name: &str) -> f64 {
    match rows.column(name).and_then(|i| row.get(i)) {
        Some(Value::Integer(i)) => *i as f64,
        Some(Value::Real(r)) => *r,
        Some(Value::Text(t)) => t.parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// A label value escaped for the text format (backslash, double quote, newline).
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Renders every series (see the module doc).
pub fn render(db: &dyn Db, worker_up: bool) -> Result<String, ApiError> {
    let mut out = String::new();

    header(
        &mut out,
        "dbackup_executions",
        "gauge",
        "Executions in the history by job, type and status.",
    );
    // ExecutionStat (migration 0009) holds the counts per (job, type, status), kept by triggers:
    // a scrape reads one small row per combination, not the history.
    let rows = db.execute(
        r#"SELECT s."jobId" AS job_id, COALESCE(j."name", '') AS job_name,
                  s."type" AS type, s."status" AS status, s."n" AS n
             FROM "ExecutionStat" s LEFT JOIN "Job" j ON j."id" = s."jobId" AND s."jobId" <> ''
            WHERE s."n" > 0 ORDER BY 1, 3, 4"#,
        &[],
    )?;
    for row in &rows.rows {
        let _ = writeln!(
            out,
            "dbackup_executions{{job_id=\"{}\",job_name=\"{}\",type=\"{}\",status=\"{}\"}} {}",
            label(&text(&rows, row, "job_id")),
            label(&text(&rows, row, "job_name")),
            label(&text(&rows, row, "type")),
            label(&text(&rows, row, "status")),
            number(&rows, row, "n")
        );
    }

    let jobs = db.execute(
        r#"SELECT j."id" AS job_id, j."name" AS job_name,
                  (SELECT CAST(strftime('%s', e."endedAt") AS INTEGER) FROM "Execution" e
                    WHERE e."jobId" = j."id" AND e."status" = 'Success' AND e."type" = 'Backup'
                      AND e."endedAt" IS NOT NULL
                    ORDER BY e."endedAt" DESC LIMIT 1) AS last_success,
                  (SELECT e."size" FROM "Execution" e
                    WHERE e."jobId" = j."id" AND e."type" = 'Backup' AND e."status" = 'Success'
                      AND e."size" IS NOT NULL
                    ORDER BY e."endedAt" DESC LIMIT 1) AS last_size
             FROM "Job" j ORDER BY j."id""#,
        &[],
    )?;
    header(
        &mut out,
        "dbackup_job_last_success_timestamp_seconds",
        "gauge",
        "End of the newest successful backup of the job (unix seconds, 0 when none).",
    );
    for row in &jobs.rows {
        let _ = writeln!(
            out,
            "dbackup_job_last_success_timestamp_seconds{{job_id=\"{}\",job_name=\"{}\"}} {}",
            label(&text(&jobs, row, "job_id")),
            label(&text(&jobs, row, "job_name")),
            number(&jobs, row, "last_success")
        );
    }
    header(
        &mut out,
        "dbackup_job_last_backup_size_bytes",
        "gauge",
        "Size of the newest successful backup of the job.",
    );
    let size_col = jobs.column("last_size");
    for row in &jobs.rows {
        if size_col
            .and_then(|i| row.get(i))
            .is_none_or(|v| *v == Value::Null)
        {
            continue;
        }
        let _ = writeln!(
            out,
            "dbackup_job_last_backup_size_bytes{{job_id=\"{}\",job_name=\"{}\"}} {}",
            label(&text(&jobs, row, "job_id")),
            label(&text(&jobs, row, "job_name")),
            number(&jobs, row, "last_size")
        );
    }

    header(
        &mut out,
        "dbackup_backup_duration_seconds",
        "histogram",
        "Duration of finished successful or partial backups.",
    );
    let bucket_sums: String = DURATION_BUCKETS
        .iter()
        .map(|b| format!(r#", COALESCE(SUM("le{b}"), 0) AS "le{b}""#))
        .collect();
    let durations = db.execute(
        &format!(
            r#"SELECT COALESCE(SUM("durations"), 0) AS count, COALESCE(SUM("durationSum"), 0.0) AS sum{bucket_sums}
                 FROM "ExecutionStat" WHERE "type" = 'Backup' AND "status" IN ('Success', 'Partial')"#
        ),
        &[],
    )?;
    let d = durations.rows.first().map(Vec::as_slice).unwrap_or(&[]);
    for bound in DURATION_BUCKETS {
        let n = number(&durations, d, &format!("le{bound}"));
        let _ = writeln!(
            out,
            "dbackup_backup_duration_seconds_bucket{{le=\"{bound}\"}} {n}"
        );
    }
    let count = number(&durations, d, "count");
    let _ = writeln!(
        out,
        "dbackup_backup_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
    );
    let _ = writeln!(
        out,
        "dbackup_backup_duration_seconds_sum {}",
        number(&durations, d, "sum")
    );
    let _ = writeln!(out, "dbackup_backup_duration_seconds_count {count}");

    let counts = db.execute(
        r#"SELECT COALESCE(SUM(CASE WHEN "status" = 'Pending' THEN "n" END), 0) AS pending,
                  COALESCE(SUM(CASE WHEN "status" = 'Running' THEN "n" END), 0) AS running
             FROM "ExecutionStat" WHERE "status" IN ('Pending', 'Running')"#,
        &[],
    )?;
    let (pending, running) = counts.rows.first().map_or((0.0, 0.0), |r| {
        (number(&counts, r, "pending"), number(&counts, r, "running"))
    });
    header(
        &mut out,
        "dbackup_queue_depth",
        "gauge",
        "Executions waiting to start (Pending).",
    );
    let _ = writeln!(out, "dbackup_queue_depth {pending}");
    header(
        &mut out,
        "dbackup_executions_running",
        "gauge",
        "Executions running now.",
    );
    let _ = writeln!(out, "dbackup_executions_running {running}");

    let adapters = db.execute(
        r#"SELECT "id", "name", "type", "lastStatus", "consecutiveFailures" FROM "AdapterConfig"
            WHERE "type" IN ('database', 'storage') ORDER BY "id""#,
        &[],
    )?;
    header(
        &mut out,
        "dbackup_adapter_health",
        "gauge",
        "Health of database and storage adapters: 1 for the current status.",
    );
    for row in &adapters.rows {
        let status = text(&adapters, row, "lastStatus");
        for state in HEALTH_STATES {
            let _ = writeln!(
                out,
                "dbackup_adapter_health{{adapter_id=\"{}\",adapter_name=\"{}\",type=\"{}\",status=\"{state}\"}} {}",
                label(&text(&adapters, row, "id")),
                label(&text(&adapters, row, "name")),
                label(&text(&adapters, row, "type")),
                u8::from(status == state)
            );
        }
    }
    header(
        &mut out,
        "dbackup_adapter_consecutive_failures",
        "gauge",
        "Failed health checks of the adapter in a row.",
    );
    for row in &adapters.rows {
        let _ = writeln!(
            out,
            "dbackup_adapter_consecutive_failures{{adapter_id=\"{}\",adapter_name=\"{}\",type=\"{}\"}} {}",
            label(&text(&adapters, row, "id")),
            label(&text(&adapters, row, "name")),
            label(&text(&adapters, row, "type")),
            number(&adapters, row, "consecutiveFailures")
        );
    }

    header(
        &mut out,
        "dbackup_worker_up",
        "gauge",
        "1 when the worker answers its health check.",
    );
    let _ = writeln!(out, "dbackup_worker_up {}", u8::from(worker_up));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TestDb;

    #[test]
    fn metrics_token_is_required_and_compared_whole() {
        assert!(token_matches(Some("Bearer s3cret"), Some("s3cret")));
        assert!(token_matches(Some("Bearer s3cret"), Some(" s3cret ")));
        assert!(!token_matches(Some("Bearer s3cre"), Some("s3cret")));
        assert!(!token_matches(Some("Bearer s3cret"), None));
        assert!(!token_matches(Some("Bearer "), Some("")));
        assert!(!token_matches(None, Some("s3cret")));
    }

    #[test]
    fn renders_executions_jobs_durations_queue_and_health() {
        let db = TestDb::migrated().with_adapters();
        db.exec(
            r#"INSERT INTO "Job" ("id", "name", "schedule", "sourceId", "destinationId")
               VALUES ('j1', 'nightly "db"', '0 3 * * *', 'src', 'dst1')"#,
        );
        db.exec(
            r#"INSERT INTO "Execution" ("id", "jobId", "type", "status", "logs", "startedAt", "endedAt", "size") VALUES
               ('e1', 'j1', 'Backup', 'Success', '[]', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:10.000Z', 1234),
               ('e2', 'j1', 'Backup', 'Pending', '[]', '2026-01-01T01:00:00.000Z', NULL, NULL)"#,
        );
        db.exec(r#"UPDATE "AdapterConfig" SET "lastStatus" = 'OFFLINE', "consecutiveFailures" = 3 WHERE "id" = 'src'"#);
        let text = render(&db, true).unwrap();
        for line in [
            r#"dbackup_executions{job_id="j1",job_name="nightly \"db\"",type="Backup",status="Pending"} 1"#,
            r#"dbackup_job_last_success_timestamp_seconds{job_id="j1",job_name="nightly \"db\""} 1767225610"#,
            r#"dbackup_job_last_backup_size_bytes{job_id="j1",job_name="nightly \"db\""} 1234"#,
            r#"dbackup_backup_duration_seconds_bucket{le="5"} 0"#,
            r#"dbackup_backup_duration_seconds_bucket{le="15"} 1"#,
            "dbackup_backup_duration_seconds_count 1",
            "dbackup_queue_depth 1",
            "dbackup_executions_running 0",
            r#"dbackup_adapter_health{adapter_id="src",adapter_name="src",type="database",status="OFFLINE"} 1"#,
            r#"dbackup_adapter_consecutive_failures{adapter_id="src",adapter_name="src",type="database"} 3"#,
            "dbackup_worker_up 1",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
        }
        assert!(
            !text.contains("adapter_id=\"note\""),
            "notification channels have no health"
        );
    }
}
