//! Invoice audit: each item checked against what the subscription was during the billing period
//! (the mirror's snapshots), the price list, the previous invoice and the other items; and the
//! billing subscriptions the invoice does not charge. **Never a false all-clear**: whatever
//! cannot be checked (no snapshot, an item without a subscription, a product missing from the
//! price list, no earlier invoice) is listed and counted, and the verdict is `clean` only when
//! every check ran and found nothing.

use std::collections::{HashMap, HashSet};

use pax8_api::partner::types::{InvoiceItem, Pricing, Subscription, SubscriptionStatus};
use serde::Serialize;
use uuid::Uuid;

use crate::insights::{is_billing, monthly_cost, months_for_term, rate_for};
use crate::money::{Decimal, amount, cents, exact};

mod gather;

pub use gather::Gathered;

/// What the audit reads.
#[derive(Debug, Clone, Copy)]
pub struct AuditInput<'a> {
    /// The invoice's items.
    pub items: &'a [InvoiceItem],
    /// The previous invoice's items; `None` when there is no earlier invoice.
    pub previous_items: Option<&'a [InvoiceItem]>,
    /// The subscriptions of the companies audited.
    pub subscriptions: &'a [Subscription],
    /// The quantities the mirror saw for each subscription during the billing period; `None`
    /// without a mirror.
    pub quantities: Option<&'a HashMap<Uuid, Vec<u64>>>,
    /// Price lists by product.
    pub prices: &'a HashMap<Uuid, Vec<Pricing>>,
    /// Products billed by usage (their quantity is not a seat count).
    pub usage_based: &'a HashSet<Uuid>,
}

/// Something billed that does not match.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// `quantity`, `price_list`, `price_change`, `cancelled`, `duplicate` or `not_billed`.
    pub kind: &'static str,
    /// The item, when one is concerned.
    pub item_id: Option<Uuid>,
    /// The subscription.
    pub subscription_id: Option<Uuid>,
    /// What it is worth: positive when the invoice bills more than it should.
    #[serde(with = "rust_decimal::serde::float")]
    pub amount: Decimal,
    /// What was compared.
    pub evidence: String,
}

/// A check that could not be made, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unchecked {
    /// `subscription`, `quantity`, `price_list` or `previous_invoice`.
    pub check: &'static str,
    /// The item concerned (none for the whole invoice).
    pub item_id: Option<Uuid>,
    /// Why it could not be made.
    pub why: String,
}

/// The verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every check ran; nothing found.
    Clean,
    /// Something does not match (whatever could not be checked is listed too).
    Findings,
    /// Nothing found, but some checks could not be made: not an all-clear.
    Incomplete,
}

/// What the audit found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Audit {
    /// Clean, findings or incomplete.
    pub verdict: Verdict,
    /// Items read.
    pub items: usize,
    /// Each finding with its amount and evidence.
    pub findings: Vec<Finding>,
    /// Each check that could not be made.
    pub unchecked: Vec<Unchecked>,
    /// The findings' amounts summed, rounded once.
    #[serde(with = "rust_decimal::serde::float")]
    pub net: Decimal,
}

/// Differences below this are rounding.
const TOLERANCE: Decimal = crate::insights::ROUNDING_TOLERANCE;

