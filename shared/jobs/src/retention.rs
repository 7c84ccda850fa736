//! Retention: which backups of one job on one destination to keep, and why.
//!
//! DBackup's semantics (reference §6) with its bugs fixed on purpose:
//! - backups are ordered by their **recorded creation time** (the sidecar's timestamp), not the
//!   storage's modification time, newest first (ties: name descending, so runs are repeatable);
//! - SMART's weekly buckets use the **ISO week-based year** (`2025-W01` for 2024-12-30), not
//!   the calendar year with the ISO week number;
//! - buckets are computed in the job's timezone, so a 23:30 backup in `Europe/Berlin` belongs
//!   to that local day even when it is the next day in UTC;
//! - locked backups are always kept and take no slot in any tier;
//! - the backup just made (`protect`) is always kept (it also counts in the tiers).
//!
//! The function is pure: the caller lists the objects, reads the sidecars and deletes.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{json, Value};

/// The largest count any tier or keep-count accepts.
pub const MAX_KEEP: u32 = 10_000;

/// How many backups of a job a destination keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RetentionPolicy {
    /// Keep everything.
    #[default]
    None,
    /// Keep the newest `keep_count`.
    Simple { keep_count: u32 },
    /// Grandfather-father-son: the newest backup of each of the last `daily` days, `weekly`
    /// ISO weeks, `monthly` months and `yearly` years that have one.
    Smart(Gfs),
}

/// The SMART tiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Gfs {
    #[serde(default)]
    pub daily: u32,
    #[serde(default)]
    pub weekly: u32,
    #[serde(default)]
    pub monthly: u32,
    #[serde(default)]
    pub yearly: u32,
}

/// Why a policy is invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError(pub String);

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PolicyError {}

impl RetentionPolicy {
    /// Parses the stored/API JSON: `{"mode":"NONE"}`, `{"mode":"SIMPLE","simple":{"keepCount":N}}`,
    /// `{"mode":"SMART","smart":{"daily":d,"weekly":w,"monthly":m,"yearly":y}}`. The seed's
    /// `{}` and `null` mean NONE. Counts must be ≤ [`MAX_KEEP`]; SIMPLE needs keepCount ≥ 1 and
    /// SMART at least one tier above 0 (a policy that would delete everything is refused).
    pub fn from_json(value: &Value) -> Result<Self, PolicyError> {
        let obj = match value {
            Value::Null => return Ok(Self::None),
            Value::Object(o) => o,
            _ => return Err(PolicyError("retention must be an object".into())),
        };
        for key in obj.keys() {
            if !["mode", "simple", "smart"].contains(&key.as_str()) {
                return Err(PolicyError(format!("retention: unknown field `{key}`")));
            }
        }
        let mode = match obj.get("mode") {
            None | Some(Value::Null) => return Ok(Self::None),
            Some(Value::String(m)) => m.as_str(),
            Some(_) => return Err(PolicyError("retention.mode must be a string".into())),
        };
        let count = |v: Option<&Value>, name: &str| -> Result<u32, PolicyError> {
            match v {
                None | Some(Value::Null) => Ok(0),
                Some(v) => v
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .filter(|n| *n <= MAX_KEEP)
                    .ok_or_else(|| {
                        PolicyError(format!(
                            "{name} must be an integer between 0 and {MAX_KEEP}"
                        ))
                    }),
            }
        };
        match mode {
            "NONE" => Ok(Self::None),
            "SIMPLE" => {
                let simple = obj
                    .get("simple")
                    .and_then(Value::as_object)
                    .ok_or_else(|| PolicyError("retention.simple is required for SIMPLE".into()))?;
                if let Some(k) = simple.keys().find(|k| *k != "keepCount") {
                    return Err(PolicyError(format!(
                        "retention.simple: unknown field `{k}`"
                    )));
                }
                let keep_count = count(simple.get("keepCount"), "retention.simple.keepCount")?;
                if keep_count == 0 {
                    return Err(PolicyError(
                        "retention.simple.keepCount must be at least 1".into(),
                    ));
                }
                Ok(Self::Simple { keep_count })
            }
            "SMART" => {
                let smart = obj
                    .get("smart")
                    .and_then(Value::as_object)
                    .ok_or_else(|| PolicyError("retention.smart is required for SMART".into()))?;
                if let Some(k) = smart
                    .keys()
                    .find(|k| !["daily", "weekly", "monthly", "yearly"].contains(&k.as_str()))
                {
                    return Err(PolicyError(format!("retention.smart: unknown field `{k}`")));
                }
                let gfs = Gfs {
                    daily: count(smart.get("daily"), "retention.smart.daily")?,
                    weekly: count(smart.get("weekly"), "retention.smart.weekly")?,
                    monthly: count(smart.get("monthly"), "retention.smart.monthly")?,
                    yearly: count(smart.get("yearly"), "retention.smart.yearly")?,
                };
                if gfs.daily + gfs.weekly + gfs.monthly + gfs.yearly == 0 {
                    return Err(PolicyError(
                        "retention.smart needs at least one tier above 0".into(),
                    ));
                }
                Ok(Self::Smart(gfs))
            }
            other => Err(PolicyError(format!(
                "retention.mode must be NONE, SIMPLE or SMART, not {other:?}"
            ))),
        }
    }

    /// The canonical JSON form (what is stored and returned).
    pub fn to_json(&self) -> Value {
        match self {
            Self::None => json!({"mode": "NONE"}),
            Self::Simple { keep_count } => {
                json!({"mode": "SIMPLE", "simple": {"keepCount": keep_count}})
            }
            Self::Smart(g) => json!({"mode": "SMART", "smart": g}),
        }
    }
}

