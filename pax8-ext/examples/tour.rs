//! A tour of pax8-ext on the embedded Pax8 simulator: no credentials, no network.
//!
//! ```text
//! cargo run --example tour
//! ```
//! Set `PAX8_CLIENT_ID`/`PAX8_CLIENT_SECRET` (and optionally `PAX8_BASE_URL`) and pass `--live`
//! to run the same tour against a real tenant (read-only apart from the dry-run order).

use std::time::Duration;

use chrono::Utc;
use futures::TryStreamExt;
use pax8_api::partner::types::{Subscription, SubscriptionStatus};
use pax8_ext::money::{Decimal, amount};
use pax8_ext::resources::NewOrder;
use pax8_ext::{Pax8Client, Result};
use pax8_sandbox::{Sandbox, SandboxConfig};

fn money(x: Decimal) -> String {
    format!("{:>10.2}", pax8_ext::money::cents(x))
}

fn monthly_value(s: &Subscription) -> Decimal {
    pax8_ext::insights::monthly_revenue(s)
}

#[tokio::main]
async fn main() -> Result<()> {
    let live = std::env::args().any(|a| a == "--live");
    let _sandbox;
    let client = if live {
        Pax8Client::from_env()?
    } else {
        let sandbox = Sandbox::start(SandboxConfig::default()).await.expect("the simulator starts on 127.0.0.1");
        println!("Started the embedded Pax8 simulator at {}\n", sandbox.base_url());
        let client = Pax8Client::builder()
            .client_id(sandbox.client_id())
            .client_secret(sandbox.client_secret())
            .base_url(sandbox.base_url())
            .build()?;
        _sandbox = sandbox;
        client
    };

    // 1. Companies, through a pagination stream.
    let companies = client.companies().list().page_size(10).collect_all().await?;
    println!("== {} companies (first 5)", companies.len());
    for c in companies.iter().take(5) {
        println!(
            "   {:<36} {:<20} {}",
            c.name,
            c.address.city.as_deref().unwrap_or("-"),
            c.status.as_ref().map(|s| s.as_str()).unwrap_or("-")
        );
    }

    // 2. One customer's subscriptions, found by name (the API has no name search).
    let globex = client.companies().find_by_name("Globex").await?.into_iter().next().expect("a company named Globex");
    let globex_id = globex.id.expect("companies have ids");
    let subs: Vec<Subscription> =
        client.subscriptions().list_with(move |q| q.company_id(globex_id)).items().try_collect().await?;
    println!("\n== {} subscriptions of {}", subs.len(), globex.name);
    for s in &subs {
        println!(
            "   {:<42} x{:<5} {:<8} {} {}",
            s.product_name.as_deref().unwrap_or("?"),
            s.quantity.unwrap_or(0.0),
            s.billing_term.as_ref().map(|t| t.as_str()).unwrap_or("-"),
            money(monthly_value(s)),
            s.status.as_ref().map(|t| t.as_str()).unwrap_or("-"),
        );
    }

    // 3. Upcoming renewals across all customers: commitments ending in the next 60 days.
    let active: Vec<Subscription> =
        client.subscriptions().list_with(|q| q.status("Active")).concurrency(4).collect_all().await?;
    let renewals = pax8_ext::insights::renewals(&active, Utc::now(), 60);
    let at_risk: Decimal = renewals.iter().map(|r| r.monthly_revenue).sum();
    println!(
        "\n== {} renewals in the next 60 days, {} a month at stake (first 5)",
        renewals.len(),
        money(at_risk).trim()
    );
    for r in renewals.iter().take(5) {
        let s = &r.subscription;
        let company = companies.iter().find(|c| c.id == s.company_id).map(|c| c.name.as_str()).unwrap_or("?");
        println!(
            "   {}  {:<30} {:<38} {}",
            r.ends.format("%Y-%m-%d"),
            company,
            s.product_name.as_deref().unwrap_or("?"),
            money(r.monthly_revenue)
        );
    }

    // 4. The latest invoice and its items.
    let invoice = client.invoices().list().first_page().await?.items.into_iter().next().expect("an invoice");
    let invoice_id = invoice.id.expect("invoices have ids");
    let items = client.invoices().items(invoice_id).collect_all().await?;
    let total: Decimal = items.iter().map(|i| amount(i.cost_total)).sum();
    println!(
        "\n== invoice {} of {} ({}): {} items, partner cost {}",
        invoice_id,
        invoice.invoice_date.map(|d| d.to_string()).unwrap_or_default(),
        invoice.status.as_deref().unwrap_or("-"),
        items.len(),
        money(total).trim()
    );
    for i in items.iter().take(3) {
        println!(
            "   {:<30} {:<38} x{:<5} {}",
            i.company_name.as_deref().unwrap_or("?"),
            i.product_name.as_deref().unwrap_or("?"),
            i.quantity.unwrap_or(0.0),
            money(amount(i.cost_total))
        );
    }

    // 5. A product's pricing, with the customer's own rates.
    let product = client
        .products()
        .search("Business Premium")?
        .first_page()
        .await?
        .items
        .into_iter()
        .next()
        .expect("M365 Business Premium");
    let product_id = product.id.expect("products have ids");
    println!("\n== pricing of {} for {}", product.name.as_deref().unwrap_or("?"), globex.name);
    for p in client.products().pricing(product_id, Some(globex_id)).await? {
        for r in &p.rates {
            println!(
                "   {:<8} from {:>4}  partner {}  retail {}",
                p.billing_term.as_ref().map(|t| t.as_str()).unwrap_or("-"),
                r.start_quantity_range.unwrap_or(0.0),
                money(amount(r.partner_buy_rate)),
                money(amount(r.suggested_retail_price))
            );
        }
    }

    // 6. A dry-run order: validated by the server, nothing is created.
    let dependencies = client.products().dependencies(product_id).await?;
    let monthly =
        dependencies.commitment_dependencies.iter().find(|c| c.term.as_deref() == Some("Monthly")).and_then(|c| c.id);
    let order = NewOrder::for_company(globex_id).line(product_id, 5, "Monthly", monthly).build();
    let preview = client.orders().create(order).mock(true).send().await?;
    println!(
        "\n== dry-run order for {}: {} line item(s), status {} (nothing was created)",
        globex.name,
        preview.line_items.len(),
        preview.status.as_deref().unwrap_or("-")
    );
    for li in &preview.line_items {
        println!(
            "   {} x{} {}",
            product.name.as_deref().unwrap_or("?"),
            li.quantity,
            li.billing_term.as_ref().map(|t| t.as_str()).unwrap_or("-")
        );
    }

    let active = subs.iter().filter(|s| s.status == Some(SubscriptionStatus::Active)).count();
    println!(
        "\nDone: {active} active subscriptions at {}, {} token request(s).",
        globex.name,
        client.token_requests_sent()
    );
    tokio::time::sleep(Duration::from_millis(1)).await;
    Ok(())
}
