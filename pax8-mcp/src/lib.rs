//! An MCP server that gives AI agents safe access to Pax8.
//!
//! - Read tools (companies, subscriptions, Azure usage, invoices, products, orders, quotes) with
//!   JSON schemas for their arguments and results trimmed to what an agent needs.
//! - Write tools (create order, change quantity, cancel) in two steps: a preview (a server dry
//!   run for orders, the price impact for quantity changes) returns a single-use confirmation
//!   token; the execute call needs that token and the same arguments.
//! - A per-tool [`Policy`] (`auto`, `approve`, `deny`); writes are denied unless enabled.
//! - Strict arguments (unknown names refused), titles and annotations on every tool, prompts
//!   for common tasks.
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

mod args;
mod http;
mod oauth;
mod plans;
mod policy;
mod prompts;
mod reads;
mod schema;
mod support;
mod writes;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use pax8_ext::Pax8Client;
use rmcp::handler::server::router::prompt::PromptRouter;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{CallToolResult, ContentBlock, ServerCapabilities, ServerConfig};
use rmcp::{ErrorData, ServerHandler, ServiceExt, prompt_handler, tool_handler};
use serde::Serialize;
use serde_json::Value;

pub use args::{MAX_PAGE, MAX_QUANTITY, Parameters};
pub use http::{HttpOptions, random_token, serve_http, serve_http_with};
pub use oauth::OAuthConfig;
pub use plans::PlanStore;
pub use policy::{Decision, Policy};
use support::Confirmations;
pub use support::{Audit, CONFIRMATION_TTL};

/// How the server behaves.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Offer the write tools with the `approve` policy (when no policy is given).
    pub allow_writes: bool,
    /// The policy of every tool (overrides `allow_writes`; see [`Pax8Tools::load_policy`]).
    pub policy: Option<Policy>,
    /// Append every call to this JSON-lines file.
    pub audit_log: Option<PathBuf>,
    /// The mirror database: offers the renewal plan tools.
    pub plans: Option<PlanStore>,
}

/// The MCP server.
#[derive(Clone)]
pub struct Pax8Tools {
    client: Pax8Client,
    audit: Option<Arc<Audit>>,
    confirmations: Arc<Confirmations>,
    policy: Arc<Policy>,
    plans: Option<PlanStore>,
    tool_router: ToolRouter<Self>,
    prompt_router: PromptRouter<Self>,
}

impl std::fmt::Debug for Pax8Tools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pax8Tools").field("client", &self.client).field("policy", &self.policy).finish_non_exhaustive()
    }
}

pub(crate) type ToolResult = Result<CallToolResult, ErrorData>;

pub(crate) fn e(err: pax8_ext::Error) -> String {
    support::explain(&err)
}

pub(crate) async fn page_of<T: Serialize + Send + 'static>(
    paginator: pax8_ext::Paginator<T>,
    page: Option<u32>,
    size: Option<u32>,
    trim: impl Fn(&T) -> Value,
) -> Result<Value, String> {
    // The listing's own bounds (its maximum size, where its pages start), from the document.
    let bounds = paginator.paging();
    let (page, size) = args::paging(page, size, bounds.max_size)?;
    let number = bounds.first_page.checked_add(page).ok_or_else(|| format!("page {page} is too large"))?;
    let p = paginator.page_size(size).page(number).await.map_err(e)?;
    Ok(support::page(p.items.iter().map(trim).collect(), page, size, p.total_pages, p.total_elements))
}

fn names(router: &ToolRouter<Pax8Tools>) -> Vec<String> {
    let mut names: Vec<String> = router.list_all().into_iter().map(|t| t.name.to_string()).collect();
    names.sort();
    names
}

/// Results that are one summary.
#[derive(schemars::JsonSchema)]
#[allow(dead_code)] // (only its schema is used)
struct Items<T> {
    /// The items.
    items: Vec<T>,
}

