//! `pax8`: the Pax8 API from the terminal, plus the answers the API does not give.
#![forbid(unsafe_code)]
// Generated types are built with `..Default::default()` so fields a newer document adds need no edit.
#![allow(clippy::needless_update)]

mod args;
mod commands;
mod config_file;
mod creds;
mod demo;
mod fail;
mod idempotency;
mod logging;
#[cfg(feature = "otlp")]
mod otlp;
mod output;
mod resolve;

use std::process::ExitCode;

use clap::Parser;

pub use crate::args::{
    AuthCommand, Command, CompaniesCommand, CompanyDetails, CompletionsArgs, ContactsCommand, DemoCommand, DriftArgs,
    ExplainArgs, ExportFormat, ExportSource, GroupBy, InvoicesCommand, MarginsBy, McpArgs, OrdersCommand, Paging,
    PlanStore, ProductsCommand, QuotesCommand, RenewalsArgs, RenewalsCommand, ReportCommand, ServeArgs,
    SubscriptionsCommand, SyncArgs, TenantsCommand, UsageCommand, VaultArgs, WebhooksCommand, WorkerArgs,
};

use crate::output::{Format, Printer};

/// mimalloc instead of the system allocator: a sync spends a sixth of its CPU allocating and
/// freeing (JSON decoded, records built, statements bound on several threads), where glibc's
/// arenas contend; with mimalloc a full sync of 2,000 companies went from about 29,000 to
/// 36,000 rows/s (`cargo bench -p pax8-sync --bench sync`, which uses it too). Its cost is
/// memory it keeps: a sync's peak RSS is 84 to 94 MiB instead of 38 to 40 (mimalloc's v2, which
/// keeps less than v3), flat from 21,319 to 1,051,147 subscriptions.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The Pax8 API from the terminal.
///
/// Credentials come from `pax8 auth login`, or PAX8_CLIENT_ID / PAX8_CLIENT_SECRET (and
/// PAX8_BASE_URL for another environment). `--sandbox` runs any command against an in-process
/// simulator with its fixture data instead.
/// `pax8 --version`: the crate version and the commit it was built from.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("PAX8_COMMIT"), ")");

#[derive(Debug, Parser)]
#[command(name = "pax8", version = VERSION, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub globals: Globals,
    #[command(subcommand)]
    pub command: Command,
}

/// The flags every command takes (how to print, which Pax8, which config).
#[derive(Debug, clap::Args)]
pub struct Globals {
    /// Run against an in-process Pax8 simulator (fixture data; writes are not kept).
    #[arg(long, global = true)]
    pub sandbox: bool,
    /// One JSON document with stable field names.
    #[arg(long, global = true, conflicts_with_all = ["csv", "quiet"])]
    pub json: bool,
    /// CSV with a header line.
    #[arg(long, global = true, conflicts_with = "quiet")]
    pub csv: bool,
    /// Print nothing but errors (for cron).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Lists print only their ids, one a line (for `xargs` and loops).
    #[arg(long, global = true, conflicts_with_all = ["json", "csv", "quiet"])]
    pub ids_only: bool,
    /// No colour (also off when NO_COLOR is set or stdout is not a terminal).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Diagnostics on stderr: -v one line per request and retries, -vv token refreshes, -vvv
    /// everything of pax8's own crates. RUST_LOG (e.g. `pax8_ext=debug`) replaces this level.
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// The diagnostics' format on stderr: `text` for people, `json` (one object a line, with
    /// the span's fields) for a log pipeline.
    #[arg(long, global = true, value_enum, default_value = "text", env = "PAX8_LOG_FORMAT")]
    pub log_format: logging::LogFormat,
    /// The servers' config file (TOML; `[webhooks]`, `[mcp]`, `[worker]`, keys named as the
    /// flags): default `config.toml` beside the stored credentials, when present. The command
    /// line and the environment override it.
    #[arg(long, global = true, value_name = "FILE", env = "PAX8_CONFIG")]
    pub config: Option<std::path::PathBuf>,
    /// A write's idempotency key (e.g. a UUID): the first outcome is kept for 24 hours and
    /// returned for the same request under the same key without sending it again; a different
    /// request under a used key is refused.
    #[arg(long, global = true, value_name = "KEY")]
    pub idempotency_key: Option<String>,
    /// Use this tenant's credentials from the vault (`pax8 tenants add`) instead of the
    /// process's own: its token and its rate budget are then shared, through the database,
    /// with every worker, server and command using them. The vault is `--vault-db` (default
    /// PAX8_DB), its master key PAX8_MASTER_KEY or the file PAX8_MASTER_KEY_FILE names.
    #[arg(long, global = true, value_name = "NAME", env = "PAX8_VAULT_TENANT", conflicts_with = "sandbox")]
    pub vault_tenant: Option<String>,
    /// The database holding the vault (sqlite://FILE or postgres://…), with `--vault-tenant`.
    #[arg(long, global = true, value_name = "URL", env = "PAX8_VAULT_DB")]
    pub vault_db: Option<String>,
}

fn main() -> ExitCode {
    let argv = match config_file::apply(std::env::args_os().collect(), &<Cli as clap::CommandFactory>::command()) {
        Ok(argv) => argv,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(fail::code::USAGE);
        }
    };
    let cli = Cli::parse_from(argv);
    let globals = &cli.globals;
    let format = if globals.json {
        Format::Json
    } else if globals.csv {
        Format::Csv
    } else if globals.quiet {
        Format::Quiet
    } else if globals.ids_only {
        Format::Ids
    } else {
        Format::Table
    };
    if let Command::Completions(args) = &cli.command {
        // Needs no session, no runtime: the script goes to stdout.
        let shell = args.shell;
        clap_complete::generate(shell, &mut <Cli as clap::CommandFactory>::command(), "pax8", &mut std::io::stdout());
        return ExitCode::SUCCESS;
    }
    let exports = logging::init(globals.verbose, globals.no_color, globals.log_format);
    let printer = Printer::new(format, globals.no_color);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let outcome = runtime.block_on(commands::run(cli, printer));
    drop(runtime);
    exports.finish();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

#[cfg(test)]
mod help_tests {
    use clap::CommandFactory;

    fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for arg in command.get_arguments() {
            let id = arg.get_id().as_str();
            if !matches!(id, "help" | "version") && arg.get_help().is_none() && arg.get_long_help().is_none() {
                missing.push(format!("{path} {id}"));
            }
        }
        for sub in command.get_subcommands() {
            if sub.get_about().is_none() && sub.get_name() != "help" {
                missing.push(format!("{path} {} (no description)", sub.get_name()));
            }
            walk(sub, &format!("{path} {}", sub.get_name()), missing);
        }
    }

    #[test]
    fn every_argument_and_command_has_help() {
        let mut missing = Vec::new();
        walk(&super::Cli::command(), "pax8", &mut missing);
        assert!(missing.is_empty(), "without help text: {missing:#?}");
    }
}
