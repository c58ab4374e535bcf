//! Where plans are kept: the `renewal_plans` table, claimed by compare-and-set.

use chrono::{NaiveDate, Utc};
use pax8_api::partner::types::Subscription;
use sqlx::Row;
use uuid::Uuid;

use super::{Basis, Plan, PlanAction, refused, validate};
use crate::store::dyn_query;
use crate::{Store, SyncError};

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
    pub(super) async fn claim_plan(
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

    /// Stamps confirmed the applied plans of `tenant` (of one subscription, when given) whose
    /// subscription the mirror now shows where the plan took it; `by` says what showed it
    /// (`sync` or `webhook`). Returns how many were confirmed. A subscription changed again
    /// since leaves its plan applied and unconfirmed.
    pub async fn confirm_plans(&self, tenant: &str, subscription: Option<Uuid>, by: &str) -> Result<u64, SyncError> {
        let only = if subscription.is_some() { " AND p.subscription_id = $2" } else { "" };
        let columns = COLUMNS.split(", ").map(|c| format!("p.{c}")).collect::<Vec<_>>().join(", ");
        let mut query = dyn_query(format!(
            "SELECT {columns}, s.data AS subscription FROM renewal_plans p JOIN subscriptions s ON s.tenant = p.tenant \
             AND s.id = p.subscription_id WHERE p.tenant = $1 AND p.state = 'applied' AND p.confirmed_at IS NULL{only}"
        ))
        .bind(tenant.to_string());
        if let Some(id) = subscription {
            query = query.bind(id.to_string());
        }
        let mut confirmed = 0;
        for row in query.fetch_all(&self.pool).await? {
            let plan = plan_of(&row)?;
            let data: String = row.try_get("subscription")?;
            let Ok(now) = serde_json::from_str::<Subscription>(&data) else { continue };
            if !plan.reached(&Basis::of(&now)) {
                continue;
            }
            confirmed += sqlx::query(
                "UPDATE renewal_plans SET confirmed_at = $2, confirmed_by = $3 WHERE id = $1 AND confirmed_at IS NULL",
            )
            .bind(plan.id.to_string())
            .bind(Utc::now().to_rfc3339())
            .bind(by.to_string())
            .execute(&self.pool)
            .await?
            .rows_affected();
        }
        Ok(confirmed)
    }

    /// Takes over plans left `applying` by a runner whose lease is over (it was killed).
    pub(super) async fn claim_abandoned(
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
    pub(super) async fn finish_plan(
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

const COLUMNS: &str = "id, tenant, subscription_id, action, quantity, billing_term, due, basis, state, reason, result, confirmed_at, confirmed_by";

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
        confirmed_at: row.try_get("confirmed_at")?,
        confirmed_by: row.try_get("confirmed_by")?,
    })
}
