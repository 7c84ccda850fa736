//! `spin:sqlite/sqlite@3.0.0` as the components see it: every value type, row ids and change
//! counts, errors, access control by label, runtime-config databases, WAL and foreign keys.

use dbackup_tests::{
    host_config, probe_manifest, probe_sql, start_error, start_host, stmt, stmt_with,
    write_manifest, TempDir,
};
use serde_json::{json, Value};

const DEFAULT_ONLY: &str = r#"sqlite_databases = ["default"]"#;

fn results(answer: &Value) -> &Vec<Value> {
    answer["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results in {answer}"))
}

/// The error of a statement result, asserting it is one.
fn error_of(result: &Value) -> &str {
    result["error"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error, got {result}"))
}

fn ok(result: &Value) -> &Value {
    assert!(result.get("error").is_none(), "statement failed: {result}");
    result
}

#[tokio::test]
async fn every_value_type_round_trips() {
    let host = start_host(&probe_manifest(&["/..."], DEFAULT_ONLY), &[]).await;
    let addr = host.addr();
    let values = [
        json!({"type": "integer", "value": -42}),
        json!({"type": "real", "value": 1.5}),
        json!({"type": "text", "value": "héllo wörld 🌍 日本語 \"quoted\" \n tab\t"}),
        json!({"type": "blob", "value": [0, 1, 2, 127, 128, 255]}),
        json!({"type": "null"}),
    ];
    let extremes = [
        json!({"type": "integer", "value": i64::MAX}),
        json!({"type": "real", "value": -2.5e-300}),
        json!({"type": "text", "value": ""}),
        json!({"type": "blob", "value": []}),
        json!({"type": "integer", "value": i64::MIN}),
    ];
    let answer = probe_sql(
        addr,
        "default",
        json!([
            stmt("CREATE TABLE vals (i, r, t, b, n)"),
            stmt_with("INSERT INTO vals VALUES (?, ?, ?, ?, ?)", json!(values)),
            stmt_with("INSERT INTO vals VALUES (?, ?, ?, ?, ?)", json!(extremes)),
            stmt("SELECT i, r, t, b, n FROM vals ORDER BY rowid"),
            stmt("SELECT typeof(i), typeof(r), typeof(t), typeof(b), typeof(n) FROM vals ORDER BY rowid"),
        ]),
    )
    .await;
    let r = results(&answer);
    assert_eq!(r.len(), 5, "{answer}");
    let select = ok(&r[3]);
    assert_eq!(select["columns"], json!(["i", "r", "t", "b", "n"]));
    assert_eq!(select["rows"], json!([values, extremes]));
    let t = |s: &str| json!({"type": "text", "value": s});
    assert_eq!(
        ok(&r[4])["rows"],
        json!([
            [t("integer"), t("real"), t("text"), t("blob"), t("null")],
            [t("integer"), t("real"), t("text"), t("blob"), t("integer")],
        ])
    );
    host.shutdown().await;
}

#[tokio::test]
async fn last_insert_rowid_and_changes() {
    let host = start_host(&probe_manifest(&["/..."], DEFAULT_ONLY), &[]).await;
    let answer = probe_sql(
        host.addr(),
        "default",
        json!([
            stmt("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)"),
            stmt("INSERT INTO items (name) VALUES ('a')"),
            stmt("INSERT INTO items (id, name) VALUES (41, 'b')"),
            stmt("INSERT INTO items (name) VALUES ('c'), ('d'), ('e')"),
            stmt("UPDATE items SET name = upper(name) WHERE id > 1"),
            stmt("DELETE FROM items WHERE name = 'nobody'"),
            stmt("SELECT count(*) AS n FROM items"),
        ]),
    )
    .await;
    let r = results(&answer);
    let rowid = |i: usize| ok(&r[i])["lastInsertRowid"].as_i64().expect("rowid");
    let changes = |i: usize| ok(&r[i])["changes"].as_u64().expect("changes");
    assert_eq!(rowid(1), 1);
    assert_eq!(changes(1), 1);
    assert_eq!(rowid(2), 41);
    assert_eq!(rowid(3), 44, "the last of a multi-row insert");
    assert_eq!(changes(3), 3);
    assert_eq!(changes(4), 4, "UPDATE of four rows");
    assert_eq!(rowid(4), 44, "an UPDATE keeps the last insert rowid");
    assert_eq!(changes(5), 0, "DELETE of nothing");
    assert_eq!(
        ok(&r[6])["rows"],
        json!([[{"type": "integer", "value": 5}]])
    );
    assert_eq!(ok(&r[6])["columns"], json!(["n"]));
    host.shutdown().await;
}

#[tokio::test]
async fn bad_sql_is_an_io_error_and_the_connection_stays_usable() {
    let host = start_host(&probe_manifest(&["/..."], DEFAULT_ONLY), &[]).await;
    let answer = probe_sql(
        host.addr(),
        "default",
        json!([
            stmt("SELEC 1"),
            stmt("SELECT * FROM no_such_table"),
            // Spin rejects a wrong parameter count rather than binding NULL or ignoring extras.
            stmt_with("SELECT ?, ?", json!([{"type": "integer", "value": 1}])),
            stmt_with(
                "SELECT ?",
                json!([{"type": "integer", "value": 1}, {"type": "integer", "value": 2}])
            ),
            stmt("SELECT 1 AS one"),
        ]),
    )
    .await;
    let r = results(&answer);
    let syntax = error_of(&r[0]);
    assert!(syntax.starts_with("Io("), "{syntax}");
    assert!(syntax.contains("syntax error"), "{syntax}");
    let missing = error_of(&r[1]);
    assert!(missing.starts_with("Io("), "{missing}");
    assert!(missing.contains("no such table"), "{missing}");
    for (i, what) in [(2, "too few"), (3, "too many")] {
        let e = error_of(&r[i]);
        assert!(e.starts_with("Io("), "{what} parameters: {e}");
        assert!(
            e.contains("Wrong number of parameters"),
            "{what} parameters: {e}"
        );
    }
    assert_eq!(
        ok(&r[4])["rows"],
        json!([[{"type": "integer", "value": 1}]])
    );
    host.shutdown().await;
}

#[tokio::test]
async fn a_label_the_component_does_not_declare_is_access_denied() {
    let host = start_host(&probe_manifest(&["/..."], DEFAULT_ONLY), &[]).await;
    for label in ["other", "", "DEFAULT"] {
        let answer = probe_sql(host.addr(), label, json!([stmt("SELECT 1")])).await;
        assert_eq!(
            answer,
            json!({"openError": "AccessDenied"}),
            "label {label:?}"
        );
    }
    // A component without any sqlite_databases may not open `default` either.
    let bare = start_host(&probe_manifest(&["/..."], ""), &[]).await;
    let answer = probe_sql(bare.addr(), "default", json!([stmt("SELECT 1")])).await;
    assert_eq!(answer, json!({"openError": "AccessDenied"}));
    bare.shutdown().await;
    host.shutdown().await;
}

#[tokio::test]
async fn a_label_no_runtime_config_defines_fails_the_start() {
    let dir = TempDir::new();
    let manifest = write_manifest(
        dir.path(),
        &probe_manifest(&["/..."], r#"sqlite_databases = ["default", "analytics"]"#),
    );
    let err = start_error(host_config(manifest, &dir.join("data"), &[])).await;
    assert!(err.contains("\"analytics\""), "{err}");
    assert!(err.contains("runtime config"), "{err}");
}

#[tokio::test]
async fn runtime_config_database_is_created_next_to_the_config() {
    let dir = TempDir::new();
    let manifest = write_manifest(
        dir.path(),
        &probe_manifest(&["/..."], r#"sqlite_databases = ["default", "other"]"#),
    );
    let rc_dir = dir.join("config");
    std::fs::create_dir(&rc_dir).expect("mkdir");
    let rc = rc_dir.join("runtime-config.toml");
    std::fs::write(
        &rc,
        "[sqlite_database.other]\ntype = \"spin\"\npath = \"other.db\"\n",
    )
    .expect("write runtime config");
    let mut config = host_config(manifest, &dir.join("data"), &[]);
    config.runtime_config = Some(rc);
    let host = dbackup_host::app::start(config).await.expect("starts");
    let addr = host.addr;

    let answer = probe_sql(
        addr,
        "other",
        json!([
            stmt("CREATE TABLE t (x TEXT)"),
            stmt("INSERT INTO t VALUES ('in other')"),
        ]),
    )
    .await;
    ok(&results(&answer)[1]);
    let other = probe_sql(addr, "other", json!([stmt("SELECT x FROM t")])).await;
    assert_eq!(
        ok(&results(&other)[0])["rows"],
        json!([[{"type": "text", "value": "in other"}]])
    );
    // `default` is a different database.
    let default = probe_sql(addr, "default", json!([stmt("SELECT x FROM t")])).await;
    assert!(error_of(&results(&default)[0]).contains("no such table"));
    host.shutdown().await;

    assert!(
        rc_dir.join("other.db").is_file(),
        "other.db next to the config"
    );
    assert!(
        dir.join("data/dbackup.db").is_file(),
        "default in the data dir"
    );
    assert!(!dir.join("data/other.db").exists());
}

#[tokio::test]
async fn separate_connections_share_committed_data_in_wal_mode() {
    let host = start_host(&probe_manifest(&["/..."], DEFAULT_ONLY), &[]).await;
    let addr = host.addr();
    let mode = probe_sql(addr, "default", json!([stmt("PRAGMA journal_mode")])).await;
    assert_eq!(
        ok(&results(&mode)[0])["rows"],
        json!([[{"type": "text", "value": "wal"}]])
    );
    // Each request opens its own connection.
    probe_sql(
        addr,
        "default",
        json!([
            stmt("CREATE TABLE shared (v INTEGER)"),
            stmt("BEGIN"),
            stmt("INSERT INTO shared VALUES (1)"),
            stmt("COMMIT"),
        ]),
    )
    .await;
    let read = probe_sql(addr, "default", json!([stmt("SELECT v FROM shared")])).await;
    assert_eq!(
        ok(&results(&read)[0])["rows"],
        json!([[{"type": "integer", "value": 1}]])
    );
    // Many connections at once: every insert lands.
    let inserts = (0..8).map(|i| {
        probe_sql(
            addr,
            "default",
            json!([stmt_with(
                "INSERT INTO shared VALUES (?)",
                json!([{"type": "integer", "value": 100 + i}])
            )]),
        )
    });
    for answer in futures_join(inserts).await {
        ok(&results(&answer)[0]);
    }
    let count = probe_sql(
        addr,
        "default",
        json!([stmt("SELECT count(*) FROM shared")]),
    )
    .await;
    assert_eq!(
        ok(&results(&count)[0])["rows"],
        json!([[{"type": "integer", "value": 9}]])
    );
    host.shutdown().await;
}

/// Runs futures concurrently on the runtime and collects their outputs in order.
async fn futures_join<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

#[tokio::test]
async fn foreign_keys_are_enforced() {
    let host = start_host(&probe_manifest(&["/..."], DEFAULT_ONLY), &[]).await;
    let answer = probe_sql(
        host.addr(),
        "default",
        json!([
            stmt("PRAGMA foreign_keys"),
            stmt("CREATE TABLE parent (id INTEGER PRIMARY KEY)"),
            stmt("CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent(id) ON DELETE CASCADE)"),
            stmt("INSERT INTO child (parent_id) VALUES (7)"),
            stmt("INSERT INTO parent (id) VALUES (7)"),
            stmt("INSERT INTO child (parent_id) VALUES (7)"),
            stmt("DELETE FROM parent WHERE id = 7"),
            stmt("SELECT count(*) FROM child"),
        ]),
    )
    .await;
    let r = results(&answer);
    assert_eq!(
        ok(&r[0])["rows"],
        json!([[{"type": "integer", "value": 1}]])
    );
    let fk = error_of(&r[3]);
    assert!(fk.contains("FOREIGN KEY constraint failed"), "{fk}");
    ok(&r[5]);
    assert_eq!(
        ok(&r[7])["rows"],
        json!([[{"type": "integer", "value": 0}]]),
        "ON DELETE CASCADE ran"
    );
    host.shutdown().await;
}

/// The host pools connections: a later request must not see an earlier one's row id, change
/// count or open transaction.
#[tokio::test]
async fn pooled_connections_carry_nothing_between_requests() {
    let host = start_host(&probe_manifest(&["/..."], DEFAULT_ONLY), &[]).await;
    let addr = host.addr();
    let first = probe_sql(
        addr,
        "default",
        json!([
            stmt("CREATE TABLE pooled (v TEXT)"),
            stmt("INSERT INTO pooled (v) VALUES ('a'), ('b'), ('c')"),
        ]),
    )
    .await;
    assert_eq!(ok(&results(&first)[1])["lastInsertRowid"], json!(3));
    assert_eq!(ok(&results(&first)[1])["changes"], json!(3));

    let second = probe_sql(
        addr,
        "default",
        json!([stmt("SELECT count(*) FROM pooled")]),
    )
    .await;
    let select = ok(&results(&second)[0]);
    assert_eq!(select["lastInsertRowid"], json!(0), "{second}");
    assert_eq!(select["changes"], json!(0), "{second}");

    // A request that leaves a transaction open: its connection must not go back to the pool.
    let open_tx = probe_sql(
        addr,
        "default",
        json!([
            stmt("BEGIN IMMEDIATE"),
            stmt("INSERT INTO pooled (v) VALUES ('uncommitted')"),
        ]),
    )
    .await;
    assert!(
        results(&open_tx).iter().all(|r| r.get("error").is_none()),
        "{open_tx}"
    );
    let after = probe_sql(
        addr,
        "default",
        json!([
            stmt("INSERT INTO pooled (v) VALUES ('d')"),
            stmt("SELECT v FROM pooled ORDER BY rowid"),
        ]),
    )
    .await;
    let r = results(&after);
    assert!(
        r[0].get("error").is_none(),
        "the write lock was left behind: {after}"
    );
    let t = |s: &str| json!([{"type": "text", "value": s}]);
    assert_eq!(ok(&r[1])["rows"], json!([t("a"), t("b"), t("c"), t("d")]));
    host.shutdown().await;
}