/// Audits the items of one invoice.
pub fn audit(input: AuditInput<'_>) -> Audit {
    let subs: HashMap<Uuid, &Subscription> = input.subscriptions.iter().filter_map(|s| Some((s.id?, s))).collect();
    let mut findings = Vec::new();
    let mut unchecked = Vec::new();
    let mut billed: HashSet<Uuid> = HashSet::new();
    let mut seen_lines: HashSet<(Uuid, String, String)> = HashSet::new();
    if input.previous_items.is_none() {
        unchecked.push(Unchecked {
            check: "previous_invoice",
            item_id: None,
            why: "no earlier invoice: prices are not compared with the last one".into(),
        });
    }
    let previous: HashMap<Uuid, &InvoiceItem> =
        input.previous_items.unwrap_or_default().iter().filter_map(|i| Some((i.subscription_id?, i))).collect();
    for item in input.items {
        let Some(sub_id) = item.subscription_id else {
            unchecked.push(Unchecked {
                check: "subscription",
                item_id: item.id,
                why: "the item names no subscription".into(),
            });
            continue;
        };
        billed.insert(sub_id);
        let Some(sub) = subs.get(&sub_id) else {
            let why = format!("subscription {sub_id} is not among the companies' subscriptions");
            unchecked.push(Unchecked { check: "subscription", item_id: item.id, why });
            continue;
        };
        let quantity = amount(item.quantity);
        let unit = amount(item.cost);
        let period = |d: Option<pax8_api::Date>| d.map(|d| d.to_string()).unwrap_or_default();
        if !seen_lines.insert((sub_id, period(item.start_period), period(item.end_period))) {
            findings.push(Finding {
                kind: "duplicate",
                item_id: item.id,
                subscription_id: Some(sub_id),
                amount: amount(item.cost_total),
                evidence: format!(
                    "a second item for this subscription and period {} to {}",
                    period(item.start_period),
                    period(item.end_period)
                ),
            });
            continue;
        }
        if sub.status == Some(SubscriptionStatus::Cancelled)
            && let (Some(ended), Some(start)) = (sub.end_date, item.start_period)
            && ended.date() < start
        {
            findings.push(Finding {
                kind: "cancelled",
                item_id: item.id,
                subscription_id: Some(sub_id),
                amount: amount(item.cost_total),
                evidence: format!("the subscription ended on {} and is billed from {start}", ended.date()),
            });
            continue;
        }
        let usage = sub.product_id.is_some_and(|p| input.usage_based.contains(&p));
        if usage {
            unchecked.push(Unchecked {
                check: "quantity",
                item_id: item.id,
                why: "billed by usage: its quantity is not a seat count".into(),
            });
        } else {
            match input.quantities.map(|q| q.get(&sub_id)) {
                None => unchecked.push(Unchecked {
                    check: "quantity",
                    item_id: item.id,
                    why: "no mirror: the subscription's quantity over the period is unknown (give --db)".into(),
                }),
                Some(None) => unchecked.push(Unchecked {
                    check: "quantity",
                    item_id: item.id,
                    why: "the mirror has no snapshot of this subscription in the billing period".into(),
                }),
                Some(Some(seen)) if seen.is_empty() => unchecked.push(Unchecked {
                    check: "quantity",
                    item_id: item.id,
                    why: "the mirror has no snapshot of this subscription in the billing period".into(),
                }),
                Some(Some(seen)) => {
                    let most = seen.iter().copied().max().unwrap_or(0);
                    if !seen.iter().any(|q| Decimal::from(*q) == quantity) {
                        findings.push(Finding {
                            kind: "quantity",
                            item_id: item.id,
                            subscription_id: Some(sub_id),
                            amount: quantity.saturating_sub(Decimal::from(most)).saturating_mul(unit),
                            evidence: format!("billed {quantity}; the mirror saw {seen:?} during the period"),
                        });
                    }
                }
            }
            let term = sub.billing_term.as_ref().map(|t| t.as_str().to_string()).unwrap_or_default();
            let listed = sub.product_id.and_then(|p| input.prices.get(&p));
            let rate = listed.and_then(|pricing| rate_for(pricing, &term, item.quantity.unwrap_or(0.0)));
            match rate.and_then(|r| exact(r.partner_buy_rate)) {
                None => unchecked.push(Unchecked {
                    check: "price_list",
                    item_id: item.id,
                    why: if listed.is_none() {
                        "the product is not in the price list".into()
                    } else {
                        format!("the price list has no partner rate for {term} at quantity {quantity}")
                    },
                }),
                Some(rate) => {
                    let expected = rate / Decimal::from(months_for_term(&term).max(1));
                    if unit.saturating_sub(expected).abs() > TOLERANCE {
                        findings.push(Finding {
                            kind: "price_list",
                            item_id: item.id,
                            subscription_id: Some(sub_id),
                            amount: unit.saturating_sub(expected).saturating_mul(quantity),
                            evidence: format!("billed {unit} a unit; the price list says {} ({term})", cents(expected)),
                        });
                    }
                }
            }
        }
        if let Some(before) = previous.get(&sub_id) {
            let was = amount(before.cost);
            if unit.saturating_sub(was).abs() > TOLERANCE {
                findings.push(Finding {
                    kind: "price_change",
                    item_id: item.id,
                    subscription_id: Some(sub_id),
                    amount: unit.saturating_sub(was).saturating_mul(quantity),
                    evidence: format!("billed {unit} a unit; the previous invoice billed {was}"),
                });
            }
        }
    }
    // A subscription that started after the billing period could not be billed in it.
    let period_end = input.items.iter().filter_map(|i| i.end_period).max();
    let started_in_time = |s: &Subscription| match (s.start_date, period_end) {
        (Some(start), Some(end)) => start.date() <= end,
        _ => true,
    };
    for sub in input.subscriptions.iter().filter(|s| is_billing(s) && started_in_time(s)) {
        if let Some(id) = sub.id
            && !billed.contains(&id)
        {
            findings.push(Finding {
                kind: "not_billed",
                item_id: None,
                subscription_id: Some(id),
                amount: -monthly_cost(sub),
                evidence: "a billing subscription with no item on this invoice".into(),
            });
        }
    }
    let verdict = match (findings.is_empty(), unchecked.is_empty()) {
        (true, true) => Verdict::Clean,
        (false, _) => Verdict::Findings,
        (true, false) => Verdict::Incomplete,
    };
    let net = cents(findings.iter().fold(Decimal::ZERO, |sum, f| sum.saturating_add(f.amount)));
    Audit { verdict, items: input.items.len(), findings, unchecked, net }
}

