//! Command dispatch: building the client, listing, showing, and the confirmed writes.

use std::io::{BufRead, IsTerminal, Write};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use pax8_api::partner::types::{Product, Subscription};
use pax8_ext::filters::{CompanyFilter, InvoiceFilter, SubscriptionFilter};
use pax8_ext::insights::{monthly_cost, monthly_revenue, months_per_period};
use pax8_ext::resources::{CommitmentChoice, NewOrder};
use pax8_ext::views::{CompanySummary, OrderSummary, ProductSummary, SubscriptionSummary};
use pax8_ext::{Paginator, Pax8Client};
use pax8_sandbox::{Sandbox, SandboxConfig};
use serde_json::Value;

use crate::fail::Failure;
use crate::output::{Format, Printer, Table, col, money, text, whole};
use crate::{
    AuthCommand, Cli, Command, CompaniesCommand, ContactsCommand, InvoicesCommand, OrdersCommand, Paging,
    ProductsCommand, QuotesCommand, SubscriptionsCommand, UsageCommand, WebhooksCommand, creds, reports, resolve,
};

/// "Now": `PAX8_TODAY` (YYYY-MM-DD) pins it for scripts and tests.
pub fn now() -> Result<DateTime<Utc>, Failure> {
    match std::env::var("PAX8_TODAY") {
        Ok(d) if !d.is_empty() => Ok(resolve::date(&d)?.and_hms_opt(0, 0, 0).expect("midnight").and_utc()),
        _ => Ok(Utc::now()),
    }
}

/// The client and, with `--sandbox`, the simulator it talks to.
pub struct Session {
    pub client: Pax8Client,
    pub printer: Printer,
    _sandbox: Option<Sandbox>,
}

async fn session(cli: &Cli, printer: Printer) -> Result<Session, Failure> {
    if cli.sandbox {
        let seed = std::env::var("PAX8_SANDBOX_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(7);
        let companies = std::env::var("PAX8_SANDBOX_COMPANIES").ok().and_then(|s| s.parse().ok()).unwrap_or(25);
        let today = match std::env::var("PAX8_TODAY") {
            Ok(d) if !d.is_empty() => Some(resolve::date(&d)?),
            _ => None,
        };
        let sandbox = Sandbox::start(SandboxConfig { seed, companies, today, ..SandboxConfig::default() })
            .await
            .map_err(|e| Failure::usage(format!("cannot start the simulator: {e}")))?;
        let client = Pax8Client::builder()
            .client_id(sandbox.client_id())
            .client_secret(sandbox.client_secret())
            .base_url(sandbox.base_url())
            .no_rate_limit()
            .build()?;
        return Ok(Session { client, printer, _sandbox: Some(sandbox) });
    }
    let env_id = std::env::var("PAX8_CLIENT_ID").ok().filter(|v| !v.is_empty());
    let env_url = std::env::var("PAX8_BASE_URL").ok().filter(|v| !v.is_empty());
    let (builder, client_id) = if let Some(id) = env_id {
        (Pax8Client::builder().from_env()?, format!("{id}@{}", env_url.as_deref().unwrap_or("pax8")))
    } else {
        match creds::load()? {
            Some(c) => {
                let id = format!("{}@{}", c.client_id, c.base_url.as_deref().unwrap_or("pax8"));
                let b = Pax8Client::builder().client_id(c.client_id).client_secret(c.client_secret);
                let b = match c.base_url {
                    Some(url) => b.base_url(&url),
                    None => b,
                };
                (b, id)
            }
            None => {
                return Err(Failure {
                    message: "not logged in: run `pax8 auth login`, set PAX8_CLIENT_ID and PAX8_CLIENT_SECRET, or use --sandbox".into(),
                    code: crate::fail::code::AUTH,
                });
            }
        }
    };
    // Tokens kept between commands (per client id and server): ten commands in a row make one
    // token request.
    let tokens = creds::path()?.with_file_name("tokens.json");
    let builder = builder.token_store(std::sync::Arc::new(pax8_ext::FileTokenStore::new(tokens, &client_id)));
    Ok(Session { client: builder.build()?, printer, _sandbox: None })
}

/// Every item of a listing, with a progress bar on a terminal.
pub async fn fetch_all<T: serde::Serialize + Send + 'static>(
    paginator: Paginator<T>,
    printer: &Printer,
    what: &str,
) -> Result<Vec<T>, Failure> {
    let bar = (std::io::stderr().is_terminal() && printer.format != Format::Quiet).then(|| {
        let bar = ProgressBar::new(0);
        bar.set_style(ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} pages").expect("template"));
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

async fn list<T: serde::Serialize + Send + 'static>(
    paginator: Paginator<T>,
    paging: Paging,
    printer: &Printer,
    what: &str,
) -> Result<(Vec<T>, Option<String>), Failure> {
    // --all asks for the largest pages the API allows (unless --size says otherwise) with the
    // client's default prefetch; one page is 50 items unless --size says otherwise.
    let paginator = match (paging.size, paging.all) {
        (Some(size), _) => paginator.page_size(size),
        (None, true) => paginator,
        (None, false) => {
            let size = paginator.paging().max_size.min(50);
            paginator.page_size(size)
        }
    };
    if paging.all {
        let items = fetch_all(paginator, printer, what).await?;
        let footer = format!("{} {what}", items.len());
        return Ok((items, Some(footer)));
    }
    let page = paginator.first_page().await?;
    let footer = match (page.total_elements, page.total_pages) {
        (Some(total), Some(pages)) if pages > 1 => {
            Some(format!("{} of {total} {what} (--all for every page)", page.items.len()))
        }
        _ => None,
    };
    Ok((page.items, footer))
}

/// Asks before a write; refuses without a terminal unless `--yes`.
fn confirm(question: &str, yes: bool) -> Result<(), Failure> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Failure::usage("not confirmed: nothing was changed (pass --yes to confirm without a prompt)"));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).map_err(|e| Failure::usage(e.to_string()))?;
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(Failure::usage("cancelled: nothing was changed"))
    }
}

