//! The lifecycle webhook receiver: `POST /webhooks/pax8`.
//!
//! Checks `Authorization: Bearer <token>` (scheme in any case, token in constant time) from the
//! headers *before* reading any of the body (401 otherwise, nothing read or stored), reads the
//! body up to a bound (413), stores each raw event once (deduplicated on its id, or on the body's
//! sha256 when it has none), and applies subscription and company events to the mirror.
//! The body is the webhooks document's envelope (`WebhookPayload`, generated; only its topic
//! is required). Malformed events (not JSON, no topic, a payload that is not an object, ids that
//! are not UUIDs, quantities
//! that are not whole numbers from 0 to 1,000,000) are stored as `rejected` with the reason and
//! answered 422, and a redelivery of one gets the same answer. A database error is not a
//! rejection: nothing is stored, the answer is 503, and Pax8's redelivery applies the event;
//! but a value no database can hold is permanent, so it is stored as rejected and answered 422.
//! The raw body is kept exactly (`body_encoding` `utf8`, or `base64` for a body with a NUL
//! byte or invalid UTF-8); ids, topics and text columns hold U+FFFD for a NUL character.
//! Each event is one tracing line: id, topic, outcome, duration, and counts in the metrics
//! `pax8_webhook_events_total{topic, outcome}` and `pax8_webhook_apply_duration_seconds{outcome}`.
//!
//! `GET /healthz` and `GET /readyz` on the same listener (for a load balancer): ready when the
//! database answers with this build's schema (and the vault's tokens decrypt). A request that
//! needs the database while it is gone fails within [`Store::ACQUIRE_TIMEOUT`] with 503.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use pax8_ext::SecretString;
use serde_json::{Value, json};

use crate::vault::Vault;
use crate::{Store, SyncError};

mod events;

pub use events::{Handled, MAX_QUANTITY, handle};

/// The largest body accepted by default (1 MiB).
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;

/// Receiver settings.
#[derive(Clone, Debug)]
pub struct Receiver {
    /// The mirror events are applied to.
    pub store: Store,
    /// Each tenant's bearer token (set when registering its webhooks): the token an event
    /// presents says which tenant it belongs to.
    pub tenants: Vec<TenantToken>,
    /// Body size limit.
    pub max_body: usize,
    /// The vault whose tenants' webhook tokens are also accepted, re-read as they change.
    pub vault: Option<Arc<VaultTokens>>,
}

/// The webhook tokens of a vault's tenants, re-read every [`VaultTokens::REFRESH`] (and at
/// once, at most every [`VaultTokens::RETRY`], when a presented token matches none: a token
/// just set or rotated is accepted without a restart).
pub struct VaultTokens {
    vault: Vault,
    cache: tokio::sync::Mutex<(Option<Instant>, Vec<TenantToken>)>,
}

impl std::fmt::Debug for VaultTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultTokens").finish_non_exhaustive()
    }
}

impl VaultTokens {
    /// How long the tokens read are used.
    pub const REFRESH: Duration = Duration::from_secs(10);
    /// How soon an unknown token makes the tokens be read again.
    pub const RETRY: Duration = Duration::from_millis(500);

    async fn tenant_of(&self, presented: &str) -> Result<Option<String>, SyncError> {
        let mut cache = self.cache.lock().await;
        let age = cache.0.map(|at| at.elapsed());
        if age.is_none_or(|a| a >= Self::REFRESH) {
            *cache = (Some(Instant::now()), self.read().await?);
        }
        if let Some(found) = matching(&cache.1, presented) {
            return Ok(Some(found.to_string()));
        }
        if cache.0.is_some_and(|at| at.elapsed() >= Self::RETRY) {
            *cache = (Some(Instant::now()), self.read().await?);
            return Ok(matching(&cache.1, presented).map(str::to_string));
        }
        Ok(None)
    }

    async fn read(&self) -> Result<Vec<TenantToken>, SyncError> {
        let tokens = self.vault.webhook_tokens().await?;
        Ok(tokens.into_iter().map(|(tenant, token)| TenantToken { tenant, token }).collect())
    }
}

/// A tenant and the bearer token its webhooks send.
#[derive(Clone, Debug)]
pub struct TenantToken {
    /// The tenant (as `pax8 sync --tenant` names it).
    pub tenant: String,
    /// Its token.
    pub token: SecretString,
}

