//! [`Pax8Client`]: one client for every API group, sharing a connection pool, token caches,
//! a rate limiter and a retry budget. Cloning is cheap.

use std::sync::Arc;

use pax8_api::Api;

use crate::auth::{Audience, Credentials, InMemoryTokenStore, TokenManager};
use crate::config::{ClientBuilder, Environment};
use crate::error::{Error, Result};
use crate::pipeline::Pipeline;
use crate::rate_limit::RateLimiter;
use crate::retry::RetryBudget;

/// The Pax8 client.
///
/// ```no_run
/// # async fn demo() -> pax8_ext::Result<()> {
/// use futures::TryStreamExt;
/// let client = pax8_ext::Pax8Client::from_env()?;
/// let companies: Vec<_> = client.companies().list().items().try_collect().await?;
/// println!("{} companies", companies.len());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Pax8Client {
    pipeline: Arc<Pipeline>,
    environment: Arc<Environment>,
    partner: pax8_api::partner::Client,
    quoting: pax8_api::quoting::Client,
    webhooks: pax8_api::webhooks::Client,
    vendor_provisioning: pax8_api::vendor_provisioning::Client,
    vendor_usage: pax8_api::vendor_usage::Client,
}

impl std::fmt::Debug for Pax8Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pax8Client")
            .field("client_id", &self.pipeline.tokens.credentials.client_id)
            .field("environment", &self.environment)
            .field("retry", &self.pipeline.retry)
            .field("rate_limit_per_minute", &self.pipeline.limiter.as_ref().map(RateLimiter::per_minute))
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Builds the client; misconfiguration is reported here.
    pub fn build(self) -> Result<Pax8Client> {
        build(self)
    }
}

fn build(b: ClientBuilder) -> Result<Pax8Client> {
    if b.client_id.trim().is_empty() {
        return Err(Error::Config("client id is empty".into()));
    }
    if b.client_secret.is_empty() {
        return Err(Error::Config("client secret is empty".into()));
    }
    let mut environment = b.environment.clone();
    if let Some(url) = &b.token_url {
        environment.token_url = url.clone();
    }
    environment.validate()?;
    let default_audience = Audience::parse(&b.audience)?;
    let mut audiences: Vec<(Api, Audience)> = vec![
        (Api::Auth, default_audience.clone()),
        (Api::Partner, default_audience.clone()),
        (Api::Quoting, default_audience.clone()),
        (Api::Webhooks, default_audience),
        (Api::VendorProvisioning, Audience::parse(Audience::PROVISIONING)?),
        (Api::VendorUsage, Audience::parse(Audience::USAGE)?),
    ];
    for (api, audience) in &b.audience_overrides {
        let audience = Audience::parse(audience)?;
        if let Some(slot) = audiences.iter_mut().find(|(a, _)| a == api) {
            slot.1 = audience;
        }
    }
    if let Some((per_minute, _)) = b.rate_limit
        && per_minute == 0
    {
        return Err(Error::Config("rate limit must be at least 1 request per minute".into()));
    }
    let http = match b.http.clone() {
        Some(http) => http,
        None => reqwest::Client::builder()
            .timeout(b.request_timeout)
            .connect_timeout(b.connect_timeout)
            .user_agent(b.user_agent.clone())
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?,
    };
    if b.max_response_bytes == 0 {
        return Err(Error::Config("the response size limit must be at least 1 byte".into()));
    }
    let tokens = TokenManager::new(
        Credentials { client_id: b.client_id.clone(), client_secret: b.client_secret.clone() },
        b.token_store.clone().unwrap_or_else(|| Arc::new(InMemoryTokenStore::default())),
        b.refresh_margin,
        b.auto_refresh,
    );
    let pipeline = Arc::new(Pipeline {
        http: http.clone(),
        token_endpoint: pax8_api::auth::Client::new_with_client(environment.token_base(), http.clone()),
        tokens,
        limiter: b.rate_limit.map(|(per_minute, burst)| RateLimiter::new(per_minute, burst)),
        shared_budget: b.shared_budget.clone(),
        budget: RetryBudget::new(b.retry_budget),
        retry: b.retry,
        hooks: b.hooks.clone(),
        audiences,
        max_response_bytes: b.max_response_bytes,
        requests_sent: Default::default(),
    });
    Ok(Pax8Client {
        partner: pax8_api::partner::Client::new_with_client(&environment.partner, http.clone()),
        quoting: pax8_api::quoting::Client::new_with_client(&environment.quoting, http.clone()),
        webhooks: pax8_api::webhooks::Client::new_with_client(&environment.webhooks, http.clone()),
        vendor_provisioning: pax8_api::vendor_provisioning::Client::new_with_client(
            &environment.vendor_provisioning,
            http.clone(),
        ),
        vendor_usage: pax8_api::vendor_usage::Client::new_with_client(&environment.vendor_usage, http),
        environment: Arc::new(environment),
        pipeline,
    })
}

