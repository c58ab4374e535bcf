//! Discrepancies planted in every invoice the simulator issues, so that an invoice audit or a
//! reconciliation meets a wrong invoice and its findings can be checked against a known list.
//!
//! Each issued invoice carries at most one of each kind (fewer when the tenant has no subscription
//! that fits), on subscriptions ranked by the fixture's seed, so consecutive invoices plant on the
//! same subscriptions and one invoice's plants never show up as a price change in the next:
//!
//! | kind | what is planted |
//! |---|---|
//! | `quantity` | a seat-billed item billed for 2 more seats than the subscription had |
//! | `price_list` | a seat-billed item's unit cost 10% above the price list |
//! | `duplicate` | a seat-billed item billed a second time (its copy has its own id) |
//! | `cancelled` | an item for a subscription cancelled before the billing period |
//! | `not_billed` | a billing subscription's item left out |
//!
//! The kinds are named as `pax8_ext::audit` names its findings. `SandboxConfig::planted_discrepancies`
//! (or `pax8-sandbox --clean-invoices`) turns planting off.

use chrono::NaiveDate;
use pax8_api::partner::types::{InvoiceItem, SubscriptionStatus};
use uuid::Uuid;

use crate::values::round2;
pub use crate::world::Planted;
use crate::world::World;

/// Seats added by the `quantity` plant.
const EXTRA_SEATS: f64 = 2.0;
/// Factor of the `price_list` plant's unit cost.
const OVERCHARGE: f64 = 1.10;

