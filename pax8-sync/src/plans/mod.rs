//! Renewal plans: changes Pax8 only accepts at a commitment's end (a decrease, a billing-term
//! change, a cancellation) or that are wanted on a later day, kept in the mirror database and
//! applied **exactly once** when due.
//!
//! Pax8 applies every change at once (no effective date), so "at renewal" is ours to keep. A plan
//! records what the subscription was when it was made (its basis). [`run_due`] claims one due
//! plan at a time with a compare-and-set (`pending` → `applying`, so two runners, on any number
//! of hosts, never take the same plan), reads the subscription, holds the plan with the reason if
//! the subscription has changed since (quantity, status, commitment end), else applies it through
//! pax8-ext's operations (the preview and refusal a manual change goes through) and records the
//! answer. A runner killed after its claim leaves the plan `applying`; once its lease is over the
//! next run settles it by reading the subscription: at the planned state it was applied, at its
//! basis it was not (it is applied now), anything else holds it. Nothing is applied twice and
//! nothing is lost.

use chrono::NaiveDate;
use pax8_api::partner::types::Subscription;
use pax8_ext::ops::terms::term_update;
use pax8_ext::ops::whole;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::SyncError;

mod run;
mod store;

pub use run::run_due;

/// What a plan changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum PlanAction {
    /// Set the quantity.
    Quantity {
        /// The quantity to set.
        quantity: u32,
    },
    /// Change the billing term.
    Term {
        /// The term (`Monthly`, `Annual`, ...).
        billing_term: String,
    },
    /// Cancel the subscription.
    Cancel,
}

/// What the subscription was when the plan was made; a plan whose subscription differs when it
/// is due is held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Basis {
    /// Its quantity.
    pub quantity: Option<u64>,
    /// Its status.
    pub status: Option<String>,
    /// Its billing term.
    pub billing_term: Option<String>,
    /// When its commitment ends (YYYY-MM-DD).
    pub commitment_end: Option<String>,
}

impl Basis {
    /// The basis of `s` now.
    pub fn of(s: &Subscription) -> Basis {
        let commitment = s.commitment.as_ref().or(s.commitment_term.as_ref());
        Basis {
            quantity: whole(s.quantity),
            status: s.status.as_ref().map(|x| x.to_string()),
            billing_term: s.billing_term.as_ref().map(|t| t.to_string()),
            commitment_end: commitment.and_then(|c| c.end_date).map(|t| t.date().to_string()),
        }
    }

    /// How `now` differs from this basis, in words (empty: it does not).
    pub fn changes(&self, now: &Basis) -> Vec<String> {
        let mut out = Vec::new();
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "none".into());
        if self.quantity != now.quantity {
            let q = |v: Option<u64>| v.map_or_else(|| "none".into(), |q| q.to_string());
            out.push(format!("quantity {} → {}", q(self.quantity), q(now.quantity)));
        }
        if self.status != now.status {
            out.push(format!("status {} → {}", show(&self.status), show(&now.status)));
        }
        if self.billing_term != now.billing_term {
            out.push(format!("billing term {} → {}", show(&self.billing_term), show(&now.billing_term)));
        }
        if self.commitment_end != now.commitment_end {
            out.push(format!("commitment end {} → {}", show(&self.commitment_end), show(&now.commitment_end)));
        }
        out
    }
}

/// A plan as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Its id.
    pub id: Uuid,
    /// The tenant whose subscription it is.
    pub tenant: String,
    /// The subscription.
    pub subscription_id: Uuid,
    /// What it changes.
    #[serde(flatten)]
    pub action: PlanAction,
    /// The day it is due (YYYY-MM-DD).
    pub due: String,
    /// The subscription when the plan was made.
    pub basis: Basis,
    /// `pending`, `applying`, `applied`, `held`, `failed` or `cancelled`.
    pub state: String,
    /// Why it was held or failed, or how it was settled.
    pub reason: Option<String>,
    /// The answer of the change, as the operation's document.
    pub result: Option<serde_json::Value>,
    /// When Pax8 was seen with the change made after it was applied (RFC 3339), and what saw it
    /// (`sync` or `webhook`); absent until then.
    pub confirmed_at: Option<String>,
    /// `sync` or `webhook`.
    pub confirmed_by: Option<String>,
}

impl Plan {
    /// Whether a subscription as `now` describes it is where this plan takes it.
    pub fn reached(&self, now: &Basis) -> bool {
        match &self.action {
            PlanAction::Quantity { quantity } => now.quantity == Some(u64::from(*quantity)),
            PlanAction::Term { billing_term } => now.billing_term.as_deref() == Some(billing_term.as_str()),
            PlanAction::Cancel => now.status.as_deref() == Some("Cancelled"),
        }
    }
}

/// Why a plan cannot be made.
pub(crate) fn refused(why: impl Into<String>) -> SyncError {
    SyncError::Invalid(why.into())
}

