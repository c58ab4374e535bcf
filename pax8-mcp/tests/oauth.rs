//! MCP over HTTP as an OAuth 2.1 resource server, against a local authorization server that
//! publishes its metadata and signing keys (JWKS): tokens signed by it are accepted by issuer,
//! audience, expiry and signature; scopes decide between the read tools and the writes.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use pax8_ext::Pax8Client;
use pax8_mcp::{HttpOptions, OAuthConfig, Options, Pax8Tools};
use pax8_sandbox::{Sandbox, SandboxConfig};
use serde_json::{Value, json};

/// The issuer's signing key (EC P-256, test only) and its public half as a JWK.
const ISSUER_KEY: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQguk+7Ty28biEPO48jgkbGxdXOPaXPTH6ifQTHZrnc4G2hRANCAAQywGqx7Lm+izCij6JvGYBm/+1NHf2vZBIKT/EPuy60IhUciLEdlxMS688AOY/VroTvjEFf0B0qdylSa0fyAnuf";
const ISSUER_X: &str = "MsBqsey5voswoo-ibxmAZv_tTR39r2QSCk_xD7sutCI";
const ISSUER_Y: &str = "FRyIsR2XExLrzwA5j9WuhO-MQV_QHSp3KVJrR_ICe58";
/// A key the issuer does not publish.
const OTHER_KEY: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgXa/2VFJ3VMLjBxjMUDOIt1/bx9gO4robV5WYbjCWQxyhRANCAARRYV+ecJBbTyo+FC5bxO4hjux7Idb1vVwGhXa7LbsFvWFh/rFNPnmoDIi+wzG3GG08mNl+/1YwqkCaksFK14ZL";

