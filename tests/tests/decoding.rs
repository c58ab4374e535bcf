//! Realistic server responses decoded through the generated clients (httpmock on 127.0.0.1),
//! including the places where the server disagrees with the spec.

use httpmock::prelude::*;
use pax8_api::partner::types;
use serde_json::json;

fn partner(server: &MockServer) -> pax8_api::partner::Client {
    pax8_api::partner::Client::new_with_client(&server.base_url(), reqwest::Client::new())
}

#[tokio::test]
async fn subscription_with_server_quirks_decodes() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/subscriptions/5f7c1e0e-0000-4000-8000-000000000001");
            then.status(200).json_body(json!({
                "id": "5f7c1e0e-0000-4000-8000-000000000001",
                "companyId": "2aa4862a-9474-4138-9863-4f0a8e4cec74",
                "productId": "4f76b357-9ac1-47fa-9369-feb80a32f87e",
                "quantity": 12,
                "startDate": "2020-12-01T08:30:00Z",
                "createdDate": "2020-11-11",
                "updatedDate": "2020-12-01T13:20:13.153-0700",
                "billingStart": "2020-12-01",
                "status": "SuspendedForReview",
                "billingTerm": "One-Time",
                "price": 86,
                "commitment": {"id": "0b6c3f5e-0000-4000-8000-000000000002", "term": "Annual", "endDate": "2027-06-30T00:00:00Z"},
                "someFieldAddedLater": {"nested": true}
            }));
        })
        .await;
    let sub = partner(&server)
        .find_subscription_by_subscription_id()
        .subscription_id("5f7c1e0e-0000-4000-8000-000000000001")
        .send()
        .await
        .expect("decodes")
        .into_inner();
    assert_eq!(sub.status, Some(types::SubscriptionStatus::Unknown("SuspendedForReview".into())));
    assert_eq!(sub.billing_term, Some(types::SubscriptionBillingTerm::OneTime));
    assert_eq!(sub.created_date.unwrap().to_string(), "2020-11-11T00:00:00Z");
    assert_eq!(sub.updated_date.unwrap().to_string(), "2020-12-01T13:20:13.153-07:00");
    let commitment = sub.commitment.expect("`commitment` is read although the spec says `commitmentTerm`");
    assert_eq!(commitment.term.as_deref(), Some("Annual"));
    assert!(sub.commitment_term.is_none());
    assert!(sub.vendor_subscription_id.is_none(), "missing optional fields are None");
}

#[tokio::test]
async fn company_page_with_missing_and_null_flags_decodes() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET).path("/companies").query_param("page", "0").query_param("size", "200");
            then.status(200).json_body(json!({
                "content": [
                    {"id": "9ba32659-d339-4539-be21-1f461dc1a415", "name": "Globex", "address": {"city": "Dayton"},
                     "status": "Active", "selfServiceAllowed": null, "updatedDate": null},
                    {"id": "0d3f48ae-9764-4b3a-9554-d28fe345230c", "name": "Initech", "address": {},
                     "status": "Archived", "billOnBehalfOfEnabled": true, "orderApprovalRequired": false}
                ],
                "page": {"size": 200, "totalElements": 2, "totalPages": 1, "number": 0}
            }));
        })
        .await;
    let page = partner(&server).find_companies().page(0).size(200).send().await.expect("decodes").into_inner();
    mock.assert_async().await;
    assert_eq!(page.content.len(), 2);
    assert_eq!(page.content[0].self_service_allowed, None);
    assert_eq!(page.content[1].status, Some(types::CompanyStatus::Unknown("Archived".into())));
    let meta = page.page.expect("page");
    assert_eq!((meta.size.get(), meta.total_elements, meta.total_pages, meta.number), (200, Some(2), Some(1), Some(0)));
}

