//! Webhooks API v2 routes: webhooks, topics, test deliveries, logs, retries.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query as AxumQuery, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use pax8_api::webhooks::types::{
    AddWebhookTopic, CreateWebhook, Page, ReplaceWebhookTopics, TopicDefinition, TopicDefinitionPagedResult,
    UpdateWebhookConfiguration, UpdateWebhookStatus, UpdateWebhookTopicConfiguration, Webhook, WebhookLog,
    WebhookLogPagedResult, WebhookPagedResult, WebhookPayload, WebhookTest, WebhookTopic,
};
use serde_json::json;
use uuid::Uuid;

use crate::app::App;
use crate::http::{Query, body, convert, invalid, not_found, ok, path_id, slice};
use crate::tri;

/// The sandbox partner account.
pub(crate) const ACCOUNT: Uuid = Uuid::from_u128(0x5a4d_b0c5_0000_4000_8000_0000_0000_0001);

/// Topics the sandbox offers.
pub const TOPICS: [(&str, &str); 7] = [
    ("SUBSCRIPTION_CREATED", "A subscription was created"),
    ("SUBSCRIPTION_UPDATED", "A subscription changed (quantity, price, term)"),
    ("SUBSCRIPTION_CANCELLED", "A subscription was cancelled"),
    ("COMPANY_CREATED", "A company was created"),
    ("COMPANY_UPDATED", "A company changed"),
    ("ORDER_CREATED", "An order was placed"),
    ("INVOICE_CREATED", "An invoice was issued"),
];

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/api/v2/webhooks", get(list).post(create))
        .route("/api/v2/webhooks/topic-definitions", get(topic_definitions))
        .route("/api/v2/webhooks/{id}", get(get_one).delete(remove))
        .route("/api/v2/webhooks/{id}/configuration", post(configure))
        .route("/api/v2/webhooks/{id}/status", post(status))
        .route("/api/v2/webhooks/{id}/topics", post(add_topic).put(replace_topics))
        .route("/api/v2/webhooks/{id}/topics/{topic}", delete(remove_topic))
        .route("/api/v2/webhooks/{id}/topics/{topic}/configuration", post(configure_topic))
        .route("/api/v2/webhooks/{id}/topics/{topic}/test", post(test))
        .route("/api/v2/webhooks/{id}/logs", get(logs))
        .route("/api/v2/webhooks/{id}/logs/{log}", get(log))
        .route("/api/v2/webhooks/{id}/logs/{log}/retry", post(retry))
}

fn page(number: i64, size: i64, total: i64, pages: i64) -> Page {
    let narrow = |n: i64| i32::try_from(n).unwrap_or(i32::MAX);
    Page {
        number: narrow(number),
        size: narrow(size),
        total_elements: total,
        total_pages: narrow(pages),
        ..Default::default()
    }
}

fn topics(app: &App, add: &[AddWebhookTopic], instance: &str) -> Result<Vec<WebhookTopic>, Response> {
    add.iter()
        .map(|t| {
            if !TOPICS.iter().any(|(name, _)| *name == t.topic) {
                return Err(invalid("topic", format!("unknown topic `{}`", t.topic), instance));
            }
            Ok(WebhookTopic {
                id: app.new_id(),
                topic: t.topic.clone(),
                filters: t.filters.iter().map(convert).collect(),
                ..Default::default()
            })
        })
        .collect()
}

async fn list(State(app): State<App>, uri: Uri, AxumQuery(params): AxumQuery<HashMap<String, String>>) -> Response {
    let q = Query { params: &params, instance: uri.path() };
    let (number, size) = tri!(q.paging(0, 200, "size"));
    let active = tri!(q.bool("active"));
    let store = app.0.webhooks.lock().expect("webhooks lock");
    let items: Vec<Webhook> = store
        .webhooks
        .iter()
        .filter(|w| {
            active.is_none_or(|a| w.active == a)
                && q.str("topic").is_none_or(|t| w.webhook_topics.iter().any(|x| x.topic == t))
                && q.str("query").is_none_or(|s| w.display_name.to_lowercase().contains(&s.to_lowercase()))
        })
        .cloned()
        .collect();
    let (content, total, pages) = slice(&items, number, size);
    ok(&WebhookPagedResult { content, page: page(number, size, total, pages), ..Default::default() })
}

async fn create(State(app): State<App>, uri: Uri, bytes: Bytes) -> Response {
    let new: CreateWebhook = tri!(body(&bytes, uri.path()));
    if new.display_name.trim().is_empty() {
        return invalid("displayName", "must not be empty", uri.path());
    }
    if let Some(url) = &new.url
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        return invalid("url", "must be an http(s) URL", uri.path());
    }
    let webhook_topics = tri!(topics(&app, &new.webhook_topics, uri.path()));
    let now = app.now();
    let webhook = Webhook {
        id: app.new_id(),
        account_id: ACCOUNT,
        active: new.active,
        authorization: new.authorization,
        contact_email: new.contact_email,
        created_at: now,
        updated_at: now,
        display_name: new.display_name,
        error_threshold: new.error_threshold,
        integration_id: new.integration_id,
        last_delivery_status: None,
        url: new.url,
        webhook_topics,
        ..Default::default()
    };
    app.0.webhooks.lock().expect("webhooks lock").webhooks.push(webhook.clone());
    ok(&webhook)
}

