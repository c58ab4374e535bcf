//! Writes that do not borrow the run ([`Part`]): a listing's page (products, subscriptions) or
//! some pages of an invoice's items, each by a transaction of its own with its counts, its
//! checkpoints and the lock's heartbeat. [`InOrder`] writes several at once on PostgreSQL (one
//! connection each) while the next is read, and commits them in the order they were read, so a
//! checkpoint never claims rows a write before it had not committed.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use futures::future::{self, BoxFuture, Either};
use futures::stream::{FuturesOrdered, StreamExt};
use pax8_ext::tolerant::OddItem;
use tokio::sync::oneshot;

use crate::lock::wall_clock;
use crate::marks::{self, Mark, Marked};
use crate::options::SyncSummary;
use crate::rows::Record;
use crate::state::{Checkpoint, Run, add_to_sync_row, save_checkpoint, tally};
use crate::write::{Outcome, SnapshotSource, snapshot_all, upsert_all};
use crate::{Store, SyncError};

/// What one part writes: rows (a table's after another's: a page's children before the page),
/// the read marks of its parents, how far it read (its checkpoints), the odd items met since
/// the last part was started, and for subscriptions their snapshots.
#[derive(Default)]
pub(crate) struct PartWrite {
    /// The listing's page it holds (progress reports it once committed); none for items.
    pub(crate) page: Option<u32>,
    pub(crate) records: Vec<Record>,
    pub(crate) marks: Option<(Mark, Marked)>,
    pub(crate) checkpoints: Vec<Checkpoint>,
    pub(crate) odd: Vec<OddItem>,
    pub(crate) snapshots: Snapshots,
}

/// Which of a part's rows are snapshotted (subscriptions only).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Snapshots {
    /// Not subscriptions.
    #[default]
    None,
    /// Those inserted or changed.
    Changed,
    /// Every one this sync had not counted before (the week's baseline).
    All,
}

impl Snapshots {
    /// Whether a row with `outcome` is snapshotted.
    fn wanted(self, outcome: Outcome) -> bool {
        match (self, outcome) {
            (Snapshots::None, _) | (_, Outcome::AlreadyCounted) => false,
            (_, Outcome::Inserted | Outcome::Updated) => true,
            (Snapshots::Changed, Outcome::Unchanged) => false,
            (Snapshots::All, Outcome::Unchanged) => true,
        }
    }
}

/// A committed part: its page, if a listing's, and its items not counted before (its other
/// counts are in the `syncs` row only).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Part {
    pub(crate) page: Option<u32>,
    pub(crate) fetched: u64,
}

/// Which sync writes, for whom.
#[derive(Debug, Clone)]
pub(crate) struct Writer<'s> {
    pub(crate) store: &'s Store,
    pub(crate) tenant: String,
    pub(crate) sync_id: String,
    /// When the sync started: its snapshots' time.
    pub(crate) now: DateTime<Utc>,
}

impl Writer<'_> {
    /// Writes `part` and commits it with its counts, checkpoints and a heartbeat, after
    /// `previous` (the part before, written at the same time on another connection)
    /// committed. `previous_first` waits for it before writing anything: the part has rows the
    /// one before has too, which the one before may be writing.
    pub(crate) async fn write(
        &self,
        part: PartWrite,
        previous: Option<oneshot::Receiver<()>>,
        previous_first: bool,
    ) -> Result<Part, SyncError> {
        // The part before failed (its error ends the sync): this one is not committed.
        let after = |previous: oneshot::Receiver<()>| async { previous.await.map_err(|_| SyncError::Interrupted) };
        let mut previous = previous;
        if previous_first && let Some(before) = previous.take() {
            after(before).await?;
        }
        let mut tx = self.store.begin_page().await?;
        let mut counts = SyncSummary::default();
        for records in by_table(part.records) {
            let outcomes = upsert_all(&mut tx, &self.tenant, records, Some(&self.sync_id)).await?;
            tally(&mut counts, &outcomes);
            if part.snapshots != Snapshots::None {
                let ids: Vec<String> = outcomes
                    .iter()
                    .filter(|(_, outcome)| part.snapshots.wanted(*outcome))
                    .map(|(id, _)| id.clone())
                    .collect();
                counts.snapshots +=
                    snapshot_all(&mut tx, &self.tenant, &self.sync_id, self.now, &ids, SnapshotSource::Sync).await?;
            }
        }
        if let Some((mark, marks)) = &part.marks {
            marks::set(&mut tx, &self.tenant, *mark, marks, &self.sync_id).await?;
        }
        if let Some(before) = previous {
            after(before).await?;
        }
        // What follows touches rows every part shares: only after the part before committed.
        add_to_sync_row(&mut tx, &self.sync_id, &counts).await?;
        for checkpoint in &part.checkpoints {
            save_checkpoint(&mut tx, &self.sync_id, checkpoint).await?;
        }
        if !part.odd.is_empty() {
            crate::odd::record(&mut tx, &self.tenant, &self.sync_id, part.odd).await?;
        }
        sqlx::query("UPDATE sync_lock SET heartbeat = $1 WHERE name = $2 AND holder = $3")
            .bind(wall_clock())
            .bind(self.tenant.clone())
            .bind(self.sync_id.clone())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Part { page: part.page, fetched: counts.fetched })
    }
}

