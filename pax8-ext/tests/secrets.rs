//! Secrets never reach Debug, Display, logs or errors. A test binary of its own: tracing's
//! per-callsite interest cache is process-wide, so a subscriber set here must be the first.

mod support;

use pax8_ext::Pax8Client;
use serde_json::json;
use support::{ScriptServer, Step};

const COMPANY: &str = "2aa4862a-9474-4138-9863-4f0a8e4cec74";

/// Collects everything tracing prints.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn secrets_never_appear_in_debug_display_logs_or_errors() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = ScriptServer::start().await;
    server.script([Step::json(401, json!({"type": "UNAUTHORIZED"})), Step::json(503, json!({}))]);
    server.fallback(Step::json(200, json!({"id": COMPANY, "name": "Globex", "address": {}})));
    let builder = Pax8Client::builder()
        .client_id("test-id")
        .client_secret("s3cr3t-value")
        .base_url(&server.base_url)
        .http_client(reqwest::Client::new())
        .no_rate_limit();
    let client = builder.clone().build().unwrap();
    client.companies().get(COMPANY.parse().unwrap()).await.unwrap();
    let err = Pax8Client::builder().client_id("x").client_secret("s3cr3t-value").audience("bad").build().unwrap_err();
    let token = pax8_ext::AccessToken {
        token: pax8_ext::SecretString::new("tok3n-1"),
        issued_at: std::time::SystemTime::now(),
        expires_at: std::time::SystemTime::now(),
    };
    let request = pax8_api::TokenRequest {
        client_id: "id".into(),
        client_secret: "s3cr3t-value".into(),
        audience: "https://api.pax8.com".into(),
        grant_type: "client_credentials".into(),
    };
    let webhook: pax8_api::webhooks::types::CreateWebhook =
        serde_json::from_value(json!({"active": true, "authorization": "Bearer wh00k-secret", "displayName": "w",
            "errorThreshold": 3, "webhookTopics": []}))
        .unwrap();
    let printed = format!(
        "{client:?} {builder:?} {err} {err:?} {token:?} {request:?} {webhook:?} {} {:?}",
        token.token, token.token
    );

    // Token responses that do not decode, cut short, or carry an error beside the token: the
    // token is never echoed, whatever fails.
    let mut failures = String::new();
    for bad in [
        Step::json(200, json!({"access_token": 12, "note": "eyJ-leaked-1"})),
        Step::json(200, json!({"token": "eyJ-leaked-2"})),
        Step::Cut { status: 200, body: r#"{"token_type":"Bearer","access_token":"eyJ-leaked-3"#.into() },
        Step::text(500, "text/plain", "access_token=eyJ-leaked-4&expires_in=1"),
        Step::json(400, json!({"error": "invalid_request", "access_token": "eyJ-leaked-5"})),
    ] {
        let server = ScriptServer::start().await;
        server.script_token([bad.clone(), bad.clone(), bad.clone(), bad]);
        let client = builder
            .clone()
            .base_url(&server.base_url)
            .retry_policy(pax8_ext::RetryPolicy::attempts(2))
            .build()
            .unwrap();
        let err = client.companies().get(COMPANY.parse().unwrap()).await.unwrap_err();
        failures.push_str(&format!("{err} {err:?}\n"));
    }

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("pax8.request"), "the calls were traced: {logs}");
    assert!(!failures.contains("eyJ"), "a token was echoed: {failures}");
    assert!(!logs.contains("eyJ"), "a token was logged: {logs}");
    for secret in ["s3cr3t-value", "tok3n-1", "tok3n-2", "wh00k-secret"] {
        assert!(!printed.contains(secret), "{secret} printed: {printed}");
        assert!(!logs.contains(secret), "{secret} logged: {logs}");
    }
    assert_eq!(server.tokens_issued(), 2, "the 401 caused one refresh");
}
