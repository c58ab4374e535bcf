//! Every example on Pax8's developer pages (fixtures in `tests/fixtures/pax8-docs/`, each with
//! its address in `manifest.toml`) decodes into its generated type, also with a field added
//! that this crate does not know; and values other Pax8 clients report on the wire map to known
//! variants.

use pax8_api::partner::types as partner;
use pax8_api::vendor_provisioning::types as provisioning;
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Manifest {
    example: Vec<Example>,
}

#[derive(Deserialize)]
struct Example {
    file: String,
    source: String,
    api: String,
    #[serde(rename = "type")]
    type_name: String,
}

fn dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/pax8-docs")
}

fn decode_as(type_name: &str, value: Value) -> Result<(), String> {
    fn check<T: serde::de::DeserializeOwned>(value: Value) -> Result<(), String> {
        serde_json::from_value::<T>(value).map(drop).map_err(|e| e.to_string())
    }
    match type_name {
        "TokenResponse" => check::<pax8_api::TokenResponse>(value),
        "ProvisionDetail" => check::<provisioning::ProvisionDetail>(value),
        "ProvisionRequest" => check::<provisioning::ProvisionRequest>(value),
        "ProvisionAttempt" => check::<provisioning::ProvisionAttempt>(value),
        "ProvisionResult" => check::<provisioning::ProvisionResult>(value),
        "CreatedWebhook" => check::<provisioning::CreatedWebhook>(value),
        "ProvisionTestingOrderEvent" => check::<provisioning::ProvisionTestingOrderEvent>(value),
        "UsageLine" => check::<pax8_api::vendor_usage::types::UsageLine>(value),
        "CreateWebhook" => check::<pax8_api::webhooks::types::CreateWebhook>(value),
        other => Err(format!("no decoder for type {other}: add it to decode_as")),
    }
}

fn fixture(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir().join(name)).unwrap()).unwrap()
}

#[test]
fn every_documented_example_decodes_with_and_without_an_unknown_field() {
    let manifest: Manifest = toml::from_str(&std::fs::read_to_string(dir().join("manifest.toml")).unwrap()).unwrap();
    let mut failures = Vec::new();
    let mut apis = std::collections::BTreeSet::new();
    for example in &manifest.example {
        assert!(example.source.starts_with("https://devx.pax8.com/"), "{}: {}", example.file, example.source);
        apis.insert(example.api.as_str());
        let mut value = fixture(&example.file);
        if let Err(e) = decode_as(&example.type_name, value.clone()) {
            failures.push(format!("{} as {}: {e}", example.file, example.type_name));
        }
        // A field Pax8 adds later never fails a decode.
        value.as_object_mut().unwrap().insert("addedLaterByPax8".into(), serde_json::json!({"any": ["shape"]}));
        if let Err(e) = decode_as(&example.type_name, value) {
            failures.push(format!("{} with an unknown field: {e}", example.file));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(manifest.example.len(), 12);
    assert_eq!(
        apis.into_iter().collect::<Vec<_>>(),
        ["authentication", "vendor-provisioning", "vendor-usage", "webhooks"]
    );
    // Every fixture file is in the manifest.
    let listed: Vec<&str> = manifest.example.iter().map(|e| e.file.as_str()).collect();
    for entry in std::fs::read_dir(dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(name == "manifest.toml" || listed.contains(&name.as_str()), "{name} is not in the manifest");
    }
}

#[test]
fn documented_values_keep_their_meaning() {
    let detail: provisioning::ProvisionDetail = serde_json::from_value(fixture("provision-detail.json")).unwrap();
    assert_eq!(detail.details["firstName"], "John");
    assert_eq!(detail.details["changeOfChannel"], "Yes");
    let result: provisioning::ProvisionResult = serde_json::from_value(fixture("provision-result.json")).unwrap();
    assert_eq!(result.metadata["key"], "value");
    assert!(!result.status.is_known(), "the page's placeholder is not a status");
    let request: provisioning::ProvisionRequest = serde_json::from_value(fixture("provision-request.json")).unwrap();
    assert_eq!(request.partner_enrollment_id.as_deref(), Some("7bb64fa0-21ed-481e-8627-26e3gg9e9e02"));
    let token: pax8_api::TokenResponse =
        serde_json::from_value(fixture("auth-token-response-token-manager.json")).unwrap();
    assert_eq!((token.access_token.as_str(), token.expires_in), ("<your-token>", Some(86400.0)));
    // The guide's result body can be built and sent: string metadata serializes as sent.
    let body = serde_json::to_value(&result).unwrap();
    assert_eq!(body["metadata"], serde_json::json!({"key": "value"}));
}

#[test]
fn values_other_clients_report_map_to_known_variants() {
    // Invoice item rate types arrive capitalised; "One-time" for the documented "One-Time".
    let item: partner::InvoiceItem =
        serde_json::from_value(serde_json::json!({"rateType": "Flat", "term": "One-time"})).unwrap();
    assert!(item.rate_type.as_ref().is_some_and(|r| r.is_known() && r.as_str() == "flat"), "{:?}", item.rate_type);
    let subscription: partner::Subscription =
        serde_json::from_value(serde_json::json!({"billingTerm": "One-time"})).unwrap();
    let term = subscription.billing_term.unwrap();
    assert!(term.is_known(), "{term:?}");
    assert_eq!(term.as_str(), "One-Time");
    let line: partner::LineItem = serde_json::from_value(serde_json::json!({"productId": "6a3a0c6e-8e6f-4a0e-9a36-2d5b8d0f6a11", "quantity": 1, "billingTerm": "One-time"})).unwrap();
    assert!(line.billing_term.as_ref().is_some_and(|t| t.is_known()));
    let pricing: partner::Pricing =
        serde_json::from_value(serde_json::json!({"billingTerm": "One-time", "rates": []})).unwrap();
    assert!(pricing.billing_term.as_ref().is_some_and(|t| t.is_known()));
}

#[test]
fn omitted_required_fields_and_null_lists_decode() {
    let company: partner::Company = serde_json::from_value(serde_json::json!({"name": "No Address Ltd"})).unwrap();
    assert_eq!(company.address, partner::Address::default());
    let contact: partner::Contact =
        serde_json::from_value(serde_json::json!({"firstName": "Ada", "lastName": "L"})).unwrap();
    assert_eq!((contact.email.as_str(), contact.phone.as_str()), ("", ""));
    let page: partner::FindCompaniesResponse = serde_json::from_value(
        serde_json::json!({"content": null, "page": {"size": 10, "totalElements": 0, "totalPages": 0, "number": 0}}),
    )
    .unwrap();
    assert!(page.content.is_empty());
    let with_contacts: partner::Company =
        serde_json::from_value(serde_json::json!({"name": "N", "address": {}, "contacts": null})).unwrap();
    assert!(with_contacts.contacts.is_empty());
}
