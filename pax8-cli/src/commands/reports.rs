//! The answers the API does not give: renewals, reconciliation, MRR, status.

use std::collections::{HashMap, HashSet};

use futures::{StreamExt, TryStreamExt};
use pax8_api::partner::types::{Company, Subscription};
use pax8_ext::insights::{self, Discrepancy};
use pax8_ext::money::Decimal;
use serde_json::Value;
use uuid::Uuid;

use super::listing::{count, fetch_all};
use super::session::{Session, now};
use crate::GroupBy;
use crate::fail::Failure;
use crate::output::{Table, col, money, text};

async fn everything(s: &Session) -> Result<(Vec<Company>, Vec<Subscription>), Failure> {
    let companies = fetch_all(s.client.companies().list().concurrency(4), &s.printer, "companies").await?;
    let subs = fetch_all(s.client.subscriptions().list().concurrency(4), &s.printer, "subscriptions").await?;
    Ok((companies, subs))
}

fn names(companies: &[Company]) -> HashMap<Uuid, String> {
    companies.iter().filter_map(|c| Some((c.id?, c.name.clone()))).collect()
}

pub async fn renewals(s: &Session, days: i64) -> Result<(), Failure> {
    let (companies, subs) = everything(s).await?;
    let names = names(&companies);
    let found = insights::renewals(&subs, now()?, days);
    let mut t = Table::new(&[
        col("ends", "ENDS"),
        col("company", "COMPANY"),
        col("product", "PRODUCT"),
        col("quantity", "QTY"),
        col("term", "TERM"),
        col("monthly_value", "MONTHLY VALUE"),
        col("subscription_id", "SUBSCRIPTION"),
    ]);
    for r in &found {
        let sub = &r.subscription;
        t.push(vec![
            Value::from(r.ends.format("%Y-%m-%d").to_string()),
            text(sub.company_id.and_then(|c| names.get(&c))),
            text(sub.product_name.as_ref()),
            Value::from(sub.quantity.unwrap_or(0.0) as i64),
            text(sub.billing_term.as_ref()),
            money(r.monthly_revenue),
            text(sub.id),
        ]);
    }
    let at_risk = pax8_ext::money::cents(found.iter().map(|r| r.monthly_revenue).sum::<Decimal>());
    t.footer = Some(format!(
        "{} within {}, {at_risk:.2} a month at risk",
        count(found.len(), "renewals"),
        count(days, "days")
    ));
    s.printer.table(&t);
    Ok(())
}

pub async fn mrr(s: &Session, by: GroupBy) -> Result<(), Failure> {
    let (companies, subs) = everything(s).await?;
    let names = names(&companies);
    let vendors: HashMap<Uuid, String> = if matches!(by, GroupBy::Vendor) {
        let ids: HashSet<Uuid> = subs.iter().filter_map(|x| x.product_id).collect();
        futures::stream::iter(ids)
            .map(|id| async move { s.client.products().get(id).await.map(|p| (id, p.vendor_name.unwrap_or_default())) })
            .buffer_unordered(8)
            .try_collect()
            .await?
    } else {
        HashMap::new()
    };
    let groups = insights::mrr_by(&subs, |x| match by {
        GroupBy::Company => x.company_id.and_then(|c| names.get(&c).cloned()).unwrap_or_else(|| "?".into()),
        GroupBy::Vendor => x.product_id.and_then(|p| vendors.get(&p).cloned()).unwrap_or_else(|| "?".into()),
        GroupBy::Product => x.product_name.clone().unwrap_or_else(|| "?".into()),
    });
    let key = match by {
        GroupBy::Company => col("company", "COMPANY"),
        GroupBy::Vendor => col("vendor", "VENDOR"),
        GroupBy::Product => col("product", "PRODUCT"),
    };
    let mut t = Table::new(&[
        key,
        col("subscriptions", "SUBS"),
        col("revenue", "REVENUE/MO"),
        col("cost", "COST/MO"),
        col("margin", "MARGIN/MO"),
    ]);
    let (mut rev, mut cost) = (Decimal::ZERO, Decimal::ZERO);
    for (name, g) in &groups {
        rev += g.revenue;
        cost += g.cost;
        t.push(vec![
            Value::from(name.clone()),
            Value::from(g.subscriptions),
            money(g.revenue),
            money(g.cost),
            money(pax8_ext::money::margin(g.revenue, g.cost)),
        ]);
    }
    t.footer = Some(format!(
        "MRR {:.2} revenue, {:.2} cost, {:.2} margin (annual terms amortized monthly)",
        pax8_ext::money::cents(rev),
        pax8_ext::money::cents(cost),
        pax8_ext::money::margin(rev, cost)
    ));
    s.printer.table(&t);
    Ok(())
}