impl Receiver {
    /// A receiver for the default tenant, whose webhooks send `token`.
    pub fn new(store: Store, token: impl Into<SecretString>) -> Self {
        Receiver::for_tenants(store).tenant(crate::DEFAULT_TENANT, token)
    }

    /// A receiver with no tenant yet: add each with [`Receiver::tenant`].
    pub fn for_tenants(store: Store) -> Self {
        Receiver { store, tenants: Vec::new(), max_body: DEFAULT_MAX_BODY, vault: None }
    }

    /// A receiver for every tenant of `vault` that has a webhook token.
    pub fn from_vault(vault: Vault) -> Self {
        let store = vault.store().clone();
        let tokens = VaultTokens { vault, cache: tokio::sync::Mutex::new((None, Vec::new())) };
        Receiver { vault: Some(Arc::new(tokens)), ..Receiver::for_tenants(store) }
    }

    /// Also receives `tenant`'s events, which send `token`.
    pub fn tenant(mut self, tenant: impl Into<String>, token: impl Into<SecretString>) -> Self {
        self.tenants.push(TenantToken { tenant: tenant.into(), token: token.into() });
        self
    }

    /// What `/readyz` checks: the database (reachable, schema current) and, with a vault, that
    /// its tenants' webhook tokens are readable (the key decrypts them).
    pub fn readiness(&self) -> pax8_serve::Readiness {
        let store = self.store.clone();
        let ready = pax8_serve::Readiness::default().check("database", move || {
            let store = store.clone();
            async move { store.ready().await.map_err(|e| e.to_string()) }
        });
        match &self.vault {
            Some(tokens) => {
                let tokens = tokens.clone();
                ready.check("vault", move || {
                    let tokens = tokens.clone();
                    async move { tokens.read().await.map(|_| ()).map_err(|e| e.to_string()) }
                })
            }
            None => ready,
        }
    }

    /// The tenant whose token was presented (the fixed tenants, then the vault's).
    async fn tenant_of(&self, presented: &str) -> Result<Option<String>, SyncError> {
        if let Some(found) = matching(&self.tenants, presented) {
            return Ok(Some(found.to_string()));
        }
        match &self.vault {
            Some(vault) => vault.tenant_of(presented).await,
            None => Ok(None),
        }
    }
}

/// The tenant whose token was presented: every token is compared in full, in constant time, so
/// timing reveals neither a token nor which tenant matched.
fn matching<'a>(tenants: &'a [TenantToken], presented: &str) -> Option<&'a str> {
    let mut found = None;
    for t in tenants {
        let token = t.token.expose();
        if !token.is_empty() && constant_time_eq(presented.as_bytes(), token.as_bytes()) {
            found = Some(t.tenant.as_str());
        }
    }
    found
}

/// How long one request may take, headers to answer, body included (slow senders are cut off).
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// Requests handled at once; more wait (and meet the timeout), so memory stays bounded.
pub const MAX_CONCURRENT: usize = 64;

/// Equal without an early exit, so timing reveals nothing of the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        diff |= usize::from(a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0xff));
    }
    diff == 0
}

/// The axum router (mount it or use [`serve`]).
pub fn router(receiver: Receiver) -> Router {
    router_with_timeout(receiver, REQUEST_TIMEOUT)
}

/// [`router`] with another request timeout.
pub fn router_with_timeout(receiver: Receiver, timeout: std::time::Duration) -> Router {
    let health = pax8_serve::health::routes(receiver.readiness(), pax8_serve::health::Detail::Names);
    Router::new()
        .route("/webhooks/pax8", post(receive))
        .merge(health)
        .layer(tower::limit::ConcurrencyLimitLayer::new(MAX_CONCURRENT))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .with_state(receiver)
}

/// The token of `Authorization: Bearer <token>`, the scheme in any case.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Serves the receiver on `addr` until the process ends, within the default
/// [`ServerLimits`](crate::listener::ServerLimits) (connections, header and lifetime timeouts).
pub async fn serve(receiver: Receiver, addr: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    serve_until(receiver, listener, crate::listener::ServerLimits::default(), &pax8_serve::Shutdown::new()).await
}

