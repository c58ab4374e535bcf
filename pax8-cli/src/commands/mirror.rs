//! The local mirror: `pax8 sync`, `pax8 drift` and `pax8 webhooks serve` (the last two need no Pax8
//! credentials).

use super::listing::count;
use super::session::{Session, now};
use crate::fail::{Failure, sync_failure};
use crate::output::{Format, Printer, Table, col, text};
use crate::{DriftArgs, SyncArgs, WebhooksCommand, resolve};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use std::io::IsTerminal;

/// `pax8 drift`: what changed between the mirror's snapshots.
pub(super) async fn drift(args: DriftArgs, printer: &Printer) -> Result<(), Failure> {
    let DriftArgs { since, db, tenant } = args;
    let days = resolve::days(&since, now()?.date_naive())?;
    let store = pax8_sync::Store::open(&db).await.map_err(sync_failure)?;
    let found = pax8_sync::drift(&store, &tenant, chrono::Duration::days(days), now()?).await.map_err(sync_failure)?;
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
            text(d.price_before.map(|x| x.round_dp(2))),
            text(d.price_now.map(|x| x.round_dp(2))),
        ]);
    }
    t.footer = Some(format!("{} changed in the last {}", count(found.len(), "subscriptions"), count(days, "days")));
    printer.table(&t);
    Ok(())
}

/// `pax8 webhooks serve`: the receiver, on the mirror, with no Pax8 credentials.
pub(super) async fn receive(command: WebhooksCommand) -> Result<(), Failure> {
    match command {
        WebhooksCommand::Serve { listen, db, mut tenants, key_file, serve } => {
            let keys = match &key_file {
                Some(path) => Some(pax8_sync::vault::Keyring::from_file(path)),
                None if std::env::var_os("PAX8_MASTER_KEY").is_some() => Some(pax8_sync::vault::Keyring::from_env()),
                None => None,
            }
            .transpose()
            .map_err(|e| Failure::usage(e.to_string()))?;
            if tenants.is_empty() && keys.is_none() {
                tenants.push(pax8_sync::DEFAULT_TENANT.to_string());
            }
            let mut tokens = Vec::new();
            for tenant in &tenants {
                tokens.push((tenant.clone(), super::webhooks::tenant_webhook_token(tenant)?));
            }
            let store = pax8_sync::Store::open(&db).await.map_err(sync_failure)?;
            let mut receiver = match keys {
                Some(keys) => {
                    let vault = pax8_sync::vault::Vault::new(store, keys);
                    let with_tokens = vault.webhook_tokens().await.map_err(crate::fail::vault_failure)?;
                    eprintln!("the vault's tenants with a webhook token: {}", with_tokens.len());
                    pax8_sync::receiver::Receiver::from_vault(vault)
                }
                None => pax8_sync::receiver::Receiver::for_tenants(store),
            };
            for (tenant, token) in tokens {
                receiver = receiver.tenant(tenant, token);
            }
            let whose = if tenants.is_empty() { "the vault's tenants".to_string() } else { tenants.join(", ") };
            let serving =
                super::serving::start(&serve, super::serving::WEBHOOKS_ADMIN_PORT, receiver.readiness()).await?;
            let cannot = |e: std::io::Error| Failure {
                message: format!("cannot serve on {listen}: {e}"),
                code: crate::fail::code::NETWORK,
            };
            let listener = tokio::net::TcpListener::bind(listen).await.map_err(cannot)?;
            let bound = listener.local_addr().unwrap_or(listen);
            let db = pax8_sync::redacted_url(&db);
            eprintln!("receiving Pax8 webhooks on http://{bound}/webhooks/pax8 into {db} for {whose}");
            let limits = pax8_sync::listener::ServerLimits { grace: serving.grace, ..Default::default() };
            let served = pax8_sync::receiver::serve_until(receiver, listener, limits, &serving.shutdown).await;
            serving.finish().await;
            served.map_err(cannot)?;
            eprintln!("stopped: every event in flight answered");
        }
        _ => return Err(Failure::usage("not the receiver")),
    }
    Ok(())
}

/// `pax8 sync`: the mirror brought up to date.
pub(super) async fn sync(s: &Session, args: SyncArgs) -> Result<(), Failure> {
    let SyncArgs { db, tenant, full, concurrency } = args;
    let p = &s.printer;
    let client = &s.client;
    let store = pax8_sync::Store::open(&db).await.map_err(sync_failure)?;
    // A bar per resource on a terminal: pages done of the resource's pages, rows so far.
    let bar = (std::io::stderr().is_terminal() && p.format != Format::Quiet).then(|| {
        let bar = ProgressBar::new(0);
        if let Ok(style) = ProgressStyle::with_template("syncing {prefix:14} {bar:30} {pos}/{len} pages  {msg}") {
            bar.set_style(style);
        }
        bar
    });
    let tick = |at: &pax8_sync::Progress<'_>| {
        if let Some(b) = &bar {
            if b.prefix() != at.resource {
                b.set_prefix(at.resource.to_string());
                b.set_position(0);
            }
            b.set_length(at.pages.unwrap_or(0).max(u64::from(at.page) + 1));
            b.set_position(u64::from(at.page) + 1);
            b.set_message(format!("{} rows", at.fetched));
        }
    };
    let mode = if full { pax8_sync::SyncMode::Full } else { pax8_sync::SyncMode::Incremental };
    let options = pax8_sync::SyncOptions {
        now: now()?,
        tenant,
        mode,
        concurrency: usize::from(concurrency),
        ..Default::default()
    };
    let started = std::time::Instant::now();
    let summary = pax8_sync::sync(&store, client, &options, &tick).await.map_err(sync_failure)?;
    let seconds = started.elapsed().as_secs_f64();
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    // Rows/s of this run (a resumed sync's counts are the whole sync's, so none is claimed).
    let rate = (!summary.resumed && seconds > 0.0).then(|| (summary.fetched as f64 / seconds).round() as u64);
    p.record(&[
        ("mode", "Mode", Value::from(if summary.full { "full" } else { "incremental" })),
        ("requests", "API requests", Value::from(summary.requests)),
        ("skipped", "Lists skipped as unchanged", Value::from(summary.skipped)),
        ("seconds", "Wall time (s)", Value::from((seconds * 100.0).round() / 100.0)),
        ("rows_per_second", "Rows/s", rate.map_or(Value::Null, Value::from)),
        ("fetched", "Fetched", Value::from(summary.fetched)),
        ("inserted", "Inserted", Value::from(summary.inserted)),
        ("updated", "Updated", Value::from(summary.updated)),
        ("unchanged", "Unchanged", Value::from(summary.unchanged)),
        ("removed", "Marked removed", Value::from(summary.removed)),
        ("snapshots", "Snapshots", Value::from(summary.snapshots)),
        ("plans_confirmed", "Renewal plans confirmed", Value::from(summary.plans_confirmed)),
        ("odd_rows", "Odd items left out or repaired (odd_rows)", Value::from(summary.odd_rows)),
        ("resumed", "Resumed an interrupted sync", Value::from(summary.resumed)),
    ]);

    Ok(())
}
