//! Tool arguments: strict (an unknown name is refused with the accepted ones), every number
//! bounded, and errors that name the field.

use std::borrow::Cow;

use rmcp::ErrorData;
use rmcp::handler::server::common::FromContextPart;
use rmcp::handler::server::tool::ToolCallContext;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A tool's arguments, decoded strictly: an error names the field (`company_id: UUID parsing
/// failed ...`, `unknown field `company`, expected one of ...`).
#[derive(Debug, Clone)]
pub struct Parameters<T>(pub T);

impl<T: JsonSchema> JsonSchema for Parameters<T> {
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

impl<S, T: DeserializeOwned> FromContextPart<ToolCallContext<'_, S>> for Parameters<T> {
    fn from_context_part(context: &mut ToolCallContext<S>) -> Result<Self, ErrorData> {
        let arguments = serde_json::Value::Object(context.arguments.take().unwrap_or_default());
        serde_path_to_error::deserialize(arguments).map(Parameters).map_err(|e| {
            let path = e.path().to_string();
            let at = if path == "." { String::new() } else { format!("{path}: ") };
            ErrorData::invalid_params(format!("invalid arguments: {at}{}", e.inner()), None)
        })
    }
}

/// The largest page number a tool accepts (far past any real listing; no overflow below it).
pub const MAX_PAGE: u32 = 1_000_000;
/// The largest quantity a write accepts (seats, licences, units): the operations' own bound.
pub use pax8_ext::ops::MAX_QUANTITY;

/// Checks paging: `page` from 0 to [`MAX_PAGE`], `size` from 1 to `max` (default 50).
pub fn paging(page: Option<u32>, size: Option<u32>, max: u32) -> Result<(u32, u32), String> {
    let size = size.unwrap_or(50.min(max));
    if !(1..=max).contains(&size) {
        return Err(format!("size must be between 1 and {max}, got {size}"));
    }
    let page = page.unwrap_or(0);
    if page > MAX_PAGE {
        return Err(format!("page must be between 0 and {MAX_PAGE}, got {page}"));
    }
    Ok((page, size))
}

/// A `YYYY-MM-DD` date.
pub fn date(s: &str) -> Result<pax8_api::Date, String> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map(pax8_api::Date::from)
        .map_err(|_| format!("`{s}` is not a date (YYYY-MM-DD)"))
}

macro_rules! paged_args {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$field_meta:meta])* pub $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// Page number, from 0.
            pub page: Option<u32>,
            /// Items per page, 1 to 200 (default 50).
            pub size: Option<u32>,
            $($(#[$field_meta])* pub $field: $ty,)*
        }
    };
}

macro_rules! args {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$field_meta:meta])* pub $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$field_meta])* pub $field: $ty,)*
        }
    };
}

paged_args! {
    /// Companies, filtered.
    pub struct CompaniesList {
        /// City (exact).
        pub city: Option<String>,
        /// Country code, e.g. US.
        pub country: Option<String>,
        /// Active, Inactive or Deleted.
        pub status: Option<String>,
        /// One of: name, city, country, stateOrProvince, postalCode.
        pub sort: Option<String>,
    }
}

paged_args! {
    /// Subscriptions, filtered.
    pub struct SubscriptionsList {
        /// Only this company's.
        pub company_id: Option<Uuid>,
        /// Only this product's.
        pub product_id: Option<Uuid>,
        /// Active, Cancelled, PendingManual, ...
        pub status: Option<String>,
        /// Monthly, Annual, 2-Year, 3-Year, One-Time, Trial, Activation.
        pub billing_term: Option<String>,
        /// e.g. quantity,desc or startDate,asc (see the API's allowed values).
        pub sort: Option<String>,
    }
}

paged_args! {
    /// Invoices, filtered.
    pub struct InvoicesList {
        /// Unpaid, Paid, Void, Carried, Nothing Due, Credited.
        pub status: Option<String>,
        /// Invoices dated on or after (YYYY-MM-DD).
        pub from: Option<String>,
        /// Invoices dated on or before (YYYY-MM-DD).
        pub to: Option<String>,
    }
}

paged_args! {
    /// The items of one invoice.
    pub struct InvoiceItems {
        /// The invoice.
        pub invoice_id: Uuid,
        /// Only this company's items.
        pub company_id: Option<Uuid>,
    }
}

paged_args! {
    /// Draft items of this or next month.
    pub struct DraftItems {
        /// 0: this month, 1: next month.
        pub month_offset: Option<u8>,
        /// Only this company's items.
        pub company_id: Option<Uuid>,
    }
}

paged_args! {
    /// A catalogue search.
    pub struct ProductsSearch {
        /// Name, vendor or SKU (2 to 256 characters).
        pub query: Option<String>,
        /// Vendor name (exact).
        pub vendor: Option<String>,
    }
}

