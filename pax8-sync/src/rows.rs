//! Mirror rows as values: a [`Record`] is a row's table, id, typed columns and whole object as
//! JSON, built here from each API type; `crate::write` stores them. Amounts are decimals
//! ([`money`]), bound as decimal text into NUMERIC columns.

use pax8_api::partner::types::{Company, Contact, Invoice, InvoiceItem, Product, Subscription, UsageSummary};
use rust_decimal::Decimal;
use serde::Serialize;
use sha2::Digest;
use sqlx::{Any, Row, Transaction};

use crate::store::dyn_query;

/// A value bound to a column.
pub(crate) enum Val {
    Text(Option<String>),
    Num(Option<f64>),
    /// An amount, bound as decimal text into a NUMERIC column.
    Money(Option<Decimal>),
}

/// One mirror row: its table, id, typed columns, the whole object as JSON and that JSON's hash
/// (computed where the record is built, which may be off the writer's path).
pub(crate) struct Record {
    pub(crate) table: &'static str,
    pub(crate) id: String,
    pub(crate) columns: Vec<(&'static str, Val)>,
    pub(crate) data: String,
    pub(crate) hash: String,
}

impl Record {
    pub(crate) fn new(table: &'static str, id: String, columns: Vec<(&'static str, Val)>, data: String) -> Record {
        let hash = sha256_hex(data.as_bytes());
        Record { table, id, columns, data, hash }
    }
}

/// SHA-256 of `bytes` in lowercase hex (one allocation): a row's hash, an event body's digest.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", sha2::Sha256::digest(bytes))
}

pub(crate) fn text<T: ToString>(v: Option<T>) -> Val {
    Val::Text(v.map(|x| x.to_string()))
}

/// An amount the API sent as a JSON number: the decimal it was written as (`pax8_ext::money`).
/// Not-a-number, infinities and values out of range are stored as absent.
pub(crate) fn decimal(v: Option<f64>) -> Option<Decimal> {
    pax8_ext::money::exact(v)
}

pub(crate) fn money(v: Option<f64>) -> Val {
    Val::Money(decimal(v))
}

pub(crate) fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// The mirror row of a company (None without an id).
pub(crate) fn company_record(c: &Company) -> Option<Record> {
    Some(Record::new(
        "companies",
        c.id?.to_string(),
        vec![
            ("name", Val::Text(Some(c.name.clone()))),
            ("status", text(c.status.as_ref())),
            ("city", text(c.address.city.as_ref())),
            ("country", text(c.address.country.as_ref())),
        ],
        json(c),
    ))
}

/// The mirror row of a subscription (None without an id).
/// (The typed columns are pax8-ext's `SubscriptionSummary` fields, under the same names.)
pub(crate) fn subscription_record(s: &Subscription) -> Option<Record> {
    let v = pax8_ext::views::SubscriptionSummary::from(s);
    Some(Record::new(
        "subscriptions",
        v.id?.to_string(),
        vec![
            ("company_id", text(v.company_id)),
            ("product_id", text(v.product_id)),
            ("product_name", text(v.product_name)),
            ("quantity", Val::Num(v.quantity)),
            ("price", Val::Money(v.price)),
            ("partner_cost", Val::Money(v.partner_cost)),
            ("billing_term", text(v.billing_term)),
            ("status", text(v.status)),
            ("commitment_end", text(pax8_ext::insights::commitment_end(s).map(|d| d.to_rfc3339()))),
        ],
        json(s),
    ))
}

/// The mirror row of a contact of `company` (None without an id).
pub(crate) fn contact_record(company: uuid::Uuid, x: &Contact) -> Option<Record> {
    Some(Record::new(
        "contacts",
        x.id?.to_string(),
        vec![
            ("company_id", Val::Text(Some(company.to_string()))),
            ("name", Val::Text(Some(format!("{} {}", x.first_name, x.last_name)))),
            ("email", Val::Text(Some(x.email.clone()))),
        ],
        json(x),
    ))
}

/// The mirror row of a product (None without an id).
pub(crate) fn product_record(p: &Product) -> Option<Record> {
    Some(Record::new(
        "products",
        p.id?.to_string(),
        vec![("name", text(p.name.as_ref())), ("vendor", text(p.vendor_name.as_ref())), ("sku", text(p.sku.as_ref()))],
        json(p),
    ))
}

/// The mirror row of an invoice (None without an id).
pub(crate) fn invoice_record(i: &Invoice) -> Option<Record> {
    Some(Record::new(
        "invoices",
        i.id?.to_string(),
        vec![
            ("invoice_date", text(i.invoice_date)),
            ("status", text(i.status.as_ref())),
            ("total", money(i.total)),
            ("balance", money(i.balance)),
        ],
        json(i),
    ))
}

/// The mirror row of an item of `invoice` (None without an id).
pub(crate) fn invoice_item_record(invoice: uuid::Uuid, it: &InvoiceItem) -> Option<Record> {
    Some(Record::new(
        "invoice_items",
        it.id?.to_string(),
        vec![
            ("invoice_id", Val::Text(Some(invoice.to_string()))),
            ("company_id", text(it.company_id)),
            ("subscription_id", text(it.subscription_id)),
            ("product_name", text(it.product_name.as_ref())),
            ("quantity", Val::Num(it.quantity)),
            ("cost_total", money(it.cost_total)),
            ("total", money(it.total)),
        ],
        json(it),
    ))
}

/// The mirror row of a usage summary of `subscription` (None without an id).
pub(crate) fn usage_record(subscription: uuid::Uuid, u: &UsageSummary) -> Option<Record> {
    Some(Record::new(
        "usage_summaries",
        u.id?.to_string(),
        vec![
            ("subscription_id", Val::Text(Some(subscription.to_string()))),
            ("company_id", text(u.company_id)),
            ("resource_group", text(u.resource_group.as_ref())),
            ("current_charges", money(u.current_charges)),
        ],
        json(u),
    ))
}

/// The stored object of a mirror row of `tenant`, if there is one and it is a JSON object.
pub(crate) async fn stored(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    table: &str,
    id: uuid::Uuid,
) -> Result<Option<serde_json::Map<String, serde_json::Value>>, sqlx::Error> {
    let row = dyn_query(format!("SELECT data FROM {table} WHERE tenant = $1 AND id = $2"))
        .bind(tenant.to_string())
        .bind(id.to_string())
        .fetch_optional(&mut **tx)
        .await?;
    let data: Option<String> = match row {
        Some(row) => row.try_get("data")?,
        None => None,
    };
    Ok(data.and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok()).and_then(|v| match v {
        serde_json::Value::Object(map) => Some(map),
        _ => None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_sha256_in_lowercase_hex_as_stored_before() {
        // Every stored row's hash has this form: a new one must equal it for unchanged data.
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(sha256_hex(b"").len(), 64);
        let record = Record::new("t", "1".into(), Vec::new(), "abc".into());
        assert_eq!(record.hash, sha256_hex(b"abc"), "a record carries the hash of its data");
    }

    #[test]
    fn amounts_are_the_decimals_they_were_written_as() {
        for (sent, stored) in
            [(19.99, "19.99"), (649.8, "649.8"), (0.13, "0.13"), (1200.0, "1200"), (85429.34, "85429.34")]
        {
            assert_eq!(decimal(Some(sent)).map(|d| d.to_string()).as_deref(), Some(stored), "{sent}");
        }
        for absurd in [f64::NAN, f64::INFINITY, 1e300] {
            assert!(decimal(Some(absurd)).is_none(), "{absurd}");
        }
        assert!(matches!(money(None), Val::Money(None)));
    }
}
