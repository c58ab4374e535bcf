//! Applying due plans: one claimed at a time, checked against what the subscription was, made
//! through pax8-ext's operations, recorded with the answer; a killed runner's claims settled.

use chrono::{DateTime, NaiveDate, Utc};
use pax8_ext::Pax8Client;
use pax8_ext::ops::OpError;
use serde::Serialize;
use uuid::Uuid;

use super::{Basis, Plan, PlanAction, RunReport};
use crate::{Store, SyncError};

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
    let mut run =
        Run { store, client, runner: format!("run-{}", Uuid::new_v4().simple()), now, report: RunReport::default() };
    for plan in store.claim_abandoned(tenant, lease, &run.runner).await? {
        run.settle(&plan).await?;
    }
    let mut handled: Vec<Uuid> = Vec::new();
    while let Some(plan) = store.claim_plan(tenant, as_of, &run.runner, &handled).await? {
        handled.push(plan.id);
        run.apply(&plan).await?;
    }
    Ok(run.report)
}

/// How a claimed plan ended, and so where the report lists it.
enum Outcome {
    /// Sent and answered, with the operation's document.
    Applied(serde_json::Value),
    /// Found applied after its runner stopped.
    Settled,
    /// Not sent: the subscription changed, or Pax8 would refuse it.
    Held(String),
    /// The API refused or failed; `retry` puts it back to pending for the next run.
    Failed { why: String, retry: bool },
}

/// One run: the runner's claims and what became of them.
struct Run<'a> {
    store: &'a Store,
    client: &'a Pax8Client,
    runner: String,
    now: DateTime<Utc>,
    report: RunReport,
}

impl Run<'_> {
    /// Records `outcome` for a claimed plan and lists it in the report.
    async fn record(&mut self, plan: &Plan, outcome: Outcome) -> Result<(), SyncError> {
        let (state, reason, result) = match &outcome {
            Outcome::Applied(document) => ("applied", None, Some(document.clone())),
            Outcome::Settled => {
                ("applied", Some("its runner stopped after the change; the subscription shows it applied".into()), None)
            }
            Outcome::Held(why) => ("held", Some(why.clone()), None),
            Outcome::Failed { why, retry } => (if *retry { "pending" } else { "failed" }, Some(why.clone()), None),
        };
        self.store.finish_plan(plan.id, &self.runner, state, reason, result).await?;
        let stored = self.store.plan(plan.id).await?.unwrap_or_else(|| plan.clone());
        let list = match outcome {
            Outcome::Applied(_) => &mut self.report.applied,
            Outcome::Settled => &mut self.report.settled,
            Outcome::Held(_) => &mut self.report.held,
            Outcome::Failed { .. } => &mut self.report.failed,
        };
        list.push(stored);
        Ok(())
    }

    /// A plan left `applying`: applied already, not applied (apply it), or changed (hold it).
    async fn settle(&mut self, plan: &Plan) -> Result<(), SyncError> {
        let s = self.client.subscriptions().get(plan.subscription_id).await?;
        if plan.reached(&Basis::of(&s)) {
            return self.record(plan, Outcome::Settled).await;
        }
        self.apply(plan).await
    }

    /// Applies a claimed plan unless its subscription changed, and records the outcome.
    async fn apply(&mut self, plan: &Plan) -> Result<(), SyncError> {
        let s = match self.client.subscriptions().get(plan.subscription_id).await {
            Ok(s) => s,
            Err(e) => return self.record(plan, failure(e)).await,
        };
        let changes = plan.basis.changes(&Basis::of(&s));
        if !changes.is_empty() {
            let why = format!("the subscription changed since the plan was made: {}", changes.join(", "));
            return self.record(plan, Outcome::Held(why)).await;
        }
        let outcome = match change(self.client, plan, self.now).await {
            Ok(document) => Outcome::Applied(document),
            Err(OpError::Refused(why)) => Outcome::Held(why),
            Err(OpError::Api(e)) => failure(e),
            Err(other) => Outcome::Failed { why: other.to_string(), retry: false },
        };
        self.record(plan, outcome).await
    }
}

/// An API failure: a refusal (4xx) fails the plan; anything that may pass (a timeout, a 5xx, a
/// 429) leaves it pending for the next run.
fn failure(e: pax8_ext::Error) -> Outcome {
    let lasting = e.status().is_some_and(|s| s.is_client_error() && s.as_u16() != 408 && s.as_u16() != 429);
    Outcome::Failed { why: e.to_string(), retry: !lasting }
}

/// Makes the plan's change through pax8-ext's operations; the answer as the operation's document.
async fn change(client: &Pax8Client, plan: &Plan, now: DateTime<Utc>) -> Result<serde_json::Value, OpError> {
    use pax8_ext::ops::subscriptions::{prepare_cancel, prepare_quantity_at};
    use pax8_ext::ops::terms::prepare_term_at;
    let id = plan.subscription_id;
    Ok(match &plan.action {
        PlanAction::Quantity { quantity } => {
            document(prepare_quantity_at(client, id, *quantity, now).await?.apply(client).await?)
        }
        PlanAction::Cancel => document(prepare_cancel(client, id, None).await?.apply(client).await?),
        PlanAction::Term { billing_term } => {
            document(prepare_term_at(client, id, billing_term, now).await?.apply(client).await?)
        }
    })
}

/// An operation's result as its JSON document.
fn document<T: Serialize>(result: T) -> serde_json::Value {
    serde_json::to_value(result).unwrap_or_default()
}
