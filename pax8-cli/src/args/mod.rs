//! The commands and their arguments (clap): what `pax8 --help` shows.

use clap::{Args, Subcommand};

mod partner;
mod platform;
mod renewals;
mod serve;
mod tools;

pub use partner::{
    CompaniesCommand, CompanyDetails, ContactsCommand, ExportFormat, ExportSource, InvoicesCommand, OrdersCommand,
    ProductsCommand, SubscriptionsCommand, UsageCommand,
};
pub use platform::{TenantsCommand, VaultArgs, WorkerArgs};
pub use renewals::{PlanStore, RenewalsArgs, RenewalsCommand};
pub use serve::ServeArgs;
pub use tools::{GroupBy, MarginsBy, QuotesCommand, ReportCommand, WebhooksCommand};

/// A whole number from `low` to `high`, refused in plain words ("`0` is not a whole number
/// from 1 to 1,000,000") rather than clap's range syntax.
pub(crate) fn count(low: u32, high: u32) -> impl Fn(&str) -> Result<u32, String> + Clone + Send + Sync + 'static {
    move |input| {
        input
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (low..=high).contains(n))
            .ok_or_else(|| format!("`{input}` is not a whole number from {} to {}", grouped(low), grouped(high)))
    }
}

/// 1000000 → "1,000,000".
pub fn grouped(n: u32) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

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
    /// Subscriptions whose commitment ends soon, with the monthly value at risk; and plans for
    /// changes at a commitment's end (`renewals plan|pending|cancel|run`).
    Renewals(RenewalsArgs),
    /// Reports computed from raw data.
    #[command(subcommand)]
    Report(ReportCommand),
    /// A one-screen summary: customers, subscriptions, MRR, renewals, unpaid invoices.
    Status,
    /// Mirror the tenant into a database (SQLite by default; Postgres with --db postgres://...).
    Sync(SyncArgs),
    /// A platform's Pax8 partners: the credential vault in the mirror database (secrets sealed
    /// under PAX8_MASTER_KEY or --key-file).
    #[command(subcommand)]
    Tenants(TenantsCommand),
    /// Sync the vault's tenants when due, as one of any number of workers on one database.
    Worker(WorkerArgs),
    /// Subscriptions whose quantity or price changed between snapshots of the mirror.
    Drift(DriftArgs),
    /// Check this machine: credentials, config permissions, a token, each API group, the
    /// clock against the server's, rate-limit headroom.
    Doctor,
    /// Demo mode: every command talks to a simulated Pax8 whose state is kept between commands.
    #[command(subcommand)]
    Demo(DemoCommand),
    /// Print a shell completion script (e.g. `pax8 completions bash > ~/.local/share/bash-completion/completions/pax8`).
    Completions(CompletionsArgs),
    /// Serve the agent tools over MCP (stdio by default).
    Mcp(McpArgs),
    /// The billing vocabulary in plain words: commitment, NCE, partner cost, retail, margin, ...
    Explain(ExplainArgs),
}

