//! `pax8 products`, and finding a product by id or name.

use super::listing;
use super::session::Session;
use crate::fail::Failure;
use crate::output::{Table, api_money, col, text};
use crate::{ProductsCommand, resolve};
use pax8_api::partner::types::Product;
use pax8_ext::Pax8Client;
use pax8_ext::views::ProductSummary;

/// A product by id or by name (exact, then unique partial; else candidates).
pub(super) async fn product(client: &Pax8Client, input: &str) -> Result<Product, Failure> {
    if let Ok(id) = uuid::Uuid::parse_str(input.trim()) {
        let d = client.products().get(id).await?;
        // The detail and the list item are one object in two shapes; a detail that does not fit
        // the list shape is reported, not a panic.
        return serde_json::to_value(d)
            .and_then(serde_json::from_value)
            .map_err(|e| Failure::usage(format!("product {id}: unexpected shape: {e}")));
    }
    let found = client.products().search(input)?.collect_all().await?;
    let wanted = input.trim().to_lowercase();
    let exact: Vec<&Product> =
        found.iter().filter(|p| p.name.as_deref().is_some_and(|n| n.to_lowercase() == wanted)).collect();
    let pool: Vec<&Product> = if exact.is_empty() { found.iter().collect() } else { exact };
    match pool.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(Failure::usage(format!("no product matches `{input}`; `pax8 products list --search ...` to look"))),
        many => Err(Failure::usage(format!(
            "`{input}` matches {} products; use one of these names or ids:\n{}",
            many.len(),
            many.iter()
                .map(|p| format!(
                    "  {} ({})",
                    p.name.as_deref().unwrap_or("?"),
                    p.id.map(|i| i.to_string()).unwrap_or_default()
                ))
                .collect::<Vec<_>>()
                .join("\n")
        ))),
    }
}

pub(super) async fn run(s: &Session, command: ProductsCommand) -> Result<(), Failure> {
    let (client, p) = (&s.client, &s.printer);
    match command {
        ProductsCommand::List { paging, search, vendor } => {
            if let Some(s) = &search {
                client.products().search(s)?; // validates 2..256 before sending
            }
            let paginator = client.products().list_with(move |mut q| {
                if let Some(s) = &search {
                    q = q.search(s.trim().to_string());
                }
                if let Some(v) = &vendor {
                    q = q.vendor_name(v.clone());
                }
                q
            });
            listing::show(client, paginator, paging, p, "products", |items| {
                let summaries: Vec<ProductSummary> = items.iter().map(ProductSummary::from).collect();
                Table::of(
                    &[col("id", "ID"), col("name", "NAME"), col("vendor", "VENDOR"), col("sku", "SKU")],
                    &summaries,
                )
            })
            .await?;
        }
        ProductsCommand::Show { product: input, company } => {
            let prod = product(client, &input).await?;
            let company_id = match &company {
                Some(c) => Some(crate::fail::id_of(resolve::company(client, c).await?.id, "company")?),
                None => None,
            };
            let pricing = client.products().pricing(crate::fail::id_of(prod.id, "product")?, company_id).await?;
            let mut t = Table::new(&[
                col("term", "TERM"),
                col("from", "FROM QTY"),
                col("to", "TO QTY"),
                col("partner_price", "PARTNER"),
                col("retail_price", "RETAIL"),
                col("unit", "UNIT"),
            ]);
            for pr in &pricing {
                for r in &pr.rates {
                    t.push(vec![
                        text(pr.billing_term.as_ref()),
                        text(r.start_quantity_range.map(|x| x as i64)),
                        text(r.end_quantity_range.map(|x| x as i64)),
                        api_money(r.partner_buy_rate),
                        api_money(r.suggested_retail_price),
                        text(pr.unit_of_measurement.as_ref()),
                    ]);
                }
            }
            t.footer = Some(format!(
                "{} by {} (SKU {}){}",
                prod.name.as_deref().unwrap_or("?"),
                prod.vendor_name.as_deref().unwrap_or("?"),
                prod.sku.as_deref().unwrap_or("?"),
                if company.is_some() { ", with the company's rates" } else { "" }
            ));
            p.table(&t);
        }
    }
    Ok(())
}
