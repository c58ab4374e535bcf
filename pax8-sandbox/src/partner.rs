//! Partner API v1 routes.

use std::cmp::Ordering;
use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query as AxumQuery, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use pax8_api::partner::types::{
    Company, CompanyStatus, CompanyUpdate, Contact, CreateOrder, Dependencies, FindAllProductsResponse,
    FindCompaniesResponse, FindOrdersResponse, FindPartnerDraftInvoiceItemsResponse, FindPartnerInvoiceItemsResponse,
    FindPartnerInvoicesResponse, FindPricingByProductIdResponse, FindProvisionDetailsByProductIdResponse,
    FindSubscriptionHistoryBySubscriptionIdResponse, FindSubscriptionUsageSummariesResponse, FindSubscriptionsResponse,
    FindUsageLinesResponse, GetCompaniesByCompanyIdContactsResponse, LineItem, LineItemBillingTerm, Order,
    OrderOrderedBy, Page, PricingBillingTerm, Product, ProductDependency, Subscription, SubscriptionBillingTerm,
    SubscriptionCommitment, SubscriptionStatus, SubscriptionUpdate, UsageLine,
};
use pax8_api::{Date, Timestamp};

use crate::app::App;
use crate::counters_bump;
use crate::http::{
    MAX_PAGE_SIZE, Query, body, detail, error_with, invalid, not_found, ok, path_id, slice, slice_refs, sort_spec,
};
use crate::tri;
use crate::values::{add_months, round2};

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

// ---------- companies ----------

async fn list_companies(State(app): State<App>, uri: Uri, AxumQuery(params): Params) -> Response {
    let q = Query { params: &params, instance: uri.path() };
    let (page, size) = tri!(q.paging(0, MAX_PAGE_SIZE, "size"));
    let flags = [
        ("selfServiceAllowed", tri!(q.bool("selfServiceAllowed"))),
        ("billOnBehalfOfEnabled", tri!(q.bool("billOnBehalfOfEnabled"))),
        ("orderApprovalRequired", tri!(q.bool("orderApprovalRequired"))),
    ];
    let world = app.world();
    let mut items: Vec<&Company> = world
        .companies
        .iter()
        .filter(|c| {
            let addr = &c.address;
            let text = |want: Option<&str>, have: &Option<String>| {
                want.is_none_or(|w| have.as_deref().is_some_and(|h| h.eq_ignore_ascii_case(w)))
            };
            text(q.str("city"), &addr.city)
                && text(q.str("stateOrProvince"), &addr.state_or_province)
                && text(q.str("postalCode"), &addr.postal_code)
                && q.str("country")
                    .is_none_or(|w| addr.country.as_ref().is_some_and(|h| h.as_str().eq_ignore_ascii_case(w)))
                && q.str("status").is_none_or(|w| c.status.as_ref().is_some_and(|s| s.as_str() == w))
                && flags.iter().all(|(name, want)| {
                    want.is_none_or(|w| {
                        let have = match *name {
                            "selfServiceAllowed" => c.self_service_allowed,
                            "billOnBehalfOfEnabled" => c.bill_on_behalf_of_enabled,
                            _ => c.order_approval_required,
                        };
                        have == Some(w)
                    })
                })
        })
        .collect();
    if let Some(sort) = q.str("sort") {
        let (field, desc) = sort_spec(sort);
        let key = |c: &&Company| -> Option<String> {
            match field {
                "name" => Some(c.name.to_lowercase()),
                "city" => c.address.city.clone(),
                "country" => c.address.country.clone(),
                "stateOrProvince" => c.address.state_or_province.clone(),
                "postalCode" => c.address.postal_code.clone(),
                _ => None,
            }
        };
        if !["name", "city", "country", "stateOrProvince", "postalCode"].contains(&field) {
            return invalid("sort", format!("cannot sort by `{field}`"), uri.path());
        }
        items.sort_by(|a, b| {
            let o = key(a).cmp(&key(b));
            if desc { o.reverse() } else { o }
        });
    }
    let (content, total, pages) = slice_refs(&items, page, size);
    ok(&FindCompaniesResponse { content, page: page_info(page, size, total, pages), ..Default::default() })
}

async fn get_company(State(app): State<App>, uri: Uri, Path(id): Path<String>) -> Response {
    let id = tri!(path_id(&id, "company", uri.path()));
    match app.world().company(id) {
        Some(c) => ok(c),
        None => not_found("company", &id.to_string(), uri.path()),
    }
}

