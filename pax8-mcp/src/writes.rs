//! The write tools, in two steps: a preview (a server dry run for orders, the price impact for
//! quantity changes and cancellations) returns a single-use confirmation token; the execute call
//! needs that token and the same arguments, unless the tool's policy is `auto`.
//!
//! The steps are `pax8_ext::ops`'s: these tools only check the token and return the operation's
//! document (the same the CLI prints with `--json`).

use pax8_ext::ops::subscriptions::{prepare_cancel, prepare_quantity};
use pax8_ext::ops::{OpError, orders};
use rmcp::{tool, tool_router};
use serde_json::Value;

use crate::args::*;
use crate::policy::Decision;
use crate::support::CONFIRMATION_TTL;
use crate::{Pax8Tools, ToolResult, e};

#[tool_router(router = write_router, vis = "pub(crate)")]
impl Pax8Tools {
    #[tool(
        title = "Preview an order",
        annotations(read_only_hint = true, open_world_hint = true),
        description = "Preview an order: the server validates it as a dry run (isMock) and nothing is created. Returns the price impact and a single-use confirmation_token for order_execute."
    )]
    async fn order_preview(&self, Parameters(a): Parameters<OrderArgs>) -> ToolResult {
        self.run("order_preview", &a, async {
            let prepared = orders::prepare(&self.client, &a.spec()).await.map_err(op)?;
            self.previewed("order", &a, prepared.preview())
        })
        .await
    }

    #[tool(
        title = "Place an order",
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = false, open_world_hint = true),
        description = "Place an order previewed with order_preview: needs its confirmation_token and exactly the same arguments."
    )]
    async fn order_execute(&self, Parameters(a): Parameters<OrderExecute>) -> ToolResult {
        self.run("order_execute", &a, async {
            self.confirm("order_execute", "order", a.confirmation_token.as_deref(), &a.order())?;
            // The order is prepared again (the server's dry run re-checks it), then placed once.
            let prepared = orders::prepare(&self.client, &a.order().spec()).await.map_err(op)?;
            to_value(&prepared.place(&self.client).await.map_err(op)?)
        })
        .await
    }

    #[tool(
        title = "Preview a quantity change",
        annotations(read_only_hint = true, open_world_hint = true),
        description = "Preview a quantity change: current and new quantity, monthly revenue and cost impact, and the running commitment (while it runs only increases are allowed: a decrease is refused and waits for its end date). Returns a single-use confirmation_token for subscription_quantity_execute."
    )]
    async fn subscription_quantity_preview(&self, Parameters(a): Parameters<QuantityArgs>) -> ToolResult {
        self.run("subscription_quantity_preview", &a, async {
            let prepared = prepare_quantity(&self.client, a.subscription_id, a.quantity).await.map_err(op)?;
            self.previewed("quantity", &a, prepared.preview())
        })
        .await
    }

    #[tool(
        title = "Change a quantity",
        annotations(read_only_hint = false, destructive_hint = true, idempotent_hint = true, open_world_hint = true),
        description = "Apply a quantity change previewed with subscription_quantity_preview (same arguments and its token)."
    )]
    async fn subscription_quantity_execute(&self, Parameters(a): Parameters<QuantityExecute>) -> ToolResult {
        self.run("subscription_quantity_execute", &a, async {
            let change = a.change();
            self.confirm("subscription_quantity_execute", "quantity", a.confirmation_token.as_deref(), &change)?;
            let prepared = prepare_quantity(&self.client, change.subscription_id, change.quantity).await.map_err(op)?;
            to_value(&prepared.apply(&self.client).await.map_err(op)?)
        })
        .await
    }

    #[tool(
        title = "Preview a cancellation",
        annotations(read_only_hint = true, open_world_hint = true),
        description = "Preview cancelling a subscription: the monthly revenue lost and cost saved. Returns a single-use confirmation_token for subscription_cancel_execute."
    )]
    async fn subscription_cancel_preview(&self, Parameters(a): Parameters<CancelArgs>) -> ToolResult {
        self.run("subscription_cancel_preview", &a, async {
            let when = a.cancel_date.as_deref().map(date).transpose()?;
            let prepared = prepare_cancel(&self.client, a.subscription_id, when).await.map_err(op)?;
            self.previewed("cancel", &a, prepared.preview())
        })
        .await
    }

    #[tool(
        title = "Cancel a subscription",
        annotations(read_only_hint = false, destructive_hint = true, idempotent_hint = true, open_world_hint = true),
        description = "Cancel a subscription previewed with subscription_cancel_preview (same arguments and its token)."
    )]
    async fn subscription_cancel_execute(&self, Parameters(a): Parameters<CancelExecute>) -> ToolResult {
        self.run("subscription_cancel_execute", &a, async {
            let cancel = a.cancel();
            self.confirm("subscription_cancel_execute", "cancel", a.confirmation_token.as_deref(), &cancel)?;
            let when = cancel.cancel_date.as_deref().map(date).transpose()?;
            let prepared = prepare_cancel(&self.client, cancel.subscription_id, when).await.map_err(op)?;
            to_value(&prepared.apply(&self.client).await.map_err(op)?)
        })
        .await
    }
}

