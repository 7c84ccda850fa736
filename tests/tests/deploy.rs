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

/// The value of a literal `env` entry of a container.
fn env_value<'a>(env: &BTreeMap<&str, &'a Yaml>, name: &str) -> Option<&'a str> {
    env.get(name).and_then(|e| e["value"].as_str())
}

/// The SpinApp's literal value of variable `name`.
fn spinapp_value<'a>(spinapp: &'a Doc, name: &str) -> &'a str {
    spinapp.yaml["spec"]["variables"]
        .as_vec()
        .and_then(|vars| vars.iter().find(|v| v["name"].as_str() == Some(name)))
        .and_then(|v| v["value"].as_str())
        .unwrap_or_else(|| panic!("the SpinApp has no literal {name}"))
}

/// The in-cluster base URL of a Service (its first port).
fn service_url(service: &Doc) -> String {
    let namespace = service.yaml["metadata"]["namespace"]
        .as_str()
        .expect("namespace");
    let port = service.yaml["spec"]["ports"][0]["port"]
        .as_i64()
        .expect("Service port");
    format!(
        "http://{}.{namespace}.svc.cluster.local:{port}",
        service.name()
    )
}

#[test]
fn worker_manifests_fit_the_app_and_the_worker() {
    let docs = documents();
    let spinapp = only(&docs, "SpinApp");
    let policy = only(&docs, "NetworkPolicy");
    let deployments: Vec<&Doc> = docs.iter().filter(|d| d.kind() == "Deployment").collect();
    let services: Vec<&Doc> = docs.iter().filter(|d| d.kind() == "Service").collect();
    assert!(!deployments.is_empty(), "no worker Deployment");
    let app_token_ref = spinapp.yaml["spec"]["variables"]
        .as_vec()
        .and_then(|vars| {
            vars.iter()
                .find(|v| v["name"].as_str() == Some("worker_token"))
        })
        .and_then(secret_ref)
        .expect("the SpinApp's worker_token comes from a secretKeyRef");
    let worker_url = spinapp_value(spinapp, "worker_url");
    let app_url = spinapp_value(spinapp, "app_url");
    let known = [
        dbackup_worker::ENV_LISTEN,
        dbackup_worker::ENV_TOKEN,
        dbackup_worker::ENV_MAX_TASKS,
        dbackup_worker::ENV_DATA_DIR,
        dbackup_worker::ENV_LOCAL_ROOTS,
        dbackup_worker::ENV_CA_FILE,
        dbackup_worker::ENV_PG_BIN_DIRS,
        dbackup_worker::ENV_APP_URL,
        dbackup_worker::ENV_WORKER_NAME,
        dbackup_worker::ENV_WORKER_LABELS,
        dbackup_worker::ENV_WORKER_CAPACITY,
        dbackup_worker::ENV_ADVERTISE_URL,
        dbackup_worker::ENV_HEARTBEAT_SECS,
    ];
    let policy_selector = labels(&policy.yaml["spec"]["podSelector"]["matchLabels"]);
    assert!(
        !policy_selector.is_empty(),
        "the NetworkPolicy selects no pods"
    );
    let mut configured = 0;
    let mut pool_names = BTreeSet::new();
    let mut worker_ports = BTreeSet::new();

    for deployment in deployments {
        let what = format!("{} ({})", deployment.name(), deployment.file);
        let pod = &deployment.yaml["spec"]["template"];
        let containers = pod["spec"]["containers"].as_vec().expect("containers");
        assert_eq!(containers.len(), 1, "{what}: one worker container");
        let worker = &containers[0];
        let env: BTreeMap<&str, &Yaml> = worker["env"]
            .as_vec()
            .expect("the worker's env")
            .iter()
            .map(|e| (e["name"].as_str().expect("env name"), e))
            .collect();
        for name in env.keys() {
            assert!(
                !name.starts_with("DBACKUP_") || known.contains(name),
                "{what}: {name} is not a variable the worker reads (worker/src/config.rs)"
            );
        }

        // The token: from the same Secret key the app's worker_token reads, never on argv.
        let token = env
            .get(dbackup_worker::ENV_TOKEN)
            .unwrap_or_else(|| panic!("{what}: no {}", dbackup_worker::ENV_TOKEN));
        let token_ref = secret_ref(token).expect("the worker token comes from a secretKeyRef");
        assert_eq!(
            token_ref, app_token_ref,
            "{what}: the worker and the app must read the token from the same Secret key"
        );
        assert!(secret_entries(secret(&docs, &token_ref.0)).contains_key(&token_ref.1));
        for field in ["command", "args"] {
            if let Some(argv) = worker[field].as_vec() {
                for arg in argv.iter().filter_map(Yaml::as_str) {
                    assert!(
                        !arg.to_ascii_lowercase().contains("token"),
                        "{what}: {field} mentions the token: {arg}"
                    );
                }
            }
        }

        // Ports and selectors: listen = containerPort = its Service's target; the Deployment's,
        // its Service's and the NetworkPolicy's selectors all match its pods.
        let listen = env_value(&env, dbackup_worker::ENV_LISTEN).expect("DBACKUP_WORKER_LISTEN");
        let port = port_of(listen);
        worker_ports.insert(i64::from(port));
        let container_port = &worker["ports"][0];
        assert_eq!(
            container_port["containerPort"].as_i64(),
            Some(i64::from(port)),
            "{what}: containerPort is not the listen port"
        );
        let port_name = container_port["name"].as_str().unwrap_or_default();
        let pod_labels = labels(&pod["metadata"]["labels"]);
        let matches = |selector: &BTreeMap<String, String>| {
            !selector.is_empty() && selector.iter().all(|(k, v)| pod_labels.get(k) == Some(v))
        };
        assert!(
            matches(&labels(&deployment.yaml["spec"]["selector"]["matchLabels"])),
            "{what}: its selector does not match its pods"
        );
        assert!(
            matches(&policy_selector),
            "{what}: the NetworkPolicy does not cover its pods"
        );
        let mine: Vec<&&Doc> = services
            .iter()
            .filter(|s| matches(&labels(&s.yaml["spec"]["selector"])))
            .collect();
        assert_eq!(mine.len(), 1, "{what}: expected one Service selecting it");
        let service = mine[0];
        let target = &service.yaml["spec"]["ports"][0]["targetPort"];
        assert!(
            target.as_i64() == Some(i64::from(port)) || target.as_str() == Some(port_name),
            "{what}: its Service's targetPort is not the worker's port"
        );

        // The configured worker is the app's worker_url; every other one registers with the
        // app under its own name, at the address of its Service.
        if service_url(service) == worker_url {
            configured += 1;
            assert!(
                !env.contains_key(dbackup_worker::ENV_APP_URL),
                "{what}: the configured worker (worker_url) is pool member `default` already"
            );
        } else {
            assert_eq!(
                env_value(&env, dbackup_worker::ENV_APP_URL),
                Some(app_url),
                "{what}: not the configured worker, so it must register with the app (app_url)"
            );
            let name = env_value(&env, dbackup_worker::ENV_WORKER_NAME)
                .unwrap_or_else(|| panic!("{what}: no {}", dbackup_worker::ENV_WORKER_NAME));
            assert_ne!(
                name, "default",
                "{what}: `default` is the configured worker's name"
            );
            assert!(
                pool_names.insert(name),
                "{what}: worker name {name} used twice"
            );
            assert_eq!(
                env_value(&env, dbackup_worker::ENV_ADVERTISE_URL),
                Some(service_url(service).as_str()),
                "{what}: DBACKUP_WORKER_ADVERTISE_URL must be its Service's address"
            );
        }
    }
    assert_eq!(
        configured, 1,
        "worker_url ({worker_url}) must name exactly one worker's Service"
    );

    // Only the app's pods may reach the workers' port.
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
    let ports: BTreeSet<i64> = rules[0]["ports"]
        .as_vec()
        .expect("ingress.ports")
        .iter()
        .filter_map(|p| p["port"].as_i64())
        .collect();
    assert_eq!(ports, worker_ports, "ingress opens the workers' port only");
}