fn with_webhook(app: &App, id: &str, uri: &Uri, f: impl FnOnce(&mut Webhook) -> Result<(), Response>) -> Response {
    let id = tri!(path_id(id, "webhook", uri.path()));
    let now = app.now();
    let mut store = app.0.webhooks.lock().expect("webhooks lock");
    let Some(w) = store.webhooks.iter_mut().find(|w| w.id == id) else {
        return not_found("webhook", &id.to_string(), uri.path());
    };
    tri!(f(w));
    w.updated_at = now;
    ok(&*w)
}

async fn get_one(State(app): State<App>, uri: Uri, Path(id): Path<String>) -> Response {
    with_webhook(&app, &id, &uri, |_| Ok(()))
}

async fn remove(State(app): State<App>, uri: Uri, Path(id): Path<String>) -> Response {
    let id = tri!(path_id(&id, "webhook", uri.path()));
    let mut store = app.0.webhooks.lock().expect("webhooks lock");
    let before = store.webhooks.len();
    store.webhooks.retain(|w| w.id != id);
    if store.webhooks.len() == before {
        return not_found("webhook", &id.to_string(), uri.path());
    }
    store.logs.remove(&id);
    StatusCode::NO_CONTENT.into_response()
}

async fn configure(State(app): State<App>, uri: Uri, Path(id): Path<String>, bytes: Bytes) -> Response {
    let config: UpdateWebhookConfiguration = tri!(body(&bytes, uri.path()));
    with_webhook(&app, &id, &uri, |w| {
        if let Some(name) = config.display_name {
            w.display_name = name;
        }
        if config.url.is_some() {
            w.url = config.url;
        }
        if config.authorization.is_some() {
            w.authorization = config.authorization;
        }
        if config.contact_email.is_some() {
            w.contact_email = config.contact_email;
        }
        w.error_threshold = config.error_threshold;
        Ok(())
    })
}

async fn status(State(app): State<App>, uri: Uri, Path(id): Path<String>, bytes: Bytes) -> Response {
    let update: UpdateWebhookStatus = tri!(body(&bytes, uri.path()));
    with_webhook(&app, &id, &uri, |w| {
        w.active = update.active;
        Ok(())
    })
}

async fn add_topic(State(app): State<App>, uri: Uri, Path(id): Path<String>, bytes: Bytes) -> Response {
    let add: AddWebhookTopic = tri!(body(&bytes, uri.path()));
    let new = tri!(topics(&app, std::slice::from_ref(&add), uri.path()));
    with_webhook(&app, &id, &uri, |w| {
        if w.webhook_topics.iter().any(|t| t.topic == add.topic) {
            return Err(invalid("topic", format!("already subscribed to `{}`", add.topic), uri.path()));
        }
        w.webhook_topics.extend(new);
        Ok(())
    })
}

async fn replace_topics(State(app): State<App>, uri: Uri, Path(id): Path<String>, bytes: Bytes) -> Response {
    let replace: ReplaceWebhookTopics = tri!(body(&bytes, uri.path()));
    let new = tri!(topics(&app, &replace.webhook_topics, uri.path()));
    with_webhook(&app, &id, &uri, |w| {
        w.webhook_topics = new;
        Ok(())
    })
}

async fn remove_topic(State(app): State<App>, uri: Uri, Path((id, topic)): Path<(String, String)>) -> Response {
    let topic_id = tri!(path_id(&topic, "topic", uri.path()));
    let response = with_webhook(&app, &id, &uri, |w| {
        let before = w.webhook_topics.len();
        w.webhook_topics.retain(|t| t.id != topic_id);
        if w.webhook_topics.len() == before {
            return Err(not_found("topic", &topic_id.to_string(), uri.path()));
        }
        Ok(())
    });
    if response.status().is_success() { StatusCode::NO_CONTENT.into_response() } else { response }
}

async fn configure_topic(
    State(app): State<App>,
    uri: Uri,
    Path((id, topic)): Path<(String, String)>,
    bytes: Bytes,
) -> Response {
    let topic_id = tri!(path_id(&topic, "topic", uri.path()));
    let config: UpdateWebhookTopicConfiguration = tri!(body(&bytes, uri.path()));
    with_webhook(&app, &id, &uri, |w| {
        let Some(t) = w.webhook_topics.iter_mut().find(|t| t.id == topic_id) else {
            return Err(not_found("topic", &topic_id.to_string(), uri.path()));
        };
        t.filters = config.filters.iter().map(convert).collect();
        Ok(())
    })
}

fn sample(topic: &str) -> serde_json::Map<String, serde_json::Value> {
    let data = json!({
        "topic": topic,
        "subscriptionId": "5f7c1e0e-0000-4000-8000-000000000001",
        "companyId": "2aa4862a-9474-4138-9863-4f0a8e4cec74",
        "quantity": 10
    });
    data.as_object().expect("object").clone()
}

