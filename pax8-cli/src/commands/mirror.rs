//! The local mirror: `pax8 sync`, `pax8 drift` and `pax8 webhooks serve` (the last two need no Pax8
//! credentials).

use super::*;

/// The commands that read or write only the local mirror.
pub(super) async fn local(command: Command, printer: &Printer) -> Result<(), Failure> {
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
            t.footer =
                Some(format!("{} changed in the last {}", count(found.len(), "subscriptions"), count(days, "days")));
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

pub(super) async fn sync(s: &Session, db: String) -> Result<(), Failure> {
    let p = &s.printer;
    let client = &s.client;
    let store = pax8_sync::Store::open(&db).await.map_err(sync_failure)?;
    let bar = (std::io::stderr().is_terminal() && p.format != Format::Quiet).then(|| {
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} syncing {msg}") {
            bar.set_style(style);
        }
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

    Ok(())
}

pub(super) fn sync_failure(e: pax8_sync::SyncError) -> Failure {
    match e {
        pax8_sync::SyncError::Api(api) => Failure::from(api),
        busy @ pax8_sync::SyncError::Busy { .. } => Failure { message: busy.to_string(), code: crate::fail::code::API },
        other => Failure {
            message: format!("{other}\n  hint: run the same command again: a sync resumes where it stopped"),
            code: crate::fail::code::API,
        },
    }
}
