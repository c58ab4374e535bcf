//! Odd items a sync met: items of an API answer left out (a value their type cannot hold) or
//! repaired (a lone surrogate), reported by pax8-ext's tolerant pages. Each is listed in the
//! `odd_rows` table with the sync that met it and logged; a left-out item already in the mirror
//! is marked seen, so it is not taken for removed upstream. The rest of the sync goes on.

use pax8_ext::tolerant::{OddItem, OddKind};
use sqlx::{Any, Transaction};

use crate::store::dyn_query;

/// The mirrored table of a listing's items, by its operation id.
fn table_of(operation: &str) -> Option<&'static str> {
    Some(match operation {
        "findCompanies" => "companies",
        "getCompaniesByCompanyIdContacts" => "contacts",
        "findAllProducts" => "products",
        "findSubscriptions" => "subscriptions",
        "findPartnerInvoices" => "invoices",
        "findPartnerInvoiceItems" => "invoice_items",
        "findSubscriptionUsageSummaries" => "usage_summaries",
        _ => return None,
    })
}

/// Records `items` for `sync_id` in the page's transaction; returns how many.
pub(crate) async fn record(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    sync_id: &str,
    items: Vec<OddItem>,
) -> Result<u64, sqlx::Error> {
    let now = chrono::Utc::now().to_rfc3339();
    for item in &items {
        tracing::warn!(
            tenant,
            operation = item.operation,
            kind = item.kind.as_str(),
            id = item.id.as_deref().unwrap_or(""),
            reason = %item.reason,
            "odd item in an API answer"
        );
        let reason = crate::write::storable(&item.reason);
        sqlx::query(
            "INSERT INTO odd_rows (tenant, sync_id, operation, kind, item_id, reason, seen_at) VALUES ($1, $2, $3, $4, \
             $5, $6, $7)",
        )
        .bind(tenant.to_string())
        .bind(sync_id.to_string())
        .bind(item.operation.to_string())
        .bind(item.kind.as_str().to_string())
        .bind(item.id.as_deref().map(crate::write::storable))
        .bind(reason)
        .bind(now.clone())
        .execute(&mut **tx)
        .await?;
        if item.kind == OddKind::Skipped
            && let (Some(table), Some(id)) = (table_of(item.operation), &item.id)
        {
            dyn_query(format!(
                "UPDATE {table} SET last_seen_sync = $1 WHERE tenant = $2 AND id = $3 AND removed_at IS NULL"
            ))
            .bind(sync_id.to_string())
            .bind(tenant.to_string())
            .bind(crate::write::storable(id))
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(items.len() as u64)
}
