//! The real server's oddities, reproduced so that clients meet them in tests: every quirk a
//! patch in `spec/patches/` exists for. `SandboxConfig::spec_exact` turns them off, giving
//! answers shaped exactly as the upstream documents describe.
//!
//! By default (quirks on):
//! - company lists carry no `phone`; about a quarter of the companies have their
//!   self-service, bill-on-behalf and approval flags and `updatedDate` null, and one in sixteen
//!   has no `address` (`partner-company-optional-fields`);
//! - contact lists: one contact in sixteen has no `phone`, another no `email`
//!   (`partner-contact-phone-email-optional`);
//! - orders say `orderedBy: "Pax8Partner"`, without the space (`partner-order-ordered-by`);
//! - subscriptions carry their commitment as `commitment`, not the documented `commitmentTerm`
//!   (`partner-subscription-commitment`).
//!
//! Always, quirks or not: quoting and webhooks validation errors answer 400, the status their
//! documents declare (the partner API answers 422 as its server does).

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

/// The largest answer reshaped (larger ones pass unchanged).
const MAX_BODY: usize = 64 * 1024 * 1024;

/// Reshapes the answer to `method path` as the real server would send it.
pub(crate) async fn reshape(spec_exact: bool, method: &Method, path: &str, response: Response) -> Response {
    let status = response.status();
    if status == StatusCode::UNPROCESSABLE_ENTITY && (path.starts_with("/v2/") || path.starts_with("/api/v2/")) {
        let (mut parts, body) = response.into_parts();
        parts.status = StatusCode::BAD_REQUEST;
        let bytes = axum::body::to_bytes(body, MAX_BODY).await.unwrap_or_default();
        // The error body names its status too.
        let body = match serde_json::from_slice::<Value>(&bytes) {
            Ok(mut value) if value.get("status").is_some() => {
                value["status"] = Value::from(400);
                serde_json::to_vec(&value).unwrap_or_else(|_| bytes.to_vec())
            }
            _ => bytes.to_vec(),
        };
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::from(body));
    }
    if !status.is_success() || !is_json(&response) {
        return response;
    }
    let Some(rewrite) = rewrite_for(spec_exact, method, path) else { return response };
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    rewrite(&mut value);
    let bytes = serde_json::to_vec(&value).unwrap_or_else(|_| bytes.to_vec());
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(bytes))
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

type Rewrite = fn(&mut Value);

/// The rewrite of one route's answer, if it has one.
fn rewrite_for(spec_exact: bool, method: &Method, path: &str) -> Option<Rewrite> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let is_get = method == Method::GET;
    match (spec_exact, segments.as_slice()) {
        (false, ["v1", "companies"]) if is_get => Some(company_list),
        (false, ["v1", "companies", _, "contacts"]) if is_get => Some(contact_list),
        (false, ["v1", "orders", ..]) => Some(|v| each(v, order_by_pax8_partner)),
        (false, ["v1", "subscriptions", ..]) => Some(|v| each(v, commitment_as_sent)),
        (true, ["v1", "orders", ..]) => Some(|v| each(v, order_by_documented_name)),
        (true, ["v1", "subscriptions", ..]) => Some(|v| each(v, commitment_as_documented)),
        _ => None,
    }
}

/// Applies `f` to a page's items, or to the object itself.
fn each(value: &mut Value, f: fn(&mut serde_json::Map<String, Value>)) {
    match value.get_mut("content").and_then(Value::as_array_mut) {
        Some(items) => items.iter_mut().filter_map(Value::as_object_mut).for_each(f),
        None => {
            if let Some(object) = value.as_object_mut() {
                f(object);
            }
        }
    }
}

/// The last hex digit of an object's id: a stable, spread-out choice of which objects are odd.
fn id_digit(object: &serde_json::Map<String, Value>) -> Option<u32> {
    object.get("id").and_then(Value::as_str).and_then(|id| id.chars().last()).and_then(|c| c.to_digit(16))
}

fn company_list(value: &mut Value) {
    each(value, |company| {
        company.remove("phone");
        match id_digit(company) {
            Some(0..=3) => {
                for flag in ["selfServiceAllowed", "billOnBehalfOfEnabled", "orderApprovalRequired", "updatedDate"] {
                    company.insert(flag.into(), Value::Null);
                }
            }
            Some(0xf) => {
                company.remove("address");
            }
            _ => {}
        }
    });
}

fn contact_list(value: &mut Value) {
    each(value, |contact| match id_digit(contact) {
        Some(0) => {
            contact.remove("phone");
        }
        Some(1) => {
            contact.remove("email");
        }
        _ => {}
    });
}

fn order_by_pax8_partner(order: &mut serde_json::Map<String, Value>) {
    if order.get("orderedBy").and_then(Value::as_str) == Some("Pax8 Partner") {
        order.insert("orderedBy".into(), Value::from("Pax8Partner"));
    }
}

fn order_by_documented_name(order: &mut serde_json::Map<String, Value>) {
    if order.get("orderedBy").and_then(Value::as_str) == Some("Pax8Partner") {
        order.insert("orderedBy".into(), Value::from("Pax8 Partner"));
    }
}

