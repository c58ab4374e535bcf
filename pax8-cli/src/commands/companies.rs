//! `pax8 companies`: list, show, and the previewed, confirmed create and update.

use super::confirm::{Preview, ask, report};
use super::listing;
use super::session::Session;
use crate::fail::Failure;
use crate::output::{Table, col, text};
use crate::{CompaniesCommand, CompanyDetails, resolve};
use pax8_api::partner::types::{Address, CompanyUpdate};
use pax8_ext::filters::CompanyFilter;
use pax8_ext::views::CompanySummary;
use serde_json::Value;

use crate::fail::from_op;
use pax8_ext::ops::companies::{CompanyCreated, NewCompany, prepare_company};

const COMPANY_COLUMNS: [crate::output::Column; 5] =
    [col("id", "ID"), col("name", "NAME"), col("city", "CITY"), col("country", "COUNTRY"), col("status", "STATUS")];

pub(super) async fn run(s: &Session, command: CompaniesCommand) -> Result<(), Failure> {
    let (client, p) = (&s.client, &s.printer);
    match command {
        CompaniesCommand::Export { source } => {
            super::export::export(Some(client), super::export::Exported::Companies, &source).await?;
        }
        CompaniesCommand::List { paging, city, country, status } => {
            let filter = CompanyFilter { city, country, status, sort: None };
            let paginator = client.companies().filtered(&filter)?;
            listing::show(client, paginator, paging, p, "companies", |items| {
                let summaries: Vec<CompanySummary> = items.iter().map(CompanySummary::from).collect();
                Table::of(&COMPANY_COLUMNS, &summaries)
            })
            .await?;
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
        CompaniesCommand::Create { name, details, yes } => create(s, name, details, yes).await?,
        CompaniesCommand::Update { company, name, details, yes } => update(s, &company, name, details, yes).await?,
    }
    Ok(())
}

/// Preview lines for the details given: (key, title, value).
fn detail_fields(name: Option<&str>, d: &CompanyDetails) -> Vec<(&'static str, &'static str, Option<String>)> {
    vec![
        ("name", "Name", name.map(str::to_string)),
        ("street", "Street", d.street.clone()),
        ("city", "City", d.city.clone()),
        ("state_or_province", "State", d.state.clone()),
        ("postal_code", "Postal code", d.postal_code.clone()),
        ("country", "Country", d.country.clone()),
        ("phone", "Phone", d.phone.clone()),
        ("website", "Website", d.website.clone()),
        ("external_id", "External id", d.external_id.clone()),
    ]
}

fn address(d: &CompanyDetails, base: Address) -> Address {
    Address {
        street: d.street.clone().or(base.street),
        city: d.city.clone().or(base.city),
        state_or_province: d.state.clone().or(base.state_or_province),
        postal_code: d.postal_code.clone().or(base.postal_code),
        country: d.country.clone().or(base.country),
        ..base
    }
}

async fn create(s: &Session, name: String, details: CompanyDetails, yes: bool) -> Result<(), Failure> {
    let (client, p) = (&s.client, &s.printer);
    let new = NewCompany {
        name,
        street: details.street.clone(),
        city: details.city.clone(),
        state_or_province: details.state.clone(),
        postal_code: details.postal_code.clone(),
        country: details.country.clone(),
        phone: details.phone.clone(),
        website: details.website.clone(),
        external_id: details.external_id.clone(),
    };
    let check = format!("pax8 companies show \"{}\"", new.name.trim());
    let prepared = prepare_company(client, new).await.map_err(|e| from_op(e, &check))?;
    let name = prepared.preview().name.clone();
    let fields: Vec<_> =
        detail_fields(Some(&name), &details).into_iter().map(|(k, t, v)| (k, t, text(v.as_ref()))).collect();
    ask(p, &fields, prepared.preview(), "Create this company?", yes)?;
    let created = prepared.apply(client).await.map_err(|e| from_op(e, &check))?;
    let message = match &created.result {
        Some(CompanyCreated { company, .. }) => format!(
            "Company {} created: {}.",
            company.name,
            company.id.map(|i| i.to_string()).unwrap_or_else(|| "(id unknown)".into())
        ),
        None => String::new(),
    };
    report(p, &created, &message);
    Ok(())
}

async fn update(
    s: &Session,
    company: &str,
    name: Option<String>,
    details: CompanyDetails,
    yes: bool,
) -> Result<(), Failure> {
    let (client, p) = (&s.client, &s.printer);
    let current = resolve::company(client, company).await?;
    let id = crate::fail::id_of(current.id, "company")?;
    let now = [
        Some(current.name.clone()),
        current.address.street.clone(),
        current.address.city.clone(),
        current.address.state_or_province.clone(),
        current.address.postal_code.clone(),
        current.address.country.clone(),
        current.phone.clone(),
        current.website.clone(),
        current.external_id.clone(),
    ];
    let fields = detail_fields(name.as_deref(), &details);
    let changes: Vec<(&'static str, &'static str, Value)> = fields
        .iter()
        .zip(now)
        .filter_map(|((key, title, new), old)| {
            let new = new.as_ref()?;
            (Some(new) != old.as_ref())
                .then(|| (*key, *title, Value::from(format!("{} → {new}", old.as_deref().unwrap_or("-")))))
        })
        .collect();
    if changes.is_empty() {
        return Err(Failure::usage(format!(
            "nothing to change for {}: give at least one new value (e.g. --phone)",
            current.name
        )));
    }
    let mut fields = vec![("company", "Company", Value::from(current.name.clone()))];
    fields.extend(changes);
    let preview = Preview::new(fields);
    preview.confirm(p, "Apply these changes?", yes)?;
    let touches_address = [&details.street, &details.city, &details.state, &details.postal_code, &details.country]
        .iter()
        .any(|v| v.is_some());
    let update = CompanyUpdate {
        name,
        address: touches_address.then(|| address(&details, current.address.clone())),
        phone: details.phone,
        website: details.website,
        external_id: details.external_id,
        ..Default::default()
    };
    let updated = client.companies().update(id, update).await?;
    let summary = serde_json::to_value(CompanySummary::from(&updated)).unwrap_or_default();
    preview.done(p, "company", summary, &format!("Company {} updated.", updated.name));
    Ok(())
}
