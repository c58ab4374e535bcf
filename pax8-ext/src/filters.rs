//! One filter type per listed resource, shared by the CLI's flags, the MCP tools' arguments and
//! any application: values are checked against the document's allowed values before a request
//! is sent (`status Bogus` is an error listing the allowed ones, not an empty list).
//!
//! ```no_run
//! # async fn demo(client: pax8_ext::Pax8Client) -> pax8_ext::Result<()> {
//! use pax8_ext::filters::SubscriptionFilter;
//!
//! let filter = SubscriptionFilter { status: Some("Active".into()), ..Default::default() };
//! let active = client.subscriptions().filtered(&filter)?.collect_all().await?;
//! # Ok(()) }
//! ```

use pax8_api::partner::types::{
    FindCompaniesSort, FindCompaniesStatus, FindPartnerInvoicesStatus, FindSubscriptionsBillingTerm,
    FindSubscriptionsSort, FindSubscriptionsStatus,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};

/// `value`, if given, is one of `known`.
fn check(value: Option<&str>, known: &[&str], what: &str) -> Result<()> {
    match value {
        Some(v) if !known.contains(&v) => {
            Err(Error::InvalidRequest(format!("{what} `{v}` is not one of: {}", known.join(", "))))
        }
        _ => Ok(()),
    }
}

/// Which companies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct CompanyFilter {
    /// City (exact).
    pub city: Option<String>,
    /// Country code, e.g. US.
    pub country: Option<String>,
    /// Active, Inactive or Deleted.
    pub status: Option<String>,
    /// name, city, country, stateOrProvince or postalCode.
    pub sort: Option<String>,
}

impl CompanyFilter {
    /// Checks the values against the document's.
    pub fn check(&self) -> Result<()> {
        check(self.status.as_deref(), FindCompaniesStatus::KNOWN, "status")?;
        check(self.sort.as_deref(), FindCompaniesSort::KNOWN, "sort")
    }
}

/// Which subscriptions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct SubscriptionFilter {
    /// Only this company's.
    pub company_id: Option<Uuid>,
    /// Only this product's.
    pub product_id: Option<Uuid>,
    /// Active, Cancelled, PendingManual, ...
    pub status: Option<String>,
    /// Monthly, Annual, 2-Year, 3-Year, One-Time, Trial, Activation.
    pub billing_term: Option<String>,
    /// e.g. quantity,desc or startDate,asc.
    pub sort: Option<String>,
}

impl SubscriptionFilter {
    /// Checks the values against the document's.
    pub fn check(&self) -> Result<()> {
        check(self.status.as_deref(), FindSubscriptionsStatus::KNOWN, "status")?;
        check(self.billing_term.as_deref(), FindSubscriptionsBillingTerm::KNOWN, "billing term")?;
        check(self.sort.as_deref(), FindSubscriptionsSort::KNOWN, "sort")
    }
}

/// Which invoices.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct InvoiceFilter {
    /// Unpaid, Paid, Void, Carried, Nothing Due or Credited.
    pub status: Option<String>,
    /// Dated on or after.
    pub from: Option<chrono::NaiveDate>,
    /// Dated on or before.
    pub to: Option<chrono::NaiveDate>,
}

impl InvoiceFilter {
    /// Checks the values against the document's, and that the range is not reversed.
    pub fn check(&self) -> Result<()> {
        check(self.status.as_deref(), FindPartnerInvoicesStatus::KNOWN, "status")?;
        match (self.from, self.to) {
            (Some(from), Some(to)) if from > to => {
                Err(Error::InvalidRequest(format!("the range starts ({from}) after it ends ({to})")))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_outside_the_document_are_refused_with_the_allowed_ones() {
        let bogus = SubscriptionFilter { status: Some("Bogus".into()), ..Default::default() };
        let message = bogus.check().unwrap_err().to_string();
        assert!(message.contains("status `Bogus` is not one of") && message.contains("Active"), "{message}");
        let term = SubscriptionFilter { billing_term: Some("annually".into()), ..Default::default() };
        assert!(term.check().unwrap_err().to_string().contains("billing term `annually`"));
        assert!(SubscriptionFilter { sort: Some("price,desc".into()), ..Default::default() }.check().is_ok());
        assert!(SubscriptionFilter::default().check().is_ok());
        assert!(CompanyFilter { status: Some("Gone".into()), ..Default::default() }.check().is_err());
        assert!(CompanyFilter { sort: Some("revenue".into()), ..Default::default() }.check().is_err());
        assert!(
            CompanyFilter { status: Some("Active".into()), sort: Some("name".into()), ..Default::default() }
                .check()
                .is_ok()
        );
        let day = |d| chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        assert!(InvoiceFilter { from: Some(day(2)), to: Some(day(1)), ..Default::default() }.check().is_err());
        assert!(
            InvoiceFilter { from: Some(day(1)), to: Some(day(1)), status: Some("Nothing Due".into()) }.check().is_ok()
        );
        assert!(InvoiceFilter { status: Some("Overdue".into()), ..Default::default() }.check().is_err());
    }
}