/// Checks `action` against the subscription `s` and picks its due day: the commitment's end by
/// default; a decrease, a term change or a cancellation is refused before the commitment's end.
pub fn validate(
    s: &Subscription,
    action: &PlanAction,
    on: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<NaiveDate, SyncError> {
    let basis = Basis::of(s);
    if basis.status.as_deref() == Some("Cancelled") {
        return Err(refused("the subscription is cancelled"));
    }
    let ends = basis.commitment_end.as_deref().and_then(|d| d.parse::<NaiveDate>().ok()).filter(|d| *d > today);
    let restricted = match action {
        PlanAction::Quantity { quantity } => {
            if *quantity == 0 || *quantity > pax8_ext::ops::MAX_QUANTITY {
                return Err(refused("the quantity must be from 1 to 1,000,000; to end a subscription, plan --cancel"));
            }
            match basis.quantity {
                Some(now) if now == u64::from(*quantity) => {
                    return Err(refused(format!("the quantity is already {quantity}")));
                }
                Some(now) => u64::from(*quantity) < now,
                None => true,
            }
        }
        PlanAction::Term { billing_term } => {
            if term_update(billing_term).is_none() {
                return Err(refused(format!("`{billing_term}` is not a billing term")));
            }
            if basis.billing_term.as_deref() == Some(billing_term.as_str()) {
                return Err(refused(format!("the billing term is already {billing_term}")));
            }
            true
        }
        PlanAction::Cancel => true,
    };
    let due = match (on, ends) {
        (Some(day), _) if day < today => return Err(refused(format!("{day} has passed"))),
        (Some(day), Some(end)) if restricted && day < end => {
            return Err(refused(format!(
                "Pax8 refuses this before the commitment ends on {end}: plan it on or after then (the default)"
            )));
        }
        (Some(day), _) => day,
        (None, Some(end)) => end,
        (None, None) => today,
    };
    Ok(due)
}

/// What a run did with each plan it took.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunReport {
    /// Plans applied (the change was sent and answered).
    pub applied: Vec<Plan>,
    /// Plans left by a killed runner and found already applied.
    pub settled: Vec<Plan>,
    /// Plans held: the subscription changed since the plan was made, or Pax8 would refuse it.
    pub held: Vec<Plan>,
    /// Plans that failed (the API refused or failed; a failure that may pass is pending again).
    pub failed: Vec<Plan>,
}

/// How long a runner's claim lasts before another run may settle the plan (a run applies a
/// plan in seconds; a longer silence means it was killed).
pub const DEFAULT_LEASE: std::time::Duration = std::time::Duration::from_secs(600);

#[cfg(test)]
mod tests {
    use pax8_api::partner::types::{SubscriptionBillingTerm, SubscriptionCommitment, SubscriptionStatus};

    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn sub(ends: Option<&str>) -> Subscription {
        Subscription {
            id: Some(Uuid::nil()),
            status: Some(SubscriptionStatus::Active),
            quantity: Some(10.0),
            billing_term: Some(SubscriptionBillingTerm::Annual),
            commitment: ends.map(|e| SubscriptionCommitment {
                end_date: Some(format!("{e}T00:00:00Z").parse().unwrap()),
                term: Some("Annual".into()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn plans_are_checked_as_pax8_would_check_them() {
        let today = day("2026-12-01");
        let running = sub(Some("2027-03-01"));
        let q = |quantity| PlanAction::Quantity { quantity };
        let why = |r: Result<NaiveDate, SyncError>| r.unwrap_err().to_string();
        for bad in [0, 1_000_001] {
            assert!(why(validate(&running, &q(bad), None, today)).contains("from 1 to 1,000,000"), "{bad}");
        }
        assert_eq!(validate(&running, &q(1_000_000), Some(today), today).unwrap(), today, "an increase: any day");
        assert_eq!(validate(&running, &q(9), None, today).unwrap(), day("2027-03-01"), "a decrease: at the end");
        assert!(why(validate(&running, &q(9), Some(day("2027-02-28")), today)).contains("before the commitment ends"));
        assert_eq!(validate(&running, &q(9), Some(day("2027-03-01")), today).unwrap(), day("2027-03-01"));
        let annual = PlanAction::Term { billing_term: "Annual".into() };
        assert!(why(validate(&running, &annual, None, today)).contains("the billing term is already Annual"));
        let monthly = PlanAction::Term { billing_term: "Monthly".into() };
        assert_eq!(validate(&running, &monthly, None, today).unwrap(), day("2027-03-01"));
        // Without a running commitment (none, or ended today), a decrease is due today.
        assert_eq!(validate(&sub(None), &q(9), None, today).unwrap(), today);
        assert_eq!(validate(&sub(Some("2026-12-01")), &q(9), None, today).unwrap(), today);
        let cancelled = Subscription { status: Some(SubscriptionStatus::Cancelled), ..sub(None) };
        assert!(why(validate(&cancelled, &PlanAction::Cancel, None, today)).contains("is cancelled"));
    }
}
