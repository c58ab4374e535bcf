//! pax8-ext against httpmock servers on 127.0.0.1: tokens, retries, rate limits, errors.

use std::time::Duration;

mod support;

use httpmock::prelude::*;
use pax8_ext::{Api, CallOptions, Error, Pax8Client, RetryPolicy};
use serde_json::json;
use support::{ScriptServer, Step, scripted};
use tokio::time::Instant;
use uuid::Uuid;

const COMPANY: &str = "2aa4862a-9474-4138-9863-4f0a8e4cec74";

fn company_json() -> serde_json::Value {
    json!({"id": COMPANY, "name": "Globex", "address": {"city": "Denver"}, "status": "Active"})
}

/// A client for `server` without client-side timeouts (paused-time tests) or rate limit.
fn client(server: &MockServer) -> pax8_ext::ClientBuilder {
    Pax8Client::builder()
        .client_id("test-id")
        .client_secret("s3cr3t-value")
        .base_url(&server.base_url())
        .http_client(reqwest::Client::new())
        .no_rate_limit()
}

async fn token_mock<'a>(server: &'a MockServer, token: &str, expires_in: u64) -> httpmock::Mock<'a> {
    let token = token.to_string();
    server
        .mock_async(move |when, then| {
            when.method(POST).path("/v1/token").json_body_includes(r#"{"grant_type": "client_credentials"}"#);
            then.status(200)
                .json_body(json!({"access_token": token, "expires_in": expires_in, "token_type": "Bearer"}));
        })
        .await
}

#[tokio::test]
async fn bearer_token_is_fetched_once_and_sent() {
    let server = MockServer::start_async().await;
    let token = token_mock(&server, "tok3n-1", 86400).await;
    let api = server
        .mock_async(|when, then| {
            when.method(GET).path(format!("/v1/companies/{COMPANY}")).header("authorization", "Bearer tok3n-1");
            then.status(200).json_body(company_json());
        })
        .await;
    let client = client(&server).build().unwrap();
    for _ in 0..3 {
        let company = client.companies().get(COMPANY.parse().unwrap()).await.unwrap();
        assert_eq!(company.name, "Globex");
    }
    token.assert_calls_async(1).await;
    api.assert_calls_async(3).await;
}

#[tokio::test]
async fn single_flight_under_1000_concurrent_first_calls() {
    let server = MockServer::start_async().await;
    let token = server
        .mock_async(|when, then| {
            when.method(POST).path("/v1/token");
            then.status(200)
                .delay(Duration::from_millis(300))
                .json_body(json!({"access_token": "tok3n", "expires_in": 86400}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(format!("/v1/companies/{COMPANY}"));
            then.status(200).json_body(company_json());
        })
        .await;
    let client = client(&server).build().unwrap();
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.companies().get(COMPANY.parse().unwrap()).await.map(|_| ()) })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    token.assert_calls_async(1).await;
    assert_eq!(client.token_requests_sent(), 1);
}

#[tokio::test]
async fn a_401_drops_the_token_refreshes_once_and_replays_once() {
    let server = MockServer::start_async().await;
    let token = token_mock(&server, "tok3n", 86400).await;
    let unauthorized = server
        .mock_async(|when, then| {
            when.method(GET).path("/v1/products");
            then.status(401).json_body(json!({"type": "UNAUTHORIZED", "message": "token revoked"}));
        })
        .await;
    let client = client(&server).build().unwrap();
    let err = client.products().list().first_page().await.unwrap_err();
    assert!(matches!(err, Error::Authentication { api: Some(_), .. }), "{err:?}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
    assert_eq!(err.body().and_then(|b| b.message.as_deref()), Some("token revoked"));
    unauthorized.assert_calls_async(2).await; // the call and exactly one replay
    token.assert_calls_async(2).await; // the first token and one refresh
    assert_eq!((client.requests_sent(), client.token_requests_sent()), (2, 2), "each counted once, apart");
}

#[tokio::test]
async fn token_endpoint_refusal_is_an_authentication_error_with_the_oauth_body() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/v1/token");
            then.status(401).json_body(json!({"error": "access_denied", "error_description": "Unauthorized"}));
        })
        .await;
    let client = client(&server).build().unwrap();
    let err = client.companies().get(COMPANY.parse().unwrap()).await.unwrap_err();
    let Error::Authentication { oauth: Some(oauth), .. } = &err else { panic!("{err:?}") };
    assert_eq!(oauth.error, "access_denied");
    assert_eq!(oauth.description.as_deref(), Some("Unauthorized"));
    assert!(!format!("{err} {err:?}").contains("s3cr3t"), "the secret never shows in errors");
}

