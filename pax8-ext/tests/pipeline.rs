//! The request pipeline against a scripted server on 127.0.0.1: bodies cut short, non-JSON error
//! bodies, lost answers of writes, token requests through the same retries, options reaching
//! every page, and absurd values from the network.

use std::time::Duration;

mod support;

use pax8_ext::{CallOptions, Error, Pax8Client, RetryPolicy};
use reqwest::StatusCode;
use serde_json::json;
use support::{ScriptServer, Step, scripted};
use uuid::Uuid;

const COMPANY: &str = "2aa4862a-9474-4138-9863-4f0a8e4cec74";
const ORDER: &str = "7b0c3a1e-0000-4000-8000-000000000003";

fn company_json() -> serde_json::Value {
    json!({"id": COMPANY, "name": "Globex", "address": {"city": "Denver"}, "status": "Active"})
}

fn order_json() -> String {
    json!({"id": ORDER, "companyId": COMPANY, "lineItems": [
        {"productId": "4f76b357-9ac1-47fa-9369-feb80a32f87e", "quantity": 5}
    ]})
    .to_string()
}

fn order() -> pax8_api::partner::types::CreateOrder {
    serde_json::from_value(json!({
        "companyId": COMPANY,
        "lineItems": [{"productId": "4f76b357-9ac1-47fa-9369-feb80a32f87e", "quantity": 5, "billingTerm": "Monthly", "lineItemNumber": 1}]
    }))
    .unwrap()
}