/// Reads one HTTP/1.1 request (head and `content-length` body) from `stream`.
async fn read_request(stream: &mut tokio::net::TcpStream) -> (String, Vec<u8>) {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let len = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = stream.read(&mut chunk).await.expect("read body");
                assert!(n > 0, "connection closed mid-body");
                buf.extend_from_slice(&chunk[..n]);
            }
            return (head, buf[end + 4..end + 4 + len].to_vec());
        }
        let n = stream.read(&mut chunk).await.expect("read head");
        assert!(n > 0, "connection closed before a request");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Every worker Deployment's environment starts the real `dbackup-worker` (container paths and
/// the listen address mapped to the test's; the token is the example Secret's placeholder): it
/// serves `/healthz`, and a pool member registers with the app under the manifest's name,
/// labels and advertised URL (the app's side played by a listener that records the request).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_worker_manifest_starts_the_real_worker() {
    use tokio::io::AsyncWriteExt;

    let docs = documents();
    let mut started = 0;
    for deployment in docs.iter().filter(|d| d.kind() == "Deployment") {
        let what = format!("{} ({})", deployment.name(), deployment.file);
        let worker = &deployment.yaml["spec"]["template"]["spec"]["containers"][0];
        let dir = dbackup_tests::TempDir::new();
        let listen = std::net::SocketAddr::from(([127, 0, 0, 1], dbackup_tests::free_port()));
        let app = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let app_addr = app.local_addr().expect("addr");

        let mut cmd = tokio::process::Command::new(dbackup_tests::bin("dbackup-worker"));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .current_dir(dir.path())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        let mut manifest_env = BTreeMap::new();
        for entry in worker["env"].as_vec().expect("env") {
            let name = entry["name"].as_str().expect("env name");
            let value = match (entry["value"].as_str(), secret_ref(entry)) {
                (Some(v), None) => v.to_owned(),
                (None, Some((secret_name, key))) => secret_entries(secret(&docs, &secret_name))
                    .remove(&key)
                    .unwrap_or_else(|| panic!("{what}: {secret_name}.{key} missing")),
                _ => panic!("{what}: {name} has neither a value nor a secretKeyRef"),
            };
            manifest_env.insert(name.to_owned(), value.clone());
            let value = match name {
                n if n == dbackup_worker::ENV_LISTEN => listen.to_string(),
                n if n == dbackup_worker::ENV_APP_URL => format!("http://{app_addr}"),
                n if n == dbackup_worker::ENV_DATA_DIR || n == dbackup_worker::ENV_LOCAL_ROOTS => {
                    // Container paths: the same layout under the test's folder.
                    let mapped = dir.join(value.trim_start_matches('/'));
                    std::fs::create_dir_all(&mapped).expect("mapped dir");
                    mapped.display().to_string()
                }
                _ => value,
            };
            cmd.env(name, value);
        }
        let mut child = cmd.spawn().expect("start dbackup-worker");

        // Until it answers /healthz, or exits (a refused configuration), for at most 60 s.
        let deadline = Instant::now() + Duration::from_secs(60);
        let healthy = loop {
            let up = dbackup_tests::request(listen, "GET", "/healthz", &[], None)
                .await
                .is_ok_and(|r| r.status == 200);
            if up {
                break Some(());
            }
            if Instant::now() > deadline || child.try_wait().ok().flatten().is_some() {
                break None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        if healthy.is_none() {
            let _ = child.start_kill();
            let out = child.wait_with_output().await.expect("worker output");
            panic!(
                "{what}: the worker did not serve /healthz with this environment: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }

        if let Some(advertised) = manifest_env.get(dbackup_worker::ENV_ADVERTISE_URL) {
            let accepted = tokio::time::timeout(Duration::from_secs(60), app.accept()).await;
            let (mut stream, _) = accepted
                .unwrap_or_else(|_| panic!("{what}: no registration within 60 s"))
                .expect("accept");
            let (head, body) = read_request(&mut stream).await;
            let _ = stream
                .write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\nconnection: close\r\n\r\n{\"id\":\"w1\"}",
                )
                .await;
            assert!(
                head.starts_with("POST /api/internal/workers/register "),
                "{what}: {head}"
            );
            assert!(
                head.to_ascii_lowercase()
                    .contains("x-dbackup-signature: v1="),
                "{what}: the registration is not signed"
            );
            let reg: serde_json::Value = serde_json::from_slice(&body).expect("registration JSON");
            assert_eq!(
                reg["name"].as_str(),
                manifest_env
                    .get(dbackup_worker::ENV_WORKER_NAME)
                    .map(String::as_str)
            );
            assert_eq!(reg["url"].as_str(), Some(advertised.as_str()));
            let labels: Vec<&str> = manifest_env
                .get(dbackup_worker::ENV_WORKER_LABELS)
                .map(|l| l.split(',').map(str::trim).collect())
                .unwrap_or_default();
            assert_eq!(reg["labels"], serde_json::json!(labels), "{what}");
            eprintln!("{what}: registered as {reg}");
        }
        let _ = child.start_kill();
        let _ = child.wait().await;
        started += 1;
    }
    assert!(started > 0);
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
