//! An MCP server that gives AI agents safe access to Pax8.
//!
//! - Read tools (companies, subscriptions, Azure usage, invoices, products, orders, quotes) with
//!   JSON schemas for their arguments and results trimmed to what an agent needs.
//! - Write tools (create order, change quantity, cancel), off unless enabled, in two steps: a
//!   preview (a server dry run for orders, the price impact for quantity changes) returns a
//!   single-use confirmation token; the execute call needs that token and the same arguments.
//! - Every call appended to a JSON-lines audit log (secrets removed). Credentials come from the
//!   client the server is built with, never from tool arguments.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let client = pax8_ext::Pax8Client::from_env()?;
//! let tools = pax8_mcp::Pax8Tools::new(client, pax8_mcp::Options::default())?;
//! pax8_mcp::serve_stdio(tools).await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod support;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use pax8_api::partner::types as v1;
use pax8_ext::Pax8Client;
use pax8_ext::insights::{monthly_cost, monthly_revenue, months_per_period};
use pax8_ext::resources::NewOrder;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, ServerCapabilities, ServerConfig};
use rmcp::{ErrorData, ServerHandler, ServiceExt, tool, tool_handler, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use support::Confirmations;
pub use support::{Audit, CONFIRMATION_TTL};

/// How the server behaves.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Offer the write tools (create order, change quantity, cancel).
    pub allow_writes: bool,
    /// Append every call to this JSON-lines file.
    pub audit_log: Option<PathBuf>,
}

/// The write tools, removed from the router unless writes are enabled.
pub const WRITE_TOOLS: [&str; 6] = [
    "order_preview",
    "order_execute",
    "subscription_quantity_preview",
    "subscription_quantity_execute",
    "subscription_cancel_preview",
    "subscription_cancel_execute",
];

/// The MCP server.
#[derive(Clone)]
pub struct Pax8Tools {
    client: Pax8Client,
    audit: Option<Arc<Audit>>,
    confirmations: Arc<Confirmations>,
    tool_router: ToolRouter<Self>,
}

impl std::fmt::Debug for Pax8Tools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pax8Tools").field("client", &self.client).finish_non_exhaustive()
    }
}

// ---------- arguments ----------

