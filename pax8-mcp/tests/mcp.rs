//! A real MCP client (rmcp's client side) drives the server against the simulator.

use pax8_ext::Pax8Client;
use pax8_mcp::{Options, Pax8Tools};
use pax8_sandbox::{Sandbox, SandboxConfig};
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RoleClient, RunningService};
use serde_json::{Value, json};

struct Harness {
    sandbox: Sandbox,
    client: RunningService<RoleClient, ()>,
    audit: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

async fn start(allow_writes: bool) -> Harness {
    start_with(Options { allow_writes, ..Options::default() }).await
}

async fn start_with(options: Options) -> Harness {
    let sandbox = Sandbox::start(SandboxConfig {
        today: Some(chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()),
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let api = Pax8Client::builder()
        .client_id(sandbox.client_id())
        .client_secret(sandbox.client_secret())
        .base_url(sandbox.base_url())
        .no_rate_limit()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let tools = Pax8Tools::new(api, Options { audit_log: Some(audit.clone()), ..options }).unwrap();
    let (server_io, client_io) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        let server = tools.serve(server_io).await.unwrap();
        let _ = server.waiting().await;
    });
    let client = ().serve(client_io).await.unwrap();
    Harness { sandbox, client, audit, _dir: dir }
}

impl Harness {
    async fn call(&self, tool: &str, args: Value) -> CallToolResult {
        let params = CallToolRequestParams::new(tool.to_string()).with_arguments(args.as_object().cloned().unwrap());
        self.client.call_tool(params).await.unwrap()
    }

    /// Calls a tool that must succeed; returns its structured result.
    async fn ok(&self, tool: &str, args: Value) -> Value {
        let r = self.call(tool, args.clone()).await;
        assert_ne!(r.is_error, Some(true), "{tool} {args}: {r:?}");
        r.structured_content.expect("structured result")
    }

    /// Calls a tool that must fail with a tool error; returns its message.
    async fn err(&self, tool: &str, args: Value) -> String {
        let r = self.call(tool, args.clone()).await;
        assert_eq!(r.is_error, Some(true), "{tool} {args} should fail");
        serde_json::to_value(&r.content).unwrap().to_string()
    }

    /// Calls a tool whose arguments the server refuses before running it; returns the message.
    async fn refused(&self, tool: &str, args: Value) -> String {
        let params = CallToolRequestParams::new(tool.to_string()).with_arguments(args.as_object().cloned().unwrap());
        match self.client.call_tool(params).await {
            Err(e) => e.to_string(),
            Ok(r) => panic!("{tool} {args} accepted: {r:?}"),
        }
    }

