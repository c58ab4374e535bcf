//! Checkpointed runs: one sync of one tenant at a time (a lock row per tenant), one transaction
//! per page with its checkpoint and its counts, resumption after a kill, and rows no longer
//! upstream marked removed.

use chrono::{DateTime, Utc};
use pax8_ext::{Page, Pax8Client};
use serde::Serialize;
use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use crate::rows::Outcome;
use crate::store::dyn_query;
use crate::{DEFAULT_TENANT, Store, SyncError, entities};

/// How a sync runs.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Items per page (the API maximum, 200, by default).
    pub page_size: u32,
    /// The time recorded for snapshots and removals.
    pub now: DateTime<Utc>,
    /// Stop after this many committed pages (simulates a kill in tests).
    pub stop_after_pages: Option<usize>,
    /// How long to wait while another sync holds the database ([`LOCK_WAIT`] by default).
    pub lock_wait: std::time::Duration,
    /// The tenant the rows belong to ([`DEFAULT_TENANT`] by default): one database can mirror
    /// many Pax8 partners, each synced with its own credentials.
    pub tenant: String,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            page_size: 200,
            now: Utc::now(),
            stop_after_pages: None,
            lock_wait: LOCK_WAIT,
            tenant: DEFAULT_TENANT.to_string(),
        }
    }
}

/// How long a second sync waits, by default, for the first to finish before giving up.
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(30);
/// A lock whose holder has made no progress for this long belongs to a killed sync and is taken.
pub const LOCK_STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(300);

/// What a sync did. For a resumed sync, the counts are those of the whole sync, every run that
/// worked on it added up (each page's counts are committed with the page).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SyncSummary {
    /// Items fetched from Pax8.
    pub fetched: u64,
    /// Rows inserted (snapshots excluded).
    pub inserted: u64,
    /// Rows whose content changed.
    pub updated: u64,
    /// Rows seen again unchanged.
    pub unchanged: u64,
    /// Rows marked removed (no longer upstream).
    pub removed: u64,
    /// Snapshot rows written.
    pub snapshots: u64,
    /// Whether this run continued an interrupted one.
    pub resumed: bool,
}

/// The resources in sync order.
const RESOURCES: [&str; 5] = ["companies", "products", "subscriptions", "invoices", "usage_summaries"];

pub(crate) struct Run<'a> {
    pub(crate) store: &'a Store,
    pub(crate) client: &'a Pax8Client,
    pub(crate) options: &'a SyncOptions,
    pub(crate) sync_id: String,
    pub(crate) summary: SyncSummary,
    /// What of `summary` is already added to the `syncs` row.
    committed: SyncSummary,
    pub(crate) pages: usize,
    /// The resource's page count, as its last page said.
    pub(crate) total_pages: Option<u64>,
}

/// Where a sync stands, after each committed page.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// The tenant being synced.
    pub tenant: &'a str,
    /// companies, products, subscriptions, invoices or usage_summaries.
    pub resource: &'a str,
    /// The page just committed (0 is the first).
    pub page: u32,
    /// The resource's pages, when the API says.
    pub pages: Option<u64>,
    /// Items fetched so far by this run, every resource together.
    pub fetched: u64,
}

