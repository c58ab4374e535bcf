//! Pagination streams for every list operation.
//!
//! A [`Paginator`] walks a listing whose paging facts (first page, largest size, where the
//! counters are) come from the generated [`pax8_api::Paged`] impl of its operation. It yields
//! pages or items (both `Unpin`), in order, and:
//!
//! - asks for the largest page the document allows unless told otherwise;
//! - follows the page number the server reports: a server that counts from 1 when the document
//!   says 0 is followed, and any other disagreement stops the stream with [`Error::Pagination`]
//!   rather than skip or repeat items;
//! - stops on the last page, an empty page after the first, or a short page; a page identical to
//!   the one before is an error (a server ignoring the page number);
//! - once the first page tells `totalPages`, fetches up to [`Paginator::concurrency`] pages at
//!   once (16 by default; memory stays proportional to that), and carries on one page at a time
//!   if the server's total was too low;
//! - can start anywhere ([`Paginator::starting_at`]), so a failed listing resumes after the last
//!   page it yielded.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use pax8_api::{ErrorBody, Paged, Paging};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Pax8Client;
use crate::call::CallOptions;
use crate::error::{Error, Result};

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// The page number as the server counts (what it reported, else what was asked for).
    pub number: u32,
    /// The page size asked for.
    pub size: u32,
    /// Pages in all, when the server says.
    pub total_pages: Option<u64>,
    /// Items in all, when the server says.
    pub total_elements: Option<u64>,
    /// Items the server sent that are not in `items`: left out by a tolerant decode
    /// ([`crate::CallOptions::tolerate_odd_items`]); 0 otherwise.
    pub left_out: usize,
}

impl<T> Page<T> {
    /// How many items the server sent on this page (those left out included): what tells a
    /// short, last page from a full one.
    pub fn sent(&self) -> usize {
        self.items.len().saturating_add(self.left_out)
    }
}

/// Fetches page `number` with `size` items and the given options.
pub type FetchPage<T> = Arc<dyn Fn(u32, u32, CallOptions) -> BoxFuture<'static, Result<Page<T>>> + Send + Sync>;

/// The default number of pages in flight once the total is known.
pub const DEFAULT_CONCURRENCY: usize = 16;

/// Hard stop for a listing whose server never ends it (a million pages).
const MAX_PAGES: u64 = 1_000_000;

/// A listing that can be walked page by page. Created by the resource handlers (one for every
/// list operation of the documents).
pub struct Paginator<T> {
    fetch: FetchPage<T>,
    paging: Paging,
    start: u32,
    size: u32,
    concurrency: usize,
    options: CallOptions,
}

impl<T> std::fmt::Debug for Paginator<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Paginator")
            .field("paging", &self.paging)
            .field("start", &self.start)
            .field("size", &self.size)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

/// The paging facts of a generated list builder.
pub fn paging_of<E: Paged>(_builder: &E) -> Paging {
    E::PAGING
}

/// Fetches one page of a generated list builder through the client's pipeline.
pub async fn fetch_page<E>(
    endpoint: E,
    number: u32,
    size: u32,
    client: &Pax8Client,
    options: &CallOptions,
) -> Result<Page<E::Item>>
where
    E: Paged<ErrorBody = ErrorBody>,
    E::Output: DeserializeOwned + Send,
{
    let endpoint = endpoint.with_page(number).with_size(size);
    let (body, left_out) = match &options.odd_items {
        None => (client.pipeline().execute(endpoint, options).await?, 0),
        Some(sink) => {
            let answer = client.pipeline().execute_raw(endpoint, options).await?;
            crate::tolerant::decode::<E::Output>(&answer.body, E::OPERATION.operation_id, sink)?
        }
    };
    let parts = E::into_parts(body);
    let number = match parts.number {
        None => number,
        Some(reported) => u32::try_from(reported)
            .map_err(|_| Error::Pagination(format!("asked for page {number}, the server answered page {reported}")))?,
    };
    Ok(Page {
        items: parts.items,
        number,
        size,
        total_pages: parts.total_pages,
        total_elements: parts.total_elements,
        left_out,
    })
}

