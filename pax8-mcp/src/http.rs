//! The HTTP transport: loopback by default, a bearer token (static, or an OAuth access token)
//! on every request, foreign origins refused, `/healthz` and `/readyz` beside `/mcp`, and a
//! graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pax8_serve::Shutdown;
use pax8_serve::listener::{ServerLimits, serve_until};

use crate::Pax8Tools;
use crate::oauth::{OAuthConfig, Refusal, Verifier, called_tools};

/// The largest MCP request body read when OAuth scopes must be checked against the tools called.
const MAX_RPC_BODY: usize = 4 * 1024 * 1024;

/// How the HTTP server listens and whom it lets in.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// A static bearer token a request may present (at least 16 characters): full access.
    pub token: Option<pax8_ext::SecretString>,
    /// OAuth access tokens accepted (see [`OAuthConfig`]); with a static token too, either is.
    pub oauth: Option<OAuthConfig>,
    /// The address clients use when the server listens beyond loopback (behind a TLS proxy,
    /// e.g. `https://mcp.example.com`): its host is the only `Host` accepted and its origin the
    /// only browser `Origin`. Listening on a non-loopback address needs it: without it only
    /// loopback is allowed.
    pub public_url: Option<String>,
    /// Begins the graceful shutdown (sessions closed, requests in flight finished).
    pub shutdown: Shutdown,
    /// How long requests in flight may take to finish after the shutdown begins.
    pub grace: Duration,
}

/// No token and no OAuth yet: [`HttpOptions::check`] refuses these until one is set.
impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            token: None,
            oauth: None,
            public_url: None,
            shutdown: Shutdown::new(),
            grace: pax8_serve::shutdown::DEFAULT_GRACE,
        }
    }
}

impl HttpOptions {
    /// Loopback only, with `token`.
    pub fn new(token: pax8_ext::SecretString) -> Self {
        HttpOptions { token: Some(token), ..HttpOptions::default() }
    }

    /// Loopback only, OAuth access tokens of `config` only.
    pub fn oauth(config: OAuthConfig) -> Self {
        HttpOptions { oauth: Some(config), ..HttpOptions::default() }
    }

    /// Whether the server may listen on `addr` with these options (checked before anything is
    /// printed or bound): loopback always, another address only with a public URL.
    pub fn check(&self, addr: SocketAddr) -> Result<(), String> {
        match (&self.token, &self.oauth) {
            (None, None) => return Err("the HTTP server needs a bearer token or OAuth".into()),
            (Some(token), _) if token.expose().len() < 16 => {
                return Err("the HTTP bearer token must be at least 16 characters".into());
            }
            _ => {}
        }
        if let Some(url) = &self.public_url {
            public_origin(url)?;
        } else if !addr.ip().is_loopback() {
            return Err(format!(
                "{addr} is not a loopback address: the MCP server listens beyond this machine only when told so \
                 (--listen-public with --public-url, behind a TLS proxy)"
            ));
        }
        Ok(())
    }
}

/// The scheme, host and port of a public URL (`https://mcp.example.com/mcp` →
/// (`https://mcp.example.com`, `mcp.example.com`)).
fn public_origin(url: &str) -> Result<(String, String), String> {
    let bad = || format!("--public-url `{url}` is not an http(s) URL such as https://mcp.example.com");
    let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
    if scheme != "https" && scheme != "http" {
        return Err(bad());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') {
        return Err(bad());
    }
    Ok((format!("{scheme}://{authority}"), authority.to_string()))
}

/// Serves MCP over streamable HTTP at `http://{addr}/mcp` on loopback with `token` until the
/// process ends (see [`serve_http_with`]).
pub async fn serve_http(
    tools: Pax8Tools,
    addr: SocketAddr,
    token: pax8_ext::SecretString,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let options = HttpOptions::new(token);
    options.check(addr)?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    serve_http_with(tools, listener, options).await
}

