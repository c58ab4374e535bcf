//! `pax8 invoices audit`: pax8-ext's audit of one invoice, its findings and what it could not
//! check, with the verdict as the exit code.

use std::collections::HashMap;

use pax8_ext::audit::{Gathered, Verdict, audit};
use serde_json::Value;

use super::listing::count;
use super::session::Session;
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
    let invoice = invoice.map(|i| crate::resolve::id("invoice", i)).transpose()?;
    let company = match company {
        Some(input) => crate::resolve::company(client, input).await?.id,
        None => None,
    };
    let gathered = Gathered::read(client, invoice, company).await?;
    let invoice_id = gathered.invoice_id;
    let quantities = match (db, gathered.period()) {
        (Some(url), Some((from, to))) => {
            let store = pax8_sync::Store::open(url).await.map_err(sync_failure)?;
            Some(store.quantities_during(tenant, from, to).await.map_err(sync_failure)?)
        }
        (Some(_), None) => Some(HashMap::new()),
        (None, _) => None,
    };
    let found = audit(gathered.input(quantities.as_ref()));
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
