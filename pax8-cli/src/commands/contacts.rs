//! `pax8 contacts`: list, and the previewed, confirmed create, update and delete.

use super::*;
use pax8_api::partner::types::{Contact, ContactType, ContactTypeType};

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
            let types = contact_types(&primary_for)?;
            let contact = Contact { first_name, last_name, email, phone, types, ..Default::default() };
            check(&contact)?;
            let preview = Preview::new(vec![
                ("company", "Company", Value::from(c.name.clone())),
                ("name", "Name", Value::from(format!("{} {}", contact.first_name, contact.last_name))),
                ("email", "Email", Value::from(contact.email.clone())),
                ("phone", "Phone", Value::from(contact.phone.clone())),
                ("primary_for", "Primary for", contact_json(&contact)["primary_for"].clone()),
            ]);
            preview.confirm(p, "Add this contact?", yes)?;
            let contacts = client.contacts(company_id);
            let created = match contacts.create(contact.clone()).await {
                Ok(created) => created,
                Err(e) if e.is_outcome_unknown() => {
                    // Settled by email address: the company's contacts are few.
                    let all = contacts.list().collect_all().await;
                    match all.as_deref().map(|all| all.iter().find(|x| x.email.eq_ignore_ascii_case(&contact.email))) {
                        Ok(Some(found)) => found.clone(),
                        _ => {
                            return Err(Failure {
                                message: format!(
                                    "{e}\n  could not tell whether the contact was added: check with `pax8 contacts list {company_id}` before retrying"
                                ),
                                code: crate::fail::code::UNSETTLED,
                            });
                        }
                    }
                }
                Err(e) => return Err(e.into()),
            };
            let id = crate::fail::id_of(created.id, "contact")?;
            preview.done(p, "contact", contact_json(&created), &format!("Contact {id} added to {}.", c.name));
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
            check(&changed)?;
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

/// A contact as `--json` prints it.
fn contact_json(x: &Contact) -> Value {
    let types: Vec<String> = x.types.iter().filter_map(|t| t.type_.as_ref().map(|t| t.to_string())).collect();
    serde_json::json!({
        "id": x.id, "first_name": x.first_name, "last_name": x.last_name,
        "email": x.email, "phone": x.phone, "primary_for": types,
    })
}

/// Names and a plausible email address, before anything is sent.
fn check(x: &Contact) -> Result<(), Failure> {
    if x.first_name.trim().is_empty() || x.last_name.trim().is_empty() {
        return Err(Failure::usage("a contact needs a first and a last name"));
    }
    let (local, domain) = x.email.split_once('@').unwrap_or(("", ""));
    if local.is_empty() || !domain.contains('.') || x.email.contains(char::is_whitespace) {
        return Err(Failure::usage(format!("`{}` is not an email address", x.email)));
    }
    Ok(())
}

/// `--primary-for admin,billing` → the contact's types, each checked against the document's values.
fn contact_types(names: &[String]) -> Result<Vec<ContactType>, Failure> {
    names
        .iter()
        .map(|name| {
            let kind = ContactTypeType::from(name.trim());
            if !kind.is_known() {
                return Err(Failure::usage(format!("`{name}` is not a contact role; use Admin, Billing or Technical")));
            }
            Ok(ContactType { type_: Some(kind), primary: Some(true), ..Default::default() })
        })
        .collect()
}
