//! Benchmarks against the simulator on 127.0.0.1 (a bench binary printing figures):
//!
//! 1. per-request overhead of pax8-ext (pipeline, token cache, retry classification, body read,
//!    tracing span, typed decoding) over a bare reqwest GET of the same URL with the same token;
//! 2. items/s listing ~21,000 subscriptions at 20 ms simulated server latency: a sequential page
//!    loop, 8 pages in flight without a limiter, and a client built with no options at all
//!    (the "defaults" row: its rate limiter and prefetch as shipped);
//! 3. peak heap growth while streaming that listing, against collecting it.
//!
//! The decode path alone (µs and allocations per item) is the `decode` bench.
//!
//! With the `metrics` feature a Prometheus recorder (the servers' buckets) is installed behind
//! a switch, and the per-request rounds also run with recording on: the difference is what the
//! metrics cost per call (without the feature the recording calls are compiled away).
//!
//! ```text
//! cargo bench -p pax8-ext --bench client
//! cargo bench -p pax8-ext --bench client --features metrics
//! ```

use std::time::{Duration, Instant};

use futures::TryStreamExt;
use pax8_ext::Pax8Client;
use pax8_sandbox::{Faults, Sandbox, SandboxConfig};

/// Counts heap bytes (current and peak) so memory is measured exactly, not through RSS.
#[global_allocator]
static HEAP: peak_alloc::PeakAlloc = peak_alloc::PeakAlloc;

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn client(sandbox: &Sandbox) -> Pax8Client {
    Pax8Client::builder()
        .client_id(sandbox.client_id())
        .client_secret(sandbox.client_secret())
        .base_url(sandbox.base_url())
        .no_rate_limit()
        .build()
        .expect("client")
}

