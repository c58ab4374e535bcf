//! `pax8 webhooks` (serving them is in `mirror.rs`).

use super::confirm::confirm;
use super::listing;
use super::session::Session;
use crate::fail::Failure;
use crate::output::{Table, col, text};
use crate::{WebhooksCommand, resolve};
use serde_json::Value;

pub(super) async fn run(s: &Session, command: WebhooksCommand) -> Result<(), Failure> {
    let (client, p) = (&s.client, &s.printer);
    match command {
        // Served without a session (`mirror.rs`).
        WebhooksCommand::Serve { .. } => return Err(Failure::usage("`webhooks serve` needs no Pax8 session")),
        WebhooksCommand::List { paging } => {
            listing::show(client, client.webhooks().list(), paging, p, "webhooks", |items| {
                let mut t = Table::new(&[
                    col("id", "ID"),
                    col("name", "NAME"),
                    col("url", "URL"),
                    col("active", "ACTIVE"),
                    col("topics", "TOPICS"),
                ]);
                for w in items {
                    let topics: Vec<String> = w.webhook_topics.iter().map(|t| t.topic.clone()).collect();
                    t.push(vec![
                        text(Some(w.id)),
                        Value::from(w.display_name.clone()),
                        text(w.url.as_ref()),
                        Value::from(w.active),
                        Value::from(topics.join(" ")),
                    ]);
                }
                t
            })
            .await?;
        }
        WebhooksCommand::Logs { webhook, paging } => {
            let id = resolve::id("webhook", &webhook)?;
            listing::show(client, client.webhooks().logs(id), paging, p, "deliveries", |items| {
                let mut t = Table::new(&[
                    col("id", "DELIVERY"),
                    col("created_at", "AT"),
                    col("status", "STATUS"),
                    col("calls", "CALLS"),
                    col("last_http_status", "LAST HTTP"),
                    col("last_error", "LAST ERROR"),
                ]);
                for log in items {
                    let last = log.call_history.iter().max_by_key(|c| c.timestamp);
                    t.push(vec![
                        text(Some(log.id)),
                        text(Some(log.created_at)),
                        text(Some(&log.final_status)),
                        Value::from(log.call_history.len()),
                        last.and_then(|c| c.http_status_code).map_or(Value::Null, Value::from),
                        text(last.and_then(|c| c.error_message.as_ref())),
                    ]);
                }
                t
            })
            .await?;
        }
        WebhooksCommand::Retry { webhook, log, yes } => {
            let (id, log) = (resolve::id("webhook", &webhook)?, resolve::id("delivery", &log)?);
            let delivery = client.webhooks().log(id, log).await?;
            if p.format != crate::output::Format::Json {
                p.record(&[
                    ("delivery", "Delivery", text(Some(delivery.id))),
                    ("status", "Status now", text(Some(&delivery.final_status))),
                    ("calls", "Calls so far", Value::from(delivery.call_history.len())),
                ]);
            }
            confirm("Deliver it again?", yes)?;
            client.webhooks().retry_delivery(id, log).await?;
            p.document(&serde_json::json!({"delivery": log, "retried": true}));
            p.note("Delivery queued again: `pax8 webhooks logs` shows its calls.");
        }
        WebhooksCommand::Enable { ref webhook, yes } | WebhooksCommand::Disable { ref webhook, yes } => {
            let active = matches!(command, WebhooksCommand::Enable { .. });
            let id = resolve::id("webhook", webhook)?;
            let w = client.webhooks().get(id).await?;
            let verb = if active { "Turn on" } else { "Turn off" };
            confirm(&format!("{verb} deliveries to {} ({})?", w.display_name, w.url.as_deref().unwrap_or("-")), yes)?;
            let w = client.webhooks().set_active(id, active).await?;
            p.document(&serde_json::json!({"webhook": w.id, "active": w.active}));
            p.note(&format!("Webhook {} is {}.", w.id, if w.active { "on" } else { "off" }));
        }
        WebhooksCommand::Delete { webhook, yes } => {
            let id = resolve::id("webhook", &webhook)?;
            let w = client.webhooks().get(id).await?;
            confirm(&format!("Delete webhook {} ({})?", w.display_name, w.url.as_deref().unwrap_or("-")), yes)?;
            client.webhooks().delete(id).await?;
            p.document(&serde_json::json!({"webhook": id, "deleted": true}));
            p.note(&format!("Webhook {id} deleted."));
        }
        WebhooksCommand::Topics { paging } => {
            listing::show(client, client.webhooks().topic_definitions(), paging, p, "topics", |items| {
                let mut t =
                    Table::new(&[col("topic", "TOPIC"), col("name", "NAME"), col("description", "DESCRIPTION")]);
                for d in items {
                    t.push(vec![
                        Value::from(d.topic.clone()),
                        Value::from(d.name.clone()),
                        Value::from(d.description.clone()),
                    ]);
                }
                t
            })
            .await?;
        }
        WebhooksCommand::Show { webhook } => {
            let w = client.webhooks().get(resolve::id("webhook", &webhook)?).await?;
            let topics: Vec<String> = w.webhook_topics.iter().map(|t| t.topic.clone()).collect();
            p.record(&[
                ("id", "ID", text(Some(w.id))),
                ("name", "Name", Value::from(w.display_name.clone())),
                ("url", "URL", text(w.url.as_ref())),
                ("active", "Active", Value::from(w.active)),
                ("topics", "Topics", Value::from(topics.join(" "))),
                (
                    "authorization",
                    "Authorization",
                    Value::from(if w.authorization.is_some() { "set (hidden)" } else { "none" }),
                ),
            ]);
        }
        WebhooksCommand::Register { url, topics, name } => {
            if topics.is_empty() {
                return Err(Failure::usage("name at least one topic with --topics"));
            }
            let token = webhook_token()?;
            // The generated type: the header value stays a secret (never in a plain JSON value).
            let create = pax8_api::webhooks::types::CreateWebhook {
                display_name: name,
                url: Some(url),
                active: true,
                error_threshold: 5,
                authorization: Some(pax8_api::SecretString::new(format!("Bearer {}", token.expose()))),
                webhook_topics: topics
                    .iter()
                    .map(|t| pax8_api::webhooks::types::AddWebhookTopic { topic: t.clone(), filters: Vec::new() })
                    .collect(),
                ..Default::default()
            };
            let w = client.webhooks().create(create).await?;
            p.note(&format!("Webhook {} registered for {}.", w.id, topics.join(", ")));
            p.record(&[("id", "ID", text(Some(w.id))), ("url", "URL", text(w.url.as_ref()))]);
        }
        WebhooksCommand::Test { webhook, topic } => {
            let id = resolve::id("webhook", &webhook)?;
            let test = client.webhooks().test(id, &topic).await?;
            p.record(&[("url", "Delivered to", Value::from(test.url)), ("topic", "Topic", Value::from(topic))]);
        }
    }
    Ok(())
}

pub(super) fn webhook_token() -> Result<pax8_ext::SecretString, Failure> {
    tenant_webhook_token(pax8_sync::DEFAULT_TENANT)
}

/// The environment variable holding `tenant`'s webhook token.
pub(super) fn webhook_token_variable(tenant: &str) -> String {
    if tenant == pax8_sync::DEFAULT_TENANT {
        return "PAX8_WEBHOOK_TOKEN".into();
    }
    let name: String =
        tenant.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    format!("PAX8_WEBHOOK_TOKEN_{name}")
}

/// `tenant`'s webhook token: a random token of at least 16 characters.
pub(super) fn tenant_webhook_token(tenant: &str) -> Result<pax8_ext::SecretString, Failure> {
    let variable = webhook_token_variable(tenant);
    std::env::var(&variable).ok().filter(|t| t.len() >= 16).map(pax8_ext::SecretString::new).ok_or_else(|| {
        Failure::usage(format!("set {variable} to a random token of at least 16 characters (tenant `{tenant}`)"))
    })
}