impl<T: Serialize + Send + 'static> Paginator<T> {
    /// A paginator over `fetch`, with `paging` facts and `options` for every page.
    pub fn new(paging: Paging, options: CallOptions, fetch: FetchPage<T>) -> Self {
        Self {
            fetch,
            paging,
            start: paging.first_page,
            size: paging.max_size,
            concurrency: DEFAULT_CONCURRENCY,
            options,
        }
    }

    /// Items per page (default: the largest the document allows). 0 or over the maximum is an
    /// [`Error::InvalidRequest`] when fetching.
    pub fn page_size(mut self, size: u32) -> Self {
        self.size = size;
        self
    }

    /// Pages in flight at once after the first (default [`DEFAULT_CONCURRENCY`]; 1: strictly
    /// one page at a time). Items are yielded in order either way.
    pub fn concurrency(mut self, pages: usize) -> Self {
        self.concurrency = pages.max(1);
        self
    }

    /// Starts at page `number` as the server counts (to resume a listing after the last page it
    /// yielded) instead of the first.
    pub fn starting_at(mut self, number: u32) -> Self {
        self.start = number;
        self
    }

    /// Options (retry policy, timeout, headers) for every page request.
    pub fn options(mut self, options: CallOptions) -> Self {
        self.options = options;
        self
    }

    /// The paging facts of the listing.
    pub fn paging(&self) -> Paging {
        self.paging
    }

    fn check(&self) -> Result<()> {
        if self.size == 0 || self.size > self.paging.max_size {
            return Err(Error::InvalidRequest(format!(
                "page size {} is not between 1 and {}",
                self.size, self.paging.max_size
            )));
        }
        Ok(())
    }

    /// Fetches one page by its number (as the API counts).
    pub async fn page(&self, number: u32) -> Result<Page<T>> {
        self.check()?;
        (self.fetch)(number, self.size, self.options.clone()).await
    }

    /// Fetches the first page (or the one set by [`Paginator::starting_at`]).
    pub async fn first_page(&self) -> Result<Page<T>> {
        self.page(self.start).await
    }

    /// Every page, in order.
    pub fn pages(self) -> BoxStream<'static, Result<Page<T>>> {
        if let Err(e) = self.check() {
            return stream::once(async move { Err(e) }).boxed();
        }
        let state = Walk {
            fetch: self.fetch,
            first: self.start,
            size: self.size,
            concurrency: self.concurrency,
            options: self.options,
            phase: Phase::Next(self.start),
            last: None,
            yielded: 0,
        };
        stream::unfold(state, Walk::advance).boxed()
    }

    /// Every item, in order.
    pub fn items(self) -> BoxStream<'static, Result<T>> {
        self.pages()
            .flat_map(|page| match page {
                Ok(page) => stream::iter(page.items.into_iter().map(Ok).collect::<Vec<_>>()),
                Err(e) => stream::iter(vec![Err(e)]),
            })
            .boxed()
    }

    /// Every item, collected.
    pub async fn collect_all(self) -> Result<Vec<T>> {
        self.items().try_collect().await
    }
}

enum Phase<T> {
    /// Fetch this page next, alone.
    Next(u32),
    /// Pages in flight, each with the number asked for; the number after the last of them.
    Parallel(BoxStream<'static, (u32, Result<Page<T>>)>, u32),
    Done,
}

struct Walk<T> {
    fetch: FetchPage<T>,
    first: u32,
    size: u32,
    concurrency: usize,
    options: CallOptions,
    phase: Phase<T>,
    last: Option<u64>,
    yielded: u64,
}

/// What tells a page from the one before it: its length and its first and last items. A server
/// repeating a page repeats all three; two different pages of a listing differ in them (items
/// are distinct, and a page's ends are where consecutive pages differ). Serializing only the
/// ends keeps the check's cost apart from the page's size.
fn fingerprint<T: Serialize>(items: &[T]) -> u64 {
    let mut h = DefaultHasher::new();
    items.len().hash(&mut h);
    for item in [items.first(), items.last()].into_iter().flatten() {
        serde_json::to_vec(item).unwrap_or_default().hash(&mut h);
    }
    h.finish()
}

fn mismatch(asked: u32, answered: u32) -> Error {
    Error::Pagination(format!(
        "asked for page {asked}, the server answered page {answered}: stopping rather than skip or repeat items"
    ))
}

impl<T: Serialize + Send + 'static> Walk<T> {
    fn stop(mut self, error: Error) -> Option<(Result<Page<T>>, Self)> {
        self.phase = Phase::Done;
        Some((Err(error), self))
    }

