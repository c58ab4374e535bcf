//! Quotes: starting one for a company, adding a line (at the catalogue's suggested retail price
//! for the term and quantity unless a price is given), removing a line. A quote or a line whose
//! answer was lost is settled by reading the quotes again, never sent twice blindly.

use pax8_api::quoting::types::{
    AddLineItemBasePayloadType, AddStandardLineItemPayload, AddStandardLineItemPayloadBillingTerm, CreateQuotePayload,
    LineItemResponse, QuoteResponse,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Answer, OpError, Report, check_quantity};
use crate::money::{Decimal, exact};
use crate::resources::CommitmentChoice;
use crate::{Pax8Client, Timestamp};

/// A quote as the documents show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct QuoteSummary {
    /// The quote's id.
    pub id: Uuid,
    /// Its reference code (what people quote).
    pub reference: String,
    /// The company it is for.
    pub client_id: Uuid,
    /// Its name.
    pub client: String,
    /// Draft, sent, accepted, ...
    pub status: String,
    /// When it expires.
    pub expires: String,
    /// Its lines.
    pub line_items: Vec<QuoteLine>,
    /// The recurring total.
    pub recurring_total: f64,
    /// Its currency.
    pub currency: String,
}

impl From<&QuoteResponse> for QuoteSummary {
    fn from(q: &QuoteResponse) -> Self {
        QuoteSummary {
            id: q.id,
            reference: q.reference_code.clone(),
            client_id: q.client.id,
            client: q.client.name.clone(),
            status: q.status.as_str().to_string(),
            expires: q.expires_on.to_string(),
            line_items: q.line_items.iter().map(QuoteLine::from).collect(),
            recurring_total: q.totals.recurring_total.amount,
            currency: q.totals.recurring_total.currency.clone(),
        }
    }
}

/// A line of a quote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct QuoteLine {
    /// The line's id.
    pub id: Uuid,
    /// The product.
    pub product_id: Uuid,
    /// Its name.
    pub product_name: String,
    /// Seats or units.
    pub quantity: i64,
    /// The billing term.
    pub billing_term: String,
    /// The customer's unit price.
    pub price: f64,
    /// Its currency.
    pub currency: String,
    /// The subscription it changes, for a change line.
    pub subscription_id: Option<Uuid>,
}

impl From<&LineItemResponse> for QuoteLine {
    fn from(l: &LineItemResponse) -> Self {
        QuoteLine {
            id: l.id,
            product_id: l.product.id,
            product_name: l.product.name.clone(),
            quantity: l.quantity,
            billing_term: l.billing_term.as_str().to_string(),
            price: l.price.amount,
            currency: l.price.currency.clone(),
            subscription_id: l.subscription_id,
        }
    }
}

/// What starting a quote will do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct QuotePreview {
    /// The company's name.
    pub company: String,
    /// Its id.
    pub company_id: Uuid,
}

/// A quote started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct QuoteCreated {
    /// How the outcome is known.
    pub answer: Answer,
    /// The quote.
    pub quote: QuoteSummary,
}

/// The document of starting a quote.
pub type QuoteReport = Report<QuotePreview, QuoteCreated>;

/// A quote to start, previewed.
#[derive(Debug, Clone)]
pub struct PreparedQuote {
    preview: QuotePreview,
}

/// Reads the company and previews starting a quote for it.
pub async fn prepare_quote(client: &Pax8Client, company_id: Uuid) -> Result<PreparedQuote, OpError> {
    let company = client.companies().get(company_id).await?;
    Ok(PreparedQuote { preview: QuotePreview { company: company.name, company_id } })
}

/// How far back from the attempt a quote found while settling may have been created (the
/// server's clock against ours).
const CLOCK_SLACK: chrono::Duration = chrono::Duration::minutes(2);

impl PreparedQuote {
    /// What starting the quote will do.
    pub fn preview(&self) -> &QuotePreview {
        &self.preview
    }

    /// Starts the quote. A lost answer is settled by the company's empty quotes created since
    /// the attempt: exactly one is this one; none or several leave it [`OpError::Unsettled`].
    pub async fn create(self, client: &Pax8Client) -> Result<QuoteReport, OpError> {
        let company_id = self.preview.company_id;
        let attempt = Timestamp::from(chrono::Utc::now() - CLOCK_SLACK);
        let payload = CreateQuotePayload { client_id: company_id, ..Default::default() };
        let (answer, quote) = match client.quotes().create(payload).await {
            Ok(quote) => (Answer::Received, quote),
            Err(error) if error.is_outcome_unknown() => {
                let found = client.quotes().list().collect_all().await.map(|quotes| {
                    quotes
                        .into_iter()
                        .filter(|q| q.client.id == company_id && q.created_on >= attempt)
                        .filter(|q| q.line_item_counts.total == 0)
                        .map(|q| q.id)
                        .collect::<Vec<_>>()
                });
                match found.as_deref() {
                    Ok([id]) => (Answer::Settled, client.quotes().get(*id).await?),
                    other => {
                        let seen = match other {
                            Err(lookup) => lookup.to_string(),
                            Ok(ids) => format!("{} empty quote(s) of the company started since", ids.len()),
                        };
                        return Err(OpError::Unsettled {
                            what: "quote",
                            done: "started",
                            seen,
                            error: Box::new(error),
                        });
                    }
                }
            }
            Err(error) => return Err(error.into()),
        };
        Ok(Report::done(self.preview, QuoteCreated { answer, quote: QuoteSummary::from(&quote) }))
    }
}

