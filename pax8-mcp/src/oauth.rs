//! MCP over HTTP as an OAuth 2.1 resource server (the MCP authorization spec): access tokens
//! from an authorization server are JWTs checked for signature (keys from the issuer's JWKS,
//! fetched and cached), issuer, audience and expiry; scopes say what a token may call.
//!
//! - A request without a token, or with one that fails a check, is answered 401 with
//!   `WWW-Authenticate: Bearer resource_metadata="…"` (and `error="invalid_token"` when one was
//!   presented), so a client discovers where to log in from the protected resource metadata
//!   (`/.well-known/oauth-protected-resource`, RFC 9728).
//! - Every call needs the read scope; a `tools/call` of a write tool (its preview included)
//!   also the write scope, else 403 `insufficient_scope`. Writes are still previewed and
//!   approval-gated by the tool policy: a scope only lets a client ask.
//! - Only asymmetric signatures are accepted (RS*, PS*, ES*, EdDSA); `alg: none` and HMAC are
//!   refused, so a public key can never be used as a shared secret.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Value, json};

/// How access tokens are checked.
#[derive(Clone, Debug)]
pub struct OAuthConfig {
    /// The authorization server's issuer identifier (the tokens' `iss`), e.g.
    /// `https://login.example.com/realms/msp`.
    pub issuer: String,
    /// The audience the tokens must name (`aud`); by default the resource (the MCP URL).
    pub audience: Option<String>,
    /// Where the signing keys are; by default the `jwks_uri` of the issuer's metadata
    /// (`/.well-known/oauth-authorization-server`, else `/.well-known/openid-configuration`).
    pub jwks_url: Option<String>,
    /// The scope every call needs.
    pub read_scope: String,
    /// The scope a write tool's call also needs.
    pub write_scope: String,
}

impl OAuthConfig {
    /// Tokens of `issuer`, with the scopes `pax8:read` and `pax8:write`.
    pub fn new(issuer: impl Into<String>) -> Self {
        OAuthConfig {
            issuer: issuer.into(),
            audience: None,
            jwks_url: None,
            read_scope: "pax8:read".into(),
            write_scope: "pax8:write".into(),
        }
    }
}

/// The signing algorithms accepted: asymmetric only.
const ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// How long fetched keys are used; an unknown key id fetches them again, at most every
/// [`REFETCH`].
const KEYS_TTL: Duration = Duration::from_secs(600);
const REFETCH: Duration = Duration::from_secs(30);

/// What a valid token grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Granted {
    pub scopes: Vec<String>,
}

/// Why a token was not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The token fails a check (401 `invalid_token`); the text says which, never the token.
    Invalid(String),
    /// The keys cannot be had (503: try again).
    Unavailable(String),
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    scp: Option<Value>,
}

/// Checks access tokens for one resource.
pub(crate) struct Verifier {
    config: OAuthConfig,
    resource: String,
    http: reqwest::Client,
    keys: tokio::sync::Mutex<Keys>,
}

#[derive(Default)]
struct Keys {
    fetched: Option<Instant>,
    set: Option<Arc<JwkSet>>,
}