#[tokio::test]
async fn order_with_pax8partner_and_line_items_without_numbers_decodes() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/orders/7b0c3a1e-0000-4000-8000-000000000003");
            then.status(200).json_body(json!({
                "id": "7b0c3a1e-0000-4000-8000-000000000003",
                "companyId": "2aa4862a-9474-4138-9863-4f0a8e4cec74",
                "createdDate": "2024-03-01",
                "orderedBy": "Pax8Partner",
                "status": "Completed",
                "lineItems": [{"productId": "4f76b357-9ac1-47fa-9369-feb80a32f87e", "quantity": 5, "billingTerm": "Monthly"}]
            }));
        })
        .await;
    let order = partner(&server)
        .find_orders_by_order_id()
        .order_id("7b0c3a1e-0000-4000-8000-000000000003")
        .send()
        .await
        .expect("decodes")
        .into_inner();
    assert_eq!(order.ordered_by, Some(types::OrderOrderedBy::Pax8Partner));
    assert_eq!(order.status.as_deref(), Some("Completed"));
    assert_eq!(order.line_items[0].line_item_number, None);
}

#[tokio::test]
async fn invoice_items_with_bare_rate_type_decode() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/invoices/1c2d3e4f-0000-4000-8000-000000000004/items");
            then.status(200).json_body(json!({
                "content": [{"id": "1c2d3e4f-0000-4000-8000-000000000005", "rateType": "single", "term": "Biennial",
                             "startPeriod": "2024-03-01", "quantity": 3, "total": 12.5}],
                "page": {"size": 200, "totalElements": 1, "totalPages": 1, "number": 0}
            }));
        })
        .await;
    let items = partner(&server)
        .find_partner_invoice_items()
        .invoice_id("1c2d3e4f-0000-4000-8000-000000000004")
        .size(200)
        .send()
        .await
        .expect("decodes")
        .into_inner();
    let item = &items.content[0];
    assert_eq!(item.rate_type, Some(types::InvoiceItemRateType::Single));
    assert_eq!(item.term, Some(types::InvoiceItemTerm::Unknown("Biennial".into())));
}

#[tokio::test]
async fn undocumented_error_statuses_decode_into_the_pax8_error_body() {
    let server = MockServer::start_async().await;
    for (status, kind) in [(429, "TOO_MANY_REQUESTS"), (503, "SERVICE_UNAVAILABLE"), (422, "VALIDATION")] {
        let mock = server
            .mock_async(|when, then| {
                when.method(GET).path("/products");
                then.status(status).json_body(json!({
                    "type": kind, "message": "nope", "instance": "/products", "status": status,
                    "details": [{"field": "size", "message": "must be <= 200"}]
                }));
            })
            .await;
        let err = partner(&server).find_all_products().send().await.unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
        let pax8_api::partner::Error::ErrorResponse(body) = err else {
            panic!("{status}: typed error body expected, got {err:?}")
        };
        assert_eq!(body.type_.as_deref(), Some(kind));
        assert_eq!(body.details[0].field.as_deref(), Some("size"));
        mock.delete_async().await;
    }
}

#[tokio::test]
async fn paging_parameters_are_sent_as_integers() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET).path("/subscriptions").query_param("size", "10").query_param("page", "3");
            then.status(200).json_body(
                json!({"content": [], "page": {"size": 10, "totalElements": 0, "totalPages": 0, "number": 3}}),
            );
        })
        .await;
    partner(&server).find_subscriptions().page(3).size(10).send().await.expect("sent size=10, not 10.0");
    mock.assert_async().await;
}

#[tokio::test]
async fn token_error_body_decodes() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/token");
            then.status(401).json_body(json!({"error": "access_denied", "error_description": "Unauthorized"}));
        })
        .await;
    let client = pax8_api::auth::Client::new_with_client(&server.base_url(), reqwest::Client::new());
    let body = pax8_api::TokenRequest {
        audience: "https://api.pax8.com".into(),
        client_id: "id".into(),
        client_secret: "secret".into(),
        grant_type: "client_credentials".into(),
    };
    let err = client.create_access_token().body(body).send().await.unwrap_err();
    let pax8_api::auth::Error::ErrorResponse(e) = err else { panic!("typed 401 expected") };
    assert_eq!(e.error.as_deref(), Some("access_denied"));
}
