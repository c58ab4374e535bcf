//! pax8-ext against the simulator over real loopback HTTP.

use std::collections::HashSet;
use std::time::Duration;

use futures::TryStreamExt;
use pax8_api::partner::types::{CompanyUpdate, SubscriptionStatus};
use pax8_ext::resources::NewOrder;
use pax8_ext::{Error, Pax8Client, RetryPolicy};
use pax8_sandbox::{Faults, Sandbox, SandboxConfig};
use serde_json::json;
use uuid::Uuid;

fn today() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

async fn sandbox(companies: usize, faults: Faults) -> Sandbox {
    Sandbox::start(SandboxConfig { companies, today: Some(today()), faults, ..SandboxConfig::default() }).await.unwrap()
}

fn client(sandbox: &Sandbox) -> pax8_ext::ClientBuilder {
    Pax8Client::builder()
        .client_id(sandbox.client_id())
        .client_secret(sandbox.client_secret())
        .base_url(sandbox.base_url())
        .http_client(reqwest::Client::new())
        .no_rate_limit()
}

fn ids<T>(items: &[T], id: impl Fn(&T) -> Option<Uuid>) -> HashSet<Uuid> {
    items.iter().filter_map(id).collect()
}

#[tokio::test(start_paused = true)]
async fn listings_through_pagination_streams_match_the_fixture() {
    let sandbox = sandbox(30, Faults::default()).await;
    let client = client(&sandbox).build().unwrap();
    let (companies, subscriptions, products, invoices, orders) = sandbox
        .with_world(|w| (w.companies.len(), w.subscriptions.len(), w.products.len(), w.invoices.len(), w.orders.len()));
    let got = client.companies().list().page_size(7).collect_all().await.unwrap();
    assert_eq!((got.len(), ids(&got, |c| c.id).len()), (companies, companies));
    let got = client.subscriptions().list().page_size(23).concurrency(3).collect_all().await.unwrap();
    assert_eq!((got.len(), ids(&got, |s| s.id).len()), (subscriptions, subscriptions));
    assert_eq!(client.products().list().collect_all().await.unwrap().len(), products);
    assert_eq!(client.invoices().list().collect_all().await.unwrap().len(), invoices);
    assert_eq!(client.orders().list().page_size(4).collect_all().await.unwrap().len(), orders);
    let globex = client.companies().find_by_name("globex corporation").await.unwrap();
    assert_eq!(globex.len(), 1);
    let contacts = client.contacts(globex[0].id.unwrap()).list().collect_all().await.unwrap();
    assert!(!contacts.is_empty());
    let invoice = client.invoices().list().first_page().await.unwrap().items[0].id.unwrap();
    let items = client.invoices().items(invoice).page_size(50).collect_all().await.unwrap();
    assert!(items.len() > 50, "several pages of invoice items");
    assert_eq!(client.token_requests_sent(), 1);
}

#[tokio::test(start_paused = true)]
async fn filters_sort_and_size_limits_behave_as_documented() {
    let sandbox = sandbox(20, Faults::default()).await;
    let client = client(&sandbox).build().unwrap();
    let annual = client.subscriptions().list_with(|q| q.billing_term("Annual")).collect_all().await.unwrap();
    assert!(!annual.is_empty());
    assert!(annual.iter().all(|s| s.billing_term.as_ref().unwrap().as_str() == "Annual"));
    let sorted = client.companies().list_with(|q| q.sort("name")).collect_all().await.unwrap();
    let names: Vec<_> = sorted.iter().map(|c| c.name.to_lowercase()).collect();
    let mut expected = names.clone();
    expected.sort();
    assert_eq!(names, expected);
    // The server refuses a size over 200 with a Pax8 error body (sent raw, bypassing the client check).
    let err = client.send(client.partner().find_companies().size(201u32)).await.unwrap_err();
    assert!(matches!(err, Error::Validation(_)), "{err:?}");
    assert_eq!(err.body().unwrap().details[0].field.as_deref(), Some("size"));
    // Unknown ids are 404 with `instance`.
    let missing = Uuid::from_u128(42);
    let err = client.subscriptions().get(missing).await.unwrap_err();
    assert!(matches!(err, Error::NotFound(_)));
    assert_eq!(err.body().unwrap().instance.as_deref(), Some(format!("/v1/subscriptions/{missing}").as_str()));
}

