//! Command dispatch: each command is a type behind the [`command::Run`] trait; one module per
//! resource does the work, `session.rs` builds the Pax8 client they share.

use chrono::Utc;

use crate::fail::Failure;
use crate::output::Printer;
use crate::{Cli, creds};
use command::{Context, Needs, Run};

mod audit;
mod auth;
mod command;
mod companies;
mod confirm;
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
use session::session;

pub async fn run(cli: Cli, printer: Printer) -> Result<(), Failure> {
    let Some(key) = cli.globals.idempotency_key.clone() else { return dispatch(cli, printer).await };
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

/// Builds what the command needs (a Pax8 session or nothing), runs it, and finishes the session
/// whatever the outcome (demo mode keeps what it changed).
async fn dispatch(cli: Cli, printer: Printer) -> Result<(), Failure> {
    let Cli { globals, command } = cli;
    let session = match command.needs() {
        Needs::Nothing => None,
        Needs::Session => Some(session(&globals, printer).await?),
    };
    let outcome = command.run(&Context::new(&globals, printer, session.as_ref())).await;
    if let Some(session) = &session {
        session.finish()?;
    }
    outcome
}
