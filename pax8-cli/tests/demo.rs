//! `pax8 demo`: a simulated Pax8 whose state outlives the command, so what one command writes
//! the next one reads.

use assert_cmd::Command;

fn pax8(config: &tempfile::TempDir, args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("pax8")
        .unwrap()
        .env("PAX8_TODAY", "2026-11-23")
        .env("PAX8_CONFIG_DIR", config.path())
        .env("NO_COLOR", "1")
        .env_remove("PAX8_CLIENT_ID")
        .env_remove("PAX8_CLIENT_SECRET")
        .env_remove("PAX8_BASE_URL")
        .args(args)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

fn ok(config: &tempfile::TempDir, args: &[&str]) -> (String, String) {
    let (code, stdout, stderr) = pax8(config, args);
    assert_eq!(code, 0, "{args:?}: {stdout}{stderr}");
    (stdout, stderr)
}

fn json(config: &tempfile::TempDir, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&ok(config, &all).0).unwrap()
}

const ORDER: [&str; 9] = [
    "orders",
    "create",
    "--company",
    "Globex Corporation",
    "--product",
    "Datto SaaS Protection",
    "--quantity",
    "2",
    "--yes",
];

#[test]
fn an_order_placed_in_demo_mode_is_there_on_the_next_command() {
    let config = tempfile::tempdir().unwrap();
    assert!(ok(&config, &["demo", "on"]).0.contains("Demo mode is on"));
    let placed = json(&config, &ORDER);
    let order_id = placed["order"]["id"].as_str().unwrap().to_string();
    let (listed, marked) = ok(&config, &["orders", "list", "--company", "Globex Corporation"]);
    assert!(listed.contains(&order_id), "{listed}");
    assert!(marked.contains("demo mode"), "output marks demo mode: {marked}");
    let sub = placed["order"]["line_items"][0]["subscription_id"].as_str().unwrap().to_string();
    ok(&config, &["subscriptions", "update", &sub, "--quantity", "9", "--yes"]);
    assert_eq!(json(&config, &["subscriptions", "show", &sub])["quantity"], 9);
    let status = json(&config, &["demo", "status"]);
    assert_eq!(status["on"], true);
    assert_eq!(status["saved_orders"], 26, "25 from the fixture and the one placed: {status}");

    // Off: commands need credentials again; on: the state is resumed.
    ok(&config, &["demo", "off"]);
    let (code, _, stderr) = pax8(&config, &["orders", "list"]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("not logged in"), "{stderr}");
    assert!(ok(&config, &["demo", "on"]).0.contains("resuming the saved state"));
    assert!(ok(&config, &["orders", "show", &order_id]).0.contains(&order_id));

    // Reset: back to the fixture, the order gone, demo mode still on.
    ok(&config, &["demo", "reset"]);
    let (code, _, stderr) = pax8(&config, &["orders", "show", &order_id]);
    assert_eq!(code, 4, "{stderr}");
    assert_eq!(json(&config, &["demo", "status"])["saved_orders"], 25, "the fixture's, saved by the last command");
    assert_eq!(json(&config, &["orders", "list", "--all"]).as_array().unwrap().len(), 25);

    // --sandbox stays a throwaway simulator: nothing it does reaches the demo's state.
    let mut throwaway = vec!["--sandbox"];
    throwaway.extend_from_slice(&ORDER);
    ok(&config, &throwaway);
    assert_eq!(json(&config, &["orders", "list", "--all"]).as_array().unwrap().len(), 25);
    ok(&config, &["demo", "off", "--forget"]);
    assert!(!config.path().join("demo-state.json").exists());
}

#[cfg(unix)]
#[test]
fn the_demo_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let config = tempfile::tempdir().unwrap();
    ok(&config, &["demo", "on", "--companies", "3"]);
    ok(&config, &["companies", "list"]);
    for file in ["demo.json", "demo-state.json"] {
        let mode = std::fs::metadata(config.path().join(file)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file}");
    }
    assert_eq!(json(&config, &["demo", "status"])["saved_companies"], 3);
}

#[test]
fn an_idempotency_key_replays_the_first_outcome_and_refuses_another_request() {
    let config = tempfile::tempdir().unwrap();
    ok(&config, &["demo", "on"]);
    // An order under a key: placed once, however often the command is run.
    let keyed: Vec<&str> = ORDER.iter().copied().chain(["--idempotency-key", "order-7f3a"]).collect();
    let placed = json(&config, &keyed);
    let order_id = placed["order"]["id"].as_str().unwrap().to_string();
    let count_orders = |config: &tempfile::TempDir| json(config, &["demo", "status"])["saved_orders"].clone();
    let before = count_orders(&config);
    let again = json(&config, &keyed);
    assert_eq!(again["order"]["id"], order_id.as_str(), "the first outcome: {again}");
    let (said, _) = ok(&config, &keyed);
    assert!(said.contains("Already done under this idempotency key"), "{said}");
    assert_eq!(count_orders(&config), before, "nothing was sent again");

    // A quantity change under a key, then a change without one: replaying the key sends nothing.
    let sub = placed["order"]["line_items"][0]["subscription_id"].as_str().unwrap().to_string();
    let change = ["subscriptions", "update", &sub, "--quantity", "5", "--yes", "--idempotency-key", "qty-1"];
    ok(&config, &change);
    ok(&config, &["subscriptions", "update", &sub, "--quantity", "6", "--yes"]);
    let replayed = json(&config, &change);
    assert_eq!(replayed["subscription"]["quantity"], 5.0, "the recorded outcome: {replayed}");
    assert_eq!(json(&config, &["subscriptions", "show", &sub])["quantity"], 6, "not sent again");
    // The same request without --yes is the same request.
    let (code, _, _) =
        pax8(&config, &["subscriptions", "update", &sub, "--quantity", "5", "--idempotency-key", "qty-1"]);
    assert_eq!(code, 0);
    // Another request under a used key is refused, before anything is sent.
    let (code, _, stderr) =
        pax8(&config, &["subscriptions", "update", &sub, "--quantity", "7", "--yes", "--idempotency-key", "qty-1"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("was used for a different request"), "{stderr}");
    assert_eq!(json(&config, &["subscriptions", "show", &sub])["quantity"], 6);
    // Reads take no key.
    let (code, _, stderr) = pax8(&config, &["companies", "list", "--idempotency-key", "k"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--idempotency-key is for writes"), "{stderr}");
}
