//! Margins: what each billing subscription costs the partner (`partnerCost`), what the customer
//! is charged (`price`), and the vendor's suggested retail price for the same term and quantity
//! (the product's price list), as monthly figures (annual terms amortized).
//!
//! Every figure is kept in full precision; a total is the sum of unrounded lines, rounded once
//! when shown, and the margin shown is the rounded revenue less the rounded cost
//! ([`crate::money::margin`]), so the printed figures add up on every line and every total.
//!
//! ```
//! use pax8_ext::margins::percent;
//! use pax8_ext::money::Decimal;
//! assert_eq!(percent(Decimal::from(200), Decimal::from(150)), Some(Decimal::from(25)));
//! assert_eq!(percent(Decimal::ZERO, Decimal::from(5)), None);
//! ```

use std::collections::{BTreeMap, HashMap};

use pax8_api::partner::types::{Pricing, Subscription};
use uuid::Uuid;

use crate::insights::{is_billing, monthly_cost, monthly_revenue, months_per_period, per_month, rate_for};
use crate::money::{Decimal, amount, exact};

/// One billing subscription's monthly figures.
#[derive(Debug, Clone, PartialEq)]
pub struct MarginLine {
    /// The subscription.
    pub subscription_id: Option<Uuid>,
    /// Its company.
    pub company_id: Option<Uuid>,
    /// Its product.
    pub product_id: Option<Uuid>,
    /// The product's name as the subscription carries it.
    pub product_name: Option<String>,
    /// Its quantity.
    pub quantity: Option<u64>,
    /// Its billing term (`Monthly`, `Annual`, ...).
    pub billing_term: Option<String>,
    /// What the customer is charged a month (the subscription's price × quantity), unrounded.
    pub revenue: Decimal,
    /// What it costs the partner a month (partner cost × quantity), unrounded.
    pub cost: Decimal,
    /// The vendor's suggested retail a month for this term and quantity; absent when the price
    /// list has no rate for them.
    pub retail: Option<Decimal>,
}

impl MarginLine {
    /// The margin to show: rounded revenue less rounded cost.
    pub fn margin(&self) -> Decimal {
        crate::money::margin(self.revenue, self.cost)
    }

    /// The margin as a percentage of revenue (see [`percent`]).
    pub fn percent(&self) -> Option<Decimal> {
        percent(self.revenue, self.cost)
    }
}

/// The margin as a percentage of revenue, from the unrounded figures, to one decimal; absent
/// when there is no revenue.
pub fn percent(revenue: Decimal, cost: Decimal) -> Option<Decimal> {
    if revenue.is_zero() {
        return None;
    }
    let ratio = revenue.checked_sub(cost)?.checked_mul(Decimal::ONE_HUNDRED)?.checked_div(revenue)?;
    Some(ratio.round_dp_with_strategy(1, rust_decimal::RoundingStrategy::MidpointAwayFromZero).normalize())
}

/// The lines of the billing subscriptions, with retail from `prices` (a product's price list by
/// product id; a product missing from it has no retail).
pub fn lines<'a>(
    subscriptions: impl IntoIterator<Item = &'a Subscription>,
    prices: &HashMap<Uuid, Vec<Pricing>>,
) -> Vec<MarginLine> {
    subscriptions
        .into_iter()
        .filter(|s| is_billing(s))
        .map(|s| {
            let term = s.billing_term.as_ref().map(|t| t.as_str().to_string());
            let retail = s.product_id.and_then(|p| prices.get(&p)).and_then(|pricing| {
                let rate = rate_for(pricing, term.as_deref()?, s.quantity.unwrap_or(0.0))?;
                Some(per_month(exact(rate.suggested_retail_price)?, amount(s.quantity), months_per_period(s)))
            });
            MarginLine {
                subscription_id: s.id,
                company_id: s.company_id,
                product_id: s.product_id,
                product_name: s.product_name.clone(),
                quantity: crate::ops::whole(s.quantity),
                billing_term: term,
                revenue: monthly_revenue(s),
                cost: monthly_cost(s),
                retail,
            }
        })
        .collect()
}

/// The sum of some lines, unrounded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MarginTotal {
    /// How many lines.
    pub subscriptions: usize,
    /// Monthly revenue.
    pub revenue: Decimal,
    /// Monthly cost.
    pub cost: Decimal,
    /// Monthly suggested retail of the lines that have one.
    pub retail: Decimal,
    /// Lines without a retail price (not in `retail`).
    pub retail_unknown: usize,
}

impl MarginTotal {
    /// Adds a line.
    pub fn add(&mut self, line: &MarginLine) {
        self.subscriptions += 1;
        self.revenue = self.revenue.saturating_add(line.revenue);
        self.cost = self.cost.saturating_add(line.cost);
        match line.retail {
            Some(retail) => self.retail = self.retail.saturating_add(retail),
            None => self.retail_unknown += 1,
        }
    }

    /// The margin to show: rounded revenue less rounded cost.
    pub fn margin(&self) -> Decimal {
        crate::money::margin(self.revenue, self.cost)
    }

