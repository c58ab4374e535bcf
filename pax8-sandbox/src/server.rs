//! The HTTP front: accepts connections on 127.0.0.1, injects faults, checks bearer tokens,
//! serves the token endpoint, and hands everything else to the API routes.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use pax8_api::{TokenRequest, TokenResponse};
use tokio::net::TcpListener;
use tokio::time::Instant;
use tower::ServiceExt;

use crate::app::App;
use crate::counters_bump;
use crate::faults::Fault;
use crate::http::error;

const TOKEN_PATH: &str = "/v1/token";
const AUDIENCES: [&str; 4] = ["https://api.pax8.com", "api://p8p.client", "api://provisioning", "api://usage"];
const MAX_BODY: usize = 4 * 1024 * 1024;

/// A connection closed on purpose (fault injection): hyper drops it without an answer.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for Dropped {}

pub(crate) async fn serve(listener: TcpListener, app: App) {
    let router: Router = crate::partner::routes()
        .merge(crate::quoting::routes())
        .merge(crate::webhooks::routes())
        .fallback(|uri: axum::http::Uri| async move {
            error(StatusCode::NOT_FOUND, "NOT_FOUND", format!("no route for {}", uri.path()), uri.path())
        })
        .with_state(app.clone());
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let app = app.clone();
        let router = router.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let app = app.clone();
                let router = router.clone();
                async move { handle(app, router, req.map(Body::new)).await }
            });
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

pub(crate) fn revoke(app: &App) {
    app.0.tokens.lock().expect("tokens lock").clear();
    counters_bump!(app, revocations);
}

