//! The credential vault: a platform's tenants in the mirror database, each with its Pax8 client
//! id, partner audience, rate limit and base URL, its client secret and webhook token sealed
//! under a master key kept elsewhere ([`Keyring`]). [`Vault::client`] builds a tenant's client
//! with its tokens and its rate budget in the database, shared by every process and host.
//!
//! ```no_run
//! # async fn demo() -> Result<(), pax8_sync::SyncError> {
//! use pax8_sync::vault::{Keyring, NewTenant, Vault};
//! let store = pax8_sync::Store::open("postgres://pax8@db/pax8").await?;
//! let vault = Vault::new(store, Keyring::from_env()?);
//! vault.add(NewTenant::new("acme", "client-id", "client-secret")).await?;
//! let http = reqwest::Client::new(); // one connection pool for every tenant
//! let client = vault.client("acme", &http).await?;
//! # Ok(()) }
//! ```

mod budget;
pub mod check;
mod keys;
mod tokens;

use std::sync::Arc;

use pax8_ext::{Pax8Client, SecretString};
use serde::Serialize;
use sqlx::Row;

pub use budget::DbRateBudget;
pub use keys::{Keyring, MasterKey};
pub use tokens::DbTokenStore;

use crate::{Store, SyncError};

/// Why the vault refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// The master key is missing or malformed.
    #[error("{0}")]
    BadKey(String),
    /// A value is sealed under a key that was not given: nothing is decrypted or changed.
    #[error(
        "{context} is sealed under master key {key_id}, which is not among the keys given ({}); give that key \
         (PAX8_MASTER_KEY, or PAX8_PREVIOUS_MASTER_KEYS while rotating)",
        known.join(", ")
    )]
    UnknownKey {
        /// Which value.
        context: String,
        /// The key it names.
        key_id: String,
        /// The keys given.
        known: Vec<String>,
    },
    /// A value does not open with its key: altered, or moved from another row.
    #[error("{context} does not open with its key: it was altered or copied from elsewhere")]
    Corrupt {
        /// Which value.
        context: String,
    },
    /// No such tenant.
    #[error("no tenant named `{0}` (see `pax8 tenants list`)")]
    NoTenant(String),
    /// A tenant of this name exists.
    #[error("a tenant named `{0}` exists already (remove it first to replace it)")]
    Exists(String),
    /// Bad tenant settings.
    #[error("{0}")]
    Invalid(String),
}

/// A tenant to add.
#[derive(Debug, Clone)]
pub struct NewTenant {
    /// Its name (the `tenant` of its mirror rows).
    pub name: String,
    /// The Pax8 OAuth client id.
    pub client_id: String,
    /// The client secret (sealed before it is stored).
    pub client_secret: SecretString,
    /// The partner API audience, when not Pax8's default.
    pub audience: Option<String>,
    /// Requests a minute the tenant's credentials allow (Pax8 publishes 1000; some tenants 100).
    pub rate_limit: Option<u32>,
    /// Every API under this origin instead of Pax8's (a sandbox).
    pub base_url: Option<String>,
    /// The bearer token its webhooks send (sealed before it is stored).
    pub webhook_token: Option<SecretString>,
}

impl NewTenant {
    /// A tenant with Pax8's defaults.
    pub fn new(name: &str, client_id: &str, client_secret: impl Into<SecretString>) -> NewTenant {
        NewTenant {
            name: name.to_string(),
            client_id: client_id.to_string(),
            client_secret: client_secret.into(),
            audience: None,
            rate_limit: None,
            base_url: None,
            webhook_token: None,
        }
    }
}

/// A tenant as `tenants list` and `tenants status` show it: never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantInfo {
    /// Its name.
    pub name: String,
    /// The OAuth client id.
    pub client_id: String,
    /// The partner audience, when not the default.
    pub audience: Option<String>,
    /// Its rate limit a minute, when not the default.
    pub rate_limit: Option<u32>,
    /// Its base URL, when not Pax8's.
    pub base_url: Option<String>,
    /// The master key its secret is sealed under.
    pub key_id: String,
    /// Whether it has a webhook token.
    pub webhooks: bool,
    /// When its next sync is due.
    pub next_due: String,
    /// The worker holding it now, and until when.
    pub lease: Option<(String, String)>,
    /// When its last sync ended.
    pub last_sync_at: Option<String>,
    /// `ok` or `failed`.
    pub last_status: Option<String>,
    /// The last failure, in plain words.
    pub last_error: Option<String>,
    /// Failures in a row.
    pub failures: u32,
}

