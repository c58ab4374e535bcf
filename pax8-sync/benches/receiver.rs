//! Receiver throughput: 100 concurrent senders post webhook events (each a subscription update
//! the mirror applies: event row, subscription row, snapshot) to the receiver on loopback.
//! Prints events/s and latency percentiles, on SQLite (WAL) and, when PAX8_TEST_POSTGRES_URL
//! names a server, PostgreSQL; each backend twice with the Prometheus recorder off and twice
//! with it on (alternating, a fresh database each run), so the cost of metrics is read in one run.
//!
//! ```text
//! cargo bench -p pax8-sync --bench receiver
//! ```

use std::time::{Duration, Instant};

use pax8_sync::Store;
use pax8_sync::receiver::{Receiver, router};

const SENDERS: usize = 100;
const EVENTS: usize = 10_000;

async fn run(label: &str, store: Store) -> f64 {
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
    let rate = EVENTS as f64 / elapsed.as_secs_f64();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "{label:<28} {:>7.0} events/s  p50 {:>6.1} ms  p99 {:>6.1} ms  ({} events, {SENDERS} senders, {:.1} s)",
        rate,
        at(0.50).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        latencies.len(),
        elapsed.as_secs_f64()
    );
    rate
}

/// Off and on alternately, three runs each, a fresh store from `open` each run; prints the
/// medians, and what the two records an event makes cost when timed alone.
async fn compare<F, Fut>(backend: &str, switch: &pax8_serve::RecordingSwitch, open: F)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Store>,
{
    let (mut off, mut on) = (Vec::new(), Vec::new());
    for run_no in 0..6 {
        let recording = run_no % 2 == 1;
        switch.set(recording);
        let label = format!("{backend}, metrics {}", if recording { "on" } else { "off" });
        let rate = run(&label, open(run_no).await).await;
        if recording { on.push(rate) } else { off.push(rate) }
    }
    switch.set(false);
    off.sort_by(f64::total_cmp);
    on.sort_by(f64::total_cmp);
    let (off, on) = (off[1], on[1]);
    println!(
        "{backend}: medians: metrics off {off:.0} events/s, on {on:.0} events/s ({:+.1}%)",
        (on - off) / off * 100.0
    );
}

/// The records the receiver makes for one event (its counter and its histogram), timed alone
/// with the recorder on.
fn recording_alone(switch: &pax8_serve::RecordingSwitch) {
    const N: u32 = 1_000_000;
    switch.set(true);
    let t = Instant::now();
    for _ in 0..N {
        metrics::counter!("pax8_webhook_events_total", "topic" => "SUBSCRIPTION_UPDATED", "outcome" => "applied")
            .increment(1);
        metrics::histogram!("pax8_webhook_apply_duration_seconds", "outcome" => "applied").record(0.002);
    }
    let ns = t.elapsed().as_secs_f64() * 1e9 / f64::from(N);
    switch.set(false);
    println!("an event's records timed alone: {ns:.0} ns ({N} events)\n");
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let (metrics, switch) = pax8_serve::Metrics::install_switched().expect("recorder");
    recording_alone(&switch);
    let dir = tempfile::tempdir().expect("tempdir");
    compare("SQLite (WAL)", &switch, |n| {
        let url = format!("sqlite://{}", dir.path().join(format!("bench-{n}.db")).display());
        async move { Store::open(&url).await.expect("sqlite") }
    })
    .await;
    if let Ok(admin) = std::env::var("PAX8_TEST_POSTGRES_URL") {
        // Databases of their own, so that earlier runs (and their schema versions) do not count.
        sqlx::any::install_default_drivers();
        compare("PostgreSQL", &switch, |_| {
            let admin = admin.clone();
            async move {
                let name = format!("pax8_bench_{}", uuid::Uuid::new_v4().simple());
                let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin).await.expect("postgres");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .expect("create");
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
                Store::open(&format!("{base}/{name}")).await.expect("postgres")
            }
        })
        .await;
    }
    let rendered = metrics.render();
    assert!(rendered.contains("pax8_webhook_events_total"), "the events were recorded");
}
