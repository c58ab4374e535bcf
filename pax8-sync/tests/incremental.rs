//! The incremental sync against its oracle: after any sequence of changes in the simulator
//! (quantity changes, cancels, new companies, company and contact edits, contacts removed,
//! invoices paid and issued), a mirror kept by incremental syncs equals one kept by full syncs,
//! row for row and hash for hash, on SQLite and (when PAX8_TEST_POSTGRES_URL names a server)
//! PostgreSQL; an unchanged tenant's re-sync reads no child list again.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::*;
use pax8_api::partner::types::{CompanyUpdate, SubscriptionBillingTerm};
use pax8_ext::Pax8Client;
use pax8_sandbox::{Faults, Sandbox};
use pax8_sync::{Store, SyncMode, SyncOptions, sync};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use sqlx::Row;

/// One random change of the kind `kind` picks, made through the API (or, for invoices, directly:
/// no API call issues or pays one). Returns what it did.
async fn change(s: &Sandbox, c: &Pax8Client, rng: &mut StdRng, kind: u32) -> String {
    let pick = |n: usize, rng: &mut StdRng| rng.random_range(0..n.max(1));
    match kind {
        0 => {
            let subs = s.with_world(|w| {
                w.subscriptions
                    .iter()
                    .filter(|x| x.status.as_ref().is_some_and(|s| s.as_str() == "Active"))
                    .map(|x| (x.id.unwrap(), x.quantity.unwrap_or(1.0) as i64))
                    .collect::<Vec<_>>()
            });
            let (id, quantity) = subs[pick(subs.len(), rng)];
            c.subscriptions().update_quantity(id, quantity + 1).await.unwrap();
            format!("quantity of {id} +1")
        }
        1 => {
            let subs = s.with_world(|w| {
                w.subscriptions
                    .iter()
                    .filter(|x| x.status.as_ref().is_some_and(|s| s.as_str() == "Active"))
                    .filter(|x| x.billing_term == Some(SubscriptionBillingTerm::Monthly))
                    .map(|x| x.id.unwrap())
                    .collect::<Vec<_>>()
            });
            let id = subs[pick(subs.len(), rng)];
            c.subscriptions().cancel(id, None).await.unwrap();
            format!("cancelled {id}")
        }
        2 => {
            let n: u32 = rng.random();
            let company = serde_json::from_value(json!({
                "name": format!("Oracle Co {n}"), "address": {"city": "Austin", "country": "US"},
                "phone": "512-555-0100", "website": "https://oracle.example",
                "contacts": [{"firstName": "Ada", "lastName": "Byron", "email": format!("ada{n}@oracle.example"),
                              "types": [{"type": "Admin", "primary": true}]}]
            }))
            .unwrap();
            let created = c.companies().create(company).await.unwrap();
            format!("new company {}", created.id.unwrap())
        }
        3 => {
            let ids =
                s.with_world(|w| w.contacts.iter().filter(|(_, l)| !l.is_empty()).map(|(c, _)| *c).collect::<Vec<_>>());
            let company = ids[pick(ids.len(), rng)];
            let mut contact = s.with_world(|w| w.contacts[&company][0].clone());
            contact.last_name = format!("{}-{}", contact.last_name, rng.random::<u16>());
            c.contacts(company).update(contact.id.unwrap(), contact.clone()).await.unwrap();
            format!("contact {} of {company} renamed", contact.id.unwrap())
        }
        4 => {
            let ids =
                s.with_world(|w| w.contacts.iter().filter(|(_, l)| l.len() > 1).map(|(c, _)| *c).collect::<Vec<_>>());
            let company = ids[pick(ids.len(), rng)];
            let contact = s.with_world(|w| w.contacts[&company][1].id.unwrap());
            c.contacts(company).delete(contact).await.unwrap();
            format!("contact {contact} of {company} removed")
        }
        5 => {
            let ids = s.with_world(|w| w.companies.iter().map(|x| x.id.unwrap()).collect::<Vec<_>>());
            let id = ids[pick(ids.len(), rng)];
            let phone = format!("512-555-{:04}", rng.random_range(0..10_000));
            c.companies().update(id, CompanyUpdate { phone: Some(phone), ..Default::default() }).await.unwrap();
            format!("company {id} phone changed")
        }
        _ => s.with_world_mut(|w| {
            // The open invoice is paid and next month's is issued (its items: this month's charges).
            let open = w.invoices.iter_mut().find(|i| i.status.as_deref() == Some("Unpaid")).unwrap();
            open.status = Some("Paid".into());
            open.balance = Some(0.0);
            let mut next = open.clone();
            let date = next.invoice_date.unwrap().0;
            next.id = Some(uuid::Uuid::from_u128(rng.random()));
            next.invoice_date = Some(pax8_api::Date(date + chrono::Months::new(1)));
            next.status = Some("Unpaid".into());
            let id = next.id;
            w.invoices.insert(0, next);
            format!("invoice paid, {id:?} issued")
        }),
    }
}

