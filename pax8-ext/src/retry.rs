//! When to retry, how long to wait, and how much retrying a client may do at all.
//!
//! [`classify`] is a pure function of the request's idempotency and the attempt's outcome, so the
//! whole policy is one table (see the tests). Waits use full jitter with a cap; a server's
//! `Retry-After` (seconds or HTTP-date) replaces the computed wait, within a bound. A
//! [`RetryBudget`] shared by all calls of a client stops retry storms against a failing server.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// How many times and how patiently a call is retried.
///
/// Defaults: 3 attempts in all, 1 s base wait doubling per retry up to 20 s (full jitter),
/// at most 60 s from the first attempt, and a server's `Retry-After` honoured up to 60 s.
/// Throttled attempts (429) are counted apart: up to 20 of them, each after the wait the server
/// asked for, because the client's adaptive rate limiter slows every call down meanwhile; a long
/// listing against a server stricter than its published limit then finishes instead of failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 disables retries).
    pub max_attempts: u32,
    /// Wait before the first retry (before jitter).
    pub base_delay: Duration,
    /// Cap of the computed wait.
    pub max_delay: Duration,
    /// No retry starts later than this after the first attempt.
    pub max_elapsed: Duration,
    /// The longest `Retry-After` honoured; a longer one ends the retries.
    pub max_retry_after: Duration,
    /// Retries after a 429, counted apart from `max_attempts` and not bounded by `max_elapsed`.
    pub max_throttled_retries: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(20),
            max_elapsed: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(60),
            max_throttled_retries: 20,
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retries (not even after a 429).
    pub fn none() -> Self {
        Self { max_attempts: 1, max_throttled_retries: 0, ..Self::default() }
    }

    /// The default policy with `attempts` attempts in all.
    pub fn attempts(attempts: u32) -> Self {
        Self { max_attempts: attempts.max(1), ..Self::default() }
    }

    /// Full-jitter wait before retry number `retry` (0 for the first retry): a uniform share
    /// `unit` (0..1) of `min(max_delay, base_delay * 2^retry)`.
    pub fn backoff(&self, retry: u32, unit: f64) -> Duration {
        let exp = self.base_delay.saturating_mul(2u32.saturating_pow(retry.min(30)));
        exp.min(self.max_delay).mul_f64(unit.clamp(0.0, 1.0))
    }
}

/// What one attempt came to, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The server answered with this status (and maybe a `Retry-After`).
    Status {
        /// HTTP status.
        status: u16,
        /// Parsed `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// The connection could not be made: the request never reached the server.
    ConnectFailed,
    /// No answer in time: the server may have processed the request.
    TimedOut,
    /// The connection broke after the request was sent, before any answer.
    Interrupted,
    /// The status and headers arrived, the body did not (connection broke or timed out while
    /// reading it): the server did answer with `status`.
    BodyCut {
        /// HTTP status of the answer.
        status: u16,
    },
    /// A success status whose JSON body does not parse (cut short, an HTML page).
    MalformedSuccess {
        /// HTTP status of the answer.
        status: u16,
    },
}

impl Outcome {
    /// Whether a non-idempotent request may have been carried out without the client learning
    /// whether it was: no answer (a timeout, a broken connection), or a gateway's 502 or 504
    /// answered on the server's behalf. A success status with an unreadable body is not unknown:
    /// the server said it succeeded.
    pub fn outcome_unknown(self) -> bool {
        match self {
            Outcome::TimedOut | Outcome::Interrupted => true,
            Outcome::Status { status, .. } | Outcome::BodyCut { status } => matches!(status, 502 | 504),
            Outcome::ConnectFailed | Outcome::MalformedSuccess { .. } => false,
        }
    }
}

/// The verdict on one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Do not retry: return this outcome to the caller.
    Stop,
    /// Retry after the computed backoff.
    Retry,
    /// Retry after the server-specified wait.
    RetryAfter(Duration),
}

