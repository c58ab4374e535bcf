//! The `pax8` binary against its in-process simulator (`--sandbox`): every command and output
//! format, golden output, bad input. `PAX8_TODAY` pins the date so the output is stable.

use assert_cmd::Command;

fn pax8(config: &tempfile::TempDir) -> Command {
    let mut cmd = Command::cargo_bin("pax8").unwrap();
    cmd.env("PAX8_TODAY", "2026-11-23")
        .env("PAX8_CONFIG_DIR", config.path())
        .env("NO_COLOR", "1")
        // Never the developer's keyring: the secret goes to the owner-only file.
        .env("PAX8_KEYRING", "off")
        .env_remove("PAX8_CLIENT_ID")
        .env_remove("PAX8_CLIENT_SECRET")
        .env_remove("PAX8_BASE_URL");
    cmd
}

/// Runs `args` with `--sandbox`; returns (exit code, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let config = tempfile::tempdir().unwrap();
    let out = pax8(&config).arg("--sandbox").args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

fn ok(args: &[&str]) -> String {
    let (code, stdout, stderr) = run(args);
    assert_eq!(code, 0, "{args:?} failed: {stderr}");
    stdout
}

fn fails(args: &[&str], expected_code: i32, message: &str) {
    let (code, stdout, stderr) = run(args);
    assert_eq!(code, expected_code, "{args:?}: {stdout}{stderr}");
    assert!(stderr.contains(message), "{args:?}: expected `{message}` in: {stderr}");
}

#[test]
fn golden_tables() {
    insta::assert_snapshot!("companies_list", ok(&["companies", "list", "--size", "8"]));
    insta::assert_snapshot!("companies_show", ok(&["companies", "show", "globex"]));
    insta::assert_snapshot!("subscriptions_list", ok(&["subscriptions", "list", "--size", "6"]));
    insta::assert_snapshot!("orders_list", ok(&["orders", "list", "--size", "4"]));
    insta::assert_snapshot!("invoices_list", ok(&["invoices", "list", "--size", "3"]));
    insta::assert_snapshot!("subscriptions_csv", ok(&["--csv", "subscriptions", "list", "--size", "3"]));
    insta::assert_snapshot!("renewals", ok(&["renewals", "--within", "30d"]));
    insta::assert_snapshot!("report_mrr_company", ok(&["report", "mrr", "--by", "company"]));
    insta::assert_snapshot!("report_mrr_product", ok(&["report", "mrr", "--by", "product"]));
    insta::assert_snapshot!("status", ok(&["status"]));
    insta::assert_snapshot!("reconcile", ok(&["invoices", "reconcile"]));
    insta::assert_snapshot!(
        "product_pricing",
        ok(&["products", "show", "Microsoft 365 Business Premium", "--company", "Globex Corporation"])
    );
}

#[test]
fn margins_add_up_on_every_line_and_flag_the_low_ones() {
    insta::assert_snapshot!("report_margins_vendor", ok(&["report", "margins", "--by", "vendor", "--below", "15"]));
    let decimal = |v: &serde_json::Value| v.to_string().parse::<rust_decimal::Decimal>().unwrap();
    for by in ["subscription", "product", "company", "vendor"] {
        let rows: serde_json::Value =
            serde_json::from_str(&ok(&["--json", "report", "margins", "--by", by, "--below", "15"])).unwrap();
        let rows = rows.as_array().unwrap();
        assert!(!rows.is_empty(), "{by}");
        for row in rows {
            assert_eq!(decimal(&row["revenue"]) - decimal(&row["cost"]), decimal(&row["margin"]), "{by}: {row}");
            let below = match row["margin_percent"].as_f64() {
                Some(percent) => percent < 15.0,
                None => decimal(&row["cost"]) > rust_decimal::Decimal::ZERO,
            };
            assert_eq!(row["below"], serde_json::json!(below), "{by}: {row}");
        }
    }
    // The table's footer: totals rounded once, and they add up too.
    let table = ok(&["report", "margins", "--by", "company"]);
    let footer = table.lines().last().unwrap();
    assert!(footer.contains("price 78116.06, cost 66635.52, margin 11480.54 (14.7%)"), "{footer}");
    // One company's lines only.
    let globex: serde_json::Value =
        serde_json::from_str(&ok(&["--json", "report", "margins", "--company", "Globex Corporation"])).unwrap();
    let globex = globex.as_array().unwrap();
    assert!(!globex.is_empty() && globex.iter().all(|r| r["company"] == "Globex Corporation"));
}

