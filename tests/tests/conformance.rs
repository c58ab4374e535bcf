//! Every answer of the simulator, reads and writes of the partner, quoting and webhooks groups,
//! checked against the patched documents by an independent JSON Schema validator (the
//! `jsonschema` crate): the status must be one the operation declares, and a JSON body must
//! match that status's schema. Run with the quirks on (the default) and with `spec_exact`.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use pax8_sandbox::{Sandbox, SandboxConfig};
use pax8_tests::workspace_root;
use reqwest::Method;
use serde_json::{Value, json};

/// A patched document and the path prefix its operations are served under.
struct Document {
    name: &'static str,
    prefix: &'static str,
    json: Value,
}

fn documents() -> Vec<Document> {
    [("partner-endpoints", "/v1"), ("quoting-endpoints", ""), ("webhooks-api", "/api/v2")]
        .into_iter()
        .map(|(name, prefix)| {
            let path = workspace_root().join("spec").join(format!("{name}.json"));
            Document { name, prefix, json: serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap() }
        })
        .collect()
}

/// OpenAPI 3.0 schema objects as JSON Schema (2019-09, whose formats include `uuid`):
/// `nullable` becomes a `null` choice, boolean `exclusiveMinimum`/`exclusiveMaximum` become the
/// numeric form, and annotations JSON Schema does not know are dropped.
fn json_schema(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (key, v) in map {
                if ["nullable", "example", "examples", "discriminator", "xml", "externalDocs", "deprecated"]
                    .contains(&key.as_str())
                {
                    continue;
                }
                out.insert(key.clone(), json_schema(v));
            }
            for (exclusive, bound) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
                match map.get(exclusive) {
                    Some(Value::Bool(true)) => {
                        if let Some(limit) = out.remove(bound) {
                            out.insert(exclusive.into(), limit);
                        }
                    }
                    Some(Value::Bool(false)) => {
                        out.remove(exclusive);
                    }
                    _ => {}
                }
            }
            if map.get("nullable") == Some(&Value::Bool(true)) {
                json!({"anyOf": [Value::Object(out), {"type": "null"}]})
            } else {
                Value::Object(out)
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(json_schema).collect()),
        other => other.clone(),
    }
}

/// The operation of `document` that serves `method path`, by its path template.
fn operation<'a>(document: &'a Document, method: &Method, path: &str) -> Option<(String, &'a Value)> {
    let path = path.split('?').next().unwrap_or(path);
    let relative = path.strip_prefix(document.prefix)?;
    let segments: Vec<&str> = relative.trim_matches('/').split('/').collect();
    let paths = document.json["paths"].as_object()?;
    // Literal segments win over parameters (`/webhooks/topic-definitions` before `/webhooks/{id}`).
    let mut best: Option<(usize, String, &Value)> = None;
    for (template, item) in paths {
        let parts: Vec<&str> = template.trim_matches('/').split('/').collect();
        if parts.len() != segments.len() {
            continue;
        }
        let matches = parts.iter().zip(&segments).all(|(t, s)| t.starts_with('{') || t == s);
        let literals = parts.iter().filter(|t| !t.starts_with('{')).count();
        if let Some(op) = item.get(method.as_str().to_lowercase())
            && matches
            && best.as_ref().is_none_or(|(n, ..)| literals > *n)
        {
            best = Some((literals, op["operationId"].as_str().unwrap_or("?").to_string(), op));
        }
    }
    best.map(|(_, id, op)| (id, op))
}

struct Checker {
    documents: Vec<Document>,
    http: reqwest::Client,
    base: String,
    token: String,
    exercised: BTreeSet<String>,
    failures: Vec<String>,
}

impl Checker {
    async fn new(sandbox: &Sandbox) -> Checker {
        let http = reqwest::Client::new();
        let token = support::access_token(&http, sandbox).await;
        Checker {
            documents: documents(),
            http,
            base: sandbox.base_url().to_string(),
            token,
            exercised: BTreeSet::new(),
            failures: Vec::new(),
        }
    }

