//! What an invoice audit reads from the API: the invoice, the one before it, their items, the
//! subscriptions and the price lists.

use std::collections::{HashMap, HashSet};

use pax8_api::partner::types::{InvoiceItem, Pricing, Subscription};
use uuid::Uuid;

use super::AuditInput;

/// What the audit of one invoice reads from the API (the mirror's quantities come from the
/// caller, see [`Gathered::input`]).
#[derive(Debug, Clone)]
pub struct Gathered {
    /// The invoice audited.
    pub invoice_id: Uuid,
    /// Its items (of the company asked for, when one was).
    pub items: Vec<InvoiceItem>,
    /// The previous invoice's items; `None` when there is none.
    pub previous_items: Option<Vec<InvoiceItem>>,
    /// The subscriptions (of the company asked for).
    pub subscriptions: Vec<Subscription>,
    /// The price lists of the items' products.
    pub prices: HashMap<Uuid, Vec<Pricing>>,
    /// The items' products billed by usage.
    pub usage_based: HashSet<Uuid>,
}

impl Gathered {
    /// Reads `invoice` (default: the latest), the one before it, their items, the subscriptions
    /// and the price lists, keeping only `company`'s when given.
    pub async fn read(
        client: &crate::Pax8Client,
        invoice: Option<Uuid>,
        company: Option<Uuid>,
    ) -> Result<Gathered, crate::Error> {
        use futures::{StreamExt, TryStreamExt};
        let mut invoices = client.invoices().list().collect_all().await?;
        invoices.sort_by_key(|i| std::cmp::Reverse(i.invoice_date));
        let chosen = match invoice {
            Some(id) => client.invoices().get(id).await?,
            None => invoices
                .first()
                .cloned()
                .ok_or_else(|| crate::Error::InvalidRequest("there is no invoice to audit".into()))?,
        };
        let invoice_id = chosen.id.ok_or_else(|| crate::Error::InvalidRequest("the invoice has no id".into()))?;
        let keep = |company_id: Option<Uuid>| company.is_none_or(|c| company_id == Some(c));
        let mut items = client.invoices().items(invoice_id).collect_all().await?;
        items.retain(|i| keep(i.company_id));
        let previous = invoices.iter().find(|i| i.invoice_date < chosen.invoice_date && i.id != chosen.id);
        let previous_items = match previous.and_then(|p| p.id) {
            Some(id) => {
                let mut before = client.invoices().items(id).collect_all().await?;
                before.retain(|i| keep(i.company_id));
                Some(before)
            }
            None => None,
        };
        let mut subscriptions = client.subscriptions().list().collect_all().await?;
        subscriptions.retain(|s| keep(s.company_id));
        let products: HashSet<Uuid> = items.iter().filter_map(|i| i.product_id).collect();
        let prices: HashMap<Uuid, Vec<Pricing>> = futures::stream::iter(products)
            .map(|id| async move { client.products().pricing(id, None).await.map(|p| (id, p)) })
            .buffer_unordered(8)
            .try_collect()
            .await?;
        let usage_based = crate::insights::usage_based(&items);
        Ok(Gathered { invoice_id, items, previous_items, subscriptions, prices, usage_based })
    }

    /// The billing period the items cover (first start, last end).
    pub fn period(&self) -> Option<(chrono::NaiveDate, chrono::NaiveDate)> {
        let from = self.items.iter().filter_map(|i| i.start_period).min()?;
        let to = self.items.iter().filter_map(|i| i.end_period).max()?;
        Some((from.0, to.0))
    }

    /// The audit's input, with the mirror's `quantities` when there is a mirror.
    pub fn input<'a>(&'a self, quantities: Option<&'a HashMap<Uuid, Vec<u64>>>) -> AuditInput<'a> {
        AuditInput {
            items: &self.items,
            previous_items: self.previous_items.as_deref(),
            subscriptions: &self.subscriptions,
            quantities,
            prices: &self.prices,
            usage_based: &self.usage_based,
        }
    }
}
