//! Placing an order: resolve the commitment term, validate by a server dry run, price it, show a
//! [`OrderPreview`], place it, and settle a lost answer by looking for the order.

use pax8_api::partner::types::{CreateOrder, Order};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Answer, CommitmentTerm, OpError, Report, check_quantity};
use crate::Pax8Client;
use crate::error::Error;
use crate::insights::{months_for_term, per_month, rate_for};
use crate::money::{Decimal, amount, cents};
use crate::resources::{CommitmentChoice, NewOrder};
use crate::views::OrderSummary;

/// What to order: one product for one company.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderSpec {
    /// The company ordering.
    pub company_id: Uuid,
    /// The product.
    pub product_id: Uuid,
    /// Seats or units, 1 to [`super::MAX_QUANTITY`].
    pub quantity: u32,
    /// `Monthly`, `Annual`, ...
    pub billing_term: String,
    /// The commitment term, when the billing term alone does not pick one.
    pub commitment_term_id: Option<Uuid>,
}

/// What placing the order will do, checked by a server dry run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct OrderPreview {
    /// The company ordering.
    pub company_id: Uuid,
    /// Its name.
    pub company: String,
    /// The product.
    pub product_id: Uuid,
    /// Its name.
    pub product: Option<String>,
    /// Seats or units.
    pub quantity: u32,
    /// The billing term.
    pub billing_term: String,
    /// The commitment term the order uses, if the product has any.
    pub commitment_term: Option<CommitmentTerm>,
    /// The partner's price of one unit for one billing period (the company's rate).
    #[serde(with = "rust_decimal::serde::float")]
    #[cfg_attr(feature = "schemars", schemars(with = "f64"))]
    pub unit_price: Decimal,
    /// Unit price times quantity, per billing period.
    #[serde(with = "rust_decimal::serde::float")]
    #[cfg_attr(feature = "schemars", schemars(with = "f64"))]
    pub total_per_term: Decimal,
    /// What the order adds to the partner's monthly cost, rounded to cents.
    #[serde(with = "rust_decimal::serde::float")]
    #[cfg_attr(feature = "schemars", schemars(with = "f64"))]
    pub monthly_cost: Decimal,
    /// What it adds to monthly revenue at the suggested retail price, rounded to cents.
    #[serde(with = "rust_decimal::serde::float")]
    #[cfg_attr(feature = "schemars", schemars(with = "f64"))]
    pub monthly_revenue: Decimal,
    /// The server accepted it as a dry run (`isMock`): nothing was created.
    pub validated_by_dry_run: bool,
}

/// What placing an order came to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct OrderPlaced {
    /// How the outcome is known.
    pub answer: Answer,
    /// The order's id (also when its answer could not be read, if the id could be).
    pub order_id: Option<String>,
    /// The order, when it was read or found.
    pub order: Option<OrderSummary>,
}

/// The document of an order: its preview and, once placed, what it came to.
pub type OrderReport = Report<OrderPreview, OrderPlaced>;

/// An order resolved, validated and priced, ready to place.
#[derive(Debug, Clone)]
pub struct PreparedOrder {
    order: CreateOrder,
    preview: OrderPreview,
}

/// Resolves `spec`'s commitment term, validates the order by a server dry run (nothing is
/// created) and prices it with the company's rates.
pub async fn prepare(client: &Pax8Client, spec: &OrderSpec) -> Result<PreparedOrder, OpError> {
    check_quantity(spec.quantity, "quantity must be at least 1")?;
    let company = client.companies().get(spec.company_id).await?;
    let product = client.products().get(spec.product_id).await?;
    let product_name = product.name.clone();
    let choice = client.products().commitment_for(spec.product_id, &spec.billing_term).await?;
    let commitment = commitment(spec, product_name.as_deref(), choice)?;
    let order = NewOrder::for_company(spec.company_id)
        .line(spec.product_id, spec.quantity, &spec.billing_term, commitment.as_ref().and_then(|c| c.id))
        .build();
    // The server validates; it creates nothing.
    client.orders().create(order.clone()).mock(true).send().await?;
    let pricing = client.products().pricing(spec.product_id, Some(spec.company_id)).await?;
    let rate = rate_for(&pricing, &spec.billing_term, f64::from(spec.quantity));
    let unit = amount(rate.and_then(|r| r.partner_buy_rate));
    let retail = amount(rate.and_then(|r| r.suggested_retail_price));
    let months = months_for_term(&spec.billing_term);
    let quantity = Decimal::from(spec.quantity);
    let preview = OrderPreview {
        company_id: spec.company_id,
        company: company.name,
        product_id: spec.product_id,
        product: product_name,
        quantity: spec.quantity,
        billing_term: spec.billing_term.clone(),
        commitment_term: commitment,
        unit_price: unit,
        total_per_term: unit * quantity,
        monthly_cost: cents(per_month(unit, quantity, months)),
        monthly_revenue: cents(per_month(retail, quantity, months)),
        validated_by_dry_run: true,
    };
    Ok(PreparedOrder { order, preview })
}

