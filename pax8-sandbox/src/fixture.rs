//! Deterministic fixture data for an MSP: companies with contacts, a catalogue with tiered
//! pricing, subscriptions with monthly and annual terms, orders, invoices, Azure usage.

use chrono::{Duration as Days, NaiveDate};
use pax8_api::partner::types::{
    Address, Commitment, Company, CompanyStatus, Contact, ContactType, ContactTypeType, LineItem, LineItemBillingTerm,
    Order, OrderOrderedBy, Pricing, PricingBillingTerm, PricingType, ProductDetail, ProvisioningDetail,
    ProvisioningDetailValueType, Rate, RateChargeType, Subscription, SubscriptionBillingTerm, SubscriptionCommitment,
    SubscriptionStatus, UsageSummary,
};
use pax8_api::{Date, Timestamp};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::values::{add_months, round2, uuid};
use crate::world::{CatalogEntry, World};

/// One catalogue line: name, vendor, SKU, unit, monthly partner cost, monthly retail price,
/// annual term offered, commitment required, Azure (usage-based), tiered.
struct Item(&'static str, &'static str, &'static str, &'static str, f64, f64, bool, bool, bool, bool);

const CATALOGUE: &[Item] = &[
    Item("Microsoft 365 Business Basic", "Microsoft", "MST-M365-BB", "User", 5.40, 6.00, true, true, false, false),
    Item("Microsoft 365 Business Standard", "Microsoft", "MST-M365-BS", "User", 11.25, 12.50, true, true, false, false),
    Item("Microsoft 365 Business Premium", "Microsoft", "MST-M365-BP", "User", 19.80, 22.00, true, true, false, false),
    Item("Microsoft 365 E3", "Microsoft", "MST-M365-E3", "User", 32.40, 36.00, true, true, false, false),
    Item("Microsoft 365 E5", "Microsoft", "MST-M365-E5", "User", 51.30, 57.00, true, true, false, false),
    Item("Microsoft Defender for Business", "Microsoft", "MST-DFB", "User", 2.70, 3.00, true, true, false, false),
    Item("Exchange Online (Plan 1)", "Microsoft", "MST-EXO-P1", "User", 3.60, 4.00, true, true, false, false),
    Item("Microsoft Teams Essentials", "Microsoft", "MST-TEAMS-ESS", "User", 3.60, 4.00, true, true, false, false),
    Item("Azure plan", "Microsoft", "MST-AZR-PLAN", "Usage", 0.0, 0.0, false, false, true, false),
    Item("Acronis Cyber Protect Cloud - Backup", "Acronis", "ACR-CPC-BKP", "GB", 0.10, 0.15, false, false, false, true),
    Item("Datto SaaS Protection", "Datto", "DAT-SAAS-PROT", "User", 2.50, 3.50, false, false, false, false),
    Item("SentinelOne Singularity Core", "SentinelOne", "S1-SING-CORE", "Device", 4.50, 6.00, true, false, false, true),
    Item(
        "Proofpoint Essentials - Business",
        "Proofpoint",
        "PFPT-ESS-BUS",
        "User",
        2.90,
        4.00,
        false,
        false,
        false,
        false,
    ),
    Item("Dropbox Business Advanced", "Dropbox", "DBX-BUS-ADV", "User", 18.00, 24.00, true, false, false, false),
    Item("Google Workspace Business Starter", "Google", "GGL-GWS-BST", "User", 6.00, 7.20, true, false, false, false),
    Item("Keeper Business", "Keeper Security", "KPR-BUS", "User", 3.00, 3.75, true, false, false, false),
    Item("N-able Mail Assure", "N-able", "NAB-MAIL-AS", "Mailbox", 0.90, 1.50, false, false, false, false),
    Item("Huntress Managed EDR", "Huntress", "HNT-MEDR", "Endpoint", 3.50, 5.00, false, false, false, true),
];

