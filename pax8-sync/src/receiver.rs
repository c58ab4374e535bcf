//! The lifecycle webhook receiver: `POST /webhooks/pax8`.
//!
//! Checks `Authorization: Bearer <token>` (scheme in any case, token in constant time) from the
//! headers *before* reading any of the body (401 otherwise, nothing read or stored), reads the
//! body up to a bound (413), stores each raw event once (deduplicated on its id, or on the body's
//! sha256 when it has none), and applies subscription and company events to the mirror.
//! Malformed events (not JSON, no topic, no payload object, ids that are not UUIDs, quantities
//! that are not whole numbers from 0 to 1,000,000) are stored as `rejected` with the reason and
//! answered 422, and a redelivery of one gets the same answer. A database error is not a
//! rejection: nothing is stored, the answer is 503, and Pax8's redelivery applies the event;
//! but a value no database can hold is permanent, so it is stored as rejected and answered 422.
//! The raw body is kept exactly (`body_encoding` `utf8`, or `base64` for a body with a NUL
//! byte or invalid UTF-8); ids, topics and text columns hold U+FFFD for a NUL character.
//! Each event is one tracing line: id, topic, outcome, duration.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use pax8_api::partner::types::{Company, Subscription};
use pax8_ext::SecretString;
use serde_json::{Value, json};
use sha2::Digest;

use crate::rows::{company_record, stored, subscription_record};
use crate::vault::Vault;
use crate::write::{SnapshotSource, snapshot_all, storable, upsert};
use crate::{Store, SyncError};
use base64::Engine;

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
    Router::new()
        .route("/webhooks/pax8", post(receive))
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
    crate::listener::serve_on(listener, router(receiver), crate::listener::ServerLimits::default()).await
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
            tracing::warn!(outcome = "unauthorized", "webhook refused");
            return answer(StatusCode::UNAUTHORIZED, json!({"error": "invalid or missing bearer token"}));
        }
        Err(e) => {
            tracing::error!(error = %e, outcome = "unavailable", "webhook tokens unreadable");
            return answer(StatusCode::SERVICE_UNAVAILABLE, json!({"error": "storage unavailable, retry"}));
        }
    };
    let tenant = tenant.as_str();
    let started = std::time::Instant::now();
    let body = match axum::body::to_bytes(request.into_body(), r.max_body).await {
        Ok(body) => body,
        Err(_) => {
            tracing::warn!(outcome = "too_large", limit = r.max_body, "webhook refused");
            return answer(StatusCode::PAYLOAD_TOO_LARGE, json!({"error": "body too large or incomplete"}));
        }
    };
    let result = handle(&r.store, tenant, &body).await;
    let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match result {
        Ok(handled) => {
            let (id, outcome) = handled.summary();
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
            tracing::error!(tenant, error = %e, outcome = "unavailable", duration_ms = ms, "webhook event not stored");
            answer(StatusCode::SERVICE_UNAVAILABLE, json!({"error": "storage unavailable, retry"}))
        }
    }
}

/// What became of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// Stored and applied to the mirror.
    Applied { id: String, topic: String },
    /// Stored; its topic changes nothing in the mirror.
    Stored { id: String, topic: String },
    /// Seen before and accepted then: not stored or applied again.
    Duplicate { id: String, topic: Option<String> },
    /// Stored as rejected (now or when first delivered), with the reason.
    Rejected { id: String, topic: Option<String>, reason: String },
}

impl Handled {
    /// The event id and the outcome's name.
    pub fn summary(&self) -> (&str, &'static str) {
        match self {
            Handled::Applied { id, .. } => (id, "applied"),
            Handled::Stored { id, .. } => (id, "stored"),
            Handled::Duplicate { id, .. } => (id, "duplicate"),
            Handled::Rejected { id, .. } => (id, "rejected"),
        }
    }

    /// The event's topic, if it had one.
    pub fn topic(&self) -> Option<&str> {
        match self {
            Handled::Applied { topic, .. } | Handled::Stored { topic, .. } => Some(topic),
            Handled::Duplicate { topic, .. } | Handled::Rejected { topic, .. } => topic.as_deref(),
        }
    }
}

