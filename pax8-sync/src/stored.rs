//! What the mirror already holds of the rows a write is given ([`stored_hashes`]): each one's
//! hash, whether it is marked removed, and whether the writing sync already saw it.

use std::collections::HashMap;

use sqlx::{Any, Row, Transaction};

use crate::binds::Ids;
use crate::store::dyn_query;

/// What the mirror holds of a row the write path is given.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Stored {
    pub(crate) hash: String,
    pub(crate) removed: bool,
    /// Its `last_seen_sync` is the writing sync.
    pub(crate) seen_by_this_sync: bool,
}

/// The stored rows among `ids`, by id. Each statement answers one row, its rows'
/// `id:hash:RS` (R: removed, S: seen by `sync_id`, each `0` or `1`) joined by commas (ids and
/// hashes hold neither character): one value to decode instead of four a row (decoding a row
/// through the `Any` driver cost more than finding it).
pub(crate) async fn stored_hashes(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    table: &str,
    ids: &[String],
    sync_id: Option<&str>,
) -> Result<HashMap<String, Stored>, sqlx::Error> {
    let mut out = HashMap::with_capacity(ids.len());
    let set = Ids::of(tx);
    let joined = if set.postgres { "string_agg" } else { "group_concat" };
    for chunk in ids.chunks(set.per_statement(2)) {
        let sql = format!(
            "SELECT {joined}(id || ':' || hash || ':' || CASE WHEN removed_at IS NULL THEN '0' ELSE '1' END \
             || CASE WHEN last_seen_sync = {} THEN '1' ELSE '0' END, ',') AS rows \
             FROM {table} WHERE tenant = {} AND {}",
            set.param(1),
            set.param(2),
            set.condition("id", 3, chunk.len())
        );
        let q = dyn_query(sql).bind(sync_id.map(str::to_string)).bind(tenant.to_string());
        let rows: Option<String> = set.bind(q, chunk).fetch_one(&mut **tx).await?.try_get("rows")?;
        out.extend(rows.as_deref().unwrap_or_default().split(',').filter_map(stored_row));
    }
    Ok(out)
}

/// One `id:hash:RS` of [`stored_hashes`].
fn stored_row(row: &str) -> Option<(String, Stored)> {
    let mut fields = row.rsplitn(3, ':');
    let (flags, hash, id) = (fields.next()?, fields.next()?, fields.next()?);
    let stored = Stored {
        hash: hash.to_string(),
        removed: flags.starts_with('1'),
        seen_by_this_sync: flags.get(1..) == Some("1"),
    };
    Some((id.to_string(), stored))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_rows_are_read_from_their_joined_fields() {
        let row = |hash: &str, removed, seen| Stored { hash: hash.into(), removed, seen_by_this_sync: seen };
        assert_eq!(stored_row("a-1:h1:00"), Some(("a-1".into(), row("h1", false, false))));
        assert_eq!(stored_row("a-1:h1:10"), Some(("a-1".into(), row("h1", true, false))));
        assert_eq!(stored_row("a-1:h1:01"), Some(("a-1".into(), row("h1", false, true))));
        assert_eq!(stored_row("a:b:h:11"), Some(("a:b".into(), row("h", true, true))), "the id keeps its own colons");
        assert_eq!(stored_row("h:00"), None);
        assert_eq!(stored_row(""), None);
    }
}
