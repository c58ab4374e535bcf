//! `pax8 subscriptions export`, `pax8 companies export` and `pax8 invoices export INVOICE` (its
//! items): every item as JSON lines or CSV,
//! streamed from the API (pages prefetched) or from the mirror database, one item in memory at a
//! time: constant memory at any size.

use std::io::Write;

use futures::{Stream, StreamExt};
use serde_json::Value;

use pax8_ext::views::{CompanySummary, InvoiceItemSummary, SubscriptionSummary};

use crate::ExportFormat;
use crate::fail::Failure;
use crate::output::csv_io;

/// Writes `items` (summaries as JSON objects) to stdout: one object a line, or CSV with the
/// header `keys` (values as written: numbers unrounded, absent values empty). Returns how many.
pub(super) async fn write<S>(items: S, keys: &[String], format: ExportFormat) -> Result<u64, Failure>
where
    S: Stream<Item = Result<Value, Failure>>,
{
    let out = std::io::BufWriter::new(std::io::stdout().lock());
    // CSV through the csv crate's own (bounded) buffer; JSON lines straight out.
    enum Sink<W: Write> {
        Csv(Box<csv::Writer<W>>),
        Lines(W),
    }
    let mut sink = match format {
        ExportFormat::Csv => {
            let mut w = Box::new(csv::Writer::from_writer(out));
            w.write_record(keys).map_err(broken)?;
            Sink::Csv(w)
        }
        ExportFormat::Jsonl => Sink::Lines(out),
    };
    let mut written = 0u64;
    futures::pin_mut!(items);
    while let Some(item) = items.next().await {
        let item = item?;
        let sent = match &mut sink {
            Sink::Csv(w) => w.write_record(keys.iter().map(|k| field(item.get(k)))).map_err(csv_io),
            Sink::Lines(out) => serde_json::to_writer(&mut *out, &item)
                .map_err(std::io::Error::other)
                .and_then(|()| out.write_all(b"\n")),
        };
        if closed(sent)? {
            return Ok(written);
        }
        written += 1;
    }
    let flushed = match sink {
        Sink::Csv(mut w) => w.flush(),
        Sink::Lines(mut out) => out.flush(),
    };
    closed(flushed)?;
    Ok(written)
}

/// Whether the reader went away (`| head`): the export stops quietly, as lists do.
fn closed(result: std::io::Result<()>) -> Result<bool, Failure> {
    match result {
        Ok(()) => Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(true),
        Err(e) => Err(broken(e.into())),
    }
}

fn field(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        // A whole number written as a float (quantities) without its `.0`.
        Some(Value::Number(n)) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
            _ => n.to_string(),
        },
        Some(other) => other.to_string(),
    }
}

/// The output failed (a full disk, ...).
fn broken(e: csv::Error) -> Failure {
    Failure { message: format!("export stopped: {e}"), code: crate::fail::code::USAGE }
}

/// The keys of a summary type, from its default item's JSON.
pub(super) fn keys_of(summary: &Value) -> Vec<String> {
    summary.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
}

/// What is exported.
#[derive(Debug, Clone, Copy)]
pub(super) enum Exported {
    Subscriptions,
    Companies,
    /// One invoice's items.
    InvoiceItems(uuid::Uuid),
}

/// A summary as the JSON object `--json` prints (plain data: serializing cannot fail).
fn summary<S: serde::Serialize>(summary: S) -> Value {
    serde_json::to_value(summary).unwrap_or(Value::Null)
}

/// A stored or listed item of `what` as its summary.
fn summarize(what: Exported, item: Value) -> Result<Value, serde_json::Error> {
    Ok(match what {
        Exported::Subscriptions => summary(SubscriptionSummary::from(&serde_json::from_value(item)?)),
        Exported::Companies => summary(CompanySummary::from(&serde_json::from_value(item)?)),
        Exported::InvoiceItems(_) => summary(InvoiceItemSummary::from(&serde_json::from_value(item)?)),
    })
}

/// Streams every item of `what` from the API (`client`) or, with `--from-mirror`, the mirror.
pub(super) async fn export(
    client: Option<&pax8_ext::Pax8Client>,
    what: Exported,
    source: &crate::ExportSource,
) -> Result<u64, Failure> {
    use pax8_api::partner::types::{Company, InvoiceItem, Subscription};
    // The CSV header: the keys of the summary of an empty item.
    let keys = keys_of(&match what {
        Exported::Subscriptions => summary(SubscriptionSummary::from(&Subscription::default())),
        Exported::Companies => summary(CompanySummary::from(&Company::default())),
        Exported::InvoiceItems(_) => summary(InvoiceItemSummary::from(&InvoiceItem::default())),
    });
    if source.from_mirror {
        let store = pax8_sync::Store::open(&source.db).await.map_err(|e| Failure::usage(e.to_string()))?;
        let mirror =
            |e: pax8_sync::SyncError| Failure { message: format!("mirror: {e}"), code: crate::fail::code::API };
        let (table, rows) = match what {
            Exported::Subscriptions => ("subscriptions", store.stored_rows("subscriptions", &source.tenant)),
            Exported::Companies => ("companies", store.stored_rows("companies", &source.tenant)),
            Exported::InvoiceItems(id) => ("invoice items", store.stored_invoice_items(&source.tenant, id)),
        };
        let rows = rows.map_err(mirror)?.map(move |row| {
            let bad =
                |e: serde_json::Error| Failure::usage(format!("mirror: a stored {table} row does not decode: {e}"));
            summarize(what, row.map_err(mirror)?).map_err(bad)
        });
        return write(rows, &keys, source.format).await;
    }
    let client = client.ok_or_else(|| Failure::usage("exporting from the API needs credentials"))?;
    match what {
        Exported::Subscriptions => {
            let items = client.subscriptions().list().items();
            write(
                items.map(|r| r.map(|i| summary(SubscriptionSummary::from(&i))).map_err(Failure::from)),
                &keys,
                source.format,
            )
            .await
        }
        Exported::Companies => {
            let items = client.companies().list().items();
            write(
                items.map(|r| r.map(|i| summary(CompanySummary::from(&i))).map_err(Failure::from)),
                &keys,
                source.format,
            )
            .await
        }
        Exported::InvoiceItems(id) => {
            let items = client.invoices().items(id).items();
            write(
                items.map(|r| r.map(|i| summary(InvoiceItemSummary::from(&i))).map_err(Failure::from)),
                &keys,
                source.format,
            )
            .await
        }
    }
}
