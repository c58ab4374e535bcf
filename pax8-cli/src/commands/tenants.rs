//! A platform's commands: `pax8 tenants …` (the vault in the mirror database) and `pax8 worker`
//! (sync every due tenant). Neither needs the process's own Pax8 credentials.

use std::io::{BufRead, IsTerminal};

use pax8_ext::SecretString;
use pax8_sync::vault::check::ConnectionProblem;
use pax8_sync::vault::{Keyring, NewTenant, Vault};
use serde_json::Value;

use crate::fail::{Failure, code, sync_failure, vault_failure};
use crate::output::{Printer, Table, col, text};
use crate::{TenantsCommand, VaultArgs, WorkerArgs, resolve};

/// Exit codes of `tenants test`, one per explained failure.
pub mod exit {
    pub const FORBIDDEN: u8 = 7;
    pub const AUDIENCE: u8 = 8;
    pub const RATE_LIMITED: u8 = 9;
}

async fn open(args: &VaultArgs) -> Result<Vault, Failure> {
    let keys = match &args.key_file {
        Some(path) => Keyring::from_file(path),
        None => Keyring::from_env(),
    }
    .map_err(|e| Failure::usage(e.to_string()))?;
    let store = pax8_sync::Store::open(&args.db).await.map_err(sync_failure)?;
    Ok(Vault::new(store, keys))
}

/// The client secret from PAX8_CLIENT_SECRET or the first line of stdin (never an argument).
fn secret_from_env_or_stdin() -> Result<SecretString, Failure> {
    if let Some(secret) = std::env::var("PAX8_CLIENT_SECRET").ok().filter(|s| !s.is_empty()) {
        return Ok(SecretString::new(secret));
    }
    let secret = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("client secret (not shown): ")
            .map_err(|e| Failure::usage(format!("cannot read the secret: {e}")))?
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(|e| Failure::usage(format!("cannot read stdin: {e}")))?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    if secret.is_empty() {
        return Err(Failure::usage("no client secret: set PAX8_CLIENT_SECRET or pipe it on stdin"));
    }
    Ok(SecretString::new(secret))
}