/// A subscription's place in the seed's order (splitmix64 of the seed and the id).
fn rank(seed: u64, id: Uuid) -> u64 {
    let (high, low) = id.as_u64_pair();
    let mut z = seed ^ high.rotate_left(17) ^ low;
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Recomputes an item's amounts after its quantity or unit cost changed.
fn reprice(item: &mut InvoiceItem) {
    let units = item.quantity.unwrap_or(0.0);
    let sub_total = round2(item.price.unwrap_or(0.0) * units);
    let cost_total = round2(item.cost.unwrap_or(0.0) * units);
    item.sub_total = Some(sub_total);
    item.total = Some(sub_total);
    item.cost_total = Some(cost_total);
    item.amount_due = Some(cost_total);
}

/// Plants the discrepancies in the items of `invoice` (period `from`..=`to`) and says which.
pub(crate) fn plant(
    world: &World,
    seed: u64,
    invoice: Uuid,
    (from, to): (NaiveDate, NaiveDate),
    items: &mut Vec<InvoiceItem>,
) -> Vec<Planted> {
    let seat_billed = |item: &InvoiceItem| {
        item.subscription_id
            .and_then(|id| world.subscription(id))
            .is_some_and(|s| !world.usage_billed(s) && item.quantity.is_some_and(|q| q >= 1.0))
    };
    let mut candidates: Vec<(u64, usize)> = items
        .iter()
        .enumerate()
        .filter(|(_, item)| seat_billed(item))
        .filter_map(|(i, item)| Some((rank(seed, item.subscription_id?), i)))
        .collect();
    candidates.sort_unstable();
    let mut chosen = candidates.into_iter().map(|(_, i)| i);
    let mut planted = Vec::new();
    let mut record = |kind, item: &InvoiceItem, item_id| {
        if let Some(subscription_id) = item.subscription_id {
            planted.push(Planted { kind, subscription_id, item_id });
        }
    };

    if let Some(i) = chosen.next() {
        let item = &mut items[i];
        item.quantity = Some(item.quantity.unwrap_or(0.0) + EXTRA_SEATS);
        reprice(item);
        record("quantity", item, item.id);
    }
    if let Some(i) = chosen.next() {
        let item = &mut items[i];
        item.cost = Some(round2(item.cost.unwrap_or(0.0) * OVERCHARGE));
        reprice(item);
        record("price_list", item, item.id);
    }
    if let Some(i) = chosen.next() {
        let mut copy = items[i].clone();
        let id = copy.id.unwrap_or_default().as_u128() ^ u128::from(rank(seed, invoice));
        copy.id = Some(uuid::Builder::from_random_bytes(id.to_be_bytes()).into_uuid());
        record("duplicate", &copy, copy.id);
        items.push(copy);
    }
    let active = |item: &InvoiceItem| {
        item.subscription_id
            .and_then(|id| world.subscription(id))
            .is_some_and(|s| s.status == Some(SubscriptionStatus::Active))
    };
    let left_out = chosen.find(|&i| active(&items[i])).map(|i| items[i].clone());
    let cancelled = world
        .subscriptions
        .iter()
        .map(|s| world.as_of(s, to))
        .filter(|s| s.status == Some(SubscriptionStatus::Cancelled) && !world.usage_billed(s))
        .filter(|s| s.end_date.is_some_and(|end| end.date().0 < from) && s.quantity.is_some_and(|q| q >= 1.0))
        .filter_map(|s| Some((rank(seed, s.id?), s)))
        .min_by_key(|(rank, _)| *rank);
    if let Some((_, sub)) = cancelled {
        let item = world.item_for(sub, Some(invoice), from, to);
        record("cancelled", &item, item.id);
        items.push(item);
    }
    if let Some(gone) = left_out {
        items.retain(|i| i.id != gone.id);
        record("not_billed", &gone, None);
    }
    planted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_follow_the_seed_and_the_id() {
        let a = Uuid::from_u128(1);
        let b = Uuid::from_u128(2);
        assert_eq!(rank(7, a), rank(7, a));
        assert_ne!(rank(7, a), rank(8, a));
        assert_ne!(rank(7, a), rank(7, b));
    }

    /// Each plant, checked against the same invoice without plants.
    #[test]
    fn each_plant_changes_exactly_what_it_says() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let mut planted = crate::fixture::generate(7, 40, today);
        // The invoice issued on January 1 bills December; the fixture's cancellations are in November.
        let mut n = 0u128;
        planted.issue_due_invoices(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(), || {
            n += 1;
            Uuid::from_u128(n)
        });
        let mut clean = planted.clone();
        clean.set_plant_seed(None);
        let invoice = planted.invoices[0].id.unwrap();
        let list = planted.planted(invoice).unwrap();
        let (with, without) = (planted.invoice_items(invoice).unwrap(), clean.invoice_items(invoice).unwrap());
        let of = |items: &[InvoiceItem], sub: Uuid| {
            items.iter().filter(|i| i.subscription_id == Some(sub)).cloned().collect::<Vec<_>>()
        };
        let kinds: Vec<&str> = list.iter().map(|p| p.kind).collect();
        assert_eq!(kinds, ["quantity", "price_list", "duplicate", "cancelled", "not_billed"]);
        let subs: std::collections::HashSet<Uuid> = list.iter().map(|p| p.subscription_id).collect();
        assert_eq!(subs.len(), 5, "five different subscriptions");
        for p in &list {
            let (now, was) = (of(&with, p.subscription_id), of(&without, p.subscription_id));
            let sub = planted.subscription(p.subscription_id).unwrap().clone();
            match p.kind {
                "quantity" => {
                    assert_eq!(now[0].quantity, Some(was[0].quantity.unwrap() + EXTRA_SEATS));
                    assert_eq!(now[0].cost_total, Some(round2(now[0].cost.unwrap() * now[0].quantity.unwrap())));
                    assert_eq!(now[0].cost, was[0].cost);
                }
                "price_list" => {
                    assert_eq!(now[0].cost, Some(round2(was[0].cost.unwrap() * OVERCHARGE)));
                    assert_eq!(now[0].quantity, was[0].quantity);
                    assert_ne!(now[0].cost, was[0].cost);
                }
                "duplicate" => {
                    assert_eq!((now.len(), was.len()), (2, 1));
                    assert_ne!(now[0].id, now[1].id);
                    assert_eq!(p.item_id, now[1].id, "the copy is the one named");
                    assert_eq!((now[1].cost_total, now[1].quantity), (now[0].cost_total, now[0].quantity));
                }
                "cancelled" => {
                    assert_eq!((now.len(), was.len()), (1, 0), "billed only with the plant");
                    assert_eq!(sub.status, Some(SubscriptionStatus::Cancelled));
                    let from = now[0].start_period.unwrap().0;
                    assert!(sub.end_date.unwrap().date().0 < from);
                }
                "not_billed" => {
                    assert_eq!((now.len(), was.len()), (0, 1), "left out");
                    assert_eq!(sub.status, Some(SubscriptionStatus::Active));
                    assert_eq!(p.item_id, None);
                }
                other => panic!("{other}"),
            }
        }
        assert_eq!(with.len(), without.len() + 1, "a copy and a cancelled item added, one left out");
        assert!(with.iter().filter(|i| !subs.contains(&i.subscription_id.unwrap())).all(|i| without.contains(i)));
    }

    /// Whatever the seed, plants land only where an audit can see them: seat-billed items, and a
    /// subscription cancelled before the period.
    #[test]
    fn plants_land_only_where_an_audit_can_see_them_for_any_seed() {
        for seed in 1..=12 {
            let mut w = crate::fixture::generate(seed, 30, NaiveDate::from_ymd_opt(2026, 11, 23).unwrap());
            w.issue_due_invoices(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(), || Uuid::from_u128(u128::from(seed)));
            let invoice = w.invoices[0].id.unwrap();
            let from = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
            for p in w.planted(invoice).unwrap() {
                let sub = w.subscription(p.subscription_id).unwrap().clone();
                assert!(!w.usage_billed(&sub), "seed {seed}: {p:?} on a usage-billed subscription");
                if p.kind == "cancelled" {
                    assert_eq!(sub.status, Some(SubscriptionStatus::Cancelled), "seed {seed}");
                    assert!(sub.end_date.unwrap().date().0 < from, "seed {seed}: ended in the period");
                }
            }
        }
    }

    #[test]
    fn a_repriced_item_adds_up() {
        let mut item = InvoiceItem { quantity: Some(3.0), price: Some(10.005), cost: Some(8.0), ..Default::default() };
        reprice(&mut item);
        assert_eq!(item.cost_total, Some(24.0));
        assert_eq!(item.amount_due, Some(24.0));
        assert_eq!(item.sub_total, Some(30.02));
        assert_eq!(item.total, Some(30.02));
    }
}
