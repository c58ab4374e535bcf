//! The database: opening SQLite or PostgreSQL and bringing its schema up to date with versioned
//! migrations (`migrations/sqlite`, `migrations/postgres`; sqlx records them in
//! `_sqlx_migrations`). A version-1 database, made before migrations were recorded, is adopted
//! and upgraded in place.

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{Any, AnyPool, Row};

use crate::SyncError;

/// The tables `pax8 sync` mirrors (each row's `data` is the API's JSON).
pub const MIRRORED_TABLES: [&str; 7] =
    ["companies", "subscriptions", "contacts", "products", "invoices", "invoice_items", "usage_summaries"];

/// A database connection pool with the schema in place.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    postgres: bool,
}

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// A query whose text is built from this crate's own table and column names (never from input).
pub(crate) fn dyn_query(sql: String) -> sqlx::query::Query<'static, Any, sqlx::any::AnyArguments> {
    sqlx::query(sqlx::AssertSqlSafe(sql))
}

/// A time as every schedule column holds it (UTC, milliseconds, `Z`): text order is time order.
pub(crate) fn db_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `url` fit to print: a password in it is replaced by `***`
/// (`postgres://app:***@db.internal/pax8`).
pub fn redacted_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((credentials, host)) if credentials.contains(':') => {
            let user = credentials.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}{path}")
        }
        _ => url.to_string(),
    }
}

impl Store {
    /// The longest a request waits for a connection: with the database gone, whatever needs it
    /// fails within this (a receiver answers 503 well inside Pax8's 10 s) instead of hanging.
    pub const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