#[test]
fn explain_says_what_a_term_means_by_any_of_its_names() {
    let partner_cost = ok(&["explain", "partner", "cost"]);
    assert!(partner_cost.contains("What Pax8 charges the partner"), "{partner_cost}");
    assert_eq!(ok(&["explain", "partnerCost"]), partner_cost);
    let nce: serde_json::Value = serde_json::from_str(&ok(&["--json", "explain", "new", "commerce"])).unwrap();
    assert_eq!(nce["term"], "NCE");
    let all = ok(&["--csv", "explain"]);
    assert_eq!(all.lines().count(), 1 + pax8_ext::glossary::ENTRIES.len());
    fails(
        &["explain", "commit"],
        2,
        "`commit` is not a term pax8 explains (did you mean: commitment, commitment end?)",
    );
    fails(&["explain", "blockchain"], 2, "`blockchain` is not a term pax8 explains; `pax8 explain` lists them");
}

#[test]
fn exports_stream_every_item_as_json_lines_or_csv_from_the_api_or_the_mirror() {
    let listed: serde_json::Value = serde_json::from_str(&ok(&["--json", "subscriptions", "list", "--all"])).unwrap();
    let listed: Vec<serde_json::Value> = listed.as_array().unwrap().clone();
    let lines = ok(&["subscriptions", "export"]);
    let exported: Vec<serde_json::Value> = lines.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(exported, listed, "the same summaries as list --all --json, one a line");
    let csv = ok(&["subscriptions", "export", "--format", "csv"]);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(header[..5], ["id", "company_id", "product_id", "product_name", "quantity"]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), listed.len());
    assert_eq!(rows[0].get(0), listed[0]["id"].as_str());
    assert_eq!(rows[0].get(4).unwrap(), listed[0]["quantity"].as_f64().unwrap().to_string(), "whole: no `.0`");
    let companies = ok(&["companies", "export", "--format", "csv"]);
    assert_eq!(companies.lines().count(), 26, "header + 25 companies");

    // From the mirror: no credentials, the same items as the API's (one fixture, PAX8_TODAY pinned).
    let config = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", config.path().join("mirror.db").display());
    let synced = pax8(&config).args(["--sandbox", "sync", "--db", &db]).output().unwrap();
    assert!(synced.status.success(), "{}", String::from_utf8_lossy(&synced.stderr));
    let out = pax8(&config).args(["subscriptions", "export", "--from-mirror", "--db", &db]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ids = |items: &mut dyn Iterator<Item = serde_json::Value>| {
        let mut ids: Vec<String> = items.map(|v| v["id"].as_str().unwrap().to_string()).collect();
        ids.sort();
        ids
    };
    let mirrored = String::from_utf8(out.stdout).unwrap();
    let from_mirror = ids(&mut mirrored.lines().map(|l| serde_json::from_str(l).unwrap()));
    assert_eq!(from_mirror, ids(&mut listed.into_iter()));
}

/// The simulator's latest invoice carries planted discrepancies (a quantity, a price above the
/// list, a duplicate, a subscription left out): without the mirror the audit finds those it can
/// and lists every quantity it could not check.
#[test]
fn an_invoice_audit_without_the_mirror_finds_what_it_can_and_lists_what_it_cannot() {
    let (code, stdout, stderr) = run(&["--json", "invoices", "audit"]);
    assert_eq!(code, 10, "{stderr}");
    let audit: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(audit["verdict"], "findings");
    let mut kinds: Vec<&str> =
        audit["findings"].as_array().unwrap().iter().map(|f| f["kind"].as_str().unwrap()).collect();
    kinds.sort_unstable();
    assert_eq!(kinds, ["duplicate", "not_billed", "price_list"], "{audit}");
    let unchecked = audit["unchecked"].as_array().unwrap();
    assert!(unchecked.iter().any(|u| u["check"] == "quantity" && u["why"].as_str().unwrap().contains("give --db")));
    // Every item but the duplicate (a finding, not checked further) has its quantity unchecked.
    let quantities = unchecked.iter().filter(|u| u["check"] == "quantity").count();
    assert_eq!(audit["items"].as_u64().unwrap() as usize - 1, quantities);
    // The same document in a table: the findings with their amounts, then what was not checked.
    let (code, table, _) = run(&["invoices", "audit", "--latest"]);
    assert_eq!(code, 10);
    assert!(table.contains("duplicate") && table.contains("price_list"), "{table}");
}

