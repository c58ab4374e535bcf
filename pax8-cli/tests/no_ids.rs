//! Every list and show command against a server whose answers carry no `id` at all (the
//! documents mark most ids optional): each prints what it has or fails with a plain message and
//! its exit code; none panics (exit 101), whatever the output format.

use assert_cmd::Command;
use pax8_sandbox::{Faults, Sandbox, SandboxConfig};

fn pax8(config: &std::path::Path, url: &str, args: &[String]) -> (i32, String, String) {
    let out = Command::cargo_bin("pax8")
        .unwrap()
        .env("PAX8_CONFIG_DIR", config)
        .env("PAX8_TODAY", "2026-11-23")
        .env("NO_COLOR", "1")
        .env("PAX8_KEYRING", "off")
        .env("PAX8_CLIENT_ID", "sandbox-client")
        .env("PAX8_CLIENT_SECRET", "sandbox-secret")
        .env("PAX8_BASE_URL", url)
        .args(args)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn no_list_or_show_command_panics_on_objects_without_ids() {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 23);
    let faults = Faults { strip_ids: true, ..Faults::default() };
    let sandbox =
        Sandbox::start(SandboxConfig { companies: 4, today, faults, ..SandboxConfig::default() }).await.unwrap();
    let (company, subscription, azure, order, invoice, product) = sandbox.with_world(|w| {
        let azure = w.subscriptions.iter().find(|s| s.product_name.as_deref() == Some("Azure plan"));
        (
            w.companies[0].id.unwrap().to_string(),
            w.subscriptions[0].id.unwrap().to_string(),
            azure.and_then(|s| s.id).unwrap().to_string(),
            w.orders[0].id.unwrap().to_string(),
            w.invoices[0].id.unwrap().to_string(),
            w.products[0].detail.id.unwrap().to_string(),
        )
    });
    let summary = sandbox.with_world(|w| {
        let azure = uuid::Uuid::parse_str(&azure).unwrap();
        w.usage_summaries[&azure][0].id.unwrap().to_string()
    });
    let url = sandbox.base_url().to_string();
    let commands: Vec<Vec<String>> = [
        vec!["companies", "list"],
        vec!["companies", "list", "--all"],
        vec!["companies", "show", &company],
        vec!["companies", "show", "Globex"],
        vec!["contacts", "list", &company],
        vec!["products", "list"],
        vec!["products", "show", &product],
        vec!["products", "show", &product, "--company", &company],
        vec!["orders", "list"],
        vec!["orders", "list", "--company", &company],
        vec!["orders", "show", &order],
        vec!["subscriptions", "list"],
        vec!["subscriptions", "list", "--all"],
        vec!["subscriptions", "show", &subscription],
        vec!["invoices", "list"],
        vec!["invoices", "show", &invoice],
        vec!["invoices", "items", &invoice],
        vec!["invoices", "reconcile"],
        vec!["invoices", "reconcile", "--invoice", &invoice],
        vec!["usage", "summaries", &azure],
        vec!["usage", "lines", &summary, "--date", "2026-11-20"],
        vec!["quotes", "list"],
        vec!["webhooks", "list"],
        vec!["renewals", "--within", "1y"],
        vec!["report", "mrr", "--by", "company"],
        vec!["report", "mrr", "--by", "product"],
        vec!["status"],
    ]
    .iter()
    .map(|c: &Vec<&str>| c.iter().map(|s| s.to_string()).collect())
    .collect();
    tokio::task::spawn_blocking(move || {
        let config = tempfile::tempdir().unwrap();
        let mut answered = 0;
        for command in &commands {
            for format in [None, Some("--json"), Some("--csv"), Some("--ids-only")] {
                let args: Vec<String> = format.map(String::from).into_iter().chain(command.iter().cloned()).collect();
                let (code, stdout, stderr) = pax8(config.path(), &url, &args);
                assert_ne!(code, 101, "{args:?} panicked: {stderr}");
                assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
                match code {
                    0 => answered += 1,
                    // A plain, typed message: the object without an id, or what to do.
                    2 | 4 => assert!(stderr.starts_with("error: ") && stderr.len() > 10, "{args:?}: {stderr}"),
                    other => panic!("{args:?}: exit {other}: {stdout}{stderr}"),
                }
                if format == Some("--json") && code == 0 {
                    serde_json::from_str::<serde_json::Value>(&stdout)
                        .unwrap_or_else(|e| panic!("{args:?}: not one JSON document ({e}): {stdout}"));
                }
            }
        }
        // Lists still list (ids shown as absent); only what needs an id to go on refuses.
        assert!(answered >= commands.len() * 2, "{answered} answered");
        let (code, stdout, _) = pax8(config.path(), &url, &["subscriptions".into(), "list".into()]);
        assert_eq!(code, 0);
        assert!(stdout.lines().nth(1).is_some_and(|l| l.starts_with('-')), "the id column shows `-`: {stdout}");
        let (code, _, stderr) = pax8(config.path(), &url, &["companies".into(), "show".into(), "Globex".into()]);
        assert_eq!((code, stderr.contains("without an id")), (0, false), "{stderr}");
    })
    .await
    .unwrap();
}
