//! The five entity syncs, one page each: companies (with their contacts), products,
//! subscriptions (snapshotted when they change), invoices (with their items) and Azure usage
//! summaries. Lists are always read; a parent's child list only when it can have changed (every
//! time in a full sync), several at a time. Everything a page fetched is written in its
//! transaction, many rows a statement.

use futures::{StreamExt, TryStreamExt, stream};
use pax8_api::partner::types::{Company, Invoice, Product, Subscription};
use pax8_ext::pagination::{Page, Paginator};
use sqlx::Row;
use uuid::Uuid;

use crate::SyncError;
use crate::checkpoint::Checkpoint;
use crate::items;
use crate::marks::{self, CONTACTS_READ_FOR, ITEMS_READ_STATUS, Marked, USAGE_READ_AT};
use crate::pages::{BuiltPages, built};
use crate::part::{InOrder, Part, PartWrite, Snapshots};
use crate::rows::{
    Record, company_record, contact_record, invoice_record, product_record, subscription_record, usage_record,
};
use crate::state::{Reader, Run};

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

/// An entity's listing, read page by page.
pub(crate) enum Listing {
    Companies(BuiltPages<Company>),
    Products(BuiltPages<Product>),
    Subscriptions(BuiltPages<Subscription>),
    Invoices(BuiltPages<Invoice>),
}

impl Listing {
    /// Syncs the listing's pages to its end, calling `progressed` after each page commits. Each
    /// page is written by a part ([`InOrder`]: two at once on PostgreSQL) while the next one and
    /// its children are read; an invoice's items by parts of their own before its page's.
    pub(crate) async fn sync(self, run: &mut Run<'_>, progressed: &Progressed<'_>) -> Result<(), SyncError> {
        let mut writing = InOrder::new(run.writer());
        let mut committed = |run: &mut Run<'_>, part: Part| {
            run.counted_by_part(&part)?;
            if let Some(page) = part.page {
                progressed(run, page);
            }
            Ok(())
        };
        match self {
            Listing::Companies(mut pages) => {
                while let Some(page) = writing.beside(pages.next(), run, &mut committed).await? {
                    let (page, records) = page?;
                    let reader = run.reader();
                    let read = writing.beside(contacts(&reader, &page.items), run, &mut committed).await??;
                    run.skipped += read.skipped;
                    let mut part = page_part(run, Entity::Companies, &page, records);
                    part.records.extend(read.records);
                    part.marks = Some((CONTACTS_READ_FOR, read.marks));
                    writing.start(part, run, &mut committed).await?;
                }
            }
            Listing::Products(pages) => plain(run, &mut writing, &mut committed, pages, Entity::Products).await?,
            Listing::Subscriptions(pages) => {
                plain(run, &mut writing, &mut committed, pages, Entity::Subscriptions).await?
            }
            Listing::Invoices(mut pages) => {
                while let Some(page) = writing.beside(pages.next(), run, &mut committed).await? {
                    let (page, records) = page?;
                    let reader = run.reader();
                    let read = writing.beside(items_to_read(&reader, &page.items), run, &mut committed).await?;
                    let (reread, marks, skipped) = read?;
                    run.skipped += skipped;
                    // Every part of their items but the last is written on the way; the last
                    // goes in with the page.
                    let last_items = items::write_parts(run, &mut writing, &mut committed, reread).await?;
                    let mut part = page_part(run, Entity::Invoices, &page, records);
                    part.records.extend(last_items);
                    part.marks = Some((ITEMS_READ_STATUS, marks));
                    writing.start(part, run, &mut committed).await?;
                }
            }
        }
        writing.finish(run, &mut committed).await
    }
}

/// What a listing calls after each page commits: the run and the page's number.
pub(crate) type Progressed<'p> = dyn Fn(&Run<'_>, u32) + Send + Sync + 'p;

/// The part of a listing's `page` with its `records`: its checkpoint, the odd items met so far.
fn page_part<T>(run: &mut Run<'_>, entity: Entity, page: &Page<T>, records: Vec<Record>) -> PartWrite {
    let number = page.number;
    let done = run.is_last(page, number);
    let checkpoint = Checkpoint { resource: entity.as_str().to_string(), next_page: number.saturating_add(1), done };
    PartWrite {
        page: Some(number),
        records,
        checkpoints: vec![checkpoint],
        odd: run.odd.take(),
        counts: run.take_uncommitted(),
        ..PartWrite::default()
    }
}

