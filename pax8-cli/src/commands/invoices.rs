//! `pax8 invoices` and `pax8 usage`.

use super::listing;
use super::reports;
use super::session::Session;
use crate::fail::Failure;
use crate::output::{Table, amount, api_money, col, text};
use crate::{InvoicesCommand, UsageCommand, resolve};
use pax8_ext::filters::InvoiceFilter;
use serde_json::Value;

use pax8_ext::views::InvoiceSummary;

pub(super) async fn run(s: &Session, command: InvoicesCommand) -> Result<(), Failure> {
    let (client, p) = (&s.client, &s.printer);
    match command {
        InvoicesCommand::List { paging, status } => {
            let paginator = client.invoices().filtered(&InvoiceFilter { status, ..Default::default() })?;
            listing::show(client, paginator, paging, p, "invoices", |items| {
                let summaries: Vec<InvoiceSummary> = items.iter().map(InvoiceSummary::from).collect();
                Table::of(
                    &[
                        col("id", "ID"),
                        col("invoice_date", "DATE"),
                        col("due_date", "DUE"),
                        col("status", "STATUS"),
                        amount("total", "TOTAL"),
                        amount("balance", "BALANCE"),
                        col("currency", "CURRENCY").csv_only(),
                    ],
                    &summaries,
                )
            })
            .await?;
        }
        InvoicesCommand::Export { invoice, source } => {
            let id = resolve::id("invoice", &invoice)?;
            super::export::export(Some(client), super::export::Exported::InvoiceItems(id), &source).await?;
        }
        InvoicesCommand::Show { invoice } => {
            let i = client.invoices().get(resolve::id("invoice", &invoice)?).await?;
            p.record(&[
                ("id", "ID", text(i.id)),
                ("date", "Date", text(i.invoice_date)),
                ("due", "Due", text(i.due_date)),
                ("status", "Status", text(i.status)),
                ("total", "Total", api_money(i.total)),
                ("balance", "Balance", api_money(i.balance)),
                ("currency", "Currency", text(i.currency_code)),
            ]);
        }
        InvoicesCommand::Items { invoice, paging } => {
            let id = resolve::id("invoice", &invoice)?;
            listing::show(client, client.invoices().items(id), paging, p, "items", |items| {
                let mut t = Table::new(&[
                    col("company", "COMPANY"),
                    col("product", "PRODUCT"),
                    col("quantity", "QTY"),
                    col("term", "TERM"),
                    col("unit_cost", "UNIT COST"),
                    col("cost_total", "COST"),
                    col("total", "CUSTOMER TOTAL"),
                ]);
                for i in items {
                    t.push(vec![
                        text(i.company_name.as_ref()),
                        text(i.product_name.as_ref()),
                        Value::from(i.quantity.unwrap_or(0.0)),
                        text(i.term.as_ref()),
                        api_money(i.cost),
                        api_money(i.cost_total),
                        api_money(i.total),
                    ]);
                }
                t
            })
            .await?;
        }
        InvoicesCommand::Reconcile { invoice } => reports::reconcile(s, invoice.as_deref()).await?,
        InvoicesCommand::Audit { invoice, company, db, tenant, .. } => {
            super::audit::run(s, invoice.as_deref(), company.as_deref(), db.as_deref(), &tenant).await?
        }
    }
    Ok(())
}

pub(super) async fn usage(s: &Session, command: UsageCommand) -> Result<(), Failure> {
    let (client, p) = (&s.client, &s.printer);
    match command {
        UsageCommand::Summaries { subscription } => {
            let id = resolve::id("subscription", &subscription)?;
            let items = client.subscriptions().usage_summaries(id).collect_all().await?;
            let mut t = Table::new(&[
                col("id", "ID"),
                col("resource_group", "RESOURCE GROUP"),
                col("charges", "CHARGES"),
                col("partner_total", "PARTNER TOTAL"),
            ]);
            for u in items {
                t.push(vec![
                    text(u.id),
                    text(u.resource_group),
                    api_money(u.current_charges),
                    api_money(u.partner_total),
                ]);
            }
            p.table(&t);
        }
        UsageCommand::Lines { summary, date } => {
            let id = resolve::id("usage summary", &summary)?;
            let day = pax8_api::Date::from(resolve::date(&date)?);
            let lines = client.usage().lines(id, day, None).await?;
            let mut t = Table::new(&[
                col("product", "METER"),
                col("quantity", "QTY"),
                col("unit", "UNIT"),
                col("unit_price", "UNIT PRICE"),
                col("charges", "CHARGES"),
            ]);
            for l in lines {
                t.push(vec![
                    text(l.product_name),
                    Value::from(l.quantity.unwrap_or(0.0)),
                    text(l.unit_of_measure),
                    api_money(l.unit_price),
                    api_money(l.current_charges),
                ]);
            }
            p.table(&t);
        }
    }
    Ok(())
}
