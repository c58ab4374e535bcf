//! The lifecycle webhook receiver: `POST /webhooks/pax8`.
//!
//! Checks `Authorization: Bearer <token>` in constant time (401 otherwise, nothing stored), bounds
//! the body (413), stores each raw event once (deduplicated on its id, or on the body's sha256
//! when it has none), answers 2xx at once, and applies subscription and company events to the
//! mirror. Malformed events are stored as `rejected` with the reason and answered 422.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use pax8_ext::SecretString;
use serde_json::{Value, json};
use sha2::Digest;

use crate::{Store, SyncError};

/// The largest body accepted by default (1 MiB).
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;

/// Receiver settings.
#[derive(Clone, Debug)]
pub struct Receiver {
    /// The mirror events are applied to.
    pub store: Store,
    /// The bearer token Pax8 sends (set when registering the webhook).
    pub token: SecretString,
    /// Body size limit.
    pub max_body: usize,
}

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
    let limit = receiver.max_body;
    Router::new().route("/webhooks/pax8", post(receive)).layer(DefaultBodyLimit::max(limit)).with_state(receiver)
}

/// Serves the receiver on `addr` until the process ends.
pub async fn serve(receiver: Receiver, addr: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, router(receiver)).await
}

fn answer(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> Response {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !constant_time_eq(presented.as_bytes(), r.token.expose().as_bytes()) {
        return answer(StatusCode::UNAUTHORIZED, json!({"error": "invalid or missing bearer token"}));
    }
    match handle(&r.store, &body).await {
        Ok(Handled::Applied(id)) => answer(StatusCode::OK, json!({"event_id": id, "status": "applied"})),
        Ok(Handled::Stored(id)) => answer(StatusCode::OK, json!({"event_id": id, "status": "stored"})),
        Ok(Handled::Duplicate(id)) => answer(StatusCode::OK, json!({"event_id": id, "status": "duplicate"})),
        Ok(Handled::Rejected(id, reason)) => {
            answer(StatusCode::UNPROCESSABLE_ENTITY, json!({"event_id": id, "status": "rejected", "reason": reason}))
        }
        Err(e) => {
            tracing::error!(error = %e, "webhook event could not be stored");
            answer(StatusCode::SERVICE_UNAVAILABLE, json!({"error": "storage unavailable, retry"}))
        }
    }
}

/// What became of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// Stored and applied to the mirror.
    Applied(String),
    /// Stored; its topic changes nothing in the mirror.
    Stored(String),
    /// Seen before: not stored or applied again.
    Duplicate(String),
    /// Stored as rejected, with the reason.
    Rejected(String, String),
}

