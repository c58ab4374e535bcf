//! The operations layer against the simulator: a write whose answer is lost is settled (found by
//! what identifies it) or reported unsettled, never sent twice; refusals come before any write.

use pax8_ext::ops::companies::{NewCompany, prepare_company};
use pax8_ext::ops::contacts::{NewContact, prepare_contact};
use pax8_ext::ops::orders::{OrderSpec, prepare};
use pax8_ext::ops::subscriptions::prepare_quantity;
use pax8_ext::ops::{Answer, OpError};
use pax8_sandbox::{Faults, Sandbox, SandboxConfig};

async fn start() -> (Sandbox, pax8_ext::Pax8Client) {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let client = pax8_ext::Pax8Client::builder()
        .client_id(sandbox.client_id())
        .client_secret(sandbox.client_secret())
        .base_url(sandbox.base_url())
        .build()
        .unwrap();
    (sandbox, client)
}

/// A client that sends every request once (no retries).
fn sent_once(sandbox: &Sandbox) -> pax8_ext::Pax8Client {
    pax8_ext::Pax8Client::builder()
        .client_id(sandbox.client_id())
        .client_secret(sandbox.client_secret())
        .base_url(sandbox.base_url())
        .retry_policy(pax8_ext::RetryPolicy::none())
        .build()
        .unwrap()
}

fn company(name: &str) -> NewCompany {
    NewCompany { name: format!("  {name} "), city: Some("Austin".into()), ..NewCompany::default() }
}