#[tokio::test(start_paused = true)]
async fn company_order_subscription_lifecycle() {
    let sandbox = sandbox(5, Faults::default()).await;
    let client = client(&sandbox).build().unwrap();
    let company = serde_json::from_value(json!({
        "name": "Initrode Holdings", "address": {"city": "Austin", "country": "US"}, "phone": "512-555-0100",
        "website": "https://initrode.example",
        "contacts": [{"firstName": "Bill", "lastName": "Lumbergh", "email": "bill@initrode.example", "phone": "512-555-0101",
                      "types": [{"type": "Admin", "primary": true}]}]
    }))
    .unwrap();
    let created = client.companies().create(company).await.unwrap();
    let company_id = created.id.unwrap();
    assert_eq!(created.status.as_ref().unwrap().as_str(), "Active");
    let updated = client
        .companies()
        .update(company_id, CompanyUpdate { phone: Some("512-555-0199".into()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(updated.phone.as_deref(), Some("512-555-0199"));

    let product = client.products().search("Business Premium").unwrap().first_page().await.unwrap().items[0].clone();
    let product_id = product.id.unwrap();
    let deps = client.products().dependencies(product_id).await.unwrap();
    let monthly = deps.commitment_dependencies.iter().find(|c| c.term.as_deref() == Some("Monthly")).and_then(|c| c.id);
    let subs_before = sandbox.with_world(|w| w.subscriptions.len());

    // A dry run validates and creates nothing.
    let order = NewOrder::for_company(company_id).line(product_id, 10, "Monthly", monthly).build();
    let preview = client.orders().create(order.clone()).mock(true).send().await.unwrap();
    assert!(preview.id.is_none());
    assert_eq!(sandbox.counters().orders_created, 0);
    // A missing commitment is refused with field details.
    let bad = NewOrder::for_company(company_id).line(product_id, 10, "Monthly", None).build();
    let err = client.orders().create(bad).send().await.unwrap_err();
    assert_eq!(err.body().unwrap().details[0].field.as_deref(), Some("lineItems[0].commitmentTermId"));

    let placed = client.orders().create(order).send().await.unwrap();
    assert_eq!(sandbox.counters().orders_created, 1);
    assert_eq!(sandbox.with_world(|w| w.subscriptions.len()), subs_before + 1);
    assert_eq!(client.orders().get(placed.id.unwrap()).await.unwrap().company_id, company_id);

    let sub_id = placed.line_items[0].subscription_id.unwrap();
    let sub = client.subscriptions().update_quantity(sub_id, 12).await.unwrap();
    assert_eq!(sub.quantity, Some(12.0));
    let history = client.subscriptions().history(sub_id).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].quantity, Some(10.0));
    client.subscriptions().cancel(sub_id, None).await.unwrap();
    assert_eq!(client.subscriptions().get(sub_id).await.unwrap().status, Some(SubscriptionStatus::Cancelled));
    assert!(matches!(client.subscriptions().cancel(sub_id, None).await, Err(Error::Validation(_))));
}

#[tokio::test(start_paused = true)]
async fn quote_lifecycle() {
    let sandbox = sandbox(5, Faults::default()).await;
    let client = client(&sandbox).build().unwrap();
    let company = sandbox.with_world(|w| w.companies[0].id.unwrap());
    let product = sandbox.with_world(|w| w.products[2].detail.id.unwrap());
    let quote = client.quotes().create(serde_json::from_value(json!({"clientId": company})).unwrap()).await.unwrap();
    let items = client
        .quotes()
        .add_line_items(
            quote.id,
            vec![
                serde_json::from_value(json!({"type": "Standard", "productId": product, "quantity": 5, "price": 22.0,
                "billingTerm": "Monthly", "effectiveDate": "2026-12-01T00:00:00Z"}))
                .unwrap(),
            ],
        )
        .await
        .unwrap();
    assert_eq!(items.len(), 1);
    let fetched = client.quotes().get(quote.id).await.unwrap();
    assert_eq!(fetched.totals.recurring_total.amount, 110.0);
    client
        .quotes()
        .create_section(quote.id, serde_json::from_value(json!({"name": "Licences"})).unwrap())
        .await
        .unwrap();
    assert_eq!(client.quotes().sections(quote.id).await.unwrap().sections.len(), 1);
    let shared = client
        .quotes()
        .share(quote.id, vec![serde_json::from_value(json!({"email": "cfo@globex.example"})).unwrap()])
        .await
        .unwrap();
    assert_eq!(client.quotes().access_list(quote.id).await.unwrap().access_list.len(), 1);
    client.quotes().unshare(quote.id, shared[0].id).await.unwrap();
    let listed = client.quotes().list().collect_all().await.unwrap();
    assert_eq!(listed.len(), 1);
    client.quotes().delete_line_item(quote.id, items[0].id).await.unwrap();
    client.quotes().delete(quote.id).await.unwrap();
    assert!(matches!(client.quotes().get(quote.id).await, Err(Error::NotFound(_))));
    assert!(client.quotes().list().collect_all().await.unwrap().is_empty());
}

/// A loopback HTTP endpoint that records each request (its Authorization header and JSON body)
/// and answers the statuses given, then 200.
async fn hook_endpoint(
    statuses: Vec<u16>,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<(String, serde_json::Value)>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        let mut statuses = statuses.into_iter();
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            // Read the head, then the body its Content-Length announces.
            let (head, body) = loop {
                let n = stream.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break (String::new(), Vec::new());
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..end]).to_string();
                    let length: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    let mut body = buf[end + 4..].to_vec();
                    while body.len() < length {
                        let n = stream.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        body.extend_from_slice(&chunk[..n]);
                    }
                    break (head, body);
                }
            };
            let authorization = head
                .lines()
                .find_map(|l| {
                    l.strip_prefix("authorization: ").or(l.strip_prefix("Authorization: ")).map(str::to_string)
                })
                .unwrap_or_default();
            record.lock().unwrap().push((authorization, serde_json::from_slice(&body).unwrap_or_default()));
            let status = statuses.next().unwrap_or(200);
            let _ = stream
                .write_all(format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").as_bytes())
                .await;
        }
    });
    (url, seen)
}

