//! Usage of consumption subscriptions: `/v1/usage-summaries` and their usage lines.

use axum::extract::{Path, Query as AxumQuery, State};
use axum::http::Uri;
use pax8_api::Date;
use pax8_api::partner::types::{FindSubscriptionUsageSummariesResponse, FindUsageLinesResponse, UsageLine};

use super::{Params, page_info};
use crate::app::App;
use crate::http::{Answer, MAX_PAGE_SIZE, Query, invalid, not_found, ok, path_id, slice};
use crate::values::round2;

pub(super) async fn usage_summaries(
    State(app): State<App>,
    uri: Uri,
    Path(id): Path<String>,
    AxumQuery(params): Params,
) -> Answer {
    let q = Query { params: &params, instance: uri.path() };
    let id = path_id(&id, "subscription", uri.path())?;
    let (page, size) = q.paging(0, MAX_PAGE_SIZE, "size")?;
    let world = app.world();
    if world.subscription(id).is_none() {
        return Err(not_found("subscription", &id.to_string(), uri.path()));
    }
    let mut items = world.usage_summaries.get(&id).cloned().unwrap_or_default();
    if let Some(group) = q.str("resourceGroup") {
        items.retain(|s| s.resource_group.as_deref() == Some(group));
    }
    let (content, total, pages) = slice(&items, page, size);
    ok(&FindSubscriptionUsageSummariesResponse {
        content,
        page: page_info(page, size, total, pages),
        ..Default::default()
    })
}

pub(super) async fn usage_summary(State(app): State<App>, uri: Uri, Path(id): Path<String>) -> Answer {
    let id = path_id(&id, "usage summary", uri.path())?;
    match app.world().usage_summary(id) {
        Some(s) => ok(s),
        None => Err(not_found("usage summary", &id.to_string(), uri.path())),
    }
}

pub(super) async fn usage_lines(
    State(app): State<App>,
    uri: Uri,
    Path(id): Path<String>,
    AxumQuery(params): Params,
) -> Answer {
    let q = Query { params: &params, instance: uri.path() };
    let id = path_id(&id, "usage summary", uri.path())?;
    let Some(date) = q.parse::<Date>("usageDate")? else {
        return Err(invalid("usageDate", "is required", uri.path()));
    };
    let product = q.uuid("productId")?;
    let world = app.world();
    let Some(summary) = world.usage_summary(id) else {
        return Err(not_found("usage summary", &id.to_string(), uri.path()));
    };
    let meters = [
        ("Virtual Machines D2s v5", "Hour", 0.096),
        ("Managed Disks P10", "Month", 0.66),
        ("Bandwidth", "GB", 0.087),
        ("Blob Storage Hot LRS", "GB", 0.0184),
    ];
    let seed = (id.as_u128() as u64) ^ (chrono::Datelike::ordinal(&date.0) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let content: Vec<UsageLine> = meters
        .iter()
        .enumerate()
        .map(|(i, (name, unit, price))| {
            let quantity = round2(((seed >> (i * 8)) & 0xff) as f64 / 4.0 + 1.0);
            let charges = round2(quantity * price);
            UsageLine {
                usage_summary_id: Some(id),
                usage_date: Some(date),
                product_id: summary.product_id,
                product_name: Some((*name).into()),
                unit_of_measure: Some((*unit).into()),
                quantity: Some(quantity),
                unit_price: Some(*price),
                current_charges: Some(charges),
                partner_total: Some(round2(charges * 0.85)),
                current_profit: Some(round2(charges * 0.15)),
                currency_code: summary.currency_code.clone(),
                is_trial: Some(false),
                ..Default::default()
            }
        })
        .filter(|l| product.is_none_or(|p| l.product_id == Some(p)))
        .collect();
    ok(&FindUsageLinesResponse {
        page: page_info(0, content.len().max(1) as i64, content.len() as i64, 1),
        content,
        ..Default::default()
    })
}
