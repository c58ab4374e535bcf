//! The vocabulary of Pax8 billing, in plain words: what `pax8 explain TERM` prints.
//!
//! ```
//! let entry = pax8_ext::glossary::find("partner-cost").unwrap();
//! assert_eq!(entry.term, "partner cost");
//! assert!(pax8_ext::glossary::find("NCE").is_some());
//! ```

/// One term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    /// The term.
    pub term: &'static str,
    /// Other names it goes by.
    pub aliases: &'static [&'static str],
    /// What it means.
    pub meaning: &'static str,
}

/// Every term, alphabetically.
pub const ENTRIES: &[Entry] = &[
    Entry {
        term: "billing term",
        aliases: &["billingTerm", "term"],
        meaning: "How often a subscription is invoiced: Monthly, Annual, 2-Year, 3-Year, One-Time or Trial. \
                  An Annual subscription's price is for a year; reports divide it by 12 to compare it with \
                  monthly ones (amortized monthly).",
    },
    Entry {
        term: "commitment",
        aliases: &["commitment term", "commitmentTerm"],
        meaning: "How long the subscription is promised for (a month, a year, three years), with an end date. \
                  During a commitment some changes are refused: under NCE, seats can be added at any time but \
                  removed, and the billing term changed, only when the commitment ends.",
    },
    Entry {
        term: "commitment end",
        aliases: &["renewal", "end date", "anniversary"],
        meaning: "The day a commitment runs out. It renews for another term unless cancelled or changed first; \
                  it is the only window for decreases and term changes. `pax8 renewals` lists the ones coming.",
    },
    Entry {
        term: "coterminosity",
        aliases: &["coterminous", "co-terminous"],
        meaning: "Making a new subscription end on the same day as an existing one, so a customer's licences \
                  renew together; the first term is then shorter and priced pro rata.",
    },
    Entry {
        term: "customer price",
        aliases: &["price", "sell price"],
        meaning: "What the partner charges its customer for one unit per billing term: the subscription's \
                  `price`. Monthly revenue is price × quantity, amortized monthly.",
    },
    Entry {
        term: "margin",
        aliases: &["profit", "markup"],
        meaning: "Customer price less partner cost, a month. As a percentage it is of the customer price \
                  (margin ÷ price), not of the cost (that is markup). pax8 rounds each total once, so the \
                  printed price less the printed cost is the printed margin.",
    },
    Entry {
        term: "MRR",
        aliases: &["monthly recurring revenue"],
        meaning: "The revenue of billing subscriptions each month, annual and multi-year terms divided by their \
                  months; its cost and margin beside it (`pax8 report mrr`).",
    },
    Entry {
        term: "NCE",
        aliases: &["new commerce experience", "new commerce"],
        meaning: "Microsoft's licensing rules for cloud subscriptions: monthly or annual commitments, a short \
                  window after purchase for refunds, and within a commitment seats may only go up; decreases, \
                  cancellations and term changes wait for the commitment's end.",
    },
    Entry {
        term: "partner cost",
        aliases: &["partnerCost", "cost", "buy rate", "partner buy rate"],
        meaning: "What Pax8 charges the partner for one unit per billing term: the subscription's \
                  `partnerCost` (on the price list, `partnerBuyRate`).",
    },
    Entry {
        term: "provisioning",
        aliases: &["provisioning details"],
        meaning: "What a vendor needs to set up an order (a domain, a tenant id, an admin address): the \
                  product's provisioning details, asked for when ordering.",
    },
    Entry {
        term: "quantity",
        aliases: &["seats", "licences", "licenses"],
        meaning: "How many units a subscription has; always a whole number. Increases apply at once and are \
                  billed pro rata; under a commitment, decreases wait for its end.",
    },
    Entry {
        term: "rate band",
        aliases: &["tier", "quantity range", "rate"],
        meaning: "A price list's price for a range of quantities (1-9 seats, 10 and more); the band that \
                  contains the subscription's quantity applies.",
    },
    Entry {
        term: "reconciliation",
        aliases: &["audit", "invoice check"],
        meaning: "Comparing what an invoice bills (its items) with what the subscriptions say should be billed: \
                  quantities, prices, items without a subscription, subscriptions without an item.",
    },
    Entry {
        term: "retail",
        aliases: &["suggested retail price", "suggestedRetailPrice", "MSRP", "list price"],
        meaning: "The vendor's suggested price to the end customer for one unit per billing term, from the \
                  product's price list; a reference, not what anyone is charged.",
    },
];

/// The entry whose term or an alias is `name` (ignoring case, spaces, hyphens and underscores).
pub fn find(name: &str) -> Option<&'static Entry> {
    let key = fold(name);
    ENTRIES.iter().find(|e| fold(e.term) == key || e.aliases.iter().any(|a| fold(a) == key))
}

/// Terms that contain `name` or that it contains (for "did you mean").
pub fn similar(name: &str) -> Vec<&'static str> {
    let key = fold(name);
    if key.is_empty() {
        return Vec::new();
    }
    ENTRIES
        .iter()
        .filter(|e| {
            std::iter::once(e.term)
                .chain(e.aliases.iter().copied())
                .map(fold)
                .any(|t| t.contains(&key) || key.contains(&t))
        })
        .map(|e| e.term)
        .collect()
}

fn fold(text: &str) -> String {
    text.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_found_by_any_spelling_and_are_sorted() {
        assert_eq!(find("Partner Cost").unwrap().term, "partner cost");
        assert_eq!(find("partnerCost").unwrap().term, "partner cost");
        assert_eq!(find("co-terminous").unwrap().term, "coterminosity");
        assert_eq!(find("msrp").unwrap().term, "retail");
        assert!(find("blockchain").is_none());
        assert!(find("").is_none());
        assert_eq!(similar("commit"), ["commitment", "commitment end"]);
        assert!(similar("").is_empty());
        let terms: Vec<String> = ENTRIES.iter().map(|e| e.term.to_lowercase()).collect();
        let mut sorted = terms.clone();
        sorted.sort();
        assert_eq!(terms, sorted);
        // No alias names two terms.
        for e in ENTRIES {
            for a in e.aliases {
                assert_eq!(find(a).unwrap().term, e.term, "{a}");
            }
        }
    }
}
