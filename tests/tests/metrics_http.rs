//! `GET /metrics` against the real app with the real worker and PostgreSQL: after one
//! successful and one failed backup, every line of the scrape parses under a strict parser of
//! the Prometheus text format (0.0.4) and the values match the runs; access needs an API key
//! with `settings:read` or the `metrics_token` bearer. The normalized scrape is an insta
//! snapshot (`snapshots/metrics_http__metrics_after_two_runs.snap`).

use std::collections::BTreeMap;

use dbackup_tests::{psql, sqlite_json, Api, Credential, RealApp};
use serde_json::json;

const METRICS_TOKEN: &str = "scrape-token-0123456789";

/// One sample: metric name, labels, value.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

fn is_name(s: &str, first_colon: bool) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || (first_colon && c == ':'))
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (first_colon && c == ':'))
}

fn parse_value(s: &str) -> Result<f64, String> {
    match s {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => s.parse::<f64>().map_err(|e| format!("value {s:?}: {e}")),
    }
}

/// A strict parser of the text exposition format: `# HELP`/`# TYPE` lines (TYPE before the
/// family's samples, at most once per family), samples `name{l="v",…} value` with valid
/// names, escapes `\\ \" \n` only, no duplicate labels or series, no timestamps (we emit
/// none), newline at the end. Returns the samples and each family's type.
fn parse(text: &str) -> Result<(Vec<Sample>, BTreeMap<String, String>), String> {
    if !text.ends_with('\n') {
        return Err("no final newline".into());
    }
    let mut samples = Vec::new();
    let mut types = BTreeMap::new();
    let mut seen_series = std::collections::BTreeSet::new();
    let mut families_with_samples = std::collections::BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        let err = |m: &str| format!("line {}: {m}: {line:?}", n + 1);
        if line.is_empty() {
            return Err(err("empty line"));
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kw, name, arg) = (parts.next(), parts.next(), parts.next());
            let name = name.ok_or_else(|| err("comment without a name"))?;
            if !is_name(name, true) {
                return Err(err("bad metric name"));
            }
            match kw {
                Some("HELP") => {
                    if arg.is_none_or(str::is_empty) {
                        return Err(err("empty HELP"));
                    }
                }
                Some("TYPE") => {
                    let t = arg.ok_or_else(|| err("TYPE without a type"))?;
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&t) {
                        return Err(err("unknown type"));
                    }
                    if families_with_samples.contains(name) {
                        return Err(err("TYPE after samples"));
                    }
                    if types.insert(name.to_owned(), t.to_owned()).is_some() {
                        return Err(err("second TYPE"));
                    }
                }
                _ => return Err(err("unknown comment")),
            }
            continue;
        }
        if line.starts_with('#') {
            return Err(err("comment not '# HELP' or '# TYPE'"));
        }
        let name_end = line.find(['{', ' ']).ok_or_else(|| err("no value"))?;
        let name = &line[..name_end];
        if !is_name(name, true) {
            return Err(err("bad metric name"));
        }
        let mut labels = BTreeMap::new();
        let mut rest = &line[name_end..];
        if let Some(body) = rest.strip_prefix('{') {
            let mut chars = body.char_indices().peekable();
            let end = loop {
                let Some(&(i, c)) = chars.peek() else {
                    return Err(err("unterminated labels"));
                };
                if c == '}' {
                    break i;
                }
                let start = i;
                while chars.peek().is_some_and(|&(_, c)| c != '=') {
                    chars.next();
                }
                let (eq, _) = chars.next().ok_or_else(|| err("label without '='"))?;
                let lname = &body[start..eq];
                if !is_name(lname, false) {
                    return Err(err("bad label name"));
                }
                if chars.next().map(|(_, c)| c) != Some('"') {
                    return Err(err("label value not quoted"));
                }
                let mut value = String::new();
                loop {
                    match chars.next().map(|(_, c)| c) {
                        Some('"') => break,
                        Some('\\') => match chars.next().map(|(_, c)| c) {
                            Some('\\') => value.push('\\'),
                            Some('"') => value.push('"'),
                            Some('n') => value.push('\n'),
                            _ => return Err(err("bad escape")),
                        },
                        Some('\n') | None => return Err(err("unterminated label value")),
                        Some(c) => value.push(c),
                    }
                }
                if labels.insert(lname.to_owned(), value).is_some() {
                    return Err(err("duplicate label"));
                }
                match chars.peek().map(|&(_, c)| c) {
                    Some(',') => {
                        chars.next();
                    }
                    Some('}') => {}
                    _ => return Err(err("expected ',' or '}'")),
                }
            };
            rest = &body[end + 1..];
        }
        let value = rest
            .strip_prefix(' ')
            .ok_or_else(|| err("no space before the value"))?;
        if value.contains(' ') {
            return Err(err("timestamp or trailing text"));
        }
        let value = parse_value(value).map_err(|e| err(&e))?;
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|base| types.get(*base).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(name);
        if !types.contains_key(family) {
            return Err(err("sample without a TYPE"));
        }
        families_with_samples.insert(family.to_owned());
        if !seen_series.insert(format!("{name}{labels:?}")) {
            return Err(err("duplicate series"));
        }
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    Ok((samples, types))
}

