//! Jobs, restored through `dbackup_jobs_core::job` as `POST /api/jobs` and `PUT /api/jobs/{id}`
//! check ([`job::JobInput::validate`], [`job::check_references`]) and store them
//! ([`job::insert_in_transaction`], [`job::update_in_transaction`]). References travel by
//! natural key and are resolved to this install's ids first.

use dbackup_core::ApiError;
use dbackup_jobs_core::job;
use serde_json::Value;

use super::{about, bad, opt_str, required, strings, ChangeAction, Restorer};
use crate::access;
use crate::sql::{rows, text};

impl Restorer<'_> {
    /// Every field checked by `dbackup_jobs_core::job` (name, cron schedule, timezone,
    /// databases, each destination's retention, compression and level, notification events)
    /// before any reference is resolved, the references checked as the API does, jobs:write. A
    /// job whose source, destination or encryption key is not here is skipped with a warning. A
    /// restored job's schedule starts now: no catch-up run of occurrences before the restore.
    pub(super) fn jobs(&mut self) -> Result<(), ApiError> {
        for (i, j) in self.doc.jobs.iter().enumerate() {
            let what = format!("jobs[{i}]");
            let raw = required(j, "name", &what)?;
            let existing = match rows(
                self.db,
                r#"SELECT "id" FROM "Job" WHERE "name" = ? ORDER BY "createdAt", "id" LIMIT 1"#,
                &[raw.as_str().into()],
            )?
            .first()
            .and_then(|r| text(r, "id"))
            {
                Some(id) => job::get(self.db, &id)?,
                None => None,
            };
            // As PUT: a job without a timezone keeps its own; as POST: the system's.
            let default_tz = match &existing {
                Some(stored) => stored.timezone.clone(),
                None => job::default_timezone(self.db)?,
            };
            let mut dests = Vec::new();
            match j.get("destinations") {
                None | Some(Value::Null) => {}
                Some(Value::Array(items)) => {
                    for d in items {
                        let Some(dname) = d.get("name").and_then(Value::as_str) else {
                            return Err(bad("job", &raw, "destinations", "each needs a name"));
                        };
                        dests.push(job::DestinationInput {
                            destination_id: dname.to_owned(),
                            retention: d.get("retention").cloned().unwrap_or(Value::Null),
                        });
                    }
                }
                Some(_) => return Err(bad("job", &raw, "destinations", "must be a list")),
            }
            let compression_level =
                match j.get("compressionLevel") {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(v.as_i64().ok_or_else(|| {
                        bad("job", &raw, "compressionLevel", "must be an integer")
                    })?),
                };
            // References by natural key stand in for the ids until they are resolved below.
            let input = job::JobInput {
                name: raw.clone(),
                schedule: opt_str(j, "schedule").unwrap_or_default(),
                timezone: opt_str(j, "timezone"),
                enabled: j.get("enabled").and_then(Value::as_bool),
                source_id: opt_str(j, "source").unwrap_or_default(),
                databases: strings(j, "databases", "job", &raw)?,
                destinations: dests,
                compression: opt_str(j, "compression"),
                compression_level,
                encryption_profile_id: opt_str(j, "encryptionProfile"),
                notification_ids: strings(j, "notifications", "job", &raw)?,
                notification_events: opt_str(j, "notificationEvents"),
                verify_after_upload: j.get("verifyAfterUpload").and_then(Value::as_bool),
            };
            let mut spec = input
                .validate(&default_tz)
                .map_err(|e| about("job", &raw, e))?;
            let name = spec.name.clone();
            let skip = |r: &mut Self, reason: String| {
                r.warnings
                    .push(format!("job {name:?} not restored: {reason}"));
                r.change("job", ChangeAction::Skip, &name, Some(reason));
            };
            let Some(source_id) = self.adapter("database", &spec.source_id)? else {
                skip(self, format!("source {:?} not found", spec.source_id));
                continue;
            };
            spec.source_id = source_id;
            let mut missing = None;
            for (dest, _) in spec.destinations.iter_mut() {
                match self.adapter("storage", dest)? {
                    Some(id) => *dest = id,
                    None => missing = Some(dest.clone()),
                }
            }
            if let Some(dname) = missing {
                skip(self, format!("destination {dname:?} not found"));
                continue;
            }
            if let Some(fp) = spec.encryption_profile_id.take() {
                match self.profile(&fp.to_lowercase())? {
                    Some(id) => spec.encryption_profile_id = Some(id),
                    None => {
                        skip(self, format!("encryption profile {fp} is not in the vault"));
                        continue;
                    }
                }
            }
            let mut notifications: Vec<String> = Vec::new();
            for nname in std::mem::take(&mut spec.notification_ids) {
                match self.adapter("notification", &nname)? {
                    Some(id) if !notifications.contains(&id) => notifications.push(id),
                    Some(_) => {}
                    None => self.warnings.push(format!(
                        "job {name:?}: notification channel {nname:?} not found; left out"
                    )),
                }
            }
            spec.notification_ids = notifications;
            job::check_references(self.db, &spec).map_err(|e| about("job", &name, e))?;
            let action = match existing {
                Some(stored) => {
                    if same(&stored, &spec) {
                        self.change("job", ChangeAction::Unchanged, &name, None);
                        continue;
                    }
                    access::may_call(self.who, "PUT", &format!("/api/jobs/{}", stored.id))
                        .map_err(|e| about("job", &name, e))?;
                    job::update_in_transaction(self.db, &stored.id, &spec, &self.now_iso)?;
                    ChangeAction::Update
                }
                None => {
                    access::may_call(self.who, "POST", "/api/jobs")
                        .map_err(|e| about("job", &name, e))?;
                    let id = dbackup_core::id::new_id()?;
                    job::insert_in_transaction(self.db, &id, &spec, &self.now_iso)?;
                    ChangeAction::Create
                }
            };
            self.change("job", action, &name, None);
        }
        Ok(())
    }
}

