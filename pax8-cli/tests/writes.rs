//! The writes the official CLI has (companies, contacts, quotes), each previewed and confirmed,
//! run in demo mode so one command's write is the next one's read.

use assert_cmd::Command;
use serde_json::Value;

struct Demo(tempfile::TempDir);

impl Demo {
    fn new() -> Demo {
        let demo = Demo(tempfile::tempdir().unwrap());
        demo.ok(&["demo", "on", "--companies", "5"]);
        demo
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::cargo_bin("pax8")
            .unwrap()
            .env("PAX8_TODAY", "2026-11-23")
            .env("PAX8_CONFIG_DIR", self.0.path())
            .env("NO_COLOR", "1")
            .env_remove("PAX8_CLIENT_ID")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }

    fn ok(&self, args: &[&str]) -> String {
        let (code, stdout, stderr) = self.run(args);
        assert_eq!(code, 0, "{args:?}: {stdout}{stderr}");
        stdout
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.ok(&all)).unwrap()
    }

    fn fails(&self, args: &[&str], code: i32, message: &str) -> String {
        let (got, stdout, stderr) = self.run(args);
        assert_eq!(got, code, "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains(message), "{args:?}: expected `{message}` in {stderr}");
        stdout
    }
}

#[test]
fn companies_are_created_and_updated_after_a_preview() {
    let demo = Demo::new();
    let create = ["companies", "create", "--name", "Initech", "--city", "Austin", "--country", "US"];
    // Without --yes (no terminal): the preview, nothing created; --json says so.
    let refused = demo.fails(&[&["--json"][..], &create].concat(), 2, "not confirmed: nothing was changed");
    let refused: Value = serde_json::from_str(&refused).unwrap();
    assert_eq!(refused["done"], false);
    assert_eq!(refused["preview"]["city"], "Austin");
    demo.fails(&["companies", "show", "Initech"], 2, "no company matches `Initech`");

    let created = demo.json(&[&create[..], &["--yes"]].concat());
    assert_eq!(created["done"], true);
    assert_eq!(created["company"]["name"], "Initech");
    assert_eq!(created["company"]["city"], "Austin");
    let id = created["company"]["id"].as_str().unwrap().to_string();
    demo.fails(&[&create[..], &["--yes"]].concat(), 2, "a company named `Initech` exists");

    let preview = demo.fails(&["companies", "update", "Initech", "--phone", "555-0199", "--city", "Dallas"], 2, "");
    assert!(preview.contains("Austin → Dallas"), "{preview}");
    let updated = demo.json(&["companies", "update", &id, "--phone", "555-0199", "--city", "Dallas", "--yes"]);
    assert_eq!(updated["company"]["city"], "Dallas");
    let shown = demo.json(&["companies", "show", &id]);
    assert_eq!(
        (shown["phone"].as_str(), shown["city"].as_str(), shown["country"].as_str()),
        (Some("555-0199"), Some("Dallas"), Some("US"))
    );
    demo.fails(&["companies", "update", &id, "--city", "Dallas", "--yes"], 2, "nothing to change for Initech");
    demo.fails(&["companies", "create", "--name", "  ", "--yes"], 2, "the company name is empty");
}

