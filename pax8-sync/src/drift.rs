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
