//! `EXPLAIN QUERY PLAN` of every list query the API runs (issue 20): each must be an index
//! search or an index range bounded by its `LIMIT`, never a full scan of a table that grows
//! with use (executions, jobs, the audit log) nor a sort of all matching rows. The queries are
//! the ones the real functions send: a recording [`Db`] captures them with their parameters.

use std::cell::RefCell;

use dbackup_core::db::{Db, DbError, Rows, Value};

use crate::execution::{self, ListQuery};
use crate::testutil::TestDb;
use crate::{job, metrics};

/// Tables that grow with use: a plan must never read all of them.
const LARGE: [&str; 5] = [
    "Execution",
    "Job",
    "JobDestination",
    "AuditLog",
    "HealthCheckLog",
];

/// A statement as sent: its SQL and parameters.
type Sent = (String, Vec<Value>);

struct Recorder<'a> {
    db: &'a TestDb,
    seen: RefCell<Vec<Sent>>,
}

impl Db for Recorder<'_> {
    fn execute(&self, sql: &str, params: &[Value]) -> Result<Rows, DbError> {
        self.seen
            .borrow_mut()
            .push((sql.to_owned(), params.to_vec()));
        self.db.execute(sql, params)
    }
}

impl Recorder<'_> {
    fn take(&self) -> Vec<Sent> {
        self.seen.borrow_mut().drain(..).collect()
    }
}