    /// Sends one request, checks the answer against its operation, and returns the body.
    async fn call(&mut self, method: Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method.clone(), format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = &body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let is_json =
            response.headers().get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("json"));
        let bytes = response.bytes().await.unwrap();
        let value: Value = if is_json { serde_json::from_slice(&bytes).unwrap_or(Value::Null) } else { Value::Null };
        let Some((document, (id, op))) =
            self.documents.iter().find_map(|d| operation(d, &method, path).map(|op| (d, op)))
        else {
            self.failures.push(format!("{method} {path}: no operation in the documents"));
            return value;
        };
        self.exercised.insert(format!("{}:{id}", document.name));
        if !(200..300).contains(&status) {
            self.failures.push(format!("{id} ({method} {path}): HTTP {status}: {}", String::from_utf8_lossy(&bytes)));
        }
        let Some(declared) = op["responses"].get(status.to_string()).or(op["responses"].get("default")) else {
            self.failures.push(format!("{id}: status {status} is not declared"));
            return value;
        };
        let schema = declared["content"]
            .as_object()
            .and_then(|c| c.iter().find(|(media, _)| media.contains("json")))
            .map(|(_, media)| media["schema"].clone());
        if let Some(schema) = schema {
            if !is_json {
                self.failures.push(format!("{id}: HTTP {status} declares JSON, the answer is not JSON"));
                return value;
            }
            let mut root = json_schema(&schema);
            if let Value::Object(map) = &mut root {
                map.insert(
                    "components".into(),
                    json!({"schemas": json_schema(&document.json["components"]["schemas"])}),
                );
            }
            let validator = jsonschema::options()
                .with_draft(jsonschema::Draft::Draft201909)
                .should_validate_formats(true)
                .build(&root)
                .unwrap_or_else(|e| panic!("{id}: schema does not compile: {e}"));
            let errors: Vec<String> =
                validator.iter_errors(&value).take(3).map(|e| format!("{} at {}", e, e.instance_path())).collect();
            if !errors.is_empty() {
                self.failures.push(format!("{id} ({method} {path}) HTTP {status}: {}", errors.join("; ")));
            }
        }
        value
    }
}

/// Operations the simulator does not serve (attachments are files; ownership needs users).
const NOT_SIMULATED: [&str; 17] = [
    "quoting-endpoints:addQuoteAttachmentsToLibrary",
    "quoting-endpoints:copyAttachmentsToQuoteFromLibrary",
    "quoting-endpoints:deleteAttachment",
    "quoting-endpoints:deletePreferenceAttachment",
    "quoting-endpoints:deleteSingleLibraryAttachment",
    "quoting-endpoints:downloadAllAttachmentsAsZip",
    "quoting-endpoints:getAttachmentMetadata",
    "quoting-endpoints:getLibraryAttachmentMetadata",
    "quoting-endpoints:getLibraryAttachmentsMetadata",
    "quoting-endpoints:replaceLibraryAttachment",
    "quoting-endpoints:takeQuoteOwnership",
    "quoting-endpoints:updateAttachmentsMetadata",
    "quoting-endpoints:updateLibraryAttachments",
    "quoting-endpoints:updateLineItems",
    "quoting-endpoints:uploadAttachmentToLibrary",
    "quoting-endpoints:uploadAttachmentToQuote",
    "quoting-endpoints:uploadPreferencesAttachments",
];

