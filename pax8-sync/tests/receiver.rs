//! The webhook receiver: the token before the body, validation and rejections, no event lost to
//! a database error, one write path with the sync (data, columns, hash, snapshot), and the
//! simulator's deliveries end to end.

mod common;

use std::time::Duration;

use common::*;
use pax8_sandbox::Faults;
use pax8_sync::{Store, SyncOptions, sync};
use sqlx::Row;

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
    // (On a connection of its own: the server closes it with the body unread, and a pooled
    // connection would be reused for the next request while it closes.)
    let huge = reqwest::Client::new()
        .post(&url)
        .header("authorization", "Bearer nope")
        .body(vec![b'x'; 64 * 1024])
        .send()
        .await
        .unwrap();
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
        // The envelope is the webhooks document's `WebhookPayload`: the reason names what is missing
        // or where the value does not fit.
        (serde_json::json!({"id": "e1", "payloadData": {}}), "missing field `webhookTopic`"),
        (
            serde_json::json!({"id": "e2", "webhookTopic": {"topic": "COMPANY_UPDATED"}, "payloadData": [1]}),
            "at payloadData: invalid type: sequence, expected a map",
        ),
        (serde_json::json!({"id": "e3", "webhookTopic": {"filters": []}, "payloadData": {}}), "missing field `topic`"),
    ] {
        let answer = http.post(&url).header("authorization", "Bearer wh-token").json(&body).send().await.unwrap();
        assert_eq!(answer.status(), 422, "{body}");
        let text = answer.text().await.unwrap();
        assert!(text.contains(reason), "{reason} in {text}");
    }
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
