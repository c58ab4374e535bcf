//! The mirror against the simulator: counts, idempotence, removals, interrupted and resumed
//! syncs, faults, drift, and the webhook receiver. SQLite always; PostgreSQL when
//! PAX8_TEST_POSTGRES_URL names a server (CI starts one).

use std::time::Duration;

use pax8_ext::{Pax8Client, RetryPolicy};
use pax8_sandbox::{Faults, Sandbox, SandboxConfig};
use pax8_sync::{Store, SyncError, SyncOptions, sync};
use rand::{Rng, SeedableRng};
use sqlx::Row;

async fn sandbox(companies: usize, faults: Faults) -> Sandbox {
    Sandbox::start(SandboxConfig {
        companies,
        today: Some(chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()),
        faults,
        ..SandboxConfig::default()
    })
    .await
    .unwrap()
}

fn client(s: &Sandbox) -> Pax8Client {
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

async fn sqlite(dir: &tempfile::TempDir, name: &str) -> Store {
    Store::open(&format!("sqlite://{}", dir.path().join(name).display())).await.unwrap()
}

fn opts(page_size: u32) -> SyncOptions {
    SyncOptions { page_size, now: "2026-11-23T12:00:00Z".parse().unwrap(), ..SyncOptions::default() }
}

struct Expected {
    companies: i64,
    contacts: i64,
    products: i64,
    subscriptions: i64,
    invoices: i64,
    usage: i64,
}

fn expected(s: &Sandbox) -> Expected {
    s.with_world(|w| Expected {
        companies: w.companies.len() as i64,
        contacts: w.contacts.values().map(Vec::len).sum::<usize>() as i64,
        products: w.products.len() as i64,
        subscriptions: w.subscriptions.len() as i64,
        invoices: w.invoices.len() as i64,
        usage: w.usage_summaries.values().map(Vec::len).sum::<usize>() as i64,
    })
}

async fn check_counts(store: &Store, e: &Expected) {
    assert_eq!(store.count("companies").await.unwrap(), e.companies);
    assert_eq!(store.count("contacts").await.unwrap(), e.contacts);
    assert_eq!(store.count("products").await.unwrap(), e.products);
    assert_eq!(store.count("subscriptions").await.unwrap(), e.subscriptions);
    assert_eq!(store.count("invoices").await.unwrap(), e.invoices);
    assert_eq!(store.count("usage_summaries").await.unwrap(), e.usage);
    assert!(store.count("invoice_items").await.unwrap() > e.subscriptions, "several invoices' items");
}

/// Every mirrored row, for comparing two databases.
async fn content(store: &Store) -> Vec<String> {
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

async fn full_then_idempotent(store: &Store, s: &Sandbox) {
    let c = client(s);
    let e = expected(s);
    let first = sync(store, &c, &opts(25), &|_| {}).await.unwrap();
    check_counts(store, &e).await;
    assert!(!first.resumed && first.inserted > 0 && first.updated == 0);
    assert_eq!(first.snapshots as i64, e.subscriptions);
    let second = sync(store, &c, &SyncOptions { now: "2026-11-24T12:00:00Z".parse().unwrap(), ..opts(25) }, &|_| {})
        .await
        .unwrap();
    assert_eq!((second.inserted, second.updated, second.removed), (0, 0, 0), "{second:?}");
    assert_eq!(second.unchanged, first.inserted);
    check_counts(store, &e).await;
    assert_eq!(store.count("subscription_snapshots").await.unwrap(), 2 * e.subscriptions, "only the snapshots are new");
}

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

/// Serves the receiver for `store` (token `wh-token`, 4 KiB bodies) on 127.0.0.1; its URL.
async fn start_receiver(store: &Store) -> String {
    let receiver = pax8_sync::receiver::Receiver {
        max_body: 4096,
        ..pax8_sync::receiver::Receiver::new(store.clone(), "wh-token")
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, pax8_sync::receiver::router(receiver)).await });
    format!("http://{addr}/webhooks/pax8")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_receiver_authenticates_dedupes_bounds_and_applies() {
    let s = sandbox(3, Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(&dir, "w.db").await;
    sync(&store, &client(&s), &opts(50), &|_| {}).await.unwrap();
    let url = start_receiver(&store).await;
    let http = reqwest::Client::new();
    let sub = s.with_world(|w| w.subscriptions[0].id.unwrap());
    let event = serde_json::json!({"id": "evt-1", "webhookTopic": {"topic": "SUBSCRIPTION_UPDATED"},
        "payloadData": {"subscriptionId": sub, "quantity": 77}});

    for auth in [None, Some("Bearer nope")] {
        let mut r = http.post(&url).json(&event);
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        assert_eq!(r.send().await.unwrap().status(), 401);
    }
    assert_eq!(store.count("webhook_events").await.unwrap(), 0, "refused bodies are not stored");

    let send = |body: serde_json::Value| http.post(&url).header("authorization", "Bearer wh-token").json(&body).send();
    assert_eq!(send(event.clone()).await.unwrap().status(), 200);
    let again = send(event.clone()).await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<serde_json::Value>().await.unwrap()["status"], "duplicate");
    assert_eq!(store.count("webhook_events").await.unwrap(), 1, "stored once");
    let q: f64 = sqlx::query("SELECT quantity FROM subscriptions WHERE id = $1")
        .bind(sub.to_string())
        .fetch_one(store.pool())
        .await
        .unwrap()
        .get("quantity");
    assert_eq!(q, 77.0, "the mirror follows the event");

    let cancel = serde_json::json!({"id": "evt-2", "webhookTopic": {"topic": "SUBSCRIPTION_CANCELLED"}, "payloadData": {"subscriptionId": sub}});
    assert_eq!(send(cancel).await.unwrap().status(), 200);
    let status: String = sqlx::query("SELECT status FROM subscriptions WHERE id = $1")
        .bind(sub.to_string())
        .fetch_one(store.pool())
        .await
        .unwrap()
        .get("status");
    assert_eq!(status, "Cancelled");

    let company = serde_json::json!({"id": "evt-3", "webhookTopic": {"topic": "COMPANY_CREATED"},
        "payloadData": {"companyId": "11111111-2222-4333-8444-555555555555", "name": "Newco", "status": "Active"}});
    assert_eq!(send(company).await.unwrap().status(), 200);
    assert_eq!(store.count("companies").await.unwrap(), 4);

    let malformed = http.post(&url).header("authorization", "Bearer wh-token").body("{not json").send().await.unwrap();
    assert_eq!(malformed.status(), 422);
    let redelivered =
        http.post(&url).header("authorization", "Bearer wh-token").body("{not json").send().await.unwrap();
    assert_eq!(redelivered.status(), 422, "a rejected event redelivered gets the same answer");
    let missing =
        send(serde_json::json!({"id": "evt-4", "webhookTopic": {"topic": "SUBSCRIPTION_UPDATED"}, "payloadData": {}}))
            .await
            .unwrap();
    assert_eq!(missing.status(), 422);
    let rejected = sqlx::query("SELECT reason FROM webhook_events WHERE status = 'rejected' ORDER BY received_at")
        .fetch_all(store.pool())
        .await
        .unwrap();
    let reasons: Vec<String> = rejected.iter().map(|r| r.get::<String, _>("reason")).collect();
    assert!(
        reasons.iter().any(|r| r.contains("not JSON")) && reasons.iter().any(|r| r.contains("no subscriptionId")),
        "{reasons:?}"
    );

    let big = http.post(&url).header("authorization", "Bearer wh-token").body(vec![b'x'; 10_000]).send().await.unwrap();
    assert_eq!(big.status(), 413);
    assert_eq!(
        store.count("webhook_events").await.unwrap(),
        5,
        "3 applied and 2 rejected events, each once; the oversized one is not stored"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_receiver_checks_the_token_first_validates_and_never_loses_an_event_to_a_database_error() {
    let s = sandbox(3, Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(&dir, "r.db").await;
    sync(&store, &client(&s), &opts(50), &|_| {}).await.unwrap();
    let url = start_receiver(&store).await;
    let http = reqwest::Client::new();
    let sub = s.with_world(|w| w.subscriptions[0].id.unwrap());
    let quantity_of = |store: Store| async move {
        sqlx::query("SELECT quantity FROM subscriptions WHERE id = $1")
            .bind(sub.to_string())
            .fetch_one(store.pool())
            .await
            .unwrap()
            .get::<f64, _>("quantity")
    };

    // Unauthenticated: refused from the headers, whatever the body (larger than the limit here).
    let huge = http.post(&url).header("authorization", "Bearer nope").body(vec![b'x'; 64 * 1024]).send().await.unwrap();
    assert_eq!(huge.status(), 401, "the token is checked before the body is read");

    // The scheme is case-insensitive.
    let event = |id: &str, quantity: serde_json::Value| {
        serde_json::json!({"id": id, "webhookTopic": {"topic": "SUBSCRIPTION_UPDATED"},
            "payloadData": {"subscriptionId": sub, "quantity": quantity}})
    };
    let lower = http.post(&url).header("authorization", "bearer wh-token").json(&event("evt-a", 12.into())).send();
    assert_eq!(lower.await.unwrap().status(), 200);
    assert_eq!(quantity_of(store.clone()).await, 12.0);

    // Bad values are rejected and never reach the mirror.
    for (id, bad) in [
        ("evt-neg", serde_json::json!(-5)),
        ("evt-huge", serde_json::json!(1e308)),
        ("evt-frac", serde_json::json!(2.5)),
    ] {
        let r = http
            .post(&url)
            .header("authorization", "Bearer wh-token")
            .json(&event(id, bad.clone()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422, "{bad}");
    }
    assert_eq!(quantity_of(store.clone()).await, 12.0);

    // A database error while applying: 503, nothing stored, and the redelivery applies it.
    sqlx::query("ALTER TABLE subscriptions RENAME TO subscriptions_away").execute(store.pool()).await.unwrap();
    let failed = http.post(&url).header("authorization", "Bearer wh-token").json(&event("evt-db", 30.into())).send();
    assert_eq!(failed.await.unwrap().status(), 503);
    let stored: i64 = sqlx::query("SELECT COUNT(*) AS n FROM webhook_events WHERE event_id = 'evt-db'")
        .fetch_one(store.pool())
        .await
        .unwrap()
        .get("n");
    assert_eq!(stored, 0, "a database error is not a rejection");
    sqlx::query("ALTER TABLE subscriptions_away RENAME TO subscriptions").execute(store.pool()).await.unwrap();
    let retried = http.post(&url).header("authorization", "Bearer wh-token").json(&event("evt-db", 30.into())).send();
    let retried = retried.await.unwrap();
    assert_eq!(retried.status(), 200);
    assert_eq!(retried.json::<serde_json::Value>().await.unwrap()["status"], "applied");
    assert_eq!(quantity_of(store.clone()).await, 30.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sender_that_stalls_mid_body_is_cut_off_and_nothing_is_stored() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(&dir, "t.db").await;
    let receiver = pax8_sync::receiver::Receiver {
        max_body: 4096,
        ..pax8_sync::receiver::Receiver::new(store.clone(), "wh-token")
    };
    let app = pax8_sync::receiver::router_with_timeout(receiver, std::time::Duration::from_millis(300));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = "POST /webhooks/pax8 HTTP/1.1\r\nhost: x\r\nauthorization: Bearer wh-token\r\ncontent-length: 1000\r\n\r\n{\"id\":";
    slow.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), slow.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the receiver answered instead of waiting forever");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert_eq!(store.count("webhook_events").await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_variant() {
    let Some(admin) = std::env::var("PAX8_TEST_POSTGRES_URL").ok().filter(|v| !v.is_empty()) else {
        assert!(std::env::var_os("CI").is_none(), "CI must provide PAX8_TEST_POSTGRES_URL (see .ci/run)");
        eprintln!("PAX8_TEST_POSTGRES_URL is not set: the PostgreSQL variant runs in CI");
        return;
    };
    sqlx::any::install_default_drivers();
    let name = format!("pax8_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.unwrap();
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap();
    let store = Store::open(&format!("{base}/{name}")).await.unwrap();
    let s = sandbox(8, Faults::default()).await;
    full_then_idempotent(&store, &s).await;
    let now: chrono::DateTime<chrono::Utc> = "2026-12-30T12:00:00Z".parse().unwrap();
    assert!(
        pax8_sync::drift(&store, pax8_sync::DEFAULT_TENANT, chrono::Duration::days(7), now).await.unwrap().is_empty()
    );
}

/// One subscription row as the mirror holds it: quantity and status columns, stored JSON, hash.
async fn row(store: &Store, id: uuid::Uuid) -> (f64, String, serde_json::Value, String) {
    let r = sqlx::query("SELECT quantity, status, data, hash FROM subscriptions WHERE id = $1")
        .bind(id.to_string())
        .fetch_one(store.pool())
        .await
        .unwrap();
    let data: String = r.get("data");
    (r.get("quantity"), r.get("status"), serde_json::from_str(&data).unwrap(), r.get("hash"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_updates_data_columns_hash_and_snapshot_together_so_sync_and_drift_agree() {
    let s = sandbox(3, Faults::default()).await;
    let c = client(&s);
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(&dir, "one-path.db").await;
    sync(&store, &c, &SyncOptions { now: "2026-11-20T12:00:00Z".parse().unwrap(), ..opts(50) }, &|_| {}).await.unwrap();
    let url = start_receiver(&store).await;
    let http = reqwest::Client::new();
    let send = |body: serde_json::Value| http.post(&url).header("authorization", "Bearer wh-token").json(&body).send();
    let sub = s.with_world(|w| {
        w.subscriptions.iter().find(|x| x.status.as_ref().unwrap().as_str() == "Active").unwrap().clone()
    });
    let id = sub.id.unwrap();
    let before = sub.quantity.unwrap();
    let (_, _, _, old_hash) = row(&store, id).await;

    // The change happens in Pax8 (through the API) and its webhook arrives.
    c.subscriptions().update_quantity(id, before as i64 + 5).await.unwrap();
    let event = serde_json::json!({"id": "evt-q", "webhookTopic": {"topic": "SUBSCRIPTION_UPDATED"},
        "payloadData": {"subscriptionId": id, "quantity": before as i64 + 5}});
    assert_eq!(send(event).await.unwrap().status(), 200);
    let (quantity, status, data, hash) = row(&store, id).await;
    assert_eq!(quantity, before + 5.0, "typed column");
    assert_eq!(data["quantity"], serde_json::json!(before + 5.0), "stored JSON");
    assert_eq!(data["productId"], serde_json::json!(sub.product_id.unwrap()), "the other fields kept");
    assert_ne!(hash, old_hash, "hash");
    assert_eq!(status, "Active");
    let snapshot = sqlx::query("SELECT sync_id, quantity, source FROM subscription_snapshots WHERE source = 'webhook'")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(snapshot.get::<String, _>("sync_id"), "webhook:evt-q");
    assert_eq!(snapshot.get::<f64, _>("quantity"), before + 5.0);

    // Drift sees the webhook's change; the next sync finds the row already as the API has it.
    let now = chrono::Utc::now();
    let drift = pax8_sync::drift(&store, pax8_sync::DEFAULT_TENANT, chrono::Duration::days(7), now).await.unwrap();
    assert!(
        drift.iter().any(|d| d.subscription_id == id.to_string() && d.quantity_now == Some(before + 5.0)),
        "{drift:?}"
    );
    // The event carried only the quantity; the API also moved `updatedDate`, so the next sync
    // updates exactly this row, and the quantity stays.
    let next = sync(&store, &c, &SyncOptions { now, ..opts(50) }, &|_| {}).await.unwrap();
    assert_eq!(next.updated, 1, "{next:?}");
    assert_eq!(row(&store, id).await.0, before + 5.0);
    // An event carrying the whole object (as the API returns it) leaves nothing for a sync to fix.
    c.subscriptions().update_quantity(id, before as i64 + 6).await.unwrap();
    let mut whole = serde_json::to_value(c.subscriptions().get(id).await.unwrap()).unwrap();
    whole["subscriptionId"] = whole["id"].take();
    let event =
        serde_json::json!({"id": "evt-w", "webhookTopic": {"topic": "SUBSCRIPTION_UPDATED"}, "payloadData": whole});
    assert_eq!(send(event).await.unwrap().status(), 200);
    let hash = row(&store, id).await.3;
    let next = sync(&store, &c, &SyncOptions { now: chrono::Utc::now(), ..opts(50) }, &|_| {}).await.unwrap();
    assert_eq!((next.updated, next.inserted), (0, 0), "the webhook wrote exactly what the API holds: {next:?}");
    assert_eq!(row(&store, id).await.3, hash);

    // An UPDATED event may carry the status itself.
    let event = serde_json::json!({"id": "evt-s", "webhookTopic": {"topic": "SUBSCRIPTION_UPDATED"},
        "payloadData": {"subscriptionId": id, "status": "Cancelled"}});
    assert_eq!(send(event).await.unwrap().status(), 200);
    let (_, status, data, _) = row(&store, id).await;
    assert_eq!((status.as_str(), data["status"].as_str()), ("Cancelled", Some("Cancelled")));
    // A payload that cannot describe a subscription is rejected with its reason, nothing written.
    let event = serde_json::json!({"id": "evt-bad", "webhookTopic": {"topic": "SUBSCRIPTION_UPDATED"},
        "payloadData": {"subscriptionId": id, "price": "a lot"}});
    let answer = send(event).await.unwrap();
    assert_eq!(answer.status(), 422);
    assert!(answer.text().await.unwrap().contains("does not describe a subscription"));
    assert_eq!(row(&store, id).await.2["status"], "Cancelled");
}

#[tokio::test(flavor = "multi_thread")]
async fn events_without_a_topic_or_an_object_payload_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(&dir, "reject.db").await;
    let url = start_receiver(&store).await;
    let http = reqwest::Client::new();
    for (body, reason) in [
        (serde_json::json!({"id": "e1", "payloadData": {}}), "no topic"),
        (
            serde_json::json!({"id": "e2", "webhookTopic": {"topic": "COMPANY_UPDATED"}, "payloadData": [1]}),
            "no payloadData object",
        ),
    ] {
        let answer = http.post(&url).header("authorization", "Bearer wh-token").json(&body).send().await.unwrap();
        assert_eq!(answer.status(), 422, "{body}");
        assert!(answer.text().await.unwrap().contains(reason));
    }
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

/// Pax8 → receiver → mirror, end to end: the simulator delivers the webhook of a quantity changed
/// through pax8-ext; the mirror row, its snapshot and drift follow; a database error while
/// applying is answered 503 and the simulator's retry applies the event.
#[tokio::test(flavor = "multi_thread")]
async fn the_simulator_delivers_webhooks_the_receiver_applies_and_retries_survive_a_database_error() {
    let s = sandbox(3, Faults::default()).await;
    let c = client(&s);
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(&dir, "e2e.db").await;
    sync(&store, &c, &SyncOptions { now: "2026-11-20T12:00:00Z".parse().unwrap(), ..opts(50) }, &|_| {}).await.unwrap();
    let url = start_receiver(&store).await;
    let hook: pax8_api::webhooks::types::CreateWebhook = serde_json::from_value(serde_json::json!({
        "displayName": "mirror", "url": url, "active": true, "authorization": "Bearer wh-token",
        "webhookTopics": [{"topic": "SUBSCRIPTION_UPDATED", "filters": []}]}))
    .unwrap();
    c.webhooks().create(hook).await.unwrap();
    let sub = s.with_world(|w| {
        w.subscriptions.iter().find(|x| x.status.as_ref().unwrap().as_str() == "Active").unwrap().clone()
    });
    let id = sub.id.unwrap();
    let quantity = || async { row(&store, id).await.0 };
    let wait_for = |target: f64| async move {
        for _ in 0..100 {
            if quantity().await == target {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the mirror never reached quantity {target}");
    };

    c.subscriptions().update_quantity(id, 41).await.unwrap();
    wait_for(41.0).await;
    let drift = pax8_sync::drift(&store, pax8_sync::DEFAULT_TENANT, chrono::Duration::days(7), chrono::Utc::now())
        .await
        .unwrap();
    assert!(drift.iter().any(|d| d.subscription_id == id.to_string() && d.quantity_now == Some(41.0)), "{drift:?}");
    let next = sync(&store, &c, &SyncOptions { now: chrono::Utc::now(), ..opts(50) }, &|_| {}).await.unwrap();
    assert_eq!(next.updated, 0, "the delivered event carried the whole subscription: {next:?}");

    // The database fails while the event arrives: 503, nothing stored; the retry applies it.
    sqlx::query("ALTER TABLE subscriptions RENAME TO subscriptions_away").execute(store.pool()).await.unwrap();
    c.subscriptions().update_quantity(id, 42).await.unwrap();
    let mut refused = false;
    for _ in 0..50 {
        let logs = c.webhooks().list().collect_all().await.unwrap();
        let log = c.webhooks().logs(logs[0].id).collect_all().await.unwrap();
        if log.iter().any(|l| l.call_history.iter().any(|call| call.http_status_code == Some(503))) {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refused, "the first delivery met the database error");
    sqlx::query("ALTER TABLE subscriptions_away RENAME TO subscriptions").execute(store.pool()).await.unwrap();
    wait_for(42.0).await;
}

/// `serve`, as `pax8 webhooks serve` runs it: listening on the address, bodies up to the default
/// 1 MiB limit taken, larger ones refused with 413 before they are stored.
#[tokio::test(flavor = "multi_thread")]
async fn serve_listens_and_takes_bodies_up_to_the_default_limit() {
    use pax8_sync::receiver::{DEFAULT_MAX_BODY, Receiver, serve};
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(&dir, "serve.db").await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let receiver = Receiver::new(store.clone(), "wh-token");
    tokio::spawn(serve(receiver, addr));
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let url = format!("http://{addr}/webhooks/pax8");
    let http = reqwest::Client::new();
    let event = |id: &str, padding: usize| {
        let company = "11111111-2222-4333-8444-555555555555";
        serde_json::to_vec(&serde_json::json!({"id": id, "webhookTopic": {"topic": "COMPANY_UPDATED"},
            "payloadData": {"companyId": company, "name": "Newco", "externalId": "x".repeat(padding)}}))
        .unwrap()
    };
    let near = event("near", 1_000_000);
    assert!(near.len() < DEFAULT_MAX_BODY);
    let r = http
        .post(&url)
        .bearer_auth("wh-token")
        .header("content-type", "application/json")
        .body(near)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let over = event("over", DEFAULT_MAX_BODY);
    let r = http
        .post(&url)
        .bearer_auth("wh-token")
        .header("content-type", "application/json")
        .body(over)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(store.count("webhook_events").await.unwrap(), 1, "only the event within the limit is stored");
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

/// What `handle` reports for each outcome: the id, the outcome's name and the topic (the tracing
/// line of every event carries them).
#[tokio::test(flavor = "multi_thread")]
async fn each_outcome_names_its_event_and_topic() {
    use pax8_sync::receiver::handle;
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(&dir, "outcomes.db").await;
    let company = serde_json::json!({"id": "c1", "webhookTopic": {"topic": "COMPANY_CREATED"},
        "payloadData": {"companyId": "11111111-2222-4333-8444-555555555555", "name": "Newco"}});
    let body = serde_json::to_vec(&company).unwrap();
    let applied = handle(&store, pax8_sync::DEFAULT_TENANT, &body).await.unwrap();
    assert_eq!((applied.summary(), applied.topic()), (("c1", "applied"), Some("COMPANY_CREATED")));
    let again = handle(&store, pax8_sync::DEFAULT_TENANT, &body).await.unwrap();
    assert_eq!((again.summary(), again.topic()), (("c1", "duplicate"), Some("COMPANY_CREATED")));
    let other = serde_json::json!({"id": "o1", "webhookTopic": {"topic": "INVOICE_CREATED"}, "payloadData": {}});
    let stored = handle(&store, pax8_sync::DEFAULT_TENANT, &serde_json::to_vec(&other).unwrap()).await.unwrap();
    assert_eq!((stored.summary(), stored.topic()), (("o1", "stored"), Some("INVOICE_CREATED")));
    let untitled = serde_json::json!({"id": "n1", "payloadData": {}});
    let rejected = handle(&store, pax8_sync::DEFAULT_TENANT, &serde_json::to_vec(&untitled).unwrap()).await.unwrap();
    assert_eq!((rejected.summary(), rejected.topic()), (("n1", "rejected"), None));
}
