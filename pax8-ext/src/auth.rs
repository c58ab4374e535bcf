//! OAuth2 client-credentials tokens: fetched lazily, cached per audience, refreshed before
//! expiry, single-flight (any number of concurrent callers cause one token request).
//!
//! The token manager decides *when* a token is needed; the request itself goes through the same
//! pipeline as every other request (rate limit, retries, budget, hooks), see
//! [`crate::pipeline`].

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;

use crate::SecretString;
use crate::error::{Error, Result};

/// Who a token is for. Partner APIs use [`Audience::PARTNER`]; the vendor APIs their own.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Audience(String);

impl Audience {
    /// `https://api.pax8.com`: partner v1, quoting and webhooks APIs (the default).
    pub const PARTNER: &'static str = "https://api.pax8.com";
    /// `api://p8p.client`.
    pub const P8P_CLIENT: &'static str = "api://p8p.client";
    /// `api://provisioning`: vendor provisioning API.
    pub const PROVISIONING: &'static str = "api://provisioning";
    /// `api://usage`: vendor usage API.
    pub const USAGE: &'static str = "api://usage";
    /// Every audience the token endpoint accepts.
    pub const ALLOWED: [&'static str; 4] = [Self::PARTNER, Self::P8P_CLIENT, Self::PROVISIONING, Self::USAGE];

    /// An audience; [`Audience::parse`] checks it against [`Audience::ALLOWED`].
    pub fn parse(value: &str) -> Result<Self> {
        if Self::ALLOWED.contains(&value) {
            Ok(Self(value.to_string()))
        } else {
            Err(Error::Config(format!("audience `{value}` is not one of {}", Self::ALLOWED.join(", "))))
        }
    }

    /// The partner audience.
    pub fn partner() -> Self {
        Self(Self::PARTNER.into())
    }

    /// The audience string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A bearer token and when it stops being valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The token (redacted in `Debug`).
    pub token: SecretString,
    /// When it was issued.
    pub issued_at: SystemTime,
    /// When it expires.
    pub expires_at: SystemTime,
}

impl AccessToken {
    fn lifetime(&self) -> Duration {
        self.expires_at.duration_since(self.issued_at).unwrap_or_default()
    }
}

/// Where tokens are kept: in memory by default; implement it to share one token between
/// processes (a file, Redis...). Stores hold secrets: never log what they keep.
pub trait TokenStore: Send + Sync + 'static {
    /// The stored token for `audience`, if any (expired or not).
    fn load<'a>(&'a self, audience: &'a Audience) -> BoxFuture<'a, Option<AccessToken>>;
    /// Keeps `token` for `audience`, replacing any other.
    fn save<'a>(&'a self, audience: &'a Audience, token: AccessToken) -> BoxFuture<'a, ()>;
    /// Forgets the token of `audience` if it is still `token`.
    fn discard<'a>(&'a self, audience: &'a Audience, token: &'a AccessToken) -> BoxFuture<'a, ()>;
    /// Held while a token of `audience` is fetched: a store shared between processes returns a
    /// guard (a file lock, say) so the others wait, then find the new token instead of fetching
    /// their own. The default holds nothing (one process: the manager's own single flight).
    fn lock_refresh<'a>(&'a self, audience: &'a Audience) -> BoxFuture<'a, Option<RefreshGuard>> {
        let _ = audience;
        Box::pin(async { None })
    }
}

/// What [`TokenStore::lock_refresh`] returns: the lock is released when it is dropped.
pub type RefreshGuard = Box<dyn Send + Sync>;

/// The default [`TokenStore`]: a map in memory.
#[derive(Debug, Default)]
pub struct InMemoryTokenStore {
    tokens: Mutex<HashMap<Audience, AccessToken>>,
}

impl TokenStore for InMemoryTokenStore {
    fn load<'a>(&'a self, audience: &'a Audience) -> BoxFuture<'a, Option<AccessToken>> {
        let token = self.tokens.lock().expect("token store lock").get(audience).cloned();
        Box::pin(async move { token })
    }
    fn save<'a>(&'a self, audience: &'a Audience, token: AccessToken) -> BoxFuture<'a, ()> {
        self.tokens.lock().expect("token store lock").insert(audience.clone(), token);
        Box::pin(async {})
    }
    fn discard<'a>(&'a self, audience: &'a Audience, token: &'a AccessToken) -> BoxFuture<'a, ()> {
        let mut tokens = self.tokens.lock().expect("token store lock");
        if tokens.get(audience) == Some(token) {
            tokens.remove(audience);
        }
        Box::pin(async {})
    }
}