fn named(sandbox: &Sandbox, name: &str) -> usize {
    sandbox.with_world(|w| w.companies.iter().filter(|c| c.name == name).count())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_company_whose_answer_is_lost_is_found_by_name_or_reported_unsettled() {
    let (sandbox, client) = start().await;
    sandbox.set_faults(Faults { lose_answer_to: Some("POST /v1/companies".into()), ..Faults::default() });
    let report = prepare_company(&client, company("Initrode")).await.unwrap().apply(&client).await.unwrap();
    let created = report.result.expect("done");
    assert_eq!((created.answer, created.company.name.as_str()), (Answer::Settled, "Initrode"));
    assert_eq!(report.preview.name, "Initrode", "the name is trimmed");
    assert_eq!(named(&sandbox, "Initrode"), 1, "created once");

    // The same name again: refused before anything is sent.
    let again = prepare_company(&client, company("initrode")).await.unwrap_err();
    assert!(matches!(&again, OpError::Refused(m) if m.contains("a company named `Initrode` exists")), "{again}");
    assert!(matches!(prepare_company(&client, company(" ")).await, Err(OpError::Refused(m)) if m.contains("empty")));

    // The request never arrived: nothing to find, and it says so.
    sandbox.set_faults(Faults { drop_request_to: Some("POST /v1/companies".into()), ..Faults::default() });
    let lost = prepare_company(&client, company("Vandelay")).await.unwrap().apply(&client).await.unwrap_err();
    match &lost {
        OpError::Unsettled { what: "company", seen, .. } => assert_eq!(seen, "no company of that name exists yet"),
        other => panic!("{other:?}"),
    }
    assert!(lost.to_string().contains("could not tell whether the company was created"), "{lost}");
    assert_eq!(named(&sandbox, "Vandelay"), 0);
    sandbox.set_faults(Faults::default());

    // Every detail given reaches the company created.
    let full = NewCompany {
        name: "Hooli".into(),
        street: Some("1 Hacker Way".into()),
        city: Some("Palo Alto".into()),
        state_or_province: Some("CA".into()),
        postal_code: Some("94301".into()),
        country: Some("US".into()),
        phone: Some("555-0100".into()),
        website: Some("hooli.example".into()),
        external_id: Some("crm-42".into()),
    };
    let prepared = prepare_company(&client, full.clone()).await.unwrap();
    assert_eq!(prepared.preview(), &full);
    prepared.apply(&client).await.unwrap();
    let stored = sandbox.with_world(|w| w.companies.iter().find(|c| c.name == "Hooli").cloned()).unwrap();
    let a = &stored.address;
    let details = [&a.street, &a.city, &a.state_or_province, &a.postal_code, &stored.phone, &stored.website];
    let expected = [&full.street, &full.city, &full.state_or_province, &full.postal_code, &full.phone, &full.website];
    assert_eq!(details, expected);
    assert_eq!(a.country.as_ref().map(ToString::to_string), full.country);
    assert_eq!(stored.external_id, full.external_id);

    // Someone else creates the name between the preview and the write: the server's refusal is
    // the answer, not a "settled" creation of the other company.
    let prepared = prepare_company(&client, company("Pied Piper")).await.unwrap();
    let rival = pax8_api::partner::types::Company { name: "Pied Piper".into(), ..Default::default() };
    client.companies().create(rival).await.unwrap();
    let refused = prepared.apply(&client).await.unwrap_err();
    assert!(matches!(refused, OpError::Api(ref e) if !e.is_outcome_unknown()), "{refused:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_contact_whose_answer_is_lost_is_found_by_email_address_or_reported_unsettled() {
    let (sandbox, client) = start().await;
    let company_id = sandbox.with_world(|w| w.companies[0].id).unwrap();
    let path = format!("POST /v1/companies/{company_id}/contacts");
    let new = |email: &str| NewContact {
        company_id,
        first_name: "Peter".into(),
        last_name: "Gibbons".into(),
        email: email.into(),
        phone: "555-0142".into(),
        primary_for: vec!["billing".into()],
    };
    let contacts = |email: &str| {
        let email = email.to_string();
        sandbox.with_world(move |w| {
            w.contacts.get(&company_id).map_or(0, |c| c.iter().filter(|x| x.email == email).count())
        })
    };
    sandbox.set_faults(Faults { lose_answer_to: Some(path.clone()), ..Faults::default() });
    let prepared = prepare_contact(&client, new("peter@initech.example")).await.unwrap();
    assert_eq!(prepared.preview().contact.primary_for, ["Billing"], "roles named as the document names them");
    let added = prepared.apply(&client).await.unwrap().result.expect("done");
    assert_eq!(added.answer, Answer::Settled);
    assert_eq!(added.contact.email, "peter@initech.example");
    assert_eq!(contacts("peter@initech.example"), 1);
    let stored = sandbox
        .with_world(|w| w.contacts[&company_id].iter().find(|x| x.email == "peter@initech.example").cloned())
        .unwrap();
    assert_eq!(stored.phone, "555-0142");
    let roles: Vec<String> = stored.types.iter().filter_map(|t| t.type_.as_ref().map(ToString::to_string)).collect();
    assert_eq!(roles, ["Billing"], "the roles reach the server");

    sandbox.set_faults(Faults { drop_request_to: Some(path), ..Faults::default() });
    let lost = prepare_contact(&client, new("bill@initech.example")).await.unwrap().apply(&client).await.unwrap_err();
    assert!(matches!(&lost, OpError::Unsettled { what: "contact", .. }), "{lost:?}");
    assert_eq!(contacts("bill@initech.example"), 0);

    sandbox.set_faults(Faults::default());

    // A definite refusal (429, not processed) is that error: no lookup, nothing unsettled.
    let once = sent_once(&sandbox);
    let prepared = prepare_contact(&once, new("milton@initech.example")).await.unwrap();
    sandbox.set_faults(Faults { rate_limit_per_minute: Some(0), ..Faults::default() });
    let error = prepared.apply(&once).await.unwrap_err();
    assert!(matches!(&error, OpError::Api(e) if !e.is_outcome_unknown()), "{error:?}");
    sandbox.set_faults(Faults::default());

    let refused = prepare_contact(&client, new("not an address")).await.unwrap_err();
    assert!(matches!(refused, OpError::Refused(_)));
}

#[tokio::test(flavor = "multi_thread")]
async fn orders_are_dry_run_then_placed_once_and_refusals_come_before_any_request() {
    let (sandbox, client) = start().await;
    let company_id = sandbox.with_world(|w| w.companies[0].id).unwrap();
    let product = client.products().search("Datto SaaS Protection").unwrap().collect_all().await.unwrap();
    let product_id = product[0].id.unwrap();
    let spec =
        OrderSpec { company_id, product_id, quantity: 3, billing_term: "Monthly".into(), commitment_term_id: None };
    let prepared = prepare(&client, &spec).await.unwrap();
    let preview = prepared.preview().clone();
    assert!(preview.validated_by_dry_run);
    assert_eq!(preview.total_per_term, preview.unit_price * pax8_ext::money::Decimal::from(3));
    assert_eq!((sandbox.counters().mock_orders, sandbox.counters().orders_created), (1, 0), "a dry run only");
    let report = serde_json::to_value(prepared.place(&client).await.unwrap()).unwrap();
    assert_eq!((report["done"].as_bool(), report["answer"].as_str()), (Some(true), Some("received")), "{report}");
    assert_eq!(report["order"]["id"], report["order_id"]);
    assert_eq!(sandbox.counters().orders_created, 1);

    // Its answer lost: found and reported settled; never sent twice.
    let create = "POST /v1/orders?isMock=false".to_string();
    sandbox.set_faults(Faults { lose_answer_to: Some(create.clone()), ..Faults::default() });
    let settled = prepare(&client, &OrderSpec { quantity: 4, ..spec.clone() }).await.unwrap();
    let settled = settled.place(&client).await.unwrap().result.expect("done");
    assert_eq!(settled.answer, Answer::Settled);
    assert_eq!(settled.order.expect("found").line_items[0].quantity, Some(4.0));
    assert_eq!(sandbox.counters().orders_created, 2, "placed once");
    // The request never arrived: nothing found, unsettled, nothing placed.
    sandbox.set_faults(Faults { drop_request_to: Some(create), ..Faults::default() });
    let lost = prepare(&client, &OrderSpec { quantity: 5, ..spec.clone() }).await.unwrap();
    match lost.place(&client).await.unwrap_err() {
        OpError::Unsettled { what: "order", seen, .. } => assert_eq!(seen, "no matching order was found yet"),
        other => panic!("{other:?}"),
    }
    assert_eq!(sandbox.counters().orders_created, 2);
    sandbox.set_faults(Faults::default());

    // A definite refusal (429, not processed) is that error: no lookup, nothing unsettled.
    let once = sent_once(&sandbox);
    let refused = prepare(&once, &OrderSpec { quantity: 6, ..spec.clone() }).await.unwrap();
    sandbox.set_faults(Faults { rate_limit_per_minute: Some(0), ..Faults::default() });
    let error = refused.place(&once).await.unwrap_err();
    assert!(matches!(&error, OpError::Api(e) if e.is_retryable() && !e.is_outcome_unknown()), "{error:?}");
    assert_eq!(sandbox.counters().orders_created, 2);
    sandbox.set_faults(Faults::default());

    let requests = sandbox.counters().requests;
    let zero = OrderSpec { quantity: 0, ..spec.clone() };
    assert!(matches!(prepare(&client, &zero).await, Err(OpError::Refused(m)) if m.contains("at least 1")));
    let over = OrderSpec { quantity: 1_000_001, ..spec };
    assert!(matches!(prepare(&client, &over).await, Err(OpError::Refused(m)) if m.contains("between 1 and 1000000")));
    let nothing = prepare_quantity(&client, uuid::Uuid::nil(), 0).await.err().unwrap();
    assert!(nothing.to_string().contains("cancel it"), "{nothing}");
    assert_eq!(sandbox.counters().requests, requests, "refused before any request");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_quantity_change_previews_the_monthly_difference_and_a_cancel_what_is_lost() {
    use pax8_ext::insights::{monthly_cost, monthly_revenue};
    use pax8_ext::money::{Decimal, cents};
    let (sandbox, client) = start().await;
    // A monthly subscription with a price, a cost and a whole quantity.
    let s = sandbox
        .with_world(|w| {
            w.subscriptions
                .iter()
                .find(|s| {
                    s.billing_term.as_ref().is_some_and(|t| t.to_string() == "Monthly")
                        && s.price.is_some_and(|p| p > 0.0)
                        && s.partner_cost.is_some_and(|p| p > 0.0)
                        && s.quantity.is_some_and(|q| q >= 2.0)
                })
                .cloned()
        })
        .expect("a monthly subscription");
    let id = s.id.unwrap();
    let now = pax8_ext::ops::whole(s.quantity).unwrap();
    let up = prepare_quantity(&client, id, u32::try_from(now + 3).unwrap()).await.unwrap();
    let v = up.preview();
    assert_eq!(v.quantity_now, Some(now));
    let three = Decimal::from(3);
    assert_eq!(v.monthly_revenue_change, cents(pax8_ext::money::amount(s.price) * three));
    assert_eq!(v.monthly_cost_change, cents(pax8_ext::money::amount(s.partner_cost) * three));
    let down = prepare_quantity(&client, id, u32::try_from(now - 1).unwrap()).await.unwrap();
    assert_eq!(
        down.preview().monthly_revenue_change,
        -cents(pax8_ext::money::amount(s.price)),
        "a decrease is negative"
    );
    let changed = up.apply(&client).await.unwrap().result.expect("done");
    assert_eq!(pax8_ext::ops::whole(changed.subscription.quantity), Some(now + 3));

    let cancel = pax8_ext::ops::subscriptions::prepare_cancel(&client, id, None).await.unwrap();
    let s = client.subscriptions().get(id).await.unwrap();
    assert_eq!(cancel.preview().monthly_revenue_lost, cents(monthly_revenue(&s)));
    assert_eq!(cancel.preview().monthly_cost_saved, cents(monthly_cost(&s)));
    let done = cancel.apply(&client).await.unwrap().result.expect("done");
    assert_eq!(done.subscription_id, id);
}

#[tokio::test(flavor = "multi_thread")]
async fn mid_commitment_a_decrease_is_refused_before_sending_and_an_increase_says_what_waits() {
    use pax8_ext::ops::subscriptions::prepare_quantity_at;
    let (sandbox, client) = start().await;
    // An active annual subscription whose commitment ends in the future.
    let s = sandbox
        .with_world(|w| {
            w.subscriptions
                .iter()
                .find(|s| {
                    s.status.as_ref().is_some_and(|st| st.to_string() == "Active")
                        && s.commitment.as_ref().and_then(|c| c.end_date).is_some()
                        && s.quantity.is_some_and(|q| q >= 2.0)
                })
                .cloned()
        })
        .expect("a committed subscription");
    let id = s.id.unwrap();
    let ends = s.commitment.as_ref().unwrap().end_date.unwrap();
    let quantity = pax8_ext::ops::whole(s.quantity).unwrap();
    let before = ends.to_utc() - chrono::Duration::days(1);
    let sent = client.requests_sent();
    let refused = prepare_quantity_at(&client, id, u32::try_from(quantity - 1).unwrap(), before).await.err().unwrap();
    let OpError::Refused(message) = refused else { panic!("refused, not {refused:?}") };
    assert!(
        message.contains(&format!("can only go down when its Annual commitment ends on {}", ends.date())),
        "{message}"
    );
    assert_eq!(client.requests_sent(), sent + 1, "only the read: nothing written");
    assert_eq!(sandbox.with_world(|w| w.subscription(id).unwrap().quantity), s.quantity);

    let up = prepare_quantity_at(&client, id, u32::try_from(quantity + 1).unwrap(), before).await.unwrap();
    let window = up.preview().commitment.clone().expect("a running commitment");
    assert_eq!(window.ends, ends.date().to_string());
    assert_eq!(
        (window.allowed_now, window.at_commitment_end),
        (vec!["increase".to_string()], vec!["decrease".to_string(), "billing_term".to_string()])
    );
    // The same quantity mid-commitment is no decrease: previewed (a change of nothing).
    let same = prepare_quantity_at(&client, id, u32::try_from(quantity).unwrap(), before).await.unwrap();
    assert!(same.preview().monthly_revenue_change.is_zero());
    // From the very instant it ends, it has ended: a decrease is previewed with no window.
    let at_end = prepare_quantity_at(&client, id, u32::try_from(quantity - 1).unwrap(), ends.to_utc()).await.unwrap();
    assert!(at_end.preview().commitment.is_none());
    let after = ends.to_utc() + chrono::Duration::days(1);
    let down = prepare_quantity_at(&client, id, u32::try_from(quantity - 1).unwrap(), after).await.unwrap();
    assert!(down.preview().commitment.is_none());

    // The simulator refuses the decrease as Pax8 does, whoever sends it.
    let direct = client.subscriptions().update_quantity(id, i64::try_from(quantity - 1).unwrap()).await;
    let text = direct.expect_err("refused").to_string();
    assert!(text.contains("cannot be decreased before the commitment ends"), "{text}");
    let increased = client.subscriptions().update_quantity(id, i64::try_from(quantity + 1).unwrap()).await.unwrap();
    assert_eq!(pax8_ext::ops::whole(increased.quantity), Some(quantity + 1));
}

/// Quotes: a start and a line whose answers are lost are found on the quote (once each), a
/// request that never arrived is reported unsettled, and bad lines are refused before sending.
#[tokio::test(flavor = "multi_thread")]
async fn quotes_and_their_lines_are_settled_when_the_answer_is_lost() {
    use pax8_ext::money::Decimal;
    use pax8_ext::ops::quotes::{LineSpec, prepare_line, prepare_quote, prepare_remove_line};
    let (sandbox, client) = start().await;
    let (company_id, product_id) = sandbox.with_world(|w| {
        let product = w.products.iter().find(|p| !p.azure && p.commitments.is_empty()).unwrap();
        (w.companies[0].id.unwrap(), product.detail.id.unwrap())
    });
    let count = || {
        let client = client.clone();
        async move { client.quotes().list().collect_all().await.unwrap().len() }
    };
    let before = count().await;
    sandbox.set_faults(Faults { lose_answer_to: Some("POST /v2/quotes".into()), ..Faults::default() });
    let started = prepare_quote(&client, company_id).await.unwrap().create(&client).await.unwrap();
    let quote = started.result.expect("done");
    assert_eq!(quote.answer, Answer::Settled);
    assert_eq!(quote.quote.client_id, company_id);
    assert_eq!(count().await, before + 1, "started once");

    let path = format!("POST /v2/quotes/{}/line-items", quote.quote.id);
    sandbox.set_faults(Faults { lose_answer_to: Some(path.clone()), ..Faults::default() });
    let spec = LineSpec {
        quote_id: quote.quote.id,
        product_id,
        quantity: 3,
        billing_term: "Monthly".into(),
        price: Some(Decimal::new(1250, 2)),
    };
    let prepared = prepare_line(&client, &spec).await.unwrap();
    assert_eq!(prepared.preview().total, Decimal::new(3750, 2));
    let added = prepared.apply(&client).await.unwrap().result.expect("done");
    assert_eq!(added.answer, Answer::Settled);
    assert_eq!((added.line_items.len(), added.line_items[0].quantity), (1, 3));
    let lines = client.quotes().get(quote.quote.id).await.unwrap().line_items;
    assert_eq!(lines.len(), 1, "added once");

    // Never arrived: nothing new on the quote, so it says it cannot tell.
    sandbox.set_faults(Faults { drop_request_to: Some(path), ..Faults::default() });
    let lost = prepare_line(&client, &spec).await.unwrap().apply(&client).await.unwrap_err();
    assert!(matches!(&lost, OpError::Unsettled { what: "line", .. }), "{lost:?}");
    sandbox.set_faults(Faults::default());

    // Refused before anything is sent.
    let refused = |spec: LineSpec| {
        let client = client.clone();
        async move { prepare_line(&client, &spec).await.unwrap_err().to_string() }
    };
    let bad_term = refused(LineSpec { billing_term: "Fortnightly".into(), ..spec.clone() }).await;
    assert!(bad_term.starts_with("`Fortnightly` is not a billing term"), "{bad_term}");
    assert!(refused(LineSpec { price: Some(Decimal::new(-1, 0)), ..spec.clone() }).await.contains("from 0 to"));
    assert!(refused(LineSpec { price: Some(Decimal::new(1234, 3)), ..spec.clone() }).await.contains("2 decimals"));
    assert!(refused(LineSpec { price: Some(Decimal::from(10_000_001)), ..spec.clone() }).await.contains("from 0 to"));
    assert!(refused(LineSpec { quantity: 0, ..spec.clone() }).await.contains("at least 1"));
    // Priced from the catalogue when no price is given.
    let priced = prepare_line(&client, &LineSpec { price: None, ..spec.clone() }).await.unwrap();
    assert!(priced.preview().unit_price > Decimal::ZERO);

    let line = lines[0].id;
    let removed = prepare_remove_line(&client, quote.quote.id, line).await.unwrap().apply(&client).await.unwrap();
    assert_eq!(removed.result.unwrap().removed, line);
    let gone = prepare_remove_line(&client, quote.quote.id, line).await.unwrap_err().to_string();
    assert!(gone.contains("has no line item"), "{gone}");
}
