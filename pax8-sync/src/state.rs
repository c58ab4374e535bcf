//! Where one run of a sync stands ([`Run`]): its counts, the page it is on, its odd items, and
//! the commits that make a page and its checkpoint durable together.

use pax8_ext::{Page, Pax8Client};
use sqlx::{Any, Row, Transaction};

use crate::lock::wall_clock;
use crate::options::{SyncOptions, SyncSummary};

use crate::rows::Record;
use crate::write::{Outcome, upsert_all};
use crate::{Store, SyncError};

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
    pub(crate) requests_at_start: u64,
    pub(crate) summary: SyncSummary,
    /// What of `summary` is already added to the `syncs` row.
    pub(crate) committed: SyncSummary,
    pub(crate) pages: usize,
    /// The resource's page count, as its last page said.
    pub(crate) total_pages: Option<u64>,
    /// Where the tolerant pages report their odd items until the page's transaction records them.
    pub(crate) odd: pax8_ext::tolerant::OddItems,
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
    pub(crate) async fn record_odd(&mut self, tx: &mut Transaction<'_, Any>) -> Result<(), sqlx::Error> {
        let odd = self.odd.take();
        if !odd.is_empty() {
            self.summary.odd_rows += crate::odd::record(tx, &self.options.tenant, &self.sync_id, odd).await?;
        }
        Ok(())
    }

    pub(crate) fn count_all(&mut self, outcomes: &[(String, Outcome)]) {
        tally(&mut self.summary, outcomes);
    }

    pub(crate) fn fetched(&mut self, items: usize) {
        self.summary.fetched += items as u64;
    }

    pub(crate) async fn next_page(&self, resource: &str) -> Result<Option<u32>, SyncError> {
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
        let mut tx = self.store.begin_page().await?;
        sqlx::query("UPDATE sync_checkpoints SET done = 1 WHERE sync_id = $1 AND resource = $2")
            .bind(self.sync_id.clone())
            .bind(resource.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Counts a part of a page that its own transaction wrote and counted in the `syncs` row
    /// ([`Part`]): its items are fetched (progress reports them) and already committed. (The
    /// sync's summary is read from that row at its end.)
    pub(crate) fn counted_by_part(&mut self, part: &Part) {
        self.summary.fetched += part.fetched;
        self.committed.fetched += part.fetched;
    }

    /// Adds what this run counted since the last commit to the `syncs` row (in `tx`).
    pub(crate) async fn add_counts(&self, tx: &mut Transaction<'_, Any>) -> Result<(), sqlx::Error> {
        let (now, before) = (self.summary, self.committed);
        let delta = SyncSummary {
            fetched: now.fetched.saturating_sub(before.fetched),
            inserted: now.inserted.saturating_sub(before.inserted),
            updated: now.updated.saturating_sub(before.updated),
            unchanged: now.unchanged.saturating_sub(before.unchanged),
            removed: now.removed.saturating_sub(before.removed),
            snapshots: now.snapshots.saturating_sub(before.snapshots),
            requests: now.requests.saturating_sub(before.requests),
            skipped: now.skipped.saturating_sub(before.skipped),
            ..SyncSummary::default()
        };
        add_to_sync_row(tx, &self.sync_id, &delta).await
    }

    pub(crate) fn is_last<T>(&mut self, page: &Page<T>, number: u32) -> bool {
        self.total_pages = page.total_pages;
        page.sent() < self.options.page_size as usize || page.total_pages.is_none_or(|t| u64::from(number) + 1 >= t)
    }
}

/// Part of a page's rows (an invoice's items, some pages at a time), written and committed with
/// its counts by a transaction of its own, but not with the checkpoint: the page is read again
/// if the run stops before it ends, and rewriting the same rows is harmless. A part does not
/// borrow the run, so several can be written at once (each on its own connection).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Part {
    /// Its items (its other counts are in the `syncs` row only).
    pub(crate) fetched: u64,
}

impl Part {
    /// Writes `records` of `tenant` for sync `sync_id` and commits them with their counts.
    pub(crate) async fn write(
        store: &Store,
        tenant: &str,
        sync_id: &str,
        records: Vec<Record>,
    ) -> Result<Part, SyncError> {
        let mut tx = store.begin_page().await?;
        let fetched = records.len() as u64;
        let outcomes = upsert_all(&mut tx, tenant, records, Some(sync_id)).await?;
        let mut counts = SyncSummary { fetched, ..SyncSummary::default() };
        tally(&mut counts, &outcomes);
        add_to_sync_row(&mut tx, sync_id, &counts).await?;
        tx.commit().await?;
        Ok(Part { fetched })
    }
}

/// Adds each outcome to the inserted, updated or unchanged of `counts`.
fn tally(counts: &mut SyncSummary, outcomes: &[(String, Outcome)]) {
    for (_, outcome) in outcomes {
        match outcome {
            Outcome::Inserted => counts.inserted += 1,
            Outcome::Updated => counts.updated += 1,
            Outcome::Unchanged => counts.unchanged += 1,
        }
    }
}

/// Adds `delta`'s counts to sync `sync_id`'s row (in `tx`).
async fn add_to_sync_row(tx: &mut Transaction<'_, Any>, sync_id: &str, delta: &SyncSummary) -> Result<(), sqlx::Error> {
    let value = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    sqlx::query(
        "UPDATE syncs SET fetched = fetched + $1, inserted = inserted + $2, updated = updated + $3, \
         unchanged = unchanged + $4, removed = removed + $5, snapshots = snapshots + $6, \
         requests = requests + $7, skipped = skipped + $8 WHERE id = $9",
    )
    .bind(value(delta.fetched))
    .bind(value(delta.inserted))
    .bind(value(delta.updated))
    .bind(value(delta.unchanged))
    .bind(value(delta.removed))
    .bind(value(delta.snapshots))
    .bind(value(delta.requests))
    .bind(value(delta.skipped))
    .bind(sync_id.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