    /// Opens (creating if needed) `sqlite://FILE` or `postgres://...` and migrates its schema.
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
            .acquire_timeout(Store::ACQUIRE_TIMEOUT)
            .after_connect(move |connection, _| {
                Box::pin(async move {
                    if sqlite {
                        // Readers never wait for the writer; commits wait for the log, not the disk.
                        sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *connection).await?;
                        sqlx::query("PRAGMA synchronous = NORMAL").execute(&mut *connection).await?;
                        sqlx::query("PRAGMA temp_store = MEMORY").execute(&mut *connection).await?;
                        sqlx::query("PRAGMA cache_size = -16384").execute(&mut *connection).await?;
                        // A sync writes a page's rows and commits, page after page: the log is
                        // folded into the database file every 20,000 pages (80 MiB) instead of
                        // SQLite's 1,000, so a page rewritten by many commits is copied once (15%
                        // faster whole syncs in the `sync` bench).
                        sqlx::query("PRAGMA wal_autocheckpoint = 20000").execute(&mut *connection).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(Store::connect_options(&url)?)
            .await?;
        let store = Store { pool, postgres: !sqlite };
        store.migrate().await?;
        Ok(store)
    }

    /// The connection options of `url`. A statement that takes long is no warning here: an
    /// export streams a whole table through one statement, as slowly as its reader reads.
    fn connect_options(url: &str) -> Result<sqlx::any::AnyConnectOptions, SyncError> {
        use sqlx::ConnectOptions;
        let options: sqlx::any::AnyConnectOptions = url.parse()?;
        Ok(options.log_slow_statements(log::LevelFilter::Debug, std::time::Duration::from_secs(1)))
    }

    /// The schema versions this build knows, oldest first.
    pub fn schema_versions() -> Vec<i64> {
        SQLITE.iter().map(|m| m.version).collect()
    }

    /// The newest schema version applied to this database.
    pub async fn schema_version(&self) -> Result<i64, SyncError> {
        let row = sqlx::query("SELECT MAX(version) AS v FROM _sqlx_migrations WHERE success = TRUE")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<Option<i64>, _>("v")?.unwrap_or(0))
    }

    /// Ready to serve: the database answers and its schema is the one this build writes.
    pub async fn ready(&self) -> Result<(), SyncError> {
        let applied = self.schema_version().await?;
        let known = Store::schema_versions().last().copied().unwrap_or(0);
        if applied != known {
            return Err(SyncError::Invalid(format!("the schema is at version {applied}; this build needs {known}")));
        }
        Ok(())
    }

    /// Closes the pool: waits for connections in use to be returned, then closes them all.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn migrate(&self) -> Result<(), SyncError> {
        self.finish_version_1().await?;
        let migrator = if self.postgres { &POSTGRES } else { &SQLITE };
        migrator.run(&self.pool).await.map_err(|e| SyncError::Invalid(format!("schema migration failed: {e}")))?;
        Ok(())
    }

    /// A database made by an early version 1 (before per-page counts and snapshot sources)
    /// gains those columns, so that migration 2 finds the version-1 shape it expects.
    async fn finish_version_1(&self) -> Result<(), SyncError> {
        let exists = |table: &str| dyn_query(format!("SELECT 1 FROM {table} WHERE 1 = 0")).fetch_optional(&self.pool);
        if exists("_sqlx_migrations").await.is_ok() {
            return Ok(()); // migrations are recorded: they know what to do
        }
        for (table, column, kind) in [
            ("syncs", "unchanged", "BIGINT NOT NULL DEFAULT 0"),
            ("syncs", "snapshots", "BIGINT NOT NULL DEFAULT 0"),
            ("subscription_snapshots", "source", "TEXT NOT NULL DEFAULT 'sync'"),
        ] {
            if exists(table).await.is_err() {
                continue; // made by migration 1 with every column
            }
            let has = dyn_query(format!("SELECT {column} FROM {table} WHERE 1 = 0")).fetch_optional(&self.pool).await;
            if has.is_err() {
                dyn_query(format!("ALTER TABLE {table} ADD COLUMN {column} {kind}")).execute(&self.pool).await?;
            }
        }
        Ok(())
    }

    /// A transaction for keyed reads and writes (a page of a sync, a webhook event). On
    /// PostgreSQL it plans without sequential scans: a table filled moments ago has statistics
    /// that still say it is tiny, and a scan per statement, each row tested against a page's
    /// ids, made a 21,000-subscription sync spend 13 s in lookups the primary key answers in
    /// microseconds.
    pub(crate) async fn begin_keyed(&self) -> Result<sqlx::Transaction<'static, Any>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        if self.postgres {
            sqlx::query("SET LOCAL enable_seqscan = off").execute(&mut *tx).await?;
        }
        Ok(tx)
    }

    /// A transaction of a sync's page ([`Store::begin_keyed`]). On PostgreSQL its commit does
    /// not wait for the log to reach the disk: a crash can lose the last commits, never part of
    /// one, and a page's rows commit with its checkpoint, so the sync resumes before them and
    /// writes them again. (SQLite's `synchronous = NORMAL` makes the same trade in WAL mode.)
    /// A webhook event's transaction keeps the wait: its sender was told it was stored.
    pub(crate) async fn begin_page(&self) -> Result<sqlx::Transaction<'static, Any>, sqlx::Error> {
        let mut tx = self.begin_keyed().await?;
        if self.postgres {
            sqlx::query("SET LOCAL synchronous_commit = off").execute(&mut *tx).await?;
        }
        Ok(tx)
    }

    /// Whether the database is PostgreSQL (SQLite otherwise).
    pub fn is_postgres(&self) -> bool {
        self.postgres
    }

    /// The database clock in µs since the epoch, as SQL: one clock for every process and host.
    pub(crate) fn now_us_sql(&self) -> &'static str {
        if self.postgres {
            "CAST(EXTRACT(EPOCH FROM statement_timestamp()) * 1000000 AS BIGINT)"
        } else {
            "CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)"
        }
    }

    /// The larger of two SQL values (`GREATEST` on PostgreSQL, `MAX` on SQLite).
    pub(crate) fn greatest(&self) -> &'static str {
        if self.postgres { "GREATEST" } else { "MAX" }
    }

    /// Every row of a mirrored `table` (`companies`, `contacts`, `products`, `subscriptions`,
    /// `invoices`, `invoice_items`, ...) for `tenant` not marked removed, as the JSON the API
    /// sent, in id order: streamed, one row in memory at a time.
    pub fn stored_rows<'a>(
        &'a self,
        table: &str,
        tenant: &str,
    ) -> Result<futures::stream::BoxStream<'a, Result<serde_json::Value, SyncError>>, SyncError> {
        self.rows_where(table, tenant, None)
    }

    /// The stored items of one invoice, streamed as [`Store::stored_rows`] streams a table.
    pub fn stored_invoice_items<'a>(
        &'a self,
        tenant: &str,
        invoice: uuid::Uuid,
    ) -> Result<futures::stream::BoxStream<'a, Result<serde_json::Value, SyncError>>, SyncError> {
        self.rows_where("invoice_items", tenant, Some(("invoice_id", invoice.to_string())))
    }

    /// A table's rows for `tenant`, optionally only those whose `column` (a name of ours, never
    /// a caller's) holds `value`.
    fn rows_where<'a>(
        &'a self,
        table: &str,
        tenant: &str,
        only: Option<(&'static str, String)>,
    ) -> Result<futures::stream::BoxStream<'a, Result<serde_json::Value, SyncError>>, SyncError> {
        use futures::StreamExt;
        let Some(table) = MIRRORED_TABLES.iter().find(|t| **t == table) else {
            return Err(SyncError::Invalid(format!("`{table}` is not a mirrored table")));
        };
        let filter = only.as_ref().map(|(column, _)| format!(" AND {column} = $2")).unwrap_or_default();
        let sql = format!("SELECT data FROM {table} WHERE tenant = $1{filter} AND removed_at IS NULL ORDER BY id");
        let mut query = dyn_query(sql).bind(tenant.to_string());
        if let Some((_, value)) = only {
            query = query.bind(value);
        }
        let rows = query.fetch(&self.pool).map(|row| {
            let text: String = row?.try_get("data")?;
            serde_json::from_str(&text).map_err(|e| SyncError::Invalid(format!("a stored row is not JSON: {e}")))
        });
        Ok(rows.boxed())
    }

    /// The pool (for queries of your own).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Rows of `table` in every tenant (not marked removed).
    pub async fn count(&self, table: &str) -> Result<i64, SyncError> {
        self.count_where(table, None).await
    }

    /// Rows of `table` in `tenant` (not marked removed).
    pub async fn count_in(&self, tenant: &str, table: &str) -> Result<i64, SyncError> {
        self.count_where(table, Some(tenant)).await
    }

    async fn count_where(&self, table: &str, tenant: Option<&str>) -> Result<i64, SyncError> {
        let mut conditions = Vec::new();
        if !matches!(table, "subscription_snapshots" | "webhook_events" | "syncs") {
            conditions.push("removed_at IS NULL");
        }
        if tenant.is_some() {
            conditions.push("tenant = $1");
        }
        let filter = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
        let mut query = dyn_query(format!("SELECT COUNT(*) AS n FROM {table}{filter}"));
        if let Some(tenant) = tenant {
            query = query.bind(tenant.to_string());
        }
        Ok(query.fetch_one(&self.pool).await?.try_get::<i64, _>("n")?)
    }
}

