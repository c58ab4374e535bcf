//! One small trait every command implements ([`Run`]): what it needs before it can run, and how
//! it runs with that. `commands::run` asks the command what it needs, builds only that (a Pax8
//! session, or nothing: the commands that read a local database, the vault or the terminal need
//! no credentials), runs it, and finishes the session. Each command's type is its clap
//! arguments; the work is in the command's module.

use super::session::Session;
use crate::fail::Failure;
use crate::output::Printer;
use crate::{
    AuthCommand, Command, CompaniesCommand, ContactsCommand, DemoCommand, DriftArgs, ExplainArgs, InvoicesCommand,
    McpArgs, OrdersCommand, ProductsCommand, QuotesCommand, RenewalsArgs, RenewalsCommand, ReportCommand,
    SubscriptionsCommand, SyncArgs, TenantsCommand, UsageCommand, WebhooksCommand, WorkerArgs, resolve,
};

/// What a command needs before it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Needs {
    /// Nothing from Pax8: it reads the terminal, a local database or the vault, or opens its own
    /// session (`auth status`, `doctor`) to report on it.
    Nothing,
    /// A Pax8 session: a client with the process's credentials, a vault tenant's or the simulator.
    Session,
}

/// What a command runs with.
pub(crate) struct Context<'a> {
    pub(crate) globals: &'a crate::Globals,
    pub(crate) printer: Printer,
    session: Option<&'a Session>,
}

impl<'a> Context<'a> {
    pub(crate) fn new(globals: &'a crate::Globals, printer: Printer, session: Option<&'a Session>) -> Self {
        Context { globals, printer, session }
    }

    /// The session of a command that said it needs one.
    pub(crate) fn session(&self) -> Result<&'a Session, Failure> {
        self.session.ok_or_else(|| Failure::usage("this command needs a Pax8 session"))
    }
}

/// A command of `pax8`.
pub(crate) trait Run {
    /// What it needs before it runs (a Pax8 session unless it says otherwise).
    fn needs(&self) -> Needs {
        Needs::Session
    }

    /// Runs it.
    async fn run(self, context: &Context<'_>) -> Result<(), Failure>;
}

impl Run for Command {
    fn needs(&self) -> Needs {
        match self {
            Command::Auth(c) => c.needs(),
            Command::Companies(c) => c.needs(),
            Command::Subscriptions(c) => c.needs(),
            Command::Webhooks(c) => c.needs(),
            Command::Renewals(c) => c.needs(),
            Command::Tenants(c) => c.needs(),
            Command::Worker(c) => c.needs(),
            Command::Drift(c) => c.needs(),
            Command::Demo(c) => c.needs(),
            Command::Explain(c) => c.needs(),
            Command::Doctor | Command::Completions(_) => Needs::Nothing,
            Command::Contacts(_)
            | Command::Products(_)
            | Command::Orders(_)
            | Command::Invoices(_)
            | Command::Usage(_)
            | Command::Quotes(_)
            | Command::Report(_)
            | Command::Status
            | Command::Sync(_)
            | Command::Mcp(_) => Needs::Session,
        }
    }

    async fn run(self, cx: &Context<'_>) -> Result<(), Failure> {
        match self {
            Command::Auth(c) => c.run(cx).await,
            Command::Companies(c) => c.run(cx).await,
            Command::Contacts(c) => c.run(cx).await,
            Command::Products(c) => c.run(cx).await,
            Command::Orders(c) => c.run(cx).await,
            Command::Subscriptions(c) => c.run(cx).await,
            Command::Invoices(c) => c.run(cx).await,
            Command::Usage(c) => c.run(cx).await,
            Command::Quotes(c) => c.run(cx).await,
            Command::Webhooks(c) => c.run(cx).await,
            Command::Renewals(c) => c.run(cx).await,
            Command::Report(c) => c.run(cx).await,
            Command::Sync(c) => c.run(cx).await,
            Command::Mcp(c) => c.run(cx).await,
            Command::Tenants(c) => c.run(cx).await,
            Command::Worker(c) => c.run(cx).await,
            Command::Drift(c) => c.run(cx).await,
            Command::Demo(c) => c.run(cx).await,
            Command::Explain(c) => c.run(cx).await,
            // Commands without arguments.
            Command::Status => super::reports::status(cx.session()?).await,
            Command::Doctor => super::doctor::run(cx.globals, cx.printer).await,
            // Printed before a runtime exists (`main`).
            Command::Completions(_) => Err(Failure::usage("completions are printed by `pax8 completions SHELL`")),
        }
    }
}

impl Run for AuthCommand {
    fn needs(&self) -> Needs {
        Needs::Nothing
    }

