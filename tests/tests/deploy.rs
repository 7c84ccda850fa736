//! `deploy/` kept true to the app: the SpinKube and worker manifests parse as YAML and name
//! what `spin.toml` and the worker actually have, the runtime config they carry runs under the
//! real `spin up` against a real libSQL server, and the worker's container recipe installs every
//! client tool the worker looks for (`dbackup_worker::tools::CLIENT_TOOLS`).
//!
//! What cannot run here (no Kubernetes, no container engine) is listed in docs/DEPLOY.md.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dbackup_host::manifest::Manifest;
use dbackup_tests::repo;
use dbackup_worker::tools::CLIENT_TOOLS;
use yaml_rust2::{Yaml, YamlLoader};

/// The PostgreSQL majors the worker image carries a client set for.
const PG_MAJORS: [u32; 5] = [14, 15, 16, 17, 18];

/// The label spin-operator puts on a SpinApp's pods (value: the SpinApp's name).
const SPINKUBE_APP_LABEL: &str = "core.spinkube.dev/app-name";

/// The key of a `runtimeConfig.loadFromSecret` Secret that spin-operator reads.
const RUNTIME_CONFIG_KEY: &str = "runtime-config.toml";

/// The fields of spin-operator's `SpinAppSpec` (core.spinkube.dev/v1alpha1, spin-operator 0.4+
/// `api/v1alpha1/spinapp_types.go`): a misspelt field would be dropped by the API server.
const SPINAPP_SPEC_FIELDS: &[&str] = &[
    "executor",
    "image",
    "imagePullSecrets",
    "checks",
    "replicas",
    "enableAutoscaling",
    "runtimeConfig",
    "volumes",
    "volumeMounts",
    "variables",
    "serviceAnnotations",
    "deploymentAnnotations",
    "podAnnotations",
    "podLabels",
    "resources",
    "components",
    "serviceAccountName",
    "invocationLimits",
];

fn deploy_dir() -> PathBuf {
    repo().join("deploy")
}

fn spin_manifest() -> Manifest {
    Manifest::load(&repo().join("spin.toml")).expect("spin.toml loads")
}

/// One YAML document of one file under deploy/.
struct Doc {
    file: String,
    yaml: Yaml,
}

impl Doc {
    fn kind(&self) -> &str {
        self.yaml["kind"].as_str().unwrap_or_default()
    }

    fn name(&self) -> &str {
        self.yaml["metadata"]["name"].as_str().unwrap_or_default()
    }
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            out.push(path);
        }
    }
}

/// Every document of every `*.yaml`/`*.yml` under deploy/ (a parse error fails the test).
fn documents() -> Vec<Doc> {
    let mut files = Vec::new();
    yaml_files(&deploy_dir(), &mut files);
    files.sort();
    assert!(!files.is_empty(), "no YAML files under deploy/");
    let mut docs = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("read manifest");
        let file = path
            .strip_prefix(repo())
            .unwrap_or(&path)
            .display()
            .to_string();
        let parsed = YamlLoader::load_from_str(&text)
            .unwrap_or_else(|e| panic!("{file} is not valid YAML: {e}"));
        assert!(!parsed.is_empty(), "{file} holds no YAML document");
        for yaml in parsed {
            docs.push(Doc {
                file: file.clone(),
                yaml,
            });
        }
    }
    docs
}

fn only<'a>(docs: &'a [Doc], kind: &str) -> &'a Doc {
    let found: Vec<&Doc> = docs.iter().filter(|d| d.kind() == kind).collect();
    assert_eq!(
        found.len(),
        1,
        "expected exactly one {kind} under deploy/, found {}",
        found.len()
    );
    found[0]
}

fn secret<'a>(docs: &'a [Doc], name: &str) -> &'a Doc {
    docs.iter()
        .find(|d| d.kind() == "Secret" && d.name() == name)
        .unwrap_or_else(|| panic!("no Secret {name:?} under deploy/ (secrets.example.yaml)"))
}