async fn create_company(State(app): State<App>, uri: Uri, bytes: Bytes) -> Response {
    let mut company: Company = tri!(body(&bytes, uri.path()));
    if company.name.trim().is_empty() {
        return invalid("name", "must not be empty", uri.path());
    }
    let mut world = app.world();
    if world.companies.iter().any(|c| c.name.eq_ignore_ascii_case(&company.name)) {
        return invalid("name", format!("a company named `{}` exists", company.name), uri.path());
    }
    let id = app.new_id();
    company.id = Some(id);
    company.status = Some(if company.contacts.is_empty() { CompanyStatus::Inactive } else { CompanyStatus::Active });
    company.updated_date = Some(app.now());
    let mut contacts = std::mem::take(&mut company.contacts);
    for c in &mut contacts {
        c.id = Some(app.new_id());
    }
    world.insert_company(company.clone(), contacts);
    drop(world);
    crate::deliveries::emit(&app, "COMPANY_CREATED", event("companyId", &company));
    ok(&company)
}

async fn update_company(State(app): State<App>, uri: Uri, Path(id): Path<String>, bytes: Bytes) -> Response {
    let id = tri!(path_id(&id, "company", uri.path()));
    let update: CompanyUpdate = tri!(body(&bytes, uri.path()));
    let now = app.now();
    let mut world = app.world();
    let Some(c) = world.company_mut(id) else { return not_found("company", &id.to_string(), uri.path()) };
    if let Some(name) = update.name {
        if name.trim().is_empty() {
            return invalid("name", "must not be empty", uri.path());
        }
        c.name = name;
    }
    if let Some(a) = update.address {
        c.address = a;
    }
    macro_rules! set {
        ($($f:ident),*) => {$( if update.$f.is_some() { c.$f = update.$f; } )*};
    }
    set!(phone, website, external_id, bill_on_behalf_of_enabled, self_service_allowed, order_approval_required);
    c.updated_date = Some(now);
    let updated = c.clone();
    drop(world);
    crate::deliveries::emit(&app, "COMPANY_UPDATED", event("companyId", &updated));
    ok(&updated)
}

// ---------- contacts ----------

async fn list_contacts(
    State(app): State<App>,
    uri: Uri,
    Path(id): Path<String>,
    AxumQuery(params): Params,
) -> Response {
    let q = Query { params: &params, instance: uri.path() };
    let id = tri!(path_id(&id, "company", uri.path()));
    let (page, size) = tri!(q.paging(0, MAX_PAGE_SIZE, "size"));
    let world = app.world();
    let Some(contacts) = world.contacts.get(&id) else { return not_found("company", &id.to_string(), uri.path()) };
    let (content, total, pages) = slice(contacts, page, size);
    ok(&GetCompaniesByCompanyIdContactsResponse {
        content,
        page: page_info(page, size, total, pages),
        ..Default::default()
    })
}

fn validate_contact(c: &Contact, instance: &str) -> Result<(), Response> {
    for (field, value) in [("firstName", &c.first_name), ("lastName", &c.last_name), ("email", &c.email)] {
        if value.trim().is_empty() {
            return Err(invalid(field, "must not be empty", instance));
        }
    }
    if !c.email.contains('@') {
        return Err(invalid("email", "is not an email address", instance));
    }
    Ok(())
}

async fn create_contact(State(app): State<App>, uri: Uri, Path(id): Path<String>, bytes: Bytes) -> Response {
    let id = tri!(path_id(&id, "company", uri.path()));
    let mut contact: Contact = tri!(body(&bytes, uri.path()));
    tri!(validate_contact(&contact, uri.path()));
    contact.id = Some(app.new_id());
    contact.created_date = Some(app.now().to_string());
    let mut world = app.world();
    let Some(list) = world.contacts.get_mut(&id) else { return not_found("company", &id.to_string(), uri.path()) };
    list.push(contact.clone());
    if let Some(c) = world.company_mut(id) {
        c.status = Some(CompanyStatus::Active);
    }
    ok(&contact)
}

async fn get_contact(State(app): State<App>, uri: Uri, Path((id, contact)): Path<(String, String)>) -> Response {
    let id = tri!(path_id(&id, "company", uri.path()));
    let contact = tri!(path_id(&contact, "contact", uri.path()));
    let world = app.world();
    match world.contacts.get(&id).and_then(|l| l.iter().find(|c| c.id == Some(contact))) {
        Some(c) => ok(c),
        None => not_found("contact", &contact.to_string(), uri.path()),
    }
}

