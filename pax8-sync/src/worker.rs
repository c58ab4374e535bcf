//! Workers: any number of processes on one database sync the vault's tenants when they are due.
//! A worker claims a due tenant by taking its lease (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so
//! workers never wait on each other; SQLite: its write lock), renews the lease while it syncs
//! (a heartbeat every third of [`LEASE`]), and records the outcome and the next due time. A
//! worker killed mid-sync stops renewing: its lease lapses within [`LEASE`] and another worker
//! takes the tenant and resumes that same sync from its last checkpoint. A tenant whose sync
//! fails is retried with a growing backoff ([`backoff`]); the others go on.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::store::db_time;
use sqlx::Row;

use crate::store::dyn_query;
use crate::vault::{Vault, check};
use crate::{SyncError, SyncOptions, sync};

/// How long a claim lasts without a heartbeat: a killed worker's tenants are free again after it.
pub const LEASE: Duration = Duration::from_secs(45);

fn after(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// How long a tenant waits after `failures` failures in a row: 1 minute, doubling, at most
/// `interval` (and at least a minute): a tenant whose credentials fail is never hammered.
pub fn backoff(failures: u32, interval: Duration) -> Duration {
    let minutes = 1u64 << failures.saturating_sub(1).min(16);
    Duration::from_secs(60 * minutes).min(interval.max(Duration::from_secs(60)))
}

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// This worker's id, shown as the lease owner (host, process and a random part by default).
    pub id: String,
    /// Tenants synced at once.
    pub concurrency: usize,
    /// How often each tenant is synced.
    pub interval: Duration,
    /// Stop once no tenant is due or held by a live worker.
    pub until_idle: bool,
    /// How a sync runs (its tenant and time are set per sync).
    pub sync: SyncOptions,
    /// How often to look for due tenants when none is.
    pub poll: Duration,
    /// How long a claim lasts without a heartbeat ([`LEASE`]); renewed every third of it.
    pub lease: Duration,
    /// Once `stop` resolves, how long the syncs in flight may take to finish before they are
    /// left at their last checkpoint (another worker, or the next run, resumes them).
    pub grace: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
        WorkerOptions {
            id: format!("{host}:{}:{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8]),
            concurrency: 2,
            interval: Duration::from_secs(6 * 3600),
            until_idle: false,
            sync: SyncOptions::default(),
            poll: Duration::from_secs(1),
            lease: LEASE,
            grace: Duration::from_secs(10),
        }
    }
}

/// What a worker did before it stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct WorkerReport {
    /// Syncs that finished.
    pub synced: u64,
    /// Syncs that failed (recorded on their tenant, retried later).
    pub failed: u64,
}

/// A worker (see the module documentation).
#[derive(Debug, Clone)]
pub struct Worker {
    vault: Vault,
    http: reqwest::Client,
    options: WorkerOptions,
}

impl Worker {
    /// A worker syncing `vault`'s tenants over one connection pool (`http`) for all of them.
    pub fn new(vault: Vault, http: reqwest::Client, options: WorkerOptions) -> Worker {
        Worker { vault, http, options }
    }

    /// Claims one due tenant that no live worker holds (taking its lease), if there is one.
    pub async fn claim(&self) -> Result<Option<String>, SyncError> {
        Ok(self.claim_due().await?.map(|(name, _)| name))
    }

