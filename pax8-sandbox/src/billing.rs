//! Invoices: the items of a billing period, invoices issued for each month (at start, and when
//! the clock is moved past the first of a month), with the discrepancies of `planted.rs` in them.

use std::sync::Arc;

use chrono::{Datelike, Duration as Days, NaiveDate};
use pax8_api::Date;
use pax8_api::partner::types::{
    Invoice, InvoiceItem, InvoiceItemChargeType, InvoiceItemRateType, InvoiceItemTerm, InvoiceItemType, Subscription,
    SubscriptionBillingTerm, SubscriptionStatus,
};
use uuid::Uuid;

use crate::values::{add_months, round2};
use crate::world::World;

/// How many monthly invoices the fixture starts with (the newest is this month's, unpaid).
pub(crate) const INVOICES_AT_START: u32 = 6;

impl World {
    fn active_during(sub: &Subscription, from: NaiveDate, to: NaiveDate) -> bool {
        let start = sub.start_date.map(|t| t.date().0).unwrap_or(from);
        let end = sub.end_date.map(|t| t.date().0);
        start <= to && end.is_none_or(|e| e >= from) && sub.status != Some(SubscriptionStatus::Trial)
    }

    /// `sub` as it was at the end of `day`: the last of its versions (its history, then its
    /// current state) stamped on or before that day, or its first.
    pub(crate) fn as_of<'a>(&'a self, sub: &'a Subscription, day: NaiveDate) -> &'a Subscription {
        let history = sub.id.and_then(|id| self.history.get(&id)).map(Vec::as_slice).unwrap_or_default();
        let mut versions = history.iter().chain(std::iter::once(sub));
        let first = history.first().unwrap_or(sub);
        versions.rfind(|v| v.updated_date.is_none_or(|at| at.date().0 <= day)).unwrap_or(first)
    }

    /// Whether the product is billed by usage (Azure): its item's quantity is 1, its price the usage.
    pub(crate) fn usage_billed(&self, sub: &Subscription) -> bool {
        sub.product_id.and_then(|p| self.product(p)).is_some_and(|e| e.azure)
    }

