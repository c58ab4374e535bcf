//! Versioned migrations and many tenants in one database: a version-1 database upgrades in
//! place (its rows become the tenant `default`, its amounts NUMERIC), two partners mirrored into
//! one database never touch each other's rows, and the receiver tells tenants apart by token.
//! SQLite always; PostgreSQL when PAX8_TEST_POSTGRES_URL names a server (CI starts one).

mod common;

use std::time::Duration;

use common::{client, postgres_database};
use pax8_sandbox::{Sandbox, SandboxConfig};
use pax8_sync::receiver::Receiver;
use pax8_sync::{Store, SyncOptions, sync};
use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;
use sqlx::Row;

async fn sandbox(seed: u64, companies: usize) -> Sandbox {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 23);
    Sandbox::start(SandboxConfig { seed, companies, today, ..SandboxConfig::default() }).await.unwrap()
}

fn opts(tenant: &str) -> SyncOptions {
    SyncOptions {
        page_size: 50,
        now: "2026-11-23T12:00:00Z".parse().unwrap(),
        tenant: tenant.into(),
        lock_wait: Duration::from_secs(5),
        ..SyncOptions::default()
    }
}

/// An empty database URL: a SQLite file, or a fresh PostgreSQL database when `postgres`.
async fn empty_database(dir: &tempfile::TempDir, name: &str, postgres: bool) -> Option<String> {
    if postgres {
        postgres_database().await
    } else {
        Some(format!("sqlite://{}?mode=rwc", dir.path().join(name).display()))
    }
}

/// A database as version 1 of pax8-sync left it: its schema (no migration records) and rows.
async fn version_1_database(url: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let schema = include_str!("../migrations/sqlite/0001_initial.sql");
    let statements: String =
        schema.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n");
    for sql in statements.split(';').filter(|s| !s.trim().is_empty()) {
        sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).execute(&pool).await.unwrap();
    }
    for sql in [
        "INSERT INTO syncs (id, started_at, finished_at, status, fetched) VALUES ('s1', '2026-01-01T00:00:00+00:00', '2026-01-01T00:01:00+00:00', 'finished', 1)",
        "INSERT INTO subscriptions (id, company_id, product_name, quantity, price, partner_cost, status, data, hash, last_seen_sync) \
         VALUES ('11111111-1111-4111-8111-111111111111', 'c1', 'Keeper Business', 5, 19.99, 15.5, 'Active', '{}', 'h', 's1')",
        "INSERT INTO subscription_snapshots (sync_id, subscription_id, taken_at, quantity, price, status) \
         VALUES ('s1', '11111111-1111-4111-8111-111111111111', '2026-01-01T00:00:00+00:00', 5, 19.99, 'Active')",
        "INSERT INTO invoices (id, invoice_date, status, total, balance, data, hash) VALUES ('i1', '2026-01-01', 'Paid', 85429.34, 0, '{}', 'h')",
        "INSERT INTO webhook_events (event_id, received_at, topic, status, body) VALUES ('e1', '2026-01-02T00:00:00+00:00', 'SUBSCRIPTION_UPDATED', 'applied', '{}')",
        "INSERT INTO sync_lock (name, holder, since, heartbeat) VALUES ('sync', 's1', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')",
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    pool.close().await;
}

async fn text(store: &Store, sql: &str) -> Option<String> {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).fetch_one(store.pool()).await.unwrap().get::<Option<String>, _>(0)
}

