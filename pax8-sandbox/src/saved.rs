//! What a sandbox can save and start from again: the tenant's changeable state (companies,
//! contacts, subscriptions and their history, orders, quotes, webhooks). The catalogue,
//! invoices and usage come from the fixture (same seed, same "today"), so they are not saved.
//!
//! `pax8 demo` keeps one of these in its config directory, so an order placed in demo mode is
//! still there on the next command.

use std::collections::HashMap;

use pax8_api::partner::types::{Company, Contact, Order, Subscription};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::stores::{QuoteStore, WebhookStore};
use crate::world::World;

/// The format written today; older or newer files are refused rather than misread.
const FORMAT: u32 = 1;

/// A sandbox's changeable state, serializable as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedState {
    format: u32,
    /// How many times this state was saved: restarts draw new ids from a fresh sequence.
    generation: u64,
    companies: Vec<Company>,
    contacts: HashMap<Uuid, Vec<Contact>>,
    subscriptions: Vec<Subscription>,
    history: HashMap<Uuid, Vec<Subscription>>,
    orders: Vec<Order>,
    quotes: QuoteStore,
    webhooks: WebhookStore,
}

/// Why a saved state cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("saved sandbox state has format {found}; this version reads format {FORMAT}")]
pub struct FormatMismatch {
    found: u32,
}

impl SavedState {
    pub(crate) fn capture(world: &World, quotes: &QuoteStore, webhooks: &WebhookStore, generation: u64) -> Self {
        SavedState {
            format: FORMAT,
            generation: generation.saturating_add(1),
            companies: world.companies.clone(),
            contacts: world.contacts.clone(),
            subscriptions: world.subscriptions.clone(),
            history: world.history.clone(),
            orders: world.orders.clone(),
            quotes: quotes.clone(),
            webhooks: webhooks.clone(),
        }
    }

    /// Refuses a state written in another format.
    pub fn check(&self) -> Result<(), FormatMismatch> {
        if self.format == FORMAT { Ok(()) } else { Err(FormatMismatch { found: self.format }) }
    }

    /// How many saves led to this state.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Companies and subscriptions held.
    pub fn counts(&self) -> (usize, usize, usize) {
        (self.companies.len(), self.subscriptions.len(), self.orders.len())
    }

    /// Puts the saved parts into a freshly generated world and returns the stores.
    pub(crate) fn restore(self, world: &mut World) -> (QuoteStore, WebhookStore) {
        world.replace_tenant(self.companies, self.contacts, self.subscriptions, self.history, self.orders);
        (self.quotes, self.webhooks)
    }
}
