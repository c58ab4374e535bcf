//! Client configuration: where each API lives and how the client behaves.

use std::sync::Arc;
use std::time::Duration;

use pax8_api::Api;

use crate::SecretString;
use crate::auth::{Audience, TokenStore};
use crate::error::{Error, Result};
use crate::hooks::Hooks;
use crate::retry::RetryPolicy;

/// Base URLs of every API group and the token URL: one value switches a whole environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    /// OAuth token URL (must end in `/token`).
    pub token_url: String,
    /// Partner API v1 (`…/v1`).
    pub partner: String,
    /// Quoting API (its paths start with `/v2`).
    pub quoting: String,
    /// Webhooks API (`…/api/v2`).
    pub webhooks: String,
    /// Vendor provisioning API (`…/v2`).
    pub vendor_provisioning: String,
    /// Vendor usage API (`…/v2/usage`).
    pub vendor_usage: String,
}

impl Environment {
    /// The documents' token URL.
    pub const PRODUCTION_TOKEN_URL: &'static str = "https://token-manager.pax8.com/oauth/token";

    /// The real Pax8 service.
    pub fn production() -> Self {
        Self {
            token_url: Self::PRODUCTION_TOKEN_URL.into(),
            partner: Api::Partner.default_base_url().into(),
            quoting: Api::Quoting.default_base_url().into(),
            webhooks: Api::Webhooks.default_base_url().into(),
            vendor_provisioning: Api::VendorProvisioning.default_base_url().into(),
            vendor_usage: Api::VendorUsage.default_base_url().into(),
        }
    }

    /// Every API under one origin with the production path layout (`{base}/v1`, `{base}/api/v2`,
    /// token at `{base}/v1/token`): a local simulator, a proxy, a staging host.
    pub fn at(base: &str) -> Self {
        let base = base.trim_end_matches('/');
        Self {
            token_url: format!("{base}/v1/token"),
            partner: format!("{base}/v1"),
            quoting: base.to_string(),
            webhooks: format!("{base}/api/v2"),
            vendor_provisioning: format!("{base}/v2"),
            vendor_usage: format!("{base}/v2/usage"),
        }
    }

    /// The base URL of one group.
    pub fn base_url(&self, api: Api) -> &str {
        match api {
            Api::Partner => &self.partner,
            Api::Quoting => &self.quoting,
            Api::Webhooks => &self.webhooks,
            Api::VendorProvisioning => &self.vendor_provisioning,
            Api::VendorUsage => &self.vendor_usage,
            _ => self.token_base(),
        }
    }

    /// The token URL without its final `/token` (the base of the generated auth client).
    pub fn token_base(&self) -> &str {
        self.token_url.strip_suffix("/token").unwrap_or(&self.token_url)
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if !self.token_url.ends_with("/token") {
            return Err(Error::Config(format!("token URL `{}` must end in /token", self.token_url)));
        }
        for (name, value) in [
            ("token URL", &self.token_url),
            ("partner URL", &self.partner),
            ("quoting URL", &self.quoting),
            ("webhooks URL", &self.webhooks),
            ("vendor provisioning URL", &self.vendor_provisioning),
            ("vendor usage URL", &self.vendor_usage),
        ] {
            let url = url::Url::parse(value).map_err(|e| Error::Config(format!("{name} `{value}`: {e}")))?;
            if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                return Err(Error::Config(format!("{name} `{value}` is not an http(s) URL")));
            }
        }
        Ok(())
    }
}

impl Default for Environment {
    fn default() -> Self {
        Self::production()
    }
}

/// Builds a [`crate::Pax8Client`]. Every option has a default except the credentials.
///
/// ```no_run
/// use std::time::Duration;
/// use pax8_ext::{Pax8Client, RetryPolicy};
///
/// let client = Pax8Client::builder()
///     .client_id("my-client-id")
///     .client_secret("my-secret")
///     .rate_limit_per_minute(100)
///     .retry_policy(RetryPolicy::attempts(5))
///     .request_timeout(Duration::from_secs(20))
///     .build()?;
/// # Ok::<(), pax8_ext::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    pub(crate) client_id: String,
    pub(crate) client_secret: SecretString,
    pub(crate) environment: Environment,
    pub(crate) token_url: Option<String>,
    pub(crate) audience: String,
    pub(crate) audience_overrides: Vec<(Api, String)>,
    pub(crate) request_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) retry_budget: u32,
    pub(crate) rate_limit: Option<(u32, u32)>,
    pub(crate) auto_refresh: bool,
    pub(crate) refresh_margin: Duration,
    pub(crate) user_agent: String,
    pub(crate) http: Option<reqwest::Client>,
    pub(crate) token_store: Option<Arc<dyn TokenStore>>,
    pub(crate) hooks: Vec<Arc<dyn Hooks>>,
    pub(crate) max_response_bytes: u64,
    pub(crate) shared_budget: Option<Arc<dyn crate::SharedRateBudget>>,
}

impl std::fmt::Debug for dyn TokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenStore")
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            client_id: String::new(),
            client_secret: SecretString::new(""),
            environment: Environment::production(),
            token_url: None,
            audience: Audience::PARTNER.into(),
            audience_overrides: Vec::new(),
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            retry_budget: 500,
            rate_limit: Some((1000, 200)),
            auto_refresh: true,
            refresh_margin: Duration::from_secs(300),
            user_agent: concat!("pax8-rs/", env!("CARGO_PKG_VERSION")).into(),
            http: None,
            token_store: None,
            hooks: Vec::new(),
            max_response_bytes: 64 * 1024 * 1024,
            shared_budget: None,
        }
    }
}

