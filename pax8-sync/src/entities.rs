//! The five entity syncs, one page each: companies (with their contacts), products,
//! subscriptions (snapshotted when they change), invoices (with their items) and Azure usage
//! summaries. Lists are always read; a parent's child list only when it can have changed (every
//! time in a full sync), several at a time. Everything a page fetched is written in its
//! transaction, many rows a statement.

use futures::future::{self, Either};
use futures::stream::BoxStream;
use futures::stream::FuturesUnordered;
use futures::{StreamExt, TryStreamExt, stream};
use pax8_api::partner::types::{Company, Invoice, InvoiceItem, Product, Subscription};
use pax8_ext::pagination::{Page, Paginator};
use pax8_ext::{CallOptions, Pax8Client};
use sqlx::Row;
use uuid::Uuid;

use crate::SyncError;
use crate::marks::{self, CONTACTS_READ_FOR, ITEMS_READ_STATUS, USAGE_READ_AT};
use crate::rows::{
    Record, company_record, contact_record, invoice_item_record, invoice_record, product_record, subscription_record,
    usage_record,
};
use crate::state::{Part, Run};
use crate::write::{Outcome, SnapshotSource, snapshot_all, upsert_all};

/// Invoice statuses after which an invoice's items no longer change: it is settled (paid, or
/// its balance carried to a later invoice), cancelled (void) or owes nothing. Any other status
/// (`Unpaid`, or one added later) is re-read.
pub(crate) const FINAL_INVOICE_STATUSES: [&str; 5] = ["Paid", "Void", "Carried", "Nothing Due", "Credited"];

/// The entities a sync reads, in its order (each after those its rows refer to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entity {
    Companies,
    Products,
    Subscriptions,
    Invoices,
    UsageSummaries,
}

impl Entity {
    /// Every entity, in sync order.
    pub(crate) const ALL: [Entity; 5] =
        [Entity::Companies, Entity::Products, Entity::Subscriptions, Entity::Invoices, Entity::UsageSummaries];

    /// Its name in checkpoints and progress (its table's).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Entity::Companies => "companies",
            Entity::Products => "products",
            Entity::Subscriptions => "subscriptions",
            Entity::Invoices => "invoices",
            Entity::UsageSummaries => "usage_summaries",
        }
    }

    /// The entity's pages from page `start` on, each with its records, `run.options.concurrency`
    /// pages in flight (the next pages arrive and are built while one is written); none for
    /// usage, which the mirror drives.
    pub(crate) fn listing(self, run: &Run<'_>, start: u32) -> Option<Listing> {
        fn pages<T, F>(list: Paginator<T>, run: &Run<'_>, start: u32, build: F) -> BuiltPages<T>
        where
            T: serde::Serialize + Send + 'static,
            F: Fn(&T) -> Option<Record> + Clone + Send + Sync + 'static,
        {
            let list = list.page_size(run.options.page_size).starting_at(start).concurrency(run.options.concurrency);
            built(list.pages(), build)
        }
        let (client, options) = (run.client, run.tolerant());
        Some(match self {
            Entity::Companies => {
                Listing::Companies(pages(client.companies().options(options).list(), run, start, company_record))
            }
            Entity::Products => {
                Listing::Products(pages(client.products().options(options).list(), run, start, product_record))
            }
            Entity::Subscriptions => Listing::Subscriptions(pages(
                client.subscriptions().options(options).list(),
                run,
                start,
                subscription_record,
            )),
            Entity::Invoices => {
                Listing::Invoices(pages(client.invoices().options(options).list(), run, start, invoice_record))
            }
            Entity::UsageSummaries => return None,
        })
    }
}

/// Pages of a listing as they arrive.
type Pages<T> = BoxStream<'static, pax8_ext::Result<Page<T>>>;

/// A page with the records of its items.
type Built<T> = (Page<T>, Vec<Record>);

/// Pages of a listing with their records, as they are built.
type BuiltPages<T> = BoxStream<'static, Result<Built<T>, SyncError>>;

/// An entity's listing, read page by page.
pub(crate) enum Listing {
    Companies(BuiltPages<Company>),
    Products(BuiltPages<Product>),
    Subscriptions(BuiltPages<Subscription>),
    Invoices(BuiltPages<Invoice>),
}

impl Listing {
    /// Syncs the next page; its number, or none once the listing has ended.
    pub(crate) async fn sync_next(&mut self, run: &mut Run<'_>) -> Result<Option<u32>, SyncError> {
        let number = match self {
            Listing::Companies(pages) => match pages.next().await.transpose()? {
                Some(page) => companies(run, page).await?,
                None => return Ok(None),
            },
            Listing::Products(pages) => match pages.next().await.transpose()? {
                Some(page) => products(run, page).await?,
                None => return Ok(None),
            },
            Listing::Subscriptions(pages) => match pages.next().await.transpose()? {
                Some(page) => subscriptions(run, page).await?,
                None => return Ok(None),
            },
            Listing::Invoices(pages) => match pages.next().await.transpose()? {
                Some(page) => invoices(run, page).await?,
                None => return Ok(None),
            },
        };
        Ok(Some(number))
    }
}

