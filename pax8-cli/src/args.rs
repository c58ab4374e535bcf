//! The commands and their arguments (clap): what `pax8 --help` shows.

use clap::{Args, Subcommand, ValueEnum};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in, check or forget the stored credentials.
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Companies (customers).
    #[command(subcommand)]
    Companies(CompaniesCommand),
    /// Contacts of a company.
    #[command(subcommand)]
    Contacts(ContactsCommand),
    /// The product catalogue.
    #[command(subcommand)]
    Products(ProductsCommand),
    /// Orders (create previews a dry run, then asks).
    #[command(subcommand)]
    Orders(OrdersCommand),
    /// Subscriptions (update and cancel preview, then ask).
    #[command(subcommand)]
    Subscriptions(SubscriptionsCommand),
    /// Invoices, their items, and reconciliation against subscriptions.
    #[command(subcommand)]
    Invoices(InvoicesCommand),
    /// Azure usage summaries and lines.
    #[command(subcommand)]
    Usage(UsageCommand),
    /// Quotes.
    #[command(subcommand)]
    Quotes(QuotesCommand),
    /// Webhooks.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Subscriptions whose commitment ends soon, with the monthly value at risk.
    Renewals {
        /// Window: 30d, 8w, 3mo (calendar months) or 1y.
        #[arg(long, default_value = "30d")]
        within: String,
    },
    /// Reports computed from raw data.
    #[command(subcommand)]
    Report(ReportCommand),
    /// A one-screen summary: customers, subscriptions, MRR, renewals, unpaid invoices.
    Status,
    /// Mirror the tenant into a database (SQLite by default; Postgres with --db postgres://...).
    Sync {
        /// sqlite://FILE or postgres://USER:PASSWORD@HOST/DB.
        #[arg(long, default_value = "sqlite://pax8.db", env = "PAX8_DB")]
        db: String,
    },
    /// Subscriptions whose quantity or price changed between snapshots of the mirror.
    Drift {
        /// Window, e.g. 7d, 4w.
        #[arg(long, default_value = "7d")]
        since: String,
        /// The mirror: sqlite://FILE or postgres://USER:PASSWORD@HOST/DB.
        #[arg(long, default_value = "sqlite://pax8.db", env = "PAX8_DB")]
        db: String,
    },
    /// Demo mode: every command talks to a simulated Pax8 whose state is kept between commands.
    #[command(subcommand)]
    Demo(DemoCommand),
    /// Print a shell completion script (e.g. `pax8 completions bash > ~/.local/share/bash-completion/completions/pax8`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Serve the agent tools over MCP (stdio by default).
    Mcp {
        /// Offer the write tools (create order, change quantity, cancel), each previewed first
        /// (the `approve` policy for every write).
        #[arg(long)]
        allow_writes: bool,
        /// Per-tool policy file (TOML: `[tools]` then `tool = "auto" | "approve" | "deny"`);
        /// tools it does not name: reads auto, writes approve.
        #[arg(long, value_name = "FILE", conflicts_with = "allow_writes")]
        policy: Option<std::path::PathBuf>,
        /// Audit log (JSON lines; default: mcp-audit.jsonl beside the stored credentials).
        #[arg(long)]
        audit_log: Option<std::path::PathBuf>,
        /// Serve streamable HTTP on this loopback address (e.g. 127.0.0.1:8931) instead of stdio.
        #[arg(long)]
        http: Option<std::net::SocketAddr>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// Turn demo mode on (a state saved earlier is kept: `pax8 demo reset` starts afresh).
    On {
        /// The fixture's seed (the same seed, the same companies and catalogue).
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// How many companies the fixture has (1 to 2,000).
        #[arg(long, default_value_t = 25, value_parser = clap::value_parser!(u16).range(1..=2000))]
        companies: u16,
    },
    /// Turn demo mode off (the saved state stays for the next `pax8 demo on`).
    Off {
        /// Also delete the saved state.
        #[arg(long)]
        forget: bool,
    },
    /// Say whether demo mode is on and what its state holds.
    Status,
    /// Delete the saved state: the next command starts from the fixture again.
    Reset,
}

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Store credentials (from flags, the environment, or a prompt with the secret masked).
    Login {
        /// The client id (else PAX8_CLIENT_ID, else a prompt).
        #[arg(long)]
        client_id: Option<String>,
        /// Read the secret from standard input (one line).
        #[arg(long)]
        client_secret_stdin: bool,
        /// Another environment (e.g. a local simulator).
        #[arg(long)]
        base_url: Option<String>,
    },
    /// Mint a token and count the companies visible.
    Status,
    /// Forget the stored credentials.
    Logout,
}

/// Paging of list commands.
#[derive(Debug, Args, Clone, Copy)]
pub struct Paging {
    /// Page through everything (default: the first page).
    #[arg(long)]
    pub all: bool,
    /// Items per page (1 to 200; default 50, or the largest the API allows with --all).
    #[arg(long)]
    pub size: Option<u32>,
    /// Which page (0 is the first; the footer and `--json`'s `paging.next` name the next one).
    #[arg(long, default_value_t = 0, conflicts_with = "all")]
    pub page: u32,
}