#[test]
fn the_parser_is_strict() {
    let ok = "# HELP a_b Help.\n# TYPE a_b gauge\na_b{x=\"1\\\"\\\\\\n\",y=\"\"} 2.5\n";
    let (s, _) = parse(ok).expect("valid");
    assert_eq!(s[0].labels["x"], "1\"\\\n");
    assert_eq!(s[0].value, 2.5);
    for bad in [
        "# TYPE a gauge\na 1",
        "a 1\n",
        "# TYPE a gauge\na{x=1} 1\n",
        "# TYPE a gauge\na{x=\"1\",x=\"2\"} 1\n",
        "# TYPE a gauge\na{x=\"\\q\"} 1\n",
        "# TYPE a gauge\na one\n",
        "# TYPE a gauge\na 1 123 x\n",
        "# TYPE a gauge\na 1\na 2\n",
        "# TYPE a gauge\n# TYPE a gauge\n",
        "# TYPE a thing\n",
        "# TYPE 1a gauge\n",
        "# TYPE a gauge\n\na 1\n",
        "# TYPE a gauge\na{x=\"1\"\n",
        "# comment\n",
    ] {
        assert!(parse(bad).is_err(), "{bad:?}");
    }
}

fn find<'a>(samples: &'a [Sample], name: &str, labels: &[(&str, &str)]) -> Option<&'a Sample> {
    samples.iter().find(|s| {
        s.name == name
            && labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
    })
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    find(samples, name, labels)
        .unwrap_or_else(|| panic!("no {name} {labels:?}"))
        .value
}

async fn scrape(api: &Api, who: &Credential) -> dbackup_tests::HttpResponse {
    api.call(who, "GET", "/metrics", None).await
}

