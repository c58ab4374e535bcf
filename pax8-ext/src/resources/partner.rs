//! Partner API v1 handlers: companies, contacts, products, orders, subscriptions, invoices, usage.

use pax8_api::partner::builder;
use pax8_api::partner::types::{
    Commitment, Company, CompanyUpdate, Contact, Dependencies, Invoice, InvoiceItem, Pricing, Product, ProductDetail,
    ProvisioningDetail, Subscription, SubscriptionUpdate, UsageLine, UsageSummary,
};
use uuid::Uuid;

use super::handler_options;
use super::paginator;
use crate::call::CallOptions;
use crate::error::{Error, Result};
use crate::pagination::Paginator;
use crate::{Date, Pax8Client, Timestamp};

/// The v1 maximum page size (from the document).
pub const V1_MAX_PAGE_SIZE: u32 = <builder::FindCompanies<'static> as pax8_api::Paged>::PAGING.max_size;

handler_options!(Companies, Contacts, Products, Subscriptions, Invoices, Usage);

impl Pax8Client {
    /// Companies (customers).
    pub fn companies(&self) -> Companies<'_> {
        Companies { client: self, options: CallOptions::default() }
    }
    /// Contacts of a company.
    pub fn contacts(&self, company_id: Uuid) -> Contacts<'_> {
        Contacts { client: self, company_id, options: CallOptions::default() }
    }
    /// The product catalogue.
    pub fn products(&self) -> Products<'_> {
        Products { client: self, options: CallOptions::default() }
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

/// Products handler.
#[derive(Debug, Clone)]
pub struct Products<'c> {
    client: &'c Pax8Client,
    options: CallOptions,
}

impl<'c> Products<'c> {
    /// The whole catalogue.
    pub fn list(&self) -> Paginator<Product> {
        paginator!(self, |c| c.partner().find_all_products())
    }
    /// Products matching the filters set on the generated builder (`vendor_name`, `search`, `sort`).
    pub fn list_with<F>(&self, filter: F) -> Paginator<Product>
    where
        F: for<'a> Fn(builder::FindAllProducts<'a>) -> builder::FindAllProducts<'a> + Send + Sync + 'static,
    {
        paginator!(self, |c| c.partner().find_all_products(), filter = filter)
    }
    /// Products whose name, vendor or SKU matches `query` (2 to 256 characters).
    pub fn search(&self, query: &str) -> Result<Paginator<Product>> {
        let query = query.trim().to_string();
        let len = query.chars().count();
        if !(2..=256).contains(&len) {
            return Err(Error::InvalidRequest(format!("search query must be 2 to 256 characters, got {len}")));
        }
        Ok(self.list_with(move |q| q.search(query.clone())))
    }
    /// One product.
    pub async fn get(&self, id: Uuid) -> Result<ProductDetail> {
        self.send(self.client.partner().find_product_by_product_id().product_id(id.to_string())).await
    }
    /// Pricing, with the company's own rates when `company_id` is given.
    pub async fn pricing(&self, id: Uuid, company_id: Option<Uuid>) -> Result<Vec<Pricing>> {
        let mut b = self.client.partner().find_pricing_by_product_id().product_id(id.to_string());
        if let Some(company) = company_id {
            b = b.company_id(company);
        }
        Ok(self.send(b).await?.content)
    }
    /// Dependencies (commitments, required products).
    pub async fn dependencies(&self, id: Uuid) -> Result<Dependencies> {
        self.send(self.client.partner().find_product_dependencies_by_product_id().product_id(id.to_string())).await
    }
    /// The commitment term an order of this product on `billing_term` needs (see
    /// [`CommitmentChoice`]).
    pub async fn commitment_for(&self, id: Uuid, billing_term: &str) -> Result<CommitmentChoice> {
        Ok(CommitmentChoice::from_terms(self.dependencies(id).await?.commitment_dependencies, billing_term))
    }
    /// Provisioning details an order of this product needs.
    pub async fn provisioning_details(&self, id: Uuid) -> Result<Vec<ProvisioningDetail>> {
        let body =
            self.send(self.client.partner().find_provision_details_by_product_id().product_id(id.to_string())).await?;
        Ok(body.content)
    }
}

/// What a product's commitment terms mean for an order on one billing term.
#[derive(Debug, Clone, PartialEq)]
pub enum CommitmentChoice {
    /// The product needs no commitment term.
    NotRequired,
    /// Exactly one term names the billing term: order with it.
    Chosen(Commitment),
    /// None or several name the billing term: the caller picks one of these.
    Choose(Vec<Commitment>),
}

impl CommitmentChoice {
    /// Decides from the product's commitment terms (its dependencies).
    pub fn from_terms(terms: Vec<Commitment>, billing_term: &str) -> Self {
        if terms.is_empty() {
            return CommitmentChoice::NotRequired;
        }
        let mut matching = terms
            .iter()
            .filter(|c| c.id.is_some() && c.term.as_deref().is_some_and(|t| t.eq_ignore_ascii_case(billing_term)));
        match (matching.next(), matching.next()) {
            (Some(one), None) => CommitmentChoice::Chosen(one.clone()),
            _ => CommitmentChoice::Choose(terms),
        }
    }

    /// The id to order with, when the choice is made.
    pub fn id(&self) -> Option<Uuid> {
        match self {
            CommitmentChoice::Chosen(c) => c.id,
            _ => None,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn term(name: &str, id: u128) -> Commitment {
        Commitment { id: Some(Uuid::from_u128(id)), term: Some(name.into()), ..Default::default() }
    }

    #[test]
    fn the_commitment_matching_the_billing_term_is_chosen_or_the_caller_chooses() {
        assert_eq!(CommitmentChoice::from_terms(vec![], "Monthly"), CommitmentChoice::NotRequired);
        let terms = vec![term("Monthly", 1), term("Annual", 2)];
        let annual = CommitmentChoice::from_terms(terms.clone(), "annual");
        assert_eq!(annual.id(), Some(Uuid::from_u128(2)));
        assert_eq!(CommitmentChoice::from_terms(terms.clone(), "3-Year"), CommitmentChoice::Choose(terms.clone()));
        // Two terms naming the same billing term: the caller decides.
        let twice = vec![term("Annual", 3), term("Annual", 4)];
        assert_eq!(CommitmentChoice::from_terms(twice.clone(), "Annual"), CommitmentChoice::Choose(twice));
        // A term without an id cannot be ordered with.
        let no_id = vec![Commitment { term: Some("Annual".into()), ..Default::default() }];
        assert!(matches!(CommitmentChoice::from_terms(no_id, "Annual"), CommitmentChoice::Choose(_)));
        assert_eq!(CommitmentChoice::NotRequired.id(), None);
    }
}
