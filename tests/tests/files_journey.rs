//! A files source end to end, through the host with the real worker: the adapter is created
//! through the API (its paths checked by the worker, refused outside `DBACKUP_LOCAL_ROOTS`),
//! a job to a local destination runs now → Success → `POST /api/restores` with `targetPath`
//! into a new directory → the tree is equal (content hash, type, mode, link target), excluded
//! entries absent; a second restore into the same directory fails without `overwrite`.

use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use dbackup_tests::{RealApp, TempDir};
use serde_json::json;
use sha2::{Digest, Sha256};

fn snapshot(dir: &Path) -> BTreeMap<Vec<u8>, (char, u32, String)> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<Vec<u8>, (char, u32, String)>) {
        for item in std::fs::read_dir(dir).expect("read_dir") {
            let path = item.expect("entry").path();
            let rel = path
                .strip_prefix(base)
                .expect("below")
                .as_os_str()
                .as_bytes()
                .to_vec();
            let meta = std::fs::symlink_metadata(&path).expect("meta");
            let mode = meta.mode() & 0o7777;
            if meta.file_type().is_symlink() {
                let t = std::fs::read_link(&path).expect("link");
                out.insert(rel, ('l', 0, t.to_string_lossy().into_owned()));
            } else if meta.is_dir() {
                out.insert(rel, ('d', mode, String::new()));
                walk(base, &path, out);
            } else {
                let data = std::fs::read(&path).expect("read");
                out.insert(rel, ('f', mode, format!("{:x}", Sha256::digest(&data))));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn files_source_backup_and_restore_through_the_app() {
    let roots = std::env::var("DBACKUP_LOCAL_ROOTS").unwrap_or_default();
    let tmp = std::env::temp_dir();
    assert!(
        roots
            .split(':')
            .any(|r| !r.is_empty() && tmp.starts_with(r)),
        "this test needs DBACKUP_LOCAL_ROOTS to include {} (got {roots:?})",
        tmp.display()
    );
    let work = TempDir::new();
    let src = work.join("site");
    std::fs::create_dir_all(src.join("assets/img")).expect("mkdir");
    std::fs::create_dir_all(src.join("node_modules/x")).expect("mkdir");
    std::fs::write(src.join("index.html"), "<h1>hi</h1>").expect("write");
    std::fs::write(src.join("assets/img/logo 1.png"), vec![0x89u8; 70_000]).expect("write");
    std::fs::write(src.join("assets/ünï\ncode.txt"), "odd name").expect("write");
    std::fs::write(src.join("app.log"), "excluded").expect("write");
    std::fs::write(src.join("node_modules/x/i.js"), "excluded").expect("write");
    std::fs::write(src.join("run.sh"), "#!/bin/sh\n").expect("write");
    std::fs::set_permissions(src.join("run.sh"), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");
    std::os::unix::fs::symlink("index.html", src.join("home.html")).expect("symlink");

    let real = RealApp::with_worker().app_url().start().await;
    let api = real.api();
    let admin = api.signup_admin().await;
    let store = real.backup_folder();
    let disk = api
        .expect(
            &admin,
            "POST",
            "/api/adapters",
            Some(
                &json!({"name": "Disk", "type": "storage", "adapterId": "local",
                          "config": {"path": store}}),
            ),
            201,
        )
        .await;
    // Outside the roots: refused before it is saved, naming the path.
    let r = api
        .call(
            &admin,
            "POST",
            "/api/adapters",
            Some(
                &json!({"name": "Etc", "type": "database", "adapterId": "files",
                          "config": {"paths": [src, "/etc"]}}),
            ),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("paths[1]"), "{}", r.text());
    let files = api
        .expect(
            &admin,
            "POST",
            "/api/adapters",
            Some(
                &json!({"name": "Site", "type": "database", "adapterId": "files",
                          "config": {"paths": [src], "excludes": ["*.log", "node_modules"]}}),
            ),
            201,
        )
        .await;
    assert_eq!(files["lastStatus"], "ONLINE", "{files}");

    let job = api
        .expect(
            &admin,
            "POST",
            "/api/jobs",
            Some(
                &json!({"name": "site", "schedule": "@yearly", "sourceId": files["id"],
                          "destinations": [{"destinationId": disk["id"]}], "compression": "ZSTD"}),
            ),
            201,
        )
        .await;
    let backup = api.run_job(&admin, job["id"].as_str().expect("id")).await;
    assert_eq!(backup["status"], "Success", "{backup}");
    let path = backup["path"].as_str().expect("path").to_owned();
    assert!(path.contains(".tar"), "{path}");

    // A files source needs targetPath.
    let body = |target: Option<&Path>, overwrite: bool| {
        let mut b =
            json!({"destinationId": disk["id"], "path": path, "targetSourceId": files["id"]});
        if let Some(t) = target {
            b["targetPath"] = json!(t);
            b["overwrite"] = json!(overwrite);
        }
        b
    };
    let r = api
        .call(&admin, "POST", "/api/restores", Some(&body(None, false)))
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["details"]["field"], "targetPath", "{}", r.text());

    let target = work.join("restored");
    let queued = api
        .expect(
            &admin,
            "POST",
            "/api/restores",
            Some(&body(Some(&target), false)),
            202,
        )
        .await;
    let done = api
        .finished_execution(&admin, queued["executionId"].as_str().expect("id"))
        .await;
    assert_eq!(done["status"], "Success", "{done}");
    let mut want = snapshot(&src);
    want.retain(|k, _| {
        let k = String::from_utf8_lossy(k);
        !k.ends_with(".log") && !k.starts_with("node_modules")
    });
    assert_eq!(snapshot(&target.join("site")), want);

    // Again into the same directory: the files exist, refused.
    let queued = api
        .expect(
            &admin,
            "POST",
            "/api/restores",
            Some(&body(Some(&target), false)),
            202,
        )
        .await;
    let again = api
        .finished_execution(&admin, queued["executionId"].as_str().expect("id"))
        .await;
    assert_eq!(again["status"], "Failed", "{again}");
    assert!(again.to_string().contains("overwrite"), "{again}");
}