#[tokio::test(start_paused = true)]
async fn webhooks_crud_topics_real_deliveries_retries_and_logs() {
    let sandbox = sandbox(3, Faults::default()).await;
    let client = client(&sandbox).build().unwrap();
    let topics = client.webhooks().topic_definitions().collect_all().await.unwrap();
    assert_eq!(topics.len(), pax8_sandbox::TOPICS.len());
    // The endpoint fails the first delivery: the simulator retries it.
    let (url, seen) = hook_endpoint(vec![500]).await;
    let created = client
        .webhooks()
        .create(
            serde_json::from_value(json!({"displayName": "PSA sync", "url": url, "active": true,
            "authorization": "Bearer wh-secret", "errorThreshold": 5,
            "webhookTopics": [{"topic": "SUBSCRIPTION_UPDATED", "filters": []}]}))
            .unwrap(),
        )
        .await
        .unwrap();
    assert!(!format!("{created:?}").contains("wh-secret"));
    let with_topic = client
        .webhooks()
        .add_topic(created.id, serde_json::from_value(json!({"topic": "COMPANY_CREATED", "filters": []})).unwrap())
        .await
        .unwrap();
    assert_eq!(with_topic.webhook_topics.len(), 2);

    // A change through the API is delivered, with the configured Authorization header.
    let sub = sandbox
        .with_world(|w| w.subscriptions.iter().find(|s| s.status == Some(SubscriptionStatus::Active)).unwrap().clone());
    client.subscriptions().update_quantity(sub.id.unwrap(), 33).await.unwrap();
    let settled = || async {
        for _ in 0..200 {
            let logs = client.webhooks().logs(created.id).collect_all().await.unwrap();
            if !logs.is_empty()
                && logs.iter().all(|l| l.final_status.as_str() == "SUCCESS" || l.final_status.as_str() == "FAILED")
            {
                return logs;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("deliveries never settled");
    };
    let logs = settled().await;
    assert_eq!(logs.len(), 1);
    let statuses: Vec<&str> = logs[0].call_history.iter().map(|c| c.status.as_str()).collect();
    assert_eq!(statuses, ["FAILED", "SUCCESS"], "a 500 is retried");
    assert_eq!(logs[0].final_status.as_str(), "SUCCESS");
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        let (authorization, event) = &seen[1];
        assert_eq!(authorization, "Bearer wh-secret");
        assert_eq!(event["webhookTopic"]["topic"], "SUBSCRIPTION_UPDATED");
        assert_eq!(event["payloadData"]["subscriptionId"], json!(sub.id.unwrap()));
        assert_eq!(event["payloadData"]["quantity"], 33.0);
        assert_eq!(seen[0].1["id"], event["id"], "a retry is the same event");
        // The body is the webhooks document's envelope, every field it documents filled in.
        let envelope: pax8_api::webhooks::types::WebhookPayload = serde_json::from_value(event.clone()).unwrap();
        assert_eq!(envelope.webhook_id, Some(created.id));
        assert_eq!(envelope.account_id, Some(created.account_id));
        assert_eq!(envelope.url.as_deref(), Some(url.as_str()));
        assert!(envelope.sent_at.is_some() && envelope.id.is_some());
        let configured = with_topic.webhook_topics.iter().find(|t| t.topic == "SUBSCRIPTION_UPDATED").unwrap();
        assert_eq!(envelope.webhook_topic.id, Some(configured.id), "the topic configuration it matched");
    }

    // A test delivery is real too; a retry of a logged delivery sends it again.
    let test = client.webhooks().test(created.id, "SUBSCRIPTION_UPDATED").await.unwrap();
    assert_eq!(test.url, url);
    let logs = settled().await;
    assert_eq!(logs.len(), 2);
    client.webhooks().retry_delivery(created.id, logs[0].id).await.unwrap();
    for _ in 0..100 {
        if client.webhooks().log(created.id, logs[0].id).await.unwrap().call_history.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(client.webhooks().log(created.id, logs[0].id).await.unwrap().call_history.len(), 3);
    assert_eq!(seen.lock().unwrap().len(), 4);

    // An inactive webhook receives nothing.
    assert!(!client.webhooks().set_active(created.id, false).await.unwrap().active);
    client.subscriptions().update_quantity(sub.id.unwrap(), 34).await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(seen.lock().unwrap().len(), 4);

    client.webhooks().remove_topic(created.id, with_topic.webhook_topics[1].id).await.unwrap();
    assert_eq!(client.webhooks().list().collect_all().await.unwrap().len(), 1);
    client.webhooks().delete(created.id).await.unwrap();
    assert!(matches!(client.webhooks().get(created.id).await, Err(Error::NotFound(_))));
}

#[tokio::test(start_paused = true)]
async fn tokens_expire_and_are_refreshed_during_a_long_listing() {
    let sandbox = Sandbox::start(SandboxConfig {
        companies: 40,
        today: Some(today()),
        token_lifetime: Duration::from_secs(10),
        faults: Faults { latency: Duration::from_secs(1), ..Faults::default() },
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let client = client(&sandbox).build().unwrap();
    let expected = sandbox.with_world(|w| w.subscriptions.len());
    let subs = client.subscriptions().list().page_size(10).concurrency(1).collect_all().await.unwrap();
    assert_eq!(subs.len(), expected);
    let c = sandbox.counters();
    assert!(c.tokens_issued >= 5, "a 10 s token over a {}-page listing at 1 s a page: {c:?}", expected / 10);
    assert_eq!(c.unauthorized, 0, "refreshed before expiry, never refused");
}

#[tokio::test(start_paused = true)]
async fn revoked_tokens_are_replaced_and_the_request_replayed() {
    let sandbox = sandbox(20, Faults { revoke_tokens_every: Some(5), ..Faults::default() }).await;
    let client = client(&sandbox).build().unwrap();
    let expected = sandbox.with_world(|w| w.subscriptions.len());
    let subs = client.subscriptions().list().page_size(10).concurrency(1).collect_all().await.unwrap();
    assert_eq!(subs.len(), expected);
    let c = sandbox.counters();
    assert!(c.revocations > 0 && c.unauthorized > 0, "{c:?}");
    assert_eq!(c.tokens_issued, 1 + c.unauthorized);
}

#[tokio::test(start_paused = true)]
async fn a_full_listing_under_10_percent_transient_faults_returns_every_item_once() {
    let sandbox = sandbox(60, Faults::transient(0.10)).await;
    let client = client(&sandbox).retry_policy(RetryPolicy::attempts(6)).build().unwrap();
    let expected: Vec<Uuid> = sandbox.with_world(|w| w.subscriptions.iter().map(|s| s.id.unwrap()).collect());
    let got: Vec<Uuid> = client
        .subscriptions()
        .list()
        .page_size(15)
        .concurrency(4)
        .items()
        .map_ok(|s| s.id.unwrap())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(got, expected, "every item exactly once, in order");
    let c = sandbox.counters();
    assert!(c.server_errors + c.dropped_before > 0, "faults were injected: {c:?}");
}

#[tokio::test(start_paused = true)]
async fn order_creation_under_dropped_connections_is_never_duplicated() {
    let sandbox = sandbox(3, Faults::default()).await;
    let client = client(&sandbox).retry_policy(RetryPolicy::attempts(5)).build().unwrap();
    let (company, product, monthly) = sandbox.with_world(|w| {
        let p = w.products.iter().find(|p| p.detail.requires_commitment == Some(false)).unwrap();
        (w.companies[0].id.unwrap(), p.detail.id.unwrap(), None::<Uuid>)
    });
    // Warm up the token before faults start.
    client.companies().get(company).await.unwrap();
    let before = sandbox.counters();
    sandbox.set_faults(Faults {
        drop_before_rate: 0.25,
        drop_after_rate: 0.25,
        server_error_rate: 0.1,
        ..Faults::default()
    });
    let attempts = 40;
    let mut ok = 0;
    for _ in 0..attempts {
        let order = NewOrder::for_company(company).line(product, 1, "Monthly", monthly).build();
        if client.orders().create(order).send().await.is_ok() {
            ok += 1;
        }
    }
    let c = sandbox.counters();
    let requests = c.requests - before.requests;
    assert_eq!(
        requests, attempts,
        "each create was sent exactly once: never replayed once it may have reached the server"
    );
    let lost_answers = c.dropped_after - before.dropped_after;
    assert_eq!(c.orders_created, ok + lost_answers, "created = answered + answers lost after processing");
    assert!(ok > 0 && lost_answers > 0, "the run exercised both outcomes: {c:?}");
}