async fn exercise(spec_exact: bool) -> Checker {
    let sandbox = Sandbox::start(SandboxConfig {
        companies: 20,
        today: Some(chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()),
        spec_exact,
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let ids = sandbox.with_world(|w| {
        let company = w.companies.iter().find(|c| c.status.as_ref().is_some_and(|s| s.as_str() == "Active")).unwrap();
        let company_id = company.id.unwrap();
        let contact = w.contacts[&company_id][0].id.unwrap();
        let simple = w
            .products
            .iter()
            .find(|p| p.detail.name.as_deref() == Some("Datto SaaS Protection"))
            .unwrap()
            .detail
            .id
            .unwrap();
        let committed = w.products.iter().find(|p| !p.commitments.is_empty()).unwrap().detail.id.unwrap();
        let active: Vec<_> =
            w.subscriptions.iter().filter(|s| s.status.as_ref().is_some_and(|x| x.as_str() == "Active")).collect();
        let (azure, summaries) = w.usage_summaries.iter().find(|(_, list)| !list.is_empty()).unwrap();
        (
            company_id,
            contact,
            simple,
            committed,
            active[0].id.unwrap(),
            active[1].id.unwrap(),
            *azure,
            summaries[0].id.unwrap(),
            w.orders[0].id.unwrap(),
            w.invoices[0].id.unwrap(),
        )
    });
    let (company, contact, simple, committed, subscription, to_cancel, azure, summary, order, invoice) = ids;
    let mut c = Checker::new(&sandbox).await;
    use Method as M;

    // Partner: reads.
    c.call(M::GET, "/v1/companies?size=50", None).await;
    c.call(M::GET, &format!("/v1/companies/{company}"), None).await;
    c.call(M::GET, &format!("/v1/companies/{company}/contacts"), None).await;
    c.call(M::GET, &format!("/v1/companies/{company}/contacts/{contact}"), None).await;
    c.call(M::GET, "/v1/products?size=50", None).await;
    for product in [simple, committed] {
        c.call(M::GET, &format!("/v1/products/{product}"), None).await;
        c.call(M::GET, &format!("/v1/products/{product}/provision-details"), None).await;
        c.call(M::GET, &format!("/v1/products/{product}/dependencies"), None).await;
        c.call(M::GET, &format!("/v1/products/{product}/pricing"), None).await;
    }
    c.call(M::GET, "/v1/orders?size=20", None).await;
    c.call(M::GET, &format!("/v1/orders/{order}"), None).await;
    c.call(M::GET, "/v1/subscriptions?size=50", None).await;
    c.call(M::GET, &format!("/v1/subscriptions/{subscription}"), None).await;
    c.call(M::GET, &format!("/v1/subscriptions/{subscription}/history"), None).await;
    c.call(M::GET, &format!("/v1/subscriptions/{azure}/usage-summaries"), None).await;
    c.call(M::GET, &format!("/v1/usage-summaries/{summary}"), None).await;
    c.call(M::GET, &format!("/v1/usage-summaries/{summary}/usage-lines?usageDate=2026-11-01"), None).await;
    c.call(M::GET, "/v1/invoices?size=10", None).await;
    c.call(M::GET, &format!("/v1/invoices/{invoice}"), None).await;
    c.call(M::GET, &format!("/v1/invoices/{invoice}/items?size=50"), None).await;
    c.call(M::GET, "/v1/invoices/draftItems?size=50", None).await;

    // Partner: writes.
    let created = c
        .call(
            M::POST,
            "/v1/companies",
            Some(json!({"name": "Conformance Ltd", "address": {"street": "1 Main St", "city": "Denver",
                "postalCode": "80202", "country": "US", "stateOrProvince": "CO"}, "phone": "555-0100",
                "website": "https://conformance.example", "billOnBehalfOfEnabled": false,
                "selfServiceAllowed": false, "orderApprovalRequired": false})),
        )
        .await;
    let new_company = created["id"].as_str().unwrap_or_default().to_string();
    c.call(M::PATCH, &format!("/v1/companies/{new_company}"), Some(json!({"website": "https://c.example"}))).await;
    let person = c
        .call(
            M::POST,
            &format!("/v1/companies/{new_company}/contacts"),
            Some(json!({"firstName": "Ada", "lastName": "Lovelace", "email": "ada@conformance.example",
                "phone": "555-0101", "types": [{"type": "Admin", "primary": true}, {"type": "Billing", "primary": true},
                {"type": "Technical", "primary": true}]})),
        )
        .await;
    let person_id = person["id"].as_str().unwrap_or_default().to_string();
    c.call(
        M::PUT,
        &format!("/v1/companies/{new_company}/contacts/{person_id}"),
        Some(json!({"firstName": "Ada", "lastName": "King", "email": "ada@conformance.example", "phone": "555-0101",
            "types": [{"type": "Admin", "primary": true}, {"type": "Billing", "primary": true},
            {"type": "Technical", "primary": true}]})),
    )
    .await;
    let order_body = json!({"companyId": company, "lineItems": [{"productId": simple, "quantity": 3,
        "billingTerm": "Monthly", "lineItemNumber": 1}]});
    c.call(M::POST, "/v1/orders?isMock=true", Some(order_body.clone())).await;
    c.call(M::POST, "/v1/orders", Some(order_body)).await;
    c.call(M::PUT, &format!("/v1/subscriptions/{subscription}"), Some(json!({"quantity": 42}))).await;
    c.call(M::DELETE, &format!("/v1/subscriptions/{to_cancel}"), None).await;
    let second = c
        .call(
            M::POST,
            &format!("/v1/companies/{new_company}/contacts"),
            Some(json!({"firstName": "Grace", "lastName": "Hopper", "email": "grace@conformance.example"})),
        )
        .await;
    let second_id = second["id"].as_str().unwrap_or_default().to_string();
    c.call(M::DELETE, &format!("/v1/companies/{new_company}/contacts/{second_id}"), None).await;

    // Quoting.
    let quote = c.call(M::POST, "/v2/quotes", Some(json!({"clientId": company}))).await;
    let quote_id = quote["id"].as_str().unwrap_or_default().to_string();
    c.call(M::GET, "/v2/quotes?limit=10", None).await;
    c.call(M::GET, &format!("/v2/quotes/{quote_id}"), None).await;
    let items = c
        .call(
            M::POST,
            &format!("/v2/quotes/{quote_id}/line-items"),
            Some(json!([
                {"type": "Standard", "productId": simple, "quantity": 5, "price": 3.5, "billingTerm": "Monthly",
                 "effectiveDate": "2026-12-01T00:00:00Z"},
                {"type": "Standard", "productId": simple, "quantity": 1, "price": 3.5, "billingTerm": "Monthly",
                 "effectiveDate": "2026-12-01T00:00:00Z"},
                {"type": "Standard", "productId": simple, "quantity": 2, "price": 3.5, "billingTerm": "Monthly",
                 "effectiveDate": "2026-12-01T00:00:00Z"}
            ])),
        )
        .await;
    let item = |i: usize| items[i]["id"].as_str().unwrap_or_default().to_string();
    c.call(M::DELETE, &format!("/v2/quotes/{quote_id}/line-items/{}", item(1)), None).await;
    c.call(M::POST, &format!("/v2/quotes/{quote_id}/line-items/bulk-delete"), Some(json!({"lineItemIds": [item(2)]})))
        .await;
    c.call(M::POST, &format!("/v2/quotes/{quote_id}/sections"), Some(json!({"name": "Licences"}))).await;
    let sections = c.call(M::GET, &format!("/v2/quotes/{quote_id}/sections"), None).await;
    let section = &sections["sections"][0];
    c.call(
        M::PUT,
        &format!("/v2/quotes/{quote_id}/sections"),
        Some(json!({"sections": [{"id": section["id"], "name": "Renamed", "order": 0, "lineItems": []}]})),
    )
    .await;
    let shared = c
        .call(M::POST, &format!("/v2/quotes/{quote_id}/access-list"), Some(json!([{"email": "cfo@client.example"}])))
        .await;
    c.call(M::GET, &format!("/v2/quotes/{quote_id}/access-list"), None).await;
    let entry = shared[0]["id"].as_str().unwrap_or_default().to_string();
    c.call(M::DELETE, &format!("/v2/quotes/{quote_id}/access-list/{entry}"), None).await;
    c.call(
        M::PUT,
        &format!("/v2/quotes/{quote_id}"),
        Some(json!({"expiresOn": "2026-12-31", "introMessage": "Hello", "published": true, "status": "sent",
            "termsAndDisclaimers": "Net 30"})),
    )
    .await;
    c.call(M::GET, "/v2/quote-preferences", None).await;
    c.call(
        M::PUT,
        "/v2/quote-preferences",
        Some(json!({"daysToExpire": 30, "introMessage": "Hi", "termsAndDisclaimers": "Net 30"})),
    )
    .await;
    c.call(M::DELETE, &format!("/v2/quotes/{quote_id}"), None).await;

    // Webhooks.
    c.call(M::GET, "/api/v2/webhooks/topic-definitions", None).await;
    let hook = c
        .call(
            M::POST,
            "/api/v2/webhooks",
            Some(json!({"displayName": "Conformance", "url": "http://127.0.0.1:9/hook", "active": true,
                "authorization": "Bearer conformance-token", "errorThreshold": 5,
                "webhookTopics": [{"topic": "SUBSCRIPTION_UPDATED", "filters": []}]})),
        )
        .await;
    let hook_id = hook["id"].as_str().unwrap_or_default().to_string();
    c.call(M::GET, "/api/v2/webhooks?size=10", None).await;
    c.call(M::GET, &format!("/api/v2/webhooks/{hook_id}"), None).await;
    c.call(M::POST, &format!("/api/v2/webhooks/{hook_id}/configuration"), Some(json!({"displayName": "Renamed"})))
        .await;
    c.call(M::POST, &format!("/api/v2/webhooks/{hook_id}/status"), Some(json!({"active": true}))).await;
    let with_topic = c
        .call(
            M::POST,
            &format!("/api/v2/webhooks/{hook_id}/topics"),
            Some(json!({"topic": "COMPANY_CREATED", "filters": []})),
        )
        .await;
    let topic_id = with_topic["webhookTopics"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["topic"] == "COMPANY_CREATED"))
        .and_then(|t| t["id"].as_str())
        .unwrap_or_default()
        .to_string();
    c.call(
        M::POST,
        &format!("/api/v2/webhooks/{hook_id}/topics/{topic_id}/configuration"),
        Some(json!({"filters": [{"action": "UPDATED", "conditions": []}]})),
    )
    .await;
    c.call(M::POST, &format!("/api/v2/webhooks/{hook_id}/topics/SUBSCRIPTION_UPDATED/test"), None).await;
    let logs = c.call(M::GET, &format!("/api/v2/webhooks/{hook_id}/logs"), None).await;
    let log = logs["content"][0]["id"].as_str().unwrap_or_default().to_string();
    c.call(M::GET, &format!("/api/v2/webhooks/{hook_id}/logs/{log}"), None).await;
    c.call(M::POST, &format!("/api/v2/webhooks/{hook_id}/logs/{log}/retry"), None).await;
    c.call(M::DELETE, &format!("/api/v2/webhooks/{hook_id}/topics/{topic_id}"), None).await;
    c.call(
        M::PUT,
        &format!("/api/v2/webhooks/{hook_id}/topics"),
        Some(json!({"webhookTopics": [{"topic": "SUBSCRIPTION_CANCELLED", "filters": []}]})),
    )
    .await;
    c.call(M::DELETE, &format!("/api/v2/webhooks/{hook_id}"), None).await;
    c
}

fn all_operations() -> BTreeMap<String, ()> {
    documents()
        .iter()
        .flat_map(|d| {
            d.json["paths"]
                .as_object()
                .unwrap()
                .values()
                .flat_map(|item| item.as_object().unwrap().values())
                .filter_map(|op| op.get("operationId").and_then(Value::as_str))
                .map(|id| (format!("{}:{id}", d.name), ()))
                .collect::<Vec<_>>()
        })
        .collect()
}

async fn check(spec_exact: bool) {
    let c = exercise(spec_exact).await;
    assert!(c.failures.is_empty(), "spec_exact = {spec_exact}:\n{}", c.failures.join("\n"));
    let all = all_operations();
    let missing: Vec<&String> =
        all.keys().filter(|op| !c.exercised.contains(*op) && !NOT_SIMULATED.contains(&op.as_str())).collect();
    assert!(missing.is_empty(), "operations the simulator serves but this test does not exercise: {missing:?}");
    for op in NOT_SIMULATED {
        assert!(!c.exercised.contains(op), "{op} is simulated now: remove it from NOT_SIMULATED");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_simulator_answer_matches_the_patched_documents_with_the_quirks() {
    check(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_simulator_answer_matches_the_patched_documents_when_spec_exact() {
    check(true).await;
}

#[test]
fn the_validator_refuses_what_the_documents_do_not_allow() {
    // The checker is only as good as its schema translation: a missing required field, a wrong
    // type and a null where `nullable` is absent must all fail.
    let components = json!({"schemas": {"A": {"type": "object", "required": ["id"], "properties": {
        "id": {"type": "string", "format": "uuid"}, "n": {"type": "integer"},
        "maybe": {"type": "string", "nullable": true}, "never": {"type": "string"}}}}});
    let mut root = json!({"$ref": "#/components/schemas/A"});
    root["components"] = json_schema(&components);
    let v = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft201909)
        .should_validate_formats(true)
        .build(&root)
        .unwrap();
    assert!(v.is_valid(&json!({"id": "6a3a0c6e-8e6f-4a0e-9a36-2d5b8d0f6a11", "maybe": null})));
    for bad in [
        json!({}),
        json!({"id": "not-a-uuid"}),
        json!({"id": "6a3a0c6e-8e6f-4a0e-9a36-2d5b8d0f6a11", "n": "1"}),
        json!({"id": "6a3a0c6e-8e6f-4a0e-9a36-2d5b8d0f6a11", "never": null}),
    ] {
        assert!(!v.is_valid(&bad), "{bad}");
    }
}