/// Serves MCP on `listener` at `/mcp`. Every request must carry `Authorization: Bearer <token>`
/// (401 otherwise), and a browser page of another origin is refused (403), so neither another
/// local process nor a web page can call the tools. `GET /healthz` and `GET /readyz` (a partner
/// token can be had) need no token. When `options.shutdown` begins: no new connection, every
/// session closed, requests in flight finished within the grace.
pub async fn serve_http_with(
    tools: Pax8Tools,
    listener: tokio::net::TcpListener,
    options: HttpOptions,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    use rmcp::transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
    };
    let addr = listener.local_addr()?;
    options.check(addr)?;
    let public = options.public_url.as_deref().map(public_origin).transpose()?;
    let mut config = StreamableHttpServerConfig::default();
    config.cancellation_token = options.shutdown.token();
    let origins = match &public {
        Some((origin, host)) => {
            config = config.with_allowed_hosts([host.clone()]);
            vec![origin.clone()]
        }
        None => {
            let port = addr.port();
            vec![format!("http://127.0.0.1:{port}"), format!("http://localhost:{port}"), format!("http://[::1]:{port}")]
        }
    };
    let readiness = tools.readiness();
    let resource = match &options.public_url {
        Some(url) => url.clone(),
        None => format!("http://{addr}/mcp"),
    };
    let verifier = options.oauth.clone().map(|c| Verifier::new(c, resource.clone())).transpose()?.map(Arc::new);
    let metadata_url = {
        let (origin, _) = public_origin(&resource).unwrap_or_else(|_| (format!("http://{addr}"), String::new()));
        format!("{origin}/.well-known/oauth-protected-resource")
    };
    let write_tools = Arc::new(Pax8Tools::write_tools());
    let service = StreamableHttpService::new(move || Ok(tools.clone()), LocalSessionManager::default().into(), config);
    let guard =
        HttpGuard { token: options.token.clone(), origins, verifier: verifier.clone(), metadata_url, write_tools };
    let mut router = axum::Router::new()
        .nest_service("/mcp", service)
        .layer(axum::middleware::from_fn_with_state(guard, http_guard))
        .merge(pax8_serve::health::routes(readiness, pax8_serve::health::Detail::Names));
    if let Some(verifier) = verifier {
        let metadata = verifier.metadata();
        let serve = move || {
            let metadata = metadata.clone();
            async move { axum::Json(metadata) }
        };
        router = router
            .route("/.well-known/oauth-protected-resource", axum::routing::get(serve.clone()))
            .route("/.well-known/oauth-protected-resource/mcp", axum::routing::get(serve));
    }
    // Event streams live long: a connection may last an hour (clients reconnect after).
    let limits =
        ServerLimits { connection_lifetime: Duration::from_secs(3600), grace: options.grace, ..Default::default() };
    serve_until(listener, router, limits, &options.shutdown).await?;
    Ok(())
}

/// A random bearer token for [`serve_http`] (32 hex characters).
pub fn random_token() -> pax8_ext::SecretString {
    let bytes: [u8; 16] = rand::random();
    pax8_ext::SecretString::new(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

#[derive(Clone)]
struct HttpGuard {
    token: Option<pax8_ext::SecretString>,
    origins: Vec<String>,
    verifier: Option<Arc<Verifier>>,
    metadata_url: String,
    write_tools: Arc<Vec<String>>,
}

impl HttpGuard {
    /// 401 with the challenge the MCP authorization spec asks for.
    fn unauthorized(&self, error: Option<&str>) -> Response {
        let challenge = match (&self.verifier, error) {
            (None, _) => "Bearer".to_string(),
            (Some(_), None) => format!("Bearer resource_metadata=\"{}\"", self.metadata_url),
            (Some(_), Some(why)) => format!(
                "Bearer resource_metadata=\"{}\", error=\"invalid_token\", error_description=\"{why}\"",
                self.metadata_url
            ),
        };
        let text = error.unwrap_or("bearer token required").to_string();
        (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, challenge)], text).into_response()
    }

    /// 403 naming the scope that is missing.
    fn insufficient(&self, scope: &str) -> Response {
        let challenge = format!(
            "Bearer resource_metadata=\"{}\", error=\"insufficient_scope\", scope=\"{scope}\"",
            self.metadata_url
        );
        (StatusCode::FORBIDDEN, [(header::WWW_AUTHENTICATE, challenge)], format!("the token lacks the {scope} scope"))
            .into_response()
    }
}