#[test]
fn golden_json_and_csv() {
    insta::assert_snapshot!(
        "subscriptions_json",
        ok(&["--json", "subscriptions", "list", "--company", "Globex Corporation"])
    );
    insta::assert_snapshot!("status_json", ok(&["--json", "status"]));
    insta::assert_snapshot!("renewals_csv", ok(&["--csv", "renewals", "--within", "14d"]));
    insta::assert_snapshot!("mrr_vendor_json", ok(&["report", "mrr", "--by", "vendor", "--json"]));
    let json: serde_json::Value = serde_json::from_str(&ok(&["--json", "invoices", "list"])).unwrap();
    assert_eq!(json["items"].as_array().unwrap().len(), 6, "one document: the items and their paging");
    let csv = ok(&["--csv", "companies", "list", "--all"]);
    assert_eq!(csv.lines().count(), 26, "header + 25 companies");
    assert!(csv.starts_with("id,name,city,country,status\n"));
    assert_eq!(ok(&["--quiet", "companies", "list"]), "", "--quiet prints nothing");
}

#[test]
fn every_resource_lists_and_shows() {
    let companies: serde_json::Value = serde_json::from_str(&ok(&["--json", "companies", "list", "--all"])).unwrap();
    assert_eq!(companies.as_array().unwrap().len(), 25);
    assert!(ok(&["contacts", "list", "Globex Corporation"]).contains("@globexcorporation.example"));
    assert!(ok(&["products", "list", "--search", "Microsoft"]).contains("Microsoft 365 E3"));
    let subs: serde_json::Value =
        serde_json::from_str(&ok(&["--json", "subscriptions", "list", "--all", "--size", "40"])).unwrap();
    let subs = subs.as_array().unwrap();
    assert!(subs.len() > 200, "paged through every page");
    let sub_id = subs[0]["id"].as_str().unwrap();
    assert!(ok(&["subscriptions", "show", sub_id]).contains(sub_id));
    let orders: serde_json::Value =
        serde_json::from_str(&ok(&["--json", "orders", "list", "--company", "Globex Corporation"])).unwrap();
    let order_id = orders["items"][0]["id"].as_str().unwrap();
    assert!(ok(&["orders", "show", order_id]).contains(order_id));
    let invoices: serde_json::Value =
        serde_json::from_str(&ok(&["--json", "invoices", "list", "--status", "Paid"])).unwrap();
    let invoice_id = invoices["items"][0]["id"].as_str().unwrap();
    assert!(ok(&["invoices", "show", invoice_id]).contains("Paid"));
    assert!(ok(&["invoices", "items", invoice_id, "--size", "10"]).contains("of"));
    let azure: serde_json::Value = serde_json::from_str(&ok(&["--json", "subscriptions", "list", "--all"])).unwrap();
    let azure_sub = azure.as_array().unwrap().iter().find(|s| s["product_name"] == "Azure plan").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let summaries: serde_json::Value =
        serde_json::from_str(&ok(&["--json", "usage", "summaries", &azure_sub])).unwrap();
    let summary = summaries[0]["id"].as_str().unwrap();
    assert!(ok(&["usage", "lines", summary, "--date", "2026-11-20"]).contains("Virtual Machines"));
    assert!(ok(&["quotes", "list"]).contains("ID"));
    assert!(ok(&["webhooks", "list"]).contains("ID"));
}

