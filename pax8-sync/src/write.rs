//! The one write path for mirror rows, for a sync and a webhook alike: [`upsert_all`] writes a
//! page's rows of one table with a few multi-row statements (the stored hashes read in one
//! query, new and changed rows in one `INSERT … ON CONFLICT DO UPDATE`, unchanged rows marked
//! seen in one `UPDATE`), and [`snapshot_all`] records subscriptions' quantity, price and status
//! with who saw them. Text columns never carry a NUL character (PostgreSQL `text` cannot hold
//! one): it becomes U+FFFD there, while `data` keeps the exact value (JSON escapes it). At a
//! sync's end, [`mark_removed`] marks the rows it did not see.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use pax8_api::partner::types::Subscription;
use sqlx::{Any, Transaction};

use crate::binds::{Ids, max_binds};
use crate::rows::{Record, Val};
use crate::store::dyn_query;
use crate::stored::stored_hashes;

/// What an upsert did to one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Inserted,
    Updated,
    Unchanged,
    /// Unchanged and already seen by this sync: a page read again after a resume (an invoice's
    /// items whose parts committed before the run stopped) or a row listed twice. Neither
    /// written nor counted again.
    AlreadyCounted,
}

pub(crate) use crate::binds::Query;

/// `text` as a text column can hold it: NUL characters replaced by U+FFFD.
pub(crate) fn storable(text: &str) -> String {
    if text.contains('\0') { text.replace('\0', "\u{fffd}") } else { text.to_string() }
}

/// [`storable`], keeping `text`'s allocation when it holds no NUL.
fn into_storable(text: String) -> String {
    if text.contains('\0') { text.replace('\0', "\u{fffd}") } else { text }
}

/// The placeholder of bound value `n`: amounts are cast from text to NUMERIC.
fn placeholder(set: &Ids, v: &Val, n: usize) -> String {
    match v {
        Val::Money(_) => format!("CAST({} AS NUMERIC)", set.param(n)),
        _ => set.param(n),
    }
}

fn bind(q: Query, v: Val) -> Query {
    match v {
        Val::Text(t) => q.bind(t.map(into_storable)),
        Val::Num(n) => q.bind(n),
        Val::Money(m) => q.bind(m.map(|m| m.to_string())),
    }
}

/// Writes rows of `tenant` (all of one table): `data`, the typed columns and the hash together;
/// a row whose hash is unchanged is only marked seen by `sync_id` (a sync; `None` for a webhook),
/// and left alone when `sync_id` already saw it.
/// Returns each distinct id with what was done to it, in the order first given (a row given
/// twice is written once, as last given).
pub(crate) async fn upsert_all(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    records: Vec<Record>,
    sync_id: Option<&str>,
) -> Result<Vec<(String, Outcome)>, sqlx::Error> {
    let Some(first) = records.first() else { return Ok(Vec::new()) };
    let table = first.table;
    let mut order: Vec<String> = Vec::new();
    let mut latest: HashMap<String, Record> = HashMap::new();
    for record in records {
        debug_assert_eq!(record.table, table, "one table per call");
        if !latest.contains_key(&record.id) {
            order.push(record.id.clone());
        }
        latest.insert(record.id.clone(), record);
    }
    let stored = stored_hashes(tx, tenant, table, &order, sync_id).await?;
    let mut outcomes = Vec::with_capacity(order.len());
    let (mut seen, mut writes) = (Vec::new(), Vec::new());
    for id in order {
        let Some(record) = latest.remove(&id) else { continue };
        let outcome = match stored.get(&id) {
            None => Outcome::Inserted,
            Some(row) if row.hash == record.hash && !row.removed && row.seen_by_this_sync => Outcome::AlreadyCounted,
            Some(row) if row.hash == record.hash && !row.removed => Outcome::Unchanged,
            Some(_) => Outcome::Updated,
        };
        match outcome {
            Outcome::Unchanged => seen.push(id.clone()),
            Outcome::AlreadyCounted => {}
            Outcome::Inserted | Outcome::Updated => writes.push(record),
        }
        outcomes.push((id, outcome));
    }
    if let Some(sync_id) = sync_id {
        mark_seen(tx, tenant, table, &seen, sync_id).await?;
    }
    write_rows(tx, tenant, table, writes, sync_id).await?;
    Ok(outcomes)
}

