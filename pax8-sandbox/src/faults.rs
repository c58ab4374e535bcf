//! Faults on demand, and the counters that let tests assert what happened server-side.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::time::Instant;

/// Faults injected into API requests (the token endpoint is spared unless
/// `include_token_endpoint` is set). Rates are shares between 0 and 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// Requests per minute before 429 with `Retry-After` (None: no limit).
    pub rate_limit_per_minute: Option<u32>,
    /// Share of requests answered 500, 502 or 503 without being processed.
    pub server_error_rate: f64,
    /// Latency added to every request.
    pub latency: Duration,
    /// Share of connections closed before the request is processed.
    pub drop_before_rate: f64,
    /// Share of connections closed after the request was processed (the answer is lost).
    pub drop_after_rate: f64,
    /// Share of successful responses whose JSON body is cut short.
    pub malformed_rate: f64,
    /// Revoke every token after this many API requests (then again after as many).
    pub revoke_tokens_every: Option<u64>,
    /// Apply faults to the token endpoint too.
    pub include_token_endpoint: bool,
    /// Successful JSON answers lose every `id` field (objects the documents mark as having
    /// optional ids, sent without them): clients must not panic or mix objects up.
    pub strip_ids: bool,
    /// The answer to every request whose `METHOD /path?query` is exactly this is lost after the
    /// server acted (e.g. `POST /v1/orders?isMock=false`: orders placed, dry runs answered).
    pub lose_answer_to: Option<String>,
    /// The connection of every request whose `METHOD /path?query` is exactly this closes before
    /// the server acts (the client cannot tell it from a lost answer).
    pub drop_request_to: Option<String>,
    /// Objects with these ids are sent with a value their type cannot hold: their `quantity`
    /// (or, without one, their `name`) becomes an object.
    pub wrong_type_for: Vec<uuid::Uuid>,
    /// Objects with these ids carry a lone UTF-16 surrogate (`\ud800`) at the end of their
    /// `name` and `productName`: valid JSON text that no Rust string can hold.
    pub lone_surrogate_for: Vec<uuid::Uuid>,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            rate_limit_per_minute: None,
            server_error_rate: 0.0,
            latency: Duration::ZERO,
            drop_before_rate: 0.0,
            drop_after_rate: 0.0,
            malformed_rate: 0.0,
            revoke_tokens_every: None,
            include_token_endpoint: false,
            strip_ids: false,
            lose_answer_to: None,
            drop_request_to: None,
            wrong_type_for: Vec::new(),
            lone_surrogate_for: Vec::new(),
        }
    }
}

impl Faults {
    /// The default Pax8 limit of 1000 requests a minute, nothing else.
    pub fn pax8_rate_limit() -> Self {
        Self { rate_limit_per_minute: Some(1000), ..Self::default() }
    }

    /// A share `rate` of transient faults, spread over 5xx, dropped-before and 429-free kinds.
    pub fn transient(rate: f64) -> Self {
        Self { server_error_rate: rate * 0.6, drop_before_rate: rate * 0.4, ..Self::default() }
    }
}

/// What the server did, counted.
#[derive(Debug, Default)]
pub struct Counters {
    pub(crate) requests: AtomicU64,
    pub(crate) token_requests: AtomicU64,
    pub(crate) tokens_issued: AtomicU64,
    pub(crate) unauthorized: AtomicU64,
    pub(crate) rate_limited: AtomicU64,
    pub(crate) server_errors: AtomicU64,
    pub(crate) dropped_before: AtomicU64,
    pub(crate) dropped_after: AtomicU64,
    pub(crate) malformed: AtomicU64,
    pub(crate) revocations: AtomicU64,
    pub(crate) order_requests: AtomicU64,
    pub(crate) orders_created: AtomicU64,
    pub(crate) mock_orders: AtomicU64,
    /// When each API request arrived (token requests excluded), for rate checks.
    pub(crate) arrivals: Mutex<Vec<Instant>>,
}