impl ClientBuilder {
    /// OAuth client id.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = id.into();
        self
    }
    /// OAuth client secret.
    pub fn client_secret(mut self, secret: impl Into<SecretString>) -> Self {
        self.client_secret = secret.into();
        self
    }
    /// Base URLs of every API and the token URL (default: production).
    pub fn environment(mut self, environment: Environment) -> Self {
        self.environment = environment;
        self
    }
    /// Every API under one origin (see [`Environment::at`]), e.g. a local simulator.
    pub fn base_url(self, base: &str) -> Self {
        self.environment(Environment::at(base))
    }
    /// Token URL (default: the environment's; `https://api.pax8.com/v1/token` also works).
    pub fn token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = Some(url.into());
        self
    }
    /// Audience of partner, quoting and webhooks calls (default `https://api.pax8.com`).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = audience.into();
        self
    }
    /// Audience of one API group (vendor APIs default to `api://provisioning`, `api://usage`).
    pub fn audience_for(mut self, api: Api, audience: impl Into<String>) -> Self {
        self.audience_overrides.push((api, audience.into()));
        self
    }
    /// Timeout of one attempt (default 30 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }
    /// Connect timeout (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }
    /// Retry policy of every call (default: [`RetryPolicy::default`]); calls can override it.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }
    /// Size of the retry budget in tokens (default 500; a retry costs 5).
    pub fn retry_budget(mut self, tokens: u32) -> Self {
        self.retry_budget = tokens;
        self
    }
    /// Requests per minute for the whole client (default 1000, Pax8's published limit), with
    /// bursts of a fifth of that. The limiter adapts below it when the server answers 429.
    pub fn rate_limit_per_minute(mut self, per_minute: u32) -> Self {
        let burst = (per_minute / 5).max(1);
        self.rate_limit = Some((per_minute, burst));
        self
    }
    /// Requests per minute and burst size (default 1000 and 200): never more than `per_minute`
    /// start in any 60 seconds, at most `burst` at once. See [`crate::rate_limit`].
    pub fn rate_limit(mut self, per_minute: u32, burst: u32) -> Self {
        self.rate_limit = Some((per_minute, burst));
        self
    }
    /// No client-side rate limiting.
    pub fn no_rate_limit(mut self) -> Self {
        self.rate_limit = None;
        self
    }
    /// Refresh tokens automatically (default on). Off: an expired token is an error.
    pub fn auto_refresh(mut self, on: bool) -> Self {
        self.auto_refresh = on;
        self
    }
    /// Refresh this long before expiry (default 5 min).
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }
    /// User-Agent header (default `pax8-rs/<version>`).
    pub fn user_agent(mut self, agent: impl Into<String>) -> Self {
        self.user_agent = agent.into();
        self
    }
    /// A caller-configured `reqwest::Client` (proxies, TLS); its own timeouts then apply.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }
    /// A rate budget shared with every other process using these credentials (see
    /// [`SharedRateBudget`](crate::SharedRateBudget)), taken after the client's own limiter.
    pub fn shared_rate_budget(mut self, budget: Arc<dyn crate::SharedRateBudget>) -> Self {
        self.shared_budget = Some(budget);
        self
    }
    /// Where tokens are kept (default: in memory).
    pub fn token_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.token_store = Some(store);
        self
    }
    /// The largest response body read (default 64 MiB); a larger one is
    /// [`Error::ResponseTooLarge`].
    pub fn max_response_bytes(mut self, bytes: u64) -> Self {
        self.max_response_bytes = bytes;
        self
    }
    /// Adds hooks run around every request.
    pub fn hooks(mut self, hooks: Arc<dyn Hooks>) -> Self {
        self.hooks.push(hooks);
        self
    }

    /// Reads `PAX8_CLIENT_ID`, `PAX8_CLIENT_SECRET` and the optional `PAX8_BASE_URL`,
    /// `PAX8_TOKEN_URL`, `PAX8_AUDIENCE`, `PAX8_RATE_LIMIT` (requests per minute).
    pub fn from_env(self) -> Result<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let mut b = self;
        b.client_id = var("PAX8_CLIENT_ID").ok_or_else(|| Error::Config("PAX8_CLIENT_ID is not set".into()))?;
        b.client_secret = SecretString::new(
            var("PAX8_CLIENT_SECRET").ok_or_else(|| Error::Config("PAX8_CLIENT_SECRET is not set".into()))?,
        );
        if let Some(base) = var("PAX8_BASE_URL") {
            b = b.base_url(&base);
        }
        if let Some(url) = var("PAX8_TOKEN_URL") {
            b = b.token_url(url);
        }
        if let Some(aud) = var("PAX8_AUDIENCE") {
            b = b.audience(aud);
        }
        if let Some(limit) = var("PAX8_RATE_LIMIT") {
            let n = limit.parse().map_err(|_| Error::Config(format!("PAX8_RATE_LIMIT `{limit}` is not a number")))?;
            b = b.rate_limit_per_minute(n);
        }
        Ok(b)
    }
}
