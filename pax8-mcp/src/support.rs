//! What the tools share: result trimming, error messages, the audit log, confirmation tokens.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use pax8_api::partner::types::{Company, Invoice, InvoiceItem, Order, Pricing, Product, Subscription};
use pax8_ext::Error;
use pax8_ext::views::{
    CompanySummary, InvoiceItemSummary, InvoiceSummary, OrderSummary, ProductSummary, SubscriptionSummary,
};
use serde_json::{Value, json};

// ---------- results: pax8-ext's summary types, the same the CLI's --json prints ----------

pub fn company(c: &Company) -> Value {
    summary(CompanySummary::from(c))
}

pub fn subscription(s: &Subscription) -> Value {
    summary(SubscriptionSummary::from(s))
}

pub fn invoice(i: &Invoice) -> Value {
    summary(InvoiceSummary::from(i))
}

pub fn invoice_item(i: &InvoiceItem) -> Value {
    summary(InvoiceItemSummary::from(i))
}

pub fn product(p: &Product) -> Value {
    summary(ProductSummary::from(p))
}

pub fn pricing(p: &Pricing) -> Value {
    json!({"billing_term": p.billing_term, "commitment_term": p.commitment_term, "unit": p.unit_of_measurement,
           "rates": p.rates.iter().map(|r| json!({"from": r.start_quantity_range, "to": r.end_quantity_range,
               "partner_price": r.partner_buy_rate, "retail_price": r.suggested_retail_price,
               "charge_type": r.charge_type})).collect::<Vec<_>>()})
}

pub fn order(o: &Order) -> Value {
    summary(OrderSummary::from(o))
}

/// A summary as JSON (they are plain data: serializing cannot fail).
fn summary<T: serde::Serialize>(value: T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// A page of results with the paging an agent needs to ask for the next one: pax8-ext's
/// `PageOf`, the shape every listing has (the CLI's `--json` included).
pub fn page(items: Vec<Value>, page: u32, size: u32, total_pages: Option<u64>, total: Option<u64>) -> Value {
    summary(pax8_ext::views::PageOf { items, page, size, total_pages, total_elements: total })
}

// ---------- errors an agent can act on ----------

/// An actionable message for an API error.
pub fn explain(e: &Error) -> String {
    let body = e.body().and_then(|b| b.message.clone()).unwrap_or_default();
    let instance = e.body().and_then(|b| b.instance.clone());
    match e {
        Error::NotFound(_) => format!(
            "not found: {} does not exist; list the resource first to get a valid id",
            instance.unwrap_or_else(|| "the id".into())
        ),
        Error::RateLimited { retry_after, .. } => {
            format!("rate limited by Pax8: retry after {} s", retry_after.map_or(60, |d| d.as_secs()))
        }
        Error::Validation(_) => {
            let details: Vec<String> = e
                .body()
                .map(|b| {
                    b.details
                        .iter()
                        .map(|d| {
                            format!("{}: {}", d.field.as_deref().unwrap_or("?"), d.message.as_deref().unwrap_or(""))
                        })
                        .collect()
                })
                .unwrap_or_default();
            format!("the request was refused: {body} {}", details.join("; ")).trim().to_string()
        }
        Error::Authentication { .. } => {
            "authentication with Pax8 failed: the server's credentials are missing, wrong or revoked (ask the operator)"
                .into()
        }
        Error::Forbidden(_) => "these Pax8 credentials may not do this".into(),
        Error::InvalidRequest(m) => format!("invalid arguments: {m}"),
        Error::Timeout { .. } | Error::Transport { .. } => "Pax8 could not be reached; try again in a minute".into(),
        Error::OutcomeUnknown { .. } => {
            format!("unknown outcome: {e} Do not retry before checking whether the change was made.")
        }
        Error::AnswerUnreadable { .. } => format!("{e}. The change was made: do not retry."),
        other => format!("Pax8 error: {other}"),
    }
}

// ---------- audit log ----------

/// Appends one JSON line per tool call.
#[derive(Debug)]
pub struct Audit {
    file: Mutex<std::fs::File>,
}

/// Argument names whose values never reach the log.
const SECRET_KEYS: [&str; 5] = ["confirmation_token", "token", "secret", "password", "authorization"];

impl Audit {
    /// Opens (or creates) the log, readable and writable by its owner only.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(path)?;
        // An existing log keeps its mode on open: tighten it.
        #[cfg(unix)]
        file.set_permissions(<std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o600))?;
        Ok(Self { file: Mutex::new(file) })
    }

    /// One line: the tool, its arguments (secrets redacted), the policy decision, the outcome
    /// and the duration.
    pub fn record(&self, tool: &str, arguments: &Value, policy: &str, outcome: Result<(), &str>, duration: Duration) {
        let mut args = arguments.clone();
        if let Some(map) = args.as_object_mut() {
            for (k, v) in map.iter_mut() {
                if SECRET_KEYS.iter().any(|s| k.to_lowercase().contains(s)) {
                    *v = Value::from("[redacted]");
                }
            }
        }
        let line = json!({
            "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "tool": tool,
            "arguments": args,
            "policy": policy,
            "outcome": match outcome { Ok(()) => "ok".to_string(), Err(_) => "error".to_string() },
            "error": outcome.err(),
            "duration_ms": u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
        });
        let mut file = self.file.lock().expect("audit lock");
        let _ = writeln!(file, "{line}");
        let _ = file.flush();
    }
}