/// A snapshot of the simulator's fault and order counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CounterSnapshot {
    /// API requests received (token requests excluded).
    pub requests: u64,
    /// Token requests received.
    pub token_requests: u64,
    /// Tokens issued.
    pub tokens_issued: u64,
    /// 401 answers.
    pub unauthorized: u64,
    /// 429 answers.
    pub rate_limited: u64,
    /// Injected 5xx answers.
    pub server_errors: u64,
    /// Connections dropped before processing.
    pub dropped_before: u64,
    /// Connections dropped after processing.
    pub dropped_after: u64,
    /// Cut-short bodies.
    pub malformed: u64,
    /// Token revocations.
    pub revocations: u64,
    /// `POST /orders` requests that reached order processing (mock or not).
    pub order_requests: u64,
    /// Orders created (not dry runs).
    pub orders_created: u64,
    /// Dry-run orders validated.
    pub mock_orders: u64,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) -> u64 {
        counter.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub(crate) fn arrived(&self, at: Instant) {
        self.arrivals.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(at);
    }

    /// The most API requests that arrived within any `window` (a sliding window over the
    /// arrival times): what a rate limit of that many per window must never be exceeded by.
    pub fn most_within(&self, window: Duration) -> usize {
        let mut times = self.arrivals.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        times.sort_unstable();
        let mut most = 0;
        let mut start = 0;
        for (end, at) in times.iter().enumerate() {
            while at.duration_since(times[start]) >= window {
                start += 1;
            }
            most = most.max(end + 1 - start);
        }
        most
    }

    /// A snapshot.
    pub fn snapshot(&self) -> CounterSnapshot {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CounterSnapshot {
            requests: g(&self.requests),
            token_requests: g(&self.token_requests),
            tokens_issued: g(&self.tokens_issued),
            unauthorized: g(&self.unauthorized),
            rate_limited: g(&self.rate_limited),
            server_errors: g(&self.server_errors),
            dropped_before: g(&self.dropped_before),
            dropped_after: g(&self.dropped_after),
            malformed: g(&self.malformed),
            revocations: g(&self.revocations),
            order_requests: g(&self.order_requests),
            orders_created: g(&self.orders_created),
            mock_orders: g(&self.mock_orders),
        }
    }
}

/// The fault decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    None,
    RateLimited { retry_after_secs: u64 },
    ServerError(u16),
    DropBefore,
    DropAfter,
    Malformed,
}

/// Decides faults: a seeded random source and a fixed-window rate limiter.
#[derive(Debug)]
pub(crate) struct FaultDecider {
    pub(crate) faults: Mutex<Faults>,
    rng: Mutex<StdRng>,
    window: Mutex<(Instant, u32)>,
}

impl FaultDecider {
    pub(crate) fn new(faults: Faults, seed: u64) -> Self {
        Self {
            faults: Mutex::new(faults),
            rng: Mutex::new(StdRng::seed_from_u64(seed ^ 0x5eed_fa17)),
            window: Mutex::new((Instant::now(), 0)),
        }
    }

    /// With a rate limit: (the limit, what is left of it in the current window), as the
    /// `X-RateLimit-Limit` and `X-RateLimit-Remaining` headers every answer then carries.
    pub(crate) fn headroom(&self) -> Option<(u32, u32)> {
        let limit = self.faults.lock().expect("faults lock").rate_limit_per_minute?;
        let window = self.window.lock().expect("window lock");
        let used = if window.0.elapsed() >= Duration::from_secs(60) { 0 } else { window.1 };
        Some((limit, limit.saturating_sub(used)))
    }

    pub(crate) fn decide(&self) -> Fault {
        let faults = self.faults.lock().expect("faults lock").clone();
        if let Some(limit) = faults.rate_limit_per_minute {
            let mut window = self.window.lock().expect("window lock");
            let now = Instant::now();
            if now.duration_since(window.0) >= Duration::from_secs(60) {
                *window = (now, 0);
            }
            if window.1 >= limit {
                let left = Duration::from_secs(60).saturating_sub(now.duration_since(window.0));
                return Fault::RateLimited { retry_after_secs: left.as_secs().max(1) };
            }
            window.1 += 1;
        }
        let mut rng = self.rng.lock().expect("rng lock");
        let roll: f64 = rng.random();
        let mut edge = faults.server_error_rate;
        if roll < edge {
            return Fault::ServerError([500, 502, 503][rng.random_range(0..3)]);
        }
        edge += faults.drop_before_rate;
        if roll < edge {
            return Fault::DropBefore;
        }
        edge += faults.drop_after_rate;
        if roll < edge {
            return Fault::DropAfter;
        }
        edge += faults.malformed_rate;
        if roll < edge {
            return Fault::Malformed;
        }
        Fault::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_busiest_window_is_found_wherever_it_lies() {
        let counters = Counters::default();
        let start = Instant::now();
        for seconds in [0, 10, 30, 59, 60, 61, 130] {
            counters.arrived(start + Duration::from_secs(seconds));
        }
        assert_eq!(counters.most_within(Duration::from_secs(60)), 5, "10, 30, 59, 60 and 61");
        assert_eq!(counters.most_within(Duration::from_secs(3)), 3, "59, 60 and 61");
        assert_eq!(counters.most_within(Duration::from_secs(2)), 2, "a window is half open: 59 and 60");
        assert_eq!(counters.most_within(Duration::from_secs(1)), 1);
        assert_eq!(Counters::default().most_within(Duration::from_secs(60)), 0);
    }
}