/// Stores and applies one raw event body.
pub async fn handle(store: &Store, body: &[u8]) -> Result<Handled, SyncError> {
    let digest: String = sha2::Sha256::digest(body).iter().map(|b| format!("{b:02x}")).collect();
    let parsed: Result<Value, _> = serde_json::from_slice(body);
    let event_id = parsed
        .as_ref()
        .ok()
        .and_then(|v| v.get("id").or(v.get("eventId")).and_then(Value::as_str).map(str::to_string))
        .unwrap_or(digest);
    let raw = String::from_utf8_lossy(body).into_owned();
    let now = chrono::Utc::now().to_rfc3339();
    let (topic, payload, problem) = match &parsed {
        Err(e) => (None, Value::Null, Some(format!("not JSON: {e}"))),
        Ok(v) => {
            let topic = v.pointer("/webhookTopic/topic").or(v.get("topic")).and_then(Value::as_str).map(str::to_string);
            let payload = v.get("payloadData").or(v.get("data")).cloned().unwrap_or(Value::Null);
            let problem = match (&topic, payload.is_object()) {
                (None, _) => Some("no topic (webhookTopic.topic)".to_string()),
                (_, false) => Some("no payloadData object".to_string()),
                _ => None,
            };
            (topic, payload, problem)
        }
    };
    let mut tx = store.pool.begin().await?;
    let status = if problem.is_some() { "rejected" } else { "received" };
    let inserted = sqlx::query(
        "INSERT INTO webhook_events (event_id, received_at, topic, status, reason, body) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(event_id.clone())
    .bind(now)
    .bind(topic.clone())
    .bind(status.to_string())
    .bind(problem.clone())
    .bind(raw)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        tx.commit().await?;
        return Ok(Handled::Duplicate(event_id));
    }
    if let Some(reason) = problem {
        tx.commit().await?;
        return Ok(Handled::Rejected(event_id, reason));
    }
    let topic = topic.unwrap_or_default();
    let outcome = apply(&mut tx, &topic, &payload).await;
    let (status, reason, handled) = match outcome {
        Ok(true) => ("applied", None, Handled::Applied(event_id.clone())),
        Ok(false) => ("stored", None, Handled::Stored(event_id.clone())),
        Err(reason) => ("rejected", Some(reason.clone()), Handled::Rejected(event_id.clone(), reason)),
    };
    sqlx::query("UPDATE webhook_events SET status = $1, reason = $2 WHERE event_id = $3")
        .bind(status.to_string())
        .bind(reason)
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
async fn apply(tx: &mut sqlx::Transaction<'_, sqlx::Any>, topic: &str, payload: &Value) -> Result<bool, String> {
    let db = |e: sqlx::Error| format!("database: {e}");
    if topic.starts_with("SUBSCRIPTION_") {
        let id = field(payload, &["subscriptionId", "id"])
            .and_then(Value::as_str)
            .ok_or("no subscriptionId in payloadData")?;
        uuid::Uuid::parse_str(id).map_err(|_| format!("subscriptionId `{id}` is not a UUID"))?;
        let status = if topic == "SUBSCRIPTION_CANCELLED" {
            Some("Cancelled".to_string())
        } else {
            field(payload, &["status"]).and_then(Value::as_str).map(str::to_string)
        };
        let quantity = field(payload, &["quantity"]).and_then(Value::as_f64);
        let price = field(payload, &["price"]).and_then(Value::as_f64);
        let company = field(payload, &["companyId"]).and_then(Value::as_str).map(str::to_string);
        let exists = sqlx::query("SELECT id FROM subscriptions WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&mut **tx)
            .await
            .map_err(db)?;
        if exists.is_some() {
            sqlx::query(
                "UPDATE subscriptions SET quantity = COALESCE($1, quantity), price = COALESCE($2, price), \
                 status = COALESCE($3, status), removed_at = NULL WHERE id = $4",
            )
            .bind(quantity)
            .bind(price)
            .bind(status)
            .bind(id.to_string())
            .execute(&mut **tx)
            .await
            .map_err(db)?;
        } else {
            let data = payload.to_string();
            let hash: String = sha2::Sha256::digest(data.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
            sqlx::query(
                "INSERT INTO subscriptions (id, company_id, quantity, price, status, data, hash) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id.to_string())
            .bind(company)
            .bind(quantity)
            .bind(price)
            .bind(status.or(Some("Active".into())))
            .bind(data)
            .bind(hash)
            .execute(&mut **tx)
            .await
            .map_err(db)?;
        }
        return Ok(true);
    }
    if topic.starts_with("COMPANY_") {
        let id = field(payload, &["companyId", "id"]).and_then(Value::as_str).ok_or("no companyId in payloadData")?;
        uuid::Uuid::parse_str(id).map_err(|_| format!("companyId `{id}` is not a UUID"))?;
        let name = field(payload, &["name"]).and_then(Value::as_str).map(str::to_string);
        let status = field(payload, &["status"]).and_then(Value::as_str).map(str::to_string);
        let exists = sqlx::query("SELECT id FROM companies WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&mut **tx)
            .await
            .map_err(db)?;
        if exists.is_some() {
            sqlx::query("UPDATE companies SET name = COALESCE($1, name), status = COALESCE($2, status), removed_at = NULL WHERE id = $3")
                .bind(name)
                .bind(status)
                .bind(id.to_string())
                .execute(&mut **tx)
                .await
                .map_err(db)?;
        } else {
            let name = name.ok_or("a new company needs a name")?;
            let data = payload.to_string();
            let hash: String = sha2::Sha256::digest(data.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
            sqlx::query("INSERT INTO companies (id, name, status, data, hash) VALUES ($1, $2, $3, $4, $5)")
                .bind(id.to_string())
                .bind(name)
                .bind(status)
                .bind(data)
                .bind(hash)
                .execute(&mut **tx)
                .await
                .map_err(db)?;
        }
        return Ok(true);
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
