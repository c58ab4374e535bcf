//! A platform end to end, with real processes on one PostgreSQL (PAX8_TEST_POSTGRES_URL; CI
//! always provides it): tenants added to the vault (secrets from the environment, sealed), a
//! connection tested and each failure explained with its exit code, three workers (separate
//! config dirs: three hosts) syncing five simulators, one of them killed with SIGKILL in the
//! middle of a sync; its tenant is taken over once its lease lapses, every tenant is synced
//! exactly once, the mirror equals an uninterrupted sync, and each tenant fetched one token
//! across every process.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pax8_sandbox::{Faults, Sandbox, SandboxConfig};
use sqlx::Row;

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn pax8(config: &tempfile::TempDir) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("pax8"));
    c.env("PAX8_CONFIG_DIR", config.path())
        .env("PAX8_MASTER_KEY", KEY)
        .env_remove("PAX8_CLIENT_ID")
        .env_remove("PAX8_CLIENT_SECRET")
        .env_remove("PAX8_WEBHOOK_TOKEN")
        .env_remove("PAX8_PREVIOUS_MASTER_KEYS")
        .env("NO_COLOR", "1");
    c
}

async fn database() -> Option<String> {
    let Some(admin) = std::env::var("PAX8_TEST_POSTGRES_URL").ok().filter(|v| !v.is_empty()) else {
        assert!(std::env::var_os("CI").is_none(), "CI must provide PAX8_TEST_POSTGRES_URL (see .ci/run)");
        eprintln!("PAX8_TEST_POSTGRES_URL is not set: the platform test runs in CI");
        return None;
    };
    sqlx::any::install_default_drivers();
    let db = format!("pax8_platform_{}", uuid::Uuid::new_v4().simple());
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}"))).execute(&mut conn).await.unwrap();
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap();
    Some(format!("{base}/{db}"))
}

/// Simulator `n`: its own partner (client id and secret) and token counter, `companies`
/// companies, `latency` on every request.
async fn simulator_of(n: usize, companies: usize, latency: Duration) -> Sandbox {
    Sandbox::start(SandboxConfig {
        companies,
        seed: 100 + n as u64,
        client_id: format!("client-{n}"),
        client_secret: format!("secret-{n}-0123456789"),
        today: Some(chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()),
        faults: Faults { latency, ..Faults::default() },
        ..SandboxConfig::default()
    })
    .await
    .unwrap()
}

/// Slow enough that a sync is caught in its middle.
async fn simulator(n: usize) -> Sandbox {
    simulator_of(n, 6 + n, Duration::from_millis(25)).await
}

