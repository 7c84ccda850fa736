//! The in-memory task registry: every backup and restore of this worker process, its status
//! (`GET /v1/tasks/{id}`), cancellation, and the start of a task on a blocking thread with its
//! callback events. How a finished task reads as a result event is the protocol's
//! [`ResultEvent::new`].

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dbackup_protocol::events::{LogLevel, ResultEvent};
use dbackup_protocol::tasks::{Stage, Status, TaskInfo, TaskKind, TaskResult};
use serde_json::{json, Value};

use super::TaskCallback;
use crate::callback::Emitter;
use crate::engines::process::ChildSlot;
use crate::error::Error;
use crate::stream::Progress;
use crate::Config;

/// How long finished tasks stay queryable.
const FINISHED_TASK_TTL: Duration = Duration::from_secs(3600);

struct TaskState {
    status: Status,
    stage: Stage,
    error: Option<String>,
    result: Option<TaskResult>,
    finished: Option<Instant>,
}

/// One backup or restore.
pub struct Task {
    pub(crate) id: String,
    kind: TaskKind,
    pub(crate) execution_id: Option<String>,
    pub(crate) progress: Progress,
    pub(crate) slot: ChildSlot,
    state: Mutex<TaskState>,
    events: Option<Arc<Emitter>>,
}

impl Task {
    fn new(
        id: String,
        kind: TaskKind,
        execution_id: Option<String>,
        events: Option<Arc<Emitter>>,
    ) -> Self {
        Task {
            id,
            kind,
            execution_id,
            progress: Progress::default(),
            slot: ChildSlot::default(),
            state: Mutex::new(TaskState {
                status: Status::Running,
                stage: Stage::Queued,
                error: None,
                result: None,
                finished: None,
            }),
            events,
        }
    }

    pub(crate) fn set_stage(&self, stage: Stage) {
        if let Ok(mut s) = self.state.lock() {
            s.stage = stage;
        }
        if let Some(events) = &self.events {
            events.stage(stage);
        }
    }

    /// The task's byte counters.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    pub(crate) fn log(&self, level: LogLevel, message: &str) {
        if let Some(events) = &self.events {
            events.log(level, message);
        }
    }

    fn finish(&self, outcome: Result<TaskResult, String>) {
        let cancelled = self.progress.cancelled.load(Ordering::SeqCst);
        let (status, error) = match &outcome {
            Ok(result) => (result.status(), result.failure()),
            Err(_) if cancelled => (Status::Cancelled, Some("cancelled".to_owned())),
            Err(e) => (Status::Failed, Some(e.clone())),
        };
        let result = outcome.ok();
        let event = self.events.as_ref().map(|events| {
            events.progress(&self.progress);
            if let Some(e) = &error {
                let level = if cancelled {
                    LogLevel::Warning
                } else {
                    LogLevel::Error
                };
                events.log(level, e);
            }
            if let Some(warning) = result.as_ref().and_then(TaskResult::warning) {
                events.log(LogLevel::Warning, warning);
            }
            for failed in result
                .as_ref()
                .and_then(TaskResult::destinations)
                .unwrap_or_default()
                .iter()
                .filter(|d| !d.ok)
            {
                events.log(
                    LogLevel::Error,
                    &format!(
                        "destination {}: {}",
                        failed.id,
                        failed.error.as_deref().unwrap_or("failed")
                    ),
                );
            }
            ResultEvent::new(status, error.clone(), result.clone())
        });
        if let Ok(mut s) = self.state.lock() {
            s.finished = Some(Instant::now());
            s.status = status;
            s.error = error;
            if let Some(result) = result {
                s.stage = Stage::Done;
                s.result = Some(result);
            }
        }
        if let (Some(events), Some(event)) = (&self.events, event) {
            events.result(event);
        }
    }

    /// Stops the task: flags the pipeline and kills the tool's process group.
    pub fn cancel(&self) {
        self.progress.cancelled.store(true, Ordering::SeqCst);
        self.slot.kill();
    }

    /// The JSON of `GET /v1/tasks/{id}` ([`TaskInfo`]).
    pub fn to_json(&self) -> Value {
        let info = self.state.lock().ok().map(|s| TaskInfo {
            id: self.id.clone(),
            kind: self.kind,
            execution_id: self.execution_id.clone(),
            status: s.status,
            stage: s.stage,
            bytes_in: self.progress.bytes_in.load(Ordering::Relaxed),
            bytes_out: self.progress.bytes_out.load(Ordering::Relaxed),
            error: s.error.clone(),
            result: s.result.clone(),
        });
        info.and_then(|info| serde_json::to_value(info).ok())
            .unwrap_or_else(|| json!({"id": self.id, "status": Status::Failed}))
    }

    fn is_running(&self) -> bool {
        self.state
            .lock()
            .map(|s| s.status == Status::Running)
            .unwrap_or(false)
    }
}