fn pem(der_base64: &str) -> EncodingKey {
    let pem = format!("-----BEGIN PRIVATE KEY-----\n{der_base64}\n-----END PRIVATE KEY-----\n");
    EncodingKey::from_ec_pem(pem.as_bytes()).unwrap()
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A local authorization server: metadata at the RFC 8414 address, keys at `/jwks`.
struct Issuer {
    url: String,
    jwks_fetches: Arc<AtomicUsize>,
}

async fn issuer() -> Issuer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let jwks_fetches = Arc::new(AtomicUsize::new(0));
    let metadata = json!({"issuer": url, "jwks_uri": format!("{url}/jwks"), "token_endpoint": format!("{url}/token")});
    let fetches = jwks_fetches.clone();
    let router = axum::Router::new()
        .route(
            "/.well-known/oauth-authorization-server",
            axum::routing::get(move || async move { axum::Json(metadata) }),
        )
        .route(
            "/jwks",
            axum::routing::get(move || {
                fetches.fetch_add(1, Ordering::SeqCst);
                async move {
                    axum::Json(json!({"keys": [{
                        "kty": "EC", "crv": "P-256", "kid": "k1", "use": "sig", "alg": "ES256",
                        "x": ISSUER_X, "y": ISSUER_Y,
                    }]}))
                }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Issuer { url, jwks_fetches }
}

struct Server {
    mcp: String,
    origin: String,
    http: reqwest::Client,
    _sandbox: Sandbox,
}

async fn server(issuer: &Issuer) -> Server {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let api = Pax8Client::builder()
        .client_id(sandbox.client_id())
        .client_secret(sandbox.client_secret())
        .base_url(sandbox.base_url())
        .no_rate_limit()
        .build()
        .unwrap();
    let tools = Pax8Tools::new(api, Options { allow_writes: true, ..Options::default() }).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let config = OAuthConfig { audience: Some("https://mcp.example.com/mcp".into()), ..OAuthConfig::new(&issuer.url) };
    tokio::spawn(pax8_mcp::serve_http_with(tools, listener, HttpOptions::oauth(config)));
    Server { mcp: format!("{origin}/mcp"), origin, http: reqwest::Client::new(), _sandbox: sandbox }
}

/// A token's claims: valid for an hour, for the MCP audience, from `issuer`, with `scope`.
fn claims(issuer: &Issuer, scope: &str) -> Value {
    json!({"iss": issuer.url, "aud": "https://mcp.example.com/mcp", "sub": "agent-1",
           "iat": now(), "exp": now() + 3600, "scope": scope})
}

fn sign(claims: &Value, key: &str) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("k1".into());
    jsonwebtoken::encode(&header, claims, &pem(key)).unwrap()
}

fn rpc(id: u64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

fn initialize() -> Value {
    rpc(
        1,
        "initialize",
        json!({"protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "oauth-test", "version": "1"}}),
    )
}

impl Server {
    async fn post(&self, token: Option<&str>, session: Option<&str>, body: &Value) -> reqwest::Response {
        let mut request = self
            .http
            .post(&self.mcp)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .json(body);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(session) = session {
            request = request.header("mcp-session-id", session).header("mcp-protocol-version", "2025-06-18");
        }
        request.send().await.unwrap()
    }

    /// Waits for the listener, then opens a session with `token`; its id.
    async fn session(&self, token: &str) -> String {
        for _ in 0..100 {
            if self.http.get(format!("{}/healthz", self.origin)).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let opened = self.post(Some(token), None, &initialize()).await;
        assert_eq!(opened.status(), 200, "{:?}", opened.text().await);
        let session = opened.headers()["mcp-session-id"].to_str().unwrap().to_string();
        let ack = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        assert!(self.post(Some(token), Some(&session), &ack).await.status().is_success());
        session
    }
}

fn challenge(response: &reqwest::Response) -> String {
    response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn access_tokens_are_checked_for_signature_issuer_audience_and_expiry() {
    let issuer = issuer().await;
    let server = server(&issuer).await;
    let read = sign(&claims(&issuer, "pax8:read"), ISSUER_KEY);
    server.session(&read).await;

    // No token: the challenge names the protected resource metadata, which names the issuer.
    let bare = server.post(None, None, &initialize()).await;
    assert_eq!(bare.status(), 401);
    let metadata_url = format!("{}/.well-known/oauth-protected-resource", server.origin);
    assert_eq!(challenge(&bare), format!("Bearer resource_metadata=\"{metadata_url}\""));
    let metadata: Value = server.http.get(&metadata_url).send().await.unwrap().json().await.unwrap();
    assert_eq!(metadata["authorization_servers"], json!([issuer.url]));
    assert_eq!(metadata["resource"], json!(server.mcp));
    assert_eq!(metadata["scopes_supported"], json!(["pax8:read", "pax8:write"]));
    let by_path: Value = server.http.get(format!("{metadata_url}/mcp")).send().await.unwrap().json().await.unwrap();
    assert_eq!(by_path, metadata, "the path-suffixed address of RFC 9728 answers the same");

    let mut expired = claims(&issuer, "pax8:read");
    expired["exp"] = json!(now() - 120);
    let mut other_audience = claims(&issuer, "pax8:read");
    other_audience["aud"] = json!("https://another.example.com/mcp");
    let mut other_issuer = claims(&issuer, "pax8:read");
    other_issuer["iss"] = json!("https://evil.example.com");
    let mut no_expiry = claims(&issuer, "pax8:read");
    no_expiry.as_object_mut().unwrap().remove("exp");
    let b64 = |v: &Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let unsigned = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&claims(&issuer, "pax8:read")));
    let hmac = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(&issuer, "pax8:read"),
        &EncodingKey::from_secret(ISSUER_X.as_bytes()).unwrap(),
    )
    .unwrap();
    let mut not_yet = claims(&issuer, "pax8:read");
    not_yet["nbf"] = json!(now() + 600);
    let unknown_kid = {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("k9".into());
        jsonwebtoken::encode(&header, &claims(&issuer, "pax8:read"), &pem(ISSUER_KEY)).unwrap()
    };
    let cases = [
        (sign(&expired, ISSUER_KEY), "expired"),
        (sign(&not_yet, ISSUER_KEY), "not valid yet"),
        // A key id the issuer does not publish: the keys were fetched moments ago, so they are
        // not fetched again for it (at most every 30 s).
        (unknown_kid, "key is not the issuer's"),
        (sign(&other_audience, ISSUER_KEY), "another audience"),
        (sign(&other_issuer, ISSUER_KEY), "another issuer"),
        (sign(&no_expiry, ISSUER_KEY), "lacks exp"),
        (sign(&claims(&issuer, "pax8:read"), OTHER_KEY), "signature does not verify"),
        (unsigned, "not a signed JWT"),
        (hmac, "HS256 algorithm is not accepted"),
        ("not-a-jwt".to_string(), "not a signed JWT"),
    ];
    for (token, why) in cases {
        let refused = server.post(Some(&token), None, &initialize()).await;
        assert_eq!(refused.status(), 401, "{why}");
        let challenge = challenge(&refused);
        assert!(challenge.starts_with(&format!("Bearer resource_metadata=\"{metadata_url}\"")), "{challenge}");
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
        let text = refused.text().await.unwrap();
        assert!(text.contains(why), "{why}: {text}");
        assert!(!text.contains(&token) && !challenge.contains(&token), "the token is never echoed");
    }
    // The keys were fetched once and then held, though most tokens failed.
    assert_eq!(issuer.jwks_fetches.load(Ordering::SeqCst), 1);
    // A token without a key id is checked against the issuer's only key.
    let no_kid =
        jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims(&issuer, "pax8:read"), &pem(ISSUER_KEY)).unwrap();
    assert_eq!(server.post(Some(&no_kid), None, &initialize()).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_read_scope_calls_the_read_tools_and_only_the_write_scope_the_writes() {
    let issuer = issuer().await;
    let server = server(&issuer).await;
    let read = sign(&claims(&issuer, "pax8:read"), ISSUER_KEY);
    let session = server.session(&read).await;
    let list = rpc(2, "tools/call", json!({"name": "companies_list", "arguments": {"size": 2}}));
    let listed = server.post(Some(&read), Some(&session), &list).await;
    assert_eq!(listed.status(), 200);
    assert!(listed.text().await.unwrap().contains("\"structuredContent\""));

    let preview = rpc(
        3,
        "tools/call",
        json!({"name": "subscription_cancel_preview", "arguments": {
        "subscription_id": "00000000-0000-0000-0000-000000000000"}}),
    );
    let refused = server.post(Some(&read), Some(&session), &preview).await;
    assert_eq!(refused.status(), 403);
    assert!(challenge(&refused).contains("error=\"insufficient_scope\", scope=\"pax8:write\""));
    let batch = json!([list, preview]);
    assert_eq!(server.post(Some(&read), Some(&session), &batch).await.status(), 403, "a write inside a batch");
    // A large call (3 MiB of arguments) is read whole to find the tool: refused for its scope,
    // not for its size (bodies up to 4 MiB are read).
    let padded = rpc(
        4,
        "tools/call",
        json!({"name": "subscription_cancel_preview", "arguments": {"padding": "x".repeat(3 << 20)}}),
    );
    assert_eq!(server.post(Some(&read), Some(&session), &padded).await.status(), 403);
    let huge = rpc(5, "tools/call", json!({"name": "companies_list", "arguments": {"padding": "x".repeat(5 << 20)}}));
    assert_eq!(server.post(Some(&read), Some(&session), &huge).await.status(), 413, "beyond 4 MiB");

    // With the write scope the call reaches the tool (which answers; nothing is written by a preview).
    let write = sign(&claims(&issuer, "pax8:read pax8:write"), ISSUER_KEY);
    let session = server.session(&write).await;
    let reached = server.post(Some(&write), Some(&session), &preview).await;
    assert_eq!(reached.status(), 200);
    let body = reached.text().await.unwrap();
    assert!(body.contains("\"result\""), "{body}");

    // Neither scope: nothing at all, the metadata says which scopes exist.
    let none = sign(&claims(&issuer, "profile"), ISSUER_KEY);
    let refused = server.post(Some(&none), None, &initialize()).await;
    assert_eq!(refused.status(), 403);
    assert!(challenge(&refused).contains("scope=\"pax8:read\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_issuer_without_reachable_keys_is_answered_503_not_401() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let gone = Issuer { url: format!("http://{dead}"), jwks_fetches: Arc::new(AtomicUsize::new(0)) };
    let server = server(&gone).await;
    let token = sign(&claims(&gone, "pax8:read"), ISSUER_KEY);
    for _ in 0..100 {
        if server.http.get(format!("{}/healthz", server.origin)).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let answer = server.post(Some(&token), None, &initialize()).await;
    assert_eq!(answer.status(), 503, "a client should retry, not log in again");
}
