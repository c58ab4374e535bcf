//! The five entity syncs, one page each: companies (with their contacts), products,
//! subscriptions (snapshotted when they change), invoices (with their items) and Azure usage
//! summaries. Lists are always read; a parent's child list only when it can have changed (every
//! time in a full sync), several at a time. Everything a page fetched is written in its
//! transaction, many rows a statement.

use futures::{StreamExt, TryStreamExt, stream};
use pax8_api::partner::types::{Company, Invoice, Product, Subscription};
use pax8_ext::pagination::Paginator;
use sqlx::Row;
use uuid::Uuid;

use crate::SyncError;
use crate::items;
use crate::marks::{self, CONTACTS_READ_FOR, ITEMS_READ_STATUS, USAGE_READ_AT};
use crate::pages::{Built, BuiltPages, built};
use crate::rows::{
    Record, company_record, contact_record, invoice_record, product_record, subscription_record, usage_record,
};
use crate::state::Run;
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
    let outcomes = upsert_all(&mut tx, &run.options.tenant, records, Some(&run.sync_id)).await?;
    run.count_all(&outcomes);
    let records: Vec<_> =
        contacts.iter().flat_map(|(company, list)| list.iter().filter_map(|x| contact_record(*company, x))).collect();
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
    let outcomes = upsert_all(&mut tx, &run.options.tenant, records, Some(&run.sync_id)).await?;
    run.count_all(&outcomes);
    let last = run.is_last(&page, number);
    run.finish_page(tx, Entity::Products.as_str(), number, last).await?;
    Ok(number)
}

async fn subscriptions(run: &mut Run<'_>, (page, records): Built<Subscription>) -> Result<u32, SyncError> {
    let number = page.number;
    let mut tx = run.store.begin_page().await?;
    let outcomes = upsert_all(&mut tx, &run.options.tenant, records, Some(&run.sync_id)).await?;
    run.count_all(&outcomes);
    // A snapshot where a subscription changed, and of every one in the week's baseline sync
    // (none again of one this sync already counted).
    let snapshots: Vec<String> = outcomes
        .iter()
        .filter(|(_, outcome)| match outcome {
            Outcome::Inserted | Outcome::Updated => true,
            Outcome::Unchanged => run.baseline,
            Outcome::AlreadyCounted => false,
        })
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
    // Every part but the last is written and committed on the way; the last goes in with the page.
    let pending = items::write_parts(run, reread).await?;
    let mut tx = run.store.begin_page().await?;
    let outcomes = upsert_all(&mut tx, &run.options.tenant, records, Some(&run.sync_id)).await?;
    run.count_all(&outcomes);
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
    let outcomes = upsert_all(&mut tx, &run.options.tenant, records, Some(&run.sync_id)).await?;
    run.count_all(&outcomes);
    let now = run.options.now.to_rfc3339();
    let read_at: Vec<(String, Option<String>)> = reread.iter().map(|id| (id.to_string(), Some(now.clone()))).collect();
    marks::set(&mut tx, &run.options.tenant, USAGE_READ_AT, &read_at, &run.sync_id).await?;
    run.skipped += skipped.len() as u64;
    run.total_pages = None;
    run.finish_page(tx, Entity::UsageSummaries.as_str(), number, !more).await
}