/// All tasks of this worker process.
#[derive(Default)]
pub struct Registry {
    tasks: Mutex<HashMap<String, Arc<Task>>>,
    senders: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Registry {
    fn insert(
        &self,
        kind: TaskKind,
        execution_id: Option<String>,
        callback: Option<TaskCallback>,
        max_tasks: usize,
    ) -> Result<Arc<Task>, Error> {
        let mut tasks = self
            .tasks
            .lock()
            .map_err(|_| Error::Internal("task registry poisoned".into()))?;
        tasks.retain(|_, t| {
            t.state
                .lock()
                .map(|s| s.finished.is_none_or(|f| f.elapsed() < FINISHED_TASK_TTL))
                .unwrap_or(false)
        });
        if tasks.values().filter(|t| t.is_running()).count() >= max_tasks {
            return Err(Error::TooManyTasks(max_tasks));
        }
        let id = hex::encode(
            crate::format::random_bytes::<16>().map_err(|e| Error::Internal(e.to_string()))?,
        );
        let events = callback.map(|(callback, secrets)| {
            let (emitter, sender) =
                Emitter::start(callback, id.clone(), execution_id.clone(), secrets);
            if let Ok(mut senders) = self.senders.lock() {
                senders.retain(|s| !s.is_finished());
                senders.push(sender);
            }
            emitter
        });
        let task = Arc::new(Task::new(id.clone(), kind, execution_id, events));
        tasks.insert(id, task.clone());
        Ok(task)
    }

    /// Looks a task up.
    pub fn get(&self, id: &str) -> Option<Arc<Task>> {
        self.tasks.lock().ok()?.get(id).cloned()
    }

    /// Waits up to `limit` for the callback senders to deliver their pending events
    /// (the result events of tasks that just finished or were cancelled).
    pub async fn drain_callbacks(&self, limit: Duration) {
        let senders: Vec<_> = match self.senders.lock() {
            Ok(mut s) => s.drain(..).collect(),
            Err(_) => return,
        };
        let all = async {
            for sender in senders {
                let _ = sender.await;
            }
        };
        if tokio::time::timeout(limit, all).await.is_err() {
            eprintln!(
                "dbackup-worker: callback events still pending after {} s; stopping",
                limit.as_secs()
            );
        }
    }

    /// Cancels every running task (graceful shutdown).
    pub fn cancel_all(&self) {
        if let Ok(tasks) = self.tasks.lock() {
            for task in tasks.values().filter(|t| t.is_running()) {
                task.cancel();
            }
        }
    }
}

/// Registers a task, sends its first events and runs `work` on a blocking thread; returns
/// the task id.
pub(crate) fn start(
    registry: &Registry,
    config: &Config,
    kind: TaskKind,
    execution_id: Option<String>,
    callback: Option<TaskCallback>,
    work: impl FnOnce(&Config, &Task) -> Result<TaskResult, String> + Send + 'static,
) -> Result<String, Error> {
    let task = registry.insert(kind, execution_id, callback, config.max_tasks)?;
    let id = task.id.clone();
    let config = config.clone();
    if let Some(events) = &task.events {
        events.stage(Stage::Queued);
        events.log(
            LogLevel::Info,
            &format!("{} task {} started", kind.as_str(), task.id),
        );
        tokio::spawn(crate::callback::progress_ticker(
            events.clone(),
            task.clone(),
        ));
    }
    tokio::task::spawn_blocking(move || {
        let outcome = work(&config, &task);
        task.finish(outcome);
    });
    Ok(id)
}

/// Creates a task object for in-process use (tests, tools) without a registry.
pub fn detached_task(kind: TaskKind) -> Task {
    Task::new(String::new(), kind, None, None)
}
