//! The five entity syncs, one page each: companies (with their contacts), products,
//! subscriptions (with a snapshot each), invoices (with their items) and Azure usage summaries.

use sqlx::Row;
use uuid::Uuid;

use crate::SyncError;
use crate::rows::{
    Record, SnapshotSource, Val, company_record, json, money, snapshot, subscription_record, text, upsert,
};
use crate::run::Run;

pub(crate) async fn companies(run: &mut Run<'_>, number: u32) -> Result<(), SyncError> {
    let page = run.client.companies().list().page_size(run.options.page_size).page(number).await?;
    // Contacts are fetched before the transaction: a failure leaves nothing half-written.
    let mut contacts = Vec::new();
    for c in &page.items {
        if let Some(id) = c.id {
            contacts.push((id, run.client.contacts(id).list().collect_all().await?));
        }
    }
    let mut tx = run.store.pool.begin().await?;
    for c in &page.items {
        let Some(record) = company_record(c) else { continue };
        run.summary.fetched += 1;
        let o = upsert(&mut tx, &run.options.tenant, record, Some(&run.sync_id)).await?;
        run.count(o);
    }
    for (company, list) in contacts {
        for x in list {
            let Some(id) = x.id else { continue };
            run.summary.fetched += 1;
            let record = Record {
                table: "contacts",
                id: id.to_string(),
                columns: vec![
                    ("company_id", Val::Text(Some(company.to_string()))),
                    ("name", Val::Text(Some(format!("{} {}", x.first_name, x.last_name)))),
                    ("email", Val::Text(Some(x.email.clone()))),
                ],
                data: json(&x),
            };
            let o = upsert(&mut tx, &run.options.tenant, record, Some(&run.sync_id)).await?;
            run.count(o);
        }
    }
    let last = run.is_last(&page, number);
    run.finish_page(tx, "companies", number, last).await
}

pub(crate) async fn products(run: &mut Run<'_>, number: u32) -> Result<(), SyncError> {
    let page = run.client.products().list().page_size(run.options.page_size).page(number).await?;
    let mut tx = run.store.pool.begin().await?;
    for p in &page.items {
        let Some(id) = p.id else { continue };
        run.summary.fetched += 1;
        let record = Record {
            table: "products",
            id: id.to_string(),
            columns: vec![
                ("name", text(p.name.as_ref())),
                ("vendor", text(p.vendor_name.as_ref())),
                ("sku", text(p.sku.as_ref())),
            ],
            data: json(p),
        };
        let o = upsert(&mut tx, &run.options.tenant, record, Some(&run.sync_id)).await?;
        run.count(o);
    }
    let last = run.is_last(&page, number);
    run.finish_page(tx, "products", number, last).await
}

pub(crate) async fn subscriptions(run: &mut Run<'_>, number: u32) -> Result<(), SyncError> {
    let page = run.client.subscriptions().list().page_size(run.options.page_size).page(number).await?;
    let mut tx = run.store.pool.begin().await?;
    for s in &page.items {
        let Some(record) = subscription_record(s) else { continue };
        run.summary.fetched += 1;
        let id = record.id.clone();
        let o = upsert(&mut tx, &run.options.tenant, record, Some(&run.sync_id)).await?;
        run.count(o);
        snapshot(&mut tx, &run.options.tenant, &run.sync_id, &id, run.options.now, s, SnapshotSource::Sync).await?;
        run.summary.snapshots += 1;
    }
    let last = run.is_last(&page, number);
    run.finish_page(tx, "subscriptions", number, last).await
}

pub(crate) async fn invoices(run: &mut Run<'_>, number: u32) -> Result<(), SyncError> {
    let page = run.client.invoices().list().page_size(run.options.page_size).page(number).await?;
    let mut items = Vec::new();
    for i in &page.items {
        if let Some(id) = i.id {
            items.push((id, run.client.invoices().items(id).concurrency(4).collect_all().await?));
        }
    }
    let mut tx = run.store.pool.begin().await?;
    for i in &page.items {
        let Some(id) = i.id else { continue };
        run.summary.fetched += 1;
        let record = Record {
            table: "invoices",
            id: id.to_string(),
            columns: vec![
                ("invoice_date", text(i.invoice_date)),
                ("status", text(i.status.as_ref())),
                ("total", money(i.total)),
                ("balance", money(i.balance)),
            ],
            data: json(i),
        };
        let o = upsert(&mut tx, &run.options.tenant, record, Some(&run.sync_id)).await?;
        run.count(o);
    }
    for (invoice, list) in items {
        for it in list {
            let Some(id) = it.id else { continue };
            run.summary.fetched += 1;
            let record = Record {
                table: "invoice_items",
                id: id.to_string(),
                columns: vec![
                    ("invoice_id", Val::Text(Some(invoice.to_string()))),
                    ("company_id", text(it.company_id)),
                    ("subscription_id", text(it.subscription_id)),
                    ("product_name", text(it.product_name.as_ref())),
                    ("quantity", Val::Num(it.quantity)),
                    ("cost_total", money(it.cost_total)),
                    ("total", money(it.total)),
                ],
                data: json(&it),
            };
            let o = upsert(&mut tx, &run.options.tenant, record, Some(&run.sync_id)).await?;
            run.count(o);
        }
    }
    let last = run.is_last(&page, number);
    run.finish_page(tx, "invoices", number, last).await
}

/// Usage summaries of the Azure subscriptions in the mirror, `page_size` subscriptions a "page".
pub(crate) async fn usage(run: &mut Run<'_>, number: u32) -> Result<(), SyncError> {
    let rows = sqlx::query(
        "SELECT id FROM subscriptions WHERE tenant = $1 AND removed_at IS NULL AND product_name LIKE '%Azure%' ORDER BY id",
    )
    .bind(run.options.tenant.clone())
    .fetch_all(&run.store.pool)
    .await?;
    let ids: Vec<String> = rows.iter().map(|r| r.try_get::<String, _>("id")).collect::<Result<_, _>>()?;
    let size = run.options.page_size as usize;
    let chunk: Vec<&String> = ids.iter().skip(number as usize * size).take(size).collect();
    let mut fetched = Vec::new();
    for id in &chunk {
        let sub: Uuid = id.parse().map_err(|_| SyncError::Invalid(format!("bad id {id}")))?;
        fetched.push((sub, run.client.subscriptions().usage_summaries(sub).collect_all().await?));
    }
    let mut tx = run.store.pool.begin().await?;
    for (sub, list) in fetched {
        for u in list {
            let Some(id) = u.id else { continue };
            run.summary.fetched += 1;
            let record = Record {
                table: "usage_summaries",
                id: id.to_string(),
                columns: vec![
                    ("subscription_id", Val::Text(Some(sub.to_string()))),
                    ("company_id", text(u.company_id)),
                    ("resource_group", text(u.resource_group.as_ref())),
                    ("current_charges", money(u.current_charges)),
                ],
                data: json(&u),
            };
            let o = upsert(&mut tx, &run.options.tenant, record, Some(&run.sync_id)).await?;
            run.count(o);
        }
    }
    let last = (number as usize + 1) * size >= ids.len();
    run.total_pages = Some(ids.len().div_ceil(size.max(1)) as u64);
    run.checkpoint(&mut tx, "usage_summaries", number + 1, last).await?;
    tx.commit().await?;
    run.pages += 1;
    if run.options.stop_after_pages.is_some_and(|n| run.pages >= n) {
        return Err(SyncError::Interrupted);
    }
    Ok(())
}