#[cfg(test)]
mod tests {
    use pax8_api::partner::types::{Rate, SubscriptionBillingTerm};

    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn sub(n: u128, quantity: f64) -> Subscription {
        Subscription {
            id: Some(id(n)),
            product_id: Some(id(100 + n)),
            status: Some(SubscriptionStatus::Active),
            quantity: Some(quantity),
            partner_cost: Some(8.0),
            billing_term: Some(SubscriptionBillingTerm::Monthly),
            ..Default::default()
        }
    }

    fn item(n: u128, sub: u128, quantity: f64, cost: f64) -> InvoiceItem {
        InvoiceItem {
            id: Some(id(1000 + n)),
            subscription_id: Some(id(sub)),
            quantity: Some(quantity),
            cost: Some(cost),
            cost_total: Some(quantity * cost),
            start_period: Some("2026-11-01".parse().unwrap()),
            end_period: Some("2026-11-30".parse().unwrap()),
            ..Default::default()
        }
    }

    fn prices(subs: &[u128], rate: f64) -> HashMap<Uuid, Vec<Pricing>> {
        subs.iter()
            .map(|n| {
                let pricing = Pricing {
                    billing_term: Some("Monthly".parse().unwrap()),
                    rates: vec![Rate {
                        start_quantity_range: Some(1.0),
                        partner_buy_rate: Some(rate),
                        ..Default::default()
                    }],
                    ..Default::default()
                };
                (id(100 + n), vec![pricing])
            })
            .collect()
    }

    #[test]
    fn a_matching_invoice_with_every_check_made_is_clean() {
        let subs = [sub(1, 5.0), sub(2, 3.0)];
        let items = [item(1, 1, 5.0, 8.0), item(2, 2, 3.0, 8.0)];
        let quantities = HashMap::from([(id(1), vec![5]), (id(2), vec![2, 3])]);
        let input = AuditInput {
            items: &items,
            previous_items: Some(&items),
            subscriptions: &subs,
            quantities: Some(&quantities),
            prices: &prices(&[1, 2], 8.0),
            usage_based: &HashSet::new(),
        };
        let audit = audit(input);
        assert_eq!((audit.verdict, audit.findings.len(), audit.unchecked.len()), (Verdict::Clean, 0, 0), "{audit:?}");
        // The same invoice without a mirror, a price list or a previous invoice is not clean.
        let bare =
            super::audit(AuditInput { previous_items: None, quantities: None, prices: &HashMap::new(), ..input });
        assert_eq!(bare.verdict, Verdict::Incomplete);
        let checks: Vec<&str> = bare.unchecked.iter().map(|u| u.check).collect();
        assert_eq!(checks, ["previous_invoice", "quantity", "price_list", "quantity", "price_list"]);
    }