/// `pax8 mcp`: how the agent tools are served.
#[derive(Debug, clap::Args)]
pub struct McpArgs {
    /// Offer the write tools (create order, change quantity, cancel), each previewed first
    /// (the `approve` policy for every write).
    #[arg(long)]
    pub allow_writes: bool,
    /// Per-tool policy file (TOML: `[tools]` then `tool = "auto" | "approve" | "deny"`);
    /// tools it does not name: reads auto, writes approve.
    #[arg(long, value_name = "FILE", conflicts_with = "allow_writes")]
    pub policy: Option<std::path::PathBuf>,
    /// Audit log (JSON lines; default: mcp-audit.jsonl beside the stored credentials).
    #[arg(long)]
    pub audit_log: Option<std::path::PathBuf>,
    /// Serve streamable HTTP on this address (e.g. 127.0.0.1:8931) instead of stdio; callers
    /// present the bearer token PAX8_MCP_TOKEN (a random one is printed once when it is unset and
    /// --oauth-issuer is not given) or an OAuth access token.
    #[arg(long)]
    pub http: Option<std::net::SocketAddr>,
    /// Allow `--http` on an address beyond loopback (behind a TLS proxy): needs --public-url.
    #[arg(long, requires_all = ["http", "public_url"], env = "PAX8_MCP_LISTEN_PUBLIC")]
    pub listen_public: bool,
    /// The URL clients reach the server at (e.g. `https://mcp.example.com/mcp`): its host is the
    /// only Host accepted and its origin the only browser Origin.
    #[arg(long, requires = "listen_public", env = "PAX8_MCP_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Accept OAuth 2.1 access tokens (JWTs) of this authorization server over `--http`: the
    /// issuer (`iss`), whose metadata names the signing keys. PAX8_MCP_TOKEN, if set, is
    /// accepted too.
    #[arg(long, value_name = "URL", requires = "http", env = "PAX8_MCP_OAUTH_ISSUER")]
    pub oauth_issuer: Option<String>,
    /// The audience (`aud`) the access tokens must name (default: the server's own MCP URL).
    #[arg(long, value_name = "AUDIENCE", requires = "oauth_issuer", env = "PAX8_MCP_OAUTH_AUDIENCE")]
    pub oauth_audience: Option<String>,
    /// Where the signing keys are (default: the `jwks_uri` of the issuer's metadata).
    #[arg(long, value_name = "URL", requires = "oauth_issuer", env = "PAX8_MCP_OAUTH_JWKS_URL")]
    pub oauth_jwks_url: Option<String>,
    /// The scope every call needs.
    #[arg(long, value_name = "SCOPE", default_value = "pax8:read", requires = "oauth_issuer")]
    pub oauth_read_scope: String,
    /// The scope a write tool's call (its preview included) also needs.
    #[arg(long, value_name = "SCOPE", default_value = "pax8:write", requires = "oauth_issuer")]
    pub oauth_write_scope: String,
    /// The mirror database (sqlite://FILE or postgres://...): offers the renewal plan tools
    /// (`renewals_pending`, `renewal_plan_preview`, `renewal_plan`).
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,
    /// The tenant the plans are kept under (the credentials in use are its).
    #[arg(long, default_value = pax8_sync::DEFAULT_TENANT, requires = "db")]
    pub tenant: String,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// Turn demo mode on (a state saved earlier is kept: `pax8 demo reset` starts afresh).
    On {
        /// The fixture's seed (the same seed, the same companies and catalogue).
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// How many companies the fixture has (1 to 2,000).
        #[arg(long, default_value_t = 25, value_parser = count(1, 2000))]
        companies: u32,
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

/// `pax8 sync`: where to, whose, how much.
#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// sqlite://FILE or postgres://USER:PASSWORD@HOST/DB.
    #[arg(long, default_value = "sqlite://pax8.db", env = "PAX8_DB")]
    pub db: String,
    /// Whose rows these are: one database can mirror many Pax8 partners, each synced with
    /// its own credentials under its own name.
    #[arg(long, default_value = pax8_sync::DEFAULT_TENANT, env = "PAX8_TENANT")]
    pub tenant: String,
    /// Re-read everything. By default only what can have changed is (contacts of companies
    /// whose updatedDate moved, items of invoices not yet final, Azure usage older than 12 h),
    /// and a sync is full anyway when the last full one is a week old.
    #[arg(long)]
    pub full: bool,
    /// Child lists (contacts, invoice items, usage) fetched at once, all within the rate limit.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub concurrency: u16,
}

/// `pax8 drift`: the window, the mirror and the tenant.
#[derive(Debug, clap::Args)]
pub struct DriftArgs {
    /// Window, e.g. 7d, 4w.
    #[arg(long, default_value = "7d")]
    pub since: String,
    /// The mirror: sqlite://FILE or postgres://USER:PASSWORD@HOST/DB.
    #[arg(long, default_value = "sqlite://pax8.db", env = "PAX8_DB")]
    pub db: String,
    /// The tenant whose subscriptions to compare.
    #[arg(long, default_value = pax8_sync::DEFAULT_TENANT, env = "PAX8_TENANT")]
    pub tenant: String,
}

/// `pax8 completions`: the shell.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `pax8 explain`: the terms.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// The term (e.g. `partner cost`, `coterminosity`); without one, every term.
    pub term: Vec<String>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_are_refused_in_plain_words() {
        let quantity = super::count(1, 1_000_000);
        assert_eq!(quantity("7"), Ok(7));
        assert_eq!(quantity(" 1000000 "), Ok(1_000_000));
        for bad in ["0", "1000001", "-1", "2.5", "4294967296", "many"] {
            assert_eq!(quantity(bad), Err(format!("`{bad}` is not a whole number from 1 to 1,000,000")));
        }
        assert_eq!(super::grouped(0), "0");
        assert_eq!(super::grouped(999), "999");
        assert_eq!(super::grouped(2000), "2,000");
        assert_eq!(super::grouped(u32::MAX), "4,294,967,295");
    }
}