/// The retry table. `idempotent` is true for GET, PUT, DELETE (and HEAD, OPTIONS).
///
/// Retried for every request: connection failures (nothing was sent), 429 (refused without
/// processing), 503 with `Retry-After`. Retried only for idempotent requests: timeouts,
/// interrupted connections, bodies cut short, success bodies that are not JSON, 408, 500, 502,
/// 503 without `Retry-After`, 504. Never: other statuses.
pub fn classify(idempotent: bool, outcome: Outcome) -> Decision {
    let after = |retry_after: Option<Duration>| retry_after.map_or(Decision::Retry, Decision::RetryAfter);
    match outcome {
        Outcome::ConnectFailed => Decision::Retry,
        Outcome::TimedOut | Outcome::Interrupted | Outcome::BodyCut { .. } | Outcome::MalformedSuccess { .. } => {
            if idempotent {
                Decision::Retry
            } else {
                Decision::Stop
            }
        }
        Outcome::Status { status: 429, retry_after } => after(retry_after),
        Outcome::Status { status: 503, retry_after: Some(wait) } => Decision::RetryAfter(wait),
        Outcome::Status { status: 408 | 500 | 502 | 503 | 504, retry_after } if idempotent => after(retry_after),
        Outcome::Status { .. } => Decision::Stop,
    }
}

/// Parses a `Retry-After` value: delay-seconds or an HTTP-date (relative to `now`).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A token bucket that pays for retries: a retry costs [`RetryBudget::RETRY_COST`] (a retry
/// after a timeout twice that), a success returns one token. When empty, failures are returned
/// at once instead of retried, so a failing server does not get a storm.
#[derive(Debug)]
pub struct RetryBudget {
    capacity: u32,
    tokens: Mutex<u32>,
}

impl RetryBudget {
    /// Cost of one retry.
    pub const RETRY_COST: u32 = 5;
    /// Cost of one retry after a timeout.
    pub const TIMEOUT_RETRY_COST: u32 = 10;

    /// A full budget of `capacity` tokens (default 500: 100 retries in a row).
    pub fn new(capacity: u32) -> Self {
        Self { capacity, tokens: Mutex::new(capacity) }
    }

    /// Takes `cost` tokens if there are that many (a cost of 0 always succeeds).
    pub fn try_withdraw(&self, cost: u32) -> bool {
        let mut tokens = self.tokens.lock().expect("budget lock");
        if *tokens >= cost {
            *tokens -= cost;
            true
        } else {
            false
        }
    }

    /// Returns a token after a success.
    pub fn deposit_success(&self) {
        let mut tokens = self.tokens.lock().expect("budget lock");
        *tokens = (*tokens + 1).min(self.capacity);
    }

    /// Tokens left.
    pub fn available(&self) -> u32 {
        *self.tokens.lock().expect("budget lock")
    }
}

impl Default for RetryBudget {
    fn default() -> Self {
        Self::new(500)
    }
}

/// One request's retries: what it has spent (retries, 429 retries, time) and what it takes from
/// the client's [`RetryBudget`]. After each failed attempt it says whether to wait and try again.
#[derive(Debug)]
pub(crate) struct RetryStrategy<'a> {
    policy: RetryPolicy,
    budget: &'a RetryBudget,
    started: tokio::time::Instant,
    retries: u32,
    throttled: u32,
}

impl<'a> RetryStrategy<'a> {
    /// A request's retries under `policy`, paid from `budget`.
    pub(crate) fn new(policy: RetryPolicy, budget: &'a RetryBudget) -> Self {
        Self { policy, budget, started: tokio::time::Instant::now(), retries: 0, throttled: 0 }
    }

