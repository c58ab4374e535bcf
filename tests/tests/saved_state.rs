//! A sandbox's state saved and started from again (what `pax8 demo` keeps between commands):
//! writes survive, the fixture's catalogue and invoices stay the same, new ids never repeat.

use pax8_ext::Pax8Client;
use pax8_ext::resources::NewOrder;
use pax8_sandbox::{Sandbox, SandboxConfig, SavedState};

fn config(saved: Option<SavedState>) -> SandboxConfig {
    SandboxConfig {
        companies: 4,
        today: chrono::NaiveDate::from_ymd_opt(2026, 11, 23),
        saved,
        ..SandboxConfig::default()
    }
}

fn client(sandbox: &Sandbox) -> Pax8Client {
    Pax8Client::builder()
        .client_id(sandbox.client_id())
        .client_secret(sandbox.client_secret())
        .base_url(sandbox.base_url())
        .no_rate_limit()
        .build()
        .unwrap()
}

#[tokio::test]
async fn writes_survive_a_save_and_a_restart_and_new_ids_never_repeat() {
    let first = Sandbox::start(config(None)).await.unwrap();
    let c = client(&first);
    let (company, product) = first.with_world(|w| {
        let p = w.products.iter().find(|p| p.detail.requires_commitment == Some(false)).unwrap();
        (w.companies[0].id.unwrap(), p.detail.id.unwrap())
    });
    let order = NewOrder::for_company(company).line(product, 3, "Monthly", None).build();
    let placed = c.orders().create(order.clone()).send().await.unwrap();
    let invoices_before = first.with_world(|w| w.invoices.clone());
    let saved = first.save();
    assert_eq!(saved.generation(), 1);
    drop(first);

    // Through JSON, as the demo keeps it.
    let text = serde_json::to_string(&saved).unwrap();
    let saved: SavedState = serde_json::from_str(&text).unwrap();
    saved.check().unwrap();
    let second = Sandbox::start(config(Some(saved))).await.unwrap();
    let c = client(&second);
    let found = c.orders().get(placed.id.unwrap()).await.unwrap();
    assert_eq!(found.id, placed.id);
    let sub = placed.line_items[0].subscription_id.unwrap();
    assert_eq!(c.subscriptions().get(sub).await.unwrap().quantity, Some(3.0));
    assert_eq!(second.with_world(|w| w.invoices.clone()), invoices_before, "the fixture's invoices are unchanged");

    // The restarted sandbox draws ids from a new sequence: no collision with the first run's.
    let again = c.orders().create(order).send().await.unwrap();
    assert_ne!(again.id, placed.id);
    assert_ne!(again.line_items[0].subscription_id, Some(sub));
    let saved = second.save();
    assert_eq!(saved.generation(), 2);
    assert_eq!(saved.counts().2, second.with_world(|w| w.orders.len()));
}

#[test]
fn a_state_in_another_format_is_refused() {
    let mut value = serde_json::json!({
        "format": 99, "generation": 1, "companies": [], "contacts": {}, "subscriptions": [], "history": {},
        "orders": [], "quotes": {"quotes": [], "sections": {}, "access": {}, "preferences": null,
        "next_reference": 0}, "webhooks": {"webhooks": [], "logs": {}}
    });
    let state: SavedState = serde_json::from_value(value.clone()).unwrap();
    assert_eq!(
        state.check().unwrap_err().to_string(),
        "saved sandbox state has format 99; this version reads format 1"
    );
    value["format"] = 1.into();
    let state: SavedState = serde_json::from_value(value).unwrap();
    assert!(state.check().is_ok());
}