/// The default Pax8 rate limit a minute.
pub const DEFAULT_RATE_LIMIT: u32 = 1000;

/// The vault: the store and the keys.
#[derive(Debug, Clone)]
pub struct Vault {
    store: Store,
    keys: Arc<Keyring>,
}

fn context(tenant: &str, field: &str) -> String {
    format!("tenant `{tenant}`'s {field}")
}

fn check_name(name: &str) -> Result<(), VaultError> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok { Ok(()) } else { Err(VaultError::Invalid(format!("tenant name `{name}`: use 1 to 100 of a-z, 0-9, - _ ."))) }
}

impl Vault {
    /// The vault of `store`, opened with `keys`.
    pub fn new(store: Store, keys: Keyring) -> Vault {
        Vault { store, keys: Arc::new(keys) }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) fn keys(&self) -> &Keyring {
        &self.keys
    }

    /// Adds a tenant, due for its first sync now.
    pub async fn add(&self, t: NewTenant) -> Result<TenantInfo, SyncError> {
        check_name(&t.name)?;
        if t.client_id.trim().is_empty() || t.client_secret.is_empty() {
            return Err(VaultError::Invalid("a tenant needs a client id and a client secret".into()).into());
        }
        if t.rate_limit == Some(0) {
            return Err(VaultError::Invalid("a rate limit is at least 1 request a minute".into()).into());
        }
        // The settings must make a client (a known audience, a usable base URL).
        let mut probe = Pax8Client::builder().client_id(t.client_id.clone()).client_secret(t.client_secret.clone());
        if let Some(base) = &t.base_url {
            probe = probe.base_url(base);
        }
        if let Some(audience) = &t.audience {
            probe = probe.audience(audience.clone());
        }
        probe.build().map_err(|e| VaultError::Invalid(format!("tenant `{}`: {e}", t.name)))?;
        let secret = self.keys.seal(t.client_secret.expose(), &context(&t.name, "client secret"))?;
        let webhook = match &t.webhook_token {
            Some(token) => Some(self.keys.seal(token.expose(), &context(&t.name, "webhook token"))?),
            None => None,
        };
        let now = crate::store::db_time(chrono::Utc::now());
        let inserted = sqlx::query(
            "INSERT INTO tenants (name, client_id, audience, rate_limit, base_url, client_secret, webhook_token, \
             created_at, next_due) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (name) DO NOTHING",
        )
        .bind(t.name.clone())
        .bind(t.client_id.clone())
        .bind(t.audience.clone())
        .bind(t.rate_limit.map(i64::from))
        .bind(t.base_url.clone())
        .bind(secret)
        .bind(webhook)
        .bind(now)
        .execute(&self.store.pool)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(VaultError::Exists(t.name).into());
        }
        self.info(&t.name).await
    }

    /// Every tenant, by name.
    pub async fn list(&self) -> Result<Vec<TenantInfo>, SyncError> {
        let rows = crate::store::dyn_query(format!("{SELECT_INFO} ORDER BY name")).fetch_all(&self.store.pool).await?;
        rows.iter().map(info_of).collect()
    }

    /// One tenant.
    pub async fn info(&self, name: &str) -> Result<TenantInfo, SyncError> {
        let row = crate::store::dyn_query(format!("{SELECT_INFO} WHERE name = $1"))
            .bind(name.to_string())
            .fetch_optional(&self.store.pool)
            .await?
            .ok_or_else(|| VaultError::NoTenant(name.to_string()))?;
        info_of(&row)
    }

    /// Removes a tenant (its tokens and budget too); with `purge`, its mirrored rows as well.
    pub async fn remove(&self, name: &str, purge: bool) -> Result<u64, SyncError> {
        let mut tx = self.store.pool.begin().await?;
        let gone = sqlx::query("DELETE FROM tenants WHERE name = $1").bind(name.to_string()).execute(&mut *tx).await?;
        if gone.rows_affected() == 0 {
            return Err(VaultError::NoTenant(name.to_string()).into());
        }
        let mut rows = 0;
        let mut tables = vec!["tokens", "token_locks", "rate_budgets"];
        if purge {
            tables.extend([
                "companies",
                "contacts",
                "products",
                "subscriptions",
                "invoices",
                "invoice_items",
                "usage_summaries",
                "subscription_snapshots",
                "webhook_events",
                "syncs",
            ]);
        }
        for table in tables {
            let done = crate::store::dyn_query(format!("DELETE FROM {table} WHERE tenant = $1"))
                .bind(name.to_string())
                .execute(&mut *tx)
                .await?;
            rows += done.rows_affected();
        }
        tx.commit().await?;
        Ok(rows)
    }

    /// The tenant's client secret, opened.
    pub(crate) async fn secret(&self, name: &str) -> Result<(TenantInfo, SecretString), SyncError> {
        let info = self.info(name).await?;
        let row = sqlx::query("SELECT client_secret FROM tenants WHERE name = $1")
            .bind(name.to_string())
            .fetch_one(&self.store.pool)
            .await?;
        let sealed: String = row.try_get("client_secret")?;
        Ok((info, self.keys.open(&sealed, &context(name, "client secret"))?))
    }

    /// Ready to serve: the database is (see [`Store::ready`]) and the key opens the vault's
    /// secrets (one tenant's client secret is opened; a vault with no tenant is ready).
    pub async fn ready(&self) -> Result<(), SyncError> {
        self.store.ready().await?;
        let row = sqlx::query("SELECT name, client_secret FROM tenants ORDER BY name LIMIT 1")
            .fetch_optional(&self.store.pool)
            .await?;
        if let Some(row) = row {
            let (name, sealed): (String, String) = (row.try_get("name")?, row.try_get("client_secret")?);
            self.keys.open(&sealed, &context(&name, "client secret"))?;
        }
        Ok(())
    }

    /// Every tenant's webhook token, opened (tenants without one are left out).
    pub async fn webhook_tokens(&self) -> Result<Vec<(String, SecretString)>, SyncError> {
        let rows = sqlx::query("SELECT name, webhook_token FROM tenants WHERE webhook_token IS NOT NULL ORDER BY name")
            .fetch_all(&self.store.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let (name, sealed): (String, String) = (row.try_get("name")?, row.try_get("webhook_token")?);
            let token = self.keys.open(&sealed, &context(&name, "webhook token"))?;
            out.push((name, token));
        }
        Ok(out)
    }

    /// Sets (or clears) a tenant's webhook token.
    pub async fn set_webhook_token(&self, name: &str, token: Option<SecretString>) -> Result<(), SyncError> {
        let sealed = match token {
            Some(token) => Some(self.keys.seal(token.expose(), &context(name, "webhook token"))?),
            None => None,
        };
        let done = sqlx::query("UPDATE tenants SET webhook_token = $1 WHERE name = $2")
            .bind(sealed)
            .bind(name.to_string())
            .execute(&self.store.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(VaultError::NoTenant(name.to_string()).into());
        }
        Ok(())
    }

    /// Re-seals every secret, webhook token and stored token under the current key (each
    /// opened with whichever given key sealed it); how many values were re-sealed. Nothing is
    /// changed unless every value opens: a missing key is an error naming it.
    pub async fn rotate_key(&self) -> Result<u64, SyncError> {
        let mut tx = self.store.pool.begin().await?;
        let mut updates: Vec<(String, String, String, String)> = Vec::new(); // table, key sql, key, value
        let tenants = sqlx::query("SELECT name, client_secret, webhook_token FROM tenants").fetch_all(&mut *tx).await?;
        for row in &tenants {
            let name: String = row.try_get("name")?;
            for (column, field) in [("client_secret", "client secret"), ("webhook_token", "webhook token")] {
                let Some(sealed) = row.try_get::<Option<String>, _>(column)? else { continue };
                if Keyring::key_of(&sealed) == Some(self.keys.current_id()) {
                    continue;
                }
                let ctx = context(&name, field);
                let plain = self.keys.open(&sealed, &ctx)?;
                updates.push((column.to_string(), name.clone(), String::new(), self.keys.seal(plain.expose(), &ctx)?));
            }
        }
        let tokens = sqlx::query("SELECT tenant, audience, token FROM tokens").fetch_all(&mut *tx).await?;
        for row in &tokens {
            let (tenant, audience, sealed): (String, String, String) =
                (row.try_get("tenant")?, row.try_get("audience")?, row.try_get("token")?);
            if Keyring::key_of(&sealed) == Some(self.keys.current_id()) {
                continue;
            }
            let ctx = tokens::context(&tenant, &audience);
            let plain = self.keys.open(&sealed, &ctx)?;
            updates.push(("token".into(), tenant, audience, self.keys.seal(plain.expose(), &ctx)?));
        }
        for (column, name, audience, value) in &updates {
            if column == "token" {
                sqlx::query("UPDATE tokens SET token = $1 WHERE tenant = $2 AND audience = $3")
                    .bind(value.clone())
                    .bind(name.clone())
                    .bind(audience.clone())
                    .execute(&mut *tx)
                    .await?;
            } else {
                crate::store::dyn_query(format!("UPDATE tenants SET {column} = $1 WHERE name = $2"))
                    .bind(value.clone())
                    .bind(name.clone())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(updates.len() as u64)
    }

    /// The tenant's client: its credentials from the vault, its tokens and its rate budget in
    /// the database (shared with every process using them), on the connection pool of `http`.
    pub async fn client(&self, name: &str, http: &reqwest::Client) -> Result<Pax8Client, SyncError> {
        Ok(self.builder(name, http).await?.build()?)
    }

    /// [`Vault::client`]'s builder, for a caller that adds to it (hooks, options) before building.
    pub async fn builder(&self, name: &str, http: &reqwest::Client) -> Result<pax8_ext::ClientBuilder, SyncError> {
        let (info, secret) = self.secret(name).await?;
        let rate = info.rate_limit.unwrap_or(DEFAULT_RATE_LIMIT);
        let mut builder = Pax8Client::builder()
            .client_id(info.client_id.clone())
            .client_secret(secret)
            .http_client(http.clone())
            .token_store(Arc::new(DbTokenStore::new(self.clone(), name)))
            .rate_limit_per_minute(rate)
            .shared_rate_budget(Arc::new(DbRateBudget::new(self.store.clone(), name, rate)));
        if let Some(base) = &info.base_url {
            builder = builder.base_url(base);
        }
        if let Some(audience) = &info.audience {
            builder = builder.audience(audience.clone());
        }
        Ok(builder)
    }
}

const SELECT_INFO: &str = "SELECT name, client_id, audience, rate_limit, base_url, client_secret, webhook_token, \
                           next_due, lease_owner, lease_until, last_sync_at, last_status, last_error, failures FROM tenants";

fn info_of(row: &sqlx::any::AnyRow) -> Result<TenantInfo, SyncError> {
    let secret: String = row.try_get("client_secret")?;
    let owner: Option<String> = row.try_get("lease_owner")?;
    let until: Option<String> = row.try_get("lease_until")?;
    Ok(TenantInfo {
        name: row.try_get("name")?,
        client_id: row.try_get("client_id")?,
        audience: row.try_get("audience")?,
        rate_limit: row.try_get::<Option<i64>, _>("rate_limit")?.and_then(|n| u32::try_from(n).ok()),
        base_url: row.try_get("base_url")?,
        key_id: Keyring::key_of(&secret).unwrap_or("?").to_string(),
        webhooks: row.try_get::<Option<String>, _>("webhook_token")?.is_some(),
        next_due: row.try_get("next_due")?,
        lease: owner.zip(until),
        last_sync_at: row.try_get("last_sync_at")?,
        last_status: row.try_get("last_status")?,
        last_error: row.try_get("last_error")?,
        failures: u32::try_from(row.try_get::<i64, _>("failures")?).unwrap_or(u32::MAX),
    })
}
