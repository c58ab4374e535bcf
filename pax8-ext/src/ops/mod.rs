//! Operations: every multi-step business step, written once. The CLI and the MCP server call
//! these, render the [`Report`] they return (one serde document: the CLI's `--json` and the MCP
//! result are the same), confirm before the write, and map an [`OpError`] to an exit code or a
//! tool error.
//!
//! Each write has two halves: `prepare` reads and validates (a server dry run for orders) and
//! returns a prepared value holding its preview; `apply` (or `place`) writes it and returns a
//! [`Report`]. A write whose answer was lost is settled here (looked up by what identifies it),
//! never retried blindly: found, it is reported as done with [`Answer::Settled`]; not found or
//! ambiguous, it is [`OpError::Unsettled`].
//!
//! ```no_run
//! # async fn demo(client: pax8_ext::Pax8Client, company: uuid::Uuid, product: uuid::Uuid) -> Result<(), pax8_ext::ops::OpError> {
//! use pax8_ext::ops::orders::{OrderSpec, prepare};
//!
//! let spec = OrderSpec { company_id: company, product_id: product, quantity: 5, billing_term: "Monthly".into(), commitment_term_id: None };
//! let prepared = prepare(&client, &spec).await?;          // resolves the commitment, dry run, prices
//! println!("{}", serde_json::to_string(prepared.preview()).unwrap_or_default());
//! let report = prepared.place(&client).await?;            // placed, unreadable, or settled
//! println!("{}", serde_json::to_string(&report).unwrap_or_default());
//! # Ok(()) }
//! ```

use serde::{Deserialize, Serialize};

use crate::error::Error;

pub mod companies;
pub mod contacts;
pub mod orders;
pub mod quotes;
pub mod subscriptions;
pub mod terms;

/// What a write's document says: its preview, whether it was done, and (flattened beside them)
/// its result: `{"preview": …, "done": true, "answer": "placed", "order": …}`, or
/// `{"preview": …, "done": false}` when it was not confirmed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct Report<P, R> {
    /// What was shown before the write.
    pub preview: P,
    /// Whether the write was made.
    pub done: bool,
    /// What the write returned, when it was made.
    #[serde(flatten)]
    pub result: Option<R>,
}

impl<P, R> Report<P, R> {
    /// The write was not confirmed: nothing was changed.
    pub fn not_done(preview: P) -> Self {
        Report { preview, done: false, result: None }
    }
    /// The write was made.
    pub fn done(preview: P, result: R) -> Self {
        Report { preview, done: true, result: Some(result) }
    }
}

/// How the outcome of a write is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub enum Answer {
    /// The server answered and the answer was read.
    Received,
    /// The server made the change but its answer could not be read (the id, when readable, is
    /// reported).
    Unreadable,
    /// The answer was lost; the change was found afterwards by what identifies it.
    Settled,
}

/// Why an operation did not complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpError {
    /// Refused before anything was sent: the message says what to change.
    #[error("{0}")]
    Refused(String),
    /// The product needs a commitment term and the billing term alone does not pick one.
    #[error("{product} needs a commitment term and none matches `{billing_term}` alone")]
    ChooseCommitment {
        /// The product's name (or id).
        product: String,
        /// The billing term asked for.
        billing_term: String,
        /// The terms to choose from.
        choices: Vec<CommitmentTerm>,
    },
    /// The write may or may not have happened (its answer was lost) and looking for it did not
    /// tell: check before doing it again.
    #[error("{error}\n  could not tell whether the {what} was {done} ({seen})")]
    Unsettled {
        /// What was written: `order`, `company`, `contact`.
        what: &'static str,
        /// The participle: `placed`, `created`, `added`.
        done: &'static str,
        /// What the lookup found.
        seen: String,
        /// The lost answer.
        error: Box<Error>,
    },
    /// The API (or the network) failed.
    #[error(transparent)]
    Api(#[from] Error),
}

/// A commitment term of a product: its id and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct CommitmentTerm {
    /// The id an order line names.
    pub id: Option<uuid::Uuid>,
    /// Its name (`Annual`, `Monthly`, ...).
    pub term: Option<String>,
}

impl From<&pax8_api::partner::types::Commitment> for CommitmentTerm {
    fn from(c: &pax8_api::partner::types::Commitment) -> Self {
        CommitmentTerm { id: c.id, term: c.term.clone() }
    }
}

/// The largest quantity an operation accepts.
pub const MAX_QUANTITY: u32 = 1_000_000;

/// A quantity the API sent, as the whole number it must be: absent when it is absent, negative,
/// fractional, not finite or beyond any real quantity.
pub fn whole(quantity: Option<f64>) -> Option<u64> {
    let q = quantity?;
    // (Bounded above by 2^53, where every integer is exact: the cast below cannot wrap.)
    (q.is_finite() && q >= 0.0 && q.fract() == 0.0 && q <= 9_007_199_254_740_992.0).then_some(q as u64)
}

/// Refuses a quantity outside 1 to [`MAX_QUANTITY`].
pub(crate) fn check_quantity(quantity: u32, zero: &str) -> Result<(), OpError> {
    if quantity == 0 {
        return Err(OpError::Refused(zero.to_string()));
    }
    if quantity > MAX_QUANTITY {
        return Err(OpError::Refused(format!("quantity must be between 1 and {MAX_QUANTITY}, got {quantity}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_from_the_api_are_whole_numbers_or_nothing() {
        assert_eq!(whole(Some(5.0)), Some(5));
        assert_eq!(whole(Some(0.0)), Some(0));
        assert_eq!(whole(Some(9_007_199_254_740_992.0)), Some(9_007_199_254_740_992));
        for odd in [Some(2.5), Some(-1.0), Some(f64::NAN), Some(f64::INFINITY), Some(1e300), None] {
            assert_eq!(whole(odd), None, "{odd:?}");
        }
    }

    #[test]
    fn quantities_are_checked_from_one_to_the_maximum() {
        assert!(matches!(check_quantity(0, "zero"), Err(OpError::Refused(m)) if m == "zero"));
        assert!(check_quantity(1, "zero").is_ok());
        assert!(check_quantity(MAX_QUANTITY, "zero").is_ok());
        let over = check_quantity(MAX_QUANTITY + 1, "zero").unwrap_err().to_string();
        assert_eq!(over, "quantity must be between 1 and 1000000, got 1000001");
    }

    #[test]
    fn a_report_flattens_its_result_beside_the_preview() {
        #[derive(Serialize)]
        struct R {
            answer: Answer,
            id: u32,
        }
        let done = serde_json::to_value(Report::done("p", R { answer: Answer::Settled, id: 7 })).unwrap();
        assert_eq!(done, serde_json::json!({"preview": "p", "done": true, "answer": "settled", "id": 7}));
        let refused = serde_json::to_value(Report::<_, R>::not_done("p")).unwrap();
        assert_eq!(refused, serde_json::json!({"preview": "p", "done": false}));
    }
}