async fn put_contact(
    State(app): State<App>,
    uri: Uri,
    Path((id, contact)): Path<(String, String)>,
    bytes: Bytes,
) -> Response {
    let id = tri!(path_id(&id, "company", uri.path()));
    let contact_id = tri!(path_id(&contact, "contact", uri.path()));
    let mut new: Contact = tri!(body(&bytes, uri.path()));
    tri!(validate_contact(&new, uri.path()));
    let mut world = app.world();
    let Some(slot) = world.contacts.get_mut(&id).and_then(|l| l.iter_mut().find(|c| c.id == Some(contact_id))) else {
        return not_found("contact", &contact_id.to_string(), uri.path());
    };
    new.id = Some(contact_id);
    new.created_date = slot.created_date.clone();
    *slot = new.clone();
    ok(&new)
}

async fn delete_contact(State(app): State<App>, uri: Uri, Path((id, contact)): Path<(String, String)>) -> Response {
    let id = tri!(path_id(&id, "company", uri.path()));
    let contact_id = tri!(path_id(&contact, "contact", uri.path()));
    let mut world = app.world();
    let Some(list) = world.contacts.get_mut(&id) else { return not_found("company", &id.to_string(), uri.path()) };
    let before = list.len();
    list.retain(|c| c.id != Some(contact_id));
    if list.len() == before {
        return not_found("contact", &contact_id.to_string(), uri.path());
    }
    StatusCode::NO_CONTENT.into_response()
}

// ---------- products ----------

fn summary(p: &crate::world::CatalogEntry) -> Product {
    let d = &p.detail;
    Product {
        id: d.id,
        name: d.name.clone(),
        vendor_name: d.vendor_name.clone(),
        short_description: d.short_description.clone(),
        sku: d.sku.clone(),
        vendor_sku: d.vendor_sku.clone(),
        alt_vendor_sku: d.alt_vendor_sku.clone(),
        requires_commitment: d.requires_commitment,
        ..Default::default()
    }
}

async fn list_products(State(app): State<App>, uri: Uri, AxumQuery(params): Params) -> Response {
    let q = Query { params: &params, instance: uri.path() };
    let (page, size) = tri!(q.paging(0, MAX_PAGE_SIZE, "size"));
    if let Some(s) = q.str("search")
        && !(2..=256).contains(&s.chars().count())
    {
        return invalid("search", "must be 2 to 256 characters", uri.path());
    }
    let search = q.str("search").map(str::to_lowercase);
    let vendor = q.str("vendorName").map(str::to_lowercase);
    let world = app.world();
    let mut items: Vec<Product> = world
        .products
        .iter()
        .map(summary)
        .filter(|p| {
            let has = |v: &Option<String>, w: &str| v.as_deref().is_some_and(|v| v.to_lowercase().contains(w));
            search
                .as_deref()
                .is_none_or(|s| has(&p.name, s) || has(&p.vendor_name, s) || has(&p.sku, s) || has(&p.vendor_sku, s))
                && vendor.as_deref().is_none_or(|v| p.vendor_name.as_deref().is_some_and(|n| n.to_lowercase() == v))
        })
        .collect();
    drop(world);
    if let Some(sort) = q.str("sort") {
        let (field, desc) = sort_spec(sort);
        match field {
            "name" => items.sort_by(|a, b| a.name.cmp(&b.name)),
            "vendor" => items.sort_by(|a, b| a.vendor_name.cmp(&b.vendor_name).then(a.name.cmp(&b.name))),
            other => return invalid("sort", format!("cannot sort by `{other}`"), uri.path()),
        }
        if desc {
            items.reverse();
        }
    }
    let (content, total, pages) = slice(&items, page, size);
    ok(&FindAllProductsResponse { content, page: page_info(page, size, total, pages), ..Default::default() })
}

fn with_product<T: serde::Serialize>(
    app: &App,
    id: &str,
    uri: &Uri,
    f: impl FnOnce(&crate::world::CatalogEntry) -> T,
) -> Response {
    let id = tri!(path_id(id, "product", uri.path()));
    let world = app.world();
    match world.product(id) {
        Some(p) => ok(&f(p)),
        None => not_found("product", &id.to_string(), uri.path()),
    }
}

