//! Every documented response example decodes into its generated type: catches schemas that
//! compile but do not match what the documents themselves say the server sends.

use pax8_api_gen::pointer::{operation_pointer, operations};
use pax8_tests::{upstream_dir, workspace_root};
use serde_json::Value;

type Decoder = Box<dyn Fn(&str, &str) -> Option<Result<(), serde_json::Error>>>;

fn decoder(module: &str) -> Decoder {
    let http = reqwest::Client::new();
    let url = "http://127.0.0.1:9";
    macro_rules! d {
        ($m:ident) => {{
            let c = pax8_api::$m::Client::new_with_client(url, http);
            Box::new(move |id: &str, body: &str| pax8_api::$m::__decode_success(&c, id, body))
        }};
    }
    match module {
        "auth" => d!(auth),
        "partner" => d!(partner),
        "quoting" => d!(quoting),
        "webhooks" => d!(webhooks),
        "vendor_provisioning" => d!(vendor_provisioning),
        "vendor_usage" => d!(vendor_usage),
        other => panic!("unknown module {other}"),
    }
}

/// `(label, value)` of every example of a media type object, resolving `#/components/examples`.
fn examples(doc: &Value, media: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    if let Some(v) = media.get("example") {
        out.push(("example".to_string(), v.clone()));
    }
    for (name, ex) in media.get("examples").and_then(Value::as_object).into_iter().flatten() {
        let resolved = match ex.get("$ref").and_then(Value::as_str) {
            Some(r) => doc.pointer(r.trim_start_matches('#')).cloned().unwrap_or(Value::Null),
            None => ex.clone(),
        };
        if let Some(v) = resolved.get("value") {
            out.push((name.clone(), v.clone()));
        }
    }
    out
}

#[test]
fn documented_success_examples_decode() {
    let root = workspace_root();
    let (documents, _) = pax8_api_gen::normalize_all(&root, &upstream_dir()).unwrap();
    let mut checked = 0;
    let mut failures = Vec::new();
    for n in &documents {
        let decode = decoder(&n.source.module);
        for (path, method) in operations(&n.document) {
            let at = operation_pointer(&path, &method);
            let op = n.document.pointer(&at).unwrap();
            let id = op["operationId"].as_str().unwrap();
            for (status, response) in op["responses"].as_object().unwrap() {
                if !status.starts_with('2') {
                    continue;
                }
                let Some(media) = response.pointer("/content/application~1json") else {
                    continue;
                };
                for (label, value) in examples(&n.document, media) {
                    let body = value.to_string();
                    match decode(id, &body) {
                        Some(Ok(())) => checked += 1,
                        Some(Err(e)) => failures.push(format!("{} {id} {status} {label}: {e}", n.source.name)),
                        None => failures.push(format!("{} {id}: no decoder", n.source.name)),
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "examples that do not decode:\n{}", failures.join("\n"));
    assert!(checked >= 15, "only {checked} examples found");
    println!("{checked} documented examples decode");
}
