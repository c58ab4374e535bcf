use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use super::*;

fn paging(first: u32, max: u32) -> Paging {
    Paging { page_param: "page", size_param: "size", first_page: first, max_size: max, default_size: 10 }
}

/// What the fake server saw.
#[derive(Default)]
struct Seen {
    calls: AtomicU32,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    completed: AtomicU32,
    asked: Mutex<Vec<u32>>,
}

/// A fake listing of `total` items counted from `base`; `claimed_pages` overrides the total the
/// server reports; `shift` is added to the page number it reports.
fn listing(total: u32, claimed_pages: Option<u64>, base: u32, shift: u32, seen: Arc<Seen>) -> FetchPage<u32> {
    Arc::new(move |number, size, _options| {
        let seen = seen.clone();
        seen.calls.fetch_add(1, Ordering::SeqCst);
        seen.asked.lock().unwrap().push(number);
        Box::pin(async move {
            let now = seen.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            seen.most_in_flight.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            seen.in_flight.fetch_sub(1, Ordering::SeqCst);
            seen.completed.fetch_add(1, Ordering::SeqCst);
            let start = (number - base) * size;
            let items: Vec<u32> = (start.min(total)..(start + size).min(total)).collect();
            let pages = claimed_pages.unwrap_or(u64::from(total.div_ceil(size)));
            Ok(Page {
                items,
                number: number + shift,
                size,
                total_pages: Some(pages),
                total_elements: Some(total.into()),
                left_out: 0,
            })
        })
    })
}

async fn run(total: u32, claimed: Option<u64>, concurrency: usize) -> (Vec<u32>, u32) {
    let seen = Arc::new(Seen::default());
    let items = Paginator::new(paging(0, 200), CallOptions::default(), listing(total, claimed, 0, 0, seen.clone()))
        .concurrency(concurrency)
        .collect_all()
        .await
        .unwrap();
    (items, seen.calls.load(Ordering::SeqCst))
}

#[tokio::test(start_paused = true)]
async fn edge_cases_sequential_and_concurrent() {
    for concurrency in [1, 4] {
        let (items, calls) = run(0, None, concurrency).await;
        assert_eq!((items.len(), calls), (0, 1), "0 items");
        let (items, calls) = run(200, None, concurrency).await;
        assert_eq!((items.len(), calls), (200, 2), "a full last page is followed by one look further");
        let (items, calls) = run(201, None, concurrency).await;
        assert_eq!((items, calls), ((0..201).collect(), 2), "201 items");
        let (items, calls) = run(1001, None, concurrency).await;
        assert_eq!((items, calls), ((0..1001).collect(), 6), "in order");
        let (items, _) = run(450, Some(10), concurrency).await;
        assert_eq!(items, (0..450).collect::<Vec<_>>(), "totalPages lying high ends on the short page");
        let (items, _) = run(1000, Some(2), concurrency).await;
        assert_eq!(items, (0..1000).collect::<Vec<_>>(), "totalPages lying low loses nothing");
    }
}

#[tokio::test(start_paused = true)]
async fn concurrency_keeps_that_many_pages_in_flight() {
    for (concurrency, expected) in [(1, 1), (4, 4), (8, 8)] {
        let seen = Arc::new(Seen::default());
        let items = Paginator::new(paging(0, 10), CallOptions::default(), listing(205, None, 0, 0, seen.clone()))
            .concurrency(concurrency)
            .collect_all()
            .await
            .unwrap();
        assert_eq!(items, (0..205).collect::<Vec<_>>());
        assert_eq!(seen.most_in_flight.load(Ordering::SeqCst), expected, "concurrency {concurrency}");
    }
}

#[tokio::test(start_paused = true)]
async fn the_default_prefetch_is_reached_at_the_largest_size() {
    let seen = Arc::new(Seen::default());
    let p = Paginator::new(paging(0, 50), CallOptions::default(), listing(1000, None, 0, 0, seen.clone()));
    let first = p.first_page().await.unwrap();
    assert_eq!(first.size, 50, "the largest size the document allows");
    p.collect_all().await.unwrap();
    assert_eq!(seen.most_in_flight.load(Ordering::SeqCst), DEFAULT_CONCURRENCY);
}

