//! A sync's counts: what each write did to its rows ([`tally`]) and their sum in the sync's
//! `syncs` row ([`add_to_sync_row`]), which a resumed sync adds to and the summary is read from.

use sqlx::{Any, Transaction};

use crate::options::SyncSummary;
use crate::write::Outcome;

/// Adds each outcome to the fetched and the inserted, updated or unchanged of `counts`; a row
/// this sync already counted is not counted again.
pub(crate) fn tally(counts: &mut SyncSummary, outcomes: &[(String, Outcome)]) {
    for (_, outcome) in outcomes {
        let count = match outcome {
            Outcome::Inserted => &mut counts.inserted,
            Outcome::Updated => &mut counts.updated,
            Outcome::Unchanged => &mut counts.unchanged,
            Outcome::AlreadyCounted => continue,
        };
        *count += 1;
        counts.fetched += 1;
    }
}

/// Adds `delta`'s counts to sync `sync_id`'s row (in `tx`).
pub(crate) async fn add_to_sync_row(
    tx: &mut Transaction<'_, Any>,
    sync_id: &str,
    delta: &SyncSummary,
) -> Result<(), sqlx::Error> {
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
