//! `POST /api/executions/{id}/cancel`: a Pending execution is cancelled at once; a Running one
//! is cancelled and its worker task asked to stop.

use dbackup_core::db::Db;
use dbackup_core::worker::{On, Worker};
use dbackup_core::ApiError;
use serde_json::json;

use crate::execution::{self, ExecutionStatus};
use crate::pool;

/// The 404 of an execution that does not exist.
pub fn execution_not_found() -> ApiError {
    ApiError::new(404, "execution not found")
}

/// Cancels execution `id` on behalf of `user_id` (named in its last log entry). 404 if absent,
/// 409 when it has already finished. The status is Cancelled before the worker is asked: a
/// worker that cannot be reached finishes the task on its own, and its late result is ignored.
/// The task is stopped on the worker that runs it (`workerId`).
pub async fn cancel(
    db: &dyn Db,
    worker: &impl Worker,
    id: &str,
    user_id: Option<&str>,
    now: &str,
) -> Result<(), ApiError> {
    if execution::get_view(db, id)?.is_none() {
        return Err(execution_not_found());
    }
    let target = pool::assigned(db, id, chrono::Utc::now())?.target;
    let message = format!("Cancelled by user {}", user_id.unwrap_or("unknown"));
    let Some(task) = execution::finish(db, id, ExecutionStatus::Cancelled, &message, now)? else {
        return Err(ApiError::new(409, "execution has already finished"));
    };
    if let Some(task) = task {
        let path = format!("/v1/tasks/{task}/cancel");
        match On::new(worker, target).post_json(&path, &json!({})).await {
            Ok((status, _)) if status < 300 || status == 404 => {}
            Ok((status, body)) => {
                eprintln!("dbackup executions: cancel {task}: worker answered {status} {body}")
            }
            Err(e) => eprintln!("dbackup executions: cancel {task}: {e}"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TestDb;
    use dbackup_core::worker::fake::{block_on, FakeWorker};

    fn db() -> TestDb {
        let db = TestDb::migrated().with_adapters();
        db.exec(
            r#"INSERT INTO "Job" ("id", "name", "schedule", "sourceId", "destinationId")
               VALUES ('j1', 'nightly', '0 3 * * *', 'src', 'dst1')"#,
        );
        db
    }

    #[test]
    fn a_running_execution_is_cancelled_and_its_task_stopped() {
        let db = db();
        db.exec(
            r#"INSERT INTO "Execution" ("id", "jobId", "status", "logs", "taskId")
               VALUES ('e1', 'j1', 'Running', '[]', 't1')"#,
        );
        let w = FakeWorker::new();
        w.answer("/v1/tasks/t1/cancel", 200, json!({}));
        block_on(cancel(
            &db,
            &w,
            "e1",
            Some("u1"),
            "2026-01-01T00:00:00.000Z",
        ))
        .unwrap();
        assert_eq!(
            db.text(r#"SELECT "status" FROM "Execution" WHERE "id" = 'e1'"#)
                .as_deref(),
            Some("Cancelled")
        );
        assert!(db
            .text(r#"SELECT "logs" FROM "Execution" WHERE "id" = 'e1'"#)
            .unwrap()
            .contains("Cancelled by user u1"));
        assert_eq!(w.requests_to("/v1/tasks/t1/cancel").len(), 1);
    }

    #[test]
    fn an_unreachable_worker_still_cancels_and_a_finished_one_is_409() {
        let db = db();
        db.exec(
            r#"INSERT INTO "Execution" ("id", "jobId", "status", "logs", "taskId")
               VALUES ('e1', 'j1', 'Running', '[]', 't1')"#,
        );
        let w = FakeWorker::new();
        block_on(cancel(&db, &w, "e1", None, "2026-01-01T00:00:00.000Z")).unwrap();
        let e = block_on(cancel(&db, &w, "e1", None, "2026-01-01T00:00:00.000Z")).unwrap_err();
        assert_eq!(e.status, 409);
        let e = block_on(cancel(&db, &w, "nope", None, "2026-01-01T00:00:00.000Z")).unwrap_err();
        assert_eq!(e.status, 404);
    }
}