async fn test(State(app): State<App>, uri: Uri, Path((id, topic)): Path<(String, String)>) -> Response {
    let id = tri!(path_id(&id, "webhook", uri.path()));
    if !TOPICS.iter().any(|(name, _)| *name == topic) {
        return invalid("topic", format!("unknown topic `{topic}`"), uri.path());
    }
    let webhook = {
        let store = app.0.webhooks.lock().expect("webhooks lock");
        let Some(w) = store.webhooks.iter().find(|w| w.id == id) else {
            return not_found("webhook", &id.to_string(), uri.path());
        };
        w.clone()
    };
    // A real delivery, in the background; its outcome is in the webhook's logs.
    crate::deliveries::test(&app, id, &topic, sample(&topic));
    ok(&WebhookTest {
        sample_payload: sample(&topic),
        url: webhook.url.clone().unwrap_or_default(),
        webhook,
        ..Default::default()
    })
}

async fn logs(
    State(app): State<App>,
    uri: Uri,
    Path(id): Path<String>,
    AxumQuery(params): AxumQuery<HashMap<String, String>>,
) -> Response {
    let q = Query { params: &params, instance: uri.path() };
    let id = tri!(path_id(&id, "webhook", uri.path()));
    let (number, size) = tri!(q.paging(0, 200, "size"));
    let store = app.0.webhooks.lock().expect("webhooks lock");
    if !store.webhooks.iter().any(|w| w.id == id) {
        return not_found("webhook", &id.to_string(), uri.path());
    }
    let items: Vec<WebhookLog> = store
        .logs
        .get(&id)
        .into_iter()
        .flatten()
        .filter(|l| q.str("status").is_none_or(|s| l.final_status.as_str() == s))
        .cloned()
        .collect();
    let (content, total, pages) = slice(&items, number, size);
    ok(&WebhookLogPagedResult { content, page: page(number, size, total, pages), ..Default::default() })
}

async fn log(State(app): State<App>, uri: Uri, Path((id, log)): Path<(String, String)>) -> Response {
    let id = tri!(path_id(&id, "webhook", uri.path()));
    let log_id = tri!(path_id(&log, "log", uri.path()));
    let store = app.0.webhooks.lock().expect("webhooks lock");
    match store.logs.get(&id).and_then(|l| l.iter().find(|x| x.id == log_id)) {
        Some(l) => ok(l),
        None => not_found("log", &log_id.to_string(), uri.path()),
    }
}

async fn retry(State(app): State<App>, uri: Uri, Path((id, log)): Path<(String, String)>) -> Response {
    let id = tri!(path_id(&id, "webhook", uri.path()));
    let log_id = tri!(path_id(&log, "log", uri.path()));
    let event = {
        let store = app.0.webhooks.lock().expect("webhooks lock");
        let Some(entry) = store.logs.get(&id).and_then(|l| l.iter().find(|x| x.id == log_id)) else {
            return not_found("log", &log_id.to_string(), uri.path());
        };
        entry.call_history.last().map(|c| serde_json::Value::Object(c.payload.clone())).unwrap_or_default()
    };
    // Delivered again for real, under the same log entry.
    crate::deliveries::redeliver(&app, id, log_id, event);
    StatusCode::ACCEPTED.into_response()
}

async fn topic_definitions(
    State(app): State<App>,
    uri: Uri,
    AxumQuery(params): AxumQuery<HashMap<String, String>>,
) -> Response {
    let q = Query { params: &params, instance: uri.path() };
    let (number, size) = tri!(q.paging(0, 200, "size"));
    let now = app.now();
    let items: Vec<TopicDefinition> = TOPICS
        .iter()
        .filter(|(name, description)| {
            q.str("topic").is_none_or(|t| *name == t)
                && q.str("search").is_none_or(|s| {
                    let s = s.to_lowercase();
                    name.to_lowercase().contains(&s) || description.to_lowercase().contains(&s)
                })
        })
        .map(|(name, description)| TopicDefinition {
            topic: (*name).into(),
            name: name.replace('_', " ").to_lowercase(),
            description: (*description).into(),
            available_filters: vec![],
            sample_payload: WebhookPayload {
                account_id: ACCOUNT,
                payload_data: sample(name),
                sent_at: now,
                url: "https://example.invalid/webhook".into(),
                webhook_id: Uuid::nil(),
                webhook_topic: WebhookTopic {
                    id: Uuid::nil(),
                    topic: (*name).into(),
                    filters: vec![],
                    ..Default::default()
                },
                ..Default::default()
            },
            ..Default::default()
        })
        .collect();
    let (content, total, pages) = slice(&items, number, size);
    ok(&TopicDefinitionPagedResult {
        content,
        number: i32::try_from(number).unwrap_or(i32::MAX),
        size: i32::try_from(size).unwrap_or(i32::MAX),
        total_elements: total,
        total_pages: i32::try_from(pages).unwrap_or(i32::MAX),
        ..Default::default()
    })
}
