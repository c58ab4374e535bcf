//! OTLP export as a collector sees it: `pax8` with OTEL_EXPORTER_OTLP_ENDPOINT posts its spans
//! (OTLP/HTTP, protobuf) to `/v1/traces` on a collector on 127.0.0.1 before it exits.
#![cfg(feature = "otlp")]

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::HeaderMap;

type Received = Arc<Mutex<Vec<(String, String, Vec<u8>)>>>;

async fn collector() -> (String, Received) {
    let received: Received = Arc::default();
    let store = received.clone();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri, headers: HeaderMap, body: Bytes| {
        let store = store.clone();
        async move {
            let kind = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
            store.lock().unwrap().push((uri.path().to_string(), kind, body.to_vec()));
            ([("content-type", "application/x-protobuf")], Vec::<u8>::new())
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (address, received)
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread")]
async fn spans_are_exported_to_the_collector_before_the_command_exits() {
    let (endpoint, received) = collector().await;
    let config = tempfile::tempdir().unwrap();
    let mut command = tokio::process::Command::new(assert_cmd::cargo::cargo_bin("pax8"));
    command
        .args(["--sandbox", "companies", "list"])
        .env("PAX8_CONFIG_DIR", config.path())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env_remove("OTEL_SERVICE_NAME")
        .env_remove("RUST_LOG");
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), command.output()).await.unwrap().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Without -v nothing is logged on stderr; the spans go to the collector all the same.
    assert!(!String::from_utf8_lossy(&out.stderr).contains("pax8.request"));
    let received = received.lock().unwrap();
    assert!(!received.is_empty(), "no export arrived");
    for (path, kind, _) in received.iter() {
        assert_eq!((path.as_str(), kind.as_str()), ("/v1/traces", "application/x-protobuf"));
    }
    let body: Vec<u8> = received.iter().flat_map(|(_, _, body)| body.clone()).collect();
    for expected in ["pax8.request", "findCompanies", "operation", "service.name", "pax8"] {
        assert!(contains(&body, expected), "`{expected}` not in the exported spans");
    }
    // No span field carries the credentials' names or values (the span fields are the operation's).
    assert!(!contains(&body, "client_secret"));
}
