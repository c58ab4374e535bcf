//! Partner API v1 handlers: companies, contacts, subscriptions, invoices, usage (products are in
//! `products.rs`, orders in `orders.rs`).

use pax8_api::partner::builder;
use pax8_api::partner::types::{
    Company, CompanyUpdate, Contact, Invoice, InvoiceItem, Subscription, SubscriptionUpdate, UsageLine, UsageSummary,
};
use uuid::Uuid;

use super::handler_options;
use super::paginator;
use crate::call::CallOptions;
use crate::error::{Error, Result};
use crate::filters::{CompanyFilter, InvoiceFilter, SubscriptionFilter};
use crate::pagination::Paginator;
use crate::{Date, Pax8Client, Timestamp};

/// The v1 maximum page size (from the document).
pub const V1_MAX_PAGE_SIZE: u32 = <builder::FindCompanies<'static> as pax8_api::Paged>::PAGING.max_size;

handler_options!(Companies, Contacts, Subscriptions, Invoices, Usage);

impl Pax8Client {
    /// Companies (customers).
    pub fn companies(&self) -> Companies<'_> {
        Companies { client: self, options: CallOptions::default() }
    }
    /// Contacts of a company.
    pub fn contacts(&self, company_id: Uuid) -> Contacts<'_> {
        Contacts { client: self, company_id, options: CallOptions::default() }
    }
    /// Subscriptions.
    pub fn subscriptions(&self) -> Subscriptions<'_> {
        Subscriptions { client: self, options: CallOptions::default() }
    }
    /// Invoices and draft invoice items.
    pub fn invoices(&self) -> Invoices<'_> {
        Invoices { client: self, options: CallOptions::default() }
    }
    /// Azure usage summaries and lines.
    pub fn usage(&self) -> Usage<'_> {
        Usage { client: self, options: CallOptions::default() }
    }
}

/// Companies handler.
#[derive(Debug, Clone)]
pub struct Companies<'c> {
    client: &'c Pax8Client,
    options: CallOptions,
}

impl<'c> Companies<'c> {
    /// Every company.
    pub fn list(&self) -> Paginator<Company> {
        paginator!(self, |c| c.partner().find_companies())
    }

    /// Companies matching the filters set on the generated builder (`city`, `status`, `sort`...).
    pub fn list_with<F>(&self, filter: F) -> Paginator<Company>
    where
        F: for<'a> Fn(builder::FindCompanies<'a>) -> builder::FindCompanies<'a> + Send + Sync + 'static,
    {
        paginator!(self, |c| c.partner().find_companies(), filter = filter)
    }

    /// Companies matching `filter`, checked before any request.
    pub fn filtered(&self, filter: &CompanyFilter) -> Result<Paginator<Company>> {
        filter.check()?;
        let f = filter.clone();
        Ok(self.list_with(move |mut q| {
            if let Some(c) = &f.city {
                q = q.city(c.clone());
            }
            if let Some(c) = &f.country {
                q = q.country(c.clone());
            }
            if let Some(s) = &f.status {
                q = q.status(s.as_str());
            }
            if let Some(s) = &f.sort {
                q = q.sort(s.as_str());
            }
            q
        }))
    }

    /// One company.
    pub async fn get(&self, id: Uuid) -> Result<Company> {
        self.send(self.client.partner().get_companies_by_company_id().company_id(id.to_string())).await
    }

    /// Creates a company (not retried once it may have reached the server).
    pub async fn create(&self, company: Company) -> Result<Company> {
        if company.name.trim().is_empty() {
            return Err(Error::InvalidRequest("company name is empty".into()));
        }
        self.send(self.client.partner().create_company().body(company)).await
    }

    /// Updates a company.
    pub async fn update(&self, id: Uuid, update: CompanyUpdate) -> Result<Company> {
        self.send(self.client.partner().update_company().company_id(id).body(update)).await
    }

    /// Companies whose name matches `name`: exact matches (ignoring case) if any, else those
    /// containing it. The API has no name search, so this lists every company.
    pub async fn find_by_name(&self, name: &str) -> Result<Vec<Company>> {
        let wanted = name.trim().to_lowercase();
        if wanted.is_empty() {
            return Err(Error::InvalidRequest("company name to find is empty".into()));
        }
        let all = self.list().collect_all().await?;
        let exact: Vec<Company> = all.iter().filter(|c| c.name.to_lowercase() == wanted).cloned().collect();
        if !exact.is_empty() {
            return Ok(exact);
        }
        Ok(all.into_iter().filter(|c| c.name.to_lowercase().contains(&wanted)).collect())
    }
}