impl Run<'_> {
    pub(crate) fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Inserted => self.summary.inserted += 1,
            Outcome::Updated => self.summary.updated += 1,
            Outcome::Unchanged => self.summary.unchanged += 1,
        }
    }

    async fn next_page(&self, resource: &str) -> Result<Option<u32>, SyncError> {
        let row = sqlx::query("SELECT next_page, done FROM sync_checkpoints WHERE sync_id = $1 AND resource = $2")
            .bind(self.sync_id.clone())
            .bind(resource.to_string())
            .fetch_optional(&self.store.pool)
            .await?;
        Ok(match row {
            None => Some(0),
            Some(r) if r.try_get::<i64, _>("done")? == 1 => None,
            Some(r) => Some(r.try_get::<i64, _>("next_page")? as u32),
        })
    }

    pub(crate) async fn checkpoint(
        &self,
        tx: &mut Transaction<'_, Any>,
        resource: &str,
        next: u32,
        done: bool,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO sync_checkpoints (sync_id, resource, next_page, done) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (sync_id, resource) DO UPDATE SET next_page = excluded.next_page, done = excluded.done",
        )
        .bind(self.sync_id.clone())
        .bind(resource.to_string())
        .bind(i64::from(next))
        .bind(i64::from(done))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Commits a page's checkpoint and stops when asked to.
    pub(crate) async fn finish_page(
        &mut self,
        mut tx: Transaction<'_, Any>,
        resource: &str,
        page: u32,
        last: bool,
    ) -> Result<(), SyncError> {
        self.checkpoint(&mut tx, resource, page + 1, last).await?;
        self.add_counts(&mut tx).await?;
        sqlx::query("UPDATE sync_lock SET heartbeat = $1 WHERE name = $2 AND holder = $3")
            .bind(wall_clock())
            .bind(self.options.tenant.clone())
            .bind(self.sync_id.clone())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.committed = self.summary;
        self.pages += 1;
        if self.options.stop_after_pages.is_some_and(|n| self.pages >= n) {
            return Err(SyncError::Interrupted);
        }
        Ok(())
    }

    /// Adds what this run counted since the last commit to the `syncs` row (in `tx`).
    async fn add_counts(&self, tx: &mut Transaction<'_, Any>) -> Result<(), sqlx::Error> {
        let (now, before) = (self.summary, self.committed);
        let delta = |a: u64, b: u64| i64::try_from(a.saturating_sub(b)).unwrap_or(i64::MAX);
        sqlx::query(
            "UPDATE syncs SET fetched = fetched + $1, inserted = inserted + $2, updated = updated + $3, \
             unchanged = unchanged + $4, removed = removed + $5, snapshots = snapshots + $6 WHERE id = $7",
        )
        .bind(delta(now.fetched, before.fetched))
        .bind(delta(now.inserted, before.inserted))
        .bind(delta(now.updated, before.updated))
        .bind(delta(now.unchanged, before.unchanged))
        .bind(delta(now.removed, before.removed))
        .bind(delta(now.snapshots, before.snapshots))
        .bind(self.sync_id.clone())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub(crate) fn is_last<T>(&mut self, page: &Page<T>, number: u32) -> bool {
        self.total_pages = page.total_pages;
        page.items.len() < self.options.page_size as usize
            || page.total_pages.is_none_or(|t| u64::from(number) + 1 >= t)
    }
}

/// Mirrors the tenant behind `client` into `store` as `options.tenant`. `progress` is called
/// after each committed page.
pub async fn sync(
    store: &Store,
    client: &Pax8Client,
    options: &SyncOptions,
    progress: &(dyn Fn(&Progress<'_>) + Send + Sync),
) -> Result<SyncSummary, SyncError> {
    let tenant = options.tenant.as_str();
    if tenant.trim().is_empty() || tenant.len() > 100 {
        return Err(SyncError::Invalid(format!("tenant `{tenant}`: give a name of 1 to 100 characters")));
    }
    let running = sqlx::query("SELECT id FROM syncs WHERE status = 'running' AND tenant = $1 ORDER BY started_at DESC")
        .bind(tenant.to_string())
        .fetch_optional(&store.pool)
        .await?
        .map(|r| r.try_get::<String, _>("id"))
        .transpose()?;
    let resumed = running.is_some();
    let sync_id = running.unwrap_or_else(|| Uuid::new_v4().to_string());
    lock(store, tenant, &sync_id, options.lock_wait).await?;
    let result = run_sync(store, client, options, progress, sync_id.clone(), resumed).await;
    // Released whatever happened; a killed process's lock goes stale instead.
    let released = sqlx::query("DELETE FROM sync_lock WHERE name = $1 AND holder = $2")
        .bind(tenant.to_string())
        .bind(sync_id)
        .execute(&store.pool)
        .await;
    let summary = result?;
    released?;
    Ok(summary)
}

fn wall_clock() -> String {
    chrono::Utc::now().to_rfc3339()
}

/// Takes `tenant`'s lock for `sync_id`: waits (up to `wait`) while another sync of the tenant
/// holds it, takes over a lock whose holder made no progress for [`LOCK_STALE_AFTER`].
async fn lock(store: &Store, tenant: &str, sync_id: &str, wait: std::time::Duration) -> Result<(), SyncError> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let now = chrono::Utc::now();
        let taken = sqlx::query(
            "INSERT INTO sync_lock (name, holder, since, heartbeat) VALUES ($1, $2, $3, $3) ON CONFLICT (name) DO NOTHING",
        )
        .bind(tenant.to_string())
        .bind(sync_id.to_string())
        .bind(now.to_rfc3339())
        .execute(&store.pool)
        .await?;
        if taken.rows_affected() == 1 {
            return Ok(());
        }
        let Some(row) = sqlx::query("SELECT holder, since, heartbeat FROM sync_lock WHERE name = $1")
            .bind(tenant.to_string())
            .fetch_optional(&store.pool)
            .await?
        else {
            continue; // released in between: try again
        };
        let (holder, since, heartbeat): (String, String, String) =
            (row.try_get("holder")?, row.try_get("since")?, row.try_get("heartbeat")?);
        if holder == sync_id {
            return Ok(()); // resuming our own sync
        }
        let stale = chrono::DateTime::parse_from_rfc3339(&heartbeat)
            .map(|h| now.signed_duration_since(h).to_std().unwrap_or_default() >= LOCK_STALE_AFTER)
            .unwrap_or(true);
        if stale {
            tracing::warn!(%holder, %heartbeat, "pax8-sync: taking over the lock of a sync that stopped making progress");
            sqlx::query("DELETE FROM sync_lock WHERE name = $1 AND holder = $2")
                .bind(tenant.to_string())
                .bind(holder)
                .execute(&store.pool)
                .await?;
            continue;
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(SyncError::Busy { holder, since });
        }
        tracing::info!(%holder, %since, "pax8-sync: another sync holds the database; waiting");
        tokio::time::sleep(std::time::Duration::from_millis(200).min(wait)).await;
    }
}