    fn audit_lines(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.audit).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tools_are_listed_with_schemas_and_writes_only_when_enabled() {
    let read_only = start(false).await;
    let tools = read_only.client.list_all_tools().await.unwrap();
    let names: Vec<String> = tools.iter().map(|t| t.name.to_string()).collect();
    for expected in [
        "companies_list",
        "company_resolve",
        "subscriptions_list",
        "azure_usage_lines",
        "invoices_list",
        "draft_invoice_items",
        "products_search",
        "product_pricing",
        "orders_list",
        "quotes_list",
        "quote_get",
    ] {
        assert!(names.contains(&expected.to_string()), "{expected} missing from {names:?}");
    }
    for w in Pax8Tools::write_tools() {
        assert!(!names.contains(&w.to_string()), "{w} offered without --allow-writes");
    }
    let list = tools.iter().find(|t| t.name == "subscriptions_list").unwrap();
    let schema = serde_json::to_value(&list.input_schema).unwrap();
    assert!(schema["properties"]["company_id"].is_object() && schema["properties"]["size"].is_object(), "{schema}");
    // A write tool is refused (unknown) when writes are off.
    let refused = read_only
        .client
        .call_tool(CallToolRequestParams::new("order_execute").with_arguments(json!({}).as_object().cloned().unwrap()))
        .await;
    assert!(refused.is_err() || refused.unwrap().is_error == Some(true));

    let writable = start(true).await;
    let names: Vec<String> =
        writable.client.list_all_tools().await.unwrap().iter().map(|t| t.name.to_string()).collect();
    // The renewal plan tools come with a mirror database (their own test).
    for w in Pax8Tools::write_tools().into_iter().filter(|w| !w.starts_with("renewal")) {
        assert!(names.contains(&w.to_string()), "{w} missing with writes enabled");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn read_tools_answer_from_the_simulator() {
    let h = start(false).await;
    let companies = h.ok("companies_list", json!({"size": 10, "sort": "name"})).await;
    assert_eq!(companies["items"].as_array().unwrap().len(), 10);
    assert_eq!(companies["totalElements"], 25);
    assert_eq!(companies["totalPages"], 3);
    let resolved = h.ok("company_resolve", json!({"name": "globex"})).await;
    assert_eq!(resolved["unique"], true);
    let globex = resolved["matches"][0]["id"].as_str().unwrap().to_string();
    assert!(h.ok("company_get", json!({"company_id": globex})).await["name"].as_str().unwrap().starts_with("Globex"));
    assert!(!h.ok("company_contacts", json!({"company_id": globex})).await["items"].as_array().unwrap().is_empty());

    let subs = h.ok("subscriptions_list", json!({"company_id": globex, "size": 200})).await;
    let subs = subs["items"].as_array().unwrap();
    assert!(!subs.is_empty() && subs.iter().all(|s| s["company_id"] == globex));
    let annual = subs.iter().find(|s| s["billing_term"] == "Annual").unwrap();
    let one = h.ok("subscription_get", json!({"subscription_id": annual["id"]})).await;
    assert!(one["commitment_end"].is_string(), "{one}");
    assert!(h.ok("subscription_history", json!({"subscription_id": annual["id"]})).await["items"].is_array());

    let azure = h.ok("azure_subscriptions", json!({"company_id": globex})).await;
    let azure_id = azure["items"][0]["id"].as_str().unwrap().to_string();
    let summaries = h.ok("azure_usage_summaries", json!({"subscription_id": azure_id})).await;
    let summary = summaries["items"][0]["id"].as_str().unwrap().to_string();
    let lines = h.ok("azure_usage_lines", json!({"usage_summary_id": summary, "date": "2026-11-20"})).await;
    assert_eq!(lines["items"].as_array().unwrap().len(), 4);

    let unpaid = h.ok("invoices_list", json!({"status": "Unpaid"})).await;
    assert_eq!(unpaid["items"].as_array().unwrap().len(), 1);
    let ranged = h.ok("invoices_list", json!({"from": "2026-09-01", "to": "2026-10-31"})).await;
    assert_eq!(ranged["items"].as_array().unwrap().len(), 2, "{ranged}");
    let invoice = unpaid["items"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(h.ok("invoice_get", json!({"invoice_id": invoice})).await["status"], "Unpaid");
    let mine = h.ok("invoice_items", json!({"invoice_id": invoice, "company_id": globex})).await;
    assert!(mine["items"].as_array().unwrap().iter().all(|i| i["company_id"] == globex));
    assert!(
        h.ok("draft_invoice_items", json!({"month_offset": 1, "company_id": globex})).await["totalElements"]
            .as_u64()
            .unwrap()
            > 0
    );

    let found = h.ok("products_search", json!({"query": "Business Premium"})).await;
    let product = found["items"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(found["items"][0]["name"], "Microsoft 365 Business Premium");
    assert!(h.ok("product_get", json!({"product_id": product})).await["requires_commitment"].as_bool().unwrap());
    let pricing = h.ok("product_pricing", json!({"product_id": product, "company_id": globex})).await;
    assert_eq!(pricing["items"][0]["rates"][0]["partner_price"], 18.81);
    assert!(
        !h.ok("product_dependencies", json!({"product_id": product})).await["commitment_terms"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        !h.ok("product_provisioning_details", json!({"product_id": product})).await["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let orders = h.ok("orders_list", json!({"company_id": globex})).await;
    assert_eq!(h.ok("order_get", json!({"order_id": orders["items"][0]["id"]})).await["company_id"], globex);
    assert_eq!(h.ok("quotes_list", json!({})).await["items"].as_array().unwrap().len(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_arguments_and_api_errors_are_actionable_tool_errors() {
    let h = start(false).await;
    assert!(h.err("companies_list", json!({"size": 500})).await.contains("between 1 and 200"));
    // Each listing's own maximum, from its document (quotes take 100).
    assert!(h.err("quotes_list", json!({"size": 101})).await.contains("between 1 and 100"));
    assert!(h.err("companies_list", json!({"page": u32::MAX})).await.contains("page must be between 0 and"));
    assert!(h.err("quotes_list", json!({"page": u32::MAX})).await.contains("page must be between 0 and"));
    assert!(h.err("companies_list", json!({"sort": "revenue"})).await.contains("sort `revenue` is not one of"));
    assert!(h.err("subscriptions_list", json!({"sort": "revenue,desc"})).await.contains("is not one of"));
    let missing = h.err("subscription_get", json!({"subscription_id": "00000000-0000-4000-8000-000000000000"})).await;
    assert!(
        missing.contains("not found") && missing.contains("/v1/subscriptions/00000000-0000-4000-8000-000000000000"),
        "{missing}"
    );
    assert!(
        h.err(
            "azure_usage_lines",
            json!({"usage_summary_id": "00000000-0000-4000-8000-000000000000", "date": "23/11"})
        )
        .await
        .contains("is not a date")
    );
    assert!(h.err("products_search", json!({"query": "x"})).await.contains("2 to 256"));
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_are_previewed_then_executed_with_a_single_use_token() {
    let h = start(true).await;
    let globex = h.ok("company_resolve", json!({"name": "Globex Corporation"})).await["matches"][0]["id"].clone();
    let product = h.ok("products_search", json!({"query": "Business Premium"})).await["items"][0]["id"].clone();
    let deps = h.ok("product_dependencies", json!({"product_id": product})).await;
    let monthly =
        deps["commitment_terms"].as_array().unwrap().iter().find(|c| c["term"] == "Monthly").unwrap()["id"].clone();
    let order = json!({"company_id": globex, "product_id": product, "quantity": 5, "billing_term": "Monthly", "commitment_term_id": monthly});

    let preview = h.ok("order_preview", order.clone()).await;
    assert_eq!(preview["preview"]["validated_by_dry_run"], true);
    assert_eq!(preview["preview"]["unit_price"], 18.81);
    let token = preview["confirmation_token"].as_str().unwrap().to_string();
    let c = h.sandbox.counters();
    assert_eq!((c.orders_created, c.mock_orders), (0, 1), "nothing written on preview");

    // Wrong token, changed arguments: refused, nothing written.
    let mut wrong = order.clone();
    wrong["confirmation_token"] = json!("not-a-token");
    assert!(h.err("order_execute", wrong).await.contains("unknown or already used"));
    let mut changed = order.clone();
    changed["quantity"] = json!(50);
    changed["confirmation_token"] = json!(token);
    let mismatch = h.err("order_execute", changed).await;
    assert!(mismatch.contains("differ from the preview") && mismatch.contains("used up"), "{mismatch}");
    assert_eq!(h.sandbox.counters().orders_created, 0);
    // The refused attempt used the token up: preview again, then execute once.
    let token = h.ok("order_preview", order.clone()).await["confirmation_token"].as_str().unwrap().to_string();
    let mut exec = order.clone();
    exec["confirmation_token"] = json!(token);
    let placed = h.ok("order_execute", exec.clone()).await;
    assert_eq!(placed["done"], true);
    assert_eq!(h.sandbox.counters().orders_created, 1);
    assert!(h.err("order_execute", exec).await.contains("already used"), "replayed token refused");
    assert_eq!(h.sandbox.counters().orders_created, 1);

    // Quantity change and cancel: preview, execute.
    let sub = placed["order"]["line_items"][0]["subscription_id"].clone();
    let q = h.ok("subscription_quantity_preview", json!({"subscription_id": sub, "quantity": 8})).await;
    assert_eq!(q["preview"]["quantity_now"], 5, "a whole number");
    assert!((q["preview"]["monthly_revenue_change"].as_f64().unwrap() - 3.0 * 22.0).abs() < 1e-9);
    let t = q["confirmation_token"].clone();
    let updated = h
        .ok("subscription_quantity_execute", json!({"subscription_id": sub, "quantity": 8, "confirmation_token": t}))
        .await;
    assert_eq!(updated["subscription"]["quantity"], 8.0);
    assert!(
        h.err("subscription_quantity_preview", json!({"subscription_id": sub, "quantity": 0}))
            .await
            .contains("at least 1")
    );
    let c = h.ok("subscription_cancel_preview", json!({"subscription_id": sub})).await;
    let t = c["confirmation_token"].clone();
    h.ok("subscription_cancel_execute", json!({"subscription_id": sub, "confirmation_token": t})).await;
    assert_eq!(h.ok("subscription_get", json!({"subscription_id": sub})).await["status"], "Cancelled");

    // Every call is audited, the token never appears.
    let lines = h.audit_lines();
    assert!(lines.len() >= 12, "{}", lines.len());
    let text = std::fs::read_to_string(&h.audit).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&h.audit).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the audit log is readable by its owner only");
    }
    assert!(!text.contains(&token));
    let refused = lines.iter().find(|l| l["tool"] == "order_execute" && l["outcome"] == "error").unwrap();
    assert_eq!(refused["arguments"]["confirmation_token"], "[redacted]");
    assert!(lines.iter().all(|l| l["time"].is_string() && l["duration_ms"].is_u64()));
}

#[tokio::test(flavor = "multi_thread")]
async fn streamable_http_listens_on_loopback_only_and_needs_the_token_and_a_local_origin() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let api = Pax8Client::builder()
        .client_id(sandbox.client_id())
        .client_secret(sandbox.client_secret())
        .base_url(sandbox.base_url())
        .build()
        .unwrap();
    let tools = Pax8Tools::new(api, Options::default()).unwrap();
    let token = pax8_mcp::random_token();
    let err = pax8_mcp::serve_http(tools.clone(), "0.0.0.0:0".parse().unwrap(), token.clone()).await.unwrap_err();
    assert!(err.to_string().contains("not a loopback address"));
    let short = pax8_mcp::serve_http(tools.clone(), "127.0.0.1:0".parse().unwrap(), "short".into()).await;
    assert!(short.unwrap_err().to_string().contains("at least 16"));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    tokio::spawn(pax8_mcp::serve_http(tools, addr, token.clone()));
    let http = reqwest::Client::new();
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}});
    let post = |auth: Option<String>, origin: Option<&str>| {
        let mut r = http
            .post(format!("http://{addr}/mcp"))
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .json(&initialize);
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        if let Some(o) = origin {
            r = r.header("origin", o.to_string());
        }
        r.send()
    };
    let bearer = Some(format!("Bearer {}", token.expose()));
    let mut response = None;
    for _ in 0..50 {
        if let Ok(r) = post(bearer.clone(), None).await {
            response = Some(r);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let response = response.expect("the HTTP server answers");
    assert!(response.status().is_success(), "{}", response.status());
    let body = response.text().await.unwrap();
    assert!(body.contains(r#""serverInfo":{"name":"pax8""#) && body.contains(env!("CARGO_PKG_VERSION")), "{body}");

    assert_eq!(post(None, None).await.unwrap().status(), 401, "no token");
    assert_eq!(post(Some("Bearer wrong-token-0123456789".into()), None).await.unwrap().status(), 401, "wrong token");
    let lower = Some(format!("bearer {}", token.expose()));
    assert!(post(lower, None).await.unwrap().status().is_success(), "the scheme is case-insensitive");
    let foreign = post(bearer.clone(), Some("http://evil.example")).await.unwrap();
    assert_eq!(foreign.status(), 403, "a foreign Origin is refused even with the token");
    let local = post(bearer, Some(&format!("http://localhost:{port}"))).await.unwrap();
    assert!(local.status().is_success(), "{}", local.status());
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_argument_names_and_bad_values_are_refused_naming_the_field() {
    let h = start(true).await;
    let unknown = h.refused("subscriptions_list", json!({"company": "Globex"})).await;
    assert!(unknown.contains("unknown field `company`") && unknown.contains("company_id"), "{unknown}");
    let search = h.refused("products_search", json!({"search": "Premium"})).await;
    assert!(search.contains("`search`") && search.contains("query"), "{search}");
    let bad_uuid = h.refused("company_get", json!({"company_id": "globex"})).await;
    assert!(bad_uuid.contains("company_id"), "{bad_uuid}");
    let negative =
        h.refused("subscription_quantity_preview", json!({"subscription_id": uuid_nil(), "quantity": -5})).await;
    assert!(negative.contains("quantity"), "{negative}");
    assert!(
        h.err(
            "order_preview",
            json!({"company_id": uuid_nil(), "product_id": uuid_nil(), "quantity": 2_000_000,
        "billing_term": "Monthly"})
        )
        .await
        .contains("between 1 and 1000000")
    );
}

fn uuid_nil() -> String {
    "00000000-0000-0000-0000-000000000000".into()
}

#[tokio::test(flavor = "multi_thread")]
async fn tools_have_titles_annotations_and_their_policy_and_prompts_are_offered() {
    let h = start(true).await;
    let tools = h.client.list_all_tools().await.unwrap();
    for tool in &tools {
        let annotations = tool.annotations.as_ref().unwrap_or_else(|| panic!("{} has no annotations", tool.name));
        assert!(tool.title.is_some() || annotations.title.is_some(), "{} has no title", tool.name);
        let description = tool.description.as_deref().unwrap_or("");
        assert!(description.contains("Policy: "), "{}: {description}", tool.name);
        let read_only = annotations.read_only_hint == Some(true);
        assert_eq!(read_only, !tool.name.ends_with("_execute"), "{}", tool.name);
    }
    let cancel = tools.iter().find(|t| t.name == "subscription_cancel_execute").unwrap();
    assert_eq!(cancel.annotations.as_ref().unwrap().destructive_hint, Some(true));
    assert!(cancel.description.as_deref().unwrap().contains("Policy: approve"));
    let info = h.client.peer_info().unwrap();
    assert_eq!(info.server_info.as_ref().map(|i| i.name.as_str()), Some("pax8"));
    assert!(info.instructions.as_deref().unwrap().contains("company_resolve"));
    let prompts = h.client.list_all_prompts().await.unwrap();
    let names: Vec<&str> = prompts.iter().map(|p| p.name.as_str()).collect();
    for expected in [
        "renewal_planning",
        "azure_cost_review",
        "invoice_reconciliation",
        "license_status_check",
        "product_pricing_lookup",
    ] {
        assert!(names.contains(&expected), "{expected} missing from {names:?}");
    }
    let prompt = h
        .client
        .get_prompt(
            rmcp::model::GetPromptRequestParams::new("azure_cost_review")
                .with_arguments(json!({"company": "Globex"}).as_object().cloned().unwrap()),
        )
        .await
        .unwrap();
    let text = serde_json::to_string(&prompt.messages).unwrap();
    assert!(text.contains("Globex") && text.contains("azure_usage_summaries"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn order_preview_resolves_the_commitment_term_or_lists_the_choices() {
    let h = start(true).await;
    let globex = h.ok("company_resolve", json!({"name": "Globex Corporation"})).await["matches"][0]["id"].clone();
    let product = h.ok("products_search", json!({"query": "Business Premium"})).await["items"][0]["id"].clone();
    let order = json!({"company_id": globex, "product_id": product, "quantity": 2, "billing_term": "Annual"});
    let preview = h.ok("order_preview", order.clone()).await;
    assert_eq!(preview["preview"]["commitment_term"]["term"], "Annual", "{preview}");
    // A billing term no commitment term names: the choices, with their ids.
    let mut two_year = order.clone();
    two_year["billing_term"] = json!("2-Year");
    let choices = h.err("order_preview", two_year).await;
    assert!(
        choices.contains("commitment_term_id, one of") && choices.contains("(Monthly)") && choices.contains("(Annual)"),
        "{choices}"
    );
    // The execute resolves the same term: the order is placed with it.
    let mut exec = order.clone();
    exec["confirmation_token"] = preview["confirmation_token"].clone();
    assert_eq!(h.ok("order_execute", exec).await["done"], true);
    // A product without commitments refuses one.
    let datto = h.ok("products_search", json!({"query": "Datto"})).await["items"][0]["id"].clone();
    let refused = h
        .err(
            "order_preview",
            json!({"company_id": globex, "product_id": datto, "quantity": 1,
        "billing_term": "Monthly", "commitment_term_id": uuid_nil()}),
        )
        .await;
    assert!(refused.contains("takes no commitment term"), "{refused}");

    // A lost answer: settled when the order is found, a tool error that forbids a retry when not.
    let create = "POST /v1/orders?isMock=false".to_string();
    // (Different quantities: the second lookup must not find the first order.)
    for (quantity, faults, settled) in [
        (1, pax8_sandbox::Faults { lose_answer_to: Some(create.clone()), ..Default::default() }, true),
        (2, pax8_sandbox::Faults { drop_request_to: Some(create.clone()), ..Default::default() }, false),
    ] {
        let datto_order =
            json!({"company_id": globex, "product_id": datto, "quantity": quantity, "billing_term": "Monthly"});
        let mut exec = datto_order.clone();
        exec["confirmation_token"] = h.ok("order_preview", datto_order.clone()).await["confirmation_token"].clone();
        let before = h.sandbox.counters().orders_created;
        h.sandbox.set_faults(faults);
        if settled {
            let placed = h.ok("order_execute", exec).await;
            assert_eq!(
                (placed["done"].as_bool(), placed["answer"].as_str()),
                (Some(true), Some("settled")),
                "{placed}"
            );
            assert_eq!(h.sandbox.counters().orders_created, before + 1, "placed once");
        } else {
            let unsettled = h.err("order_execute", exec).await;
            assert!(unsettled.contains("could not tell whether the order was placed"), "{unsettled}");
            assert!(unsettled.contains("Do not retry"), "{unsettled}");
            assert_eq!(h.sandbox.counters().orders_created, before, "nothing placed");
        }
        h.sandbox.set_faults(pax8_sandbox::Faults::default());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_policy_file_sets_each_tool_and_the_audit_records_the_decision() {
    let policy = Pax8Tools::load_policy(
        "[tools]\norder_execute = \"auto\"\nsubscription_cancel_execute = \"deny\"\nsubscription_cancel_preview = \"deny\"\n",
    )
    .unwrap();
    assert!(Pax8Tools::load_policy("[tools]\nplace_order = \"auto\"\n").unwrap_err().contains("not a tool"));
    let h = start_with(Options { policy: Some(policy), ..Options::default() }).await;
    let names: Vec<String> = h.client.list_all_tools().await.unwrap().iter().map(|t| t.name.to_string()).collect();
    assert!(!names.contains(&"subscription_cancel_execute".to_string()), "denied tools are not offered");
    assert!(names.contains(&"subscription_quantity_execute".to_string()), "unnamed writes default to approve");
    // `auto`: the order is placed without a token.
    let globex = h.ok("company_resolve", json!({"name": "Globex Corporation"})).await["matches"][0]["id"].clone();
    let datto = h.ok("products_search", json!({"query": "Datto"})).await["items"][0]["id"].clone();
    let placed = h
        .ok(
            "order_execute",
            json!({"company_id": globex, "product_id": datto, "quantity": 1,
        "billing_term": "Monthly"}),
        )
        .await;
    assert_eq!(placed["done"], true);
    // `approve`: a quantity change needs the preview's token, and says so.
    let sub = placed["order"]["line_items"][0]["subscription_id"].clone();
    let needs = h.err("subscription_quantity_execute", json!({"subscription_id": sub, "quantity": 3})).await;
    assert!(needs.contains("needs the confirmation_token") && needs.contains("policy: approve"), "{needs}");
    let lines = h.audit_lines();
    let order_line = lines.iter().find(|l| l["tool"] == "order_execute").unwrap();
    assert_eq!((order_line["policy"].as_str(), order_line["outcome"].as_str()), (Some("auto"), Some("ok")));
    let quantity_line = lines.iter().find(|l| l["tool"] == "subscription_quantity_execute").unwrap();
    assert_eq!(quantity_line["policy"], "approve");
    assert!(quantity_line["duration_ms"].is_u64());
}

#[tokio::test(flavor = "multi_thread")]
async fn results_are_the_shared_summaries_their_output_schema_describes() {
    let h = start(false).await;
    let tools = h.client.list_all_tools().await.unwrap();
    let list = tools.iter().find(|t| t.name == "subscriptions_list").unwrap();
    let schema = serde_json::to_value(list.output_schema.as_ref().expect("an output schema")).unwrap();
    let item_schema_ref = schema["properties"]["items"]["items"]["$ref"].as_str().unwrap().to_string();
    let item_schema = &schema[item_schema_ref.trim_start_matches("#/").split('/').next().unwrap()]
        [item_schema_ref.rsplit('/').next().unwrap()];
    let mut declared: Vec<&String> = item_schema["properties"].as_object().unwrap().keys().collect();
    declared.sort();
    let page = h.ok("subscriptions_list", json!({"size": 3})).await;
    for item in page["items"].as_array().unwrap() {
        let mut keys: Vec<&String> = item.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, declared, "the result has exactly the declared fields");
    }
    // The same names as pax8-ext's summary (and so the CLI's --json).
    let first: pax8_ext::views::SubscriptionSummary = serde_json::from_value(page["items"][0].clone()).unwrap();
    assert!(first.id.is_some() && first.product_name.is_some());
    for name in ["companies_list", "invoices_list", "products_search", "orders_list", "order_get", "company_get"] {
        assert!(tools.iter().find(|t| t.name == name).unwrap().output_schema.is_some(), "{name}");
    }
}

/// Every format named in `value`'s schemas.
fn formats(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            if let Some(Value::String(f)) = object.get("format") {
                found.push(f.clone());
            }
            object.values().for_each(|v| formats(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| formats(v, found)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn schemas_use_only_standard_json_schema_formats() {
    let h = start(true).await;
    let tools = h.client.list_all_tools().await.unwrap();
    let (mut found, mut bounded) = (Vec::new(), 0);
    for tool in &tools {
        let input = serde_json::to_value(&tool.input_schema).unwrap();
        let schemas = [Some(input), tool.output_schema.as_ref().map(|s| serde_json::to_value(s).unwrap())];
        for schema in schemas.into_iter().flatten() {
            formats(&schema, &mut found);
            bounded += schema.to_string().matches(&format!("\"maximum\":{}", u32::MAX)).count();
        }
    }
    found.sort();
    found.dedup();
    let standard = ["date", "date-time", "email", "uri", "uuid"];
    assert!(found.iter().all(|f| standard.contains(&f.as_str())), "non-standard formats: {found:?}");
    // The widths schemars wrote as formats are bounds now (page and size of every page result).
    assert!(bounded > 10, "{bounded} u32 bounds");
    let list = tools.iter().find(|t| t.name == "subscriptions_list").unwrap();
    let page = &serde_json::to_value(&list.input_schema).unwrap()["properties"]["page"];
    assert_eq!(page["anyOf"][0]["minimum"], 0, "{page}");
    assert_eq!(page["anyOf"][1]["type"], "null", "{page}");
    // One type per schema: no `"type": [..]` lists (clients mapping onto one-type dialects).
    for tool in &tools {
        let text = serde_json::to_string(&(&tool.input_schema, &tool.output_schema)).unwrap();
        assert!(!text.contains("\"type\":["), "{}: {text}", tool.name);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_mirror_database_renewal_plans_are_previewed_made_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    let store = pax8_sync::Store::open(&format!("sqlite://{}", dir.path().join("plans.db").display())).await.unwrap();
    let plans = pax8_mcp::PlanStore { store: store.clone(), tenant: "default".into() };
    let h = start_with(Options { allow_writes: true, plans: Some(plans), ..Options::default() }).await;
    let names: Vec<String> = h.client.list_all_tools().await.unwrap().into_iter().map(|t| t.name.to_string()).collect();
    for tool in ["renewals_pending", "renewal_plan_preview", "renewal_plan"] {
        assert!(names.contains(&tool.to_string()), "{tool} offered");
    }
    let today = chrono::Utc::now().date_naive();
    let (id, quantity, ends) = h
        .sandbox
        .with_world(|w| {
            w.subscriptions.iter().find_map(|s| {
                let ends = s.commitment.as_ref()?.end_date?.date().0;
                (s.status.as_ref()?.to_string() == "Active" && s.quantity? >= 2.0 && ends > today)
                    .then(|| (s.id.unwrap(), s.quantity.unwrap() as u64, ends))
            })
        })
        .expect("a committed subscription");
    let args = json!({"subscription_id": id, "quantity": quantity - 1});
    let preview = h.ok("renewal_plan_preview", args.clone()).await;
    assert_eq!(preview["preview"]["due"], ends.to_string(), "at the commitment's end: {preview}");
    assert_eq!(preview["preview"]["change"], json!({"action": "quantity", "quantity": quantity - 1}));
    let token = preview["confirmation_token"].as_str().unwrap().to_string();
    // Approval-gated: without the preview's token nothing is stored.
    let needs = h.err("renewal_plan", args.clone()).await;
    assert!(needs.contains("needs the confirmation_token"), "{needs}");
    let mut execute = args.clone();
    execute["confirmation_token"] = json!(token);
    let plan = h.ok("renewal_plan", execute).await;
    assert_eq!((plan["state"].as_str(), plan["due"].as_str()), (Some("pending"), Some(ends.to_string().as_str())));
    let pending = h.ok("renewals_pending", json!({})).await;
    assert_eq!(pending["items"].as_array().unwrap().len(), 1);
    assert_eq!(store.plans("default", false).await.unwrap().len(), 1, "stored in the mirror database");
    // A decrease before the commitment's end is refused as Pax8 would refuse it.
    let early = json!({"subscription_id": id, "cancel": true, "on": today.to_string()});
    let refused = h.err("renewal_plan_preview", early).await;
    assert!(refused.contains("Pax8 refuses this before the commitment ends"), "{refused}");
    let two = h.err("renewal_plan_preview", json!({"subscription_id": id, "quantity": 1, "cancel": true})).await;
    assert!(two.contains("exactly one of quantity, cancel"), "{two}");

    // Without a database the plan tools are not offered.
    let bare = start(true).await;
    let names: Vec<String> =
        bare.client.list_all_tools().await.unwrap().into_iter().map(|t| t.name.to_string()).collect();
    assert!(!names.iter().any(|n| n.starts_with("renewal")), "{names:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invoice_audit_without_the_mirror_finds_the_planted_discrepancies_it_can_see() {
    let h = start(false).await;
    let audit = h.ok("invoice_audit", json!({})).await;
    // The simulator's latest invoice: a price above the list, a duplicate, a subscription left
    // out (its planted quantity needs the mirror's snapshots, which this server has not).
    assert_eq!(audit["verdict"], "findings", "{audit}");
    let invoice = h.sandbox.with_world(|w| w.invoices[0].id.unwrap());
    let planted = h.sandbox.planted(invoice).unwrap();
    let found: Vec<(&str, &str)> = audit["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["kind"].as_str().unwrap(), f["subscription_id"].as_str().unwrap()))
        .collect();
    for p in planted.iter().filter(|p| p.kind != "quantity") {
        assert!(found.contains(&(p.kind, p.subscription_id.to_string().as_str())), "{p:?} not in {audit}");
    }
    assert_eq!(found.len(), planted.iter().filter(|p| p.kind != "quantity").count(), "{audit}");
    let unchecked = audit["unchecked"].as_array().unwrap();
    assert!(unchecked.iter().any(|u| u["check"] == "quantity"), "{audit}");
    let refused = h.refused("invoice_audit", json!({"invoice": "x"})).await;
    assert!(refused.contains("unknown field"), "{refused}");
}
