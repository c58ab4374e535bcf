//! Access tokens in the mirror database, sealed like secrets: every process on every host using a
//! tenant's credentials shares one token per audience. While one fetches a new token it holds
//! a lock row (a lease of [`LOCK_LEASE`], so a killed holder does not block the others for
//! long); the others wait, then find the new token. A process keeps the token it read for a
//! few seconds rather than reading the row on every request.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use pax8_ext::{AccessToken, Audience, RefreshGuard, TokenStore};
use sqlx::{AnyPool, Row};

use super::Vault;

/// How long a process holding the refresh lock keeps it at most (a token request takes far less).
pub const LOCK_LEASE: Duration = Duration::from_secs(30);
/// How long a process reuses the token it read before reading the row again.
const CACHE_FOR: Duration = Duration::from_secs(5);

pub(crate) fn context(tenant: &str, audience: &str) -> String {
    format!("tenant `{tenant}`'s access token for {audience}")
}

fn millis(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn time(ms: i64) -> Option<SystemTime> {
    UNIX_EPOCH.checked_add(Duration::from_millis(u64::try_from(ms).ok()?))
}

/// A tenant's tokens in the database (see the module documentation).
pub struct DbTokenStore {
    vault: Vault,
    tenant: String,
    cache: Mutex<Option<(Audience, AccessToken, Instant)>>,
}

impl std::fmt::Debug for DbTokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbTokenStore").field("tenant", &self.tenant).finish_non_exhaustive()
    }
}

impl DbTokenStore {
    /// The token store of `tenant`.
    pub fn new(vault: Vault, tenant: &str) -> DbTokenStore {
        DbTokenStore { vault, tenant: tenant.to_string(), cache: Mutex::new(None) }
    }

    fn cached(&self, audience: &Audience) -> Option<AccessToken> {
        let cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.as_ref().filter(|(a, _, at)| a == audience && at.elapsed() < CACHE_FOR).map(|(_, t, _)| t.clone())
    }

    fn remember(&self, audience: &Audience, token: Option<AccessToken>) {
        let mut cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *cache = token.map(|t| (audience.clone(), t, Instant::now()));
    }

    async fn read(&self, audience: &Audience) -> Result<Option<AccessToken>, crate::SyncError> {
        let row =
            sqlx::query("SELECT token, issued_at_ms, expires_at_ms FROM tokens WHERE tenant = $1 AND audience = $2")
                .bind(self.tenant.clone())
                .bind(audience.as_str().to_string())
                .fetch_optional(&self.vault.store().pool)
                .await?;
        let Some(row) = row else { return Ok(None) };
        let sealed: String = row.try_get("token")?;
        let token = self.vault.keys().open(&sealed, &context(&self.tenant, audience.as_str()))?;
        let (issued, expires) = (row.try_get::<i64, _>("issued_at_ms")?, row.try_get::<i64, _>("expires_at_ms")?);
        Ok(time(issued).zip(time(expires)).map(|(issued_at, expires_at)| AccessToken { token, issued_at, expires_at }))
    }

    async fn write(&self, audience: &Audience, token: &AccessToken) -> Result<(), crate::SyncError> {
        let sealed = self.vault.keys().seal(token.token.expose(), &context(&self.tenant, audience.as_str()))?;
        sqlx::query(
            "INSERT INTO tokens (tenant, audience, token, issued_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (tenant, audience) DO UPDATE SET token = excluded.token, issued_at_ms = excluded.issued_at_ms, \
             expires_at_ms = excluded.expires_at_ms",
        )
        .bind(self.tenant.clone())
        .bind(audience.as_str().to_string())
        .bind(sealed)
        .bind(millis(token.issued_at))
        .bind(millis(token.expires_at))
        .execute(&self.vault.store().pool)
        .await?;
        Ok(())
    }
}