/// Waits (at most `within`) for a `--until-idle` worker to exit, successfully; `watch` sees its
/// pid while it runs.
async fn until_idle(mut worker: Child, within: Duration, mut watch: impl FnMut(u32)) {
    let deadline = Instant::now() + within;
    loop {
        watch(worker.id());
        if let Some(status) = worker.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(worker.stderr.as_mut().unwrap(), &mut err).unwrap();
            assert!(status.success(), "worker: {err}");
            return;
        }
        assert!(Instant::now() < deadline, "a worker never went idle");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The name of a tenant the worker process `pid` holds in the middle of a sync, once it holds one.
async fn held_mid_sync(pool: &sqlx::AnyPool, pid: u32) -> String {
    let started = Instant::now();
    loop {
        assert!(started.elapsed() < Duration::from_secs(120), "the worker never got a tenant mid-sync");
        let held = sqlx::query(
            "SELECT t.name AS name FROM tenants t JOIN syncs s ON s.tenant = t.name AND s.status = 'running' \
             JOIN sync_checkpoints c ON c.sync_id = s.id WHERE t.lease_owner LIKE $1 LIMIT 1",
        )
        .bind(format!("%:{pid}:%"))
        .fetch_optional(pool)
        .await
        .unwrap();
        if let Some(row) = held {
            return row.get::<String, _>("name");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn add(
    config: &tempfile::TempDir,
    db: &str,
    name: &str,
    s: &Sandbox,
    secret: &str,
    extra: &[&str],
) -> std::process::Output {
    pax8(config)
        .args(["tenants", "add", name, "--client-id", s.client_id(), "--base-url", s.base_url(), "--db", db])
        .args(extra)
        .env("PAX8_CLIENT_SECRET", secret)
        .output()
        .unwrap()
}

fn worker(config: &tempfile::TempDir, db: &str) -> Child {
    pax8(config)
        .args(["worker", "--db", db, "--until-idle", "--interval", "6h", "--lease", "3s", "--concurrency", "2"])
        .args(["--admin-listen", "off"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Every mirrored row of `tenant`: table, id, hash, removed.
async fn rows(pool: &sqlx::AnyPool, tenant: &str) -> Vec<String> {
    let mut out = Vec::new();
    for table in ["companies", "contacts", "products", "subscriptions", "invoices", "invoice_items", "usage_summaries"]
    {
        let sql = format!("SELECT id, hash, removed_at FROM {table} WHERE tenant = $1 ORDER BY id");
        for r in sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.to_string()).fetch_all(pool).await.unwrap() {
            let removed: Option<String> = r.get("removed_at");
            out.push(format!("{table} {} {} {removed:?}", r.get::<String, _>("id"), r.get::<String, _>("hash")));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn three_workers_one_killed_sync_every_tenant_once_with_one_token_each() {
    let Some(db) = database().await else { return };
    let mut sims = Vec::new();
    for n in 0..5 {
        sims.push(simulator(n).await);
    }
    let hosts: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    for (n, s) in sims.iter().enumerate() {
        let out = add(&hosts[n % 3], &db, &format!("t{n}"), s, s.client_secret(), &["--rate-limit", "600"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(!String::from_utf8_lossy(&out.stdout).contains(s.client_secret()));
    }
    // The secret never reaches the database in plaintext.
    let pool = sqlx::AnyPool::connect(&db).await.unwrap();
    let dump: Vec<String> = sqlx::query("SELECT client_secret FROM tenants")
        .fetch_all(&pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("client_secret"))
        .collect();
    assert!(dump.iter().all(|d| d.starts_with("v1.") && !d.contains("secret-")), "{dump:?}");

    // A connection test, and each failure explained with its own exit code.
    let ok = pax8(&hosts[0]).args(["tenants", "test", "t0", "--db", &db]).output().unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let companies = sims[0].with_world(|w| w.companies.len());
    assert!(String::from_utf8_lossy(&ok.stdout).contains(&format!("Connected to Pax8: {companies} companies visible")));
    // Credentials enabled for the partner API only.
    let extra = Sandbox::start(SandboxConfig {
        audiences: Some(vec!["https://api.pax8.com".into()]),
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let wrong = add(&hosts[1], &db, "wrong-secret", &extra, "not-the-secret", &[]);
    assert!(wrong.status.success());
    let refused = pax8(&hosts[1]).args(["tenants", "test", "wrong-secret", "--db", &db]).output().unwrap();
    assert_eq!(refused.status.code(), Some(3), "{}", String::from_utf8_lossy(&refused.stderr));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("refused the client id and secret (401)"));
    assert!(!String::from_utf8_lossy(&refused.stderr).contains("not-the-secret"));
    let audience =
        add(&hosts[1], &db, "wrong-audience", &extra, extra.client_secret(), &["--audience", "api://p8p.client"]);
    assert!(audience.status.success());
    let mismatch = pax8(&hosts[1]).args(["tenants", "test", "wrong-audience", "--db", &db]).output().unwrap();
    assert_eq!(mismatch.status.code(), Some(8), "{}", String::from_utf8_lossy(&mismatch.stderr));
    assert!(String::from_utf8_lossy(&mismatch.stderr).contains("not for audience api://p8p.client"));
    let unknown = add(&hosts[1], &db, "bad-audience", &extra, extra.client_secret(), &["--audience", "api://nothing"]);
    assert_eq!(unknown.status.code(), Some(2), "an audience Pax8 does not have is refused when added");
    // Those two are not synced by the workers: removed.
    for name in ["wrong-secret", "wrong-audience"] {
        assert!(pax8(&hosts[1]).args(["tenants", "remove", name, "--purge", "--db", &db]).status().unwrap().success());
    }

    // Three workers; the first is killed once it is in the middle of a sync.
    let mut first = worker(&hosts[0], &db);
    let victim = held_mid_sync(&pool, first.id()).await;
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let others: Vec<Child> = (1..3).map(|h| worker(&hosts[h], &db)).collect();
    for w in others {
        until_idle(w, Duration::from_secs(120), |_| {}).await;
    }

    // Every tenant synced once (the killed sync resumed, not restarted), recorded, due in 6 h.
    for (n, s) in sims.iter().enumerate() {
        let tenant = format!("t{n}");
        let syncs = sqlx::query("SELECT status FROM syncs WHERE tenant = $1")
            .bind(tenant.clone())
            .fetch_all(&pool)
            .await
            .unwrap();
        let statuses: Vec<String> = syncs.iter().map(|r| r.get("status")).collect();
        assert_eq!(statuses, ["finished"], "{tenant}: one sync");
        let t = sqlx::query("SELECT last_status, lease_owner, next_due, failures FROM tenants WHERE name = $1")
            .bind(tenant.clone())
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(t.get::<Option<String>, _>("last_status").as_deref(), Some("ok"), "{tenant}");
        assert!(t.get::<Option<String>, _>("lease_owner").is_none());
        assert_eq!(s.counters().tokens_issued, 1, "{tenant}: one token across every process");
        // The mirror equals an uninterrupted sync of the same simulator.
        let reference = format!("sqlite://{}", hosts[0].path().join(format!("reference-{tenant}.db")).display());
        let reference = pax8_sync::Store::open(&reference).await.unwrap();
        let client = pax8_ext::Pax8Client::builder()
            .client_id(s.client_id())
            .client_secret(s.client_secret())
            .base_url(s.base_url())
            .no_rate_limit()
            .build()
            .unwrap();
        let options = pax8_sync::SyncOptions { tenant: tenant.clone(), ..Default::default() };
        pax8_sync::sync(&reference, &client, &options, &|_| {}).await.unwrap();
        assert_eq!(rows(&pool, &tenant).await, rows(reference.pool(), &tenant).await, "{tenant}");
    }
    eprintln!("killed worker's tenant {victim} was finished by another worker");

    // A command on another host with a tenant's vault credentials: the token the workers
    // fetched (no second token request), and a step of the tenant's shared rate budget.
    let tat = |pool: &sqlx::AnyPool| {
        let pool = pool.clone();
        async move {
            sqlx::query("SELECT tat_us FROM rate_budgets WHERE tenant = 't1'")
                .fetch_one(&pool)
                .await
                .unwrap()
                .get::<i64, _>("tat_us")
        }
    };
    let before = tat(&pool).await;
    // (The reference sync above fetched a token of its own, outside the vault.)
    let tokens = sims[1].counters().tokens_issued;
    let listed = pax8(&hosts[2])
        .args(["--vault-tenant", "t1", "--vault-db", &db, "--json", "companies", "list", "--size", "3"])
        .output()
        .unwrap();
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    let page: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(page["paging"]["total_elements"], sims[1].with_world(|w| w.companies.len()));
    assert_eq!(sims[1].counters().tokens_issued, tokens, "the vault's token, shared with the workers");
    assert!(tat(&pool).await > before, "the command took its request from the tenant's shared budget");
    let unknown = pax8(&hosts[2]).args(["--vault-tenant", "nobody", "--vault-db", &db, "companies", "list"]).output();
    let unknown = unknown.unwrap();
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("nobody"),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );
    let status = pax8(&hosts[2]).args(["tenants", "status", "--db", &db]).output().unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success() && text.contains("t4") && text.contains("ok"), "{text}");
}

/// The platform measurement (figures in the README): 50 tenants, each its own simulator with
/// its own partner and token counter, three `pax8 worker` processes with separate config dirs on
/// one PostgreSQL, the first SIGKILLed in the middle of a sync. Every tenant is synced exactly
/// once, fetches exactly one token across all processes, and its simulator never sees more
/// requests than the tenant's limit in any 60 s, nor more than the budget's burst and pace allow
/// in any 5 s. About a minute: run it with
/// `cargo test -p pax8-cli --test platform -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement of about a minute; run with --ignored --nocapture"]
async fn fifty_tenants_three_worker_processes_measured() {
    use pax8_sync::vault::{Keyring, MasterKey, NewTenant, Vault};
    const TENANTS: usize = 50;
    const LIMIT: u32 = 120;
    let Some(db) = database().await else { return };
    let mut sims = Vec::new();
    for n in 0..TENANTS {
        sims.push(simulator_of(200 + n, 4 + n % 5, Duration::from_millis(5)).await);
    }
    let store = pax8_sync::Store::open(&db).await.unwrap();
    let vault = Vault::new(store.clone(), Keyring::new(MasterKey::from_base64(KEY).unwrap()));
    for (n, s) in sims.iter().enumerate() {
        let mut t = NewTenant::new(&format!("t{n}"), s.client_id(), s.client_secret());
        t.base_url = Some(s.base_url().to_string());
        t.rate_limit = Some(LIMIT);
        vault.add(t).await.unwrap();
    }
    let hosts: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let started = Instant::now();
    let mut first = worker(&hosts[0], &db);
    let others: Vec<Child> = (1..3).map(|h| worker(&hosts[h], &db)).collect();
    // The first worker is killed once it holds a tenant in the middle of a sync.
    held_mid_sync(store.pool(), first.id()).await;
    first.kill().unwrap();
    first.wait().unwrap();
    let mut peak_rss_kib = 0u64;
    for w in others {
        // The peak RSS while it runs (VmHWM), read before it exits.
        until_idle(w, Duration::from_secs(600), |pid| {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            let hwm = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
            peak_rss_kib = peak_rss_kib.max(hwm.unwrap_or(0));
        })
        .await;
    }
    let wall = started.elapsed();

    // Each tenant: one finished sync, one token across every process, its budget kept.
    let burst = (LIMIT / 20).max(1) as f64;
    let spacing = 60.0 / f64::from(LIMIT - (LIMIT / 20).max(1) + 1);
    let five_seconds_bound = (burst + (5.0 / spacing).ceil() + 1.0) as usize;
    let (mut requests, mut most_minute, mut most_five) = (0u64, 0usize, 0usize);
    for (n, s) in sims.iter().enumerate() {
        let tenant = format!("t{n}");
        let statuses: Vec<String> = sqlx::query("SELECT status FROM syncs WHERE tenant = $1")
            .bind(tenant.clone())
            .fetch_all(store.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| r.get("status"))
            .collect();
        assert_eq!(statuses, ["finished"], "{tenant}: one sync");
        assert_eq!(s.counters().tokens_issued, 1, "{tenant}: one token across every process");
        let minute = s.most_requests_within(Duration::from_secs(60));
        let five = s.most_requests_within(Duration::from_secs(5));
        assert!(minute <= LIMIT as usize, "{tenant}: {minute} requests within 60 s");
        assert!(five <= five_seconds_bound, "{tenant}: {five} requests within 5 s (bound {five_seconds_bound})");
        requests += s.counters().requests;
        most_minute = most_minute.max(minute);
        most_five = most_five.max(five);
    }
    let peak = peak_rss_kib;
    eprintln!(
        "{TENANTS} tenants ({LIMIT}/min each), 3 worker processes (one SIGKILLed mid-sync): all synced once in {:.1} s, \
         {requests} API requests, {TENANTS} token requests; per tenant at most {most_minute} requests in any 60 s and \
         {most_five} in any 5 s (GCRA bound {five_seconds_bound}); surviving workers' peak RSS {:.1} MiB",
        wall.as_secs_f64(),
        peak as f64 / 1024.0
    );
}
