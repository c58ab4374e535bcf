//! `pax8 subscriptions`: list, show, and the confirmed quantity change and cancellation.

use super::confirm::{ask, report};
use super::listing;
use super::session::{Session, now};
use crate::fail::Failure;
use crate::output::{Printer, Table, amount, api_money, col, money, text, whole};
use crate::{SubscriptionsCommand, resolve};
use pax8_api::partner::types::Subscription;
use pax8_ext::filters::SubscriptionFilter;
use pax8_ext::insights::monthly_revenue;
use pax8_ext::views::SubscriptionSummary;
use serde_json::Value;

use crate::fail::from_op;
use pax8_ext::ops::subscriptions::{prepare_cancel, prepare_quantity_at};
use pax8_ext::ops::terms::prepare_term_at;

pub const SUBSCRIPTION_COLUMNS: [crate::output::Column; 10] = [
    col("id", "ID"),
    col("company_id", "COMPANY"),
    col("product_name", "PRODUCT"),
    whole("quantity", "QTY"),
    col("billing_term", "TERM"),
    amount("price", "PRICE"),
    amount("monthly_revenue", "MONTHLY"),
    col("status", "STATUS"),
    col("commitment_end", "COMMITMENT ENDS"),
    col("currency", "CURRENCY").csv_only(),
];

pub(super) async fn run(s: &Session, command: SubscriptionsCommand) -> Result<(), Failure> {
    let (client, p) = (&s.client, &s.printer);
    match command {
        SubscriptionsCommand::Export { source } => {
            super::export::export(Some(client), super::export::Exported::Subscriptions, &source).await?;
        }
        SubscriptionsCommand::List { paging, company, status, term } => {
            let mut filter = SubscriptionFilter { status, billing_term: term, ..Default::default() };
            // A value the API does not know fails here, before any request.
            filter.check()?;
            filter.company_id = match &company {
                Some(c) => Some(crate::fail::id_of(resolve::company(client, c).await?.id, "company")?),
                None => None,
            };
            let paginator = client.subscriptions().filtered(&filter)?;
            listing::show(client, paginator, paging, p, "subscriptions", |items| {
                let summaries: Vec<SubscriptionSummary> = items.iter().map(SubscriptionSummary::from).collect();
                Table::of(&SUBSCRIPTION_COLUMNS, &summaries)
            })
            .await?;
        }
        SubscriptionsCommand::Show { subscription } => {
            let s = client.subscriptions().get(resolve::id("subscription", &subscription)?).await?;
            show_subscription(p, &s);
        }
        SubscriptionsCommand::Update { subscription, term: Some(term), yes, .. } => {
            let id = resolve::id("subscription", &subscription)?;
            change_term(s, id, &term, yes).await?;
        }
        SubscriptionsCommand::Update { subscription, quantity, yes, .. } => {
            let id = resolve::id("subscription", &subscription)?;
            let quantity = quantity.ok_or_else(|| Failure::usage("give --quantity N or --term TERM"))?;
            let prepared = prepare_quantity_at(client, id, quantity, now()?).await.map_err(|e| match e {
                // Mid-commitment: offer the plan that makes the change when it is allowed.
                pax8_ext::ops::OpError::Refused(why) if why.contains("commitment ends on") => Failure::usage(format!(
                    "{why}\n  hint: plan it for then: pax8 renewals plan {id} --quantity {quantity} (applied by `pax8 \
                     renewals run`)"
                )),
                other => from_op(other, ""),
            })?;
            let v = prepared.preview();
            let commitment = v.commitment.as_ref().map_or(Value::from("none running"), |c| {
                let term = c.term.as_deref().map(|t| format!("{t}, ")).unwrap_or_default();
                Value::from(format!("{term}ends {}: decreases and term changes wait until then", c.ends))
            });
            let fields = [
                ("subscription", "Subscription", text(v.subscription.id)),
                ("product", "Product", text(v.subscription.product_name.as_ref())),
                ("quantity_now", "Quantity now", text(v.quantity_now)),
                ("quantity_new", "New quantity", Value::from(v.quantity_new)),
                ("monthly_revenue_change", "Monthly revenue change", money(v.monthly_revenue_change)),
                ("monthly_cost_change", "Monthly cost change", money(v.monthly_cost_change)),
                ("commitment", "Commitment", commitment),
            ];
            ask(p, &fields, v, "Apply this change?", yes)?;
            let changed = prepared.apply(client).await.map_err(|e| from_op(e, ""))?;
            let now = changed.result.as_ref().and_then(|c| pax8_ext::ops::whole(c.subscription.quantity));
            report(p, &changed, &format!("Quantity is now {}.", now.map_or_else(|| "?".into(), |q| q.to_string())));
        }
        SubscriptionsCommand::Cancel { subscription, date, yes } => {
            let id = resolve::id("subscription", &subscription)?;
            let when = date.as_deref().map(resolve::date).transpose()?.map(pax8_api::Date::from);
            let prepared = prepare_cancel(client, id, when).await.map_err(|e| from_op(e, ""))?;
            let v = prepared.preview();
            let fields = [
                ("subscription", "Subscription", text(v.subscription.id)),
                ("product", "Product", text(v.subscription.product_name.as_ref())),
                ("quantity", "Quantity", text(pax8_ext::ops::whole(v.subscription.quantity))),
                ("cancel_date", "Cancel at", Value::from(v.cancel_date.clone().unwrap_or_else(|| "now".into()))),
                ("monthly_revenue_lost", "Monthly revenue lost", money(v.monthly_revenue_lost)),
                ("monthly_cost_saved", "Monthly cost saved", money(v.monthly_cost_saved)),
            ];
            ask(p, &fields, v, "Cancel this subscription?", yes)?;
            let cancelled = prepared.apply(client).await.map_err(|e| from_op(e, ""))?;
            report(p, &cancelled, "Cancelled.");
        }
    }
    Ok(())
}

