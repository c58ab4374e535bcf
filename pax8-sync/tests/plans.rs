//! Renewal plans against the simulator, on SQLite and (when PAX8_TEST_POSTGRES_URL names a
//! server) PostgreSQL: applied exactly once at the commitment's end by concurrent runners (each
//! on its own pool, as separate processes are), held when the subscription changed, settled when
//! a runner was killed after claiming (applied or not), refused when Pax8 would refuse them.

mod common;

use chrono::{Duration, NaiveDate, Utc};
use pax8_api::partner::types::Subscription;
use pax8_sandbox::{Faults, Sandbox};
use pax8_sync::Store;
use pax8_sync::plans::{DEFAULT_LEASE, PlanAction, run_due};

const TENANT: &str = "default";

/// Active annual subscriptions with at least `min` seats whose commitment ends after `after`.
fn committed(sandbox: &Sandbox, min: f64, after: NaiveDate) -> Vec<Subscription> {
    sandbox.with_world(|w| {
        w.subscriptions
            .iter()
            .filter(|s| {
                s.status.as_ref().is_some_and(|st| st.to_string() == "Active")
                    && s.quantity.is_some_and(|q| q >= min)
                    && s.commitment.as_ref().and_then(|c| c.end_date).is_some_and(|e| e.date().0 > after)
            })
            .cloned()
            .collect()
    })
}

fn ends(s: &Subscription) -> NaiveDate {
    s.commitment.as_ref().unwrap().end_date.unwrap().date().0
}

fn changes(sandbox: &Sandbox, s: &Subscription) -> usize {
    sandbox.with_world(|w| w.history.get(&s.id.unwrap()).map_or(0, Vec::len))
}

/// Moves the simulator's clock to the start of `day` (plus an hour).
fn travel_to(sandbox: &Sandbox, day: NaiveDate) {
    let target = day.and_hms_opt(1, 0, 0).unwrap().and_utc();
    sandbox.advance_clock(target - Utc::now());
}

async fn stores(url: &str) -> (Store, Store) {
    (Store::open(url).await.unwrap(), Store::open(url).await.unwrap())
}

async fn applied_once_by_concurrent_runners(url: &str) {
    let sandbox = common::sandbox(30, Faults::default()).await;
    let client = common::client(&sandbox);
    let today = Utc::now().date_naive();
    let s = committed(&sandbox, 3.0, today + Duration::days(2)).into_iter().next().expect("a committed subscription");
    let (one, two) = stores(url).await;
    let quantity = u32::try_from(s.quantity.unwrap() as i64).unwrap() - 1;
    // Mid-commitment, a decrease is planned for the commitment's end by default.
    let plan = one.make_plan(TENANT, &s, PlanAction::Quantity { quantity }, None, today).await.unwrap();
    assert_eq!((plan.due.as_str(), plan.state.as_str()), (ends(&s).to_string().as_str(), "pending"));
    // Not due yet: nothing happens.
    let early = run_due(&one, &client, TENANT, today, Utc::now(), DEFAULT_LEASE).await.unwrap();
    assert!(early.applied.is_empty() && early.held.is_empty());
    assert_eq!(changes(&sandbox, &s), 0);

    travel_to(&sandbox, ends(&s));
    let at = ends(&s).and_hms_opt(1, 0, 0).unwrap().and_utc();
    let client_two = common::client(&sandbox);
    let (a, b) = tokio::join!(
        run_due(&one, &client, TENANT, ends(&s), at, DEFAULT_LEASE),
        run_due(&two, &client_two, TENANT, ends(&s), at, DEFAULT_LEASE)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.applied.len() + b.applied.len(), 1, "one runner applies it: {a:?} {b:?}");
    assert!(a.failed.is_empty() && b.failed.is_empty() && a.held.is_empty() && b.held.is_empty());
    assert_eq!(changes(&sandbox, &s), 1, "the change was sent once");
    let now = sandbox.with_world(|w| w.subscription(s.id.unwrap()).unwrap().quantity);
    assert_eq!(now, Some(f64::from(quantity)));
    let stored = one.plan(plan.id).await.unwrap().unwrap();
    assert_eq!(stored.state, "applied");
    let result = stored.result.expect("the answer is recorded");
    assert_eq!(result["done"], true, "{result}");
    assert_eq!(result["subscription"]["quantity"], f64::from(quantity), "{result}");
    // What Pax8 says next confirms it: here a webhook showing the new quantity.
    assert_eq!((stored.confirmed_at, stored.confirmed_by), (None, None));
    let event = serde_json::json!({
        "id": "evt-plan-confirm",
        "webhookTopic": {"topic": "SUBSCRIPTION_UPDATED"},
        "payloadData": {"subscriptionId": s.id, "quantity": quantity, "status": "Active"},
    });
    pax8_sync::receiver::handle(&two, TENANT, event.to_string().as_bytes()).await.unwrap();
    let stored = one.plan(plan.id).await.unwrap().unwrap();
    assert_eq!(stored.confirmed_by.as_deref(), Some("webhook"));
    assert!(stored.confirmed_at.is_some());
    // Run again: nothing left to do.
    let again = run_due(&two, &client, TENANT, ends(&s), at, DEFAULT_LEASE).await.unwrap();
    assert!(again.applied.is_empty() && again.settled.is_empty());
    assert_eq!(changes(&sandbox, &s), 1);
    assert!(one.plans(TENANT, false).await.unwrap().is_empty(), "nothing open");
    assert_eq!(one.plans(TENANT, true).await.unwrap().len(), 1);
}

