//! Quote preferences: expiry, intro message, margin and terms used for new quotes.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::Uri;
use pax8_api::quoting::types::{PreferencesPayload, PreferencesResponse, QuotePreferencesResult};

use crate::app::App;
use crate::http::{Answer, body, invalid, ok};

pub(super) fn default_preferences() -> QuotePreferencesResult {
    QuotePreferencesResult {
        days_to_expire: 30,
        intro_message: "Thank you for the opportunity to quote.".into(),
        sales_margin_percentage: 20.0,
        terms_and_disclaimers: "Prices exclude taxes.".into(),
        ..Default::default()
    }
}

pub(super) async fn preferences(State(app): State<App>) -> Answer {
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

pub(super) async fn save_preferences(State(app): State<App>, uri: Uri, bytes: Bytes) -> Answer {
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