async fn get_product(State(app): State<App>, uri: Uri, Path(id): Path<String>) -> Response {
    with_product(&app, &id, &uri, |p| p.detail.clone())
}

async fn provision_details(State(app): State<App>, uri: Uri, Path(id): Path<String>) -> Response {
    with_product(&app, &id, &uri, |p| FindProvisionDetailsByProductIdResponse {
        content: p.provisioning.clone(),
        ..Default::default()
    })
}

async fn dependencies(State(app): State<App>, uri: Uri, Path(id): Path<String>) -> Response {
    let id = tri!(path_id(&id, "product", uri.path()));
    let world = app.world();
    let Some(product) = world.product(id) else { return not_found("product", &id.to_string(), uri.path()) };
    // Backup of Microsoft 365 mailboxes needs one of the Microsoft 365 business plans.
    let requires: Vec<Product> = if product.detail.name.as_deref().is_some_and(|n| n.contains("SaaS Protection")) {
        world
            .products
            .iter()
            .filter(|p| p.detail.name.as_deref().is_some_and(|n| n.starts_with("Microsoft 365 Business")))
            .map(summary)
            .collect()
    } else {
        Vec::new()
    };
    let product_dependencies = if requires.is_empty() {
        Vec::new()
    } else {
        vec![ProductDependency { name: Some("Requires".into()), products: requires, ..Default::default() }]
    };
    ok(&Dependencies {
        commitment_dependencies: product.commitments.clone(),
        product_dependencies,
        ..Default::default()
    })
}

async fn pricing(State(app): State<App>, uri: Uri, Path(id): Path<String>, AxumQuery(params): Params) -> Response {
    let q = Query { params: &params, instance: uri.path() };
    let company = tri!(q.uuid("companyId"));
    if let Some(c) = company
        && app.world().company(c).is_none()
    {
        return not_found("company", &c.to_string(), uri.path());
    }
    with_product(&app, &id, &uri, |p| {
        let mut content = p.pricing.clone();
        if company.is_some() {
            // Company-specific rates: a 5% partner discount in the sandbox.
            for rate in content.iter_mut().flat_map(|c| c.rates.iter_mut()) {
                rate.partner_buy_rate = rate.partner_buy_rate.map(|r| round2(r * 0.95));
            }
        }
        FindPricingByProductIdResponse { content, ..Default::default() }
    })
}

// ---------- orders ----------

async fn list_orders(State(app): State<App>, uri: Uri, AxumQuery(params): Params) -> Response {
    let q = Query { params: &params, instance: uri.path() };
    let (page, size) = tri!(q.paging(0, MAX_PAGE_SIZE, "size"));
    let company = tri!(q.uuid("companyId"));
    let world = app.world();
    let items: Vec<Order> =
        world.orders.iter().filter(|o| company.is_none_or(|c| o.company_id == c)).cloned().collect();
    let (content, total, pages) = slice(&items, page, size);
    ok(&FindOrdersResponse { content, page: page_info(page, size, total, pages), ..Default::default() })
}

async fn get_order(State(app): State<App>, uri: Uri, Path(id): Path<String>) -> Response {
    let id = tri!(path_id(&id, "order", uri.path()));
    match app.world().orders.iter().find(|o| o.id == Some(id)) {
        Some(o) => ok(o),
        None => not_found("order", &id.to_string(), uri.path()),
    }
}

