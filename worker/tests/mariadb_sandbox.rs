//! A MariaDB restore feeds the stored dump to the `mariadb` client, and a dump comes from
//! storage, which is not trusted: client commands in it (`\! cmd`, `system cmd`) must never
//! run on the worker. The restore runs the client with `--binary-mode --sandbox`; a crafted
//! dump that tries both leaves no trace on the worker's disk and fails the restore.

mod common;

use common::cli::{mariadb, rand_name};
use common::Worker;
use http::{Method, StatusCode};
use serde_json::{json, Value};

/// Restores `dump` into a new database; the finished task.
async fn restore(w: &Worker, dump: &str) -> Value {
    let base = tempfile::tempdir().unwrap();
    std::fs::create_dir(base.path().join("crafted")).unwrap();
    std::fs::write(base.path().join("crafted/x.sql"), dump).unwrap();
    let db = rand_name("dbk_sandbox");
    let r = w.call(Method::POST,
        "/v1/restores",
        Some(json!({
            "source": {"storage": {"kind": "local", "path": base.path()}, "objectName": "crafted/x.sql"},
            "target": {"engine": "mariadb", "host": "127.0.0.1", "port": 3306, "user": "root",
                       "database": db},
        })),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    let task = w.wait_task(r.json["taskId"].as_str().unwrap()).await;
    mariadb(None, &format!("DROP DATABASE IF EXISTS `{db}`"));
    task
}

#[tokio::test]
async fn client_commands_in_a_dump_never_run() {
    let w = Worker::start().await;
    let canaries = std::env::temp_dir().join(rand_name("dbk_sandbox"));
    std::fs::create_dir(&canaries).unwrap();
    let mut tasks = Vec::new();
    for (name, command) in [("bang", "\\!"), ("system", "system")] {
        let canary = canaries.join(name);
        let dump = format!(
            "CREATE TABLE t1 (i int);\n{command} touch {}\nINSERT INTO t1 VALUES (1);\n",
            canary.display()
        );
        tasks.push((name, restore(&w, &dump).await));
    }
    let ran: Vec<_> = ["bang", "system"]
        .iter()
        .map(|n| canaries.join(n))
        .filter(|p| p.exists())
        .collect();
    let _ = std::fs::remove_dir_all(&canaries);
    assert!(ran.is_empty(), "the dump ran shell commands: {ran:?}");
    // The client refuses the command: an error, as the client reports it.
    for (name, task) in tasks {
        assert_eq!(task["status"], "failed", "{name}: {task}");
        let error = task["error"].as_str().unwrap_or_default();
        assert!(error.starts_with("mariadb failed"), "{name}: {error}");
        eprintln!("{name}: {error}");
    }
}
