//! Sync speed against the simulator on loopback: for 200 and 2,000 companies (about 2,100 and
//! 21,000 subscriptions) at 0, 20 and 200 ms of added latency per request, the requests and wall
//! time of a full sync and of an unchanged re-sync, each beside its bound
//! max(requests ÷ rate limit, latency × requests ÷ concurrency) (no rate limit here, so the
//! second); rows/s per backend at 0 ms (SQLite in WAL mode, and PostgreSQL when
//! PAX8_TEST_POSTGRES_URL names a server).
//!
//! ```text
//! cargo bench -p pax8-sync --bench sync
//! PAX8_BENCH_CASES=200:0,2000:20,200:0:exact cargo bench -p pax8-sync --bench sync   # some cases
//! PAX8_BENCH_WRITES=0 …                                                     # no write-path run
//! PAX8_BENCH_BACKENDS=postgres …                                             # one backend only
//! PAX8_BENCH_CASES= PAX8_BENCH_BATCHES=200 …                     # the batched write path alone
//! ```

use std::time::{Duration, Instant};

use pax8_ext::Pax8Client;
use pax8_sandbox::{Faults, Sandbox, SandboxConfig};
use pax8_sync::{Store, SyncMode, SyncOptions, SyncSummary, sync};

/// The allocator the `pax8` binary uses, so the figures are the command's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CONCURRENCY: usize = 4;

/// A client of the simulator, without a rate limit (the bench measures the sync, not the limiter).
fn client_of(sandbox: &Sandbox) -> Pax8Client {
    Pax8Client::builder()
        .client_id(sandbox.client_id())
        .client_secret(sandbox.client_secret())
        .base_url(sandbox.base_url())
        .no_rate_limit()
        .build()
        .expect("client")
}

async fn timed(store: &Store, client: &Pax8Client, options: &SyncOptions) -> (SyncSummary, Duration) {
    let started = Instant::now();
    // When each resource's last page was committed.
    let marks: std::sync::Mutex<Vec<(String, Duration)>> = std::sync::Mutex::default();
    let summary = sync(store, client, options, &|at| {
        if let Ok(mut marks) = marks.lock() {
            match marks.last_mut() {
                Some(last) if last.0 == at.resource => last.1 = started.elapsed(),
                _ => marks.push((at.resource.to_string(), started.elapsed())),
            }
        }
    })
    .await
    .expect("sync");
    let marks = marks.into_inner().unwrap_or_default();
    let mut before = Duration::ZERO;
    let spans: Vec<String> = marks
        .iter()
        .map(|(resource, at)| {
            let span = format!("{resource} {:.2} s", at.saturating_sub(before).as_secs_f64());
            before = *at;
            span
        })
        .collect();
    println!("    ({})", spans.join(", "));
    (summary, started.elapsed())
}

fn line(label: &str, summary: &SyncSummary, took: Duration, latency: Duration) {
    let bound = latency.as_secs_f64() * summary.requests as f64 / CONCURRENCY as f64;
    let ratio = if bound > 0.0 { format!("{:.2}×", took.as_secs_f64() / bound) } else { "-".into() };
    println!(
        "  {label:<16} {:>6} requests ({:>5} lists skipped) {:>8.2} s  bound {:>7.2} s  {ratio:>6}  {:>7} rows {:>8.0} rows/s",
        summary.requests,
        summary.skipped,
        took.as_secs_f64(),
        bound,
        summary.fetched,
        summary.fetched as f64 / took.as_secs_f64(),
    );
}

/// A fresh PostgreSQL database and its name, when PAX8_TEST_POSTGRES_URL names a server.
async fn postgres() -> Option<(Store, String)> {
    let admin = std::env::var("PAX8_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty())?;
    sqlx::any::install_default_drivers();
    let name = format!("pax8_bench_{}", uuid::Uuid::new_v4().simple());
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin).await.expect("postgres");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.expect("create");
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    Some((Store::open(&format!("{base}/{name}")).await.expect("postgres"), name))
}

/// Drops a database [`postgres`] made: left behind, hundreds of them slowed the server's later
/// runs (autovacuum visiting each).
async fn drop_postgres(store: Store, name: &str) {
    store.pool().close().await;
    let Ok(admin) = std::env::var("PAX8_TEST_POSTGRES_URL") else { return };
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin).await.expect("postgres");
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
        .execute(&mut conn)
        .await
        .expect("drop");
}

