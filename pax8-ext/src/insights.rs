//! Answers the API does not give, computed from raw data: renewals, recurring revenue, invoice
//! reconciliation. Pure functions over the generated types, so the CLI, agent tools and reports
//! share one arithmetic.
//!
//! Money conventions: a subscription's `price` (customer) and `partnerCost` (partner) are per unit
//! per billing period; annual terms (and 2- and 3-year terms) are amortized to a monthly figure.
//! Every amount is a [`Decimal`] (see [`crate::money`]), unrounded: round
//! with [`crate::money::cents`] when showing it.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use pax8_api::partner::types::{InvoiceItem, Pricing, Rate, Subscription, SubscriptionStatus};
use uuid::Uuid;

use crate::money::{Decimal, amount};

/// Months a billing term covers (1 for monthly and unknown terms).
pub fn months_for_term(term: &str) -> u32 {
    match term {
        "Annual" => 12,
        "2-Year" => 24,
        "3-Year" => 36,
        _ => 1,
    }
}

/// Months one billing period of a subscription covers.
pub fn months_per_period(sub: &Subscription) -> u32 {
    sub.billing_term.as_ref().map_or(1, |t| months_for_term(t.as_str()))
}

/// A per-period amount for `quantity` units as a monthly figure.
pub fn per_month(unit: Decimal, quantity: Decimal, months: u32) -> Decimal {
    unit.saturating_mul(quantity) / Decimal::from(months.max(1))
}

/// The rate that applies to `quantity` units on `term` (the highest band starting at or below it).
pub fn rate_for<'a>(pricing: &'a [Pricing], term: &str, quantity: f64) -> Option<&'a Rate> {
    pricing
        .iter()
        .find(|p| p.billing_term.as_ref().is_some_and(|t| t.as_str().eq_ignore_ascii_case(term)))
        .and_then(|p| p.rates.iter().rev().find(|r| r.start_quantity_range.unwrap_or(0.0) <= quantity))
}

/// Whether a subscription bills (active, or waiting on provisioning).
pub fn is_billing(sub: &Subscription) -> bool {
    matches!(
        sub.status,
        Some(
            SubscriptionStatus::Active
                | SubscriptionStatus::PendingManual
                | SubscriptionStatus::PendingAutomated
                | SubscriptionStatus::Activated
        )
    )
}

/// Monthly revenue (customer price) of a subscription.
pub fn monthly_revenue(sub: &Subscription) -> Decimal {
    per_month(amount(sub.price), amount(sub.quantity), months_per_period(sub))
}

/// Monthly cost (partner cost) of a subscription.
pub fn monthly_cost(sub: &Subscription) -> Decimal {
    per_month(amount(sub.partner_cost), amount(sub.quantity), months_per_period(sub))
}

/// When a subscription's commitment ends (`commitment`, or the spec's `commitmentTerm`).
pub fn commitment_end(sub: &Subscription) -> Option<DateTime<Utc>> {
    sub.commitment.as_ref().or(sub.commitment_term.as_ref()).and_then(|c| c.end_date).map(|t| t.to_utc())
}

/// A subscription whose commitment ends in the window.
#[derive(Debug, Clone, PartialEq)]
pub struct Renewal {
    /// When the commitment ends.
    pub ends: DateTime<Utc>,
    /// Monthly revenue at risk if it is not renewed.
    pub monthly_revenue: Decimal,
    /// The subscription.
    pub subscription: Subscription,
}

/// Billing subscriptions whose commitment ends between `now` and `now + days`, soonest first.
pub fn renewals<'a>(subs: impl IntoIterator<Item = &'a Subscription>, now: DateTime<Utc>, days: i64) -> Vec<Renewal> {
    let until = now + chrono::Duration::days(days);
    let mut out: Vec<Renewal> = subs
        .into_iter()
        .filter(|s| is_billing(s))
        .filter_map(|s| {
            let ends = commitment_end(s)?;
            (ends >= now && ends <= until).then(|| Renewal {
                ends,
                monthly_revenue: monthly_revenue(s),
                subscription: s.clone(),
            })
        })
        .collect();
    out.sort_by(|a, b| a.ends.cmp(&b.ends).then(a.subscription.id.cmp(&b.subscription.id)));
    out
}

/// Monthly recurring figures of one group.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Recurring {
    /// Billing subscriptions.
    pub subscriptions: usize,
    /// Monthly revenue (suggested retail / customer price).
    pub revenue: Decimal,
    /// Monthly partner cost.
    pub cost: Decimal,
}