#[tokio::test]
async fn metrics_after_runs_parse_strictly_and_match() {
    let src_db = format!("metrics_src_{}", std::process::id());
    psql("postgres", &format!("DROP DATABASE IF EXISTS {src_db}"));
    psql("postgres", &format!("CREATE DATABASE {src_db}"));
    psql(
        &src_db,
        "CREATE TABLE item (id int PRIMARY KEY, name text NOT NULL); \
         INSERT INTO item SELECT g, 'item ' || g FROM generate_series(1, 2000) g;",
    );

    let app = RealApp::with_worker()
        .var("SPIN_VARIABLE_METRICS_TOKEN", METRICS_TOKEN)
        .start()
        .await;
    let store = app.backup_folder();
    let api = app.api();
    let db = app.db_path();
    let admin = api.signup_admin().await;
    sqlite_json(
        &db,
        &format!(
            r#"INSERT INTO "AdapterConfig" ("id", "name", "type", "adapterId", "config") VALUES
               ('pg', 'PG "main"', 'database', 'postgres', '{{"host":"127.0.0.1","port":5432,"user":"postgres","database":"{src_db}"}}'),
               ('disk', 'Local disk', 'storage', 'local', '{{"path":"{}"}}')"#,
            store.display()
        ),
    );
    let job = |name: &str, database: &str| {
        json!({"name": name, "schedule": "0 3 * * *", "sourceId": "pg", "databases": [database],
               "destinations": [{"destinationId": "disk",
                                 "retention": {"mode": "SIMPLE", "simple": {"keepCount": 5}}}]})
    };
    let good = api
        .expect(
            &admin,
            "POST",
            "/api/jobs",
            Some(&job("nightly", &src_db)),
            201,
        )
        .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let bad = api
        .expect(
            &admin,
            "POST",
            "/api/jobs",
            Some(&job("broken", "no_such_database_xyz")),
            201,
        )
        .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let ok = api.run_job(&admin, &good).await;
    assert_eq!(ok["status"], "Success", "{ok}");
    let failed = api.run_job(&admin, &bad).await;
    assert_eq!(failed["status"], "Failed", "{failed}");
    sqlite_json(
        &db,
        r#"UPDATE "AdapterConfig" SET "lastStatus" = 'DEGRADED', "consecutiveFailures" = 2 WHERE "id" = 'disk'"#,
    );
    let expected = sqlite_json(
        &db,
        &format!(
            r#"SELECT "size", CAST(strftime('%s', "endedAt") AS INTEGER) AS ended,
                      (julianday("endedAt") - julianday("startedAt")) * 86400.0 AS secs
                 FROM "Execution" WHERE "jobId" = '{good}'"#
        ),
    );
    let (size, ended, secs) = (
        expected[0]["size"].as_f64().expect("size"),
        expected[0]["ended"].as_f64().expect("ended"),
        expected[0]["secs"].as_f64().expect("secs"),
    );
    assert!(size > 0.0);

    // Access: anonymous 401, a key without settings:read 403, a wrong token 401.
    assert_eq!(scrape(&api, &Credential::Anonymous).await.status, 401);
    let (_, no_perm) = api.create_api_key(&admin, "ci", &["jobs:read"]).await;
    assert_eq!(scrape(&api, &no_perm).await.status, 403);
    let wrong = Credential::Bearer("scrape-token-wrong-456789".into());
    assert_eq!(scrape(&api, &wrong).await.status, 401);
    let (_, reader) = api.create_api_key(&admin, "prom", &["settings:read"]).await;
    let by_key = scrape(&api, &reader).await;
    assert_eq!(by_key.status, 200, "{}", by_key.text());
    let token = Credential::Bearer(METRICS_TOKEN.into());
    let resp = scrape(&api, &token).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert!(resp
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/plain; version=0.0.4")));
    let text = resp.text();
    println!("--- /metrics sample ---\n{text}");
    insta::assert_snapshot!(
        "metrics_after_two_runs",
        normalized_scrape(&text, &good, &bad)
    );
    let (samples, types) = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let (key_samples, _) = parse(&by_key.text()).expect("parses");
    assert_eq!(key_samples.len(), samples.len());

    for (family, kind) in [
        ("dbackup_executions", "gauge"),
        ("dbackup_job_last_success_timestamp_seconds", "gauge"),
        ("dbackup_job_last_backup_size_bytes", "gauge"),
        ("dbackup_backup_duration_seconds", "histogram"),
        ("dbackup_queue_depth", "gauge"),
        ("dbackup_executions_running", "gauge"),
        ("dbackup_adapter_health", "gauge"),
        ("dbackup_adapter_consecutive_failures", "gauge"),
        ("dbackup_worker_up", "gauge"),
    ] {
        assert_eq!(
            types.get(family).map(String::as_str),
            Some(kind),
            "{family}"
        );
    }
    let exec = |job: &str, status: &str| {
        value(
            &samples,
            "dbackup_executions",
            &[("job_id", job), ("type", "Backup"), ("status", status)],
        )
    };
    assert_eq!(exec(&good, "Success"), 1.0);
    assert_eq!(exec(&bad, "Failed"), 1.0);
    assert!(find(
        &samples,
        "dbackup_executions",
        &[("job_id", &good), ("status", "Failed")]
    )
    .is_none());
    assert_eq!(
        find(&samples, "dbackup_executions", &[("job_id", &good)])
            .expect("series")
            .labels["job_name"],
        "nightly"
    );
    let last = |job: &str| {
        value(
            &samples,
            "dbackup_job_last_success_timestamp_seconds",
            &[("job_id", job)],
        )
    };
    assert_eq!(last(&good), ended);
    assert_eq!(last(&bad), 0.0);
    assert_eq!(
        value(
            &samples,
            "dbackup_job_last_backup_size_bytes",
            &[("job_id", &good)]
        ),
        size
    );
    assert!(find(
        &samples,
        "dbackup_job_last_backup_size_bytes",
        &[("job_id", &bad)]
    )
    .is_none());

    // The histogram: one successful backup; cumulative buckets, +Inf = count.
    let buckets: Vec<(f64, f64)> = samples
        .iter()
        .filter(|s| s.name == "dbackup_backup_duration_seconds_bucket")
        .map(|s| (s.labels["le"].parse::<f64>().expect("le"), s.value))
        .collect();
    assert_eq!(buckets.last().map(|b| b.0), Some(f64::INFINITY));
    assert!(buckets
        .windows(2)
        .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1));
    for (le, n) in &buckets {
        assert_eq!(*n, if secs <= *le { 1.0 } else { 0.0 }, "le {le}");
    }
    assert_eq!(
        value(&samples, "dbackup_backup_duration_seconds_count", &[]),
        1.0
    );
    assert!((value(&samples, "dbackup_backup_duration_seconds_sum", &[]) - secs).abs() < 1e-3);

    assert_eq!(value(&samples, "dbackup_queue_depth", &[]), 0.0);
    assert_eq!(value(&samples, "dbackup_executions_running", &[]), 0.0);
    let health = |id: &str, status: &str| {
        value(
            &samples,
            "dbackup_adapter_health",
            &[("adapter_id", id), ("status", status)],
        )
    };
    assert_eq!(health("disk", "DEGRADED"), 1.0);
    assert_eq!(health("disk", "ONLINE"), 0.0);
    assert_eq!(health("disk", "OFFLINE"), 0.0);
    assert_eq!(
        find(&samples, "dbackup_adapter_health", &[("adapter_id", "pg")])
            .expect("pg")
            .labels["adapter_name"],
        "PG \"main\""
    );
    assert_eq!(
        value(
            &samples,
            "dbackup_adapter_consecutive_failures",
            &[("adapter_id", "disk")]
        ),
        2.0
    );
    assert_eq!(value(&samples, "dbackup_worker_up", &[]), 1.0);

    // The queue: a Pending execution counts (inserted directly, the runner may claim it later).
    sqlite_json(
        &db,
        &format!(
            r#"INSERT INTO "Execution" ("id", "jobId", "status", "logs") VALUES ('queued', '{good}', 'Pending', '[]')"#
        ),
    );
    let (samples, _) = parse(&scrape(&api, &token).await.text()).expect("parses");
    assert!(
        value(&samples, "dbackup_queue_depth", &[])
            + value(&samples, "dbackup_executions_running", &[])
            >= 1.0
    );
    assert_eq!(
        exec_count(&samples, &good, "Pending")
            + exec_count(&samples, &good, "Running")
            + exec_count(&samples, &good, "Success")
            + exec_count(&samples, &good, "Failed"),
        2.0
    );

    app.shutdown().await;
    psql("postgres", &format!("DROP DATABASE IF EXISTS {src_db}"));
}

