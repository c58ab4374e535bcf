//! The simulator's state: everything a Pax8 tenant holds, kept in memory as pax8-api's
//! generated types, so responses cannot drift from the spec.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{Datelike, Duration as Days, NaiveDate};
use pax8_api::partner::types::{
    Commitment, Company, Contact, Invoice, InvoiceItem, InvoiceItemChargeType, InvoiceItemRateType, InvoiceItemTerm,
    InvoiceItemType, Order, Pricing, ProductDetail, ProvisioningDetail, Subscription, SubscriptionBillingTerm,
    SubscriptionStatus, UsageSummary,
};
use pax8_api::{Date, Timestamp};
use rand::rngs::StdRng;
use uuid::Uuid;

use crate::values::{add_months, round2, uuid};

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
    invoice_items: HashMap<Uuid, Arc<Vec<InvoiceItem>>>,
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

    fn active_during(sub: &Subscription, from: NaiveDate, to: NaiveDate) -> bool {
        let start = sub.start_date.map(|t| t.date().0).unwrap_or(from);
        let end = sub.end_date.map(|t| t.date().0);
        start <= to && end.is_none_or(|e| e >= from) && sub.status != Some(SubscriptionStatus::Trial)
    }

    /// `sub` as it was at the end of `day`: the last of its versions (its history, then its
    /// current state) stamped on or before that day, or its first.
    fn as_of<'a>(&'a self, sub: &'a Subscription, day: NaiveDate) -> &'a Subscription {
        let history = sub.id.and_then(|id| self.history.get(&id)).map(Vec::as_slice).unwrap_or_default();
        let mut versions = history.iter().chain(std::iter::once(sub));
        let first = history.first().unwrap_or(sub);
        versions.rfind(|v| v.updated_date.is_none_or(|at| at.date().0 <= day)).unwrap_or(first)
    }

    /// The charges of one billing period: one item per subscription active in it. An issued
    /// invoice's items (`invoice_id` given) are those of the subscriptions as they were at the
    /// period's end, so they never change; draft items follow the subscriptions as they are.
    pub(crate) fn items_for_period(
        &self,
        invoice_id: Option<Uuid>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Vec<InvoiceItem> {
        self.subscriptions
            .iter()
            .map(|s| if invoice_id.is_some() { self.as_of(s, to) } else { s })
            .filter(|s| Self::active_during(s, from, to))
            .map(|s| {
                let company = s.company_id.and_then(|c| self.company(c));
                let entry = s.product_id.and_then(|p| self.product(p));
                let azure = entry.is_some_and(|e| e.azure);
                let quantity = s.quantity.unwrap_or(0.0);
                let (price, cost) = if azure {
                    let total: f64 = self
                        .usage_summaries
                        .get(&s.id.unwrap_or_default())
                        .into_iter()
                        .flatten()
                        .filter_map(|u| u.current_charges)
                        .sum();
                    (round2(total), round2(total * 0.85))
                } else {
                    // Long terms are invoiced monthly at their amortized price.
                    let months = match s.billing_term {
                        Some(SubscriptionBillingTerm::Annual) => 12.0,
                        _ => 1.0,
                    };
                    (round2(s.price.unwrap_or(0.0) / months), round2(s.partner_cost.unwrap_or(0.0) / months))
                };
                let units = if azure { 1.0 } else { quantity };
                let sub_total = round2(price * units);
                let cost_total = round2(cost * units);
                let seed = s.id.unwrap_or_default().as_u128()
                    ^ invoice_id.unwrap_or_default().as_u128()
                    ^ from.num_days_from_ce() as u128;
                InvoiceItem {
                    id: Some(::uuid::Builder::from_random_bytes(seed.to_be_bytes()).into_uuid()),
                    type_: Some(InvoiceItemType::Subscription),
                    company_id: s.company_id,
                    company_name: company.map(|c| c.name.clone()),
                    external_id: company.and_then(|c| c.external_id.clone()),
                    start_period: Some(Date::from(from)),
                    end_period: Some(Date::from(to)),
                    quantity: Some(units),
                    unit_of_measure: entry.map(|e| e.unit.to_string()),
                    term: Some(match s.billing_term {
                        Some(SubscriptionBillingTerm::Annual) => InvoiceItemTerm::Annual,
                        _ => InvoiceItemTerm::Monthly,
                    }),
                    sku: entry.and_then(|e| e.detail.sku.clone()),
                    description: s.product_name.clone(),
                    rate_type: Some(InvoiceItemRateType::Flat),
                    charge_type: Some(InvoiceItemChargeType::Per),
                    price: Some(price),
                    sub_total: Some(sub_total),
                    cost: Some(cost),
                    cost_total: Some(cost_total),
                    offered_by: Some("Pax8".into()),
                    billed_by_pax8: company.and_then(|c| c.bill_on_behalf_of_enabled),
                    total: Some(sub_total),
                    amount_due: Some(cost_total),
                    product_id: s.product_id,
                    product_name: s.product_name.clone(),
                    subscription_id: s.id,
                    vendor_name: entry.and_then(|e| e.detail.vendor_name.clone()),
                    currency_code: s.currency_code.clone(),
                    billing_fee: Some(0.0),
                    billing_fee_rate: Some(0.0),
                    sales_tax: Some(0.0),
                    ..Default::default()
                }
            })
            .collect()
    }

    fn period(month_start: NaiveDate) -> (NaiveDate, NaiveDate) {
        (month_start, add_months(month_start, 1) - Days::days(1))
    }

    /// The items of an invoice (computed once, then cached).
    pub fn invoice_items(&mut self, id: Uuid) -> Option<Arc<Vec<InvoiceItem>>> {
        if let Some(items) = self.invoice_items.get(&id) {
            return Some(items.clone());
        }
        let invoice = self.invoices.iter().find(|i| i.id == Some(id))?;
        let start = invoice.invoice_date.map(|d| d.0)?;
        let (from, to) = Self::period(add_months(start, -1));
        let items = Arc::new(self.items_for_period(Some(id), from, to));
        self.invoice_items.insert(id, items.clone());
        Some(items)
    }

    /// Draft items of the month `offset` months from now (0: this month).
    pub fn draft_items(&self, offset: i32, company: Option<Uuid>) -> Vec<InvoiceItem> {
        let month = NaiveDate::from_ymd_opt(self.today.year(), self.today.month(), 1).expect("first of month");
        let (from, to) = Self::period(add_months(month, offset));
        let mut items = self.items_for_period(None, from, to);
        if let Some(c) = company {
            items.retain(|i| i.company_id == Some(c));
        }
        items
    }

    pub(crate) fn generate_invoices(&mut self, rng: &mut StdRng) {
        let this_month = NaiveDate::from_ymd_opt(self.today.year(), self.today.month(), 1).expect("first of month");
        for back in 0..6 {
            let invoice_date = add_months(this_month, -back);
            let (from, to) = Self::period(add_months(invoice_date, -1));
            let total: f64 = self.items_for_period(None, from, to).iter().filter_map(|i| i.cost_total).sum();
            let total = round2(total);
            let status = if back == 0 { "Unpaid" } else { "Paid" };
            self.invoices.push(Invoice {
                id: Some(uuid(rng)),
                invoice_date: Some(Date::from(invoice_date)),
                due_date: Some(Date::from(invoice_date + Days::days(30))),
                total: Some(total),
                balance: Some(if back == 0 { total } else { 0.0 }),
                carried_balance: Some(0.0),
                currency_code: Some("USD".into()),
                partner_name: Some("Sandbox MSP".into()),
                company_id: None,
                external_id: None,
                status: Some(status.into()),
                ..Default::default()
            });
        }
    }

    /// Records the current state of a subscription in its history, then stamps it as updated now.
    pub(crate) fn change_subscription(&mut self, id: Uuid, now: Timestamp) -> Option<&mut Subscription> {
        let sub = self.subscription_index.get(&id).and_then(|&i| self.subscriptions.get_mut(i))?;
        self.history.entry(id).or_default().push(sub.clone());
        sub.updated_date = Some(now);
        Some(sub)
    }
}