const COMPANY_COLUMNS: [crate::output::Column; 5] =
    [col("id", "ID"), col("name", "NAME"), col("city", "CITY"), col("country", "COUNTRY"), col("status", "STATUS")];

pub const SUBSCRIPTION_COLUMNS: [crate::output::Column; 9] = [
    col("id", "ID"),
    col("company_id", "COMPANY"),
    col("product_name", "PRODUCT"),
    whole("quantity", "QTY"),
    col("billing_term", "TERM"),
    col("price", "PRICE"),
    col("monthly_revenue", "MONTHLY"),
    col("status", "STATUS"),
    col("commitment_end", "COMMITMENT ENDS"),
];

/// A product by id or by name (exact, then unique partial; else candidates).
async fn product(client: &Pax8Client, input: &str) -> Result<Product, Failure> {
    if let Ok(id) = uuid::Uuid::parse_str(input.trim()) {
        let d = client.products().get(id).await?;
        return Ok(serde_json::from_value(serde_json::to_value(d).expect("json")).expect("same fields"));
    }
    let found = client.products().search(input)?.collect_all().await?;
    let wanted = input.trim().to_lowercase();
    let exact: Vec<&Product> =
        found.iter().filter(|p| p.name.as_deref().is_some_and(|n| n.to_lowercase() == wanted)).collect();
    let pool: Vec<&Product> = if exact.is_empty() { found.iter().collect() } else { exact };
    match pool.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(Failure::usage(format!("no product matches `{input}`; `pax8 products list --search ...` to look"))),
        many => Err(Failure::usage(format!(
            "`{input}` matches {} products; use one of these names or ids:\n{}",
            many.len(),
            many.iter()
                .map(|p| format!(
                    "  {} ({})",
                    p.name.as_deref().unwrap_or("?"),
                    p.id.map(|i| i.to_string()).unwrap_or_default()
                ))
                .collect::<Vec<_>>()
                .join("\n")
        ))),
    }
}

/// The commands that read or write only the local mirror.
async fn local(command: Command, printer: &Printer) -> Result<(), Failure> {
    match command {
        Command::Drift { since, db } => {
            let days = resolve::days(&since, now()?.date_naive())?;
            let store = pax8_sync::Store::open(&db).await.map_err(sync_failure)?;
            let found = pax8_sync::drift(&store, chrono::Duration::days(days), now()?).await.map_err(sync_failure)?;
            let mut t = Table::new(&[
                col("subscription_id", "SUBSCRIPTION"),
                col("product", "PRODUCT"),
                col("quantity_before", "QTY BEFORE"),
                col("quantity_now", "QTY NOW"),
                col("price_before", "PRICE BEFORE"),
                col("price_now", "PRICE NOW"),
            ]);
            for d in &found {
                t.push(vec![
                    Value::from(d.subscription_id.clone()),
                    text(d.product_name.as_ref()),
                    text(d.quantity_before),
                    text(d.quantity_now),
                    text(d.price_before.map(|x| format!("{x:.2}"))),
                    text(d.price_now.map(|x| format!("{x:.2}"))),
                ]);
            }
            t.footer = Some(format!("{} subscriptions changed in the last {days} days", found.len()));
            printer.table(&t);
        }
        Command::Webhooks(WebhooksCommand::Serve { listen, db }) => {
            let token = webhook_token()?;
            let store = pax8_sync::Store::open(&db).await.map_err(sync_failure)?;
            let receiver =
                pax8_sync::receiver::Receiver { store, token, max_body: pax8_sync::receiver::DEFAULT_MAX_BODY };
            eprintln!("receiving Pax8 webhooks on http://{listen}/webhooks/pax8 into {db}");
            pax8_sync::receiver::serve(receiver, listen).await.map_err(|e| Failure {
                message: format!("cannot serve on {listen}: {e}"),
                code: crate::fail::code::NETWORK,
            })?;
        }
        _ => return Err(Failure::usage("not a local command")),
    }
    Ok(())
}

