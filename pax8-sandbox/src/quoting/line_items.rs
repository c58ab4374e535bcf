//! A quote's line items: adding standard and custom lines, deleting one or many.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use pax8_api::quoting::types::{
    AddLineItemsBodyItem, DeleteLineItemsPayload, LineItemResponse, LineItemResponseBillingTerm, Product, ProductType,
};

use crate::app::App;
use crate::http::{Answer, body, created, empty, invalid, not_found, path_id};

use super::{totals, usd, with_quote};

pub(super) async fn add_line_items(State(app): State<App>, uri: Uri, Path(id): Path<String>, bytes: Bytes) -> Answer {
    let items: Vec<AddLineItemsBodyItem> = body(&bytes, uri.path())?;
    let mut new_items = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let line = match item {
            AddLineItemsBodyItem::StandardLineItemPayload(p) => {
                let Some(entry) = app.world().product(p.product_id).cloned() else {
                    return Err(invalid(&format!("[{i}].productId"), "unknown product", uri.path()));
                };
                let cost = entry
                    .pricing
                    .first()
                    .and_then(|pr| pr.rates.first())
                    .and_then(|r| r.partner_buy_rate)
                    .unwrap_or(0.0);
                (
                    p.quantity,
                    p.price,
                    cost,
                    p.billing_term.as_str().to_string(),
                    p.effective_date,
                    p.note.clone(),
                    Product {
                        id: p.product_id,
                        is_msp_only: false,
                        name: entry.detail.name.clone().unwrap_or_default(),
                        sku: entry.detail.sku.clone().unwrap_or_default(),
                        type_: ProductType::Standalone,
                        ..Default::default()
                    },
                )
            }
            AddLineItemsBodyItem::CustomLineItemPayload(p) => (
                p.quantity,
                p.price,
                p.cost,
                p.billing_term.as_str().to_string(),
                p.effective_date,
                p.note.clone(),
                Product {
                    id: app.new_id(),
                    is_msp_only: true,
                    name: p.product_name.clone(),
                    sku: p.product_sku.clone().unwrap_or_default(),
                    type_: ProductType::Custom,
                    ..Default::default()
                },
            ),
            AddLineItemsBodyItem::UsageBasedLineItemPayload(_) => {
                return Err(invalid(&format!("[{i}].type"), "usage-based line items are not simulated", uri.path()));
            }
        };
        let (quantity, price, cost, term, effective, note, product) = line;
        if quantity < 1 {
            return Err(invalid(&format!("[{i}].quantity"), "must be at least 1", uri.path()));
        }
        let mut response = LineItemResponse {
            id: app.new_id(),
            billing_term: LineItemResponseBillingTerm::from(term.as_str()),
            commitment_term: None,
            cost: usd(cost),
            price: usd(price),
            effective_date: effective,
            note: note.unwrap_or_default(),
            product,
            quantity: i64::from(quantity),
            relationship: None,
            subscription_id: None,
            totals: totals(&[]),
            usage_based: None,
            ..Default::default()
        };
        response.totals = totals(std::slice::from_ref(&response));
        new_items.push(response);
    }
    with_quote(&app, &id, &uri, |q| {
        q.line_items.extend(new_items.iter().cloned());
        Ok(())
    })?;
    created(&new_items)
}

pub(super) async fn delete_line_item(
    State(app): State<App>,
    uri: Uri,
    Path((id, item)): Path<(String, String)>,
) -> Answer {
    let item = path_id(&item, "line item", uri.path())?;
    with_quote(&app, &id, &uri, |q| {
        let before = q.line_items.len();
        q.line_items.retain(|l| l.id != item);
        if before == q.line_items.len() { Err(not_found("line item", &item.to_string(), uri.path())) } else { Ok(()) }
    })?;
    empty(StatusCode::NO_CONTENT)
}

pub(super) async fn bulk_delete(State(app): State<App>, uri: Uri, Path(id): Path<String>, bytes: Bytes) -> Answer {
    let ids: DeleteLineItemsPayload = body(&bytes, uri.path())?;
    with_quote(&app, &id, &uri, |q| {
        q.line_items.retain(|l| !ids.line_item_ids.contains(&l.id));
        Ok(())
    })?;
    empty(StatusCode::NO_CONTENT)
}
