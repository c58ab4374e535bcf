//! Prompts for the design seeds' use cases, each naming the tools it uses.

use rmcp::model::{PromptMessage, Role};
use rmcp::{prompt, prompt_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Pax8Tools;
use rmcp::handler::server::wrapper::Parameters;

/// A customer, by name.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerArg {
    /// The customer's company name (or part of it).
    pub company: String,
}

/// A window in days.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowArg {
    /// How many days ahead to look (default 90).
    pub days: Option<u32>,
}

/// An invoice month.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceArg {
    /// The invoice month, YYYY-MM (default: the latest invoice).
    pub month: Option<String>,
}

/// A product, by name.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductArg {
    /// The product's name, vendor or SKU.
    pub product: String,
    /// A customer whose own rates apply (optional).
    pub company: Option<String>,
}

fn ask(text: String) -> Vec<PromptMessage> {
    vec![PromptMessage::new_text(Role::User, text)]
}

#[prompt_router(router = "prompt_router", vis = "pub(crate)")]
impl Pax8Tools {
    /// Plan the renewals whose commitments end soon.
    #[prompt(
        name = "renewal_planning",
        description = "Subscriptions whose commitment ends within a window, with the monthly value at stake. Uses subscriptions_list, company_get."
    )]
    async fn renewal_planning(&self, Parameters(a): Parameters<WindowArg>) -> Vec<PromptMessage> {
        let days = a.days.unwrap_or(90);
        ask(format!(
            "List the Active subscriptions (subscriptions_list, status Active, every page) whose commitment_end falls \
             within the next {days} days. Group them by company (company_get for names), give each its product, \
             quantity, commitment end and monthly revenue, and total the monthly revenue at stake. Do not change \
             anything."
        ))
    }

    /// Review a customer's Azure costs.
    #[prompt(
        name = "azure_cost_review",
        description = "A customer's Azure plan usage this month by resource group. Uses company_resolve, azure_subscriptions, azure_usage_summaries."
    )]
    async fn azure_cost_review(&self, Parameters(a): Parameters<CustomerArg>) -> Vec<PromptMessage> {
        ask(format!(
            "Find the company \"{}\" with company_resolve (ask me to choose if several match). List its Azure \
             subscriptions (azure_subscriptions) and, for each, the current-month usage summaries \
             (azure_usage_summaries). Show the charges per resource group, largest first, with the total, and point \
             out anything unusual.",
            a.company
        ))
    }

    /// Reconcile an invoice against the subscriptions.
    #[prompt(
        name = "invoice_reconciliation",
        description = "An invoice's items against the subscriptions they bill. Uses invoices_list, invoice_items, subscriptions_list."
    )]
    async fn invoice_reconciliation(&self, Parameters(a): Parameters<InvoiceArg>) -> Vec<PromptMessage> {
        let which = a.month.map_or_else(|| "the latest invoice".to_string(), |m| format!("the invoice of {m}"));
        ask(format!(
            "Take {which} (invoices_list), read all its items (invoice_items, every page) and compare each item's \
             quantity and price with its subscription (subscriptions_list by company). List the items that differ, \
             items without a subscription, and Active subscriptions the invoice does not bill."
        ))
    }

    /// Check a customer's licences.
    #[prompt(
        name = "license_status_check",
        description = "A customer's subscriptions, statuses and recent changes. Uses company_resolve, subscriptions_list, subscription_history."
    )]
    async fn license_status_check(&self, Parameters(a): Parameters<CustomerArg>) -> Vec<PromptMessage> {
        ask(format!(
            "Find the company \"{}\" with company_resolve. List its subscriptions (subscriptions_list with its \
             company_id) with product, quantity, status and billing term; flag any that are not Active, and for \
             those show what changed (subscription_history).",
            a.company
        ))
    }

    /// Look up a product's price.
    #[prompt(
        name = "product_pricing_lookup",
        description = "A product's price per billing term, optionally with a customer's own rates. Uses products_search, product_pricing, company_resolve."
    )]
    async fn product_pricing_lookup(&self, Parameters(a): Parameters<ProductArg>) -> Vec<PromptMessage> {
        let company = a.company.map_or_else(String::new, |c| {
            format!(
                " Use the rates of the company \"{c}\" (company_resolve, then product_pricing with its company_id)."
            )
        });
        ask(format!(
            "Find the product \"{}\" (products_search) and show its pricing per billing term (product_pricing): \
             partner price, retail price, the margin, and any quantity tiers.{company}",
            a.product
        ))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_prompt_names_tools_that_exist() {
        let tools: Vec<String> = crate::Pax8Tools::all_tool_names();
        for prompt in crate::Pax8Tools::prompt_router().list_all() {
            let description = prompt.description.clone().unwrap_or_default();
            let named: Vec<&str> =
                description.split("Uses ").nth(1).unwrap_or("").trim_end_matches('.').split(", ").collect();
            assert!(
                !named.is_empty() && named.iter().all(|t| tools.iter().any(|x| x == t)),
                "{}: {named:?}",
                prompt.name
            );
        }
        assert_eq!(crate::Pax8Tools::prompt_router().list_all().len(), 5);
    }
}
