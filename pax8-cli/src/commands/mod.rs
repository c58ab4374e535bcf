//! Command dispatch: one module per resource, `session.rs` for what they share.

use chrono::Utc;

use crate::fail::Failure;
use crate::output::Printer;
use crate::{Cli, Command, CompaniesCommand, SubscriptionsCommand, WebhooksCommand, creds, resolve};

mod audit;
mod auth;
mod companies;
mod contacts;
mod demo;
mod doctor;
mod explain;
mod export;
mod invoices;
mod listing;
mod margins;
mod mcp;
mod mirror;
mod orders;
mod plans;
mod products;
mod quotes;
mod reports;
mod serving;
mod session;
mod subscriptions;
mod tenants;
mod webhooks;

pub use listing::count;
pub use session::now;
use session::session;

pub async fn run(cli: Cli, printer: Printer) -> Result<(), Failure> {
    let Some(key) = cli.idempotency_key.clone() else { return dispatch(cli, printer).await };
    if !crate::idempotency::is_write(&cli.command) {
        return Err(Failure::usage("--idempotency-key is for writes (create, update, cancel, delete, plan)"));
    }
    let path = creds::path()?.with_file_name("idempotency.json");
    let request = crate::idempotency::request_of(&cli.command);
    // The check runs while the file is locked; a second process with this key waits here.
    let checked = tokio::task::spawn_blocking(move || crate::idempotency::check(&path, &key, request))
        .await
        .map_err(|e| Failure::usage(format!("idempotency check: {e}")))?;
    match checked? {
        crate::idempotency::Check::Replay { outcome, at } => {
            printer.document(&outcome);
            let when = chrono::DateTime::<Utc>::from(at).format("%Y-%m-%d %H:%M:%S UTC");
            printer.note(&format!(
                "Already done under this idempotency key ({when}): nothing was sent again. `--json` shows the outcome."
            ));
            Ok(())
        }
        crate::idempotency::Check::Fresh(held) => {
            dispatch(cli, printer).await?;
            let outcome = crate::output::last_document().unwrap_or_else(|| serde_json::json!({"done": true}));
            held.record(outcome)
        }
    }
}

async fn dispatch(cli: Cli, printer: Printer) -> Result<(), Failure> {
    if let Command::Auth(cmd) = &cli.command {
        return auth::auth(&cli, cmd, printer).await;
    }
    // Local commands: the mirror and the receiver need no Pax8 credentials.
    if matches!(cli.command, Command::Drift { .. } | Command::Webhooks(WebhooksCommand::Serve { .. })) {
        return mirror::local(cli.command, &printer).await;
    }
    // A platform's commands use the vault's credentials, not the process's own.
    if let Command::Tenants(_) | Command::Worker(_) = &cli.command {
        return match cli.command {
            Command::Tenants(cmd) => tenants::run(cmd, &printer).await,
            Command::Worker(args) => tenants::worker(args, &printer).await,
            _ => Err(Failure::usage("not a platform command")),
        };
    }
    if let Command::Doctor = &cli.command {
        return doctor::run(&cli, printer).await;
    }
    if let Command::Demo(cmd) = &cli.command {
        return demo::run(cmd, &printer);
    }
    if let Command::Explain { term } = &cli.command {
        return explain::explain(term, &printer);
    }
    // Exports from the mirror need no credentials.
    match &cli.command {
        Command::Subscriptions(SubscriptionsCommand::Export { source }) if source.from_mirror => {
            return export::export(None, export::Exported::Subscriptions, source).await.map(|_| ());
        }
        Command::Companies(CompaniesCommand::Export { source }) if source.from_mirror => {
            return export::export(None, export::Exported::Companies, source).await.map(|_| ());
        }
        _ => {}
    }
    // Plans listed or cancelled need the database only.
    if let Command::Renewals(crate::RenewalsArgs {
        command: Some(crate::RenewalsCommand::Pending { .. } | crate::RenewalsCommand::Cancel { .. }),
        ..
    }) = &cli.command
    {
        let Command::Renewals(crate::RenewalsArgs { command: Some(command), .. }) = cli.command else {
            return Err(Failure::usage("not a plan command"));
        };
        return plans::local(command, &printer).await;
    }
    let s = session(&cli, printer).await?;
    let outcome = match cli.command {
        // Dispatched above, before a session exists.
        Command::Auth(_)
        | Command::Explain { .. }
        | Command::Demo(_)
        | Command::Doctor
        | Command::Completions { .. }
        | Command::Drift { .. }
        | Command::Tenants(_)
        | Command::Worker(_)
        | Command::Webhooks(WebhooksCommand::Serve { .. }) => Err(Failure::usage("this command needs no Pax8 session")),
        Command::Companies(cmd) => companies::run(&s, cmd).await,
        Command::Contacts(cmd) => contacts::run(&s, cmd).await,
        Command::Products(cmd) => products::run(&s, cmd).await,
        Command::Orders(cmd) => orders::run(&s, cmd).await,
        Command::Subscriptions(cmd) => subscriptions::run(&s, cmd).await,
        Command::Invoices(cmd) => invoices::run(&s, cmd).await,
        Command::Usage(cmd) => invoices::usage(&s, cmd).await,
        Command::Quotes(cmd) => quotes::run(&s, cmd).await,
        Command::Webhooks(cmd) => webhooks::run(&s, cmd).await,
        Command::Renewals(crate::RenewalsArgs { command: None, within }) => {
            reports::renewals(&s, resolve::days(&within, now()?.date_naive())?).await
        }
        Command::Renewals(crate::RenewalsArgs { command: Some(command), .. }) => plans::run(&s, command).await,
        Command::Report(crate::ReportCommand::Mrr { by }) => reports::mrr(&s, by).await,
        Command::Report(crate::ReportCommand::Margins { by, company, below }) => {
            margins::margins(&s, by, company.as_deref(), below).await
        }
        Command::Status => reports::status(&s).await,
        Command::Sync { db, tenant, full, concurrency } => mirror::sync(&s, db, tenant, full, concurrency).await,
        Command::Mcp(args) => mcp::run(&s, args).await,
    };
    s.finish()?;
    outcome
}