/// The scrape with what differs between runs taken out, for the snapshot: the two jobs' random
/// ids become their names, values that depend on timing or size become `<varies>`, and the
/// samples of each family are sorted (series order follows the random ids).
fn normalized_scrape(text: &str, good: &str, bad: &str) -> String {
    const VARYING: [&str; 4] = [
        "_bucket{",
        "_sum ",
        "dbackup_job_last_success_timestamp_seconds{",
        "dbackup_job_last_backup_size_bytes{",
    ];
    let mut out: Vec<String> = Vec::new();
    let mut block: Vec<String> = Vec::new();
    let flush = |block: &mut Vec<String>, out: &mut Vec<String>| {
        block.sort();
        out.append(block);
    };
    for line in text.lines() {
        let line = line
            .replace(good, "<job nightly>")
            .replace(bad, "<job broken>");
        if line.starts_with('#') {
            flush(&mut block, &mut out);
            out.push(line);
        } else if VARYING.iter().any(|m| line.contains(m)) {
            let series = line.rsplit_once(' ').map_or(line.as_str(), |(s, _)| s);
            block.push(format!("{series} <varies>"));
        } else {
            block.push(line);
        }
    }
    flush(&mut block, &mut out);
    out.join("\n")
}

fn exec_count(samples: &[Sample], job: &str, status: &str) -> f64 {
    find(
        samples,
        "dbackup_executions",
        &[("job_id", job), ("status", status)],
    )
    .map_or(0.0, |s| s.value)
}