/// Refuses requests without a valid bearer token (or the scopes their calls need), and requests
/// whose `Origin` is not this server.
async fn http_guard(
    axum::extract::State(guard): axum::extract::State<HttpGuard>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use subtle::ConstantTimeEq;
    let headers = request.headers();
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !guard.origins.iter().any(|o| o == origin) {
            return (StatusCode::FORBIDDEN, "foreign Origin refused").into_response();
        }
    }
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_string())
        .unwrap_or_default();
    let static_match =
        guard.token.as_ref().is_some_and(|t| bool::from(presented.as_bytes().ct_eq(t.expose().as_bytes())));
    let mut request = request;
    if !static_match {
        let Some(verifier) = &guard.verifier else { return guard.unauthorized(None) };
        if presented.is_empty() {
            return guard.unauthorized(None);
        }
        let granted = match verifier.verify(&presented).await {
            Ok(granted) => granted,
            Err(Refusal::Invalid(why)) => return guard.unauthorized(Some(&why)),
            Err(Refusal::Unavailable(why)) => {
                tracing::warn!(error = %why, "pax8-mcp: cannot check access tokens");
                return (StatusCode::SERVICE_UNAVAILABLE, "the authorization server's keys cannot be had")
                    .into_response();
            }
        };
        let has = |scope: &str| granted.scopes.iter().any(|s| s == scope);
        if !has(verifier.read_scope()) {
            return guard.insufficient(verifier.read_scope());
        }
        if request.method() == Method::POST && !has(verifier.write_scope()) {
            // A write tool's call needs the write scope: the body says which tools are called.
            let (parts, body) = request.into_parts();
            let Ok(bytes) = axum::body::to_bytes(body, MAX_RPC_BODY).await else {
                return (StatusCode::PAYLOAD_TOO_LARGE, "request too large").into_response();
            };
            if called_tools(&bytes).iter().any(|tool| guard.write_tools.contains(tool)) {
                return guard.insufficient(verifier.write_scope());
            }
            request = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
        }
    }
    let closing = request.method() == Method::DELETE;
    let mut response = next.run(request).await;
    // A session closed by DELETE is answered 202 by rmcp; the official SDKs expect 200 or 204
    // (the Python SDK logs "Session termination failed: 202").
    if closing && response.status() == StatusCode::ACCEPTED {
        *response.status_mut() = StatusCode::OK;
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_or_oauth_is_needed() {
        let local: SocketAddr = "127.0.0.1:8931".parse().unwrap();
        assert!(HttpOptions::oauth(OAuthConfig::new("https://issuer.example")).check(local).is_ok());
        let neither = HttpOptions { oauth: None, ..HttpOptions::oauth(OAuthConfig::new("https://issuer.example")) };
        assert!(neither.check(local).unwrap_err().contains("needs a bearer token or OAuth"));
    }

    fn options(public_url: Option<&str>) -> HttpOptions {
        HttpOptions {
            public_url: public_url.map(str::to_string),
            ..HttpOptions::new(pax8_ext::SecretString::new("0123456789abcdef".to_string()))
        }
    }

    #[test]
    fn beyond_loopback_only_with_a_public_url() {
        let public: SocketAddr = "0.0.0.0:8931".parse().unwrap();
        let local: SocketAddr = "127.0.0.1:8931".parse().unwrap();
        assert!(options(None).check(local).is_ok());
        assert!(options(None).check(public).unwrap_err().contains("not a loopback address"));
        assert!(options(Some("https://mcp.example.com/mcp")).check(public).is_ok());
        assert!(options(Some("ftp://mcp.example.com")).check(public).unwrap_err().contains("not an http(s) URL"));
        let short = HttpOptions::new(pax8_ext::SecretString::new("short".to_string()));
        assert!(short.check(local).unwrap_err().contains("16 characters"));
    }

    #[test]
    fn a_public_url_names_the_origin_and_host() {
        assert_eq!(
            public_origin("https://mcp.example.com:8443/mcp?x").unwrap(),
            ("https://mcp.example.com:8443".to_string(), "mcp.example.com:8443".to_string())
        );
        assert!(public_origin("https://user@mcp.example.com").is_err());
        assert!(public_origin("https://").is_err());
        assert!(public_origin("mcp.example.com").is_err());
    }
}
