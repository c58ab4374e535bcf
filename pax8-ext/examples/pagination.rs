//! Pagination: items as a stream, pages with bounded concurrency, filters.
//!
//! ```text
//! cargo run --example pagination
//! ```

use futures::{StreamExt, TryStreamExt};
use pax8_ext::Pax8Client;
use pax8_sandbox::{Sandbox, SandboxConfig};

#[tokio::main]
async fn main() -> pax8_ext::Result<()> {
    let sandbox =
        Sandbox::start(SandboxConfig { companies: 200, ..SandboxConfig::default() }).await.expect("simulator");
    let client = Pax8Client::builder()
        .client_id(sandbox.client_id())
        .client_secret(sandbox.client_secret())
        .base_url(sandbox.base_url())
        .build()?;

    // Every subscription, 200 a page, four pages in flight, in order.
    let mut seats = 0.0;
    let mut stream = client.subscriptions().list().concurrency(4).items();
    while let Some(sub) = stream.try_next().await? {
        seats += sub.quantity.unwrap_or(0.0);
    }
    println!("{seats} seats in all");

    // Pages, with a filter set on the generated builder.
    let annual_pages: Vec<_> =
        client.subscriptions().list_with(|q| q.billing_term("Annual")).page_size(50).pages().collect().await;
    for page in annual_pages {
        let page = page?;
        println!("page {} of {:?}: {} annual subscriptions", page.number, page.total_pages, page.items.len());
    }
    Ok(())
}