/// Pages of an invoice's items written per transaction while its pages stream in (2,000 items
/// at the default page size).
const PAGES_PER_PART: usize = 10;

/// Items a part holds (at least), at `page_size` items a page.
fn part_size(page_size: u32) -> usize {
    PAGES_PER_PART * page_size.max(1) as usize
}

/// `pages` with each page's records built by `build` on a task of its own, the next page's while
/// this one is written (building a record serializes and hashes its item: work that would
/// otherwise wait for the database's, and the database's for it).
fn built<T, F>(pages: Pages<T>, build: F) -> BuiltPages<T>
where
    T: Send + 'static,
    F: Fn(&T) -> Option<Record> + Clone + Send + Sync + 'static,
{
    pages
        .map(move |page| {
            let build = build.clone();
            let task = tokio::spawn(async move {
                let page = page?;
                let records = page.items.iter().filter_map(&build).collect();
                Ok::<_, SyncError>((page, records))
            });
            async move {
                match task.await {
                    Ok(built) => built,
                    Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                    // Only a runtime shutting down cancels it.
                    Err(_) => Err(SyncError::Interrupted),
                }
            }
        })
        .buffered(2)
        .boxed()
}

/// The items of invoices, read page after page (each invoice's pages several at a time).
struct Items<'c> {
    client: &'c Pax8Client,
    options: CallOptions,
    concurrency: usize,
    invoices: std::vec::IntoIter<Uuid>,
    current: Option<BuiltPages<InvoiceItem>>,
    /// Items a page holds, and a part (at least).
    page_size: u32,
    part_size: usize,
}

impl Items<'_> {
    /// The records of the next items, at least `part_size` of them unless they are the last
    /// (none once every invoice's items were read).
    async fn next_part(&mut self) -> Result<Vec<Record>, SyncError> {
        let mut part = Vec::new();
        while part.len() < self.part_size {
            let pages = match &mut self.current {
                Some(current) => current,
                None => {
                    let Some(invoice) = self.invoices.next() else { break };
                    let list = self.client.invoices().options(self.options.clone()).items(invoice);
                    let pages = list.page_size(self.page_size).concurrency(self.concurrency).pages();
                    self.current.insert(built(pages, move |it| invoice_item_record(invoice, it)))
                }
            };
            match pages.next().await {
                Some(page) => part.extend(page?.1),
                None => self.current = None,
            }
        }
        Ok(part)
    }
}

/// Fetches `fetch(id)` for each id, `concurrency` at a time, in order.
async fn each<T, F, Fut>(ids: &[Uuid], concurrency: usize, fetch: F) -> Result<Vec<(Uuid, Vec<T>)>, SyncError>
where
    F: Fn(Uuid) -> Fut,
    Fut: Future<Output = pax8_ext::Result<Vec<T>>>,
{
    stream::iter(ids.iter().copied())
        .map(|id| {
            let request = fetch(id);
            async move { request.await.map(|list| (id, list)) }
        })
        .buffered(concurrency.max(1))
        .map_err(SyncError::from)
        .try_collect()
        .await
}

fn strings(ids: &[Uuid]) -> Vec<String> {
    ids.iter().map(Uuid::to_string).collect()
}

async fn companies(run: &mut Run<'_>, (page, records): Built<Company>) -> Result<u32, SyncError> {
    let number = page.number;
    let ids: Vec<Uuid> = page.items.iter().filter_map(|c| c.id).collect();
    let known = marks::read(run.store, &run.options.tenant, CONTACTS_READ_FOR, &strings(&ids)).await?;
    // Contacts are re-read for a company that is new, whose `updatedDate` moved or is unknown,
    // or that a webhook touched (its mark cleared).
    let (mut reread, mut skipped, mut read_for) = (Vec::new(), Vec::new(), Vec::new());
    for c in &page.items {
        let Some(id) = c.id else { continue };
        let updated = c.updated_date.map(|d| d.to_string());
        let unchanged = updated.is_some() && known.get(&id.to_string()).is_some_and(|mark| *mark == updated);
        if run.full || !unchanged {
            reread.push(id);
            read_for.push((id.to_string(), updated));
        } else {
            skipped.push(id);
        }
    }
    // Fetched before the transaction: a failure leaves nothing half-written.
    let (client, options) = (run.client, run.tolerant());
    let contacts =
        each(&reread, run.options.concurrency, |id| client.contacts(id).options(options.clone()).list().collect_all())
            .await?;
    let mut tx = run.store.begin_page().await?;
    run.fetched(records.len());
    let outcomes = upsert_all(&mut tx, &run.options.tenant, records, Some(&run.sync_id)).await?;
    run.count_all(&outcomes);
    let records: Vec<_> =
        contacts.iter().flat_map(|(company, list)| list.iter().filter_map(|x| contact_record(*company, x))).collect();
    run.fetched(records.len());
    let outcomes = upsert_all(&mut tx, &run.options.tenant, records, Some(&run.sync_id)).await?;
    run.count_all(&outcomes);
    marks::set(&mut tx, &run.options.tenant, CONTACTS_READ_FOR, &read_for, &run.sync_id).await?;
    run.skipped += skipped.len() as u64;
    let last = run.is_last(&page, number);
    run.finish_page(tx, Entity::Companies.as_str(), number, last).await?;
    Ok(number)
}