#[test]
fn writes_preview_then_need_confirmation() {
    // Without a terminal and without --yes nothing is written.
    let (code, stdout, stderr) = run(&[
        "orders",
        "create",
        "--company",
        "Globex Corporation",
        "--product",
        "Microsoft 365 Business Premium",
        "--quantity",
        "5",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.contains("Unit price (partner)") && stdout.contains("Validated by a dry run"), "{stdout}");
    assert!(stderr.contains("not confirmed: nothing was changed"), "{stderr}");
    let placed = ok(&[
        "orders",
        "create",
        "--company",
        "Globex Corporation",
        "--product",
        "Microsoft 365 Business Premium",
        "--quantity",
        "5",
        "--yes",
    ]);
    assert!(placed.contains("placed"), "{placed}");
    // 5 seats at the company rate (18.81, 5% under 19.80): 94.05 a month.
    assert!(placed.contains("94.05"), "{placed}");

    let subs: serde_json::Value = serde_json::from_str(&ok(&[
        "--json",
        "subscriptions",
        "list",
        "--company",
        "Globex Corporation",
        "--term",
        "Monthly",
    ]))
    .unwrap();
    let sub = &subs["items"][0];
    let id = sub["id"].as_str().unwrap();
    let update = run(&["subscriptions", "update", id, "--quantity", "7"]);
    assert_eq!(update.0, 2);
    assert!(update.1.contains("Monthly revenue change"));
    assert!(ok(&["subscriptions", "update", id, "--quantity", "7", "--yes"]).contains("Quantity is now 7"));
    let cancel = run(&["subscriptions", "cancel", id]);
    assert_eq!(cancel.0, 2);
    assert!(cancel.1.contains("Monthly revenue lost"));
    assert!(ok(&["subscriptions", "cancel", id, "--yes"]).contains("Cancelled"));
}

#[test]
fn bad_input_is_refused_clearly_before_any_write() {
    // Filter values outside the document's: an error listing the allowed ones, never an empty list.
    fails(&["subscriptions", "list", "--status", "Bogus"], 2, "status `Bogus` is not one of: Active, Cancelled");
    fails(
        &["subscriptions", "list", "--term", "annually"],
        2,
        "billing term `annually` is not one of: Monthly, Annual",
    );
    fails(&["companies", "list", "--status", "Gone"], 2, "status `Gone` is not one of: Active, Inactive, Deleted");
    fails(&["invoices", "list", "--status", "Overdue"], 2, "status `Overdue` is not one of: Unpaid, Paid");
    fails(&["companies", "show", "Nonexistent Ltd"], 2, "no company matches `Nonexistent Ltd`");
    fails(&["companies", "show", "Umbrella"], 2, "matches 2 companies");
    fails(
        &["subscriptions", "update", "5f7c1e0e-0000-4000-8000-000000000001", "--quantity", "0", "--yes"],
        2,
        "quantity must be at least 1",
    );
    fails(
        &["orders", "create", "--company", "Globex Corporation", "--product", "Keeper", "--quantity", "0", "--yes"],
        2,
        "`0` is not a whole number from 1 to 1,000,000",
    );
    fails(
        &["orders", "create", "--company", "Globex", "--product", "Keeper", "--quantity", "99999999999", "--yes"],
        2,
        "`99999999999` is not a whole number from 1 to 1,000,000",
    );
    fails(
        &["subscriptions", "cancel", "5f7c1e0e-0000-4000-8000-000000000001", "--date", "2026-02-30", "--yes"],
        2,
        "is not a date",
    );
    fails(&["subscriptions", "show", "not-an-id"], 2, "is not a UUID");
    fails(&["products", "list", "--search", "x"], 2, "2 to 256 characters");
    fails(&["renewals", "--within", "soon"], 2, "is not a duration");
    fails(&["subscriptions", "show", "00000000-0000-4000-8000-000000000000"], 4, "not found");
}

#[test]
fn without_credentials_the_error_says_what_to_do() {
    let config = tempfile::tempdir().unwrap();
    let out = pax8(&config).args(["companies", "list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pax8 auth login"));
    let usage = pax8(&config).args(["companies", "frobnicate"]).output().unwrap();
    assert_eq!(usage.status.code(), Some(2), "clap usage errors exit 2");
}

#[tokio::test(flavor = "multi_thread")]
async fn login_status_logout_against_a_simulator() {
    let sandbox = pax8_sandbox::Sandbox::start(pax8_sandbox::SandboxConfig::default()).await.unwrap();
    let config = tempfile::tempdir().unwrap();
    let url = sandbox.base_url().to_string();
    let id = sandbox.client_id().to_string();
    let secret = sandbox.client_secret().to_string();
    let cfg = config.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let config = tempfile::TempDir::new_in(&cfg).unwrap();
        // A wrong secret is refused and nothing is stored.
        let bad = pax8(&config)
            .args(["auth", "login", "--client-id", &id, "--client-secret-stdin", "--base-url", &url])
            .write_stdin("wrong\n")
            .output()
            .unwrap();
        assert_eq!(bad.status.code(), Some(3), "{}", String::from_utf8_lossy(&bad.stderr));
        assert!(!config.path().join("credentials.json").exists());
        let good = pax8(&config)
            .args(["auth", "login", "--client-id", &id, "--client-secret-stdin", "--base-url", &url])
            .write_stdin(format!("{secret}\n"))
            .output()
            .unwrap();
        assert!(good.status.success(), "{}", String::from_utf8_lossy(&good.stderr));
        assert!(String::from_utf8_lossy(&good.stdout).contains("owner-only; no OS keyring answered"));
        let file = config.path().join("credentials.json");
        let stored = std::fs::read_to_string(&file).unwrap();
        assert!(stored.contains("\"secret_in\": \"file\""), "{stored}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let status = pax8(&config).args(["auth", "status"]).output().unwrap();
        let stdout = String::from_utf8_lossy(&status.stdout);
        assert!(stdout.contains("Connected to Pax8 — 25 companies visible"), "{stdout}");
        assert!(stdout.contains("Credentials") && stdout.contains("credentials.json (owner-only)"), "{stdout}");
        assert!(!stdout.contains(&secret));
        let logout = pax8(&config).args(["auth", "logout"]).output().unwrap();
        assert!(logout.status.success());
        assert!(!file.exists());
    })
    .await
    .unwrap();
}

