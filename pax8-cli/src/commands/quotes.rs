//! `pax8 quotes`.

use super::*;

pub(super) async fn run(s: &Session, command: QuotesCommand) -> Result<(), Failure> {
    let (client, p) = (&s.client, &s.printer);
    match command {
        QuotesCommand::List { paging } => {
            let (items, listed) = list(client.quotes().list(), paging, p, "quotes").await?;
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
            listed.apply(&mut t);
            p.table(&t);
        }
        QuotesCommand::Show { quote } => {
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
    }
    Ok(())
}
