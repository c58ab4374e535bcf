//! The write tools, in two steps: a preview (a server dry run for orders, the price impact for
//! quantity changes and cancellations) returns a single-use confirmation token; the execute call
//! needs that token and the same arguments, unless the tool's policy is `auto`.

use pax8_api::partner::types as v1;
use pax8_ext::insights::{monthly_cost, monthly_revenue, months_per_period, per_month};
use pax8_ext::money::{Decimal, amount, number};
use pax8_ext::resources::{CommitmentChoice, NewOrder};
use rmcp::{tool, tool_router};
use serde_json::{Value, json};

use crate::args::*;
use crate::policy::Decision;
use crate::support::{self, CONFIRMATION_TTL};
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
            let preview = self.order_preview_body(&a).await?;
            let token = self.confirmations.issue("order", to_value(&a)?);
            Ok(json!({"preview": preview, "confirmation_token": token, "expires_in_seconds": CONFIRMATION_TTL.as_secs()}))
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
            let order = self.new_order(&a.order()).await?;
            let attempt = pax8_ext::Timestamp::from(chrono::Utc::now());
            match self.client.orders().create(order.clone()).send().await {
                Ok(placed) => Ok(json!({"placed": true, "order": support::order(&placed)})),
                Err(pax8_ext::Error::AnswerUnreadable { id, .. }) => Ok(json!({
                    "placed": true,
                    "order_id": id,
                    "note": "the order was placed but its answer could not be read; do not retry"
                })),
                Err(err) if err.is_outcome_unknown() => {
                    match self.client.orders().find_recent_matching(&order, attempt).await.as_deref() {
                        Ok([one]) => Ok(json!({
                            "placed": true,
                            "order": support::order(one),
                            "note": "the answer was lost but the order exists: do not retry"
                        })),
                        _ => Err(format!(
                            "unknown outcome: {err}. Do not retry: list the company's orders (orders_list) first; \
                             only if no such order exists, preview and place it again"
                        )),
                    }
                }
                Err(err) => Err(e(err)),
            }
        })
        .await
    }

    #[tool(
        title = "Preview a quantity change",
        annotations(read_only_hint = true, open_world_hint = true),
        description = "Preview a quantity change: current and new quantity, monthly revenue and cost impact. Returns a single-use confirmation_token for subscription_quantity_execute."
    )]
    async fn subscription_quantity_preview(&self, Parameters(a): Parameters<QuantityArgs>) -> ToolResult {
        self.run("subscription_quantity_preview", &a, async {
            if a.quantity == 0 {
                return Err("quantity must be at least 1; to end a subscription use subscription_cancel_preview".into());
            }
            quantity(a.quantity)?;
            let s = self.client.subscriptions().get(a.subscription_id).await.map_err(e)?;
            let delta = Decimal::from(a.quantity) - amount(s.quantity);
            let months = months_per_period(&s);
            let preview = json!({"subscription": support::subscription(&s), "quantity_now": s.quantity, "quantity_new": a.quantity,
                "monthly_revenue_change": number(per_month(amount(s.price), delta, months)),
                "monthly_cost_change": number(per_month(amount(s.partner_cost), delta, months))});
            let token = self.confirmations.issue("quantity", to_value(&a)?);
            Ok(json!({"preview": preview, "confirmation_token": token, "expires_in_seconds": CONFIRMATION_TTL.as_secs()}))
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
            quantity(change.quantity)?;
            let s = self
                .client
                .subscriptions()
                .update_quantity(change.subscription_id, i64::from(change.quantity))
                .await
                .map_err(e)?;
            Ok(json!({"updated": true, "subscription": support::subscription(&s)}))
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
            if let Some(d) = &a.cancel_date {
                date(d)?;
            }
            let s = self.client.subscriptions().get(a.subscription_id).await.map_err(e)?;
            let preview = json!({"subscription": support::subscription(&s), "cancel_date": a.cancel_date,
                "monthly_revenue_lost": number(monthly_revenue(&s)), "monthly_cost_saved": number(monthly_cost(&s))});
            let token = self.confirmations.issue("cancel", to_value(&a)?);
            Ok(json!({"preview": preview, "confirmation_token": token, "expires_in_seconds": CONFIRMATION_TTL.as_secs()}))
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
            let when = cancel.cancel_date.as_deref().map(date).transpose()?.map(|d| d.to_timestamp());
            self.client.subscriptions().cancel(cancel.subscription_id, when).await.map_err(e)?;
            Ok(json!({"cancelled": true, "subscription_id": cancel.subscription_id}))
        })
        .await
    }
}