/// The canonical JSON form, as a schema (the OpenAPI document).
#[cfg(feature = "schema")]
impl schemars::JsonSchema for RetentionPolicy {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RetentionPolicy".into()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let gfs = g.subschema_for::<Gfs>();
        schemars::json_schema!({
            "description": "Which backups of a destination to keep: NONE (all), SIMPLE (the newest `keepCount`), SMART (grandfather-father-son tiers).",
            "oneOf": [
                {"type": "object", "properties": {"mode": {"const": "NONE"}}, "required": ["mode"]},
                {"type": "object", "properties": {"mode": {"const": "SIMPLE"},
                    "simple": {"type": "object", "properties": {"keepCount": {"type": "integer", "minimum": 1}},
                               "required": ["keepCount"]}},
                 "required": ["mode", "simple"]},
                {"type": "object", "properties": {"mode": {"const": "SMART"}, "smart": gfs},
                 "required": ["mode", "smart"]}
            ]
        })
    }
}

impl Serialize for RetentionPolicy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<'de> Deserialize<'de> for RetentionPolicy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Self::from_json(&v).map_err(serde::de::Error::custom)
    }
}

/// One backup found on a destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backup {
    /// The object name (unique on the destination).
    pub name: String,
    /// When the backup was made (the sidecar's timestamp).
    pub created_at: DateTime<Utc>,
    /// The sidecar's `locked` flag.
    pub locked: bool,
}

/// The verdict for one backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub name: String,
    pub keep: bool,
    /// Why it is kept (every tier it satisfies) or why it is deleted.
    pub reasons: Vec<String>,
}

/// Decides for every backup, newest first. `protect` names the backup just made: always kept.
pub fn apply(
    policy: &RetentionPolicy,
    backups: &[Backup],
    tz: Tz,
    protect: Option<&str>,
) -> Vec<Decision> {
    let mut sorted: Vec<&Backup> = backups.iter().collect();
    sorted.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then_with(|| b.name.cmp(&a.name))
    });

    let mut tiers: Vec<Tier> = match policy {
        RetentionPolicy::None => Vec::new(),
        RetentionPolicy::Simple { keep_count } => vec![Tier::new(TierKind::Last, *keep_count)],
        RetentionPolicy::Smart(g) => [
            (TierKind::Daily, g.daily),
            (TierKind::Weekly, g.weekly),
            (TierKind::Monthly, g.monthly),
            (TierKind::Yearly, g.yearly),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| Tier::new(k, n))
        .collect(),
    };

    let mut out = Vec::with_capacity(sorted.len());
    let mut last_index = 0u32;
    for b in sorted {
        if b.locked {
            out.push(Decision {
                name: b.name.clone(),
                keep: true,
                reasons: vec!["locked".into()],
            });
            continue;
        }
        let mut keep_reasons = Vec::new();
        let mut miss_reasons = Vec::new();
        if matches!(policy, RetentionPolicy::None) {
            keep_reasons.push("retention NONE keeps everything".to_owned());
        }
        last_index += 1;
        let local = b.created_at.with_timezone(&tz);
        for tier in &mut tiers {
            let key = match tier.kind {
                TierKind::Last => format!("#{last_index}"),
                TierKind::Daily => local.format("%Y-%m-%d").to_string(),
                TierKind::Weekly => {
                    let w = local.iso_week();
                    format!("{}-W{:02}", w.year(), w.week())
                }
                TierKind::Monthly => local.format("%Y-%m").to_string(),
                TierKind::Yearly => local.format("%Y").to_string(),
            };
            match tier.offer(&key) {
                Offer::Taken(n) => keep_reasons.push(match tier.kind {
                    TierKind::Last => format!("newest {n} of {}", tier.limit),
                    _ => format!("{} {key} ({n}/{})", tier.kind.name(), tier.limit),
                }),
                Offer::BucketHasNewer => {
                    miss_reasons.push(format!("{} {key} has a newer backup", tier.kind.name()))
                }
                Offer::Full => miss_reasons.push(match tier.kind {
                    TierKind::Last => format!("not among the newest {}", tier.limit),
                    _ => format!("{} limit {} reached", tier.kind.name(), tier.limit),
                }),
            }
        }
        let protected = protect == Some(b.name.as_str());
        if protected {
            keep_reasons.insert(0, "just created".into());
        }
        let keep = !keep_reasons.is_empty();
        out.push(Decision {
            name: b.name.clone(),
            keep,
            reasons: if keep { keep_reasons } else { miss_reasons },
        });
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TierKind {
    Last,
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

impl TierKind {
    fn name(self) -> &'static str {
        match self {
            TierKind::Last => "last",
            TierKind::Daily => "daily",
            TierKind::Weekly => "weekly",
            TierKind::Monthly => "monthly",
            TierKind::Yearly => "yearly",
        }
    }
}

struct Tier {
    kind: TierKind,
    limit: u32,
    seen: BTreeSet<String>,
}

enum Offer {
    /// The backup is the first of its bucket and the tier had room: the n-th kept.
    Taken(usize),
    BucketHasNewer,
    Full,
}

impl Tier {
    fn new(kind: TierKind, limit: u32) -> Self {
        Tier {
            kind,
            limit,
            seen: BTreeSet::new(),
        }
    }

    fn offer(&mut self, key: &str) -> Offer {
        if self.seen.contains(key) {
            Offer::BucketHasNewer
        } else if self.seen.len() >= self.limit as usize {
            Offer::Full
        } else {
            self.seen.insert(key.to_owned());
            Offer::Taken(self.seen.len())
        }
    }
}

#[cfg(test)]
mod tests;
