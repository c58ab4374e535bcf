//! Receiver throughput: 100 concurrent senders post webhook events (each a subscription update
//! the mirror applies: event row, subscription row, snapshot) to the receiver on loopback.
//! Prints events/s and latency percentiles, on SQLite (WAL) and, when PAX8_TEST_POSTGRES_URL
//! names a server, PostgreSQL.
//!
//! ```text
//! cargo bench -p pax8-sync --bench receiver
//! ```

use std::time::{Duration, Instant};

use pax8_sync::Store;
use pax8_sync::receiver::{Receiver, router};

const SENDERS: usize = 100;
const EVENTS: usize = 10_000;

async fn run(label: &str, store: Store) {
    let receiver = Receiver::new(store, "bench-token-0123456789");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/webhooks/pax8", listener.local_addr().expect("addr"));
    let limits = pax8_sync::listener::ServerLimits::default();
    tokio::spawn(pax8_sync::listener::serve_on(listener, router(receiver), limits));
    let http = reqwest::Client::new();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for sender in 0..SENDERS {
        let (http, url) = (http.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for n in (sender..EVENTS).step_by(SENDERS) {
                let subscription = uuid::Uuid::from_u128(0x5000_0000_0000_4000_8000_0000_0000_0000 + n as u128);
                let event = serde_json::json!({"id": format!("bench-{n}"), "webhookTopic": {"topic": "SUBSCRIPTION_UPDATED"},
                    "payloadData": {"subscriptionId": subscription, "quantity": n % 500, "status": "Active"}});
                let t = Instant::now();
                let response = http.post(&url).bearer_auth("bench-token-0123456789").json(&event).send().await.expect("send");
                assert!(response.status().is_success(), "{}", response.status());
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut latencies: Vec<Duration> = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("sender"));
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "{label:<28} {:>7.0} events/s  p50 {:>6.1} ms  p99 {:>6.1} ms  ({} events, {SENDERS} senders, {:.1} s)",
        EVENTS as f64 / elapsed.as_secs_f64(),
        at(0.50).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        latencies.len(),
        elapsed.as_secs_f64()
    );
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = Store::open(&format!("sqlite://{}", dir.path().join("bench.db").display())).await.expect("sqlite");
    run("SQLite (WAL)", sqlite).await;
    if let Ok(admin) = std::env::var("PAX8_TEST_POSTGRES_URL") {
        // A database of its own, so that earlier runs (and their schema versions) do not count.
        sqlx::any::install_default_drivers();
        let name = format!("pax8_bench_{}", uuid::Uuid::new_v4().simple());
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin).await.expect("postgres");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.expect("create");
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        let postgres = Store::open(&format!("{base}/{name}")).await.expect("postgres");
        run("PostgreSQL", postgres).await;
    }
}