#[tokio::test(start_paused = true)]
async fn the_first_page_comes_from_the_paging_facts() {
    let seen = Arc::new(Seen::default());
    let items = Paginator::new(paging(1, 50), CallOptions::default(), listing(480, None, 1, 0, seen.clone()))
        .concurrency(4)
        .collect_all()
        .await
        .unwrap();
    assert_eq!(items, (0..480).collect::<Vec<_>>());
    let mut asked = seen.asked.lock().unwrap().clone();
    asked.sort_unstable();
    assert_eq!(asked, (1..=10).collect::<Vec<_>>(), "pages 1 to 10 once each, nothing past the total");
}

#[tokio::test(start_paused = true)]
async fn a_server_counting_from_one_is_followed_without_skipping() {
    // The document says pages start at 0; the server treats 0 as its first page, 1, and reports 1.
    for concurrency in [1, 4] {
        let seen = Arc::new(Seen::default());
        // Page 0 is served as the server's first page, 1, and reported as 1.
        let fetch: FetchPage<u32> = {
            let inner = listing(120, None, 1, 0, seen.clone());
            Arc::new(move |number, size, options| inner(number.max(1), size, options))
        };
        let items = Paginator::new(paging(0, 50), CallOptions::default(), fetch)
            .concurrency(concurrency)
            .collect_all()
            .await
            .unwrap();
        assert_eq!(items, (0..120).collect::<Vec<_>>(), "concurrency {concurrency}");
    }
}

#[tokio::test(start_paused = true)]
async fn any_other_numbering_disagreement_stops_the_listing() {
    let seen = Arc::new(Seen::default());
    // The server reports two more than asked: pages would be skipped.
    let result =
        Paginator::new(paging(0, 10), CallOptions::default(), listing(100, None, 0, 2, seen)).collect_all().await;
    assert!(matches!(result, Err(Error::Pagination(ref m)) if m.contains("asked for page 0")), "{result:?}");
    // A later page answered with the wrong number.
    let fetch: FetchPage<u32> = Arc::new(|number, size, _| {
        Box::pin(async move {
            let reported = if number == 2 { 7 } else { number };
            let items = (number * size..number * size + size).collect();
            Ok(Page { items, number: reported, size, total_pages: None, total_elements: None, left_out: 0 })
        })
    });
    let pages: Vec<_> = Paginator::new(paging(0, 10), CallOptions::default(), fetch).pages().collect().await;
    assert_eq!(pages.len(), 3);
    assert!(matches!(&pages[2], Err(Error::Pagination(m)) if m.contains("page 2") && m.contains("page 7")));
}

#[tokio::test(start_paused = true)]
async fn without_total_pages_a_full_last_page_costs_one_empty_request() {
    let fetch: FetchPage<u32> = Arc::new(|number, size, _| {
        let items: Vec<u32> = if number < 2 { (0..size).map(|i| number * size + i).collect() } else { vec![] };
        Box::pin(async move { Ok(Page { items, number, size, total_pages: None, total_elements: None, left_out: 0 }) })
    });
    let items = Paginator::new(paging(0, 10), CallOptions::default(), fetch).collect_all().await.unwrap();
    assert_eq!(items, (0..20).collect::<Vec<_>>());
}

#[tokio::test(start_paused = true)]
async fn a_short_page_ends_the_listing_whatever_the_total() {
    let seen = Arc::new(Seen::default());
    let fetch: FetchPage<u32> = {
        let seen = seen.clone();
        Arc::new(move |number, size, _| {
            seen.calls.fetch_add(1, Ordering::SeqCst);
            // Page 1 is short although the server claims 5 pages of full size.
            let len = if number == 1 { size - 1 } else { size };
            let items = (number * 100..number * 100 + len).collect();
            Box::pin(async move {
                Ok(Page { items, number, size, total_pages: Some(5), total_elements: None, left_out: 0 })
            })
        })
    };
    let items =
        Paginator::new(paging(0, 10), CallOptions::default(), fetch).concurrency(1).collect_all().await.unwrap();
    assert_eq!(items.len(), 19);
    assert_eq!(seen.calls.load(Ordering::SeqCst), 2, "nothing asked after the short page");
}

