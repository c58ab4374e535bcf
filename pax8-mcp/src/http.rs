//! The HTTP transport: loopback only, a bearer token on every request, foreign origins refused.

use std::net::SocketAddr;

use crate::Pax8Tools;

/// Serves MCP over streamable HTTP at `http://{addr}/mcp`; only loopback addresses are accepted.
/// Every request must carry `Authorization: Bearer <token>` (401 otherwise), and a request from
/// a browser page of another origin is refused (403), so neither another local process nor a web
/// page can call the tools.
pub async fn serve_http(
    tools: Pax8Tools,
    addr: SocketAddr,
    token: pax8_ext::SecretString,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    use rmcp::transport::streamable_http_server::{StreamableHttpService, session::local::LocalSessionManager};
    if !addr.ip().is_loopback() {
        return Err(format!("{addr} is not a loopback address: the MCP server only listens on this machine").into());
    }
    if token.expose().len() < 16 {
        return Err("the HTTP bearer token must be at least 16 characters".into());
    }
    let service = StreamableHttpService::new(
        move || Ok(tools.clone()),
        LocalSessionManager::default().into(),
        Default::default(),
    );
    let guard = HttpGuard { token, port: addr.port() };
    let router = axum::Router::new()
        .nest_service("/mcp", service)
        .layer(axum::middleware::from_fn_with_state(guard, http_guard));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, router).await?;
    Ok(())
}

/// A random bearer token for [`serve_http`] (32 hex characters).
pub fn random_token() -> pax8_ext::SecretString {
    let bytes: [u8; 16] = rand::random();
    pax8_ext::SecretString::new(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

#[derive(Clone)]
struct HttpGuard {
    token: pax8_ext::SecretString,
    port: u16,
}

/// Refuses requests without the bearer token, and requests whose `Origin` is not this server.
async fn http_guard(
    axum::extract::State(guard): axum::extract::State<HttpGuard>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    use subtle::ConstantTimeEq;
    let headers = request.headers();
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        let port = guard.port;
        let local =
            [format!("http://127.0.0.1:{port}"), format!("http://localhost:{port}"), format!("http://[::1]:{port}")];
        if !local.iter().any(|o| o == origin) {
            return (StatusCode::FORBIDDEN, "foreign Origin refused").into_response();
        }
    }
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .unwrap_or("");
    if !bool::from(presented.as_bytes().ct_eq(guard.token.expose().as_bytes())) {
        return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], "bearer token required")
            .into_response();
    }
    let closing = request.method() == axum::http::Method::DELETE;
    let mut response = next.run(request).await;
    // A session closed by DELETE is answered 202 by rmcp; the official SDKs expect 200 or 204
    // (the Python SDK logs "Session termination failed: 202").
    if closing && response.status() == StatusCode::ACCEPTED {
        *response.status_mut() = StatusCode::OK;
    }
    response
}
