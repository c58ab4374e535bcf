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

use chrono::{DateTime, NaiveDate, Utc};
use pax8_api::partner::types::{Subscription, SubscriptionUpdate};
use pax8_ext::Pax8Client;
use pax8_ext::ops::{OpError, whole};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use uuid::Uuid;

use crate::store::dyn_query;
use crate::{Store, SyncError};

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
}

/// Why a plan cannot be made.
fn refused(why: impl Into<String>) -> SyncError {
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

impl Store {
    /// Stores a plan for `s` (checked with [`validate`]); one open plan per subscription.
    pub async fn make_plan(
        &self,
        tenant: &str,
        s: &Subscription,
        action: PlanAction,
        on: Option<NaiveDate>,
        today: NaiveDate,
    ) -> Result<Plan, SyncError> {
        let subscription_id = s.id.ok_or_else(|| refused("the subscription has no id"))?;
        let due = validate(s, &action, on, today)?;
        let basis = Basis::of(s);
        let id = Uuid::new_v4();
        let (kind, quantity, term) = match &action {
            PlanAction::Quantity { quantity } => ("quantity", Some(i64::from(*quantity)), None),
            PlanAction::Term { billing_term } => ("term", None, Some(billing_term.clone())),
            PlanAction::Cancel => ("cancel", None, None),
        };
        let inserted = sqlx::query(
            "INSERT INTO renewal_plans (id, tenant, subscription_id, action, quantity, billing_term, due, basis, state, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9)",
        )
        .bind(id.to_string())
        .bind(tenant.to_string())
        .bind(subscription_id.to_string())
        .bind(kind)
        .bind(quantity)
        .bind(term)
        .bind(due.to_string())
        .bind(serde_json::to_string(&basis).unwrap_or_default())
        .bind(Utc::now().to_rfc3339())
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(refused(format!(
                    "subscription {subscription_id} already has an open plan: `renewals pending` shows it, `renewals cancel` \
                     removes it"
                )));
            }
            Err(e) => return Err(e.into()),
        }
        self.plan(id).await?.ok_or_else(|| refused("the plan was not stored"))
    }

    /// One plan.
    pub async fn plan(&self, id: Uuid) -> Result<Option<Plan>, SyncError> {
        let row = dyn_query(format!("SELECT {COLUMNS} FROM renewal_plans WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| plan_of(&r)).transpose()
    }

    /// The tenant's plans not yet done (pending, applying, held, failed), by due day; with
    /// `all`, every plan.
    pub async fn plans(&self, tenant: &str, all: bool) -> Result<Vec<Plan>, SyncError> {
        let filter = if all { "" } else { " AND state IN ('pending', 'applying', 'held', 'failed')" };
        let rows = dyn_query(format!(
            "SELECT {COLUMNS} FROM renewal_plans WHERE tenant = $1{filter} ORDER BY due, created_at, id"
        ))
        .bind(tenant.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(plan_of).collect()
    }

    /// Cancels a plan that has not been applied (pending, held or failed).
    pub async fn cancel_plan(&self, id: Uuid) -> Result<Plan, SyncError> {
        let done = sqlx::query(
            "UPDATE renewal_plans SET state = 'cancelled', finished_at = $2 WHERE id = $1 AND state IN ('pending', 'held', \
             'failed')",
        )
        .bind(id.to_string())
        .bind(Utc::now().to_rfc3339())
        .execute(&self.pool)
        .await?;
        let plan = self.plan(id).await?.ok_or_else(|| refused(format!("no plan {id}")))?;
        if done.rows_affected() == 0 {
            return Err(refused(format!("plan {id} is {}: only a plan not yet applied can be cancelled", plan.state)));
        }
        Ok(plan)
    }

    /// Takes the next due pending plan for `runner` (compare and set: one runner wins it).
    /// Plans in `skip` (handled by this run already) are not taken again.
    async fn claim_plan(
        &self,
        tenant: &str,
        as_of: NaiveDate,
        runner: &str,
        skip: &[Uuid],
    ) -> Result<Option<Plan>, SyncError> {
        // Uuids printed by this process: safe in the statement's text.
        let skipped: Vec<String> = skip.iter().map(|id| format!("'{id}'")).collect();
        let not_in =
            if skipped.is_empty() { String::new() } else { format!(" AND id NOT IN ({})", skipped.join(", ")) };
        loop {
            let next = dyn_query(format!(
                "SELECT id FROM renewal_plans WHERE tenant = $1 AND state = 'pending' AND due <= $2{not_in} ORDER BY \
                 due, created_at, id LIMIT 1"
            ))
            .bind(tenant.to_string())
            .bind(as_of.to_string())
            .fetch_optional(&self.pool)
            .await?;
            let Some(row) = next else { return Ok(None) };
            let id: String = row.try_get("id")?;
            let won = dyn_query(format!(
                "UPDATE renewal_plans SET state = 'applying', claimed_by = $2, claimed_at_us = {} WHERE id = $1 AND \
                 state = 'pending'",
                self.now_us_sql()
            ))
            .bind(id.clone())
            .bind(runner.to_string())
            .execute(&self.pool)
            .await?;
            if won.rows_affected() == 1 {
                let id = Uuid::parse_str(&id).map_err(|e| refused(e.to_string()))?;
                return self.plan(id).await;
            }
            // Another runner took it between the read and the update: look again.
        }
    }

    /// Takes over plans left `applying` by a runner whose lease is over (it was killed).
    async fn claim_abandoned(
        &self,
        tenant: &str,
        lease: std::time::Duration,
        runner: &str,
    ) -> Result<Vec<Plan>, SyncError> {
        let lease_us = i64::try_from(lease.as_micros()).unwrap_or(i64::MAX);
        let rows = dyn_query(format!(
            "SELECT id, claimed_by FROM renewal_plans WHERE tenant = $1 AND state = 'applying' AND claimed_at_us < {} - $2",
            self.now_us_sql()
        ))
        .bind(tenant.to_string())
        .bind(lease_us)
        .fetch_all(&self.pool)
        .await?;
        let mut taken = Vec::new();
        for row in rows {
            let id: String = row.try_get("id")?;
            let holder: Option<String> = row.try_get("claimed_by")?;
            let won = dyn_query(format!(
                "UPDATE renewal_plans SET claimed_by = $2, claimed_at_us = {} WHERE id = $1 AND state = 'applying' AND \
                 claimed_by = $3",
                self.now_us_sql()
            ))
            .bind(id.clone())
            .bind(runner.to_string())
            .bind(holder.unwrap_or_default())
            .execute(&self.pool)
            .await?;
            if won.rows_affected() == 1
                && let Ok(id) = Uuid::parse_str(&id)
                && let Some(plan) = self.plan(id).await?
            {
                taken.push(plan);
            }
        }
        Ok(taken)
    }

    /// Records how a claimed plan ended (only while `runner` holds it).
    async fn finish_plan(
        &self,
        id: Uuid,
        runner: &str,
        state: &str,
        reason: Option<String>,
        result: Option<serde_json::Value>,
    ) -> Result<(), SyncError> {
        sqlx::query(
            "UPDATE renewal_plans SET state = $3, reason = $4, result = $5, finished_at = $6, claimed_by = NULL, \
             claimed_at_us = NULL WHERE id = $1 AND claimed_by = $2 AND state = 'applying'",
        )
        .bind(id.to_string())
        .bind(runner.to_string())
        .bind(state.to_string())
        .bind(reason)
        .bind(result.map(|r| r.to_string()))
        .bind(Utc::now().to_rfc3339())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

const COLUMNS: &str = "id, tenant, subscription_id, action, quantity, billing_term, due, basis, state, reason, result";

fn plan_of(row: &sqlx::any::AnyRow) -> Result<Plan, SyncError> {
    let bad = |what: &str| refused(format!("a stored plan has a bad {what}"));
    let id: String = row.try_get("id")?;
    let subscription: String = row.try_get("subscription_id")?;
    let action = match row.try_get::<String, _>("action")?.as_str() {
        "quantity" => {
            let q: Option<i64> = row.try_get("quantity")?;
            PlanAction::Quantity { quantity: q.and_then(|q| u32::try_from(q).ok()).ok_or_else(|| bad("quantity"))? }
        }
        "term" => PlanAction::Term {
            billing_term: row.try_get::<Option<String>, _>("billing_term")?.ok_or_else(|| bad("billing term"))?,
        },
        "cancel" => PlanAction::Cancel,
        _ => return Err(bad("action")),
    };
    let basis: String = row.try_get("basis")?;
    let result: Option<String> = row.try_get("result")?;
    Ok(Plan {
        id: Uuid::parse_str(&id).map_err(|_| bad("id"))?,
        tenant: row.try_get("tenant")?,
        subscription_id: Uuid::parse_str(&subscription).map_err(|_| bad("subscription id"))?,
        action,
        due: row.try_get("due")?,
        basis: serde_json::from_str(&basis).map_err(|_| bad("basis"))?,
        state: row.try_get("state")?,
        reason: row.try_get("reason")?,
        result: result.and_then(|r| serde_json::from_str(&r).ok()),
    })
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

/// Applies every plan of `tenant` due on or before `as_of`, each exactly once, with `client`
/// (the tenant's). `now` is the moment the changes are judged at (the commitment rules).
pub async fn run_due(
    store: &Store,
    client: &Pax8Client,
    tenant: &str,
    as_of: NaiveDate,
    now: DateTime<Utc>,
    lease: std::time::Duration,
) -> Result<RunReport, SyncError> {
    let runner = format!("run-{}", Uuid::new_v4().simple());
    let mut report = RunReport::default();
    for plan in store.claim_abandoned(tenant, lease, &runner).await? {
        settle(store, client, &plan, &runner, now, &mut report).await?;
    }
    let mut handled: Vec<Uuid> = Vec::new();
    while let Some(plan) = store.claim_plan(tenant, as_of, &runner, &handled).await? {
        handled.push(plan.id);
        apply(store, client, &plan, &runner, now, &mut report).await?;
    }
    Ok(report)
}

/// Whether the subscription is where the plan takes it.
fn reached(plan: &Plan, now: &Basis) -> bool {
    match &plan.action {
        PlanAction::Quantity { quantity } => now.quantity == Some(u64::from(*quantity)),
        PlanAction::Term { billing_term } => now.billing_term.as_deref() == Some(billing_term.as_str()),
        PlanAction::Cancel => now.status.as_deref() == Some("Cancelled"),
    }
}

/// A plan left `applying`: applied already, not applied (apply it), or changed (hold it).
async fn settle(
    store: &Store,
    client: &Pax8Client,
    plan: &Plan,
    runner: &str,
    now: DateTime<Utc>,
    report: &mut RunReport,
) -> Result<(), SyncError> {
    let s = client.subscriptions().get(plan.subscription_id).await?;
    let seen = Basis::of(&s);
    if reached(plan, &seen) {
        let why = "its runner stopped after the change; the subscription shows it applied".to_string();
        store.finish_plan(plan.id, runner, "applied", Some(why), None).await?;
        report.settled.push(store.plan(plan.id).await?.unwrap_or_else(|| plan.clone()));
        return Ok(());
    }
    apply(store, client, plan, runner, now, report).await
}

/// Applies a claimed plan unless its subscription changed, and records the outcome.
async fn apply(
    store: &Store,
    client: &Pax8Client,
    plan: &Plan,
    runner: &str,
    now: DateTime<Utc>,
    report: &mut RunReport,
) -> Result<(), SyncError> {
    let s = match client.subscriptions().get(plan.subscription_id).await {
        Ok(s) => s,
        Err(e) => return failed(store, plan, runner, e, report).await,
    };
    let changes = plan.basis.changes(&Basis::of(&s));
    if !changes.is_empty() {
        let why = format!("the subscription changed since the plan was made: {}", changes.join(", "));
        store.finish_plan(plan.id, runner, "held", Some(why), None).await?;
        report.held.push(store.plan(plan.id).await?.unwrap_or_else(|| plan.clone()));
        return Ok(());
    }
    let outcome = change(client, plan, now).await;
    match outcome {
        Ok(result) => {
            store.finish_plan(plan.id, runner, "applied", None, Some(result)).await?;
            report.applied.push(store.plan(plan.id).await?.unwrap_or_else(|| plan.clone()));
        }
        Err(OpError::Refused(why)) => {
            store.finish_plan(plan.id, runner, "held", Some(why), None).await?;
            report.held.push(store.plan(plan.id).await?.unwrap_or_else(|| plan.clone()));
        }
        Err(OpError::Api(e)) => return failed(store, plan, runner, e, report).await,
        Err(other) => {
            store.finish_plan(plan.id, runner, "failed", Some(other.to_string()), None).await?;
            report.failed.push(store.plan(plan.id).await?.unwrap_or_else(|| plan.clone()));
        }
    }
    Ok(())
}

/// The update that sets `term`, when it is a billing term the API documents.
fn term_update(term: &str) -> Option<SubscriptionUpdate> {
    let term = pax8_api::partner::types::SubscriptionUpdateBillingTerm::from(term);
    term.is_known().then(|| SubscriptionUpdate { billing_term: Some(term), ..Default::default() })
}

/// Makes the plan's change through pax8-ext's operations; the answer as the operation's document.
async fn change(client: &Pax8Client, plan: &Plan, now: DateTime<Utc>) -> Result<serde_json::Value, OpError> {
    use pax8_ext::ops::subscriptions::{prepare_cancel, prepare_quantity_at};
    let id = plan.subscription_id;
    Ok(match &plan.action {
        PlanAction::Quantity { quantity } => {
            document(prepare_quantity_at(client, id, *quantity, now).await?.apply(client).await?)
        }
        PlanAction::Cancel => document(prepare_cancel(client, id, None).await?.apply(client).await?),
        PlanAction::Term { billing_term } => {
            let update = term_update(billing_term)
                .ok_or_else(|| OpError::Refused(format!("`{billing_term}` is not a billing term")))?;
            let updated = client.subscriptions().update(id, update).await?;
            serde_json::json!({"subscription": pax8_ext::views::SubscriptionSummary::from(&updated)})
        }
    })
}

/// An operation's result as its JSON document.
fn document<T: Serialize>(result: T) -> serde_json::Value {
    serde_json::to_value(result).unwrap_or_default()
}

/// An API failure: a refusal (4xx) fails the plan; anything that may pass puts it back to
/// pending for the next run.
async fn failed(
    store: &Store,
    plan: &Plan,
    runner: &str,
    e: pax8_ext::Error,
    report: &mut RunReport,
) -> Result<(), SyncError> {
    let lasting = e.status().is_some_and(|s| s.is_client_error() && s.as_u16() != 408 && s.as_u16() != 429);
    let state = if lasting { "failed" } else { "pending" };
    store.finish_plan(plan.id, runner, state, Some(e.to_string()), None).await?;
    report.failed.push(store.plan(plan.id).await?.unwrap_or_else(|| plan.clone()));
    Ok(())
}

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