#[test]
fn mcp_over_stdio_lists_tools_and_audits_calls() {
    use std::io::{BufRead, BufReader, Write};
    let config = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("pax8"))
        .args(["--sandbox", "mcp"])
        .env("PAX8_CONFIG_DIR", config.path())
        .env("PAX8_TODAY", "2026-11-23")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut send = |v: serde_json::Value| writeln!(stdin, "{v}").unwrap();
    let mut recv = || {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        serde_json::from_str::<serde_json::Value>(&line).unwrap()
    };
    send(serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "cli-test", "version": "1"}}}));
    assert!(recv()["result"]["capabilities"]["tools"].is_object());
    send(serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    send(serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}));
    let tools = recv();
    let names: Vec<&str> =
        tools["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"companies_list") && !names.contains(&"order_execute"), "{names:?}");
    send(
        serde_json::json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "company_resolve", "arguments": {"name": "Globex"}}}),
    );
    let call = recv();
    assert_eq!(call["result"]["structuredContent"]["unique"], true, "{call}");
    drop(stdin);
    let _ = child.wait();
    let audit = std::fs::read_to_string(config.path().join("mcp-audit.jsonl")).unwrap();
    assert!(audit.contains("\"tool\":\"company_resolve\""), "{audit}");
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_commands_in_a_row_make_one_token_request() {
    let sandbox = pax8_sandbox::Sandbox::start(pax8_sandbox::SandboxConfig::default()).await.unwrap();
    let config = tempfile::tempdir().unwrap();
    let (url, id, secret) =
        (sandbox.base_url().to_string(), sandbox.client_id().to_string(), sandbox.client_secret().to_string());
    let dir = config.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let config = tempfile::TempDir::new_in(&dir).unwrap();
        for args in [
            ["companies", "list"],
            ["products", "list"],
            ["subscriptions", "list"],
            ["invoices", "list"],
            ["orders", "list"],
        ]
        .iter()
        .cycle()
        .take(10)
        {
            let out = pax8(&config)
                .env("PAX8_CLIENT_ID", &id)
                .env("PAX8_CLIENT_SECRET", &secret)
                .env("PAX8_BASE_URL", &url)
                .args(args)
                .output()
                .unwrap();
            assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        let tokens = config.path().join("tokens.json");
        let text = std::fs::read_to_string(&tokens).unwrap();
        assert!(!text.contains(&secret), "the client secret is not in the token file");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&tokens).unwrap().permissions().mode() & 0o777, 0o600);
        }
    })
    .await
    .unwrap();
    assert_eq!(sandbox.counters().tokens_issued, 1, "ten commands, one token");
}

#[test]
fn sync_drift_and_webhooks() {
    let config = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", config.path().join("mirror.db").display());
    let run = |args: &[&str]| {
        let out = pax8(&config)
            .env("PAX8_WEBHOOK_TOKEN", "0123456789abcdef-token")
            .arg("--sandbox")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let first: serde_json::Value = serde_json::from_str(&run(&["--json", "sync", "--db", &db])).unwrap();
    assert!(first["inserted"].as_u64().unwrap() > 300 && first["updated"] == 0, "{first}");
    assert_eq!(first["mode"], "full", "a tenant's first sync is full: {first}");
    assert!(first["rows_per_second"].as_u64().unwrap() > 0 && first["seconds"].as_f64().is_some(), "{first}");
    let second: serde_json::Value = serde_json::from_str(&run(&["--json", "sync", "--db", &db])).unwrap();
    assert_eq!((second["inserted"].as_u64(), second["updated"].as_u64()), (Some(0), Some(0)), "{second}");
    assert_eq!(second["mode"], "incremental");
    let requests = |v: &serde_json::Value| v["requests"].as_u64().unwrap();
    assert!(second["skipped"].as_u64().unwrap() > 0 && requests(&second) * 2 < requests(&first), "{second}");
    let third: serde_json::Value = serde_json::from_str(&run(&["--json", "sync", "--full", "--db", &db])).unwrap();
    assert_eq!((third["mode"].as_str(), third["skipped"].as_u64()), (Some("full"), Some(0)), "{third}");
    assert_eq!(requests(&third), requests(&first), "--full reads what the first sync read");
    let zero = pax8(&config).args(["--sandbox", "sync", "--concurrency", "0", "--db", &db]).output().unwrap();
    assert_eq!(zero.status.code(), Some(2), "a concurrency of 0 is a usage error");
    // Drift reads only the mirror: no credentials, no simulator.
    let drift = pax8(&config).args(["drift", "--since", "7d", "--db", &db]).output().unwrap();
    assert!(drift.status.success(), "{}", String::from_utf8_lossy(&drift.stderr));
    assert!(String::from_utf8_lossy(&drift.stdout).contains("0 subscriptions changed"));
    let registered = run(&[
        "webhooks",
        "register",
        "--url",
        "https://psa.example/hooks",
        "--topics",
        "SUBSCRIPTION_UPDATED,COMPANY_CREATED",
    ]);
    assert!(registered.contains("registered for SUBSCRIPTION_UPDATED, COMPANY_CREATED"), "{registered}");
    assert!(!registered.contains("0123456789abcdef-token"));
    let missing = pax8(&config)
        .args(["--sandbox", "webhooks", "register", "--url", "https://x.example", "--topics", "A"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2), "no token, no webhook");

    // The receiver, as a process, without credentials.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut serve = std::process::Command::new(assert_cmd::cargo::cargo_bin("pax8"))
        .args(["webhooks", "serve", "--listen", &format!("127.0.0.1:{port}"), "--db", &db, "--admin-listen", "off"])
        .env("PAX8_WEBHOOK_TOKEN", "0123456789abcdef-token")
        .env("PAX8_CONFIG_DIR", config.path())
        // The receiver needs no Pax8 credentials.
        .env_remove("PAX8_CLIENT_ID")
        .env_remove("PAX8_CLIENT_SECRET")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/webhooks/pax8");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let statuses = rt.block_on(async {
        let http = reqwest::Client::new();
        let event = serde_json::json!({"id": "e1", "webhookTopic": {"topic": "COMPANY_UPDATED"},
            "payloadData": {"companyId": "11111111-2222-4333-8444-555555555555", "name": "Newco"}});
        let mut out = Vec::new();
        for _ in 0..100 {
            if http.get(&url).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        for token in ["wrong", "0123456789abcdef-token"] {
            let r =
                http.post(&url).header("authorization", format!("Bearer {token}")).json(&event).send().await.unwrap();
            out.push(r.status().as_u16());
        }
        out
    });
    let _ = serve.kill();
    let _ = serve.wait();
    assert_eq!(statuses, [401, 200], "wrong token refused, the event applied");
}

