//! The simulator's state: everything a Pax8 tenant holds, kept in memory as pax8-api's
//! generated types, so responses cannot drift from the spec.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use pax8_api::Timestamp;
use pax8_api::partner::types::{
    Commitment, Company, Contact, Invoice, InvoiceItem, Order, Pricing, ProductDetail, ProvisioningDetail,
    Subscription, UsageSummary,
};
use uuid::Uuid;

/// One product of the catalogue with everything the API serves about it.
#[derive(Debug, Clone)]
pub struct CatalogEntry {
    /// The product.
    pub detail: ProductDetail,
    /// Pricing per billing term.
    pub pricing: Vec<Pricing>,
    /// Commitment terms (for products that require one).
    pub commitments: Vec<Commitment>,
    /// Provisioning details an order needs.
    pub provisioning: Vec<ProvisioningDetail>,
    /// Usage-based Azure plan.
    pub azure: bool,
    /// Unit of measure.
    pub unit: &'static str,
}

/// The tenant.
#[derive(Debug, Clone)]
pub struct World {
    /// The fixture's "today".
    pub today: NaiveDate,
    /// Companies, in creation order.
    pub companies: Vec<Company>,
    company_index: HashMap<Uuid, usize>,
    /// Contacts per company.
    pub contacts: HashMap<Uuid, Vec<Contact>>,
    /// The catalogue.
    pub products: Vec<CatalogEntry>,
    /// Subscriptions, in creation order.
    pub subscriptions: Vec<Subscription>,
    subscription_index: HashMap<Uuid, usize>,
    /// Past states of each subscription, oldest first.
    pub history: HashMap<Uuid, Vec<Subscription>>,
    /// Orders.
    pub orders: Vec<Order>,
    /// Partner invoices, newest first.
    pub invoices: Vec<Invoice>,
    /// Items of issued invoices, computed once (see `billing.rs`).
    pub(crate) invoice_items: HashMap<Uuid, Arc<Vec<InvoiceItem>>>,
    /// What was planted in each issued invoice (see `planted.rs`).
    pub(crate) planted: HashMap<Uuid, Vec<Planted>>,
    /// The seed choosing which subscriptions carry planted discrepancies (`None`: clean invoices).
    pub(crate) plant_seed: Option<u64>,
    /// Usage summaries per subscription.
    pub usage_summaries: HashMap<Uuid, Vec<UsageSummary>>,
}

impl World {
    pub(crate) fn new(today: NaiveDate, products: Vec<CatalogEntry>) -> Self {
        Self {
            today,
            companies: Vec::new(),
            company_index: HashMap::new(),
            contacts: HashMap::new(),
            products,
            subscriptions: Vec::new(),
            subscription_index: HashMap::new(),
            history: HashMap::new(),
            orders: Vec::new(),
            invoices: Vec::new(),
            invoice_items: HashMap::new(),
            planted: HashMap::new(),
            plant_seed: None,
            usage_summaries: HashMap::new(),
        }
    }

    pub(crate) fn insert_company(&mut self, company: Company, contacts: Vec<Contact>) {
        let id = company.id.expect("companies have ids");
        self.company_index.insert(id, self.companies.len());
        self.companies.push(company);
        self.contacts.insert(id, contacts);
    }

    /// Replaces the changeable part of the tenant (a saved state), rebuilding the indexes.
    pub(crate) fn replace_tenant(
        &mut self,
        companies: Vec<Company>,
        contacts: HashMap<Uuid, Vec<Contact>>,
        subscriptions: Vec<Subscription>,
        history: HashMap<Uuid, Vec<Subscription>>,
        orders: Vec<Order>,
    ) {
        self.company_index = companies.iter().enumerate().filter_map(|(i, c)| c.id.map(|id| (id, i))).collect();
        self.subscription_index =
            subscriptions.iter().enumerate().filter_map(|(i, s)| s.id.map(|id| (id, i))).collect();
        self.companies = companies;
        self.contacts = contacts;
        self.subscriptions = subscriptions;
        self.history = history;
        self.orders = orders;
        self.invoice_items.clear();
        self.planted.clear();
    }

    pub(crate) fn insert_subscription(&mut self, sub: Subscription) {
        let id = sub.id.expect("subscriptions have ids");
        self.subscription_index.insert(id, self.subscriptions.len());
        self.subscriptions.push(sub);
    }

    pub(crate) fn insert_usage_summary(&mut self, subscription: Uuid, summary: UsageSummary) {
        self.usage_summaries.entry(subscription).or_default().push(summary);
    }

    /// A company by id.
    pub fn company(&self, id: Uuid) -> Option<&Company> {
        self.company_index.get(&id).map(|&i| &self.companies[i])
    }

    pub(crate) fn company_mut(&mut self, id: Uuid) -> Option<&mut Company> {
        self.company_index.get(&id).map(|&i| &mut self.companies[i])
    }

    /// A subscription by id.
    pub fn subscription(&self, id: Uuid) -> Option<&Subscription> {
        self.subscription_index.get(&id).and_then(|&i| self.subscriptions.get(i))
    }

    /// A product by id.
    pub fn product(&self, id: Uuid) -> Option<&CatalogEntry> {
        self.products.iter().find(|p| p.detail.id == Some(id))
    }

    /// A usage summary by id.
    pub fn usage_summary(&self, id: Uuid) -> Option<&UsageSummary> {
        self.usage_summaries.values().flatten().find(|s| s.id == Some(id))
    }

    /// Records the current state of a subscription in its history, then stamps it as updated now.
    pub(crate) fn change_subscription(&mut self, id: Uuid, now: Timestamp) -> Option<&mut Subscription> {
        let sub = self.subscription_index.get(&id).and_then(|&i| self.subscriptions.get_mut(i))?;
        self.history.entry(id).or_default().push(sub.clone());
        sub.updated_date = Some(now);
        Some(sub)
    }
}

/// One planted discrepancy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Planted {
    /// `quantity`, `price_list`, `duplicate`, `cancelled` or `not_billed`.
    pub kind: &'static str,
    /// The subscription concerned.
    pub subscription_id: Uuid,
    /// The wrong item (the copy, for a duplicate; none for an item left out).
    pub item_id: Option<Uuid>,
}