    #[test]
    fn each_discrepancy_is_found_with_its_amount() {
        let mut cancelled = sub(4, 2.0);
        cancelled.status = Some(SubscriptionStatus::Cancelled);
        cancelled.end_date = Some("2026-10-15T00:00:00Z".parse().unwrap());
        let later = Subscription { start_date: Some("2026-12-02T00:00:00Z".parse().unwrap()), ..sub(6, 1.0) };
        let subs = [sub(1, 5.0), sub(2, 3.0), sub(3, 1.0), cancelled, sub(5, 4.0), later];
        let previous = [item(9, 2, 3.0, 7.0)];
        let items = [
            item(1, 1, 6.0, 8.0), // one seat more than the mirror ever saw
            item(2, 2, 3.0, 9.0), // a unit price off the price list, and changed since last time
            item(3, 3, 1.0, 8.0), // fine
            item(4, 3, 1.0, 8.0), // the same line twice
            item(5, 4, 2.0, 8.0), // a cancelled subscription billed
            InvoiceItem { subscription_id: None, ..item(6, 0, 1.0, 1.0) },
        ];
        let quantities = HashMap::from([(id(1), vec![5]), (id(2), vec![3]), (id(3), vec![1]), (id(4), vec![2])]);
        let audit = audit(AuditInput {
            items: &items,
            previous_items: Some(&previous),
            subscriptions: &subs,
            quantities: Some(&quantities),
            prices: &prices(&[1, 2, 3, 4], 8.0),
            usage_based: &HashSet::new(),
        });
        assert_eq!(audit.verdict, Verdict::Findings);
        let found: Vec<(&str, Option<Uuid>, Decimal)> =
            audit.findings.iter().map(|f| (f.kind, f.subscription_id, f.amount)).collect();
        let d = |n: i64| Decimal::from(n);
        assert_eq!(
            found,
            [
                ("quantity", Some(id(1)), d(8)),
                ("price_list", Some(id(2)), d(3)),
                ("price_change", Some(id(2)), d(6)),
                ("duplicate", Some(id(3)), d(8)),
                ("cancelled", Some(id(4)), d(16)),
                ("not_billed", Some(id(5)), d(-32)),
            ]
        );
        assert_eq!(audit.net, d(9));
        assert_eq!(audit.unchecked.len(), 1, "the item without a subscription: {:?}", audit.unchecked);
        assert_eq!(audit.unchecked[0].check, "subscription");
    }
    #[test]
    fn the_edges_of_each_check() {
        // Annual: the price list's yearly rate is compared a month at a time (96 / 12 = 8).
        let annual = Subscription { billing_term: Some(SubscriptionBillingTerm::Annual), ..sub(1, 2.0) };
        let mut yearly = prices(&[1], 96.0);
        yearly.get_mut(&id(101)).unwrap()[0].billing_term = Some("Annual".parse().unwrap());
        // A cancellation on the period's first day is not "billed after it ended"; a difference
        // of exactly the rounding tolerance is no finding.
        let mut ended = sub(2, 1.0);
        ended.status = Some(SubscriptionStatus::Cancelled);
        ended.end_date = Some("2026-11-01T00:00:00Z".parse().unwrap());
        let items = [item(1, 1, 2.0, 8.005), item(2, 2, 1.0, 8.0)];
        let previous = [item(8, 1, 2.0, 8.0)];
        let quantities = HashMap::from([(id(1), vec![2]), (id(2), vec![])]);
        let mut lists = prices(&[2], 8.0);
        lists.extend(yearly);
        let audit = audit(AuditInput {
            items: &items,
            previous_items: Some(&previous),
            subscriptions: &[annual, ended],
            quantities: Some(&quantities),
            prices: &lists,
            usage_based: &HashSet::new(),
        });
        assert!(audit.findings.is_empty(), "{:?}", audit.findings);
        // An empty list of snapshots is no evidence: the quantity is not checked.
        assert_eq!(audit.unchecked.len(), 1);
        assert_eq!((audit.unchecked[0].check, audit.unchecked[0].item_id), ("quantity", Some(id(1002))));
        assert_eq!(audit.verdict, Verdict::Incomplete);
    }

    #[test]
    fn the_period_is_the_items_first_start_and_last_end() {
        let mut late = item(2, 1, 1.0, 1.0);
        late.start_period = Some("2026-11-15".parse().unwrap());
        late.end_period = Some("2026-12-14".parse().unwrap());
        let gathered = Gathered {
            invoice_id: id(1),
            items: vec![item(1, 1, 1.0, 1.0), late],
            previous_items: None,
            subscriptions: Vec::new(),
            prices: HashMap::new(),
            usage_based: HashSet::new(),
        };
        let day = |d: &str| d.parse::<chrono::NaiveDate>().unwrap();
        assert_eq!(gathered.period(), Some((day("2026-11-01"), day("2026-12-14"))));
        assert_eq!(Gathered { items: Vec::new(), ..gathered }.period(), None);
    }

    #[test]
    fn absurd_numbers_do_not_overflow() {
        let subs = [sub(1, 1e20)];
        let items = [item(1, 1, 1e25, 1e25), item(2, 1, -1e25, 1e25)];
        let previous = [item(3, 1, 1.0, -1e25)];
        let quantities = HashMap::from([(id(1), vec![1])]);
        let found = audit(AuditInput {
            items: &items,
            previous_items: Some(&previous),
            subscriptions: &subs,
            quantities: Some(&quantities),
            prices: &prices(&[1], 1e25),
            usage_based: &HashSet::new(),
        });
        assert_eq!(found.verdict, Verdict::Findings);
    }
}
