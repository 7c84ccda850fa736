//! Encryption profiles, restored as `POST /api/encryption-profiles` imports a key
//! ([`vault::create`]); matched by key fingerprint, so a key is never stored twice.

use dbackup_adapters_core::fingerprint::{fingerprint_hex, public_fingerprint_hex};
use dbackup_adapters_core::validate;
use dbackup_core::ApiError;
use dbackup_vault_core as vault;

use super::{about, bad, opt_str, required, ChangeAction, Restorer};
use crate::access;

impl Restorer<'_> {
    /// A profile whose key is already in the vault keeps it: only its name and description
    /// follow the document ([`vault::rename`]). A key neither in the document nor in the vault
    /// is skipped with a warning.
    pub(super) fn profiles(&mut self) -> Result<(), ApiError> {
        for (i, p) in self.doc.encryption_profiles.iter().enumerate() {
            let what = format!("encryptionProfiles[{i}]");
            let fingerprint = required(p, "fingerprint", &what)?.to_lowercase();
            let raw = opt_str(p, "name").unwrap_or_else(|| fingerprint.clone());
            let name = validate::name(&raw).map_err(|e| about("encryptionProfile", &raw, e))?;
            let description = opt_str(p, "description");
            // Storing keys and naming them is what `POST /api/encryption-profiles` needs.
            let may_write = |r: &Self| {
                access::may_call(r.who, "POST", "/api/encryption-profiles")
                    .map_err(|e| about("encryptionProfile", &name, e))
            };
            let description = description.filter(|d| !d.trim().is_empty());
            if let Some(id) = vault::find_by_fingerprint(self.db, &fingerprint)? {
                let current = vault::get(self.db, self.sealer, &id)?;
                if current.name == name && current.description == description {
                    self.change("encryptionProfile", ChangeAction::Unchanged, &name, None);
                } else {
                    may_write(self)?;
                    vault::rename(self.db, &id, &name, description.as_deref(), &self.now_iso)
                        .map_err(|e| about("encryptionProfile", &name, e))?;
                    self.change("encryptionProfile", ChangeAction::Update, &name, None);
                }
                self.profiles.insert(fingerprint, id);
                continue;
            }
            let Some(key_hex) = opt_str(p, "key") else {
                let reason = format!(
                    "the key ({fingerprint}) is not in this backup: import it into the vault first"
                );
                self.warnings
                    .push(format!("encryption profile {name:?}: {reason}"));
                self.change("encryptionProfile", ChangeAction::Skip, &name, Some(reason));
                continue;
            };
            let key = vault::parse_key(&key_hex).map_err(|_| {
                bad(
                    "encryptionProfile",
                    &name,
                    "key",
                    "is not 64 hex characters",
                )
            })?;
            // The kind as exported (absent: symmetric); a write-only profile's key is its
            // public key, fingerprinted as such.
            let kind = match opt_str(p, "kind").as_deref() {
                None | Some(vault::KIND_SYMMETRIC) => vault::KIND_SYMMETRIC,
                Some(vault::KIND_PUBLIC) => vault::KIND_PUBLIC,
                Some(vault::KIND_DBACKUP_IMPORT) => vault::KIND_DBACKUP_IMPORT,
                Some(_) => {
                    return Err(bad(
                        "encryptionProfile",
                        &name,
                        "kind",
                        "is not one of symmetric, dbackup-import, public",
                    ))
                }
            };
            let derived = if kind == vault::KIND_PUBLIC {
                public_fingerprint_hex(&key)
            } else {
                fingerprint_hex(&key)
            };
            if derived != fingerprint {
                return Err(bad(
                    "encryptionProfile",
                    &name,
                    "key",
                    format!("does not match fingerprint {fingerprint}"),
                ));
            }
            may_write(self)?;
            let created = vault::create_of_kind(
                self.db,
                self.sealer,
                &name,
                description.as_deref(),
                &key,
                kind,
            )
            .map_err(|e| about("encryptionProfile", &name, e))?;
            self.change("encryptionProfile", ChangeAction::Create, &name, None);
            self.profiles.insert(fingerprint, created.id);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::checks::{
        admin, document, install, now, object, refused_naming, sealer, Edit,
    };
    use super::super::{restore, ChangeAction};
    use super::*;

    /// A key already in the vault keeps its row: the document's name and description are
    /// carried over once, then it is unchanged (a blank description is none, as at create).
    #[test]
    fn a_stored_key_takes_the_documents_name() {
        let db = install();
        let key = [9; 32];
        let stored = vault::create(&db, &sealer(), "old name", None, &key).unwrap();
        let mut doc = document(&db);
        doc.encryption_profiles = vec![object(json!({"name": "offsite", "description": " ",
            "fingerprint": fingerprint_hex(&key)}))];
        for expected in [ChangeAction::Update, ChangeAction::Unchanged] {
            let r = restore(&db, &sealer(), &doc, &admin(), now(), false).unwrap();
            let c = r.changes.iter().find(|c| c.entity == "encryptionProfile");
            assert_eq!(c.map(|c| c.action), Some(expected), "{:?}", r.changes);
        }
        let after = vault::get(&db, &sealer(), &stored.id).unwrap();
        assert_eq!((after.name.as_str(), after.description), ("offsite", None));
    }

    /// A key that is not one, or not the fingerprint's, and a name the vault would refuse: 400
    /// naming the profile and the field, before anything of the document is written.
    #[test]
    fn a_profile_its_api_would_refuse_is_refused_by_field() {
        let profile = |name: &str, key: String, fingerprint: &str| -> Edit {
            let p = object(json!({"name": name, "key": key, "fingerprint": fingerprint}));
            Box::new(move |d| d.encryption_profiles.push(p.clone()))
        };
        let fingerprint = dbackup_adapters_core::fingerprint::fingerprint_hex(&[7; 32]);
        let cases: Vec<(Edit, &str, &str)> = vec![
            (
                profile("offsite", "zz".repeat(32), &fingerprint),
                "encryptionProfile",
                "key",
            ),
            (
                profile("offsite", "08".repeat(32), &fingerprint),
                "encryptionProfile",
                "key",
            ),
            (
                profile("tab\there", "07".repeat(32), &fingerprint),
                "encryptionProfile",
                "name",
            ),
        ];
        refused_naming(cases, 400);
    }

    /// A write-only profile travels with its kind: exported with `kind: "public"` and its
    /// public key, restored into another vault as write-only again (same fingerprint), never
    /// as a symmetric profile whose "key" would be a public value.
    #[test]
    fn a_write_only_profile_keeps_its_kind_through_export_and_restore() {
        let from = install();
        let public = [0x5a; 32];
        let made = vault::create_of_kind(&from, &sealer(), "wo", None, &public, vault::KIND_PUBLIC)
            .unwrap();
        let options = crate::export::ExportOptions {
            include_secrets: true,
            include_password_hashes: false,
        };
        let exported = crate::export::export(&from, Some(&sealer()), options, "t").unwrap();
        let p = exported
            .encryption_profiles
            .iter()
            .find(|p| p.get("name") == Some(&json!("wo")))
            .cloned()
            .unwrap();
        assert_eq!(p.get("kind"), Some(&json!("public")));
        let to = install();
        let mut doc = document(&to);
        doc.encryption_profiles = vec![p];
        restore(&to, &sealer(), &doc, &admin(), now(), false).unwrap();
        let id = vault::find_by_fingerprint(&to, &made.fingerprint)
            .unwrap()
            .unwrap();
        assert_eq!(vault::kind_of(&to, &id).unwrap(), vault::KIND_PUBLIC);
    }
}
