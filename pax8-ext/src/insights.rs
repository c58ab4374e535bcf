//! Answers the API does not give, computed from raw data: renewals, recurring revenue, invoice
//! reconciliation. Pure functions over the generated types, so the CLI, agent tools and reports
//! share one arithmetic.
//!
//! Money conventions: a subscription's `price` (customer) and `partnerCost` (partner) are per unit
//! per billing period; annual terms (and 2- and 3-year terms) are amortized to a monthly figure.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use pax8_api::partner::types::{InvoiceItem, Pricing, Rate, Subscription, SubscriptionStatus};
use uuid::Uuid;

/// Months a billing term covers (1 for monthly and unknown terms).
pub fn months_for_term(term: &str) -> f64 {
    match term {
        "Annual" => 12.0,
        "2-Year" => 24.0,
        "3-Year" => 36.0,
        _ => 1.0,
    }
}

/// Months one billing period of a subscription covers.
pub fn months_per_period(sub: &Subscription) -> f64 {
    sub.billing_term.as_ref().map_or(1.0, |t| months_for_term(t.as_str()))
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
pub fn monthly_revenue(sub: &Subscription) -> f64 {
    sub.price.unwrap_or(0.0) * sub.quantity.unwrap_or(0.0) / months_per_period(sub)
}

/// Monthly cost (partner cost) of a subscription.
pub fn monthly_cost(sub: &Subscription) -> f64 {
    sub.partner_cost.unwrap_or(0.0) * sub.quantity.unwrap_or(0.0) / months_per_period(sub)
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
    pub monthly_revenue: f64,
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
    pub revenue: f64,
    /// Monthly partner cost.
    pub cost: f64,
}

impl Recurring {
    /// Revenue minus cost.
    pub fn margin(&self) -> f64 {
        self.revenue - self.cost
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
        g.revenue += monthly_revenue(s);
        g.cost += monthly_cost(s);
    }
    let mut out: Vec<(K, Recurring)> = groups.into_iter().collect();
    out.sort_by(|a, b| b.1.revenue.partial_cmp(&a.1.revenue).unwrap_or(std::cmp::Ordering::Equal).then(a.0.cmp(&b.0)));
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
        invoiced: f64,
        /// Quantity on the subscription.
        current: f64,
        /// (invoiced - current) × unit cost.
        amount: f64,
    },
    /// Invoiced at another unit cost than the subscription's.
    Price {
        /// The subscription.
        subscription: Uuid,
        /// Unit cost invoiced.
        invoiced: f64,
        /// Monthly unit cost on the subscription (amortized for long terms).
        current: f64,
        /// (invoiced - current) × quantity.
        amount: f64,
    },
    /// An invoice item that matches no subscription.
    ItemWithoutSubscription {
        /// The item id.
        item: Option<Uuid>,
        /// What it charges.
        amount: f64,
    },
    /// A billing subscription the invoice does not charge.
    SubscriptionWithoutCharge {
        /// The subscription.
        subscription: Uuid,
        /// Its monthly cost.
        amount: f64,
    },
}

impl Discrepancy {
    /// The money at stake (positive: charged more than expected).
    pub fn amount(&self) -> f64 {
        match self {
            Discrepancy::Quantity { amount, .. }
            | Discrepancy::Price { amount, .. }
            | Discrepancy::ItemWithoutSubscription { amount, .. } => *amount,
            Discrepancy::SubscriptionWithoutCharge { amount, .. } => -*amount,
        }
    }
}

/// Compares invoice items with billing subscriptions (usage-based items, whose quantity is not a
/// seat count, are compared by presence only). `tolerance` absorbs rounding (e.g. 0.005).
pub fn reconcile(
    items: &[InvoiceItem],
    subs: &[Subscription],
    usage_based: &HashSet<Uuid>,
    tolerance: f64,
) -> Vec<Discrepancy> {
    let by_id: HashMap<Uuid, &Subscription> = subs.iter().filter_map(|s| Some((s.id?, s))).collect();
    let mut charged = HashSet::new();
    let mut out = Vec::new();
    for item in items {
        let Some(sub) = item.subscription_id.and_then(|id| by_id.get(&id)) else {
            out.push(Discrepancy::ItemWithoutSubscription { item: item.id, amount: item.cost_total.unwrap_or(0.0) });
            continue;
        };
        let id = sub.id.expect("indexed by id");
        charged.insert(id);
        if sub.product_id.is_some_and(|p| usage_based.contains(&p)) {
            continue;
        }
        let invoiced_qty = item.quantity.unwrap_or(0.0);
        let current_qty = sub.quantity.unwrap_or(0.0);
        let unit_cost = item.cost.unwrap_or(0.0);
        if (invoiced_qty - current_qty).abs() > tolerance {
            out.push(Discrepancy::Quantity {
                subscription: id,
                invoiced: invoiced_qty,
                current: current_qty,
                amount: (invoiced_qty - current_qty) * unit_cost,
            });
        }
        // Long terms are invoiced monthly at their amortized unit cost.
        let current_cost = sub.partner_cost.unwrap_or(0.0) / months_per_period(sub);
        if (unit_cost - current_cost).abs() > tolerance {
            out.push(Discrepancy::Price {
                subscription: id,
                invoiced: unit_cost,
                current: current_cost,
                amount: (unit_cost - current_cost) * invoiced_qty,
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
        assert_eq!(monthly_revenue(&sub(1, "Annual", 10.0, 120.0, 96.0, "Active", None)), 100.0);
        assert_eq!(monthly_cost(&sub(1, "Annual", 10.0, 120.0, 96.0, "Active", None)), 80.0);
        assert_eq!(monthly_revenue(&sub(2, "Monthly", 5.0, 20.0, 15.0, "Active", None)), 100.0);
        assert_eq!(monthly_revenue(&sub(3, "3-Year", 3.0, 360.0, 0.0, "Active", None)), 30.0);
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
        assert_eq!(r.iter().map(|x| x.monthly_revenue).sum::<f64>(), 100.0 + 100.0);
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
        assert_eq!(groups[0], ("A", Recurring { subscriptions: 2, revenue: 250.0, cost: 180.0 }));
        assert_eq!(groups[1], ("B", Recurring { subscriptions: 1, revenue: 100.0, cost: 60.0 }));
        assert_eq!(groups[0].1.margin(), 70.0);
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
        let d = reconcile(&items, &subs, &HashSet::new(), 0.005);
        assert_eq!(d.len(), 4, "{d:?}");
        assert!(matches!(d[0], Discrepancy::Quantity { invoiced: 12.0, current: 10.0, amount: 18.0, .. }));
        assert!(matches!(d[1], Discrepancy::Price { invoiced: 10.0, current: 9.0, amount: 5.0, .. }));
        assert!(matches!(d[2], Discrepancy::ItemWithoutSubscription { amount: 42.0, .. }));
        assert!(matches!(d[3], Discrepancy::SubscriptionWithoutCharge { amount: 30.0, .. }));
        assert_eq!(d.iter().map(Discrepancy::amount).sum::<f64>(), 18.0 + 5.0 + 42.0 - 30.0);
    }
}