async fn products(run: &mut Run<'_>, (page, records): Built<Product>) -> Result<u32, SyncError> {
    let number = page.number;
    let mut tx = run.store.begin_page().await?;
    run.fetched(records.len());
    let outcomes = upsert_all(&mut tx, &run.options.tenant, records, Some(&run.sync_id)).await?;
    run.count_all(&outcomes);
    let last = run.is_last(&page, number);
    run.finish_page(tx, Entity::Products.as_str(), number, last).await?;
    Ok(number)
}

async fn subscriptions(run: &mut Run<'_>, (page, records): Built<Subscription>) -> Result<u32, SyncError> {
    let number = page.number;
    let mut tx = run.store.begin_page().await?;
    run.fetched(records.len());
    let outcomes = upsert_all(&mut tx, &run.options.tenant, records, Some(&run.sync_id)).await?;
    run.count_all(&outcomes);
    // A snapshot where a subscription changed, and of every one in the week's baseline sync.
    let snapshots: Vec<String> = outcomes
        .iter()
        .filter(|(_, outcome)| *outcome != Outcome::Unchanged || run.baseline)
        .map(|(id, _)| id.clone())
        .collect();
    let written =
        snapshot_all(&mut tx, &run.options.tenant, &run.sync_id, run.options.now, &snapshots, SnapshotSource::Sync)
            .await?;
    run.summary.snapshots += written;
    let last = run.is_last(&page, number);
    run.finish_page(tx, Entity::Subscriptions.as_str(), number, last).await?;
    Ok(number)
}

async fn invoices(run: &mut Run<'_>, (page, records): Built<Invoice>) -> Result<u32, SyncError> {
    let number = page.number;
    let ids: Vec<Uuid> = page.items.iter().filter_map(|i| i.id).collect();
    let known = marks::read(run.store, &run.options.tenant, ITEMS_READ_STATUS, &strings(&ids)).await?;
    // Items are re-read for an invoice that is new, not final, or whose status moved.
    let (mut reread, mut skipped, mut read_status) = (Vec::new(), Vec::new(), Vec::new());
    for i in &page.items {
        let Some(id) = i.id else { continue };
        let status = i.status.clone();
        let final_ = status.as_deref().is_some_and(|s| FINAL_INVOICE_STATUSES.contains(&s));
        let unchanged = final_ && known.get(&id.to_string()).is_some_and(|mark| *mark == status);
        if run.full || !unchanged {
            reread.push(id);
            read_status.push((id.to_string(), status));
        } else {
            skipped.push(id);
        }
    }
    // An invoice holds an item per subscription: its pages are read several at a time and
    // written PAGES_PER_PART pages at a time, never collected, so memory does not grow with the
    // tenant. While one part is written, the next is fetched and built: the database's work
    // runs beside ours. The write never waits for a request (on SQLite the shared token and rate
    // budget may need the one connection, which the write gives back when it commits).
    let mut items = Items {
        client: run.client,
        options: run.tolerant(),
        concurrency: run.options.concurrency,
        invoices: reread.into_iter(),
        current: None,
        page_size: run.options.page_size,
        part_size: part_size(run.options.page_size),
    };
    // On PostgreSQL two parts are written at once, each on its own connection; SQLite has one.
    let writers = if run.store.is_postgres() { 2 } else { 1 };
    let mut writing = FuturesUnordered::new();
    let mut pending = items.next_part().await?;
    while pending.len() >= items.part_size {
        let (store, tenant, sync_id) = (run.store, run.options.tenant.clone(), run.sync_id.clone());
        writing.push(async move { Part::write(store, &tenant, &sync_id, pending).await });
        let reading = items.next_part();
        futures::pin_mut!(reading);
        // The next part is read while the parts go in; their counts are taken as they commit.
        pending = loop {
            match future::select(reading.as_mut(), writing.next()).await {
                Either::Left((part, _)) => break part?,
                Either::Right((Some(written), _)) => run.counted_by_part(&written?),
                Either::Right((None, _)) => break reading.await?,
            }
        };
        while writing.len() >= writers {
            if let Some(written) = writing.next().await {
                run.counted_by_part(&written?);
            }
        }
    }
    while let Some(written) = writing.next().await {
        run.counted_by_part(&written?);
    }
    let mut tx = run.store.begin_page().await?;
    run.fetched(records.len());
    let outcomes = upsert_all(&mut tx, &run.options.tenant, records, Some(&run.sync_id)).await?;
    run.count_all(&outcomes);
    run.fetched(pending.len());
    let outcomes = upsert_all(&mut tx, &run.options.tenant, pending, Some(&run.sync_id)).await?;
    run.count_all(&outcomes);
    marks::set(&mut tx, &run.options.tenant, ITEMS_READ_STATUS, &read_status, &run.sync_id).await?;
    run.skipped += skipped.len() as u64;
    let last = run.is_last(&page, number);
    run.finish_page(tx, Entity::Invoices.as_str(), number, last).await?;
    Ok(number)
}