impl Recurring {
    /// Revenue minus cost.
    pub fn margin(&self) -> Decimal {
        self.revenue.saturating_sub(self.cost)
    }
}

/// Monthly recurring revenue and cost of billing subscriptions grouped by `key` (company name,
/// vendor, product...), largest revenue first.
pub fn mrr_by<'a, K: Ord + Clone>(
    subs: impl IntoIterator<Item = &'a Subscription>,
    key: impl Fn(&Subscription) -> K,
) -> Vec<(K, Recurring)> {
    let mut groups: BTreeMap<K, Recurring> = BTreeMap::new();
    for s in subs.into_iter().filter(|s| is_billing(s)) {
        let g = groups.entry(key(s)).or_default();
        g.subscriptions += 1;
        g.revenue = g.revenue.saturating_add(monthly_revenue(s));
        g.cost = g.cost.saturating_add(monthly_cost(s));
    }
    let mut out: Vec<(K, Recurring)> = groups.into_iter().collect();
    out.sort_by(|a, b| b.1.revenue.cmp(&a.1.revenue).then(a.0.cmp(&b.0)));
    out
}

/// One disagreement between an invoice and the subscriptions.
#[derive(Debug, Clone, PartialEq)]
pub enum Discrepancy {
    /// Invoiced for another quantity than the subscription has.
    Quantity {
        /// The subscription.
        subscription: Uuid,
        /// Quantity invoiced.
        invoiced: Decimal,
        /// Quantity on the subscription.
        current: Decimal,
        /// (invoiced - current) × unit cost.
        amount: Decimal,
    },
    /// Invoiced at another unit cost than the subscription's.
    Price {
        /// The subscription.
        subscription: Uuid,
        /// Unit cost invoiced.
        invoiced: Decimal,
        /// Monthly unit cost on the subscription (amortized for long terms).
        current: Decimal,
        /// (invoiced - current) × quantity.
        amount: Decimal,
    },
    /// An invoice item that matches no subscription.
    ItemWithoutSubscription {
        /// The item id.
        item: Option<Uuid>,
        /// What it charges.
        amount: Decimal,
    },
    /// A billing subscription the invoice does not charge.
    SubscriptionWithoutCharge {
        /// The subscription.
        subscription: Uuid,
        /// Its monthly cost.
        amount: Decimal,
    },
}

impl Discrepancy {
    /// The money at stake (positive: charged more than expected).
    pub fn amount(&self) -> Decimal {
        match self {
            Discrepancy::Quantity { amount, .. }
            | Discrepancy::Price { amount, .. }
            | Discrepancy::ItemWithoutSubscription { amount, .. } => *amount,
            Discrepancy::SubscriptionWithoutCharge { amount, .. } => -*amount,
        }
    }
}

/// Differences in amounts below this (half a cent) are rounding, not discrepancies.
pub const ROUNDING_TOLERANCE: Decimal = Decimal::from_parts(5, 0, 0, false, 3);

/// The products of `items` billed by usage (Azure and other metered items), whose quantity is
/// not a seat count.
pub fn usage_based(items: &[InvoiceItem]) -> HashSet<Uuid> {
    items
        .iter()
        .filter(|i| {
            i.unit_of_measure.as_deref() == Some("Usage")
                || i.product_name.as_deref().is_some_and(|n| n.contains("Azure"))
        })
        .filter_map(|i| i.product_id)
        .collect()
}

