//! The product catalog: `/v1/products` with provisioning details, dependencies and pricing.

use axum::extract::{Path, Query as AxumQuery, State};
use axum::http::Uri;
use pax8_api::partner::types::{
    Dependencies, FindAllProductsResponse, FindPricingByProductIdResponse, FindProvisionDetailsByProductIdResponse,
    Product, ProductDependency,
};

use super::{Params, page_info};
use crate::app::App;
use crate::http::{Answer, MAX_PAGE_SIZE, Query, invalid, not_found, ok, path_id, slice, sort_spec};
use crate::values::round2;

fn summary(p: &crate::world::CatalogEntry) -> Product {
    let d = &p.detail;
    Product {
        id: d.id,
        name: d.name.clone(),
        vendor_name: d.vendor_name.clone(),
        short_description: d.short_description.clone(),
        sku: d.sku.clone(),
        vendor_sku: d.vendor_sku.clone(),
        alt_vendor_sku: d.alt_vendor_sku.clone(),
        requires_commitment: d.requires_commitment,
        ..Default::default()
    }
}

pub(super) async fn list_products(State(app): State<App>, uri: Uri, AxumQuery(params): Params) -> Answer {
    let q = Query { params: &params, instance: uri.path() };
    let (page, size) = q.paging(0, MAX_PAGE_SIZE, "size")?;
    if let Some(s) = q.str("search")
        && !(2..=256).contains(&s.chars().count())
    {
        return Err(invalid("search", "must be 2 to 256 characters", uri.path()));
    }
    let search = q.str("search").map(str::to_lowercase);
    let vendor = q.str("vendorName").map(str::to_lowercase);
    let world = app.world();
    let mut items: Vec<Product> = world
        .products
        .iter()
        .map(summary)
        .filter(|p| {
            let has = |v: &Option<String>, w: &str| v.as_deref().is_some_and(|v| v.to_lowercase().contains(w));
            search
                .as_deref()
                .is_none_or(|s| has(&p.name, s) || has(&p.vendor_name, s) || has(&p.sku, s) || has(&p.vendor_sku, s))
                && vendor.as_deref().is_none_or(|v| p.vendor_name.as_deref().is_some_and(|n| n.to_lowercase() == v))
        })
        .collect();
    drop(world);
    if let Some(sort) = q.str("sort") {
        let (field, desc) = sort_spec(sort);
        match field {
            "name" => items.sort_by(|a, b| a.name.cmp(&b.name)),
            "vendor" => items.sort_by(|a, b| a.vendor_name.cmp(&b.vendor_name).then(a.name.cmp(&b.name))),
            other => return Err(invalid("sort", format!("cannot sort by `{other}`"), uri.path())),
        }
        if desc {
            items.reverse();
        }
    }
    let (content, total, pages) = slice(&items, page, size);
    ok(&FindAllProductsResponse { content, page: page_info(page, size, total, pages), ..Default::default() })
}

fn with_product<T: serde::Serialize>(
    app: &App,
    id: &str,
    uri: &Uri,
    f: impl FnOnce(&crate::world::CatalogEntry) -> T,
) -> Answer {
    let id = path_id(id, "product", uri.path())?;
    let world = app.world();
    match world.product(id) {
        Some(p) => ok(&f(p)),
        None => Err(not_found("product", &id.to_string(), uri.path())),
    }
}

pub(super) async fn get_product(State(app): State<App>, uri: Uri, Path(id): Path<String>) -> Answer {
    with_product(&app, &id, &uri, |p| p.detail.clone())
}

pub(super) async fn provision_details(State(app): State<App>, uri: Uri, Path(id): Path<String>) -> Answer {
    with_product(&app, &id, &uri, |p| FindProvisionDetailsByProductIdResponse {
        content: p.provisioning.clone(),
        ..Default::default()
    })
}

pub(super) async fn dependencies(State(app): State<App>, uri: Uri, Path(id): Path<String>) -> Answer {
    let id = path_id(&id, "product", uri.path())?;
    let world = app.world();
    let Some(product) = world.product(id) else { return Err(not_found("product", &id.to_string(), uri.path())) };
    // Backup of Microsoft 365 mailboxes needs one of the Microsoft 365 business plans.
    let requires: Vec<Product> = if product.detail.name.as_deref().is_some_and(|n| n.contains("SaaS Protection")) {
        world
            .products
            .iter()
            .filter(|p| p.detail.name.as_deref().is_some_and(|n| n.starts_with("Microsoft 365 Business")))
            .map(summary)
            .collect()
    } else {
        Vec::new()
    };
    let product_dependencies = if requires.is_empty() {
        Vec::new()
    } else {
        vec![ProductDependency { name: Some("Requires".into()), products: requires, ..Default::default() }]
    };
    ok(&Dependencies {
        commitment_dependencies: product.commitments.clone(),
        product_dependencies,
        ..Default::default()
    })
}

pub(super) async fn pricing(
    State(app): State<App>,
    uri: Uri,
    Path(id): Path<String>,
    AxumQuery(params): Params,
) -> Answer {
    let q = Query { params: &params, instance: uri.path() };
    let company = q.uuid("companyId")?;
    if let Some(c) = company
        && app.world().company(c).is_none()
    {
        return Err(not_found("company", &c.to_string(), uri.path()));
    }
    with_product(&app, &id, &uri, |p| {
        let mut content = p.pricing.clone();
        if company.is_some() {
            // Company-specific rates: a 5% partner discount in the sandbox.
            for rate in content.iter_mut().flat_map(|c| c.rates.iter_mut()) {
                rate.partner_buy_rate = rate.partner_buy_rate.map(|r| round2(r * 0.95));
            }
        }
        FindPricingByProductIdResponse { content, ..Default::default() }
    })
}