/// Contacts of one company.
#[derive(Debug, Clone)]
pub struct Contacts<'c> {
    client: &'c Pax8Client,
    options: CallOptions,
    company_id: Uuid,
}

impl<'c> Contacts<'c> {
    /// Every contact of the company.
    pub fn list(&self) -> Paginator<Contact> {
        let company = self.company_id;
        paginator!(self, |c| c.partner().get_companies_by_company_id_contacts().company_id(company.to_string()))
    }
    /// One contact.
    pub async fn get(&self, contact_id: Uuid) -> Result<Contact> {
        self.send(
            self.client
                .partner()
                .get_companies_by_company_id_contacts_by_contact_id()
                .company_id(self.company_id.to_string())
                .contact_id(contact_id.to_string()),
        )
        .await
    }
    /// Creates a contact.
    pub async fn create(&self, contact: Contact) -> Result<Contact> {
        self.send(
            self.client
                .partner()
                .post_companies_by_company_id_contacts()
                .company_id(self.company_id.to_string())
                .body(contact),
        )
        .await
    }
    /// Replaces a contact.
    pub async fn update(&self, contact_id: Uuid, contact: Contact) -> Result<Contact> {
        self.send(
            self.client
                .partner()
                .put_companies_by_company_id_contacts_by_contact_id()
                .company_id(self.company_id.to_string())
                .contact_id(contact_id.to_string())
                .body(contact),
        )
        .await
    }
    /// Deletes a contact.
    pub async fn delete(&self, contact_id: Uuid) -> Result<()> {
        self.send(
            self.client
                .partner()
                .delete_companies_by_company_id_contacts_by_contact_id()
                .company_id(self.company_id.to_string())
                .contact_id(contact_id.to_string()),
        )
        .await
    }
}

/// Subscriptions handler.
#[derive(Debug, Clone)]
pub struct Subscriptions<'c> {
    client: &'c Pax8Client,
    options: CallOptions,
}

impl<'c> Subscriptions<'c> {
    /// Every subscription.
    pub fn list(&self) -> Paginator<Subscription> {
        paginator!(self, |c| c.partner().find_subscriptions())
    }
    /// Subscriptions matching the filters (`company_id`, `product_id`, `status`, `billing_term`, `sort`).
    pub fn list_with<F>(&self, filter: F) -> Paginator<Subscription>
    where
        F: for<'a> Fn(builder::FindSubscriptions<'a>) -> builder::FindSubscriptions<'a> + Send + Sync + 'static,
    {
        paginator!(self, |c| c.partner().find_subscriptions(), filter = filter)
    }

    /// Subscriptions matching `filter`, checked before any request.
    pub fn filtered(&self, filter: &SubscriptionFilter) -> Result<Paginator<Subscription>> {
        filter.check()?;
        let f = filter.clone();
        Ok(self.list_with(move |mut q| {
            if let Some(c) = f.company_id {
                q = q.company_id(c);
            }
            if let Some(p) = f.product_id {
                q = q.product_id(p);
            }
            if let Some(s) = &f.status {
                q = q.status(s.as_str());
            }
            if let Some(t) = &f.billing_term {
                q = q.billing_term(t.as_str());
            }
            if let Some(s) = &f.sort {
                q = q.sort(s.as_str());
            }
            q
        }))
    }
    /// One subscription.
    pub async fn get(&self, id: Uuid) -> Result<Subscription> {
        self.send(self.client.partner().find_subscription_by_subscription_id().subscription_id(id.to_string())).await
    }
    /// Changes price, billing term, quantity or start date (at least one).
    pub async fn update(&self, id: Uuid, update: SubscriptionUpdate) -> Result<Subscription> {
        if update.price.is_none()
            && update.billing_term.is_none()
            && update.quantity.is_none()
            && update.start_date.is_none()
        {
            return Err(Error::InvalidRequest(
                "a subscription update needs price, billingTerm, quantity or startDate".into(),
            ));
        }
        if let Some(q) = update.quantity
            && !(q.is_finite() && q >= 0.0)
        {
            return Err(Error::InvalidRequest(format!("quantity {q} is not >= 0")));
        }
        self.send(self.client.partner().update_subscription().subscription_id(id.to_string()).body(update)).await
    }
    /// Sets the quantity (seats).
    pub async fn update_quantity(&self, id: Uuid, quantity: i64) -> Result<Subscription> {
        if quantity < 0 {
            return Err(Error::InvalidRequest(format!("quantity {quantity} is negative")));
        }
        let update = SubscriptionUpdate { quantity: Some(quantity as f64), ..Default::default() };
        self.update(id, update).await
    }
    /// Cancels a subscription, at `cancel_date` if given (else as soon as the vendor allows).
    pub async fn cancel(&self, id: Uuid, cancel_date: Option<Timestamp>) -> Result<()> {
        let mut b = self.client.partner().delete_subscriptions_by_subscription_id().subscription_id(id.to_string());
        if let Some(date) = cancel_date {
            b = b.cancel_date(date);
        }
        self.send(b).await
    }
    /// The subscription's change history.
    pub async fn history(&self, id: Uuid) -> Result<Vec<Subscription>> {
        let body = self
            .send(self.client.partner().find_subscription_history_by_subscription_id().subscription_id(id.to_string()))
            .await?;
        Ok(body.content)
    }
    /// Usage summaries of an Azure-style subscription.
    pub fn usage_summaries(&self, id: Uuid) -> Paginator<UsageSummary> {
        paginator!(self, |c| c.partner().find_subscription_usage_summaries().subscription_id(id))
    }
}