pub async fn reconcile(s: &Session, invoice: Option<&str>) -> Result<(), Failure> {
    let invoice = match invoice {
        Some(i) => s.client.invoices().get(crate::resolve::id("invoice", i)?).await?,
        None => {
            let mut all = s.client.invoices().list().collect_all().await?;
            all.sort_by_key(|i| std::cmp::Reverse(i.invoice_date));
            all.into_iter().next().ok_or_else(|| Failure::usage("there is no invoice to reconcile"))?
        }
    };
    let invoice_id = crate::fail::id_of(invoice.id, "invoice")?;
    let items = fetch_all(s.client.invoices().items(invoice_id), &s.printer, "invoice items").await?;
    let (companies, subs) = everything(s).await?;
    let names = names(&companies);
    let usage_based = insights::usage_based(&items);
    let found = insights::reconcile(&items, &subs, &usage_based, insights::ROUNDING_TOLERANCE);
    let by_id: HashMap<Uuid, &Subscription> = subs.iter().filter_map(|x| Some((x.id?, x))).collect();
    let mut t = Table::new(&[
        col("kind", "KIND"),
        col("company", "COMPANY"),
        col("product", "PRODUCT"),
        col("invoiced", "INVOICED"),
        col("current", "CURRENT"),
        col("amount", "AMOUNT"),
        col("subscription_id", "SUBSCRIPTION"),
    ]);
    for d in &found {
        let (kind, sub, invoiced, current) = match d {
            Discrepancy::Quantity { subscription, invoiced, current, .. } => {
                ("quantity", Some(*subscription), Value::from(invoiced.to_string()), Value::from(current.to_string()))
            }
            Discrepancy::Price { subscription, invoiced, current, .. } => {
                ("price", Some(*subscription), money(*invoiced), money(*current))
            }
            Discrepancy::ItemWithoutSubscription { .. } => {
                ("item without subscription", None, Value::Null, Value::Null)
            }
            Discrepancy::SubscriptionWithoutCharge { subscription, .. } => {
                ("subscription not charged", Some(*subscription), Value::Null, Value::Null)
            }
        };
        let sub_ref = sub.and_then(|id| by_id.get(&id));
        t.push(vec![
            Value::from(kind),
            text(sub_ref.and_then(|x| x.company_id).and_then(|c| names.get(&c))),
            text(sub_ref.and_then(|x| x.product_name.as_ref())),
            invoiced,
            current,
            money(d.amount()),
            text(sub),
        ]);
    }
    let net = pax8_ext::money::cents(found.iter().map(Discrepancy::amount).sum::<Decimal>());
    t.footer = Some(format!(
        "invoice {} ({}): {}, {}, net {net:.2} (positive: invoiced more than the subscriptions say)",
        invoice_id,
        invoice.invoice_date.map(|d| d.to_string()).unwrap_or_default(),
        count(items.len(), "items"),
        count(found.len(), "discrepancies")
    ));
    s.printer.table(&t);
    Ok(())
}

pub async fn status(s: &Session) -> Result<(), Failure> {
    let (companies, subs) = everything(s).await?;
    let invoices = s.client.invoices().list_with(|q| q.status("Unpaid")).collect_all().await?;
    let billing: Vec<&Subscription> = subs.iter().filter(|x| insights::is_billing(x)).collect();
    let revenue: Decimal = billing.iter().map(|x| insights::monthly_revenue(x)).sum();
    let cost: Decimal = billing.iter().map(|x| insights::monthly_cost(x)).sum();
    let renewals = insights::renewals(&subs, now()?, 30);
    let at_risk: Decimal = renewals.iter().map(|r| r.monthly_revenue).sum();
    let active_customers =
        companies.iter().filter(|c| c.status.as_ref().is_some_and(|x| x.as_str() == "Active")).count();
    s.printer.record(&[
        ("customers", "Customers (active)", Value::from(active_customers)),
        ("companies", "Companies", Value::from(companies.len())),
        ("active_subscriptions", "Billing subscriptions", Value::from(billing.len())),
        ("mrr_revenue", "MRR revenue", money(revenue)),
        ("mrr_cost", "MRR cost", money(cost)),
        ("mrr_margin", "MRR margin", money(pax8_ext::money::margin(revenue, cost))),
        ("renewals_30d", "Renewals in 30 days", Value::from(renewals.len())),
        ("renewals_30d_value", "  monthly value at risk", money(at_risk)),
        ("unpaid_invoices", "Unpaid invoices", Value::from(invoices.len())),
        ("unpaid_balance", "  balance", money(invoices.iter().map(|i| pax8_ext::money::amount(i.balance)).sum())),
    ]);
    Ok(())
}
