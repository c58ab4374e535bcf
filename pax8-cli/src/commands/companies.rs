//! `pax8 companies` and `pax8 contacts`.

use super::*;

const COMPANY_COLUMNS: [crate::output::Column; 5] =
    [col("id", "ID"), col("name", "NAME"), col("city", "CITY"), col("country", "COUNTRY"), col("status", "STATUS")];

pub(super) async fn run(s: &Session, command: CompaniesCommand) -> Result<(), Failure> {
    let (client, p) = (&s.client, &s.printer);
    match command {
        CompaniesCommand::List { paging, city, country, status } => {
            let filter = CompanyFilter { city, country, status, sort: None };
            let paginator = client.companies().filtered(&filter)?;
            let (items, listed) = list(paginator, paging, p, "companies").await?;
            let summaries: Vec<CompanySummary> = items.iter().map(CompanySummary::from).collect();
            let mut t = Table::of(&COMPANY_COLUMNS, &summaries);
            listed.apply(&mut t);
            p.table(&t);
        }
        CompaniesCommand::Show { company } => {
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
    }
    Ok(())
}

pub(super) async fn contacts(s: &Session, command: ContactsCommand) -> Result<(), Failure> {
    let (client, p) = (&s.client, &s.printer);
    match command {
        ContactsCommand::List { company } => {
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
    }
    Ok(())
}
