//! Arguments of a platform's commands: the tenants of the vault and the workers that sync them.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// Where the vault is and how to open it.
#[derive(Debug, Args)]
pub struct VaultArgs {
    /// The mirror database holding the vault: sqlite://FILE or postgres://USER:PASSWORD@HOST/DB.
    #[arg(long, default_value = "sqlite://pax8.db", env = "PAX8_DB")]
    pub db: String,
    /// A file with the master key (32 random bytes in base64, `openssl rand -base64 32`) on its
    /// first line and previous keys on the next; default: PAX8_MASTER_KEY (and
    /// PAX8_PREVIOUS_MASTER_KEYS while rotating).
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum TenantsCommand {
    /// Add a Pax8 partner: its secret from PAX8_CLIENT_SECRET or the first line of stdin (never
    /// an argument), its webhook token from PAX8_WEBHOOK_TOKEN if set; sealed at rest.
    Add {
        /// The tenant's name (its mirror rows are filed under it).
        name: String,
        /// The Pax8 OAuth client id.
        #[arg(long)]
        client_id: String,
        /// The partner API audience, when not Pax8's default.
        #[arg(long)]
        audience: Option<String>,
        /// Requests a minute its credentials allow (default 1000; some tenants are held to 100).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        rate_limit: Option<u32>,
        /// Every API under this origin instead of Pax8's (a sandbox).
        #[arg(long)]
        base_url: Option<String>,
        #[command(flatten)]
        vault: VaultArgs,
    },
    /// The tenants (never a secret).
    List {
        #[command(flatten)]
        vault: VaultArgs,
    },
    /// Each tenant's last sync, next due time, last error, lease and mirrored row counts.
    Status {
        #[command(flatten)]
        vault: VaultArgs,
    },
    /// Fetch the tenant's token and count its companies ("Connected to Pax8: N companies
    /// visible"); a failure is explained, with its own exit code (3 credentials, 7 permission,
    /// 8 audience, 9 rate limit, 5 network).
    Test {
        /// The tenant.
        name: String,
        #[command(flatten)]
        vault: VaultArgs,
    },
    /// Remove a tenant (and its tokens); --purge also deletes its mirrored rows.
    Remove {
        /// The tenant.
        name: String,
        /// Also delete its mirrored rows (companies, subscriptions, invoices, snapshots, events, syncs).
        #[arg(long)]
        purge: bool,
        #[command(flatten)]
        vault: VaultArgs,
    },
    /// Re-seal every secret and token under the current master key (the previous ones given in
    /// PAX8_PREVIOUS_MASTER_KEYS or the key file's further lines).
    RotateKey {
        #[command(flatten)]
        vault: VaultArgs,
    },
}

/// `pax8 worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub vault: VaultArgs,
    /// Tenants synced at once by this worker.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// How often each tenant is synced, e.g. 6h, 30m.
    #[arg(long, default_value = "6h")]
    pub interval: String,
    /// Exit 0 once no tenant is due or held by a live worker (for cron and tests).
    #[arg(long)]
    pub until_idle: bool,
    /// How long a claim on a tenant lasts without a heartbeat: a killed worker's tenants are
    /// taken over after it.
    #[arg(long, default_value = "45s")]
    pub lease: String,
    #[command(flatten)]
    pub serve: super::ServeArgs,
}