/// Why an event could not be applied.
enum ApplyError {
    /// The event is wrong: stored as rejected.
    Invalid(String),
    /// The database failed: nothing is stored, the sender retries.
    Database(sqlx::Error),
}

impl From<String> for ApplyError {
    fn from(reason: String) -> Self {
        ApplyError::Invalid(reason)
    }
}

impl From<&str> for ApplyError {
    fn from(reason: &str) -> Self {
        ApplyError::Invalid(reason.to_string())
    }
}

impl From<sqlx::Error> for ApplyError {
    fn from(e: sqlx::Error) -> Self {
        ApplyError::Database(e)
    }
}

/// The largest seat count accepted from an event.
pub const MAX_QUANTITY: i64 = 1_000_000;

/// A quantity that is a whole number from 0 to [`MAX_QUANTITY`], or absent.
fn quantity(payload: &Value) -> Result<Option<f64>, String> {
    let Some(value) = field(payload, &["quantity"]) else { return Ok(None) };
    let whole =
        value.as_i64().or_else(|| value.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 1e15).map(|f| f as i64));
    match whole {
        Some(n) if (0..=MAX_QUANTITY).contains(&n) => Ok(Some(n as f64)),
        _ => Err(format!("quantity {value} is not a whole number from 0 to {MAX_QUANTITY}")),
    }
}

/// One received event as `webhook_events` keeps it.
struct Event<'a> {
    tenant: &'a str,
    id: String,
    received_at: String,
    topic: Option<String>,
    body: &'a [u8],
}

impl Event<'_> {
    /// Inserts the event unless its id is stored already; whether it was inserted.
    async fn insert(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        status: &str,
        reason: Option<&str>,
    ) -> Result<bool, sqlx::Error> {
        let (body, encoding) = faithful(self.body);
        let inserted = sqlx::query(
            "INSERT INTO webhook_events (tenant, event_id, received_at, topic, status, reason, body, body_encoding) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant, event_id) DO NOTHING",
        )
        .bind(self.tenant.to_string())
        .bind(self.id.clone())
        .bind(self.received_at.clone())
        .bind(self.topic.clone())
        .bind(status.to_string())
        .bind(reason.map(str::to_string))
        .bind(body)
        .bind(encoding)
        .execute(&mut **tx)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }
}

/// The body as a text column holds it exactly: itself when it is UTF-8 without NUL, otherwise
/// standard base64; with the encoding's name.
pub(crate) fn faithful(body: &[u8]) -> (String, &'static str) {
    match std::str::from_utf8(body) {
        Ok(text) if !text.contains('\0') => (text.to_string(), "utf8"),
        _ => (base64::engine::general_purpose::STANDARD.encode(body), "base64"),
    }
}

/// Whether a database error is about the value itself (it would fail again on every
/// redelivery): PostgreSQL's data exceptions (SQLSTATE class 22), SQLite's too-big and
/// type-mismatch errors.
fn permanent(e: &sqlx::Error) -> bool {
    let code = e.as_database_error().and_then(|d| d.code());
    code.is_some_and(|c| c.starts_with("22") || c == "18" || c == "20")
}