#[cfg(test)]
mod url_tests {
    use super::redacted_url;

    #[test]
    fn passwords_are_not_printed() {
        assert_eq!(
            redacted_url("postgres://app:s3cr3t@db.internal:5432/pax8"),
            "postgres://app:***@db.internal:5432/pax8"
        );
        assert_eq!(redacted_url("postgres://app:p@ss@db/pax8"), "postgres://app:***@db/pax8");
        assert_eq!(redacted_url("postgres://app@db/pax8"), "postgres://app@db/pax8");
        assert_eq!(redacted_url("sqlite://pax8.db"), "sqlite://pax8.db");
        assert_eq!(redacted_url("not a url"), "not a url");
    }
}

#[cfg(test)]
mod sqlite_tests {
    use sqlx::Row;

    #[tokio::test]
    async fn every_sqlite_connection_is_set_up_for_a_mirror_written_page_by_page() {
        let dir = tempfile::tempdir().unwrap();
        let store = super::Store::open(&format!("sqlite://{}", dir.path().join("s.db").display())).await.unwrap();
        let mut connection = store.pool.acquire().await.unwrap();
        for (pragma, expected) in [
            ("journal_mode", "wal"),
            ("synchronous", "1"),
            ("temp_store", "2"),
            ("cache_size", "-16384"),
            ("wal_autocheckpoint", "20000"),
        ] {
            let row =
                sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA {pragma}"))).fetch_one(&mut *connection).await.unwrap();
            let value: String =
                row.try_get::<String, _>(0).or_else(|_| row.try_get::<i64, _>(0).map(|n| n.to_string())).unwrap();
            assert_eq!(value, expected, "PRAGMA {pragma}");
        }
    }
}