#[test]
fn a_closed_stdout_never_panics_and_a_placed_order_is_still_reported() {
    let config = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("pax8"))
        .env("PAX8_TODAY", "2026-11-23")
        .env("PAX8_CONFIG_DIR", config.path())
        .env("NO_COLOR", "1")
        .args(["--sandbox", "orders", "create", "--company", "Globex Corporation", "--product", "Keeper"])
        .args(["--quantity", "2", "--yes"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away, as with `| head -0`
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(101), "panicked: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("placed"), "the result of the write reaches stderr: {stderr}");
}

#[test]
fn version_names_the_crate_version_and_the_commit() {
    let stdout = ok(&["--version"]);
    let commit = std::process::Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).output().unwrap();
    let commit = String::from_utf8(commit.stdout).unwrap();
    // Built from a git checkout (as here and in CI): the commit is the checkout's HEAD.
    let expected = format!("pax8 {} (commit {})", env!("CARGO_PKG_VERSION"), commit.trim());
    assert_eq!(stdout.trim(), expected);
}

#[test]
fn verbose_prints_one_line_per_request_on_stderr_and_never_a_secret() {
    let (code, stdout, quiet_stderr) = run(&["companies", "list", "--size", "2"]);
    assert_eq!(code, 0);
    assert!(!quiet_stderr.contains("pax8.request"), "silent by default: {quiet_stderr}");
    let (code, verbose_stdout, stderr) = run(&["-vvv", "companies", "list", "--size", "2"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, verbose_stdout, "diagnostics never reach stdout");
    assert!(stderr.contains("pax8.request") && stderr.contains("findCompanies"), "{stderr}");
    assert!(stderr.contains("new access token"), "token refreshes at -vv and up: {stderr}");
    for secret in ["Bearer ", "access_token", "client_secret", "sandbox-secret"] {
        assert!(!stderr.contains(secret), "`{secret}` in: {stderr}");
    }
    // RUST_LOG replaces the level chosen by -v.
    let config = tempfile::tempdir().unwrap();
    let out = pax8(&config)
        .env("RUST_LOG", "pax8_ext=debug")
        .args(["--sandbox", "companies", "list", "--size", "2"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("new access token"));
}

#[test]
fn completions_generate_for_each_shell() {
    for (shell, marker) in [("bash", "complete -F"), ("zsh", "#compdef pax8"), ("fish", "complete -c pax8")] {
        let config = tempfile::tempdir().unwrap();
        let out = pax8(&config).args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}: {}", String::from_utf8_lossy(&out.stderr));
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains(marker) && script.contains("subscriptions") && script.contains("renewals"), "{shell}");
    }
    let config = tempfile::tempdir().unwrap();
    assert_eq!(pax8(&config).args(["completions", "tcsh"]).output().unwrap().status.code(), Some(2));
}

