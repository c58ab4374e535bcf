//! Webhook deliveries, as Pax8 makes them: when a subscription or a company changes through the
//! API, every active webhook subscribed to the topic receives a POST with its configured
//! `Authorization` header and a JSON event: the webhooks document's `WebhookPayload` (`id`,
//! `accountId`, `url`, `webhookId`, `sentAt`, `webhookTopic` with the matched topic's id and
//! filters, `payloadData`), built as the generated type. An answer other than 2xx, or none within 10 seconds (Pax8 marks a delivery failed
//! after 10 s), is retried after 1, 2, 4 and 8 seconds (five attempts in all: our schedule; Pax8
//! documents automatic retries and an error threshold, not their timing). Every attempt is
//! recorded in the webhook's delivery log.

use std::time::Duration;

use pax8_api::webhooks::types::{
    WebhookCall, WebhookDeliveryStatus, WebhookEventTopic, WebhookLog, WebhookPayload, WebhookTopic,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::app::App;

/// Attempts per event, the first included.
pub const ATTEMPTS: u32 = 5;
/// The wait before the first retry; each next one doubles.
pub const FIRST_RETRY: Duration = Duration::from_secs(1);
/// How long an attempt may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// A webhook that wants `topic`, as a delivery needs it.
struct Target {
    webhook_id: Uuid,
    account_id: Uuid,
    name: String,
    url: String,
    authorization: Option<String>,
    topics: Vec<WebhookTopic>,
}

impl Target {
    /// Where and how `webhook` is delivered to (none without a URL).
    fn of(webhook: &pax8_api::webhooks::types::Webhook) -> Option<Target> {
        Some(Target {
            webhook_id: webhook.id,
            account_id: webhook.account_id,
            name: webhook.display_name.clone(),
            url: webhook.url.clone()?,
            authorization: webhook.authorization.as_ref().map(|a| a.expose().to_string()),
            topics: webhook.webhook_topics.clone(),
        })
    }

    /// The body of one event of `topic` to this webhook (the topic's configuration when it is
    /// subscribed to it: a test delivery may be of another).
    fn event(&self, app: &App, topic: &str, payload: Map<String, Value>) -> Value {
        let matched = self.topics.iter().find(|t| t.topic == topic);
        let event = WebhookPayload {
            id: Some(app.new_id().to_string()),
            account_id: Some(self.account_id),
            url: Some(self.url.clone()),
            webhook_id: Some(self.webhook_id),
            sent_at: Some(app.now()),
            webhook_topic: WebhookEventTopic {
                id: matched.map(|t| t.id),
                topic: topic.to_string(),
                filters: matched.map(|t| t.filters.clone()).unwrap_or_default(),
            },
            payload_data: payload,
        };
        serde_json::to_value(event).unwrap_or_default()
    }
}

/// Delivers `topic` with `payload` to every active webhook subscribed to it (in the background).
pub(crate) fn emit(app: &App, topic: &str, payload: Map<String, Value>) {
    let targets: Vec<Target> = {
        let store = app.0.webhooks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        store
            .webhooks
            .iter()
            .filter(|w| w.active && w.webhook_topics.iter().any(|t| t.topic == topic))
            .filter_map(Target::of)
            .collect()
    };
    for target in targets {
        let log_id = app.new_id();
        let event = target.event(app, topic, payload.clone());
        start_log(app, &target, log_id);
        tokio::spawn(deliver(app.clone(), target, log_id, event));
    }
}

/// A test delivery of `topic` with `payload` to one webhook, subscribed to it or not; the id of
/// its log entry.
pub(crate) fn test(app: &App, webhook_id: Uuid, topic: &str, payload: Map<String, Value>) -> Option<Uuid> {
    let target = target(app, webhook_id)?;
    let log_id = app.new_id();
    let event = target.event(app, topic, payload);
    start_log(app, &target, log_id);
    tokio::spawn(deliver(app.clone(), target, log_id, event));
    Some(log_id)
}

fn target(app: &App, webhook_id: Uuid) -> Option<Target> {
    let store = app.0.webhooks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    store.webhooks.iter().find(|w| w.id == webhook_id).and_then(Target::of)
}

/// Delivers an event once more under its existing log entry (the retry endpoint).
pub(crate) fn redeliver(app: &App, webhook_id: Uuid, log_id: Uuid, event: Value) {
    if let Some(target) = target(app, webhook_id) {
        tokio::spawn(deliver(app.clone(), target, log_id, event));
    }
}

/// A log entry for one event, pending until its first attempt ends.
fn start_log(app: &App, target: &Target, log_id: Uuid) {
    let log = WebhookLog {
        id: log_id,
        webhook_id: target.webhook_id,
        webhook_name: target.name.clone(),
        created_at: app.now(),
        final_status: WebhookDeliveryStatus::Pending,
        ..Default::default()
    };
    let mut store = app.0.webhooks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    store.logs.entry(target.webhook_id).or_default().push(log);
}

async fn deliver(app: App, target: Target, log_id: Uuid, event: Value) {
    let http = reqwest::Client::builder().timeout(ATTEMPT_TIMEOUT).build().unwrap_or_default();
    let payload = event.as_object().cloned().unwrap_or_default();
    let mut wait = FIRST_RETRY;
    for attempt in 1..=ATTEMPTS {
        let mut request = http.post(&target.url).json(&event);
        if let Some(authorization) = &target.authorization {
            request = request.header(reqwest::header::AUTHORIZATION, authorization);
        }
        let (status, code, error) = match request.send().await {
            Ok(response) if response.status().is_success() => {
                (WebhookDeliveryStatus::Success, Some(i32::from(response.status().as_u16())), None)
            }
            Ok(response) => (
                WebhookDeliveryStatus::Failed,
                Some(i32::from(response.status().as_u16())),
                Some(format!("answered HTTP {}", response.status().as_u16())),
            ),
            Err(e) => (
                WebhookDeliveryStatus::Failed,
                None,
                Some(if e.is_timeout() { "timed out".into() } else { e.to_string() }),
            ),
        };
        let delivered = status == WebhookDeliveryStatus::Success;
        let last = attempt == ATTEMPTS;
        record(&app, &target, log_id, &payload, status, code, error, delivered || last);
        if delivered || last {
            return;
        }
        tokio::time::sleep(wait).await;
        wait = wait.saturating_mul(2);
    }
}

#[allow(clippy::too_many_arguments)]
fn record(
    app: &App,
    target: &Target,
    log_id: Uuid,
    payload: &Map<String, Value>,
    status: WebhookDeliveryStatus,
    code: Option<i32>,
    error: Option<String>,
    done: bool,
) {
    let now = app.now();
    let call = WebhookCall {
        id: app.new_id(),
        timestamp: now,
        status: status.clone(),
        http_status_code: code,
        error_message: error,
        payload: payload.clone(),
        ..Default::default()
    };
    let mut store = app.0.webhooks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let delivered = status == WebhookDeliveryStatus::Success;
    if let Some(webhook) = store.webhooks.iter_mut().find(|w| w.id == target.webhook_id) {
        webhook.last_delivery_status = Some(crate::http::convert(&status));
    }
    if let Some(log) = store.logs.get_mut(&target.webhook_id).and_then(|l| l.iter_mut().find(|l| l.id == log_id)) {
        log.call_history.push(call);
        log.final_status = match (delivered, done) {
            (true, _) => WebhookDeliveryStatus::Success,
            (false, true) => WebhookDeliveryStatus::Failed,
            (false, false) => WebhookDeliveryStatus::Retrying,
        };
    }
}