async fn overhead() {
    let sandbox = Sandbox::start(SandboxConfig { companies: 5, ..SandboxConfig::default() }).await.expect("sandbox");
    let client = client(&sandbox);
    let id = sandbox.with_world(|w| w.companies[0].id.unwrap());
    let url = format!("{}/v1/companies/{id}", sandbox.base_url());
    let token: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/v1/token", sandbox.base_url()))
        .json(&serde_json::json!({"client_id": sandbox.client_id(), "client_secret": sandbox.client_secret(),
            "audience": "https://api.pax8.com", "grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
    // Configured as pax8-ext configures its own (request and connect timeouts), so the figure is
    // what the pipeline adds, not what reqwest's timeout adds.
    let bare = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let n = 2000;
    // Warm both paths (connections, token).
    for _ in 0..200 {
        client.companies().get(id).await.unwrap();
        bare.get(&url).header("authorization", &bearer).send().await.unwrap().bytes().await.unwrap();
    }
    #[cfg(feature = "metrics")]
    metrics_overhead(&client, id, n).await;
    // Rounds alternate which path goes first; the figure is the median of the per-round
    // differences, which the machine's drift between rounds does not move.
    let (mut bare_runs, mut ext_runs, mut diffs) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..9 {
        let mut bare_us = 0.0;
        let mut ext_us = 0.0;
        for path in [round % 2, 1 - round % 2] {
            let t = Instant::now();
            for _ in 0..n {
                if path == 0 {
                    let body =
                        bare.get(&url).header("authorization", &bearer).send().await.unwrap().bytes().await.unwrap();
                    let _: serde_json::Value = serde_json::from_slice(&body).unwrap();
                } else {
                    client.companies().get(id).await.unwrap();
                }
            }
            let us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
            if path == 0 { bare_us = us } else { ext_us = us }
        }
        bare_runs.push(bare_us);
        ext_runs.push(ext_us);
        diffs.push(ext_us - bare_us);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!("per-request ({n} sequential GET /v1/companies/{{id}} on loopback, medians of 9 alternating rounds):");
    println!("  bare reqwest + serde_json::Value   {:>8.1} us", median(&mut bare_runs));
    println!("  pax8-ext companies().get()         {:>8.1} us", median(&mut ext_runs));
    println!("  overhead of pax8-ext               {:>8.1} us per request", median(&mut diffs));
}

/// Rounds of the metrics comparison: the machine's noise between rounds is of the order of the
/// cost measured, so many short rounds and their median.
#[cfg(feature = "metrics")]
const METRICS_ROUNDS: usize = 41;

/// Recording on against recording off, in alternating rounds of the same calls.
#[cfg(feature = "metrics")]
async fn metrics_overhead(client: &Pax8Client, id: uuid::Uuid, n: usize) {
    let (metrics, switch) = pax8_serve::Metrics::install_switched().expect("recorder");
    let (mut off_runs, mut on_runs, mut diffs) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..METRICS_ROUNDS {
        let (mut off_us, mut on_us) = (0.0, 0.0);
        for on in [round % 2 == 0, round % 2 != 0] {
            switch.set(on);
            let t = Instant::now();
            for _ in 0..n {
                client.companies().get(id).await.unwrap();
            }
            let us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
            if on { on_us = us } else { off_us = us }
        }
        off_runs.push(off_us);
        on_runs.push(on_us);
        diffs.push(on_us - off_us);
    }
    switch.set(false);
    let rendered = metrics.render();
    assert!(rendered.contains("http_client_request_duration_seconds_bucket"), "the calls were recorded");
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!("metrics ({n} sequential companies().get() a round, medians of {METRICS_ROUNDS} alternating rounds):");
    println!("  recorder off                       {:>8.2} us", median(&mut off_runs));
    println!("  Prometheus recorder on             {:>8.2} us", median(&mut on_runs));
    let quartile = |v: &[f64], q: usize| v[v.len() * q / 4];
    let cost = median(&mut diffs);
    println!(
        "  cost of recording                  {cost:>8.2} us per request (quartiles of the rounds {:.2} to {:.2})",
        quartile(&diffs, 1),
        quartile(&diffs, 3)
    );
    // What a request records (its attempt's histogram; the limiter's wait only when it held the
    // attempt back, which a client without a limiter never does), timed alone with pax8-ext's labels.
    switch.set(true);
    let (status, op, method): (&'static str, &'static str, &'static str) = ("200", "findCompanyById", "GET");
    let t = Instant::now();
    for _ in 0..1_000_000 {
        metrics::histogram!("http_client_request_duration_seconds", "http_request_method" => method,
            "http_response_status_code" => status, "error_type" => "", "pax8_api" => "partner",
            "pax8_operation" => op)
        .record(0.000_04);
    }
    switch.set(false);
    println!("  its histogram timed alone          {:>8.2} us per request\n", t.elapsed().as_secs_f64());
}

async fn listing() {
    let latency = Duration::from_millis(20);
    let sandbox = Sandbox::start(SandboxConfig {
        companies: 1900,
        faults: Faults { latency, ..Faults::default() },
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox");
    let total = sandbox.with_world(|w| w.subscriptions.len());
    println!("\nlisting {total} subscriptions, 200 a page, {} ms server latency:", latency.as_millis());
    let rows: [(&str, Option<usize>); 3] = [
        ("sequential page loop      ", Some(1)),
        ("8 in flight, no limiter   ", Some(8)),
        ("defaults (no options)     ", None),
    ];
    let mut sequential = 0.0;
    for (name, concurrency) in rows {
        let client = match concurrency {
            Some(_) => client(&sandbox),
            // Only what reaching the simulator needs: rate limit, prefetch and retries as shipped.
            None => Pax8Client::builder()
                .client_id(sandbox.client_id())
                .client_secret(sandbox.client_secret())
                .base_url(sandbox.base_url())
                .build()
                .expect("client"),
        };
        let t = Instant::now();
        let mut n = 0usize;
        let list = client.subscriptions().list();
        let mut stream = match concurrency {
            Some(c) => list.concurrency(c).items(),
            None => list.items(),
        };
        while let Some(_s) = stream.try_next().await.unwrap() {
            n += 1;
        }
        assert_eq!(n, total);
        let secs = t.elapsed().as_secs_f64();
        if concurrency == Some(1) {
            sequential = secs;
        }
        println!(
            "  {name} {:>8.0} items/s ({secs:.2} s, {:.1}x the sequential loop)",
            n as f64 / secs,
            sequential / secs
        );
    }
    let client = client(&sandbox);

    // Memory: peak heap growth while streaming vs collecting. The simulator runs in this process:
    // its data is resident before the measurement, and its per-page work is the same in both runs.
    let base = HEAP.current_usage();
    HEAP.reset_peak_usage();
    let mut stream = client.subscriptions().list().items();
    let mut n = 0;
    while let Some(_s) = stream.try_next().await.unwrap() {
        n += 1;
    }
    drop(stream);
    let streaming = HEAP.peak_usage().saturating_sub(base);
    let base = HEAP.current_usage();
    HEAP.reset_peak_usage();
    let all = client.subscriptions().list().collect_all().await.unwrap();
    let collected = HEAP.peak_usage().saturating_sub(base);
    println!("  peak heap growth streaming {n} items (16 pages in flight):  {:>6.1} MiB", mib(streaming));
    println!("  peak heap growth collecting all {} items into a Vec:     {:>6.1} MiB", all.len(), mib(collected));
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` compatibility
    }
    // `PAX8_BENCH=overhead` or `PAX8_BENCH=listing` runs one part (profiling).
    let only = std::env::var("PAX8_BENCH").unwrap_or_default();
    if only.is_empty() || only == "overhead" {
        // One thread for server and client alike: both paths pay the same (small) scheduling
        // cost, instead of cross-thread wake-ups whose noise dwarfs the figure being measured.
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(overhead());
    }
    if only.is_empty() || only == "listing" {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
        runtime.block_on(listing());
    }
}