/// A line to add to a quote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineSpec {
    /// The quote.
    pub quote_id: Uuid,
    /// The product.
    pub product_id: Uuid,
    /// Seats or units (1 to [`super::MAX_QUANTITY`]).
    pub quantity: u32,
    /// The billing term (`Monthly`, `Annual`, ...).
    pub billing_term: String,
    /// The customer's unit price; none: the catalogue's suggested retail for the term and band.
    pub price: Option<Decimal>,
}

/// What adding a line will do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct LinePreview {
    /// The quote's reference.
    pub quote: String,
    /// The quote's id.
    pub quote_id: Uuid,
    /// The company it is for.
    pub client: String,
    /// The product's name.
    pub product: Option<String>,
    /// The product.
    pub product_id: Uuid,
    /// Seats or units.
    pub quantity: u32,
    /// The billing term.
    pub term: String,
    /// The customer's unit price (given, or the catalogue's), in cents.
    #[serde(with = "rust_decimal::serde::float")]
    #[cfg_attr(feature = "schemars", schemars(with = "f64"))]
    pub unit_price: Decimal,
    /// Unit price × quantity, per term.
    #[serde(with = "rust_decimal::serde::float")]
    #[cfg_attr(feature = "schemars", schemars(with = "f64"))]
    pub total: Decimal,
}

/// Lines added.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct LinesAdded {
    /// How the outcome is known.
    pub answer: Answer,
    /// The lines as the quote now has them.
    pub line_items: Vec<QuoteLine>,
}

/// The document of adding a line.
pub type LineReport = Report<LinePreview, LinesAdded>;

/// A line to add, checked and previewed.
#[derive(Debug, Clone)]
pub struct PreparedLine {
    payload: AddStandardLineItemPayload,
    lines_before: Vec<Uuid>,
    preview: LinePreview,
}

/// The largest customer price a line may carry.
const MAX_PRICE: u32 = 10_000_000;

/// Reads the quote, the product and its prices and previews the line. Refused before anything is
/// sent: a quantity outside 1 to the maximum, a billing term quoting does not know, a price
/// below 0, above 10,000,000 or with fractions of a cent, no catalogue price for the term when
/// none is given, a product whose commitment the term does not pick.
pub async fn prepare_line(client: &Pax8Client, spec: &LineSpec) -> Result<PreparedLine, OpError> {
    check_quantity(spec.quantity, "quantity must be at least 1")?;
    let billing_term = AddStandardLineItemPayloadBillingTerm::from(spec.billing_term.as_str());
    if !billing_term.is_known() {
        return Err(OpError::Refused(format!(
            "`{}` is not a billing term; use one of: {}",
            spec.billing_term,
            AddStandardLineItemPayloadBillingTerm::KNOWN.join(", ")
        )));
    }
    if let Some(price) = spec.price
        && (price.is_sign_negative() || price > Decimal::from(MAX_PRICE) || price.scale() > 2)
    {
        return Err(OpError::Refused(format!(
            "price {price}: give an amount from 0 to {MAX_PRICE} with at most 2 decimals"
        )));
    }
    let quote = client.quotes().get(spec.quote_id).await?;
    let product = client.products().get(spec.product_id).await?;
    let term = billing_term.as_str().to_string();
    let unit_price = match spec.price {
        Some(price) => price,
        None => {
            let pricing = client.products().pricing(spec.product_id, Some(quote.client.id)).await?;
            let rate = crate::insights::rate_for(&pricing, &term, f64::from(spec.quantity));
            exact(rate.and_then(|r| r.suggested_retail_price)).ok_or_else(|| {
                OpError::Refused(format!("the catalogue has no {term} price for this product: give a price"))
            })?
        }
    };
    let commitment_term_id = match client.products().commitment_for(spec.product_id, &term).await? {
        CommitmentChoice::NotRequired => None,
        CommitmentChoice::Chosen(c) => c.id,
        CommitmentChoice::Choose(terms) => {
            return Err(OpError::ChooseCommitment {
                product: product.name.clone().unwrap_or_else(|| spec.product_id.to_string()),
                billing_term: term,
                choices: terms.iter().map(super::CommitmentTerm::from).collect(),
            });
        }
    };
    let payload = AddStandardLineItemPayload {
        billing_term,
        commitment_term_id,
        effective_date: Timestamp::from(chrono::Utc::now()),
        // The API takes a number; a price of whole cents converts exactly enough.
        price: rust_decimal::prelude::ToPrimitive::to_f64(&unit_price).unwrap_or_default(),
        product_id: spec.product_id,
        // (At most MAX_QUANTITY, checked above: fits an i32.)
        quantity: i32::try_from(spec.quantity).unwrap_or(i32::MAX),
        type_: AddLineItemBasePayloadType::Standard,
        ..Default::default()
    };
    let preview = LinePreview {
        quote: quote.reference_code.clone(),
        quote_id: quote.id,
        client: quote.client.name.clone(),
        product: product.name,
        product_id: spec.product_id,
        quantity: spec.quantity,
        term,
        unit_price,
        total: unit_price.saturating_mul(Decimal::from(spec.quantity)),
    };
    Ok(PreparedLine { payload, lines_before: quote.line_items.iter().map(|l| l.id).collect(), preview })
}

