//! Callback events (docs/WORKER.md, "Callback events"): one signed JSON object per event,
//! `{taskId, executionId, seq, type, at, …}`, delivered in `seq` order; the `result` event is
//! the last. Receivers ignore an event whose `seq` is ≤ the last they stored. The signature is
//! [`crate::signature`].

use serde::{Deserialize, Serialize};

use crate::tasks::{DestinationReport, Stage, Status, TaskInfo, TaskResult};

/// One event as posted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// The worker's task id.
    pub task_id: String,
    /// The request's `executionId`.
    pub execution_id: Option<String>,
    /// 1, 2, … per task.
    pub seq: u64,
    /// When it happened (RFC 3339, milliseconds, UTC).
    pub at: String,
    /// What happened.
    #[serde(flatten)]
    pub body: EventBody,
}

/// The `type` of an event and its fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum EventBody {
    /// The task moved to `stage`.
    Stage {
        /// The new stage.
        stage: Stage,
    },
    /// A log line, masked against every secret of the task.
    Log {
        /// `info`, `warning` or `error`.
        level: LogLevel,
        /// The line.
        message: String,
    },
    /// Byte counters, at most once a second while the task runs.
    Progress(ProgressEvent),
    /// The task finished; always the last event.
    Result(Box<ResultEvent>),
}

impl EventBody {
    /// The `type` name.
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::Stage { .. } => "stage",
            EventBody::Log { .. } => "log",
            EventBody::Progress(_) => "progress",
            EventBody::Result(_) => "result",
        }
    }
}

/// Severity of a log event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// What is happening.
    Info,
    /// Something did not fail the task but needs attention.
    Warning,
    /// Why the task (or one destination) failed.
    Error,
}

/// A `progress` event: the counters of `GET /v1/tasks/{id}` and the `bytesIn` rate since the
/// previous progress event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgressEvent {
    /// As in [`TaskInfo::bytes_in`].
    pub bytes_in: u64,
    /// As in [`TaskInfo::bytes_out`].
    pub bytes_out: u64,
    /// `bytesIn` per second since the previous progress event.
    pub rate_bytes_per_sec: u64,
}

/// The `result` event: the task's outcome with the fields an execution records picked out of
/// its `result`. For a restore `size` is the bytes restored and `path` the object name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultEvent {
    /// `succeeded`, `partial`, `failed` or `cancelled`.
    pub status: Status,
    /// Bytes stored (backup) or restored (restore).
    pub size: Option<u64>,
    /// SHA-256 of the stored object.
    pub sha256: Option<String>,
    /// The object's name.
    pub object_name: Option<String>,
    /// The source server's version, else the dump tool's.
    pub engine_version: Option<String>,
    /// A backup's destination reports.
    pub destinations: Option<Vec<DestinationReport>>,
    /// The first stored location (backup) or the object name (restore).
    pub path: Option<String>,
    /// Why it failed (`cancelled` when cancelled).
    pub error: Option<String>,
    /// The task's `result` as in `GET /v1/tasks/{id}`.
    pub result: Option<TaskResult>,
}

impl ResultEvent {
    /// The one mapping from a task's outcome to its result event, used by the worker when a
    /// task ends and by the components when they read a finished task whose result event was
    /// lost ([`ResultEvent::from_task`]).
    pub fn new(status: Status, error: Option<String>, result: Option<TaskResult>) -> Self {
        let r = result.as_ref();
        ResultEvent {
            status,
            size: r.map(TaskResult::size),
            sha256: r.and_then(TaskResult::sha256).map(str::to_owned),
            object_name: r.map(|r| r.object_name().to_owned()),
            engine_version: r.and_then(TaskResult::engine_version).map(str::to_owned),
            destinations: r.and_then(TaskResult::destinations).map(<[_]>::to_vec),
            path: r.map(|r| r.path().to_owned()),
            error,
            result,
        }
    }

