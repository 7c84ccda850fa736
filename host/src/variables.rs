//! Application variables as Spin resolves them: a value from `SPIN_VARIABLE_<NAME>` in the
//! environment, else the manifest default; components see their own `[component.x.variables]`,
//! whose values are templates over application variables (`"{{ worker_url }}"`).

use crate::manifest::Manifest;
use anyhow::{bail, Result};
use std::collections::BTreeMap;

/// Resolved application variables. Secret values are never printed by `Debug`.
#[derive(Clone, Default)]
pub struct Variables {
    values: BTreeMap<String, String>,
}

impl std::fmt::Debug for Variables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.values.keys()).finish()
    }
}

impl Variables {
    /// Resolves every application variable from `env` (a lookup such as `std::env::var`), failing
    /// with the names of all required variables that have no value.
    pub fn resolve(manifest: &Manifest, env: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let mut values = BTreeMap::new();
        let mut missing = Vec::new();
        for (name, decl) in &manifest.variables {
            let key = format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase());
            match env(&key).or_else(|| decl.default.clone()) {
                Some(v) => {
                    values.insert(name.clone(), v);
                }
                None if decl.required => missing.push(key),
                None => {}
            }
        }
        if !missing.is_empty() {
            bail!(
                "required variable{} not set: {} (set the environment variable{})",
                if missing.len() > 1 { "s" } else { "" },
                missing.join(", "),
                if missing.len() > 1 { "s" } else { "" },
            );
        }
        let vars = Variables { values };
        // Every component template must expand now, so a typo fails at start, not per request.
        for (id, c) in &manifest.components {
            for (name, template) in &c.variables {
                vars.expand(template)
                    .map_err(|e| anyhow::anyhow!("component {id}, variable {name}: {e}"))?;
            }
            for host in &c.allowed_outbound_hosts {
                vars.expand(host)
                    .map_err(|e| anyhow::anyhow!("component {id}, allowed_outbound_hosts: {e}"))?;
            }
        }
        Ok(vars)
    }

    /// The value of an application variable.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Expands `{{ name }}` references to application variables in a template.
    pub fn expand(&self, template: &str) -> Result<String> {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                bail!("unterminated '{{{{' in {template:?}");
            };
            let name = after[..end].trim();
            match self.values.get(name) {
                Some(v) => out.push_str(v),
                None => bail!("{template:?} refers to undefined variable {name:?}"),
            }
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    const MANIFEST: &str = r#"
spin_manifest_version = 2
[application]
name = "t"
[variables]
token = { required = true, secret = true }
url = { default = "http://127.0.0.1:3001" }
[component.c]
source = "c.wasm"
allowed_outbound_hosts = ["{{ url }}"]
[component.c.variables]
worker = "{{ url }}/v1"
"#;

    fn manifest() -> Manifest {
        Manifest::parse(MANIFEST, PathBuf::from(".")).expect("parses")
    }

    #[test]
    fn env_overrides_default_and_templates_expand() {
        let env = |k: &str| match k {
            "SPIN_VARIABLE_TOKEN" => Some("t0k".to_owned()),
            "SPIN_VARIABLE_URL" => Some("http://10.0.0.1:9".to_owned()),
            _ => None,
        };
        let v = Variables::resolve(&manifest(), env).expect("resolves");
        assert_eq!(v.get("token"), Some("t0k"));
        assert_eq!(
            v.expand("{{ url }}/v1").expect("expands"),
            "http://10.0.0.1:9/v1"
        );
        assert!(
            !format!("{v:?}").contains("t0k"),
            "Debug must not print values"
        );
    }

    #[test]
    fn default_used_when_env_missing() {
        let env = |k: &str| (k == "SPIN_VARIABLE_TOKEN").then(|| "x".to_owned());
        let v = Variables::resolve(&manifest(), env).expect("resolves");
        assert_eq!(v.get("url"), Some("http://127.0.0.1:3001"));
    }

    #[test]
    fn missing_required_is_one_clear_error() {
        let err = Variables::resolve(&manifest(), |_| None)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "required variable not set: SPIN_VARIABLE_TOKEN (set the environment variable)"
        );
    }

    #[test]
    fn undefined_reference_fails() {
        let v = Variables::resolve(&manifest(), |_| Some("x".into())).expect("resolves");
        assert!(v.expand("{{ nope }}").is_err());
        assert!(v.expand("{{ url").is_err());
    }
}