    /// The margin as a percentage of revenue.
    pub fn percent(&self) -> Option<Decimal> {
        percent(self.revenue, self.cost)
    }
}

/// The lines summed by `key` (sorted by key), each group in full precision.
pub fn totals_by<K: Ord>(lines: &[MarginLine], key: impl Fn(&MarginLine) -> K) -> Vec<(K, MarginTotal)> {
    let mut groups: BTreeMap<K, MarginTotal> = BTreeMap::new();
    for line in lines {
        groups.entry(key(line)).or_default().add(line);
    }
    groups.into_iter().collect()
}

/// All the lines summed.
pub fn total(lines: &[MarginLine]) -> MarginTotal {
    let mut total = MarginTotal::default();
    for line in lines {
        total.add(line);
    }
    total
}

#[cfg(test)]
mod tests {
    use pax8_api::partner::types::{Rate, SubscriptionBillingTerm, SubscriptionStatus};

    use super::*;

    fn sub(product: u128, quantity: f64, price: f64, cost: f64, term: SubscriptionBillingTerm) -> Subscription {
        Subscription {
            id: Some(Uuid::from_u128(product * 100 + quantity as u128)),
            product_id: Some(Uuid::from_u128(product)),
            status: Some(SubscriptionStatus::Active),
            quantity: Some(quantity),
            price: Some(price),
            partner_cost: Some(cost),
            billing_term: Some(term),
            ..Default::default()
        }
    }

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn lines_carry_monthly_figures_and_retail_for_their_term_and_quantity() {
        let pricing = vec![Pricing {
            billing_term: Some("Annual".parse().unwrap()),
            rates: vec![
                Rate { start_quantity_range: Some(1.0), suggested_retail_price: Some(120.0), ..Default::default() },
                Rate { start_quantity_range: Some(10.0), suggested_retail_price: Some(96.0), ..Default::default() },
            ],
            ..Default::default()
        }];
        let prices = HashMap::from([(Uuid::from_u128(1), pricing)]);
        let subs = [
            sub(1, 12.0, 100.0, 80.0, SubscriptionBillingTerm::Annual),
            sub(1, 2.0, 110.0, 80.0, SubscriptionBillingTerm::Annual),
            sub(2, 3.0, 10.0, 7.0, SubscriptionBillingTerm::Monthly),
            Subscription {
                status: Some(SubscriptionStatus::Cancelled),
                ..sub(3, 1.0, 1.0, 1.0, SubscriptionBillingTerm::Monthly)
            },
        ];
        let lines = lines(&subs, &prices);
        assert_eq!(lines.len(), 3, "the cancelled one does not bill");
        // 12 seats a year at 100: 100 a month; the 10+ band's retail 96 × 12 / 12.
        assert_eq!((lines[0].revenue, lines[0].cost, lines[0].retail), (d("100"), d("80"), Some(d("96"))));
        assert_eq!(lines[0].percent(), Some(d("20")));
        assert_eq!(lines[1].retail, Some(d("20")), "2 seats: the first band, 120 × 2 / 12");
        assert_eq!(lines[2].retail, None, "a product missing from the price list has no retail");
        let total = total(&lines);
        assert_eq!((total.subscriptions, total.retail_unknown, total.retail), (3, 1, d("116")));
        // 100 + 110 × 2 / 12 + 30 and 80 + 80 × 2 / 12 + 21, unrounded: 22.92% of the price.
        let cents = crate::money::cents;
        assert_eq!((cents(total.revenue), cents(total.cost)), (d("148.33"), d("114.33")));
        assert_eq!(total.percent(), Some(d("22.9")));
        assert_eq!(MarginTotal::default().percent(), None);
        let by_product = totals_by(&lines, |l| l.product_id);
        assert_eq!(by_product.len(), 2);
        assert_eq!(by_product[0].1.subscriptions, 2);
    }

    #[test]
    fn printed_revenue_less_printed_cost_is_the_printed_margin() {
        // Thirds of a cent: each line rounds one way, the unrounded difference another.
        let subs = [
            sub(1, 1.0, 0.006, 0.004, SubscriptionBillingTerm::Monthly),
            sub(2, 1.0, 2532.304, 1899.234, SubscriptionBillingTerm::Monthly),
            sub(3, 3.0, 0.58, 0.0, SubscriptionBillingTerm::Annual),
        ];
        let lines = lines(&subs, &HashMap::new());
        let cents = crate::money::cents;
        for line in &lines {
            assert_eq!(cents(line.revenue) - cents(line.cost), line.margin());
        }
        assert_eq!(lines[0].margin(), d("0.01"), "0.01 − 0.00, where the unrounded 0.002 rounds to 0.00");
        assert_eq!(lines[1].margin(), d("633.07"));
        let total = total(&lines);
        assert_eq!(cents(total.revenue) - cents(total.cost), total.margin());
        assert_eq!(cents(total.revenue), d("2532.46"), "0.006 + 2532.304 + 0.145, rounded once");
        assert_eq!(percent(d("3"), d("2")), Some(d("33.3")));
        assert_eq!(percent(d("3"), d("4")), Some(d("-33.3")));
    }
}
