//! Partner API v1 routes, one module per resource.

mod catalog;
mod companies;
mod invoices;
mod orders;
mod subscriptions;
mod usage;

use std::cmp::Ordering;
use std::collections::HashMap;

use axum::Router;
use axum::extract::Query as AxumQuery;
use axum::routing::get;
use pax8_api::partner::types::Page;

use crate::app::App;
use catalog::{dependencies, get_product, list_products, pricing, provision_details};
use companies::{
    create_company, create_contact, delete_contact, get_company, get_contact, list_companies, list_contacts,
    put_contact, update_company,
};
use invoices::{draft_items, get_invoice, invoice_items, list_invoices};
use orders::{create_order, get_order, list_orders};
use subscriptions::{
    cancel_subscription, get_subscription, list_subscriptions, subscription_history, update_subscription,
};
use usage::{usage_lines, usage_summaries, usage_summary};

type Params = AxumQuery<HashMap<String, String>>;

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/v1/companies", get(list_companies).post(create_company))
        .route("/v1/companies/{id}", get(get_company).patch(update_company))
        .route("/v1/companies/{id}/contacts", get(list_contacts).post(create_contact))
        .route("/v1/companies/{id}/contacts/{contact}", get(get_contact).put(put_contact).delete(delete_contact))
        .route("/v1/products", get(list_products))
        .route("/v1/products/{id}", get(get_product))
        .route("/v1/products/{id}/provision-details", get(provision_details))
        .route("/v1/products/{id}/dependencies", get(dependencies))
        .route("/v1/products/{id}/pricing", get(pricing))
        .route("/v1/orders", get(list_orders).post(create_order))
        .route("/v1/orders/{id}", get(get_order))
        .route("/v1/subscriptions", get(list_subscriptions))
        .route("/v1/subscriptions/{id}", get(get_subscription).put(update_subscription).delete(cancel_subscription))
        .route("/v1/subscriptions/{id}/history", get(subscription_history))
        .route("/v1/subscriptions/{id}/usage-summaries", get(usage_summaries))
        .route("/v1/usage-summaries/{id}", get(usage_summary))
        .route("/v1/usage-summaries/{id}/usage-lines", get(usage_lines))
        .route("/v1/invoices", get(list_invoices))
        .route("/v1/invoices/draftItems", get(draft_items))
        .route("/v1/invoices/{id}", get(get_invoice))
        .route("/v1/invoices/{id}/items", get(invoice_items))
}

fn page_info(number: i64, size: i64, total: i64, pages: i64) -> Option<Page> {
    Some(Page {
        number: Some(number),
        size: std::num::NonZeroU64::new(size as u64).expect("size >= 1"),
        total_elements: Some(total),
        total_pages: Some(pages),
        ..Default::default()
    })
}

fn cmp_opt<T: PartialOrd>(a: &Option<T>, b: &Option<T>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// A webhook event's payload: the object as the API returns it, with its id also under
/// `id_field` (`subscriptionId`, `companyId`, `orderId`) as Pax8's events name it.
fn event<T: serde::Serialize>(id_field: &str, object: &T) -> serde_json::Map<String, serde_json::Value> {
    let mut payload = match serde_json::to_value(object) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    if let Some(id) = payload.get("id").cloned() {
        payload.insert(id_field.into(), id);
    }
    payload
}