/// Usage summaries of the Azure subscriptions in the mirror, `page_size` subscriptions a "page":
/// re-read when never read or read longer than `usage_max_age` ago.
pub(crate) async fn usage(run: &mut Run<'_>, number: u32) -> Result<(), SyncError> {
    let size = i64::from(run.options.page_size.max(1));
    let rows = sqlx::query(
        "SELECT id, usage_read_at FROM subscriptions WHERE tenant = $1 AND removed_at IS NULL \
         AND product_name LIKE '%Azure%' ORDER BY id LIMIT $2 OFFSET $3",
    )
    .bind(run.options.tenant.clone())
    .bind(size + 1)
    .bind(i64::from(number).saturating_mul(size))
    .fetch_all(&run.store.pool)
    .await?;
    let more = rows.len() as i64 > size;
    let oldest = run.options.now - run.options.usage_max_age;
    let (mut reread, mut skipped) = (Vec::new(), Vec::new());
    for row in rows.iter().take(size as usize) {
        let id: String = row.try_get("id")?;
        let id: Uuid =
            id.parse().map_err(|_| SyncError::Invalid(format!("bad subscription id `{id}` in the mirror")))?;
        let read_at: Option<String> = row.try_get("usage_read_at")?;
        let fresh = read_at
            .and_then(|at| chrono::DateTime::parse_from_rfc3339(&at).ok())
            .is_some_and(|at| at >= oldest && at <= run.options.now);
        if run.full || !fresh {
            reread.push(id);
        } else {
            skipped.push(id);
        }
    }
    let (client, options) = (run.client, run.tolerant());
    let fetched = each(&reread, run.options.concurrency, |id| {
        client.subscriptions().options(options.clone()).usage_summaries(id).collect_all()
    })
    .await?;
    let mut tx = run.store.begin_page().await?;
    let records: Vec<_> =
        fetched.iter().flat_map(|(sub, list)| list.iter().filter_map(|u| usage_record(*sub, u))).collect();
    run.fetched(records.len());
    let outcomes = upsert_all(&mut tx, &run.options.tenant, records, Some(&run.sync_id)).await?;
    run.count_all(&outcomes);
    let now = run.options.now.to_rfc3339();
    let read_at: Vec<(String, Option<String>)> = reread.iter().map(|id| (id.to_string(), Some(now.clone()))).collect();
    marks::set(&mut tx, &run.options.tenant, USAGE_READ_AT, &read_at, &run.sync_id).await?;
    run.skipped += skipped.len() as u64;
    run.total_pages = None;
    run.finish_page(tx, Entity::UsageSummaries.as_str(), number, !more).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::Val;

    #[tokio::test(flavor = "multi_thread")]
    async fn a_panic_while_building_a_page_is_the_reader_s_panic() {
        let page =
            Page { items: vec![1_u32], number: 0, size: 1, total_pages: None, total_elements: None, left_out: 0 };
        let pages: Pages<u32> = stream::iter([Ok(page)]).boxed();
        let mut pages = built(pages, |_: &u32| -> Option<Record> { panic!("a bug while building") });
        let read = tokio::spawn(async move { pages.next().await.map(|page| page.is_ok()) }).await;
        assert!(read.is_err_and(|e| e.is_panic()), "not turned into an error the sync would resume from");
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
            invoices: invoices.clone().into_iter(),
            current: None,
            page_size: 15,
            part_size: 30,
        };
        let mut parts = Vec::new();
        loop {
            let part = items.next_part().await.unwrap();
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
                assert_eq!(r.hash, crate::write::sha256_hex(r.data.as_bytes()));
                (invoice, r.id.clone())
            })
            .collect();
        assert_eq!(got, expected, "every item once, in order, with its invoice");
    }
}