/// `subscriptions update --term`: previewed (the monthly cost on the new term), refused while a
/// commitment runs with the plan command that makes the change at its end.
async fn change_term(s: &Session, id: uuid::Uuid, term: &str, yes: bool) -> Result<(), Failure> {
    let (client, p) = (&s.client, &s.printer);
    let prepared = prepare_term_at(client, id, term, now()?).await.map_err(|e| match e {
        pax8_ext::ops::OpError::Refused(why) if why.contains("commitment ends on") => Failure::usage(format!(
            "{why}\n  hint: plan it for then: pax8 renewals plan {id} --term {term} (applied by `pax8 renewals run`)"
        )),
        other => from_op(other, ""),
    })?;
    let v = prepared.preview();
    let fields = [
        ("subscription", "Subscription", text(v.subscription.id)),
        ("product", "Product", text(v.subscription.product_name.as_ref())),
        ("term_now", "Billing term now", text(v.term_now.as_ref())),
        ("term_new", "New billing term", Value::from(v.term_new.clone())),
        ("monthly_cost_now", "Monthly cost now", money(v.monthly_cost_now)),
        ("monthly_cost_new", "Monthly cost then", v.monthly_cost_new.map_or(Value::Null, money)),
    ];
    ask(p, &fields, v, "Apply this change?", yes)?;
    let changed = prepared.apply(client).await.map_err(|e| from_op(e, ""))?;
    let now = changed.result.as_ref().and_then(|c| c.subscription.billing_term.clone());
    report(p, &changed, &format!("Billing term is now {}.", now.as_deref().unwrap_or("?")));
    Ok(())
}

pub(super) fn show_subscription(p: &Printer, s: &Subscription) {
    p.record(&[
        ("id", "ID", text(s.id)),
        ("company_id", "Company", text(s.company_id)),
        ("product", "Product", text(s.product_name.as_ref())),
        ("quantity", "Quantity", Value::from(s.quantity.unwrap_or(0.0) as i64)),
        ("term", "Billing term", text(s.billing_term.as_ref())),
        ("price", "Price", api_money(s.price)),
        ("partner_cost", "Partner cost", api_money(s.partner_cost)),
        ("monthly_revenue", "Monthly revenue", money(monthly_revenue(s))),
        ("status", "Status", text(s.status.as_ref())),
        ("start", "Start", text(s.start_date)),
        (
            "commitment_end",
            "Commitment ends",
            text(pax8_ext::insights::commitment_end(s).map(|d| d.format("%Y-%m-%d"))),
        ),
        ("parent", "Add-on of", text(s.parent_subscription_id)),
    ]);
}
