//! The simulator holds Pax8's rules for changing and cancelling a subscription: what an update
//! must carry and may set, a cancel now or on a later date, what a cancelled subscription still
//! accepts, and the history each change leaves. Plain HTTP against the embedded simulator.

mod support;

use pax8_sandbox::{Sandbox, SandboxConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn new(sandbox: &Sandbox) -> Api {
        let http = reqwest::Client::new();
        let token = support::access_token(&http, sandbox).await;
        Api { http, base: sandbox.base_url().to_string(), token }
    }

    /// Sends one request; the status and the JSON body (Null when there is none).
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let bytes = response.bytes().await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn update(&self, id: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::PUT, &format!("/v1/subscriptions/{id}"), Some(body)).await
    }

    async fn cancel(&self, id: &str, query: &str) -> StatusCode {
        self.send(reqwest::Method::DELETE, &format!("/v1/subscriptions/{id}{query}"), None).await.0
    }

    /// A webhook subscribed to `topic` alone, delivering to a port where nothing listens (each
    /// delivery is still logged when it starts); its id.
    async fn webhook(&self, topic: &str) -> String {
        let body = json!({"displayName": topic, "url": "http://127.0.0.1:9/hook", "active": true,
            "webhookTopics": [{"topic": topic, "filters": []}]});
        let (status, hook) = self.send(reqwest::Method::POST, "/api/v2/webhooks", Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{hook}");
        hook["id"].as_str().unwrap().to_string()
    }

    /// How many deliveries the webhook has logged.
    async fn deliveries(&self, webhook: &str) -> usize {
        let (status, logs) =
            self.send(reqwest::Method::GET, &format!("/api/v2/webhooks/{webhook}/logs?size=50"), None).await;
        assert_eq!(status, StatusCode::OK, "{logs}");
        logs["content"].as_array().unwrap().len()
    }

    async fn get(&self, id: &str) -> Value {
        let (status, body) = self.send(reqwest::Method::GET, &format!("/v1/subscriptions/{id}"), None).await;
        assert_eq!(status, StatusCode::OK);
        body
    }
}

/// A simulator and the ids of three of its active subscriptions.
async fn start() -> (Sandbox, Api, [String; 3]) {
    let sandbox = Sandbox::start(SandboxConfig {
        companies: 10,
        today: Some(chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()),
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let ids: Vec<String> = sandbox.with_world(|w| {
        w.subscriptions
            .iter()
            .filter(|s| s.status.as_ref().is_some_and(|x| x.as_str() == "Active"))
            .take(3)
            .map(|s| s.id.unwrap().to_string())
            .collect()
    });
    let api = Api::new(&sandbox).await;
    (sandbox, api, [ids[0].clone(), ids[1].clone(), ids[2].clone()])
}

#[tokio::test(flavor = "multi_thread")]
async fn an_update_needs_a_field_and_takes_only_whole_non_negative_quantities_and_prices() {
    let (_sandbox, api, [id, ..]) = start().await;
    let before = api.get(&id).await;
    for (body, field) in [
        (json!({}), "body"),
        (json!({"quantity": -1}), "quantity"),
        (json!({"quantity": -1.5}), "quantity"),
        (json!({"quantity": 2.5}), "quantity"),
        (json!({"price": -0.01}), "price"),
    ] {
        let (status, error) = api.update(&id, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(error["details"][0]["field"], field, "{body}: {error}");
    }
    assert_eq!(api.get(&id).await["quantity"], before["quantity"], "a refused update changes nothing");

    // Zero seats and a zero price are allowed (a subscription kept with nobody on it).
    let (status, updated) = api.update(&id, json!({"quantity": 0, "price": 0})).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!((updated["quantity"].as_f64(), updated["price"].as_f64()), (Some(0.0), Some(0.0)));

    let (status, updated) = api.update(&id, json!({"quantity": 7, "price": 12.5, "billingTerm": "Annual"})).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    let stored = api.get(&id).await;
    assert_eq!(stored["quantity"].as_f64(), Some(7.0));
    assert_eq!(stored["price"].as_f64(), Some(12.5));
    assert_eq!(stored["billingTerm"], "Annual");

    // Each accepted change leaves the state before it in the history; refusals leave none.
    let (status, history) = api.send(reqwest::Method::GET, &format!("/v1/subscriptions/{id}/history"), None).await;
    assert_eq!(status, StatusCode::OK);
    let quantities: Vec<_> = history["content"].as_array().unwrap().iter().map(|h| h["quantity"].as_f64()).collect();
    assert_eq!(quantities, [before["quantity"].as_f64(), Some(0.0)]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancel_on_a_later_date_is_pending_until_then_and_a_cancelled_subscription_takes_no_change() {
    let (_sandbox, api, [later, now, past]) = start().await;
    let (updated_hook, cancelled_hook) =
        (api.webhook("SUBSCRIPTION_UPDATED").await, api.webhook("SUBSCRIPTION_CANCELLED").await);
    let topics = async || (api.deliveries(&updated_hook).await, api.deliveries(&cancelled_hook).await);

    // A cancel on a later date is an update (PendingCancel until then), and says so.
    assert_eq!(api.cancel(&later, "?cancelDate=2099-01-31T00:00:00Z").await, StatusCode::NO_CONTENT);
    let pending = api.get(&later).await;
    assert_eq!(pending["status"], "PendingCancel");
    assert!(pending["endDate"].as_str().unwrap().starts_with("2099-01-31"), "{pending}");
    assert_eq!(topics().await, (1, 0));
    // A pending cancel can still change, and can be cancelled at once.
    assert_eq!(api.update(&later, json!({"quantity": 3})).await.0, StatusCode::OK);
    assert_eq!(api.cancel(&later, "").await, StatusCode::NO_CONTENT);
    assert_eq!(api.get(&later).await["status"], "Cancelled");
    assert_eq!(topics().await, (2, 1));

    // Without a date, or with a date already past, the cancel is immediate.
    for (id, query) in [(&now, ""), (&past, "?cancelDate=2020-01-01T00:00:00Z")] {
        assert_eq!(api.cancel(id, query).await, StatusCode::NO_CONTENT);
        let cancelled = api.get(id).await;
        assert_eq!(cancelled["status"], "Cancelled", "{query}");
        assert!(!cancelled["endDate"].as_str().unwrap().starts_with("2020"), "ends now, not on the past date");
    }
    assert_eq!(topics().await, (2, 3));

    // A cancelled subscription refuses another cancel and any update.
    assert_eq!(api.cancel(&now, "").await, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, error) = api.update(&now, json!({"quantity": 5})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["details"][0]["field"], "status");

    let unknown = uuid::Uuid::new_v4().to_string();
    assert_eq!(api.cancel(&unknown, "").await, StatusCode::NOT_FOUND);
    assert_eq!(api.update(&unknown, json!({"quantity": 5})).await.0, StatusCode::NOT_FOUND);
}
