//! Where one run of a sync stands ([`Run`]): its counts, the page it is on, its odd items, and
//! what its reading and writing need of it ([`Reader`], [`Writer`]); every page it writes is a
//! [`Part`].

use pax8_ext::{Page, Pax8Client};
use sqlx::{Any, Row, Transaction};

use crate::options::{SyncOptions, SyncSummary};

use crate::part::{Part, Writer};
use crate::tally::add_to_sync_row;
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
    /// Pages and parts committed by this run.
    pub(crate) pages: usize,
    /// The resource's page count, as its last page said.
    pub(crate) total_pages: Option<u64>,
    /// Where the tolerant pages report their odd items until the page's transaction records them.
    pub(crate) odd: pax8_ext::tolerant::OddItems,
}

/// What reading a page's children needs of the run, without borrowing it (its writes go on
/// meanwhile, [`crate::part::InOrder::beside`]).
pub(crate) struct Reader<'a> {
    pub(crate) store: &'a Store,
    pub(crate) client: &'a Pax8Client,
    pub(crate) options: &'a SyncOptions,
    pub(crate) sync_id: String,
    /// The listings' call options ([`Run::tolerant`]).
    pub(crate) tolerant: pax8_ext::CallOptions,
    /// Everything is re-read.
    pub(crate) full: bool,
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

impl<'a> Run<'a> {
    /// The options of every listing the sync reads: pages decoded item by item, odd items
    /// reported rather than failing the page (`odd.rs`).
    pub(crate) fn tolerant(&self) -> pax8_ext::CallOptions {
        pax8_ext::CallOptions::default().tolerate_odd_items(self.odd.clone())
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

    /// Counts a part that its own transaction wrote and counted in the `syncs` row ([`Part`]):
    /// its items are fetched (progress reports them) and already committed (the sync's summary
    /// is read from that row at its end). A part is a commit: the run stops here when the
    /// options ask to stop after this many ([`SyncError::Interrupted`]).
    pub(crate) fn counted_by_part(&mut self, part: &Part) -> Result<(), SyncError> {
        self.summary.fetched += part.fetched;
        self.committed.fetched += part.fetched;
        self.count_commit()
    }

    /// One more page or part committed; [`SyncError::Interrupted`] when the options ask to stop.
    fn count_commit(&mut self) -> Result<(), SyncError> {
        self.pages += 1;
        if self.options.stop_after_pages.is_some_and(|n| self.pages >= n) {
            return Err(SyncError::Interrupted);
        }
        Ok(())
    }

    /// What reading needs of the run.
    pub(crate) fn reader(&self) -> Reader<'a> {
        Reader {
            store: self.store,
            client: self.client,
            options: self.options,
            sync_id: self.sync_id.clone(),
            tolerant: self.tolerant(),
            full: self.full,
        }
    }

    /// Who writes this run's parts ([`crate::part::InOrder`]).
    pub(crate) fn writer(&self) -> Writer<'a> {
        Writer {
            store: self.store,
            tenant: self.options.tenant.clone(),
            sync_id: self.sync_id.clone(),
            now: self.options.now,
        }
    }

    /// What this run counted that no commit carried yet (its requests, skipped lists and
    /// removals; the parts count their own rows), handed to the commit that will carry it: a
    /// part, or the sync's last transaction. Lost with that commit if it fails, as the run then
    /// ends: a resumed sync counts its own.
    pub(crate) fn take_uncommitted(&mut self) -> SyncSummary {
        self.summary.skipped = self.skipped;
        self.summary.requests = self.client.requests_sent().saturating_sub(self.requests_at_start);
        let (now, before) = (self.summary, self.committed);
        self.committed = self.summary;
        SyncSummary {
            removed: now.removed.saturating_sub(before.removed),
            requests: now.requests.saturating_sub(before.requests),
            skipped: now.skipped.saturating_sub(before.skipped),
            ..SyncSummary::default()
        }
    }

    /// Adds what no commit carried yet ([`Run::take_uncommitted`]) to the `syncs` row in `tx`.
    pub(crate) async fn add_counts(&mut self, tx: &mut Transaction<'_, Any>) -> Result<(), sqlx::Error> {
        let delta = self.take_uncommitted();
        add_to_sync_row(tx, &self.sync_id, &delta).await
    }

    pub(crate) fn is_last<T>(&mut self, page: &Page<T>, number: u32) -> bool {
        self.total_pages = page.total_pages;
        page.sent() < self.options.page_size as usize || page.total_pages.is_none_or(|t| u64::from(number) + 1 >= t)
    }
}
