//! Arguments of the partner API's commands: companies, contacts, products, orders,
//! subscriptions, invoices, usage.

use clap::{Args, Subcommand};

use super::{Paging, count};

#[derive(Debug, Subcommand)]
pub enum CompaniesCommand {
    /// Every company as JSON lines or CSV, streamed (constant memory at any size).
    Export {
        #[command(flatten)]
        source: ExportSource,
    },
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
    /// Create a company (previewed, then confirmed).
    Create {
        /// The company's name.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        details: CompanyDetails,
        /// Skip the confirmation (needed without a terminal).
        #[arg(long)]
        yes: bool,
    },
    /// Change a company's details (the changes previewed, then confirmed).
    Update {
        /// A company id or name.
        company: String,
        /// A new name.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        details: CompanyDetails,
        /// Skip the confirmation (needed without a terminal).
        #[arg(long)]
        yes: bool,
    },
}

/// A company's details other than its name (each optional).
#[derive(Debug, Args, Clone, Default)]
pub struct CompanyDetails {
    /// Street and number.
    #[arg(long)]
    pub street: Option<String>,
    /// City.
    #[arg(long)]
    pub city: Option<String>,
    /// State or province.
    #[arg(long)]
    pub state: Option<String>,
    /// Postal code.
    #[arg(long)]
    pub postal_code: Option<String>,
    /// Country code (e.g. US).
    #[arg(long)]
    pub country: Option<String>,
    /// Phone number.
    #[arg(long)]
    pub phone: Option<String>,
    /// Website.
    #[arg(long)]
    pub website: Option<String>,
    /// Your own id for the company (e.g. from a PSA).
    #[arg(long)]
    pub external_id: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ContactsCommand {
    /// List the contacts of a company (by id or by name).
    List {
        /// A company id or name.
        company: String,
    },
    /// Add a contact to a company (previewed, then confirmed).
    Create {
        /// A company id or name.
        company: String,
        /// First name.
        #[arg(long)]
        first_name: String,
        /// Last name.
        #[arg(long)]
        last_name: String,
        /// Email address.
        #[arg(long)]
        email: String,
        /// Phone number.
        #[arg(long, default_value = "")]
        phone: String,
        /// Comma-separated roles the contact is primary for: Admin, Billing, Technical.
        #[arg(long, value_delimiter = ',')]
        primary_for: Vec<String>,
        /// Skip the confirmation (needed without a terminal).
        #[arg(long)]
        yes: bool,
    },
    /// Change a contact (the changes previewed, then confirmed).
    Update {
        /// A company id or name.
        company: String,
        /// The contact id.
        contact: String,
        /// New first name.
        #[arg(long)]
        first_name: Option<String>,
        /// New last name.
        #[arg(long)]
        last_name: Option<String>,
        /// New email address.
        #[arg(long)]
        email: Option<String>,
        /// New phone number.
        #[arg(long)]
        phone: Option<String>,
        /// Skip the confirmation (needed without a terminal).
        #[arg(long)]
        yes: bool,
    },
    /// Delete a contact (shown, then confirmed).
    Delete {
        /// A company id or name.
        company: String,
        /// The contact id.
        contact: String,
        /// Skip the confirmation (needed without a terminal).
        #[arg(long)]
        yes: bool,
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
        /// Seats or units (1 to 1,000,000).
        #[arg(long, value_parser = count(1, 1_000_000))]
        quantity: u32,
        /// Monthly, Annual...
        #[arg(long, default_value = "Monthly")]
        term: String,
        /// Do not ask.
        #[arg(long)]
        yes: bool,
    },
}

/// How `export` writes.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ExportFormat {
    /// One JSON object a line (the summary `--json` prints).
    Jsonl,
    /// CSV with a header line, values as written (numbers unrounded, absent values empty).
    Csv,
}

/// Where `export` reads.
#[derive(Debug, Clone, clap::Args)]
pub struct ExportSource {
    /// csv or jsonl.
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: ExportFormat,
    /// From the mirror database (`pax8 sync`) instead of the API: no credentials needed.
    #[arg(long)]
    pub from_mirror: bool,
    /// The mirror: sqlite://FILE or postgres://USER:PASSWORD@HOST/DB.
    #[arg(long, default_value = "sqlite://pax8.db", env = "PAX8_DB")]
    pub db: String,
    /// The mirror's tenant.
    #[arg(long, default_value = pax8_sync::DEFAULT_TENANT, env = "PAX8_TENANT")]
    pub tenant: String,
}

#[derive(Debug, Subcommand)]
pub enum SubscriptionsCommand {
    /// Every subscription as JSON lines or CSV, streamed (constant memory at any size).
    Export {
        #[command(flatten)]
        source: ExportSource,
    },
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
    /// Change the quantity or the billing term: previews the cost impact and the commitment
    /// (decreases and term changes wait for its end), then asks.
    #[command(group = clap::ArgGroup::new("change").required(true).args(["quantity", "term"]))]
    Update {
        /// The subscription id.
        subscription: String,
        /// The new quantity (1 to 1,000,000; `cancel` ends a subscription).
        #[arg(long, value_parser = count(0, 1_000_000))]
        quantity: Option<u32>,
        /// The new billing term (Monthly, Annual, ...).
        #[arg(long)]
        term: Option<String>,
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
    /// An invoice's items as JSON lines or CSV (the items' summaries), streamed from the API or
    /// the mirror (constant memory at any size).
    Export {
        /// The invoice id.
        invoice: String,
        #[command(flatten)]
        source: ExportSource,
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
    /// Audit an invoice: quantities against the mirror's snapshots over the billing period,
    /// prices against the price list and the previous invoice, cancelled subscriptions billed,
    /// duplicate items, billing subscriptions not billed. Whatever cannot be checked is listed:
    /// the verdict is clean (exit 0), findings (exit 10) or incomplete (exit 11).
    Audit {
        /// The invoice id (default: the latest).
        invoice: Option<String>,
        /// The latest invoice (the default, said explicitly).
        #[arg(long, conflicts_with = "invoice")]
        latest: bool,
        /// Only this company's items and subscriptions (id or name).
        #[arg(long)]
        company: Option<String>,
        /// The mirror (its snapshots give each subscription's quantity over the period);
        /// without it the quantities cannot be checked.
        #[arg(long, env = "PAX8_DB")]
        db: Option<String>,
        /// The mirror's tenant.
        #[arg(long, default_value = pax8_sync::DEFAULT_TENANT, env = "PAX8_TENANT")]
        tenant: String,
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
