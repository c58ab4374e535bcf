//! Arguments of quotes, webhooks and reports.

use clap::{Subcommand, ValueEnum};

use super::{Paging, count};

#[derive(Debug, Subcommand)]
pub enum QuotesCommand {
    /// List quotes.
    List {
        #[command(flatten)]
        paging: Paging,
    },
    /// Show a quote and its line items.
    Show {
        /// The quote id.
        quote: String,
    },
    /// Start a quote for a company (previewed, then confirmed).
    Create {
        /// A company id or name.
        #[arg(long)]
        company: String,
        /// Skip the confirmation (needed without a terminal).
        #[arg(long)]
        yes: bool,
    },
    /// Add a product to a quote (priced from the catalogue unless --price; previewed, then
    /// confirmed).
    AddLine {
        /// The quote id.
        quote: String,
        /// A product id or name.
        #[arg(long)]
        product: String,
        /// Seats or units (1 to 1,000,000).
        #[arg(long, value_parser = count(1, 1_000_000))]
        quantity: u32,
        /// Billing term: Monthly, Annual, ...
        #[arg(long, default_value = "Monthly")]
        term: String,
        /// Price per unit to the customer (default: the catalogue's suggested retail price).
        #[arg(long)]
        price: Option<rust_decimal::Decimal>,
        /// Skip the confirmation (needed without a terminal).
        #[arg(long)]
        yes: bool,
    },
    /// Remove a line item from a quote (shown, then confirmed).
    RemoveLine {
        /// The quote id.
        quote: String,
        /// The line item id.
        line: String,
        /// Skip the confirmation (needed without a terminal).
        #[arg(long)]
        yes: bool,
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
        /// Tenants to receive for (repeat the flag): `default`'s token is PAX8_WEBHOOK_TOKEN,
        /// another's PAX8_WEBHOOK_TOKEN_ followed by its name (upper case, other characters as `_`).
        /// Default: the vault's tenants when a master key is given, else `default`.
        #[arg(long = "tenant")]
        tenants: Vec<String>,
        /// Receive for every tenant of the vault with a webhook token (re-read as tokens change):
        /// the master key's file (else PAX8_MASTER_KEY, when set).
        #[arg(long, value_name = "FILE")]
        key_file: Option<std::path::PathBuf>,
        #[command(flatten)]
        serve: super::ServeArgs,
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
    /// A webhook's deliveries: when, the final status and each call's HTTP status.
    Logs {
        /// The webhook id.
        webhook: String,
        #[command(flatten)]
        paging: Paging,
    },
    /// Deliver a logged event again (e.g. one that failed while the receiver was down).
    Retry {
        /// The webhook id.
        webhook: String,
        /// The delivery (log) id, from `webhooks logs`.
        log: String,
        /// Skip the confirmation (needed without a terminal).
        #[arg(long)]
        yes: bool,
    },
    /// Turn a webhook's deliveries on.
    Enable {
        /// The webhook id.
        webhook: String,
        /// Skip the confirmation (needed without a terminal).
        #[arg(long)]
        yes: bool,
    },
    /// Turn a webhook's deliveries off (it is kept).
    Disable {
        /// The webhook id.
        webhook: String,
        /// Skip the confirmation (needed without a terminal).
        #[arg(long)]
        yes: bool,
    },
    /// Delete a webhook.
    Delete {
        /// The webhook id.
        webhook: String,
        /// Skip the confirmation (needed without a terminal).
        #[arg(long)]
        yes: bool,
    },
    /// The topics a webhook can subscribe to, with what each is for.
    Topics {
        #[command(flatten)]
        paging: Paging,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GroupBy {
    Company,
    Vendor,
    Product,
}

/// What a line of `report margins` is.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MarginsBy {
    Subscription,
    Product,
    Company,
    Vendor,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Monthly recurring cost and revenue, annual terms amortized monthly.
    Mrr {
        /// Group by company, vendor or product.
        #[arg(long, value_enum, default_value = "company")]
        by: GroupBy,
    },
    /// Margins: the customer's price, the partner cost and the vendor's suggested retail a
    /// month, per subscription or summed by product, company or vendor; totals rounded once.
    Margins {
        /// One line per subscription, or summed by product, company or vendor.
        #[arg(long, value_enum, default_value = "subscription")]
        by: MarginsBy,
        /// Only this company's subscriptions (id or name).
        #[arg(long)]
        company: Option<String>,
        /// Flag lines whose margin is below this percentage of the price (e.g. 15).
        #[arg(long, value_name = "PCT", allow_negative_numbers = true)]
        below: Option<pax8_ext::money::Decimal>,
    },
}
