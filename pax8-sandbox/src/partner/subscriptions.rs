//! Subscriptions: `/v1/subscriptions`, their changes, cancellation and history.

use axum::body::Bytes;
use axum::extract::{Path, Query as AxumQuery, State};
use axum::http::{StatusCode, Uri};
use pax8_api::Timestamp;
use pax8_api::partner::types::{
    FindSubscriptionHistoryBySubscriptionIdResponse, FindSubscriptionsResponse, Subscription, SubscriptionBillingTerm,
    SubscriptionStatus, SubscriptionUpdate,
};
use std::cmp::Ordering;

use super::{Params, cmp_opt, event, page_info};
use crate::app::App;
use crate::http::{Answer, MAX_PAGE_SIZE, Query, body, empty, invalid, not_found, ok, path_id, slice_refs, sort_spec};

pub(super) async fn list_subscriptions(State(app): State<App>, uri: Uri, AxumQuery(params): Params) -> Answer {
    let q = Query { params: &params, instance: uri.path() };
    let (page, size) = q.paging(0, MAX_PAGE_SIZE, "size")?;
    let company = q.uuid("companyId")?;
    let product = q.uuid("productId")?;
    let world = app.world();
    let filtered = [company.is_some(), product.is_some(), q.str("status").is_some(), q.str("billingTerm").is_some()];
    if !filtered.contains(&true) && q.str("sort").is_none() {
        // The whole list in creation order: only the page is copied (a tenant of a million
        // subscriptions is served a page at a time, not filtered whole for each).
        let (content, total, pages) = crate::http::slice(&world.subscriptions, page, size);
        return ok(&FindSubscriptionsResponse {
            content,
            page: page_info(page, size, total, pages),
            ..Default::default()
        });
    }
    let mut items: Vec<&Subscription> = world
        .subscriptions
        .iter()
        .filter(|s| {
            company.is_none_or(|c| s.company_id == Some(c))
                && product.is_none_or(|p| s.product_id == Some(p))
                && q.str("status").is_none_or(|w| s.status.as_ref().is_some_and(|x| x.as_str() == w))
                && q.str("billingTerm").is_none_or(|w| s.billing_term.as_ref().is_some_and(|x| x.as_str() == w))
        })
        .collect();
    if let Some(sort) = q.str("sort") {
        let (field, desc) = sort_spec(sort);
        let cmp: fn(&Subscription, &Subscription) -> Ordering = match field {
            "quantity" => |a, b| cmp_opt(&a.quantity, &b.quantity),
            "startDate" => |a, b| cmp_opt(&a.start_date, &b.start_date),
            "endDate" => |a, b| cmp_opt(&a.end_date, &b.end_date),
            "createdDate" => |a, b| cmp_opt(&a.created_date, &b.created_date),
            "billingStart" => |a, b| cmp_opt(&a.billing_start, &b.billing_start),
            "price" => |a, b| cmp_opt(&a.price, &b.price),
            other => return Err(invalid("sort", format!("cannot sort by `{other}`"), uri.path())),
        };
        items.sort_by(|a, b| if desc { cmp(b, a) } else { cmp(a, b) });
    }
    let (content, total, pages) = slice_refs(&items, page, size);
    ok(&FindSubscriptionsResponse { content, page: page_info(page, size, total, pages), ..Default::default() })
}

pub(super) async fn get_subscription(State(app): State<App>, uri: Uri, Path(id): Path<String>) -> Answer {
    let id = path_id(&id, "subscription", uri.path())?;
    match app.world().subscription(id) {
        Some(s) => ok(s),
        None => Err(not_found("subscription", &id.to_string(), uri.path())),
    }
}

