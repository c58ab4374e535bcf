//! Checkpointed runs: one sync of one tenant at a time (`lock`), full or incremental, one
//! transaction per page with its checkpoint and its counts, resumption after a kill, and rows
//! no longer upstream marked removed.

use chrono::{DateTime, Utc};
use pax8_ext::{Page, Pax8Client};
use serde::Serialize;
use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use crate::lock::{LOCK_WAIT, lock, wall_clock};
use crate::store::dyn_query;
use crate::write::Outcome;
use crate::{DEFAULT_TENANT, Store, SyncError, entities};

/// Whether a sync re-reads everything or only what can have changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    /// Lists are read whole; a company's contacts only when the company is new, its
    /// `updatedDate` moved or is unknown, or a webhook touched it; an invoice's items only
    /// while it is not final; Azure usage once per [`SyncOptions::usage_max_age`]. Becomes a
    /// full sync when the tenant's last full one is older than [`SyncOptions::full_after`].
    #[default]
    Incremental,
    /// Everything re-read.
    Full,
}

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
    /// Incremental (the default) or full.
    pub mode: SyncMode,
    /// An incremental sync is full when the tenant's last full sync started longer ago than
    /// this ([`FULL_AFTER`], a week, by default), or there was none: the safety net for changes
    /// no date or status shows.
    pub full_after: std::time::Duration,
    /// Azure usage summaries read longer ago than this are read again ([`USAGE_MAX_AGE`]).
    pub usage_max_age: chrono::Duration,
    /// Child lists (contacts, invoice items, usage) fetched at once (4 by default); every
    /// request goes through the client's one rate limiter.
    pub concurrency: usize,
}

/// How old the last full sync may be before an incremental sync is full.
pub const FULL_AFTER: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);
/// How old Azure usage may be before a sync reads it again: Pax8 updates usage about daily.
pub const USAGE_MAX_AGE: chrono::Duration = chrono::Duration::hours(12);

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            page_size: 200,
            now: Utc::now(),
            stop_after_pages: None,
            lock_wait: LOCK_WAIT,
            tenant: DEFAULT_TENANT.to_string(),
            mode: SyncMode::Incremental,
            full_after: FULL_AFTER,
            usage_max_age: USAGE_MAX_AGE,
            concurrency: 4,
        }
    }
}

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
    /// API requests sent (retries included; token requests excluded).
    pub requests: u64,
    /// Child lists not re-read because they cannot have changed (a company's contacts, an
    /// invoice's items, a subscription's usage): each one request or more saved.
    pub skipped: u64,
    /// Whether everything was re-read.
    pub full: bool,
    /// Whether this run continued an interrupted one.
    pub resumed: bool,
    /// Renewal plans applied earlier that this sync saw done (`Store::confirm_plans`).
    pub plans_confirmed: u64,
    /// Items of the API's answers left out or repaired because their values fit no field of
    /// their type (listed in the `odd_rows` table; the rest of the sync went on).
    pub odd_rows: u64,
}

