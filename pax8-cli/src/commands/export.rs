//! `pax8 subscriptions export` and `pax8 companies export`: every item as JSON lines or CSV,
//! streamed from the API (pages prefetched) or from the mirror database, one item in memory at a
//! time: constant memory at any size.

use std::io::Write;

use futures::{Stream, StreamExt};
use serde_json::Value;

use crate::ExportFormat;
use crate::fail::Failure;

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

fn csv_io(e: csv::Error) -> std::io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => std::io::Error::other(format!("{other:?}")),
    }
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
}

/// Streams every item of `what` from the API (`client`) or, with `--from-mirror`, the mirror.
pub(super) async fn export(
    client: Option<&pax8_ext::Pax8Client>,
    what: Exported,
    source: &crate::ExportSource,
) -> Result<u64, Failure> {
    use pax8_api::partner::types::{Company, Subscription};
    use pax8_ext::views::{CompanySummary, SubscriptionSummary};
    let value = |v: Result<Value, Failure>| v;
    let summary_of_sub = |s: &Subscription| serde_json::to_value(SubscriptionSummary::from(s)).unwrap_or(Value::Null);
    let summary_of_company = |c: &Company| serde_json::to_value(CompanySummary::from(c)).unwrap_or(Value::Null);
    let keys = match what {
        Exported::Subscriptions => keys_of(&summary_of_sub(&Subscription::default())),
        Exported::Companies => keys_of(&summary_of_company(&Company::default())),
    };
    if source.from_mirror {
        let store = pax8_sync::Store::open(&source.db).await.map_err(|e| Failure::usage(e.to_string()))?;
        let table = match what {
            Exported::Subscriptions => "subscriptions",
            Exported::Companies => "companies",
        };
        let mirror =
            |e: pax8_sync::SyncError| Failure { message: format!("mirror: {e}"), code: crate::fail::code::API };
        let rows = store.stored_rows(table, &source.tenant).map_err(mirror)?.map(move |row| {
            let row = row.map_err(mirror)?;
            let bad =
                |e: serde_json::Error| Failure::usage(format!("mirror: a stored {table} row does not decode: {e}"));
            Ok(match what {
                Exported::Subscriptions => summary_of_sub(&serde_json::from_value(row).map_err(bad)?),
                Exported::Companies => summary_of_company(&serde_json::from_value(row).map_err(bad)?),
            })
        });
        return write(rows.map(value), &keys, source.format).await;
    }
    let client = client.ok_or_else(|| Failure::usage("exporting from the API needs credentials"))?;
    match what {
        Exported::Subscriptions => {
            let items = client
                .subscriptions()
                .list()
                .items()
                .map(move |r| r.map(|s| summary_of_sub(&s)).map_err(Failure::from));
            write(items, &keys, source.format).await
        }
        Exported::Companies => {
            let items = client
                .companies()
                .list()
                .items()
                .map(move |r| r.map(|c| summary_of_company(&c)).map_err(Failure::from));
            write(items, &keys, source.format).await
        }
    }
}