pub(super) async fn update_subscription(
    State(app): State<App>,
    uri: Uri,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    let id = path_id(&id, "subscription", uri.path())?;
    let update: SubscriptionUpdate = body(&bytes, uri.path())?;
    let instance = uri.path();
    if update.price.is_none()
        && update.billing_term.is_none()
        && update.quantity.is_none()
        && update.start_date.is_none()
    {
        return Err(invalid("body", "one of price, billingTerm, quantity, startDate is required", instance));
    }
    if let Some(q) = update.quantity
        && (q < 0.0 || q.fract() != 0.0)
    {
        return Err(invalid("quantity", "must be a whole number >= 0", instance));
    }
    if let Some(p) = update.price
        && p < 0.0
    {
        return Err(invalid("price", "must be >= 0", instance));
    }
    let now = app.now();
    let mut world = app.world();
    let Some(sub) = world.subscription(id) else { return Err(not_found("subscription", &id.to_string(), instance)) };
    if matches!(sub.status, Some(SubscriptionStatus::Cancelled)) {
        return Err(invalid("status", "the subscription is cancelled", instance));
    }
    // Pax8's commitment rules: while a commitment runs, seats may be added but not removed, and
    // the billing term stays (both wait for the commitment's end).
    if let Some(ends) = sub.commitment.as_ref().and_then(|c| c.end_date)
        && ends > now
    {
        let on = ends.date();
        if update.quantity.is_some_and(|q| q < sub.quantity.unwrap_or(0.0)) {
            let why = format!("the quantity cannot be decreased before the commitment ends on {on}");
            return Err(invalid("quantity", why, instance));
        }
        let term_now = sub.billing_term.as_ref().map(|t| t.to_string());
        if update.billing_term.as_ref().is_some_and(|t| Some(t.to_string()) != term_now) {
            let why = format!("the billing term cannot be changed before the commitment ends on {on}");
            return Err(invalid("billingTerm", why, instance));
        }
    }
    let Some(sub) = world.change_subscription(id, now) else {
        return Err(not_found("subscription", &id.to_string(), instance));
    };
    if let Some(q) = update.quantity {
        sub.quantity = Some(q);
    }
    if let Some(p) = update.price {
        sub.price = Some(p);
    }
    if let Some(t) = update.billing_term {
        sub.billing_term = Some(SubscriptionBillingTerm::from(t.as_str()));
    }
    if let Some(d) = update.start_date {
        sub.start_date = Some(d);
    }
    let updated = sub.clone();
    drop(world);
    crate::deliveries::emit(&app, "SUBSCRIPTION_UPDATED", event("subscriptionId", &updated));
    ok(&updated)
}

pub(super) async fn cancel_subscription(
    State(app): State<App>,
    uri: Uri,
    Path(id): Path<String>,
    AxumQuery(params): Params,
) -> Answer {
    let q = Query { params: &params, instance: uri.path() };
    let id = path_id(&id, "subscription", uri.path())?;
    let cancel_date: Option<Timestamp> = q.parse("cancelDate")?;
    let now = app.now();
    let mut world = app.world();
    let Some(sub) = world.subscription(id) else { return Err(not_found("subscription", &id.to_string(), uri.path())) };
    if sub.status == Some(SubscriptionStatus::Cancelled) {
        return Err(invalid("status", "the subscription is already cancelled", uri.path()));
    }
    let Some(sub) = world.change_subscription(id, now) else {
        return Err(not_found("subscription", &id.to_string(), uri.path()));
    };
    match cancel_date {
        Some(date) if date > now => {
            sub.status = Some(SubscriptionStatus::PendingCancel);
            sub.end_date = Some(date);
        }
        _ => {
            sub.status = Some(SubscriptionStatus::Cancelled);
            sub.end_date = Some(now);
        }
    }
    let topic = if sub.status == Some(SubscriptionStatus::Cancelled) {
        "SUBSCRIPTION_CANCELLED"
    } else {
        "SUBSCRIPTION_UPDATED"
    };
    let cancelled = event("subscriptionId", &*sub);
    drop(world);
    crate::deliveries::emit(&app, topic, cancelled);
    empty(StatusCode::NO_CONTENT)
}
pub(super) async fn subscription_history(State(app): State<App>, uri: Uri, Path(id): Path<String>) -> Answer {
    let id = path_id(&id, "subscription", uri.path())?;
    let world = app.world();
    if world.subscription(id).is_none() {
        return Err(not_found("subscription", &id.to_string(), uri.path()));
    }
    let content = world.history.get(&id).cloned().unwrap_or_default();
    ok(&FindSubscriptionHistoryBySubscriptionIdResponse { content, ..Default::default() })
}
