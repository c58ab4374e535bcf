//! Changing a subscription's billing term (`Monthly` → `Annual`, ...): the subscription and its
//! product's price list are read, the monthly cost on the new term previewed, then the change
//! applied. While a commitment runs Pax8 refuses a term change; it is refused here before anything
//! is sent, naming the day it becomes possible (a renewal plan can make it then).

use pax8_api::partner::types::{SubscriptionUpdate, SubscriptionUpdateBillingTerm};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::subscriptions::{Changed, CommitmentWindow};
use super::{OpError, Report};
use crate::Pax8Client;
use crate::insights::{monthly_cost, months_for_term, per_month, rate_for};
use crate::money::{Decimal, amount, cents, exact};
use crate::views::SubscriptionSummary;

/// What changing the billing term will do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct TermPreview {
    /// The subscription as it is.
    pub subscription: SubscriptionSummary,
    /// Its billing term now.
    pub term_now: Option<String>,
    /// The billing term asked for.
    pub term_new: String,
    /// The monthly cost (the partner's) now, rounded to cents.
    #[serde(with = "rust_decimal::serde::float")]
    #[cfg_attr(feature = "schemars", schemars(with = "f64"))]
    pub monthly_cost_now: Decimal,
    /// The monthly cost on the new term at the price list's partner rate for this quantity,
    /// rounded to cents; absent when the price list has no rate for that term.
    #[serde(with = "rust_decimal::serde::float_option", default)]
    #[cfg_attr(feature = "schemars", schemars(with = "Option<f64>"))]
    pub monthly_cost_new: Option<Decimal>,
    /// The commitment, when one runs (then the change is refused until it ends).
    pub commitment: Option<CommitmentWindow>,
}

/// The document of a billing-term change.
pub type TermReport = Report<TermPreview, Changed>;

/// A billing-term change, read and previewed.
#[derive(Debug, Clone)]
pub struct PreparedTerm {
    id: Uuid,
    update: SubscriptionUpdate,
    preview: TermPreview,
}

/// The update that sets `term`, when it is a billing term the API documents.
pub fn term_update(term: &str) -> Option<SubscriptionUpdate> {
    let term = SubscriptionUpdateBillingTerm::from(term);
    term.is_known().then(|| SubscriptionUpdate { billing_term: Some(term), ..Default::default() })
}

/// Reads the subscription and previews moving it to billing term `term` as of `now`. Refused
/// before anything is sent: a term the API does not document, the term it already has, and any
/// change while a commitment runs (naming the day it ends).
pub async fn prepare_term_at(
    client: &Pax8Client,
    id: Uuid,
    term: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<PreparedTerm, OpError> {
    let update = term_update(term).ok_or_else(|| {
        OpError::Refused(format!("`{term}` is not a billing term (Monthly, Annual, 2-Year, 3-Year, One-Time, ...)"))
    })?;
    let term = update.billing_term.as_ref().map_or_else(|| term.to_string(), |t| t.as_str().to_string());
    let s = client.subscriptions().get(id).await?;
    let term_now = s.billing_term.as_ref().map(|t| t.as_str().to_string());
    let product = s.product_name.clone().unwrap_or_else(|| id.to_string());
    if term_now.as_deref() == Some(term.as_str()) {
        return Err(OpError::Refused(format!("{product}: the billing term is already {term}")));
    }
    let commitment = CommitmentWindow::of(&s, now);
    if let Some(window) = &commitment {
        let running = window.term.as_deref().map(|t| format!("{t} ")).unwrap_or_default();
        return Err(OpError::Refused(format!(
            "{product}: the billing term can only change when its {running}commitment ends on {}; Pax8 refuses a \
             term change mid-commitment",
            window.ends
        )));
    }
    let pricing = match s.product_id {
        Some(product) => client.products().pricing(product, s.company_id).await?,
        None => Vec::new(),
    };
    let rate = rate_for(&pricing, &term, s.quantity.unwrap_or(0.0)).and_then(|r| exact(r.partner_buy_rate));
    let preview = TermPreview {
        monthly_cost_now: cents(monthly_cost(&s)),
        monthly_cost_new: rate.map(|r| cents(per_month(r, amount(s.quantity), months_for_term(&term)))),
        term_now,
        term_new: term,
        subscription: SubscriptionSummary::from(&s),
        commitment,
    };
    Ok(PreparedTerm { id, update, preview })
}

impl PreparedTerm {
    /// What the change will do.
    pub fn preview(&self) -> &TermPreview {
        &self.preview
    }
    /// Applies the change (a PUT: a lost answer is retried by the pipeline, never unknown).
    pub async fn apply(self, client: &Pax8Client) -> Result<TermReport, OpError> {
        let updated = client.subscriptions().update(self.id, self.update).await?;
        Ok(Report::done(self.preview, Changed { subscription: SubscriptionSummary::from(&updated) }))
    }
}