async fn handle(app: App, router: Router, req: Request<Body>) -> Result<Response, Dropped> {
    let path = req.uri().path().to_string();
    let is_token = path == TOKEN_PATH;
    let faults = app.0.faults.faults.lock().expect("faults lock").clone();
    if is_token {
        counters_bump!(app, token_requests);
    } else {
        let n = counters_bump!(app, requests);
        app.0.counters.arrived(Instant::now());
        if let Some(every) = faults.revoke_tokens_every
            && every > 0
            && n.is_multiple_of(every)
        {
            revoke(&app);
        }
    }
    let fault = if is_token && !faults.include_token_endpoint { Fault::None } else { app.0.faults.decide() };
    let request_line = format!("{} {}", req.method(), req.uri().path_and_query().map_or(path.as_str(), |p| p.as_str()));
    let fault = match Some(request_line.as_str()) {
        line if line == faults.lose_answer_to.as_deref() => Fault::DropAfter,
        line if line == faults.drop_request_to.as_deref() => Fault::DropBefore,
        _ => fault,
    };
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    match fault {
        Fault::DropBefore => {
            counters_bump!(app, dropped_before);
            return Err(Dropped);
        }
        Fault::RateLimited { retry_after_secs } => {
            counters_bump!(app, rate_limited);
            let mut response =
                error(StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS", "rate limit exceeded", &path).into_response();
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            return Ok(response);
        }
        Fault::ServerError(status) => {
            counters_bump!(app, server_errors);
            let status = StatusCode::from_u16(status).expect("valid status");
            return Ok(error(status, "SERVER_ERROR", "injected failure", &path).into_response());
        }
        _ => {}
    }
    let response = if is_token {
        token(&app, req).await
    } else if let Some(denied) = check_bearer(&app, &req, &path) {
        denied
    } else {
        let method = req.method().clone();
        let answer = match router.oneshot(req).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        crate::quirks::reshape(app.0.spec_exact, &method, &path, answer).await
    };
    let mut response = if faults.strip_ids && !is_token { strip_ids(response).await } else { response };
    let odd = !faults.wrong_type_for.is_empty() || !faults.lone_surrogate_for.is_empty();
    if odd && !is_token {
        response = odd_values(response, &faults).await;
    }
    if let Some((limit, remaining)) = app.0.faults.headroom() {
        response.headers_mut().insert("x-ratelimit-limit", HeaderValue::from(limit));
        response.headers_mut().insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    }
    match fault {
        Fault::DropAfter => {
            counters_bump!(app, dropped_after);
            Err(Dropped)
        }
        Fault::Malformed if response.status().is_success() => {
            counters_bump!(app, malformed);
            let (parts, body) = response.into_parts();
            let bytes = axum::body::to_bytes(body, MAX_BODY).await.unwrap_or_default();
            let cut = bytes.slice(..bytes.len() / 2);
            let mut parts = parts;
            parts.headers.remove(header::CONTENT_LENGTH);
            Ok(Response::from_parts(parts, Body::from(cut)))
        }
        _ => Ok(response),
    }
}

/// Removes every `id` field from a successful JSON answer (the `strip_ids` fault).
async fn strip_ids(response: Response) -> Response {
    fn strip(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                map.remove("id");
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    rewrite_json(response, |mut value| {
        strip(&mut value);
        serde_json::to_vec(&value).unwrap_or_default()
    })
    .await
}

/// Stands for a lone surrogate until the body is written (a private-use character no fixture has).
const LONE_SURROGATE_MARK: &str = "\u{E000}lone\u{E000}";

/// The `wrong_type_for` and `lone_surrogate_for` faults: the objects with those ids get a
/// `quantity` (or else `name`) no type accepts, or a `\ud800` in their names.
async fn odd_values(response: Response, faults: &crate::Faults) -> Response {
    fn visit(value: &mut serde_json::Value, faults: &crate::Faults) {
        match value {
            serde_json::Value::Object(map) => {
                let id = map.get("id").and_then(|v| v.as_str()).and_then(|s| uuid::Uuid::parse_str(s).ok());
                if id.is_some_and(|id| faults.wrong_type_for.contains(&id)) {
                    let field = if map.contains_key("quantity") { "quantity" } else { "name" };
                    map.insert(field.into(), serde_json::json!({"not": "a value of its type"}));
                }
                if id.is_some_and(|id| faults.lone_surrogate_for.contains(&id)) {
                    for field in ["name", "productName"] {
                        if let Some(serde_json::Value::String(text)) = map.get_mut(field) {
                            text.push_str(LONE_SURROGATE_MARK);
                        }
                    }
                }
                map.values_mut().for_each(|v| visit(v, faults));
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| visit(v, faults)),
            _ => {}
        }
    }
    rewrite_json(response, |mut value| {
        visit(&mut value, faults);
        let text = serde_json::to_string(&value).unwrap_or_default();
        text.replace(LONE_SURROGATE_MARK, "\\ud800").into_bytes()
    })
    .await
}

/// A successful JSON answer's body rewritten by `edit` (others pass unchanged).
async fn rewrite_json(response: Response, edit: impl FnOnce(serde_json::Value) -> Vec<u8>) -> Response {
    if !response.status().is_success() {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY).await.unwrap_or_default();
    let body = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(value) => edit(value),
        Err(_) => bytes.to_vec(),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

fn check_bearer(app: &App, req: &Request<Body>, path: &str) -> Option<Response> {
    let token =
        req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let valid = token.is_some_and(|t| {
        app.0.tokens.lock().expect("tokens lock").get(t).is_some_and(|expires| *expires > Instant::now())
    });
    if valid {
        return None;
    }
    counters_bump!(app, unauthorized);
    let message = if token.is_some() { "the access token is invalid or expired" } else { "missing bearer token" };
    Some(error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message, path).into_response())
}

fn oauth_error(status: StatusCode, code: &str, description: &str) -> Response {
    let body = serde_json::json!({"error": code, "error_description": description});
    (status, axum::Json(body)).into_response()
}

async fn token(app: &App, req: Request<Body>) -> Response {
    if req.method() != axum::http::Method::POST {
        return oauth_error(StatusCode::METHOD_NOT_ALLOWED, "invalid_request", "POST only");
    }
    let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY).await.unwrap_or_default();
    let Ok(request) = serde_json::from_slice::<TokenRequest>(&bytes) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "expected client_id, client_secret, audience, grant_type",
        );
    };
    if request.grant_type != "client_credentials" {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "only client_credentials is supported");
    }
    if request.client_id != app.0.client_id || request.client_secret != app.0.client_secret {
        return oauth_error(StatusCode::UNAUTHORIZED, "access_denied", "Unauthorized");
    }
    let enabled = match &app.0.audiences {
        Some(enabled) => enabled.contains(&request.audience),
        None => true,
    };
    if !AUDIENCES.contains(&request.audience.as_str()) || !enabled {
        return oauth_error(StatusCode::FORBIDDEN, "access_denied", "Service not enabled within domain");
    }
    let token = app.random_token();
    let lifetime: Duration = app.0.token_lifetime;
    app.0.tokens.lock().expect("tokens lock").insert(token.clone(), Instant::now() + lifetime);
    counters_bump!(app, tokens_issued);
    axum::Json(TokenResponse {
        access_token: token,
        expires_in: Some(lifetime.as_secs_f64()),
        token_type: Some("Bearer".into()),
    })
    .into_response()
}
