//! The credential vault, on SQLite and (when PAX8_TEST_POSTGRES_URL names a server) PostgreSQL:
//! secrets sealed at rest, a wrong key refused by name with nothing changed, key rotation, one
//! token per tenant for many clients on separate connection pools (as separate processes have),
//! a revoked token replaced once for all, and one rate budget across them.

mod common;

use std::time::Duration;

use common::*;
use pax8_ext::SharedRateBudget;
use pax8_sandbox::Faults;
use pax8_sync::vault::{DbRateBudget, Keyring, MasterKey, NewTenant, Vault, VaultError};
use pax8_sync::{Store, SyncError};

const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const KEY_B: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

fn ring(key: &str) -> Keyring {
    Keyring::new(MasterKey::from_base64(key).unwrap())
}

/// Two stores on one database: two processes, each with its own connection pool.
async fn two_stores(dir: &tempfile::TempDir, postgres: bool) -> Option<(Store, Store, String)> {
    let url = if postgres {
        postgres_database().await?
    } else {
        format!("sqlite://{}", dir.path().join("vault.db").display())
    };
    Some((Store::open(&url).await.unwrap(), Store::open(&url).await.unwrap(), url))
}

async fn vault_keeps_secrets_sealed_and_shares_one_token(postgres: bool) {
    let dir = tempfile::tempdir().unwrap();
    let Some((one, two, url)) = two_stores(&dir, postgres).await else { return };
    let s = sandbox(4, Faults::default()).await;
    let vault = Vault::new(one.clone(), ring(KEY_A));
    let mut tenant = NewTenant::new("acme", s.client_id(), s.client_secret());
    tenant.base_url = Some(s.base_url().to_string());
    tenant.rate_limit = Some(600);
    tenant.webhook_token = Some("wh-acme-0123456789".into());
    let info = vault.add(tenant.clone()).await.unwrap();
    assert_eq!((info.name.as_str(), info.rate_limit, info.webhooks), ("acme", Some(600), true));
    assert_eq!(info.key_id, ring(KEY_A).current_id());
    assert!(matches!(vault.add(tenant.clone()).await, Err(SyncError::Vault(VaultError::Exists(_)))));
    let shown = format!("{info:?} {vault:?} {}", serde_json::to_string(&vault.list().await.unwrap()).unwrap());
    assert!(!shown.contains(s.client_secret()) && !shown.contains("wh-acme"), "{shown}");

    // Many clients, as many processes would have (separate pools), all calling at once: one token.
    let http = reqwest::Client::new();
    let other = Vault::new(two.clone(), ring(KEY_A));
    let mut clients = Vec::new();
    for i in 0..6 {
        let v = if i % 2 == 0 { &vault } else { &other };
        clients.push(v.client("acme", &http).await.unwrap());
    }
    let calls = clients
        .iter()
        .flat_map(|c| (0..5).map(move |_| async move { c.companies().list().page_size(10).page(0).await }));
    for page in futures::future::join_all(calls).await {
        assert_eq!(page.unwrap().items.len(), 4);
    }
    assert_eq!(s.counters().tokens_issued, 1, "one token for every client of the tenant");
    // Revoked: replaced once for all of them.
    s.revoke_tokens();
    let calls = clients.iter().map(|c| async move { c.companies().list().page_size(10).page(0).await });
    for page in futures::future::join_all(calls).await {
        page.unwrap();
    }
    assert_eq!(s.counters().tokens_issued, 2, "one new token for all");

    // Nothing secret is stored in plaintext: not the client secret, the webhook token or the token.
    let mut dump = String::new();
    for table in ["tenants", "tokens"] {
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM {table}"))).fetch_all(one.pool()).await.unwrap();
        for row in rows {
            for i in 0..sqlx::Row::len(&row) {
                if let Ok(Some(text)) = sqlx::Row::try_get::<Option<String>, _>(&row, i) {
                    dump.push_str(&text);
                    dump.push('\n');
                }
            }
        }
    }
    assert!(dump.contains("v1.") && !dump.contains(s.client_secret()) && !dump.contains("wh-acme"), "{dump}");
    assert!(!dump.contains("sbx_"), "the simulator's tokens start sbx_: none is stored in plaintext");
    if !postgres {
        let file = std::fs::read(dir.path().join("vault.db")).unwrap();
        let text = String::from_utf8_lossy(&file);
        assert!(!text.contains(s.client_secret()) && !text.contains("sbx_"), "nor anywhere in the file");
    }

    // A wrong key: refused by its id, nothing opened or changed.
    let wrong = Vault::new(Store::open(&url).await.unwrap(), ring(KEY_B));
    let Err(SyncError::Vault(e @ VaultError::UnknownKey { .. })) = wrong.client("acme", &http).await else {
        panic!("a wrong key must be refused")
    };
    let message = e.to_string();
    assert!(message.contains(ring(KEY_A).current_id()) && message.contains(ring(KEY_B).current_id()), "{message}");
    assert!(matches!(wrong.rotate_key().await, Err(SyncError::Vault(VaultError::UnknownKey { .. }))));
    assert_eq!(vault.info("acme").await.unwrap().key_id, ring(KEY_A).current_id(), "nothing was re-sealed");

    // Rotation: B current, A still accepted; then B alone opens everything.
    let rotating = Vault::new(one.clone(), ring(KEY_B).accepting(MasterKey::from_base64(KEY_A).unwrap()));
    let resealed = rotating.rotate_key().await.unwrap();
    assert_eq!(resealed, 3, "the secret, the webhook token and the stored token");
    assert_eq!(rotating.rotate_key().await.unwrap(), 0, "nothing left to re-seal");
    let after = Vault::new(one.clone(), ring(KEY_B));
    assert_eq!(after.info("acme").await.unwrap().key_id, ring(KEY_B).current_id());
    let tokens = after.webhook_tokens().await.unwrap();
    assert_eq!((tokens[0].0.as_str(), tokens[0].1.expose()), ("acme", "wh-acme-0123456789"));
    after.client("acme", &http).await.unwrap().companies().list().page_size(10).page(0).await.unwrap();
    assert_eq!(s.counters().tokens_issued, 2, "the re-sealed token is still the one in use");
    assert!(matches!(vault.client("acme", &http).await, Err(SyncError::Vault(VaultError::UnknownKey { .. }))));

    // Removed: gone with its token; --purge also takes its rows.
    assert!(after.remove("acme", false).await.unwrap() >= 1);
    assert!(matches!(after.info("acme").await, Err(SyncError::Vault(VaultError::NoTenant(_)))));
}

