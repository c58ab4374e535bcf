//! The product catalogue: products, pricing, dependencies and the commitment an order needs.

use pax8_api::partner::builder;
use pax8_api::partner::types::{Commitment, Dependencies, Pricing, Product, ProductDetail, ProvisioningDetail};
use uuid::Uuid;

use super::handler_options;
use super::paginator;
use crate::Pax8Client;
use crate::call::CallOptions;
use crate::error::{Error, Result};
use crate::pagination::Paginator;

handler_options!(Products);

impl Pax8Client {
    /// The product catalogue.
    pub fn products(&self) -> Products<'_> {
        Products { client: self, options: CallOptions::default() }
    }
}

/// Products handler.
#[derive(Debug, Clone)]
pub struct Products<'c> {
    client: &'c Pax8Client,
    options: CallOptions,
}

impl<'c> Products<'c> {
    /// The whole catalogue.
    pub fn list(&self) -> Paginator<Product> {
        paginator!(self, |c| c.partner().find_all_products())
    }
    /// Products matching the filters set on the generated builder (`vendor_name`, `search`, `sort`).
    pub fn list_with<F>(&self, filter: F) -> Paginator<Product>
    where
        F: for<'a> Fn(builder::FindAllProducts<'a>) -> builder::FindAllProducts<'a> + Send + Sync + 'static,
    {
        paginator!(self, |c| c.partner().find_all_products(), filter = filter)
    }
    /// Products whose name, vendor or SKU matches `query` (2 to 256 characters).
    pub fn search(&self, query: &str) -> Result<Paginator<Product>> {
        let query = query.trim().to_string();
        let len = query.chars().count();
        if !(2..=256).contains(&len) {
            return Err(Error::InvalidRequest(format!("search query must be 2 to 256 characters, got {len}")));
        }
        Ok(self.list_with(move |q| q.search(query.clone())))
    }
    /// One product.
    pub async fn get(&self, id: Uuid) -> Result<ProductDetail> {
        self.send(self.client.partner().find_product_by_product_id().product_id(id.to_string())).await
    }
    /// Pricing, with the company's own rates when `company_id` is given.
    pub async fn pricing(&self, id: Uuid, company_id: Option<Uuid>) -> Result<Vec<Pricing>> {
        let mut b = self.client.partner().find_pricing_by_product_id().product_id(id.to_string());
        if let Some(company) = company_id {
            b = b.company_id(company);
        }
        Ok(self.send(b).await?.content)
    }
    /// Dependencies (commitments, required products).
    pub async fn dependencies(&self, id: Uuid) -> Result<Dependencies> {
        self.send(self.client.partner().find_product_dependencies_by_product_id().product_id(id.to_string())).await
    }
    /// The commitment term an order of this product on `billing_term` needs (see
    /// [`CommitmentChoice`]).
    pub async fn commitment_for(&self, id: Uuid, billing_term: &str) -> Result<CommitmentChoice> {
        Ok(CommitmentChoice::from_terms(self.dependencies(id).await?.commitment_dependencies, billing_term))
    }
    /// Provisioning details an order of this product needs.
    pub async fn provisioning_details(&self, id: Uuid) -> Result<Vec<ProvisioningDetail>> {
        let body =
            self.send(self.client.partner().find_provision_details_by_product_id().product_id(id.to_string())).await?;
        Ok(body.content)
    }
}

/// What a product's commitment terms mean for an order on one billing term.
#[derive(Debug, Clone, PartialEq)]
pub enum CommitmentChoice {
    /// The product needs no commitment term.
    NotRequired,
    /// Exactly one term names the billing term: order with it.
    Chosen(Commitment),
    /// None or several name the billing term: the caller picks one of these.
    Choose(Vec<Commitment>),
}

impl CommitmentChoice {
    /// Decides from the product's commitment terms (its dependencies).
    pub fn from_terms(terms: Vec<Commitment>, billing_term: &str) -> Self {
        if terms.is_empty() {
            return CommitmentChoice::NotRequired;
        }
        let mut matching = terms
            .iter()
            .filter(|c| c.id.is_some() && c.term.as_deref().is_some_and(|t| t.eq_ignore_ascii_case(billing_term)));
        match (matching.next(), matching.next()) {
            (Some(one), None) => CommitmentChoice::Chosen(one.clone()),
            _ => CommitmentChoice::Choose(terms),
        }
    }

    /// The id to order with, when the choice is made.
    pub fn id(&self) -> Option<Uuid> {
        match self {
            CommitmentChoice::Chosen(c) => c.id,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(name: &str, id: u128) -> Commitment {
        Commitment { id: Some(Uuid::from_u128(id)), term: Some(name.into()), ..Default::default() }
    }

    #[test]
    fn the_commitment_matching_the_billing_term_is_chosen_or_the_caller_chooses() {
        assert_eq!(CommitmentChoice::from_terms(vec![], "Monthly"), CommitmentChoice::NotRequired);
        let terms = vec![term("Monthly", 1), term("Annual", 2)];
        let annual = CommitmentChoice::from_terms(terms.clone(), "annual");
        assert_eq!(annual.id(), Some(Uuid::from_u128(2)));
        assert_eq!(CommitmentChoice::from_terms(terms.clone(), "3-Year"), CommitmentChoice::Choose(terms.clone()));
        // Two terms naming the same billing term: the caller decides.
        let twice = vec![term("Annual", 3), term("Annual", 4)];
        assert_eq!(CommitmentChoice::from_terms(twice.clone(), "Annual"), CommitmentChoice::Choose(twice));
        // A term without an id cannot be ordered with.
        let no_id = vec![Commitment { term: Some("Annual".into()), ..Default::default() }];
        assert!(matches!(CommitmentChoice::from_terms(no_id, "Annual"), CommitmentChoice::Choose(_)));
        assert_eq!(CommitmentChoice::NotRequired.id(), None);
    }
}