    /// The item charging `s` for the period `from`..=`to`.
    pub(crate) fn item_for(
        &self,
        s: &Subscription,
        invoice_id: Option<Uuid>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> InvoiceItem {
        let company = s.company_id.and_then(|c| self.company(c));
        let entry = s.product_id.and_then(|p| self.product(p));
        let azure = entry.is_some_and(|e| e.azure);
        let quantity = s.quantity.unwrap_or(0.0);
        let (price, cost) = if azure {
            let total: f64 = self
                .usage_summaries
                .get(&s.id.unwrap_or_default())
                .into_iter()
                .flatten()
                .filter_map(|u| u.current_charges)
                .sum();
            (round2(total), round2(total * 0.85))
        } else {
            // Long terms are invoiced monthly at their amortized price.
            let months = match s.billing_term {
                Some(SubscriptionBillingTerm::Annual) => 12.0,
                _ => 1.0,
            };
            (round2(s.price.unwrap_or(0.0) / months), round2(s.partner_cost.unwrap_or(0.0) / months))
        };
        let units = if azure { 1.0 } else { quantity };
        let sub_total = round2(price * units);
        let cost_total = round2(cost * units);
        let seed = s.id.unwrap_or_default().as_u128()
            ^ invoice_id.unwrap_or_default().as_u128()
            ^ from.num_days_from_ce() as u128;
        InvoiceItem {
            id: Some(::uuid::Builder::from_random_bytes(seed.to_be_bytes()).into_uuid()),
            type_: Some(InvoiceItemType::Subscription),
            company_id: s.company_id,
            company_name: company.map(|c| c.name.clone()),
            external_id: company.and_then(|c| c.external_id.clone()),
            start_period: Some(Date::from(from)),
            end_period: Some(Date::from(to)),
            quantity: Some(units),
            unit_of_measure: entry.map(|e| e.unit.to_string()),
            term: Some(match s.billing_term {
                Some(SubscriptionBillingTerm::Annual) => InvoiceItemTerm::Annual,
                _ => InvoiceItemTerm::Monthly,
            }),
            sku: entry.and_then(|e| e.detail.sku.clone()),
            description: s.product_name.clone(),
            rate_type: Some(InvoiceItemRateType::Flat),
            charge_type: Some(InvoiceItemChargeType::Per),
            price: Some(price),
            sub_total: Some(sub_total),
            cost: Some(cost),
            cost_total: Some(cost_total),
            offered_by: Some("Pax8".into()),
            billed_by_pax8: company.and_then(|c| c.bill_on_behalf_of_enabled),
            total: Some(sub_total),
            amount_due: Some(cost_total),
            product_id: s.product_id,
            product_name: s.product_name.clone(),
            subscription_id: s.id,
            vendor_name: entry.and_then(|e| e.detail.vendor_name.clone()),
            currency_code: s.currency_code.clone(),
            billing_fee: Some(0.0),
            billing_fee_rate: Some(0.0),
            sales_tax: Some(0.0),
            ..Default::default()
        }
    }

    /// The charges of one billing period: one item per subscription active in it. An issued
    /// invoice's items (`invoice_id` given) are those of the subscriptions as they were at the
    /// period's end, so they never change; draft items follow the subscriptions as they are.
    pub(crate) fn items_for_period(
        &self,
        invoice_id: Option<Uuid>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Vec<InvoiceItem> {
        self.subscriptions
            .iter()
            .map(|s| if invoice_id.is_some() { self.as_of(s, to) } else { s })
            .filter(|s| Self::active_during(s, from, to))
            .map(|s| self.item_for(s, invoice_id, from, to))
            .collect()
    }

    fn period(month_start: NaiveDate) -> (NaiveDate, NaiveDate) {
        (month_start, add_months(month_start, 1) - Days::days(1))
    }

    /// The items of an issued invoice (computed once, then cached), planted discrepancies included.
    pub fn invoice_items(&mut self, id: Uuid) -> Option<Arc<Vec<InvoiceItem>>> {
        if let Some(items) = self.invoice_items.get(&id) {
            return Some(items.clone());
        }
        let invoice = self.invoices.iter().find(|i| i.id == Some(id))?;
        let start = invoice.invoice_date.map(|d| d.0)?;
        let (from, to) = Self::period(add_months(start, -1));
        let mut items = self.items_for_period(Some(id), from, to);
        let planted = match self.plant_seed {
            Some(seed) => crate::planted::plant(self, seed, id, (from, to), &mut items),
            None => Vec::new(),
        };
        let items = Arc::new(items);
        self.invoice_items.insert(id, items.clone());
        self.planted.insert(id, planted);
        Some(items)
    }

    /// What was planted in an issued invoice (empty for a clean one; `None` for an unknown id).
    pub fn planted(&mut self, invoice: Uuid) -> Option<Vec<crate::planted::Planted>> {
        self.invoice_items(invoice)?;
        self.planted.get(&invoice).cloned()
    }

    /// Draft items of the month `offset` months from now (0: this month).
    pub fn draft_items(&self, offset: i32, company: Option<Uuid>) -> Vec<InvoiceItem> {
        let month = NaiveDate::from_ymd_opt(self.today.year(), self.today.month(), 1).expect("first of month");
        let (from, to) = Self::period(add_months(month, offset));
        let mut items = self.items_for_period(None, from, to);
        if let Some(c) = company {
            items.retain(|i| i.company_id == Some(c));
        }
        items
    }

    /// Issues the invoice dated `invoice_date` (the first of a month) for the month before it;
    /// its total is its items' (planted ones included).
    pub(crate) fn issue_invoice(&mut self, id: Uuid, invoice_date: NaiveDate, paid: bool) {
        self.invoices.push(Invoice {
            id: Some(id),
            invoice_date: Some(Date::from(invoice_date)),
            due_date: Some(Date::from(invoice_date + Days::days(30))),
            carried_balance: Some(0.0),
            currency_code: Some("USD".into()),
            partner_name: Some("Sandbox MSP".into()),
            company_id: None,
            external_id: None,
            status: Some(if paid { "Paid" } else { "Unpaid" }.into()),
            ..Default::default()
        });
        self.invoices.sort_by_key(|i| std::cmp::Reverse(i.invoice_date));
        self.settle_total(id, paid);
    }

    /// Sets an invoice's total (and balance) from its items.
    fn settle_total(&mut self, id: Uuid, paid: bool) {
        let items = self.invoice_items(id).unwrap_or_default();
        let total = round2(items.iter().filter_map(|i| i.cost_total).sum());
        if let Some(invoice) = self.invoices.iter_mut().find(|i| i.id == Some(id)) {
            invoice.total = Some(total);
            invoice.balance = Some(if paid { 0.0 } else { total });
        }
    }

    /// The fixture's invoices: one a month for the last `count` months (at least one), the
    /// newest unpaid.
    pub(crate) fn generate_invoices(&mut self, rng: &mut rand::rngs::StdRng, count: u32) {
        let this_month = NaiveDate::from_ymd_opt(self.today.year(), self.today.month(), 1).expect("first of month");
        for back in 0..i32::try_from(count.clamp(1, 120)).unwrap_or(1) {
            let id = crate::values::uuid(rng);
            self.issue_invoice(id, add_months(this_month, -back), back != 0);
        }
    }

    /// Issues the invoices of every month whose first day is after the newest invoice and on or
    /// before `today` (time travel past a month's end), each with an id from `new_id`.
    pub(crate) fn issue_due_invoices(&mut self, today: NaiveDate, mut new_id: impl FnMut() -> Uuid) {
        let first_of_month = |d: NaiveDate| NaiveDate::from_ymd_opt(d.year(), d.month(), 1).unwrap_or(d);
        let Some(mut next) = self.invoices.iter().filter_map(|i| i.invoice_date).max().map(|d| add_months(d.0, 1))
        else {
            return;
        };
        let last = first_of_month(today);
        while next <= last {
            self.issue_invoice(new_id(), next, false);
            next = add_months(next, 1);
        }
    }

    /// Plants discrepancies (`Some(seed)`) or none (`None`) in every issued invoice, their totals
    /// following.
    pub(crate) fn set_plant_seed(&mut self, seed: Option<u64>) {
        self.plant_seed = seed;
        self.invoice_items.clear();
        self.planted.clear();
        let invoices: Vec<(Uuid, bool)> =
            self.invoices.iter().filter_map(|i| Some((i.id?, i.status.as_deref() == Some("Paid")))).collect();
        for (id, paid) in invoices {
            self.settle_total(id, paid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world() -> World {
        crate::fixture::generate(7, 30, NaiveDate::from_ymd_opt(2026, 11, 23).unwrap())
    }

    fn total_of_items(w: &mut World, id: Uuid) -> f64 {
        round2(w.invoice_items(id).unwrap().iter().filter_map(|i| i.cost_total).sum())
    }

    #[test]
    fn the_clock_passing_a_month_s_first_day_issues_its_invoice() {
        let mut w = world();
        let before = w.invoices.len();
        let mut next = 0u128;
        w.issue_due_invoices(NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(), || Uuid::from_u128(next));
        assert_eq!(w.invoices.len(), before, "no month began");
        w.issue_due_invoices(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(), || {
            next += 1;
            Uuid::from_u128(next)
        });
        let dates: Vec<String> = w.invoices.iter().take(3).map(|i| i.invoice_date.unwrap().to_string()).collect();
        assert_eq!(dates, ["2027-01-01", "2026-12-01", "2026-11-01"], "newest first");
        for id in [1, 2].map(Uuid::from_u128) {
            let invoice = w.invoices.iter().find(|i| i.id == Some(id)).unwrap().clone();
            assert_eq!(invoice.status.as_deref(), Some("Unpaid"));
            assert_eq!(invoice.total, Some(total_of_items(&mut w, id)), "the total is its items'");
            assert_eq!(invoice.balance, invoice.total);
        }
        let january = w.invoice_items(Uuid::from_u128(2)).unwrap(); // issued second
        assert!(january.iter().all(|i| i.start_period.unwrap().to_string() == "2026-12-01"));
        assert!(january.iter().all(|i| i.end_period.unwrap().to_string() == "2026-12-31"));
    }

    #[test]
    fn every_invoice_plants_on_the_same_subscriptions_and_clean_invoices_plant_nothing() {
        let mut w = world();
        let ids: Vec<Uuid> = w.invoices.iter().filter_map(|i| i.id).collect();
        let of_kind = |w: &mut World, id, kind| {
            w.planted(id).unwrap().into_iter().find(|p| p.kind == kind).map(|p| p.subscription_id)
        };
        for kind in ["quantity", "price_list", "duplicate", "not_billed"] {
            let first = of_kind(&mut w, ids[0], kind);
            assert!(first.is_some(), "{kind} planted");
            assert_eq!(of_kind(&mut w, ids[1], kind), first, "{kind} on the same subscription");
        }
        let planted_total = w.invoices[0].total;
        assert_eq!(planted_total, Some(total_of_items(&mut w, ids[0])));
        w.set_plant_seed(None);
        assert!(w.planted(ids[0]).unwrap().is_empty());
        assert_ne!(w.invoices[0].total, planted_total, "totals follow the items");
        let clean_total = total_of_items(&mut w, ids[0]);
        assert_eq!(w.invoices[0].total, Some(clean_total));
        assert!(w.planted(Uuid::nil()).is_none(), "an unknown invoice");
    }
}