impl Pax8Tools {
    /// Checks an execute call against its tool's policy and, when given, its preview's token.
    fn confirm<A: serde::Serialize>(
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

    /// The commitment term an order uses: the one given, the only one the product has for the
    /// billing term, none when the product needs none; otherwise an error listing the choices.
    async fn commitment(&self, a: &OrderArgs) -> Result<Option<v1::Commitment>, String> {
        let choice = self.client.products().commitment_for(a.product_id, &a.billing_term).await.map_err(e)?;
        match (a.commitment_term_id, choice) {
            (Some(id), CommitmentChoice::Choose(terms)) => {
                terms.into_iter().find(|c| c.id == Some(id)).map(Some).ok_or_else(|| {
                    format!(
                        "commitment_term_id {id} is not a commitment term of this product (see product_dependencies)"
                    )
                })
            }
            (Some(id), CommitmentChoice::Chosen(c)) if c.id != Some(id) => Err(format!(
                "commitment_term_id {id} does not match the product's {} commitment for {}",
                c.term.as_deref().unwrap_or("?"),
                a.billing_term
            )),
            (_, CommitmentChoice::Chosen(c)) => Ok(Some(c)),
            (Some(id), CommitmentChoice::NotRequired) => {
                Err(format!("this product takes no commitment term; leave commitment_term_id ({id}) out"))
            }
            (None, CommitmentChoice::NotRequired) => Ok(None),
            (None, CommitmentChoice::Choose(terms)) => {
                let choices: Vec<String> = terms
                    .iter()
                    .filter_map(|c| c.id.map(|id| format!("{id} ({})", c.term.as_deref().unwrap_or("?"))))
                    .collect();
                Err(format!(
                    "this product needs a commitment term and none matches billing term `{}` alone: pass \
                     commitment_term_id, one of: {}",
                    a.billing_term,
                    choices.join(", ")
                ))
            }
        }
    }

    async fn new_order(&self, a: &OrderArgs) -> Result<v1::CreateOrder, String> {
        quantity(a.quantity)?;
        let commitment = self.commitment(a).await?;
        Ok(build_order(a, commitment.as_ref()))
    }

    async fn order_preview_body(&self, a: &OrderArgs) -> Result<Value, String> {
        quantity(a.quantity)?;
        let commitment = self.commitment(a).await?;
        let order = build_order(a, commitment.as_ref());
        let validated = self.client.orders().create(order).mock(true).send().await.map_err(e)?;
        let pricing = self.client.products().pricing(a.product_id, Some(a.company_id)).await.map_err(e)?;
        let rate = pax8_ext::insights::rate_for(&pricing, &a.billing_term, f64::from(a.quantity));
        let unit = amount(rate.and_then(|r| r.partner_buy_rate));
        let retail = amount(rate.and_then(|r| r.suggested_retail_price));
        let months = pax8_ext::insights::months_for_term(&a.billing_term);
        let q = Decimal::from(a.quantity);
        Ok(json!({"validated_by_dry_run": true, "line_items": validated.line_items.len(), "unit_price": number(unit),
            "total_per_term": number(unit * q), "monthly_cost": number(per_month(unit, q, months)),
            "monthly_revenue": number(per_month(retail, q, months)),
            "commitment_term": commitment.map(|c| json!({"id": c.id, "term": c.term}))}))
    }
}

fn build_order(a: &OrderArgs, commitment: Option<&v1::Commitment>) -> v1::CreateOrder {
    NewOrder::for_company(a.company_id)
        .line(a.product_id, a.quantity, &a.billing_term, commitment.and_then(|c| c.id))
        .build()
}

fn to_value<A: serde::Serialize>(args: &A) -> Result<Value, String> {
    serde_json::to_value(args).map_err(|e| format!("arguments: {e}"))
}
