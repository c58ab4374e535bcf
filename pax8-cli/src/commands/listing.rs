//! Listings: one page (with where it sits among all), every page (`--all`), and `--all` in a
//! machine format (`--json`, `--csv`, `--ids-only`) streamed page by page, never the whole
//! listing in memory; each command says only how its items become a table.

use std::io::IsTerminal;

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use pax8_ext::{Paginator, Pax8Client};
use serde_json::Value;

use crate::Paging;
use crate::fail::Failure;
use crate::output::{Format, Printer, Table, TableStream};

/// Prints a listing: the page asked for, or with `--all` every page, streamed as it arrives when
/// the output is `--json`, `--csv` or `--ids-only`. `render` makes the table of some items; a
/// `company_id` column gets the companies' names beside it (tables and CSV).
pub(super) async fn show<T: serde::Serialize + Send + 'static>(
    client: &Pax8Client,
    paginator: Paginator<T>,
    paging: Paging,
    printer: &Printer,
    what: &str,
    render: impl Fn(&[T]) -> Table,
) -> Result<(), Failure> {
    if paging.all && matches!(printer.format, Format::Json | Format::Csv | Format::Ids) {
        return stream(client, sized(paginator, paging), printer, render).await;
    }
    let (items, listed) = list(paginator, paging, printer, what).await?;
    let mut t = render(&items);
    if t.has_company_column() {
        t.name_companies(&company_names(client, printer, t.company_ids()).await);
    }
    listed.apply(&mut t);
    printer.table(&t);
    Ok(())
}

/// Every page written as it arrives: one JSON array, CSV with one header, or the ids.
async fn stream<T: serde::Serialize + Send + 'static>(
    client: &Pax8Client,
    paginator: Paginator<T>,
    printer: &Printer,
    render: impl Fn(&[T]) -> Table,
) -> Result<(), Failure> {
    let mut header = render(&[]);
    // Names for CSV come from one listing of the companies before the first row.
    let names = if header.has_company_column() && printer.format == Format::Csv {
        all_company_names(client).await
    } else {
        Default::default()
    };
    header.name_companies(&names);
    let mut out = TableStream::start(printer.format, &header);
    let mut pages = paginator.pages();
    while let Some(page) = pages.next().await {
        let mut t = render(&page?.items);
        t.name_companies(&names);
        if !out.write(&t) {
            return Ok(()); // the reader went away (`| head`): stop quietly, as tables do
        }
    }
    out.finish();
    Ok(())
}

/// The page size a listing asks for: `--size`, or with `--all` the largest the API allows (with
/// the client's prefetch), else 50.
fn sized<T: serde::Serialize + Send + 'static>(paginator: Paginator<T>, paging: Paging) -> Paginator<T> {
    match (paging.size, paging.all) {
        (Some(size), _) => paginator.page_size(size),
        (None, true) => paginator,
        (None, false) => {
            let size = paginator.paging().max_size.min(50);
            paginator.page_size(size)
        }
    }
}

/// Every item of a listing, with a progress bar on a terminal.
pub async fn fetch_all<T: serde::Serialize + Send + 'static>(
    paginator: Paginator<T>,
    printer: &Printer,
    what: &str,
) -> Result<Vec<T>, Failure> {
    let bar = (std::io::stderr().is_terminal() && printer.format != Format::Quiet).then(|| {
        let bar = ProgressBar::new(0);
        if let Ok(style) = ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} pages") {
            bar.set_style(style);
        }
        bar.set_message(format!("fetching {what}"));
        bar
    });
    let mut pages = paginator.pages();
    let mut items = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page?;
        if let Some(bar) = &bar {
            bar.set_length(page.total_pages.unwrap_or(0).max(bar.position() + 1));
            bar.inc(1);
        }
        items.extend(page.items);
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(items)
}

/// What a list command says about where its items sit among all: the table's footer and, in
/// `--json`, the paging object (number, size, totals, the next page's number).
#[derive(Debug, Default)]
pub struct Listed {
    footer: Option<String>,
    paging: Option<Value>,
}

impl Listed {
    /// Puts the footer and paging on a table.
    pub fn apply(self, table: &mut crate::output::Table) {
        table.footer = self.footer;
        table.paging = self.paging;
    }
}

/// "1 company", "2 companies", "1 discrepancy": `what` is the plural.
pub fn count<N: std::fmt::Display + PartialEq + From<u8>>(n: N, what: &str) -> String {
    if n == N::from(1) {
        let one = match what.strip_suffix("ies") {
            Some(stem) => format!("{stem}y"),
            None => what.strip_suffix('s').unwrap_or(what).to_string(),
        };
        format!("1 {one}")
    } else {
        format!("{n} {what}")
    }
}

pub(super) async fn list<T: serde::Serialize + Send + 'static>(
    paginator: Paginator<T>,
    paging: Paging,
    printer: &Printer,
    what: &str,
) -> Result<(Vec<T>, Listed), Failure> {
    let paginator = sized(paginator, paging);
    if paging.all {
        let items = fetch_all(paginator, printer, what).await?;
        let footer = count(items.len(), what);
        return Ok((items, Listed { footer: Some(footer), paging: None }));
    }
    let page = paginator.page(paging.page).await?;
    let next = page.total_pages.filter(|&pages| u64::from(page.number) + 1 < pages).map(|_| page.number + 1);
    let footer = match (page.total_elements, next) {
        (Some(total), Some(next)) => Some(format!(
            "{} of {total} (page {} of {}; --page {next} for the next, --all for every page)",
            count(page.items.len(), what),
            u64::from(page.number) + 1,
            page.total_pages.unwrap_or(0),
        )),
        _ => None,
    };
    let paging = serde_json::json!({
        "number": page.number,
        "size": page.size,
        "total_elements": page.total_elements,
        "total_pages": page.total_pages,
        "next": next,
    });
    Ok((page.items, Listed { footer, paging: Some(paging) }))
}

/// The names of the companies these ids point at, for tables and CSV (JSON keeps the summaries
/// as they are). One listing of every company in the largest pages; ids it does not find, or a
/// failed listing (logged), leave the ids standing alone.
pub(super) async fn company_names(
    client: &Pax8Client,
    printer: &Printer,
    ids: impl IntoIterator<Item = Option<uuid::Uuid>>,
) -> std::collections::HashMap<uuid::Uuid, String> {
    let wanted: std::collections::HashSet<uuid::Uuid> = ids.into_iter().flatten().collect();
    if wanted.is_empty() || !matches!(printer.format, Format::Table | Format::Csv) {
        return Default::default();
    }
    let mut names = all_company_names(client).await;
    names.retain(|id, _| wanted.contains(id));
    names
}

/// Every company's name by id (one listing in the largest pages); a failed listing is logged
/// and leaves the ids standing alone.
async fn all_company_names(client: &Pax8Client) -> std::collections::HashMap<uuid::Uuid, String> {
    let paginator = client.companies().list();
    let size = paginator.paging().max_size;
    match paginator.page_size(size).collect_all().await {
        Ok(companies) => companies.into_iter().filter_map(|c| c.id.map(|id| (id, c.name))).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "company names unavailable; showing ids");
            Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_say_one_thing_or_many_things() {
        use super::count;
        assert_eq!(count(1usize, "companies"), "1 company");
        assert_eq!(count(2usize, "companies"), "2 companies");
        assert_eq!(count(0usize, "renewals"), "0 renewals");
        assert_eq!(count(1i64, "days"), "1 day");
        assert_eq!(count(1u64, "discrepancies"), "1 discrepancy");
        assert_eq!(count(30i64, "days"), "30 days");
    }
}
