//! Pagination streams for every list operation.
//!
//! A [`Paginator`] knows how to fetch page `n` of a listing. It yields a stream of pages or of
//! items (both `Unpin`), stops on the last page, on an empty or short page, and refuses to loop:
//! a page identical to the previous one ends the stream with [`Error::Pagination`]. With
//! [`Paginator::concurrency`], once the first page tells `totalPages`, the rest is fetched with
//! up to N requests in flight, still yielded in order; memory stays proportional to N pages.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use serde::Serialize;

use crate::error::{Error, Result};

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// The page number as the API counts (0-based for v1 and webhooks, 1-based for quotes).
    pub number: u32,
    /// The page size asked for.
    pub size: u32,
    /// Pages in all, when the server says.
    pub total_pages: Option<u32>,
    /// Items in all, when the server says.
    pub total_elements: Option<u64>,
}

/// Fetches page `number` with `size` items.
pub type FetchPage<T> = Arc<dyn Fn(u32, u32) -> BoxFuture<'static, Result<Page<T>>> + Send + Sync>;

/// A listing that can be walked page by page. Created by the resource handlers.
pub struct Paginator<T> {
    fetch: FetchPage<T>,
    first: u32,
    size: u32,
    max_size: u32,
    concurrency: usize,
}

impl<T> std::fmt::Debug for Paginator<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Paginator")
            .field("first", &self.first)
            .field("size", &self.size)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

/// Hard stop for a listing whose server never ends it (a million pages).
const MAX_PAGES: u32 = 1_000_000;

impl<T: Serialize + Send + 'static> Paginator<T> {
    /// A paginator whose first page is `first` (0 or 1) and whose page size is at most `max_size`
    /// (the default size).
    pub fn new(first: u32, max_size: u32, fetch: FetchPage<T>) -> Self {
        Self { fetch, first, size: max_size, max_size, concurrency: 1 }
    }

    /// Items per page (default: the API's maximum, 200 for v1). Over the maximum or 0 is an
    /// [`Error::InvalidRequest`] when fetching.
    pub fn page_size(mut self, size: u32) -> Self {
        self.size = size;
        self
    }

    /// Pages in flight at once after the first (default 1: sequential).
    pub fn concurrency(mut self, pages: usize) -> Self {
        self.concurrency = pages.max(1);
        self
    }

    fn check(&self) -> Result<()> {
        if self.size == 0 || self.size > self.max_size {
            return Err(Error::InvalidRequest(format!("page size {} is outside 1..={}", self.size, self.max_size)));
        }
        Ok(())
    }

    /// Fetches one page by its number (as the API counts).
    pub async fn page(&self, number: u32) -> Result<Page<T>> {
        self.check()?;
        (self.fetch)(number, self.size).await
    }

    /// Fetches the first page.
    pub async fn first_page(&self) -> Result<Page<T>> {
        self.page(self.first).await
    }

    /// Every page, in order.
    pub fn pages(self) -> BoxStream<'static, Result<Page<T>>> {
        if let Err(e) = self.check() {
            return stream::once(async move { Err(e) }).boxed();
        }
        let state = State {
            fetch: self.fetch,
            first: self.first,
            size: self.size,
            concurrency: self.concurrency,
            phase: Phase::Next(self.first),
            last: None,
        };
        stream::unfold(state, State::advance).boxed()
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
    Next(u32),
    Parallel(BoxStream<'static, Result<Page<T>>>),
    Done,
}

struct State<T> {
    fetch: FetchPage<T>,
    first: u32,
    size: u32,
    concurrency: usize,
    phase: Phase<T>,
    last: Option<u64>,
}

fn fingerprint<T: Serialize>(items: &[T]) -> u64 {
    let mut h = DefaultHasher::new();
    serde_json::to_vec(items).unwrap_or_default().hash(&mut h);
    h.finish()
}

