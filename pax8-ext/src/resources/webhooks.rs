//! Webhooks API v2 handlers: webhooks, topics, test deliveries, logs, retries.

use pax8_api::webhooks::builder;
use pax8_api::webhooks::types::{
    AddWebhookTopic, CreateWebhook, ReplaceWebhookTopics, TopicDefinition, UpdateWebhookConfiguration,
    UpdateWebhookStatus, UpdateWebhookTopicConfiguration, Webhook, WebhookLog, WebhookTest,
};
use uuid::Uuid;

use super::{handler_options, paginator};
use crate::error::{Error, Result};
use crate::pagination::Paginator;
use crate::{CallOptions, Pax8Client};

/// Largest page size the webhooks API is asked for (from the patched document).
pub const WEBHOOKS_MAX_PAGE_SIZE: u32 = <builder::WebhooksQuery<'static> as pax8_api::Paged>::PAGING.max_size;

handler_options!(Webhooks);

impl Pax8Client {
    /// Webhooks (webhooks API v2).
    pub fn webhooks(&self) -> Webhooks<'_> {
        Webhooks { client: self, options: CallOptions::default() }
    }
}

/// Webhooks handler.
#[derive(Debug, Clone)]
pub struct Webhooks<'c> {
    client: &'c Pax8Client,
    options: CallOptions,
}

impl<'c> Webhooks<'c> {
    /// Every webhook.
    pub fn list(&self) -> Paginator<Webhook> {
        paginator!(self, |c| c.webhooks_api().webhooks_query())
    }
    /// Webhooks matching the filters (`active`, `topic`, `status`, `query`, `sort`).
    pub fn list_with<F>(&self, filter: F) -> Paginator<Webhook>
    where
        F: for<'a> Fn(builder::WebhooksQuery<'a>) -> builder::WebhooksQuery<'a> + Send + Sync + 'static,
    {
        paginator!(self, |c| c.webhooks_api().webhooks_query(), filter = filter)
    }
    /// One webhook.
    pub async fn get(&self, id: Uuid) -> Result<Webhook> {
        self.send(self.client.webhooks_api().webhooks_get().id(id)).await
    }
    /// Creates a webhook (its `authorization` value is what Pax8 sends back as the bearer token).
    pub async fn create(&self, webhook: CreateWebhook) -> Result<Webhook> {
        if webhook.display_name.trim().is_empty() {
            return Err(Error::InvalidRequest("webhook display name is empty".into()));
        }
        self.send(self.client.webhooks_api().webhooks_create().body(webhook)).await
    }
    /// Deletes a webhook.
    pub async fn delete(&self, id: Uuid) -> Result<()> {
        self.send(self.client.webhooks_api().webhooks_delete().id(id)).await
    }
    /// Changes URL, authorization, contact, error threshold.
    pub async fn update_configuration(&self, id: Uuid, config: UpdateWebhookConfiguration) -> Result<Webhook> {
        self.send(self.client.webhooks_api().update_configuration().id(id).body(config)).await
    }
    /// Activates or deactivates a webhook.
    pub async fn set_active(&self, id: Uuid, active: bool) -> Result<Webhook> {
        self.send(
            self.client
                .webhooks_api()
                .update_status()
                .id(id)
                .body(UpdateWebhookStatus { active, ..Default::default() }),
        )
        .await
    }
    /// Subscribes a webhook to one more topic.
    pub async fn add_topic(&self, id: Uuid, topic: AddWebhookTopic) -> Result<Webhook> {
        self.send(self.client.webhooks_api().add_webhook_topic().id(id).body(topic)).await
    }
    /// Replaces the webhook's topics.
    pub async fn replace_topics(&self, id: Uuid, topics: ReplaceWebhookTopics) -> Result<Webhook> {
        self.send(self.client.webhooks_api().replace_webhook_topics().id(id).body(topics)).await
    }
    /// Unsubscribes from one topic.
    pub async fn remove_topic(&self, id: Uuid, topic_id: Uuid) -> Result<()> {
        self.send(self.client.webhooks_api().remove_webhook_topic().id(id).topic_id(topic_id)).await
    }
    /// Changes one topic's filters.
    pub async fn update_topic(
        &self,
        id: Uuid,
        topic_id: Uuid,
        config: UpdateWebhookTopicConfiguration,
    ) -> Result<Webhook> {
        self.send(
            self.client.webhooks_api().update_webhook_topic_configuration().id(id).topic_id(topic_id).body(config),
        )
        .await
    }
    /// Sends a test delivery of `topic`.
    pub async fn test(&self, id: Uuid, topic: &str) -> Result<WebhookTest> {
        if topic.trim().is_empty() {
            return Err(Error::InvalidRequest("topic is empty".into()));
        }
        self.send(self.client.webhooks_api().test_webhook_topic().id(id).topic(topic)).await
    }
    /// The topics a webhook can subscribe to.
    pub fn topic_definitions(&self) -> Paginator<TopicDefinition> {
        paginator!(self, |c| c.webhooks_api().get_topic_definitions())
    }
    /// Delivery logs of a webhook.
    pub fn logs(&self, id: Uuid) -> Paginator<WebhookLog> {
        paginator!(self, |c| c.webhooks_api().webhook_logs_query().webhook_id(id))
    }
    /// One delivery log.
    pub async fn log(&self, id: Uuid, log_id: Uuid) -> Result<WebhookLog> {
        self.send(self.client.webhooks_api().webhook_logs_get().webhook_id(id).id(log_id)).await
    }
    /// Retries a failed delivery.
    pub async fn retry_delivery(&self, id: Uuid, log_id: Uuid) -> Result<()> {
        self.send(self.client.webhooks_api().retry_webhook_delivery().webhook_id(id).log_id(log_id)).await
    }
}
