//! Quoting API v2 routes: quotes, line items, sections, access list, preferences.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query as AxumQuery, State};
use axum::http::{StatusCode, Uri};
use axum::routing::{delete, get, post};
use pax8_api::quoting::types::{
    AccessListEntry, AccessListEntryAccountType, AccessListResponse, AddAccessListEntryPayload, AddLineItemsBodyItem,
    AmountCurrency, ClientDetails, CreateQuotePayload, CreateSectionPayload, DeleteLineItemsPayload, InvoiceTotals,
    LineItemResponse, LineItemResponseBillingTerm, ListContent, ListLineItemCounts, ListResponse, ListStatusCounts,
    ListTotals, PageInfo, PartnerDetails, PreferencesPayload, PreferencesResponse, Product, ProductType,
    QuotePreferencesResult, QuoteResponse, QuoteResponseStatus, Section, SectionsPayload, SectionsResponse,
    UpdateQuotePayload,
};
use uuid::Uuid;

use crate::app::App;
use crate::http::{Answer, ApiError, Query, body, convert, created, empty, invalid, not_found, ok, path_id, slice};
use crate::values::round2;

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

async fn list(State(app): State<App>, uri: Uri, AxumQuery(params): AxumQuery<HashMap<String, String>>) -> Answer {
    let q = Query { params: &params, instance: uri.path() };
    // Pages count from 0, as the quoting document's `page` default says; `limit` is capped at the
    // bound the patched document states.
    let (page, size) = q.paging(0, 100, "limit")?;
    let store = app.0.quotes.lock().expect("quotes lock");
    let all: Vec<&QuoteResponse> = store.quotes.iter().collect();
    let count = |s: &str| all.iter().filter(|q| q.status.as_str() == s).count() as i32;
    let status_counts = ListStatusCounts {
        accepted: count("accepted"),
        closed: count("closed"),
        declined: count("declined"),
        draft: count("draft"),
        expired: count("expired"),
        pending: Some(count("pending")),
        sent: count("sent"),
        ..Default::default()
    };
    let items: Vec<ListContent> = all
        .iter()
        .filter(|x| {
            q.str("status").is_none_or(|s| s.split(',').any(|s| x.status.as_str() == s))
                && q.str("search").is_none_or(|s| {
                    let s = s.to_lowercase();
                    x.client.name.to_lowercase().contains(&s) || x.reference_code.to_lowercase().contains(&s)
                })
        })
        .map(|x| summary(x))
        .collect();
    let (content, total, pages) = slice(&items, page, size);
    ok(&ListResponse {
        content,
        page: PageInfo {
            number: i32::try_from(page).unwrap_or(i32::MAX),
            size: i32::try_from(size).unwrap_or(i32::MAX),
            total_elements: total,
            total_pages: i32::try_from(pages).unwrap_or(i32::MAX),
            ..Default::default()
        },
        status_counts,
        ..Default::default()
    })
}

async fn create(State(app): State<App>, uri: Uri, bytes: Bytes) -> Answer {
    let new: CreateQuotePayload = body(&bytes, uri.path())?;
    let Some(client) = app.world().company(new.client_id).map(|c| c.name.clone()) else {
        return Err(invalid("clientId", format!("company {} does not exist", new.client_id), uri.path()));
    };
    let now = app.now();
    let mut store = app.0.quotes.lock().expect("quotes lock");
    store.next_reference += 1;
    let days = store.preferences.as_ref().map_or(30, |p| p.days_to_expire);
    let quote = QuoteResponse {
        id: app.new_id(),
        client: ClientDetails { id: new.client_id, is_shadow_company: false, name: client, ..Default::default() },
        partner: partner(),
        created_by: "Sandbox User".into(),
        created_by_email: "sales@msp.example".into(),
        created_on: now,
        expires_on: pax8_api::Timestamp::from(now.to_utc() + chrono::Duration::days(i64::from(days))),
        intro_message: store.preferences.as_ref().map(|p| p.intro_message.clone()).unwrap_or_default(),
        terms_and_disclaimers: store.preferences.as_ref().map(|p| p.terms_and_disclaimers.clone()).unwrap_or_default(),
        reference_code: format!("Q-{:05}", store.next_reference),
        status: QuoteResponseStatus::Draft,
        published: false,
        line_items: Vec::new(),
        totals: totals(&[]),
        attachments: Vec::new(),
        quote_request_id: new.quote_request_id,
        accepted_by: None,
        declined_by: None,
        intent_type: None,
        owned_by: None,
        published_on: None,
        responded_on: None,
        revoked_on: None,
        sales_margin_percentage: None,
        ..Default::default()
    };
    store.quotes.push(quote.clone());
    created(&quote)
}

