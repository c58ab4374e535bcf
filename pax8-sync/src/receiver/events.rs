//! One event: stored once (its raw body kept exactly), checked, and applied to the mirror through
//! the sync's write path; what became of it ([`Handled`]).

use base64::Engine;
use pax8_api::partner::types::{Company, Subscription};
use pax8_api::webhooks::types::WebhookPayload;
use serde_json::Value;

use crate::rows::sha256_hex;
use crate::rows::{company_record, stored, subscription_record};
use crate::write::{SnapshotSource, snapshot_all, storable, upsert};
use crate::{Store, SyncError};

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
    // The delivery envelope as the webhooks document defines it (patched: only the topic is
    // required, see spec/patches/webhooks-event-envelope.json).
    let envelope = envelope(body);
    let event_id = match &envelope {
        Ok(e) => e.id.clone(),
        // A body that is JSON but no envelope still names its event when it has an `id`.
        Err(_) => serde_json::from_slice::<IdOnly>(body).ok().and_then(|b| b.id),
    };
    // Without an id, the body's digest names the event (a redelivery sends the same body).
    let event_id = event_id.unwrap_or_else(|| sha256_hex(body));
    let event_id = storable(&event_id);
    let now = chrono::Utc::now().to_rfc3339();
    let (topic, payload, problem) = match envelope {
        Err(reason) => (None, Value::Null, Some(reason)),
        Ok(e) => (Some(storable(&e.webhook_topic.topic)), Value::Object(e.payload_data), None),
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
    if let Handled::Applied { topic, .. } = &handled
        && topic.starts_with("SUBSCRIPTION_")
        && let Some(id) = field(&payload, &["subscriptionId", "id"]).and_then(Value::as_str)
        && let Ok(id) = uuid::Uuid::parse_str(id)
    {
        // A renewal plan this event shows done is confirmed; failing that is no reason to make
        // Pax8 deliver the event again (the next sync confirms it).
        if let Err(e) = store.confirm_plans(tenant, Some(id), "webhook").await {
            tracing::warn!(error = %e, "renewal plans not confirmed from the event; the next sync will");
        }
    }
    Ok(handled)
}

/// The `id` of a body that is not an envelope (other fields ignored).
#[derive(serde::Deserialize)]
struct IdOnly {
    id: Option<String>,
}

/// The envelope of a delivery, or why the body is not one: not JSON at all, or JSON without a
/// topic (`webhookTopic.topic`) or with a `payloadData` that is not an object (the serde path
/// says which).
fn envelope(body: &[u8]) -> Result<WebhookPayload, String> {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize::<_, WebhookPayload>(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            format!("not JSON: {inner}")
        } else {
            format!("not a Pax8 event (at {path}: {inner})")
        }
    })
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
            &[id.to_string()],
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
    use super::merge;
    use serde_json::json;

    #[test]
    fn an_event_lays_its_values_over_the_stored_object_but_never_its_nulls_or_its_id_field() {
        let id = uuid::Uuid::from_u128(7);
        let before = json!({"id": id, "quantity": 5, "price": 19.99, "status": "Active"});
        let payload = json!({"subscriptionId": id, "quantity": 9, "price": null});
        let merged = merge(before.as_object().cloned(), &payload, "subscriptionId", id);
        assert_eq!(merged, json!({"id": id.to_string(), "quantity": 9, "price": 19.99, "status": "Active"}));
    }
}
