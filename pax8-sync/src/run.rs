//! Checkpointed runs: one sync of one tenant at a time (`lock`), full or incremental, one
//! transaction per page with its checkpoint and its counts, resumption after a kill, and rows
//! no longer upstream marked removed.

use chrono::DateTime;
use pax8_ext::Pax8Client;
use sqlx::Row;
use uuid::Uuid;

use crate::lock::lock;
use crate::{Store, SyncError, entities};

pub use crate::options::{FULL_AFTER, SyncMode, SyncOptions, SyncSummary, USAGE_MAX_AGE};
pub use crate::state::Progress;
use crate::state::Run;

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
            Some(listing) => {
                listing.sync(&mut run, &progressed).await?;
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
    run.summary.removed +=
        crate::write::mark_removed(&mut tx, &options.tenant, &run.sync_id, options.now.to_rfc3339()).await?;
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