impl Verifier {
    pub(crate) fn new(config: OAuthConfig, resource: String) -> Result<Verifier, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| format!("cannot build the JWKS client: {e}"))?;
        Ok(Verifier { config, resource, http, keys: tokio::sync::Mutex::new(Keys::default()) })
    }

    /// The audience tokens must name.
    fn audience(&self) -> &str {
        self.config.audience.as_deref().unwrap_or(&self.resource)
    }

    pub(crate) fn read_scope(&self) -> &str {
        &self.config.read_scope
    }

    pub(crate) fn write_scope(&self) -> &str {
        &self.config.write_scope
    }

    /// The protected resource metadata (RFC 9728).
    pub(crate) fn metadata(&self) -> Value {
        json!({
            "resource": self.resource,
            "authorization_servers": [self.config.issuer],
            "scopes_supported": [self.config.read_scope, self.config.write_scope],
            "bearer_methods_supported": ["header"],
            "resource_name": "pax8 MCP server",
        })
    }

    /// Checks `token`: signature, issuer, audience, expiry; its scopes.
    pub(crate) async fn verify(&self, token: &str) -> Result<Granted, Refusal> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| Refusal::Invalid("not a signed JWT with an accepted algorithm".into()))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(Refusal::Invalid(format!("the {:?} algorithm is not accepted", header.alg)));
        }
        let key = self.key(header.kid.as_deref()).await?;
        let mut validation = Validation::new(header.alg);
        validation.algorithms = vec![header.alg];
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[self.audience()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            Refusal::Invalid(
                match e.kind() {
                    ErrorKind::ExpiredSignature => "the token has expired",
                    ErrorKind::ImmatureSignature => "the token is not valid yet",
                    ErrorKind::InvalidAudience => "the token is for another audience",
                    ErrorKind::InvalidIssuer => "the token is from another issuer",
                    ErrorKind::InvalidSignature => "the token's signature does not verify",
                    ErrorKind::MissingRequiredClaim(_) => "the token lacks exp, iss or aud",
                    _ => "the token cannot be verified",
                }
                .to_string(),
            )
        })?;
        Ok(Granted { scopes: scopes(&data.claims) })
    }

    /// The key `kid` names (or the only key when there is no `kid`), fetching the set again
    /// when it is old or lacks the key.
    async fn key(&self, kid: Option<&str>) -> Result<DecodingKey, Refusal> {
        let mut keys = self.keys.lock().await;
        let stale = keys.fetched.is_none_or(|at| at.elapsed() >= KEYS_TTL);
        if stale || keys.set.as_ref().is_some_and(|set| pick(set, kid).is_none()) {
            let may_fetch = stale || keys.fetched.is_some_and(|at| at.elapsed() >= REFETCH);
            if may_fetch {
                match self.fetch_keys().await {
                    Ok(set) => *keys = Keys { fetched: Some(Instant::now()), set: Some(Arc::new(set)) },
                    Err(e) if keys.set.is_none() => return Err(Refusal::Unavailable(e)),
                    Err(e) => tracing::warn!(error = %e, "pax8-mcp: JWKS refresh failed; using the keys held"),
                }
            }
        }
        let set = keys.set.clone().ok_or_else(|| Refusal::Unavailable("no signing keys".into()))?;
        let jwk = pick(&set, kid).ok_or_else(|| Refusal::Invalid("the token's key is not the issuer's".into()))?;
        DecodingKey::from_jwk(jwk).map_err(|_| Refusal::Invalid("the issuer's key cannot be used".into()))
    }

    async fn fetch_keys(&self) -> Result<JwkSet, String> {
        let url = match &self.config.jwks_url {
            Some(url) => url.clone(),
            None => self.discover_jwks_url().await?,
        };
        let answer = self.http.get(&url).send().await.map_err(|e| format!("JWKS {url}: {e}"))?;
        if !answer.status().is_success() {
            return Err(format!("JWKS {url} answered {}", answer.status()));
        }
        answer.json::<JwkSet>().await.map_err(|e| format!("JWKS {url}: {e}"))
    }

    async fn discover_jwks_url(&self) -> Result<String, String> {
        let issuer = self.config.issuer.trim_end_matches('/');
        for well_known in ["oauth-authorization-server", "openid-configuration"] {
            let url = format!("{issuer}/.well-known/{well_known}");
            let Ok(answer) = self.http.get(&url).send().await else { continue };
            if !answer.status().is_success() {
                continue;
            }
            if let Ok(metadata) = answer.json::<Value>().await
                && let Some(jwks) = metadata.get("jwks_uri").and_then(Value::as_str)
            {
                return Ok(jwks.to_string());
            }
        }
        Err(format!("no jwks_uri in {issuer}'s metadata (give --oauth-jwks-url)"))
    }
}

fn pick<'a>(set: &'a JwkSet, kid: Option<&str>) -> Option<&'a jsonwebtoken::jwk::Jwk> {
    match kid {
        Some(kid) => set.find(kid),
        None if set.keys.len() == 1 => set.keys.first(),
        None => None,
    }
}

/// The scopes of a token: `scope` (space-separated, RFC 9068) or `scp` (a list or a string).
fn scopes(claims: &Claims) -> Vec<String> {
    let mut out: Vec<String> = claims.scope.as_deref().unwrap_or("").split_whitespace().map(str::to_string).collect();
    match &claims.scp {
        Some(Value::String(s)) => out.extend(s.split_whitespace().map(str::to_string)),
        Some(Value::Array(items)) => out.extend(items.iter().filter_map(Value::as_str).map(str::to_string)),
        _ => {}
    }
    out
}

/// The tools a JSON-RPC body calls (`tools/call`, in a batch too).
pub(crate) fn called_tools(body: &[u8]) -> Vec<String> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else { return Vec::new() };
    let messages = match value {
        Value::Array(items) => items,
        one => vec![one],
    };
    messages
        .iter()
        .filter(|m| m.get("method").and_then(Value::as_str) == Some("tools/call"))
        .filter_map(|m| m.pointer("/params/name").and_then(Value::as_str).map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_come_from_scope_or_scp() {
        let c = |v: Value| scopes(&serde_json::from_value::<Claims>(v).unwrap());
        assert_eq!(c(json!({"scope": "pax8:read  pax8:write"})), ["pax8:read", "pax8:write"]);
        assert_eq!(c(json!({"scp": ["pax8:read"]})), ["pax8:read"]);
        assert_eq!(c(json!({"scp": "a b"})), ["a", "b"]);
        assert!(c(json!({})).is_empty());
    }

    #[test]
    fn calls_are_found_in_single_messages_and_batches() {
        let one = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"order_execute"}}"#;
        assert_eq!(called_tools(one), ["order_execute"]);
        let batch = br#"[{"method":"tools/list"},{"method":"tools/call","params":{"name":"a"}},{"method":"tools/call","params":{"name":"b"}}]"#;
        assert_eq!(called_tools(batch), ["a", "b"]);
        assert!(called_tools(b"not json").is_empty());
        assert!(called_tools(br#"{"method":"initialize"}"#).is_empty());
    }
}
