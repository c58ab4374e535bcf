//! An invoice's items into the mirror: read page after page (each invoice's pages several at a
//! time) and written in parts of ten pages, each part by its own transaction ([`Part`]) while
//! the next is read, never collected, so memory does not follow the tenant's size. Each part
//! commits how far it read each invoice's items: a sync killed between parts resumes after the
//! last part committed.

use std::collections::HashMap;

use futures::StreamExt;
use pax8_api::partner::types::InvoiceItem;
use pax8_ext::{CallOptions, Pax8Client};
use uuid::Uuid;

use crate::checkpoint::{Checkpoint, checkpoints};
use crate::pages::{BuiltPages, built};
use crate::part::{InOrder, Part, PartWrite};
use crate::rows::{Record, invoice_item_record};
use crate::state::Run;
use crate::{Store, SyncError};

/// Pages of an invoice's items written per transaction while its pages stream in (2,000 items
/// at the default page size).
const PAGES_PER_PART: usize = 10;

/// The checkpoints of invoices' items: `invoice_items@<invoice id>`.
const RESOURCE_PREFIX: &str = "invoice_items@";

/// The checkpoint resource of `invoice`'s items.
fn resource(invoice: Uuid) -> String {
    format!("{RESOURCE_PREFIX}{invoice}")
}

/// Items a part holds (at least), at `page_size` items a page.
fn part_size(page_size: u32) -> usize {
    PAGES_PER_PART * page_size.max(1) as usize
}

/// The records of a part and how far it read each invoice it holds items of.
#[derive(Default)]
struct PartRead {
    records: Vec<Record>,
    read: Vec<Checkpoint>,
}

impl PartRead {
    /// `invoice`'s items are read up to page `next_page` (all of them when `done`).
    fn reached(&mut self, invoice: Uuid, next_page: u32, done: bool) {
        let resource = resource(invoice);
        match self.read.last_mut() {
            Some(last) if last.resource == resource => (last.next_page, last.done) = (next_page, done),
            _ => self.read.push(Checkpoint { resource, next_page, done }),
        }
    }
}

/// The invoice being read: its id, the page after the last one read, its pages.
type Reading = (Uuid, u32, BuiltPages<InvoiceItem>);

/// The items of invoices, read page after page (each invoice's pages several at a time).
struct Items<'c> {
    client: &'c Pax8Client,
    options: CallOptions,
    concurrency: usize,
    /// Each invoice with the page its items are read from.
    invoices: std::vec::IntoIter<(Uuid, u32)>,
    current: Option<Reading>,
    /// Items a page holds, and a part (at least).
    page_size: u32,
    part_size: usize,
}

impl Items<'_> {
    /// The records of the next items, at least `part_size` of them unless they are the last
    /// (none once every invoice's items were read).
    async fn next_part(&mut self) -> Result<PartRead, SyncError> {
        let mut part = PartRead::default();
        while part.records.len() < self.part_size {
            let (invoice, next_page, pages) = match &mut self.current {
                Some(current) => current,
                None => {
                    let Some((invoice, start)) = self.invoices.next() else { break };
                    let list = self.client.invoices().options(self.options.clone()).items(invoice);
                    let pages = list.page_size(self.page_size).starting_at(start).concurrency(self.concurrency).pages();
                    self.current.insert((invoice, start, built(pages, move |it| invoice_item_record(invoice, it))))
                }
            };
            match pages.next().await {
                Some(page) => {
                    let (page, records) = page?;
                    *next_page = page.number.saturating_add(1);
                    part.records.extend(records);
                    part.reached(*invoice, *next_page, false);
                }
                None => {
                    part.reached(*invoice, *next_page, true);
                    self.current = None;
                }
            }
        }
        Ok(part)
    }
}

/// `invoices`, each with the page its items are read from: after the pages an earlier run of
/// this sync committed (none of those whose items it read to the end).
async fn resume_points(store: &Store, sync_id: &str, invoices: Vec<Uuid>) -> Result<Vec<(Uuid, u32)>, SyncError> {
    let read: HashMap<String, Checkpoint> = checkpoints(store, sync_id, RESOURCE_PREFIX)
        .await?
        .into_iter()
        .map(|checkpoint| (checkpoint.resource.clone(), checkpoint))
        .collect();
    Ok(invoices
        .into_iter()
        .filter_map(|invoice| match read.get(&resource(invoice)) {
            Some(checkpoint) if checkpoint.done => None,
            Some(checkpoint) => Some((invoice, checkpoint.next_page)),
            None => Some((invoice, 0)),
        })
        .collect())
}