impl<T: Serialize + Send + 'static> State<T> {
    async fn advance(mut self) -> Option<(Result<Page<T>>, Self)> {
        let page = match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Done => return None,
            Phase::Next(number) => match (self.fetch)(number, self.size).await {
                Ok(page) => {
                    self.phase = self.after(&page, number);
                    page
                }
                Err(e) => return Some((Err(e), self)),
            },
            Phase::Parallel(mut rest) => match rest.next().await {
                None => return None,
                Some(Err(e)) => return Some((Err(e), self)),
                Some(Ok(page)) => {
                    self.phase = Phase::Parallel(rest);
                    page
                }
            },
        };
        let is_first = page.number == self.first;
        if page.items.is_empty() && !is_first {
            // A server that said there were more pages than there are.
            self.phase = Phase::Done;
            return None;
        }
        let print = fingerprint(&page.items);
        if !page.items.is_empty() && self.last == Some(print) {
            self.phase = Phase::Done;
            return Some((Err(Error::Pagination(format!("page {} repeats the previous page", page.number))), self));
        }
        self.last = Some(print);
        if page.items.len() < self.size as usize && matches!(self.phase, Phase::Parallel(_)) {
            // A short page in the middle: whatever the server claimed, this is the end.
            self.phase = Phase::Done;
        }
        Some((Ok(page), self))
    }

    /// What comes after `page` (page `number`).
    fn after(&self, page: &Page<T>, number: u32) -> Phase<T> {
        let index = number - self.first; // 0-based position of this page
        let full = page.items.len() >= self.size as usize && !page.items.is_empty();
        let more = full && page.total_pages.is_none_or(|total| index + 1 < total) && index + 1 < MAX_PAGES;
        if !more {
            return Phase::Done;
        }
        match page.total_pages {
            Some(total) if self.concurrency > 1 && index == 0 => {
                let fetch = self.fetch.clone();
                let size = self.size;
                let numbers = (number + 1)..(self.first + total.min(MAX_PAGES));
                Phase::Parallel(stream::iter(numbers).map(move |n| fetch(n, size)).buffered(self.concurrency).boxed())
            }
            _ => Phase::Next(number + 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A fake listing of `total` items; `claimed_pages` overrides what the server says.
    fn listing(total: u32, claimed_pages: Option<u32>, first: u32, calls: Arc<AtomicU32>) -> FetchPage<u32> {
        Arc::new(move |number, size| {
            calls.fetch_add(1, Ordering::SeqCst);
            let index = number - first;
            let start = index * size;
            let items: Vec<u32> = (start..(start + size).min(total)).collect();
            let pages = claimed_pages.unwrap_or(total.div_ceil(size));
            Box::pin(async move {
                Ok(Page { items, number, size, total_pages: Some(pages), total_elements: Some(total as u64) })
            })
        })
    }

    async fn run(total: u32, claimed: Option<u32>, concurrency: usize) -> (Vec<u32>, u32) {
        let calls = Arc::new(AtomicU32::new(0));
        let items = Paginator::new(0, 200, listing(total, claimed, 0, calls.clone()))
            .concurrency(concurrency)
            .collect_all()
            .await
            .unwrap();
        (items, calls.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn edge_cases_sequential_and_concurrent() {
        for concurrency in [1, 4] {
            let (items, calls) = run(0, None, concurrency).await;
            assert_eq!((items.len(), calls), (0, 1), "0 items");
            let (items, calls) = run(200, None, concurrency).await;
            assert_eq!((items.len(), calls), (200, 1), "exactly one full page");
            let (items, calls) = run(201, None, concurrency).await;
            assert_eq!((items, calls), ((0..201).collect(), 2), "201 items");
            let (items, calls) = run(1000, None, concurrency).await;
            assert_eq!((items, calls), ((0..1000).collect(), 5), "in order");
            let (items, _) = run(450, Some(10), concurrency).await;
            assert_eq!(items, (0..450).collect::<Vec<_>>(), "totalPages lying high ends on the empty page");
        }
    }

    #[tokio::test]
    async fn one_based_listings() {
        let calls = Arc::new(AtomicU32::new(0));
        let items = Paginator::new(1, 50, listing(120, None, 1, calls.clone())).collect_all().await.unwrap();
        assert_eq!(items, (0..120).collect::<Vec<_>>());
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn without_total_pages_a_full_last_page_costs_one_empty_request() {
        let fetch: FetchPage<u32> = Arc::new(|number, size| {
            let items: Vec<u32> = if number < 2 { (0..size).map(|i| number * size + i).collect() } else { vec![] };
            Box::pin(async move { Ok(Page { items, number, size, total_pages: None, total_elements: None }) })
        });
        let items = Paginator::new(0, 10, fetch).collect_all().await.unwrap();
        assert_eq!(items, (0..20).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_server_that_ignores_the_page_number_is_caught() {
        let fetch: FetchPage<u32> = Arc::new(|number, size| {
            Box::pin(async move {
                Ok(Page { items: (0..size).collect(), number, size, total_pages: None, total_elements: None })
            })
        });
        let result = Paginator::new(0, 10, fetch).collect_all().await;
        assert!(matches!(result, Err(Error::Pagination(ref m)) if m.contains("repeats")), "{result:?}");
    }

    #[tokio::test]
    async fn page_size_is_validated_before_sending() {
        let calls = Arc::new(AtomicU32::new(0));
        let result = Paginator::new(0, 200, listing(10, None, 0, calls.clone())).page_size(201).collect_all().await;
        assert!(matches!(result, Err(Error::InvalidRequest(_))));
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn errors_end_the_stream() {
        let fetch: FetchPage<u32> = Arc::new(|number, size| {
            Box::pin(async move {
                if number == 1 {
                    Err(Error::InvalidRequest("boom".into()))
                } else {
                    Ok(Page { items: (0..size).collect(), number, size, total_pages: Some(3), total_elements: None })
                }
            })
        });
        let pages: Vec<_> = Paginator::new(0, 5, fetch).pages().collect().await;
        assert_eq!(pages.len(), 2);
        assert!(pages[1].is_err());
    }
}
