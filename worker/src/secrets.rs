//! Helpers that keep secrets out of responses and logs.

/// The replacement text for a masked secret.
pub use dbackup_protocol::MASK;

/// Returns `text` with every occurrence of every non-empty secret replaced by `********`.
///
/// Longer secrets are replaced first so that a secret containing another one is fully
/// masked. Apply this to any tool output (stderr) before returning or logging it.
pub fn mask_secrets<S: AsRef<str>>(text: &str, secrets: &[S]) -> String {
    let mut secrets: Vec<&str> = secrets
        .iter()
        .map(AsRef::as_ref)
        .filter(|s| !s.is_empty())
        .collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_owned();
    for secret in secrets {
        if out.contains(secret) {
            out = out.replace(secret, MASK);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_occurrence() {
        assert_eq!(
            mask_secrets("pw=s3cr3t-P@ss and again s3cr3t-P@ss.", &["s3cr3t-P@ss"]),
            "pw=******** and again ********."
        );
    }

    #[test]
    fn ignores_empty_and_absent_secrets() {
        assert_eq!(mask_secrets("nothing here", &["", "zzz"]), "nothing here");
        assert_eq!(mask_secrets("abc", &[] as &[&str]), "abc");
    }

    #[test]
    fn longest_secret_first() {
        assert_eq!(
            mask_secrets("x hunter2hunter2 y", &["hunter2", "hunter2hunter2"]),
            "x ******** y"
        );
    }

    #[test]
    fn accepts_owned_strings() {
        let secrets = vec![String::from("tok")];
        assert_eq!(mask_secrets("a tok b", &secrets), "a ******** b");
    }
}