    async fn run(self, cx: &Context<'_>) -> Result<(), Failure> {
        super::auth::auth(cx.globals, &self, cx.printer).await
    }
}

impl Run for CompaniesCommand {
    fn needs(&self) -> Needs {
        match self {
            CompaniesCommand::Export { source } if source.from_mirror => Needs::Nothing,
            _ => Needs::Session,
        }
    }

    async fn run(self, cx: &Context<'_>) -> Result<(), Failure> {
        match self {
            CompaniesCommand::Export { source } if source.from_mirror => {
                super::export::export(None, super::export::Exported::Companies, &source).await.map(|_| ())
            }
            command => super::companies::run(cx.session()?, command).await,
        }
    }
}

impl Run for ContactsCommand {
    async fn run(self, cx: &Context<'_>) -> Result<(), Failure> {
        super::contacts::run(cx.session()?, self).await
    }
}

impl Run for ProductsCommand {
    async fn run(self, cx: &Context<'_>) -> Result<(), Failure> {
        super::products::run(cx.session()?, self).await
    }
}

impl Run for OrdersCommand {
    async fn run(self, cx: &Context<'_>) -> Result<(), Failure> {
        super::orders::run(cx.session()?, self).await
    }
}

impl Run for SubscriptionsCommand {
    fn needs(&self) -> Needs {
        match self {
            SubscriptionsCommand::Export { source } if source.from_mirror => Needs::Nothing,
            _ => Needs::Session,
        }
    }

    async fn run(self, cx: &Context<'_>) -> Result<(), Failure> {
        match self {
            SubscriptionsCommand::Export { source } if source.from_mirror => {
                super::export::export(None, super::export::Exported::Subscriptions, &source).await.map(|_| ())
            }
            command => super::subscriptions::run(cx.session()?, command).await,
        }
    }
}

impl Run for InvoicesCommand {
    async fn run(self, cx: &Context<'_>) -> Result<(), Failure> {
        super::invoices::run(cx.session()?, self).await
    }
}

impl Run for UsageCommand {
    async fn run(self, cx: &Context<'_>) -> Result<(), Failure> {
        super::invoices::usage(cx.session()?, self).await
    }
}

impl Run for QuotesCommand {
    async fn run(self, cx: &Context<'_>) -> Result<(), Failure> {
        super::quotes::run(cx.session()?, self).await
    }
}

impl Run for WebhooksCommand {
    fn needs(&self) -> Needs {
        match self {
            // The receiver needs the mirror and its webhook tokens, no Pax8 credentials.
            WebhooksCommand::Serve { .. } => Needs::Nothing,
            _ => Needs::Session,
        }
    }

    async fn run(self, cx: &Context<'_>) -> Result<(), Failure> {
        match self {
            command @ WebhooksCommand::Serve { .. } => super::mirror::receive(command).await,
            command => super::webhooks::run(cx.session()?, command).await,
        }
    }
}

impl Run for RenewalsArgs {
    fn needs(&self) -> Needs {
        match &self.command {
            // Plans listed or cancelled need the database only.
            Some(RenewalsCommand::Pending { .. } | RenewalsCommand::Cancel { .. }) => Needs::Nothing,
            _ => Needs::Session,
        }
    }

