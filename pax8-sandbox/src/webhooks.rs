//! Webhooks API v2 routes: webhooks, topics, test deliveries, logs, retries.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query as AxumQuery, State};
use axum::http::{StatusCode, Uri};
use axum::routing::{delete, get, post};
use pax8_api::webhooks::types::{
    AddWebhookTopic, CreateWebhook, Page, ReplaceWebhookTopics, TopicDefinition, TopicDefinitionPagedResult,
    UpdateWebhookConfiguration, UpdateWebhookStatus, UpdateWebhookTopicConfiguration, Webhook, WebhookEventTopic,
    WebhookLog, WebhookLogPagedResult, WebhookPagedResult, WebhookPayload, WebhookTest, WebhookTopic,
};
use serde_json::json;
use uuid::Uuid;

use crate::app::App;
use crate::http::{Answer, ApiError, Query, body, convert, empty, invalid, not_found, ok, path_id, slice};

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

fn topics(app: &App, add: &[AddWebhookTopic], instance: &str) -> Result<Vec<WebhookTopic>, ApiError> {
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

async fn list(State(app): State<App>, uri: Uri, AxumQuery(params): AxumQuery<HashMap<String, String>>) -> Answer {
    let q = Query { params: &params, instance: uri.path() };
    let (number, size) = q.paging(0, 200, "size")?;
    let active = q.bool("active")?;
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

async fn create(State(app): State<App>, uri: Uri, bytes: Bytes) -> Answer {
    let new: CreateWebhook = body(&bytes, uri.path())?;
    if new.display_name.trim().is_empty() {
        return Err(invalid("displayName", "must not be empty", uri.path()));
    }
    if let Some(url) = &new.url
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        return Err(invalid("url", "must be an http(s) URL", uri.path()));
    }
    let webhook_topics = topics(&app, &new.webhook_topics, uri.path())?;
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

/// Changes one webhook through `f` and returns it as stored after the change.
fn with_webhook(
    app: &App,
    id: &str,
    uri: &Uri,
    f: impl FnOnce(&mut Webhook) -> Result<(), ApiError>,
) -> Result<Webhook, ApiError> {
    let id = path_id(id, "webhook", uri.path())?;
    let now = app.now();
    let mut store = app.0.webhooks.lock().expect("webhooks lock");
    let Some(w) = store.webhooks.iter_mut().find(|w| w.id == id) else {
        return Err(not_found("webhook", &id.to_string(), uri.path()));
    };
    f(w)?;
    w.updated_at = now;
    Ok(w.clone())
}

async fn get_one(State(app): State<App>, uri: Uri, Path(id): Path<String>) -> Answer {
    ok(&with_webhook(&app, &id, &uri, |_| Ok(()))?)
}

async fn remove(State(app): State<App>, uri: Uri, Path(id): Path<String>) -> Answer {
    let id = path_id(&id, "webhook", uri.path())?;
    let mut store = app.0.webhooks.lock().expect("webhooks lock");
    let before = store.webhooks.len();
    store.webhooks.retain(|w| w.id != id);
    if store.webhooks.len() == before {
        return Err(not_found("webhook", &id.to_string(), uri.path()));
    }
    store.logs.remove(&id);
    empty(StatusCode::NO_CONTENT)
}

async fn configure(State(app): State<App>, uri: Uri, Path(id): Path<String>, bytes: Bytes) -> Answer {
    let config: UpdateWebhookConfiguration = body(&bytes, uri.path())?;
    let webhook = with_webhook(&app, &id, &uri, |w| {
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
    })?;
    ok(&webhook)
}

async fn status(State(app): State<App>, uri: Uri, Path(id): Path<String>, bytes: Bytes) -> Answer {
    let update: UpdateWebhookStatus = body(&bytes, uri.path())?;
    let webhook = with_webhook(&app, &id, &uri, |w| {
        w.active = update.active;
        Ok(())
    })?;
    ok(&webhook)
}

async fn add_topic(State(app): State<App>, uri: Uri, Path(id): Path<String>, bytes: Bytes) -> Answer {
    let add: AddWebhookTopic = body(&bytes, uri.path())?;
    let new = topics(&app, std::slice::from_ref(&add), uri.path())?;
    let webhook = with_webhook(&app, &id, &uri, |w| {
        if w.webhook_topics.iter().any(|t| t.topic == add.topic) {
            return Err(invalid("topic", format!("already subscribed to `{}`", add.topic), uri.path()));
        }
        w.webhook_topics.extend(new);
        Ok(())
    })?;
    ok(&webhook)
}

async fn replace_topics(State(app): State<App>, uri: Uri, Path(id): Path<String>, bytes: Bytes) -> Answer {
    let replace: ReplaceWebhookTopics = body(&bytes, uri.path())?;
    let new = topics(&app, &replace.webhook_topics, uri.path())?;
    let webhook = with_webhook(&app, &id, &uri, |w| {
        w.webhook_topics = new;
        Ok(())
    })?;
    ok(&webhook)
}

async fn remove_topic(State(app): State<App>, uri: Uri, Path((id, topic)): Path<(String, String)>) -> Answer {
    let topic_id = path_id(&topic, "topic", uri.path())?;
    with_webhook(&app, &id, &uri, |w| {
        let before = w.webhook_topics.len();
        w.webhook_topics.retain(|t| t.id != topic_id);
        if w.webhook_topics.len() == before {
            return Err(not_found("topic", &topic_id.to_string(), uri.path()));
        }
        Ok(())
    })?;
    empty(StatusCode::NO_CONTENT)
}

async fn configure_topic(
    State(app): State<App>,
    uri: Uri,
    Path((id, topic)): Path<(String, String)>,
    bytes: Bytes,
) -> Answer {
    let topic_id = path_id(&topic, "topic", uri.path())?;
    let config: UpdateWebhookTopicConfiguration = body(&bytes, uri.path())?;
    let webhook = with_webhook(&app, &id, &uri, |w| {
        let Some(t) = w.webhook_topics.iter_mut().find(|t| t.id == topic_id) else {
            return Err(not_found("topic", &topic_id.to_string(), uri.path()));
        };
        t.filters = config.filters.iter().map(convert).collect();
        Ok(())
    })?;
    ok(&webhook)
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

async fn test(State(app): State<App>, uri: Uri, Path((id, topic)): Path<(String, String)>) -> Answer {
    let id = path_id(&id, "webhook", uri.path())?;
    if !TOPICS.iter().any(|(name, _)| *name == topic) {
        return Err(invalid("topic", format!("unknown topic `{topic}`"), uri.path()));
    }
    let webhook = {
        let store = app.0.webhooks.lock().expect("webhooks lock");
        let Some(w) = store.webhooks.iter().find(|w| w.id == id) else {
            return Err(not_found("webhook", &id.to_string(), uri.path()));
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
) -> Answer {
    let q = Query { params: &params, instance: uri.path() };
    let id = path_id(&id, "webhook", uri.path())?;
    let (number, size) = q.paging(0, 200, "size")?;
    let store = app.0.webhooks.lock().expect("webhooks lock");
    if !store.webhooks.iter().any(|w| w.id == id) {
        return Err(not_found("webhook", &id.to_string(), uri.path()));
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

async fn log(State(app): State<App>, uri: Uri, Path((id, log)): Path<(String, String)>) -> Answer {
    let id = path_id(&id, "webhook", uri.path())?;
    let log_id = path_id(&log, "log", uri.path())?;
    let store = app.0.webhooks.lock().expect("webhooks lock");
    match store.logs.get(&id).and_then(|l| l.iter().find(|x| x.id == log_id)) {
        Some(l) => ok(l),
        None => Err(not_found("log", &log_id.to_string(), uri.path())),
    }
}

async fn retry(State(app): State<App>, uri: Uri, Path((id, log)): Path<(String, String)>) -> Answer {
    let id = path_id(&id, "webhook", uri.path())?;
    let log_id = path_id(&log, "log", uri.path())?;
    let event = {
        let store = app.0.webhooks.lock().expect("webhooks lock");
        let Some(entry) = store.logs.get(&id).and_then(|l| l.iter().find(|x| x.id == log_id)) else {
            return Err(not_found("log", &log_id.to_string(), uri.path()));
        };
        entry.call_history.last().map(|c| serde_json::Value::Object(c.payload.clone())).unwrap_or_default()
    };
    // Delivered again for real, under the same log entry.
    crate::deliveries::redeliver(&app, id, log_id, event);
    empty(StatusCode::ACCEPTED)
}

async fn topic_definitions(
    State(app): State<App>,
    uri: Uri,
    AxumQuery(params): AxumQuery<HashMap<String, String>>,
) -> Answer {
    let q = Query { params: &params, instance: uri.path() };
    let (number, size) = q.paging(0, 200, "size")?;
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
                account_id: Some(ACCOUNT),
                payload_data: sample(name),
                sent_at: Some(now),
                url: Some("https://example.invalid/webhook".into()),
                webhook_id: Some(Uuid::nil()),
                webhook_topic: WebhookEventTopic { id: Some(Uuid::nil()), topic: (*name).into(), filters: vec![] },
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