paged_args! {
    /// Orders, optionally of one company.
    pub struct OrdersList {
        /// Only this company's.
        pub company_id: Option<Uuid>,
    }
}

paged_args! {
    /// Quotes (size up to 100).
    pub struct QuotesList {}
}

args! {
    /// One company.
    pub struct CompanyId {
        /// The company.
        pub company_id: Uuid,
    }
}

args! {
    /// A company name.
    pub struct CompanyName {
        /// A company name or part of it.
        pub name: String,
    }
}

args! {
    /// One subscription.
    pub struct SubscriptionId {
        /// The subscription.
        pub subscription_id: Uuid,
    }
}

args! {
    /// One day of one usage summary.
    pub struct UsageLinesArgs {
        /// The usage summary.
        pub usage_summary_id: Uuid,
        /// YYYY-MM-DD.
        pub date: String,
    }
}

args! {
    /// One invoice.
    pub struct InvoiceId {
        /// The invoice.
        pub invoice_id: Uuid,
    }
}

args! {
    /// One product.
    pub struct ProductId {
        /// The product.
        pub product_id: Uuid,
    }
}

args! {
    /// A product's pricing.
    pub struct PricingArgs {
        /// The product.
        pub product_id: Uuid,
        /// The company's own rates instead of the list rates.
        pub company_id: Option<Uuid>,
    }
}

args! {
    /// One order.
    pub struct OrderId {
        /// The order.
        pub order_id: Uuid,
    }
}

args! {
    /// One quote.
    pub struct QuoteId {
        /// The quote.
        pub quote_id: Uuid,
    }
}

args! {
    /// An order of one product for one company.
    pub struct OrderArgs {
        /// The company (see company_resolve).
        pub company_id: Uuid,
        /// The product (see products_search).
        pub product_id: Uuid,
        /// Whole number of seats/units, 1 to 1,000,000.
        pub quantity: u32,
        /// Monthly, Annual, ...
        pub billing_term: String,
        /// Only when the product has several commitment terms for this billing term: the
        /// preview resolves a single one itself, or lists the choices.
        pub commitment_term_id: Option<Uuid>,
    }
}

args! {
    /// Places an order previewed with order_preview.
    pub struct OrderExecute {
        /// As previewed.
        pub company_id: Uuid,
        /// As previewed.
        pub product_id: Uuid,
        /// As previewed.
        pub quantity: u32,
        /// As previewed.
        pub billing_term: String,
        /// As previewed.
        pub commitment_term_id: Option<Uuid>,
        /// The token order_preview returned for exactly these arguments (needed unless the
        /// policy for order_execute is `auto`).
        pub confirmation_token: Option<String>,
    }
}

impl OrderExecute {
    /// The order these arguments describe.
    pub fn order(&self) -> OrderArgs {
        OrderArgs {
            company_id: self.company_id,
            product_id: self.product_id,
            quantity: self.quantity,
            billing_term: self.billing_term.clone(),
            commitment_term_id: self.commitment_term_id,
        }
    }
}

impl OrderArgs {
    /// The order the operations layer places.
    pub fn spec(&self) -> pax8_ext::ops::orders::OrderSpec {
        pax8_ext::ops::orders::OrderSpec {
            company_id: self.company_id,
            product_id: self.product_id,
            quantity: self.quantity,
            billing_term: self.billing_term.clone(),
            commitment_term_id: self.commitment_term_id,
        }
    }
}

args! {
    /// A quantity change.
    pub struct QuantityArgs {
        /// The subscription.
        pub subscription_id: Uuid,
        /// The new quantity, 1 to 1,000,000 (use the cancel tools to end a subscription).
        pub quantity: u32,
    }
}

args! {
    /// Applies a quantity change previewed with subscription_quantity_preview.
    pub struct QuantityExecute {
        /// As previewed.
        pub subscription_id: Uuid,
        /// As previewed.
        pub quantity: u32,
        /// The preview's token (needed unless the policy is `auto`).
        pub confirmation_token: Option<String>,
    }
}

impl QuantityExecute {
    /// The change these arguments describe.
    pub fn change(&self) -> QuantityArgs {
        QuantityArgs { subscription_id: self.subscription_id, quantity: self.quantity }
    }
}

args! {
    /// A cancellation.
    pub struct CancelArgs {
        /// The subscription.
        pub subscription_id: Uuid,
        /// Cancel at this date (YYYY-MM-DD) instead of as soon as possible.
        pub cancel_date: Option<String>,
    }
}

