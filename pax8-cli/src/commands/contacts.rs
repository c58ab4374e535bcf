//! `pax8 contacts`: list, and the previewed, confirmed create, update and delete.

use super::confirm::{Preview, ask, report};
use super::session::Session;
use crate::fail::Failure;
use crate::output::{Table, col, text};
use crate::{ContactsCommand, resolve};
use serde_json::Value;

use crate::fail::from_op;
use pax8_api::partner::types::Contact;
use pax8_ext::ops::contacts::{ContactAdded, NewContact, check, prepare_contact};

pub(super) async fn run(s: &Session, command: ContactsCommand) -> Result<(), Failure> {
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
        ContactsCommand::Create { company, first_name, last_name, email, phone, primary_for, yes } => {
            let c = resolve::company(client, &company).await?;
            let company_id = crate::fail::id_of(c.id, "company")?;
            let check = format!("pax8 contacts list {company_id}");
            let new = NewContact { company_id, first_name, last_name, email, phone, primary_for };
            let prepared = prepare_contact(client, new).await.map_err(|e| from_op(e, &check))?;
            let v = prepared.preview();
            let fields = [
                ("company", "Company", Value::from(v.company.clone())),
                ("name", "Name", Value::from(format!("{} {}", v.contact.first_name, v.contact.last_name))),
                ("email", "Email", Value::from(v.contact.email.clone())),
                ("phone", "Phone", Value::from(v.contact.phone.clone())),
                ("primary_for", "Primary for", Value::from(v.contact.primary_for.join(", "))),
            ];
            ask(p, &fields, v, "Add this contact?", yes)?;
            let added = prepared.apply(client).await.map_err(|e| from_op(e, &check))?;
            let message = match &added.result {
                Some(ContactAdded { contact, .. }) => format!(
                    "Contact {} added to {}.",
                    contact.id.map(|i| i.to_string()).unwrap_or_else(|| "(id unknown)".into()),
                    c.name
                ),
                None => String::new(),
            };
            report(p, &added, &message);
        }
        ContactsCommand::Update { company, contact, first_name, last_name, email, phone, yes } => {
            let c = resolve::company(client, &company).await?;
            let contacts = client.contacts(crate::fail::id_of(c.id, "company")?);
            let contact_id = resolve::id("contact", &contact)?;
            let current = contacts.get(contact_id).await?;
            let mut changed = current.clone();
            let mut fields = vec![("company", "Company", Value::from(c.name.clone()))];
            for (key, title, new, slot) in [
                ("first_name", "First name", first_name, &mut changed.first_name),
                ("last_name", "Last name", last_name, &mut changed.last_name),
                ("email", "Email", email, &mut changed.email),
                ("phone", "Phone", phone, &mut changed.phone),
            ] {
                if let Some(new) = new.filter(|new| new != slot) {
                    fields.push((key, title, Value::from(format!("{slot} → {new}"))));
                    *slot = new;
                }
            }
            if fields.len() == 1 {
                return Err(Failure::usage("nothing to change: give at least one new value (e.g. --email)"));
            }
            check(&changed).map_err(|e| from_op(e, ""))?;
            let preview = Preview::new(fields);
            preview.confirm(p, "Apply these changes?", yes)?;
            let updated = contacts.update(contact_id, changed).await?;
            preview.done(p, "contact", contact_json(&updated), &format!("Contact {contact_id} updated."));
        }
        ContactsCommand::Delete { company, contact, yes } => {
            let c = resolve::company(client, &company).await?;
            let contacts = client.contacts(crate::fail::id_of(c.id, "company")?);
            let contact_id = resolve::id("contact", &contact)?;
            let current = contacts.get(contact_id).await?;
            let preview = Preview::new(vec![
                ("company", "Company", Value::from(c.name.clone())),
                ("contact", "Contact", Value::from(contact_id.to_string())),
                ("name", "Name", Value::from(format!("{} {}", current.first_name, current.last_name))),
                ("email", "Email", Value::from(current.email.clone())),
            ]);
            preview.confirm(p, "Delete this contact?", yes)?;
            contacts.delete(contact_id).await?;
            preview.done(
                p,
                "contact",
                contact_json(&current),
                &format!("Contact {contact_id} deleted from {}.", c.name),
            );
        }
    }
    Ok(())
}

/// A contact as `--json` prints it: its summary.
fn contact_json(x: &Contact) -> Value {
    serde_json::to_value(pax8_ext::views::ContactSummary::from(x)).unwrap_or_default()
}
