//! Money as decimals. The API sends amounts as JSON numbers; each is taken as the decimal it was
//! written as (Pax8's amounts have far fewer than 15 significant digits, which a number carries
//! exactly), and all arithmetic (monthly figures, sums, margins) is done in [`Decimal`], rounded
//! to cents only when shown. Summing floating-point amounts drifts: 0.58 a year for 3 seats is
//! 0.145 a month, which `f64` holds as 0.14499… and rounds to 0.14.

pub use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;

/// An amount the API sent: its decimal, or zero when absent or not a finite number in range.
pub fn amount(v: Option<f64>) -> Decimal {
    exact(v).unwrap_or(Decimal::ZERO)
}

/// An amount the API sent, absent when it is absent or not a finite number in range.
pub fn exact(v: Option<f64>) -> Option<Decimal> {
    v.and_then(Decimal::from_f64).map(|d| d.normalize())
}

/// Rounded to cents, halves away from zero (0.145 → 0.15, -0.145 → -0.15).
pub fn cents(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
}

/// The margin to show beside a revenue and a cost: the revenue rounded to cents less the cost
/// rounded to cents. Each is rounded once, from full precision, and the three printed figures add
/// up (rounding the unrounded difference instead can be a cent off them: 0.006 − 0.004).
pub fn margin(revenue: Decimal, cost: Decimal) -> Decimal {
    cents(revenue).saturating_sub(cents(cost))
}

/// An amount for a JSON document: rounded to cents, written as a number (`19.8`).
pub fn number(d: Decimal) -> serde_json::Value {
    use rust_decimal::prelude::ToPrimitive;
    cents(d).to_f64().map_or(serde_json::Value::Null, serde_json::Value::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_the_decimals_the_api_wrote() {
        assert_eq!(amount(Some(19.99)).to_string(), "19.99");
        assert_eq!(amount(Some(0.58)).to_string(), "0.58");
        assert_eq!(amount(None), Decimal::ZERO);
        assert_eq!(amount(Some(f64::NAN)), Decimal::ZERO);
        assert_eq!(exact(Some(f64::INFINITY)), None);
        assert_eq!(exact(Some(1e300)), None, "beyond Decimal's range: absent, not a wrapped value");
    }

    #[test]
    fn cents_round_halves_away_from_zero_where_f64_rounds_down() {
        let monthly = amount(Some(0.58)) * Decimal::from(3) / Decimal::from(12);
        assert_eq!(monthly.normalize().to_string(), "0.145");
        assert_eq!(cents(monthly).to_string(), "0.15");
        assert_eq!(cents(-monthly).to_string(), "-0.15");
        // The same figure in f64 is a cent off.
        let float = 0.58 * 3.0 / 12.0;
        assert_eq!((float * 100.0_f64).round() / 100.0, 0.14);
        assert_eq!(number(monthly), serde_json::json!(0.15));
    }
}