fn commitment_as_sent(subscription: &mut serde_json::Map<String, Value>) {
    if let Some(term) = subscription.remove("commitmentTerm") {
        subscription.entry("commitment").or_insert(term);
    }
}

fn commitment_as_documented(subscription: &mut serde_json::Map<String, Value>) {
    if let Some(term) = subscription.remove("commitment") {
        subscription.entry("commitmentTerm").or_insert(term);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn page(items: Value) -> Value {
        json!({"content": items, "page": {"number": 0}})
    }

    #[test]
    fn company_lists_lose_phones_and_some_flags_and_addresses() {
        let mut value = page(json!([
            {"id": "00000000-0000-0000-0000-000000000002", "phone": "1", "selfServiceAllowed": true, "address": {}},
            {"id": "00000000-0000-0000-0000-00000000000e", "phone": "1", "selfServiceAllowed": true, "address": {}},
            {"id": "00000000-0000-0000-0000-00000000000f", "phone": "1", "selfServiceAllowed": true, "address": {}},
            {"id": "00000000-0000-0000-0000-000000000007", "phone": "1", "selfServiceAllowed": true, "address": {}}
        ]));
        company_list(&mut value);
        let items = value["content"].as_array().unwrap();
        assert!(items.iter().all(|c| c.get("phone").is_none()));
        assert_eq!(items[0]["selfServiceAllowed"], Value::Null);
        assert_eq!(items[0]["updatedDate"], Value::Null);
        assert_eq!(
            items[1],
            json!({"id": "00000000-0000-0000-0000-00000000000e", "selfServiceAllowed": true, "address": {}})
        );
        assert!(items[2].get("address").is_none());
        assert_eq!(
            items[3],
            json!({"id": "00000000-0000-0000-0000-000000000007", "selfServiceAllowed": true, "address": {}})
        );
    }

    #[test]
    fn contacts_orders_and_subscriptions_follow_the_server_or_the_document() {
        let mut contacts = page(json!([
            {"id": "00000000-0000-0000-0000-000000000000", "phone": "1", "email": "a@b"},
            {"id": "00000000-0000-0000-0000-000000000001", "phone": "1", "email": "a@b"},
            {"id": "00000000-0000-0000-0000-000000000002", "phone": "1", "email": "a@b"}
        ]));
        contact_list(&mut contacts);
        assert_eq!(contacts["content"][0], json!({"id": "00000000-0000-0000-0000-000000000000", "email": "a@b"}));
        assert_eq!(contacts["content"][1], json!({"id": "00000000-0000-0000-0000-000000000001", "phone": "1"}));
        assert_eq!(contacts["content"][2]["phone"], "1");

        let get = Method::GET;
        let mut order = json!({"orderedBy": "Pax8 Partner"});
        rewrite_for(false, &get, "/v1/orders/x").unwrap()(&mut order);
        assert_eq!(order["orderedBy"], "Pax8Partner");
        rewrite_for(true, &Method::POST, "/v1/orders").unwrap()(&mut order);
        assert_eq!(order["orderedBy"], "Pax8 Partner");

        let mut subscriptions = page(json!([{"commitmentTerm": {"term": "Annual"}}]));
        rewrite_for(false, &get, "/v1/subscriptions").unwrap()(&mut subscriptions);
        assert_eq!(subscriptions["content"][0], json!({"commitment": {"term": "Annual"}}));
        rewrite_for(true, &get, "/v1/subscriptions").unwrap()(&mut subscriptions);
        assert_eq!(subscriptions["content"][0], json!({"commitmentTerm": {"term": "Annual"}}));

        assert!(rewrite_for(true, &get, "/v1/companies").is_none(), "spec-exact companies are as documented");
        assert!(rewrite_for(false, &Method::POST, "/v1/companies").is_none(), "a created company keeps its fields");
        assert!(rewrite_for(false, &get, "/v1/products").is_none());
    }

    #[tokio::test]
    async fn validation_errors_of_quoting_and_webhooks_answer_400_and_partner_keeps_422() {
        let unprocessable =
            || Response::builder().status(StatusCode::UNPROCESSABLE_ENTITY).body(Body::from("{}")).unwrap();
        for path in ["/v2/quotes", "/api/v2/webhooks"] {
            assert_eq!(reshape(false, &Method::POST, path, unprocessable()).await.status(), StatusCode::BAD_REQUEST);
            assert_eq!(reshape(true, &Method::POST, path, unprocessable()).await.status(), StatusCode::BAD_REQUEST);
        }
        assert_eq!(
            reshape(false, &Method::POST, "/v1/orders", unprocessable()).await.status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }

    #[tokio::test]
    async fn a_json_answer_is_rewritten_and_its_length_recomputed() {
        let response = Response::builder()
            .status(200)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, "42")
            .body(Body::from(r#"{"content":[{"id":"00000000-0000-0000-0000-000000000009","phone":"5"}]}"#))
            .unwrap();
        let reshaped = reshape(false, &Method::GET, "/v1/companies", response).await;
        assert!(reshaped.headers().get(header::CONTENT_LENGTH).is_none());
        let bytes = axum::body::to_bytes(reshaped.into_body(), 1024).await.unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&bytes).unwrap(),
            json!({"content": [{"id": "00000000-0000-0000-0000-000000000009"}]})
        );
    }
}
