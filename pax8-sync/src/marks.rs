//! Read marks: what a parent row's child list was last read for (a company's contacts: the
//! company's `updatedDate`; an invoice's items: its status; an Azure subscription's usage: when),
//! so an incremental sync re-reads only the lists that can have changed.

use std::collections::HashMap;

use sqlx::{Any, Row, Transaction};

use crate::store::dyn_query;

/// The mark a parent's children were read at.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mark {
    pub(crate) table: &'static str,
    pub(crate) column: &'static str,
}

pub(crate) const CONTACTS_READ_FOR: Mark = Mark { table: "companies", column: "contacts_read_for" };
pub(crate) const ITEMS_READ_STATUS: Mark = Mark { table: "invoices", column: "items_read_status" };
pub(crate) const USAGE_READ_AT: Mark = Mark { table: "subscriptions", column: "usage_read_at" };

/// The stored mark of each of `ids` that has a row: `Some(None)` for a row without a mark.
pub(crate) async fn read(
    store: &crate::Store,
    tenant: &str,
    mark: Mark,
    ids: &[String],
) -> Result<HashMap<String, Option<String>>, sqlx::Error> {
    let mut out = HashMap::with_capacity(ids.len());
    let binds = if store.is_postgres() { 8_000 } else { 400 };
    for chunk in ids.chunks(binds - 1) {
        let list = (2..chunk.len() + 2).map(|n| format!("(${n})")).collect::<Vec<_>>().join(", ");
        // Joined on, not `IN (…)`: linear with any plan (see `write`).
        let sql = format!(
            "SELECT t.id AS id, t.{} AS mark FROM {} t JOIN (VALUES {list}) AS v ON t.tenant = $1 AND t.id = v.column1",
            mark.column, mark.table
        );
        let mut q = dyn_query(sql).bind(tenant.to_string());
        for id in chunk {
            q = q.bind(id.clone());
        }
        for row in q.fetch_all(&store.pool).await? {
            out.insert(row.try_get::<String, _>("id")?, row.try_get::<Option<String>, _>("mark")?);
        }
    }
    Ok(out)
}

/// Sets the marks of the given rows, whose child lists `sync_id` read, many a statement.
pub(crate) async fn set(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    mark: Mark,
    marks: &[(String, Option<String>)],
    sync_id: &str,
) -> Result<(), sqlx::Error> {
    for chunk in marks.chunks((crate::write::max_binds(tx) - 2) / 2) {
        let values = (0..chunk.len()).map(|i| format!("(${}, ${})", 2 * i + 3, 2 * i + 4)).collect::<Vec<_>>();
        // VALUES names its columns column1, column2 on both SQLite and PostgreSQL.
        let sql = format!(
            "UPDATE {table} SET {column} = v.column2, children_read_sync = $2 FROM (VALUES {}) AS v \
             WHERE {table}.tenant = $1 AND {table}.id = v.column1",
            values.join(", "),
            table = mark.table,
            column = mark.column,
        );
        let mut q = dyn_query(sql).bind(tenant.to_string()).bind(sync_id.to_string());
        for (id, value) in chunk {
            q = q.bind(id.clone()).bind(value.clone());
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}
