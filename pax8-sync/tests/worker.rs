//! The worker in-process: on SQLite (one worker), every due tenant of the vault is synced once,
//! a tenant whose credentials fail is recorded with the reason and backed off, and
//! `until_idle` stops once nothing is due.

mod common;

use std::time::Duration;

use common::*;
use pax8_sandbox::Faults;
use pax8_sync::vault::{Keyring, MasterKey, NewTenant, Vault};
use pax8_sync::worker::{Worker, WorkerOptions};
use sqlx::Row;

#[tokio::test(flavor = "multi_thread")]
async fn one_worker_on_sqlite_syncs_every_due_tenant_and_backs_off_a_failing_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(&dir, "worker.db").await;
    let vault = Vault::new(
        store.clone(),
        Keyring::new(MasterKey::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap()),
    );
    let (a, b) = (sandbox(3, Faults::default()).await, sandbox(4, Faults::default()).await);
    // One of b's subscriptions is odd: b's sync succeeds, and its status says what it met.
    let odd = b.with_world(|w| w.subscriptions[0].id.unwrap());
    b.set_faults(Faults { wrong_type_for: vec![odd], ..Faults::default() });
    for (name, s, secret) in
        [("a", &a, a.client_secret()), ("b", &b, b.client_secret()), ("broken", &b, "wrong-secret")]
    {
        let mut t = NewTenant::new(name, s.client_id(), secret);
        t.base_url = Some(s.base_url().to_string());
        vault.add(t).await.unwrap();
    }
    let options = WorkerOptions {
        until_idle: true,
        interval: Duration::from_secs(3600),
        poll: Duration::from_millis(50),
        ..WorkerOptions::default()
    };
    let worker = Worker::new(vault.clone(), reqwest::Client::new(), options);
    let report =
        tokio::time::timeout(Duration::from_secs(120), worker.run(std::future::pending())).await.unwrap().unwrap();
    assert_eq!((report.synced, report.failed), (2, 1), "{report:?}");
    assert_eq!(store.count_in("a", "companies").await.unwrap(), 3);
    assert_eq!(store.count_in("b", "companies").await.unwrap(), 4);
    assert_eq!(vault.info("a").await.unwrap().last_error, None);
    let b_info = vault.info("b").await.unwrap();
    assert_eq!(b_info.last_status.as_deref(), Some("ok"));
    assert!(b_info.last_error.as_deref().is_some_and(|e| e.starts_with("1 odd item(s)")), "{b_info:?}");
    let broken = vault.info("broken").await.unwrap();
    assert_eq!((broken.last_status.as_deref(), broken.failures), (Some("failed"), 1), "{broken:?}");
    let error = broken.last_error.unwrap_or_default();
    assert!(error.contains("refused the client id and secret (401)") && !error.contains("wrong-secret"), "{error}");
    // Backed off by a minute, not hammered; the others are due in an hour.
    let due = |name: &str| {
        let store = store.clone();
        let name = name.to_string();
        async move {
            let row = sqlx::query("SELECT next_due, last_sync_at FROM tenants WHERE name = $1")
                .bind(name)
                .fetch_one(store.pool())
                .await
                .unwrap();
            let at = |c: &str| chrono::DateTime::parse_from_rfc3339(&row.get::<Option<String>, _>(c).unwrap()).unwrap();
            (at("next_due") - at("last_sync_at")).num_seconds()
        }
    };
    assert_eq!(due("broken").await, 60);
    assert_eq!(due("a").await, 3600);
    // Nothing is due: a second run does nothing and stops.
    let again = worker.run(std::future::pending()).await.unwrap();
    assert_eq!((again.synced, again.failed), (0, 0));
    assert_eq!(a.counters().tokens_issued, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_short_lease_is_renewed_through_a_slow_sync_and_a_held_tenant_waits_for_its_lease() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(&dir, "lease.db").await;
    let vault = Vault::new(
        store.clone(),
        Keyring::new(MasterKey::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap()),
    );
    // Slow enough that a sync outlasts several heartbeats of a 300 ms lease.
    let slow = Faults { latency: Duration::from_millis(30), ..Faults::default() };
    let (a, b) = (sandbox(3, slow.clone()).await, sandbox(3, slow).await);
    for (name, s) in [("a", &a), ("held", &b)] {
        let mut t = NewTenant::new(name, s.client_id(), s.client_secret());
        t.base_url = Some(s.base_url().to_string());
        vault.add(t).await.unwrap();
    }
    // Another (live) worker holds `held` for the next second.
    let until = (chrono::Utc::now() + chrono::Duration::milliseconds(1000))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    sqlx::query("UPDATE tenants SET lease_owner = 'ghost', lease_until = $1 WHERE name = 'held'")
        .bind(until)
        .execute(store.pool())
        .await
        .unwrap();
    let options = WorkerOptions {
        until_idle: true,
        lease: Duration::from_millis(300),
        poll: Duration::from_millis(50),
        ..WorkerOptions::default()
    };
    let worker = Worker::new(vault.clone(), reqwest::Client::new(), options);
    // Each sync is stamped with its own time, not the worker's start.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let before = chrono::Utc::now();
    let started = std::time::Instant::now();
    let report =
        tokio::time::timeout(Duration::from_secs(120), worker.run(std::future::pending())).await.unwrap().unwrap();
    assert_eq!((report.synced, report.failed), (2, 0), "{report:?}: the lease was kept through each sync");
    assert!(started.elapsed() >= Duration::from_millis(900), "`held` was waited for, not skipped");
    for name in ["a", "held"] {
        let info = vault.info(name).await.unwrap();
        assert_eq!((info.last_status.as_deref(), info.lease), (Some("ok"), None), "{name}");
    }
    let syncs =
        sqlx::query("SELECT started_at FROM syncs WHERE status = 'finished'").fetch_all(store.pool()).await.unwrap();
    assert_eq!(syncs.len(), 2);
    for row in syncs {
        let at = chrono::DateTime::parse_from_rfc3339(&row.get::<String, _>("started_at")).unwrap();
        assert!(at >= before, "{at} is the worker's start, not the sync's");
    }
}
