//! Webhook administration as real `pax8` processes against a simulator on 127.0.0.1 whose
//! deliveries reach a receiver in this test: register, test, logs, retry, disable and enable,
//! topics, delete.

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pax8_sandbox::{Sandbox, SandboxConfig};
use serde_json::Value;

const TOKEN: &str = "hook-token-0123456789abcdef";

fn pax8(config: &tempfile::TempDir, sandbox: &Sandbox, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(assert_cmd::cargo::cargo_bin("pax8"))
        .env("PAX8_CONFIG_DIR", config.path())
        .env("PAX8_KEYRING", "off")
        .env("PAX8_CLIENT_ID", sandbox.client_id())
        .env("PAX8_CLIENT_SECRET", sandbox.client_secret())
        .env("PAX8_BASE_URL", sandbox.base_url())
        .env("PAX8_WEBHOOK_TOKEN", TOKEN)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .args(args)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

fn json(config: &tempfile::TempDir, sandbox: &Sandbox, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = pax8(config, sandbox, &all);
    assert_eq!(code, 0, "{args:?}: {stderr}");
    serde_json::from_str(&stdout).unwrap()
}

/// A receiver that answers 200 and keeps each event's id.
async fn receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let store = seen.clone();
    let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
        let store = store.clone();
        async move {
            let event: Value = serde_json::from_slice(&body).unwrap_or_default();
            store.lock().unwrap().push(event["id"].as_str().unwrap_or("?").to_string());
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhooks/pax8", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

/// Waits (bounded) until `check` holds for the webhook's logs.
async fn logs_until(
    config: &tempfile::TempDir,
    sandbox: &Sandbox,
    id: &str,
    check: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    for _ in 0..100 {
        let logs = json(config, sandbox, &["webhooks", "logs", id, "--all"]);
        let logs = logs.as_array().cloned().unwrap_or_default();
        if check(&logs) {
            return logs;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the logs never matched");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_is_tested_its_delivery_logged_retried_switched_and_deleted() {
    let sandbox = Sandbox::start(SandboxConfig { companies: 5, ..SandboxConfig::default() }).await.unwrap();
    let config = tempfile::tempdir().unwrap();
    let (url, seen) = receiver().await;
    let (code, _, stderr) =
        pax8(&config, &sandbox, &["webhooks", "register", "--url", &url, "--topics", "SUBSCRIPTION_UPDATED"]);
    assert_eq!(code, 0, "{stderr}");
    let listed = json(&config, &sandbox, &["webhooks", "list"]);
    let id = listed["items"][0]["id"].as_str().unwrap().to_string();

    let topics = json(&config, &sandbox, &["webhooks", "topics", "--all"]);
    assert!(topics.as_array().unwrap().iter().any(|t| t["topic"] == "SUBSCRIPTION_UPDATED"), "{topics}");

    let (code, _, stderr) = pax8(&config, &sandbox, &["webhooks", "test", &id, "--topic", "SUBSCRIPTION_UPDATED"]);
    assert_eq!(code, 0, "{stderr}");
    let logs = logs_until(&config, &sandbox, &id, |l| l.len() == 1 && l[0]["calls"] == 1).await;
    assert_eq!(logs[0]["last_http_status"], 200, "{logs:?}");
    let delivery = logs[0]["id"].as_str().unwrap().to_string();

    // A retry needs confirming; with --yes the same event is delivered again, under the same log.
    let (code, _, stderr) = pax8(&config, &sandbox, &["webhooks", "retry", &id, &delivery]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not confirmed"));
    let retried = json(&config, &sandbox, &["webhooks", "retry", &id, &delivery, "--yes"]);
    assert_eq!(retried["retried"], true);
    logs_until(&config, &sandbox, &id, |l| l.len() == 1 && l[0]["calls"] == 2).await;
    let events = seen.lock().unwrap().clone();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0], events[1], "the same event again");

    let off = json(&config, &sandbox, &["webhooks", "disable", &id, "--yes"]);
    assert_eq!(off["active"], false);
    assert_eq!(json(&config, &sandbox, &["webhooks", "show", &id])["active"], false);
    assert_eq!(json(&config, &sandbox, &["webhooks", "enable", &id, "--yes"])["active"], true);

    let deleted = json(&config, &sandbox, &["webhooks", "delete", &id, "--yes"]);
    assert_eq!(deleted["deleted"], true);
    let (code, _, _) = pax8(&config, &sandbox, &["webhooks", "show", &id]);
    assert_ne!(code, 0, "gone");
}