    /// [`Worker::claim`], with how late the claimed tenant is (now less its due time).
    async fn claim_due(&self) -> Result<Option<(String, Duration)>, SyncError> {
        let store = self.vault.store();
        let now = Utc::now();
        let skip_locked = if store.is_postgres() { " FOR UPDATE SKIP LOCKED" } else { "" };
        let row = dyn_query(format!(
            "UPDATE tenants SET lease_owner = $1, lease_until = $2 WHERE name = (SELECT name FROM tenants \
             WHERE next_due <= $3 AND (lease_until IS NULL OR lease_until < $3) ORDER BY next_due LIMIT 1{skip_locked}) \
             AND (lease_until IS NULL OR lease_until < $3) RETURNING name, next_due"
        ))
        .bind(self.options.id.clone())
        .bind(db_time(after(now, self.options.lease)))
        .bind(db_time(now))
        .fetch_optional(&store.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let due: String = row.try_get("next_due")?;
        let late = DateTime::parse_from_rfc3339(&due)
            .ok()
            .and_then(|due| (now - due.with_timezone(&Utc)).to_std().ok())
            .unwrap_or_default();
        Ok(Some((row.try_get::<String, _>("name")?, late)))
    }

    /// Whether any tenant is due or held by a live worker.
    async fn busy(&self) -> Result<bool, SyncError> {
        let now = db_time(Utc::now());
        let row = sqlx::query("SELECT COUNT(*) AS n FROM tenants WHERE next_due <= $1 OR lease_until >= $1")
            .bind(now)
            .fetch_one(&self.vault.store().pool)
            .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// Renews the lease on `tenant`; false when it is no longer this worker's.
    async fn renew(&self, tenant: &str) -> Result<bool, SyncError> {
        let done = sqlx::query("UPDATE tenants SET lease_until = $1 WHERE name = $2 AND lease_owner = $3")
            .bind(db_time(after(Utc::now(), self.options.lease)))
            .bind(tenant.to_string())
            .bind(self.options.id.clone())
            .execute(&self.vault.store().pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Syncs one claimed tenant, renewing its lease meanwhile, and records the outcome.
    async fn sync_tenant(&self, tenant: &str) -> Result<bool, SyncError> {
        let started = std::time::Instant::now();
        let result = self.sync_and_record(tenant).await;
        let outcome = match &result {
            Ok(true) => "ok",
            Ok(false) => "failed",
            Err(_) => "unrecorded",
        };
        metrics::counter!("pax8_sync_runs_total", "tenant" => tenant.to_string(), "outcome" => outcome).increment(1);
        metrics::histogram!("pax8_sync_duration_seconds", "tenant" => tenant.to_string())
            .record(started.elapsed().as_secs_f64());
        result
    }

    async fn sync_and_record(&self, tenant: &str) -> Result<bool, SyncError> {
        let work = async {
            let client = self.vault.client(tenant, &self.http).await?;
            let options = SyncOptions { tenant: tenant.to_string(), now: Utc::now(), ..self.options.sync.clone() };
            sync(self.vault.store(), &client, &options, &|_| {}).await
        };
        // The heartbeat runs beside the sync, never in its way: on SQLite it waits for the one
        // connection the sync's page transaction holds.
        let heartbeat = {
            let worker = self.clone();
            let tenant = tenant.to_string();
            tokio::spawn(async move {
                let mut beat = tokio::time::interval(worker.options.lease / 3);
                beat.tick().await;
                loop {
                    beat.tick().await;
                    if !worker.renew(&tenant).await.unwrap_or(false) {
                        return;
                    }
                }
            })
        };
        tokio::pin!(work);
        let mut heartbeat = heartbeat;
        let outcome = tokio::select! {
            done = &mut work => Some(done),
            _ = &mut heartbeat => {
                tracing::warn!(tenant, worker = %self.options.id, "pax8-sync: lease lost; leaving the tenant");
                None
            }
        };
        heartbeat.abort();
        let Some(outcome) = outcome else { return Ok(false) };
        let now = Utc::now();
        let ok = outcome.is_ok();
        let query = match &outcome {
            // A sync that met odd items succeeded; `tenants status` still says how many it met.
            Ok(_) => sqlx::query(
                "UPDATE tenants SET lease_owner = NULL, lease_until = NULL, last_sync_at = $1, last_status = 'ok', \
                 last_error = $5, failures = 0, next_due = $2 WHERE name = $3 AND lease_owner = $4",
            )
            .bind(db_time(now))
            .bind(db_time(after(now, self.options.interval))),
            Err(e) => {
                let failures: i64 = sqlx::query("SELECT failures FROM tenants WHERE name = $1")
                    .bind(tenant.to_string())
                    .fetch_optional(&self.vault.store().pool)
                    .await?
                    .map(|r| r.try_get::<i64, _>("failures"))
                    .transpose()?
                    .unwrap_or(0)
                    + 1;
                let wait = backoff(u32::try_from(failures).unwrap_or(u32::MAX), self.options.interval);
                let message = match e {
                    SyncError::Api(api) => {
                        let audience = self.vault.info(tenant).await.ok().and_then(|info| info.audience);
                        check::explain(api, audience.as_deref().unwrap_or(check::DEFAULT_AUDIENCE)).to_string()
                    }
                    other => other.to_string(),
                };
                tracing::warn!(tenant, failures, error = %message, "pax8-sync: tenant sync failed; retried later");
                sqlx::query(
                    "UPDATE tenants SET lease_owner = NULL, lease_until = NULL, last_sync_at = $1, last_status = 'failed', \
                     last_error = $5, failures = $6, next_due = $2 WHERE name = $3 AND lease_owner = $4",
                )
                .bind(db_time(now))
                .bind(db_time(after(now, wait)))
                .bind(tenant.to_string())
                .bind(self.options.id.clone())
                .bind(message)
                .bind(failures)
                .execute(&self.vault.store().pool)
                .await?;
                return Ok(false);
            }
        };
        let note = match &outcome {
            Ok(summary) if summary.odd_rows > 0 => Some(format!(
                "{} odd item(s) in Pax8's answers left out or repaired (table odd_rows); the rest synced",
                summary.odd_rows
            )),
            _ => None,
        };
        query
            .bind(tenant.to_string())
            .bind(self.options.id.clone())
            .bind(note)
            .execute(&self.vault.store().pool)
            .await?;
        Ok(ok)
    }

    /// Runs until `until_idle` finds nothing to do, or `stop` resolves (then no tenant is
    /// claimed, the syncs in flight get [`WorkerOptions::grace`] to finish, and those still
    /// running are left where their last checkpoint is, their leases released).
    pub async fn run(&self, stop: impl Future<Output = ()>) -> Result<WorkerReport, SyncError> {
        let report = Arc::new(Mutex::new(WorkerReport::default()));
        let held: Arc<Mutex<HashSet<String>>> = Arc::default();
        let mut tasks = tokio::task::JoinSet::new();
        tokio::pin!(stop);
        loop {
            while tasks.len() < self.options.concurrency.max(1) {
                let Some((tenant, late)) = self.claim_due().await? else { break };
                metrics::gauge!("pax8_sync_lag_seconds", "tenant" => tenant.clone()).set(late.as_secs_f64());
                held.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(tenant.clone());
                let (worker, report, held) = (self.clone(), report.clone(), held.clone());
                tasks.spawn(async move {
                    let result = worker.sync_tenant(&tenant).await;
                    held.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&tenant);
                    let mut report = report.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    match result {
                        Ok(true) => report.synced += 1,
                        Ok(false) => report.failed += 1,
                        Err(e) => {
                            tracing::error!(%tenant, error = %e, "pax8-sync: cannot record the tenant's sync");
                            report.failed += 1;
                        }
                    }
                });
            }
            if tasks.is_empty() && self.options.until_idle && !self.busy().await? {
                break;
            }
            tokio::select! {
                _ = &mut stop => {
                    // The syncs in flight may finish within the grace; the rest are left at
                    // their last checkpoint and their leases released below.
                    let drained = tokio::time::timeout(self.options.grace, async {
                        while tasks.join_next().await.is_some() {}
                    });
                    if drained.await.is_err() {
                        tracing::warn!(left = tasks.len(), "pax8-sync: syncs still running after the grace; left to resume");
                    }
                    tasks.abort_all();
                    while tasks.join_next().await.is_some() {}
                    let tenants: Vec<String> = held.lock().unwrap_or_else(std::sync::PoisonError::into_inner).drain().collect();
                    for tenant in tenants {
                        sqlx::query("UPDATE tenants SET lease_owner = NULL, lease_until = NULL WHERE name = $1 AND lease_owner = $2")
                            .bind(tenant)
                            .bind(self.options.id.clone())
                            .execute(&self.vault.store().pool)
                            .await?;
                    }
                    break;
                }
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                _ = tokio::time::sleep(self.options.poll) => {}
            }
        }
        let report = report.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_tenant_backs_off_up_to_the_interval() {
        let six_hours = Duration::from_secs(6 * 3600);
        let waits: Vec<u64> = (1..=12).map(|n| backoff(n, six_hours).as_secs() / 60).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 360, 360, 360]);
        assert_eq!(backoff(u32::MAX, six_hours), six_hours);
        assert_eq!(backoff(3, Duration::from_secs(10)), Duration::from_secs(60), "at least a minute");
    }

    #[test]
    fn schedule_times_sort_as_text() {
        let a: DateTime<Utc> = "2026-12-04T09:00:00Z".parse().unwrap();
        let b = a + chrono::Duration::milliseconds(5);
        assert_eq!(db_time(a), "2026-12-04T09:00:00.000Z");
        assert!(db_time(a) < db_time(b));
    }
}
