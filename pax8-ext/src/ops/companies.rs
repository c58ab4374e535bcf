//! Creating a company: refused when one of the same name exists (names are how people find
//! companies), previewed, created, and settled by name when the answer is lost.

use pax8_api::partner::types::{Address, Company};
use serde::{Deserialize, Serialize};

use super::{Answer, OpError, Report};
use crate::Pax8Client;
use crate::views::CompanySummary;

/// A company to create: its name and the details given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct NewCompany {
    /// Its name (unique among the partner's companies, ignoring case).
    pub name: String,
    /// Street of its address.
    pub street: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State or province.
    pub state_or_province: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Country code (`US`).
    pub country: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Website.
    pub website: Option<String>,
    /// The partner's own reference.
    pub external_id: Option<String>,
}

/// What creating a company came to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct CompanyCreated {
    /// How the outcome is known.
    pub answer: Answer,
    /// The company created.
    pub company: CompanySummary,
}

/// The document of a company creation: the company as previewed, and what it came to.
pub type CompanyReport = Report<NewCompany, CompanyCreated>;

/// A company checked and ready to create.
#[derive(Debug, Clone)]
pub struct PreparedCompany {
    preview: NewCompany,
}

/// Trims the name and refuses an empty one or one a company already has.
pub async fn prepare_company(client: &Pax8Client, mut company: NewCompany) -> Result<PreparedCompany, OpError> {
    company.name = company.name.trim().to_string();
    if company.name.is_empty() {
        return Err(OpError::Refused("the company name is empty".into()));
    }
    if let Some(existing) = same_name(client, &company.name).await? {
        return Err(OpError::Refused(format!(
            "a company named `{}` exists ({}); nothing was created",
            existing.name,
            existing.id.map(|i| i.to_string()).unwrap_or_default()
        )));
    }
    Ok(PreparedCompany { preview: company })
}

async fn same_name(client: &Pax8Client, name: &str) -> crate::Result<Option<Company>> {
    let found = client.companies().find_by_name(name).await?;
    Ok(found.into_iter().find(|c| c.name.eq_ignore_ascii_case(name)))
}

impl PreparedCompany {
    /// The company as it will be created.
    pub fn preview(&self) -> &NewCompany {
        &self.preview
    }
    /// Creates the company; a lost answer is settled by name (no company had it before).
    pub async fn apply(self, client: &Pax8Client) -> Result<CompanyReport, OpError> {
        let p = &self.preview;
        let company = Company {
            name: p.name.clone(),
            address: Address {
                street: p.street.clone(),
                city: p.city.clone(),
                state_or_province: p.state_or_province.clone(),
                postal_code: p.postal_code.clone(),
                country: p.country.clone(),
                ..Default::default()
            },
            phone: p.phone.clone(),
            website: p.website.clone(),
            external_id: p.external_id.clone(),
            ..Default::default()
        };
        let (answer, created) = match client.companies().create(company).await {
            Ok(created) => (Answer::Received, created),
            Err(error) if error.is_outcome_unknown() => match same_name(client, &p.name).await {
                Ok(Some(found)) => (Answer::Settled, found),
                other => {
                    let seen = match other {
                        Err(lookup) => lookup.to_string(),
                        Ok(_) => "no company of that name exists yet".to_string(),
                    };
                    return Err(OpError::Unsettled { what: "company", done: "created", seen, error: Box::new(error) });
                }
            },
            Err(error) => return Err(error.into()),
        };
        let result = CompanyCreated { answer, company: CompanySummary::from(&created) };
        Ok(Report::done(self.preview, result))
    }
}