/// Stores and applies one raw event body of `tenant`.
pub async fn handle(store: &Store, tenant: &str, body: &[u8]) -> Result<Handled, SyncError> {
    let digest: String = sha2::Sha256::digest(body).iter().map(|b| format!("{b:02x}")).collect();
    let parsed: Result<Value, _> = serde_json::from_slice(body);
    let event_id = parsed
        .as_ref()
        .ok()
        .and_then(|v| v.get("id").or(v.get("eventId")).and_then(Value::as_str).map(str::to_string))
        .unwrap_or(digest);
    let event_id = storable(&event_id);
    let now = chrono::Utc::now().to_rfc3339();
    let (topic, payload, problem) = match &parsed {
        Err(e) => (None, Value::Null, Some(format!("not JSON: {e}"))),
        Ok(v) => {
            let topic = v.pointer("/webhookTopic/topic").or(v.get("topic")).and_then(Value::as_str).map(storable);
            let payload = v.get("payloadData").or(v.get("data")).cloned().unwrap_or(Value::Null);
            let problem = match (&topic, payload.is_object()) {
                (None, _) => Some("no topic (webhookTopic.topic)".to_string()),
                (_, false) => Some("no payloadData object".to_string()),
                _ => None,
            };
            (topic, payload, problem)
        }
    };
    let mut tx = store.begin_keyed().await?;
    let status = if problem.is_some() { "rejected" } else { "received" };
    let event = Event { tenant, id: event_id.clone(), received_at: now, topic: topic.clone(), body };
    let inserted = event.insert(&mut tx, status, problem.as_deref()).await?;
    if !inserted {
        // Seen before: answer as the first delivery was answered.
        let row = sqlx::query("SELECT status, reason, topic FROM webhook_events WHERE tenant = $1 AND event_id = $2")
            .bind(tenant.to_string())
            .bind(event_id.clone())
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        let status: String = sqlx::Row::try_get(&row, "status")?;
        let topic: Option<String> = sqlx::Row::try_get(&row, "topic")?;
        if status == "rejected" {
            let reason: Option<String> = sqlx::Row::try_get(&row, "reason")?;
            return Ok(Handled::Rejected { id: event_id, topic, reason: reason.unwrap_or_default() });
        }
        return Ok(Handled::Duplicate { id: event_id, topic });
    }
    if let Some(reason) = problem {
        tx.commit().await?;
        return Ok(Handled::Rejected { id: event_id, topic, reason });
    }
    let topic = topic.unwrap_or_default();
    let outcome = apply(&mut tx, tenant, &event_id, &topic, &payload).await;
    let (status, reason, handled) = match outcome {
        Ok(true) => ("applied", None, Handled::Applied { id: event_id.clone(), topic }),
        Ok(false) => ("stored", None, Handled::Stored { id: event_id.clone(), topic }),
        Err(ApplyError::Invalid(reason)) => {
            ("rejected", Some(reason.clone()), Handled::Rejected { id: event_id.clone(), topic: Some(topic), reason })
        }
        // A value no database can hold is as permanent as a malformed event: stored as
        // rejected (in a transaction of its own) and answered 422, not 503 for ever.
        Err(ApplyError::Database(e)) if permanent(&e) => {
            drop(tx);
            let reason = storable(&format!("the event cannot be stored in the mirror: {e}"));
            let mut tx = store.begin_keyed().await?;
            event.insert(&mut tx, "rejected", Some(&reason)).await?;
            tx.commit().await?;
            return Ok(Handled::Rejected { id: event_id.clone(), topic: Some(topic), reason });
        }
        // Dropping the transaction rolls the insert back: the redelivery starts afresh.
        Err(ApplyError::Database(e)) => return Err(e.into()),
    };
    sqlx::query("UPDATE webhook_events SET status = $1, reason = $2 WHERE tenant = $3 AND event_id = $4")
        .bind(status.to_string())
        .bind(reason)
        .bind(tenant.to_string())
        .bind(event_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(handled)
}

fn field<'a>(payload: &'a Value, names: &[&str]) -> Option<&'a Value> {
    names.iter().find_map(|n| payload.get(*n)).filter(|v| !v.is_null())
}

