//! An order whose answer is lost: `pax8 orders create` settles it (finds the order it placed)
//! or says it could not tell, with its own exit code (6), and never places it twice.

use assert_cmd::Command;
use pax8_sandbox::{Faults, Sandbox, SandboxConfig};

fn order(config: &std::path::Path, url: &str, json: bool, quantity: &str) -> (i32, String, String) {
    let mut cmd = Command::cargo_bin("pax8").unwrap();
    cmd.env("PAX8_CONFIG_DIR", config)
        .env("NO_COLOR", "1")
        .env("PAX8_KEYRING", "off")
        .env("PAX8_CLIENT_ID", "sandbox-client")
        .env("PAX8_CLIENT_SECRET", "sandbox-secret")
        .env("PAX8_BASE_URL", url);
    if json {
        cmd.arg("--json");
    }
    let out = cmd
        .args(["orders", "create", "--company", "Globex Corporation", "--product", "Datto SaaS Protection"])
        .args(["--quantity", quantity, "--yes"])
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

const CREATE: &str = "POST /v1/orders?isMock=false";

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_order_answer_is_settled_or_reported_unsettled_never_placed_twice() {
    let sandbox = Sandbox::start(SandboxConfig { companies: 4, ..SandboxConfig::default() }).await.unwrap();
    let url = sandbox.base_url().to_string();
    let config = tempfile::tempdir().unwrap();
    let dir = config.path().to_path_buf();

    // The order is placed and its answer lost: found, reported placed, exit 0.
    sandbox.set_faults(Faults { lose_answer_to: Some(CREATE.into()), ..Faults::default() });
    let (u, d) = (url.clone(), dir.clone());
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || order(&d, &u, false, "3")).await.unwrap();
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("The answer was lost, but order") && stdout.contains("do not order again"), "{stdout}");
    assert_eq!(sandbox.counters().orders_created, 1, "placed once, not retried");
    let placed = sandbox.with_world(|w| w.orders.last().and_then(|o| o.id)).unwrap();
    assert!(stdout.contains(&placed.to_string()), "{stdout}");

    // --json: the order found, marked as settled.
    let (u, d) = (url.clone(), dir.clone());
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || order(&d, &u, true, "4")).await.unwrap();
    assert_eq!(code, 0, "{stdout}{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["done"], true);
    assert_eq!(doc["answer"], "settled", "the answer was lost; the order was found");
    assert_eq!(doc["order"]["id"], doc["order_id"], "{doc}");
    assert_eq!(sandbox.counters().orders_created, 2);

    // The request never reached the server: nothing to find, exit 6, what to check named.
    sandbox.set_faults(Faults { drop_request_to: Some(CREATE.into()), ..Faults::default() });
    let (u, d) = (url.clone(), dir.clone());
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || order(&d, &u, false, "5")).await.unwrap();
    assert_eq!(code, 6, "{stdout}{stderr}");
    assert!(
        stderr.contains("could not tell whether the order was placed (no matching order was found yet)"),
        "{stderr}"
    );
    assert!(stderr.contains("check with `pax8 orders list --company"), "{stderr}");
    assert!(!stderr.contains("try again"), "never invites a blind retry: {stderr}");
    assert_eq!(sandbox.counters().orders_created, 2, "nothing placed");

    // Two identical orders the same day (Pax8 dates orders by day): it cannot tell which, and
    // says so rather than guessing.
    sandbox.set_faults(Faults { lose_answer_to: Some(CREATE.into()), ..Faults::default() });
    let (u, d) = (url.clone(), dir.clone());
    let (code, _, stderr) = tokio::task::spawn_blocking(move || order(&d, &u, false, "3")).await.unwrap();
    assert_eq!(code, 6, "{stderr}");
    assert!(stderr.contains("(2 matching orders exist)"), "{stderr}");
}
