//! A listing's pages with the records of their items ([`built`]): each page's records are built
//! (serialized, hashed) on a task of their own while the page before is written.

use futures::StreamExt;
use futures::stream::BoxStream;
use pax8_ext::pagination::Page;

use crate::SyncError;
use crate::rows::Record;

/// Pages of a listing as they arrive.
pub(crate) type Pages<T> = BoxStream<'static, pax8_ext::Result<Page<T>>>;

/// A page with the records of its items.
pub(crate) type Built<T> = (Page<T>, Vec<Record>);

/// Pages of a listing with their records, as they are built.
pub(crate) type BuiltPages<T> = BoxStream<'static, Result<Built<T>, SyncError>>;

/// `pages` with each page's records built by `build` on a task of its own, the next page's while
/// this one is written (building a record serializes and hashes its item: work that would
/// otherwise wait for the database's, and the database's for it).
pub(crate) fn built<T, F>(pages: Pages<T>, build: F) -> BuiltPages<T>
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

#[cfg(test)]
mod tests {
    use futures::stream;

    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn a_panic_while_building_a_page_is_the_reader_s_panic() {
        let page =
            Page { items: vec![1_u32], number: 0, size: 1, total_pages: None, total_elements: None, left_out: 0 };
        let pages: Pages<u32> = stream::iter([Ok(page)]).boxed();
        let mut pages = built(pages, |_: &u32| -> Option<Record> { panic!("a bug while building") });
        let read = tokio::spawn(async move { pages.next().await.map(|page| page.is_ok()) }).await;
        assert!(read.is_err_and(|e| e.is_panic()), "not turned into an error the sync would resume from");
    }
}