pub(super) async fn run(command: TenantsCommand, p: &Printer) -> Result<(), Failure> {
    match command {
        TenantsCommand::Add { name, client_id, audience, rate_limit, base_url, vault } => {
            let v = open(&vault).await?;
            let webhook_token = std::env::var("PAX8_WEBHOOK_TOKEN").ok().filter(|t| !t.is_empty());
            if webhook_token.as_ref().is_some_and(|t| t.len() < 16) {
                return Err(Failure::usage("PAX8_WEBHOOK_TOKEN must be a random token of at least 16 characters"));
            }
            let tenant = NewTenant {
                audience,
                rate_limit,
                base_url,
                webhook_token: webhook_token.map(SecretString::new),
                ..NewTenant::new(&name, &client_id, secret_from_env_or_stdin()?)
            };
            let info = v.add(tenant).await.map_err(vault_failure)?;
            p.document(&serde_json::to_value(&info).unwrap_or_default());
            p.note(&format!(
                "tenant `{}` added (secret sealed under key {}); due for its first sync now",
                info.name, info.key_id
            ));
        }
        TenantsCommand::List { vault } => {
            let tenants = open(&vault).await?.list().await.map_err(vault_failure)?;
            let mut t = Table::new(&[
                col("name", "NAME"),
                col("client_id", "CLIENT ID"),
                col("rate_limit", "RATE/MIN"),
                col("base_url", "BASE URL"),
                col("key_id", "KEY"),
                col("webhooks", "WEBHOOKS"),
            ]);
            for x in &tenants {
                t.push(vec![
                    Value::from(x.name.clone()),
                    Value::from(x.client_id.clone()),
                    text(x.rate_limit),
                    text(x.base_url.as_ref()),
                    Value::from(x.key_id.clone()),
                    Value::from(x.webhooks),
                ]);
            }
            t.footer = Some(super::count(tenants.len(), "tenants"));
            p.table(&t);
        }
        TenantsCommand::Status { vault } => {
            let v = open(&vault).await?;
            let tenants = v.list().await.map_err(vault_failure)?;
            let mut t = Table::new(&[
                col("name", "NAME"),
                col("last_sync_at", "LAST SYNC"),
                col("last_status", "STATUS"),
                col("next_due", "NEXT DUE"),
                col("lease", "HELD BY"),
                col("failures", "FAILURES"),
                col("last_error", "LAST ERROR"),
                col("subscriptions", "SUBSCRIPTIONS"),
                col("companies", "COMPANIES"),
            ]);
            for x in &tenants {
                let count = |table: &'static str| v.store().count_in(&x.name, table);
                let (subscriptions, companies) = (
                    count("subscriptions").await.map_err(sync_failure)?,
                    count("companies").await.map_err(sync_failure)?,
                );
                t.push(vec![
                    Value::from(x.name.clone()),
                    text(x.last_sync_at.as_ref()),
                    text(x.last_status.as_ref()),
                    Value::from(x.next_due.clone()),
                    text(x.lease.as_ref().map(|(owner, until)| format!("{owner} until {until}"))),
                    Value::from(x.failures),
                    text(x.last_error.as_ref()),
                    Value::from(subscriptions),
                    Value::from(companies),
                ]);
            }
            p.table(&t);
        }
        TenantsCommand::Test { name, vault } => {
            let v = open(&vault).await?;
            match v.test(&name).await.map_err(vault_failure)? {
                Ok(connected) => {
                    p.document(&serde_json::to_value(&connected).unwrap_or_default());
                    p.note(&format!("Connected to Pax8: {} companies visible", connected.companies));
                }
                Err(problem) => {
                    let code = match &problem {
                        ConnectionProblem::BadCredentials => code::AUTH,
                        ConnectionProblem::Forbidden => exit::FORBIDDEN,
                        ConnectionProblem::AudienceMismatch { .. } => exit::AUDIENCE,
                        ConnectionProblem::RateLimited => exit::RATE_LIMITED,
                        ConnectionProblem::Unreachable(_) => code::NETWORK,
                        _ => code::API,
                    };
                    p.document(&serde_json::to_value(&problem).unwrap_or_default());
                    return Err(Failure { message: format!("tenant `{name}`: {problem}"), code });
                }
            }
        }
        TenantsCommand::Remove { name, purge, vault } => {
            let rows = open(&vault).await?.remove(&name, purge).await.map_err(vault_failure)?;
            p.note(&format!(
                "tenant `{name}` removed ({rows} rows{})",
                if purge { ", its mirror included" } else { "; its mirror kept: --purge deletes it" }
            ));
        }
        TenantsCommand::RotateKey { vault } => {
            let v = open(&vault).await?;
            let resealed = v.rotate_key().await.map_err(vault_failure)?;
            p.note(&format!("{resealed} values re-sealed under the current key"));
        }
    }
    Ok(())
}

pub(super) async fn worker(args: WorkerArgs, p: &Printer) -> Result<(), Failure> {
    let v = open(&args.vault).await?;
    let interval = resolve::interval(&args.interval)?;
    let options = pax8_sync::worker::WorkerOptions {
        concurrency: usize::from(args.concurrency),
        interval,
        until_idle: args.until_idle,
        lease: resolve::interval(&args.lease)?,
        grace: resolve::interval(&args.serve.grace)?,
        ..Default::default()
    };
    let ready = {
        let vault = v.clone();
        pax8_serve::Readiness::default().check("vault", move || {
            let vault = vault.clone();
            async move { vault.ready().await.map_err(|e| e.to_string()) }
        })
    };
    let serving = super::serving::start(&args.serve, super::serving::WORKER_ADMIN_PORT, ready).await?;
    let db = pax8_sync::redacted_url(&args.vault.db);
    eprintln!("worker {} syncing the vault's tenants every {} ({db})", options.id, args.interval);
    let worker = pax8_sync::worker::Worker::new(v, reqwest::Client::new(), options);
    let report = worker.run(serving.shutdown.clone().wait_owned()).await;
    serving.finish().await;
    let report = report.map_err(vault_failure)?;
    p.record(&[
        ("synced", "Tenants synced", Value::from(report.synced)),
        ("failed", "Syncs failed", Value::from(report.failed)),
    ]);
    Ok(())
}