// ---------- confirmation tokens ----------

/// A previewed write waiting for its execute call.
#[derive(Debug)]
struct Pending {
    action: &'static str,
    arguments: Value,
    expires: Instant,
}

/// Single-use tokens binding an execute call to the exact preview.
#[derive(Debug, Default)]
pub struct Confirmations {
    pending: Mutex<HashMap<String, Pending>>,
}

/// How long a preview stays valid.
pub const CONFIRMATION_TTL: Duration = Duration::from_secs(600);

impl Confirmations {
    pub fn issue(&self, action: &'static str, arguments: Value) -> String {
        let bytes: [u8; 16] = rand::random();
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut pending = self.pending.lock().expect("confirmations lock");
        pending.retain(|_, p| p.expires > Instant::now());
        pending.insert(token.clone(), Pending { action, arguments, expires: Instant::now() + CONFIRMATION_TTL });
        token
    }

    /// Consumes `token` (valid or not) and checks it was issued for this action and arguments.
    pub fn redeem(&self, token: &str, action: &'static str, arguments: &Value) -> Result<(), String> {
        let found = self.pending.lock().expect("confirmations lock").remove(token);
        let Some(p) = found else {
            return Err("unknown or already used confirmation token: call the preview tool again".into());
        };
        if p.expires <= Instant::now() {
            return Err("the confirmation token expired: call the preview tool again".into());
        }
        if p.action != action || &p.arguments != arguments {
            return Err("the arguments differ from the preview this token confirmed: nothing was written, and the \
                 token is now used up (tokens are single-use); call the preview tool again with the arguments you want"
                .into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_single_use_and_bound_to_the_arguments() {
        let c = Confirmations::default();
        let args = json!({"subscription_id": "x", "quantity": 5});
        let t = c.issue("quantity", args.clone());
        let mismatch = c.redeem(&t, "quantity", &json!({"subscription_id": "x", "quantity": 6})).unwrap_err();
        assert!(mismatch.contains("used up") && mismatch.contains("nothing was written"), "{mismatch}");
        assert!(
            c.redeem(&t, "quantity", &args).unwrap_err().contains("already used"),
            "consumed by the failed attempt"
        );
        let t = c.issue("quantity", args.clone());
        assert!(c.redeem(&t, "cancel", &args).is_err(), "bound to the action");
        let t = c.issue("quantity", args.clone());
        assert!(c.redeem(&t, "quantity", &args).is_ok());
        assert!(c.redeem(&t, "quantity", &args).is_err(), "replay refused");
    }

    #[test]
    fn audit_lines_hide_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let audit = Audit::open(&path).unwrap();
        audit.record(
            "order_execute",
            &json!({"confirmation_token": "abc123", "quantity": 2}),
            "approve",
            Err("boom"),
            Duration::from_millis(5),
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let line: Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["arguments"]["confirmation_token"], "[redacted]");
        assert_eq!(line["arguments"]["quantity"], 2);
        assert_eq!(line["policy"], "approve");
        assert_eq!(
            (line["tool"].as_str(), line["outcome"].as_str(), line["error"].as_str()),
            (Some("order_execute"), Some("error"), Some("boom"))
        );
        assert!(!text.contains("abc123"));
    }
}
