//! `pax8 report margins`: partner cost, the customer's price and the vendor's suggested retail,
//! monthly, per subscription or summed; every total rounded once (pax8-ext's `margins`).

use std::collections::{HashMap, HashSet};

use futures::{StreamExt, TryStreamExt};
use pax8_ext::margins::{self, MarginLine, MarginTotal};
use pax8_ext::money::{Decimal, cents};
use rust_decimal::prelude::ToPrimitive;
use serde_json::Value;
use uuid::Uuid;

use super::listing::{count, fetch_all};
use super::session::Session;
use crate::MarginsBy;
use crate::fail::Failure;
use crate::output::{Table, col, money, text};

/// Products looked up at once (price lists, vendor names).
const LOOKUPS: usize = 8;

pub async fn margins(s: &Session, by: MarginsBy, company: Option<&str>, below: Option<Decimal>) -> Result<(), Failure> {
    let only = match company {
        Some(input) => Some(crate::resolve::company(&s.client, input).await?),
        None => None,
    };
    let companies = fetch_all(s.client.companies().list().concurrency(4), &s.printer, "companies").await?;
    let names: HashMap<Uuid, String> = companies.iter().filter_map(|c| Some((c.id?, c.name.clone()))).collect();
    let subs = match only.as_ref().and_then(|c| c.id) {
        Some(id) => {
            fetch_all(s.client.subscriptions().list_with(move |q| q.company_id(id)), &s.printer, "subscriptions")
                .await?
        }
        None => fetch_all(s.client.subscriptions().list().concurrency(4), &s.printer, "subscriptions").await?,
    };
    let products: HashSet<Uuid> = subs.iter().filter_map(|x| x.product_id).collect();
    let client = &s.client;
    let prices: HashMap<Uuid, Vec<_>> = futures::stream::iter(products.iter().copied())
        .map(|id| async move { client.products().pricing(id, None).await.map(|p| (id, p)) })
        .buffer_unordered(LOOKUPS)
        .try_collect()
        .await?;
    let vendors: HashMap<Uuid, String> = if matches!(by, MarginsBy::Vendor) {
        futures::stream::iter(products.iter().copied())
            .map(|id| async move { client.products().get(id).await.map(|p| (id, p.vendor_name.unwrap_or_default())) })
            .buffer_unordered(LOOKUPS)
            .try_collect()
            .await?
    } else {
        HashMap::new()
    };
    let lines = margins::lines(&subs, &prices);
    let company_of = |l: &MarginLine| l.company_id.and_then(|c| names.get(&c).cloned()).unwrap_or_else(|| "?".into());
    // Below the limit; with no price, any cost is (a line given away at a loss).
    let flagged = |p: Option<Decimal>, cost: Decimal| below.map(|limit| p.map_or(cost > Decimal::ZERO, |p| p < limit));
    let mut columns = match by {
        MarginsBy::Subscription => {
            vec![col("company", "COMPANY"), col("product", "PRODUCT"), col("quantity", "QTY"), col("term", "TERM")]
        }
        MarginsBy::Product => vec![col("product", "PRODUCT"), col("subscriptions", "SUBS")],
        MarginsBy::Company => vec![col("company", "COMPANY"), col("subscriptions", "SUBS")],
        MarginsBy::Vendor => vec![col("vendor", "VENDOR"), col("subscriptions", "SUBS")],
    };
    columns.extend([
        col("revenue", "PRICE/MO"),
        col("cost", "COST/MO"),
        col("retail", "RETAIL/MO"),
        col("margin", "MARGIN/MO"),
        col("margin_percent", "MARGIN %"),
    ]);
    if below.is_some() {
        columns.push(col("below", "BELOW"));
    }
    if matches!(by, MarginsBy::Subscription) {
        columns.push(col("subscription_id", "SUBSCRIPTION"));
    }
    let mut t = Table::new(&columns);
    let mut flagged_rows = 0;
    let mut row =
        |mut cells: Vec<Value>, revenue: Decimal, cost: Decimal, retail: Option<Decimal>, tail: Option<Value>| {
            let percent = margins::percent(revenue, cost);
            cells.extend([
                money(revenue),
                money(cost),
                retail.map_or(Value::Null, money),
                money(pax8_ext::money::margin(revenue, cost)),
                percent.and_then(|p| p.to_f64()).map_or(Value::Null, Value::from),
            ]);
            if let Some(is_below) = flagged(percent, cost) {
                flagged_rows += usize::from(is_below);
                cells.push(Value::from(is_below));
            }
            cells.extend(tail);
            t.push(cells);
        };
    let group_row = |key: String, g: &MarginTotal| {
        (vec![Value::from(key), Value::from(g.subscriptions)], g.revenue, g.cost, partial_retail(g))
    };
    match by {
        MarginsBy::Subscription => {
            let mut sorted: Vec<&MarginLine> = lines.iter().collect();
            sorted.sort_by_key(|l| (company_of(l), l.product_name.clone()));
            for l in sorted {
                let cells = vec![
                    Value::from(company_of(l)),
                    text(l.product_name.as_ref()),
                    l.quantity.map_or(Value::Null, Value::from),
                    text(l.billing_term.as_ref()),
                ];
                row(cells, l.revenue, l.cost, l.retail, Some(text(l.subscription_id)));
            }
        }
        MarginsBy::Product => {
            for (key, g) in margins::totals_by(&lines, |l| l.product_name.clone().unwrap_or_else(|| "?".into())) {
                let (cells, r, c, retail) = group_row(key, &g);
                row(cells, r, c, retail, None);
            }
        }
        MarginsBy::Company => {
            for (key, g) in margins::totals_by(&lines, company_of) {
                let (cells, r, c, retail) = group_row(key, &g);
                row(cells, r, c, retail, None);
            }
        }
        MarginsBy::Vendor => {
            let vendor =
                |l: &MarginLine| l.product_id.and_then(|p| vendors.get(&p).cloned()).unwrap_or_else(|| "?".into());
            for (key, g) in margins::totals_by(&lines, vendor) {
                let (cells, r, c, retail) = group_row(key, &g);
                row(cells, r, c, retail, None);
            }
        }
    }
    let total = margins::total(&lines);
    let mut footer = format!(
        "{}: price {:.2}, cost {:.2}, margin {:.2}{} a month (annual terms amortized; totals rounded once)",
        count(total.subscriptions, "billing subscriptions"),
        cents(total.revenue),
        cents(total.cost),
        total.margin(),
        total.percent().map(|p| format!(" ({p}%)")).unwrap_or_default(),
    );
    if total.retail_unknown > 0 {
        footer.push_str(&format!("; no retail price for {}", count(total.retail_unknown, "subscriptions")));
    }
    if let Some(limit) = below {
        footer.push_str(&format!("; {} below {limit}%", count(flagged_rows, "lines")));
    }
    t.footer = Some(footer);
    s.printer.table(&t);
    Ok(())
}

/// A group's retail when every line has one (a partial sum would understate it).
fn partial_retail(g: &MarginTotal) -> Option<Decimal> {
    (g.retail_unknown == 0).then_some(g.retail)
}