const NAMES: &[&str] = &[
    "Globex",
    "Initech",
    "Umbrella",
    "Acme",
    "Stark",
    "Wayne",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Cyberdyne",
    "Tyrell",
    "Wonka",
    "Oscorp",
    "Pied Piper",
    "Dunder Mifflin",
    "Massive Dynamic",
    "Gringotts",
    "Monarch",
    "Sterling Cooper",
    "Prestige Worldwide",
    "Blue Sun",
    "Aperture",
    "Black Mesa",
    "Virtucon",
    "Gekko",
    "Bluth",
    "Kramerica",
    "Nakatomi",
    "Rekall",
    "Spacely",
    "Cogswell",
    "Duff",
    "Krusty",
    "Los Pollos",
    "Wernham Hogg",
    "Frobozz",
    "Zorg",
    "Buy n Large",
];
const KINDS: &[&str] = &[
    "Corporation",
    "Dental",
    "Law Group",
    "Logistics",
    "Medical",
    "Accounting",
    "Engineering",
    "Realty",
    "Foods",
    "Architects",
    "Clinic",
    "Manufacturing",
    "Insurance",
    "Consulting",
    "Veterinary",
];
const CITIES: &[(&str, &str, &str, AddressCountryCode)] = &[
    ("Denver", "Colorado", "80202", AddressCountryCode::Us),
    ("Greenwood Village", "Colorado", "80111", AddressCountryCode::Us),
    ("Austin", "Texas", "73301", AddressCountryCode::Us),
    ("Tampa", "Florida", "33601", AddressCountryCode::Us),
    ("Toronto", "Ontario", "M5H 2N2", AddressCountryCode::Ca),
    ("Phoenix", "Arizona", "85001", AddressCountryCode::Us),
    ("Chicago", "Illinois", "60601", AddressCountryCode::Us),
    ("Vancouver", "British Columbia", "V5K 0A1", AddressCountryCode::Ca),
];
const FIRST: &[&str] = &["Ada", "Grace", "Alan", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Radia", "Edsger"];
const LAST: &[&str] =
    &["Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie", "Perlman"];

#[derive(Clone, Copy)]
enum AddressCountryCode {
    Us,
    Ca,
}

fn ts(date: NaiveDate, hour: u32) -> Timestamp {
    Timestamp::from(date.and_hms_opt(hour, 30, 0).expect("valid time").and_utc())
}

fn catalogue(rng: &mut StdRng) -> Vec<CatalogEntry> {
    CATALOGUE
        .iter()
        .map(|it| {
            let id = uuid(rng);
            let mut pricing = Vec::new();
            let rates = |buy: f64, retail: f64| -> Vec<Rate> {
                if it.9 {
                    // Tiered: cheaper per unit in larger bands.
                    [(1.0, Some(100.0), 1.0), (101.0, Some(1000.0), 0.85), (1001.0, None, 0.7)]
                        .iter()
                        .map(|(start, end, f)| Rate {
                            charge_type: Some(RateChargeType::PerUnit),
                            start_quantity_range: Some(*start),
                            end_quantity_range: *end,
                            partner_buy_rate: Some(round2(buy * f)),
                            suggested_retail_price: Some(round2(retail * f)),
                            ..Default::default()
                        })
                        .collect()
                } else {
                    vec![Rate {
                        charge_type: Some(RateChargeType::PerUnit),
                        start_quantity_range: Some(1.0),
                        end_quantity_range: None,
                        partner_buy_rate: Some(buy),
                        suggested_retail_price: Some(retail),
                        ..Default::default()
                    }]
                }
            };
            let kind = if it.9 { PricingType::Tiered } else { PricingType::Flat };
            pricing.push(Pricing {
                billing_term: Some(PricingBillingTerm::Monthly),
                commitment_term: it.7.then(|| "Monthly".to_string()),
                commitment_term_in_months: it.7.then_some(1.0),
                product_id: Some(id),
                product_name: Some(it.0.into()),
                rates: rates(it.4, it.5),
                type_: Some(kind.clone()),
                unit_of_measurement: Some(it.3.into()),
                ..Default::default()
            });
            if it.6 {
                pricing.push(Pricing {
                    billing_term: Some(PricingBillingTerm::Annual),
                    commitment_term: Some("Annual".into()),
                    commitment_term_in_months: Some(12.0),
                    product_id: Some(id),
                    product_name: Some(it.0.into()),
                    // Annual terms are priced per year, 5% under twelve months.
                    rates: rates(round2(it.4 * 12.0 * 0.95), round2(it.5 * 12.0 * 0.95)),
                    type_: Some(kind),
                    unit_of_measurement: Some(it.3.into()),
                    ..Default::default()
                });
            }
            let commitments = if it.7 {
                ["Monthly", "Annual"]
                    .iter()
                    .filter(|t| **t == "Monthly" || it.6)
                    .map(|term| Commitment {
                        id: Some(uuid(rng)),
                        term: Some((*term).into()),
                        auto_renew: Some(true),
                        allow_for_quantity_increase: Some(true),
                        allow_for_quantity_decrease: Some(*term == "Monthly"),
                        allow_for_early_cancellation: Some(false),
                        renewal_window_days_before_term_end: Some(30.0),
                        renewal_window_days_after_term_end: Some(7.0),
                        cancellation_fee_applied: Some(*term != "Monthly"),
                        is_transferable: Some(true),
                        ..Default::default()
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let provisioning = if it.1 == "Microsoft" && !it.8 {
                vec![ProvisioningDetail {
                    key: Some("msDomain".into()),
                    label: Some("Microsoft tenant domain".into()),
                    description: Some("The customer's onmicrosoft.com domain".into()),
                    value_type: Some(ProvisioningDetailValueType::Input),
                    ..Default::default()
                }]
            } else {
                Vec::new()
            };
            CatalogEntry {
                detail: ProductDetail {
                    id: Some(id),
                    name: Some(it.0.into()),
                    vendor_name: Some(it.1.into()),
                    sku: Some(it.2.into()),
                    vendor_sku: Some(format!("{}-{:04}", it.2, rng.random_range(1000..9999))),
                    short_description: Some(format!("{} from {}", it.0, it.1)),
                    description: Some(format!("{} from {}, billed per {}.", it.0, it.1, it.3.to_lowercase())),
                    requires_commitment: Some(it.7),
                    alt_vendor_sku: None,
                    ..Default::default()
                },
                pricing,
                commitments,
                provisioning,
                azure: it.8,
                unit: it.3,
            }
        })
        .collect()
}

/// Builds the world for `seed`, `companies` customers, relative to `today`, with six monthly
/// invoices.
pub fn generate(seed: u64, companies: usize, today: NaiveDate) -> World {
    generate_with(seed, companies, today, crate::billing::INVOICES_AT_START)
}

/// [`generate`] with `invoices` monthly invoices (at least one; fewer keep a huge tenant light).
pub fn generate_with(seed: u64, companies: usize, today: NaiveDate, invoices: u32) -> World {
    let mut rng = StdRng::seed_from_u64(seed);
    let products = catalogue(&mut rng);
    let mut world = World::new(today, products);
    let mut used_names = std::collections::HashSet::new();
    for n in 0..companies {
        let name = if n == 0 {
            "Globex Corporation".to_string()
        } else {
            let base =
                format!("{} {}", NAMES[rng.random_range(0..NAMES.len())], KINDS[rng.random_range(0..KINDS.len())]);
            let mut name = base.clone();
            let mut k = 2;
            while used_names.contains(&name) {
                name = format!("{base} {k}");
                k += 1;
            }
            name
        };
        used_names.insert(name.clone());
        let (city, state, postal, country) = CITIES[rng.random_range(0..CITIES.len())];
        let company_id = uuid(&mut rng);
        let status = if rng.random_bool(0.04) { CompanyStatus::Inactive } else { CompanyStatus::Active };
        let slug: String = name.to_lowercase().chars().filter(char::is_ascii_alphanumeric).collect();
        let company = Company {
            id: Some(company_id),
            name: name.clone(),
            address: Address {
                street: Some(format!("{} Main St", rng.random_range(1..9999))),
                city: Some(city.into()),
                state_or_province: Some(state.into()),
                postal_code: Some(postal.into()),
                street2: None,
                country: Some(match country {
                    AddressCountryCode::Us => "US".to_string(),
                    AddressCountryCode::Ca => "CA".to_string(),
                }),
                ..Default::default()
            },
            phone: Some(format!("303-555-{:04}", rng.random_range(0..10000))),
            website: Some(format!("https://www.{slug}.example")),
            external_id: Some(format!("PSA-{:05}", n + 1)),
            bill_on_behalf_of_enabled: Some(rng.random_bool(0.3)),
            self_service_allowed: Some(rng.random_bool(0.2)),
            order_approval_required: Some(rng.random_bool(0.1)),
            status: Some(status),
            updated_date: Some(ts(today - Days::days(rng.random_range(1..400)), 9)),
            contacts: Vec::new(),
            ..Default::default()
        };
        let contacts: Vec<Contact> = (0..rng.random_range(1..=3))
            .map(|i| {
                let (first, last) = (FIRST[rng.random_range(0..FIRST.len())], LAST[rng.random_range(0..LAST.len())]);
                Contact {
                    id: Some(uuid(&mut rng)),
                    first_name: first.into(),
                    last_name: last.into(),
                    email: format!("{}.{}@{slug}.example", first.to_lowercase(), last.to_lowercase()),
                    phone: format!("303-555-{:04}", rng.random_range(0..10000)),
                    created_date: Some((today - Days::days(500)).to_string()),
                    types: if i == 0 {
                        [ContactTypeType::Admin, ContactTypeType::Billing, ContactTypeType::Technical]
                            .into_iter()
                            .map(|t| ContactType { type_: Some(t), primary: Some(true), ..Default::default() })
                            .collect()
                    } else {
                        vec![ContactType {
                            type_: Some(ContactTypeType::Technical),
                            primary: Some(false),
                            ..Default::default()
                        }]
                    },
                    ..Default::default()
                }
            })
            .collect();
        world.insert_company(company, contacts);

        // Subscriptions: 3 to 18 distinct products.
        let count = rng.random_range(3..=18).min(world.products.len());
        let mut picks: Vec<usize> = (0..world.products.len()).collect();
        for i in 0..count {
            let j = rng.random_range(i..picks.len());
            picks.swap(i, j);
        }
        let mut first_order_items = Vec::new();
        for (k, &p) in picks[..count].iter().enumerate() {
            let entry = &world.products[p];
            let annual = entry.pricing.iter().any(|pr| pr.billing_term == Some(PricingBillingTerm::Annual))
                && rng.random_bool(0.45);
            let pricing = entry
                .pricing
                .iter()
                .find(|pr| {
                    pr.billing_term
                        == Some(if annual { PricingBillingTerm::Annual } else { PricingBillingTerm::Monthly })
                })
                .expect("pricing exists")
                .clone();
            let quantity = if entry.azure {
                1.0
            } else if entry.unit == "GB" {
                f64::from(rng.random_range(50..2000))
            } else {
                f64::from(rng.random_range(1..60))
            };
            let rate =
                pricing.rates.iter().rev().find(|r| r.start_quantity_range.unwrap_or(0.0) <= quantity).expect("rate");
            let start = today - Days::days(rng.random_range(20..730));
            let status = match rng.random_range(0..100) {
                0..=4 => SubscriptionStatus::Cancelled,
                5..=6 => SubscriptionStatus::PendingManual,
                7 => SubscriptionStatus::Trial,
                _ => SubscriptionStatus::Active,
            };
            let commitment = annual.then(|| {
                // The next anniversary of the start date: spread over the coming year.
                let mut end = add_months(start, 12);
                while end <= today {
                    end = add_months(end, 12);
                }
                SubscriptionCommitment {
                    id: entry.commitments.iter().find(|c| c.term.as_deref() == Some("Annual")).and_then(|c| c.id),
                    term: Some("Annual".into()),
                    end_date: Some(ts(end, 0)),
                    ..Default::default()
                }
            });
            let id = uuid(&mut rng);
            let end_date =
                (status == SubscriptionStatus::Cancelled).then(|| ts(today - Days::days(rng.random_range(1..20)), 0));
            let sub = Subscription {
                id: Some(id),
                company_id: Some(company_id),
                product_id: entry.detail.id,
                product_name: entry.detail.name.clone(),
                vendor_subscription_id: Some(format!("VS-{}", &id.simple().to_string()[..12])),
                vendor_sku_id: entry.detail.vendor_sku.clone(),
                quantity: Some(quantity),
                start_date: Some(ts(start, 8)),
                end_date,
                created_date: Some(ts(start - Days::days(1), 13)),
                updated_date: Some(ts(start, 13)),
                billing_start: Some(Date::from(start)),
                status: Some(status),
                price: Some(rate.suggested_retail_price.unwrap_or(0.0)),
                partner_cost: Some(rate.partner_buy_rate.unwrap_or(0.0)),
                currency_code: Some(if matches!(country, AddressCountryCode::Ca) { "CAD" } else { "USD" }.into()),
                billing_term: Some(if annual {
                    SubscriptionBillingTerm::Annual
                } else {
                    SubscriptionBillingTerm::Monthly
                }),
                commitment,
                commitment_term: None,
                parent_subscription_id: None,
                provisioning_details: Vec::new(),
                ..Default::default()
            };
            if k < 2 {
                first_order_items.push(LineItem {
                    id: Some(uuid(&mut rng)),
                    product_id: entry.detail.id.expect("id"),
                    subscription_id: Some(id),
                    quantity,
                    billing_term: Some(if annual { LineItemBillingTerm::Annual } else { LineItemBillingTerm::Monthly }),
                    provision_start_date: sub.start_date,
                    commitment_term_id: None,
                    line_item_number: None,
                    parent_line_item_number: None,
                    parent_subscription_id: None,
                    provisioning_details: Vec::new(),
                    ..Default::default()
                });
            }
            let azure = entry.azure;
            world.insert_subscription(sub.clone());
            if azure {
                for group in ["rg-production", "rg-development", "rg-backup"].iter().take(rng.random_range(1..=3)) {
                    let charges = round2(rng.random_range(40.0..1500.0));
                    world.insert_usage_summary(
                        id,
                        UsageSummary {
                            id: Some(uuid(&mut rng)),
                            company_id: Some(company_id),
                            product_id: sub.product_id,
                            resource_group: Some((*group).into()),
                            vendor_name: Some("Microsoft".into()),
                            current_charges: Some(charges),
                            partner_total: Some(round2(charges * 0.85)),
                            currency_code: sub.currency_code.clone(),
                            is_trial: Some(false),
                            ..Default::default()
                        },
                    );
                }
            }
        }
        if let Some(first) = first_order_items.first() {
            let created = first.provision_start_date.map(|t| t.date()).unwrap_or(Date::from(today));
            world.orders.push(Order {
                id: Some(uuid(&mut rng)),
                company_id,
                created_date: Some(created),
                ordered_by: Some(OrderOrderedBy::Pax8Partner),
                ordered_by_user_id: Some(uuid(&mut rng)),
                ordered_by_user_email: Some("ops@msp.example".into()),
                is_scheduled: Some(false),
                status: Some("Completed".into()),
                line_items: first_order_items,
                ..Default::default()
            });
        }
    }
    world.plant_seed = Some(seed);
    world.generate_invoices(&mut rng, invoices);
    world
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_world() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let a = generate(7, 10, today);
        let b = generate(7, 10, today);
        assert_eq!(a.companies, b.companies);
        assert_eq!(a.subscriptions, b.subscriptions);
        let c = generate(8, 10, today);
        assert_ne!(a.companies, c.companies);
        assert_eq!(a.companies[0].name, "Globex Corporation");
    }

    #[test]
    fn annual_commitments_end_within_the_next_year() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let w = generate(3, 50, today);
        let ends: Vec<NaiveDate> =
            w.subscriptions.iter().filter_map(|s| s.commitment.as_ref()?.end_date.map(|t| t.date().0)).collect();
        assert!(ends.len() > 20);
        assert!(ends.iter().all(|d| *d > today && *d <= add_months(today, 12)));
    }
}
