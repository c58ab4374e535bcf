//! `pax8 auth`: login (checked before it is stored), status, logout.

use super::listing::count;
use super::session::session;
use crate::fail::Failure;
use crate::output::Printer;
use crate::{AuthCommand, Globals, creds};
use pax8_ext::Pax8Client;
use serde_json::Value;
use std::io::{BufRead, IsTerminal, Write};

pub(super) async fn auth(cli: &Globals, cmd: &AuthCommand, printer: Printer) -> Result<(), Failure> {
    match cmd {
        AuthCommand::Login { client_id, client_secret_stdin, base_url } => {
            let id = match client_id.clone().or_else(|| std::env::var("PAX8_CLIENT_ID").ok().filter(|v| !v.is_empty()))
            {
                Some(id) => id,
                None if std::io::stdin().is_terminal() => {
                    eprint!("Client id: ");
                    let _ = std::io::stderr().flush();
                    let mut line = String::new();
                    std::io::stdin().lock().read_line(&mut line).map_err(|e| Failure::usage(e.to_string()))?;
                    line.trim().to_string()
                }
                None => return Err(Failure::usage("no client id: pass --client-id or set PAX8_CLIENT_ID")),
            };
            let secret = if *client_secret_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line).map_err(|e| Failure::usage(e.to_string()))?;
                line.trim().to_string()
            } else if let Some(s) = std::env::var("PAX8_CLIENT_SECRET").ok().filter(|v| !v.is_empty()) {
                s
            } else if std::io::stdin().is_terminal() {
                rpassword::prompt_password("Client secret (hidden): ").map_err(|e| Failure::usage(e.to_string()))?
            } else {
                return Err(Failure::usage("no client secret: use --client-secret-stdin or set PAX8_CLIENT_SECRET"));
            };
            if id.trim().is_empty() || secret.trim().is_empty() {
                return Err(Failure::usage("the client id and secret must not be empty"));
            }
            let creds = creds::Credentials {
                client_id: id,
                client_secret: pax8_ext::SecretString::new(secret),
                base_url: base_url.clone().or_else(|| std::env::var("PAX8_BASE_URL").ok().filter(|v| !v.is_empty())),
            };
            // Check before storing: a wrong secret is reported now, not at the next command.
            let mut b =
                Pax8Client::builder().client_id(creds.client_id.clone()).client_secret(creds.client_secret.clone());
            if let Some(url) = &creds.base_url {
                b = b.base_url(url);
            }
            b.build()?.refresh_token().await?;
            let (path, place) = creds::save(&creds)?;
            printer.note(&match place {
                creds::SecretPlace::Keyring => {
                    format!("Logged in; the client secret is in the OS keyring, the client id in {}.", path.display())
                }
                creds::SecretPlace::File => {
                    format!("Logged in; credentials stored in {} (owner-only; no OS keyring answered).", path.display())
                }
            });
            Ok(())
        }
        AuthCommand::Status => {
            let s = session(cli, printer).await?;
            s.client.refresh_token().await?;
            let first = s.client.companies().list().page_size(1).first_page().await?;
            let n = first.total_elements.unwrap_or(first.items.len() as u64);
            // Where the credentials came from (the environment wins over the stored file).
            let source = credential_source()?;
            printer.record(&[
                ("connected", "Connected", Value::from(true)),
                ("companies_visible", "Companies visible", Value::from(n)),
                ("credentials", "Credentials", Value::from(source)),
                (
                    "tokens",
                    "Tokens kept in",
                    Value::from(creds::path()?.with_file_name("tokens.json").display().to_string()),
                ),
            ]);
            printer.note(&format!("Connected to Pax8 — {} visible", count(n, "companies")));
            Ok(())
        }
        AuthCommand::Logout => {
            let removed = creds::remove()?;
            // The tokens go with the credentials.
            let _ = std::fs::remove_file(creds::path()?.with_file_name("tokens.json"));
            printer.note(if removed { "Logged out: stored credentials removed." } else { "No stored credentials." });
            Ok(())
        }
    }
}

/// Where the credentials come from: the environment wins over the stored file, whose secret is
/// in the OS keyring or in the file itself.
pub(super) fn credential_source() -> Result<String, Failure> {
    if std::env::var("PAX8_CLIENT_ID").is_ok_and(|v| !v.is_empty()) {
        return Ok("environment (PAX8_CLIENT_ID, PAX8_CLIENT_SECRET)".to_string());
    }
    let path = creds::path()?;
    Ok(match creds::load()? {
        Some((_, creds::SecretPlace::Keyring)) => format!("OS keyring (secret), {} (client id)", path.display()),
        Some((_, creds::SecretPlace::File)) => format!("file {} (owner-only)", path.display()),
        None => "none stored".to_string(),
    })
}