/// Each plan line's detail of `sql`.
fn plan(db: &TestDb, sql: &str, params: &[Value]) -> Vec<String> {
    let rows = db
        .execute(&format!("EXPLAIN QUERY PLAN {sql}"), params)
        .unwrap_or_else(|e| panic!("EXPLAIN {sql}: {e:?}"));
    let detail = rows.column("detail").expect("a detail column");
    rows.rows
        .iter()
        .filter_map(|r| r.get(detail).and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// The aliases `sql` gives the large tables (`"Execution" e` → `e`), and the names themselves.
fn large_names(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    for t in LARGE {
        out.push(t.to_owned());
        let quoted = format!("\"{t}\" ");
        let mut rest = sql;
        while let Some(i) = rest.find(&quoted) {
            rest = &rest[i + quoted.len()..];
            let alias: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !alias.is_empty()
                && !["WHERE", "ON", "JOIN", "LEFT", "ORDER", "GROUP", "SET", "AS"]
                    .contains(&alias.to_ascii_uppercase().as_str())
            {
                out.push(alias);
            }
        }
    }
    out
}

/// The plan's problems: a bare SCAN of a large table, or a sort of the whole result.
fn problems(db: &TestDb, sql: &str, params: &[Value], allow_scan: &[&str]) -> Vec<String> {
    let names = large_names(sql);
    plan(db, sql, params)
        .into_iter()
        .filter(|d| {
            let full_scan = d.strip_prefix("SCAN ").is_some_and(|rest| {
                let name = rest.split_whitespace().next().unwrap_or_default();
                !rest.contains(" USING ")
                    && names.iter().any(|n| n == name)
                    && !allow_scan.contains(&name)
            });
            // Sorting a few adapters or settings is fine; sorting executions or jobs is not.
            let sorts_large = d.contains("USE TEMP B-TREE FOR ORDER BY")
                && LARGE.iter().any(|t| sql.contains(&format!("\"{t}\"")));
            full_scan || sorts_large
        })
        .collect()
}

fn filled() -> TestDb {
    let db = TestDb::migrated().with_adapters();
    db.exec(
        r#"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 120)
           INSERT INTO "Job" ("id", "name", "schedule", "sourceId", "destinationId")
           SELECT printf('job%03d', i), printf('job %03d', i), '0 3 * * *', 'src', 'dst1' FROM n"#,
    );
    db.exec(
        r#"INSERT INTO "JobDestination" ("jobId", "destinationId", "position")
           SELECT "id", 'dst1', 0 FROM "Job" UNION ALL SELECT "id", 'dst2', 1 FROM "Job""#,
    );
    db.exec(
        r#"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
           INSERT INTO "Execution" ("id", "jobId", "type", "status", "logs", "startedAt", "endedAt", "size")
           SELECT printf('e%05d', i), printf('job%03d', i % 120 + 1),
                  CASE WHEN i % 50 = 0 THEN 'Restore' ELSE 'Backup' END,
                  CASE WHEN i % 10 = 0 THEN 'Failed' ELSE 'Success' END, '[]',
                  strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', printf('+%d minutes', i)),
                  strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', printf('+%d minutes', i + 3)), i
             FROM n"#,
    );
    db
}

#[test]
fn list_queries_are_index_ranges() {
    let db = filled();
    let rec = Recorder {
        db: &db,
        seen: RefCell::new(Vec::new()),
    };
    let mut cases: Vec<(&str, Vec<Sent>)> = Vec::new();

    let first = job::list_page(&rec, None, Some(50)).unwrap();
    assert_eq!(first.jobs.len(), 50);
    let ids: Vec<String> = first.jobs.iter().map(|j| j.id.clone()).collect();
    execution::last_of_jobs(&rec, &ids).unwrap();
    cases.push(("GET /api/jobs?limit=50", rec.take()));
    let cursor = first.next_cursor.expect("a second page");
    let second = job::list_page(&rec, Some(&cursor), Some(50)).unwrap();
    assert_eq!(second.jobs.first().map(|j| j.id.as_str()), Some("job051"));
    cases.push(("GET /api/jobs?cursor", rec.take()));

    let page = |q: ListQuery| execution::list_view(&rec, &ListQuery { limit: 50, ..q }).unwrap();
    let deep = execution::list_view(
        &db,
        &ListQuery {
            limit: 200,
            ..Default::default()
        },
    )
    .unwrap()
    .next_cursor;
    for (name, q) in [
        ("GET /api/executions", ListQuery::default()),
        (
            "GET /api/executions?cursor",
            ListQuery {
                cursor: deep.clone(),
                ..Default::default()
            },
        ),
        (
            "GET /api/executions?jobId",
            ListQuery {
                job_id: Some("job007".into()),
                ..Default::default()
            },
        ),
        (
            "GET /api/executions?status&cursor",
            ListQuery {
                status: Some("Failed".into()),
                cursor: deep.clone(),
                ..Default::default()
            },
        ),
        (
            "GET /api/executions?type",
            ListQuery {
                kind: Some("Restore".into()),
                ..Default::default()
            },
        ),
    ] {
        let items = page(q).items;
        assert!(!items.is_empty(), "{name}");
        assert!(
            items.iter().all(|e| e.logs.is_none()),
            "{name}: logs in a list"
        );
        cases.push((name, rec.take()));
    }
    execution::get_view(&rec, "e00042")
        .unwrap()
        .expect("e00042");
    cases.push(("GET /api/executions/{id}", rec.take()));

    for (resource, action) in [(Some("JOB"), None), (None, Some("CREATE")), (None, None)] {
        dbackup_identity::audit::query(
            &rec,
            &dbackup_identity::audit::AuditQuery {
                resource: resource.map(str::to_owned),
                action: action.map(str::to_owned),
                ..Default::default()
            },
        )
        .unwrap();
        cases.push(("GET /api/audit", rec.take()));
    }

    let mut failures = Vec::new();
    for (name, statements) in &cases {
        assert!(!statements.is_empty(), "{name}: no query recorded");
        for (sql, params) in statements {
            for p in problems(&db, sql, params, &[]) {
                failures.push(format!("{name}: {p}\n    in {sql}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `/metrics` lists every job (one series each) but reads no execution history beyond each
/// job's newest success: counts and durations come from `ExecutionStat`.
#[test]
fn metrics_read_no_history() {
    let db = filled();
    let rec = Recorder {
        db: &db,
        seen: RefCell::new(Vec::new()),
    };
    metrics::render(&rec, true).unwrap();
    let mut failures = Vec::new();
    for (sql, params) in rec.take() {
        // One series per job and per adapter: reading all of them is the answer's size.
        for p in problems(&db, &sql, &params, &["j"]) {
            failures.push(format!("{p}\n    in {sql}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The triggers keep `ExecutionStat` equal to aggregating the history, through inserts, status
/// changes, a job's deletion (jobId set NULL) and deletes.
#[test]
fn execution_stat_follows_the_history() {
    let db = filled();
    db.exec(r#"UPDATE "Execution" SET "status" = 'Partial', "endedAt" = strftime('%Y-%m-%dT%H:%M:%fZ', "startedAt", '+2 hours') WHERE "id" LIKE 'e001%'"#);
    db.exec(
        r#"UPDATE "Execution" SET "status" = 'Running', "endedAt" = NULL WHERE "id" LIKE 'e002%'"#,
    );
    db.exec(r#"DELETE FROM "JobDestination" WHERE "jobId" = 'job005'"#);
    db.exec(r#"DELETE FROM "Job" WHERE "id" = 'job005'"#);
    db.exec(r#"DELETE FROM "Execution" WHERE "id" LIKE 'e003%'"#);
    let direct = |sql: &str| db.text(sql).unwrap_or_default();
    let stat = direct(
        r#"SELECT group_concat(x, ';') FROM (SELECT "jobId" || ',' || "type" || ',' || "status" || ',' || "n" || ',' || "durations" || ',' || "le60" || ',' || "le86400" || ',' || CAST(ROUND("durationSum") AS INTEGER) AS x
             FROM "ExecutionStat" WHERE "n" > 0 ORDER BY 1)"#,
    );
    let history = direct(
        r#"SELECT group_concat(x, ';') FROM (SELECT COALESCE("jobId", '') || ',' || "type" || ',' || "status" || ',' || COUNT(*) || ',' || SUM("endedAt" IS NOT NULL) || ',' ||
                  SUM(COALESCE((julianday("endedAt") - julianday("startedAt")) * 86400.0 <= 60, 0)) || ',' ||
                  SUM(COALESCE((julianday("endedAt") - julianday("startedAt")) * 86400.0 <= 86400, 0)) || ',' ||
                  CAST(ROUND(COALESCE(SUM((julianday("endedAt") - julianday("startedAt")) * 86400.0), 0)) AS INTEGER) AS x
             FROM "Execution" GROUP BY COALESCE("jobId", ''), "type", "status" ORDER BY 1)"#,
    );
    assert!(!history.is_empty());
    assert_eq!(stat, history);
}