pub async fn run(cli: Cli, printer: Printer) -> Result<(), Failure> {
    if let Command::Auth(cmd) = &cli.command {
        return auth(&cli, cmd, printer).await;
    }
    // Local commands: the mirror and the receiver need no Pax8 credentials.
    if matches!(cli.command, Command::Drift { .. } | Command::Webhooks(WebhooksCommand::Serve { .. })) {
        return local(cli.command, &printer).await;
    }
    let s = session(&cli, printer).await?;
    let (client, p) = (&s.client, &s.printer);
    match cli.command {
        // Dispatched above, before a session exists.
        Command::Auth(_)
        | Command::Completions { .. }
        | Command::Drift { .. }
        | Command::Webhooks(WebhooksCommand::Serve { .. }) => {
            return Err(Failure::usage("this command needs no Pax8 session"));
        }
        Command::Companies(CompaniesCommand::List { paging, city, country, status }) => {
            let filter = CompanyFilter { city, country, status, sort: None };
            let paginator = client.companies().filtered(&filter)?;
            let (items, footer) = list(paginator, paging, p, "companies").await?;
            let summaries: Vec<CompanySummary> = items.iter().map(CompanySummary::from).collect();
            let mut t = Table::of(&COMPANY_COLUMNS, &summaries);
            t.footer = footer;
            p.table(&t);
        }
        Command::Companies(CompaniesCommand::Show { company }) => {
            let c = resolve::company(client, &company).await?;
            p.record(&[
                ("id", "ID", text(c.id)),
                ("name", "Name", Value::from(c.name.clone())),
                ("status", "Status", text(c.status.as_ref())),
                ("street", "Street", text(c.address.street.as_ref())),
                ("city", "City", text(c.address.city.as_ref())),
                ("state_or_province", "State", text(c.address.state_or_province.as_ref())),
                ("postal_code", "Postal code", text(c.address.postal_code.as_ref())),
                ("country", "Country", text(c.address.country.as_ref())),
                ("phone", "Phone", text(c.phone.as_ref())),
                ("website", "Website", text(c.website.as_ref())),
                ("external_id", "External id", text(c.external_id.as_ref())),
                ("bill_on_behalf_of_enabled", "Billed by Pax8", text(c.bill_on_behalf_of_enabled)),
                ("updated", "Updated", text(c.updated_date)),
            ]);
        }
        Command::Contacts(ContactsCommand::List { company }) => {
            let c = resolve::company(client, &company).await?;
            let contacts = client.contacts(crate::fail::id_of(c.id, "company")?).list().collect_all().await?;
            let mut t = Table::new(&[
                col("id", "ID"),
                col("name", "NAME"),
                col("email", "EMAIL"),
                col("phone", "PHONE"),
                col("types", "TYPES"),
            ]);
            for x in contacts {
                let types: Vec<String> =
                    x.types.iter().filter_map(|t| t.type_.as_ref().map(|t| t.to_string())).collect();
                t.push(vec![
                    text(x.id),
                    Value::from(format!("{} {}", x.first_name, x.last_name)),
                    Value::from(x.email),
                    Value::from(x.phone),
                    Value::from(types.join(" ")),
                ]);
            }
            p.table(&t);
        }
        Command::Products(ProductsCommand::List { paging, search, vendor }) => {
            if let Some(s) = &search {
                client.products().search(s)?; // validates 2..256 before sending
            }
            let paginator = client.products().list_with(move |mut q| {
                if let Some(s) = &search {
                    q = q.search(s.trim().to_string());
                }
                if let Some(v) = &vendor {
                    q = q.vendor_name(v.clone());
                }
                q
            });
            let (items, footer) = list(paginator, paging, p, "products").await?;
            let summaries: Vec<ProductSummary> = items.iter().map(ProductSummary::from).collect();
            let mut t = Table::of(
                &[col("id", "ID"), col("name", "NAME"), col("vendor", "VENDOR"), col("sku", "SKU")],
                &summaries,
            );
            t.footer = footer;
            p.table(&t);
        }
        Command::Products(ProductsCommand::Show { product: input, company }) => {
            let prod = product(client, &input).await?;
            let company_id = match &company {
                Some(c) => Some(crate::fail::id_of(resolve::company(client, c).await?.id, "company")?),
                None => None,
            };
            let pricing = client.products().pricing(crate::fail::id_of(prod.id, "product")?, company_id).await?;
            let mut t = Table::new(&[
                col("term", "TERM"),
                col("from", "FROM QTY"),
                col("to", "TO QTY"),
                col("partner_price", "PARTNER"),
                col("retail_price", "RETAIL"),
                col("unit", "UNIT"),
            ]);
            for pr in &pricing {
                for r in &pr.rates {
                    t.push(vec![
                        text(pr.billing_term.as_ref()),
                        text(r.start_quantity_range.map(|x| x as i64)),
                        text(r.end_quantity_range.map(|x| x as i64)),
                        money(r.partner_buy_rate.unwrap_or(0.0)),
                        money(r.suggested_retail_price.unwrap_or(0.0)),
                        text(pr.unit_of_measurement.as_ref()),
                    ]);
                }
            }
            t.footer = Some(format!(
                "{} by {} (SKU {}){}",
                prod.name.as_deref().unwrap_or("?"),
                prod.vendor_name.as_deref().unwrap_or("?"),
                prod.sku.as_deref().unwrap_or("?"),
                if company.is_some() { ", with the company's rates" } else { "" }
            ));
            p.table(&t);
        }
        Command::Orders(OrdersCommand::List { paging, company }) => {
            let company_id = match &company {
                Some(c) => Some(crate::fail::id_of(resolve::company(client, c).await?.id, "company")?),
                None => None,
            };
            let paginator = client.orders().list_with(move |q| match company_id {
                Some(id) => q.company_id(id),
                None => q,
            });
            let (items, footer) = list(paginator, paging, p, "orders").await?;
            let mut t = Table::new(&[
                col("id", "ID"),
                col("company_id", "COMPANY"),
                col("created", "CREATED"),
                col("status", "STATUS"),
                col("line_items", "LINES"),
            ]);
            for o in items {
                t.push(vec![
                    text(o.id),
                    text(Some(o.company_id)),
                    text(o.created_date),
                    text(o.status),
                    Value::from(o.line_items.len()),
                ]);
            }
            t.footer = footer;
            p.table(&t);
        }
        Command::Orders(OrdersCommand::Show { order }) => {
            let o = client.orders().get(resolve::id("order", &order)?).await?;
            let mut t = Table::new(&[
                col("product_id", "PRODUCT"),
                col("quantity", "QTY"),
                col("term", "TERM"),
                col("subscription_id", "SUBSCRIPTION"),
            ]);
            for li in &o.line_items {
                t.push(vec![
                    text(Some(li.product_id)),
                    Value::from(li.quantity as i64),
                    text(li.billing_term.as_ref()),
                    text(li.subscription_id),
                ]);
            }
            t.footer = Some(format!(
                "order {} for {} ({})",
                o.id.map(|i| i.to_string()).unwrap_or_default(),
                o.company_id,
                o.status.as_deref().unwrap_or("-")
            ));
            p.table(&t);
        }
        Command::Orders(OrdersCommand::Create { company, product: input, quantity, term, yes }) => {
            if quantity == 0 {
                return Err(Failure::usage("quantity must be at least 1"));
            }
            let c = resolve::company(client, &company).await?;
            let prod = product(client, &input).await?;
            let (company_id, product_id) =
                (crate::fail::id_of(c.id, "company")?, crate::fail::id_of(prod.id, "product")?);
            let commitment = match client.products().commitment_for(product_id, &term).await? {
                CommitmentChoice::NotRequired => None,
                CommitmentChoice::Chosen(c) => c.id,
                CommitmentChoice::Choose(terms) => {
                    let names: Vec<String> = terms.iter().filter_map(|c| c.term.clone()).collect();
                    return Err(Failure::usage(format!(
                        "{} needs a commitment term and none matches `{term}`: use --term with one of: {}",
                        prod.name.as_deref().unwrap_or("this product"),
                        names.join(", ")
                    )));
                }
            };
            let order = NewOrder::for_company(company_id).line(product_id, quantity, &term, commitment).build();
            client.orders().create(order.clone()).mock(true).send().await?; // the server validates, creates nothing
            let pricing = client.products().pricing(product_id, Some(company_id)).await?;
            let rate = pax8_ext::insights::rate_for(&pricing, &term, f64::from(quantity));
            let unit = rate.and_then(|r| r.partner_buy_rate).unwrap_or(0.0);
            let retail = rate.and_then(|r| r.suggested_retail_price).unwrap_or(0.0);
            let months = pax8_ext::insights::months_for_term(&term);
            let total = unit * f64::from(quantity);
            let preview = [
                ("company", "Company", Value::from(c.name.clone())),
                ("product", "Product", text(prod.name.as_ref())),
                ("quantity", "Quantity", Value::from(quantity)),
                ("term", "Term", Value::from(term.clone())),
                ("unit_price", "Unit price (partner)", money(unit)),
                ("total", "Total per term", money(total)),
                ("monthly_cost", "Monthly cost impact", money(total / months)),
                ("monthly_revenue", "Monthly revenue (retail)", money(retail * f64::from(quantity) / months)),
                ("validated", "Validated by a dry run", Value::from(true)),
            ];
            let preview_json: serde_json::Map<String, Value> =
                preview.iter().map(|(k, _, v)| ((*k).to_string(), v.clone())).collect();
            // `--json` prints one document after the outcome: the preview and the placed order.
            let json = p.format == Format::Json;
            if !json {
                p.record(&preview);
            }
            if let Err(refused) = confirm("Place this order?", yes) {
                if json {
                    p.document(&serde_json::json!({"preview": preview_json, "placed": false}));
                }
                return Err(refused);
            }
            let attempt = pax8_ext::Timestamp::from(chrono::Utc::now());
            match client.orders().create(order.clone()).send().await {
                Ok(placed) => {
                    p.document(&serde_json::json!({"preview": preview_json, "placed": true,
                        "order": OrderSummary::from(&placed)}));
                    p.note(&format!("Order {} placed.", placed.id.map(|i| i.to_string()).unwrap_or_default()))
                }
                Err(pax8_ext::Error::AnswerUnreadable { id, .. }) => {
                    p.document(&serde_json::json!({"preview": preview_json, "placed": true, "order_id": id,
                        "note": "the answer could not be read"}));
                    p.note(&format!(
                        "Order {} placed (its answer could not be read).",
                        id.unwrap_or_else(|| "(id unknown)".into())
                    ))
                }
                Err(e) if e.is_outcome_unknown() => {
                    let check = format!("pax8 orders list --company {company_id}");
                    let found = client.orders().find_recent_matching(&order, attempt).await;
                    match found.as_deref() {
                        Ok([one]) => {
                            p.document(&serde_json::json!({"preview": preview_json, "placed": true,
                                "order": OrderSummary::from(one), "note": "the answer was lost; the order was found"}));
                            p.note(&format!(
                                "The answer was lost, but order {} was created: do not order again.",
                                one.id.map(|i| i.to_string()).unwrap_or_default()
                            ))
                        }
                        other => {
                            let seen = match other {
                                Ok([]) => "no matching order was found yet".to_string(),
                                Ok(matches) => format!("{} matching orders exist", matches.len()),
                                Err(lookup) => lookup.to_string(),
                            };
                            return Err(Failure {
                                message: format!(
                                    "{e}\n  could not tell whether the order was placed ({seen}): check with `{check}` before retrying"
                                ),
                                code: crate::fail::code::UNSETTLED,
                            });
                        }
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Command::Subscriptions(SubscriptionsCommand::List { paging, company, status, term }) => {
            let mut filter = SubscriptionFilter { status, billing_term: term, ..Default::default() };
            // A value the API does not know fails here, before any request.
            filter.check()?;
            filter.company_id = match &company {
                Some(c) => Some(crate::fail::id_of(resolve::company(client, c).await?.id, "company")?),
                None => None,
            };
            let paginator = client.subscriptions().filtered(&filter)?;
            let (items, footer) = list(paginator, paging, p, "subscriptions").await?;
            let summaries: Vec<SubscriptionSummary> = items.iter().map(SubscriptionSummary::from).collect();
            let mut t = Table::of(&SUBSCRIPTION_COLUMNS, &summaries);
            t.footer = footer;
            p.table(&t);
        }
        Command::Subscriptions(SubscriptionsCommand::Show { subscription }) => {
            let s = client.subscriptions().get(resolve::id("subscription", &subscription)?).await?;
            show_subscription(p, &s);
        }
        Command::Subscriptions(SubscriptionsCommand::Update { subscription, quantity, yes }) => {
            if quantity == 0 {
                return Err(Failure::usage(
                    "quantity must be at least 1; to end a subscription use `pax8 subscriptions cancel`",
                ));
            }
            let id = resolve::id("subscription", &subscription)?;
            let s = client.subscriptions().get(id).await?;
            let current = s.quantity.unwrap_or(0.0);
            let delta = f64::from(quantity) - current;
            let months = months_per_period(&s);
            p.record(&[
                ("subscription", "Subscription", text(s.id)),
                ("product", "Product", text(s.product_name.as_ref())),
                ("quantity_now", "Quantity now", Value::from(current as i64)),
                ("quantity_new", "New quantity", Value::from(quantity)),
                ("monthly_revenue_change", "Monthly revenue change", money(delta * s.price.unwrap_or(0.0) / months)),
                ("monthly_cost_change", "Monthly cost change", money(delta * s.partner_cost.unwrap_or(0.0) / months)),
            ]);
            confirm("Apply this change?", yes)?;
            let updated = client.subscriptions().update_quantity(id, i64::from(quantity)).await?;
            p.note(&format!("Quantity is now {}.", updated.quantity.unwrap_or(0.0)));
        }
        Command::Subscriptions(SubscriptionsCommand::Cancel { subscription, date, yes }) => {
            let id = resolve::id("subscription", &subscription)?;
            let when = match &date {
                Some(d) => Some(pax8_api::Date::from(resolve::date(d)?).to_timestamp()),
                None => None,
            };
            let s = client.subscriptions().get(id).await?;
            p.record(&[
                ("subscription", "Subscription", text(s.id)),
                ("product", "Product", text(s.product_name.as_ref())),
                ("quantity", "Quantity", Value::from(s.quantity.unwrap_or(0.0) as i64)),
                ("cancel_date", "Cancel at", Value::from(date.clone().unwrap_or_else(|| "now".into()))),
                ("monthly_revenue_lost", "Monthly revenue lost", money(monthly_revenue(&s))),
                ("monthly_cost_saved", "Monthly cost saved", money(monthly_cost(&s))),
            ]);
            confirm("Cancel this subscription?", yes)?;
            client.subscriptions().cancel(id, when).await?;
            p.note("Cancelled.");
        }
        Command::Invoices(InvoicesCommand::List { paging, status }) => {
            let paginator = client.invoices().filtered(&InvoiceFilter { status, ..Default::default() })?;
            let (items, footer) = list(paginator, paging, p, "invoices").await?;
            let mut t = Table::new(&[
                col("id", "ID"),
                col("date", "DATE"),
                col("due", "DUE"),
                col("status", "STATUS"),
                col("total", "TOTAL"),
                col("balance", "BALANCE"),
            ]);
            for i in items {
                t.push(vec![
                    text(i.id),
                    text(i.invoice_date),
                    text(i.due_date),
                    text(i.status),
                    money(i.total.unwrap_or(0.0)),
                    money(i.balance.unwrap_or(0.0)),
                ]);
            }
            t.footer = footer;
            p.table(&t);
        }
        Command::Invoices(InvoicesCommand::Show { invoice }) => {
            let i = client.invoices().get(resolve::id("invoice", &invoice)?).await?;
            p.record(&[
                ("id", "ID", text(i.id)),
                ("date", "Date", text(i.invoice_date)),
                ("due", "Due", text(i.due_date)),
                ("status", "Status", text(i.status)),
                ("total", "Total", money(i.total.unwrap_or(0.0))),
                ("balance", "Balance", money(i.balance.unwrap_or(0.0))),
                ("currency", "Currency", text(i.currency_code)),
            ]);
        }
        Command::Invoices(InvoicesCommand::Items { invoice, paging }) => {
            let id = resolve::id("invoice", &invoice)?;
            let (items, footer) = list(client.invoices().items(id), paging, p, "items").await?;
            let mut t = Table::new(&[
                col("company", "COMPANY"),
                col("product", "PRODUCT"),
                col("quantity", "QTY"),
                col("term", "TERM"),
                col("unit_cost", "UNIT COST"),
                col("cost_total", "COST"),
                col("total", "CUSTOMER TOTAL"),
            ]);
            for i in items {
                t.push(vec![
                    text(i.company_name),
                    text(i.product_name),
                    Value::from(i.quantity.unwrap_or(0.0)),
                    text(i.term),
                    money(i.cost.unwrap_or(0.0)),
                    money(i.cost_total.unwrap_or(0.0)),
                    money(i.total.unwrap_or(0.0)),
                ]);
            }
            t.footer = footer;
            p.table(&t);
        }
        Command::Invoices(InvoicesCommand::Reconcile { invoice }) => reports::reconcile(&s, invoice.as_deref()).await?,
        Command::Usage(UsageCommand::Summaries { subscription }) => {
            let id = resolve::id("subscription", &subscription)?;
            let items = client.subscriptions().usage_summaries(id).collect_all().await?;
            let mut t = Table::new(&[
                col("id", "ID"),
                col("resource_group", "RESOURCE GROUP"),
                col("charges", "CHARGES"),
                col("partner_total", "PARTNER TOTAL"),
            ]);
            for u in items {
                t.push(vec![
                    text(u.id),
                    text(u.resource_group),
                    money(u.current_charges.unwrap_or(0.0)),
                    money(u.partner_total.unwrap_or(0.0)),
                ]);
            }
            p.table(&t);
        }
        Command::Usage(UsageCommand::Lines { summary, date }) => {
            let id = resolve::id("usage summary", &summary)?;
            let day = pax8_api::Date::from(resolve::date(&date)?);
            let lines = client.usage().lines(id, day, None).await?;
            let mut t = Table::new(&[
                col("product", "METER"),
                col("quantity", "QTY"),
                col("unit", "UNIT"),
                col("unit_price", "UNIT PRICE"),
                col("charges", "CHARGES"),
            ]);
            for l in lines {
                t.push(vec![
                    text(l.product_name),
                    Value::from(l.quantity.unwrap_or(0.0)),
                    text(l.unit_of_measure),
                    money(l.unit_price.unwrap_or(0.0)),
                    money(l.current_charges.unwrap_or(0.0)),
                ]);
            }
            p.table(&t);
        }
        Command::Quotes(QuotesCommand::List { paging }) => {
            let (items, footer) = list(client.quotes().list(), paging, p, "quotes").await?;
            let mut t = Table::new(&[
                col("id", "ID"),
                col("reference", "REFERENCE"),
                col("client", "CLIENT"),
                col("status", "STATUS"),
                col("recurring_total", "RECURRING"),
            ]);
            for q in items {
                t.push(vec![
                    text(Some(q.id)),
                    Value::from(q.reference_code),
                    Value::from(q.client.name),
                    text(Some(q.status)),
                    money(q.totals.recurring_total.amount),
                ]);
            }
            t.footer = footer;
            p.table(&t);
        }
        Command::Quotes(QuotesCommand::Show { quote }) => {
            let q = client.quotes().get(resolve::id("quote", &quote)?).await?;
            p.record(&[
                ("id", "ID", text(Some(q.id))),
                ("reference", "Reference", Value::from(q.reference_code.clone())),
                ("client", "Client", Value::from(q.client.name.clone())),
                ("status", "Status", text(Some(&q.status))),
                ("line_items", "Line items", Value::from(q.line_items.len())),
                ("recurring_total", "Recurring total", money(q.totals.recurring_total.amount)),
                ("expires", "Expires", text(Some(q.expires_on))),
            ]);
        }
        Command::Webhooks(WebhooksCommand::List { paging }) => {
            let (items, footer) = list(client.webhooks().list(), paging, p, "webhooks").await?;
            let mut t = Table::new(&[
                col("id", "ID"),
                col("name", "NAME"),
                col("url", "URL"),
                col("active", "ACTIVE"),
                col("topics", "TOPICS"),
            ]);
            for w in items {
                let topics: Vec<String> = w.webhook_topics.iter().map(|t| t.topic.clone()).collect();
                t.push(vec![
                    text(Some(w.id)),
                    Value::from(w.display_name),
                    text(w.url),
                    Value::from(w.active),
                    Value::from(topics.join(" ")),
                ]);
            }
            t.footer = footer;
            p.table(&t);
        }
        Command::Webhooks(WebhooksCommand::Show { webhook }) => {
            let w = client.webhooks().get(resolve::id("webhook", &webhook)?).await?;
            let topics: Vec<String> = w.webhook_topics.iter().map(|t| t.topic.clone()).collect();
            p.record(&[
                ("id", "ID", text(Some(w.id))),
                ("name", "Name", Value::from(w.display_name.clone())),
                ("url", "URL", text(w.url.as_ref())),
                ("active", "Active", Value::from(w.active)),
                ("topics", "Topics", Value::from(topics.join(" "))),
                (
                    "authorization",
                    "Authorization",
                    Value::from(if w.authorization.is_some() { "set (hidden)" } else { "none" }),
                ),
            ]);
        }
        Command::Renewals { within } => reports::renewals(&s, resolve::days(&within, now()?.date_naive())?).await?,
        Command::Report(crate::ReportCommand::Mrr { by }) => reports::mrr(&s, by).await?,
        Command::Status => reports::status(&s).await?,
        Command::Sync { db } => {
            let store = pax8_sync::Store::open(&db).await.map_err(sync_failure)?;
            let bar = (std::io::stderr().is_terminal() && p.format != Format::Quiet).then(|| {
                let bar = ProgressBar::new_spinner();
                bar.set_style(ProgressStyle::with_template("{spinner} syncing {msg}").expect("template"));
                bar
            });
            let tick = |resource: &str, page: u32| {
                if let Some(b) = &bar {
                    b.set_message(format!("{resource}, page {}", page + 1));
                    b.tick();
                }
            };
            let options = pax8_sync::SyncOptions { now: now()?, ..Default::default() };
            let summary = pax8_sync::sync(&store, client, &options, &tick).await.map_err(sync_failure)?;
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            p.record(&[
                ("fetched", "Fetched", Value::from(summary.fetched)),
                ("inserted", "Inserted", Value::from(summary.inserted)),
                ("updated", "Updated", Value::from(summary.updated)),
                ("unchanged", "Unchanged", Value::from(summary.unchanged)),
                ("removed", "Marked removed", Value::from(summary.removed)),
                ("snapshots", "Snapshots", Value::from(summary.snapshots)),
                ("resumed", "Resumed an interrupted sync", Value::from(summary.resumed)),
            ]);
        }
        Command::Webhooks(WebhooksCommand::Register { url, topics, name }) => {
            if topics.is_empty() {
                return Err(Failure::usage("name at least one topic with --topics"));
            }
            let token = webhook_token()?;
            let body = serde_json::json!({
                "displayName": name, "url": url, "active": true, "errorThreshold": 5,
                "authorization": format!("Bearer {}", token.expose()),
                "webhookTopics": topics.iter().map(|t| serde_json::json!({"topic": t, "filters": []})).collect::<Vec<_>>(),
            });
            let create = serde_json::from_value(body).map_err(|e| Failure::usage(e.to_string()))?;
            let w = client.webhooks().create(create).await?;
            p.note(&format!("Webhook {} registered for {}.", w.id, topics.join(", ")));
            p.record(&[("id", "ID", text(Some(w.id))), ("url", "URL", text(w.url.as_ref()))]);
        }
        Command::Webhooks(WebhooksCommand::Test { webhook, topic }) => {
            let id = resolve::id("webhook", &webhook)?;
            let test = client.webhooks().test(id, &topic).await?;
            p.record(&[("url", "Delivered to", Value::from(test.url)), ("topic", "Topic", Value::from(topic))]);
        }
        Command::Mcp { allow_writes, policy, audit_log, http } => {
            let policy = match policy {
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .map_err(|e| Failure::usage(format!("cannot read the policy file {}: {e}", path.display())))?;
                    Some(pax8_mcp::Pax8Tools::load_policy(&text).map_err(Failure::usage)?)
                }
                None => None,
            };
            let audit_log = match audit_log {
                Some(path) => path,
                None => creds::path()?.with_file_name("mcp-audit.jsonl"),
            };
            if let Some(dir) = audit_log.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| Failure::usage(format!("cannot create {}: {e}", dir.display())))?;
            }
            let tools = pax8_mcp::Pax8Tools::new(
                client.clone(),
                pax8_mcp::Options { allow_writes, policy, audit_log: Some(audit_log.clone()) },
            )
            .map_err(|e| Failure::usage(format!("cannot open the audit log {}: {e}", audit_log.display())))?;
            let served = match http {
                Some(addr) => {
                    let token = match std::env::var("PAX8_MCP_TOKEN") {
                        Ok(t) if !t.is_empty() => pax8_ext::SecretString::new(t),
                        _ => {
                            let token = pax8_mcp::random_token();
                            // Printed once, for the agent's configuration; never logged.
                            eprintln!("bearer token (send `Authorization: Bearer <token>`): {}", token.expose());
                            token
                        }
                    };
                    eprintln!("pax8 MCP server on http://{addr}/mcp (audit log {})", audit_log.display());
                    pax8_mcp::serve_http(tools, addr, token).await
                }
                None => pax8_mcp::serve_stdio(tools).await,
            };
            served.map_err(|e| Failure {
                message: format!("MCP server stopped: {e}"),
                code: crate::fail::code::NETWORK,
            })?;
        }
    }
    Ok(())
}

fn sync_failure(e: pax8_sync::SyncError) -> Failure {
    match e {
        pax8_sync::SyncError::Api(api) => Failure::from(api),
        other => Failure {
            message: format!("{other}\n  hint: run the same command again: a sync resumes where it stopped"),
            code: crate::fail::code::API,
        },
    }
}

fn webhook_token() -> Result<pax8_ext::SecretString, Failure> {
    std::env::var("PAX8_WEBHOOK_TOKEN")
        .ok()
        .filter(|t| t.len() >= 16)
        .map(pax8_ext::SecretString::new)
        .ok_or_else(|| Failure::usage("set PAX8_WEBHOOK_TOKEN to a random token of at least 16 characters"))
}

fn show_subscription(p: &Printer, s: &Subscription) {
    p.record(&[
        ("id", "ID", text(s.id)),
        ("company_id", "Company", text(s.company_id)),
        ("product", "Product", text(s.product_name.as_ref())),
        ("quantity", "Quantity", Value::from(s.quantity.unwrap_or(0.0) as i64)),
        ("term", "Billing term", text(s.billing_term.as_ref())),
        ("price", "Price", money(s.price.unwrap_or(0.0))),
        ("partner_cost", "Partner cost", money(s.partner_cost.unwrap_or(0.0))),
        ("monthly_revenue", "Monthly revenue", money(monthly_revenue(s))),
        ("status", "Status", text(s.status.as_ref())),
        ("start", "Start", text(s.start_date)),
        (
            "commitment_end",
            "Commitment ends",
            text(pax8_ext::insights::commitment_end(s).map(|d| d.format("%Y-%m-%d"))),
        ),
        ("parent", "Add-on of", text(s.parent_subscription_id)),
    ]);
}

async fn auth(cli: &Cli, cmd: &AuthCommand, printer: Printer) -> Result<(), Failure> {
    match cmd {
        AuthCommand::Login { client_id, client_secret_stdin, base_url } => {
            let id = match client_id.clone().or_else(|| std::env::var("PAX8_CLIENT_ID").ok().filter(|v| !v.is_empty()))
            {
                Some(id) => id,
                None if std::io::stdin().is_terminal() => {
                    eprint!("Client id: ");
                    let _ = std::io::stderr().flush();
                    let mut line = String::new();
                    std::io::stdin().lock().read_line(&mut line).map_err(|e| Failure::usage(e.to_string()))?;
                    line.trim().to_string()
                }
                None => return Err(Failure::usage("no client id: pass --client-id or set PAX8_CLIENT_ID")),
            };
            let secret = if *client_secret_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line).map_err(|e| Failure::usage(e.to_string()))?;
                line.trim().to_string()
            } else if let Some(s) = std::env::var("PAX8_CLIENT_SECRET").ok().filter(|v| !v.is_empty()) {
                s
            } else if std::io::stdin().is_terminal() {
                rpassword::prompt_password("Client secret (hidden): ").map_err(|e| Failure::usage(e.to_string()))?
            } else {
                return Err(Failure::usage("no client secret: use --client-secret-stdin or set PAX8_CLIENT_SECRET"));
            };
            if id.trim().is_empty() || secret.trim().is_empty() {
                return Err(Failure::usage("the client id and secret must not be empty"));
            }
            let creds = creds::Credentials {
                client_id: id,
                client_secret: pax8_ext::SecretString::new(secret),
                base_url: base_url.clone().or_else(|| std::env::var("PAX8_BASE_URL").ok().filter(|v| !v.is_empty())),
            };
            // Check before storing: a wrong secret is reported now, not at the next command.
            let mut b =
                Pax8Client::builder().client_id(creds.client_id.clone()).client_secret(creds.client_secret.clone());
            if let Some(url) = &creds.base_url {
                b = b.base_url(url);
            }
            b.build()?.refresh_token().await?;
            let path = creds::save(&creds)?;
            printer.note(&format!("Logged in; credentials stored in {} (owner-only).", path.display()));
            Ok(())
        }
        AuthCommand::Status => {
            let s = session(cli, printer).await?;
            s.client.refresh_token().await?;
            let first = s.client.companies().list().page_size(1).first_page().await?;
            let n = first.total_elements.unwrap_or(first.items.len() as u64);
            printer.record(&[
                ("connected", "Connected", Value::from(true)),
                ("companies_visible", "Companies visible", Value::from(n)),
            ]);
            printer.note(&format!("Connected to Pax8 — {n} companies visible"));
            Ok(())
        }
        AuthCommand::Logout => {
            let removed = creds::remove()?;
            // The tokens go with the credentials.
            let _ = std::fs::remove_file(creds::path()?.with_file_name("tokens.json"));
            printer.note(if removed { "Logged out: stored credentials removed." } else { "No stored credentials." });
            Ok(())
        }
    }
}
