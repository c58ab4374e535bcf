//! Orders: listing, placing (with a server dry run first if wanted), and settling an order whose
//! answer was lost.

use pax8_api::partner::builder;
use pax8_api::partner::types::{CreateOrder, Order};
use uuid::Uuid;

use super::{handler_options, paginator};
use crate::call::CallOptions;
use crate::error::{Error, Result};
use crate::pagination::Paginator;
use crate::{Pax8Client, Timestamp};

handler_options!(Orders);

impl Pax8Client {
    /// Orders.
    pub fn orders(&self) -> Orders<'_> {
        Orders { client: self, options: CallOptions::default() }
    }
}

/// Orders handler.
#[derive(Debug, Clone)]
pub struct Orders<'c> {
    client: &'c Pax8Client,
    options: CallOptions,
}

impl<'c> Orders<'c> {
    /// Every order.
    pub fn list(&self) -> Paginator<Order> {
        paginator!(self, |c| c.partner().find_orders())
    }
    /// Orders matching the filters (`company_id`).
    pub fn list_with<F>(&self, filter: F) -> Paginator<Order>
    where
        F: for<'a> Fn(builder::FindOrders<'a>) -> builder::FindOrders<'a> + Send + Sync + 'static,
    {
        paginator!(self, |c| c.partner().find_orders(), filter = filter)
    }
    /// One order.
    pub async fn get(&self, id: Uuid) -> Result<Order> {
        self.send(self.client.partner().find_orders_by_order_id().order_id(id.to_string())).await
    }
    /// Orders of `order`'s company that look like `order` (the same products, quantities and
    /// billing terms, in any order) and were created on or after the day of `since`: how to
    /// settle an [`Error::OutcomeUnknown`] create. Newest first.
    ///
    /// Pax8 dates orders by day, so an identical order placed earlier that same day matches
    /// too: when one match is not enough to be sure, compare with the company's order ids from
    /// before the attempt.
    ///
    /// ```no_run
    /// # async fn demo(client: pax8_ext::Pax8Client, order: pax8_ext::api::partner::types::CreateOrder) -> pax8_ext::Result<()> {
    /// let attempt = pax8_ext::Timestamp::from(chrono::Utc::now());
    /// match client.orders().create(order.clone()).send().await {
    ///     Err(e) if e.is_outcome_unknown() => {
    ///         let found = client.orders().find_recent_matching(&order, attempt).await?;
    ///         match found.as_slice() {
    ///             [one] => println!("the order was placed: {:?}", one.id),
    ///             [] => println!("no such order: it was not placed"),
    ///             _ => println!("{} orders match: check before ordering again", found.len()),
    ///         }
    ///     }
    ///     other => println!("{:?}", other.map(|o| o.id)),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn find_recent_matching(&self, order: &CreateOrder, since: Timestamp) -> Result<Vec<Order>> {
        let company = order.company_id;
        let since = since.date();
        let wanted =
            order_signature(order.line_items.iter().map(|l| (l.product_id, l.quantity, l.billing_term.as_str())));
        let mut found: Vec<Order> = self
            .list_with(move |q| q.company_id(company))
            .collect_all()
            .await?
            .into_iter()
            .filter(|o| o.company_id == company)
            .filter(|o| o.created_date.is_none_or(|d| d >= since))
            .filter(|o| {
                let terms: Vec<String> = o
                    .line_items
                    .iter()
                    .map(|l| l.billing_term.as_ref().map(ToString::to_string).unwrap_or_default())
                    .collect();
                order_signature(o.line_items.iter().zip(&terms).map(|(l, t)| (l.product_id, l.quantity, t.as_str())))
                    == wanted
            })
            .collect();
        found.sort_by_key(|o| std::cmp::Reverse(o.created_date));
        Ok(found)
    }

    /// Starts an order; `.mock(true)` validates it without placing it.
    pub fn create(&self, order: CreateOrder) -> CreateOrderRequest<'c> {
        CreateOrderRequest { client: self.client, order, mock: false, options: self.options.clone() }
    }
}

/// What identifies an order's contents: (product, quantity, billing term) of each line, sorted.
fn order_signature<'a>(lines: impl Iterator<Item = (Uuid, f64, &'a str)>) -> Vec<(Uuid, String, String)> {
    let mut lines: Vec<(Uuid, String, String)> =
        lines.map(|(product, quantity, term)| (product, quantity.to_string(), term.to_ascii_lowercase())).collect();
    lines.sort();
    lines
}

/// Builds a [`CreateOrder`] line by line (line item numbers are assigned in order).
///
/// ```no_run
/// # fn demo(company: uuid::Uuid, product: uuid::Uuid, annual: uuid::Uuid) {
/// let order = pax8_ext::resources::NewOrder::for_company(company)
///     .line(product, 5, "Annual", Some(annual))
///     .build();
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct NewOrder {
    order: CreateOrder,
}

impl NewOrder {
    /// An empty order for `company_id`.
    pub fn for_company(company_id: Uuid) -> Self {
        Self {
            order: CreateOrder {
                company_id,
                created_date: None,
                id: None,
                is_scheduled: None,
                line_items: Vec::new(),
                ordered_by: None,
                ordered_by_user_email: None,
                ordered_by_user_id: None,
                ..Default::default()
            },
        }
    }

    /// Adds `quantity` of `product_id` on `billing_term` (`Monthly`, `Annual`...), with the
    /// commitment term the product requires, if any.
    pub fn line(
        mut self,
        product_id: Uuid,
        quantity: u32,
        billing_term: &str,
        commitment_term_id: Option<Uuid>,
    ) -> Self {
        let number = self.order.line_items.len() as f64 + 1.0;
        self.order.line_items.push(pax8_api::partner::types::CreateLineItem {
            billing_term: billing_term.into(),
            commitment_term_id,
            id: None,
            line_item_number: number,
            parent_line_item_number: None,
            parent_subscription_id: None,
            product_id,
            provision_start_date: None,
            provisioning_details: Vec::new(),
            quantity: f64::from(quantity),
            ..Default::default()
        });
        self
    }

    /// The order.
    pub fn build(self) -> CreateOrder {
        self.order
    }
}

/// An order about to be placed.
#[derive(Debug)]
pub struct CreateOrderRequest<'c> {
    client: &'c Pax8Client,
    order: CreateOrder,
    mock: bool,
    options: CallOptions,
}

impl CreateOrderRequest<'_> {
    /// Dry run: the server validates the order (`isMock=true`) and creates nothing.
    pub fn mock(mut self, mock: bool) -> Self {
        self.mock = mock;
        self
    }
    /// Per-call options (e.g. [`crate::RetryPolicy::none`]). Whatever the policy, an order is
    /// replayed only when it provably did not reach the server.
    pub fn options(mut self, options: CallOptions) -> Self {
        self.options = options;
        self
    }
    /// Sends the order.
    pub async fn send(self) -> Result<Order> {
        if self.order.line_items.is_empty() {
            return Err(Error::InvalidRequest("an order needs at least one line item".into()));
        }
        for (i, item) in self.order.line_items.iter().enumerate() {
            if !(item.quantity.is_finite() && item.quantity >= 0.0) {
                return Err(Error::InvalidRequest(format!("line item {i}: quantity {} is not >= 0", item.quantity)));
            }
        }
        // A dry run creates nothing: its lost answer is retried like a read's.
        let options = if self.mock { self.options.changes_nothing() } else { self.options };
        self.client.send_with(self.client.partner().create_order().is_mock(self.mock).body(self.order), &options).await
    }
}
