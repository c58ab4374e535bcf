//! Drift: subscriptions whose quantity or price changed between snapshots of a tenant.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::Row;

use crate::{Store, SyncError};

/// A subscription whose quantity or price changed between two snapshots.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Drift {
    /// The subscription.
    pub subscription_id: String,
    /// Its company.
    pub company_id: Option<String>,
    /// Its product.
    pub product_name: Option<String>,
    /// Quantity in the baseline snapshot.
    pub quantity_before: Option<f64>,
    /// Quantity in the latest snapshot.
    pub quantity_now: Option<f64>,
    /// Price in the baseline snapshot.
    pub price_before: Option<Decimal>,
    /// Price in the latest snapshot.
    pub price_now: Option<Decimal>,
}

/// Subscriptions whose quantity or price changed: for each, its latest snapshot (from a sync or
/// a webhook) against the last one taken at or before `now - since` (or its first, if all are
/// more recent).
pub async fn drift(
    store: &Store,
    tenant: &str,
    since: chrono::Duration,
    now: DateTime<Utc>,
) -> Result<Vec<Drift>, SyncError> {
    let cutoff = (now - since).to_rfc3339();
    // RFC 3339 in UTC throughout: text order is time order.
    let rows = sqlx::query(
        "SELECT n.subscription_id AS id, n.taken_at AS taken_at, n.quantity AS quantity, \
         CAST(n.price AS TEXT) AS price, s.company_id AS company_id, s.product_name AS product_name \
         FROM subscription_snapshots n LEFT JOIN subscriptions s ON s.tenant = n.tenant AND s.id = n.subscription_id \
         WHERE n.tenant = $1 ORDER BY n.subscription_id, n.taken_at",
    )
    .bind(tenant.to_string())
    .fetch_all(&store.pool)
    .await?;
    struct Seen {
        taken_at: String,
        quantity: Option<f64>,
        price: Option<Decimal>,
    }
    let mut out = Vec::new();
    let mut index = 0;
    while index < rows.len() {
        let id: String = rows[index].try_get("id")?;
        let (mut baseline, mut latest): (Option<Seen>, Option<Seen>) = (None, None);
        let start = index;
        while index < rows.len() && rows[index].try_get::<String, _>("id")? == id {
            let r = &rows[index];
            let price: Option<String> = r.try_get("price")?;
            let price = match price {
                Some(text) => Some(
                    text.parse::<Decimal>().map_err(|e| SyncError::Invalid(format!("stored price `{text}`: {e}")))?,
                ),
                None => None,
            };
            let seen = Seen { taken_at: r.try_get("taken_at")?, quantity: r.try_get("quantity")?, price };
            if baseline.is_none() || seen.taken_at <= cutoff {
                baseline = Some(Seen { taken_at: seen.taken_at.clone(), ..seen });
                latest = None;
            } else {
                latest = Some(seen);
            }
            index += 1;
        }
        if let (Some(before), Some(now)) = (baseline, latest)
            && (before.quantity != now.quantity || before.price != now.price)
        {
            let r = &rows[start];
            out.push(Drift {
                subscription_id: id,
                company_id: r.try_get("company_id")?,
                product_name: r.try_get("product_name")?,
                quantity_before: before.quantity,
                quantity_now: now.quantity,
                price_before: before.price,
                price_now: now.price,
            });
        }
    }
    Ok(out)
}

impl Store {
    /// The quantities each subscription of `tenant` had from `from` to `to` (both days
    /// included) as the mirror saw them: the last snapshot before `from` and every one in the
    /// period. A subscription with no snapshot by `to` is absent (its quantity is unknown).
    pub async fn quantities_during(
        &self,
        tenant: &str,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<std::collections::HashMap<uuid::Uuid, Vec<u64>>, SyncError> {
        use sqlx::Row;
        let rows = sqlx::query(
            "SELECT subscription_id, CAST(quantity AS DOUBLE PRECISION) AS quantity, taken_at FROM subscription_snapshots \
             WHERE tenant = $1 AND taken_at < $2 ORDER BY subscription_id, taken_at",
        )
        .bind(tenant.to_string())
        .bind(to.succ_opt().unwrap_or(to).to_string())
        .fetch_all(&self.pool)
        .await?;
        let start = from.to_string();
        let mut out: std::collections::HashMap<uuid::Uuid, Vec<u64>> = std::collections::HashMap::new();
        let mut before: std::collections::HashMap<uuid::Uuid, u64> = std::collections::HashMap::new();
        for row in rows {
            let Ok(id) = uuid::Uuid::parse_str(&row.try_get::<String, _>("subscription_id")?) else { continue };
            let quantity: Option<f64> = row.try_get("quantity")?;
            let Some(quantity) = pax8_ext::ops::whole(quantity) else { continue };
            let taken: String = row.try_get("taken_at")?;
            if taken < start {
                before.insert(id, quantity);
            } else {
                out.entry(id).or_default().push(quantity);
            }
        }
        for (id, quantity) in before {
            out.entry(id).or_default().insert(0, quantity);
        }
        for seen in out.values_mut() {
            seen.dedup();
        }
        Ok(out)
    }
}
