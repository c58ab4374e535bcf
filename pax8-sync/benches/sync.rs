//! A full sync of a large tenant: the simulator with 2,000 companies (about 21,000
//! subscriptions) on loopback, mirrored into SQLite (WAL) and, when PAX8_TEST_POSTGRES_URL
//! names a server, PostgreSQL. Prints rows/s for the whole sync and for its subscriptions.
//!
//! ```text
//! cargo bench -p pax8-sync --bench sync
//! ```

use std::sync::Mutex;
use std::time::{Duration, Instant};

use pax8_ext::Pax8Client;
use pax8_sandbox::{Sandbox, SandboxConfig};
use pax8_sync::{Store, SyncOptions, sync};

async fn run(label: &str, store: &Store, client: &Pax8Client) {
    // When each resource's last page was committed, and rows fetched by then.
    let marks: Mutex<Vec<(String, Instant, u64)>> = Mutex::new(Vec::new());
    let started = Instant::now();
    let summary = sync(store, client, &SyncOptions::default(), &|at| {
        if let Ok(mut marks) = marks.lock() {
            marks.push((at.resource.to_string(), Instant::now(), at.fetched));
        }
    })
    .await
    .expect("sync");
    let elapsed = started.elapsed();
    let marks = marks.into_inner().unwrap_or_default();
    let span = |resource: &str| -> Option<(Duration, u64)> {
        let before = marks.iter().rev().find(|m| {
            m.0 != resource
                && marks.iter().position(|x| x.0 == resource) > marks.iter().position(|x| std::ptr::eq(x, *m))
        })?;
        let last = marks.iter().rev().find(|m| m.0 == resource)?;
        Some((last.1.duration_since(before.1), last.2 - before.2))
    };
    let subscriptions = store.count("subscriptions").await.expect("count");
    print!(
        "{label:<14} full sync: {} rows in {:.1} s = {:>6.0} rows/s",
        summary.fetched,
        elapsed.as_secs_f64(),
        summary.fetched as f64 / elapsed.as_secs_f64()
    );
    if let Some((took, rows)) = span("subscriptions") {
        print!(
            "; subscriptions: {rows} rows in {:.1} s = {:>6.0} rows/s",
            took.as_secs_f64(),
            rows as f64 / took.as_secs_f64()
        );
    }
    println!(" ({subscriptions} subscriptions mirrored)");
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 23);
    let sandbox =
        Sandbox::start(SandboxConfig { companies: 2000, today, ..SandboxConfig::default() }).await.expect("sandbox");
    let client = Pax8Client::builder()
        .client_id(sandbox.client_id())
        .client_secret(sandbox.client_secret())
        .base_url(sandbox.base_url())
        .no_rate_limit()
        .build()
        .expect("client");
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = Store::open(&format!("sqlite://{}", dir.path().join("sync.db").display())).await.expect("sqlite");
    run("SQLite (WAL)", &sqlite, &client).await;
    if let Ok(admin) = std::env::var("PAX8_TEST_POSTGRES_URL") {
        sqlx::any::install_default_drivers();
        let name = format!("pax8_bench_{}", uuid::Uuid::new_v4().simple());
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin).await.expect("postgres");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.expect("create");
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        let postgres = Store::open(&format!("{base}/{name}")).await.expect("postgres");
        run("PostgreSQL", &postgres, &client).await;
    }
}
