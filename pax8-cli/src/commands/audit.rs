//! `pax8 invoices audit`: pax8-ext's audit of one invoice, its findings and what it could not
//! check, with the verdict as the exit code.

use std::collections::{HashMap, HashSet};

use futures::{StreamExt, TryStreamExt};
use pax8_ext::audit::{AuditInput, Verdict, audit};
use serde_json::Value;
use uuid::Uuid;

use super::session::{Session, count, fetch_all};
use crate::fail::{Failure, sync_failure};
use crate::output::{Format, Table, col, money, text};

/// Exit codes of the verdicts that are not clean.
pub const FINDINGS: u8 = 10;
pub const INCOMPLETE: u8 = 11;

pub(super) async fn run(
    s: &Session,
    invoice: Option<&str>,
    company: Option<&str>,
    db: Option<&str>,
    tenant: &str,
) -> Result<(), Failure> {
    let client = &s.client;
    let mut invoices = client.invoices().list().collect_all().await?;
    invoices.sort_by_key(|i| std::cmp::Reverse(i.invoice_date));
    let chosen = match invoice {
        Some(input) => client.invoices().get(crate::resolve::id("invoice", input)?).await?,
        None => invoices.first().cloned().ok_or_else(|| Failure::usage("there is no invoice to audit"))?,
    };
    let invoice_id = crate::fail::id_of(chosen.id, "invoice")?;
    let previous = invoices.iter().find(|i| i.invoice_date < chosen.invoice_date && i.id != chosen.id);
    let only = match company {
        Some(input) => Some(crate::resolve::company(client, input).await?.id),
        None => None,
    };
    let keep = |company_id: Option<Uuid>| only.is_none_or(|c| company_id == c);
    let mut items = fetch_all(client.invoices().items(invoice_id), &s.printer, "invoice items").await?;
    items.retain(|i| keep(i.company_id));
    let previous_items = match previous.and_then(|p| p.id) {
        Some(id) => {
            let mut before = fetch_all(client.invoices().items(id), &s.printer, "previous invoice items").await?;
            before.retain(|i| keep(i.company_id));
            Some(before)
        }
        None => None,
    };
    let mut subs = fetch_all(client.subscriptions().list().concurrency(4), &s.printer, "subscriptions").await?;
    subs.retain(|x| keep(x.company_id));
    let products: HashSet<Uuid> = items.iter().filter_map(|i| i.product_id).collect();
    let prices: HashMap<Uuid, Vec<_>> = futures::stream::iter(products)
        .map(|id| async move { client.products().pricing(id, None).await.map(|p| (id, p)) })
        .buffer_unordered(8)
        .try_collect()
        .await?;
    let usage_based: HashSet<Uuid> = items
        .iter()
        .filter(|i| {
            i.unit_of_measure.as_deref() == Some("Usage")
                || i.product_name.as_deref().is_some_and(|n| n.contains("Azure"))
        })
        .filter_map(|i| i.product_id)
        .collect();
    let quantities = match db {
        Some(url) => {
            let from = items.iter().filter_map(|i| i.start_period).min().map(|d| d.0);
            let to = items.iter().filter_map(|i| i.end_period).max().map(|d| d.0);
            match (from, to) {
                (Some(from), Some(to)) => {
                    let store = pax8_sync::Store::open(url).await.map_err(sync_failure)?;
                    Some(store.quantities_during(tenant, from, to).await.map_err(sync_failure)?)
                }
                _ => Some(HashMap::new()),
            }
        }
        None => None,
    };
    let found = audit(AuditInput {
        items: &items,
        previous_items: previous_items.as_deref(),
        subscriptions: &subs,
        quantities: quantities.as_ref(),
        prices: &prices,
        usage_based: &usage_based,
    });
    let p = &s.printer;
    if p.format == Format::Json {
        p.document(&serde_json::to_value(&found).unwrap_or(Value::Null));
    } else {
        let mut t = Table::new(&[
            col("kind", "FINDING"),
            col("subscription_id", "SUBSCRIPTION"),
            col("amount", "AMOUNT"),
            col("evidence", "EVIDENCE"),
        ]);
        for f in &found.findings {
            t.push(vec![
                Value::from(f.kind),
                text(f.subscription_id),
                money(f.amount),
                Value::from(f.evidence.clone()),
            ]);
        }
        for u in &found.unchecked {
            let kind = format!("cannot check: {}", u.check);
            t.push(vec![Value::from(kind), text(u.item_id), Value::Null, Value::from(u.why.clone())]);
        }
        let verdict = match found.verdict {
            Verdict::Clean => "clean",
            Verdict::Findings => "findings",
            Verdict::Incomplete => "incomplete (not an all-clear)",
        };
        t.footer = Some(format!(
            "invoice {invoice_id}: {}; {}, {} that could not be made, net {:.2}: {verdict}",
            count(found.items, "items"),
            count(found.findings.len(), "findings"),
            count(found.unchecked.len(), "checks"),
            found.net
        ));
        p.table(&t);
    }
    match found.verdict {
        Verdict::Clean => Ok(()),
        Verdict::Findings => Err(Failure {
            message: format!("{} on invoice {invoice_id}", count(found.findings.len(), "findings")),
            code: FINDINGS,
        }),
        Verdict::Incomplete => Err(Failure {
            message: format!(
                "invoice {invoice_id} could not be fully checked ({}): not an all-clear",
                count(found.unchecked.len(), "checks")
            ),
            code: INCOMPLETE,
        }),
    }
}
