//! One sync of a tenant at a time: a lock row per tenant, with the holder, since when and its
//! last progress (a heartbeat at each committed page), taken over once it goes stale.

use sqlx::Row;

use crate::{Store, SyncError};

/// How long a second sync waits, by default, for the first to finish before giving up.
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(30);
/// A lock whose holder has made no progress for this long belongs to a killed sync and is taken.
pub const LOCK_STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(300);

pub(crate) fn wall_clock() -> String {
    chrono::Utc::now().to_rfc3339()
}

/// Takes `tenant`'s lock for `sync_id`: waits (up to `wait`) while another sync of the tenant
/// holds it, takes over a lock whose holder made no progress for [`LOCK_STALE_AFTER`].
pub(crate) async fn lock(
    store: &Store,
    tenant: &str,
    sync_id: &str,
    wait: std::time::Duration,
) -> Result<(), SyncError> {
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
