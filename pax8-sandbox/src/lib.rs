//! A local, stateful Pax8 simulator that speaks the same HTTP API as the real service: the token
//! endpoint, the partner v1 API, the quoting v2 API and the webhooks v2 API, with deterministic
//! fixture data from a seed and faults on demand. Demos, end-to-end tests and benchmarks run
//! against it; it only ever listens on 127.0.0.1.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use pax8_sandbox::{Sandbox, SandboxConfig};
//!
//! let sandbox = Sandbox::start(SandboxConfig::default()).await?;
//! println!("base URL {} client id {}", sandbox.base_url(), sandbox.client_id());
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
// Generated types are built as `Type { field, ..Default::default() }` even when every field is
// named today: a property added upstream then never breaks the build (`cargo xtask evolve-check`).
#![allow(clippy::needless_update)]
// Handlers return `Result<Response, ApiError>`: the Err side wraps the early answer (a whole HTTP
// response), not an error value passed around, so its size does not matter.
#![allow(clippy::result_large_err)]

mod app;
mod billing;
mod deliveries;
mod faults;
mod fixture;
mod http;
mod partner;
pub mod planted;
mod quirks;
mod quoting;
mod saved;
mod server;
mod stores;
mod values;
mod webhooks;
mod world;

use std::net::SocketAddr;
use std::time::Duration;

pub use faults::{CounterSnapshot, Faults};
pub use fixture::{generate, generate_with};
pub use saved::{FormatMismatch, SavedState};
pub use webhooks::TOPICS;
pub use world::{CatalogEntry, World};

/// How a sandbox starts.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Fixture seed: same seed (and `today`), same data.
    pub seed: u64,
    /// Number of companies (about 10 subscriptions each).
    pub companies: usize,
    /// The fixture's "today" (default: the current UTC date).
    pub today: Option<chrono::NaiveDate>,
    /// Port on 127.0.0.1 (0: an ephemeral port).
    pub port: u16,
    /// Accepted client id.
    pub client_id: String,
    /// Accepted client secret.
    pub client_secret: String,
    /// Lifetime of issued tokens.
    pub token_lifetime: Duration,
    /// Faults to inject.
    pub faults: Faults,
    /// Answers shaped exactly as the upstream documents say, without the real server's quirks
    /// (see the `quirks` module: company lists without phones, `Pax8Partner`, ...).
    pub spec_exact: bool,
    /// Start from a saved state (`Sandbox::save`) instead of the fixture's companies,
    /// subscriptions, orders, quotes and webhooks.
    pub saved: Option<SavedState>,
    /// The audiences these credentials are enabled for (default: all four Pax8 has); a token
    /// asked for another is refused 403 "Service not enabled within domain", as Pax8 does.
    pub audiences: Option<Vec<String>>,
    /// Every issued invoice carries the discrepancies listed in [`planted`] (default); `false`:
    /// invoices that match the subscriptions exactly.
    pub planted_discrepancies: bool,
    /// Monthly invoices at start (default 6; 1 to 120): fewer keep a huge tenant light.
    pub invoices: u32,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            seed: 7,
            companies: 25,
            today: None,
            port: 0,
            client_id: "sandbox-client".into(),
            client_secret: "sandbox-secret".into(),
            token_lifetime: Duration::from_secs(86_400),
            faults: Faults::default(),
            spec_exact: false,
            saved: None,
            audiences: None,
            planted_discrepancies: true,
            invoices: 6,
        }
    }
}

/// Why a sandbox did not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The port could not be bound.
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind {
        /// The port asked for.
        port: u16,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// A running sandbox; it stops when dropped.
pub struct Sandbox {
    addr: SocketAddr,
    base_url: String,
    app: app::App,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Generates the fixture and starts serving on 127.0.0.1.
    pub async fn start(config: SandboxConfig) -> Result<Sandbox, SandboxError> {
        let today = config.today.unwrap_or_else(|| chrono::Utc::now().date_naive());
        let mut world = fixture::generate_with(config.seed, config.companies, today, config.invoices);
        if !config.planted_discrepancies {
            world.set_plant_seed(None);
        }
        let port = config.port;
        let app = app::App::new(world, config);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|source| SandboxError::Bind { port, source })?;
        let addr = listener.local_addr().map_err(|source| SandboxError::Bind { port, source })?;
        let task = tokio::spawn(server::serve(listener, app.clone()));
        Ok(Sandbox { addr, base_url: format!("http://{addr}"), app, task })
    }

    /// `http://127.0.0.1:PORT`: every API lives under it with the production path layout
    /// (`/v1`, `/v2/quotes`, `/api/v2/webhooks`, token at `/v1/token`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The accepted client id.
    pub fn client_id(&self) -> &str {
        &self.app.0.client_id
    }

    /// The accepted client secret.
    pub fn client_secret(&self) -> &str {
        &self.app.0.client_secret
    }

    /// What the server has done so far.
    pub fn counters(&self) -> CounterSnapshot {
        self.app.0.counters.snapshot()
    }

    /// The most API requests that arrived within any `window` so far (a sliding window):
    /// `most_within(60 s)` against a tenant's rate limit.
    pub fn most_requests_within(&self, window: Duration) -> usize {
        self.app.0.counters.most_within(window)
    }

    /// Replaces the faults.
    pub fn set_faults(&self, faults: Faults) {
        *self.app.0.faults.faults.lock().expect("faults lock") = faults;
    }

    /// Moves the simulator's clock forward by `by` (time travel: a commitment's end reached, a
    /// renewal plan due). Only the server's "now" moves; the fixture stays as it was.
    /// The invoice of every month whose first day the clock passes is issued (unpaid, for the
    /// month before it, from the subscriptions as they were at that month's end).
    pub fn advance_clock(&self, by: chrono::Duration) {
        *self.app.0.clock_offset.lock().expect("clock lock") += by;
        let today = self.app.now().date().0;
        let app = self.app.clone();
        self.app.world().issue_due_invoices(today, || app.new_id());
    }

    /// The simulator's "now" (the fixture's day at start, moved by [`Sandbox::advance_clock`]).
    pub fn now(&self) -> pax8_api::Timestamp {
        self.app.now()
    }

    /// What was planted in an issued invoice ([`planted`]); `None` for an unknown invoice.
    pub fn planted(&self, invoice: uuid::Uuid) -> Option<Vec<planted::Planted>> {
        self.app.world().planted(invoice)
    }

    /// Revokes every token issued so far (the next API call with one gets 401).
    pub fn revoke_tokens(&self) {
        server::revoke(&self.app);
    }

    /// Reads the state (e.g. to compare a listing with the fixture).
    pub fn with_world<T>(&self, f: impl FnOnce(&World) -> T) -> T {
        f(&self.app.world())
    }

    /// Changes the state directly, for what no API call does (an invoice issued or paid).
    pub fn with_world_mut<T>(&self, f: impl FnOnce(&mut World) -> T) -> T {
        f(&mut self.app.world())
    }

    /// The changeable state now, to start another sandbox from later (`SandboxConfig::saved`).
    pub fn save(&self) -> SavedState {
        let world = self.app.world();
        let quotes = self.app.0.quotes.lock().expect("quotes lock");
        let webhooks = self.app.0.webhooks.lock().expect("webhooks lock");
        SavedState::capture(&world, &quotes, &webhooks, self.app.0.generation)
    }

    /// Stops serving.
    pub fn stop(self) {}
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.task.abort();
    }
}