impl Pax8Tools {
    /// Checks an execute call against its tool's policy and, when given, its preview's token.
    pub(crate) fn confirm<A: serde::Serialize>(
        &self,
        tool: &str,
        action: &'static str,
        token: Option<&str>,
        args: &A,
    ) -> Result<(), String> {
        let arguments = to_value(args)?;
        match (self.policy.decision(tool), token) {
            (Decision::Deny, _) => Err(format!("{tool} is denied by this server's policy")),
            (_, Some(token)) => self.confirmations.redeem(token, action, &arguments),
            (Decision::Auto, None) => Ok(()),
            (Decision::Approve, None) => Err(format!(
                "{tool} needs the confirmation_token of its preview (policy: approve): call the preview tool, show \
                 its result to the user, then call {tool} with the same arguments and the token"
            )),
        }
    }

    /// A preview's result: the operation's preview and a single-use token for these arguments.
    pub(crate) fn previewed<A: serde::Serialize, P: serde::Serialize>(
        &self,
        action: &'static str,
        args: &A,
        preview: &P,
    ) -> Result<Value, String> {
        let confirmation_token = self.confirmations.issue(action, to_value(args)?);
        to_value(&Previewed { preview, confirmation_token, expires_in_seconds: CONFIRMATION_TTL.as_secs() })
    }
}

/// What a preview tool returns.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct Previewed<P> {
    /// The operation's preview (the same document the CLI shows before asking).
    pub preview: P,
    /// The single-use token the execute tool needs, for exactly the same arguments.
    pub confirmation_token: String,
    /// How long the token is valid.
    pub expires_in_seconds: u64,
}

/// An operation's refusal or failure as the tool's error: what to change, or what to check.
fn op(error: OpError) -> String {
    match error {
        OpError::ChooseCommitment { billing_term, choices, .. } => {
            let choices: Vec<String> = choices
                .iter()
                .filter_map(|c| c.id.map(|id| format!("{id} ({})", c.term.as_deref().unwrap_or("?"))))
                .collect();
            format!(
                "this product needs a commitment term and none matches billing term `{billing_term}` alone: pass \
                 commitment_term_id, one of: {}",
                choices.join(", ")
            )
        }
        OpError::Unsettled { what, done, seen, error } => format!(
            "unknown outcome: {error}; could not tell whether the {what} was {done} ({seen}). Do not retry: list \
             the company's orders (orders_list) first; only if no such {what} exists, preview it again"
        ),
        OpError::Api(error) => e(error),
        other => other.to_string(),
    }
}

fn to_value<A: serde::Serialize>(args: &A) -> Result<Value, String> {
    serde_json::to_value(args).map_err(|e| format!("arguments: {e}"))
}