    async fn advance(mut self) -> Option<(Result<Page<T>>, Self)> {
        let (page, asked) = match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Done => return None,
            Phase::Next(number) => match (self.fetch)(number, self.size, self.options.clone()).await {
                Ok(page) => (page, number),
                Err(e) => return self.stop(e),
            },
            Phase::Parallel(mut rest, after) => match rest.next().await {
                None => {
                    // The server's total was reached with a full last page: it may have been
                    // too low, so look further one page at a time.
                    self.phase = Phase::Next(after);
                    return Box::pin(self.advance()).await;
                }
                Some((_, Err(e))) => return self.stop(e),
                Some((asked, Ok(page))) => {
                    self.phase = Phase::Parallel(rest, after);
                    (page, asked)
                }
            },
        };
        let is_first = self.yielded == 0;
        // Follow the server's numbering: the first page may come back one higher (a server
        // counting from 1); anything else would skip or repeat items.
        if page.number != asked && !(is_first && page.number == asked.saturating_add(1)) {
            return self.stop(mismatch(asked, page.number));
        }
        if page.items.is_empty() && !is_first {
            // A server that said there were more pages than there are.
            self.phase = Phase::Done;
            return None;
        }
        let print = fingerprint(&page.items);
        if !page.items.is_empty() && self.last == Some(print) {
            return self.stop(Error::Pagination(format!("page {} repeats the previous page", page.number)));
        }
        self.last = Some(print);
        self.yielded += 1;
        let full = page.sent() > 0 && page.sent() >= self.size as usize;
        if !full || self.yielded >= MAX_PAGES {
            self.phase = Phase::Done;
        } else if matches!(self.phase, Phase::Done) {
            self.phase = self.after(&page);
        }
        Some((Ok(page), self))
    }

    /// What comes after the full page `page`, fetched alone. A full page may have more after
    /// it whatever the server's total says (totals can be too low), so the walk ends only on a
    /// short or empty page.
    fn after(&self, page: &Page<T>) -> Phase<T> {
        let Some(next) = page.number.checked_add(1) else { return Phase::Done };
        let seen = u64::from(page.number.saturating_sub(self.first)) + 1;
        match page.total_pages {
            Some(total) if self.concurrency > 1 && total > seen => {
                let remaining = (total - seen).min(MAX_PAGES);
                let end = u32::try_from(u64::from(next) + remaining).unwrap_or(u32::MAX);
                let (fetch, size, options) = (self.fetch.clone(), self.size, self.options.clone());
                // Each page is its own task, so pages are decoded on every worker thread, not
                // only on the thread polling the stream; dropping the stream aborts them.
                let pages = stream::iter(next..end)
                    .map(move |n| {
                        let page = Spawned(tokio::spawn(fetch(n, size, options.clone())));
                        async move { (n, page.await) }
                    })
                    .buffered(self.concurrency);
                Phase::Parallel(pages.boxed(), end)
            }
            _ => Phase::Next(next),
        }
    }
}

/// A page fetched on a task of its own, aborted when dropped unfinished.
struct Spawned<T>(tokio::task::JoinHandle<Result<Page<T>>>);

impl<T> std::future::Future for Spawned<T> {
    type Output = Result<Page<T>>;
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx).map(|joined| match joined {
            Ok(page) => page,
            Err(e) => Err(Error::Pagination(format!("a page fetch did not finish: {e}"))),
        })
    }
}

impl<T> Drop for Spawned<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests;