    /// The result event of a finished task as `GET /v1/tasks/{id}` shows it.
    pub fn from_task(task: &TaskInfo) -> Self {
        ResultEvent::new(task.status, task.error.clone(), task.result.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::{BackupResult, RestoreResult, TaskKind};
    use serde_json::json;

    fn event(seq: u64, body: EventBody) -> Event {
        Event {
            task_id: "t1".into(),
            execution_id: Some("exec-42".into()),
            seq,
            at: "2026-11-27T03:00:00.123Z".into(),
            body,
        }
    }

    /// The bytes the worker posted before the protocol crate (a `Map` built by hand).
    #[test]
    fn events_write_the_golden_bytes() {
        let cases = [
            (
                event(
                    1,
                    EventBody::Stage {
                        stage: Stage::Queued,
                    },
                ),
                r#"{"at":"2026-11-27T03:00:00.123Z","executionId":"exec-42","seq":1,"stage":"queued","taskId":"t1","type":"stage"}"#,
            ),
            (
                event(
                    2,
                    EventBody::Log {
                        level: LogLevel::Warning,
                        message: "m".into(),
                    },
                ),
                r#"{"at":"2026-11-27T03:00:00.123Z","executionId":"exec-42","level":"warning","message":"m","seq":2,"taskId":"t1","type":"log"}"#,
            ),
            (
                event(
                    3,
                    EventBody::Progress(ProgressEvent {
                        bytes_in: 1048576,
                        bytes_out: 312000,
                        rate_bytes_per_sec: 1048576,
                    }),
                ),
                r#"{"at":"2026-11-27T03:00:00.123Z","bytesIn":1048576,"bytesOut":312000,"executionId":"exec-42","rateBytesPerSec":1048576,"seq":3,"taskId":"t1","type":"progress"}"#,
            ),
            (
                event(
                    4,
                    EventBody::Result(Box::new(ResultEvent::new(
                        Status::Failed,
                        Some("boom".into()),
                        None,
                    ))),
                ),
                r#"{"at":"2026-11-27T03:00:00.123Z","destinations":null,"engineVersion":null,"error":"boom","executionId":"exec-42","objectName":null,"path":null,"result":null,"seq":4,"sha256":null,"size":null,"status":"failed","taskId":"t1","type":"result"}"#,
            ),
        ];
        for (event, golden) in cases {
            let text = serde_json::to_value(&event).unwrap().to_string();
            assert_eq!(text, golden);
            assert_eq!(serde_json::from_str::<Event>(golden).unwrap(), event);
        }
    }

    #[test]
    fn result_event_picks_the_fields_out_of_the_result() {
        let backup = TaskResult::Backup(BackupResult {
            server_version: Some("16.4".into()),
            destinations: vec![DestinationReport::stored("d1", Some("/b/a/x.dump".into()))],
            ..crate::tasks::tests::backup_result()
        });
        let e = serde_json::to_value(ResultEvent::new(
            backup.status(),
            None,
            Some(backup.clone()),
        ))
        .unwrap();
        assert_eq!(e["status"], "succeeded");
        assert_eq!(
            (e["size"].clone(), e["sha256"].clone()),
            (json!(10), json!("ab"))
        );
        assert_eq!(e["engineVersion"], "16.4");
        assert_eq!(e["path"], "/b/a/x.dump");
        assert_eq!(e["objectName"], "a/x.dump");
        assert_eq!(e["destinations"][0]["ok"], true);
        assert_eq!(e["result"]["dumpSize"], 20);

        let restore = TaskResult::Restore(RestoreResult {
            object_name: "a/x.dump".into(),
            bytes_restored: 7,
            verified: true,
            sha256: None,
            safety_copy: None,
        });
        let task = TaskInfo {
            id: "t".into(),
            kind: TaskKind::Restore,
            execution_id: None,
            status: Status::Succeeded,
            stage: Stage::Done,
            bytes_in: 7,
            bytes_out: 9,
            error: None,
            result: Some(restore),
        };
        let e = serde_json::to_value(ResultEvent::from_task(&task)).unwrap();
        assert_eq!(
            (e["size"].clone(), e["path"].clone()),
            (json!(7), json!("a/x.dump"))
        );
        assert!(e["engineVersion"].is_null() && e["destinations"].is_null());
    }
}
