//! Quick start: build a client, read one page, handle a typed error.
//!
//! ```text
//! cargo run --example quick_start
//! ```

use pax8_ext::{Error, Pax8Client};
use pax8_sandbox::{Sandbox, SandboxConfig};

#[tokio::main]
async fn main() -> pax8_ext::Result<()> {
    // Against the real service: `Pax8Client::from_env()?` with PAX8_CLIENT_ID / PAX8_CLIENT_SECRET.
    let sandbox = Sandbox::start(SandboxConfig::default()).await.expect("simulator");
    let client = Pax8Client::builder()
        .client_id(sandbox.client_id())
        .client_secret(sandbox.client_secret())
        .base_url(sandbox.base_url())
        .build()?;

    let page = client.companies().list().page_size(5).first_page().await?;
    println!("{} of {} companies:", page.items.len(), page.total_elements.unwrap_or(0));
    for company in &page.items {
        println!("  {}", company.name);
    }

    match client.subscriptions().get(uuid::Uuid::nil()).await {
        Err(Error::NotFound(e)) => println!("as expected: {e}"),
        other => println!("unexpected: {other:?}"),
    }
    Ok(())
}