    async fn run(self, cx: &Context<'_>) -> Result<(), Failure> {
        match self.command {
            None => {
                let days = resolve::days(&self.within, super::session::now()?.date_naive())?;
                super::reports::renewals(cx.session()?, days).await
            }
            Some(command @ (RenewalsCommand::Pending { .. } | RenewalsCommand::Cancel { .. })) => {
                super::plans::local(command, &cx.printer).await
            }
            Some(command) => super::plans::run(cx.session()?, command).await,
        }
    }
}

impl Run for ReportCommand {
    async fn run(self, cx: &Context<'_>) -> Result<(), Failure> {
        match self {
            ReportCommand::Mrr { by } => super::reports::mrr(cx.session()?, by).await,
            ReportCommand::Margins { by, company, below } => {
                super::margins::margins(cx.session()?, by, company.as_deref(), below).await
            }
        }
    }
}

impl Run for SyncArgs {
    async fn run(self, cx: &Context<'_>) -> Result<(), Failure> {
        super::mirror::sync(cx.session()?, self).await
    }
}

impl Run for McpArgs {
    async fn run(self, cx: &Context<'_>) -> Result<(), Failure> {
        super::mcp::run(cx.session()?, self).await
    }
}

/// A platform's commands use the vault's credentials, not the process's own.
impl Run for TenantsCommand {
    fn needs(&self) -> Needs {
        Needs::Nothing
    }

    async fn run(self, cx: &Context<'_>) -> Result<(), Failure> {
        super::tenants::run(self, &cx.printer).await
    }
}

impl Run for WorkerArgs {
    fn needs(&self) -> Needs {
        Needs::Nothing
    }

    async fn run(self, cx: &Context<'_>) -> Result<(), Failure> {
        super::tenants::worker(self, &cx.printer).await
    }
}

impl Run for DriftArgs {
    fn needs(&self) -> Needs {
        Needs::Nothing
    }

    async fn run(self, cx: &Context<'_>) -> Result<(), Failure> {
        super::mirror::drift(self, &cx.printer).await
    }
}

impl Run for DemoCommand {
    fn needs(&self) -> Needs {
        Needs::Nothing
    }

    async fn run(self, cx: &Context<'_>) -> Result<(), Failure> {
        super::demo::run(&self, &cx.printer)
    }
}

impl Run for ExplainArgs {
    fn needs(&self) -> Needs {
        Needs::Nothing
    }

    async fn run(self, cx: &Context<'_>) -> Result<(), Failure> {
        super::explain::explain(&self.term, &cx.printer)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{Needs, Run};

    fn needs(argv: &str) -> Needs {
        crate::Cli::try_parse_from(argv.split_whitespace()).expect("parses").command.needs()
    }

    #[test]
    fn only_commands_that_talk_to_pax8_need_a_session() {
        for local in [
            "pax8 auth logout",
            "pax8 companies export --from-mirror",
            "pax8 subscriptions export --from-mirror",
            "pax8 webhooks serve --listen 127.0.0.1:0",
            "pax8 renewals pending",
            "pax8 renewals cancel 7",
            "pax8 tenants list",
            "pax8 worker",
            "pax8 drift",
            "pax8 demo status",
            "pax8 explain nce",
            "pax8 doctor",
            "pax8 completions bash",
        ] {
            assert_eq!(needs(local), Needs::Nothing, "{local}");
        }
        for remote in [
            "pax8 companies list",
            "pax8 companies export",
            "pax8 subscriptions export",
            "pax8 webhooks list",
            "pax8 renewals",
            "pax8 renewals run --yes",
            "pax8 report mrr",
            "pax8 status",
            "pax8 sync",
            "pax8 mcp",
            "pax8 orders list",
            "pax8 invoices list",
        ] {
            assert_eq!(needs(remote), Needs::Session, "{remote}");
        }
    }
}
