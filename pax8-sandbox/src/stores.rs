//! The state of the quoting and webhooks APIs beside the partner tenant's [`World`](crate::World):
//! plain data, so the app state, the handlers and the saved state use it without importing each
//! other.

use std::collections::HashMap;

use pax8_api::quoting::types::{AccessListEntry, QuotePreferencesResult, QuoteResponse, Section};
use pax8_api::webhooks::types::{Webhook, WebhookLog};
use uuid::Uuid;

/// Quotes, their sections and access lists, and the quoting preferences.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct QuoteStore {
    pub(crate) quotes: Vec<QuoteResponse>,
    pub(crate) sections: HashMap<Uuid, Vec<Section>>,
    pub(crate) access: HashMap<Uuid, Vec<AccessListEntry>>,
    pub(crate) preferences: Option<QuotePreferencesResult>,
    pub(crate) next_reference: u32,
}

/// Webhooks and their delivery logs.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct WebhookStore {
    pub(crate) webhooks: Vec<Webhook>,
    pub(crate) logs: HashMap<Uuid, Vec<WebhookLog>>,
}