pub(crate) struct Run<'a> {
    pub(crate) store: &'a Store,
    pub(crate) client: &'a Pax8Client,
    pub(crate) options: &'a SyncOptions,
    pub(crate) sync_id: String,
    /// Everything is re-read.
    pub(crate) full: bool,
    /// Every subscription is snapshotted (the week's first sync), not only those that changed.
    pub(crate) baseline: bool,
    /// Child lists skipped since the run started.
    pub(crate) skipped: u64,
    /// The client's request count when the run started.
    requests_at_start: u64,
    pub(crate) summary: SyncSummary,
    /// What of `summary` is already added to the `syncs` row.
    committed: SyncSummary,
    pub(crate) pages: usize,
    /// The resource's page count, as its last page said.
    pub(crate) total_pages: Option<u64>,
    /// Where the tolerant pages report their odd items until the page's transaction records them.
    odd: pax8_ext::tolerant::OddItems,
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
    /// The options of every listing the sync reads: pages decoded item by item, odd items
    /// reported rather than failing the page (`odd.rs`).
    pub(crate) fn tolerant(&self) -> pax8_ext::CallOptions {
        pax8_ext::CallOptions::default().tolerate_odd_items(self.odd.clone())
    }

    /// Records the odd items reported since the last commit in `tx`.
    async fn record_odd(&mut self, tx: &mut Transaction<'_, Any>) -> Result<(), sqlx::Error> {
        let odd = self.odd.take();
        if !odd.is_empty() {
            self.summary.odd_rows += crate::odd::record(tx, &self.options.tenant, &self.sync_id, odd).await?;
        }
        Ok(())
    }

    pub(crate) fn count_all(&mut self, outcomes: &[(String, Outcome)]) {
        for (_, outcome) in outcomes {
            match outcome {
                Outcome::Inserted => self.summary.inserted += 1,
                Outcome::Updated => self.summary.updated += 1,
                Outcome::Unchanged => self.summary.unchanged += 1,
            }
        }
    }

    pub(crate) fn fetched(&mut self, items: usize) {
        self.summary.fetched += items as u64;
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
        self.record_odd(&mut tx).await?;
        self.summary.skipped = self.skipped;
        self.summary.requests = self.client.requests_sent().saturating_sub(self.requests_at_start);
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

    /// Marks a listing read to its end (its last page's checkpoint may not have said so: a full
    /// last page is only known last when the next one comes back empty).
    pub(crate) async fn finish_listing(&mut self, resource: &str) -> Result<(), SyncError> {
        let mut tx = self.store.begin_keyed().await?;
        sqlx::query("UPDATE sync_checkpoints SET done = 1 WHERE sync_id = $1 AND resource = $2")
            .bind(self.sync_id.clone())
            .bind(resource.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Commits part of a page's rows (an invoice's items, a chunk at a time) with their counts
    /// but not the checkpoint: the page is read again if the run stops before it ends, and
    /// rewriting the same rows is harmless.
    pub(crate) async fn commit_part(&mut self, mut tx: Transaction<'_, Any>) -> Result<(), SyncError> {
        self.record_odd(&mut tx).await?;
        self.summary.skipped = self.skipped;
        self.summary.requests = self.client.requests_sent().saturating_sub(self.requests_at_start);
        self.add_counts(&mut tx).await?;
        tx.commit().await?;
        self.committed = self.summary;
        Ok(())
    }

    /// Adds what this run counted since the last commit to the `syncs` row (in `tx`).
    async fn add_counts(&self, tx: &mut Transaction<'_, Any>) -> Result<(), sqlx::Error> {
        let (now, before) = (self.summary, self.committed);
        let delta = |a: u64, b: u64| i64::try_from(a.saturating_sub(b)).unwrap_or(i64::MAX);
        sqlx::query(
            "UPDATE syncs SET fetched = fetched + $1, inserted = inserted + $2, updated = updated + $3, \
             unchanged = unchanged + $4, removed = removed + $5, snapshots = snapshots + $6, \
             requests = requests + $7, skipped = skipped + $8 WHERE id = $9",
        )
        .bind(delta(now.fetched, before.fetched))
        .bind(delta(now.inserted, before.inserted))
        .bind(delta(now.updated, before.updated))
        .bind(delta(now.unchanged, before.unchanged))
        .bind(delta(now.removed, before.removed))
        .bind(delta(now.snapshots, before.snapshots))
        .bind(delta(now.requests, before.requests))
        .bind(delta(now.skipped, before.skipped))
        .bind(self.sync_id.clone())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub(crate) fn is_last<T>(&mut self, page: &Page<T>, number: u32) -> bool {
        self.total_pages = page.total_pages;
        page.sent() < self.options.page_size as usize || page.total_pages.is_none_or(|t| u64::from(number) + 1 >= t)
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

async fn run_sync(
    store: &Store,
    client: &Pax8Client,
    options: &SyncOptions,
    progress: &(dyn Fn(&Progress<'_>) + Send + Sync),
    sync_id: String,
    resumed: bool,
) -> Result<SyncSummary, SyncError> {
    let (full, baseline) = if resumed {
        let row = sqlx::query("SELECT full_sync, baseline FROM syncs WHERE id = $1")
            .bind(sync_id.clone())
            .fetch_one(&store.pool)
            .await?;
        (row.try_get::<i64, _>("full_sync")? == 1, row.try_get::<i64, _>("baseline")? == 1)
    } else {
        let full = options.mode == SyncMode::Full || full_is_due(store, options).await?;
        let baseline = baseline_is_due(store, options).await?;
        sqlx::query(
            "INSERT INTO syncs (id, started_at, status, tenant, full_sync, baseline) VALUES ($1, $2, 'running', $3, $4, $5)",
        )
        .bind(sync_id.clone())
        .bind(options.now.to_rfc3339())
        .bind(options.tenant.clone())
        .bind(i64::from(full))
        .bind(i64::from(baseline))
        .execute(&store.pool)
        .await?;
        (full, baseline)
    };
    let mut run = Run {
        store,
        client,
        options,
        sync_id,
        full,
        baseline,
        skipped: 0,
        requests_at_start: client.requests_sent(),
        summary: SyncSummary { resumed, full, ..Default::default() },
        committed: SyncSummary::default(),
        pages: 0,
        total_pages: None,
        odd: pax8_ext::tolerant::OddItems::new(),
    };
    for entity in entities::Entity::ALL {
        let Some(start) = run.next_page(entity.as_str()).await? else { continue };
        let progressed = |run: &Run<'_>, page| {
            let at = Progress {
                tenant: &options.tenant,
                resource: entity.as_str(),
                page,
                pages: run.total_pages,
                fetched: run.summary.fetched,
            };
            progress(&at);
        };
        match entity.listing(&run, start) {
            // A listing's next pages arrive while one is written; its end is the listing's end.
            Some(mut listing) => {
                while let Some(page) = listing.sync_next(&mut run).await? {
                    progressed(&run, page);
                }
                run.finish_listing(entity.as_str()).await?;
            }
            None => {
                let mut page = Some(start);
                while let Some(number) = page {
                    entities::usage(&mut run, number).await?;
                    progressed(&run, number);
                    page = run.next_page(entity.as_str()).await?;
                }
            }
        }
    }
    // Everything not seen in this sync disappeared upstream, but for the children of parents
    // seen whose lists this sync did not read (they cannot have changed).
    let mut tx = store.pool.begin().await?;
    for (table, parent) in [
        ("companies", None),
        ("contacts", Some(("companies", "company_id"))),
        ("products", None),
        ("subscriptions", None),
        ("invoices", None),
        ("invoice_items", Some(("invoices", "invoice_id"))),
        ("usage_summaries", Some(("subscriptions", "subscription_id"))),
    ] {
        let kept = match parent {
            None => String::new(),
            Some((parent, key)) => format!(
                " AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.tenant = {table}.tenant AND p.id = {table}.{key} \
                 AND p.last_seen_sync = $2 AND (p.children_read_sync IS NULL OR p.children_read_sync <> $2))"
            ),
        };
        let done = dyn_query(format!(
            "UPDATE {table} SET removed_at = $1 WHERE tenant = $3 AND removed_at IS NULL \
             AND (last_seen_sync IS NULL OR last_seen_sync <> $2){kept}"
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
    let totals = sqlx::query(
        "SELECT fetched, inserted, updated, unchanged, removed, snapshots, requests, skipped FROM syncs WHERE id = $1",
    )
    .bind(run.sync_id.clone())
    .fetch_one(&store.pool)
    .await?;
    let count =
        |name: &str| -> Result<u64, sqlx::Error> { Ok(u64::try_from(totals.try_get::<i64, _>(name)?).unwrap_or(0)) };
    let plans_confirmed = store.confirm_plans(&options.tenant, None, "sync").await?;
    let odd_rows = sqlx::query("SELECT COUNT(*) AS n FROM odd_rows WHERE sync_id = $1")
        .bind(run.sync_id.clone())
        .fetch_one(&store.pool)
        .await?
        .try_get::<i64, _>("n")?;
    Ok(SyncSummary {
        plans_confirmed,
        odd_rows: u64::try_from(odd_rows).unwrap_or(0),
        fetched: count("fetched")?,
        inserted: count("inserted")?,
        updated: count("updated")?,
        unchanged: count("unchanged")?,
        removed: count("removed")?,
        snapshots: count("snapshots")?,
        requests: count("requests")?,
        skipped: count("skipped")?,
        full,
        resumed,
    })
}

/// Whether the tenant's last finished full sync started longer than `full_after` before `now`
/// (or there is none).
async fn full_is_due(store: &Store, options: &SyncOptions) -> Result<bool, SyncError> {
    let row = sqlx::query(
        "SELECT MAX(started_at) AS at FROM syncs WHERE tenant = $1 AND status = 'finished' AND full_sync = 1",
    )
    .bind(options.tenant.clone())
    .fetch_one(&store.pool)
    .await?;
    let last: Option<String> = row.try_get("at")?;
    let age = last
        .and_then(|at| DateTime::parse_from_rfc3339(&at).ok())
        .and_then(|at| options.now.signed_duration_since(at).to_std().ok());
    Ok(age.is_none_or(|age| age >= options.full_after))
}

/// Whether no sync of the tenant has snapshotted its subscriptions in `now`'s week (ISO weeks,
/// Monday 00:00 UTC): the week's first sync snapshots every subscription, the others only
/// those that changed, so each subscription has a row per week to compare against.
async fn baseline_is_due(store: &Store, options: &SyncOptions) -> Result<bool, SyncError> {
    let monday = options.now.date_naive().week(chrono::Weekday::Mon).first_day();
    let week_start = monday.and_time(chrono::NaiveTime::MIN).and_utc().to_rfc3339();
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM syncs WHERE tenant = $1 AND baseline = 1 AND status = 'finished' AND started_at >= $2",
    )
    .bind(options.tenant.clone())
    .bind(week_start)
    .fetch_one(&store.pool)
    .await?;
    Ok(row.try_get::<i64, _>("n")? == 0)
}
