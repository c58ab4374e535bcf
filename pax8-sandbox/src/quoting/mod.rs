//! Quoting API v2 routes: quotes, line items, sections, access list, preferences.

mod line_items;
mod preferences;
mod quotes;
mod sharing;

use axum::Router;
use axum::http::Uri;
use axum::routing::{delete, get, post};
use pax8_api::quoting::types::{
    AmountCurrency, InvoiceTotals, LineItemResponse, ListContent, ListLineItemCounts, ListTotals, PartnerDetails,
    QuoteResponse,
};
use uuid::Uuid;

use crate::app::App;
use crate::http::{ApiError, convert, not_found, path_id};
use crate::values::round2;
use line_items::{add_line_items, bulk_delete, delete_line_item};
use preferences::{preferences, save_preferences};
use quotes::{create, get_one, list, remove, update};
use sharing::{access_list, create_section, sections, share, unshare, update_sections};

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/v2/quotes", get(list).post(create))
        .route("/v2/quotes/{id}", get(get_one).put(update).delete(remove))
        .route("/v2/quotes/{id}/line-items", post(add_line_items))
        .route("/v2/quotes/{id}/line-items/bulk-delete", post(bulk_delete))
        .route("/v2/quotes/{id}/line-items/{item}", delete(delete_line_item))
        .route("/v2/quotes/{id}/sections", get(sections).post(create_section).put(update_sections))
        .route("/v2/quotes/{id}/access-list", get(access_list).post(share))
        .route("/v2/quotes/{id}/access-list/{entry}", delete(unshare))
        .route("/v2/quote-preferences", get(preferences).put(save_preferences))
}

fn usd(amount: f64) -> AmountCurrency {
    AmountCurrency { amount: round2(amount), currency: "USD".into(), ..Default::default() }
}

fn totals(items: &[LineItemResponse]) -> InvoiceTotals {
    let (mut total, mut cost) = (0.0, 0.0);
    for i in items {
        total += i.price.amount * i.quantity as f64;
        cost += i.cost.amount * i.quantity as f64;
    }
    InvoiceTotals {
        initial_cost: usd(0.0),
        initial_profit: usd(0.0),
        initial_total: usd(0.0),
        recurring_cost: usd(cost),
        recurring_profit: usd(total - cost),
        recurring_total: usd(total),
        ..Default::default()
    }
}

fn partner() -> PartnerDetails {
    PartnerDetails {
        id: crate::webhooks::ACCOUNT,
        name: "Sandbox MSP".into(),
        street: "5500 S Quebec St".into(),
        street2: Some("Ste. 350".into()),
        city: "Greenwood Village".into(),
        state_or_province_code: "CO".into(),
        postcode: "80111".into(),
        country: Some("US".into()),
        parent_partner: None,
        ..Default::default()
    }
}

fn summary(q: &QuoteResponse) -> ListContent {
    ListContent {
        client: q.client.clone(),
        created_by: q.created_by.clone(),
        created_on: q.created_on,
        id: q.id,
        intent_type: None,
        line_item_counts: ListLineItemCounts {
            custom: 0,
            msp: q.line_items.len() as i64,
            total: q.line_items.len() as i64,
            ..Default::default()
        },
        owned_by: None,
        partner: None,
        published: q.published,
        published_on: q.published_on,
        reference_code: q.reference_code.clone(),
        status: convert(&q.status),
        totals: ListTotals {
            initial_total: q.totals.initial_total.clone(),
            recurring_total: q.totals.recurring_total.clone(),
            ..Default::default()
        },
        updated_on: q.responded_on.unwrap_or(q.created_on),
        ..Default::default()
    }
}

fn with_quote(
    app: &App,
    id: &str,
    uri: &Uri,
    f: impl FnOnce(&mut QuoteResponse) -> Result<(), ApiError>,
) -> Result<QuoteResponse, ApiError> {
    let id = path_id(id, "quote", uri.path())?;
    let mut store = app.0.quotes.lock().expect("quotes lock");
    let Some(q) = store.quotes.iter_mut().find(|q| q.id == id) else {
        return Err(not_found("quote", &id.to_string(), uri.path()));
    };
    f(q)?;
    q.totals = totals(&q.line_items);
    Ok(q.clone())
}

fn quote_exists(app: &App, id: &str, uri: &Uri) -> Result<Uuid, ApiError> {
    let id = path_id(id, "quote", uri.path())?;
    if app.0.quotes.lock().expect("quotes lock").quotes.iter().any(|q| q.id == id) {
        Ok(id)
    } else {
        Err(not_found("quote", &id.to_string(), uri.path()))
    }
}