/// The keys of a Secret (`stringData` and `data`) with their `stringData` text ("" for `data`).
fn secret_entries(doc: &Doc) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for field in ["stringData", "data"] {
        if let Some(map) = doc.yaml[field].as_hash() {
            for (k, v) in map {
                let key = k.as_str().expect("Secret keys are strings").to_owned();
                let value = if field == "stringData" {
                    v.as_str()
                        .unwrap_or_else(|| panic!("{}: {key} is not a string", doc.file))
                        .to_owned()
                } else {
                    String::new()
                };
                out.insert(key, value);
            }
        }
    }
    out
}

/// The `(secret name, key)` of a `valueFrom.secretKeyRef`, if the entry has one.
fn secret_ref(entry: &Yaml) -> Option<(String, String)> {
    let r = &entry["valueFrom"]["secretKeyRef"];
    Some((
        r["name"].as_str()?.to_owned(),
        r["key"].as_str()?.to_owned(),
    ))
}

fn labels(y: &Yaml) -> BTreeMap<String, String> {
    y.as_hash()
        .map(|h| {
            h.iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

fn port_of(addr: &str) -> u16 {
    addr.rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .unwrap_or_else(|| panic!("{addr:?} has no port"))
}

#[test]
fn every_manifest_parses_and_names_itself() {
    let docs = documents();
    for doc in &docs {
        for field in ["apiVersion", "kind"] {
            assert!(
                doc.yaml[field].as_str().is_some_and(|s| !s.is_empty()),
                "{}: a document without {field}",
                doc.file
            );
        }
        assert!(
            !doc.name().is_empty(),
            "{}: a {} without metadata.name",
            doc.file,
            doc.kind()
        );
    }
    let kinds: BTreeSet<&str> = docs.iter().map(Doc::kind).collect();
    for kind in [
        "SpinApp",
        "Secret",
        "Deployment",
        "Service",
        "NetworkPolicy",
    ] {
        assert!(kinds.contains(kind), "no {kind} under deploy/: {kinds:?}");
    }
    // One namespace for everything: the Service DNS names in spinapp.yaml depend on it.
    let namespaces: BTreeSet<&str> = docs
        .iter()
        .map(|d| d.yaml["metadata"]["namespace"].as_str().unwrap_or("<none>"))
        .collect();
    assert_eq!(
        namespaces.len(),
        1,
        "manifests in several namespaces: {namespaces:?}"
    );
    let spinapp = only(&docs, "SpinApp");
    assert_eq!(
        spinapp.yaml["apiVersion"].as_str(),
        Some("core.spinkube.dev/v1alpha1")
    );
    assert!(
        spinapp.yaml["spec"]["image"]
            .as_str()
            .is_some_and(|i| !i.is_empty()),
        "the SpinApp has no spec.image"
    );
}

#[test]
fn example_secrets_hold_placeholders_only() {
    let docs = documents();
    let secrets: Vec<&Doc> = docs.iter().filter(|d| d.kind() == "Secret").collect();
    assert!(!secrets.is_empty());
    for doc in secrets {
        assert!(
            doc.file.ends_with(".example.yaml"),
            "{}: Secrets belong in *.example.yaml files (placeholders, copied out and filled in)",
            doc.file
        );
        assert!(
            doc.yaml["data"].is_badvalue(),
            "{}: {} uses `data` (base64); the example uses readable stringData placeholders",
            doc.file,
            doc.name()
        );
        for (key, value) in secret_entries(doc) {
            let placeholder = if key == RUNTIME_CONFIG_KEY {
                // The TOML's own secret is its token.
                let table: toml::Table = value.parse().expect("runtime-config.toml");
                table
                    .values()
                    .filter_map(toml::Value::as_table)
                    .flat_map(|t| t.values())
                    .filter_map(toml::Value::as_table)
                    .filter_map(|db| db.get("token").and_then(toml::Value::as_str))
                    .all(|t| t.contains("REPLACE"))
            } else {
                value.is_empty() || value.contains("REPLACE")
            };
            assert!(
                placeholder,
                "{}: {}.{key} looks like a real value; examples hold REPLACE-… placeholders",
                doc.file,
                doc.name()
            );
        }
    }
}

#[test]
fn spinapp_names_every_component_and_variable_of_spin_toml() {
    let manifest = spin_manifest();
    let docs = documents();
    let app = &only(&docs, "SpinApp").yaml["spec"];
    for key in app.as_hash().expect("spec").keys() {
        let key = key.as_str().expect("spec keys are strings");
        assert!(
            SPINAPP_SPEC_FIELDS.contains(&key),
            "spec.{key} is not a SpinApp field"
        );
    }

    // Components: the SpinApp's list is a selective deployment, so one missing here would not
    // run on SpinKube at all.
    let listed: Vec<&str> = app["components"]
        .as_vec()
        .expect("spec.components is a list")
        .iter()
        .map(|c| c.as_str().expect("component ids are strings"))
        .collect();
    let listed_set: BTreeSet<&str> = listed.iter().copied().collect();
    assert_eq!(listed.len(), listed_set.len(), "a component listed twice");
    let in_toml: BTreeSet<&str> = manifest.components.keys().map(String::as_str).collect();
    assert_eq!(
        listed_set, in_toml,
        "spec.components of deploy/spinkube/spinapp.yaml differs from spin.toml's components"
    );

    // Variables: each of spin.toml's [variables] bound once; secret ones from a Secret's key
    // that the example Secret has.
    let vars = app["variables"].as_vec().expect("spec.variables is a list");
    let mut bound = BTreeSet::new();
    for var in vars {
        let name = var["name"].as_str().expect("a variable without a name");
        assert!(bound.insert(name), "variable {name} bound twice");
        let decl = manifest.variables.get(name).unwrap_or_else(|| {
            panic!("the SpinApp binds {name}, which spin.toml does not declare")
        });
        let has_value = !var["value"].is_badvalue();
        match secret_ref(var) {
            Some((secret_name, key)) => {
                assert!(!has_value, "{name} has both value and valueFrom");
                let entries = secret_entries(secret(&docs, &secret_name));
                assert!(
                    entries.contains_key(&key),
                    "{name} reads key {key:?} of Secret {secret_name:?}, which the example lacks"
                );
            }
            None => {
                assert!(
                    !decl.secret,
                    "{name} is `secret = true` in spin.toml: it must come from a secretKeyRef, not a literal"
                );
                assert!(
                    var["value"].as_str().is_some() || !var["valueFrom"].is_badvalue(),
                    "{name} has neither value nor valueFrom"
                );
            }
        }
    }
    let declared: BTreeSet<&str> = manifest.variables.keys().map(String::as_str).collect();
    let missing: Vec<&&str> = declared.difference(&bound).collect();
    assert!(
        missing.is_empty(),
        "spin.toml variables not bound in the SpinApp: {missing:?}"
    );

    // The runtime config: a Secret with runtime-config.toml, a libsql database for every
    // SQLite label the components use.
    let secret_name = app["runtimeConfig"]["loadFromSecret"]
        .as_str()
        .expect("spec.runtimeConfig.loadFromSecret");
    let entries = secret_entries(secret(&docs, secret_name));
    assert_eq!(
        entries.keys().collect::<Vec<_>>(),
        [RUNTIME_CONFIG_KEY],
        "spin-operator expects the runtime config Secret to hold the one key {RUNTIME_CONFIG_KEY}"
    );
    let text = entries
        .get(RUNTIME_CONFIG_KEY)
        .unwrap_or_else(|| panic!("Secret {secret_name} has no {RUNTIME_CONFIG_KEY} key"));
    let config: toml::Table = text.parse().expect("runtime-config.toml is TOML");
    let labels: BTreeSet<&str> = manifest
        .components
        .values()
        .flat_map(|c| c.sqlite_databases.iter().map(String::as_str))
        .collect();
    assert!(!labels.is_empty());
    for label in labels {
        let db = config
            .get("sqlite_database")
            .and_then(|t| t.get(label))
            .and_then(toml::Value::as_table)
            .unwrap_or_else(|| panic!("runtime-config.toml has no [sqlite_database.{label}]"));
        assert_eq!(db.get("type").and_then(toml::Value::as_str), Some("libsql"));
        for key in ["url", "token"] {
            assert!(
                db.get(key).and_then(toml::Value::as_str).is_some(),
                "[sqlite_database.{label}] has no {key} (Spin requires it for libsql)"
            );
        }
    }
}

#[test]
fn worker_manifests_fit_the_app_and_the_worker() {
    let docs = documents();
    let spinapp = only(&docs, "SpinApp");
    let deployment = only(&docs, "Deployment");
    let service = only(&docs, "Service");
    let policy = only(&docs, "NetworkPolicy");
    let pod = &deployment.yaml["spec"]["template"];
    let containers = pod["spec"]["containers"].as_vec().expect("containers");
    assert_eq!(containers.len(), 1, "one worker container");
    let worker = &containers[0];

    // The token: from the same Secret key the app's worker_token reads, never on argv.
    let env = worker["env"].as_vec().expect("the worker's env");
    let env_by_name: BTreeMap<&str, &Yaml> = env
        .iter()
        .map(|e| (e["name"].as_str().expect("env name"), e))
        .collect();
    let known = [
        dbackup_worker::ENV_LISTEN,
        dbackup_worker::ENV_TOKEN,
        dbackup_worker::ENV_MAX_TASKS,
        dbackup_worker::ENV_DATA_DIR,
        dbackup_worker::ENV_LOCAL_ROOTS,
        dbackup_worker::ENV_CA_FILE,
        dbackup_worker::ENV_PG_BIN_DIRS,
    ];
    for name in env_by_name.keys() {
        assert!(
            !name.starts_with("DBACKUP_") || known.contains(name),
            "{}: {name} is not a variable the worker reads (worker/src/config.rs)",
            deployment.file
        );
    }
    let token = env_by_name
        .get(dbackup_worker::ENV_TOKEN)
        .unwrap_or_else(|| panic!("the worker has no {}", dbackup_worker::ENV_TOKEN));
    let token_ref = secret_ref(token).expect("the worker token comes from a secretKeyRef");
    let app_token_ref = spinapp.yaml["spec"]["variables"]
        .as_vec()
        .and_then(|vars| {
            vars.iter()
                .find(|v| v["name"].as_str() == Some("worker_token"))
        })
        .and_then(secret_ref)
        .expect("the SpinApp's worker_token comes from a secretKeyRef");
    assert_eq!(
        token_ref, app_token_ref,
        "the worker and the app must read the token from the same Secret key"
    );
    assert!(secret_entries(secret(&docs, &token_ref.0)).contains_key(&token_ref.1));
    for field in ["command", "args"] {
        if let Some(argv) = worker[field].as_vec() {
            for arg in argv.iter().filter_map(Yaml::as_str) {
                assert!(
                    !arg.contains("TOKEN") && !arg.contains("token"),
                    "{field} mentions the token: {arg}"
                );
            }
        }
    }

    // Ports: listen = containerPort = Service target = the app's worker_url port; the Service
    // and the NetworkPolicy select the worker's pods.
    let listen = env_by_name
        .get(dbackup_worker::ENV_LISTEN)
        .and_then(|e| e["value"].as_str())
        .expect("DBACKUP_WORKER_LISTEN");
    let port = port_of(listen);
    let container_port = &worker["ports"][0];
    assert_eq!(
        container_port["containerPort"].as_i64(),
        Some(i64::from(port))
    );
    let port_name = container_port["name"].as_str().unwrap_or_default();
    let svc_port = &service.yaml["spec"]["ports"][0];
    let target = &svc_port["targetPort"];
    assert!(
        target.as_i64() == Some(i64::from(port)) || target.as_str() == Some(port_name),
        "the Service's targetPort is not the worker's port"
    );
    let pod_labels = labels(&pod["metadata"]["labels"]);
    for (selector, what) in [
        (&service.yaml["spec"]["selector"], "Service selector"),
        (
            &deployment.yaml["spec"]["selector"]["matchLabels"],
            "Deployment selector",
        ),
        (
            &policy.yaml["spec"]["podSelector"]["matchLabels"],
            "NetworkPolicy podSelector",
        ),
    ] {
        let selector = labels(selector);
        assert!(!selector.is_empty(), "{what} is empty");
        for (k, v) in &selector {
            assert_eq!(
                pod_labels.get(k),
                Some(v),
                "{what} {k}={v} does not match the worker's pods"
            );
        }
    }
    let namespace = service.yaml["metadata"]["namespace"]
        .as_str()
        .expect("namespace");
    let worker_url = spinapp.yaml["spec"]["variables"]
        .as_vec()
        .and_then(|vars| {
            vars.iter()
                .find(|v| v["name"].as_str() == Some("worker_url"))
        })
        .and_then(|v| v["value"].as_str())
        .expect("the SpinApp's worker_url");
    let svc_port_number = svc_port["port"].as_i64().expect("Service port");
    let expected = format!(
        "http://{}.{namespace}.svc.cluster.local:{svc_port_number}",
        service.name()
    );
    assert_eq!(
        worker_url, expected,
        "worker_url does not name the worker Service"
    );

    // Only the app's pods may reach the worker's port.
    let spec = &policy.yaml["spec"];
    let types: Vec<&str> = spec["policyTypes"]
        .as_vec()
        .map(|v| v.iter().filter_map(Yaml::as_str).collect())
        .unwrap_or_default();
    assert!(
        types.contains(&"Ingress"),
        "the NetworkPolicy does not restrict ingress"
    );
    let rules = spec["ingress"].as_vec().expect("ingress rules");
    assert_eq!(rules.len(), 1, "one ingress rule: from the app");
    let from = rules[0]["from"].as_vec().expect("ingress.from");
    assert_eq!(from.len(), 1, "ingress from the app's pods only");
    assert!(
        from[0]["namespaceSelector"].is_badvalue() && from[0]["ipBlock"].is_badvalue(),
        "ingress.from widens past the app's pods"
    );
    let from_labels = labels(&from[0]["podSelector"]["matchLabels"]);
    assert_eq!(
        from_labels,
        BTreeMap::from([(SPINKUBE_APP_LABEL.to_owned(), spinapp.name().to_owned())]),
        "ingress must come from the SpinApp's pods ({SPINKUBE_APP_LABEL}={})",
        spinapp.name()
    );
    let ports: Vec<i64> = rules[0]["ports"]
        .as_vec()
        .expect("ingress.ports")
        .iter()
        .filter_map(|p| p["port"].as_i64())
        .collect();
    assert_eq!(
        ports,
        vec![i64::from(port)],
        "ingress opens the worker's port only"
    );
}

// ---------------------------------------------------------------------------------------------
// The worker's container recipe
// ---------------------------------------------------------------------------------------------

/// What a Debian package installs that the worker looks for (verified against `dpkg -L` below
/// for every package installed on this machine).
fn provides(package: &str) -> Vec<String> {
    if let Some(major) = package.strip_prefix("postgresql-client-") {
        return ["pg_dump", "pg_restore", "psql"]
            .iter()
            .map(|t| format!("/usr/lib/postgresql/{major}/bin/{t}"))
            .collect();
    }
    let tools: &[&str] = match package {
        "mariadb-client" => &["mariadb-dump", "mysqldump", "mariadb", "mysql"],
        "redis-tools" => &["redis-cli"],
        "valkey-tools" => &["valkey-cli"],
        "sqlite3" => &["sqlite3"],
        "rclone" => &["rclone"],
        "mongodb-database-tools" => &["mongodump", "mongorestore"],
        "mongodb-mongosh" => &["mongosh"],
        _ => &[],
    };
    tools.iter().map(|t| format!("/usr/bin/{t}")).collect()
}

/// Packages `apt-get install`ed in the recipe's last (runtime) stage: (always, optional), where
/// optional ones are in a `RUN` conditional on a build argument.
fn recipe_packages(text: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    // Logical lines: comments dropped, backslash continuations joined.
    let mut logical = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
        } else {
            current.push_str(trimmed);
            logical.push(std::mem::take(&mut current));
        }
    }
    let last_from = logical
        .iter()
        .rposition(|l| l.starts_with("FROM "))
        .expect("the recipe has a FROM");
    let (mut always, mut optional) = (BTreeSet::new(), BTreeSet::new());
    for line in &logical[last_from..] {
        let Some(run) = line.strip_prefix("RUN ") else {
            continue;
        };
        let conditional = run.trim_start().starts_with("if ");
        for command in run.split("&&").flat_map(|c| c.split(';')) {
            let words: Vec<&str> = command.split_whitespace().collect();
            let Some(at) = words.windows(2).position(|w| w == ["apt-get", "install"]) else {
                continue;
            };
            for word in &words[at + 2..] {
                if !word.starts_with('-') {
                    let set = if conditional {
                        &mut optional
                    } else {
                        &mut always
                    };
                    set.insert((*word).to_owned());
                }
            }
        }
    }
    (always, optional)
}

fn dpkg_files(package: &str) -> Option<BTreeSet<String>> {
    let out = std::process::Command::new("dpkg")
        .args(["-L", package])
        .output()
        .ok()?;
    out.status.success().then(|| {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    })
}

fn dpkg_depends(package: &str) -> Vec<String> {
    let out = std::process::Command::new("dpkg-query")
        .args(["-W", "-f=${Depends}", package])
        .output();
    let Ok(out) = out else { return Vec::new() };
    String::from_utf8_lossy(&out.stdout)
        .split([',', '|'])
        .filter_map(|d| d.split_whitespace().next())
        .map(|d| d.split(':').next().unwrap_or(d).to_owned())
        .collect()
}

#[test]
fn containerfile_installs_every_tool_the_worker_looks_for() {
    let path = deploy_dir().join("worker/Containerfile");
    let text = std::fs::read_to_string(&path).expect("deploy/worker/Containerfile");
    let (always, optional) = recipe_packages(&text);
    eprintln!("runtime packages: {always:?}; optional: {optional:?}");

    let installed = |set: &BTreeSet<String>| -> BTreeSet<String> {
        set.iter().flat_map(|p| provides(p)).collect()
    };
    let (always_files, optional_files) = (installed(&always), installed(&optional));
    let has = |files: &BTreeSet<String>, name: &str| {
        files.iter().any(|f| f.rsplit('/').next() == Some(name))
    };
    for tool in CLIENT_TOOLS {
        if tool.used_by == "postgresql" {
            // A client set per supported major, in the directory the worker searches.
            for major in PG_MAJORS {
                for name in tool.names {
                    let file = format!("/usr/lib/postgresql/{major}/bin/{name}");
                    assert!(
                        always_files.contains(&file),
                        "the recipe does not install {file} (postgresql-client-{major})"
                    );
                }
            }
        } else if tool.used_by == "mongodb" {
            // MongoDB's tools are not in Debian: optional, behind a build argument.
            assert!(
                tool.names.iter().any(|n| has(&optional_files, n)),
                "the recipe's optional MongoDB step does not install any of {:?}",
                tool.names
            );
        } else {
            assert!(
                tool.names.iter().any(|n| has(&always_files, n)),
                "the recipe does not install any of {:?} (used by {})",
                tool.names,
                tool.used_by
            );
        }
    }

    // The package table above, checked against this machine's packages where installed
    // (directly or through a dependency, as mariadb-client brings mariadb-client-core).
    let mut verified = 0;
    for package in always.iter().chain(&optional) {
        let Some(mut files) = dpkg_files(package) else {
            continue;
        };
        for dep in dpkg_depends(package) {
            files.extend(dpkg_files(&dep).unwrap_or_default());
        }
        for file in provides(package) {
            assert!(
                files.contains(&file),
                "{package} (installed here) does not ship {file}: fix provides() or the recipe"
            );
            verified += 1;
        }
    }
    assert!(
        verified > 0,
        "none of the recipe's packages is installed here, so its package table went unchecked"
    );
    eprintln!("{verified} tool files checked against dpkg -L");

    // Runtime stage: non-root, the worker as entry point, no token baked in.
    let runtime = &text[text.rfind("\nFROM ").expect("a runtime stage")..];
    assert!(
        runtime
            .lines()
            .any(|l| l.starts_with("USER ") && !l.contains("root") && !l.contains(" 0")),
        "the runtime stage does not switch to a non-root USER"
    );
    assert!(runtime.contains("ENTRYPOINT [\"/usr/local/bin/dbackup-worker\"]"));
    assert!(
        !runtime
            .lines()
            .any(|l| l.trim_start().starts_with("ENV") && l.contains("DBACKUP_WORKER_TOKEN")),
        "the image must not carry a worker token"
    );
    assert!(
        text.contains("FROM docker.io/library/debian:bookworm"),
        "the runtime stage is Debian bookworm"
    );

    // The build context is the repository root: local secrets and build output stay out.
    let ignore = std::fs::read_to_string(deploy_dir().join("worker/Containerfile.dockerignore"))
        .expect("deploy/worker/Containerfile.dockerignore");
    let ignored: BTreeSet<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for path in [".dbackup", "target", ".git"] {
        assert!(
            ignored.contains(path),
            "Containerfile.dockerignore does not keep {path} out of the build context"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The runtime config under the real `spin up`
// ---------------------------------------------------------------------------------------------

/// The manifest's runtime config with the libSQL server's address and token replaced by a
/// local `sqld`'s (everything else as written in deploy/).
fn runtime_config_for(url: &str, token: &str) -> String {
    let docs = documents();
    let app = &only(&docs, "SpinApp").yaml["spec"];
    let name = app["runtimeConfig"]["loadFromSecret"]
        .as_str()
        .expect("loadFromSecret");
    let text = secret_entries(secret(&docs, name))
        .remove(RUNTIME_CONFIG_KEY)
        .expect("runtime-config.toml");
    let mut config: toml::Table = text.parse().expect("runtime-config.toml is TOML");
    let dbs = config
        .get_mut("sqlite_database")
        .and_then(toml::Value::as_table_mut)
        .expect("[sqlite_database]");
    for db in dbs.iter_mut().filter_map(|(_, v)| v.as_table_mut()) {
        db.insert("url".into(), url.into());
        db.insert("token".into(), token.into());
    }
    toml::to_string(&config).expect("TOML")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs spin (+ trigger-cron) and sqld: cargo xtask test runs it"]
async fn runtime_config_runs_under_spin_on_sqld() {
    use dbackup_tests::spin::{SpinApp, SpinOptions};
    use dbackup_tests::sqld::Sqld;

    let sqld = Sqld::start().await;
    let config = runtime_config_for(&sqld.url(), sqld.token());
    let started = Instant::now();
    let app = SpinApp::start(SpinOptions {
        runtime_config: Some(config),
        ..Default::default()
    })
    .await;
    // 200 only once the runner's first tick has applied the migrations: through this runtime
    // config, on the libSQL server.
    let healthy = dbackup_tests::wait_for(Duration::from_secs(180), || async {
        let resp = dbackup_tests::request(app.addr(), "GET", "/api/health", &[], None).await;
        resp.is_ok_and(|r| r.status == 200).then_some(())
    })
    .await;
    assert!(
        healthy.is_some(),
        "/api/health never answered 200 under spin up with deploy/'s runtime config\n{}",
        app.log()
    );
    eprintln!(
        "spin up with deploy/'s runtime config: /api/health 200 after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let rows = sqld
        .query("SELECT COUNT(*) FROM schema_migrations")
        .await
        .expect("schema_migrations on the libSQL server");
    let applied = rows[0][0]["value"].as_str().unwrap_or("0");
    assert_ne!(
        applied, "0",
        "the migrations did not land on the libSQL server"
    );
    app.stop().await;
}
