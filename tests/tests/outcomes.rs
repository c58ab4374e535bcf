//! Against the simulator: writes whose answers are lost are reported as unknown and can be
//! settled; a server stricter than its published rate limit slows a long listing down without
//! failing it.

use pax8_ext::resources::NewOrder;
use pax8_ext::{Error, Pax8Client, RetryPolicy, Timestamp};
use pax8_sandbox::{Faults, Sandbox, SandboxConfig};
use uuid::Uuid;

fn today() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

async fn sandbox(companies: usize) -> Sandbox {
    Sandbox::start(SandboxConfig { companies, today: Some(today()), ..SandboxConfig::default() }).await.unwrap()
}

fn client(sandbox: &Sandbox) -> pax8_ext::ClientBuilder {
    Pax8Client::builder()
        .client_id(sandbox.client_id())
        .client_secret(sandbox.client_secret())
        .base_url(sandbox.base_url())
        .http_client(reqwest::Client::new())
}

fn monthly_product(sandbox: &Sandbox) -> (Uuid, Uuid) {
    sandbox.with_world(|w| {
        let p = w.products.iter().find(|p| p.detail.requires_commitment == Some(false)).unwrap();
        (w.companies[0].id.unwrap(), p.detail.id.unwrap())
    })
}

#[tokio::test(start_paused = true)]
async fn a_lost_order_answer_is_unknown_and_find_recent_matching_settles_it() {
    let sandbox = sandbox(3).await;
    let client = client(&sandbox).no_rate_limit().build().unwrap();
    let (company, product) = monthly_product(&sandbox);
    client.companies().get(company).await.unwrap(); // a token before the faults
    let order = NewOrder::for_company(company).line(product, 7, "Monthly", None).build();

    // The server places the order and the answer is lost.
    let attempt = Timestamp::from(chrono::Utc::now());
    sandbox.set_faults(Faults { drop_after_rate: 1.0, ..Faults::default() });
    let err = client.orders().create(order.clone()).send().await.unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert!(err.to_string().contains("may have happened"), "{err}");
    sandbox.set_faults(Faults::default());
    let found = client.orders().find_recent_matching(&order, attempt).await.unwrap();
    let placed = sandbox.with_world(|w| w.orders.last().and_then(|o| o.id));
    assert_eq!(found.iter().map(|o| o.id).collect::<Vec<_>>(), [placed], "the order that was placed");
    assert_eq!(sandbox.counters().orders_created, 1);

    // The connection drops before the server acts: unknown as well, and nothing to find.
    let other = NewOrder::for_company(company).line(product, 9, "Monthly", None).build();
    sandbox.set_faults(Faults { drop_before_rate: 1.0, ..Faults::default() });
    let err = client.orders().create(other.clone()).send().await.unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
    sandbox.set_faults(Faults::default());
    assert!(client.orders().find_recent_matching(&other, attempt).await.unwrap().is_empty());
    assert_eq!(sandbox.counters().orders_created, 1, "never sent twice");
}

#[tokio::test(start_paused = true)]
async fn every_lost_answer_among_many_creates_is_reported_unknown() {
    let sandbox = sandbox(3).await;
    let client = client(&sandbox).no_rate_limit().retry_policy(RetryPolicy::attempts(5)).build().unwrap();
    let (company, product) = monthly_product(&sandbox);
    client.companies().get(company).await.unwrap();
    let before = sandbox.counters();
    sandbox.set_faults(Faults {
        drop_before_rate: 0.2,
        drop_after_rate: 0.2,
        server_error_rate: 0.1,
        ..Faults::default()
    });
    let (mut placed, mut unknown, mut refused) = (0, 0, 0);
    for _ in 0..40 {
        let order = NewOrder::for_company(company).line(product, 1, "Monthly", None).build();
        match client.orders().create(order).send().await {
            Ok(_) => placed += 1,
            Err(e) if e.is_outcome_unknown() => unknown += 1,
            Err(Error::Server(_)) => refused += 1,
            Err(other) => panic!("{other:?}"),
        }
    }
    let c = sandbox.counters();
    let lost = c.dropped_after - before.dropped_after;
    assert_eq!(placed + unknown + refused, 40);
    assert_eq!(c.orders_created, placed + lost, "created = answered + answers lost");
    assert!(unknown >= lost, "every lost answer was reported unknown ({unknown} unknown, {lost} lost): {c:?}");
    assert!(lost > 0 && placed > 0, "{c:?}");
}

#[tokio::test(start_paused = true)]
async fn a_long_listing_against_a_server_limited_to_60_a_minute_completes() {
    let sandbox = sandbox(160).await;
    let expected: Vec<Uuid> = sandbox.with_world(|w| w.subscriptions.iter().map(|s| s.id.unwrap()).collect());
    sandbox.set_faults(Faults { rate_limit_per_minute: Some(60), ..Faults::default() });
    // Defaults: the published 1000 a minute, 16 pages in flight.
    let client = client(&sandbox).build().unwrap();
    let started = tokio::time::Instant::now();
    let got: Vec<Uuid> = client
        .subscriptions()
        .list()
        .page_size(10)
        .collect_all()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id.unwrap())
        .collect();
    let pages = expected.len().div_ceil(10);
    assert!(pages >= 150, "{pages} pages");
    assert_eq!(got, expected, "every item exactly once, in order");
    let c = sandbox.counters();
    assert!(c.rate_limited > 0, "the server pushed back: {c:?}");
    let minutes = started.elapsed().as_secs_f64() / 60.0;
    assert!(minutes >= (pages as f64 / 60.0) - 1.0, "{pages} pages at 60 a minute took {minutes:.1} min");
    let rate = client.current_rate_per_minute().unwrap();
    assert!(rate < 1000.0, "the client slowed down: {rate}/min");
    assert!(c.rate_limited < c.requests / 2, "most requests were not refused: {c:?}");
}