async fn run_sync(
    store: &Store,
    client: &Pax8Client,
    options: &SyncOptions,
    progress: &(dyn Fn(&Progress<'_>) + Send + Sync),
    sync_id: String,
    resumed: bool,
) -> Result<SyncSummary, SyncError> {
    if !resumed {
        sqlx::query("INSERT INTO syncs (id, started_at, status, tenant) VALUES ($1, $2, 'running', $3)")
            .bind(sync_id.clone())
            .bind(options.now.to_rfc3339())
            .bind(options.tenant.clone())
            .execute(&store.pool)
            .await?;
    }
    let mut run = Run {
        store,
        client,
        options,
        sync_id,
        summary: SyncSummary { resumed, ..Default::default() },
        committed: SyncSummary::default(),
        pages: 0,
        total_pages: None,
    };
    for resource in RESOURCES {
        while let Some(page) = run.next_page(resource).await? {
            match resource {
                "companies" => entities::companies(&mut run, page).await?,
                "products" => entities::products(&mut run, page).await?,
                "subscriptions" => entities::subscriptions(&mut run, page).await?,
                "invoices" => entities::invoices(&mut run, page).await?,
                _ => entities::usage(&mut run, page).await?,
            }
            progress(&Progress {
                tenant: &options.tenant,
                resource,
                page,
                pages: run.total_pages,
                fetched: run.summary.fetched,
            });
        }
    }
    // Everything not seen in this sync disappeared upstream.
    let mut tx = store.pool.begin().await?;
    for table in ["companies", "contacts", "products", "subscriptions", "invoices", "invoice_items", "usage_summaries"]
    {
        let done = dyn_query(format!(
            "UPDATE {table} SET removed_at = $1 WHERE tenant = $3 AND removed_at IS NULL \
             AND (last_seen_sync IS NULL OR last_seen_sync <> $2)"
        ))
        .bind(options.now.to_rfc3339())
        .bind(run.sync_id.clone())
        .bind(options.tenant.clone())
        .execute(&mut *tx)
        .await?;
        run.summary.removed += done.rows_affected();
    }
    run.add_counts(&mut tx).await?;
    sqlx::query("UPDATE syncs SET status = 'finished', finished_at = $1 WHERE id = $2")
        .bind(options.now.to_rfc3339())
        .bind(run.sync_id.clone())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    // The whole sync's counts, every run that worked on it included.
    let totals =
        sqlx::query("SELECT fetched, inserted, updated, unchanged, removed, snapshots FROM syncs WHERE id = $1")
            .bind(run.sync_id.clone())
            .fetch_one(&store.pool)
            .await?;
    let count =
        |name: &str| -> Result<u64, sqlx::Error> { Ok(u64::try_from(totals.try_get::<i64, _>(name)?).unwrap_or(0)) };
    Ok(SyncSummary {
        fetched: count("fetched")?,
        inserted: count("inserted")?,
        updated: count("updated")?,
        unchanged: count("unchanged")?,
        removed: count("removed")?,
        snapshots: count("snapshots")?,
        resumed,
    })
}
