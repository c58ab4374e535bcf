//! Quotes: listing with status counts, creating, reading, changing and deleting one.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query as AxumQuery, State};
use axum::http::{StatusCode, Uri};
use pax8_api::quoting::types::{
    ClientDetails, CreateQuotePayload, ListContent, ListResponse, ListStatusCounts, PageInfo, QuoteResponse,
    QuoteResponseStatus, UpdateQuotePayload,
};

use crate::app::App;
use crate::http::{Answer, Query, body, convert, created, empty, invalid, not_found, ok, path_id, slice};

use super::{partner, summary, totals, with_quote};

pub(super) async fn list(
    State(app): State<App>,
    uri: Uri,
    AxumQuery(params): AxumQuery<HashMap<String, String>>,
) -> Answer {
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

pub(super) async fn create(State(app): State<App>, uri: Uri, bytes: Bytes) -> Answer {
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
pub(super) async fn get_one(State(app): State<App>, uri: Uri, Path(id): Path<String>) -> Answer {
    ok(&with_quote(&app, &id, &uri, |_| Ok(()))?)
}

pub(super) async fn update(State(app): State<App>, uri: Uri, Path(id): Path<String>, bytes: Bytes) -> Answer {
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

pub(super) async fn remove(State(app): State<App>, uri: Uri, Path(id): Path<String>) -> Answer {
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
