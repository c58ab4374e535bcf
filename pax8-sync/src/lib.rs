//! Mirror a Pax8 tenant into SQL (SQLite, embedded, or PostgreSQL) and keep it current.
//!
//! - [`sync`]: pages through companies (with contacts), products, subscriptions, invoices (with
//!   items) and Azure usage summaries; upserts keyed by Pax8 ids, one transaction per page with
//!   its checkpoint, so an interrupted sync leaves the database consistent and the next run
//!   continues where it stopped. Unchanged rows are not rewritten (a content hash decides);
//!   rows that disappeared upstream are marked `removed_at`, never deleted. Each sync adds one
//!   `subscription_snapshots` row per subscription, so seat drift is a query ([`drift`]).
//! - [`receiver`]: a webhook endpoint that checks the bearer token in constant time, bounds the
//!   body, stores each raw event once and applies subscription and company events to the mirror.
//!
//! ```no_run
//! # async fn demo(client: pax8_ext::Pax8Client) -> Result<(), pax8_sync::SyncError> {
//! let store = pax8_sync::Store::open("sqlite://pax8.db").await?;
//! let summary = pax8_sync::sync(&store, &client, &pax8_sync::SyncOptions::default(), &|_, _| {}).await?;
//! println!("{summary:?}");
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod receiver;

use chrono::{DateTime, Utc};
use pax8_api::partner::types::{Company, Subscription};
use pax8_ext::{Page, Pax8Client};
use serde::Serialize;
use sha2::Digest;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{Any, AnyPool, Row, Transaction};
use uuid::Uuid;

/// Why a sync or a query failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The Pax8 API failed (after the client's retries); the next run resumes.
    #[error("Pax8: {0}")]
    Api(#[from] pax8_ext::Error),
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Stopped on request (tests simulate a kill with this).
    #[error("sync interrupted; the next run resumes from the last checkpoint")]
    Interrupted,
    /// Bad arguments (database URL...).
    #[error("{0}")]
    Invalid(String),
    /// Another sync holds this database (and kept it past the wait).
    #[error(
        "another sync ({holder}, started {since}) holds this database; wait for it to finish (a sync that was killed \
         releases it after {} minutes without progress)",
        LOCK_STALE_AFTER.as_secs() / 60
    )]
    Busy {
        /// The holding sync's id.
        holder: String,
        /// When it took the database.
        since: String,
    },
}

/// A database connection pool with the schema in place.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
}

const SCHEMA: &str = include_str!("schema.sql");