/// Serves the receiver on `listener` within `limits` until `shutdown` begins; then stops
/// accepting, lets the events in flight be stored and answered (within `limits.grace`), closes
/// the pool and returns.
pub async fn serve_until(
    receiver: Receiver,
    listener: tokio::net::TcpListener,
    limits: crate::listener::ServerLimits,
    shutdown: &pax8_serve::Shutdown,
) -> std::io::Result<()> {
    let store = receiver.store.clone();
    let served = crate::listener::serve_until(listener, router(receiver), limits, shutdown).await;
    store.close().await;
    served
}

/// The `topic` label of an event's metrics: Pax8's topics are upper-case words, so anything
/// else (or anything long) is `other`, and no sender can grow the label set with made-up text.
fn topic_label(topic: Option<&str>) -> String {
    match topic {
        Some(t) if !t.is_empty() && t.len() <= 48 && t.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') => {
            t.to_string()
        }
        Some(_) => "other".to_string(),
        None => "none".to_string(),
    }
}

fn count_event(topic: String, outcome: &'static str, started: Instant) {
    metrics::counter!("pax8_webhook_events_total", "topic" => topic, "outcome" => outcome).increment(1);
    metrics::histogram!("pax8_webhook_apply_duration_seconds", "outcome" => outcome)
        .record(started.elapsed().as_secs_f64());
}

fn answer(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

async fn receive(State(r): State<Receiver>, request: Request) -> Response {
    // The headers decide before a byte of the body is read.
    let presented = bearer(request.headers()).unwrap_or("");
    let tenant = match r.tenant_of(presented).await {
        Ok(Some(tenant)) => tenant,
        Ok(None) => {
            metrics::counter!("pax8_webhook_events_total", "topic" => "none", "outcome" => "unauthorized").increment(1);
            tracing::warn!(outcome = "unauthorized", "webhook refused");
            return answer(StatusCode::UNAUTHORIZED, json!({"error": "invalid or missing bearer token"}));
        }
        Err(e) => {
            metrics::counter!("pax8_webhook_events_total", "topic" => "none", "outcome" => "unavailable").increment(1);
            tracing::error!(error = %e, outcome = "unavailable", "webhook tokens unreadable");
            return answer(StatusCode::SERVICE_UNAVAILABLE, json!({"error": "storage unavailable, retry"}));
        }
    };
    let tenant = tenant.as_str();
    let started = std::time::Instant::now();
    let body = match axum::body::to_bytes(request.into_body(), r.max_body).await {
        Ok(body) => body,
        Err(_) => {
            count_event("none".to_string(), "too_large", started);
            tracing::warn!(outcome = "too_large", limit = r.max_body, "webhook refused");
            return answer(StatusCode::PAYLOAD_TOO_LARGE, json!({"error": "body too large or incomplete"}));
        }
    };
    let result = handle(&r.store, tenant, &body).await;
    let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match result {
        Ok(handled) => {
            let (id, outcome) = handled.summary();
            count_event(topic_label(handled.topic()), outcome, started);
            tracing::info!(tenant, event_id = id, topic = handled.topic(), outcome, duration_ms = ms, "webhook event");
            let status = match handled {
                Handled::Rejected { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                _ => StatusCode::OK,
            };
            let mut body = json!({"event_id": id, "status": outcome});
            if let Handled::Rejected { reason, .. } = &handled {
                body["reason"] = json!(reason);
            }
            answer(status, body)
        }
        Err(e) => {
            count_event("none".to_string(), "unavailable", started);
            tracing::error!(tenant, error = %e, outcome = "unavailable", duration_ms = ms, "webhook event not stored");
            answer(StatusCode::SERVICE_UNAVAILABLE, json!({"error": "storage unavailable, retry"}))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{constant_time_eq, topic_label};

    #[test]
    fn topic_labels_are_bounded() {
        assert_eq!(topic_label(Some("SUBSCRIPTION_UPDATED")), "SUBSCRIPTION_UPDATED");
        assert_eq!(topic_label(Some("subscription_updated")), "other");
        assert_eq!(topic_label(Some(&"A".repeat(49))), "other");
        assert_eq!(topic_label(Some(&"A".repeat(48))), "A".repeat(48));
        assert_eq!(topic_label(Some("")), "other");
        assert_eq!(topic_label(None), "none");
    }

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
