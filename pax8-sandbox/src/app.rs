//! The shared application state of a running sandbox.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use pax8_api::Timestamp;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::time::Instant;
use uuid::Uuid;

use crate::faults::{Counters, FaultDecider};
use crate::stores::{QuoteStore, WebhookStore};
use crate::world::World;

/// Cloneable handle on the state.
#[derive(Clone)]
pub(crate) struct App(pub(crate) Arc<Inner>);

pub(crate) struct Inner {
    pub(crate) world: Mutex<World>,
    pub(crate) webhooks: Mutex<WebhookStore>,
    pub(crate) quotes: Mutex<QuoteStore>,
    pub(crate) tokens: Mutex<HashMap<String, Instant>>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) faults: FaultDecider,
    pub(crate) rng: Mutex<StdRng>,
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    pub(crate) token_lifetime: Duration,
    /// No quirks: answers as the upstream documents describe them.
    pub(crate) spec_exact: bool,
    /// The audiences the credentials are enabled for (None: all).
    pub(crate) audiences: Option<Vec<String>>,
    /// Wall clock at start and the tokio instant then: `now()` follows tokio's (pausable) clock.
    pub(crate) started: (chrono::DateTime<chrono::Utc>, Instant),
    /// How far the clock has been moved ([`crate::Sandbox::advance_clock`]): time travel.
    pub(crate) clock_offset: Mutex<chrono::Duration>,
    /// How many saves the restored state had been through (0 for a fresh fixture).
    pub(crate) generation: u64,
}

impl App {
    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        self.0.world.lock().expect("world lock")
    }

    pub(crate) fn new_id(&self) -> Uuid {
        let bytes: [u8; 16] = self.0.rng.lock().expect("rng lock").random();
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    pub(crate) fn now(&self) -> Timestamp {
        let (wall, mono) = self.0.started;
        let elapsed = chrono::Duration::from_std(mono.elapsed()).unwrap_or_default();
        let offset = *self.0.clock_offset.lock().expect("clock lock");
        Timestamp::from(wall + elapsed + offset)
    }

    pub(crate) fn random_token(&self) -> String {
        let bytes: [u8; 24] = self.0.rng.lock().expect("rng lock").random();
        format!("sbx_{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
    }

    pub(crate) fn new(world: World, config: crate::SandboxConfig) -> Self {
        let crate::SandboxConfig {
            seed,
            client_id,
            client_secret,
            token_lifetime,
            faults,
            spec_exact,
            saved,
            audiences,
            ..
        } = config;
        let faults = FaultDecider::new(faults, seed);
        let mut world = world;
        let generation = saved.as_ref().map_or(0, crate::SavedState::generation);
        let (quotes, webhooks) = match saved {
            Some(saved) => saved.restore(&mut world),
            None => Default::default(),
        };
        // A restored state draws ids from its own sequence, never repeating an earlier run's.
        let seed = seed.wrapping_mul(31).wrapping_add(17).wrapping_add(generation.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        App(Arc::new(Inner {
            world: Mutex::new(world),
            webhooks: Mutex::new(webhooks),
            quotes: Mutex::new(quotes),
            tokens: Mutex::new(HashMap::new()),
            counters: Arc::new(Counters::default()),
            faults,
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            client_id,
            client_secret,
            token_lifetime,
            spec_exact,
            audiences,
            started: (chrono::Utc::now(), Instant::now()),
            clock_offset: Mutex::new(chrono::Duration::zero()),
            generation,
        }))
    }
}

/// Increments a counter of the app.
#[macro_export]
#[doc(hidden)]
macro_rules! counters_bump {
    ($app:expr, $field:ident) => {
        $crate::faults::Counters::bump(&$app.0.counters.$field)
    };
}
