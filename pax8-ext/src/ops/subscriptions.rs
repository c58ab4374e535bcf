//! Changing a subscription's quantity and cancelling it: the subscription is read, the monthly
//! impact previewed, then the change applied.

use pax8_api::partner::types::Subscription;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{OpError, Report, check_quantity, whole};
use crate::insights::{monthly_cost, monthly_revenue, months_per_period, per_month};
use crate::money::{Decimal, amount, cents};
use crate::views::SubscriptionSummary;
use crate::{Date, Pax8Client};

/// What changing the quantity will do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct QuantityPreview {
    /// The subscription as it is.
    pub subscription: SubscriptionSummary,
    /// Its quantity now (absent when the API sent none or not a whole number).
    pub quantity_now: Option<u64>,
    /// The quantity asked for.
    pub quantity_new: u32,
    /// The change in monthly revenue (the customer's price), rounded to cents.
    #[serde(with = "rust_decimal::serde::float")]
    #[cfg_attr(feature = "schemars", schemars(with = "f64"))]
    pub monthly_revenue_change: Decimal,
    /// The change in monthly cost (the partner's), rounded to cents.
    #[serde(with = "rust_decimal::serde::float")]
    #[cfg_attr(feature = "schemars", schemars(with = "f64"))]
    pub monthly_cost_change: Decimal,
    /// The subscription's commitment, when it has one that has not ended: what it allows now.
    pub commitment: Option<CommitmentWindow>,
}

/// A commitment still running: until it ends the quantity may only go up (decreases and
/// billing-term changes are refused by Pax8 until then, and apply at the commitment's end).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct CommitmentWindow {
    /// The commitment's term (`Annual`, ...).
    pub term: Option<String>,
    /// The day it ends (YYYY-MM-DD): the first day a decrease is allowed.
    pub ends: String,
    /// What can change now: `increase`.
    pub allowed_now: Vec<String>,
    /// What waits for the end: `decrease`, `billing_term`.
    pub at_commitment_end: Vec<String>,
}

impl CommitmentWindow {
    /// The window of `s` at `now`: absent without a commitment or once it has ended.
    pub fn of(s: &Subscription, now: chrono::DateTime<chrono::Utc>) -> Option<CommitmentWindow> {
        let commitment = s.commitment.as_ref().or(s.commitment_term.as_ref())?;
        let ends = commitment.end_date?;
        (ends.to_utc() > now).then(|| CommitmentWindow {
            term: commitment.term.clone(),
            ends: ends.date().to_string(),
            allowed_now: vec!["increase".into()],
            at_commitment_end: vec!["decrease".into(), "billing_term".into()],
        })
    }
}

/// A subscription after a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct Changed {
    /// The subscription as the server returned it.
    pub subscription: SubscriptionSummary,
}

/// The document of a quantity change.
pub type QuantityReport = Report<QuantityPreview, Changed>;

/// A quantity change, read and previewed.
#[derive(Debug, Clone)]
pub struct PreparedQuantity {
    id: Uuid,
    preview: QuantityPreview,
}

/// Reads the subscription and previews setting its quantity to `quantity` (1 to
/// [`super::MAX_QUANTITY`]; a subscription is ended by cancelling it), as of now.
pub async fn prepare_quantity(client: &Pax8Client, id: Uuid, quantity: u32) -> Result<PreparedQuantity, OpError> {
    prepare_quantity_at(client, id, quantity, chrono::Utc::now()).await
}