async fn case(companies: usize, latency_ms: u64, spec_exact: bool) {
    let latency = Duration::from_millis(latency_ms);
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 23);
    let faults = Faults { latency, ..Faults::default() };
    let sandbox = Sandbox::start(SandboxConfig { companies, today, faults, spec_exact, ..SandboxConfig::default() })
        .await
        .expect("sandbox");
    let client = client_of(&sandbox);
    let now: chrono::DateTime<chrono::Utc> = "2026-11-23T12:00:00Z".parse().expect("now");
    let full = SyncOptions { now, concurrency: CONCURRENCY, ..SyncOptions::default() };
    let again = SyncOptions { now: now + chrono::Duration::hours(1), ..full.clone() };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut stores = vec![(
        "SQLite",
        Store::open(&format!("sqlite://{}", dir.path().join("sync.db").display())).await.expect("sqlite"),
        None,
    )];
    if latency_ms == 0
        && let Some((pg, name)) = postgres().await
    {
        stores.push(("PostgreSQL", pg, Some(name)));
    }
    // PAX8_BENCH_BACKENDS=postgres (or sqlite) runs one backend only.
    let only = std::env::var("PAX8_BENCH_BACKENDS").unwrap_or_default().to_ascii_lowercase();
    for (backend, store, database) in stores {
        if !only.is_empty() && !only.split(',').any(|b| backend.to_ascii_lowercase().starts_with(b.trim())) {
            if let Some(name) = database {
                drop_postgres(store, &name).await;
            }
            continue;
        }
        let quirks = if spec_exact { ", without the null-updatedDate quirk" } else { "" };
        println!("{companies} companies, {latency_ms} ms, {backend}{quirks}:");
        let (first, took) = timed(&store, &client, &full).await;
        line("full sync", &first, took, latency);
        let (second, took) = timed(&store, &client, &again).await;
        line("unchanged re-sync", &second, took, latency);
        println!(
            "  re-sync requests: {:.1}% of the full sync's",
            100.0 * second.requests as f64 / first.requests.max(1) as f64
        );
        let forced = SyncOptions { mode: SyncMode::Full, ..again.clone() };
        let (third, took) = timed(&store, &client, &forced).await;
        line("full, unchanged", &third, took, latency);
        if let Some(name) = database {
            drop_postgres(store, &name).await;
        }
    }
}

/// The write path alone: the simulator's subscriptions fetched once, then written into fresh
/// databases a row at a time (the shape of the writes before they were batched) and batched.
async fn writes(companies: usize) {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 23);
    let sandbox =
        Sandbox::start(SandboxConfig { companies, today, ..SandboxConfig::default() }).await.expect("sandbox");
    let client = client_of(&sandbox);
    let subscriptions = client.subscriptions().list().collect_all().await.expect("subscriptions");
    let dir = tempfile::tempdir().expect("tempdir");
    let batches = std::env::var("PAX8_BENCH_BATCHES").unwrap_or_else(|_| "1,200".into());
    for (run, batch) in batches.split(',').filter_map(|b| b.trim().parse::<usize>().ok()).enumerate() {
        let mut stores = vec![(
            "SQLite",
            Store::open(&format!("sqlite://{}", dir.path().join(format!("w{run}-{batch}.db")).display()))
                .await
                .expect("sqlite"),
            None,
        )];
        if let Some((pg, name)) = postgres().await {
            stores.push(("PostgreSQL", pg, Some(name)));
        }
        for (backend, store, database) in stores {
            let started = Instant::now();
            let rows =
                pax8_sync::bench_write_subscriptions(&store, "bench", &subscriptions, batch).await.expect("write");
            let took = started.elapsed().as_secs_f64();
            println!(
                "writes, {backend:<10} {:<16} {rows} subscriptions (each upserted and snapshotted) in {took:.2} s = {:>7.0} rows/s",
                if batch == 1 { "a row at a time" } else { "batched" },
                rows as f64 / took
            );
            if let Some(name) = database {
                drop_postgres(store, &name).await;
            }
        }
    }
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let cases = std::env::var("PAX8_BENCH_CASES").unwrap_or_else(|_| "200:0,2000:0,200:20,2000:20,200:200".into());
    if let Ok(companies) = std::env::var("PAX8_BENCH_WRITES").unwrap_or_else(|_| "2000".into()).parse::<usize>()
        && companies > 0
    {
        writes(companies).await;
    }
    for case_spec in cases.split(',') {
        // COMPANIES:LATENCY_MS, or COMPANIES:LATENCY_MS:exact for answers without the quirks.
        let mut parts = case_spec.split(':');
        let (Some(companies), Some(latency)) = (parts.next(), parts.next()) else { continue };
        let (Ok(companies), Ok(latency)) = (companies.trim().parse(), latency.trim().parse()) else { continue };
        case(companies, latency, parts.next() == Some("exact")).await;
    }
}
