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
use serde::Serialize;
use uuid::Uuid;

use crate::values::round2;
use crate::world::World;

/// One planted discrepancy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Planted {
    /// `quantity`, `price_list`, `duplicate`, `cancelled` or `not_billed`.
    pub kind: &'static str,
    /// The subscription concerned.
    pub subscription_id: Uuid,
    /// The wrong item (the copy, for a duplicate; none for an item left out).
    pub item_id: Option<Uuid>,
}

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