async fn held_when_changed_and_settled_after_a_kill(url: &str) {
    let sandbox = common::sandbox(40, Faults::default()).await;
    let client = common::client(&sandbox);
    let today = Utc::now().date_naive();
    let mut subs = committed(&sandbox, 3.0, today + Duration::days(2));
    subs.sort_by_key(ends);
    let [held, lost, sent, ..] = subs.as_slice() else { panic!("three committed subscriptions") };
    let store = Store::open(url).await.unwrap();
    let minus_one = |s: &Subscription| u32::try_from(s.quantity.unwrap() as i64).unwrap() - 1;
    let latest = ends(held).max(ends(lost)).max(ends(sent));
    // All three due the same (latest) day.
    let on = Some(latest);
    let p_held = store.make_plan(TENANT, held, PlanAction::Cancel, on, today).await.unwrap();
    let p_lost =
        store.make_plan(TENANT, lost, PlanAction::Quantity { quantity: minus_one(lost) }, on, today).await.unwrap();
    let p_sent =
        store.make_plan(TENANT, sent, PlanAction::Quantity { quantity: minus_one(sent) }, on, today).await.unwrap();

    // `held` changes after its plan was made (an increase is allowed mid-commitment).
    let bigger = held.quantity.unwrap() as i64 + 1;
    client.subscriptions().update_quantity(held.id.unwrap(), bigger).await.unwrap();
    travel_to(&sandbox, latest);
    let at = latest.and_hms_opt(1, 0, 0).unwrap().and_utc();
    // A runner claimed `lost` and `sent` and was killed: `sent` after its change went out,
    // `lost` before.
    client.subscriptions().update_quantity(sent.id.unwrap(), i64::from(minus_one(sent))).await.unwrap();
    for id in [p_lost.id, p_sent.id] {
        sqlx::query(
            "UPDATE renewal_plans SET state = 'applying', claimed_by = 'killed', claimed_at_us = 0 WHERE id = $1",
        )
        .bind(id.to_string())
        .execute(store.pool())
        .await
        .unwrap();
    }
    let (held_before, lost_before, sent_before) =
        (changes(&sandbox, held), changes(&sandbox, lost), changes(&sandbox, sent));
    // Within the lease a claim is left alone.
    let report = run_due(&store, &client, TENANT, latest, at, std::time::Duration::from_secs(3600 * 24 * 365 * 100))
        .await
        .unwrap();
    assert!(report.settled.is_empty() && report.applied.is_empty(), "{report:?}");
    assert_eq!(report.held.len(), 1);
    let report = run_due(&store, &client, TENANT, latest, at, std::time::Duration::from_secs(1)).await.unwrap();
    assert_eq!(report.settled.iter().map(|p| p.id).collect::<Vec<_>>(), [p_sent.id], "{report:?}");
    assert_eq!(report.applied.iter().map(|p| p.id).collect::<Vec<_>>(), [p_lost.id], "{report:?}");
    assert_eq!(changes(&sandbox, sent), sent_before, "already applied: not sent again");
    assert_eq!(changes(&sandbox, lost), lost_before + 1, "not applied before: applied once now");
    assert_eq!(changes(&sandbox, held), held_before, "held: nothing sent");
    let stored = store.plan(p_held.id).await.unwrap().unwrap();
    assert_eq!(stored.state, "held");
    let reason = stored.reason.unwrap();
    assert!(
        reason.contains(&format!("quantity {} → {bigger}", held.quantity.unwrap() as i64)),
        "the reason names the change: {reason}"
    );
    assert_eq!(store.plan(p_sent.id).await.unwrap().unwrap().state, "applied");
    // The next sync confirms the applied plans whose subscription it finds where the plan took
    // it; `lost` was changed again since, so its plan stays unconfirmed.
    client.subscriptions().update_quantity(lost.id.unwrap(), i64::from(minus_one(lost)) + 3).await.unwrap();
    let synced = pax8_sync::sync(&store, &client, &common::opts(200), &|_| {}).await.unwrap();
    assert_eq!(synced.plans_confirmed, 1);
    assert_eq!(store.plan(p_sent.id).await.unwrap().unwrap().confirmed_by.as_deref(), Some("sync"));
    assert_eq!(store.plan(p_lost.id).await.unwrap().unwrap().confirmed_by, None);
    let again = pax8_sync::sync(&store, &client, &common::opts(200), &|_| {}).await.unwrap();
    assert_eq!(again.plans_confirmed, 0, "confirmed once");
    // A held plan can be cancelled; an applied one cannot.
    assert_eq!(store.cancel_plan(p_held.id).await.unwrap().state, "cancelled");
    let refused = store.cancel_plan(p_sent.id).await.unwrap_err().to_string();
    assert!(refused.contains("is applied: only a plan not yet applied can be cancelled"), "{refused}");
}

