//! The spec pipeline end to end: coverage of every upstream operation, API surface and patch
//! report snapshots, determinism, and the committed files being up to date.

use std::collections::BTreeSet;

use pax8_api::Api;
use pax8_api_gen::pointer::operations;
use pax8_tests::{upstream_dir, workspace_root};

fn module_api(module: &str) -> Api {
    Api::ALL.into_iter().find(|a| a.module() == module).expect("every source has an Api")
}

#[test]
fn every_upstream_operation_has_a_generated_method() {
    let root = workspace_root();
    let sources = pax8_api_gen::Sources::load(&root.join("spec/sources.toml")).unwrap();
    let mut total = 0;
    for source in &sources.documents {
        let upstream =
            pax8_api_gen::read_json(&source.name, &upstream_dir().join(format!("{}.json", source.name))).unwrap();
        let expected: BTreeSet<(String, String)> =
            operations(&upstream).into_iter().map(|(path, method)| (method.to_uppercase(), path)).collect();
        let generated: BTreeSet<(String, String)> = module_api(&source.module)
            .operations()
            .iter()
            .map(|op| (op.method.to_string(), op.path.to_string()))
            .collect();
        assert_eq!(expected, generated, "{}: upstream operations vs generated OPERATIONS", source.name);
        total += expected.len();
    }
    assert_eq!(total, 102, "the six documents hold 102 operations");
}

#[test]
fn every_listed_operation_builds_a_request() {
    let http = reqwest::Client::new();
    let url = "http://127.0.0.1:9";
    let counts = [
        pax8_api::auth::__build_every_operation(&pax8_api::auth::Client::new_with_client(url, http.clone())),
        pax8_api::partner::__build_every_operation(&pax8_api::partner::Client::new_with_client(url, http.clone())),
        pax8_api::quoting::__build_every_operation(&pax8_api::quoting::Client::new_with_client(url, http.clone())),
        pax8_api::webhooks::__build_every_operation(&pax8_api::webhooks::Client::new_with_client(url, http.clone())),
        pax8_api::vendor_provisioning::__build_every_operation(
            &pax8_api::vendor_provisioning::Client::new_with_client(url, http.clone()),
        ),
        pax8_api::vendor_usage::__build_every_operation(&pax8_api::vendor_usage::Client::new_with_client(url, http)),
    ];
    assert_eq!(counts, [1, 29, 33, 15, 21, 3]);
}

#[test]
fn operation_ids_are_unique_and_named_by_the_rule() {
    for api in Api::ALL {
        let ids: BTreeSet<_> = api.operations().iter().map(|o| o.rust_method).collect();
        assert_eq!(ids.len(), api.operations().len(), "{api:?}");
    }
    let company =
        Api::Partner.operations().iter().find(|o| o.method == "GET" && o.path == "/companies/{companyId}").unwrap();
    assert_eq!(company.rust_method, "get_companies_by_company_id");
    let cancel = Api::Partner
        .operations()
        .iter()
        .find(|o| o.method == "DELETE" && o.path == "/subscriptions/{subscriptionId}")
        .unwrap();
    assert_eq!(cancel.rust_method, "delete_subscriptions_by_subscription_id");
}

#[test]
fn pipeline_is_deterministic_and_committed_files_are_current() {
    let root = workspace_root();
    let first = pax8_api_gen::run(&root, &upstream_dir()).unwrap();
    let second = pax8_api_gen::run(&root, &upstream_dir()).unwrap();
    assert_eq!(first.files, second.files, "same input, same bytes");
    let stale = pax8_api_gen::stale_files(&root, &first);
    assert!(stale.is_empty(), "committed files differ from the pipeline output (run `cargo xtask gen`): {stale:?}");
}

#[test]
fn api_surface_snapshots() {
    let (documents, report) = pax8_api_gen::normalize_all(&workspace_root(), &upstream_dir()).unwrap();
    for n in &documents {
        insta::assert_snapshot!(format!("surface-{}", n.source.name), pax8_api_gen::surface::render(&n.document));
    }
    insta::assert_snapshot!("patch-report", report.to_string());
}

#[test]
fn a_broken_patch_fails_with_its_name_and_pointer() {
    let dir = std::env::temp_dir().join(format!("pax8-broken-patch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("partner-gone.json");
    std::fs::write(
        &file,
        r#"{"document": "partner-endpoints", "why": "t", "ops": [{"op": "replace", "path": "/components/schemas/Nope/type", "value": "x"}]}"#,
    )
    .unwrap();
    let patch = pax8_api_gen::patch::load_file(&file).unwrap();
    let upstream =
        pax8_api_gen::read_json("partner-endpoints", &upstream_dir().join("partner-endpoints.json")).unwrap();
    let err =
        pax8_api_gen::normalize_document("partner-endpoints", upstream, &[patch], &mut Default::default()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("partner-gone") && msg.contains("/components/schemas/Nope"), "{msg}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn invalid_documents_are_refused_clearly() {
    let err = pax8_api_gen::normalize_document(
        "x",
        serde_json::json!({"openapi": "2.0", "paths": {}}),
        &[],
        &mut Default::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("unsupported openapi version"), "{err}");
    let err = pax8_api_gen::normalize_document("x", serde_json::json!([1]), &[], &mut Default::default()).unwrap_err();
    assert!(err.to_string().contains("document x"), "{err}");
}
