//! How far a sync read each of its resources ([`Checkpoint`]): committed with the rows it
//! covers, read back where a resumed sync starts.

use sqlx::{Any, Row, Transaction};

use crate::{Store, SyncError};

/// How far a sync read one of its resources (a listing, or one invoice's items): the pages
/// before `next_page` are in the mirror, all of them when `done`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checkpoint {
    pub(crate) resource: String,
    pub(crate) next_page: u32,
    pub(crate) done: bool,
}

/// Records `checkpoint` of sync `sync_id` in `tx`.
pub(crate) async fn save_checkpoint(
    tx: &mut Transaction<'_, Any>,
    sync_id: &str,
    checkpoint: &Checkpoint,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sync_checkpoints (sync_id, resource, next_page, done) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (sync_id, resource) DO UPDATE SET next_page = excluded.next_page, done = excluded.done",
    )
    .bind(sync_id.to_string())
    .bind(checkpoint.resource.clone())
    .bind(i64::from(checkpoint.next_page))
    .bind(i64::from(checkpoint.done))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The checkpoints of sync `sync_id` whose resource starts with `prefix`.
pub(crate) async fn checkpoints(store: &Store, sync_id: &str, prefix: &str) -> Result<Vec<Checkpoint>, SyncError> {
    let rows = sqlx::query("SELECT resource, next_page, done FROM sync_checkpoints WHERE sync_id = $1")
        .bind(sync_id.to_string())
        .fetch_all(&store.pool)
        .await?;
    let mut found = Vec::new();
    for row in rows {
        let resource: String = row.try_get("resource")?;
        if resource.starts_with(prefix) {
            // A page number out of range (not one a sync wrote) reads the items again from the start.
            let next_page = u32::try_from(row.try_get::<i64, _>("next_page")?).unwrap_or(0);
            found.push(Checkpoint { resource, next_page, done: row.try_get::<i64, _>("done")? == 1 });
        }
    }
    Ok(found)
}
