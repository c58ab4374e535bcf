//! The invoice audit end to end on the simulator: the mirror synced during a billing period, the
//! clock moved past its end so the simulator issues that period's invoice, the audit run with the
//! mirror's quantities. It finds exactly the discrepancies the simulator planted (nothing missed,
//! nothing invented), and an invoice without plants is clean, on SQLite and PostgreSQL.

mod common;

use std::collections::BTreeSet;

use chrono::NaiveDate;
use pax8_ext::audit::{Gathered, Verdict, audit};
use pax8_sandbox::{Faults, Sandbox, SandboxConfig};
use pax8_sync::{Store, sync};

const TENANT: &str = "default";

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// Moves the simulator's clock to `date` (noon): every invoice due by then is issued.
fn travel_to(sandbox: &Sandbox, date: NaiveDate) {
    let target = date.and_hms_opt(12, 0, 0).unwrap().and_utc();
    sandbox.advance_clock(target - sandbox.now().to_utc());
}

/// Syncs on 2026-11-23 (the fixture's day, inside November), then moves to 2027-01-02: the
/// simulator issues the invoices of November and December. Returns the December invoice's audit
/// input read from the API and the mirror.
async fn december(sandbox: &Sandbox, store: &Store, company: Option<uuid::Uuid>) -> (Gathered, Vec<u64>) {
    let client = common::client(sandbox);
    sync(store, &client, &common::opts(200), &|_| {}).await.unwrap();
    travel_to(sandbox, day("2027-01-02"));
    let gathered = Gathered::read(&client, None, company).await.unwrap();
    assert_eq!(gathered.period(), Some((day("2026-12-01"), day("2026-12-31"))), "the latest invoice bills December");
    let (from, to) = gathered.period().unwrap();
    let seen = store.quantities_during(TENANT, from, to).await.unwrap();
    let quantities: Vec<u64> = seen.values().flatten().copied().collect();
    (gathered, quantities)
}

async fn finds_exactly_what_was_planted(store: Store) {
    let sandbox = common::sandbox(40, Faults::default()).await;
    let (gathered, quantities) = december(&sandbox, &store, None).await;
    assert!(!quantities.is_empty(), "the mirror saw the subscriptions during the period");
    let (from, to) = gathered.period().unwrap();
    let seen = store.quantities_during(TENANT, from, to).await.unwrap();
    let found = audit(gathered.input(Some(&seen)));
    assert_eq!(found.verdict, Verdict::Findings);

    let planted = sandbox.planted(gathered.invoice_id).unwrap();
    let planted: BTreeSet<(&str, uuid::Uuid)> = planted.iter().map(|p| (p.kind, p.subscription_id)).collect();
    let kinds: BTreeSet<&str> = planted.iter().map(|(kind, _)| *kind).collect();
    assert_eq!(
        kinds,
        BTreeSet::from(["cancelled", "duplicate", "not_billed", "price_list", "quantity"]),
        "one of each kind planted"
    );
    let reported: BTreeSet<(&str, uuid::Uuid)> =
        found.findings.iter().map(|f| (f.kind, f.subscription_id.unwrap())).collect();
    assert_eq!(reported, planted, "every planted discrepancy found, nothing else: {:#?}", found.findings);
    // Each finding's amount is what the plant is worth, positive when the invoice bills too much.
    for f in &found.findings {
        match f.kind {
            "not_billed" => assert!(f.amount < rust_decimal::Decimal::ZERO, "{f:?}"),
            _ => assert!(f.amount > rust_decimal::Decimal::ZERO, "{f:?}"),
        }
    }
    // What the audit could not check is only what no audit can: quantities billed by usage.
    assert!(found.unchecked.iter().all(|u| u.check == "quantity" && u.why.contains("usage")), "{:#?}", found.unchecked);
}

async fn an_invoice_as_billed_is_clean(store: Store) {
    let sandbox = Sandbox::start(SandboxConfig {
        companies: 40,
        today: Some(day("2026-11-23")),
        planted_discrepancies: false,
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    // A company with no usage-billed product: every one of its items can be checked.
    let company = sandbox.with_world(|w| {
        let azure: BTreeSet<uuid::Uuid> = w.products.iter().filter(|p| p.azure).filter_map(|p| p.detail.id).collect();
        w.companies
            .iter()
            .filter_map(|c| c.id)
            .find(|id| {
                let subs: Vec<_> = w.subscriptions.iter().filter(|s| s.company_id == Some(*id)).collect();
                subs.len() >= 3 && subs.iter().all(|s| s.product_id.is_none_or(|p| !azure.contains(&p)))
            })
            .expect("a company without Azure")
    });
    let (gathered, _) = december(&sandbox, &store, Some(company)).await;
    assert!(sandbox.planted(gathered.invoice_id).unwrap().is_empty());
    let (from, to) = gathered.period().unwrap();
    let seen = store.quantities_during(TENANT, from, to).await.unwrap();
    let found = audit(gathered.input(Some(&seen)));
    assert_eq!(found.verdict, Verdict::Clean, "{found:#?}");
    assert!(found.items > 0);
    // The same invoice without the mirror is not an all-clear.
    assert_eq!(audit(gathered.input(None)).verdict, Verdict::Incomplete);
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_audit_finds_exactly_what_was_planted() {
    let dir = tempfile::tempdir().unwrap();
    finds_exactly_what_was_planted(common::sqlite(&dir, "audit.db").await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_an_invoice_as_billed_is_clean() {
    let dir = tempfile::tempdir().unwrap();
    an_invoice_as_billed_is_clean(common::sqlite(&dir, "clean.db").await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_audit_finds_exactly_what_was_planted() {
    let Some(url) = common::postgres_database().await else { return };
    finds_exactly_what_was_planted(Store::open(&url).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_an_invoice_as_billed_is_clean() {
    let Some(url) = common::postgres_database().await else { return };
    an_invoice_as_billed_is_clean(Store::open(&url).await.unwrap()).await;
}