/// Client id and secret.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The client id.
    pub client_id: String,
    /// The client secret (redacted in `Debug`).
    pub client_secret: SecretString,
}

/// Wall-clock time that follows tokio's clock, so that expiry is testable with paused time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    wall: SystemTime,
    mono: tokio::time::Instant,
}

impl Clock {
    pub(crate) fn new() -> Self {
        Self { wall: SystemTime::now(), mono: tokio::time::Instant::now() }
    }
    pub(crate) fn now(&self) -> SystemTime {
        self.wall + self.mono.elapsed()
    }
}

/// The shortest and longest token lifetimes believed. A server's `expires_in` is clamped into
/// this range (0, negative, 1e20 and NaN included), so no lifetime can overflow a clock.
pub const LIFETIME_BOUNDS: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(366 * 24 * 3600));
/// The lifetime assumed when the server gives none: the documents' 86400 seconds.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(86_400);

/// The lifetime of a token whose response said `expires_in` seconds, within [`LIFETIME_BOUNDS`].
pub fn lifetime(expires_in: Option<f64>) -> Duration {
    let (min, max) = LIFETIME_BOUNDS;
    match expires_in {
        Some(seconds) if seconds.is_nan() => DEFAULT_LIFETIME,
        Some(seconds) => Duration::from_secs_f64(seconds.clamp(min.as_secs_f64(), max.as_secs_f64())),
        None => DEFAULT_LIFETIME,
    }
}

/// Caches and refreshes tokens; what fetches one is given by the caller (the pipeline).
pub(crate) struct TokenManager {
    pub(crate) credentials: Credentials,
    pub(crate) store: Arc<dyn TokenStore>,
    pub(crate) refresh_margin: Duration,
    pub(crate) auto_refresh: bool,
    pub(crate) clock: Clock,
    flights: Mutex<HashMap<Audience, Arc<tokio::sync::Mutex<()>>>>,
    requests: AtomicU64,
}

impl std::fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenManager")
            .field("client_id", &self.credentials.client_id)
            .field("auto_refresh", &self.auto_refresh)
            .field("refresh_margin", &self.refresh_margin)
            .finish_non_exhaustive()
    }
}

impl TokenManager {
    pub(crate) fn new(
        credentials: Credentials,
        store: Arc<dyn TokenStore>,
        refresh_margin: Duration,
        auto_refresh: bool,
    ) -> Self {
        Self {
            credentials,
            store,
            refresh_margin,
            auto_refresh,
            clock: Clock::new(),
            flights: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
        }
    }

