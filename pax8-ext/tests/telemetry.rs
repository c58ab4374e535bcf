//! The request metrics pax8-ext records (feature `metrics`), read back from a Prometheus recorder
//! after known traffic to the simulator on 127.0.0.1.
#![cfg(feature = "metrics")]

use pax8_ext::Pax8Client;
use pax8_sandbox::{Sandbox, SandboxConfig};

/// The sum of every sample of `name` in Prometheus text (0 when there is none).
fn total(rendered: &str, name: &str) -> f64 {
    rendered
        .lines()
        .filter(|line| line.strip_prefix(name).is_some_and(|rest| rest.starts_with(['{', ' '])))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn builder(sandbox: &Sandbox) -> pax8_ext::ClientBuilder {
    Pax8Client::builder()
        .client_id(sandbox.client_id())
        .client_secret(sandbox.client_secret())
        .base_url(sandbox.base_url())
}

#[tokio::test]
async fn attempts_are_timed_and_only_held_back_ones_observe_a_limiter_wait() {
    let metrics = pax8_serve::Metrics::install().expect("recorder");
    let sandbox = Sandbox::start(SandboxConfig { companies: 2, ..SandboxConfig::default() }).await.expect("sandbox");
    let id = sandbox.with_world(|w| w.companies[0].id.unwrap());

    // No limiter: three calls and the token request are timed; nothing was held back.
    let free = builder(&sandbox).no_rate_limit().build().expect("client");
    for _ in 0..3 {
        free.companies().get(id).await.expect("company");
    }
    let rendered = metrics.render();
    assert_eq!(total(&rendered, "http_client_request_duration_seconds_count"), 4.0, "{rendered}");
    assert_eq!(total(&rendered, "pax8_client_limiter_wait_seconds_count"), 0.0, "{rendered}");
    assert_eq!(total(&rendered, "pax8_client_token_fetches_total"), 1.0, "{rendered}");

    // One start a second, no burst beyond one: of the four starts (token request included) the
    // first finds a free slot and the three others wait about a second each.
    let paced = builder(&sandbox).rate_limit(60, 1).build().expect("client");
    for _ in 0..3 {
        paced.companies().get(id).await.expect("company");
    }
    let rendered = metrics.render();
    assert_eq!(total(&rendered, "http_client_request_duration_seconds_count"), 8.0, "{rendered}");
    assert_eq!(total(&rendered, "pax8_client_limiter_wait_seconds_count"), 3.0, "{rendered}");
    let waited = total(&rendered, "pax8_client_limiter_wait_seconds_sum");
    assert!((2.5..3.5).contains(&waited), "three waits of about a second: {waited} s\n{rendered}");
}
