//! The session a command runs in: the client (credentials, a vault tenant's, tokens kept between
//! commands, or the in-process simulator), the printer, and "now". A write's preview and
//! confirmation live in `confirm.rs`, listings in `listing.rs`.

use crate::fail::Failure;
use crate::output::{Format, Printer};
use crate::{Globals, creds, resolve};
use chrono::{DateTime, Utc};
use pax8_ext::Pax8Client;
use pax8_sandbox::{Sandbox, SandboxConfig};

/// "Now": `PAX8_TODAY` (YYYY-MM-DD) pins it for scripts and tests.
pub fn now() -> Result<DateTime<Utc>, Failure> {
    match std::env::var("PAX8_TODAY") {
        Ok(d) if !d.is_empty() => Ok(resolve::date(&d)?.and_time(chrono::NaiveTime::MIN).and_utc()),
        _ => Ok(Utc::now()),
    }
}

/// The client and, with `--sandbox`, the simulator it talks to.
pub struct Session {
    pub client: Pax8Client,
    pub printer: Printer,
    _sandbox: Option<Sandbox>,
    /// Demo mode's simulator, saved after the command.
    demo: Option<crate::demo::Demo>,
}

impl Session {
    /// After the command (whatever its outcome): demo mode keeps what it changed.
    pub fn finish(&self) -> Result<(), Failure> {
        self.demo.as_ref().map_or(Ok(()), crate::demo::Demo::save)
    }
}

/// The client of a vault tenant (`--vault-tenant`): its sealed credentials, the token and rate
/// budget it shares with every process through the database.
async fn vault_client(cli: &Globals, tenant: &str) -> Result<pax8_ext::ClientBuilder, Failure> {
    let db = cli
        .vault_db
        .clone()
        .or_else(|| std::env::var("PAX8_DB").ok().filter(|v| !v.is_empty()))
        .ok_or_else(|| Failure::usage("--vault-tenant needs the vault's database: --vault-db URL or PAX8_DB"))?;
    let keys = match std::env::var_os("PAX8_MASTER_KEY_FILE").filter(|v| !v.is_empty()) {
        Some(path) => pax8_sync::vault::Keyring::from_file(std::path::Path::new(&path)),
        None => pax8_sync::vault::Keyring::from_env(),
    }
    .map_err(|e| Failure::usage(e.to_string()))?;
    let store = pax8_sync::Store::open(&db).await.map_err(crate::fail::sync_failure)?;
    let vault = pax8_sync::vault::Vault::new(store, keys);
    vault.builder(tenant, &reqwest::Client::new()).await.map_err(crate::fail::vault_failure)
}

fn sandbox_client(sandbox: &Sandbox) -> pax8_ext::ClientBuilder {
    Pax8Client::builder()
        .client_id(sandbox.client_id())
        .client_secret(sandbox.client_secret())
        .base_url(sandbox.base_url())
        .no_rate_limit()
}

pub(super) async fn session(cli: &Globals, printer: Printer) -> Result<Session, Failure> {
    session_with(cli, printer, None).await
}

/// A session whose client also calls `hooks` (e.g. `pax8 doctor` reading the server's headers).
pub(super) async fn session_with(
    cli: &Globals,
    printer: Printer,
    hooks: Option<std::sync::Arc<dyn pax8_ext::Hooks>>,
) -> Result<Session, Failure> {
    let with_hooks = |b: pax8_ext::ClientBuilder| match &hooks {
        Some(h) => b.hooks(h.clone()),
        None => b,
    };
    if cli.sandbox {
        let seed = std::env::var("PAX8_SANDBOX_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(7);
        let companies = std::env::var("PAX8_SANDBOX_COMPANIES").ok().and_then(|s| s.parse().ok()).unwrap_or(25);
        let today = match std::env::var("PAX8_TODAY") {
            Ok(d) if !d.is_empty() => Some(resolve::date(&d)?),
            _ => None,
        };
        let sandbox = Sandbox::start(SandboxConfig { seed, companies, today, ..SandboxConfig::default() })
            .await
            .map_err(|e| Failure::usage(format!("cannot start the simulator: {e}")))?;
        let client = with_hooks(sandbox_client(&sandbox)).build()?;
        return Ok(Session { client, printer, _sandbox: Some(sandbox), demo: None });
    }
    if let Some(tenant) = &cli.vault_tenant {
        let client = with_hooks(vault_client(cli, tenant).await?).build()?;
        return Ok(Session { client, printer, _sandbox: None, demo: None });
    }
    if let Some(settings) = crate::demo::settings()? {
        let demo = crate::demo::Demo::start(settings).await?;
        if printer.format != Format::Quiet {
            eprintln!("demo mode: a simulated Pax8, kept between commands (`pax8 demo off` leaves it)");
        }
        let client = with_hooks(sandbox_client(&demo.sandbox)).build()?;
        return Ok(Session { client, printer, _sandbox: None, demo: Some(demo) });
    }
    let env_id = std::env::var("PAX8_CLIENT_ID").ok().filter(|v| !v.is_empty());
    let env_url = std::env::var("PAX8_BASE_URL").ok().filter(|v| !v.is_empty());
    let (builder, client_id) = if let Some(id) = env_id {
        (Pax8Client::builder().from_env()?, format!("{id}@{}", env_url.as_deref().unwrap_or("pax8")))
    } else {
        match creds::load()? {
            Some((c, _)) => {
                let id = format!("{}@{}", c.client_id, c.base_url.as_deref().unwrap_or("pax8"));
                let b = Pax8Client::builder().client_id(c.client_id).client_secret(c.client_secret);
                let b = match c.base_url {
                    Some(url) => b.base_url(&url),
                    None => b,
                };
                (b, id)
            }
            None => {
                return Err(Failure {
                    message: "not logged in: run `pax8 auth login`, set PAX8_CLIENT_ID and PAX8_CLIENT_SECRET, or use --sandbox".into(),
                    code: crate::fail::code::AUTH,
                });
            }
        }
    };
    // Tokens kept between commands (per client id and server): ten commands in a row make one
    // token request.
    let tokens = creds::path()?.with_file_name("tokens.json");
    let builder = builder.token_store(std::sync::Arc::new(pax8_ext::FileTokenStore::new(tokens, &client_id)));
    Ok(Session { client: with_hooks(builder).build()?, printer, _sandbox: None, demo: None })
}