#[test]
fn windows_are_calendar_durations() {
    assert!(ok(&["renewals", "--within", "3mo"]).contains("renew"));
    fails(&["renewals", "--within", "3m"], 2, "is not a duration like 30d, 8w, 3mo or 1y");
}

#[test]
fn json_order_create_prints_the_placed_order_or_says_nothing_was_placed() {
    let order = [
        "--json",
        "orders",
        "create",
        "--company",
        "Globex Corporation",
        "--product",
        "Datto SaaS Protection",
        "--quantity",
        "2",
    ];
    let (code, stdout, _) = run(&order);
    assert_eq!(code, 2);
    let refused: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(refused["done"], false);
    assert_eq!(refused["preview"]["quantity"], 2);
    let mut yes = order.to_vec();
    yes.push("--yes");
    let placed: serde_json::Value = serde_json::from_str(&ok(&yes)).unwrap();
    assert_eq!(placed["done"], true);
    assert_eq!(placed["answer"], "received");
    assert!(placed["order"]["id"].is_string(), "{placed}");
    assert_eq!(placed["order"]["line_items"][0]["quantity"], 2.0);
    assert!(placed["order"]["line_items"][0]["subscription_id"].is_string());
    // A term no commitment term matches: the choices, nothing placed.
    fails(
        &[
            "orders",
            "create",
            "--company",
            "Globex Corporation",
            "--product",
            "Microsoft 365 Business Premium",
            "--quantity",
            "1",
            "--term",
            "3-Year",
            "--yes",
        ],
        2,
        "needs a commitment term and none matches `3-Year`: use --term with one of: Monthly, Annual",
    );
}

#[test]
fn list_json_uses_the_shared_summaries() {
    for (args, field) in [
        (&["--json", "invoices", "list"][..], "invoice_date"),
        (&["--json", "orders", "list"][..], "created_date"),
        (&["--json", "companies", "list"][..], "external_id"),
        (&["--json", "subscriptions", "list"][..], "billing_term"),
        (&["--json", "products", "list"][..], "requires_commitment"),
    ] {
        let list: serde_json::Value = serde_json::from_str(&ok(args)).unwrap();
        let first = &list["items"].as_array().unwrap()[0];
        assert!(first.get(field).is_some(), "{args:?}: {first}");
        assert_eq!(list["paging"]["number"], 0, "{args:?}");
    }
}

#[test]
fn list_json_without_all_says_where_the_page_sits() {
    let first: serde_json::Value =
        serde_json::from_str(&ok(&["--json", "subscriptions", "list", "--size", "100"])).unwrap();
    let paging = &first["paging"];
    assert_eq!(paging["number"], 0);
    assert_eq!(paging["size"], 100);
    assert_eq!(paging["next"], 1);
    let total = paging["total_elements"].as_u64().unwrap();
    let pages = paging["total_pages"].as_u64().unwrap();
    assert_eq!(pages, total.div_ceil(100));
    let last = (pages - 1).to_string();
    let end: serde_json::Value =
        serde_json::from_str(&ok(&["--json", "subscriptions", "list", "--size", "100", "--page", &last])).unwrap();
    assert_eq!(end["paging"]["next"], serde_json::Value::Null);
    assert_eq!(end["items"].as_array().unwrap().len() as u64, total - 100 * (pages - 1));
    assert_ne!(first["items"][0]["id"], end["items"][0]["id"]);
    let table = ok(&["subscriptions", "list", "--size", "100", "--page", "1"]);
    assert!(
        table.contains(&format!("100 subscriptions of {total} (page 2 of {pages}; --page 2 for the next")),
        "{table}"
    );
    fails(&["subscriptions", "list", "--page", "1", "--all"], 2, "cannot be used with");
}