/// Declares the output schema of the tools whose results are pax8-ext's summary types.
fn output_schemas(router: &mut ToolRouter<Pax8Tools>) {
    use pax8_ext::ops::orders::{OrderPreview, OrderReport};
    use pax8_ext::ops::subscriptions::{CancelPreview, CancelReport, QuantityPreview, QuantityReport};
    use pax8_ext::views::*;
    use rmcp::handler::server::common::schema_for_output;
    use writes::Previewed;
    let schemas = [
        ("companies_list", schema_for_output::<PageOf<CompanySummary>>()),
        ("company_get", schema_for_output::<CompanySummary>()),
        ("subscriptions_list", schema_for_output::<PageOf<SubscriptionSummary>>()),
        ("subscription_get", schema_for_output::<SubscriptionSummary>()),
        ("subscription_history", schema_for_output::<Items<SubscriptionSummary>>()),
        ("azure_subscriptions", schema_for_output::<Items<SubscriptionSummary>>()),
        ("invoices_list", schema_for_output::<PageOf<InvoiceSummary>>()),
        ("invoice_get", schema_for_output::<InvoiceSummary>()),
        ("invoice_items", schema_for_output::<PageOf<InvoiceItemSummary>>()),
        ("draft_invoice_items", schema_for_output::<PageOf<InvoiceItemSummary>>()),
        ("products_search", schema_for_output::<PageOf<ProductSummary>>()),
        ("orders_list", schema_for_output::<PageOf<OrderSummary>>()),
        ("order_get", schema_for_output::<OrderSummary>()),
        ("order_preview", schema_for_output::<Previewed<OrderPreview>>()),
        ("order_execute", schema_for_output::<OrderReport>()),
        ("subscription_quantity_preview", schema_for_output::<Previewed<QuantityPreview>>()),
        ("subscription_quantity_execute", schema_for_output::<QuantityReport>()),
        ("subscription_cancel_preview", schema_for_output::<Previewed<CancelPreview>>()),
        ("subscription_cancel_execute", schema_for_output::<CancelReport>()),
    ];
    for (name, schema) in schemas {
        if let Some(route) = router.map.get_mut(name) {
            route.attr.output_schema = Some(schema);
        }
    }
}

/// Every tool's argument and result schemas in standard JSON Schema (see [`schema`]).
fn standard_schemas(router: &mut ToolRouter<Pax8Tools>) {
    for route in router.map.values_mut() {
        schema::standardize(Arc::make_mut(&mut route.attr.input_schema));
        if let Some(output) = route.attr.output_schema.as_mut() {
            schema::standardize(Arc::make_mut(output));
        }
    }
}

impl Pax8Tools {
    /// A server over `client` (its credentials, retries and rate limit apply to every tool).
    pub fn new(client: Pax8Client, options: Options) -> std::io::Result<Self> {
        let audit = options.audit_log.as_deref().map(Audit::open).transpose()?.map(Arc::new);
        let (reads, writes) = (Self::read_tools(), Self::write_tools());
        let policy = options.policy.unwrap_or_else(|| {
            let reads: Vec<&str> = reads.iter().map(String::as_str).collect();
            let writes: Vec<&str> = writes.iter().map(String::as_str).collect();
            Policy::defaults(&reads, &writes, options.allow_writes)
        });
        // One router composed of the read and write routers; each tool says its policy, and
        // a denied tool is not offered at all.
        let mut tool_router = Self::read_router() + Self::write_router();
        if options.plans.is_some() {
            tool_router += Self::plans_router();
        }
        for name in reads.iter().chain(&writes) {
            let decision = policy.decision(name);
            if decision == Decision::Deny {
                tool_router.remove_route(name);
            } else if let Some(route) = tool_router.map.get_mut(name.as_str()) {
                let sentence = Policy::describe(decision, name.ends_with("_execute"));
                let description = route.attr.description.as_deref().unwrap_or("").trim_end().to_string();
                route.attr.description = Some(format!("{description} {sentence}").trim().to_string().into());
            }
        }
        output_schemas(&mut tool_router);
        standard_schemas(&mut tool_router);
        Ok(Self {
            client,
            audit,
            confirmations: Arc::new(Confirmations::default()),
            policy: Arc::new(policy),
            plans: options.plans,
            tool_router,
            prompt_router: Self::prompt_router(),
        })
    }

