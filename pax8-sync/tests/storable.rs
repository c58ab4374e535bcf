//! Every value Pax8 can send is storable, on SQLite and (when PAX8_TEST_POSTGRES_URL names a
//! server) PostgreSQL, whose `text` cannot hold a NUL character: NUL characters and bytes,
//! invalid UTF-8, lone surrogates and absurd numbers are stored or refused with a 4xx, never
//! answered 503 (which Pax8 would redeliver until it gave up, and the event would be lost). The
//! raw body is kept exactly.

mod common;

use base64::Engine;
use common::*;
use pax8_sandbox::Faults;
use pax8_sync::{Store, sync};
use sqlx::Row;

async fn post(url: &str, body: Vec<u8>) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new()
        .post(url)
        .header("authorization", "Bearer wh-token")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

/// The stored body of an event, decoded as its encoding says.
async fn stored_body(store: &Store, event_id: &str) -> Vec<u8> {
    let row = sqlx::query("SELECT body, body_encoding FROM webhook_events WHERE event_id = $1")
        .bind(event_id.to_string())
        .fetch_one(store.pool())
        .await
        .unwrap();
    let (body, encoding): (String, String) = (row.get("body"), row.get("body_encoding"));
    match encoding.as_str() {
        "utf8" => body.into_bytes(),
        "base64" => base64::engine::general_purpose::STANDARD.decode(body).unwrap(),
        other => panic!("unknown encoding {other}"),
    }
}

async fn odd_values_are_stored_or_refused_never_retried(store: Store) {
    let s = sandbox(3, Faults::default()).await;
    sync(&store, &client(&s), &opts(50), &|_| {}).await.unwrap();
    let url = start_receiver(&store).await;
    let company = s.with_world(|w| w.companies[0].id.unwrap());

    // A NUL character in a value: applied; the column holds U+FFFD, the stored object the value.
    let nul_name = serde_json::json!({"id": "evt-nul-name", "webhookTopic": {"topic": "COMPANY_UPDATED"},
        "payloadData": {"companyId": company, "name": "Acme\u{0}Corp"}});
    let body = serde_json::to_vec(&nul_name).unwrap();
    assert!(String::from_utf8_lossy(&body).contains("\\u0000"), "JSON escapes it");
    assert_eq!(post(&url, body.clone()).await.0, 200);
    let row = sqlx::query("SELECT name, data FROM companies WHERE id = $1")
        .bind(company.to_string())
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>("name"), "Acme\u{fffd}Corp");
    let data: serde_json::Value = serde_json::from_str(&row.get::<String, _>("data")).unwrap();
    assert_eq!(data["name"], "Acme\u{0}Corp", "the stored object keeps the exact value");
    assert_eq!(stored_body(&store, "evt-nul-name").await, body, "the raw body is kept as sent");

    // A NUL in the event id and the topic: stored once, a redelivery is a duplicate.
    let nul_id = br#"{"id": "evt-\u0000-id", "webhookTopic": {"topic": "ORDER_\u0000"}, "payloadData": {}}"#.to_vec();
    let (status, first) = post(&url, nul_id.clone()).await;
    assert_eq!((status, first["status"].as_str()), (200, Some("stored")), "{first}");
    let (status, again) = post(&url, nul_id.clone()).await;
    assert_eq!((status, again["status"].as_str()), (200, Some("duplicate")), "{again}");
    assert_eq!(stored_body(&store, "evt-\u{fffd}-id").await, nul_id);

    // A NUL byte, invalid UTF-8, a lone surrogate, an absurd number: refused with 422, and the
    // body kept exactly (base64 where text cannot hold it).
    let nul_byte = b"{\"id\": \"evt-byte\", \0}".to_vec();
    let not_utf8 = b"{\"id\": \"evt-latin1\", \"name\": \"Caf\xe9\"}".to_vec();
    let surrogate = br#"{"id": "evt-surrogate", "webhookTopic": {"topic": "COMPANY_UPDATED"},
        "payloadData": {"companyId": "x", "name": "\ud800"}}"#
        .to_vec();
    let absurd =
        serde_json::to_vec(&serde_json::json!({"id": "evt-absurd", "webhookTopic": {"topic": "SUBSCRIPTION_UPDATED"},
        "payloadData": {"subscriptionId": uuid::Uuid::nil(), "quantity": 1e300}}))
        .unwrap();
    let huge =
        br#"{"id": "evt-huge", "webhookTopic": {"topic": "SUBSCRIPTION_UPDATED"}, "payloadData": {"quantity": 1e400}}"#
            .to_vec();
    for body in [nul_byte, not_utf8, surrogate, absurd, huge] {
        let (status, answer) = post(&url, body.clone()).await;
        assert_eq!(status, 422, "{answer} for {}", String::from_utf8_lossy(&body));
        assert_eq!(post(&url, body.clone()).await.0, 422, "a redelivery gets the same answer");
        let rows = sqlx::query("SELECT event_id, body, body_encoding FROM webhook_events WHERE status = 'rejected'")
            .fetch_all(store.pool())
            .await
            .unwrap();
        let kept = rows.iter().any(|r| {
            let (text, encoding): (String, String) = (r.get("body"), r.get("body_encoding"));
            match encoding.as_str() {
                "base64" => base64::engine::general_purpose::STANDARD.decode(text).unwrap() == body,
                _ => text.as_bytes() == body,
            }
        });
        assert!(kept, "the refused body is kept exactly: {}", String::from_utf8_lossy(&body));
    }
    let encodings: Vec<String> = sqlx::query("SELECT body_encoding FROM webhook_events ORDER BY body_encoding")
        .fetch_all(store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("body_encoding"))
        .collect();
    assert_eq!(encodings.iter().filter(|e| *e == "base64").count(), 2, "the NUL byte and the Latin-1 bodies");
}

