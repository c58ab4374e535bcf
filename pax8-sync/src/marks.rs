//! Read marks: what a parent row's child list was last read for (a company's contacts: the
//! company's `updatedDate`; an invoice's items: its status; an Azure subscription's usage: when),
//! so an incremental sync re-reads only the lists that can have changed.

use std::collections::HashMap;

use sqlx::{Any, Row, Transaction};

use crate::binds::Ids;
use crate::store::dyn_query;

/// The mark a parent's children were read at.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mark {
    pub(crate) table: &'static str,
    pub(crate) column: &'static str,
}

/// Parents (by id) with the mark their children were read at.
pub(crate) type Marked = Vec<(String, Option<String>)>;

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
    let set = Ids::for_store(store);
    let mut tx = store.begin_keyed().await?;
    for chunk in ids.chunks(set.per_statement(1)) {
        let sql = format!(
            "SELECT id, {} AS mark FROM {} WHERE tenant = {} AND {}",
            mark.column,
            mark.table,
            set.param(1),
            set.condition("id", 2, chunk.len())
        );
        let q = set.bind(dyn_query(sql).bind(tenant.to_string()), chunk);
        for row in q.fetch_all(&mut *tx).await? {
            out.insert(row.try_get::<String, _>("id")?, row.try_get::<Option<String>, _>("mark")?);
        }
    }
    tx.commit().await?;
    Ok(out)
}

/// Sets the marks of the given rows, whose child lists `sync_id` read, many a statement (on
/// PostgreSQL from one JSON parameter: see `write::Ids`).
pub(crate) async fn set(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    mark: Mark,
    marks: &[(String, Option<String>)],
    sync_id: &str,
) -> Result<(), sqlx::Error> {
    let (table, column) = (mark.table, mark.column);
    if marks.is_empty() {
        return Ok(());
    }
    if !tx.backend_name().eq_ignore_ascii_case("sqlite") {
        let rows: Vec<serde_json::Value> =
            marks.iter().map(|(id, value)| serde_json::json!({"id": id, "mark": value})).collect();
        let sql = format!(
            "UPDATE {table} SET {column} = v.mark, children_read_sync = $2 \
             FROM json_to_recordset(CAST($3 AS json)) AS v(id text, mark text) WHERE {table}.tenant = $1 AND {table}.id = v.id"
        );
        dyn_query(sql)
            .bind(tenant.to_string())
            .bind(sync_id.to_string())
            .bind(serde_json::Value::Array(rows).to_string())
            .execute(&mut **tx)
            .await?;
        return Ok(());
    }
    for chunk in marks.chunks(199) {
        let values = (0..chunk.len()).map(|i| format!("(${}, ${})", 2 * i + 3, 2 * i + 4)).collect::<Vec<_>>();
        // VALUES names its columns column1, column2.
        let sql = format!(
            "UPDATE {table} SET {column} = v.column2, children_read_sync = $2 FROM (VALUES {}) AS v \
             WHERE {table}.tenant = $1 AND {table}.id = v.column1",
            values.join(", "),
        );
        let mut q = dyn_query(sql).bind(tenant.to_string()).bind(sync_id.to_string());
        for (id, value) in chunk {
            q = q.bind(id.clone()).bind(value.clone());
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}
