//! A [`TokenStore`] in a file, so that commands run one after another (or at once) share one
//! token: `pax8` ten times in a row makes one token request.
//!
//! The file is JSON, readable and writable by its owner only (0600), written whole through a
//! temporary file and a rename, under an exclusive lock. Tokens are kept per client id and
//! audience, so other credentials never pick up a token that is not theirs. While one process
//! fetches a token, others wait on a second lock file and then use that token.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::SecretString;
use crate::auth::{AccessToken, Audience, RefreshGuard, TokenStore};

/// Tokens in a file shared between processes (see the module documentation).
///
/// ```no_run
/// # fn demo() -> pax8_ext::Result<()> {
/// use std::sync::Arc;
/// let store = pax8_ext::FileTokenStore::new("/home/me/.config/pax8/tokens.json", "my-client-id");
/// let client = pax8_ext::Pax8Client::builder()
///     .client_id("my-client-id")
///     .client_secret("secret")
///     .token_store(Arc::new(store))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct FileTokenStore {
    path: PathBuf,
    namespace: String,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    token: String,
    issued_at_ms: u64,
    expires_at_ms: u64,
}

fn millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn time(ms: u64) -> Option<SystemTime> {
    UNIX_EPOCH.checked_add(Duration::from_millis(ms))
}

/// An exclusive lock on a file: closing the file (dropping this) releases it.
struct Held(#[allow(dead_code)] File);

impl FileTokenStore {
    /// Tokens of `client_id` in the file at `path` (created on first save, with its folder).
    pub fn new(path: impl Into<PathBuf>, client_id: &str) -> Self {
        Self { path: path.into(), namespace: client_id.to_string() }
    }

    fn key(&self, audience: &Audience) -> String {
        format!("{} {}", self.namespace, audience.as_str())
    }

    fn sibling(&self, suffix: &str) -> PathBuf {
        let mut name = self.path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        name.push(suffix);
        self.path.with_file_name(name)
    }

    fn open_owner_only(path: &Path) -> std::io::Result<File> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut options = OpenOptions::new();
        options.create(true).truncate(false).read(true).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options.open(path)
    }

    /// Blocks until the lock file `suffix` is held.
    fn lock(&self, suffix: &str) -> std::io::Result<Held> {
        let file = Self::open_owner_only(&self.sibling(suffix))?;
        file.lock()?;
        Ok(Held(file))
    }

    /// Every stored token; an unreadable or foreign file reads as empty (never an error: the
    /// token is then fetched again).
    fn read_all(&self) -> BTreeMap<String, Stored> {
        std::fs::read(&self.path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).unwrap_or_default()
    }

    fn write_all(&self, tokens: &BTreeMap<String, Stored>) -> std::io::Result<()> {
        let temporary = self.sibling(".tmp");
        let mut file = Self::open_owner_only(&temporary)?;
        file.set_len(0)?;
        file.write_all(&serde_json::to_vec(tokens).map_err(std::io::Error::other)?)?;
        file.sync_all()?;
        std::fs::rename(&temporary, &self.path)?;
        // An existing file keeps its mode across a rename of ours, but tighten it anyway.
        #[cfg(unix)]
        std::fs::set_permissions(
            &self.path,
            <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o600),
        )?;
        Ok(())
    }

    /// Read, change, write, under the write lock.
    fn update(&self, change: impl FnOnce(&mut BTreeMap<String, Stored>)) {
        let result = self.lock(".lock").and_then(|_held| {
            let mut tokens = self.read_all();
            change(&mut tokens);
            self.write_all(&tokens)
        });
        if let Err(error) = result {
            // The token still works for this process; the next one fetches its own.
            tracing::warn!(path = %self.path.display(), %error, "pax8: cannot write the token file");
        }
    }

    fn load_now(&self, audience: &Audience) -> Option<AccessToken> {
        let tokens = self.read_all();
        let stored = tokens.get(&self.key(audience))?;
        Some(AccessToken {
            token: SecretString::new(stored.token.clone()),
            issued_at: time(stored.issued_at_ms)?,
            expires_at: time(stored.expires_at_ms)?,
        })
    }
}

impl TokenStore for FileTokenStore {
    fn load<'a>(&'a self, audience: &'a Audience) -> BoxFuture<'a, Option<AccessToken>> {
        Box::pin(async move { self.load_now(audience) })
    }

    fn save<'a>(&'a self, audience: &'a Audience, token: AccessToken) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let stored = Stored {
                token: token.token.expose().to_string(),
                issued_at_ms: millis(token.issued_at),
                expires_at_ms: millis(token.expires_at),
            };
            let key = self.key(audience);
            let store = self.clone();
            let _ = tokio::task::spawn_blocking(move || {
                store.update(|tokens| {
                    tokens.insert(key, stored);
                })
            })
            .await;
        })
    }

    fn discard<'a>(&'a self, audience: &'a Audience, token: &'a AccessToken) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let (key, used) = (self.key(audience), token.token.expose().to_string());
            let store = self.clone();
            let _ = tokio::task::spawn_blocking(move || {
                store.update(|tokens| {
                    if tokens.get(&key).is_some_and(|t| t.token == used) {
                        tokens.remove(&key);
                    }
                })
            })
            .await;
        })
    }

    fn lock_refresh<'a>(&'a self, _audience: &'a Audience) -> BoxFuture<'a, Option<RefreshGuard>> {
        let store = self.clone();
        Box::pin(async move {
            match tokio::task::spawn_blocking(move || store.lock(".refresh-lock")).await {
                Ok(Ok(held)) => Some(Box::new(held) as RefreshGuard),
                // Without the lock this process fetches its own token: still correct.
                _ => None,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(value: &str, expires_in: Duration) -> AccessToken {
        let now = SystemTime::now();
        AccessToken { token: SecretString::new(value), issued_at: now, expires_at: now + expires_in }
    }

    #[tokio::test]
    async fn tokens_survive_the_process_per_client_and_audience_and_the_file_is_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/tokens.json");
        let store = FileTokenStore::new(&path, "client-a");
        let partner = Audience::partner();
        assert!(store.load(&partner).await.is_none(), "no file yet");
        let t = token("secret-token-1", Duration::from_secs(3600));
        store.save(&partner, t.clone()).await;
        // Another "process": a new store on the same file.
        let again = FileTokenStore::new(&path, "client-a");
        let loaded = again.load(&partner).await.unwrap();
        assert_eq!(loaded.token.expose(), "secret-token-1");
        assert_eq!(millis(loaded.expires_at), millis(t.expires_at));
        assert!(FileTokenStore::new(&path, "client-b").load(&partner).await.is_none(), "other credentials");
        assert!(again.load(&Audience::parse(Audience::USAGE).unwrap()).await.is_none(), "other audience");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        // Discard only forgets the token it names.
        again.discard(&partner, &token("another", Duration::from_secs(1))).await;
        assert!(store.load(&partner).await.is_some());
        again.discard(&partner, &loaded).await;
        assert!(store.load(&partner).await.is_none());
    }

    #[tokio::test]
    async fn a_damaged_file_reads_as_empty_and_debug_shows_no_token() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        std::fs::write(&path, b"{not json").unwrap();
        let store = FileTokenStore::new(&path, "c");
        assert!(store.load(&Audience::partner()).await.is_none());
        store.save(&Audience::partner(), token("tok-xyz", Duration::from_secs(60))).await;
        assert!(store.load(&Audience::partner()).await.is_some(), "rewritten whole");
        assert!(!format!("{store:?}").contains("tok-xyz"));
        assert!(store.lock_refresh(&Audience::partner()).await.is_some());
    }
}