    /// The read tools.
    pub fn read_tools() -> Vec<String> {
        let mut reads = names(&Self::read_router());
        reads.extend(plans::PLAN_READS.iter().map(|t| t.to_string()));
        reads
    }

    /// The write tools and their previews (a preview changes nothing, but is offered only
    /// where writes are: its token is of no use otherwise).
    pub fn write_tools() -> Vec<String> {
        let mut writes = names(&Self::write_router());
        writes.extend(names(&Self::plans_router()).into_iter().filter(|t| !plans::PLAN_READS.contains(&t.as_str())));
        writes
    }

    /// Every tool, read and write (the plan tools are offered only with a mirror database).
    pub fn all_tool_names() -> Vec<String> {
        let mut all = names(&(Self::read_router() + Self::write_router() + Self::plans_router()));
        all.dedup();
        all
    }

    /// A policy file's text (TOML, see [`Policy`]) checked against this server's tools.
    pub fn load_policy(text: &str) -> Result<Policy, String> {
        let all = Self::all_tool_names();
        let writes = Self::write_tools();
        let reads: Vec<&str> = all.iter().filter(|t| !writes.contains(t)).map(String::as_str).collect();
        let writes: Vec<&str> = writes.iter().map(String::as_str).collect();
        Policy::from_toml(text, &reads, &writes)
    }

    /// What `/readyz` checks: a partner token can be had (the cached one while fresh).
    pub fn readiness(&self) -> pax8_serve::Readiness {
        let client = self.client.clone();
        pax8_serve::Readiness::default().check("pax8_credentials", move || {
            let client = client.clone();
            async move { client.ensure_token().await.map_err(|e| e.to_string()) }
        })
    }

    /// Runs a tool body, records it in the audit log, and turns errors into tool errors.
    async fn run<A: Serialize>(
        &self,
        tool: &str,
        args: &A,
        body: impl Future<Output = Result<Value, String>>,
    ) -> ToolResult {
        let started = Instant::now();
        let decision = self.policy.decision(tool);
        let result = if decision == Decision::Deny {
            Err(format!("{tool} is denied by this server's policy"))
        } else {
            body.await
        };
        let outcome = if result.is_ok() { "ok" } else { "error" };
        let labels = [("tool", tool.to_string()), ("outcome", outcome.to_string()), ("decision", decision.to_string())];
        metrics::counter!("pax8_mcp_tool_calls_total", &labels).increment(1);
        metrics::histogram!("pax8_mcp_tool_call_duration_seconds", "tool" => tool.to_string())
            .record(started.elapsed().as_secs_f64());
        if let Some(audit) = &self.audit {
            let arguments = serde_json::to_value(args).unwrap_or(Value::Null);
            let outcome = result.as_ref().map(|_| ()).map_err(String::as_str);
            audit.record(tool, &arguments, &decision.to_string(), outcome, started.elapsed());
        }
        Ok(match result {
            Ok(value) => CallToolResult::structured(value),
            Err(message) => CallToolResult::error(vec![ContentBlock::text(message)]),
        })
    }
}

#[tool_handler(router = self.tool_router)]
#[prompt_handler(router = self.prompt_router)]
impl ServerHandler for Pax8Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_prompts().build())
            .with_server_info(rmcp::model::Implementation::new("pax8", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Pax8 marketplace tools for an MSP: look up companies, subscriptions, usage, invoices, products, orders and \
                 quotes. Workflow: resolve the company first (company_resolve), then list what it owns (subscriptions_list, \
                 invoices_list, orders_list). Writes (when the policy offers them) are two steps: call a *_preview tool, \
                 show the result to the user, then call the *_execute tool with the returned confirmation_token and the \
                 same arguments. Each tool's description ends with its policy. If an order's outcome is reported \
                 unknown, list the company's orders before placing it again.",
            )
    }
}

/// Serves MCP over stdin/stdout until the client disconnects.
pub async fn serve_stdio(tools: Pax8Tools) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let running = tools.serve(rmcp::transport::stdio()).await?;
    running.waiting().await?;
    Ok(())
}