/// Compares invoice items with billing subscriptions (usage-based items, whose quantity is not a
/// seat count, are compared by presence only). `tolerance` absorbs rounding (e.g. 0.005).
pub fn reconcile(
    items: &[InvoiceItem],
    subs: &[Subscription],
    usage_based: &HashSet<Uuid>,
    tolerance: Decimal,
) -> Vec<Discrepancy> {
    let by_id: HashMap<Uuid, &Subscription> = subs.iter().filter_map(|s| Some((s.id?, s))).collect();
    let mut charged = HashSet::new();
    let mut out = Vec::new();
    for item in items {
        let Some(sub) = item.subscription_id.and_then(|id| by_id.get(&id)) else {
            out.push(Discrepancy::ItemWithoutSubscription { item: item.id, amount: amount(item.cost_total) });
            continue;
        };
        let Some(id) = sub.id else { continue }; // (indexed by id: always there)
        charged.insert(id);
        if sub.product_id.is_some_and(|p| usage_based.contains(&p)) {
            continue;
        }
        let invoiced_qty = amount(item.quantity);
        let current_qty = amount(sub.quantity);
        let unit_cost = amount(item.cost);
        if invoiced_qty.saturating_sub(current_qty).abs() > tolerance {
            out.push(Discrepancy::Quantity {
                subscription: id,
                invoiced: invoiced_qty,
                current: current_qty,
                amount: invoiced_qty.saturating_sub(current_qty).saturating_mul(unit_cost),
            });
        }
        // Long terms are invoiced monthly at their amortized unit cost.
        let current_cost = per_month(amount(sub.partner_cost), Decimal::ONE, months_per_period(sub));
        if unit_cost.saturating_sub(current_cost).abs() > tolerance {
            out.push(Discrepancy::Price {
                subscription: id,
                invoiced: unit_cost,
                current: current_cost,
                amount: unit_cost.saturating_sub(current_cost).saturating_mul(invoiced_qty),
            });
        }
    }
    for sub in subs.iter().filter(|s| is_billing(s)) {
        if let Some(id) = sub.id
            && !charged.contains(&id)
        {
            out.push(Discrepancy::SubscriptionWithoutCharge { subscription: id, amount: monthly_cost(sub) });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sub(id: u128, term: &str, qty: f64, price: f64, cost: f64, status: &str, ends: Option<&str>) -> Subscription {
        let mut v = json!({"id": Uuid::from_u128(id), "productId": Uuid::from_u128(1000 + id), "billingTerm": term,
            "quantity": qty, "price": price, "partnerCost": cost, "status": status});
        if let Some(e) = ends {
            v["commitment"] = json!({"term": term, "endDate": e});
        }
        serde_json::from_value(v).unwrap()
    }

    fn item(sub: Option<u128>, qty: f64, cost: f64) -> InvoiceItem {
        serde_json::from_value(json!({"subscriptionId": sub.map(Uuid::from_u128), "quantity": qty, "cost": cost,
            "costTotal": qty * cost}))
        .unwrap()
    }

    #[test]
    fn monthly_figures_amortize_long_terms() {
        // 10 seats at 120/year is 100 a month; 5 at 20/month is 100 a month.
        assert_eq!(monthly_revenue(&sub(1, "Annual", 10.0, 120.0, 96.0, "Active", None)), d(100));
        assert_eq!(monthly_cost(&sub(1, "Annual", 10.0, 120.0, 96.0, "Active", None)), d(80));
        assert_eq!(monthly_revenue(&sub(2, "Monthly", 5.0, 20.0, 15.0, "Active", None)), d(100));
        assert_eq!(monthly_revenue(&sub(3, "3-Year", 3.0, 360.0, 0.0, "Active", None)), d(30));
    }

    fn d(n: i64) -> Decimal {
        Decimal::from(n)
    }

    #[test]
    fn monthly_figures_and_sums_are_exact_where_f64_is_a_cent_off() {
        // 3 seats at 0.58 a year: 0.145 a month, 0.15 in cents (f64: 0.14499..., 0.14).
        let small = sub(1, "Annual", 3.0, 0.58, 0.42, "Active", None);
        assert_eq!(crate::money::cents(monthly_revenue(&small)).to_string(), "0.15");
        let float = 0.58 * 3.0 / 12.0;
        assert_eq!((float * 100.0_f64).round() / 100.0, 0.14, "the f64 figure a report showed");
        // Ten of them: 1.45 exactly; the same sum in f64 rounds each or drifts.
        let subs: Vec<Subscription> = (0..10).map(|i| sub(i, "Annual", 3.0, 0.58, 0.42, "Active", None)).collect();
        let groups = mrr_by(&subs, |_| "all");
        assert_eq!(groups[0].1.revenue.normalize().to_string(), "1.45");
        assert_eq!(crate::money::cents(groups[0].1.margin()).to_string(), "0.40");
        let float_sum: f64 = (0..10).map(|_| ((0.58 * 3.0 / 12.0) * 100.0_f64).round() / 100.0).sum();
        assert!((float_sum - 1.40).abs() < 1e-9, "rounding each f64 figure loses five cents: {float_sum}");
    }

    #[test]
    fn renewals_in_the_window_soonest_first() {
        let now = "2026-11-23T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let subs = [
            sub(1, "Annual", 10.0, 120.0, 96.0, "Active", Some("2026-12-20T00:00:00Z")),
            sub(2, "Annual", 1.0, 1200.0, 960.0, "Active", Some("2026-12-01T00:00:00Z")),
            sub(3, "Annual", 1.0, 1200.0, 960.0, "Active", Some("2027-02-01T00:00:00Z")), // outside
            sub(4, "Annual", 1.0, 1200.0, 960.0, "Cancelled", Some("2026-12-02T00:00:00Z")), // not billing
            sub(5, "Monthly", 1.0, 10.0, 8.0, "Active", None),                            // no commitment
        ];
        let r = renewals(&subs, now, 30);
        let ids: Vec<u128> = r.iter().map(|x| x.subscription.id.unwrap().as_u128()).collect();
        assert_eq!(ids, [2, 1]);
        assert_eq!(r.iter().map(|x| x.monthly_revenue).sum::<Decimal>(), d(200));
    }

    #[test]
    fn mrr_groups_and_orders_by_revenue() {
        let subs = [
            sub(1, "Monthly", 10.0, 10.0, 8.0, "Active", None),  // A: 100 / 80
            sub(2, "Annual", 12.0, 100.0, 60.0, "Active", None), // B: 100 / 60
            sub(3, "Monthly", 5.0, 30.0, 20.0, "Active", None),  // A: 150 / 100
            sub(4, "Monthly", 99.0, 99.0, 99.0, "Cancelled", None),
        ];
        let groups = mrr_by(&subs, |s| if s.id.unwrap().as_u128() == 2 { "B" } else { "A" });
        assert_eq!(groups[0], ("A", Recurring { subscriptions: 2, revenue: d(250), cost: d(180) }));
        assert_eq!(groups[1], ("B", Recurring { subscriptions: 1, revenue: d(100), cost: d(60) }));
        assert_eq!(groups[0].1.margin(), d(70));
    }

    #[test]
    fn reconcile_finds_each_kind_with_the_amount_at_stake() {
        let subs = [
            sub(1, "Monthly", 10.0, 12.0, 9.0, "Active", None), // invoiced 12 seats: +2 × 9 = 18
            sub(2, "Monthly", 5.0, 12.0, 9.0, "Active", None),  // invoiced at 10 instead of 9: +1 × 5 = 5
            sub(3, "Monthly", 4.0, 12.0, 7.5, "Active", None),  // not invoiced: -30
            sub(4, "Annual", 4.0, 144.0, 90.0, "Active", None), // matches: 90/year is 7.5 a month
        ];
        let items =
            [item(Some(1), 12.0, 9.0), item(Some(2), 5.0, 10.0), item(None, 1.0, 42.0), item(Some(4), 4.0, 7.5)];
        let found = reconcile(&items, &subs, &HashSet::new(), Decimal::new(5, 3));
        assert_eq!(found.len(), 4, "{found:?}");
        assert_eq!(
            found[0],
            Discrepancy::Quantity { subscription: Uuid::from_u128(1), invoiced: d(12), current: d(10), amount: d(18) }
        );
        assert_eq!(
            found[1],
            Discrepancy::Price { subscription: Uuid::from_u128(2), invoiced: d(10), current: d(9), amount: d(5) }
        );
        assert!(matches!(&found[2], Discrepancy::ItemWithoutSubscription { amount, .. } if *amount == d(42)));
        assert!(matches!(&found[3], Discrepancy::SubscriptionWithoutCharge { amount, .. } if *amount == d(30)));
        assert_eq!(found.iter().map(Discrepancy::amount).sum::<Decimal>(), d(18 + 5 + 42 - 30));
    }

    #[test]
    fn absurd_amounts_saturate_instead_of_overflowing() {
        let huge: Subscription = serde_json::from_value(serde_json::json!({
            "id": "00000000-0000-0000-0000-000000000001", "status": "Active", "quantity": 1e25,
            "price": 1e25, "partnerCost": 1e25, "billingTerm": "Monthly"}))
        .unwrap();
        assert!(monthly_revenue(&huge) > Decimal::from(1_000_000_000_000i64));
        let groups = mrr_by([&huge, &huge], |_| "all");
        assert_eq!(groups[0].1.subscriptions, 2);
        let item: InvoiceItem = serde_json::from_value(serde_json::json!({
            "subscriptionId": "00000000-0000-0000-0000-000000000001", "quantity": -1e25, "cost": -1e25}))
        .unwrap();
        assert!(!reconcile(&[item], std::slice::from_ref(&huge), &HashSet::new(), ROUNDING_TOLERANCE).is_empty());
    }
}
