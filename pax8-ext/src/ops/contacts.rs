//! Adding a contact to a company: checked (names, a plausible email address, known roles),
//! previewed, created, and settled by email address when the answer is lost.

use pax8_api::partner::types::{Contact, ContactType, ContactTypeType};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Answer, OpError, Report};
use crate::Pax8Client;
use crate::views::ContactSummary;

/// A contact to add.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct NewContact {
    /// The company it belongs to.
    pub company_id: Uuid,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Email address (how a lost answer is settled: unique within the company).
    pub email: String,
    /// Phone number.
    pub phone: String,
    /// The roles it is the primary contact for: `Admin`, `Billing`, `Technical`.
    pub primary_for: Vec<String>,
}

/// What adding the contact will do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct ContactPreview {
    /// The company's name.
    pub company: String,
    /// The contact.
    #[serde(flatten)]
    pub contact: NewContact,
}

/// What adding a contact came to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct ContactAdded {
    /// How the outcome is known.
    pub answer: Answer,
    /// The contact created.
    pub contact: ContactSummary,
}

/// The document of adding a contact.
pub type ContactReport = Report<ContactPreview, ContactAdded>;

/// A contact checked and ready to add.
#[derive(Debug, Clone)]
pub struct PreparedContact {
    contact: Contact,
    preview: ContactPreview,
}

/// Checks the contact and reads its company's name.
pub async fn prepare_contact(client: &Pax8Client, mut new: NewContact) -> Result<PreparedContact, OpError> {
    let types = roles(&new.primary_for)?;
    // The preview names the roles as the document does (`admin` → `Admin`).
    new.primary_for = types.iter().filter_map(|t| t.type_.as_ref().map(ToString::to_string)).collect();
    let contact = Contact {
        first_name: new.first_name.clone(),
        last_name: new.last_name.clone(),
        email: new.email.clone(),
        phone: new.phone.clone(),
        types,
        ..Default::default()
    };
    check(&contact)?;
    let company = client.companies().get(new.company_id).await?;
    Ok(PreparedContact { contact, preview: ContactPreview { company: company.name, contact: new } })
}

/// Names and a plausible email address, before anything is sent.
pub fn check(x: &Contact) -> Result<(), OpError> {
    if x.first_name.trim().is_empty() || x.last_name.trim().is_empty() {
        return Err(OpError::Refused("a contact needs a first and a last name".into()));
    }
    let (local, domain) = x.email.split_once('@').unwrap_or(("", ""));
    if local.is_empty() || !domain.contains('.') || x.email.contains(char::is_whitespace) {
        return Err(OpError::Refused(format!("`{}` is not an email address", x.email)));
    }
    Ok(())
}

/// `["admin", "billing"]` → the contact's types, each checked against the document's values.
pub fn roles(names: &[String]) -> Result<Vec<ContactType>, OpError> {
    names
        .iter()
        .map(|name| {
            let kind = ContactTypeType::from(name.trim());
            if !kind.is_known() {
                return Err(OpError::Refused(format!(
                    "`{name}` is not a contact role; use Admin, Billing or Technical"
                )));
            }
            Ok(ContactType { type_: Some(kind), primary: Some(true), ..Default::default() })
        })
        .collect()
}

impl PreparedContact {
    /// What adding it will do.
    pub fn preview(&self) -> &ContactPreview {
        &self.preview
    }
    /// Adds the contact; a lost answer is settled by its email address.
    pub async fn apply(self, client: &Pax8Client) -> Result<ContactReport, OpError> {
        let contacts = client.contacts(self.preview.contact.company_id);
        let (answer, created) = match contacts.create(self.contact.clone()).await {
            Ok(created) => (Answer::Received, created),
            Err(error) if error.is_outcome_unknown() => {
                let all = contacts.list().collect_all().await;
                match all.as_deref().map(|all| all.iter().find(|x| x.email.eq_ignore_ascii_case(&self.contact.email))) {
                    Ok(Some(found)) => (Answer::Settled, found.clone()),
                    other => {
                        let seen = match other {
                            Err(lookup) => lookup.to_string(),
                            Ok(_) => "no contact with that email address exists yet".to_string(),
                        };
                        return Err(OpError::Unsettled {
                            what: "contact",
                            done: "added",
                            seen,
                            error: Box::new(error),
                        });
                    }
                }
            }
            Err(error) => return Err(error.into()),
        };
        Ok(Report::done(self.preview, ContactAdded { answer, contact: ContactSummary::from(&created) }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(first: &str, last: &str, email: &str) -> Contact {
        Contact { first_name: first.into(), last_name: last.into(), email: email.into(), ..Default::default() }
    }

    #[test]
    fn a_contact_needs_names_and_a_plausible_email_address() {
        assert!(check(&contact("Peter", "Gibbons", "peter@initech.example")).is_ok());
        for (first, last, email) in [
            (" ", "Gibbons", "peter@initech.example"),
            ("Peter", "", "peter@initech.example"),
            ("Peter", "Gibbons", "peter"),
            ("Peter", "Gibbons", "@initech.example"),
            ("Peter", "Gibbons", "peter@localhost"),
            ("Peter", "Gibbons", "pe ter@initech.example"),
        ] {
            assert!(check(&contact(first, last, email)).is_err(), "{first} {last} <{email}>");
        }
    }

    #[test]
    fn roles_are_the_documents_values_in_any_case() {
        let types = roles(&["admin".into(), " Billing ".into()]).unwrap();
        assert_eq!(types.len(), 2);
        assert!(types.iter().all(|t| t.primary == Some(true)));
        let refused = roles(&["owner".into()]).unwrap_err().to_string();
        assert!(refused.contains("`owner` is not a contact role"), "{refused}");
    }
}