fn id() -> Uuid {
    COMPANY.parse().unwrap()
}

fn order() -> pax8_api::partner::types::CreateOrder {
    serde_json::from_value(json!({
        "companyId": COMPANY,
        "lineItems": [{"productId": "4f76b357-9ac1-47fa-9369-feb80a32f87e", "quantity": 5, "billingTerm": "Monthly", "lineItemNumber": 1}]
    }))
    .unwrap()
}

fn order_json() -> serde_json::Value {
    json!({"id": "7b0c3a1e-0000-4000-8000-000000000003", "companyId": COMPANY, "lineItems": [
        {"productId": "4f76b357-9ac1-47fa-9369-feb80a32f87e", "quantity": 5}
    ]})
}

#[tokio::test(start_paused = true)]
async fn retry_after_in_seconds_is_honoured() {
    let server = ScriptServer::start().await;
    server.script([Step::json(429, json!({"type": "TOO_MANY_REQUESTS"})).with_header("retry-after", "7")]);
    server.fallback(Step::json(200, company_json()));
    let client = scripted(&server).build().unwrap();
    let started = Instant::now();
    client.companies().get(id()).await.unwrap();
    assert_eq!(server.api_calls(), 2);
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(7) && waited < Duration::from_secs(8), "waited {waited:?}");
}