impl Store {
    /// Opens (creating if needed) `sqlite://FILE` or `postgres://...` and applies the schema.
    pub async fn open(url: &str) -> Result<Store, SyncError> {
        install_default_drivers();
        let url = if let Some(path) = url.strip_prefix("sqlite://") {
            if path.contains('?') { url.to_string() } else { format!("sqlite://{path}?mode=rwc") }
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            url.to_string()
        } else {
            return Err(SyncError::Invalid(format!(
                "unsupported database URL `{url}`: use sqlite://FILE or postgres://..."
            )));
        };
        let sqlite = url.starts_with("sqlite");
        let max = if sqlite { 1 } else { 4 };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .after_connect(move |connection, _| {
                Box::pin(async move {
                    if sqlite {
                        // Readers never wait for the writer; commits wait for the log, not the disk.
                        sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *connection).await?;
                        sqlx::query("PRAGMA synchronous = NORMAL").execute(&mut *connection).await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        let store = Store { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), SyncError> {
        let mut tx = self.pool.begin().await?;
        let without_comments: String =
            SCHEMA.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n");
        for sql in without_comments.split(';') {
            if !sql.trim().is_empty() {
                dyn_query(sql.to_string()).execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        // A database from before per-page counts and the sync lock gains them.
        for column in ["unchanged", "snapshots"] {
            if dyn_query(format!("SELECT {column} FROM syncs WHERE 1 = 0")).fetch_optional(&self.pool).await.is_err() {
                dyn_query(format!("ALTER TABLE syncs ADD COLUMN {column} BIGINT NOT NULL DEFAULT 0"))
                    .execute(&self.pool)
                    .await?;
            }
        }
        // A database created before snapshots recorded their source gains the column.
        if dyn_query("SELECT source FROM subscription_snapshots WHERE 1 = 0".into())
            .fetch_optional(&self.pool)
            .await
            .is_err()
        {
            dyn_query("ALTER TABLE subscription_snapshots ADD COLUMN source TEXT NOT NULL DEFAULT 'sync'".into())
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// The pool (for queries of your own).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Rows of `table` (not marked removed).
    pub async fn count(&self, table: &str) -> Result<i64, SyncError> {
        let removed = if table == "subscription_snapshots" || table == "webhook_events" {
            ""
        } else {
            " WHERE removed_at IS NULL"
        };
        let row = dyn_query(format!("SELECT COUNT(*) AS n FROM {table}{removed}")).fetch_one(&self.pool).await?;
        Ok(row.try_get::<i64, _>("n")?)
    }
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
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self { page_size: 200, now: Utc::now(), stop_after_pages: None, lock_wait: LOCK_WAIT }
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

/// A query whose text is built from this crate's own table and column names (never from input).
fn dyn_query(sql: String) -> sqlx::query::Query<'static, Any, sqlx::any::AnyArguments> {
    sqlx::query(sqlx::AssertSqlSafe(sql))
}

/// A value bound to a column.
enum Val {
    Text(Option<String>),
    Num(Option<f64>),
}

pub(crate) struct Record {
    table: &'static str,
    id: String,
    columns: Vec<(&'static str, Val)>,
    data: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Inserted,
    Updated,
    Unchanged,
}

fn hash(data: &str) -> String {
    sha2::Sha256::digest(data.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn text<T: ToString>(v: Option<T>) -> Val {
    Val::Text(v.map(|x| x.to_string()))
}

fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("serializes")
}

fn bind<'q>(
    q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>,
    v: &Val,
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments> {
    match v {
        Val::Text(t) => q.bind(t.clone()),
        Val::Num(n) => q.bind(*n),
    }
}

/// Writes one mirror row: `data`, the typed columns and the hash together, whoever calls (a
/// sync, with its id recorded as `last_seen_sync`, or a webhook, with `None`).
pub(crate) async fn upsert(
    tx: &mut Transaction<'_, Any>,
    r: Record,
    sync_id: Option<&str>,
) -> Result<Outcome, sqlx::Error> {
    let h = hash(&r.data);
    let existing = dyn_query(format!("SELECT hash, removed_at FROM {} WHERE id = $1", r.table))
        .bind(r.id.clone())
        .fetch_optional(&mut **tx)
        .await?;
    match existing {
        None => {
            let names: Vec<&str> = r.columns.iter().map(|c| c.0).collect();
            let n = names.len();
            let placeholders: Vec<String> = (1..=n + 4).map(|i| format!("${i}")).collect();
            let sql = format!(
                "INSERT INTO {} (id, {}, data, hash, last_seen_sync) VALUES ({})",
                r.table,
                names.join(", "),
                placeholders.join(", ")
            );
            let mut q = dyn_query(sql).bind(r.id.clone());
            for (_, v) in &r.columns {
                q = bind(q, v);
            }
            q.bind(r.data.clone()).bind(h).bind(sync_id.map(str::to_string)).execute(&mut **tx).await?;
            Ok(Outcome::Inserted)
        }
        Some(row) => {
            let old: String = row.try_get("hash")?;
            let removed: Option<String> = row.try_get("removed_at")?;
            if old == h && removed.is_none() {
                if let Some(sync_id) = sync_id {
                    dyn_query(format!("UPDATE {} SET last_seen_sync = $1 WHERE id = $2", r.table))
                        .bind(sync_id.to_string())
                        .bind(r.id.clone())
                        .execute(&mut **tx)
                        .await?;
                }
                return Ok(Outcome::Unchanged);
            }
            let sets: Vec<String> =
                r.columns.iter().enumerate().map(|(i, (name, _))| format!("{name} = ${}", i + 1)).collect();
            let n = r.columns.len();
            let sql = format!(
                "UPDATE {} SET {}, data = ${}, hash = ${}, last_seen_sync = COALESCE(${}, last_seen_sync), removed_at = NULL \
                 WHERE id = ${}",
                r.table,
                sets.join(", "),
                n + 1,
                n + 2,
                n + 3,
                n + 4
            );
            let mut q = dyn_query(sql);
            for (_, v) in &r.columns {
                q = bind(q, v);
            }
            q.bind(r.data.clone())
                .bind(h)
                .bind(sync_id.map(str::to_string))
                .bind(r.id.clone())
                .execute(&mut **tx)
                .await?;
            Ok(Outcome::Updated)
        }
    }
}

/// The mirror row of a company (None without an id).
pub(crate) fn company_record(c: &Company) -> Option<Record> {
    Some(Record {
        table: "companies",
        id: c.id?.to_string(),
        columns: vec![
            ("name", Val::Text(Some(c.name.clone()))),
            ("status", text(c.status.as_ref())),
            ("city", text(c.address.city.as_ref())),
            ("country", text(c.address.country.as_ref())),
        ],
        data: json(c),
    })
}

/// The mirror row of a subscription (None without an id).
/// (The typed columns are pax8-ext's `SubscriptionSummary` fields, under the same names.)
pub(crate) fn subscription_record(s: &Subscription) -> Option<Record> {
    let v = pax8_ext::views::SubscriptionSummary::from(s);
    Some(Record {
        table: "subscriptions",
        id: v.id?.to_string(),
        columns: vec![
            ("company_id", text(v.company_id)),
            ("product_id", text(v.product_id)),
            ("product_name", text(v.product_name)),
            ("quantity", Val::Num(v.quantity)),
            ("price", Val::Num(v.price)),
            ("partner_cost", Val::Num(v.partner_cost)),
            ("billing_term", text(v.billing_term)),
            ("status", text(v.status)),
            ("commitment_end", text(pax8_ext::insights::commitment_end(s).map(|d| d.to_rfc3339()))),
        ],
        data: json(s),
    })
}

/// Who took a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SnapshotSource {
    Sync,
    Webhook,
}

/// Records a subscription's quantity, price and status as `source` saw them at `taken_at`
/// (one row per sync, or per webhook event with `sync_id` set to `webhook:<event id>`).
pub(crate) async fn snapshot(
    tx: &mut Transaction<'_, Any>,
    sync_id: &str,
    subscription_id: &str,
    taken_at: DateTime<Utc>,
    s: &Subscription,
    source: SnapshotSource,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO subscription_snapshots (sync_id, subscription_id, taken_at, quantity, price, status, source) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (sync_id, subscription_id) DO UPDATE SET \
         taken_at = excluded.taken_at, quantity = excluded.quantity, price = excluded.price, status = excluded.status",
    )
    .bind(sync_id.to_string())
    .bind(subscription_id.to_string())
    .bind(taken_at.to_rfc3339())
    .bind(s.quantity)
    .bind(s.price)
    .bind(s.status.as_ref().map(|x| x.to_string()))
    .bind(match source {
        SnapshotSource::Sync => "sync",
        SnapshotSource::Webhook => "webhook",
    })
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The resources in sync order.
const RESOURCES: [&str; 5] = ["companies", "products", "subscriptions", "invoices", "usage_summaries"];

struct Run<'a> {
    store: &'a Store,
    client: &'a Pax8Client,
    options: &'a SyncOptions,
    sync_id: String,
    summary: SyncSummary,
    /// What of `summary` is already added to the `syncs` row.
    committed: SyncSummary,
    pages: usize,
}

impl Run<'_> {
    fn count(&mut self, outcome: Outcome) {
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

    async fn checkpoint(
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
    async fn finish_page(
        &mut self,
        mut tx: Transaction<'_, Any>,
        resource: &str,
        page: u32,
        last: bool,
    ) -> Result<(), SyncError> {
        self.checkpoint(&mut tx, resource, page + 1, last).await?;
        self.add_counts(&mut tx).await?;
        sqlx::query("UPDATE sync_lock SET heartbeat = $1 WHERE name = 'sync' AND holder = $2")
            .bind(wall_clock())
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

    fn is_last<T>(&self, page: &Page<T>, number: u32) -> bool {
        page.items.len() < self.options.page_size as usize
            || page.total_pages.is_none_or(|t| u64::from(number) + 1 >= t)
    }
}

/// Mirrors the tenant behind `client` into `store`. `progress(resource, page)` is called after
/// each committed page.
pub async fn sync(
    store: &Store,
    client: &Pax8Client,
    options: &SyncOptions,
    progress: &(dyn Fn(&str, u32) + Send + Sync),
) -> Result<SyncSummary, SyncError> {
    let running = sqlx::query("SELECT id FROM syncs WHERE status = 'running' ORDER BY started_at DESC")
        .fetch_optional(&store.pool)
        .await?
        .map(|r| r.try_get::<String, _>("id"))
        .transpose()?;
    let resumed = running.is_some();
    let sync_id = running.unwrap_or_else(|| Uuid::new_v4().to_string());
    lock(store, &sync_id, options.lock_wait).await?;
    let result = run_sync(store, client, options, progress, sync_id.clone(), resumed).await;
    // Released whatever happened; a killed process's lock goes stale instead.
    let released = sqlx::query("DELETE FROM sync_lock WHERE name = 'sync' AND holder = $1")
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

/// Takes the database for `sync_id`: waits (up to `wait`) while another sync holds it, takes
/// over a lock whose holder made no progress for [`LOCK_STALE_AFTER`].
async fn lock(store: &Store, sync_id: &str, wait: std::time::Duration) -> Result<(), SyncError> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let now = chrono::Utc::now();
        let taken = sqlx::query(
            "INSERT INTO sync_lock (name, holder, since, heartbeat) VALUES ('sync', $1, $2, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(sync_id.to_string())
        .bind(now.to_rfc3339())
        .execute(&store.pool)
        .await?;
        if taken.rows_affected() == 1 {
            return Ok(());
        }
        let Some(row) = sqlx::query("SELECT holder, since, heartbeat FROM sync_lock WHERE name = 'sync'")
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
            sqlx::query("DELETE FROM sync_lock WHERE name = 'sync' AND holder = $1")
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
    progress: &(dyn Fn(&str, u32) + Send + Sync),
    sync_id: String,
    resumed: bool,
) -> Result<SyncSummary, SyncError> {
    if !resumed {
        sqlx::query("INSERT INTO syncs (id, started_at, status) VALUES ($1, $2, 'running')")
            .bind(sync_id.clone())
            .bind(options.now.to_rfc3339())
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
    };
    for resource in RESOURCES {
        while let Some(page) = run.next_page(resource).await? {
            match resource {
                "companies" => sync_companies(&mut run, page).await?,
                "products" => sync_products(&mut run, page).await?,
                "subscriptions" => sync_subscriptions(&mut run, page).await?,
                "invoices" => sync_invoices(&mut run, page).await?,
                _ => sync_usage(&mut run, page).await?,
            }
            progress(resource, page);
        }
    }
    // Everything not seen in this sync disappeared upstream.
    let mut tx = store.pool.begin().await?;
    for table in ["companies", "contacts", "products", "subscriptions", "invoices", "invoice_items", "usage_summaries"]
    {
        let done = dyn_query(format!(
            "UPDATE {table} SET removed_at = $1 WHERE removed_at IS NULL AND (last_seen_sync IS NULL OR last_seen_sync <> $2)"
        ))
        .bind(options.now.to_rfc3339())
        .bind(run.sync_id.clone())
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

async fn sync_companies(run: &mut Run<'_>, number: u32) -> Result<(), SyncError> {
    let page = run.client.companies().list().page_size(run.options.page_size).page(number).await?;
    // Contacts are fetched before the transaction: a failure leaves nothing half-written.
    let mut contacts = Vec::new();
    for c in &page.items {
        if let Some(id) = c.id {
            contacts.push((id, run.client.contacts(id).list().collect_all().await?));
        }
    }
    let mut tx = run.store.pool.begin().await?;
    for c in &page.items {
        let Some(record) = company_record(c) else { continue };
        run.summary.fetched += 1;
        let o = upsert(&mut tx, record, Some(&run.sync_id)).await?;
        run.count(o);
    }
    for (company, list) in contacts {
        for x in list {
            let Some(id) = x.id else { continue };
            run.summary.fetched += 1;
            let record = Record {
                table: "contacts",
                id: id.to_string(),
                columns: vec![
                    ("company_id", Val::Text(Some(company.to_string()))),
                    ("name", Val::Text(Some(format!("{} {}", x.first_name, x.last_name)))),
                    ("email", Val::Text(Some(x.email.clone()))),
                ],
                data: json(&x),
            };
            let o = upsert(&mut tx, record, Some(&run.sync_id)).await?;
            run.count(o);
        }
    }
    let last = run.is_last(&page, number);
    run.finish_page(tx, "companies", number, last).await
}

async fn sync_products(run: &mut Run<'_>, number: u32) -> Result<(), SyncError> {
    let page = run.client.products().list().page_size(run.options.page_size).page(number).await?;
    let mut tx = run.store.pool.begin().await?;
    for p in &page.items {
        let Some(id) = p.id else { continue };
        run.summary.fetched += 1;
        let record = Record {
            table: "products",
            id: id.to_string(),
            columns: vec![
                ("name", text(p.name.as_ref())),
                ("vendor", text(p.vendor_name.as_ref())),
                ("sku", text(p.sku.as_ref())),
            ],
            data: json(p),
        };
        let o = upsert(&mut tx, record, Some(&run.sync_id)).await?;
        run.count(o);
    }
    let last = run.is_last(&page, number);
    run.finish_page(tx, "products", number, last).await
}

async fn sync_subscriptions(run: &mut Run<'_>, number: u32) -> Result<(), SyncError> {
    let page = run.client.subscriptions().list().page_size(run.options.page_size).page(number).await?;
    let mut tx = run.store.pool.begin().await?;
    for s in &page.items {
        let Some(record) = subscription_record(s) else { continue };
        run.summary.fetched += 1;
        let id = record.id.clone();
        let o = upsert(&mut tx, record, Some(&run.sync_id)).await?;
        run.count(o);
        snapshot(&mut tx, &run.sync_id, &id, run.options.now, s, SnapshotSource::Sync).await?;
        run.summary.snapshots += 1;
    }
    let last = run.is_last(&page, number);
    run.finish_page(tx, "subscriptions", number, last).await
}

async fn sync_invoices(run: &mut Run<'_>, number: u32) -> Result<(), SyncError> {
    let page = run.client.invoices().list().page_size(run.options.page_size).page(number).await?;
    let mut items = Vec::new();
    for i in &page.items {
        if let Some(id) = i.id {
            items.push((id, run.client.invoices().items(id).concurrency(4).collect_all().await?));
        }
    }
    let mut tx = run.store.pool.begin().await?;
    for i in &page.items {
        let Some(id) = i.id else { continue };
        run.summary.fetched += 1;
        let record = Record {
            table: "invoices",
            id: id.to_string(),
            columns: vec![
                ("invoice_date", text(i.invoice_date)),
                ("status", text(i.status.as_ref())),
                ("total", Val::Num(i.total)),
                ("balance", Val::Num(i.balance)),
            ],
            data: json(i),
        };
        let o = upsert(&mut tx, record, Some(&run.sync_id)).await?;
        run.count(o);
    }
    for (invoice, list) in items {
        for it in list {
            let Some(id) = it.id else { continue };
            run.summary.fetched += 1;
            let record = Record {
                table: "invoice_items",
                id: id.to_string(),
                columns: vec![
                    ("invoice_id", Val::Text(Some(invoice.to_string()))),
                    ("company_id", text(it.company_id)),
                    ("subscription_id", text(it.subscription_id)),
                    ("product_name", text(it.product_name.as_ref())),
                    ("quantity", Val::Num(it.quantity)),
                    ("cost_total", Val::Num(it.cost_total)),
                    ("total", Val::Num(it.total)),
                ],
                data: json(&it),
            };
            let o = upsert(&mut tx, record, Some(&run.sync_id)).await?;
            run.count(o);
        }
    }
    let last = run.is_last(&page, number);
    run.finish_page(tx, "invoices", number, last).await
}

/// Usage summaries of the Azure subscriptions in the mirror, `page_size` subscriptions a "page".
async fn sync_usage(run: &mut Run<'_>, number: u32) -> Result<(), SyncError> {
    let rows = sqlx::query(
        "SELECT id FROM subscriptions WHERE removed_at IS NULL AND product_name LIKE '%Azure%' ORDER BY id",
    )
    .fetch_all(&run.store.pool)
    .await?;
    let ids: Vec<String> = rows.iter().map(|r| r.try_get::<String, _>("id")).collect::<Result<_, _>>()?;
    let size = run.options.page_size as usize;
    let chunk: Vec<&String> = ids.iter().skip(number as usize * size).take(size).collect();
    let mut fetched = Vec::new();
    for id in &chunk {
        let sub: Uuid = id.parse().map_err(|_| SyncError::Invalid(format!("bad id {id}")))?;
        fetched.push((sub, run.client.subscriptions().usage_summaries(sub).collect_all().await?));
    }
    let mut tx = run.store.pool.begin().await?;
    for (sub, list) in fetched {
        for u in list {
            let Some(id) = u.id else { continue };
            run.summary.fetched += 1;
            let record = Record {
                table: "usage_summaries",
                id: id.to_string(),
                columns: vec![
                    ("subscription_id", Val::Text(Some(sub.to_string()))),
                    ("company_id", text(u.company_id)),
                    ("resource_group", text(u.resource_group.as_ref())),
                    ("current_charges", Val::Num(u.current_charges)),
                ],
                data: json(&u),
            };
            let o = upsert(&mut tx, record, Some(&run.sync_id)).await?;
            run.count(o);
        }
    }
    let last = (number as usize + 1) * size >= ids.len();
    run.checkpoint(&mut tx, "usage_summaries", number + 1, last).await?;
    tx.commit().await?;
    run.pages += 1;
    if run.options.stop_after_pages.is_some_and(|n| run.pages >= n) {
        return Err(SyncError::Interrupted);
    }
    Ok(())
}

/// A subscription whose quantity or price changed between two snapshots.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Drift {
    /// The subscription.
    pub subscription_id: String,
    /// Its company.
    pub company_id: Option<String>,
    /// Its product.
    pub product_name: Option<String>,
    /// Quantity in the baseline snapshot.
    pub quantity_before: Option<f64>,
    /// Quantity in the latest snapshot.
    pub quantity_now: Option<f64>,
    /// Price in the baseline snapshot.
    pub price_before: Option<f64>,
    /// Price in the latest snapshot.
    pub price_now: Option<f64>,
}

/// Subscriptions whose quantity or price changed: for each, its latest snapshot (from a sync or
/// a webhook) against the last one taken at or before `now - since` (or its first, if all are
/// more recent).
pub async fn drift(store: &Store, since: chrono::Duration, now: DateTime<Utc>) -> Result<Vec<Drift>, SyncError> {
    let cutoff = (now - since).to_rfc3339();
    // RFC 3339 in UTC throughout: text order is time order.
    let rows = sqlx::query(
        "SELECT n.subscription_id AS id, n.taken_at AS taken_at, n.quantity AS quantity, n.price AS price, \
         s.company_id AS company_id, s.product_name AS product_name \
         FROM subscription_snapshots n LEFT JOIN subscriptions s ON s.id = n.subscription_id \
         ORDER BY n.subscription_id, n.taken_at",
    )
    .fetch_all(&store.pool)
    .await?;
    struct Seen {
        taken_at: String,
        quantity: Option<f64>,
        price: Option<f64>,
    }
    let mut out = Vec::new();
    let mut index = 0;
    while index < rows.len() {
        let id: String = rows[index].try_get("id")?;
        let (mut baseline, mut latest): (Option<Seen>, Option<Seen>) = (None, None);
        let start = index;
        while index < rows.len() && rows[index].try_get::<String, _>("id")? == id {
            let r = &rows[index];
            let seen =
                Seen { taken_at: r.try_get("taken_at")?, quantity: r.try_get("quantity")?, price: r.try_get("price")? };
            if baseline.is_none() || seen.taken_at <= cutoff {
                baseline = Some(Seen { taken_at: seen.taken_at.clone(), ..seen });
                latest = None;
            } else {
                latest = Some(seen);
            }
            index += 1;
        }
        if let (Some(before), Some(now)) = (baseline, latest)
            && (before.quantity != now.quantity || before.price != now.price)
        {
            let r = &rows[start];
            out.push(Drift {
                subscription_id: id,
                company_id: r.try_get("company_id")?,
                product_name: r.try_get("product_name")?,
                quantity_before: before.quantity,
                quantity_now: now.quantity,
                price_before: before.price,
                price_now: now.price,
            });
        }
    }
    Ok(out)
}