/// Applies an event to the mirror; Ok(false) when the topic changes nothing.
///
/// The event's fields are merged into the stored object, which is decoded as the API's type and
/// written through the same path as a sync (`write::upsert`): `data`, the typed columns and
/// the hash change together, and a subscription gains a snapshot with source `webhook`. The
/// receiver needs no Pax8 credentials, so it does not fetch the object; the next sync replaces
/// the row with the API's version if it differs (and only then reports it updated).
async fn apply(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    tenant: &str,
    event_id: &str,
    topic: &str,
    payload: &Value,
) -> Result<bool, ApplyError> {
    let db = ApplyError::Database;
    if topic.starts_with("SUBSCRIPTION_") {
        let id = field(payload, &["subscriptionId", "id"])
            .and_then(Value::as_str)
            .ok_or("no subscriptionId in payloadData")?;
        let id = uuid::Uuid::parse_str(id).map_err(|_| format!("subscriptionId `{id}` is not a UUID"))?;
        quantity(payload)?;
        let mut merged =
            merge(stored(tx, tenant, "subscriptions", id).await.map_err(db)?, payload, "subscriptionId", id);
        if topic == "SUBSCRIPTION_CANCELLED" {
            merged["status"] = Value::from("Cancelled");
        }
        let subscription: Subscription =
            serde_json::from_value(merged).map_err(|e| format!("payloadData does not describe a subscription: {e}"))?;
        let record = subscription_record(&subscription).ok_or("no subscriptionId in payloadData")?;
        upsert(tx, tenant, record, None).await.map_err(db)?;
        snapshot_all(
            tx,
            tenant,
            &format!("webhook:{event_id}"),
            chrono::Utc::now(),
            &[(id.to_string(), &subscription)],
            SnapshotSource::Webhook,
        )
        .await
        .map_err(db)?;
        return Ok(true);
    }
    if topic.starts_with("COMPANY_") {
        let id = field(payload, &["companyId", "id"]).and_then(Value::as_str).ok_or("no companyId in payloadData")?;
        let id = uuid::Uuid::parse_str(id).map_err(|_| format!("companyId `{id}` is not a UUID"))?;
        let before = stored(tx, tenant, "companies", id).await.map_err(db)?;
        if before.is_none() && field(payload, &["name"]).is_none() {
            return Err("a new company needs a name".into());
        }
        let mut merged = merge(before, payload, "companyId", id);
        // The address may come later (a sync fills it): an empty one until then.
        if merged.get("address").is_none_or(Value::is_null) {
            merged["address"] = Value::Object(Default::default());
        }
        let company: Company =
            serde_json::from_value(merged).map_err(|e| format!("payloadData does not describe a company: {e}"))?;
        let record = company_record(&company).ok_or("no companyId in payloadData")?;
        upsert(tx, tenant, record, None).await.map_err(db)?;
        // Its contacts may have changed too: the next incremental sync re-reads them.
        sqlx::query("UPDATE companies SET contacts_read_for = NULL WHERE tenant = $1 AND id = $2")
            .bind(tenant.to_string())
            .bind(id.to_string())
            .execute(&mut **tx)
            .await
            .map_err(db)?;
        return Ok(true);
    }
    Ok(false)
}

/// `before` with every non-null field of `payload` laid over it; the event's own id field
/// (`subscriptionId`, `companyId`) becomes the object's `id`.
fn merge(before: Option<serde_json::Map<String, Value>>, payload: &Value, id_field: &str, id: uuid::Uuid) -> Value {
    let mut merged = before.unwrap_or_default();
    if let Some(fields) = payload.as_object() {
        for (name, value) in fields {
            if name != id_field && !value.is_null() {
                merged.insert(name.clone(), value.clone());
            }
        }
    }
    merged.insert("id".into(), Value::from(id.to_string()));
    Value::Object(merged)
}

#[cfg(test)]
mod tests {
    use super::{constant_time_eq, merge};
    use serde_json::json;

    #[test]
    fn an_event_lays_its_values_over_the_stored_object_but_never_its_nulls_or_its_id_field() {
        let id = uuid::Uuid::from_u128(7);
        let before = json!({"id": id, "quantity": 5, "price": 19.99, "status": "Active"});
        let payload = json!({"subscriptionId": id, "quantity": 9, "price": null});
        let merged = merge(before.as_object().cloned(), &payload, "subscriptionId", id);
        assert_eq!(merged, json!({"id": id.to_string(), "quantity": 9, "price": 19.99, "status": "Active"}));
    }

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