impl PreparedLine {
    /// What adding the line will do.
    pub fn preview(&self) -> &LinePreview {
        &self.preview
    }

    /// Adds the line. A lost answer is settled by reading the quote: exactly one new line of
    /// this product, quantity and term is this one.
    pub async fn apply(self, client: &Pax8Client) -> Result<LineReport, OpError> {
        let quote_id = self.preview.quote_id;
        let added = client.quotes().add_line_items(quote_id, vec![self.payload.clone().into()]).await;
        let (answer, lines) = match added {
            Ok(lines) => (Answer::Received, lines),
            Err(error) if error.is_outcome_unknown() => {
                let p = &self.preview;
                let found = client.quotes().get(quote_id).await.map(|q| {
                    q.line_items
                        .into_iter()
                        .filter(|l| !self.lines_before.contains(&l.id))
                        .filter(|l| l.product.id == p.product_id && l.quantity == i64::from(p.quantity))
                        .filter(|l| l.billing_term.as_str() == p.term)
                        .collect::<Vec<_>>()
                });
                match found {
                    Ok(new) if new.len() == 1 => (Answer::Settled, new),
                    other => {
                        let seen = match other {
                            Err(lookup) => lookup.to_string(),
                            Ok(new) => format!("{} new line(s) of that product on the quote", new.len()),
                        };
                        return Err(OpError::Unsettled { what: "line", done: "added", seen, error: Box::new(error) });
                    }
                }
            }
            Err(error) => return Err(error.into()),
        };
        let line_items = lines.iter().map(QuoteLine::from).collect();
        Ok(Report::done(self.preview, LinesAdded { answer, line_items }))
    }
}

/// What removing a line will do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct RemoveLinePreview {
    /// The quote's reference.
    pub quote: String,
    /// The quote's id.
    pub quote_id: Uuid,
    /// The line removed, as it is.
    pub line: QuoteLine,
}

/// A line removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct LineRemoved {
    /// The line's id.
    pub removed: Uuid,
}

/// The document of removing a line.
pub type RemoveLineReport = Report<RemoveLinePreview, LineRemoved>;

/// A line to remove, previewed.
#[derive(Debug, Clone)]
pub struct PreparedRemoval {
    preview: RemoveLinePreview,
}

/// Reads the quote and previews removing line `line_id` (refused when the quote has no such line).
pub async fn prepare_remove_line(
    client: &Pax8Client,
    quote_id: Uuid,
    line_id: Uuid,
) -> Result<PreparedRemoval, OpError> {
    let quote = client.quotes().get(quote_id).await?;
    let Some(line) = quote.line_items.iter().find(|l| l.id == line_id) else {
        return Err(OpError::Refused(format!(
            "quote {} has no line item {line_id}; `pax8 quotes show {quote_id}` lists them",
            quote.reference_code
        )));
    };
    let preview = RemoveLinePreview { quote: quote.reference_code.clone(), quote_id, line: QuoteLine::from(line) };
    Ok(PreparedRemoval { preview })
}

impl PreparedRemoval {
    /// What removing the line will do.
    pub fn preview(&self) -> &RemoveLinePreview {
        &self.preview
    }

    /// Removes the line (a DELETE: retried like a read, never unknown).
    pub async fn apply(self, client: &Pax8Client) -> Result<RemoveLineReport, OpError> {
        let removed = self.preview.line.id;
        client.quotes().delete_line_item(self.preview.quote_id, removed).await?;
        Ok(Report::done(self.preview, LineRemoved { removed }))
    }
}