/// `--all` in `--json`, `--csv` or `--ids-only` is written page by page as pages arrive: the
/// same document, byte for byte, as one printed at the end (pretty JSON array, one CSV header
/// with the company names beside their ids, one id a line), and the same items as the pages.
#[test]
fn list_all_streams_the_same_document_a_page_at_a_time() {
    let streamed = ok(&["--json", "subscriptions", "list", "--all", "--size", "40"]);
    let items: Vec<serde_json::Value> = serde_json::from_str(&streamed).unwrap();
    assert!(items.len() > 200, "several pages: {}", items.len());
    assert_eq!(streamed, format!("{}\n", serde_json::to_string_pretty(&items).unwrap()), "serde_json's pretty array");
    let mut paged = Vec::new();
    for page in 0.. {
        let page = page.to_string();
        let doc: serde_json::Value =
            serde_json::from_str(&ok(&["--json", "subscriptions", "list", "--size", "40", "--page", &page])).unwrap();
        paged.extend(doc["items"].as_array().unwrap().iter().cloned());
        if doc["paging"]["next"].is_null() {
            break;
        }
    }
    assert_eq!(items, paged, "the items of every page, in order");

    let csv = ok(&["--csv", "subscriptions", "list", "--all", "--size", "40"]);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(header.iter().filter(|h| *h == "id").count(), 1, "one header: {header:?}");
    let at = header.iter().position(|h| h == "company_name").expect("names beside the ids");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), items.len());
    assert!(rows.iter().all(|r| !r[at].is_empty() && uuid::Uuid::parse_str(&r[at]).is_err()), "names, not ids");

    let ids = ok(&["--ids-only", "subscriptions", "list", "--all", "--size", "40"]);
    let expected: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids.lines().collect::<Vec<_>>(), expected);
    // An empty listing is still one document.
    assert_eq!(ok(&["--json", "subscriptions", "list", "--all", "--status", "Trial", "--term", "3-Year"]), "[]\n");
}

#[test]
fn an_invoice_s_items_export_as_json_lines_or_csv() {
    let invoices: serde_json::Value = serde_json::from_str(&ok(&["--json", "invoices", "list"])).unwrap();
    let id = invoices["items"][0]["id"].as_str().unwrap();
    let lines = ok(&["invoices", "export", id]);
    let items: Vec<serde_json::Value> = lines.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let listed: Vec<serde_json::Value> =
        serde_json::from_str(&ok(&["--json", "invoices", "items", id, "--all"])).unwrap();
    assert_eq!(items.len(), listed.len());
    assert!(items.iter().all(|i| i["subscription_id"].is_string() && i["unit_cost"].is_number()), "{}", items[0]);
    let csv = ok(&["invoices", "export", id, "--format", "csv"]);
    assert_eq!(csv.lines().count(), items.len() + 1);
    assert!(csv.starts_with("id,company_id,company_name,product_name,subscription_id,quantity,unit_cost"), "{csv}");
    fails(&["invoices", "export", "not-an-id"], 2, "invoice");
}

/// A billing-term change is previewed with the monthly cost on the new term and applied; while a
/// commitment runs it is refused before anything is sent, with the plan that makes it at the end.
#[test]
fn a_billing_term_change_is_previewed_and_refused_mid_commitment() {
    let subs: Vec<serde_json::Value> =
        serde_json::from_str(&ok(&["--json", "subscriptions", "list", "--all"])).unwrap();
    let active = |term: &str| {
        subs.iter()
            .filter(|s| s["status"] == "Active" && s["billing_term"] == term)
            .map(|s| (s["id"].as_str().unwrap().to_string(), s["commitment_end"].clone()))
            .collect::<Vec<_>>()
    };
    let (monthly, _) = active("Monthly").into_iter().find(|(_, end)| end.is_null()).expect("a monthly subscription");
    let (code, preview, stderr) = run(&["subscriptions", "update", &monthly, "--term", "Annual"]);
    assert_eq!(code, 2, "unconfirmed: {stderr}");
    assert!(preview.contains("Billing term now") && preview.contains("Monthly cost then"), "{preview}");
    let done: serde_json::Value =
        serde_json::from_str(&ok(&["--json", "subscriptions", "update", &monthly, "--term", "Annual", "--yes"]))
            .unwrap();
    assert_eq!(done["done"], true);
    assert_eq!(done["preview"]["term_now"], "Monthly");
    assert_eq!(done["subscription"]["billing_term"], "Annual", "{done}");

    let (committed, _) = active("Annual")
        .into_iter()
        .find(|(_, end)| end.as_str().is_some_and(|e| e > "2027-02-01"))
        .expect("committed");
    let (code, _, stderr) = run(&["subscriptions", "update", &committed, "--term", "Monthly", "--yes"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("commitment ends on"), "{stderr}");
    assert!(stderr.contains(&format!("pax8 renewals plan {committed} --term Monthly")), "{stderr}");
    fails(&["subscriptions", "update", &monthly, "--term", "Fortnightly", "--yes"], 2, "is not a billing term");
    fails(&["subscriptions", "update", &monthly], 2, "required");
}

#[test]
fn ids_only_prints_one_id_a_line() {
    let out = ok(&["--ids-only", "companies", "list", "--size", "5"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert!(lines.iter().all(|l| uuid::Uuid::parse_str(l).is_ok()), "{out}");
    fails(&["--ids-only", "--json", "companies", "list"], 2, "cannot be used with");
}
