//! Custom retries: a client-wide policy, a per-call override, and what a create does under faults.
//!
//! ```text
//! cargo run --example custom_retry
//! ```

use std::time::Duration;

use pax8_ext::{Call, CallOptions, Pax8Client, RetryPolicy};
use pax8_sandbox::{Faults, Sandbox, SandboxConfig};

#[tokio::main]
async fn main() -> pax8_ext::Result<()> {
    let faults = Faults { server_error_rate: 0.3, ..Faults::default() };
    let sandbox = Sandbox::start(SandboxConfig { faults, ..SandboxConfig::default() }).await.expect("simulator");
    let policy = RetryPolicy {
        max_attempts: 6,
        base_delay: Duration::from_millis(50),
        max_delay: Duration::from_secs(2),
        ..RetryPolicy::default()
    };
    let client = Pax8Client::builder()
        .client_id(sandbox.client_id())
        .client_secret(sandbox.client_secret())
        .base_url(sandbox.base_url())
        .retry_policy(policy)
        .build()?;

    let companies = client.companies().list().collect_all().await?;
    println!("{} companies despite 30% server errors", companies.len());

    // One call that must not wait: no retries.
    let once = client.partner().find_all_products().call(&client, &CallOptions::retry(RetryPolicy::none())).await;
    println!("single attempt: {}", if once.is_ok() { "ok" } else { "failed (not retried)" });
    println!("server saw {:?}", sandbox.counters());
    Ok(())
}