/// Changes one quote through `f`, recomputes its totals and returns it as stored.
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

async fn get_one(State(app): State<App>, uri: Uri, Path(id): Path<String>) -> Answer {
    ok(&with_quote(&app, &id, &uri, |_| Ok(()))?)
}

async fn update(State(app): State<App>, uri: Uri, Path(id): Path<String>, bytes: Bytes) -> Answer {
    let change: UpdateQuotePayload = body(&bytes, uri.path())?;
    let now = app.now();
    let quote = with_quote(&app, &id, &uri, |q| {
        q.expires_on = change.expires_on;
        q.intro_message = change.intro_message;
        q.terms_and_disclaimers = change.terms_and_disclaimers;
        if change.published && !q.published {
            q.published_on = Some(now);
        }
        q.published = change.published;
        q.status = convert(&change.status);
        Ok(())
    })?;
    ok(&quote)
}

async fn remove(State(app): State<App>, uri: Uri, Path(id): Path<String>) -> Answer {
    let id = path_id(&id, "quote", uri.path())?;
    let mut store = app.0.quotes.lock().expect("quotes lock");
    let before = store.quotes.len();
    store.quotes.retain(|q| q.id != id);
    if store.quotes.len() == before {
        return Err(not_found("quote", &id.to_string(), uri.path()));
    }
    store.sections.remove(&id);
    store.access.remove(&id);
    empty(StatusCode::NO_CONTENT)
}

async fn add_line_items(State(app): State<App>, uri: Uri, Path(id): Path<String>, bytes: Bytes) -> Answer {
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

async fn delete_line_item(State(app): State<App>, uri: Uri, Path((id, item)): Path<(String, String)>) -> Answer {
    let item = path_id(&item, "line item", uri.path())?;
    with_quote(&app, &id, &uri, |q| {
        let before = q.line_items.len();
        q.line_items.retain(|l| l.id != item);
        if before == q.line_items.len() { Err(not_found("line item", &item.to_string(), uri.path())) } else { Ok(()) }
    })?;
    empty(StatusCode::NO_CONTENT)
}

async fn bulk_delete(State(app): State<App>, uri: Uri, Path(id): Path<String>, bytes: Bytes) -> Answer {
    let ids: DeleteLineItemsPayload = body(&bytes, uri.path())?;
    with_quote(&app, &id, &uri, |q| {
        q.line_items.retain(|l| !ids.line_item_ids.contains(&l.id));
        Ok(())
    })?;
    empty(StatusCode::NO_CONTENT)
}

fn quote_exists(app: &App, id: &str, uri: &Uri) -> Result<Uuid, ApiError> {
    let id = path_id(id, "quote", uri.path())?;
    if app.0.quotes.lock().expect("quotes lock").quotes.iter().any(|q| q.id == id) {
        Ok(id)
    } else {
        Err(not_found("quote", &id.to_string(), uri.path()))
    }
}

async fn sections(State(app): State<App>, uri: Uri, Path(id): Path<String>) -> Answer {
    let id = quote_exists(&app, &id, &uri)?;
    let store = app.0.quotes.lock().expect("quotes lock");
    ok(&SectionsResponse { sections: store.sections.get(&id).cloned().unwrap_or_default(), ..Default::default() })
}

async fn create_section(State(app): State<App>, uri: Uri, Path(id): Path<String>, bytes: Bytes) -> Answer {
    let id = quote_exists(&app, &id, &uri)?;
    let new: CreateSectionPayload = body(&bytes, uri.path())?;
    if new.name.trim().is_empty() {
        return Err(invalid("name", "must not be empty", uri.path()));
    }
    let section_id = app.new_id();
    let mut store = app.0.quotes.lock().expect("quotes lock");
    let list = store.sections.entry(id).or_default();
    list.push(Section {
        id: section_id,
        name: new.name,
        order: list.len() as i32,
        line_items: vec![],
        ..Default::default()
    });
    let response = SectionsResponse { sections: list.clone(), ..Default::default() };
    created(&response)
}

async fn update_sections(State(app): State<App>, uri: Uri, Path(id): Path<String>, bytes: Bytes) -> Answer {
    let id = quote_exists(&app, &id, &uri)?;
    let payload: SectionsPayload = body(&bytes, uri.path())?;
    let sections: Vec<Section> = convert(&payload.sections);
    let mut store = app.0.quotes.lock().expect("quotes lock");
    store.sections.insert(id, sections.clone());
    ok(&SectionsResponse { sections, ..Default::default() })
}

async fn access_list(State(app): State<App>, uri: Uri, Path(id): Path<String>) -> Answer {
    let id = quote_exists(&app, &id, &uri)?;
    let store = app.0.quotes.lock().expect("quotes lock");
    ok(&AccessListResponse { access_list: store.access.get(&id).cloned().unwrap_or_default(), ..Default::default() })
}

async fn share(State(app): State<App>, uri: Uri, Path(id): Path<String>, bytes: Bytes) -> Answer {
    let id = quote_exists(&app, &id, &uri)?;
    let entries: Vec<AddAccessListEntryPayload> = body(&bytes, uri.path())?;
    let mut entries_added = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        if !e.email.contains('@') {
            return Err(invalid(&format!("[{i}].email"), "is not an email address", uri.path()));
        }
        let entry_id = app.new_id();
        entries_added.push(AccessListEntry {
            id: entry_id,
            email: e.email.clone(),
            account_name: e.account_name.clone(),
            account_role: e.account_role.clone(),
            account_type: e.account_type.as_ref().map(convert).unwrap_or(AccessListEntryAccountType::User),
            link: format!("https://app.pax8.example/quotes/{id}?access={entry_id}"),
            user_id: e.user_id,
            ..Default::default()
        });
    }
    let mut store = app.0.quotes.lock().expect("quotes lock");
    let list = store.access.entry(id).or_default();
    if let Some(dup) = entries_added.iter().find(|c| list.iter().any(|x| x.email.eq_ignore_ascii_case(&c.email))) {
        return Err(invalid("email", format!("{} already has access", dup.email), uri.path()));
    }
    list.extend(entries_added.iter().cloned());
    created(&entries_added)
}

