//! The subset of Spin's application manifest (`spin_manifest_version = 2`) that the host serves:
//! HTTP and cron triggers, components with their sources, files, SQLite labels, outbound hosts and
//! variables. Anything it does not understand is ignored, as Spin ignores unknown trigger types.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A parsed manifest plus the folder it was read from (relative paths resolve against it).
#[derive(Debug, Clone)]
pub struct Manifest {
    pub dir: PathBuf,
    pub application: Application,
    pub variables: BTreeMap<String, VariableDecl>,
    pub http_triggers: Vec<HttpTrigger>,
    pub cron_triggers: Vec<CronTrigger>,
    pub components: BTreeMap<String, ComponentDecl>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct Application {
    pub name: String,
    #[serde(default)]
    pub version: Option<String>,
    /// `[application.tool.<name>]`: settings of tools, ignored by Spin. This host reads
    /// `tool.dbackup` (its HTTP limits, [`crate::limits`]).
    #[serde(default)]
    pub tool: BTreeMap<String, toml::Table>,
}

/// An application variable: `{ default = "…" }` or `{ required = true, secret = true }`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct VariableDecl {
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub secret: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HttpTrigger {
    pub route: String,
    pub component: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CronTrigger {
    pub component: String,
    pub cron_expression: String,
}

/// A `files` entry: a bare path (mounted at the same path) or a source → destination mapping.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum FileMount {
    Path(String),
    Mapping { source: String, destination: String },
}

#[derive(Debug, Clone, Deserialize)]
pub struct ComponentDecl {
    pub source: String,
    #[serde(default)]
    pub files: Vec<FileMount>,
    #[serde(default)]
    pub sqlite_databases: Vec<String>,
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct RawManifest {
    spin_manifest_version: u32,
    application: Application,
    #[serde(default)]
    variables: BTreeMap<String, VariableDecl>,
    #[serde(default)]
    trigger: RawTriggers,
    #[serde(default)]
    component: BTreeMap<String, ComponentDecl>,
}

#[derive(Deserialize, Default)]
struct RawTriggers {
    #[serde(default)]
    http: Vec<HttpTrigger>,
    #[serde(default)]
    cron: Vec<CronTrigger>,
}

impl Manifest {
    /// Reads and validates a manifest file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read manifest {}", path.display()))?;
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Self::parse(&text, dir).with_context(|| format!("invalid manifest {}", path.display()))
    }

    /// Parses manifest text; `dir` is the folder relative paths resolve against.
    pub fn parse(text: &str, dir: PathBuf) -> Result<Self> {
        let raw: RawManifest =
            toml::from_str(text).map_err(|e| anyhow::anyhow!("{}", e.message()))?;
        if raw.spin_manifest_version != 2 {
            bail!(
                "spin_manifest_version {} is not supported (expected 2)",
                raw.spin_manifest_version
            );
        }
        let manifest = Manifest {
            dir,
            application: raw.application,
            variables: raw.variables,
            http_triggers: raw.trigger.http,
            cron_triggers: raw.trigger.cron,
            components: raw.component,
        };
        manifest.validate()?;
        Ok(manifest)
    }

    fn validate(&self) -> Result<()> {
        for name in self.variables.keys() {
            if !is_valid_variable_name(name) {
                bail!("variable name {name:?} must be lowercase letters, digits and underscores");
            }
        }
        for (name, decl) in &self.variables {
            if decl.required && decl.default.is_some() {
                bail!("variable {name:?} cannot be both required and have a default");
            }
        }
        for t in &self.http_triggers {
            if !self.components.contains_key(&t.component) {
                bail!(
                    "route {} names unknown component {:?}",
                    t.route,
                    t.component
                );
            }
            if !t.route.starts_with('/') {
                bail!("route {:?} must start with '/'", t.route);
            }
        }
        for t in &self.cron_triggers {
            if !self.components.contains_key(&t.component) {
                bail!("cron trigger names unknown component {:?}", t.component);
            }
        }
        for (id, c) in &self.components {
            for name in c.variables.keys() {
                if !is_valid_variable_name(name) {
                    bail!("component {id}: variable name {name:?} is invalid");
                }
            }
        }
        Ok(())
    }

    /// Absolute path of a component's wasm file.
    pub fn component_source(&self, id: &str) -> Option<PathBuf> {
        self.components.get(id).map(|c| self.dir.join(&c.source))
    }
}

/// Spin's rule for variable names: lowercase ASCII letters, digits and `_`, starting with a letter.
pub fn is_valid_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_repository_manifest() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spin.toml");
        let m = Manifest::load(&path).expect("spin.toml parses");
        assert!(m.components.contains_key("system"));
        assert!(m.http_triggers.iter().any(|t| t.route == "/api/health"));
        assert_eq!(m.cron_triggers.len(), 1);
        assert!(m.variables["worker_token"].secret);
    }

    #[test]
    fn rejects_unknown_component_and_bad_version() {
        let bad = "spin_manifest_version = 2\n[application]\nname='x'\n[[trigger.http]]\nroute='/a'\ncomponent='nope'\n";
        let err = Manifest::parse(bad, PathBuf::from(".")).unwrap_err();
        assert!(err.to_string().contains("unknown component"), "{err}");
        let v1 = "spin_manifest_version = 1\n[application]\nname='x'\n";
        assert!(Manifest::parse(v1, PathBuf::from(".")).is_err());
    }

    #[test]
    fn variable_names() {
        assert!(is_valid_variable_name("worker_url"));
        assert!(!is_valid_variable_name("Worker"));
        assert!(!is_valid_variable_name("1x"));
        assert!(!is_valid_variable_name(""));
    }
}