#[derive(Debug, Subcommand)]
pub enum CompaniesCommand {
    /// List companies.
    List {
        #[command(flatten)]
        paging: Paging,
        /// Only companies in this city.
        #[arg(long)]
        city: Option<String>,
        /// Only companies in this country (a code, e.g. US).
        #[arg(long)]
        country: Option<String>,
        /// Active, Inactive or Deleted.
        #[arg(long)]
        status: Option<String>,
    },
    /// Show one company (by id or by name).
    Show {
        /// A company id or name.
        company: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ContactsCommand {
    /// List the contacts of a company (by id or by name).
    List {
        /// A company id or name.
        company: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProductsCommand {
    /// List products.
    List {
        #[command(flatten)]
        paging: Paging,
        /// Name, vendor or SKU (2 to 256 characters).
        #[arg(long)]
        search: Option<String>,
        /// Only this vendor's products.
        #[arg(long)]
        vendor: Option<String>,
    },
    /// Show a product with its pricing (with a company's rates when given).
    Show {
        /// A product id or name.
        product: String,
        /// Also show this company's own prices (id or name).
        #[arg(long)]
        company: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrdersCommand {
    /// List orders.
    List {
        #[command(flatten)]
        paging: Paging,
        /// Only this company's orders (id or name).
        #[arg(long)]
        company: Option<String>,
    },
    /// Show an order.
    Show {
        /// The order id.
        order: String,
    },
    /// Order a product for a company: previews a dry run, then asks.
    Create {
        /// The company (id or name).
        #[arg(long)]
        company: String,
        /// The product (id or name).
        #[arg(long)]
        product: String,
        /// Seats or units, at least 1.
        #[arg(long)]
        quantity: u32,
        /// Monthly, Annual...
        #[arg(long, default_value = "Monthly")]
        term: String,
        /// Do not ask.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SubscriptionsCommand {
    /// List subscriptions.
    List {
        #[command(flatten)]
        paging: Paging,
        /// Only this company's subscriptions (id or name).
        #[arg(long)]
        company: Option<String>,
        /// Only this status: Active, Cancelled, PendingManual, ... (checked against the API's values).
        #[arg(long)]
        status: Option<String>,
        /// Monthly, Annual...
        #[arg(long)]
        term: Option<String>,
    },
    /// Show a subscription.
    Show {
        /// The subscription id.
        subscription: String,
    },
    /// Change the quantity: previews the price impact, then asks.
    Update {
        /// The subscription id.
        subscription: String,
        /// The new quantity, at least 1.
        #[arg(long)]
        quantity: u32,
        /// Skip the confirmation (needed without a terminal).
        #[arg(long)]
        yes: bool,
    },
    /// Cancel: previews the revenue lost, then asks.
    Cancel {
        /// The subscription id.
        subscription: String,
        /// Cancel at this date (YYYY-MM-DD) instead of now.
        #[arg(long)]
        date: Option<String>,
        /// Skip the confirmation (needed without a terminal).
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum InvoicesCommand {
    /// List invoices.
    List {
        #[command(flatten)]
        paging: Paging,
        /// Unpaid, Paid, ...
        #[arg(long)]
        status: Option<String>,
    },
    /// Show an invoice.
    Show {
        /// The invoice id.
        invoice: String,
    },
    /// The items of an invoice.
    Items {
        /// The invoice id.
        invoice: String,
        #[command(flatten)]
        paging: Paging,
    },
    /// Invoice items against active subscriptions: quantity and price differences, items
    /// without a subscription, subscriptions without a charge, with the amount at stake.
    Reconcile {
        /// The invoice (default: the latest).
        #[arg(long)]
        invoice: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UsageCommand {
    /// Usage summaries of a subscription.
    Summaries {
        /// The Azure plan subscription id.
        subscription: String,
    },
    /// Usage lines of a summary for one day.
    Lines {
        /// The usage summary id.
        summary: String,
        /// YYYY-MM-DD.
        #[arg(long)]
        date: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum QuotesCommand {
    /// List quotes.
    List {
        #[command(flatten)]
        paging: Paging,
    },
    /// Show a quote.
    Show {
        /// The quote id.
        quote: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// List webhooks.
    List {
        #[command(flatten)]
        paging: Paging,
    },
    /// Show a webhook.
    Show {
        /// The webhook id.
        webhook: String,
    },
    /// Receive Pax8 lifecycle events into the mirror (token from PAX8_WEBHOOK_TOKEN).
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8787.
        #[arg(long)]
        listen: std::net::SocketAddr,
        /// The mirror: sqlite://FILE or postgres://USER:PASSWORD@HOST/DB.
        #[arg(long, default_value = "sqlite://pax8.db", env = "PAX8_DB")]
        db: String,
    },
    /// Create a webhook in Pax8 that sends the given topics to URL with the bearer token from
    /// PAX8_WEBHOOK_TOKEN.
    Register {
        /// Where Pax8 posts the events (https://...).
        #[arg(long)]
        url: String,
        /// Comma-separated topics, e.g. SUBSCRIPTION_UPDATED,COMPANY_CREATED.
        #[arg(long, value_delimiter = ',')]
        topics: Vec<String>,
        /// The webhook's name in Pax8.
        #[arg(long, default_value = "pax8-rs mirror")]
        name: String,
    },
    /// Trigger a test delivery of a topic.
    Test {
        /// The webhook id.
        webhook: String,
        /// The topic of the test event, e.g. SUBSCRIPTION_UPDATED.
        #[arg(long)]
        topic: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GroupBy {
    Company,
    Vendor,
    Product,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Monthly recurring cost and revenue, annual terms amortized monthly.
    Mrr {
        /// Group by company, vendor or product.
        #[arg(long, value_enum, default_value = "company")]
        by: GroupBy,
    },
}