/// Invoices handler.
#[derive(Debug, Clone)]
pub struct Invoices<'c> {
    client: &'c Pax8Client,
    options: CallOptions,
}

impl<'c> Invoices<'c> {
    /// Every invoice.
    pub fn list(&self) -> Paginator<Invoice> {
        paginator!(self, |c| c.partner().find_partner_invoices())
    }
    /// Invoices matching the filters (`status`, `company_id`, date ranges, `sort`).
    pub fn list_with<F>(&self, filter: F) -> Paginator<Invoice>
    where
        F: for<'a> Fn(builder::FindPartnerInvoices<'a>) -> builder::FindPartnerInvoices<'a> + Send + Sync + 'static,
    {
        paginator!(self, |c| c.partner().find_partner_invoices(), filter = filter)
    }

    /// Invoices matching `filter`, checked before any request.
    pub fn filtered(&self, filter: &InvoiceFilter) -> Result<Paginator<Invoice>> {
        filter.check()?;
        let f = filter.clone();
        Ok(self.list_with(move |mut q| {
            if let Some(s) = &f.status {
                q = q.status(s.as_str());
            }
            if let Some(d) = f.from {
                q = q.invoice_date_range_start(Date::from(d));
            }
            if let Some(d) = f.to {
                q = q.invoice_date_range_end(Date::from(d));
            }
            q
        }))
    }
    /// One invoice.
    pub async fn get(&self, id: Uuid) -> Result<Invoice> {
        self.send(self.client.partner().get_partner_invoice().invoice_id(id)).await
    }
    /// The items of an invoice.
    pub fn items(&self, id: Uuid) -> Paginator<InvoiceItem> {
        paginator!(self, |c| c.partner().find_partner_invoice_items().invoice_id(id))
    }
    /// Draft (not yet invoiced) items; `month_offset` 0 is this month, 1 next month.
    pub fn draft_items(&self, month_offset: Option<i32>, company_id: Option<Uuid>) -> Paginator<InvoiceItem> {
        paginator!(self, |c| {
            let mut q = c.partner().find_partner_draft_invoice_items();
            if let Some(m) = month_offset {
                q = q.month_offset(i64::from(m));
            }
            if let Some(id) = company_id {
                q = q.company_id(id);
            }
            q
        })
    }
}

/// Usage handler.
#[derive(Debug, Clone)]
pub struct Usage<'c> {
    client: &'c Pax8Client,
    options: CallOptions,
}

impl<'c> Usage<'c> {
    /// One usage summary.
    pub async fn summary(&self, id: Uuid) -> Result<UsageSummary> {
        self.send(self.client.partner().find_subscription_usage_summary().usage_summary_id(id)).await
    }
    /// The usage lines of a summary for one day (optionally one product).
    pub async fn lines(&self, summary_id: Uuid, usage_date: Date, product_id: Option<Uuid>) -> Result<Vec<UsageLine>> {
        let mut b = self.client.partner().find_usage_lines().usage_summary_id(summary_id).usage_date(usage_date);
        if let Some(p) = product_id {
            b = b.product_id(p);
        }
        Ok(self.send(b).await?.content)
    }
}