args! {
    /// Cancels a subscription previewed with subscription_cancel_preview.
    pub struct CancelExecute {
        /// As previewed.
        pub subscription_id: Uuid,
        /// As previewed.
        pub cancel_date: Option<String>,
        /// The preview's token (needed unless the policy is `auto`).
        pub confirmation_token: Option<String>,
    }
}

impl CancelExecute {
    /// The cancellation these arguments describe.
    pub fn cancel(&self) -> CancelArgs {
        CancelArgs { subscription_id: self.subscription_id, cancel_date: self.cancel_date.clone() }
    }
}

args! {
    /// A renewal plan: exactly one of `quantity`, `cancel` or `billing_term`.
    pub struct PlanArgs {
        /// The subscription.
        pub subscription_id: Uuid,
        /// Set the quantity (1 to 1,000,000).
        pub quantity: Option<u32>,
        /// Cancel the subscription.
        pub cancel: Option<bool>,
        /// Change the billing term (Monthly, Annual, ...).
        pub billing_term: Option<String>,
        /// The day (YYYY-MM-DD); by default the commitment's end.
        pub on: Option<String>,
    }
}

args! {
    /// Makes a renewal plan previewed with renewal_plan_preview.
    pub struct PlanExecute {
        /// As previewed.
        pub subscription_id: Uuid,
        /// As previewed.
        pub quantity: Option<u32>,
        /// As previewed.
        pub cancel: Option<bool>,
        /// As previewed.
        pub billing_term: Option<String>,
        /// As previewed.
        pub on: Option<String>,
        /// The preview's token (needed unless the policy is `auto`).
        pub confirmation_token: Option<String>,
    }
}

impl PlanExecute {
    /// The plan these arguments describe.
    pub fn plan(&self) -> PlanArgs {
        PlanArgs {
            subscription_id: self.subscription_id,
            quantity: self.quantity,
            cancel: self.cancel,
            billing_term: self.billing_term.clone(),
            on: self.on.clone(),
        }
    }
}

args! {
    /// An invoice audit.
    pub struct AuditArgs {
        /// The invoice (default: the latest).
        pub invoice_id: Option<Uuid>,
        /// Only this company's items and subscriptions.
        pub company_id: Option<Uuid>,
    }
}

args! {
    /// Renewal plans.
    pub struct PendingArgs {
        /// Every plan, applied and cancelled ones too (default: those not yet done).
        pub all: Option<bool>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_argument_names_are_refused_with_the_accepted_ones() {
        let err = serde_json::from_value::<SubscriptionsList>(serde_json::json!({"company": "Globex"})).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("unknown field `company`") && text.contains("company_id"), "{text}");
        let err = serde_json::from_value::<ProductsSearch>(serde_json::json!({"search": "x"})).unwrap_err();
        assert!(err.to_string().contains("`query`"), "{err}");
        assert!(
            serde_json::from_value::<OrderExecute>(serde_json::json!({"company_id": Uuid::nil(),
            "product_id": Uuid::nil(), "quantity": 1, "billing_term": "Monthly", "extra": 1}))
            .is_err()
        );
    }

    #[test]
    fn numbers_are_bounded() {
        assert_eq!(paging(None, None, 200), Ok((0, 50)));
        assert_eq!(paging(None, None, 100), Ok((0, 50)));
        assert_eq!(paging(Some(MAX_PAGE), Some(200), 200), Ok((MAX_PAGE, 200)));
        assert!(paging(Some(MAX_PAGE + 1), None, 200).unwrap_err().contains("page"));
        assert!(paging(None, Some(0), 200).unwrap_err().contains("size"));
        assert!(paging(None, Some(101), 100).unwrap_err().contains("between 1 and 100"));
        // A negative or fractional number never becomes a u32.
        assert!(
            serde_json::from_value::<QuantityArgs>(serde_json::json!({"subscription_id": Uuid::nil(), "quantity": -5}))
                .is_err()
        );
        assert!(
            serde_json::from_value::<QuantityArgs>(
                serde_json::json!({"subscription_id": Uuid::nil(), "quantity": 1.5})
            )
            .is_err()
        );
        assert!(serde_json::from_value::<DraftItems>(serde_json::json!({"month_offset": 300})).is_err());
    }

    #[test]
    fn the_wrapper_describes_its_arguments_under_their_name() {
        let wrapped = serde_json::to_value(schemars::schema_for!(Parameters<CompanyId>)).unwrap();
        let plain = serde_json::to_value(schemars::schema_for!(CompanyId)).unwrap();
        assert_eq!(wrapped, plain);
        assert_eq!(wrapped["title"], "CompanyId");
    }

    #[test]
    fn dates() {
        assert!(date("2026-11-23").is_ok());
        assert!(date("23/11/2026").unwrap_err().contains("YYYY-MM-DD"));
    }
}