/// A page whose odd items a tolerant decode left out is still a full page: the listing goes on.
#[tokio::test(start_paused = true)]
async fn a_page_with_items_left_out_is_not_taken_for_the_last() {
    let fetch: FetchPage<u32> = Arc::new(move |number, size, _| {
        // Pages 0 and 1 each lost one item; page 2 is the short last page.
        let (len, left_out) = if number < 2 { (size - 1, 1) } else { (3, 0) };
        let items = (number * 100..number * 100 + len).collect();
        Box::pin(async move { Ok(Page { items, number, size, total_pages: None, total_elements: None, left_out }) })
    });
    let items =
        Paginator::new(paging(0, 10), CallOptions::default(), fetch).concurrency(1).collect_all().await.unwrap();
    assert_eq!(items.len(), 9 + 9 + 3);
    let page = Page { items: vec![1u8], number: 0, size: 2, total_pages: None, total_elements: None, left_out: 1 };
    assert_eq!(page.sent(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_server_that_ignores_the_page_number_is_caught() {
    let fetch: FetchPage<u32> = Arc::new(|_number, size, _| {
        Box::pin(async move {
            Ok(Page {
                items: (0..size).collect(),
                number: 0,
                size,
                total_pages: None,
                total_elements: None,
                left_out: 0,
            })
        })
    });
    let result = Paginator::new(paging(0, 10), CallOptions::default(), fetch).collect_all().await;
    assert!(matches!(result, Err(Error::Pagination(_))), "{result:?}");
    let fetch: FetchPage<u32> = Arc::new(|number, size, _| {
        Box::pin(async move {
            Ok(Page { items: (0..size).collect(), number, size, total_pages: None, total_elements: None, left_out: 0 })
        })
    });
    let result = Paginator::new(paging(0, 10), CallOptions::default(), fetch).collect_all().await;
    assert!(matches!(result, Err(Error::Pagination(ref m)) if m.contains("repeats")), "{result:?}");
}

#[tokio::test(start_paused = true)]
async fn page_size_is_validated_before_sending() {
    let seen = Arc::new(Seen::default());
    let p = || Paginator::new(paging(0, 200), CallOptions::default(), listing(10, None, 0, 0, seen.clone()));
    assert!(matches!(p().page_size(201).collect_all().await, Err(Error::InvalidRequest(_))));
    assert!(matches!(p().page_size(0).collect_all().await, Err(Error::InvalidRequest(_))));
    assert!(matches!(p().page_size(0).page(0).await, Err(Error::InvalidRequest(_))));
    assert_eq!(seen.calls.load(Ordering::SeqCst), 0);
    assert_eq!(p().page_size(200).collect_all().await.unwrap().len(), 10, "the maximum itself is allowed");
}

#[tokio::test(start_paused = true)]
async fn errors_end_the_stream_and_the_listing_resumes_after_the_last_good_page() {
    let fail = Arc::new(AtomicU32::new(1));
    let fetch: FetchPage<u32> = {
        let fail = fail.clone();
        Arc::new(move |number, size, _| {
            let fails = fail.load(Ordering::SeqCst) == number;
            Box::pin(async move {
                if fails {
                    return Err(Error::InvalidRequest("boom".into()));
                }
                let items = if number < 3 { (number * size..number * size + size).collect() } else { vec![] };
                Ok(Page { items, number, size, total_pages: Some(3), total_elements: None, left_out: 0 })
            })
        })
    };
    let pages: Vec<_> =
        Paginator::new(paging(0, 5), CallOptions::default(), fetch.clone()).concurrency(1).pages().collect().await;
    assert_eq!(pages.len(), 2);
    let last_good = pages[0].as_ref().unwrap().number;
    assert!(pages[1].is_err());
    fail.store(u32::MAX, Ordering::SeqCst);
    let rest = Paginator::new(paging(0, 5), CallOptions::default(), fetch)
        .starting_at(last_good + 1)
        .collect_all()
        .await
        .unwrap();
    assert_eq!(rest, (5..15).collect::<Vec<_>>(), "pages 1 and 2, then one look further");
}

#[tokio::test(start_paused = true)]
async fn options_reach_every_page_request() {
    let seen_timeouts = Arc::new(Mutex::new(Vec::new()));
    let fetch: FetchPage<u32> = {
        let seen = seen_timeouts.clone();
        Arc::new(move |number, size, options: CallOptions| {
            seen.lock().unwrap().push(options.timeout);
            let items = if number < 3 { (0..size).map(|i| number * size + i).collect() } else { vec![] };
            Box::pin(async move {
                Ok(Page { items, number, size, total_pages: Some(3), total_elements: None, left_out: 0 })
            })
        })
    };
    let options = CallOptions::default().timeout(Duration::from_secs(7));
    Paginator::new(paging(0, 5), CallOptions::default(), fetch).options(options).collect_all().await.unwrap();
    let seen = seen_timeouts.lock().unwrap();
    assert!(seen.len() >= 3 && seen.iter().all(|t| *t == Some(Duration::from_secs(7))), "{seen:?}");
}

#[tokio::test(start_paused = true)]
async fn dropping_the_stream_stops_the_pages_in_flight() {
    let seen = Arc::new(Seen::default());
    let mut items = Paginator::new(paging(0, 10), CallOptions::default(), listing(1000, None, 0, 0, seen.clone()))
        .concurrency(4)
        .items();
    // Pages 0 to 2, then page 5 starts when page 2 leaves the four in flight.
    for _ in 0..25 {
        items.next().await.unwrap().unwrap();
    }
    let started_before = seen.calls.load(Ordering::SeqCst);
    let completed_before = seen.completed.load(Ordering::SeqCst);
    assert!(completed_before < started_before, "pages were in flight when the stream was dropped");
    drop(items);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let started = seen.calls.load(Ordering::SeqCst);
    assert_eq!(started, started_before, "no page started after the drop");
    assert_eq!(seen.completed.load(Ordering::SeqCst), completed_before, "the pages in flight were aborted");
    assert!(started <= 1 + 4 + 1, "the first page, four in flight and one refill: {started}");
}

#[tokio::test(start_paused = true)]
async fn pages_never_end_on_an_empty_page_but_an_empty_listing_has_one() {
    let seen = Arc::new(Seen::default());
    let empty: Vec<_> = Paginator::new(paging(0, 10), CallOptions::default(), listing(0, None, 0, 0, seen.clone()))
        .pages()
        .collect()
        .await;
    assert_eq!(empty.len(), 1, "an empty listing is one empty page");
    assert!(empty[0].as_ref().is_ok_and(|p| p.items.is_empty() && p.number == 0));
    let full: Vec<_> = Paginator::new(paging(0, 10), CallOptions::default(), listing(20, None, 0, 0, seen))
        .concurrency(1)
        .pages()
        .collect()
        .await;
    let sizes: Vec<usize> = full.iter().map(|p| p.as_ref().unwrap().items.len()).collect();
    assert_eq!(sizes, [10, 10], "the empty page after a full last page is not yielded");
}

#[test]
fn debug_shows_the_paging() {
    let fetch: FetchPage<u32> = Arc::new(|_, _, _| Box::pin(async { Err(Error::InvalidRequest("unused".into())) }));
    let p = Paginator::new(paging(1, 50), CallOptions::default(), fetch).page_size(20).concurrency(3);
    let printed = format!("{p:?}");
    assert!(
        printed.starts_with("Paginator") && printed.contains("size: 20") && printed.contains("concurrency: 3"),
        "{printed}"
    );
}

#[test]
fn a_page_is_told_from_the_previous_by_its_length_and_its_ends() {
    let page: Vec<u32> = (0..10).collect();
    assert_eq!(super::fingerprint(&page), super::fingerprint(&page.clone()), "a repeated page");
    let mut first = page.clone();
    first[0] = 99;
    let mut last = page.clone();
    last[9] = 99;
    let shorter = page[..9].to_vec();
    for other in [first, last, shorter, (10..20).collect()] {
        assert_ne!(super::fingerprint(&page), super::fingerprint(&other), "{other:?}");
    }
    assert_ne!(super::fingerprint::<u32>(&[]), super::fingerprint(&[0u32]));
}
