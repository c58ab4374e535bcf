//! The mirror against the simulator: counts, idempotence, removals, interrupted and resumed
//! syncs, faults, drift, counters across resumes and the lock between two syncs. SQLite always;
//! PostgreSQL when PAX8_TEST_POSTGRES_URL names a server (CI starts one).

mod common;

use std::time::Duration;

use common::*;
use pax8_sandbox::Faults;
use pax8_sync::{Store, SyncError, SyncOptions, sync};
use rand::{Rng, SeedableRng};
use sqlx::Row;

#[tokio::test(flavor = "multi_thread")]
async fn full_sync_matches_the_fixture_and_a_second_sync_writes_only_snapshots() {
    let s = sandbox(12, Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    full_then_idempotent(&sqlite(&dir, "a.db").await, &s).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_gone_upstream_are_marked_not_deleted() {
    let s = sandbox(6, Faults::default()).await;
    let c = client(&s);
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(&dir, "r.db").await;
    sync(&store, &c, &opts(50), &|_| {}).await.unwrap();
    let before = store.count("contacts").await.unwrap();
    let (company, contact) = s.with_world(|w| {
        let company = w.companies[0].id.unwrap();
        (company, w.contacts[&company][0].id.unwrap())
    });
    c.contacts(company).delete(contact).await.unwrap();
    let summary = sync(&store, &c, &opts(50), &|_| {}).await.unwrap();
    assert_eq!(summary.removed, 1);
    assert_eq!(store.count("contacts").await.unwrap(), before - 1);
    let row = sqlx::query("SELECT removed_at FROM contacts WHERE id = $1")
        .bind(contact.to_string())
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert!(row.get::<Option<String>, _>("removed_at").is_some(), "kept, marked removed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sync_killed_at_random_points_then_resumed_ends_identical() {
    let s = sandbox(10, Faults::default()).await;
    let c = client(&s);
    let dir = tempfile::tempdir().unwrap();
    let reference = sqlite(&dir, "reference.db").await;
    sync(&reference, &c, &opts(15), &|_| {}).await.unwrap();
    let expected = content(&reference).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    for round in 0..4 {
        let store = sqlite(&dir, &format!("killed-{round}.db")).await;
        let mut kills = 0;
        loop {
            let stop = rng.random_range(1..6);
            match sync(&store, &c, &SyncOptions { stop_after_pages: Some(stop), ..opts(15) }, &|_| {}).await {
                Err(SyncError::Interrupted) => kills += 1,
                Ok(summary) => {
                    assert!(kills == 0 || summary.resumed);
                    break;
                }
                Err(other) => panic!("{other}"),
            }
        }
        assert!(kills > 2, "round {round} was interrupted {kills} times");
        assert_eq!(content(&store).await, expected, "round {round}: nothing lost or duplicated");
    }
    // A kill in the middle of a page (the future dropped) rolls that page back.
    let store = sqlite(&dir, "dropped.db").await;
    let _ = tokio::time::timeout(Duration::from_millis(30), sync(&store, &c, &opts(15), &|_| {})).await;
    sync(&store, &c, &opts(15), &|_| {}).await.unwrap();
    assert_eq!(content(&store).await, expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn faults_lose_nothing() {
    let s = sandbox(
        10,
        Faults { server_error_rate: 0.08, drop_before_rate: 0.04, drop_after_rate: 0.03, ..Faults::default() },
    )
    .await;
    let c = client(&s);
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(&dir, "f.db").await;
    let mut attempts = 0;
    loop {
        attempts += 1;
        match sync(&store, &c, &opts(15), &|_| {}).await {
            Ok(_) => break,
            Err(SyncError::Api(e)) if attempts < 10 => eprintln!("sync failed ({e}); the next run resumes"),
            Err(e) => panic!("{e}"),
        }
    }
    let e = expected(&s);
    check_counts(&store, &e).await;
    let counters = s.counters();
    assert!(counters.server_errors + counters.dropped_before + counters.dropped_after > 0, "{counters:?}");
    let dups = sqlx::query("SELECT COUNT(*) AS n FROM (SELECT subscription_id FROM subscription_snapshots GROUP BY subscription_id HAVING COUNT(*) > 1) d")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(dups.get::<i64, _>("n"), 0, "one snapshot per subscription");
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_shows_quantity_changes_between_snapshots() {
    let s = sandbox(5, Faults::default()).await;
    let c = client(&s);
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(&dir, "d.db").await;
    sync(&store, &c, &SyncOptions { now: "2026-11-10T12:00:00Z".parse().unwrap(), ..opts(50) }, &|_| {}).await.unwrap();
    let sub = s.with_world(|w| {
        w.subscriptions.iter().find(|x| x.status.as_ref().unwrap().as_str() == "Active").unwrap().clone()
    });
    let id = sub.id.unwrap();
    c.subscriptions().update_quantity(id, sub.quantity.unwrap() as i64 + 3).await.unwrap();
    let now: chrono::DateTime<chrono::Utc> = "2026-11-23T12:00:00Z".parse().unwrap();
    sync(&store, &c, &SyncOptions { now, ..opts(50) }, &|_| {}).await.unwrap();
    let drift = pax8_sync::drift(&store, pax8_sync::DEFAULT_TENANT, chrono::Duration::days(7), now).await.unwrap();
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert_eq!(drift[0].subscription_id, id.to_string());
    assert_eq!(drift[0].quantity_now, Some(sub.quantity.unwrap() + 3.0));
    assert_eq!(drift[0].quantity_before, sub.quantity);
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_variant() {
    let Some(url) = postgres_database().await else { return };
    let store = Store::open(&url).await.unwrap();
    let s = sandbox(8, Faults::default()).await;
    full_then_idempotent(&store, &s).await;
    let now: chrono::DateTime<chrono::Utc> = "2026-12-30T12:00:00Z".parse().unwrap();
    assert!(
        pax8_sync::drift(&store, pax8_sync::DEFAULT_TENANT, chrono::Duration::days(7), now).await.unwrap().is_empty()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_from_before_snapshot_sources_gains_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
    sqlx::any::install_default_drivers();
    let old = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::query(
        "CREATE TABLE subscription_snapshots (sync_id TEXT NOT NULL, subscription_id TEXT NOT NULL, taken_at TEXT NOT NULL, \
         quantity DOUBLE PRECISION, price DOUBLE PRECISION, status TEXT, PRIMARY KEY (sync_id, subscription_id))",
    )
    .execute(&old)
    .await
    .unwrap();
    sqlx::query("INSERT INTO subscription_snapshots VALUES ('s1', 'x', '2026-01-01T00:00:00+00:00', 1, 2, 'Active')")
        .execute(&old)
        .await
        .unwrap();
    old.close().await;
    let store = Store::open(&url).await.unwrap();
    let source: String =
        sqlx::query("SELECT source FROM subscription_snapshots").fetch_one(store.pool()).await.unwrap().get("source");
    assert_eq!(source, "sync", "old snapshots came from syncs");
    // Opening again changes nothing.
    Store::open(&url).await.unwrap();
}

/// Counts add up across a kill and a resume: the resumed run reports the whole sync, equal to
/// an uninterrupted one.
#[tokio::test(flavor = "multi_thread")]
async fn counters_add_up_across_resumes() {
    let s = sandbox(4, Faults::default()).await;
    let c = client(&s);
    let dir = tempfile::tempdir().unwrap();
    let whole = sync(&sqlite(&dir, "whole.db").await, &c, &opts(5), &|_| {}).await.unwrap();
    let store = sqlite(&dir, "resumed.db").await;
    let stopped = sync(&store, &c, &SyncOptions { stop_after_pages: Some(3), ..opts(5) }, &|_| {}).await;
    assert!(matches!(stopped, Err(SyncError::Interrupted)));
    let resumed = sync(&store, &c, &opts(5), &|_| {}).await.unwrap();
    assert!(resumed.resumed);
    // The stopped run's requests are the sync's too (each part carries the run's count).
    assert!(resumed.requests >= whole.requests, "{resumed:?} / {whole:?}");
    assert_eq!(
        (resumed.fetched, resumed.inserted, resumed.updated, resumed.snapshots),
        (whole.fetched, whole.inserted, whole.updated, whole.snapshots),
        "resumed {resumed:?} vs whole {whole:?}"
    );
    let row = sqlx::query("SELECT inserted, status FROM syncs").fetch_one(store.pool()).await.unwrap();
    assert_eq!(
        (row.get::<i64, _>("inserted") as u64, row.get::<String, _>("status")),
        (whole.inserted, "finished".into())
    );
}

/// Kills between the parts an invoice's items are written in (pages of 5, parts of 50 items)
/// and resumes: the resumed sync reads the invoice page's items again, and the rows its parts
/// had committed are neither written nor counted again, so its counts equal an uninterrupted
/// sync's, on SQLite and PostgreSQL.
#[tokio::test(flavor = "multi_thread")]
async fn counts_add_up_across_kills_between_an_invoices_parts() {
    let s = sandbox(10, Faults::default()).await;
    let c = client(&s);
    let dir = tempfile::tempdir().unwrap();
    let whole = sync(&sqlite(&dir, "whole.db").await, &c, &opts(5), &|_| {}).await.unwrap();
    let mut stores = vec![sqlite(&dir, "killed.db").await];
    if let Some(url) = postgres_database().await {
        stores.push(Store::open(&url).await.unwrap());
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    for store in stores {
        let (mut kills, mut between_parts) = (0, 0);
        let resumed = loop {
            assert!(kills < 200, "a resumed sync ends");
            let stop = rng.random_range(1..8);
            match sync(&store, &c, &SyncOptions { stop_after_pages: Some(stop), ..opts(5) }, &|_| {}).await {
                Err(SyncError::Interrupted) => kills += 1,
                Ok(summary) => break summary,
                Err(other) => panic!("{other}"),
            }
            // Items committed by parts, their invoice page (with the invoices' rows) not yet.
            if store.count("invoice_items").await.unwrap() > 0 && store.count("invoices").await.unwrap() == 0 {
                between_parts += 1;
            }
        };
        assert!(between_parts >= 2, "{between_parts} of {kills} kills fell between an invoice's parts");
        assert!(resumed.resumed);
        let counts = |x: &pax8_sync::SyncSummary| (x.fetched, x.inserted, x.updated, x.unchanged, x.snapshots);
        assert_eq!(counts(&resumed), counts(&whole), "resumed {resumed:?} vs whole {whole:?}");
        assert_eq!(resumed.fetched, all_rows(&store).await);
        let row = sqlx::query("SELECT fetched, inserted FROM syncs").fetch_one(store.pool()).await.unwrap();
        assert_eq!(
            (row.get::<i64, _>("fetched") as u64, row.get::<i64, _>("inserted") as u64),
            (whole.fetched, whole.inserted)
        );
    }
}

/// A second sync on the same database waits for the first, and says which sync holds it when
/// the wait runs out; a lock without progress for five minutes belongs to a killed sync.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_sync_is_told_which_sync_holds_the_database() {
    let s = sandbox(2, Faults::default()).await;
    let c = client(&s);
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(&dir, "locked.db").await;
    let fresh = chrono::Utc::now().to_rfc3339();
    sqlx::query("INSERT INTO sync_lock (name, holder, since, heartbeat) VALUES ('default', 'other-sync', $1, $1)")
        .bind(fresh.clone())
        .execute(store.pool())
        .await
        .unwrap();
    let wait = Duration::from_millis(600);
    let started = std::time::Instant::now();
    let busy = sync(&store, &c, &SyncOptions { lock_wait: wait, ..opts(50) }, &|_| {}).await.unwrap_err();
    assert!(started.elapsed() >= wait, "it waited first");
    assert_eq!(pax8_sync::LOCK_WAIT, Duration::from_secs(30), "the default wait");
    let message = busy.to_string();
    assert!(matches!(&busy, SyncError::Busy { holder, .. } if holder == "other-sync"), "{message}");
    assert!(message.contains("other-sync") && message.contains(&fresh), "{message}");
    // The holder stops making progress: after five minutes its lock is taken over.
    let old = (chrono::Utc::now() - chrono::Duration::minutes(6)).to_rfc3339();
    sqlx::query("UPDATE sync_lock SET heartbeat = $1").bind(old).execute(store.pool()).await.unwrap();
    sync(&store, &c, &opts(50), &|_| {}).await.unwrap();
    let held: i64 = sqlx::query("SELECT COUNT(*) AS n FROM sync_lock").fetch_one(store.pool()).await.unwrap().get("n");
    assert_eq!(held, 0, "released when done");
}

/// Every row the mirror holds, every table together.
async fn all_rows(store: &Store) -> u64 {
    let mut rows = 0;
    for table in ["companies", "contacts", "products", "subscriptions", "invoices", "invoice_items", "usage_summaries"]
    {
        rows += store.count(table).await.unwrap() as u64;
    }
    rows
}

/// Invoices whose items take several parts (pages of 5, parts of 50 items): each part is counted
/// once, by the run and in the `syncs` row, on SQLite (one writer) and PostgreSQL (two at once).
#[tokio::test(flavor = "multi_thread")]
async fn an_invoice_written_in_parts_is_counted_once() {
    let s = sandbox(10, Faults::default()).await;
    let c = client(&s);
    let dir = tempfile::tempdir().unwrap();
    let mut stores = vec![sqlite(&dir, "parts.db").await];
    if let Some(url) = postgres_database().await {
        stores.push(Store::open(&url).await.unwrap());
    }
    for store in stores {
        let progressed = std::sync::atomic::AtomicU64::new(0);
        let pages = std::sync::Mutex::new(Vec::new());
        let summary = sync(&store, &c, &opts(5), &|at| {
            progressed.fetch_max(at.fetched, std::sync::atomic::Ordering::Relaxed);
            pages.lock().unwrap().push((at.resource.to_string(), at.page));
        })
        .await
        .unwrap();
        // Each listing's pages are reported once each, in order, as they commit.
        let pages = pages.into_inner().unwrap();
        for resource in ["companies", "products", "subscriptions", "invoices"] {
            let reported: Vec<u32> = pages.iter().filter(|(r, _)| r == resource).map(|(_, page)| *page).collect();
            let count = reported.len() as u32;
            assert!(count > 1, "{resource}: several pages of 5");
            assert_eq!(reported, (0..count).collect::<Vec<_>>(), "{resource}");
        }
        check_counts(&store, &expected(&s)).await;
        let rows = all_rows(&store).await;
        assert_eq!((summary.fetched, summary.inserted, summary.unchanged), (rows, rows, 0), "{summary:?}");
        let row = sqlx::query("SELECT fetched, inserted FROM syncs").fetch_one(store.pool()).await.unwrap();
        assert_eq!((row.get::<i64, _>("fetched") as u64, row.get::<i64, _>("inserted") as u64), (rows, rows));
        assert_eq!(progressed.into_inner(), rows, "progress counts the parts' items too");
    }
}

/// A re-sync after one subscription's quantity and one usage summary's charges changed counts
/// those rows updated, once each, and every other row it re-read unchanged: in its summary and
/// in the `syncs` row (a subscription is counted by its page's part, a usage summary by the run).
#[tokio::test(flavor = "multi_thread")]
async fn a_changed_row_is_counted_updated() {
    let s = sandbox(4, Faults::default()).await;
    let c = client(&s);
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(&dir, "updated.db").await;
    sync(&store, &c, &opts(5), &|_| {}).await.unwrap();
    let (id, quantity) = s.with_world(|w| {
        let x = w.subscriptions.iter().find(|x| x.status.as_ref().is_some_and(|s| s.as_str() == "Active")).unwrap();
        (x.id.unwrap(), x.quantity.unwrap_or(1.0) as i64)
    });
    c.subscriptions().update_quantity(id, quantity + 1).await.unwrap();
    // And one usage summary's charges, read again once its usage is older than 12 hours.
    s.with_world_mut(|w| {
        let usage = w.usage_summaries.values_mut().flatten().next().expect("an Azure subscription's usage");
        usage.current_charges = Some(usage.current_charges.unwrap_or(0.0) + 1.0);
    });
    let later = SyncOptions { now: "2026-11-24T01:00:00Z".parse().unwrap(), ..opts(5) };
    let second = sync(&store, &c, &later, &|_| {}).await.unwrap();
    assert_eq!((second.inserted, second.updated, second.snapshots), (0, 2, 1), "{second:?}");
    assert_eq!(second.unchanged + 2, second.fetched, "{second:?}");
    let row = sqlx::query("SELECT updated FROM syncs ORDER BY started_at DESC").fetch_one(store.pool()).await.unwrap();
    assert_eq!(row.get::<i64, _>("updated"), 2);
}