/// Writes one row (see [`upsert_all`]).
pub(crate) async fn upsert(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    record: Record,
    sync_id: Option<&str>,
) -> Result<Outcome, sqlx::Error> {
    let outcomes = upsert_all(tx, tenant, vec![record], sync_id).await?;
    Ok(outcomes.first().map_or(Outcome::Unchanged, |(_, o)| *o))
}

/// Marks the rows of `tenant` in `table` with these ids (and not removed) as seen by `sync_id`.
async fn mark_seen(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    table: &str,
    ids: &[String],
    sync_id: &str,
) -> Result<(), sqlx::Error> {
    let set = Ids::of(tx);
    for chunk in ids.chunks(set.per_statement(2)) {
        let sql = format!(
            "UPDATE {table} SET last_seen_sync = {} WHERE tenant = {} AND removed_at IS NULL AND {}",
            set.param(1),
            set.param(2),
            set.condition("id", 3, chunk.len())
        );
        let q = set.bind(dyn_query(sql).bind(sync_id.to_string()).bind(tenant.to_string()), chunk);
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Rows of `per_row` bound values that fit in `binds` (at least one).
fn rows_per_statement(binds: usize, per_row: usize) -> usize {
    (binds / per_row.max(1)).max(1)
}

/// Inserts new rows and overwrites changed ones, many rows a statement.
async fn write_rows(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    table: &str,
    rows: Vec<Record>,
    sync_id: Option<&str>,
) -> Result<(), sqlx::Error> {
    let Some(first) = rows.first() else { return Ok(()) };
    let names: Vec<&str> = first.columns.iter().map(|c| c.0).collect();
    let per_row = names.len() + 5;
    let sets: Vec<String> = names
        .iter()
        .map(|n| format!("{n} = excluded.{n}"))
        .chain([
            "data = excluded.data".to_string(),
            "hash = excluded.hash".to_string(),
            format!("last_seen_sync = COALESCE(excluded.last_seen_sync, {table}.last_seen_sync)"),
            "removed_at = NULL".to_string(),
        ])
        .collect();
    let set = Ids::of(tx);
    let per_statement = rows_per_statement(max_binds(tx), per_row);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Record> = rows.by_ref().take(per_statement).collect();
        let values: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(i, record)| {
                let base = i * per_row + 1;
                let mut cells = vec![set.param(base), set.param(base + 1)];
                cells.extend(record.columns.iter().enumerate().map(|(c, (_, v))| placeholder(&set, v, base + 2 + c)));
                cells.extend((0..3).map(|k| set.param(base + 2 + names.len() + k)));
                format!("({})", cells.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO {table} (tenant, id, {}, data, hash, last_seen_sync) VALUES {} \
             ON CONFLICT (tenant, id) DO UPDATE SET {}",
            names.join(", "),
            values.join(", "),
            sets.join(", ")
        );
        let mut q = dyn_query(sql);
        for record in chunk {
            debug_assert_eq!(record.columns.len(), names.len(), "one shape per table");
            q = q.bind(tenant.to_string()).bind(record.id);
            for (_, v) in record.columns {
                q = bind(q, v);
            }
            q = q.bind(record.data).bind(record.hash).bind(sync_id.map(str::to_string));
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// The mirrored tables with the parent whose child list they are (table, key column).
const MIRRORED: [(&str, Option<(&str, &str)>); 7] = [
    ("companies", None),
    ("contacts", Some(("companies", "company_id"))),
    ("products", None),
    ("subscriptions", None),
    ("invoices", None),
    ("invoice_items", Some(("invoices", "invoice_id"))),
    ("usage_summaries", Some(("subscriptions", "subscription_id"))),
];

/// At the end of sync `sync_id`: every row of `tenant` it did not see disappeared upstream and
/// is marked removed at `at`, but for the children of parents it saw whose lists it did not read
/// (they cannot have changed). Returns how many rows were marked.
pub(crate) async fn mark_removed(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    sync_id: &str,
    at: String,
) -> Result<u64, sqlx::Error> {
    let mut removed = 0;
    for (table, parent) in MIRRORED {
        let kept = match parent {
            None => String::new(),
            Some((parent, key)) => format!(
                " AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.tenant = {table}.tenant AND p.id = {table}.{key} \
                 AND p.last_seen_sync = $2 AND (p.children_read_sync IS NULL OR p.children_read_sync <> $2))"
            ),
        };
        let done = dyn_query(format!(
            "UPDATE {table} SET removed_at = $1 WHERE tenant = $3 AND removed_at IS NULL \
             AND (last_seen_sync IS NULL OR last_seen_sync <> $2){kept}"
        ))
        .bind(at.clone())
        .bind(sync_id.to_string())
        .bind(tenant.to_string())
        .execute(&mut **tx)
        .await?;
        removed += done.rows_affected();
    }
    Ok(removed)
}

/// Who took a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SnapshotSource {
    Sync,
    Webhook,
}

/// Records subscriptions' quantity, price and status as `source` saw them at `taken_at` (for a
/// sync, under its id; for a webhook event, under `webhook:<event id>`): copied from their
/// mirror rows, which the same transaction wrote (so a snapshot holds what the row holds), many
/// a statement, only the ids bound. Returns how many snapshot rows were written.
pub(crate) async fn snapshot_all(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    sync_id: &str,
    taken_at: DateTime<Utc>,
    subscriptions: &[String],
    source: SnapshotSource,
) -> Result<u64, sqlx::Error> {
    let source = match source {
        SnapshotSource::Sync => "sync",
        SnapshotSource::Webhook => "webhook",
    };
    let set = Ids::of(tx);
    let mut written = 0;
    for chunk in subscriptions.chunks(set.per_statement(4)) {
        let sql = format!(
            "INSERT INTO subscription_snapshots (tenant, sync_id, subscription_id, taken_at, quantity, price, status, source) \
             SELECT tenant, {}, id, {}, quantity, price, status, {} FROM subscriptions WHERE tenant = {} AND {} \
             ON CONFLICT (tenant, sync_id, subscription_id) DO UPDATE SET taken_at = excluded.taken_at, \
             quantity = excluded.quantity, price = excluded.price, status = excluded.status",
            set.param(1),
            set.param(2),
            set.param(3),
            set.param(4),
            set.condition("id", 5, chunk.len())
        );
        let q =
            dyn_query(sql).bind(sync_id.to_string()).bind(taken_at.to_rfc3339()).bind(source).bind(tenant.to_string());
        written += set.bind(q, chunk).execute(&mut **tx).await?.rows_affected();
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_and_cast_the_bound_values() {
        let postgres = Ids { postgres: true };
        assert_eq!(placeholder(&postgres, &Val::Money(None), 3), "CAST($3 AS NUMERIC)");
        assert_eq!(placeholder(&postgres, &Val::Text(None), 3), "$3");
        let sqlite = Ids { postgres: false };
        assert_eq!(placeholder(&sqlite, &Val::Money(None), 3), "CAST(? AS NUMERIC)");
        assert_eq!(placeholder(&sqlite, &Val::Text(None), 3), "?");
        assert_eq!(sqlite.condition("id", 2, 3), "id IN (?, ?, ?)");
        assert_eq!(sqlite.per_statement(2), 3_998);
        assert_eq!(
            postgres.condition("id", 3, 500),
            "id = ANY(ARRAY(SELECT json_array_elements_text(CAST($3 AS json))))"
        );
    }

    #[test]
    fn statements_hold_as_many_rows_as_their_bound_values_allow() {
        assert_eq!(rows_per_statement(400, 12), 33);
        assert_eq!(rows_per_statement(8_000, 8), 1_000);
        assert_eq!(rows_per_statement(10, 12), 1, "a row wider than the limit still goes, alone");
        assert_eq!(rows_per_statement(400, 0), 400);
    }

    /// A row the writing sync already saw unchanged is left alone and reported as already
    /// counted; another sync sees it unchanged; a changed one is updated whoever saw it.
    #[tokio::test]
    async fn a_row_this_sync_already_saw_is_counted_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(&format!("sqlite://{}", dir.path().join("seen.db").display())).await.unwrap();
        let product = |data: &str| {
            Record::new(
                "products",
                "p-1".into(),
                vec![("name", Val::Text(Some("M365".into()))), ("vendor", Val::Text(None)), ("sku", Val::Text(None))],
                data.into(),
            )
        };
        let mut outcomes = Vec::new();
        for (data, sync) in [("{}", "s1"), ("{}", "s1"), ("{}", "s2"), ("{\"a\":1}", "s2"), ("{\"a\":1}", "s2")] {
            let mut tx = store.pool.begin().await.unwrap();
            let done = upsert_all(&mut tx, "t", vec![product(data)], Some(sync)).await.unwrap();
            tx.commit().await.unwrap();
            outcomes.push(done[0].1);
        }
        use Outcome::{AlreadyCounted, Inserted, Unchanged, Updated};
        assert_eq!(outcomes, [Inserted, AlreadyCounted, Unchanged, Updated, AlreadyCounted]);
        let mut tx = store.pool.begin().await.unwrap();
        let webhook = upsert_all(&mut tx, "t", vec![product("{\"a\":1}")], None).await.unwrap();
        assert_eq!(webhook[0].1, Unchanged, "a webhook is no sync: nothing is already counted by it");
    }

    #[test]
    fn text_columns_hold_no_nul() {
        assert_eq!(storable("a\0b\0"), "a\u{fffd}b\u{fffd}");
        assert_eq!(storable("plain"), "plain");
    }
}

#[cfg(test)]
mod timing {
    use super::*;

    /// The write path alone on SQLite, as a full sync writes invoice items: 112,000 rows with
    /// random ids in parts of 2,000, each part a transaction (`cargo test --release -p pax8-sync
    /// --lib timing -- --ignored --nocapture`).
    #[tokio::test]
    #[ignore = "a timing probe, run by hand"]
    async fn probe() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(&format!("sqlite://{}", dir.path().join("probe.db").display())).await.unwrap();
        let invoices: Vec<String> = (0..6).map(|_| uuid::Uuid::new_v4().to_string()).collect();
        let record = |i: usize| -> Record {
            let id = uuid::Uuid::new_v4().to_string();
            let data = format!(
                r#"{{"id":"{id}","invoiceId":"{}","companyId":"{}","subscriptionId":"{}","productName":"Microsoft 365 Business Premium","sku":"MST-365-BP-{i}","quantity":{},"price":22.0,"costTotal":{}.99,"total":{}.50,"startPeriod":"2026-10-01","endPeriod":"2026-10-31","chargeType":"Monthly","details":"{}"}}"#,
                invoices[i % 6],
                uuid::Uuid::new_v4(),
                uuid::Uuid::new_v4(),
                i % 50,
                i % 900,
                i % 1000,
                "d".repeat(300)
            );
            Record::new(
                "invoice_items",
                id,
                vec![
                    ("invoice_id", Val::Text(Some(invoices[i % 6].clone()))),
                    ("company_id", Val::Text(Some(uuid::Uuid::new_v4().to_string()))),
                    ("subscription_id", Val::Text(Some(uuid::Uuid::new_v4().to_string()))),
                    ("product_name", Val::Text(Some("Microsoft 365 Business Premium".into()))),
                    ("quantity", Val::Num(Some((i % 50) as f64))),
                    ("cost_total", Val::Money(Some(rust_decimal::Decimal::new(1999, 2)))),
                    ("total", Val::Money(Some(rust_decimal::Decimal::new(2499, 2)))),
                ],
                data,
            )
        };
        let rows: usize = std::env::var("PROBE_ROWS").ok().and_then(|r| r.parse().ok()).unwrap_or(112_000);
        let parts: Vec<Vec<Record>> =
            (0..rows / 2000).map(|p| (p * 2000..(p + 1) * 2000).map(record).collect()).collect();
        let started = std::time::Instant::now();
        for part in parts {
            let mut tx = store.begin_page().await.unwrap();
            upsert_all(&mut tx, "t", part, Some("s1")).await.unwrap();
            tx.commit().await.unwrap();
        }
        let took = started.elapsed().as_secs_f64();
        eprintln!("{rows} rows in {took:.2} s: {:.0} rows/s", rows as f64 / took);
    }
}

/// The write path alone, for the `sync` benchmark: subscriptions written as a sync writes them
/// (pages of 200 in a transaction each, upserted and snapshotted), `batch` rows a statement
/// (1: a row at a time, the shape of the writes before they were batched).
#[doc(hidden)]
pub async fn bench_write_subscriptions(
    store: &crate::Store,
    tenant: &str,
    subscriptions: &[Subscription],
    batch: usize,
) -> Result<u64, sqlx::Error> {
    let sync_id = uuid::Uuid::new_v4().to_string();
    let mut written = 0;
    for page in subscriptions.chunks(200) {
        let mut tx = store.begin_page().await?;
        for part in page.chunks(batch.max(1)) {
            let records: Vec<Record> = part.iter().filter_map(crate::rows::subscription_record).collect();
            let ids: Vec<String> = part.iter().filter_map(|s| s.id.map(|id| id.to_string())).collect();
            written += upsert_all(&mut tx, tenant, records, Some(&sync_id)).await?.len() as u64;
            snapshot_all(&mut tx, tenant, &sync_id, Utc::now(), &ids, SnapshotSource::Sync).await?;
        }
        tx.commit().await?;
    }
    Ok(written)
}
