//! Helpers shared by the mirror's integration tests: a simulator with a fixed "today", a client
//! for it, databases (a SQLite file or a fresh PostgreSQL database), the expected counts and
//! every mirrored row of a store, and a receiver served on 127.0.0.1.
// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::time::Duration;

use pax8_ext::{Pax8Client, RetryPolicy};
use pax8_sandbox::{Faults, Sandbox, SandboxConfig};
use pax8_sync::{Store, SyncOptions, sync};
use sqlx::Row;

pub async fn sandbox(companies: usize, faults: Faults) -> Sandbox {
    Sandbox::start(SandboxConfig {
        companies,
        today: Some(chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()),
        faults,
        ..SandboxConfig::default()
    })
    .await
    .unwrap()
}

pub fn client(s: &Sandbox) -> Pax8Client {
    Pax8Client::builder()
        .client_id(s.client_id())
        .client_secret(s.client_secret())
        .base_url(s.base_url())
        .http_client(reqwest::Client::new())
        .no_rate_limit()
        .retry_policy(RetryPolicy { base_delay: Duration::from_millis(20), max_attempts: 6, ..RetryPolicy::default() })
        .build()
        .unwrap()
}

pub async fn sqlite(dir: &tempfile::TempDir, name: &str) -> Store {
    Store::open(&format!("sqlite://{}", dir.path().join(name).display())).await.unwrap()
}

pub fn opts(page_size: u32) -> SyncOptions {
    SyncOptions { page_size, now: "2026-11-23T12:00:00Z".parse().unwrap(), ..SyncOptions::default() }
}

pub struct Expected {
    pub companies: i64,
    pub contacts: i64,
    pub products: i64,
    pub subscriptions: i64,
    pub invoices: i64,
    pub usage: i64,
}

pub fn expected(s: &Sandbox) -> Expected {
    s.with_world(|w| Expected {
        companies: w.companies.len() as i64,
        contacts: w.contacts.values().map(Vec::len).sum::<usize>() as i64,
        products: w.products.len() as i64,
        subscriptions: w.subscriptions.len() as i64,
        invoices: w.invoices.len() as i64,
        usage: w.usage_summaries.values().map(Vec::len).sum::<usize>() as i64,
    })
}

pub async fn check_counts(store: &Store, e: &Expected) {
    assert_eq!(store.count("companies").await.unwrap(), e.companies);
    assert_eq!(store.count("contacts").await.unwrap(), e.contacts);
    assert_eq!(store.count("products").await.unwrap(), e.products);
    assert_eq!(store.count("subscriptions").await.unwrap(), e.subscriptions);
    assert_eq!(store.count("invoices").await.unwrap(), e.invoices);
    assert_eq!(store.count("usage_summaries").await.unwrap(), e.usage);
    assert!(store.count("invoice_items").await.unwrap() > e.subscriptions, "several invoices' items");
}

/// Every mirrored row, for comparing two databases.
pub async fn content(store: &Store) -> Vec<String> {
    let mut out = Vec::new();
    for table in ["companies", "contacts", "products", "subscriptions", "invoices", "invoice_items", "usage_summaries"]
    {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT id, hash, removed_at FROM {table} ORDER BY id")))
            .fetch_all(store.pool())
            .await
            .unwrap();
        for r in rows {
            out.push(format!(
                "{table} {} {} {:?}",
                r.get::<String, _>("id"),
                r.get::<String, _>("hash"),
                r.get::<Option<String>, _>("removed_at")
            ));
        }
    }
    let snaps = sqlx::query("SELECT subscription_id, COUNT(*) AS n FROM subscription_snapshots GROUP BY subscription_id ORDER BY subscription_id")
        .fetch_all(store.pool())
        .await
        .unwrap();
    for r in snaps {
        out.push(format!("snapshots {} {}", r.get::<String, _>("subscription_id"), r.get::<i64, _>("n")));
    }
    out
}

pub async fn full_then_idempotent(store: &Store, s: &Sandbox) {
    let c = client(s);
    let e = expected(s);
    let first = sync(store, &c, &opts(25), &|_| {}).await.unwrap();
    check_counts(store, &e).await;
    assert!(!first.resumed && first.inserted > 0 && first.updated == 0);
    assert_eq!(first.snapshots as i64, e.subscriptions);
    // The next day (the same week): incremental, and nothing changed.
    let later = SyncOptions { now: "2026-11-24T08:00:00Z".parse().unwrap(), ..opts(25) };
    let second = sync(store, &c, &later, &|_| {}).await.unwrap();
    assert!(first.full && !second.full, "{second:?}");
    assert_eq!((second.inserted, second.updated, second.removed, second.snapshots), (0, 0, 0, 0), "{second:?}");
    assert!(second.skipped > 0 && second.unchanged < first.inserted, "{second:?}");
    assert!(second.requests < first.requests, "{first:?} / {second:?}");
    check_counts(store, &e).await;
    // A full sync re-reads everything, finds every row unchanged, and snapshots none: the
    // week's baseline is taken.
    let full = SyncOptions { mode: pax8_sync::SyncMode::Full, ..later };
    let third = sync(store, &c, &full, &|_| {}).await.unwrap();
    assert!(third.full && third.skipped == 0, "{third:?}");
    assert_eq!((third.inserted, third.updated, third.removed, third.snapshots), (0, 0, 0, 0), "{third:?}");
    assert_eq!(third.unchanged, first.inserted);
    assert_eq!(third.requests, first.requests, "a full sync reads what the first did");
    assert_eq!(store.count("subscription_snapshots").await.unwrap(), e.subscriptions, "no snapshot without a change");
}

/// Serves the receiver for `store` (token `wh-token`, 4 KiB bodies) on 127.0.0.1; its URL.
pub async fn start_receiver(store: &Store) -> String {
    let receiver = pax8_sync::receiver::Receiver {
        max_body: 4096,
        ..pax8_sync::receiver::Receiver::new(store.clone(), "wh-token")
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, pax8_sync::receiver::router(receiver)).await });
    format!("http://{addr}/webhooks/pax8")
}

/// One subscription row as the mirror holds it: quantity and status columns, stored JSON, hash.
pub async fn row(store: &Store, id: uuid::Uuid) -> (f64, String, serde_json::Value, String) {
    let r = sqlx::query("SELECT quantity, status, data, hash FROM subscriptions WHERE id = $1")
        .bind(id.to_string())
        .fetch_one(store.pool())
        .await
        .unwrap();
    let data: String = r.get("data");
    (r.get("quantity"), r.get("status"), serde_json::from_str(&data).unwrap(), r.get("hash"))
}

/// A fresh, empty PostgreSQL database on the server PAX8_TEST_POSTGRES_URL names, or None when
/// it names none (CI always does).
pub async fn postgres_database() -> Option<String> {
    let Some(admin) = std::env::var("PAX8_TEST_POSTGRES_URL").ok().filter(|v| !v.is_empty()) else {
        assert!(std::env::var_os("CI").is_none(), "CI must provide PAX8_TEST_POSTGRES_URL (see .ci/run)");
        eprintln!("PAX8_TEST_POSTGRES_URL is not set: the PostgreSQL variant runs in CI");
        return None;
    };
    sqlx::any::install_default_drivers();
    let db = format!("pax8_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}"))).execute(&mut conn).await.unwrap();
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap();
    Some(format!("{base}/{db}"))
}
