//! `pax8 orders`: list, show, and create (previewed by a server dry run, confirmed, settled when its
//! answer is lost).

use super::confirm::{ask, report};
use super::listing;
use super::products::product;
use super::session::Session;
use crate::fail::Failure;
use crate::output::{Table, col, money, text};
use crate::{OrdersCommand, resolve};
use pax8_ext::views::OrderSummary;
use serde_json::Value;

use crate::fail::from_op;
use pax8_ext::ops::orders::{OrderPlaced, OrderSpec};
use pax8_ext::ops::{self, Answer};

pub(super) async fn run(s: &Session, command: OrdersCommand) -> Result<(), Failure> {
    let (client, p) = (&s.client, &s.printer);
    match command {
        OrdersCommand::List { paging, company } => {
            let company_id = match &company {
                Some(c) => Some(crate::fail::id_of(resolve::company(client, c).await?.id, "company")?),
                None => None,
            };
            let paginator = client.orders().list_with(move |q| match company_id {
                Some(id) => q.company_id(id),
                None => q,
            });
            listing::show(client, paginator, paging, p, "orders", |items| {
                let mut t = Table::new(&[
                    col("id", "ID"),
                    col("company_id", "COMPANY"),
                    col("created", "CREATED"),
                    col("status", "STATUS"),
                    col("line_items", "LINES"),
                ]);
                // `--json` prints the summaries (the names the MCP tools use).
                t.documents = Some(
                    items.iter().map(|o| serde_json::to_value(OrderSummary::from(o)).unwrap_or_default()).collect(),
                );
                for o in items {
                    t.push(vec![
                        text(o.id),
                        text(Some(o.company_id)),
                        text(o.created_date),
                        text(o.status.as_ref()),
                        Value::from(o.line_items.len()),
                    ]);
                }
                t
            })
            .await?;
        }
        OrdersCommand::Show { order } => {
            let o = client.orders().get(resolve::id("order", &order)?).await?;
            let mut t = Table::new(&[
                col("product_id", "PRODUCT"),
                col("quantity", "QTY"),
                col("term", "TERM"),
                col("subscription_id", "SUBSCRIPTION"),
            ]);
            for li in &o.line_items {
                t.push(vec![
                    text(Some(li.product_id)),
                    Value::from(li.quantity as i64),
                    text(li.billing_term.as_ref()),
                    text(li.subscription_id),
                ]);
            }
            t.footer = Some(format!(
                "order {} for {} ({})",
                o.id.map(|i| i.to_string()).unwrap_or_default(),
                o.company_id,
                o.status.as_deref().unwrap_or("-")
            ));
            p.table(&t);
        }
        OrdersCommand::Create { company, product: input, quantity, term, yes } => {
            let c = resolve::company(client, &company).await?;
            let prod = product(client, &input).await?;
            let spec = OrderSpec {
                company_id: crate::fail::id_of(c.id, "company")?,
                product_id: crate::fail::id_of(prod.id, "product")?,
                quantity,
                billing_term: term,
                commitment_term_id: None,
            };
            let check = format!("pax8 orders list --company {}", spec.company_id);
            let prepared = ops::orders::prepare(client, &spec).await.map_err(|e| from_op(e, &check))?;
            let v = prepared.preview();
            let fields = [
                ("company", "Company", Value::from(v.company.clone())),
                ("product", "Product", text(v.product.as_ref())),
                ("quantity", "Quantity", Value::from(v.quantity)),
                ("term", "Term", Value::from(v.billing_term.clone())),
                ("commitment", "Commitment", text(v.commitment_term.as_ref().and_then(|t| t.term.as_ref()))),
                ("unit_price", "Unit price (partner)", money(v.unit_price)),
                ("total", "Total per term", money(v.total_per_term)),
                ("monthly_cost", "Monthly cost impact", money(v.monthly_cost)),
                ("monthly_revenue", "Monthly revenue (retail)", money(v.monthly_revenue)),
                ("validated", "Validated by a dry run", Value::from(v.validated_by_dry_run)),
            ];
            ask(p, &fields, v, "Place this order?", yes)?;
            let placed = prepared.place(client).await.map_err(|e| from_op(e, &check))?;
            let message = match &placed.result {
                Some(OrderPlaced { answer: Answer::Received, order_id, .. }) => {
                    format!("Order {} placed.", order_id.as_deref().unwrap_or_default())
                }
                Some(OrderPlaced { answer: Answer::Unreadable, order_id, .. }) => format!(
                    "Order {} placed (its answer could not be read).",
                    order_id.as_deref().unwrap_or("(id unknown)")
                ),
                Some(OrderPlaced { order_id, .. }) => format!(
                    "The answer was lost, but order {} was created: do not order again.",
                    order_id.as_deref().unwrap_or_default()
                ),
                None => String::new(),
            };
            report(p, &placed, &message);
        }
    }
    Ok(())
}