#[tokio::test(flavor = "multi_thread")]
async fn vault_on_sqlite() {
    vault_keeps_secrets_sealed_and_shares_one_token(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn vault_on_postgres() {
    vault_keeps_secrets_sealed_and_shares_one_token(true).await;
}

async fn one_budget_across_processes(postgres: bool) {
    let dir = tempfile::tempdir().unwrap();
    let Some((one, two, _)) = two_stores(&dir, postgres).await else { return };
    // 60 a minute: bursts of 3, then one start about every second whoever asks.
    let a = DbRateBudget::new(one, "acme", 60);
    let b = DbRateBudget::new(two.clone(), "acme", 60);
    let other = DbRateBudget::new(two, "globex", 60);
    let mut granted = 0;
    let mut waits = Vec::new();
    for i in 0..10 {
        let budget = if i % 2 == 0 { &a } else { &b };
        match budget.take().await {
            Ok(()) => granted += 1,
            // The first start of a tenant anywhere makes its row and asks again at once.
            Err(wait) if wait.is_zero() => granted += usize::from(budget.take().await.is_ok()),
            Err(wait) => waits.push(wait),
        }
    }
    assert_eq!(granted, 3, "the burst, shared: {waits:?}");
    assert!(waits.iter().all(|w| *w <= Duration::from_millis(1100)), "{waits:?}");
    // Another tenant's budget is its own.
    let first = other.take().await;
    assert!(first.is_ok() || other.take().await.is_ok());
    // A 429 seen by one pauses the others.
    a.throttled(Duration::from_secs(3)).await;
    let Err(wait) = b.take().await else { panic!("paused") };
    assert!(wait > Duration::from_millis(2500), "{wait:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_budget_on_sqlite() {
    one_budget_across_processes(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_budget_on_postgres() {
    one_budget_across_processes(true).await;
}

async fn serve(receiver: pax8_sync::receiver::Receiver) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, pax8_sync::receiver::router(receiver)).await });
    format!("http://{addr}/webhooks/pax8")
}

async fn post(url: &str, token: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new().post(url).bearer_auth(token).json(body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

async fn receivers_take_tokens_from_the_vault_and_apply_each_event_once(postgres: bool) {
    let dir = tempfile::tempdir().unwrap();
    let Some((one, two, _)) = two_stores(&dir, postgres).await else { return };
    let vault = Vault::new(one.clone(), ring(KEY_A));
    let mut tenant = NewTenant::new("acme", "client", "secret");
    tenant.webhook_token = Some("wh-acme-0123456789".into());
    vault.add(tenant).await.unwrap();
    vault.add(NewTenant::new("globex", "client-2", "secret-2")).await.unwrap(); // no webhooks
    // Two receivers on one database, as two processes.
    let first = serve(pax8_sync::receiver::Receiver::from_vault(vault.clone())).await;
    let second = serve(pax8_sync::receiver::Receiver::from_vault(Vault::new(two, ring(KEY_A)))).await;
    let company = uuid::Uuid::new_v4();
    let event = |id: &str| {
        serde_json::json!({"id": id, "webhookTopic": {"topic": "COMPANY_CREATED"},
            "payloadData": {"companyId": company, "name": format!("Acme {id}")}})
    };
    assert_eq!(post(&first, "wh-acme-0123456789", &event("e1")).await.0, 200);
    assert_eq!(post(&first, "nope-nope-nope-nope", &event("e0")).await.0, 401);
    // The same event to both at once: applied once, the other a duplicate.
    let e2 = event("e2");
    let (a, b) = tokio::join!(post(&first, "wh-acme-0123456789", &e2), post(&second, "wh-acme-0123456789", &e2));
    let mut outcomes = [a.1["status"].as_str().unwrap().to_string(), b.1["status"].as_str().unwrap().to_string()];
    outcomes.sort();
    assert_eq!(outcomes, ["applied", "duplicate"], "{a:?} {b:?}");
    assert_eq!(one.count_in("acme", "webhook_events").await.unwrap(), 2);
    // A rotated token is accepted without a restart (the old one for at most the refresh time).
    vault.set_webhook_token("acme", Some("wh-acme-rotated-987654".into())).await.unwrap();
    let started = std::time::Instant::now();
    loop {
        let (status, _) = post(&second, "wh-acme-rotated-987654", &event("e3")).await;
        if status == 200 {
            break;
        }
        assert_eq!(status, 401);
        assert!(started.elapsed() < pax8_sync::receiver::VaultTokens::REFRESH, "the new token was never accepted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(started.elapsed() <= Duration::from_secs(2), "{:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread")]
async fn receivers_from_the_vault_on_sqlite() {
    receivers_take_tokens_from_the_vault_and_apply_each_event_once(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn receivers_from_the_vault_on_postgres() {
    receivers_take_tokens_from_the_vault_and_apply_each_event_once(true).await;
}