async fn unshare(State(app): State<App>, uri: Uri, Path((id, entry)): Path<(String, String)>) -> Answer {
    let id = quote_exists(&app, &id, &uri)?;
    let entry = path_id(&entry, "access list entry", uri.path())?;
    let mut store = app.0.quotes.lock().expect("quotes lock");
    let list = store.access.entry(id).or_default();
    let before = list.len();
    list.retain(|e| e.id != entry);
    if list.len() == before {
        return Err(not_found("access list entry", &entry.to_string(), uri.path()));
    }
    empty(StatusCode::NO_CONTENT)
}

fn default_preferences() -> QuotePreferencesResult {
    QuotePreferencesResult {
        days_to_expire: 30,
        intro_message: "Thank you for the opportunity to quote.".into(),
        sales_margin_percentage: 20.0,
        terms_and_disclaimers: "Prices exclude taxes.".into(),
        ..Default::default()
    }
}

async fn preferences(State(app): State<App>) -> Answer {
    let store = app.0.quotes.lock().expect("quotes lock");
    let p = store.preferences.clone().unwrap_or_else(default_preferences);
    ok(&PreferencesResponse {
        attachments: vec![],
        days_to_expire: p.days_to_expire,
        intro_message: p.intro_message,
        sales_margin_percentage: p.sales_margin_percentage,
        terms_and_disclaimers: p.terms_and_disclaimers,
        ..Default::default()
    })
}

async fn save_preferences(State(app): State<App>, uri: Uri, bytes: Bytes) -> Answer {
    let p: PreferencesPayload = body(&bytes, uri.path())?;
    if p.days_to_expire < 1 {
        return Err(invalid("daysToExpire", "must be at least 1", uri.path()));
    }
    let result = QuotePreferencesResult {
        days_to_expire: p.days_to_expire,
        intro_message: p.intro_message,
        sales_margin_percentage: p.sales_margin_percentage.unwrap_or(0.0),
        terms_and_disclaimers: p.terms_and_disclaimers,
        ..Default::default()
    };
    app.0.quotes.lock().expect("quotes lock").preferences = Some(result.clone());
    ok(&result)
}