/// The commitment term to order with: the one asked for (if the product has it), the only one
/// naming the billing term, or none when the product takes none.
fn commitment(
    spec: &OrderSpec,
    product: Option<&str>,
    choice: CommitmentChoice,
) -> Result<Option<CommitmentTerm>, OpError> {
    match (spec.commitment_term_id, choice) {
        (Some(id), CommitmentChoice::Choose(terms)) => {
            terms.iter().find(|c| c.id == Some(id)).map(|c| Some(CommitmentTerm::from(c))).ok_or_else(|| {
                OpError::Refused(format!(
                    "commitment term {id} is not a commitment term of this product (see its dependencies)"
                ))
            })
        }
        (Some(id), CommitmentChoice::Chosen(c)) if c.id != Some(id) => Err(OpError::Refused(format!(
            "commitment term {id} does not match the product's {} commitment for {}",
            c.term.as_deref().unwrap_or("?"),
            spec.billing_term
        ))),
        (_, CommitmentChoice::Chosen(c)) => Ok(Some(CommitmentTerm::from(&c))),
        (Some(id), CommitmentChoice::NotRequired) => Err(OpError::Refused(format!(
            "this product takes no commitment term; leave the commitment term ({id}) out"
        ))),
        (None, CommitmentChoice::NotRequired) => Ok(None),
        (None, CommitmentChoice::Choose(terms)) => Err(OpError::ChooseCommitment {
            product: product.map_or_else(|| spec.product_id.to_string(), str::to_string),
            billing_term: spec.billing_term.clone(),
            choices: terms.iter().map(CommitmentTerm::from).collect(),
        }),
    }
}

impl PreparedOrder {
    /// What placing it will do.
    pub fn preview(&self) -> &OrderPreview {
        &self.preview
    }

    /// Places the order. A lost answer is settled by looking for the order (same company, same
    /// lines, created since the attempt's day): one match is the order; none or several is
    /// [`OpError::Unsettled`], never a second attempt.
    pub async fn place(self, client: &Pax8Client) -> Result<OrderReport, OpError> {
        let attempt = crate::Timestamp::from(chrono::Utc::now());
        let placed = match client.orders().create(self.order.clone()).send().await {
            Ok(order) => placed(Answer::Received, &order),
            Err(Error::AnswerUnreadable { id, .. }) => {
                OrderPlaced { answer: Answer::Unreadable, order_id: id, order: None }
            }
            Err(error) if error.is_outcome_unknown() => {
                match client.orders().find_recent_matching(&self.order, attempt).await.as_deref() {
                    Ok([one]) => placed(Answer::Settled, one),
                    other => {
                        let seen = match other {
                            Ok([]) => "no matching order was found yet".to_string(),
                            Ok(matches) => format!("{} matching orders exist", matches.len()),
                            Err(lookup) => lookup.to_string(),
                        };
                        return Err(OpError::Unsettled { what: "order", done: "placed", seen, error: Box::new(error) });
                    }
                }
            }
            Err(error) => return Err(error.into()),
        };
        Ok(Report::done(self.preview, placed))
    }
}

fn placed(answer: Answer, order: &Order) -> OrderPlaced {
    OrderPlaced { answer, order_id: order.id.map(|id| id.to_string()), order: Some(OrderSummary::from(order)) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pax8_api::partner::types::Commitment;

    fn spec(commitment_term_id: Option<Uuid>) -> OrderSpec {
        OrderSpec {
            company_id: Uuid::nil(),
            product_id: Uuid::from_u128(1),
            quantity: 2,
            billing_term: "Annual".into(),
            commitment_term_id,
        }
    }

    fn term(id: u128, name: &str) -> Commitment {
        Commitment { id: Some(Uuid::from_u128(id)), term: Some(name.into()), ..Default::default() }
    }

    #[test]
    fn the_commitment_term_is_the_one_asked_for_the_only_one_or_a_choice() {
        let (monthly, annual) = (term(10, "Monthly"), term(11, "Annual"));
        let chosen = commitment(&spec(None), None, CommitmentChoice::Chosen(annual.clone())).unwrap();
        assert_eq!(chosen, Some(CommitmentTerm::from(&annual)));
        let same = commitment(&spec(Some(Uuid::from_u128(11))), None, CommitmentChoice::Chosen(annual.clone()));
        assert_eq!(same.unwrap(), Some(CommitmentTerm::from(&annual)), "the one asked for is the one chosen");
        let named = commitment(
            &spec(Some(Uuid::from_u128(10))),
            None,
            CommitmentChoice::Choose(vec![monthly.clone(), annual.clone()]),
        )
        .unwrap();
        assert_eq!(named, Some(CommitmentTerm::from(&monthly)));
        assert_eq!(commitment(&spec(None), None, CommitmentChoice::NotRequired).unwrap(), None);

        let choose =
            commitment(&spec(None), Some("M365"), CommitmentChoice::Choose(vec![monthly.clone(), annual.clone()]));
        match choose {
            Err(OpError::ChooseCommitment { product, billing_term, choices }) => {
                assert_eq!((product.as_str(), billing_term.as_str(), choices.len()), ("M365", "Annual", 2));
            }
            other => panic!("{other:?}"),
        }
        let unknown = commitment(&spec(Some(Uuid::from_u128(99))), None, CommitmentChoice::Choose(vec![monthly]));
        assert!(unknown.unwrap_err().to_string().contains("is not a commitment term"));
        let mismatch = commitment(&spec(Some(Uuid::from_u128(99))), None, CommitmentChoice::Chosen(annual));
        assert!(mismatch.unwrap_err().to_string().contains("does not match the product's Annual commitment"));
        let none = commitment(&spec(Some(Uuid::from_u128(99))), None, CommitmentChoice::NotRequired);
        assert!(none.unwrap_err().to_string().contains("takes no commitment term"));
    }
}