/// Reads the items of `invoices` and starts writing every part of them but the last, which it
/// returns (fewer than a part's items) to be written with their page and its checkpoint.
pub(crate) async fn write_parts<'r>(
    run: &mut Run<'r>,
    writing: &mut InOrder<'_>,
    committed: &mut impl FnMut(&mut Run<'r>, Part) -> Result<(), SyncError>,
    invoices: Vec<Uuid>,
) -> Result<Vec<Record>, SyncError> {
    // An invoice holds an item per subscription: its pages are read several at a time and
    // written PAGES_PER_PART pages at a time, never collected, so memory does not grow with the
    // tenant. While parts are written, the next is fetched and built: the database's work runs
    // beside ours. The write never waits for a request (on SQLite the shared token and rate
    // budget may need the one connection, which the write gives back when it commits).
    let reader = run.reader();
    let points = writing.beside(resume_points(reader.store, &reader.sync_id, invoices), run, committed).await??;
    let mut items = Items {
        client: reader.client,
        options: reader.tolerant,
        concurrency: reader.options.concurrency,
        invoices: points.into_iter(),
        current: None,
        page_size: reader.options.page_size,
        part_size: part_size(reader.options.page_size),
    };
    loop {
        let part = writing.beside(items.next_part(), run, committed).await??;
        if part.records.len() < items.part_size {
            return Ok(part.records);
        }
        let part = PartWrite { records: part.records, checkpoints: part.read, ..PartWrite::default() };
        writing.start(part, run, committed).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::Val;

    #[test]
    fn a_part_keeps_how_far_it_read_each_invoice() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let mut part = PartRead::default();
        part.reached(a, 1, false);
        part.reached(a, 2, false);
        part.reached(a, 2, true);
        part.reached(b, 1, false);
        let at = |invoice: Uuid, next_page, done| Checkpoint {
            resource: format!("invoice_items@{invoice}"),
            next_page,
            done,
        };
        assert_eq!(part.read, [at(a, 2, true), at(b, 1, false)], "one checkpoint an invoice, its last");
    }

    #[tokio::test]
    async fn a_resumed_sync_reads_each_invoice_s_items_after_its_committed_pages() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&format!("sqlite://{}", dir.path().join("resume.db").display())).await.unwrap();
        let (done, partly, other, new) =
            (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3), Uuid::from_u128(4));
        for (sync, invoice, next_page, done) in [("s1", done, 4, 1), ("s1", partly, 3, 0), ("s2", other, 7, 0)] {
            sqlx::query("INSERT INTO sync_checkpoints (sync_id, resource, next_page, done) VALUES ($1, $2, $3, $4)")
                .bind(sync)
                .bind(format!("invoice_items@{invoice}"))
                .bind(next_page)
                .bind(done)
                .execute(&store.pool)
                .await
                .unwrap();
        }
        let points = resume_points(&store, "s1", vec![done, partly, other, new]).await.unwrap();
        assert_eq!(points, [(partly, 3), (other, 0), (new, 0)], "done skipped, another sync's progress not this one's");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn invoice_items_come_in_parts_across_invoices() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 23);
        let sandbox =
            pax8_sandbox::Sandbox::start(pax8_sandbox::SandboxConfig { companies: 10, today, ..Default::default() })
                .await
                .unwrap();
        let client = Pax8Client::builder()
            .client_id(sandbox.client_id())
            .client_secret(sandbox.client_secret())
            .base_url(sandbox.base_url())
            .build()
            .unwrap();
        let invoices: Vec<Uuid> =
            client.invoices().list().collect_all().await.unwrap().iter().filter_map(|i| i.id).collect();
        let mut expected = Vec::new();
        for invoice in &invoices {
            let items = client.invoices().items(*invoice).collect_all().await.unwrap();
            expected.extend(items.iter().filter_map(|it| it.id.map(|id| (*invoice, id.to_string()))));
        }
        let mut items = Items {
            client: &client,
            options: CallOptions::default(),
            concurrency: 3,
            invoices: invoices.iter().map(|i| (*i, 0)).collect::<Vec<_>>().into_iter(),
            current: None,
            page_size: 15,
            part_size: 30,
        };
        let mut parts = Vec::new();
        loop {
            let part = items.next_part().await.unwrap().records;
            if part.is_empty() {
                break;
            }
            parts.push(part);
        }
        let (last, full) = parts.split_last().unwrap();
        assert!(full.len() > 2, "{} items make several parts", expected.len());
        assert_eq!(full[0].len(), 30, "a part ends as soon as it holds enough: two full pages");
        for part in full {
            assert!((30..45).contains(&part.len()), "a part is two pages of 15 or a little more: {}", part.len());
        }
        assert!(last.len() < 45);
        assert_eq!((part_size(200), part_size(15), part_size(0)), (2_000, 150, 10), "ten pages a part");
        let got: Vec<(Uuid, String)> = parts
            .iter()
            .flatten()
            .map(|r| {
                let invoice = match &r.columns[0] {
                    (_, Val::Text(Some(id))) => id.parse().unwrap(),
                    other => panic!("invoice_id first: {:?}", other.0),
                };
                assert_eq!(r.hash, crate::rows::sha256_hex(r.data.as_bytes()));
                (invoice, r.id.clone())
            })
            .collect();
        assert_eq!(got, expected, "every item once, in order, with its invoice");
    }
}
