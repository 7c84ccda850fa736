//! The execution row's text columns as enums — `status`, `type` and `triggerType` — spelt as
//! the schema's CHECK constraints and the API spell them (serde, [`as_str`](ExecutionStatus::as_str)
//! and [`FromStr`] all use the same text), so the database and the wire are unchanged.

use std::fmt;
use std::str::FromStr;

use dbackup_protocol::tasks::Status as TaskStatus;

/// Declares a text-column enum whose variants are spelt as their names.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// The text as stored and sent.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => stringify!($variant)),+
                }
            }
        }

        impl FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $(stringify!($variant) => Ok($name::$variant),)+
                    _ => Err(format!(concat!("unknown ", stringify!($name), " {:?}"), s)),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum! {
    /// `Execution.status`: Pending → Running → Success | Partial | Failed | Cancelled.
    ExecutionStatus {
        /// Queued, not claimed yet.
        Pending,
        /// Claimed by the dispatcher, on the worker.
        Running,
        /// Finished: stored at every destination (or restored).
        Success,
        /// A backup stored at some destinations only.
        Partial,
        /// Finished with an error (or stalled, or could not start).
        Failed,
        /// Cancelled by a user (or the worker reported it cancelled).
        Cancelled,
    }
}

impl ExecutionStatus {
    /// The statuses an execution never leaves.
    pub const TERMINAL: [Self; 4] = [Self::Success, Self::Partial, Self::Failed, Self::Cancelled];

    /// Whether the execution has finished.
    pub fn is_terminal(self) -> bool {
        Self::TERMINAL.contains(&self)
    }

    /// The status a worker task's result gives its execution. A result is final, so one
    /// claiming `running` counts as a failure, as an unknown status does.
    pub fn from_task(task: TaskStatus) -> Self {
        match task {
            TaskStatus::Running => Self::Failed,
            TaskStatus::Succeeded => Self::Success,
            TaskStatus::Partial => Self::Partial,
            TaskStatus::Failed => Self::Failed,
            TaskStatus::Cancelled => Self::Cancelled,
        }
    }
}

text_enum! {
    /// `Execution.type`: what the execution runs.
    ExecutionKind {
        /// A job's backup.
        Backup,
        /// A restore (`POST /api/restores`).
        Restore,
    }
}

text_enum! {
    /// `Execution.triggerType`: who queued the execution.
    Trigger {
        /// The scheduler, for a due occurrence.
        Scheduler,
        /// A user in the web UI ("run now", a restore).
        Manual,
        /// An API key.
        Api,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_serde_and_parse_agree() {
        for s in [
            ExecutionStatus::Pending,
            ExecutionStatus::Running,
            ExecutionStatus::Success,
            ExecutionStatus::Partial,
            ExecutionStatus::Failed,
            ExecutionStatus::Cancelled,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(s.as_str().parse::<ExecutionStatus>(), Ok(s));
        }
        for k in [ExecutionKind::Backup, ExecutionKind::Restore] {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
            assert_eq!(k.as_str().parse::<ExecutionKind>(), Ok(k));
        }
        for t in [Trigger::Scheduler, Trigger::Manual, Trigger::Api] {
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
            assert_eq!(t.to_string().parse::<Trigger>(), Ok(t));
        }
        assert!("Scheduled".parse::<Trigger>().is_err());
        assert_eq!(
            ExecutionStatus::from_task(TaskStatus::Succeeded),
            ExecutionStatus::Success
        );
        assert_eq!(
            ExecutionStatus::from_task(TaskStatus::Running),
            ExecutionStatus::Failed
        );
    }
}
