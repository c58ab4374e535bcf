//! `pax8 subscriptions`: list, show, and the confirmed quantity change and cancellation.

use super::*;

pub const SUBSCRIPTION_COLUMNS: [crate::output::Column; 10] = [
    col("id", "ID"),
    col("company_id", "COMPANY"),
    col("product_name", "PRODUCT"),
    whole("quantity", "QTY"),
    col("billing_term", "TERM"),
    amount("price", "PRICE"),
    amount("monthly_revenue", "MONTHLY"),
    col("status", "STATUS"),
    col("commitment_end", "COMMITMENT ENDS"),
    col("currency", "CURRENCY").csv_only(),
];

pub(super) async fn run(s: &Session, command: SubscriptionsCommand) -> Result<(), Failure> {
    let (client, p) = (&s.client, &s.printer);
    match command {
        SubscriptionsCommand::List { paging, company, status, term } => {
            let mut filter = SubscriptionFilter { status, billing_term: term, ..Default::default() };
            // A value the API does not know fails here, before any request.
            filter.check()?;
            filter.company_id = match &company {
                Some(c) => Some(crate::fail::id_of(resolve::company(client, c).await?.id, "company")?),
                None => None,
            };
            let paginator = client.subscriptions().filtered(&filter)?;
            let (items, listed) = list(paginator, paging, p, "subscriptions").await?;
            let summaries: Vec<SubscriptionSummary> = items.iter().map(SubscriptionSummary::from).collect();
            let mut t = Table::of(&SUBSCRIPTION_COLUMNS, &summaries);
            t.name_companies(&company_names(client, p, summaries.iter().map(|s| s.company_id)).await);
            listed.apply(&mut t);
            p.table(&t);
        }
        SubscriptionsCommand::Show { subscription } => {
            let s = client.subscriptions().get(resolve::id("subscription", &subscription)?).await?;
            show_subscription(p, &s);
        }
        SubscriptionsCommand::Update { subscription, quantity, yes } => {
            if quantity == 0 {
                return Err(Failure::usage(
                    "quantity must be at least 1; to end a subscription use `pax8 subscriptions cancel`",
                ));
            }
            let id = resolve::id("subscription", &subscription)?;
            let s = client.subscriptions().get(id).await?;
            let current = s.quantity.unwrap_or(0.0);
            let delta = Decimal::from(quantity) - decimal_amount(s.quantity);
            let months = months_per_period(&s);
            p.record(&[
                ("subscription", "Subscription", text(s.id)),
                ("product", "Product", text(s.product_name.as_ref())),
                ("quantity_now", "Quantity now", Value::from(current as i64)),
                ("quantity_new", "New quantity", Value::from(quantity)),
                (
                    "monthly_revenue_change",
                    "Monthly revenue change",
                    money(per_month(decimal_amount(s.price), delta, months)),
                ),
                (
                    "monthly_cost_change",
                    "Monthly cost change",
                    money(per_month(decimal_amount(s.partner_cost), delta, months)),
                ),
            ]);
            confirm("Apply this change?", yes)?;
            let updated = client.subscriptions().update_quantity(id, i64::from(quantity)).await?;
            p.note(&format!("Quantity is now {}.", updated.quantity.unwrap_or(0.0)));
        }
        SubscriptionsCommand::Cancel { subscription, date, yes } => {
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
    }
    Ok(())
}

pub(super) fn show_subscription(p: &Printer, s: &Subscription) {
    p.record(&[
        ("id", "ID", text(s.id)),
        ("company_id", "Company", text(s.company_id)),
        ("product", "Product", text(s.product_name.as_ref())),
        ("quantity", "Quantity", Value::from(s.quantity.unwrap_or(0.0) as i64)),
        ("term", "Billing term", text(s.billing_term.as_ref())),
        ("price", "Price", api_money(s.price)),
        ("partner_cost", "Partner cost", api_money(s.partner_cost)),
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
