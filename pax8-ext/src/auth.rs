//! OAuth2 client-credentials tokens: fetched lazily, cached per audience, refreshed before
//! expiry, single-flight (any number of concurrent callers cause one token request).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;
use pax8_api::runtime::capture_runtime_error;

use crate::SecretString;
use crate::error::{Error, OAuthError, Result};
use crate::retry::{Decision, Outcome, RetryPolicy, classify};

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
}

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

/// Obtains, caches and refreshes tokens.
pub(crate) struct TokenManager {
    pub(crate) credentials: Credentials,
    pub(crate) endpoint: pax8_api::auth::Client,
    pub(crate) store: Arc<dyn TokenStore>,
    pub(crate) refresh_margin: Duration,
    pub(crate) auto_refresh: bool,
    pub(crate) retry: RetryPolicy,
    pub(crate) clock: Clock,
    flights: Mutex<HashMap<Audience, Arc<tokio::sync::Mutex<()>>>>,
    requests: AtomicU64,
}

impl std::fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenManager")
            .field("client_id", &self.credentials.client_id)
            .field("token_endpoint", &pax8_api::auth::ClientInfo::baseurl(&self.endpoint))
            .field("auto_refresh", &self.auto_refresh)
            .field("refresh_margin", &self.refresh_margin)
            .finish_non_exhaustive()
    }
}

impl TokenManager {
    pub(crate) fn new(
        credentials: Credentials,
        endpoint: pax8_api::auth::Client,
        store: Arc<dyn TokenStore>,
        refresh_margin: Duration,
        auto_refresh: bool,
        retry: RetryPolicy,
    ) -> Self {
        Self {
            credentials,
            endpoint,
            store,
            refresh_margin,
            auto_refresh,
            retry,
            clock: Clock::new(),
            flights: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
        }
    }

    /// Token requests sent so far.
    pub(crate) fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Valid and not inside the refresh margin (at most half the lifetime, so short-lived
    /// tokens are still used).
    fn is_fresh(&self, token: &AccessToken) -> bool {
        let margin = self.refresh_margin.min(token.lifetime() / 2);
        token.expires_at.checked_sub(margin).is_some_and(|t| t > self.clock.now())
    }

    fn is_expired(&self, token: &AccessToken) -> bool {
        token.expires_at <= self.clock.now()
    }

    fn flight(&self, audience: &Audience) -> Arc<tokio::sync::Mutex<()>> {
        self.flights.lock().expect("flights lock").entry(audience.clone()).or_default().clone()
    }

    /// A usable token for `audience`, fetching one if needed (single-flight).
    pub(crate) async fn token(&self, audience: &Audience) -> Result<AccessToken> {
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
        // Another caller may have refreshed while this one waited.
        if let Some(t) = self.store.load(audience).await
            && self.is_fresh(&t)
        {
            return Ok(t);
        }
        self.fetch_and_store(audience).await
    }

    /// Fetches a new token now (manual refresh), single-flight with automatic ones.
    pub(crate) async fn refresh(&self, audience: &Audience) -> Result<AccessToken> {
        let flight = self.flight(audience);
        let _guard = flight.lock().await;
        self.fetch_and_store(audience).await
    }

    /// Forgets `used` after the API refused it (401).
    pub(crate) async fn invalidate(&self, audience: &Audience, used: &AccessToken) {
        self.store.discard(audience, used).await;
    }

    async fn fetch_and_store(&self, audience: &Audience) -> Result<AccessToken> {
        let token = self.fetch(audience).await?;
        self.store.save(audience, token.clone()).await;
        Ok(token)
    }

    async fn fetch(&self, audience: &Audience) -> Result<AccessToken> {
        let body = pax8_api::TokenRequest {
            client_id: self.credentials.client_id.clone(),
            client_secret: self.credentials.client_secret.expose().to_string(),
            audience: audience.as_str().to_string(),
            grant_type: "client_credentials".into(),
        };
        let started = tokio::time::Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.requests.fetch_add(1, Ordering::Relaxed);
            let issued_at = self.clock.now();
            let (result, _) =
                capture_runtime_error(self.endpoint.create_access_token().body(body.clone()).send()).await;
            let outcome = match result {
                Ok(response) => {
                    let response = response.into_inner();
                    let lifetime = Duration::from_secs_f64(response.expires_in.unwrap_or(86_400.0).max(1.0));
                    tracing::debug!(
                        audience = audience.as_str(),
                        lifetime_s = lifetime.as_secs(),
                        "pax8: new access token"
                    );
                    return Ok(AccessToken {
                        token: SecretString::new(response.access_token),
                        issued_at,
                        expires_at: issued_at + lifetime,
                    });
                }
                Err(pax8_api::auth::Error::ErrorResponse(response)) => {
                    let status = response.status().as_u16();
                    let body = response.into_inner();
                    let oauth = body
                        .error
                        .clone()
                        .map(|error| Box::new(OAuthError { error, description: body.error_description.clone() }));
                    let err = Error::Authentication {
                        message: format!(
                            "token endpoint answered {status}: {}",
                            body.error_description.as_deref().or(body.message.as_deref()).unwrap_or("no description")
                        ),
                        oauth,
                        api: None,
                    };
                    (Outcome::Status { status, retry_after: None }, err)
                }
                Err(pax8_api::auth::Error::CommunicationError(e)) => {
                    let outcome = if e.is_connect() {
                        Outcome::ConnectFailed
                    } else if e.is_timeout() {
                        Outcome::TimedOut
                    } else {
                        Outcome::Interrupted
                    };
                    (outcome, Error::from_reqwest(e))
                }
                Err(other) => {
                    return Err(Error::Authentication {
                        message: format!("token endpoint: {other}"),
                        oauth: None,
                        api: None,
                    });
                }
            };
            let (outcome, err) = outcome;
            // A token request changes nothing on the server: retried like an idempotent call.
            let wait = match classify(true, outcome) {
                Decision::Stop => return Err(err),
                Decision::Retry => self.retry.backoff(attempt - 1, rand::random::<f64>()),
                Decision::RetryAfter(d) => d,
            };
            if attempt >= self.retry.max_attempts || started.elapsed() + wait > self.retry.max_elapsed {
                return Err(err);
            }
            tokio::time::sleep(wait).await;
        }
    }
}
