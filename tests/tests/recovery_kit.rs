//! The recovery kit through the real host, worker and PostgreSQL: the ZIP downloaded from
//! `GET /api/encryption-profiles/{id}/recovery-kit` (password in `X-Confirm-Password`) unzips to
//! `key.hex`, README, FORMAT.md and `dbackup_decrypt.py`; the script, run with
//! `/usr/bin/python3`, turns backups the worker made with NONE, GZIP, ZSTD and BROTLI (encrypted,
//! and one unencrypted) into exactly the plaintext the worker itself recovers, which
//! `pg_restore` restores; a wrong key, a flipped bit and a cut-off file end with a clear message,
//! a non-zero exit and no output file. A wrong or missing password is a 400; every attempt is
//! audited.

use std::path::{Path, PathBuf};
use std::process::Command;

use dbackup_tests::{psql, repo, request, Credential, RealApp, TEST_PASSWORD};
use serde_json::{json, Value};

const PYTHON: &str = "/usr/bin/python3";

fn python_ready() -> bool {
    Command::new(PYTHON)
        .args(["-c", "import cryptography, zstandard, brotli"])
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs the kit's script; returns (exit code, stderr).
fn decrypt(kit: &Path, key_file: &Path, input: &Path, output: &Path) -> (i32, String) {
    let out = Command::new(PYTHON)
        .arg(kit.join("dbackup_decrypt.py"))
        .arg("--key-file")
        .arg(key_file)
        .arg("-o")
        .arg(output)
        .arg(input)
        .output()
        .expect("run python3");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_kit_script_recovers_every_compression() {
    assert!(
        python_ready(),
        "{PYTHON} with cryptography, zstandard and brotli is required (cargo xtask test installs python3-cryptography, python3-zstandard, python3-brotli)"
    );
    let pid = std::process::id();
    let (src_db, copy_db) = (format!("kit_src_{pid}"), format!("kit_copy_{pid}"));
    for db in [&src_db, &copy_db] {
        psql("postgres", &format!("DROP DATABASE IF EXISTS {db}"));
    }
    psql("postgres", &format!("CREATE DATABASE {src_db}"));
    psql(
        &src_db,
        "CREATE TABLE item (id int PRIMARY KEY, name text NOT NULL, pad text); \
         INSERT INTO item SELECT g, 'item ' || g, repeat(md5(g::text), 40) FROM generate_series(1, 3000) g;",
    );

    let app = RealApp::with_worker().app_url().start().await;
    let dir = &app.dir;
    let store = app.backup_folder();
    let api = app.api();
    let admin = api.signup_admin().await;
    let expect = |method: &'static str, target: String, body: Option<Value>, status: u16| {
        let admin = admin.clone();
        async move {
            api.expect(&admin, method, &target, body.as_ref(), status)
                .await
        }
    };

    let pg = expect(
        "POST",
        "/api/adapters".into(),
        Some(json!({"name": "PG", "adapterId": "postgres", "config": {
            "host": "127.0.0.1", "port": 5432, "user": "postgres", "database": src_db}})),
        201,
    )
    .await;
    let disk = expect(
        "POST",
        "/api/adapters".into(),
        Some(json!({"name": "Disk", "adapterId": "local", "config": {"path": store}})),
        201,
    )
    .await;
    let profile = expect(
        "POST",
        "/api/encryption-profiles".into(),
        Some(json!({"name": "Kit key"})),
        201,
    )
    .await;
    let profile_id = profile["id"].as_str().expect("id").to_owned();

    // One backup per compression, encrypted, and one unencrypted.
    let mut made: Vec<(String, PathBuf, bool)> = Vec::new();
    for (compression, encrypted) in [
        ("NONE", true),
        ("GZIP", true),
        ("ZSTD", true),
        ("BROTLI", true),
        ("ZSTD", false),
    ] {
        let name = format!("kit-{}-{}", compression.to_lowercase(), encrypted);
        let mut body = json!({"name": name, "schedule": "@yearly", "sourceId": pg["id"],
            "databases": [src_db], "destinations": [{"destinationId": disk["id"]}],
            "compression": compression});
        if encrypted {
            body["encryptionProfileId"] = json!(profile_id);
        }
        let job = expect("POST", "/api/jobs".into(), Some(body), 201).await;
        let run = expect(
            "POST",
            format!("/api/jobs/{}/run", job["id"].as_str().unwrap()),
            None,
            202,
        )
        .await;
        let exec_id = run["executionId"].as_str().unwrap().to_owned();
        let exec = api.finished_execution(&admin, &exec_id).await;
        assert_eq!(exec["status"], "Success", "{exec}");
        let path = exec["path"].as_str().unwrap().to_owned();
        made.push((compression.to_owned(), store.join(&path), encrypted));
    }

    // --- the kit: password checks, then the ZIP -----------------------------------------------
    let Credential::Cookie(jwt) = &admin else {
        panic!("cookie session")
    };
    let cookie = format!("dbackup_session={jwt}");
    let kit_url = format!("/api/encryption-profiles/{profile_id}/recovery-kit");
    let get_kit = |password: Option<&'static str>| {
        let cookie = cookie.clone();
        let kit_url = kit_url.clone();
        async move {
            let mut headers = vec![
                ("cookie", cookie.as_str()),
                ("x-requested-with", "XMLHttpRequest"),
            ];
            if let Some(p) = password {
                headers.push(("x-confirm-password", p));
            }
            request(api.addr, "GET", &kit_url, &headers, None)
                .await
                .expect("kit request")
        }
    };
    let wrong = get_kit(Some("not the password")).await;
    assert_eq!(wrong.status, 400, "{}", wrong.text());
    assert!(!wrong.text().contains("PK"));
    assert_eq!(get_kit(None).await.status, 400);
    let kit = get_kit(Some(TEST_PASSWORD)).await;
    assert_eq!(kit.status, 200, "{}", kit.text());
    assert_eq!(kit.header("content-type"), Some("application/zip"));
    assert_eq!(
        kit.header("content-disposition"),
        Some("attachment; filename=\"dbackup-recovery-kit_Kit_key.zip\"")
    );
    assert!(kit.body.starts_with(b"PK\x03\x04"));
    eprintln!("recovery kit: {} bytes", kit.body.len());
    let kit_dir = dir.join("kit");
    std::fs::create_dir_all(&kit_dir).expect("kit dir");
    let zip = dir.join("kit.zip");
    std::fs::write(&zip, &kit.body).expect("write the kit");
    let unzipped = Command::new("unzip")
        .arg("-q")
        .arg(&zip)
        .arg("-d")
        .arg(&kit_dir)
        .status()
        .expect("unzip");
    assert!(unzipped.success());
    for f in [
        "key.hex",
        "README.md",
        "FORMAT.md",
        "dbackup_decrypt.py",
        "requirements.txt",
    ] {
        assert!(kit_dir.join(f).is_file(), "{f} missing from the kit");
    }
    let key_file = kit_dir.join("key.hex");
    let key_hex = std::fs::read_to_string(&key_file).expect("key.hex");
    let revealed = expect(
        "POST",
        format!("/api/encryption-profiles/{profile_id}/reveal"),
        Some(json!({"password": TEST_PASSWORD})),
        200,
    )
    .await;
    assert_eq!(key_hex.trim(), revealed["key"]);
    let readme = std::fs::read_to_string(kit_dir.join("README.md")).expect("README");
    assert!(readme.contains(revealed["fingerprint"].as_str().unwrap()));
    assert!(readme.contains("dbackup-recover"));
    assert_eq!(
        std::fs::read_to_string(kit_dir.join("FORMAT.md")).unwrap(),
        std::fs::read_to_string(repo().join("docs/FORMAT.md")).unwrap()
    );

    // --- every backup through the script equals the worker's own recovery --------------------
    let storage = json!({"kind": "local", "path": store});
    for (i, (compression, file, encrypted)) in made.iter().enumerate() {
        let out = dir.join(format!("out-{i}.dump"));
        let (code, stderr) = decrypt(&kit_dir, &key_file, file, &out);
        assert_eq!(code, 0, "{compression}: {stderr}");
        let recovered = std::fs::read(&out).expect("script output");
        let name = file
            .strip_prefix(&store)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let mut get = json!({"storage": storage, "name": name, "decompress": true,
            "compression": compression});
        if *encrypted {
            get["decrypt"] = json!({"keyHex": key_hex.trim()});
        }
        let bearer = format!("Bearer {}", app.worker_token);
        let from_worker = request(
            app.worker_addr,
            "POST",
            "/v1/storage/get",
            &[
                ("authorization", bearer.as_str()),
                ("content-type", "application/json"),
            ],
            Some(get.to_string().into_bytes()),
        )
        .await
        .expect("worker get");
        assert_eq!(from_worker.status, 200, "{}", from_worker.text());
        assert!(
            recovered == from_worker.body,
            "{compression}: the script's plaintext differs from the worker's ({} vs {} bytes)",
            recovered.len(),
            from_worker.body.len()
        );
        assert!(
            recovered.starts_with(b"PGDMP"),
            "{compression}: not a pg_dump archive"
        );
        if i == 2 {
            psql("postgres", &format!("CREATE DATABASE {copy_db}"));
            let restored = Command::new("pg_restore")
                .args([
                    "-h",
                    "127.0.0.1",
                    "-U",
                    "postgres",
                    "--no-owner",
                    "-d",
                    &copy_db,
                ])
                .arg(&out)
                .status()
                .expect("pg_restore");
            assert!(restored.success());
            let q = "SELECT count(*) || ':' || md5(string_agg(id || name || pad, ',' ORDER BY id)) FROM item";
            assert_eq!(psql(&copy_db, q), psql(&src_db, q));
        }
    }

    // --- failures: a clear message, exit 1, nothing written ------------------------------------
    let (_, encrypted_zstd, _) = &made[2];
    let wrong_key = dir.join("wrong.hex");
    std::fs::write(&wrong_key, "ab".repeat(32)).unwrap();
    let out = dir.join("never.dump");
    let (code, stderr) = decrypt(&kit_dir, &wrong_key, encrypted_zstd, &out);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("wrong key: the file was encrypted with key"),
        "{stderr}"
    );
    assert!(!out.exists());
    let bytes = std::fs::read(encrypted_zstd).unwrap();
    let mut flipped = bytes.clone();
    let at = bytes.len() / 2;
    flipped[at] ^= 1;
    let bad = dir.join("flipped.dump.zst.dbk");
    std::fs::write(&bad, &flipped).unwrap();
    let (code, stderr) = decrypt(&kit_dir, &key_file, &bad, &out);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("corrupt chunk"), "{stderr}");
    assert!(!out.exists());
    let cut = dir.join("cut.dump.zst.dbk");
    std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
    let (code, stderr) = decrypt(&kit_dir, &key_file, &cut, &out);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("truncated") || stderr.contains("corrupt chunk"),
        "{stderr}"
    );
    assert!(!out.exists());
    let bad_key = dir.join("bad.hex");
    std::fs::write(&bad_key, "not hex").unwrap();
    let (code, stderr) = decrypt(&kit_dir, &bad_key, encrypted_zstd, &out);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("64 hex characters"), "{stderr}");

    // --- audit: the export and the refused attempts --------------------------------------------
    let audit = expect(
        "GET",
        "/api/audit?resource=vault&limit=50".into(),
        None,
        200,
    )
    .await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|r| r["resourceId"] == json!(profile_id))
        .filter_map(|r| r["action"].as_str())
        .collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "EXPORT").count(),
        1,
        "{audit}"
    );
    assert_eq!(
        actions.iter().filter(|a| **a == "EXPORT_DENIED").count(),
        2,
        "{audit}"
    );
    assert!(!audit.to_string().contains(key_hex.trim()));

    app.shutdown().await;
    for db in [&src_db, &copy_db] {
        psql("postgres", &format!("DROP DATABASE IF EXISTS {db}"));
    }
}
