//! The one write path for mirror rows: [`upsert`] writes `data`, the typed columns and the
//! content hash together for a sync and for a webhook alike, and [`snapshot`] records a
//! subscription's quantity, price and status with who saw them. Amounts go to NUMERIC columns
//! as decimal text.

use chrono::{DateTime, Utc};
use pax8_api::partner::types::{Company, Subscription};
use rust_decimal::Decimal;
use serde::Serialize;
use sha2::Digest;
use sqlx::{Any, Row, Transaction};

use crate::store::dyn_query;

/// A value bound to a column.
pub(crate) enum Val {
    Text(Option<String>),
    Num(Option<f64>),
    /// An amount, bound as decimal text into a NUMERIC column.
    Money(Option<Decimal>),
}

/// One mirror row: its table, id, typed columns and the whole object as JSON.
pub(crate) struct Record {
    pub(crate) table: &'static str,
    pub(crate) id: String,
    pub(crate) columns: Vec<(&'static str, Val)>,
    pub(crate) data: String,
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Inserted,
    Updated,
    Unchanged,
}

fn hash(data: &str) -> String {
    sha2::Sha256::digest(data.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn text<T: ToString>(v: Option<T>) -> Val {
    Val::Text(v.map(|x| x.to_string()))
}

/// An amount the API sent as a JSON number: the decimal it was written as (`pax8_ext::money`).
/// Not-a-number, infinities and values out of range are stored as absent.
pub(crate) fn decimal(v: Option<f64>) -> Option<Decimal> {
    pax8_ext::money::exact(v)
}

pub(crate) fn money(v: Option<f64>) -> Val {
    Val::Money(decimal(v))
}

pub(crate) fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// The placeholder of column `n`: amounts are cast from text to NUMERIC.
fn placeholder(v: &Val, n: usize) -> String {
    match v {
        Val::Money(_) => format!("CAST(${n} AS NUMERIC)"),
        _ => format!("${n}"),
    }
}

fn bind<'q>(
    q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>,
    v: &Val,
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments> {
    match v {
        Val::Text(t) => q.bind(t.clone()),
        Val::Num(n) => q.bind(*n),
        Val::Money(m) => q.bind(m.map(|m| m.to_string())),
    }
}

/// Writes one mirror row of `tenant`: `data`, the typed columns and the hash together, whoever
/// calls (a sync, with its id recorded as `last_seen_sync`, or a webhook, with `None`).
pub(crate) async fn upsert(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    r: Record,
    sync_id: Option<&str>,
) -> Result<Outcome, sqlx::Error> {
    let h = hash(&r.data);
    let existing = dyn_query(format!("SELECT hash, removed_at FROM {} WHERE tenant = $1 AND id = $2", r.table))
        .bind(tenant.to_string())
        .bind(r.id.clone())
        .fetch_optional(&mut **tx)
        .await?;
    let n = r.columns.len();
    match existing {
        None => {
            let names: Vec<&str> = r.columns.iter().map(|c| c.0).collect();
            let values: Vec<String> = r.columns.iter().enumerate().map(|(i, (_, v))| placeholder(v, i + 3)).collect();
            let sql = format!(
                "INSERT INTO {} (tenant, id, {}, data, hash, last_seen_sync) VALUES ($1, $2, {}, ${}, ${}, ${})",
                r.table,
                names.join(", "),
                values.join(", "),
                n + 3,
                n + 4,
                n + 5
            );
            let mut q = dyn_query(sql).bind(tenant.to_string()).bind(r.id.clone());
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
                    dyn_query(format!("UPDATE {} SET last_seen_sync = $1 WHERE tenant = $2 AND id = $3", r.table))
                        .bind(sync_id.to_string())
                        .bind(tenant.to_string())
                        .bind(r.id.clone())
                        .execute(&mut **tx)
                        .await?;
                }
                return Ok(Outcome::Unchanged);
            }
            let sets: Vec<String> = r
                .columns
                .iter()
                .enumerate()
                .map(|(i, (name, v))| format!("{name} = {}", placeholder(v, i + 1)))
                .collect();
            let sql = format!(
                "UPDATE {} SET {}, data = ${}, hash = ${}, last_seen_sync = COALESCE(${}, last_seen_sync), removed_at = NULL \
                 WHERE tenant = ${} AND id = ${}",
                r.table,
                sets.join(", "),
                n + 1,
                n + 2,
                n + 3,
                n + 4,
                n + 5
            );
            let mut q = dyn_query(sql);
            for (_, v) in &r.columns {
                q = bind(q, v);
            }
            q.bind(r.data.clone())
                .bind(h)
                .bind(sync_id.map(str::to_string))
                .bind(tenant.to_string())
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
            ("price", Val::Money(v.price)),
            ("partner_cost", Val::Money(v.partner_cost)),
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
    tenant: &str,
    sync_id: &str,
    subscription_id: &str,
    taken_at: DateTime<Utc>,
    s: &Subscription,
    source: SnapshotSource,
) -> Result<(), sqlx::Error> {
    let price = decimal(s.price);
    sqlx::query(
        "INSERT INTO subscription_snapshots (tenant, sync_id, subscription_id, taken_at, quantity, price, status, source) \
         VALUES ($1, $2, $3, $4, $5, CAST($6 AS NUMERIC), $7, $8) ON CONFLICT (tenant, sync_id, subscription_id) DO UPDATE SET \
         taken_at = excluded.taken_at, quantity = excluded.quantity, price = excluded.price, status = excluded.status",
    )
    .bind(tenant.to_string())
    .bind(sync_id.to_string())
    .bind(subscription_id.to_string())
    .bind(taken_at.to_rfc3339())
    .bind(s.quantity)
    .bind(price.map(|p| p.to_string()))
    .bind(s.status.as_ref().map(|x| x.to_string()))
    .bind(match source {
        SnapshotSource::Sync => "sync",
        SnapshotSource::Webhook => "webhook",
    })
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The stored object of a mirror row of `tenant`, if there is one and it is a JSON object.
pub(crate) async fn stored(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    table: &str,
    id: uuid::Uuid,
) -> Result<Option<serde_json::Map<String, serde_json::Value>>, sqlx::Error> {
    let row = dyn_query(format!("SELECT data FROM {table} WHERE tenant = $1 AND id = $2"))
        .bind(tenant.to_string())
        .bind(id.to_string())
        .fetch_optional(&mut **tx)
        .await?;
    let data: Option<String> = match row {
        Some(row) => row.try_get("data")?,
        None => None,
    };
    Ok(data.and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok()).and_then(|v| match v {
        serde_json::Value::Object(map) => Some(map),
        _ => None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_the_decimals_they_were_written_as() {
        for (sent, stored) in
            [(19.99, "19.99"), (649.8, "649.8"), (0.13, "0.13"), (1200.0, "1200"), (85429.34, "85429.34")]
        {
            assert_eq!(decimal(Some(sent)).map(|d| d.to_string()).as_deref(), Some(stored), "{sent}");
        }
        for absurd in [f64::NAN, f64::INFINITY, 1e300] {
            assert!(decimal(Some(absurd)).is_none(), "{absurd}");
        }
        assert!(matches!(money(None), Val::Money(None)));
        assert_eq!(placeholder(&Val::Money(None), 3), "CAST($3 AS NUMERIC)");
        assert_eq!(placeholder(&Val::Text(None), 3), "$3");
    }
}
