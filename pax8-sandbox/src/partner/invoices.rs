//! Invoices, their items and the draft items of the current and next month.

use axum::extract::{Path, Query as AxumQuery, State};
use axum::http::Uri;
use pax8_api::Date;
use pax8_api::partner::types::{
    FindPartnerDraftInvoiceItemsResponse, FindPartnerInvoiceItemsResponse, FindPartnerInvoicesResponse,
};

use super::{Params, page_info};
use crate::app::App;
use crate::http::{Answer, MAX_PAGE_SIZE, Query, invalid, not_found, ok, path_id, slice};

pub(super) async fn list_invoices(State(app): State<App>, uri: Uri, AxumQuery(params): Params) -> Answer {
    let q = Query { params: &params, instance: uri.path() };
    let (page, size) = q.paging(0, MAX_PAGE_SIZE, "size")?;
    let company = q.uuid("companyId")?;
    let from: Option<Date> = q.parse("invoiceDateRangeStart")?;
    let to: Option<Date> = q.parse("invoiceDateRangeEnd")?;
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

pub(super) async fn get_invoice(State(app): State<App>, uri: Uri, Path(id): Path<String>) -> Answer {
    let id = path_id(&id, "invoice", uri.path())?;
    match app.world().invoices.iter().find(|i| i.id == Some(id)) {
        Some(i) => ok(i),
        None => Err(not_found("invoice", &id.to_string(), uri.path())),
    }
}

pub(super) async fn invoice_items(
    State(app): State<App>,
    uri: Uri,
    Path(id): Path<String>,
    AxumQuery(params): Params,
) -> Answer {
    let q = Query { params: &params, instance: uri.path() };
    let id = path_id(&id, "invoice", uri.path())?;
    let (page, size) = q.paging(0, MAX_PAGE_SIZE, "size")?;
    let Some(items) = app.world().invoice_items(id) else {
        return Err(not_found("invoice", &id.to_string(), uri.path()));
    };
    let (content, total, pages) = slice(&items, page, size);
    ok(&FindPartnerInvoiceItemsResponse { content, page: page_info(page, size, total, pages), ..Default::default() })
}

pub(super) async fn draft_items(State(app): State<App>, uri: Uri, AxumQuery(params): Params) -> Answer {
    let q = Query { params: &params, instance: uri.path() };
    let (page, size) = q.paging(0, MAX_PAGE_SIZE, "size")?;
    let offset = q.parse::<i32>("monthOffset")?.unwrap_or(0);
    if !(0..=1).contains(&offset) {
        return Err(invalid("monthOffset", "must be 0 (this month) or 1 (next month)", uri.path()));
    }
    let company = q.uuid("companyId")?;
    let items = app.world().draft_items(offset, company);
    let (content, total, pages) = slice(&items, page, size);
    ok(&FindPartnerDraftInvoiceItemsResponse {
        content,
        page: page_info(page, size, total, pages),
        ..Default::default()
    })
}
