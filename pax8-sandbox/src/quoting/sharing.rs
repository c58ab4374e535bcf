//! A quote's sections and its access list (who it is shared with).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use pax8_api::quoting::types::{
    AccessListEntry, AccessListEntryAccountType, AccessListResponse, AddAccessListEntryPayload, CreateSectionPayload,
    Section, SectionsPayload, SectionsResponse,
};

use crate::app::App;
use crate::http::{Answer, body, convert, created, empty, invalid, not_found, ok, path_id};

use super::quote_exists;

pub(super) async fn sections(State(app): State<App>, uri: Uri, Path(id): Path<String>) -> Answer {
    let id = quote_exists(&app, &id, &uri)?;
    let store = app.0.quotes.lock().expect("quotes lock");
    ok(&SectionsResponse { sections: store.sections.get(&id).cloned().unwrap_or_default(), ..Default::default() })
}

pub(super) async fn create_section(State(app): State<App>, uri: Uri, Path(id): Path<String>, bytes: Bytes) -> Answer {
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

pub(super) async fn update_sections(State(app): State<App>, uri: Uri, Path(id): Path<String>, bytes: Bytes) -> Answer {
    let id = quote_exists(&app, &id, &uri)?;
    let payload: SectionsPayload = body(&bytes, uri.path())?;
    let sections: Vec<Section> = convert(&payload.sections);
    let mut store = app.0.quotes.lock().expect("quotes lock");
    store.sections.insert(id, sections.clone());
    ok(&SectionsResponse { sections, ..Default::default() })
}

pub(super) async fn access_list(State(app): State<App>, uri: Uri, Path(id): Path<String>) -> Answer {
    let id = quote_exists(&app, &id, &uri)?;
    let store = app.0.quotes.lock().expect("quotes lock");
    ok(&AccessListResponse { access_list: store.access.get(&id).cloned().unwrap_or_default(), ..Default::default() })
}

pub(super) async fn share(State(app): State<App>, uri: Uri, Path(id): Path<String>, bytes: Bytes) -> Answer {
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

pub(super) async fn unshare(State(app): State<App>, uri: Uri, Path((id, entry)): Path<(String, String)>) -> Answer {
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