/// [`prepare_quantity`] as of `now`. A decrease while a commitment runs is refused before
/// anything is sent, naming the day it becomes possible (Pax8 refuses it until then).
pub async fn prepare_quantity_at(
    client: &Pax8Client,
    id: Uuid,
    quantity: u32,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<PreparedQuantity, OpError> {
    check_quantity(quantity, "quantity must be at least 1; to end a subscription, cancel it")?;
    let s = client.subscriptions().get(id).await?;
    let commitment = CommitmentWindow::of(&s, now);
    if let Some(window) = &commitment
        && Decimal::from(quantity) < amount(s.quantity)
    {
        let product = s.product_name.clone().unwrap_or_else(|| id.to_string());
        let term = window.term.as_deref().map(|t| format!("{t} ")).unwrap_or_default();
        return Err(OpError::Refused(format!(
            "{product}: the quantity ({}) can only go down when its {term}commitment ends on {}; until then it can \
             only go up (Pax8 refuses a decrease mid-commitment)",
            whole(s.quantity).map_or_else(|| "?".into(), |q| q.to_string()),
            window.ends
        )));
    }
    let delta = Decimal::from(quantity) - amount(s.quantity);
    let months = months_per_period(&s);
    let preview = QuantityPreview {
        quantity_now: whole(s.quantity),
        quantity_new: quantity,
        monthly_revenue_change: cents(per_month(amount(s.price), delta, months)),
        monthly_cost_change: cents(per_month(amount(s.partner_cost), delta, months)),
        subscription: SubscriptionSummary::from(&s),
        commitment,
    };
    Ok(PreparedQuantity { id, preview })
}

impl PreparedQuantity {
    /// What the change will do.
    pub fn preview(&self) -> &QuantityPreview {
        &self.preview
    }
    /// Applies the change (a PUT: a lost answer is retried by the pipeline, never unknown).
    pub async fn apply(self, client: &Pax8Client) -> Result<QuantityReport, OpError> {
        let updated = client.subscriptions().update_quantity(self.id, i64::from(self.preview.quantity_new)).await?;
        Ok(Report::done(self.preview, Changed { subscription: SubscriptionSummary::from(&updated) }))
    }
}

/// What cancelling will do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct CancelPreview {
    /// The subscription as it is.
    pub subscription: SubscriptionSummary,
    /// When it ends (YYYY-MM-DD); absent: as soon as the vendor allows.
    pub cancel_date: Option<String>,
    /// Monthly revenue lost, rounded to cents.
    #[serde(with = "rust_decimal::serde::float")]
    #[cfg_attr(feature = "schemars", schemars(with = "f64"))]
    pub monthly_revenue_lost: Decimal,
    /// Monthly cost saved, rounded to cents.
    #[serde(with = "rust_decimal::serde::float")]
    #[cfg_attr(feature = "schemars", schemars(with = "f64"))]
    pub monthly_cost_saved: Decimal,
}

/// A cancellation made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct Cancelled {
    /// The subscription cancelled.
    pub subscription_id: Uuid,
}

/// The document of a cancellation.
pub type CancelReport = Report<CancelPreview, Cancelled>;

/// A cancellation, read and previewed.
#[derive(Debug, Clone)]
pub struct PreparedCancel {
    id: Uuid,
    date: Option<Date>,
    preview: CancelPreview,
}

/// Reads the subscription and previews cancelling it, on `date` if given.
pub async fn prepare_cancel(client: &Pax8Client, id: Uuid, date: Option<Date>) -> Result<PreparedCancel, OpError> {
    let s: Subscription = client.subscriptions().get(id).await?;
    let preview = CancelPreview {
        cancel_date: date.map(|d| d.to_string()),
        monthly_revenue_lost: cents(monthly_revenue(&s)),
        monthly_cost_saved: cents(monthly_cost(&s)),
        subscription: SubscriptionSummary::from(&s),
    };
    Ok(PreparedCancel { id, date, preview })
}

impl PreparedCancel {
    /// What the cancellation will do.
    pub fn preview(&self) -> &CancelPreview {
        &self.preview
    }
    /// Cancels (a DELETE: retried by the pipeline like every idempotent request).
    pub async fn apply(self, client: &Pax8Client) -> Result<CancelReport, OpError> {
        client.subscriptions().cancel(self.id, self.date.map(|d| d.to_timestamp())).await?;
        Ok(Report::done(self.preview, Cancelled { subscription_id: self.id }))
    }
}