    /// After an attempt that ended in `outcome`: how long to wait before the next attempt, or
    /// `None` to stop. A 429 is paced by the adaptive limiter, counted against
    /// [`RetryPolicy::max_throttled_retries`] and free of the budget; any other retry needs an
    /// attempt left, time left and its cost from the budget (twice it after a timeout).
    pub(crate) fn next(&mut self, idempotent: bool, outcome: Outcome) -> Option<Duration> {
        let wait = match classify(idempotent, outcome) {
            Decision::Stop => return None,
            Decision::Retry => self.policy.backoff(self.retries, rand::random::<f64>()),
            Decision::RetryAfter(wait) if wait <= self.policy.max_retry_after => wait,
            Decision::RetryAfter(_) => return None,
        };
        if matches!(outcome, Outcome::Status { status: 429, .. }) {
            if self.throttled >= self.policy.max_throttled_retries {
                return None;
            }
            self.throttled += 1;
            return Some(wait);
        }
        let cost = if outcome == Outcome::TimedOut { RetryBudget::TIMEOUT_RETRY_COST } else { RetryBudget::RETRY_COST };
        let affordable = self.retries + 1 < self.policy.max_attempts
            && self.started.elapsed() + wait <= self.policy.max_elapsed
            && self.budget.try_withdraw(cost);
        if !affordable {
            return None;
        }
        self.retries += 1;
        Some(wait)
    }

