//! A worker's registration with the app (docs/WORKER.md, "A pool of workers"): the worker POSTs
//! a [`Registration`] to [`REGISTER_PATH`] at start and then every `heartbeatSecs`, signed like a
//! callback event ([`crate::signature`]) with the worker token as the HMAC key. The app stores
//! it in its `Worker` table; a worker is healthy while its last registration is younger than
//! [`Registration::healthy_for_secs`].
//!
//! Every field is bounded here, once, for both sides: the worker checks its configuration with
//! [`Registration::check`] before it first calls, the app checks what it receives.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The app's route for registrations and heartbeats.
pub const REGISTER_PATH: &str = "/api/internal/workers/register";
/// The name of the configured worker (`worker_url`), reserved.
pub const DEFAULT_WORKER: &str = "default";
/// Longest body the app reads for a registration.
pub const MAX_BODY_BYTES: usize = 8 * 1024;
/// Longest worker name, in characters.
pub const MAX_NAME: usize = 64;
/// Longest URL, in characters.
pub const MAX_URL: usize = 200;
/// Most labels per worker.
pub const MAX_LABELS: usize = 16;
/// Longest label (one DNS label).
pub const MAX_LABEL: usize = 63;
/// Tasks a worker may announce it runs at once (as `DBACKUP_WORKER_MAX_TASKS`).
pub const MAX_CAPACITY: i64 = 64;
/// Longest version text.
pub const MAX_VERSION: usize = 32;
/// Heartbeat interval bounds and default, in seconds.
pub const MIN_HEARTBEAT_SECS: u32 = 2;
pub const MAX_HEARTBEAT_SECS: u32 = 300;
pub const DEFAULT_HEARTBEAT_SECS: u32 = 15;
/// Missed heartbeats after which a worker is unhealthy.
pub const MISSED_HEARTBEATS: i64 = 3;

/// `POST /api/internal/workers/register`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Registration {
    /// Unique in the pool: `[A-Za-z0-9._-]`, 1–64 characters, not `default`.
    pub name: String,
    /// Its base URL as the app reaches it: `http://` or `https://`, a host and an optional
    /// port, no path, query, or credentials.
    pub url: String,
    /// Labels a source's `workerLabel` may pin (each one DNS label), at most 16.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Tasks it runs at once, 1–64.
    pub capacity: i64,
    /// `dbackup-worker` version.
    pub version: String,
    /// Seconds between two registrations, 2–300.
    pub heartbeat_secs: u32,
}

/// Whether `label` is one DNS label (`[A-Za-z0-9]`, inner `-`, 1–63 characters): the rule of a
/// worker's labels and a source's `workerLabel`.
pub fn valid_label(label: &str) -> bool {
    let b = label.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_LABEL
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Whether `url` is an acceptable worker base URL (see [`Registration::url`]).
pub fn valid_url(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return false;
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    url.len() <= MAX_URL
        && !rest.is_empty()
        && rest
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b':' | b'[' | b']'))
}

impl Registration {
    /// Every field outside its bounds, `{field: why}` (empty when valid).
    pub fn check(&self) -> BTreeMap<&'static str, String> {
        let mut bad = BTreeMap::new();
        let n = self.name.chars().count();
        if n == 0
            || n > MAX_NAME
            || !self
                .name
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
        {
            bad.insert(
                "name",
                format!("1 to {MAX_NAME} characters of A-Z, a-z, 0-9, '.', '_', '-'"),
            );
        } else if self.name.eq_ignore_ascii_case(DEFAULT_WORKER) {
            bad.insert("name", "\"default\" is the configured worker_url".into());
        }
        if !valid_url(&self.url) {
            bad.insert(
                "url",
                format!("http:// or https:// with a host and optional port, no path, at most {MAX_URL} characters"),
            );
        }
        if self.labels.len() > MAX_LABELS {
            bad.insert("labels", format!("at most {MAX_LABELS} labels"));
        } else if let Some(l) = self.labels.iter().find(|l| !valid_label(l)) {
            bad.insert(
                "labels",
                format!("{l:?}: a label is 1 to {MAX_LABEL} letters, digits or inner '-'"),
            );
        }
        if !(1..=MAX_CAPACITY).contains(&self.capacity) {
            bad.insert("capacity", format!("1 to {MAX_CAPACITY}"));
        }
        if self.version.is_empty()
            || self.version.len() > MAX_VERSION
            || !self.version.bytes().all(|c| c.is_ascii_graphic())
        {
            bad.insert(
                "version",
                format!("1 to {MAX_VERSION} visible ASCII characters"),
            );
        }
        if !(MIN_HEARTBEAT_SECS..=MAX_HEARTBEAT_SECS).contains(&self.heartbeat_secs) {
            bad.insert(
                "heartbeatSecs",
                format!("{MIN_HEARTBEAT_SECS} to {MAX_HEARTBEAT_SECS}"),
            );
        }
        bad
    }

    /// How long after this registration the worker counts as healthy: three heartbeats.
    pub fn healthy_for_secs(&self) -> i64 {
        i64::from(self.heartbeat_secs) * MISSED_HEARTBEATS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok() -> Registration {
        Registration {
            name: "eu-1".into(),
            url: "http://10.0.0.5:3001".into(),
            labels: vec!["eu".into(), "net-a".into()],
            capacity: 4,
            version: "0.1.0".into(),
            heartbeat_secs: 15,
        }
    }

    #[test]
    fn a_valid_registration_passes_and_every_bound_is_named() {
        assert!(ok().check().is_empty());
        let bad = Registration {
            name: "default".into(),
            url: "ftp://x".into(),
            labels: vec!["-x".into()],
            capacity: 0,
            version: "a b".into(),
            heartbeat_secs: 1,
        };
        let fields: Vec<_> = bad.check().into_keys().collect();
        assert_eq!(
            fields,
            [
                "capacity",
                "heartbeatSecs",
                "labels",
                "name",
                "url",
                "version"
            ]
        );
        for url in [
            "http://h:1/path",
            "http://u:p@h:1",
            "http://",
            "https://h?q",
            &format!("http://{}", "a".repeat(200)),
        ] {
            assert!(!valid_url(url), "{url}");
        }
        assert!(valid_url("https://worker.example.com"));
        assert!(valid_url("http://[::1]:3001/"));
        let many = Registration {
            labels: (0..17).map(|i| format!("l{i}")).collect(),
            ..ok()
        };
        assert!(many.check().contains_key("labels"));
    }

    #[test]
    fn labels_are_dns_labels() {
        assert!(valid_label("eu-west-1"));
        assert!(!valid_label(""));
        assert!(!valid_label("a_b"));
        assert!(!valid_label("x-"));
        assert!(!valid_label(&"a".repeat(64)));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let e = serde_json::from_str::<Registration>(
            r#"{"name":"a","url":"http://h","capacity":1,"version":"1","heartbeatSecs":5,"x":1}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown field `x`"), "{e}");
    }
}
