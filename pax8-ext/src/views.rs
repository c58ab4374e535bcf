//! One summary type per resource: the fields an operator or an agent reads, under one name each.
//! The CLI's tables and `--json`, the MCP tools' results (and their output schemas, with the
//! `schemars` feature) and the mirror's typed columns all use these.
//!
//! Amounts are decimals (`pax8_ext::money`), written to JSON as numbers; `monthly_revenue` is
//! rounded to cents.

use pax8_api::partner::types::{Company, Contact, Invoice, InvoiceItem, Order, Product, Subscription};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::insights::{commitment_end, monthly_revenue};
use crate::money::{Decimal, cents, exact};

fn text<T: ToString>(value: Option<&T>) -> Option<String> {
    value.map(ToString::to_string)
}

/// A company.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct CompanySummary {
    /// The company's id.
    pub id: Option<Uuid>,
    /// Its name.
    pub name: String,
    /// Active, Inactive or Deleted.
    pub status: Option<String>,
    /// City of its address.
    pub city: Option<String>,
    /// Country code of its address.
    pub country: Option<String>,
    /// The partner's own reference.
    pub external_id: Option<String>,
}

impl From<&Company> for CompanySummary {
    fn from(c: &Company) -> Self {
        CompanySummary {
            id: c.id,
            name: c.name.clone(),
            status: text(c.status.as_ref()),
            city: c.address.city.clone(),
            country: text(c.address.country.as_ref()),
            external_id: c.external_id.clone(),
        }
    }
}

/// A contact of a company.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct ContactSummary {
    /// The contact's id.
    pub id: Option<Uuid>,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Email address.
    pub email: String,
    /// Phone number.
    pub phone: String,
    /// The roles it is the primary contact for (`Admin`, `Billing`, `Technical`).
    pub primary_for: Vec<String>,
}

impl From<&Contact> for ContactSummary {
    fn from(x: &Contact) -> Self {
        ContactSummary {
            id: x.id,
            first_name: x.first_name.clone(),
            last_name: x.last_name.clone(),
            email: x.email.clone(),
            phone: x.phone.clone(),
            primary_for: x.types.iter().filter_map(|t| t.type_.as_ref().map(ToString::to_string)).collect(),
        }
    }
}

/// A subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct SubscriptionSummary {
    /// The subscription's id.
    pub id: Option<Uuid>,
    /// Its company.
    pub company_id: Option<Uuid>,
    /// Its product.
    pub product_id: Option<Uuid>,
    /// The product's name.
    pub product_name: Option<String>,
    /// Seats or units.
    pub quantity: Option<f64>,
    /// Monthly, Annual, ...
    pub billing_term: Option<String>,
    /// Active, Cancelled, ...
    pub status: Option<String>,
    /// Price per unit and billing period, to the customer.
    #[serde(with = "rust_decimal::serde::float_option", default)]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<f64>"))]
    pub price: Option<Decimal>,
    /// Cost per unit and billing period, to the partner.
    #[serde(with = "rust_decimal::serde::float_option", default)]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<f64>"))]
    pub partner_cost: Option<Decimal>,
    /// Price times quantity per month, rounded to cents.
    #[serde(with = "rust_decimal::serde::float")]
    #[cfg_attr(feature = "schemars", schemars(with = "f64"))]
    pub monthly_revenue: Decimal,
    /// The currency of its amounts (e.g. USD).
    pub currency: Option<String>,
    /// When it started.
    pub start_date: Option<String>,
    /// When its commitment ends (YYYY-MM-DD).
    pub commitment_end: Option<String>,
    /// The subscription this one is an add-on of.
    pub parent_subscription_id: Option<Uuid>,
}

impl From<&Subscription> for SubscriptionSummary {
    fn from(s: &Subscription) -> Self {
        SubscriptionSummary {
            id: s.id,
            company_id: s.company_id,
            product_id: s.product_id,
            product_name: s.product_name.clone(),
            quantity: s.quantity,
            billing_term: text(s.billing_term.as_ref()),
            status: text(s.status.as_ref()),
            price: exact(s.price),
            partner_cost: exact(s.partner_cost),
            monthly_revenue: cents(monthly_revenue(s)),
            currency: s.currency_code.clone(),
            start_date: text(s.start_date.as_ref()),
            commitment_end: commitment_end(s).map(|d| d.format("%Y-%m-%d").to_string()),
            parent_subscription_id: s.parent_subscription_id,
        }
    }
}

/// An invoice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct InvoiceSummary {
    /// The invoice's id.
    pub id: Option<Uuid>,
    /// Its date.
    pub invoice_date: Option<String>,
    /// When it is due.
    pub due_date: Option<String>,
    /// Unpaid, Paid, ...
    pub status: Option<String>,
    /// Its total.
    #[serde(with = "rust_decimal::serde::float_option", default)]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<f64>"))]
    pub total: Option<Decimal>,
    /// What is left to pay.
    #[serde(with = "rust_decimal::serde::float_option", default)]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<f64>"))]
    pub balance: Option<Decimal>,
    /// Its currency.
    pub currency: Option<String>,
}

impl From<&Invoice> for InvoiceSummary {
    fn from(i: &Invoice) -> Self {
        InvoiceSummary {
            id: i.id,
            invoice_date: text(i.invoice_date.as_ref()),
            due_date: text(i.due_date.as_ref()),
            status: i.status.clone(),
            total: exact(i.total),
            balance: exact(i.balance),
            currency: i.currency_code.clone(),
        }
    }
}