/// Whether `stored` already is what `spec` would store (notification channels in any order).
fn same(stored: &job::StoredJob, spec: &job::JobSpec) -> bool {
    let sorted = |ids: &[String]| {
        let mut ids = ids.to_vec();
        ids.sort();
        ids
    };
    stored.name == spec.name
        && stored.schedule == spec.schedule
        && stored.timezone == spec.timezone
        && stored.enabled == spec.enabled
        && stored.source_id == spec.source_id
        && stored.databases == spec.databases
        && stored.destinations == spec.destinations
        && stored.compression == spec.compression
        && stored.compression_level == spec.compression_level
        && stored.encryption_profile_id == spec.encryption_profile_id
        && sorted(&stored.notification_ids) == sorted(&spec.notification_ids)
        && stored.notification_events == spec.notification_events
        && stored.verify_after_upload == spec.verify_after_upload
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::checks::{refused_naming, Edit};

    /// What `POST /api/jobs` refuses, a restore refuses: 400 naming the job and the field,
    /// before anything of the document is written.
    #[test]
    fn a_job_its_api_would_refuse_is_refused_by_field() {
        let job = |field: &'static str, value: serde_json::Value| -> Edit {
            Box::new(move |d| {
                d.jobs[0].insert(field.into(), value.clone());
            })
        };
        let cases: Vec<(Edit, &str, &str)> = vec![
            (job("schedule", json!("61 * * * *")), "job", "schedule"),
            (job("schedule", json!("every night")), "job", "schedule"),
            (job("schedule", json!("0 3 * *")), "job", "schedule"),
            (job("timezone", json!("Mars/Olympus")), "job", "timezone"),
            (job("compression", json!("RAR")), "job", "compression"),
            // Without a compression the job is ZSTD (1–19): 50 is out of range.
            (
                job("compressionLevel", json!(50)),
                "job",
                "compressionLevel",
            ),
            (
                job("compressionLevel", json!("max")),
                "job",
                "compressionLevel",
            ),
            (
                job("notificationEvents", json!("SOMETIMES")),
                "job",
                "notificationEvents",
            ),
            (job("databases", json!([""])), "job", "databases"),
            (job("destinations", json!([])), "job", "destinations"),
            (
                job(
                    "destinations",
                    json!([{"name": "disk", "retention": {"mode": "SIMPLE"}}]),
                ),
                "job",
                "destinations[0].retention",
            ),
            (job("name", json!("a/b")), "job", "name"),
        ];
        refused_naming(cases, 400);
    }
}
