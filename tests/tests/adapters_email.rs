//! The `email` channel end to end: component → worker `/v1/notify/email` (lettre) → a real SMTP
//! capture server (aiosmtpd from Debian's python3-aiosmtpd, installed by `cargo xtask test`'s
//! prepare step), started here on a loopback port and writing a Maildir.

mod adapters_common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use adapters_common::start_app_with_worker;
use dbackup_tests::{free_port, TempDir, TEST_PASSWORD};
use serde_json::{json, Value};

const SMTP_PASSWORD: &str = "smtp-CANARY-91b2";

/// aiosmtpd on 127.0.0.1:`port`, delivering into the Maildir `dir`; killed on drop.
struct Capture(Child);

impl Capture {
    async fn start(port: u16, dir: &Path) -> Capture {
        let child = Command::new("/usr/bin/aiosmtpd")
            .args([
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("aiosmtpd (apt-get install python3-aiosmtpd)");
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let up = dbackup_tests::wait_for(Duration::from_secs(20), || async move {
            dbackup_tests::is_listening(addr).await.then_some(())
        })
        .await;
        assert!(up.is_some(), "aiosmtpd did not listen on {port}");
        Capture(child)
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn delivered(maildir: &Path) -> Vec<String> {
    let new = maildir.join("new");
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(new) {
        for e in entries.flatten() {
            out.push(std::fs::read_to_string(e.path()).unwrap());
        }
    }
    out
}

#[tokio::test]
async fn test_message_reaches_a_real_smtp_server() {
    let scratch = TempDir::new();
    let maildir = scratch.join("mail");
    let port = free_port();
    let _capture = Capture::start(port, &maildir).await;
    let app = start_app_with_worker().await;
    let api = app.api();
    let (_, admin) = api
        .signup("Admin", "admin@example.com", TEST_PASSWORD)
        .await;

    let channel = api
        .expect(
            &admin,
            "POST",
            "/api/adapters",
            Some(
                &json!({"name": "ops mail", "adapterId": "email", "config": {
            "host": "127.0.0.1", "port": port, "tls": "none",
            "from": "dbackup@example.com", "to": ["ops@example.com", "dba@example.com"]}}),
            ),
            201,
        )
        .await;
    let id = channel["id"].as_str().unwrap();
    let r = api
        .expect(
            &admin,
            "POST",
            &format!("/api/adapters/{id}/test"),
            None,
            200,
        )
        .await;
    assert_eq!(r["ok"], true, "{r}");
    assert!(
        r["message"]
            .as_str()
            .unwrap()
            .starts_with("sent to 2 recipient(s)"),
        "{r}"
    );

    let mails = dbackup_tests::wait_for(Duration::from_secs(10), || {
        let found = delivered(&maildir);
        async move { (!found.is_empty()).then_some(found) }
    })
    .await
    .expect("a message in the Maildir");
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    let header = |name: &str| {
        mail.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no {name} in {mail}"))
            .to_owned()
    };
    assert_eq!(header("From"), "dbackup@example.com");
    assert_eq!(header("To"), "ops@example.com, dba@example.com");
    // aiosmtpd's Mailbox records the envelope recipients.
    assert_eq!(header("X-RcptTo"), "ops@example.com, dba@example.com");
    assert!(
        header("Subject").contains("dbackup test notification"),
        "{mail}"
    );
    assert!(
        mail.contains("Message: If you can read this, the channel works."),
        "{mail}"
    );

    // Closed port, STARTTLS against a plain server, credentials the server cannot take: clear
    // failures, the password never echoed.
    let unsaved = |config: Value| json!({"adapterId": "email", "config": config});
    let base = json!({"host": "127.0.0.1", "port": port, "tls": "none", "from": "a@example.com", "to": ["b@example.com"]});
    let with = |extra: Value| {
        let mut c = base.clone();
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        unsaved(c)
    };
    for (body, needle) in [
        (with(json!({"port": 1})), "Connection refused"),
        (with(json!({"tls": "starttls"})), "STARTTLS"),
        (
            with(json!({"username": "u", "password": SMTP_PASSWORD})),
            "authentication",
        ),
    ] {
        let r = api
            .expect(&admin, "POST", "/api/adapters/test", Some(&body), 200)
            .await;
        assert_eq!(r["ok"], false, "{body}: {r}");
        let m = r["message"].as_str().unwrap();
        assert!(
            m.to_lowercase().contains(&needle.to_lowercase()),
            "{needle:?} not in {m:?}"
        );
        assert!(!r.to_string().contains(SMTP_PASSWORD));
    }
    app.shutdown().await;
}
