//! Renewal plans as tools, when the server is given the mirror database: `renewals_pending`
//! (read) and `renewal_plan_preview` / `renewal_plan` (an approval-gated write: the plan is
//! checked against the commitment and stored; `pax8 renewals run` applies it when due). The
//! steps are pax8-sync's `plans`, the CLI's `renewals plan|pending`.

use pax8_sync::plans::{PlanAction, validate};
use rmcp::{tool, tool_router};
use serde_json::json;

use crate::args::{Parameters, PendingArgs, PlanArgs, PlanExecute, date};
use crate::{Pax8Tools, ToolResult, e};

/// The plan tools that only read.
pub(crate) const PLAN_READS: [&str; 1] = ["renewals_pending"];

/// Where plans are kept: the mirror database and the tenant the server's credentials are.
#[derive(Debug, Clone)]
pub struct PlanStore {
    /// The mirror database.
    pub store: pax8_sync::Store,
    /// The tenant (`default` for a single partner).
    pub tenant: String,
}

fn action(a: &PlanArgs) -> Result<PlanAction, String> {
    match (a.quantity, a.cancel.unwrap_or(false), &a.billing_term) {
        (Some(quantity), false, None) => Ok(PlanAction::Quantity { quantity }),
        (None, true, None) => Ok(PlanAction::Cancel),
        (None, false, Some(term)) => Ok(PlanAction::Term { billing_term: term.clone() }),
        _ => Err("give exactly one of quantity, cancel (true) or billing_term".into()),
    }
}

fn sync_error(err: pax8_sync::SyncError) -> String {
    match err {
        pax8_sync::SyncError::Api(api) => e(api),
        other => other.to_string(),
    }
}

#[tool_router(router = plans_router, vis = "pub(crate)")]
impl Pax8Tools {
    #[tool(
        title = "Renewal plans",
        annotations(read_only_hint = true, open_world_hint = false),
        description = "Renewal plans kept for a commitment's end: pending, held (with the reason: the subscription changed since) and failed ones, by due day; all=true adds applied and cancelled ones with their recorded answers."
    )]
    async fn renewals_pending(&self, Parameters(a): Parameters<PendingArgs>) -> ToolResult {
        self.run("renewals_pending", &a, async {
            let plans = self.plan_store()?;
            let listed = plans.store.plans(&plans.tenant, a.all.unwrap_or(false)).await.map_err(sync_error)?;
            Ok(json!({"items": listed}))
        })
        .await
    }

    #[tool(
        title = "Preview a renewal plan",
        annotations(read_only_hint = true, open_world_hint = true),
        description = "Preview a plan for a change at a subscription's commitment end (a quantity decrease, a cancellation or a billing-term change, which Pax8 refuses mid-commitment) or on a given day: checks it against the commitment and returns the day it would be applied and a single-use confirmation_token for renewal_plan."
    )]
    async fn renewal_plan_preview(&self, Parameters(a): Parameters<PlanArgs>) -> ToolResult {
        self.run("renewal_plan_preview", &a, async {
            self.plan_store()?;
            let action = action(&a)?;
            let on = a.on.as_deref().map(date).transpose()?.map(|d| d.0);
            let s = self.client.subscriptions().get(a.subscription_id).await.map_err(e)?;
            let today = chrono::Utc::now().date_naive();
            let due = validate(&s, &action, on, today).map_err(sync_error)?;
            let preview = json!({
                "subscription_id": a.subscription_id,
                "change": action,
                "due": due.to_string(),
                "basis": pax8_sync::plans::Basis::of(&s),
            });
            self.previewed("plan", &a, &preview)
        })
        .await
    }

    #[tool(
        title = "Make a renewal plan",
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = false, open_world_hint = true),
        description = "Store a renewal plan previewed with renewal_plan_preview (same arguments and its token). It is applied exactly once when due by `pax8 renewals run`, and held if the subscription changes before then."
    )]
    async fn renewal_plan(&self, Parameters(a): Parameters<PlanExecute>) -> ToolResult {
        self.run("renewal_plan", &a, async {
            let plans = self.plan_store()?;
            let args = a.plan();
            self.confirm("renewal_plan", "plan", a.confirmation_token.as_deref(), &args)?;
            let action = action(&args)?;
            let on = args.on.as_deref().map(date).transpose()?.map(|d| d.0);
            let s = self.client.subscriptions().get(args.subscription_id).await.map_err(e)?;
            let today = chrono::Utc::now().date_naive();
            let plan = plans.store.make_plan(&plans.tenant, &s, action, on, today).await.map_err(sync_error)?;
            serde_json::to_value(&plan).map_err(|e| e.to_string())
        })
        .await
    }
}

impl Pax8Tools {
    fn plan_store(&self) -> Result<&PlanStore, String> {
        self.plans.as_ref().ok_or_else(|| "renewal plans need the mirror database (pax8 mcp --db URL)".to_string())
    }
}