async fn create_order(State(app): State<App>, uri: Uri, AxumQuery(params): Params, bytes: Bytes) -> Response {
    counters_bump!(app, order_requests);
    let q = Query { params: &params, instance: uri.path() };
    let mock = tri!(q.bool("isMock")).unwrap_or(false);
    let order: CreateOrder = tri!(body(&bytes, uri.path()));
    let instance = uri.path();
    let now = app.now();
    let mut world = app.world();
    let Some(company) = world.company(order.company_id) else {
        return invalid("companyId", format!("company {} does not exist", order.company_id), instance);
    };
    if company.status != Some(CompanyStatus::Active) {
        return invalid("companyId", "the company is not active (it needs contacts)", instance);
    }
    if order.line_items.is_empty() {
        return invalid("lineItems", "at least one line item is required", instance);
    }
    let mut details = Vec::new();
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
        if !product.pricing.iter().any(|p| p.billing_term.as_ref().is_some_and(|t| t.as_str() == term)) {
            details.push(detail(&field("billingTerm"), format!("`{term}` is not offered for this product")));
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
        return error_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            "FAILED_ORDER_VALIDATION",
            "the order is invalid",
            instance,
            details,
        );
    }
    let order_id = (!mock).then(|| app.new_id());
    let mut line_items = Vec::new();
    let mut new_subs = Vec::new();
    for item in &order.line_items {
        let product = world.product(item.product_id).expect("validated");
        let sub_id = (!mock).then(|| app.new_id());
        let term = PricingBillingTerm::from(item.billing_term.as_str());
        let pricing = product.pricing.iter().find(|p| p.billing_term.as_ref() == Some(&term)).expect("validated");
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

// ---------- subscriptions ----------

async fn list_subscriptions(State(app): State<App>, uri: Uri, AxumQuery(params): Params) -> Response {
    let q = Query { params: &params, instance: uri.path() };
    let (page, size) = tri!(q.paging(0, MAX_PAGE_SIZE, "size"));
    let company = tri!(q.uuid("companyId"));
    let product = tri!(q.uuid("productId"));
    let world = app.world();
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
            other => return invalid("sort", format!("cannot sort by `{other}`"), uri.path()),
        };
        items.sort_by(|a, b| if desc { cmp(b, a) } else { cmp(a, b) });
    }
    let (content, total, pages) = slice_refs(&items, page, size);
    ok(&FindSubscriptionsResponse { content, page: page_info(page, size, total, pages), ..Default::default() })
}

async fn get_subscription(State(app): State<App>, uri: Uri, Path(id): Path<String>) -> Response {
    let id = tri!(path_id(&id, "subscription", uri.path()));
    match app.world().subscription(id) {
        Some(s) => ok(s),
        None => not_found("subscription", &id.to_string(), uri.path()),
    }
}

