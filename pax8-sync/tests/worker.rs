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
