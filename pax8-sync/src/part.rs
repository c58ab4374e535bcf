//! A sync's writes as parts ([`Part`]): a listing's page (with its companies' contacts, or its
//! invoices' last items) or some pages of an invoice's items, each by a transaction of its own
//! with its counts, its checkpoints and the lock's heartbeat, without borrowing the run.
//! [`InOrder`] writes two at once on PostgreSQL (a connection each) while the next is read, and
//! commits them in the order they were read, so a checkpoint never claims rows a part before it
//! had not committed.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use futures::future::{self, BoxFuture, Either};
use futures::stream::{FuturesOrdered, StreamExt};
use pax8_ext::tolerant::OddItem;
use tokio::sync::oneshot;

use crate::checkpoint::{Checkpoint, save_checkpoint};
use crate::lock::wall_clock;
use crate::marks::{self, Mark, Marked};
use crate::options::SyncSummary;
use crate::rows::Record;
use crate::tally::{add_to_sync_row, tally};
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
    /// What the run counted before it and hands it to commit ([`Run::take_uncommitted`]).
    ///
    /// [`Run::take_uncommitted`]: crate::state::Run::take_uncommitted
    pub(crate) counts: SyncSummary,
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
        let mut counts = part.counts;
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
    /// commits meanwhile to `committed` with `context`.
    pub(crate) async fn start<C>(
        &mut self,
        part: PartWrite,
        context: &mut C,
        committed: &mut impl FnMut(&mut C, Part) -> Result<(), SyncError>,
    ) -> Result<(), SyncError> {
        while self.writing.len() >= self.writers {
            if let Some(written) = self.writing.next().await {
                committed(context, written?)?;
            }
        }
        // With one writer the part before has committed: nothing to compare.
        let ids: HashSet<String> =
            if self.writers > 1 { part.records.iter().map(|r| r.id.clone()).collect() } else { HashSet::new() };
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
    /// `committed` with `context`.
    pub(crate) async fn beside<C, F: Future>(
        &mut self,
        read: F,
        context: &mut C,
        committed: &mut impl FnMut(&mut C, Part) -> Result<(), SyncError>,
    ) -> Result<F::Output, SyncError> {
        futures::pin_mut!(read);
        let output = loop {
            match future::select(read.as_mut(), self.writing.next()).await {
                Either::Left((output, _)) => break output,
                Either::Right((Some(written), _)) => committed(context, written?)?,
                Either::Right((None, _)) => break read.await,
            }
        };
        Ok(output)
    }

    /// Waits for every part started, handing each to `committed`.
    pub(crate) async fn finish<C>(
        &mut self,
        context: &mut C,
        committed: &mut impl FnMut(&mut C, Part) -> Result<(), SyncError>,
    ) -> Result<(), SyncError> {
        while let Some(written) = self.writing.next().await {
            committed(context, written?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::Val;

    /// A fresh PostgreSQL database on the server PAX8_TEST_POSTGRES_URL names (CI always does).
    async fn postgres() -> Option<Store> {
        let Some(admin) = std::env::var("PAX8_TEST_POSTGRES_URL").ok().filter(|v| !v.is_empty()) else {
            assert!(std::env::var_os("CI").is_none(), "CI must provide PAX8_TEST_POSTGRES_URL");
            return None;
        };
        sqlx::any::install_default_drivers();
        let db = format!("pax8_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}"))).execute(&mut conn).await.unwrap();
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap();
        Some(Store::open(&format!("{base}/{db}")).await.unwrap())
    }

    fn product(id: &str) -> Record {
        let columns = vec![("name", Val::Text(Some(id.into()))), ("vendor", Val::Text(None)), ("sku", Val::Text(None))];
        Record::new("products", id.into(), columns, format!(r#"{{"id":"{id}"}}"#))
    }

    fn writer(store: &Store) -> Writer<'_> {
        Writer { store, tenant: "t".into(), sync_id: "s1".into(), now: "2026-11-23T12:00:00Z".parse().unwrap() }
    }

    /// Two parts in flight on PostgreSQL's two writers, the second holding a row the first
    /// writes last: the second waits for the first before writing (had it written the row
    /// first, each would wait for the other forever), and the row is counted once.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_part_holding_a_row_of_the_part_before_waits_for_it() {
        let Some(store) = postgres().await else { return };
        let mut first: Vec<Record> = (0..3_000).map(|i| product(&format!("p-{i:04}"))).collect();
        first.push(product("shared"));
        let second = vec![product("shared"), product("q-1")];
        let mut writing = InOrder::new(writer(&store));
        assert_eq!(writing.writers, 2);
        let mut parts: Vec<Part> = Vec::new();
        let mut committed = |parts: &mut Vec<Part>, part: Part| {
            parts.push(part);
            Ok(())
        };
        let both = async {
            for (page, records) in [(0, first), (1, second)] {
                let part = PartWrite { page: Some(page), records, ..PartWrite::default() };
                writing.start(part, &mut parts, &mut committed).await?;
            }
            writing.finish(&mut parts, &mut committed).await
        };
        tokio::time::timeout(std::time::Duration::from_secs(60), both).await.expect("no lock cycle").unwrap();
        let fetched: Vec<(Option<u32>, u64)> = parts.iter().map(|p| (p.page, p.fetched)).collect();
        assert_eq!(fetched, [(Some(0), 3_001), (Some(1), 1)], "committed in order, the shared row counted once");
    }

    /// A part commits its counts, checkpoints, odd items and the lock's heartbeat with its rows.
    #[tokio::test]
    async fn a_part_commits_its_counts_checkpoints_and_a_heartbeat() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&format!("sqlite://{}", dir.path().join("part.db").display())).await.unwrap();
        for sql in [
            "INSERT INTO syncs (id, started_at, status, tenant) VALUES ('s1', '2026-11-23T12:00:00Z', 'running', 't')",
            "INSERT INTO sync_lock (name, holder, since, heartbeat) VALUES ('t', 's1', '2000-01-01T00:00:00Z', '2000-01-01T00:00:00Z')",
        ] {
            sqlx::query(sql).execute(&store.pool).await.unwrap();
        }
        let odd = OddItem {
            operation: "findAllProducts",
            kind: pax8_ext::tolerant::OddKind::Repaired,
            index: None,
            id: None,
            reason: "odd".into(),
        };
        let part = PartWrite {
            page: Some(4),
            records: vec![product("a"), product("b")],
            checkpoints: vec![Checkpoint { resource: "products".into(), next_page: 5, done: true }],
            odd: vec![odd],
            ..PartWrite::default()
        };
        let written = writer(&store).write(part, None, false).await.unwrap();
        assert_eq!(written, Part { page: Some(4), fetched: 2 });
        let one = |sql: &'static str| {
            let pool = store.pool.clone();
            async move { sqlx::query(sql).fetch_one(&pool).await.unwrap() }
        };
        use sqlx::Row;
        let sync = one("SELECT fetched, inserted FROM syncs WHERE id = 's1'").await;
        assert_eq!((sync.get::<i64, _>("fetched"), sync.get::<i64, _>("inserted")), (2, 2));
        let checkpoint = one("SELECT next_page, done FROM sync_checkpoints WHERE sync_id = 's1'").await;
        assert_eq!((checkpoint.get::<i64, _>("next_page"), checkpoint.get::<i64, _>("done")), (5, 1));
        assert_eq!(one("SELECT COUNT(*) AS n FROM odd_rows").await.get::<i64, _>("n"), 1);
        let heartbeat: String = one("SELECT heartbeat FROM sync_lock WHERE name = 't'").await.get("heartbeat");
        assert!(heartbeat.as_str() > "2026", "the lock's heartbeat moved: {heartbeat}");
    }

    #[test]
    fn snapshots_follow_what_happened_to_each_row() {
        use Outcome::{AlreadyCounted, Inserted, Unchanged, Updated};
        let wanted = |s: Snapshots| [Inserted, Updated, Unchanged, AlreadyCounted].map(|o| s.wanted(o));
        assert_eq!(wanted(Snapshots::None), [false; 4]);
        assert_eq!(wanted(Snapshots::Changed), [true, true, false, false]);
        assert_eq!(wanted(Snapshots::All), [true, true, true, false]);
    }

    #[test]
    fn records_are_cut_where_their_table_changes() {
        let contact = |id: &str| Record::new("contacts", id.into(), Vec::new(), "{}".into());
        let tables: Vec<Vec<String>> = by_table(vec![product("a"), product("b"), contact("c"), product("d")])
            .into_iter()
            .map(|t| t.into_iter().map(|r| r.id).collect())
            .collect();
        assert_eq!(tables, [vec!["a", "b"], vec!["c"], vec!["d"]]);
    }
}