/// Syncs two mirrors of one simulator through rounds of random changes, one incrementally and
/// one with full syncs, and compares them after every round.
async fn incremental_equals_full(incremental: &Store, full: &Store) {
    let s = sandbox(14, Faults::default()).await;
    let c = client(&s);
    let mut rng = StdRng::seed_from_u64(29);
    let mut now: DateTime<Utc> = "2026-11-23T12:00:00Z".parse().unwrap();
    for round in 0..8 {
        let options = SyncOptions { now, ..opts(6) };
        let a = sync(incremental, &c, &options, &|_| {}).await.unwrap();
        let b = sync(full, &c, &SyncOptions { mode: SyncMode::Full, ..options.clone() }, &|_| {}).await.unwrap();
        assert_eq!(content(incremental).await, content(full).await, "round {round}: {a:?} / {b:?}");
        assert!(b.full && b.skipped == 0, "{b:?}");
        if round == 0 {
            assert!(a.full, "a tenant's first sync is full: {a:?}");
        } else {
            assert!(!a.full && a.skipped > 0 && a.requests < b.requests, "round {round}: {a:?} against {b:?}");
        }
        let mut done = Vec::new();
        for _ in 0..4 {
            let kind = rng.random_range(0..7);
            done.push(change(&s, &c, &mut rng, kind).await);
        }
        eprintln!("round {round}: {done:?}");
        // Mostly within the hour; once past the usage age, so usage is re-read too.
        now += if round == 4 { Duration::hours(13) } else { Duration::minutes(30) };
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn incremental_syncs_equal_full_syncs_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    incremental_equals_full(&sqlite(&dir, "incremental.db").await, &sqlite(&dir, "full.db").await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn incremental_syncs_equal_full_syncs_on_postgres() {
    let (Some(a), Some(b)) = (postgres_database().await, postgres_database().await) else { return };
    incremental_equals_full(&Store::open(&a).await.unwrap(), &Store::open(&b).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unchanged_resync_reads_only_the_lists() {
    let s = sandbox(30, Faults::default()).await;
    let c = client(&s);
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(&dir, "u.db").await;
    let first = sync(&store, &c, &opts(200), &|_| {}).await.unwrap();
    let later = SyncOptions { now: "2026-11-23T13:00:00Z".parse().unwrap(), ..opts(200) };
    let second = sync(&store, &c, &later, &|_| {}).await.unwrap();
    assert!(first.full && !second.full);
    assert_eq!((second.inserted, second.updated, second.removed, second.snapshots), (0, 0, 0, 0), "{second:?}");
    // Skipped: the contacts of every company with a date (the simulator sends some as null:
    // unknown, re-read), the items of every final invoice, the usage of every Azure subscription.
    let companies = c.companies().list().page_size(200).page(0).await.unwrap().items;
    let dated = companies.iter().filter(|x| x.updated_date.is_some()).count();
    assert!(dated < companies.len(), "the simulator's null updatedDate quirk is exercised");
    let paid = s.with_world(|w| w.invoices.iter().filter(|i| i.status.as_deref() == Some("Paid")).count());
    let azure: i64 = sqlx::query("SELECT COUNT(*) AS n FROM subscriptions WHERE product_name LIKE '%Azure%'")
        .fetch_one(store.pool())
        .await
        .unwrap()
        .get("n");
    assert!(azure > 0);
    assert_eq!(second.skipped, (dated + paid) as u64 + azure as u64, "{second:?}");
    assert!(second.requests * 10 <= first.requests * 3, "{first:?} / {second:?}");
    check_counts(&store, &expected(&s)).await;
    // The next week's first sync (not yet a full one) snapshots every subscription, changed or
    // not: the weekly baseline the usage report compares against.
    let next_week = SyncOptions { now: "2026-11-30T01:00:00Z".parse().unwrap(), ..opts(200) };
    let third = sync(&store, &c, &next_week, &|_| {}).await.unwrap();
    let subscriptions = expected(&s).subscriptions as u64;
    assert!(!third.full);
    assert_eq!((third.updated, third.snapshots), (0, subscriptions), "{third:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_company_a_webhook_touched_has_its_contacts_read_again() {
    let s = sandbox(8, Faults::default()).await;
    let c = client(&s);
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(&dir, "w.db").await;
    sync(&store, &c, &opts(50), &|_| {}).await.unwrap();
    let later = |minutes| SyncOptions {
        now: "2026-11-23T12:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::minutes(minutes),
        ..opts(50)
    };
    let quiet = sync(&store, &c, &later(10), &|_| {}).await.unwrap();
    // A company the simulator sends with a date: its contacts are skipped until a webhook says
    // it changed.
    let dated = c
        .companies()
        .list()
        .page_size(50)
        .page(0)
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|x| x.updated_date.is_some())
        .unwrap();
    let event = json!({"id": "evt-touch", "webhookTopic": {"topic": "COMPANY_UPDATED"},
        "payloadData": {"companyId": dated.id.unwrap(), "name": dated.name}});
    let handled = pax8_sync::receiver::handle(&store, pax8_sync::DEFAULT_TENANT, &serde_json::to_vec(&event).unwrap())
        .await
        .unwrap();
    assert_eq!(handled.summary().1, "applied");
    let touched = sync(&store, &c, &later(20), &|_| {}).await.unwrap();
    assert_eq!(touched.skipped + 1, quiet.skipped, "{quiet:?} / {touched:?}");
    assert_eq!(touched.requests, quiet.requests + 1, "one contact list read again");
    let after = sync(&store, &c, &later(30), &|_| {}).await.unwrap();
    assert_eq!((after.skipped, after.requests), (quiet.skipped, quiet.requests), "and then skipped again");
}
