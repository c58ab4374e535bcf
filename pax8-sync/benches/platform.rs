//! A platform on loopback: 50 tenants (each its own simulator, partner and token counter) in the
//! vault of one PostgreSQL (PAX8_TEST_POSTGRES_URL; without it the bench says so and stops),
//! synced by 3 workers, each on its own connection pool as 3 processes would be. Prints the wall
//! time, syncs per tenant, token requests, the claims a second of the queue, and a worker's
//! resident memory with 10,000 idle tenants in the vault against none.
//!
//! ```text
//! PAX8_TEST_POSTGRES_URL=postgres://… cargo bench -p pax8-sync --bench platform
//! ```

use std::time::{Duration, Instant};

use pax8_sandbox::{Sandbox, SandboxConfig};
use pax8_sync::vault::{Keyring, MasterKey, NewTenant, Vault};
use pax8_sync::worker::{Worker, WorkerOptions};
use pax8_sync::{Store, SyncOptions};
use sqlx::Row;

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const TENANTS: usize = 50;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

async fn database(admin: &str) -> String {
    sqlx::any::install_default_drivers();
    let name = format!("pax8_platform_{}", uuid::Uuid::new_v4().simple());
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(admin).await.expect("postgres");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.expect("create");
    let base = admin.rsplit_once('/').map_or(admin, |(b, _)| b);
    format!("{base}/{name}")
}

fn vault(store: Store) -> Vault {
    Vault::new(store, Keyring::new(MasterKey::from_base64(KEY).expect("key")))
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let Some(admin) = std::env::var("PAX8_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) else {
        println!("PAX8_TEST_POSTGRES_URL is not set: the platform bench needs PostgreSQL");
        return;
    };
    let url = database(&admin).await;
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 23);
    let mut sims = Vec::new();
    let setup = vault(Store::open(&url).await.expect("store"));
    for n in 0..TENANTS {
        let s = Sandbox::start(SandboxConfig {
            companies: 5,
            seed: n as u64,
            client_id: format!("client-{n}"),
            client_secret: format!("secret-{n}-0123456789"),
            today,
            ..SandboxConfig::default()
        })
        .await
        .expect("sandbox");
        let mut t = NewTenant::new(&format!("t{n:02}"), s.client_id(), s.client_secret());
        t.base_url = Some(s.base_url().to_string());
        t.rate_limit = Some(1000);
        setup.add(t).await.expect("add");
        sims.push(s);
    }
    let options = WorkerOptions {
        until_idle: true,
        concurrency: 4,
        poll: Duration::from_millis(50),
        sync: SyncOptions::default(),
        ..WorkerOptions::default()
    };
    let http = reqwest::Client::new(); // one connection pool for a worker's tenants
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..3 {
        let store = Store::open(&url).await.expect("store");
        let worker =
            Worker::new(vault(store), http.clone(), WorkerOptions { id: format!("worker-{w}"), ..options.clone() });
        workers.push(tokio::spawn(async move { worker.run(std::future::pending()).await.expect("worker") }));
    }
    let mut synced = Vec::new();
    for w in workers {
        synced.push(w.await.expect("join").synced);
    }
    let wall = started.elapsed();
    let pool = setup.store().pool();
    let syncs: i64 = sqlx::query("SELECT COUNT(*) AS n FROM syncs WHERE status = 'finished'")
        .fetch_one(pool)
        .await
        .expect("count")
        .get("n");
    let tokens: u64 = sims.iter().map(|s| s.counters().tokens_issued).sum();
    let requests: Vec<u64> = sims.iter().map(|s| s.counters().requests).collect();
    println!(
        "{TENANTS} tenants, 3 workers: all synced in {:.2} s ({:.1} tenants/s); syncs by worker {synced:?}, {syncs} finished \
         syncs; {tokens} token requests; requests per tenant {}..{}",
        wall.as_secs_f64(),
        TENANTS as f64 / wall.as_secs_f64(),
        requests.iter().min().unwrap_or(&0),
        requests.iter().max().unwrap_or(&0),
    );

    let rss_before = rss_kib();
    let idle = 10_000;
    for n in 0..idle {
        sqlx::query(
            "INSERT INTO tenants (name, client_id, client_secret, created_at, next_due) VALUES ($1, 'x', 'v1.k.x', $2, $2)",
        )
        .bind(format!("idle-{n:05}"))
        .bind("2999-01-01T00:00:00.000Z")
        .execute(pool)
        .await
        .expect("idle tenant");
    }
    let worker = Worker::new(setup.clone(), http.clone(), WorkerOptions { id: "idle-check".into(), ..options.clone() });
    let report = worker.run(std::future::pending()).await.expect("idle run");
    println!(
        "a worker's pass over {idle} idle tenants: {} synced, resident memory {} KiB before, {} KiB after",
        report.synced,
        rss_before,
        rss_kib()
    );
    sqlx::query("UPDATE tenants SET next_due = '2000-01-01T00:00:00.000Z', lease_owner = NULL, lease_until = NULL WHERE name LIKE 'idle-%'")
        .execute(pool)
        .await
        .expect("due");
    let claims = 2_000;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..3 {
        let store = Store::open(&url).await.expect("store");
        let worker =
            Worker::new(vault(store), http.clone(), WorkerOptions { id: format!("claimer-{w}"), ..options.clone() });
        tasks.push(tokio::spawn(async move {
            let mut claimed = 0;
            while claimed < claims / 3 && worker.claim().await.expect("claim").is_some() {
                claimed += 1;
            }
            claimed
        }));
    }
    let mut claimed = 0;
    for t in tasks {
        claimed += t.await.expect("join");
    }
    println!(
        "queue: {claimed} claims by 3 workers (Worker::claim, FOR UPDATE SKIP LOCKED) in {:.2} s = {:.0} claims/s",
        started.elapsed().as_secs_f64(),
        claimed as f64 / started.elapsed().as_secs_f64()
    );
}