fn company() -> Uuid {
    COMPANY.parse().unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_body_cut_short_is_retried_for_a_get() {
    let server = ScriptServer::start().await;
    server.script([Step::Cut { status: 200, body: r#"{"id":"2aa4862a-9474-4138-9863-4f0a8e4cec74","na"#.into() }]);
    server.fallback(Step::json(200, company_json()));
    let client = scripted(&server).build().unwrap();
    assert_eq!(client.companies().get(company()).await.unwrap().name, "Globex");
    assert_eq!(server.api_calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_success_that_is_not_json_is_retried_for_a_get() {
    let server = ScriptServer::start().await;
    server.script([
        Step::text(200, "application/json", r#"{"id":"2aa4862a-9474-4138-9863-4f0a8e4cec74","name":"Glo"#),
        Step::text(200, "text/html", "<html>captive portal</html>"),
    ]);
    server.fallback(Step::json(200, company_json()));
    let client = scripted(&server).build().unwrap();
    assert_eq!(client.companies().get(company()).await.unwrap().name, "Globex");
    assert_eq!(server.api_calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_get_whose_bodies_stay_broken_fails_as_a_decode_error_after_the_retries() {
    let server = ScriptServer::start().await;
    server.fallback(Step::text(200, "application/json", r#"{"id":"2aa4862a-9474-4138-9863-4f0a8e4cec74","name":"Glo"#));
    let client = scripted(&server).retry_policy(RetryPolicy::attempts(2)).build().unwrap();
    let err = client.companies().get(company()).await.unwrap_err();
    assert!(matches!(err, Error::Decode { ref operation, .. } if operation == "getCompaniesByCompanyId"), "{err:?}");
    assert_eq!(server.api_calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_well_formed_success_of_another_shape_is_a_decode_error_at_once() {
    let server = ScriptServer::start().await;
    server.fallback(Step::json(200, json!({"id": 12, "name": ["not", "a", "name"]})));
    let client = scripted(&server).retry_policy(RetryPolicy::attempts(5)).build().unwrap();
    let err = client.companies().get(company()).await.unwrap_err();
    assert!(matches!(err, Error::Decode { ref path, .. } if path == "id"), "{err:?}");
    assert_eq!(server.api_calls(), 1, "retrying cannot fix a shape");
}

#[tokio::test(start_paused = true)]
async fn a_write_whose_body_is_cut_short_succeeded_and_is_never_sent_again() {
    let server = ScriptServer::start().await;
    let partial = order_json()[..60].to_string();
    server.script([Step::Cut { status: 200, body: partial }]);
    server.fallback(Step::json(200, json!({})));
    let client = scripted(&server).retry_policy(RetryPolicy::attempts(5)).build().unwrap();
    let err = client.orders().create(order()).send().await.unwrap_err();
    match &err {
        Error::AnswerUnreadable { operation, status, id, .. } => {
            assert_eq!((*operation, *status, id.as_deref()), ("createOrder", StatusCode::OK, Some(ORDER)));
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.is_retryable() && !err.is_outcome_unknown());
    assert!(err.to_string().contains("succeeded") && err.to_string().contains(ORDER), "{err}");
    assert_eq!(server.api_calls(), 1, "sent once");
}

#[tokio::test(start_paused = true)]
async fn a_write_whose_success_is_not_json_or_does_not_decode_succeeded() {
    for body in ["<html>ok</html>", r#"{"id":"7b0c3a1e-0000-4000-8000-000000000003","companyId":12}"#] {
        let server = ScriptServer::start().await;
        server.fallback(Step::text(200, "application/json", body));
        let client = scripted(&server).retry_policy(RetryPolicy::attempts(5)).build().unwrap();
        let err = client.orders().create(order()).send().await.unwrap_err();
        assert!(matches!(err, Error::AnswerUnreadable { .. }), "{body}: {err:?}");
        assert_eq!(server.api_calls(), 1, "{body}");
    }
}

#[tokio::test(start_paused = true)]
async fn an_html_502_and_an_empty_429_keep_their_status() {
    let server = ScriptServer::start().await;
    server.script([
        Step::text(502, "text/html", "<html><body><h1>502 Bad Gateway</h1></body></html>"),
        Step::text(429, "application/json", ""),
    ]);
    let client = scripted(&server).retry_policy(RetryPolicy::none()).build().unwrap();
    let err = client.companies().get(company()).await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::BAD_GATEWAY), "{err:?}");
    assert!(matches!(err, Error::Server(_)) && err.is_retryable());
    assert!(err.to_string().contains("502 Bad Gateway"), "{err}");
    let err = client.companies().get(company()).await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::TOO_MANY_REQUESTS), "{err:?}");
    assert!(matches!(err, Error::RateLimited { .. }) && err.is_retryable());
}

#[tokio::test(start_paused = true)]
async fn a_post_or_patch_whose_answer_is_lost_has_an_unknown_outcome() {
    let server = ScriptServer::start().await;
    server.script([Step::DropAfterRead, Step::DropAfterRead]);
    let client = scripted(&server).retry_policy(RetryPolicy::attempts(5)).build().unwrap();
    let err = client.orders().create(order()).send().await.unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { operation: "createOrder", .. }), "{err:?}");
    let update = pax8_api::partner::types::CompanyUpdate::default();
    let err = client.companies().update(company(), update).await.unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { operation: "updateCompany", .. }), "{err:?}");
    assert!(err.is_outcome_unknown() && !err.is_retryable());
    assert_eq!(server.api_calls(), 2, "neither was sent again");
}

#[tokio::test(start_paused = true)]
async fn a_gateway_502_or_504_on_a_write_is_an_unknown_outcome_and_a_500_is_not() {
    for (status, unknown) in [(502, true), (504, true), (500, false)] {
        let server = ScriptServer::start().await;
        server.fallback(Step::text(status, "text/html", "<html>gateway</html>"));
        let client = scripted(&server).retry_policy(RetryPolicy::attempts(5)).build().unwrap();
        let err = client.orders().create(order()).send().await.unwrap_err();
        assert_eq!(err.is_outcome_unknown(), unknown, "{status}: {err:?}");
        assert_eq!(server.api_calls(), 1, "{status}");
    }
}

#[tokio::test(start_paused = true)]
async fn token_requests_go_through_the_same_retries_and_budget() {
    let server = ScriptServer::start().await;
    server.script_token([
        Step::json(503, json!({"error": "temporarily_unavailable"})),
        Step::Cut { status: 200, body: r#"{"access_token":"tok"#.into() },
    ]);
    server.fallback(Step::json(200, company_json()));
    let client = scripted(&server).retry_policy(RetryPolicy::attempts(3)).build().unwrap();
    let budget = client.retry_budget_left();
    assert_eq!(client.companies().get(company()).await.unwrap().name, "Globex");
    assert_eq!(server.token_requests().len(), 3, "503, cut short, then a token");
    assert_eq!(client.token_requests_sent(), 3);
    assert_eq!(client.retry_budget_left(), budget - 2 * pax8_ext::RetryBudget::RETRY_COST + 2, "two retries paid");
}

#[tokio::test(start_paused = true)]
async fn a_token_endpoint_that_keeps_failing_ends_with_its_status_after_the_policy() {
    let server = ScriptServer::start().await;
    server.script_token([Step::json(503, json!({})), Step::json(503, json!({})), Step::json(503, json!({}))]);
    let client = scripted(&server).retry_policy(RetryPolicy::attempts(2)).build().unwrap();
    let err = client.companies().get(company()).await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::SERVICE_UNAVAILABLE), "{err:?}");
    assert_eq!(server.token_requests().len(), 2);
    assert_eq!(server.api_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_refused_token_is_an_authentication_error_with_the_oauth_fields() {
    let server = ScriptServer::start().await;
    server.script_token([Step::json(
        401,
        json!({"error": "access_denied", "error_description": "Unauthorized", "access_token": "eyJ-never"}),
    )]);
    let client = scripted(&server).build().unwrap();
    let err = client.companies().get(company()).await.unwrap_err();
    match &err {
        Error::Authentication { oauth: Some(oauth), .. } => assert_eq!(oauth.error, "access_denied"),
        other => panic!("{other:?}"),
    }
    assert!(!format!("{err} {err:?}").contains("eyJ-never"));
    assert_eq!(server.token_requests().len(), 1, "a refusal is not retried");
}

#[tokio::test(start_paused = true)]
async fn absurd_token_lifetimes_never_panic() {
    for lifetime in [json!(1e20), json!(1e19), json!(-5), json!(0), json!("soon"), json!(f64::MAX), json!(null)] {
        let server = ScriptServer::start().await;
        server.script_token([Step::json(200, json!({"access_token": "tok3n", "expires_in": lifetime}))]);
        server.fallback(Step::json(200, company_json()));
        let client = scripted(&server).build().unwrap();
        let result = client.companies().get(company()).await;
        assert!(result.is_ok(), "{lifetime}: {result:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn absurd_page_bodies_are_errors_not_panics() {
    let bodies = [
        json!({"content": [], "page": {"number": 4294967296u64, "size": 200, "totalPages": 2147483648u64}}),
        json!({"content": [], "page": {"number": -1, "totalElements": -5}}),
        json!({"content": [], "page": {"number": 1e300}}),
        json!({"content": "nope"}),
        json!([]),
    ];
    for body in bodies {
        let server = ScriptServer::start().await;
        server.fallback(Step::json(200, body.clone()));
        let client = scripted(&server).retry_policy(RetryPolicy::none()).build().unwrap();
        let result = client.companies().list().collect_all().await;
        assert!(result.is_err() || result.as_ref().is_ok_and(Vec::is_empty), "{body}: {result:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn options_reach_every_request_of_a_handler_and_its_paginators() {
    let server = ScriptServer::start().await;
    let page = |n: u32| {
        let content: Vec<_> =
            (0..2).map(|i| json!({"id": Uuid::from_u128(u128::from(n * 2 + i)), "name": "c", "address": {}})).collect();
        Step::json(
            200,
            json!({"content": content, "page": {"number": n, "size": 2, "totalPages": 3, "totalElements": 6}}),
        )
    };
    server.script([page(0), page(1), page(2), Step::json(200, json!({"content": []}))]);
    server.fallback(Step::json(200, company_json()));
    let client = scripted(&server).build().unwrap();
    let options = CallOptions::default().header("x-tenant".parse().unwrap(), "acme".parse().unwrap());
    let companies = client.companies().options(options.clone());
    let all = companies.list().page_size(2).collect_all().await.unwrap();
    assert_eq!(all.len(), 6);
    companies.get(company()).await.unwrap();
    let received = server.received();
    assert_eq!(received.len(), 5);
    assert!(received.iter().all(|r| r.header("x-tenant") == Some("acme")), "{received:?}");
    let sizes: Vec<_> = received[..3].iter().map(|r| r.path.contains("size=2")).collect();
    assert_eq!(sizes, [true, true, true]);
}

#[tokio::test(start_paused = true)]
async fn a_per_call_timeout_applies_to_each_attempt() {
    let server = ScriptServer::start().await;
    server.script([Step::json(200, company_json()).delayed(Duration::from_secs(10))]);
    server.fallback(Step::json(200, company_json()));
    let client = scripted(&server).build().unwrap();
    let options = CallOptions::default().timeout(Duration::from_secs(2)).retry_policy(RetryPolicy::none());
    let err = client.companies().options(options).get(company()).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
}

#[tokio::test(start_paused = true)]
async fn a_response_over_the_size_limit_is_refused() {
    let server = ScriptServer::start().await;
    server.fallback(Step::json(200, company_json()));
    let client = scripted(&server).max_response_bytes(16).build().unwrap();
    let err = client.companies().get(company()).await.unwrap_err();
    assert!(matches!(err, Error::ResponseTooLarge { limit: 16, .. }), "{err:?}");
    assert!(scripted(&server).max_response_bytes(0).build().is_err());
}

#[tokio::test(start_paused = true)]
async fn connections_are_reused_across_calls() {
    let server = ScriptServer::start().await;
    server.fallback(Step::json(200, company_json()));
    let client = scripted(&server).build().unwrap();
    for _ in 0..5 {
        client.companies().get(company()).await.unwrap();
    }
    assert_eq!(server.api_calls(), 5);
    assert_eq!(server.connections(), 1, "the token request and five calls on one kept-alive connection");
}

#[tokio::test(start_paused = true)]
async fn a_file_download_is_never_checked_as_json() {
    let server = ScriptServer::start().await;
    server.fallback(Step::text(200, "text/plain", "%PDF-1.7 not json"));
    let client = scripted(&server).build().unwrap();
    let pdf = client.quotes().download_attachment(company(), company()).await.unwrap();
    assert_eq!(&pdf[..], b"%PDF-1.7 not json");
    assert_eq!(server.api_calls(), 1, "a body that is not JSON is not a fault when a file was asked for");
    assert_eq!(server.received()[0].header("accept"), Some("application/pdf"));
}

#[tokio::test(start_paused = true)]
async fn throttled_retries_are_bounded_by_their_own_count() {
    let server = ScriptServer::start().await;
    server.fallback(Step::json(429, json!({"type": "TOO_MANY_REQUESTS"})).with_header("retry-after", "1"));
    let policy = RetryPolicy { max_attempts: 1, max_throttled_retries: 2, ..RetryPolicy::default() };
    let client = scripted(&server).retry_policy(policy).build().unwrap();
    let err = client.companies().get(company()).await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
    assert_eq!(server.api_calls(), 3, "the first attempt and two throttled retries, though max_attempts is 1");
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_pauses_every_caller_of_the_client() {
    let server = ScriptServer::start().await;
    server.script([Step::json(429, json!({})).with_header("retry-after", "7")]);
    server.fallback(Step::json(200, company_json()));
    // The client's own limiter (not `no_rate_limit`): it carries the pause to every call.
    let client = Pax8Client::builder()
        .client_id("test-id")
        .client_secret("s3cr3t-value")
        .base_url(&server.base_url)
        .http_client(reqwest::Client::new())
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let first = {
        let client = client.clone();
        tokio::spawn(async move { client.companies().get(company()).await.map(|_| started.elapsed()) })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let second = client.companies().get(company()).await.map(|_| started.elapsed()).unwrap();
    let first = first.await.unwrap().unwrap();
    assert!(first >= Duration::from_secs(7), "the refused call waited: {first:?}");
    assert!(second >= Duration::from_secs(7), "a call started during the pause waited for it too: {second:?}");
}

#[tokio::test(start_paused = true)]
async fn a_cut_error_body_keeps_its_status() {
    let server = ScriptServer::start().await;
    server.script([
        Step::Cut { status: 500, body: "<html>Internal".into() },
        Step::Cut { status: 400, body: r#"{"type":"VALIDATION"#.into() },
    ]);
    let client = scripted(&server).retry_policy(RetryPolicy::none()).build().unwrap();
    let err = client.companies().get(company()).await.unwrap_err();
    assert!(matches!(err, Error::Server(_)) && err.status() == Some(StatusCode::INTERNAL_SERVER_ERROR), "{err:?}");
    let err = client.orders().create(order()).send().await.unwrap_err();
    assert!(matches!(err, Error::Validation(_)), "a refused write is not an unreadable success: {err:?}");
}

#[tokio::test(start_paused = true)]
async fn a_get_whose_body_is_always_cut_fails_as_a_transport_error() {
    let server = ScriptServer::start().await;
    server.fallback(Step::Cut { status: 200, body: r#"{"id":"2aa4862a-9474"#.into() });
    let client = scripted(&server).retry_policy(RetryPolicy::attempts(3)).build().unwrap();
    let err = client.companies().get(company()).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }) && err.is_retryable(), "{err:?}");
    assert_eq!(server.api_calls(), 3);
}

/// An answer with a chunked body (no announced length), one chunk per string.
fn chunked(chunks: &[&str]) -> Step {
    let mut raw =
        String::from("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n");
    for chunk in chunks {
        raw.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    raw.push_str("0\r\n\r\n");
    Step::Raw(raw)
}

#[tokio::test(start_paused = true)]
async fn the_size_limit_holds_for_announced_and_chunked_bodies_alike() {
    let body = company_json().to_string();
    let exact = body.len() as u64;
    let (head, tail) = body.split_at(body.len() / 2);
    for (name, step) in [("announced", Step::json(200, company_json())), ("chunked", chunked(&[head, tail]))] {
        let server = ScriptServer::start().await;
        server.fallback(step);
        let at_limit = scripted(&server).max_response_bytes(exact).build().unwrap();
        assert_eq!(at_limit.companies().get(company()).await.unwrap().name, "Globex", "{name}: exactly the limit");
        let below = scripted(&server).max_response_bytes(exact - 1).build().unwrap();
        let err = below.companies().get(company()).await.unwrap_err();
        assert!(matches!(err, Error::ResponseTooLarge { .. }), "{name}: {err:?}");
    }
    // One chunk larger than the limit by itself.
    let server = ScriptServer::start().await;
    server.fallback(chunked(&[&body]));
    let small = scripted(&server).max_response_bytes(exact / 2).build().unwrap();
    assert!(matches!(small.companies().get(company()).await, Err(Error::ResponseTooLarge { .. })));
}

#[tokio::test(start_paused = true)]
async fn an_undocumented_status_is_decoded_when_it_is_a_success_and_refused_otherwise() {
    let server = ScriptServer::start().await;
    // A delete the document answers with 204, answered 200 with an empty body: still a success.
    server.script([
        Step::text(200, "application/json", ""),
        Step::text(300, "application/json", &company_json().to_string()),
    ]);
    let client = scripted(&server).retry_policy(RetryPolicy::none()).build().unwrap();
    client.contacts(company()).delete(company()).await.unwrap();
    let err = client.companies().get(company()).await.unwrap_err();
    assert!(matches!(err, Error::Api(_)) && err.status() == Some(StatusCode::MULTIPLE_CHOICES), "{err:?}");
}
