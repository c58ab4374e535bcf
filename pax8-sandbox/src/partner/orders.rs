//! Orders: `/v1/orders`; a completed order creates its subscriptions.

use axum::body::Bytes;
use axum::extract::{Path, Query as AxumQuery, State};
use axum::http::{StatusCode, Uri};
use pax8_api::Date;
use pax8_api::partner::types::{
    CompanyStatus, CreateOrder, FindOrdersResponse, LineItem, LineItemBillingTerm, Order, OrderOrderedBy, Subscription,
    SubscriptionBillingTerm, SubscriptionCommitment, SubscriptionStatus,
};

use super::{Params, event, page_info};
use crate::app::App;
use crate::counters_bump;
use crate::http::{Answer, MAX_PAGE_SIZE, Query, body, detail, error_with, invalid, not_found, ok, path_id, slice};
use crate::values::add_months;

pub(super) async fn list_orders(State(app): State<App>, uri: Uri, AxumQuery(params): Params) -> Answer {
    let q = Query { params: &params, instance: uri.path() };
    let (page, size) = q.paging(0, MAX_PAGE_SIZE, "size")?;
    let company = q.uuid("companyId")?;
    let world = app.world();
    let items: Vec<Order> =
        world.orders.iter().filter(|o| company.is_none_or(|c| o.company_id == c)).cloned().collect();
    let (content, total, pages) = slice(&items, page, size);
    ok(&FindOrdersResponse { content, page: page_info(page, size, total, pages), ..Default::default() })
}

pub(super) async fn get_order(State(app): State<App>, uri: Uri, Path(id): Path<String>) -> Answer {
    let id = path_id(&id, "order", uri.path())?;
    match app.world().orders.iter().find(|o| o.id == Some(id)) {
        Some(o) => ok(o),
        None => Err(not_found("order", &id.to_string(), uri.path())),
    }
}

pub(super) async fn create_order(State(app): State<App>, uri: Uri, AxumQuery(params): Params, bytes: Bytes) -> Answer {
    counters_bump!(app, order_requests);
    let q = Query { params: &params, instance: uri.path() };
    let mock = q.bool("isMock")?.unwrap_or(false);
    let order: CreateOrder = body(&bytes, uri.path())?;
    let instance = uri.path();
    let now = app.now();
    let mut world = app.world();
    let Some(company) = world.company(order.company_id) else {
        return Err(invalid("companyId", format!("company {} does not exist", order.company_id), instance));
    };
    if company.status != Some(CompanyStatus::Active) {
        return Err(invalid("companyId", "the company is not active (it needs contacts)", instance));
    }
    if order.line_items.is_empty() {
        return Err(invalid("lineItems", "at least one line item is required", instance));
    }
    let mut details = Vec::new();
    // Each valid line with its product and the pricing of its billing term.
    let mut priced = Vec::new();
    for (i, item) in order.line_items.iter().enumerate() {
        let field = |f: &str| format!("lineItems[{i}].{f}");
        let Some(product) = world.product(item.product_id) else {
            details.push(detail(&field("productId"), format!("product {} does not exist", item.product_id)));
            continue;
        };
        if item.quantity < 1.0 || item.quantity.fract() != 0.0 {
            details.push(detail(&field("quantity"), "must be a whole number of at least 1"));
        }
        let term = item.billing_term.as_str();
        match product.pricing.iter().find(|p| p.billing_term.as_ref().is_some_and(|t| t.as_str() == term)) {
            Some(pricing) => priced.push((item, product, pricing)),
            None => details.push(detail(&field("billingTerm"), format!("`{term}` is not offered for this product"))),
        }
        if product.detail.requires_commitment == Some(true) {
            match item.commitment_term_id {
                None => details.push(detail(&field("commitmentTermId"), "this product requires a commitment term")),
                Some(id) if !product.commitments.iter().any(|c| c.id == Some(id)) => {
                    details.push(detail(&field("commitmentTermId"), "unknown commitment term for this product"))
                }
                _ => {}
            }
        }
    }
    if !details.is_empty() {
        return Err(error_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            "FAILED_ORDER_VALIDATION",
            "the order is invalid",
            instance,
            details,
        ));
    }
    let order_id = (!mock).then(|| app.new_id());
    let mut line_items = Vec::new();
    let mut new_subs = Vec::new();
    for (item, product, pricing) in priced {
        let sub_id = (!mock).then(|| app.new_id());
        let rate = pricing
            .rates
            .iter()
            .rev()
            .find(|r| r.start_quantity_range.unwrap_or(0.0) <= item.quantity)
            .or(pricing.rates.first());
        line_items.push(LineItem {
            id: (!mock).then(|| app.new_id()),
            product_id: item.product_id,
            subscription_id: sub_id,
            commitment_term_id: item.commitment_term_id,
            quantity: item.quantity,
            billing_term: Some(LineItemBillingTerm::from(item.billing_term.as_str())),
            provision_start_date: item.provision_start_date.or(Some(now)),
            line_item_number: None,
            parent_line_item_number: None,
            parent_subscription_id: item.parent_subscription_id,
            provisioning_details: vec![],
            ..Default::default()
        });
        if let Some(sub_id) = sub_id {
            let annual = item.billing_term.as_str() == "Annual";
            new_subs.push(Subscription {
                id: Some(sub_id),
                company_id: Some(order.company_id),
                product_id: product.detail.id,
                product_name: product.detail.name.clone(),
                vendor_sku_id: product.detail.vendor_sku.clone(),
                quantity: Some(item.quantity),
                start_date: Some(now),
                created_date: Some(now),
                updated_date: Some(now),
                billing_start: Some(now.date()),
                status: Some(SubscriptionStatus::Active),
                price: rate.and_then(|r| r.suggested_retail_price),
                partner_cost: rate.and_then(|r| r.partner_buy_rate),
                currency_code: Some("USD".into()),
                billing_term: Some(SubscriptionBillingTerm::from(item.billing_term.as_str())),
                commitment: annual.then(|| SubscriptionCommitment {
                    id: item.commitment_term_id,
                    term: Some("Annual".into()),
                    end_date: Some(Date::from(add_months(world.today, 12)).to_timestamp()),
                    ..Default::default()
                }),
                parent_subscription_id: item.parent_subscription_id,
                ..Default::default()
            });
        }
    }
    let created = Order {
        id: order_id,
        company_id: order.company_id,
        created_date: Some(now.date()),
        ordered_by: Some(OrderOrderedBy::Pax8Partner),
        ordered_by_user_email: order.ordered_by_user_email.clone(),
        ordered_by_user_id: None,
        is_scheduled: Some(false),
        status: Some(if mock { "Mock" } else { "Completed" }.into()),
        line_items,
        ..Default::default()
    };
    if mock {
        counters_bump!(app, mock_orders);
    } else {
        let events: Vec<_> = new_subs.iter().map(|s| event("subscriptionId", s)).collect();
        for s in new_subs {
            world.insert_subscription(s);
        }
        world.orders.push(created.clone());
        counters_bump!(app, orders_created);
        drop(world);
        for e in events {
            crate::deliveries::emit(&app, "SUBSCRIPTION_CREATED", e);
        }
        crate::deliveries::emit(&app, "ORDER_CREATED", event("orderId", &created));
    }
    ok(&created)
}