#[test]
fn contacts_are_added_changed_and_deleted_after_a_preview() {
    let demo = Demo::new();
    let company = demo.json(&["companies", "list"])["items"][0]["name"].as_str().unwrap().to_string();
    let before = demo.json(&["contacts", "list", &company]).as_array().unwrap().len();
    let add = [
        "contacts",
        "create",
        &company,
        "--first-name",
        "Peter",
        "--last-name",
        "Gibbons",
        "--email",
        "peter@initech.example",
        "--primary-for",
        "admin,Billing",
    ];
    demo.fails(&add, 2, "not confirmed");
    let added = demo.json(&[&add[..], &["--yes"]].concat());
    assert_eq!(added["contact"]["primary_for"], serde_json::json!(["Admin", "Billing"]));
    let id = added["contact"]["id"].as_str().unwrap().to_string();
    assert_eq!(demo.json(&["contacts", "list", &company]).as_array().unwrap().len(), before + 1);

    let changed = demo.json(&["contacts", "update", &company, &id, "--email", "pgibbons@initech.example", "--yes"]);
    assert_eq!(changed["preview"]["email"], "peter@initech.example → pgibbons@initech.example");
    assert_eq!(changed["contact"]["email"], "pgibbons@initech.example");
    assert_eq!(changed["contact"]["first_name"], "Peter", "the rest unchanged");

    demo.fails(
        &["contacts", "update", &company, &id, "--email", "pgibbons@initech.example", "--yes"],
        2,
        "nothing to change",
    );
    demo.fails(&["contacts", "delete", &company, &id], 2, "not confirmed");
    let deleted = demo.json(&["contacts", "delete", &company, &id, "--yes"]);
    assert_eq!(deleted["contact"]["id"], id.as_str());
    assert_eq!(demo.json(&["contacts", "list", &company]).as_array().unwrap().len(), before);

    // Bad values are refused before anything is sent.
    let mut bad = add.to_vec();
    bad[8] = "not-an-email";
    demo.fails(&[&bad[..], &["--yes"]].concat(), 2, "`not-an-email` is not an email address");
    let mut bad = add.to_vec();
    bad[10] = "owner";
    demo.fails(&[&bad[..], &["--yes"]].concat(), 2, "`owner` is not a contact role; use Admin, Billing or Technical");
}

#[test]
fn quotes_are_started_filled_and_trimmed_after_a_preview() {
    let demo = Demo::new();
    let company = demo.json(&["companies", "list"])["items"][0]["name"].as_str().unwrap().to_string();
    demo.fails(&["quotes", "create", "--company", &company], 2, "not confirmed");
    let quote = demo.json(&["quotes", "create", "--company", &company, "--yes"]);
    let id = quote["quote"]["id"].as_str().unwrap().to_string();
    assert_eq!(quote["quote"]["client"], company.as_str());
    assert!(demo.ok(&["quotes", "show", &id]).contains("No line items yet."));

    let line = ["quotes", "add-line", &id, "--product", "Datto SaaS Protection", "--quantity", "2", "--price", "12.50"];
    let preview = demo.fails(&line, 2, "not confirmed");
    assert!(preview.contains("Total per term") && preview.contains("25.00"), "{preview}");
    let added = demo.json(&[&line[..], &["--yes"]].concat());
    assert_eq!(added["line_items"][0]["price"], 12.5);
    assert_eq!(added["line_items"][0]["quantity"], 2);
    // Priced from the catalogue when --price is not given.
    let priced = demo.json(&[
        "quotes",
        "add-line",
        &id,
        "--product",
        "Microsoft 365 Business Premium",
        "--quantity",
        "5",
        "--term",
        "Annual",
        "--yes",
    ]);
    assert!(priced["line_items"][0]["price"].as_f64().unwrap() > 0.0, "{priced}");

    let shown = demo.json(&["quotes", "show", &id]);
    assert_eq!(shown["line_items"].as_array().unwrap().len(), 2);
    let table = demo.ok(&["quotes", "show", &id]);
    assert!(table.contains("Datto SaaS Protection") && table.contains("12.50 USD"), "{table}");

    let line_id = added["line_items"][0]["id"].as_str().unwrap().to_string();
    demo.json(&["quotes", "remove-line", &id, &line_id, "--yes"]);
    let shown = demo.json(&["quotes", "show", &id]);
    assert_eq!(shown["line_items"].as_array().unwrap().len(), 1);
    demo.fails(&["quotes", "remove-line", &id, &line_id, "--yes"], 2, "has no line item");

    demo.fails(&[&line[..], &["--price", "-1"]].concat(), 2, "");
    demo.fails(
        &[
            "quotes",
            "add-line",
            &id,
            "--product",
            "Datto SaaS Protection",
            "--quantity",
            "1",
            "--price",
            "1.234",
            "--yes",
        ],
        2,
        "at most 2 decimals",
    );
    demo.fails(
        &[
            "quotes",
            "add-line",
            &id,
            "--product",
            "Datto SaaS Protection",
            "--quantity",
            "1",
            "--term",
            "Fortnightly",
            "--yes",
        ],
        2,
        "`Fortnightly` is not a billing term; use one of: Monthly, Annual",
    );
    demo.fails(
        &["quotes", "add-line", &id, "--product", "Datto SaaS Protection", "--quantity", "0", "--yes"],
        2,
        "`0` is not a whole number from 1 to 1,000,000",
    );
}