async fn refused_when_pax8_would_refuse(url: &str) {
    let sandbox = common::sandbox(20, Faults::default()).await;
    let today = Utc::now().date_naive();
    let s = committed(&sandbox, 3.0, today + Duration::days(2)).into_iter().next().unwrap();
    let store = Store::open(url).await.unwrap();
    let q = s.quantity.unwrap() as u32;
    let err = |e: pax8_sync::SyncError| e.to_string();
    let early =
        store.make_plan(TENANT, &s, PlanAction::Quantity { quantity: q - 1 }, Some(today + Duration::days(1)), today);
    assert!(
        err(early.await.unwrap_err())
            .contains(&format!("Pax8 refuses this before the commitment ends on {}", ends(&s)))
    );
    let same = store.make_plan(TENANT, &s, PlanAction::Quantity { quantity: q }, None, today).await.unwrap_err();
    assert!(err(same).contains(&format!("the quantity is already {q}")));
    let term = PlanAction::Term { billing_term: "Fortnightly".into() };
    let unknown = store.make_plan(TENANT, &s, term, None, today).await.unwrap_err();
    assert!(err(unknown).contains("`Fortnightly` is not a billing term"));
    let past =
        store.make_plan(TENANT, &s, PlanAction::Cancel, Some(today - Duration::days(1)), today).await.unwrap_err();
    assert!(err(past).contains("has passed"));
    // An increase may be planned for any day; a second open plan for the subscription is refused.
    let up = store.make_plan(TENANT, &s, PlanAction::Quantity { quantity: q + 1 }, Some(today), today).await.unwrap();
    assert_eq!(up.due, today.to_string());
    let second = store.make_plan(TENANT, &s, PlanAction::Cancel, None, today).await.unwrap_err();
    assert!(err(second).contains("already has an open plan"));
    store.cancel_plan(up.id).await.unwrap();
    store.make_plan(TENANT, &s, PlanAction::Cancel, None, today).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_plans() {
    let dir = tempfile::tempdir().unwrap();
    let url = |n: &str| format!("sqlite://{}", dir.path().join(n).display());
    applied_once_by_concurrent_runners(&url("once.db")).await;
    held_when_changed_and_settled_after_a_kill(&url("held.db")).await;
    refused_when_pax8_would_refuse(&url("refused.db")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_plans() {
    for test in 0..3 {
        let Some(url) = common::postgres_database().await else { return };
        match test {
            0 => applied_once_by_concurrent_runners(&url).await,
            1 => held_when_changed_and_settled_after_a_kill(&url).await,
            _ => refused_when_pax8_would_refuse(&url).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_quantities_of_a_billing_period_are_the_last_before_it_and_every_one_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::sqlite(&dir, "snapshots.db").await;
    let (a, b) = (uuid::Uuid::from_u128(1), uuid::Uuid::from_u128(2));
    for (sync, id, at, quantity) in [
        ("s1", a, "2026-10-20T00:00:00Z", 4.0),
        ("s2", a, "2026-10-28T00:00:00Z", 5.0),
        ("s3", a, "2026-11-10T00:00:00Z", 7.0),
        ("s4", a, "2026-12-02T00:00:00Z", 9.0),
        ("s3", b, "2026-11-30T23:00:00Z", 2.0),
    ] {
        sqlx::query(
            "INSERT INTO subscription_snapshots (tenant, sync_id, subscription_id, taken_at, quantity, price, status, \
             source) VALUES ('default', $1, $2, $3, $4, 1, 'Active', 'sync')",
        )
        .bind(sync)
        .bind(id.to_string())
        .bind(at)
        .bind(quantity)
        .execute(store.pool())
        .await
        .unwrap();
    }
    let day = |d: &str| d.parse::<NaiveDate>().unwrap();
    let seen = store.quantities_during("default", day("2026-11-01"), day("2026-11-30")).await.unwrap();
    assert_eq!(seen[&a], [5, 7], "the last before the period, then those in it; not the one after");
    assert_eq!(seen[&b], [2], "the period's last day is in it");
    assert!(store.quantities_during("other", day("2026-11-01"), day("2026-11-30")).await.unwrap().is_empty());
}
