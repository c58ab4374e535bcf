//! Companies and their contacts: `/v1/companies`, `/v1/companies/{id}/contacts`.

use axum::body::Bytes;
use axum::extract::{Path, Query as AxumQuery, State};
use axum::http::{StatusCode, Uri};
use pax8_api::partner::types::{
    Company, CompanyStatus, CompanyUpdate, Contact, FindCompaniesResponse, GetCompaniesByCompanyIdContactsResponse,
};

use super::{Params, event, page_info};
use crate::app::App;
use crate::http::{
    Answer, ApiError, MAX_PAGE_SIZE, Query, body, empty, invalid, not_found, ok, path_id, slice, slice_refs, sort_spec,
};

pub(super) async fn list_companies(State(app): State<App>, uri: Uri, AxumQuery(params): Params) -> Answer {
    let q = Query { params: &params, instance: uri.path() };
    let (page, size) = q.paging(0, MAX_PAGE_SIZE, "size")?;
    let flags = [
        ("selfServiceAllowed", q.bool("selfServiceAllowed")?),
        ("billOnBehalfOfEnabled", q.bool("billOnBehalfOfEnabled")?),
        ("orderApprovalRequired", q.bool("orderApprovalRequired")?),
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
            return Err(invalid("sort", format!("cannot sort by `{field}`"), uri.path()));
        }
        items.sort_by(|a, b| {
            let o = key(a).cmp(&key(b));
            if desc { o.reverse() } else { o }
        });
    }
    let (content, total, pages) = slice_refs(&items, page, size);
    ok(&FindCompaniesResponse { content, page: page_info(page, size, total, pages), ..Default::default() })
}

pub(super) async fn get_company(State(app): State<App>, uri: Uri, Path(id): Path<String>) -> Answer {
    let id = path_id(&id, "company", uri.path())?;
    match app.world().company(id) {
        Some(c) => ok(c),
        None => Err(not_found("company", &id.to_string(), uri.path())),
    }
}

pub(super) async fn create_company(State(app): State<App>, uri: Uri, bytes: Bytes) -> Answer {
    let mut company: Company = body(&bytes, uri.path())?;
    if company.name.trim().is_empty() {
        return Err(invalid("name", "must not be empty", uri.path()));
    }
    let mut world = app.world();
    if world.companies.iter().any(|c| c.name.eq_ignore_ascii_case(&company.name)) {
        return Err(invalid("name", format!("a company named `{}` exists", company.name), uri.path()));
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

pub(super) async fn update_company(State(app): State<App>, uri: Uri, Path(id): Path<String>, bytes: Bytes) -> Answer {
    let id = path_id(&id, "company", uri.path())?;
    let update: CompanyUpdate = body(&bytes, uri.path())?;
    let now = app.now();
    let mut world = app.world();
    let Some(c) = world.company_mut(id) else { return Err(not_found("company", &id.to_string(), uri.path())) };
    if let Some(name) = update.name {
        if name.trim().is_empty() {
            return Err(invalid("name", "must not be empty", uri.path()));
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

/// A company's contacts are part of its record (`Company.contacts`): changing one stamps the
/// company as updated, which is what lets a mirror re-read only the contacts of companies whose
/// `updatedDate` moved.
fn touch_company(app: &App, world: &mut crate::world::World, id: uuid::Uuid) {
    let now = app.now();
    if let Some(c) = world.company_mut(id) {
        c.updated_date = Some(now);
    }
}

pub(super) async fn list_contacts(
    State(app): State<App>,
    uri: Uri,
    Path(id): Path<String>,
    AxumQuery(params): Params,
) -> Answer {
    let q = Query { params: &params, instance: uri.path() };
    let id = path_id(&id, "company", uri.path())?;
    let (page, size) = q.paging(0, MAX_PAGE_SIZE, "size")?;
    let world = app.world();
    let Some(contacts) = world.contacts.get(&id) else { return Err(not_found("company", &id.to_string(), uri.path())) };
    let (content, total, pages) = slice(contacts, page, size);
    ok(&GetCompaniesByCompanyIdContactsResponse {
        content,
        page: page_info(page, size, total, pages),
        ..Default::default()
    })
}

fn validate_contact(c: &Contact, instance: &str) -> Result<(), ApiError> {
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

pub(super) async fn create_contact(State(app): State<App>, uri: Uri, Path(id): Path<String>, bytes: Bytes) -> Answer {
    let id = path_id(&id, "company", uri.path())?;
    let mut contact: Contact = body(&bytes, uri.path())?;
    validate_contact(&contact, uri.path())?;
    contact.id = Some(app.new_id());
    contact.created_date = Some(app.now().to_string());
    let mut world = app.world();
    let Some(list) = world.contacts.get_mut(&id) else { return Err(not_found("company", &id.to_string(), uri.path())) };
    list.push(contact.clone());
    let now = app.now();
    if let Some(c) = world.company_mut(id) {
        c.status = Some(CompanyStatus::Active);
        c.updated_date = Some(now);
    }
    ok(&contact)
}

pub(super) async fn get_contact(
    State(app): State<App>,
    uri: Uri,
    Path((id, contact)): Path<(String, String)>,
) -> Answer {
    let id = path_id(&id, "company", uri.path())?;
    let contact = path_id(&contact, "contact", uri.path())?;
    let world = app.world();
    match world.contacts.get(&id).and_then(|l| l.iter().find(|c| c.id == Some(contact))) {
        Some(c) => ok(c),
        None => Err(not_found("contact", &contact.to_string(), uri.path())),
    }
}

pub(super) async fn put_contact(
    State(app): State<App>,
    uri: Uri,
    Path((id, contact)): Path<(String, String)>,
    bytes: Bytes,
) -> Answer {
    let id = path_id(&id, "company", uri.path())?;
    let contact_id = path_id(&contact, "contact", uri.path())?;
    let mut new: Contact = body(&bytes, uri.path())?;
    validate_contact(&new, uri.path())?;
    let mut world = app.world();
    let Some(slot) = world.contacts.get_mut(&id).and_then(|l| l.iter_mut().find(|c| c.id == Some(contact_id))) else {
        return Err(not_found("contact", &contact_id.to_string(), uri.path()));
    };
    new.id = Some(contact_id);
    new.created_date = slot.created_date.clone();
    *slot = new.clone();
    touch_company(&app, &mut world, id);
    ok(&new)
}

pub(super) async fn delete_contact(
    State(app): State<App>,
    uri: Uri,
    Path((id, contact)): Path<(String, String)>,
) -> Answer {
    let id = path_id(&id, "company", uri.path())?;
    let contact_id = path_id(&contact, "contact", uri.path())?;
    let mut world = app.world();
    let Some(list) = world.contacts.get_mut(&id) else { return Err(not_found("company", &id.to_string(), uri.path())) };
    let before = list.len();
    list.retain(|c| c.id != Some(contact_id));
    if list.len() == before {
        return Err(not_found("contact", &contact_id.to_string(), uri.path()));
    }
    touch_company(&app, &mut world, id);
    empty(StatusCode::NO_CONTENT)
}