    /// A success pays a token back into the budget.
    pub(crate) fn succeeded(&self) {
        self.budget.deposit_success();
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_request_s_retries_stop_at_its_attempts_its_time_or_the_budget() {
        let policy = RetryPolicy { max_attempts: 3, max_throttled_retries: 2, ..RetryPolicy::default() };
        let cut = Outcome::ConnectFailed;
        let budget = RetryBudget::new(100);
        let mut retries = RetryStrategy::new(policy, &budget);
        assert!(retries.next(true, cut).is_some());
        assert!(retries.next(true, cut).is_some());
        assert_eq!(retries.next(true, cut), None, "three attempts in all");
        assert_eq!(budget.available(), 100 - 2 * RetryBudget::RETRY_COST);
        retries.succeeded();
        assert_eq!(budget.available(), 100 - 2 * RetryBudget::RETRY_COST + 1);

        // 429s are counted apart and cost nothing.
        let throttle = Outcome::Status { status: 429, retry_after: Some(Duration::from_secs(1)) };
        let mut retries = RetryStrategy::new(policy, &budget);
        let before = budget.available();
        assert_eq!(retries.next(true, throttle), Some(Duration::from_secs(1)));
        assert!(retries.next(true, throttle).is_some());
        assert_eq!(retries.next(true, throttle), None, "two throttled retries");
        assert_eq!(budget.available(), before);
        assert!(retries.next(true, cut).is_some(), "other retries still have their own count");

        // A timeout costs twice; an empty budget stops; a write that may have happened stops.
        let small = RetryBudget::new(RetryBudget::TIMEOUT_RETRY_COST);
        let mut retries = RetryStrategy::new(policy, &small);
        assert!(retries.next(true, Outcome::TimedOut).is_some());
        assert_eq!(small.available(), 0);
        assert_eq!(retries.next(true, cut), None, "the budget is spent");
        assert_eq!(RetryStrategy::new(policy, &budget).next(false, Outcome::TimedOut), None);
        // A Retry-After longer than the policy honours ends the retries.
        let long = Outcome::Status { status: 503, retry_after: Some(policy.max_retry_after + Duration::from_secs(1)) };
        assert_eq!(RetryStrategy::new(policy, &budget).next(true, long), None);
        // No time left for the wait.
        let hurried = RetryPolicy { max_elapsed: Duration::ZERO, ..policy };
        assert_eq!(RetryStrategy::new(hurried, &budget).next(true, cut), None);
    }

    use super::*;

    const S: fn(u16) -> Outcome = |status| Outcome::Status { status, retry_after: None };
    const RA: fn(u16, u64) -> Outcome =
        |status, s| Outcome::Status { status, retry_after: Some(Duration::from_secs(s)) };

    #[test]
    fn the_retry_table() {
        use Decision::*;
        let wait = |s| RetryAfter(Duration::from_secs(s));
        #[rustfmt::skip]
        let table: &[(bool, Outcome, Decision)] = &[
            // idempotent (GET/PUT/DELETE)
            (true, Outcome::ConnectFailed, Retry),
            (true, Outcome::TimedOut, Retry),
            (true, Outcome::Interrupted, Retry),
            (true, S(408), Retry), (true, S(429), Retry), (true, RA(429, 7), wait(7)),
            (true, S(500), Retry), (true, S(502), Retry), (true, S(503), Retry), (true, RA(503, 2), wait(2)),
            (true, S(504), Retry),
            (true, S(400), Stop), (true, S(401), Stop), (true, S(403), Stop), (true, S(404), Stop),
            (true, S(409), Stop), (true, S(422), Stop), (true, S(501), Stop), (true, S(200), Stop),
            (true, Outcome::BodyCut { status: 200 }, Retry), (true, Outcome::BodyCut { status: 500 }, Retry),
            (true, Outcome::MalformedSuccess { status: 200 }, Retry),
            // not idempotent (POST/PATCH: create order, create company)
            (false, Outcome::ConnectFailed, Retry),
            (false, Outcome::TimedOut, Stop),
            (false, Outcome::Interrupted, Stop),
            (false, S(429), Retry), (false, RA(429, 3), wait(3)),
            (false, RA(503, 4), wait(4)), (false, S(503), Stop),
            (false, S(408), Stop), (false, S(500), Stop), (false, S(502), Stop), (false, S(504), Stop),
            (false, S(400), Stop), (false, S(422), Stop),
            (false, Outcome::BodyCut { status: 201 }, Stop), (false, Outcome::MalformedSuccess { status: 200 }, Stop),
        ];
        for (idempotent, outcome, expected) in table {
            assert_eq!(classify(*idempotent, *outcome), *expected, "idempotent={idempotent} {outcome:?}");
        }
    }

    #[test]
    fn which_outcomes_leave_a_write_unsettled() {
        let unknown = [Outcome::TimedOut, Outcome::Interrupted, Outcome::BodyCut { status: 502 }, S(502), S(504)];
        for outcome in unknown {
            assert!(outcome.outcome_unknown(), "{outcome:?}");
        }
        let known = [
            Outcome::ConnectFailed,
            Outcome::BodyCut { status: 201 },
            Outcome::BodyCut { status: 400 },
            Outcome::MalformedSuccess { status: 200 },
            S(200),
            S(400),
            S(429),
            S(500),
            S(503),
            RA(503, 1),
        ];
        for outcome in known {
            assert!(!outcome.outcome_unknown(), "{outcome:?}");
        }
    }

    #[test]
    fn policies_count_throttled_retries_apart() {
        assert_eq!(RetryPolicy::default().max_throttled_retries, 20);
        assert_eq!(RetryPolicy::none().max_throttled_retries, 0);
        assert_eq!(RetryPolicy::attempts(0).max_attempts, 1);
        assert_eq!(RetryPolicy::attempts(4).max_attempts, 4);
    }

    #[test]
    fn backoff_is_full_jitter_with_a_cap() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(0, 1.0), Duration::from_secs(1));
        assert_eq!(p.backoff(1, 1.0), Duration::from_secs(2));
        assert_eq!(p.backoff(3, 0.5), Duration::from_secs(4));
        assert_eq!(p.backoff(10, 1.0), Duration::from_secs(20), "capped");
        assert_eq!(p.backoff(40, 1.0), Duration::from_secs(20), "no overflow");
        assert_eq!(p.backoff(2, 0.0), Duration::ZERO);
    }

    #[test]
    fn retry_after_in_both_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        let date = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(parse_retry_after(&date, now), Some(Duration::from_secs(30)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn budget_runs_out_and_refills_slowly() {
        let b = RetryBudget::new(10);
        assert!(b.try_withdraw(RetryBudget::RETRY_COST));
        assert!(b.try_withdraw(RetryBudget::RETRY_COST));
        assert!(!b.try_withdraw(RetryBudget::RETRY_COST));
        for _ in 0..5 {
            b.deposit_success();
        }
        assert!(b.try_withdraw(RetryBudget::RETRY_COST));
        for _ in 0..100 {
            b.deposit_success();
        }
        assert_eq!(b.available(), 10, "never above capacity");
    }
}
