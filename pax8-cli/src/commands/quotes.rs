//! `pax8 quotes`: list, show (with line items), and the previewed, confirmed create, add-line and
//! remove-line.

use super::confirm::{ask, report};
use super::listing;
use super::products::product;
use super::session::Session;
use crate::fail::Failure;
use crate::output::{Format, Printer, Table, amount, api_money, col, money, text, whole};
use crate::{QuotesCommand, resolve};
use pax8_api::quoting::types::QuoteResponse;
use pax8_ext::ops::quotes::{LineSpec, QuoteSummary, prepare_line, prepare_quote, prepare_remove_line};
use serde_json::Value;

pub(super) async fn run(s: &Session, command: QuotesCommand) -> Result<(), Failure> {
    let (client, p) = (&s.client, &s.printer);
    match command {
        QuotesCommand::List { paging } => {
            listing::show(client, client.quotes().list(), paging, p, "quotes", |items| {
                let mut t = Table::new(&[
                    col("id", "ID"),
                    col("reference", "REFERENCE"),
                    col("client", "CLIENT"),
                    col("status", "STATUS"),
                    col("recurring_total", "RECURRING"),
                ]);
                for q in items {
                    t.push(vec![
                        text(Some(q.id)),
                        Value::from(q.reference_code.clone()),
                        Value::from(q.client.name.clone()),
                        text(Some(&q.status)),
                        api_money(Some(q.totals.recurring_total.amount)),
                    ]);
                }
                t
            })
            .await?;
        }
        QuotesCommand::Show { quote } => {
            let q = client.quotes().get(resolve::id("quote", &quote)?).await?;
            show(p, &q);
        }
        QuotesCommand::Create { company, yes } => {
            let c = resolve::company(client, &company).await?;
            let prepared = prepare_quote(client, crate::fail::id_of(c.id, "company")?).await.map_err(op)?;
            let v = prepared.preview();
            let fields = [
                ("company", "Company", Value::from(v.company.clone())),
                ("company_id", "Company id", Value::from(v.company_id.to_string())),
            ];
            ask(p, &fields, v, "Start a quote for this company?", yes)?;
            let created = prepared.create(client).await.map_err(op)?;
            let message = created.result.as_ref().map_or_else(String::new, |r| {
                format!(
                    "Quote {} ({}) started; add products with `pax8 quotes add-line {} --product …`.",
                    r.quote.reference, r.quote.id, r.quote.id
                )
            });
            report(p, &created, &message);
        }
        QuotesCommand::AddLine { quote, product: input, quantity, term, price, yes } => {
            let quote_id = resolve::id("quote", &quote)?;
            let prod = product(client, &input).await?;
            let spec = LineSpec {
                quote_id,
                product_id: crate::fail::id_of(prod.id, "product")?,
                quantity,
                billing_term: term,
                price,
            };
            let prepared = prepare_line(client, &spec).await.map_err(op)?;
            let v = prepared.preview();
            let fields = [
                ("quote", "Quote", Value::from(v.quote.clone())),
                ("client", "Client", Value::from(v.client.clone())),
                ("product", "Product", text(v.product.as_ref())),
                ("quantity", "Quantity", Value::from(v.quantity)),
                ("term", "Term", Value::from(v.term.clone())),
                ("unit_price", "Unit price (customer)", money(v.unit_price)),
                ("total", "Total per term", money(v.total)),
            ];
            ask(p, &fields, v, "Add this line to the quote?", yes)?;
            let added = prepared.apply(client).await.map_err(op)?;
            let ids: Vec<String> =
                added.result.iter().flat_map(|r| r.line_items.iter().map(|l| l.id.to_string())).collect();
            report(p, &added, &format!("Line {} added.", ids.join(", ")));
        }
        QuotesCommand::RemoveLine { quote, line, yes } => {
            let quote_id = resolve::id("quote", &quote)?;
            let line_id = resolve::id("line item", &line)?;
            let prepared = prepare_remove_line(client, quote_id, line_id).await.map_err(op)?;
            let v = prepared.preview();
            let fields = [
                ("quote", "Quote", Value::from(v.quote.clone())),
                ("line", "Line", Value::from(line_id.to_string())),
                ("product", "Product", Value::from(v.line.product_name.clone())),
                ("quantity", "Quantity", Value::from(v.line.quantity)),
            ];
            ask(p, &fields, v, "Remove this line?", yes)?;
            let removed = prepared.apply(client).await.map_err(op)?;
            report(p, &removed, &format!("Line {line_id} removed."));
        }
    }
    Ok(())
}

/// An operation's failure as the command's (refusals 2, unsettled 6, API errors by kind).
fn op(e: pax8_ext::ops::OpError) -> Failure {
    crate::fail::from_op(e, "")
}

fn show(p: &Printer, q: &QuoteResponse) {
    if p.format == Format::Json {
        p.document(&serde_json::to_value(QuoteSummary::from(q)).unwrap_or(Value::Null));
        return;
    }
    p.record(&[
        ("id", "ID", text(Some(q.id))),
        ("reference", "Reference", Value::from(q.reference_code.clone())),
        ("client", "Client", Value::from(q.client.name.clone())),
        ("status", "Status", text(Some(&q.status))),
        ("recurring_total", "Recurring total", api_money(Some(q.totals.recurring_total.amount))),
        ("expires", "Expires", text(Some(q.expires_on))),
    ]);
    if q.line_items.is_empty() {
        p.note("No line items yet.");
        return;
    }
    let mut t = Table::new(&[
        col("id", "LINE"),
        col("product_name", "PRODUCT"),
        whole("quantity", "QTY"),
        col("billing_term", "TERM"),
        amount("price", "PRICE"),
    ]);
    for l in &q.line_items {
        t.push(vec![
            Value::from(l.id.to_string()),
            Value::from(l.product.name.clone()),
            Value::from(l.quantity),
            Value::from(l.billing_term.as_str()),
            api_money(Some(l.price.amount)),
        ]);
        if let Some(last) = t.currencies.last_mut() {
            *last = Some(l.price.currency.clone());
        }
    }
    p.table(&t);
}