/// `records` cut where the table changes: one write each.
fn by_table(records: Vec<Record>) -> Vec<Vec<Record>> {
    let mut tables: Vec<Vec<Record>> = Vec::new();
    for record in records {
        match tables.last_mut() {
            Some(table) if table.last().is_some_and(|last| last.table == record.table) => table.push(record),
            _ => tables.push(vec![record]),
        }
    }
    tables
}

/// Parts being written, at most `writers` at once, committed in the order they were started.
pub(crate) struct InOrder<'s> {
    writer: Writer<'s>,
    writers: usize,
    writing: FuturesOrdered<BoxFuture<'s, Result<Part, SyncError>>>,
    /// The last part started: when it commits, and the ids of its rows.
    previous: Option<(oneshot::Receiver<()>, HashSet<String>)>,
}

impl<'s> InOrder<'s> {
    /// Two writers on PostgreSQL, one on SQLite (one connection).
    pub(crate) fn new(writer: Writer<'s>) -> Self {
        let writers = if writer.store.is_postgres() { 2 } else { 1 };
        InOrder { writer, writers, writing: FuturesOrdered::new(), previous: None }
    }

    /// Starts writing `part` once fewer than the writers are writing, handing each part that
    /// commits meanwhile to `committed` with `run`.
    pub(crate) async fn start<'r>(
        &mut self,
        part: PartWrite,
        run: &mut Run<'r>,
        committed: &mut impl FnMut(&mut Run<'r>, Part) -> Result<(), SyncError>,
    ) -> Result<(), SyncError> {
        while self.writing.len() >= self.writers {
            if let Some(written) = self.writing.next().await {
                committed(run, written?)?;
            }
        }
        let ids: HashSet<String> = part.records.iter().map(|r| r.id.clone()).collect();
        let (before, shared) = match self.previous.take() {
            Some((before, before_ids)) => {
                let shared = !before_ids.is_disjoint(&ids);
                (Some(before), shared)
            }
            None => (None, false),
        };
        let (committed, next) = oneshot::channel();
        self.previous = Some((next, ids));
        let writer = self.writer.clone();
        self.writing.push_back(Box::pin(async move {
            let written = writer.write(part, before, shared).await;
            if written.is_ok() {
                let _ = committed.send(());
            }
            written
        }));
        Ok(())
    }

    /// Runs `read` while the parts started go in, handing each part that commits to
    /// `committed` with `run`.
    pub(crate) async fn beside<'r, F: Future>(
        &mut self,
        read: F,
        run: &mut Run<'r>,
        committed: &mut impl FnMut(&mut Run<'r>, Part) -> Result<(), SyncError>,
    ) -> Result<F::Output, SyncError> {
        futures::pin_mut!(read);
        let output = loop {
            match future::select(read.as_mut(), self.writing.next()).await {
                Either::Left((output, _)) => break output,
                Either::Right((Some(written), _)) => committed(run, written?)?,
                Either::Right((None, _)) => break read.await,
            }
        };
        Ok(output)
    }

    /// Waits for every part started, handing each to `committed`.
    pub(crate) async fn finish<'r>(
        &mut self,
        run: &mut Run<'r>,
        committed: &mut impl FnMut(&mut Run<'r>, Part) -> Result<(), SyncError>,
    ) -> Result<(), SyncError> {
        while let Some(written) = self.writing.next().await {
            committed(run, written?)?;
        }
        Ok(())
    }
}
