//! `pax8 quotes`: list, show (with line items), and the previewed, confirmed create, add-line and
//! remove-line.

use super::listing;
use super::products::{commitment_term, product};
use super::session::{Preview, Session, now};
use crate::fail::Failure;
use crate::output::{Format, Printer, Table, amount, api_money, col, money, text, whole};
use crate::{QuotesCommand, resolve};
use pax8_ext::money::Decimal;
use serde_json::Value;

use pax8_api::quoting::types::{
    AddLineItemBasePayloadType, AddStandardLineItemPayload, AddStandardLineItemPayloadBillingTerm, CreateQuotePayload,
    LineItemResponse, QuoteResponse,
};

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
            let client_id = crate::fail::id_of(c.id, "company")?;
            let preview = Preview::new(vec![
                ("company", "Company", Value::from(c.name.clone())),
                ("company_id", "Company id", Value::from(client_id.to_string())),
            ]);
            preview.confirm(p, "Start a quote for this company?", yes)?;
            let payload = CreateQuotePayload { client_id, ..Default::default() };
            // A quote is a draft: an unknown outcome leaves at worst an empty draft, which the
            // message names rather than retrying blindly.
            let created = client.quotes().create(payload).await.map_err(|e| unsettled(e, "pax8 quotes list"))?;
            let message = format!(
                "Quote {} ({}) started; add products with `pax8 quotes add-line {} --product …`.",
                created.reference_code, created.id, created.id
            );
            preview.done(p, "quote", quote_json(&created), &message);
        }
        QuotesCommand::AddLine { quote, product: input, quantity, term, price, yes } => {
            let quote_id = resolve::id("quote", &quote)?;
            let q = client.quotes().get(quote_id).await?;
            let prod = product(client, &input).await?;
            let product_id = crate::fail::id_of(prod.id, "product")?;
            let billing_term = AddStandardLineItemPayloadBillingTerm::from(term.as_str());
            if !billing_term.is_known() {
                return Err(Failure::usage(format!(
                    "`{term}` is not a billing term; use one of: {}",
                    AddStandardLineItemPayloadBillingTerm::KNOWN.join(", ")
                )));
            }
            let pricing = client.products().pricing(product_id, Some(q.client.id)).await?;
            let rate = pax8_ext::insights::rate_for(&pricing, &term, f64::from(quantity));
            let unit_price = match price {
                Some(price) => price_of(price)?,
                None => pax8_ext::money::exact(rate.and_then(|r| r.suggested_retail_price)).ok_or_else(|| {
                    Failure::usage(format!("the catalogue has no {term} price for this product: give --price"))
                })?,
            };
            let commitment_term_id = commitment_term(client, &prod, &term).await?;
            let preview = Preview::new(vec![
                ("quote", "Quote", Value::from(q.reference_code.clone())),
                ("client", "Client", Value::from(q.client.name.clone())),
                ("product", "Product", text(prod.name.as_ref())),
                ("quantity", "Quantity", Value::from(quantity)),
                ("term", "Term", Value::from(billing_term.as_str())),
                ("unit_price", "Unit price (customer)", money(unit_price)),
                ("total", "Total per term", money(unit_price * Decimal::from(quantity))),
            ]);
            preview.confirm(p, "Add this line to the quote?", yes)?;
            let line = AddStandardLineItemPayload {
                billing_term,
                commitment_term_id,
                effective_date: pax8_ext::Timestamp::from(now()?),
                // The API takes a number; a price of cents converts exactly.
                price: rust_decimal::prelude::ToPrimitive::to_f64(&unit_price).unwrap_or_default(),
                product_id,
                // (Checked 1 to 1,000,000 by clap: fits.)
                quantity: i32::try_from(quantity).unwrap_or(i32::MAX),
                type_: AddLineItemBasePayloadType::Standard,
                ..Default::default()
            };
            let added = client
                .quotes()
                .add_line_items(quote_id, vec![line.into()])
                .await
                .map_err(|e| unsettled(e, &format!("pax8 quotes show {quote_id}")))?;
            let lines: Vec<Value> = added.iter().map(line_json).collect();
            let ids: Vec<String> = added.iter().map(|l| l.id.to_string()).collect();
            preview.done(p, "line_items", Value::from(lines), &format!("Line {} added.", ids.join(", ")));
        }
        QuotesCommand::RemoveLine { quote, line, yes } => {
            let quote_id = resolve::id("quote", &quote)?;
            let line_id = resolve::id("line item", &line)?;
            let q = client.quotes().get(quote_id).await?;
            let Some(item) = q.line_items.iter().find(|l| l.id == line_id) else {
                return Err(Failure::usage(format!(
                    "quote {} has no line item {line_id}; `pax8 quotes show {quote_id}` lists them",
                    q.reference_code
                )));
            };
            let preview = Preview::new(vec![
                ("quote", "Quote", Value::from(q.reference_code.clone())),
                ("line", "Line", Value::from(line_id.to_string())),
                ("product", "Product", Value::from(item.product.name.clone())),
                ("quantity", "Quantity", Value::from(item.quantity)),
            ]);
            preview.confirm(p, "Remove this line?", yes)?;
            client.quotes().delete_line_item(quote_id, line_id).await?;
            preview.done(p, "line_item", line_json(item), &format!("Line {line_id} removed."));
        }
    }
    Ok(())
}

/// A write whose answer was lost: never retried blindly, the message says what to check.
fn unsettled(e: pax8_ext::Error, check: &str) -> Failure {
    if e.is_outcome_unknown() {
        Failure {
            message: format!("{e}\n  could not tell whether it was written: check with `{check}` before retrying"),
            code: crate::fail::code::UNSETTLED,
        }
    } else {
        e.into()
    }
}

/// A price from the command line: not negative, at most 10,000,000, cents at most.
fn price_of(price: Decimal) -> Result<Decimal, Failure> {
    if price.is_sign_negative() || price > Decimal::from(10_000_000) || price.scale() > 2 {
        return Err(Failure::usage(format!(
            "--price {price}: give an amount from 0 to 10000000 with at most 2 decimals"
        )));
    }
    Ok(price)
}

fn line_json(l: &LineItemResponse) -> Value {
    serde_json::json!({
        "id": l.id, "product_id": l.product.id, "product_name": l.product.name, "quantity": l.quantity,
        "billing_term": l.billing_term.as_str(), "price": l.price.amount, "currency": l.price.currency,
        "subscription_id": l.subscription_id,
    })
}

fn quote_json(q: &QuoteResponse) -> Value {
    serde_json::json!({
        "id": q.id, "reference": q.reference_code, "client_id": q.client.id, "client": q.client.name,
        "status": q.status.as_str(), "expires": q.expires_on,
        "line_items": q.line_items.iter().map(line_json).collect::<Vec<_>>(),
        "recurring_total": q.totals.recurring_total.amount, "currency": q.totals.recurring_total.currency,
    })
}

fn show(p: &Printer, q: &QuoteResponse) {
    if p.format == Format::Json {
        p.document(&quote_json(q));
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