#[tokio::test(flavor = "multi_thread")]
async fn odd_values_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    odd_values_are_stored_or_refused_never_retried(sqlite(&dir, "odd.db").await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn odd_values_on_postgres() {
    let Some(url) = postgres_database().await else { return };
    odd_values_are_stored_or_refused_never_retried(Store::open(&url).await.unwrap()).await;
}

/// One odd item in an API answer never fails the rest of a sync: a subscription whose quantity
/// no type holds is left out and listed (and, already mirrored, not taken for removed), a lone
/// surrogate in a subscription's and a company's name is replaced by U+FFFD and listed, and
/// every other row is stored.
async fn odd_items_in_a_sync_are_reported_not_fatal(store: Store) {
    let sandbox = sandbox(12, Faults::default()).await;
    let client = client(&sandbox);
    let first = sync(&store, &client, &opts(50), &|_| {}).await.unwrap();
    assert_eq!(first.odd_rows, 0);
    let (wrong, lone, company) = sandbox.with_world(|w| {
        let subs: Vec<_> = w.subscriptions.iter().filter(|s| s.quantity.is_some()).filter_map(|s| s.id).collect();
        (subs[3], subs[7], w.companies[2].id.unwrap())
    });
    sandbox.set_faults(Faults {
        wrong_type_for: vec![wrong],
        lone_surrogate_for: vec![lone, company],
        ..Faults::default()
    });
    let options = pax8_sync::SyncOptions { mode: pax8_sync::SyncMode::Full, ..opts(50) };
    // Odd items are committed with the page that met them: a sync stopped after its first
    // commit (the one page of companies) has listed the company's already.
    let first_page = pax8_sync::SyncOptions { stop_after_pages: Some(1), ..options.clone() };
    let stopped = sync(&store, &client, &first_page, &|_| {}).await;
    assert!(matches!(stopped, Err(pax8_sync::SyncError::Interrupted)), "{stopped:?}");
    let listed: i64 = sqlx::query("SELECT COUNT(*) AS n FROM odd_rows WHERE operation = 'findCompanies'")
        .fetch_one(store.pool())
        .await
        .unwrap()
        .get("n");
    assert_eq!(listed, 1, "the company's odd name, listed with its page");
    let summary = sync(&store, &client, &options, &|_| {}).await.unwrap();
    let odd = sqlx::query("SELECT operation, kind, item_id, reason FROM odd_rows ORDER BY operation, kind")
        .fetch_all(store.pool())
        .await
        .unwrap();
    let odd: Vec<(String, String, Option<String>, String)> =
        odd.iter().map(|r| (r.get("operation"), r.get("kind"), r.get("item_id"), r.get("reason"))).collect();
    let kinds: Vec<(&str, &str)> = odd.iter().map(|(op, kind, _, _)| (op.as_str(), kind.as_str())).collect();
    assert_eq!(
        kinds,
        [("findCompanies", "repaired"), ("findSubscriptions", "repaired"), ("findSubscriptions", "skipped")],
        "{odd:?}"
    );
    assert_eq!(summary.odd_rows, 3);
    let skipped = &odd[2];
    assert_eq!(skipped.2.as_deref(), Some(wrong.to_string().as_str()));
    assert!(skipped.3.contains("quantity"), "the reason names the field: {}", skipped.3);
    // Everything else is stored; the left-out subscription keeps its earlier row, not removed.
    let e = expected(&sandbox);
    assert_eq!(store.count("subscriptions").await.unwrap(), e.subscriptions);
    let name = |table: &str, id: uuid::Uuid| {
        let sql = format!("SELECT data FROM {table} WHERE id = $1");
        let pool = store.pool().clone();
        async move {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.to_string()).fetch_one(&pool).await.unwrap();
            serde_json::from_str::<serde_json::Value>(&row.get::<String, _>("data")).unwrap()
        }
    };
    assert!(name("subscriptions", lone).await["productName"].as_str().unwrap().ends_with('\u{FFFD}'));
    assert!(name("companies", company).await["name"].as_str().unwrap().ends_with('\u{FFFD}'));
    let kept = name("subscriptions", wrong).await;
    assert!(kept["quantity"].is_number(), "the earlier row stays as it was: {kept}");
}

#[tokio::test(flavor = "multi_thread")]
async fn odd_items_in_a_sync_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    odd_items_in_a_sync_are_reported_not_fatal(sqlite(&dir, "odd-sync.db").await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn odd_items_in_a_sync_on_postgres() {
    let Some(url) = postgres_database().await else { return };
    odd_items_in_a_sync_are_reported_not_fatal(Store::open(&url).await.unwrap()).await;
}