impl Pax8Client {
    /// A builder with every default; set at least the client id and secret.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from the environment (see [`ClientBuilder::from_env`]).
    pub fn from_env() -> Result<Self> {
        ClientBuilder::default().from_env()?.build()
    }

    /// The environment (base URLs) this client talks to.
    pub fn environment(&self) -> &Environment {
        &self.environment
    }

    /// The generated partner v1 client: build a request with it, send it with
    /// [`Pax8Client::send`] or [`crate::Call::call`] (its own `send()` bypasses this client).
    pub fn partner(&self) -> &pax8_api::partner::Client {
        &self.partner
    }
    /// The generated quoting v2 client.
    pub fn quoting(&self) -> &pax8_api::quoting::Client {
        &self.quoting
    }
    /// The generated webhooks v2 client.
    pub fn webhooks_api(&self) -> &pax8_api::webhooks::Client {
        &self.webhooks
    }
    /// The generated vendor provisioning client (audience `api://provisioning`).
    pub fn vendor_provisioning(&self) -> &pax8_api::vendor_provisioning::Client {
        &self.vendor_provisioning
    }
    /// The generated vendor usage client (audience `api://usage`).
    pub fn vendor_usage(&self) -> &pax8_api::vendor_usage::Client {
        &self.vendor_usage
    }

    /// Fetches a new token for the partner audience now (manual control; with auto refresh off
    /// this is how an expired token is replaced).
    pub async fn refresh_token(&self) -> Result<()> {
        self.refresh_token_for(Api::Partner).await
    }

    /// Fetches a new token for the audience of `api` now.
    pub async fn refresh_token_for(&self, api: Api) -> Result<()> {
        self.pipeline.refresh_token(self.pipeline.audience(api)?).await.map(|_| ())
    }

    /// Makes sure a usable partner token is at hand: the cached one while fresh, else one
    /// fetched now (single-flight with every other caller). A readiness check: it fails when the
    /// credentials are refused or the token endpoint is unreachable.
    pub async fn ensure_token(&self) -> Result<()> {
        let audience = self.pipeline.audience(Api::Partner)?;
        self.pipeline.token(audience).await.map(|_| ())
    }

    /// Token requests this client has sent (all audiences).
    pub fn token_requests_sent(&self) -> u64 {
        self.pipeline.tokens.requests_sent()
    }

    /// API requests this client (and its clones) has sent, each retry counted; token requests
    /// are counted by [`Pax8Client::token_requests_sent`].
    pub fn requests_sent(&self) -> u64 {
        self.pipeline.requests_sent.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Retry budget tokens left.
    pub fn retry_budget_left(&self) -> u32 {
        self.pipeline.budget.available()
    }

    /// The rate limiter's current rate in requests a minute (lower than configured after the
    /// server pushed back), if the client limits its rate.
    pub fn current_rate_per_minute(&self) -> Option<f64> {
        self.pipeline.limiter.as_ref().map(RateLimiter::current_per_minute)
    }

    pub(crate) fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }
}