async fn update_subscription(State(app): State<App>, uri: Uri, Path(id): Path<String>, bytes: Bytes) -> Response {
    let id = tri!(path_id(&id, "subscription", uri.path()));
    let update: SubscriptionUpdate = tri!(body(&bytes, uri.path()));
    let instance = uri.path();
    if update.price.is_none()
        && update.billing_term.is_none()
        && update.quantity.is_none()
        && update.start_date.is_none()
    {
        return invalid("body", "one of price, billingTerm, quantity, startDate is required", instance);
    }
    if let Some(q) = update.quantity
        && (q < 0.0 || q.fract() != 0.0)
    {
        return invalid("quantity", "must be a whole number >= 0", instance);
    }
    if let Some(p) = update.price
        && p < 0.0
    {
        return invalid("price", "must be >= 0", instance);
    }
    let now = app.now();
    let mut world = app.world();
    let Some(sub) = world.subscription(id) else { return not_found("subscription", &id.to_string(), instance) };
    if matches!(sub.status, Some(SubscriptionStatus::Cancelled)) {
        return invalid("status", "the subscription is cancelled", instance);
    }
    world.remember(id, now);
    let sub = world.subscription_mut(id).expect("exists");
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

async fn cancel_subscription(
    State(app): State<App>,
    uri: Uri,
    Path(id): Path<String>,
    AxumQuery(params): Params,
) -> Response {
    let q = Query { params: &params, instance: uri.path() };
    let id = tri!(path_id(&id, "subscription", uri.path()));
    let cancel_date: Option<Timestamp> = tri!(q.parse("cancelDate"));
    let now = app.now();
    let mut world = app.world();
    let Some(sub) = world.subscription(id) else { return not_found("subscription", &id.to_string(), uri.path()) };
    if sub.status == Some(SubscriptionStatus::Cancelled) {
        return invalid("status", "the subscription is already cancelled", uri.path());
    }
    world.remember(id, now);
    let sub = world.subscription_mut(id).expect("exists");
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
    StatusCode::NO_CONTENT.into_response()
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

async fn subscription_history(State(app): State<App>, uri: Uri, Path(id): Path<String>) -> Response {
    let id = tri!(path_id(&id, "subscription", uri.path()));
    let world = app.world();
    if world.subscription(id).is_none() {
        return not_found("subscription", &id.to_string(), uri.path());
    }
    let content = world.history.get(&id).cloned().unwrap_or_default();
    ok(&FindSubscriptionHistoryBySubscriptionIdResponse { content, ..Default::default() })
}

async fn usage_summaries(
    State(app): State<App>,
    uri: Uri,
    Path(id): Path<String>,
    AxumQuery(params): Params,
) -> Response {
    let q = Query { params: &params, instance: uri.path() };
    let id = tri!(path_id(&id, "subscription", uri.path()));
    let (page, size) = tri!(q.paging(0, MAX_PAGE_SIZE, "size"));
    let world = app.world();
    if world.subscription(id).is_none() {
        return not_found("subscription", &id.to_string(), uri.path());
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

async fn usage_summary(State(app): State<App>, uri: Uri, Path(id): Path<String>) -> Response {
    let id = tri!(path_id(&id, "usage summary", uri.path()));
    match app.world().usage_summary(id) {
        Some(s) => ok(s),
        None => not_found("usage summary", &id.to_string(), uri.path()),
    }
}

async fn usage_lines(State(app): State<App>, uri: Uri, Path(id): Path<String>, AxumQuery(params): Params) -> Response {
    let q = Query { params: &params, instance: uri.path() };
    let id = tri!(path_id(&id, "usage summary", uri.path()));
    let Some(date) = tri!(q.parse::<Date>("usageDate")) else {
        return invalid("usageDate", "is required", uri.path());
    };
    let product = tri!(q.uuid("productId"));
    let world = app.world();
    let Some(summary) = world.usage_summary(id) else { return not_found("usage summary", &id.to_string(), uri.path()) };
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

// ---------- invoices ----------

async fn list_invoices(State(app): State<App>, uri: Uri, AxumQuery(params): Params) -> Response {
    let q = Query { params: &params, instance: uri.path() };
    let (page, size) = tri!(q.paging(0, MAX_PAGE_SIZE, "size"));
    let company = tri!(q.uuid("companyId"));
    let from: Option<Date> = tri!(q.parse("invoiceDateRangeStart"));
    let to: Option<Date> = tri!(q.parse("invoiceDateRangeEnd"));
    let world = app.world();
    let items: Vec<_> = world
        .invoices
        .iter()
        .filter(|i| {
            q.str("status").is_none_or(|s| i.status.as_deref() == Some(s))
                && company.is_none_or(|c| i.company_id.is_none_or(|ic| ic == c))
                && from.is_none_or(|f| i.invoice_date.is_some_and(|d| d >= f))
                && to.is_none_or(|t| i.invoice_date.is_some_and(|d| d <= t))
        })
        .cloned()
        .collect();
    let (content, total, pages) = slice(&items, page, size);
    ok(&FindPartnerInvoicesResponse { content, page: page_info(page, size, total, pages), ..Default::default() })
}

async fn get_invoice(State(app): State<App>, uri: Uri, Path(id): Path<String>) -> Response {
    let id = tri!(path_id(&id, "invoice", uri.path()));
    match app.world().invoices.iter().find(|i| i.id == Some(id)) {
        Some(i) => ok(i),
        None => not_found("invoice", &id.to_string(), uri.path()),
    }
}

async fn invoice_items(
    State(app): State<App>,
    uri: Uri,
    Path(id): Path<String>,
    AxumQuery(params): Params,
) -> Response {
    let q = Query { params: &params, instance: uri.path() };
    let id = tri!(path_id(&id, "invoice", uri.path()));
    let (page, size) = tri!(q.paging(0, MAX_PAGE_SIZE, "size"));
    let Some(items) = app.world().invoice_items(id) else { return not_found("invoice", &id.to_string(), uri.path()) };
    let (content, total, pages) = slice(&items, page, size);
    ok(&FindPartnerInvoiceItemsResponse { content, page: page_info(page, size, total, pages), ..Default::default() })
}

async fn draft_items(State(app): State<App>, uri: Uri, AxumQuery(params): Params) -> Response {
    let q = Query { params: &params, instance: uri.path() };
    let (page, size) = tri!(q.paging(0, MAX_PAGE_SIZE, "size"));
    let offset = tri!(q.parse::<i32>("monthOffset")).unwrap_or(0);
    if !(0..=1).contains(&offset) {
        return invalid("monthOffset", "must be 0 (this month) or 1 (next month)", uri.path());
    }
    let company = tri!(q.uuid("companyId"));
    let items = app.world().draft_items(offset, company);
    let (content, total, pages) = slice(&items, page, size);
    ok(&FindPartnerDraftInvoiceItemsResponse {
        content,
        page: page_info(page, size, total, pages),
        ..Default::default()
    })
}