    /// Token requests sent so far.
    pub(crate) fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Counts one token request.
    pub(crate) fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Valid and not inside the refresh margin (at most half the lifetime, so short-lived
    /// tokens are still used).
    pub(crate) fn is_fresh(&self, token: &AccessToken) -> bool {
        let margin = self.refresh_margin.min(token.lifetime() / 2);
        token.expires_at.checked_sub(margin).is_some_and(|t| t > self.clock.now())
    }

    fn is_expired(&self, token: &AccessToken) -> bool {
        token.expires_at <= self.clock.now()
    }

    fn flight(&self, audience: &Audience) -> Arc<tokio::sync::Mutex<()>> {
        let mut flights = self.flights.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        flights.entry(audience.clone()).or_default().clone()
    }

    /// A usable token for `audience`; `fetch` is called (once, single-flight) when none is.
    pub(crate) async fn token<F, Fut>(&self, audience: &Audience, fetch: F) -> Result<AccessToken>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<AccessToken>>,
    {
        if let Some(t) = self.store.load(audience).await {
            if self.is_fresh(&t) {
                return Ok(t);
            }
            if !self.auto_refresh {
                if !self.is_expired(&t) {
                    return Ok(t);
                }
                return Err(Error::Authentication {
                    message: "the access token expired and automatic refresh is off: call refresh_token()".into(),
                    oauth: None,
                    api: None,
                });
            }
        }
        let flight = self.flight(audience);
        let _guard = flight.lock().await;
        // Other processes sharing the store wait here too.
        let _shared = self.store.lock_refresh(audience).await;
        // Another caller (or process) may have refreshed while this one waited.
        if let Some(t) = self.store.load(audience).await
            && self.is_fresh(&t)
        {
            return Ok(t);
        }
        Ok(self.store_fetched(audience, fetch().await?).await)
    }

    /// Fetches a new token now (manual refresh), single-flight with automatic ones.
    pub(crate) async fn refresh<F, Fut>(&self, audience: &Audience, fetch: F) -> Result<AccessToken>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<AccessToken>>,
    {
        let flight = self.flight(audience);
        let _guard = flight.lock().await;
        let _shared = self.store.lock_refresh(audience).await;
        Ok(self.store_fetched(audience, fetch().await?).await)
    }

    async fn store_fetched(&self, audience: &Audience, token: AccessToken) -> AccessToken {
        self.store.save(audience, token.clone()).await;
        token
    }

    /// Forgets `used` after the API refused it (401).
    pub(crate) async fn invalidate(&self, audience: &Audience, used: &AccessToken) {
        self.store.discard(audience, used).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manager(margin: Duration, auto_refresh: bool) -> TokenManager {
        TokenManager::new(
            Credentials { client_id: "id".into(), client_secret: SecretString::new("s") },
            Arc::new(InMemoryTokenStore::default()),
            margin,
            auto_refresh,
        )
    }

    fn token(manager: &TokenManager, lifetime: Duration) -> AccessToken {
        let now = manager.clock.now();
        AccessToken { token: SecretString::new("t"), issued_at: now, expires_at: now + lifetime }
    }

    #[test]
    fn every_lifetime_is_clamped_without_panicking() {
        let (min, max) = LIFETIME_BOUNDS;
        assert_eq!(lifetime(Some(86_400.0)), Duration::from_secs(86_400));
        assert_eq!(lifetime(Some(3599.5)), Duration::from_secs_f64(3599.5));
        assert_eq!(lifetime(Some(10.0)), Duration::from_secs(10), "short lifetimes are believed");
        let long = Duration::from_secs(300 * 24 * 3600);
        assert_eq!(lifetime(Some(long.as_secs_f64())), long, "so are lifetimes of months");
        for absurd in [1e19, 1e20, f64::MAX, f64::INFINITY] {
            assert_eq!(lifetime(Some(absurd)), max, "{absurd}");
        }
        for tiny in [0.0, -1.0, -1e20, f64::NEG_INFINITY, 0.5] {
            assert_eq!(lifetime(Some(tiny)), min, "{tiny}");
        }
        assert_eq!(lifetime(Some(f64::NAN)), DEFAULT_LIFETIME);
        assert_eq!(lifetime(None), DEFAULT_LIFETIME);
        let now = SystemTime::now();
        let _ = now + max; // the largest lifetime still fits the clock
    }

    #[test]
    fn debug_names_the_client_and_hides_the_secret() {
        let m = manager(Duration::from_secs(300), true);
        let printed = format!("{m:?}");
        assert!(
            printed.contains("TokenManager") && printed.contains("\"id\"") && printed.contains("300s"),
            "{printed}"
        );
        assert!(!printed.contains("\"s\""), "{printed}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_refresh_margin_is_at_most_half_the_lifetime() {
        let m = manager(Duration::from_secs(300), true);
        // A 10-minute token with a 5-minute margin: fresh for 5 minutes.
        let t = token(&m, Duration::from_secs(600));
        tokio::time::advance(Duration::from_secs(299)).await;
        assert!(m.is_fresh(&t));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(!m.is_fresh(&t), "at the margin it is refreshed");
        // A 4-minute token: the margin shrinks to 2 minutes, so it is used at all.
        let short = token(&m, Duration::from_secs(240));
        tokio::time::advance(Duration::from_secs(119)).await;
        assert!(m.is_fresh(&short), "half the lifetime is left");
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(!m.is_fresh(&short));
    }

    #[tokio::test(start_paused = true)]
    async fn without_auto_refresh_a_token_inside_the_margin_is_still_used() {
        let m = manager(Duration::from_secs(300), false);
        let t = token(&m, Duration::from_secs(600));
        m.store.save(&Audience::partner(), t.clone()).await;
        tokio::time::advance(Duration::from_secs(400)).await; // inside the margin, not expired
        let used = m.token(&Audience::partner(), || async { panic!("no fetch without auto refresh") }).await;
        assert_eq!(used.unwrap(), t);
        tokio::time::advance(Duration::from_secs(300)).await; // expired
        let err = m.token(&Audience::partner(), || async { panic!("no fetch without auto refresh") }).await;
        assert!(matches!(err, Err(Error::Authentication { .. })), "{err:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn with_auto_refresh_a_token_inside_the_margin_is_replaced() {
        let m = manager(Duration::from_secs(300), true);
        let old = token(&m, Duration::from_secs(600));
        m.store.save(&Audience::partner(), old.clone()).await;
        tokio::time::advance(Duration::from_secs(400)).await;
        let new = token(&m, Duration::from_secs(600));
        let got = m.token(&Audience::partner(), || async { Ok(new.clone()) }).await.unwrap();
        assert_eq!(got, new);
        assert_eq!(m.store.load(&Audience::partner()).await, Some(new), "stored");
    }
}