async fn upgrades_in_place(postgres: bool) {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = empty_database(&dir, "v1.db", postgres).await else { return };
    version_1_database(&url).await;
    let store = Store::open(&url).await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), 7);
    assert_eq!(Store::schema_versions(), [1, 2, 3, 4, 5, 6, 7]);
    if postgres {
        // Identifiers (tenants, ids, sync ids) compare byte by byte, as on SQLite: every one of
        // them, so a join of two never mixes collations; a display name keeps the database's.
        let collations: Vec<(String, Option<String>)> = sqlx::query(
            "SELECT CAST(table_name || '.' || column_name AS TEXT) AS c, CAST(collation_name AS TEXT) AS collation_name FROM information_schema.columns \
             WHERE table_schema = current_schema() AND data_type = 'text' AND (column_name IN ('tenant', 'id') \
             OR column_name LIKE '%\\_id' OR column_name LIKE '%\\_sync') ORDER BY 1",
        )
        .fetch_all(store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<String, _>("c"), r.get::<Option<String>, _>("collation_name")))
        .collect();
        assert!(collations.len() > 40, "{collations:?}");
        let others: Vec<_> = collations.iter().filter(|(_, collation)| collation.as_deref() != Some("C")).collect();
        assert!(others.is_empty(), "identifiers not compared byte by byte: {others:?}");
        let name = text(
            &store,
            "SELECT CAST(collation_name AS TEXT) FROM information_schema.columns WHERE table_name = 'companies' AND column_name = 'name'",
        );
        assert_eq!(name.await, None, "a display name keeps the database's collation");
    }
    // Every row is the default tenant's, amounts exact.
    for table in ["subscriptions", "invoices", "syncs", "subscription_snapshots", "webhook_events"] {
        assert_eq!(store.count_in("default", table).await.unwrap(), 1, "{table}");
    }
    assert_eq!(text(&store, "SELECT CAST(price AS TEXT) FROM subscriptions").await.as_deref(), Some("19.99"));
    assert_eq!(text(&store, "SELECT CAST(partner_cost AS TEXT) FROM subscriptions").await.as_deref(), Some("15.5"));
    assert_eq!(text(&store, "SELECT CAST(total AS TEXT) FROM invoices").await.as_deref(), Some("85429.34"));
    assert_eq!(
        text(&store, "SELECT name FROM sync_lock").await.as_deref(),
        Some("default"),
        "the lock is the tenant's"
    );
    // Drift and the snapshots still read.
    let now = "2026-01-20T00:00:00Z".parse().unwrap();
    assert!(pax8_sync::drift(&store, "default", chrono::Duration::days(7), now).await.unwrap().is_empty());
    // Opening again applies nothing more.
    drop(store);
    let again = Store::open(&url).await.unwrap();
    assert_eq!(again.schema_version().await.unwrap(), 7);
    assert_eq!(again.count_in("default", "subscriptions").await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_version_1_sqlite_database_upgrades_in_place() {
    upgrades_in_place(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_version_1_postgres_database_upgrades_in_place() {
    upgrades_in_place(true).await;
}

async fn two_tenants(postgres: bool) {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = empty_database(&dir, "tenants.db", postgres).await else { return };
    let store = Store::open(&url).await.unwrap();
    let (a, b) = (sandbox(7, 3).await, sandbox(8, 2).await);
    sync(&store, &client(&a), &opts("acme-msp"), &|_| {}).await.unwrap();
    sync(&store, &client(&b), &opts("globex-msp"), &|_| {}).await.unwrap();
    let subs = |s: &Sandbox| s.with_world(|w| w.subscriptions.len() as i64);
    assert_eq!(store.count_in("acme-msp", "subscriptions").await.unwrap(), subs(&a));
    assert_eq!(store.count_in("globex-msp", "subscriptions").await.unwrap(), subs(&b));
    assert_eq!(store.count("subscriptions").await.unwrap(), subs(&a) + subs(&b));

    // Syncing one tenant again leaves the other's rows alone (none marked removed).
    let again = sync(&store, &client(&a), &opts("acme-msp"), &|_| {}).await.unwrap();
    assert_eq!((again.removed, again.inserted), (0, 0), "{again:?}");
    assert_eq!(store.count_in("globex-msp", "subscriptions").await.unwrap(), subs(&b));

    // Amounts are the decimals the API sent.
    let invoice = b.with_world(|w| w.invoices[0].clone());
    let stored = sqlx::query("SELECT CAST(total AS TEXT) AS total FROM invoices WHERE tenant = $1 AND id = $2")
        .bind("globex-msp")
        .bind(invoice.id.unwrap().to_string())
        .fetch_one(store.pool())
        .await
        .unwrap()
        .get::<String, _>("total");
    let sent = Decimal::from_f64(invoice.total.unwrap()).unwrap().normalize();
    assert_eq!(stored.parse::<Decimal>().unwrap().normalize(), sent);

    // The receiver tells the tenants apart by the token their webhooks send.
    let receiver = Receiver::for_tenants(store.clone())
        .tenant("acme-msp", "acme-token-0123456789")
        .tenant("globex-msp", "globex-token-0123456789");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, pax8_sync::receiver::router(receiver)).await });
    let sub = b.with_world(|w| w.subscriptions[0].clone());
    let id = sub.id.unwrap();
    let event = serde_json::json!({"id": "evt-1", "webhookTopic": {"topic": "SUBSCRIPTION_UPDATED"},
        "payloadData": {"subscriptionId": id, "quantity": 77}});
    let http = reqwest::Client::new();
    let url = format!("http://{addr}/webhooks/pax8");
    let post = |token: &str| http.post(&url).bearer_auth(token).json(&event).send();
    assert_eq!(post("nobody's-token-0123456789").await.unwrap().status(), 401);
    assert_eq!(post("globex-token-0123456789").await.unwrap().status(), 200);
    let quantity = |tenant: &'static str| {
        let store = store.clone();
        async move {
            sqlx::query("SELECT quantity FROM subscriptions WHERE tenant = $1 AND id = $2")
                .bind(tenant)
                .bind(id.to_string())
                .fetch_optional(store.pool())
                .await
                .unwrap()
                .map(|r| r.get::<f64, _>("quantity"))
        }
    };
    assert_eq!(quantity("globex-msp").await, Some(77.0));
    assert_eq!(quantity("acme-msp").await, None, "the other tenant has no such row and gains none");
    // The same event id from the other tenant is that tenant's own event, not a duplicate.
    let answer = post("acme-token-0123456789").await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(store.count_in("acme-msp", "webhook_events").await.unwrap(), 1);
    assert_eq!(store.count_in("globex-msp", "webhook_events").await.unwrap(), 1);
    let drift_b = pax8_sync::drift(&store, "globex-msp", chrono::Duration::days(7), chrono::Utc::now()).await.unwrap();
    assert!(drift_b.iter().any(|d| d.subscription_id == id.to_string() && d.quantity_now == Some(77.0)), "{drift_b:?}");
    let drift_a = pax8_sync::drift(&store, "acme-msp", chrono::Duration::days(7), chrono::Utc::now()).await.unwrap();
    assert!(drift_a.iter().all(|d| d.subscription_id != id.to_string()), "{drift_a:?}");

    // A tenant name that is no name is refused before anything is written.
    let err = sync(&store, &client(&a), &opts(" "), &|_| {}).await.unwrap_err();
    assert!(err.to_string().contains("give a name of 1 to 100 characters"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_partners_share_a_sqlite_database_without_touching_each_other() {
    two_tenants(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_partners_share_a_postgres_database_without_touching_each_other() {
    two_tenants(true).await;
}
