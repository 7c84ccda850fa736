//! Health status transitions of an adapter (pure): success → ONLINE with the failure counter
//! reset; a failure increments it, DEGRADED below [`OFFLINE_AFTER`] failures, OFFLINE from it.

/// Consecutive failures from which an adapter is OFFLINE.
pub const OFFLINE_AFTER: i64 = 3;

/// An adapter's health status (`AdapterConfig.lastStatus`, `HealthCheckLog.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthStatus {
    Online,
    Degraded,
    Offline,
}

impl HealthStatus {
    /// The column value.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Online => "ONLINE",
            HealthStatus::Degraded => "DEGRADED",
            HealthStatus::Offline => "OFFLINE",
        }
    }

    /// Parses the column value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ONLINE" => Some(HealthStatus::Online),
            "DEGRADED" => Some(HealthStatus::Degraded),
            "OFFLINE" => Some(HealthStatus::Offline),
            _ => None,
        }
    }
}

/// The state after one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub status: HealthStatus,
    pub consecutive_failures: i64,
    /// The adapter just went OFFLINE (notify).
    pub went_offline: bool,
    /// The adapter was OFFLINE and is ONLINE again (notify).
    pub came_back: bool,
}

/// Applies one check result to the previous state.
pub fn next(previous: HealthStatus, failures: i64, ok: bool) -> Transition {
    if ok {
        return Transition {
            status: HealthStatus::Online,
            consecutive_failures: 0,
            went_offline: false,
            came_back: previous == HealthStatus::Offline,
        };
    }
    let failures = failures.max(0).saturating_add(1);
    let status = if failures >= OFFLINE_AFTER {
        HealthStatus::Offline
    } else {
        HealthStatus::Degraded
    };
    Transition {
        status,
        consecutive_failures: failures,
        went_offline: status == HealthStatus::Offline && previous != HealthStatus::Offline,
        came_back: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use HealthStatus::*;

    #[test]
    fn online_degraded_offline_online() {
        let mut state = (Online, 0);
        let mut seen = Vec::new();
        for ok in [true, false, false, false, false, true] {
            let t = next(state.0, state.1, ok);
            seen.push((
                t.status,
                t.consecutive_failures,
                t.went_offline,
                t.came_back,
            ));
            state = (t.status, t.consecutive_failures);
        }
        assert_eq!(
            seen,
            vec![
                (Online, 0, false, false),
                (Degraded, 1, false, false),
                (Degraded, 2, false, false),
                (Offline, 3, true, false),
                (Offline, 4, false, false),
                (Online, 0, false, true),
            ]
        );
        assert_eq!(HealthStatus::parse("OFFLINE"), Some(Offline));
        assert_eq!(Degraded.as_str(), "DEGRADED");
    }
}