/// Writes the pages of a listing of rows without children (products, subscriptions; a
/// subscription snapshotted where it changed, and every one in the week's baseline sync).
async fn plain<'r, T>(
    run: &mut Run<'r>,
    writing: &mut InOrder<'_>,
    committed: &mut impl FnMut(&mut Run<'r>, Part) -> Result<(), SyncError>,
    mut pages: BuiltPages<T>,
    entity: Entity,
) -> Result<(), SyncError> {
    let snapshots = match entity {
        Entity::Subscriptions if run.baseline => Snapshots::All,
        Entity::Subscriptions => Snapshots::Changed,
        _ => Snapshots::None,
    };
    while let Some(page) = writing.beside(pages.next(), run, committed).await? {
        let (page, records) = page?;
        let part = page_part(run, entity, &page, records);
        writing.start(PartWrite { snapshots, ..part }, run, committed).await?;
    }
    Ok(())
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

/// A page of companies' contacts: their records, the companies' marks, the companies skipped.
struct ContactsRead {
    records: Vec<Record>,
    marks: Marked,
    skipped: u64,
}

/// Reads the contacts of those of `companies` that are new, whose `updatedDate` moved or is
/// unknown, or that a webhook touched (its mark cleared); of every one in a full sync.
async fn contacts(reader: &Reader<'_>, companies: &[Company]) -> Result<ContactsRead, SyncError> {
    let ids: Vec<Uuid> = companies.iter().filter_map(|c| c.id).collect();
    let known = marks::read(reader.store, &reader.options.tenant, CONTACTS_READ_FOR, &strings(&ids)).await?;
    let (mut reread, mut marks, mut skipped) = (Vec::new(), Vec::new(), 0);
    for c in companies {
        let Some(id) = c.id else { continue };
        let updated = c.updated_date.map(|d| d.to_string());
        let unchanged = updated.is_some() && known.get(&id.to_string()).is_some_and(|mark| *mark == updated);
        if reader.full || !unchanged {
            reread.push(id);
            marks.push((id.to_string(), updated));
        } else {
            skipped += 1;
        }
    }
    let (client, options) = (reader.client, &reader.tolerant);
    let contacts = each(&reread, reader.options.concurrency, |id| {
        client.contacts(id).options(options.clone()).list().collect_all()
    })
    .await?;
    let records =
        contacts.iter().flat_map(|(company, list)| list.iter().filter_map(|x| contact_record(*company, x))).collect();
    Ok(ContactsRead { records, marks, skipped })
}

/// Which of `invoices` have their items read: those new, not final, or whose status moved
/// (every one in a full sync); with the marks they are read at and how many are skipped.
async fn items_to_read(reader: &Reader<'_>, invoices: &[Invoice]) -> Result<(Vec<Uuid>, Marked, u64), SyncError> {
    let ids: Vec<Uuid> = invoices.iter().filter_map(|i| i.id).collect();
    let known = marks::read(reader.store, &reader.options.tenant, ITEMS_READ_STATUS, &strings(&ids)).await?;
    let (mut reread, mut marks, mut skipped) = (Vec::new(), Vec::new(), 0);
    for i in invoices {
        let Some(id) = i.id else { continue };
        let status = i.status.clone();
        let final_ = status.as_deref().is_some_and(|s| FINAL_INVOICE_STATUSES.contains(&s));
        let unchanged = final_ && known.get(&id.to_string()).is_some_and(|mark| *mark == status);
        if reader.full || !unchanged {
            reread.push(id);
            marks.push((id.to_string(), status));
        } else {
            skipped += 1;
        }
    }
    Ok((reread, marks, skipped))
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
    let records: Vec<_> =
        fetched.iter().flat_map(|(sub, list)| list.iter().filter_map(|u| usage_record(*sub, u))).collect();
    let now = run.options.now.to_rfc3339();
    let read_at: Marked = reread.iter().map(|id| (id.to_string(), Some(now.clone()))).collect();
    run.skipped += skipped.len() as u64;
    run.total_pages = None;
    let resource = Entity::UsageSummaries.as_str().to_string();
    let part = PartWrite {
        page: Some(number),
        records,
        marks: Some((USAGE_READ_AT, read_at)),
        checkpoints: vec![Checkpoint { resource, next_page: number.saturating_add(1), done: !more }],
        odd: run.odd.take(),
        counts: run.take_uncommitted(),
        ..PartWrite::default()
    };
    let written = run.writer().write(part, None, false).await?;
    run.counted_by_part(&written)
}