impl TokenStore for DbTokenStore {
    fn load<'a>(&'a self, audience: &'a Audience) -> BoxFuture<'a, Option<AccessToken>> {
        Box::pin(async move {
            if let Some(token) = self.cached(audience) {
                return Some(token);
            }
            match self.read(audience).await {
                Ok(token) => {
                    self.remember(audience, token.clone());
                    token
                }
                Err(e) => {
                    // Without the shared token this process fetches its own: worse, not wrong.
                    tracing::warn!(tenant = %self.tenant, error = %e, "pax8-sync: cannot read the stored token");
                    None
                }
            }
        })
    }

    fn save<'a>(&'a self, audience: &'a Audience, token: AccessToken) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if let Err(e) = self.write(audience, &token).await {
                tracing::warn!(tenant = %self.tenant, error = %e, "pax8-sync: cannot store the token");
            }
            self.remember(audience, Some(token));
        })
    }

    fn discard<'a>(&'a self, audience: &'a Audience, token: &'a AccessToken) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            self.remember(audience, None);
            // The same issue of the token (a newer one another process stored stays).
            let done = sqlx::query(
                "DELETE FROM tokens WHERE tenant = $1 AND audience = $2 AND issued_at_ms = $3 AND expires_at_ms = $4",
            )
            .bind(self.tenant.clone())
            .bind(audience.as_str().to_string())
            .bind(millis(token.issued_at))
            .bind(millis(token.expires_at))
            .execute(&self.vault.store().pool)
            .await;
            if let Err(e) = done {
                tracing::warn!(tenant = %self.tenant, error = %e, "pax8-sync: cannot discard the token");
            }
        })
    }

    fn lock_refresh<'a>(&'a self, audience: &'a Audience) -> BoxFuture<'a, Option<RefreshGuard>> {
        Box::pin(async move {
            let pool = self.vault.store().pool.clone();
            let holder = uuid::Uuid::new_v4().to_string();
            let started = Instant::now();
            // Bounded: after a lease's length the holder is gone or slow, and this one fetches.
            while started.elapsed() < LOCK_LEASE {
                let now = millis(SystemTime::now());
                let taken = sqlx::query(
                    "INSERT INTO token_locks (tenant, audience, holder, until_ms) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (tenant, audience) DO UPDATE SET holder = excluded.holder, until_ms = excluded.until_ms \
                     WHERE token_locks.until_ms < $5",
                )
                .bind(self.tenant.clone())
                .bind(audience.as_str().to_string())
                .bind(holder.clone())
                .bind(now.saturating_add(i64::try_from(LOCK_LEASE.as_millis()).unwrap_or(i64::MAX)))
                .bind(now)
                .execute(&pool)
                .await;
                match taken {
                    Ok(done) if done.rows_affected() == 1 => {
                        self.remember(audience, None); // read what the last holder stored
                        let guard = Held { pool, tenant: self.tenant.clone(), audience: audience.clone(), holder };
                        return Some(Box::new(guard) as RefreshGuard);
                    }
                    Ok(_) => tokio::time::sleep(Duration::from_millis(25)).await,
                    Err(e) => {
                        tracing::warn!(tenant = %self.tenant, error = %e, "pax8-sync: cannot take the token lock");
                        return None;
                    }
                }
            }
            self.remember(audience, None);
            None
        })
    }
}

/// The refresh lock, released when dropped.
struct Held {
    pool: AnyPool,
    tenant: String,
    audience: Audience,
    holder: String,
}

impl Drop for Held {
    fn drop(&mut self) {
        let (pool, tenant, audience, holder) =
            (self.pool.clone(), self.tenant.clone(), self.audience.as_str().to_string(), self.holder.clone());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = sqlx::query("DELETE FROM token_locks WHERE tenant = $1 AND audience = $2 AND holder = $3")
                    .bind(tenant)
                    .bind(audience)
                    .bind(holder)
                    .execute(&pool)
                    .await;
            });
        }
    }
}
