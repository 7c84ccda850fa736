//! Users, restored through `dbackup_identity::users` as `POST /api/users` and
//! `PATCH /api/users/{id}` create and change them, with the password hash, the email's verified
//! flag, the avatar and the second factor that only a backup carries.

use dbackup_core::ApiError;
use dbackup_identity::{sessions, two_factor, users};
use serde_json::Value;

use super::{about, bad, opt_str, required, ChangeAction, Restorer};
use crate::access;

/// Whether `h` looks like a stored password hash (an argon2 PHC string).
fn is_password_hash(h: &str) -> bool {
    h.starts_with("$argon2")
        && h.len() <= 1024
        && !h.chars().any(|c| c.is_whitespace() || c.is_control())
}

impl Restorer<'_> {
    /// Email, name and preferences validated as the API does; users:write; a user is put only
    /// into a group the caller could assign (the last SuperAdmin never leaves); an existing user
    /// is changed at all (profile, group, password hash) only when the caller could manage them,
    /// i.e. holds every permission they hold. A user whose password hash or group changes is
    /// signed out everywhere ([`Restorer::sign_out`]).
    pub(super) fn users(&mut self) -> Result<(), ApiError> {
        for (i, u) in self.doc.users.iter().enumerate() {
            let raw = required(u, "email", &format!("users[{i}]"))?;
            let email = users::normalize_email(&raw).map_err(|e| about("user", &raw, e))?;
            let fields = users::validated(&users::UserUpdate {
                name: Some(opt_str(u, "name").unwrap_or_else(|| email.clone())),
                timezone: Some(opt_str(u, "timezone").unwrap_or_else(|| "UTC".into())),
                date_format: Some(opt_str(u, "dateFormat").unwrap_or_else(|| "P".into())),
                time_format: Some(opt_str(u, "timeFormat").unwrap_or_else(|| "p".into())),
                ..Default::default()
            })
            .map_err(|e| about("user", &email, e))?;
            let hash = match opt_str(u, "passwordHash") {
                Some(h) if !is_password_hash(&h) => {
                    return Err(bad(
                        "user",
                        &email,
                        "passwordHash",
                        "must be an argon2 PHC string",
                    ))
                }
                other => other,
            };
            let email_verified = u
                .get("emailVerified")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let image = opt_str(u, "image");
            let set_details = |r: &Self, id: &str| {
                users::set_restored_details(r.db, id, email_verified, image.as_deref(), r.now_ts)
            };
            let group_id = match opt_str(u, "group") {
                None => None,
                Some(g) => match self.groups.get(&g).cloned() {
                    Some(id) => Some(id),
                    None => {
                        let found = super::groups::find(self.db, &g)?;
                        if found.is_none() {
                            self.warnings
                                .push(format!("user {email:?}: group {g:?} not found; no group"));
                        }
                        found
                    }
                },
            };
            let holds = self.who.permissions();
            if let Some(current) = users::find_by_email(self.db, &email)? {
                let id = current.id.clone();
                let group_changed = current.group_id != group_id;
                let details_changed =
                    current.email_verified != email_verified || current.image != image;
                let profile_changed = group_changed
                    || details_changed
                    || fields.name.as_ref() != Some(&current.name)
                    || fields.timezone.as_ref() != Some(&current.timezone)
                    || fields.date_format.as_ref() != Some(&current.date_format)
                    || fields.time_format.as_ref() != Some(&current.time_format);
                let hash_changed = match &hash {
                    Some(h) => users::password_hash(self.db, &id)?.as_deref() != Some(h),
                    None => false,
                };
                if !profile_changed && !hash_changed {
                    self.change("user", ChangeAction::Unchanged, &email, None);
                    continue;
                }
                let update = users::UserUpdate {
                    group_id: group_changed.then(|| group_id.clone()),
                    ..fields.clone()
                };
                access::may_call(self.who, "PATCH", &format!("/api/users/{id}"))
                    .and_then(|()| {
                        if profile_changed {
                            users::update_in_transaction(
                                self.db,
                                &holds,
                                &id,
                                &update,
                                self.now_ts,
                            )?;
                        } else {
                            users::ensure_manageable(self.db, &holds, &current)?;
                        }
                        Ok(())
                    })
                    .map_err(|e| about("user", &email, e))?;
                if details_changed {
                    set_details(self, &id)?;
                }
                if let (Some(h), true) = (&hash, hash_changed) {
                    users::set_password_hash(self.db, &id, h, self.now_ts)?;
                }
                let reason = (group_changed || hash_changed).then(|| {
                    self.signed_out.push(id.clone());
                    "password or group changed: signed out everywhere".to_owned()
                });
                self.change("user", ChangeAction::Update, &email, reason);
                continue;
            }
            let new = users::PreparedUser {
                name: fields.name.clone().unwrap_or_default(),
                email: email.clone(),
                password_hash: hash.clone(),
            };
            let id = access::may_call(self.who, "POST", "/api/users")
                .and_then(|()| {
                    users::ensure_may_assign(self.db, &holds, group_id.as_deref())?;
                    let id = users::insert(self.db, &new, group_id.as_deref(), self.now_ts)?;
                    users::update_in_transaction(self.db, &holds, &id, &fields, self.now_ts)?;
                    Ok(id)
                })
                .map_err(|e| about("user", &email, e))?;
            if email_verified || image.is_some() {
                set_details(self, &id)?;
            }
            let mut reason = None;
            if hash.is_none() {
                let r = "no password in the backup: reset it or sign in with SSO".to_owned();
                self.warnings.push(format!("user {email:?}: {r}"));
                reason = Some(r);
            }
            if let Some(t) = u.get("twoFactor").and_then(Value::as_object) {
                let secret = t.get("secret").and_then(Value::as_str).unwrap_or_default();
                let backup_codes = match t.get("backupCodes") {
                    None | Some(Value::Null) => "[]".to_owned(),
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                };
                let verified = t.get("verified").and_then(Value::as_bool).unwrap_or(true);
                two_factor::restore(
                    self.db,
                    self.sealer,
                    &id,
                    secret.as_bytes(),
                    &backup_codes,
                    verified,
                    self.now_ts,
                )?;
            }
            self.change("user", ChangeAction::Create, &email, reason);
        }
        Ok(())
    }

    /// Signs out (deletes every session of) each user whose password hash or group the restore
    /// changed, as a password change does; the caller's own current session stays. API keys stay:
    /// they act with their owner's current permissions anyway.
    pub(super) fn sign_out(&mut self) -> Result<(), ApiError> {
        for id in &self.signed_out {
            let keep = (id == self.who.user_id())
                .then(|| self.who.session_id())
                .flatten();
            sessions::revoke_all_except(self.db, id, keep)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::checks::{refused_naming, user, Edit};

    /// What `POST /api/users` / `PATCH /api/users/{id}` refuse, a restore refuses: 400 naming
    /// the user and the field, before anything of the document is written.
    #[test]
    fn a_user_its_api_would_refuse_is_refused_by_field() {
        let cases: Vec<(Edit, &str, &str)> = vec![
            (
                Box::new(|d| user(d, "m@example.com")["timezone"] = json!("Not a zone!")),
                "user",
                "timezone",
            ),
            (
                Box::new(|d| user(d, "m@example.com")["name"] = json!(" ")),
                "user",
                "name",
            ),
            (
                Box::new(|d| user(d, "m@example.com")["passwordHash"] = json!("hunter2")),
                "user",
                "passwordHash",
            ),
            (
                Box::new(|d| {
                    let mut u = user(d, "m@example.com").clone();
                    u.insert("email".into(), json!("not an email"));
                    d.users.push(u);
                }),
                "user",
                "email",
            ),
        ];
        refused_naming(cases, 400);
    }
}