/// One item of an invoice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct InvoiceItemSummary {
    /// The item's id.
    pub id: Option<Uuid>,
    /// The company billed.
    pub company_id: Option<Uuid>,
    /// Its name.
    pub company_name: Option<String>,
    /// The product.
    pub product_name: Option<String>,
    /// The subscription billed.
    pub subscription_id: Option<Uuid>,
    /// Seats or units.
    pub quantity: Option<f64>,
    /// Cost per unit to the partner.
    #[serde(with = "rust_decimal::serde::float_option", default)]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<f64>"))]
    pub unit_cost: Option<Decimal>,
    /// Cost to the partner.
    #[serde(with = "rust_decimal::serde::float_option", default)]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<f64>"))]
    pub cost_total: Option<Decimal>,
    /// Total to the customer.
    #[serde(with = "rust_decimal::serde::float_option", default)]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<f64>"))]
    pub customer_total: Option<Decimal>,
    /// Billing term.
    pub term: Option<String>,
    /// Start of the billed period.
    pub start: Option<String>,
    /// End of the billed period.
    pub end: Option<String>,
}

impl From<&InvoiceItem> for InvoiceItemSummary {
    fn from(i: &InvoiceItem) -> Self {
        InvoiceItemSummary {
            id: i.id,
            company_id: i.company_id,
            company_name: i.company_name.clone(),
            product_name: i.product_name.clone(),
            subscription_id: i.subscription_id,
            quantity: i.quantity,
            unit_cost: exact(i.cost),
            cost_total: exact(i.cost_total),
            customer_total: exact(i.total),
            term: text(i.term.as_ref()),
            start: text(i.start_period.as_ref()),
            end: text(i.end_period.as_ref()),
        }
    }
}

/// A product of the catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct ProductSummary {
    /// The product's id.
    pub id: Option<Uuid>,
    /// Its name.
    pub name: Option<String>,
    /// Its vendor.
    pub vendor: Option<String>,
    /// Pax8's SKU.
    pub sku: Option<String>,
    /// The vendor's SKU.
    pub vendor_sku: Option<String>,
    /// Whether an order needs a commitment term.
    pub requires_commitment: Option<bool>,
}

impl From<&Product> for ProductSummary {
    fn from(p: &Product) -> Self {
        ProductSummary {
            id: p.id,
            name: p.name.clone(),
            vendor: p.vendor_name.clone(),
            sku: p.sku.clone(),
            vendor_sku: p.vendor_sku.clone(),
            requires_commitment: p.requires_commitment,
        }
    }
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct OrderLineSummary {
    /// The product ordered.
    pub product_id: Option<Uuid>,
    /// Seats or units.
    pub quantity: Option<f64>,
    /// Monthly, Annual, ...
    pub billing_term: Option<String>,
    /// The subscription it created.
    pub subscription_id: Option<Uuid>,
}

/// An order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct OrderSummary {
    /// The order's id.
    pub id: Option<Uuid>,
    /// Its company.
    pub company_id: Option<Uuid>,
    /// When it was placed.
    pub created_date: Option<String>,
    /// Its status.
    pub status: Option<String>,
    /// Its lines.
    pub line_items: Vec<OrderLineSummary>,
}

impl From<&Order> for OrderSummary {
    fn from(o: &Order) -> Self {
        OrderSummary {
            id: o.id,
            company_id: Some(o.company_id),
            created_date: text(o.created_date.as_ref()),
            status: o.status.clone(),
            line_items: o
                .line_items
                .iter()
                .map(|l| OrderLineSummary {
                    product_id: Some(l.product_id),
                    quantity: Some(l.quantity),
                    billing_term: text(l.billing_term.as_ref()),
                    subscription_id: l.subscription_id,
                })
                .collect(),
        }
    }
}

/// One page of summaries, with what it takes to ask for the next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct PageOf<T> {
    /// The items.
    pub items: Vec<T>,
    /// This page's number (from 0).
    pub page: u32,
    /// Items per page asked for.
    pub size: u32,
    /// Pages in all, as the server reports it.
    #[serde(rename = "totalPages")]
    pub total_pages: Option<u64>,
    /// Items in all, as the server reports it.
    #[serde(rename = "totalElements")]
    pub total_elements: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn summaries_keep_one_name_per_field() {
        let s: Subscription = serde_json::from_value(json!({"id": "6a3a0c6e-8e6f-4a0e-9a36-2d5b8d0f6a11",
            "productName": "M365", "quantity": 3, "price": 10.005, "billingTerm": "Monthly", "status": "Active",
            "commitment": {"endDate": "2027-01-31T00:00:00Z"}}))
        .unwrap();
        let v = serde_json::to_value(SubscriptionSummary::from(&s)).unwrap();
        assert_eq!(v["product_name"], "M365");
        assert_eq!(v["billing_term"], "Monthly");
        assert_eq!(v["monthly_revenue"], 30.02);
        assert_eq!(v["commitment_end"], "2027-01-31");
        let c: Company =
            serde_json::from_value(json!({"name": "Globex", "address": {"city": "Chicago", "country": "US"}})).unwrap();
        let v = serde_json::to_value(CompanySummary::from(&c)).unwrap();
        assert_eq!(
            (v["name"].as_str(), v["city"].as_str(), v["country"].as_str()),
            (Some("Globex"), Some("Chicago"), Some("US"))
        );
        let page = PageOf { items: vec![1], page: 0, size: 1, total_pages: Some(3), total_elements: Some(3) };
        assert_eq!(serde_json::to_value(page).unwrap()["totalPages"], 3);
    }
}