/// Paging: `page` counts from 0; `size` is 1 to 200 (default 50).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct PageArgs {
    /// Page number, from 0.
    pub page: Option<u32>,
    /// Items per page, 1 to 200 (default 50).
    pub size: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CompaniesList {
    #[serde(flatten)]
    pub paging: PageArgs,
    pub city: Option<String>,
    pub country: Option<String>,
    /// Active, Inactive or Deleted.
    pub status: Option<String>,
    /// One of: name, city, country, stateOrProvince, postalCode.
    pub sort: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CompanyId {
    pub company_id: Uuid,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CompanyName {
    /// A company name or part of it.
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SubscriptionsList {
    #[serde(flatten)]
    pub paging: PageArgs,
    pub company_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    /// Active, Cancelled, PendingManual, ...
    pub status: Option<String>,
    /// Monthly, Annual, 2-Year, 3-Year, One-Time, Trial, Activation.
    pub billing_term: Option<String>,
    /// e.g. quantity,desc or startDate,asc (see the API's allowed values).
    pub sort: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SubscriptionId {
    pub subscription_id: Uuid,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct UsageLinesArgs {
    pub usage_summary_id: Uuid,
    /// YYYY-MM-DD.
    pub date: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct InvoicesList {
    #[serde(flatten)]
    pub paging: PageArgs,
    /// Unpaid, Paid, Void, Carried, Nothing Due, Credited.
    pub status: Option<String>,
    /// Invoices dated on or after (YYYY-MM-DD).
    pub from: Option<String>,
    /// Invoices dated on or before (YYYY-MM-DD).
    pub to: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct InvoiceId {
    pub invoice_id: Uuid,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct InvoiceItems {
    #[serde(flatten)]
    pub paging: PageArgs,
    pub invoice_id: Uuid,
    /// Only this company's items.
    pub company_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct DraftItems {
    #[serde(flatten)]
    pub paging: PageArgs,
    /// 0: this month, 1: next month.
    pub month_offset: Option<i32>,
    pub company_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ProductsSearch {
    #[serde(flatten)]
    pub paging: PageArgs,
    /// Name, vendor or SKU (2 to 256 characters).
    pub query: Option<String>,
    pub vendor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ProductId {
    pub product_id: Uuid,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PricingArgs {
    pub product_id: Uuid,
    /// The company's own rates instead of the list rates.
    pub company_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct OrdersList {
    #[serde(flatten)]
    pub paging: PageArgs,
    pub company_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct OrderId {
    pub order_id: Uuid,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct QuoteId {
    pub quote_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OrderArgs {
    pub company_id: Uuid,
    pub product_id: Uuid,
    /// Whole number of seats/units, at least 1.
    pub quantity: u32,
    /// Monthly, Annual, ...
    pub billing_term: String,
    /// Required for products that require a commitment (see product_dependencies).
    pub commitment_term_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct OrderExecute {
    #[serde(flatten)]
    pub order: OrderArgs,
    /// The token order_preview returned for exactly these arguments.
    pub confirmation_token: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct QuantityArgs {
    pub subscription_id: Uuid,
    /// The new quantity, at least 1 (use the cancel tools to end a subscription).
    pub quantity: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct QuantityExecute {
    #[serde(flatten)]
    pub change: QuantityArgs,
    pub confirmation_token: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CancelArgs {
    pub subscription_id: Uuid,
    /// Cancel at this date (YYYY-MM-DD) instead of as soon as possible.
    pub cancel_date: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CancelExecute {
    #[serde(flatten)]
    pub cancel: CancelArgs,
    pub confirmation_token: String,
}

type ToolResult = Result<CallToolResult, ErrorData>;

/// The largest page number a tool accepts (far past any real listing; no overflow below it).
const MAX_PAGE: u32 = 1_000_000;

fn paging(p: &PageArgs) -> Result<(u32, u32), String> {
    let size = p.size.unwrap_or(50);
    if !(1..=200).contains(&size) {
        return Err(format!("size must be between 1 and 200, got {size}"));
    }
    let page = p.page.unwrap_or(0);
    if page > MAX_PAGE {
        return Err(format!("page must be between 0 and {MAX_PAGE}, got {page}"));
    }
    Ok((page, size))
}

fn date(s: &str) -> Result<pax8_api::Date, String> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map(pax8_api::Date::from)
        .map_err(|_| format!("`{s}` is not a date (YYYY-MM-DD)"))
}

fn allowed(value: &str, known: &[&str], what: &str) -> Result<(), String> {
    if known.contains(&value) { Ok(()) } else { Err(format!("{what} `{value}` is not one of: {}", known.join(", "))) }
}

fn e(err: pax8_ext::Error) -> String {
    support::explain(&err)
}

async fn page_of<T: Serialize + Send + 'static>(
    paginator: pax8_ext::Paginator<T>,
    first: u32,
    page: u32,
    size: u32,
    trim: impl Fn(&T) -> Value,
) -> Result<Value, String> {
    let number = first.checked_add(page).ok_or_else(|| format!("page {page} is too large"))?;
    let p = paginator.page_size(size).page(number).await.map_err(e)?;
    Ok(support::page(p.items.iter().map(trim).collect(), page, size, p.total_pages, p.total_elements))
}

impl Pax8Tools {
    /// A server over `client` (its credentials, retries and rate limit apply to every tool).
    pub fn new(client: Pax8Client, options: Options) -> std::io::Result<Self> {
        let audit = options.audit_log.as_deref().map(Audit::open).transpose()?.map(Arc::new);
        let mut tool_router = Self::tool_router();
        if !options.allow_writes {
            for name in WRITE_TOOLS {
                tool_router.remove_route(name);
            }
        }
        Ok(Self { client, audit, confirmations: Arc::new(Confirmations::default()), tool_router })
    }

    /// Runs a tool body, records it in the audit log, and turns errors into tool errors.
    async fn run<A: Serialize>(
        &self,
        tool: &str,
        args: &A,
        body: impl Future<Output = Result<Value, String>>,
    ) -> ToolResult {
        let started = Instant::now();
        let result = body.await;
        if let Some(audit) = &self.audit {
            let arguments = serde_json::to_value(args).unwrap_or(Value::Null);
            audit.record(tool, &arguments, result.as_ref().map(|_| ()).map_err(String::as_str), started.elapsed());
        }
        Ok(match result {
            Ok(value) => CallToolResult::structured(value),
            Err(message) => CallToolResult::error(vec![ContentBlock::text(message)]),
        })
    }
}

#[tool_router]
impl Pax8Tools {
    #[tool(
        description = "List companies (customers), filtered by city, country or status; paged (page from 0, size up to 200)."
    )]
    async fn companies_list(&self, Parameters(a): Parameters<CompaniesList>) -> ToolResult {
        self.run("companies_list", &a, async {
            let (page, size) = paging(&a.paging)?;
            if let Some(s) = &a.sort {
                allowed(s, v1::FindCompaniesSort::KNOWN, "sort")?;
            }
            let f = a.clone();
            let paginator = self.client.companies().list_with(move |mut q| {
                if let Some(c) = &f.city {
                    q = q.city(c.clone());
                }
                if let Some(c) = &f.country {
                    q = q.country(c.clone());
                }
                if let Some(s) = &f.status {
                    q = q.status(s.as_str());
                }
                if let Some(s) = &f.sort {
                    q = q.sort(s.as_str());
                }
                q
            });
            page_of(paginator, 0, page, size, support::company).await
        })
        .await
    }

    #[tool(description = "One company by id.")]
    async fn company_get(&self, Parameters(a): Parameters<CompanyId>) -> ToolResult {
        self.run("company_get", &a, async {
            Ok(support::company(&self.client.companies().get(a.company_id).await.map_err(e)?))
        })
        .await
    }

    #[tool(description = "The contacts of a company (names, emails, phone, contact types).")]
    async fn company_contacts(&self, Parameters(a): Parameters<CompanyId>) -> ToolResult {
        self.run("company_contacts", &a, async {
            let contacts = self.client.contacts(a.company_id).list().collect_all().await.map_err(e)?;
            Ok(json!({"items": contacts.iter().map(|c| json!({"id": c.id, "name": format!("{} {}", c.first_name, c.last_name),
                "email": c.email, "phone": c.phone, "types": c.types.iter().filter_map(|t| t.type_.clone()).collect::<Vec<_>>()})).collect::<Vec<_>>()}))
        })
        .await
    }

    #[tool(
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
        description = "List subscriptions by company, product, status or billing term; paged. Results carry quantity, prices, monthly revenue and commitment end date."
    )]
    async fn subscriptions_list(&self, Parameters(a): Parameters<SubscriptionsList>) -> ToolResult {
        self.run("subscriptions_list", &a, async {
            let (page, size) = paging(&a.paging)?;
            if let Some(s) = &a.sort {
                allowed(s, v1::FindSubscriptionsSort::KNOWN, "sort")?;
            }
            let f = a.clone();
            let paginator = self.client.subscriptions().list_with(move |mut q| {
                if let Some(c) = f.company_id {
                    q = q.company_id(c);
                }
                if let Some(p) = f.product_id {
                    q = q.product_id(p);
                }
                if let Some(s) = &f.status {
                    q = q.status(s.as_str());
                }
                if let Some(t) = &f.billing_term {
                    q = q.billing_term(t.as_str());
                }
                if let Some(s) = &f.sort {
                    q = q.sort(s.as_str());
                }
                q
            });
            page_of(paginator, 0, page, size, support::subscription).await
        })
        .await
    }

    #[tool(description = "One subscription with its commitment end date and add-on parent.")]
    async fn subscription_get(&self, Parameters(a): Parameters<SubscriptionId>) -> ToolResult {
        self.run("subscription_get", &a, async {
            Ok(support::subscription(&self.client.subscriptions().get(a.subscription_id).await.map_err(e)?))
        })
        .await
    }

    #[tool(description = "The change history of a subscription (earlier states, oldest first).")]
    async fn subscription_history(&self, Parameters(a): Parameters<SubscriptionId>) -> ToolResult {
        self.run("subscription_history", &a, async {
            let h = self.client.subscriptions().history(a.subscription_id).await.map_err(e)?;
            Ok(json!({"items": h.iter().map(support::subscription).collect::<Vec<_>>()}))
        })
        .await
    }

    #[tool(description = "The Azure plan subscriptions of a company.")]
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

    #[tool(description = "Current-month Azure usage summaries (per resource group) of a subscription.")]
    async fn azure_usage_summaries(&self, Parameters(a): Parameters<SubscriptionId>) -> ToolResult {
        self.run("azure_usage_summaries", &a, async {
            let items = self.client.subscriptions().usage_summaries(a.subscription_id).collect_all().await.map_err(e)?;
            Ok(json!({"items": items.iter().map(|u| json!({"id": u.id, "resource_group": u.resource_group,
                "current_charges": u.current_charges, "partner_total": u.partner_total, "currency": u.currency_code})).collect::<Vec<_>>()}))
        })
        .await
    }

    #[tool(description = "The usage lines of an Azure usage summary for one day.")]
    async fn azure_usage_lines(&self, Parameters(a): Parameters<UsageLinesArgs>) -> ToolResult {
        self.run("azure_usage_lines", &a, async {
            let day = date(&a.date)?;
            let lines = self.client.usage().lines(a.usage_summary_id, day, None).await.map_err(e)?;
            Ok(json!({"items": lines.iter().map(|l| json!({"meter": l.product_name, "quantity": l.quantity, "unit": l.unit_of_measure,
                "unit_price": l.unit_price, "charges": l.current_charges})).collect::<Vec<_>>()}))
        })
        .await
    }

    #[tool(description = "List partner invoices by status and invoice date range; paged.")]
    async fn invoices_list(&self, Parameters(a): Parameters<InvoicesList>) -> ToolResult {
        self.run("invoices_list", &a, async {
            let (page, size) = paging(&a.paging)?;
            let from = a.from.as_deref().map(date).transpose()?;
            let to = a.to.as_deref().map(date).transpose()?;
            let status = a.status.clone();
            let paginator = self.client.invoices().list_with(move |mut q| {
                if let Some(s) = &status {
                    q = q.status(s.as_str());
                }
                if let Some(d) = from {
                    q = q.invoice_date_range_start(d);
                }
                if let Some(d) = to {
                    q = q.invoice_date_range_end(d);
                }
                q
            });
            page_of(paginator, 0, page, size, support::invoice).await
        })
        .await
    }

    #[tool(description = "One invoice.")]
    async fn invoice_get(&self, Parameters(a): Parameters<InvoiceId>) -> ToolResult {
        self.run("invoice_get", &a, async {
            Ok(support::invoice(&self.client.invoices().get(a.invoice_id).await.map_err(e)?))
        })
        .await
    }

    #[tool(
        description = "The items of an invoice, optionally only one company's; paged (a company filter scans the whole invoice)."
    )]
    async fn invoice_items(&self, Parameters(a): Parameters<InvoiceItems>) -> ToolResult {
        self.run("invoice_items", &a, async {
            let (page, size) = paging(&a.paging)?;
            match a.company_id {
                None => page_of(self.client.invoices().items(a.invoice_id), 0, page, size, support::invoice_item).await,
                Some(company) => {
                    let all =
                        self.client.invoices().items(a.invoice_id).concurrency(4).collect_all().await.map_err(e)?;
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
        description = "Draft (not yet invoiced) items for this month (month_offset 0) or next month (1), optionally for one company; paged."
    )]
    async fn draft_invoice_items(&self, Parameters(a): Parameters<DraftItems>) -> ToolResult {
        self.run("draft_invoice_items", &a, async {
            let (page, size) = paging(&a.paging)?;
            let offset = a.month_offset.unwrap_or(0);
            if !(0..=1).contains(&offset) {
                return Err("month_offset must be 0 (this month) or 1 (next month)".into());
            }
            page_of(
                self.client.invoices().draft_items(Some(offset), a.company_id),
                0,
                page,
                size,
                support::invoice_item,
            )
            .await
        })
        .await
    }

    #[tool(description = "Search the catalogue by name, vendor or SKU; paged.")]
    async fn products_search(&self, Parameters(a): Parameters<ProductsSearch>) -> ToolResult {
        self.run("products_search", &a, async {
            let (page, size) = paging(&a.paging)?;
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
            page_of(paginator, 0, page, size, support::product).await
        })
        .await
    }

    #[tool(description = "One product.")]
    async fn product_get(&self, Parameters(a): Parameters<ProductId>) -> ToolResult {
        self.run("product_get", &a, async {
            let d = self.client.products().get(a.product_id).await.map_err(e)?;
            Ok(json!({"id": d.id, "name": d.name, "vendor": d.vendor_name, "sku": d.sku, "vendor_sku": d.vendor_sku,
                "requires_commitment": d.requires_commitment, "short_description": d.short_description}))
        })
        .await
    }

    #[tool(description = "Pricing of a product per billing term, with a company's own rates when company_id is given.")]
    async fn product_pricing(&self, Parameters(a): Parameters<PricingArgs>) -> ToolResult {
        self.run("product_pricing", &a, async {
            let p = self.client.products().pricing(a.product_id, a.company_id).await.map_err(e)?;
            Ok(json!({"items": p.iter().map(support::pricing).collect::<Vec<_>>()}))
        })
        .await
    }

    #[tool(description = "Dependencies of a product: commitment terms (ids to order with) and required products.")]
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

    #[tool(description = "Provisioning details an order of this product needs.")]
    async fn product_provisioning_details(&self, Parameters(a): Parameters<ProductId>) -> ToolResult {
        self.run("product_provisioning_details", &a, async {
            let d = self.client.products().provisioning_details(a.product_id).await.map_err(e)?;
            Ok(json!({"items": d.iter().map(|x| json!({"key": x.key, "label": x.label, "value_type": x.value_type,
                "possible_values": x.possible_values})).collect::<Vec<_>>()}))
        })
        .await
    }

    #[tool(description = "List orders, optionally of one company; paged.")]
    async fn orders_list(&self, Parameters(a): Parameters<OrdersList>) -> ToolResult {
        self.run("orders_list", &a, async {
            let (page, size) = paging(&a.paging)?;
            let company = a.company_id;
            let paginator = self.client.orders().list_with(move |q| match company {
                Some(c) => q.company_id(c),
                None => q,
            });
            page_of(paginator, 0, page, size, support::order).await
        })
        .await
    }

    #[tool(description = "One order with its line items.")]
    async fn order_get(&self, Parameters(a): Parameters<OrderId>) -> ToolResult {
        self.run("order_get", &a, async { Ok(support::order(&self.client.orders().get(a.order_id).await.map_err(e)?)) })
            .await
    }

    #[tool(description = "List quotes; paged (page from 0, size up to 100).")]
    async fn quotes_list(&self, Parameters(a): Parameters<PageArgs>) -> ToolResult {
        self.run("quotes_list", &a, async {
            let (page, size) = paging(&a)?;
            page_of(self.client.quotes().list(), 0, page, size.min(100), |q| {
                json!({"id": q.id, "reference": q.reference_code, "client": q.client.name, "status": q.status,
                    "recurring_total": q.totals.recurring_total.amount})
            })
            .await
        })
        .await
    }

    #[tool(description = "One quote with its line items.")]
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

    // ---------- writes: preview, then execute with the token ----------

    #[tool(
        description = "Preview an order: the server validates it as a dry run (isMock) and nothing is created. Returns the price impact and a single-use confirmation_token for order_execute."
    )]
    async fn order_preview(&self, Parameters(a): Parameters<OrderArgs>) -> ToolResult {
        self.run("order_preview", &a, async {
            let preview = self.order_preview_body(&a).await?;
            let token = self.confirmations.issue("order", serde_json::to_value(&a).expect("json"));
            Ok(json!({"preview": preview, "confirmation_token": token, "expires_in_seconds": CONFIRMATION_TTL.as_secs()}))
        })
        .await
    }

    #[tool(
        description = "Place an order previewed with order_preview: needs its confirmation_token and exactly the same arguments."
    )]
    async fn order_execute(&self, Parameters(a): Parameters<OrderExecute>) -> ToolResult {
        self.run("order_execute", &a, async {
            self.confirmations.redeem(
                &a.confirmation_token,
                "order",
                &serde_json::to_value(&a.order).expect("json"),
            )?;
            let order = self.new_order(&a.order);
            let attempt = pax8_ext::Timestamp::from(chrono::Utc::now());
            match self.client.orders().create(order.clone()).send().await {
                Ok(placed) => Ok(json!({"placed": true, "order": support::order(&placed)})),
                Err(pax8_ext::Error::AnswerUnreadable { id, .. }) => Ok(json!({
                    "placed": true,
                    "order_id": id,
                    "note": "the order was placed but its answer could not be read; do not retry"
                })),
                Err(err) if err.is_outcome_unknown() => {
                    match self.client.orders().find_recent_matching(&order, attempt).await.as_deref() {
                        Ok([one]) => Ok(json!({
                            "placed": true,
                            "order": support::order(one),
                            "note": "the answer was lost but the order exists: do not retry"
                        })),
                        _ => Err(format!(
                            "unknown outcome: {err}. Do not retry: list the company's orders (orders_list) first; \
                             only if no such order exists, preview and place it again"
                        )),
                    }
                }
                Err(err) => Err(e(err)),
            }
        })
        .await
    }

    #[tool(
        description = "Preview a quantity change: current and new quantity, monthly revenue and cost impact. Returns a single-use confirmation_token for subscription_quantity_execute."
    )]
    async fn subscription_quantity_preview(&self, Parameters(a): Parameters<QuantityArgs>) -> ToolResult {
        self.run("subscription_quantity_preview", &a, async {
            if a.quantity == 0 {
                return Err("quantity must be at least 1; to end a subscription use subscription_cancel_preview".into());
            }
            let s = self.client.subscriptions().get(a.subscription_id).await.map_err(e)?;
            let delta = f64::from(a.quantity) - s.quantity.unwrap_or(0.0);
            let months = months_per_period(&s);
            let preview = json!({"subscription": support::subscription(&s), "quantity_now": s.quantity, "quantity_new": a.quantity,
                "monthly_revenue_change": delta * s.price.unwrap_or(0.0) / months,
                "monthly_cost_change": delta * s.partner_cost.unwrap_or(0.0) / months});
            let token = self.confirmations.issue("quantity", serde_json::to_value(&a).expect("json"));
            Ok(json!({"preview": preview, "confirmation_token": token, "expires_in_seconds": CONFIRMATION_TTL.as_secs()}))
        })
        .await
    }

    #[tool(
        description = "Apply a quantity change previewed with subscription_quantity_preview (same arguments and its token)."
    )]
    async fn subscription_quantity_execute(&self, Parameters(a): Parameters<QuantityExecute>) -> ToolResult {
        self.run("subscription_quantity_execute", &a, async {
            self.confirmations.redeem(
                &a.confirmation_token,
                "quantity",
                &serde_json::to_value(&a.change).expect("json"),
            )?;
            let s = self
                .client
                .subscriptions()
                .update_quantity(a.change.subscription_id, i64::from(a.change.quantity))
                .await
                .map_err(e)?;
            Ok(json!({"updated": true, "subscription": support::subscription(&s)}))
        })
        .await
    }

    #[tool(
        description = "Preview cancelling a subscription: the monthly revenue lost and cost saved. Returns a single-use confirmation_token for subscription_cancel_execute."
    )]
    async fn subscription_cancel_preview(&self, Parameters(a): Parameters<CancelArgs>) -> ToolResult {
        self.run("subscription_cancel_preview", &a, async {
            if let Some(d) = &a.cancel_date {
                date(d)?;
            }
            let s = self.client.subscriptions().get(a.subscription_id).await.map_err(e)?;
            let preview = json!({"subscription": support::subscription(&s), "cancel_date": a.cancel_date,
                "monthly_revenue_lost": monthly_revenue(&s), "monthly_cost_saved": monthly_cost(&s)});
            let token = self.confirmations.issue("cancel", serde_json::to_value(&a).expect("json"));
            Ok(json!({"preview": preview, "confirmation_token": token, "expires_in_seconds": CONFIRMATION_TTL.as_secs()}))
        })
        .await
    }

    #[tool(
        description = "Cancel a subscription previewed with subscription_cancel_preview (same arguments and its token)."
    )]
    async fn subscription_cancel_execute(&self, Parameters(a): Parameters<CancelExecute>) -> ToolResult {
        self.run("subscription_cancel_execute", &a, async {
            self.confirmations.redeem(
                &a.confirmation_token,
                "cancel",
                &serde_json::to_value(&a.cancel).expect("json"),
            )?;
            let when = a.cancel.cancel_date.as_deref().map(date).transpose()?.map(|d| d.to_timestamp());
            self.client.subscriptions().cancel(a.cancel.subscription_id, when).await.map_err(e)?;
            Ok(json!({"cancelled": true, "subscription_id": a.cancel.subscription_id}))
        })
        .await
    }
}

impl Pax8Tools {
    fn new_order(&self, a: &OrderArgs) -> v1::CreateOrder {
        NewOrder::for_company(a.company_id)
            .line(a.product_id, a.quantity, &a.billing_term, a.commitment_term_id)
            .build()
    }

    async fn order_preview_body(&self, a: &OrderArgs) -> Result<Value, String> {
        if a.quantity == 0 {
            return Err("quantity must be at least 1".into());
        }
        let validated = self.client.orders().create(self.new_order(a)).mock(true).send().await.map_err(e)?;
        let pricing = self.client.products().pricing(a.product_id, Some(a.company_id)).await.map_err(e)?;
        let rate = pax8_ext::insights::rate_for(&pricing, &a.billing_term, f64::from(a.quantity));
        let unit = rate.and_then(|r| r.partner_buy_rate).unwrap_or(0.0);
        let retail = rate.and_then(|r| r.suggested_retail_price).unwrap_or(0.0);
        let months = pax8_ext::insights::months_for_term(&a.billing_term);
        let q = f64::from(a.quantity);
        Ok(json!({"validated_by_dry_run": true, "line_items": validated.line_items.len(), "unit_price": unit,
            "total_per_term": unit * q, "monthly_cost": unit * q / months, "monthly_revenue": retail * q / months}))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Pax8Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(rmcp::model::Implementation::new("pax8", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Pax8 marketplace tools for an MSP: look up companies, subscriptions, usage, invoices, products, orders and \
                 quotes. Workflow: resolve the company first (company_resolve), then list what it owns (subscriptions_list, \
                 invoices_list, orders_list). Writes (when enabled) are two steps: call a *_preview tool, show the result to \
                 the user, then call the *_execute tool with the returned confirmation_token and the same arguments. If an \
                 order's outcome is reported unknown, list the company's orders before placing it again.",
            )
    }
}

/// Serves MCP over stdin/stdout until the client disconnects.
pub async fn serve_stdio(tools: Pax8Tools) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let running = tools.serve(rmcp::transport::stdio()).await?;
    running.waiting().await?;
    Ok(())
}

/// Serves MCP over streamable HTTP at `http://{addr}/mcp`; only loopback addresses are accepted.
/// Every request must carry `Authorization: Bearer <token>` (401 otherwise), and a request from
/// a browser page of another origin is refused (403), so neither another local process nor a web
/// page can call the tools.
pub async fn serve_http(
    tools: Pax8Tools,
    addr: SocketAddr,
    token: pax8_ext::SecretString,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    use rmcp::transport::streamable_http_server::{StreamableHttpService, session::local::LocalSessionManager};
    if !addr.ip().is_loopback() {
        return Err(format!("{addr} is not a loopback address: the MCP server only listens on this machine").into());
    }
    if token.expose().len() < 16 {
        return Err("the HTTP bearer token must be at least 16 characters".into());
    }
    let service = StreamableHttpService::new(
        move || Ok(tools.clone()),
        LocalSessionManager::default().into(),
        Default::default(),
    );
    let guard = HttpGuard { token, port: addr.port() };
    let router = axum::Router::new()
        .nest_service("/mcp", service)
        .layer(axum::middleware::from_fn_with_state(guard, http_guard));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, router).await?;
    Ok(())
}

/// A random bearer token for [`serve_http`] (32 hex characters).
pub fn random_token() -> pax8_ext::SecretString {
    let bytes: [u8; 16] = rand::random();
    pax8_ext::SecretString::new(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

#[derive(Clone)]
struct HttpGuard {
    token: pax8_ext::SecretString,
    port: u16,
}

/// Refuses requests without the bearer token, and requests whose `Origin` is not this server.
async fn http_guard(
    axum::extract::State(guard): axum::extract::State<HttpGuard>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    use subtle::ConstantTimeEq;
    let headers = request.headers();
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        let port = guard.port;
        let local =
            [format!("http://127.0.0.1:{port}"), format!("http://localhost:{port}"), format!("http://[::1]:{port}")];
        if !local.iter().any(|o| o == origin) {
            return (StatusCode::FORBIDDEN, "foreign Origin refused").into_response();
        }
    }
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .unwrap_or("");
    if !bool::from(presented.as_bytes().ct_eq(guard.token.expose().as_bytes())) {
        return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], "bearer token required")
            .into_response();
    }
    next.run(request).await
}
