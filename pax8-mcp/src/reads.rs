//! The read tools: companies, subscriptions, Azure usage, invoices, products, orders, quotes.
//! Results are trimmed to what an agent needs; lists are paged (page from 0).

use pax8_ext::filters::{CompanyFilter, InvoiceFilter, SubscriptionFilter};
use rmcp::tool;
use rmcp::tool_router;
use serde_json::{Value, json};

use crate::args::*;
use crate::support;
use crate::{Pax8Tools, ToolResult, e, page_of};

#[tool_router(router = read_router, vis = "pub(crate)")]
impl Pax8Tools {
    #[tool(
        title = "List companies",
        annotations(read_only_hint = true, open_world_hint = true),
        description = "List companies (customers), filtered by city, country or status; paged (page from 0, size up to 200)."
    )]
    async fn companies_list(&self, Parameters(a): Parameters<CompaniesList>) -> ToolResult {
        self.run("companies_list", &a, async {
            let filter = CompanyFilter {
                city: a.city.clone(),
                country: a.country.clone(),
                status: a.status.clone(),
                sort: a.sort.clone(),
            };
            let paginator = self.client.companies().filtered(&filter).map_err(e)?;
            page_of(paginator, a.page, a.size, support::company).await
        })
        .await
    }

    #[tool(
        title = "Get a company",
        annotations(read_only_hint = true, open_world_hint = true),
        description = "One company by id."
    )]
    async fn company_get(&self, Parameters(a): Parameters<CompanyId>) -> ToolResult {
        self.run("company_get", &a, async {
            Ok(support::company(&self.client.companies().get(a.company_id).await.map_err(e)?))
        })
        .await
    }

    #[tool(
        title = "Audit an invoice",
        annotations(read_only_hint = true, open_world_hint = true),
        description = "Audit an invoice (default: the latest): quantities against the mirror's snapshots over the billing period (when the server has the mirror database), unit costs against the price list and the previous invoice, cancelled subscriptions billed, duplicates, billing subscriptions not billed. The verdict is clean only when every check ran; otherwise findings or incomplete, with every check that could not be made listed."
    )]
    async fn invoice_audit(&self, Parameters(a): Parameters<AuditArgs>) -> ToolResult {
        self.run("invoice_audit", &a, async {
            let gathered =
                pax8_ext::audit::Gathered::read(&self.client, a.invoice_id, a.company_id).await.map_err(e)?;
            let quantities = match (&self.plans, gathered.period()) {
                (Some(mirror), Some((from, to))) => {
                    Some(mirror.store.quantities_during(&mirror.tenant, from, to).await.map_err(|e| e.to_string())?)
                }
                (Some(_), None) => Some(Default::default()),
                (None, _) => None,
            };
            let found = pax8_ext::audit::audit(gathered.input(quantities.as_ref()));
            serde_json::to_value(&found).map_err(|e| e.to_string())
        })
        .await
    }

    #[tool(
        title = "A company's contacts",
        annotations(read_only_hint = true, open_world_hint = true),
        description = "The contacts of a company (names, emails, phone, contact types)."
    )]
    async fn company_contacts(&self, Parameters(a): Parameters<CompanyId>) -> ToolResult {
        self.run("company_contacts", &a, async {
            let contacts = self.client.contacts(a.company_id).list().collect_all().await.map_err(e)?;
            Ok(json!({"items": contacts.iter().map(|c| json!({"id": c.id, "name": format!("{} {}", c.first_name, c.last_name),
                "email": c.email, "phone": c.phone, "types": c.types.iter().filter_map(|t| t.type_.clone()).collect::<Vec<_>>()})).collect::<Vec<_>>()}))
        })
        .await
    }

    #[tool(
        title = "Find a company by name",
        annotations(read_only_hint = true, open_world_hint = true),
        description = "Find companies by name: exact matches (ignoring case) if any, else those containing the text. Use it to turn a customer name into a company_id."
    )]
    async fn company_resolve(&self, Parameters(a): Parameters<CompanyName>) -> ToolResult {
        self.run("company_resolve", &a, async {
            let found = self.client.companies().find_by_name(&a.name).await.map_err(e)?;
            Ok(json!({"matches": found.iter().map(support::company).collect::<Vec<_>>(), "unique": found.len() == 1}))
        })
        .await
    }

    #[tool(
        title = "List subscriptions",
        annotations(read_only_hint = true, open_world_hint = true),
        description = "List subscriptions by company, product, status or billing term; paged. Results carry quantity, prices, monthly revenue and commitment end date."
    )]
    async fn subscriptions_list(&self, Parameters(a): Parameters<SubscriptionsList>) -> ToolResult {
        self.run("subscriptions_list", &a, async {
            let filter = SubscriptionFilter {
                company_id: a.company_id,
                product_id: a.product_id,
                status: a.status.clone(),
                billing_term: a.billing_term.clone(),
                sort: a.sort.clone(),
            };
            let paginator = self.client.subscriptions().filtered(&filter).map_err(e)?;
            page_of(paginator, a.page, a.size, support::subscription).await
        })
        .await
    }

    #[tool(
        title = "Get a subscription",
        annotations(read_only_hint = true, open_world_hint = true),
        description = "One subscription with its commitment end date and add-on parent."
    )]
    async fn subscription_get(&self, Parameters(a): Parameters<SubscriptionId>) -> ToolResult {
        self.run("subscription_get", &a, async {
            Ok(support::subscription(&self.client.subscriptions().get(a.subscription_id).await.map_err(e)?))
        })
        .await
    }

    #[tool(
        title = "A subscription's history",
        annotations(read_only_hint = true, open_world_hint = true),
        description = "The change history of a subscription (earlier states, oldest first)."
    )]
    async fn subscription_history(&self, Parameters(a): Parameters<SubscriptionId>) -> ToolResult {
        self.run("subscription_history", &a, async {
            let h = self.client.subscriptions().history(a.subscription_id).await.map_err(e)?;
            Ok(json!({"items": h.iter().map(support::subscription).collect::<Vec<_>>()}))
        })
        .await
    }

    #[tool(
        title = "A company's Azure subscriptions",
        annotations(read_only_hint = true, open_world_hint = true),
        description = "The Azure plan subscriptions of a company."
    )]
    async fn azure_subscriptions(&self, Parameters(a): Parameters<CompanyId>) -> ToolResult {
        self.run("azure_subscriptions", &a, async {
            let company = a.company_id;
            let subs =
                self.client.subscriptions().list_with(move |q| q.company_id(company)).collect_all().await.map_err(e)?;
            let azure: Vec<Value> = subs
                .iter()
                .filter(|s| s.product_name.as_deref().is_some_and(|n| n.contains("Azure")))
                .map(support::subscription)
                .collect();
            Ok(json!({"items": azure}))
        })
        .await
    }

    #[tool(
        title = "Azure usage summaries",
        annotations(read_only_hint = true, open_world_hint = true),
        description = "Current-month Azure usage summaries (per resource group) of a subscription."
    )]
    async fn azure_usage_summaries(&self, Parameters(a): Parameters<SubscriptionId>) -> ToolResult {
        self.run("azure_usage_summaries", &a, async {
            let items = self.client.subscriptions().usage_summaries(a.subscription_id).collect_all().await.map_err(e)?;
            Ok(json!({"items": items.iter().map(|u| json!({"id": u.id, "resource_group": u.resource_group,
                "current_charges": u.current_charges, "partner_total": u.partner_total, "currency": u.currency_code})).collect::<Vec<_>>()}))
        })
        .await
    }

    #[tool(
        title = "Azure usage lines for a day",
        annotations(read_only_hint = true, open_world_hint = true),
        description = "The usage lines of an Azure usage summary for one day."
    )]
    async fn azure_usage_lines(&self, Parameters(a): Parameters<UsageLinesArgs>) -> ToolResult {
        self.run("azure_usage_lines", &a, async {
            let day = date(&a.date)?;
            let lines = self.client.usage().lines(a.usage_summary_id, day, None).await.map_err(e)?;
            Ok(json!({"items": lines.iter().map(|l| json!({"meter": l.product_name, "quantity": l.quantity, "unit": l.unit_of_measure,
                "unit_price": l.unit_price, "charges": l.current_charges})).collect::<Vec<_>>()}))
        })
        .await
    }

    #[tool(
        title = "List invoices",
        annotations(read_only_hint = true, open_world_hint = true),
        description = "List partner invoices by status and invoice date range; paged."
    )]
    async fn invoices_list(&self, Parameters(a): Parameters<InvoicesList>) -> ToolResult {
        self.run("invoices_list", &a, async {
            let day = |d: &Option<String>| d.as_deref().map(date).transpose().map(|d| d.map(|d| d.0));
            let filter = InvoiceFilter { status: a.status.clone(), from: day(&a.from)?, to: day(&a.to)? };
            let paginator = self.client.invoices().filtered(&filter).map_err(e)?;
            page_of(paginator, a.page, a.size, support::invoice).await
        })
        .await
    }

    #[tool(
        title = "Get an invoice",
        annotations(read_only_hint = true, open_world_hint = true),
        description = "One invoice."
    )]
    async fn invoice_get(&self, Parameters(a): Parameters<InvoiceId>) -> ToolResult {
        self.run("invoice_get", &a, async {
            Ok(support::invoice(&self.client.invoices().get(a.invoice_id).await.map_err(e)?))
        })
        .await
    }

    #[tool(
        title = "An invoice's items",
        annotations(read_only_hint = true, open_world_hint = true),
        description = "The items of an invoice, optionally only one company's; paged (a company filter scans the whole invoice)."
    )]
    async fn invoice_items(&self, Parameters(a): Parameters<InvoiceItems>) -> ToolResult {
        self.run("invoice_items", &a, async {
            let items = self.client.invoices().items(a.invoice_id);
            match a.company_id {
                None => page_of(items, a.page, a.size, support::invoice_item).await,
                Some(company) => {
                    let (page, size) = paging(a.page, a.size, items.paging().max_size)?;
                    let all = items.concurrency(4).collect_all().await.map_err(e)?;
                    let mine: Vec<Value> =
                        all.iter().filter(|i| i.company_id == Some(company)).map(support::invoice_item).collect();
                    let total = mine.len() as u64;
                    let pages = total.div_ceil(u64::from(size));
                    let skip = usize::try_from(u64::from(page) * u64::from(size)).unwrap_or(usize::MAX);
                    let items = mine.into_iter().skip(skip).take(size as usize).collect();
                    Ok(support::page(items, page, size, Some(pages), Some(total)))
                }
            }
        })
        .await
    }

    #[tool(
        title = "Draft invoice items",
        annotations(read_only_hint = true, open_world_hint = true),
        description = "Draft (not yet invoiced) items for this month (month_offset 0) or next month (1), optionally for one company; paged."
    )]
    async fn draft_invoice_items(&self, Parameters(a): Parameters<DraftItems>) -> ToolResult {
        self.run("draft_invoice_items", &a, async {
            let offset = a.month_offset.unwrap_or(0);
            if offset > 1 {
                return Err("month_offset must be 0 (this month) or 1 (next month)".into());
            }
            page_of(
                self.client.invoices().draft_items(Some(i32::from(offset)), a.company_id),
                a.page,
                a.size,
                support::invoice_item,
            )
            .await
        })
        .await
    }

    #[tool(
        title = "Search products",
        annotations(read_only_hint = true, open_world_hint = true),
        description = "Search the catalogue by name, vendor or SKU; paged."
    )]
    async fn products_search(&self, Parameters(a): Parameters<ProductsSearch>) -> ToolResult {
        self.run("products_search", &a, async {
            let paginator = match (&a.query, &a.vendor) {
                (Some(q), vendor) => {
                    let base = self.client.products().search(q).map_err(e)?;
                    match vendor {
                        None => base,
                        Some(v) => {
                            let (q, v) = (q.trim().to_string(), v.clone());
                            self.client.products().list_with(move |b| b.search(q.clone()).vendor_name(v.clone()))
                        }
                    }
                }
                (None, Some(v)) => {
                    let v = v.clone();
                    self.client.products().list_with(move |b| b.vendor_name(v.clone()))
                }
                (None, None) => self.client.products().list(),
            };
            page_of(paginator, a.page, a.size, support::product).await
        })
        .await
    }

    #[tool(
        title = "Get a product",
        annotations(read_only_hint = true, open_world_hint = true),
        description = "One product."
    )]
    async fn product_get(&self, Parameters(a): Parameters<ProductId>) -> ToolResult {
        self.run("product_get", &a, async {
            let d = self.client.products().get(a.product_id).await.map_err(e)?;
            Ok(json!({"id": d.id, "name": d.name, "vendor": d.vendor_name, "sku": d.sku, "vendor_sku": d.vendor_sku,
                "requires_commitment": d.requires_commitment, "short_description": d.short_description}))
        })
        .await
    }

    #[tool(
        title = "A product's pricing",
        annotations(read_only_hint = true, open_world_hint = true),
        description = "Pricing of a product per billing term, with a company's own rates when company_id is given."
    )]
    async fn product_pricing(&self, Parameters(a): Parameters<PricingArgs>) -> ToolResult {
        self.run("product_pricing", &a, async {
            let p = self.client.products().pricing(a.product_id, a.company_id).await.map_err(e)?;
            Ok(json!({"items": p.iter().map(support::pricing).collect::<Vec<_>>()}))
        })
        .await
    }

    #[tool(
        title = "A product's dependencies",
        annotations(read_only_hint = true, open_world_hint = true),
        description = "Dependencies of a product: commitment terms (ids to order with) and required products."
    )]
    async fn product_dependencies(&self, Parameters(a): Parameters<ProductId>) -> ToolResult {
        self.run("product_dependencies", &a, async {
            let d = self.client.products().dependencies(a.product_id).await.map_err(e)?;
            Ok(json!({
                "commitment_terms": d.commitment_dependencies.iter().map(|c| json!({"id": c.id, "term": c.term,
                    "allow_quantity_decrease": c.allow_for_quantity_decrease})).collect::<Vec<_>>(),
                "required_products": d.product_dependencies.iter().map(|p| json!({"name": p.name,
                    "products": p.products.iter().map(support::product).collect::<Vec<_>>()})).collect::<Vec<_>>()
            }))
        })
        .await
    }

    #[tool(
        title = "A product's provisioning details",
        annotations(read_only_hint = true, open_world_hint = true),
        description = "Provisioning details an order of this product needs."
    )]
    async fn product_provisioning_details(&self, Parameters(a): Parameters<ProductId>) -> ToolResult {
        self.run("product_provisioning_details", &a, async {
            let d = self.client.products().provisioning_details(a.product_id).await.map_err(e)?;
            Ok(json!({"items": d.iter().map(|x| json!({"key": x.key, "label": x.label, "value_type": x.value_type,
                "possible_values": x.possible_values})).collect::<Vec<_>>()}))
        })
        .await
    }

    #[tool(
        title = "List orders",
        annotations(read_only_hint = true, open_world_hint = true),
        description = "List orders, optionally of one company; paged."
    )]
    async fn orders_list(&self, Parameters(a): Parameters<OrdersList>) -> ToolResult {
        self.run("orders_list", &a, async {
            let company = a.company_id;
            let paginator = self.client.orders().list_with(move |q| match company {
                Some(c) => q.company_id(c),
                None => q,
            });
            page_of(paginator, a.page, a.size, support::order).await
        })
        .await
    }

    #[tool(
        title = "Get an order",
        annotations(read_only_hint = true, open_world_hint = true),
        description = "One order with its line items."
    )]
    async fn order_get(&self, Parameters(a): Parameters<OrderId>) -> ToolResult {
        self.run("order_get", &a, async { Ok(support::order(&self.client.orders().get(a.order_id).await.map_err(e)?)) })
            .await
    }

    #[tool(
        title = "List quotes",
        annotations(read_only_hint = true, open_world_hint = true),
        description = "List quotes; paged (page from 0, size up to 100)."
    )]
    async fn quotes_list(&self, Parameters(a): Parameters<QuotesList>) -> ToolResult {
        self.run("quotes_list", &a, async {
            page_of(self.client.quotes().list(), a.page, a.size, |q| {
                json!({"id": q.id, "reference": q.reference_code, "client": q.client.name, "status": q.status,
                    "recurring_total": q.totals.recurring_total.amount})
            })
            .await
        })
        .await
    }

    #[tool(
        title = "Get a quote",
        annotations(read_only_hint = true, open_world_hint = true),
        description = "One quote with its line items."
    )]
    async fn quote_get(&self, Parameters(a): Parameters<QuoteId>) -> ToolResult {
        self.run("quote_get", &a, async {
            let q = self.client.quotes().get(a.quote_id).await.map_err(e)?;
            Ok(json!({"id": q.id, "reference": q.reference_code, "client": q.client.name, "status": q.status,
                "expires_on": q.expires_on, "recurring_total": q.totals.recurring_total.amount,
                "line_items": q.line_items.iter().map(|l| json!({"product": l.product.name, "quantity": l.quantity,
                    "price": l.price.amount, "billing_term": l.billing_term})).collect::<Vec<_>>()}))
        })
        .await
    }
}