#[tokio::test(start_paused = true)]
async fn retry_after_as_an_http_date_is_honoured() {
    let server = ScriptServer::start().await;
    let at = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(5));
    server.script([Step::json(503, json!({"type": "UNAVAILABLE"})).with_header("retry-after", &at)]);
    server.fallback(Step::json(200, company_json()));
    let client = scripted(&server).build().unwrap();
    let started = Instant::now();
    client.companies().get(id()).await.unwrap();
    assert_eq!(server.api_calls(), 2);
    // An HTTP-date has whole seconds: 4 to 5 s after "now".
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(3) && waited <= Duration::from_secs(5), "waited {waited:?}");
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_beyond_the_bound_is_not_waited_for() {
    let server = ScriptServer::start().await;
    server.fallback(Step::json(429, json!({"type": "TOO_MANY_REQUESTS"})).with_header("retry-after", "3600"));
    let client = scripted(&server).build().unwrap();
    let err = client.companies().get(id()).await.unwrap_err();
    let Error::RateLimited { retry_after, .. } = err else { panic!("{err:?}") };
    assert_eq!(retry_after, Some(Duration::from_secs(3600)));
    assert_eq!(server.api_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn server_errors_are_retried_with_backoff_up_to_the_attempt_limit() {
    let server = ScriptServer::start().await;
    server.fallback(
        Step::json(502, json!({"type": "BAD_GATEWAY", "message": "upstream"})).with_header("x-request-id", "req-502"),
    );
    let client = scripted(&server).retry_policy(RetryPolicy::attempts(4)).build().unwrap();
    let err = client.companies().get(id()).await.unwrap_err();
    assert!(matches!(err, Error::Server(_)) && err.is_retryable(), "{err:?}");
    assert_eq!(err.body().and_then(|b| b.message.as_deref()), Some("upstream"));
    assert_eq!(server.api_calls(), 4);
    // The error says which attempt got it, and the id to quote to Pax8 support.
    let api = err.api_error().unwrap();
    assert_eq!((api.attempt, api.request_id.as_deref()), (4, Some("req-502")));
    assert!(err.to_string().contains("[request id req-502, attempt 4]"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn client_errors_are_never_retried() {
    for (status, check) in [
        (400, (|e: &Error| matches!(e, Error::Validation(_))) as fn(&Error) -> bool),
        (403, |e: &Error| matches!(e, Error::Forbidden(_))),
        (404, |e: &Error| matches!(e, Error::NotFound(_))),
        (409, |e: &Error| matches!(e, Error::Api(_))),
        (422, |e: &Error| matches!(e, Error::Validation(_))),
    ] {
        let server = ScriptServer::start().await;
        server.fallback(Step::json(
            status,
            json!({"type": "X", "message": "no", "instance": "/companies",
            "details": [{"field": "name", "message": "required"}]}),
        ));
        let client = scripted(&server).build().unwrap();
        let err = client.companies().get(id()).await.unwrap_err();
        assert!(check(&err), "{status}: {err:?}");
        assert!(!err.is_retryable());
        assert_eq!(err.body().unwrap().instance.as_deref(), Some("/companies"));
        assert_eq!(server.api_calls(), 1, "{status} sent once");
    }
}

#[tokio::test(start_paused = true)]
async fn per_call_retry_policy_overrides_the_client_policy() {
    let server = ScriptServer::start().await;
    server.fallback(Step::json(503, json!({})));
    let client = scripted(&server).retry_policy(RetryPolicy::attempts(5)).build().unwrap();
    let result = client
        .send_with(
            client.partner().get_companies_by_company_id().company_id(COMPANY),
            &CallOptions::retry(RetryPolicy::none()),
        )
        .await;
    assert!(matches!(result, Err(Error::Server(_))));
    assert_eq!(server.api_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn create_order_is_not_replayed_after_a_timeout() {
    let server = ScriptServer::start().await;
    server.fallback(Step::json(200, order_json()).delayed(Duration::from_secs(60)));
    let client = scripted(&server)
        .http_client(reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap())
        .retry_policy(RetryPolicy::attempts(5))
        .build()
        .unwrap();
    let err = client.orders().create(order()).send().await.unwrap_err();
    assert!(err.is_outcome_unknown() && !err.is_retryable(), "{err:?}");
    assert!(err.to_string().contains("may have happened"), "{err}");
    assert_eq!(server.api_calls(), 1, "the order reached the server once and was not sent again");
}

#[tokio::test(start_paused = true)]
async fn create_order_is_not_replayed_after_the_connection_drops_mid_request() {
    let server = ScriptServer::start().await;
    server.script([Step::DropAfterRead]);
    server.fallback(Step::json(200, order_json()));
    let client = scripted(&server).retry_policy(RetryPolicy::attempts(5)).build().unwrap();
    let err = client.orders().create(order()).send().await.unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { operation: "createOrder", .. }), "{err:?}");
    assert_eq!(server.api_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_dry_run_whose_answer_is_lost_is_retried_like_a_read() {
    let server = ScriptServer::start().await;
    server.script([Step::DropAfterRead]);
    server.fallback(Step::json(200, order_json()));
    let client = scripted(&server).retry_policy(RetryPolicy::attempts(5)).build().unwrap();
    // `isMock=true` creates nothing: a lost answer is not an unknown outcome.
    let order = client.orders().create(order()).mock(true).send().await.unwrap();
    assert_eq!(order.line_items.len(), 1);
    assert_eq!(server.api_calls(), 2, "the dry run was sent again after its answer was lost");
    assert!(server.received().iter().all(|r| r.method == "POST"));
}

#[tokio::test(start_paused = true)]
async fn create_order_is_retried_when_refused_unprocessed() {
    let server = ScriptServer::start().await;
    server.script([
        Step::json(429, json!({"type": "TOO_MANY_REQUESTS"})).with_header("retry-after", "1"),
        Step::json(503, json!({"type": "UNAVAILABLE"})).with_header("retry-after", "1"),
    ]);
    server.fallback(Step::json(200, order_json()));
    let client = scripted(&server).build().unwrap();
    let order = client.orders().create(order()).send().await.unwrap();
    assert_eq!(order.line_items.len(), 1);
    assert_eq!(server.api_calls(), 3);
    assert!(server.received().iter().all(|r| r.method == "POST"));
}

#[tokio::test(start_paused = true)]
async fn create_order_is_not_retried_on_a_plain_500() {
    let server = ScriptServer::start().await;
    server.fallback(Step::json(500, json!({"type": "INTERNAL"})));
    let client = scripted(&server).build().unwrap();
    assert!(matches!(client.orders().create(order()).send().await, Err(Error::Server(_))));
    assert_eq!(server.api_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn idempotent_reads_are_retried_after_a_timeout() {
    let server = ScriptServer::start().await;
    server.script([Step::json(200, company_json()).delayed(Duration::from_secs(60))]);
    server.fallback(Step::json(200, company_json()));
    let client = scripted(&server)
        .http_client(reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap())
        .build()
        .unwrap();
    client.companies().get(id()).await.unwrap();
    assert_eq!(server.api_calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn the_retry_budget_stops_a_storm() {
    let server = ScriptServer::start().await;
    server.fallback(Step::json(503, json!({})));
    // 20 tokens: four retries in all, whatever the per-call attempt limit.
    let client = scripted(&server).retry_budget(20).retry_policy(RetryPolicy::attempts(10)).build().unwrap();
    for _ in 0..5 {
        assert!(client.companies().get(id()).await.is_err());
    }
    assert_eq!(server.api_calls(), 5 + 4);
    assert_eq!(client.retry_budget_left(), 0);
}

#[tokio::test(start_paused = true)]
async fn the_rate_limiter_spaces_calls() {
    let server = ScriptServer::start().await;
    server.fallback(Step::json(200, company_json()));
    let client = scripted(&server).rate_limit(60, 1).build().unwrap();
    let started = Instant::now();
    for _ in 0..4 {
        client.companies().get(id()).await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    assert!((3.9..4.2).contains(&elapsed), "the token request and 4 calls at 1/s took {elapsed}s");
}

#[tokio::test(start_paused = true)]
async fn tokens_are_refreshed_before_expiry() {
    let server = ScriptServer::start().await;
    server.token_lifetime(3600);
    server.fallback(Step::json(200, company_json()));
    let client = scripted(&server).refresh_margin(Duration::from_secs(300)).build().unwrap();
    client.companies().get(id()).await.unwrap();
    tokio::time::advance(Duration::from_secs(3000)).await;
    client.companies().get(id()).await.unwrap();
    assert_eq!(server.tokens_issued(), 1, "still fresh 10 min before expiry");
    tokio::time::advance(Duration::from_secs(320)).await; // inside the 5 min margin
    client.companies().get(id()).await.unwrap();
    assert_eq!(server.tokens_issued(), 2);
    let auth: Vec<_> = server.received().iter().map(|r| r.header("authorization").unwrap().to_string()).collect();
    assert_eq!(auth, ["Bearer tok3n-1", "Bearer tok3n-1", "Bearer tok3n-2"]);
}

#[tokio::test(start_paused = true)]
async fn with_auto_refresh_off_an_expired_token_is_an_error_until_refreshed() {
    let server = ScriptServer::start().await;
    server.token_lifetime(60);
    server.fallback(Step::json(200, company_json()));
    let client = scripted(&server).auto_refresh(false).build().unwrap();
    client.companies().get(id()).await.unwrap();
    tokio::time::advance(Duration::from_secs(61)).await;
    let err = client.companies().get(id()).await.unwrap_err();
    assert!(matches!(err, Error::Authentication { .. }) && err.to_string().contains("refresh_token"), "{err}");
    assert_eq!(server.tokens_issued(), 1);
    client.refresh_token().await.unwrap();
    client.companies().get(id()).await.unwrap();
    assert_eq!(server.tokens_issued(), 2);
}

#[tokio::test(start_paused = true)]
async fn vendor_apis_use_their_own_audience() {
    let server = ScriptServer::start().await;
    server.fallback(Step::json(200, json!([])));
    let client = scripted(&server).build().unwrap();
    let _ = client.send(client.vendor_provisioning().get_all_provisioners()).await;
    let _ = client.companies().get(id()).await;
    client.refresh_token_for(Api::VendorUsage).await.unwrap();
    let audiences: Vec<String> = server
        .token_requests()
        .iter()
        .map(|r| serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["audience"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(audiences, ["api://provisioning", "https://api.pax8.com", "api://usage"]);
}

#[tokio::test(start_paused = true)]
async fn a_malformed_body_is_a_decode_error_with_path_and_excerpt() {
    let server = ScriptServer::start().await;
    server.fallback(Step::Respond {
        status: 200,
        headers: vec![],
        body: r#"{"content": [{"id": "2aa4862a-9474-4138-9863-4f0a8e4cec74", "name": 42}], "page": {"size": 200}}"#
            .into(),
        delay: Duration::ZERO,
    });
    let client = scripted(&server).build().unwrap();
    let err = client.companies().list().first_page().await.unwrap_err();
    let Error::Decode { operation, path, excerpt, .. } = &err else { panic!("{err:?}") };
    assert_eq!(operation, "findCompanies");
    assert_eq!(path, "content[0].name");
    assert!(excerpt.starts_with(r#"{"content""#));
}

#[tokio::test]
async fn misconfiguration_fails_at_build() {
    let ok = || Pax8Client::builder().client_id("id").client_secret("secret");
    assert!(ok().build().is_ok());
    let cases = [
        Pax8Client::builder().client_secret("secret").build(),
        Pax8Client::builder().client_id("id").build(),
        ok().base_url("not a url").build(),
        ok().token_url("https://example.test/oauth").build(),
        ok().audience("api://everything").build(),
        ok().rate_limit(0, 1).build(),
    ];
    for (i, case) in cases.into_iter().enumerate() {
        assert!(matches!(case, Err(Error::Config(_))), "case {i}: {case:?}");
    }
    assert!(ok().token_url("https://api.pax8.com/v1/token").build().is_ok(), "the v1 token URL form works");
}

#[tokio::test]
async fn invalid_requests_are_refused_before_sending() {
    let server = ScriptServer::start().await;
    let client = scripted(&server).build().unwrap();
    assert!(matches!(client.products().search("x"), Err(Error::InvalidRequest(_))));
    assert!(matches!(client.products().search(&"y".repeat(257)), Err(Error::InvalidRequest(_))));
    assert!(matches!(client.companies().list().page_size(201).first_page().await, Err(Error::InvalidRequest(_))));
    assert!(matches!(client.subscriptions().update_quantity(id(), -1).await, Err(Error::InvalidRequest(_))));
    assert!(matches!(pax8_ext::resources::parse_id("companyId", ""), Err(Error::InvalidRequest(_))));
    assert!(matches!(pax8_ext::resources::parse_id("companyId", "abc"), Err(Error::InvalidRequest(_))));
    let mut empty = order();
    empty.line_items.clear();
    assert!(matches!(client.orders().create(empty).send().await, Err(Error::InvalidRequest(_))));
    assert_eq!(server.api_calls(), 0);
    assert_eq!(server.tokens_issued(), 0);
}

#[derive(Debug, Default)]
struct Recorder {
    responses: std::sync::atomic::AtomicU32,
    errors: std::sync::Mutex<Vec<(Option<&'static str>, u16)>>,
}

impl pax8_ext::Hooks for Recorder {
    fn before_request(&self, request: &mut reqwest::Request, info: &pax8_ext::RequestInfo) {
        request.headers_mut().insert("x-attempt", info.attempt.to_string().parse().unwrap());
    }
    fn after_response(&self, _response: &reqwest::Response, _info: &pax8_ext::RequestInfo) {
        self.responses.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
    fn on_error(&self, error: &Error, info: &pax8_ext::RequestInfo) {
        self.errors.lock().unwrap().push((info.operation, error.status().map_or(0, |s| s.as_u16())));
    }
}

#[tokio::test(start_paused = true)]
async fn hooks_see_every_attempt_and_the_final_failure() {
    let server = ScriptServer::start().await;
    server.fallback(Step::json(503, json!({})));
    let recorder = std::sync::Arc::new(Recorder::default());
    let client = scripted(&server).hooks(recorder.clone()).retry_policy(RetryPolicy::attempts(3)).build().unwrap();
    assert!(client.companies().get(id()).await.is_err());
    let attempts: Vec<_> = server.received().iter().map(|r| r.header("x-attempt").unwrap().to_string()).collect();
    assert_eq!(attempts, ["1", "2", "3"]);
    assert_eq!(recorder.responses.load(std::sync::atomic::Ordering::SeqCst), 4, "the token request and 3 attempts");
    assert_eq!(*recorder.errors.lock().unwrap(), [(Some("getCompaniesByCompanyId"), 503)]);
}

/// Two clients on one token file (two processes): one token request between them, even when
/// both need a token at the same moment.
#[tokio::test(flavor = "multi_thread")]
async fn clients_sharing_a_token_file_make_one_token_request() {
    let sandbox = pax8_sandbox::Sandbox::start(pax8_sandbox::SandboxConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.json");
    let client = || {
        pax8_ext::Pax8Client::builder()
            .client_id(sandbox.client_id())
            .client_secret(sandbox.client_secret())
            .base_url(sandbox.base_url())
            .token_store(std::sync::Arc::new(pax8_ext::FileTokenStore::new(&path, sandbox.client_id())))
            .build()
            .unwrap()
    };
    let (a, b) = (client(), client());
    let (la, lb) = (a.companies().list(), b.companies().list());
    let (ra, rb) = tokio::join!(la.first_page(), lb.first_page());
    ra.unwrap();
    rb.unwrap();
    for _ in 0..8 {
        client().companies().list().first_page().await.unwrap();
    }
    assert_eq!(sandbox.counters().tokens_issued, 1, "ten clients, one token");
    assert!(!std::fs::read_to_string(&path).unwrap().is_empty());
}
