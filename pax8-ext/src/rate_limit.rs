//! Client-side rate limiting shared by every call of a client: callers wait, they do not fail.
//!
//! Two rules decide when a request may start:
//!
//! - **The published window**: at most `per_minute` requests start in any sliding 60 seconds
//!   (an exact log of start times, so a burst never pushes a minute over the limit).
//! - **A token bucket** of `burst` tokens refilled at `rate` per second: bursts up to `burst`
//!   start at once, then requests are spaced. `rate` starts at `per_minute / 60`.
//!
//! It adapts (additive increase, multiplicative decrease): a 429 sets `rate` to 0.7 times the
//! rate actually achieved over the last minute, empties the bucket and pauses every caller for
//! the server's `Retry-After`; each success then adds 1% of the configured rate back, so the
//! client settles just under whatever the server really allows. A response that says no requests
//! remain (`X-RateLimit-Remaining: 0` or `RateLimit-Remaining: 0` with a reset) pauses until the
//! reset. Every wait is traced.
//!
//! Written here rather than with `governor`: governor's quota is fixed once built and has no
//! sliding-window bound, and both are what this limiter is for.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use tokio::time::Instant;

const WINDOW: Duration = Duration::from_secs(60);
/// Share of the achieved rate kept after a 429 (CUBIC's β).
const DECREASE: f64 = 0.7;
/// Share of the configured rate added back per success.
const INCREASE: f64 = 0.01;
/// The longest pause a rate-limit header or a `Retry-After` can impose on every caller.
const MAX_PAUSE: Duration = Duration::from_secs(60);
/// The longest a caller can be queued behind others by the bucket (a bound, never reached in use).
const MAX_QUEUE: Duration = Duration::from_secs(24 * 3600);

/// An adaptive limiter: a sliding one-minute window and a token bucket (see the module docs).
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    burst: u32,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    tokens: f64,
    updated: Instant,
    /// Requests per second the bucket refills at now.
    rate: f64,
    /// Start times of the requests of the last minute (and reserved ones), oldest first.
    starts: VecDeque<Instant>,
    paused_until: Option<Instant>,
    last_decrease: Option<Instant>,
}

impl RateLimiter {
    /// `per_minute` requests in any minute, bursts of up to `burst` (both at least 1; the burst
    /// at most `per_minute`).
    pub fn new(per_minute: u32, burst: u32) -> Self {
        let per_minute = per_minute.max(1);
        let burst = burst.clamp(1, per_minute);
        let state = State {
            tokens: f64::from(burst),
            updated: Instant::now(),
            rate: f64::from(per_minute) / 60.0,
            starts: VecDeque::new(),
            paused_until: None,
            last_decrease: None,
        };
        Self { per_minute, burst, state: Mutex::new(state) }
    }

    /// Pax8's published limit: 1000 requests a minute, bursts of 200.
    pub fn pax8_default() -> Self {
        Self::new(1000, 200)
    }

    /// Requests allowed per minute.
    pub fn per_minute(&self) -> u32 {
        self.per_minute
    }

    /// The configured burst.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    fn max_rate(&self) -> f64 {
        f64::from(self.per_minute) / 60.0
    }

    /// The bucket's refill rate now, in requests a minute (below `per_minute` after a 429).
    pub fn current_per_minute(&self) -> f64 {
        self.lock().rate * 60.0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state invalid: every field is a number.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Reserves the next start and returns how long the caller must wait for it.
    pub fn reserve(&self) -> Duration {
        let now = Instant::now();
        let mut s = self.lock();
        // `updated` is in the future while a pause lasts: the bucket refills only after it.
        let refill = now.saturating_duration_since(s.updated).as_secs_f64() * s.rate;
        s.tokens = (s.tokens + refill).min(f64::from(self.burst));
        s.updated = s.updated.max(now);
        let mut start = now;
        if let Some(until) = s.paused_until {
            start = start.max(until);
        }
        if s.tokens < 1.0 {
            let wait = Duration::try_from_secs_f64((1.0 - s.tokens) / s.rate).unwrap_or(MAX_QUEUE).min(MAX_QUEUE);
            start = start.max(s.updated + wait);
        }
        s.tokens -= 1.0;
        while s.starts.front().is_some_and(|t| *t + WINDOW <= now) {
            s.starts.pop_front();
        }
        let limit = self.per_minute as usize;
        if s.starts.len() >= limit {
            let oldest_that_counts = s.starts[s.starts.len() - limit];
            start = start.max(oldest_that_counts + WINDOW);
        }
        if let Some(last) = s.starts.back() {
            start = start.max(*last);
        }
        s.starts.push_back(start);
        start.saturating_duration_since(now)
    }

    /// Waits for a slot and returns how long it waited (zero when a slot was free). The wait is
    /// recorded in tracing.
    pub async fn acquire(&self) -> Duration {
        let wait = self.reserve();
        if !wait.is_zero() {
            tracing::debug!(
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                per_minute = self.per_minute,
                "rate limit: waiting"
            );
            tokio::time::sleep(wait).await;
        }
        wait
    }

    /// The server refused a request with 429: slow down (at most once per second, so a volley
    /// of 429s from requests already in flight counts once) and pause for `retry_after`.
    pub fn on_throttled(&self, retry_after: Option<Duration>) {
        let now = Instant::now();
        let mut s = self.lock();
        if let Some(wait) = retry_after {
            let until = now + wait.min(MAX_PAUSE);
            s.paused_until = Some(s.paused_until.map_or(until, |p| p.max(until)));
            s.updated = s.updated.max(until);
        }
        if s.last_decrease.is_some_and(|t| now.saturating_duration_since(t) < Duration::from_secs(1)) {
            return;
        }
        s.last_decrease = Some(now);
        let started_last_minute = s.starts.iter().filter(|t| **t <= now && **t + WINDOW > now).count();
        let achieved = started_last_minute as f64 / WINDOW.as_secs_f64();
        let floor = 1.0 / WINDOW.as_secs_f64();
        s.rate = (achieved.min(s.rate) * DECREASE).max(floor);
        // Empty but for the one request that goes first when the pause ends.
        s.tokens = s.tokens.min(1.0);
        tracing::info!(
            per_minute = (s.rate * 60.0).round(),
            retry_after_ms = retry_after.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            "rate limit: the server pushed back, slowing down"
        );
    }

    /// A request succeeded: recover part of the configured rate.
    pub fn on_success(&self) {
        let max = self.max_rate();
        let mut s = self.lock();
        if s.rate < max {
            s.rate = (s.rate + max * INCREASE).min(max);
        }
    }

    /// Reads rate-limit headers of any answer: with none remaining, pause until the reset.
    pub fn observe_headers(&self, headers: &HeaderMap) {
        if let Some(wait) = exhausted_for(headers, SystemTime::now()) {
            let until = Instant::now() + wait.min(MAX_PAUSE);
            let mut s = self.lock();
            s.paused_until = Some(s.paused_until.map_or(until, |p| p.max(until)));
            tracing::debug!(
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "rate limit: none remaining"
            );
        }
    }
}

/// How long until the server's window resets, when its headers say nothing remains in it.
/// The reset is delta-seconds, or a Unix time when it is larger than a day's seconds.
pub fn exhausted_for(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<u64>().ok();
    let (remaining, reset) =
        [("x-ratelimit-remaining", "x-ratelimit-reset"), ("ratelimit-remaining", "ratelimit-reset")]
            .into_iter()
            .find_map(|(r, t)| Some((number(r)?, number(t)?)))?;
    if remaining > 0 {
        return None;
    }
    if reset > 86_400 {
        let at = SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(reset))?;
        return Some(at.duration_since(now).unwrap_or(Duration::ZERO));
    }
    Some(Duration::from_secs(reset))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn take(limiter: &RateLimiter, n: usize) {
        for _ in 0..n {
            limiter.acquire().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn bursts_then_spaces_requests_at_the_rate() {
        let limiter = RateLimiter::new(120, 3); // two a second after a burst of 3
        let start = Instant::now();
        take(&limiter, 3).await;
        assert_eq!(start.elapsed(), Duration::ZERO, "the burst is free");
        assert_eq!(limiter.acquire().await, Duration::from_millis(500), "the fourth waits and says so");
        assert_eq!(limiter.acquire().await, Duration::from_millis(500));
        let start = Instant::now();
        take(&limiter, 4).await;
        let elapsed = start.elapsed().as_secs_f64();
        assert!((1.9..2.1).contains(&elapsed), "4 more at 2/s took {elapsed}s");
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_all_get_through_in_time() {
        let limiter = std::sync::Arc::new(RateLimiter::new(600, 10)); // 10/s
        let start = Instant::now();
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let l = limiter.clone();
                tokio::spawn(async move { l.acquire().await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let elapsed = start.elapsed().as_secs_f64();
        assert!((3.9..4.1).contains(&elapsed), "40 beyond the burst at 10/s took {elapsed}s");
    }

    #[tokio::test(start_paused = true)]
    async fn no_minute_ever_holds_more_than_the_limit() {
        // A burst as large as the limit: the bucket alone would allow 100 + 100 in the first minute.
        let limiter = RateLimiter::new(100, 100);
        let start = Instant::now();
        let mut starts = Vec::new();
        for _ in 0..250 {
            limiter.acquire().await;
            starts.push(start.elapsed());
        }
        for (i, t) in starts.iter().enumerate() {
            let in_window = starts[i..].iter().take_while(|u| **u < *t + WINDOW).count();
            assert!(in_window <= 100, "{in_window} requests in the minute from {t:?}");
        }
        assert_eq!(starts[99], Duration::ZERO, "the first hundred go at once");
        assert_eq!(starts[100], WINDOW, "the 101st waits for the first to leave the window");
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_slows_down_to_below_what_was_achieved_and_pauses() {
        let limiter = RateLimiter::new(1000, 200);
        take(&limiter, 60).await; // 60 in the last minute: 1 a second achieved
        limiter.on_throttled(Some(Duration::from_secs(10)));
        let rate = limiter.current_per_minute();
        assert!((rate - 42.0).abs() < 0.01, "{rate}");
        // A volley of 429s from requests already in flight counts once.
        limiter.on_throttled(None);
        assert!((limiter.current_per_minute() - 42.0).abs() < 0.01);
        let start = Instant::now();
        limiter.acquire().await;
        let first = start.elapsed();
        assert!(first >= Duration::from_secs(10), "paused for Retry-After, waited {first:?}");
        limiter.acquire().await;
        let gap = start.elapsed() - first;
        assert!((1.4..1.5).contains(&gap.as_secs_f64()), "spaced at 42/min: {gap:?}");
        limiter.on_throttled(None);
        assert!(limiter.current_per_minute() < 42.0, "a later 429 lowers it again");
    }

    #[tokio::test(start_paused = true)]
    async fn bucket_and_window_agree_on_spread_out_starts() {
        let limiter = RateLimiter::new(3, 1); // one every 20 s, never more than 3 a minute
        assert_eq!((limiter.per_minute(), limiter.burst()), (3, 1));
        assert_eq!((RateLimiter::pax8_default().per_minute(), RateLimiter::pax8_default().burst()), (1000, 200));
        assert_eq!(RateLimiter::new(0, 0).per_minute(), 1, "at least one a minute");
        assert_eq!(RateLimiter::new(10, 50).burst(), 10, "a burst is at most the limit");
        let start = Instant::now();
        let mut starts = Vec::new();
        for _ in 0..5 {
            limiter.acquire().await;
            starts.push(start.elapsed().as_secs());
        }
        assert_eq!(starts, [0, 20, 40, 60, 80]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_achieved_rate_counts_only_starts_of_the_last_minute() {
        // Queued starts in the future do not count.
        let limiter = RateLimiter::new(60, 1);
        for _ in 0..6 {
            let _ = limiter.reserve();
        }
        limiter.on_throttled(None);
        assert_eq!(limiter.current_per_minute(), 1.0, "one start so far: the floor");
        // Starts exactly a minute old do not count either.
        let limiter = RateLimiter::new(600, 100);
        take(&limiter, 10).await;
        tokio::time::advance(WINDOW).await;
        limiter.on_throttled(None);
        assert_eq!(limiter.current_per_minute(), 1.0, "none in the last minute");
    }

    #[tokio::test(start_paused = true)]
    async fn a_second_429_one_second_later_counts() {
        let limiter = RateLimiter::new(6000, 1000);
        take(&limiter, 600).await; // 10 a second achieved
        limiter.on_throttled(None);
        let first = limiter.current_per_minute();
        tokio::time::advance(Duration::from_secs(1)).await;
        limiter.on_throttled(None);
        assert!(limiter.current_per_minute() < first, "{first} then {}", limiter.current_per_minute());
    }

    #[tokio::test(start_paused = true)]
    async fn successes_recover_the_configured_rate_and_no_more() {
        let limiter = RateLimiter::new(600, 10);
        take(&limiter, 10).await;
        limiter.on_throttled(None);
        let low = limiter.current_per_minute();
        assert!(low < 10.0, "{low}");
        limiter.on_success();
        assert!((limiter.current_per_minute() - (low + 6.0)).abs() < 1e-6, "adds 1% of 600/min");
        for _ in 0..200 {
            limiter.on_success();
        }
        assert_eq!(limiter.current_per_minute(), 600.0);
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_never_falls_below_one_a_minute() {
        let limiter = RateLimiter::new(60, 1);
        for _ in 0..20 {
            limiter.on_throttled(None);
            tokio::time::advance(Duration::from_secs(2)).await;
        }
        assert_eq!(limiter.current_per_minute(), 1.0);
    }

    #[test]
    fn exhausted_headers_in_both_spellings_and_both_reset_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let headers = |pairs: &[(&'static str, &str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, v.parse().unwrap());
            }
            h
        };
        let h = headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "7")]);
        assert_eq!(exhausted_for(&h, now), Some(Duration::from_secs(7)));
        let h = headers(&[("ratelimit-remaining", "0"), ("ratelimit-reset", "1700000030")]);
        assert_eq!(exhausted_for(&h, now), Some(Duration::from_secs(30)));
        let h = headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "86400")]);
        assert_eq!(exhausted_for(&h, now), Some(Duration::from_secs(86_400)), "a day is still delta-seconds");
        let h = headers(&[("x-ratelimit-remaining", "3"), ("x-ratelimit-reset", "7")]);
        assert_eq!(exhausted_for(&h, now), None, "requests remain");
        let h = headers(&[("x-ratelimit-remaining", "0")]);
        assert_eq!(exhausted_for(&h, now), None, "no reset given");
        let h = headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1699999990")]);
        assert_eq!(exhausted_for(&h, now), Some(Duration::ZERO), "a reset in the past");
        let h = headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "99999999999999999999")]);
        assert_eq!(exhausted_for(&h, now), None, "an absurd reset is ignored");
    }

    #[tokio::test(start_paused = true)]
    async fn a_header_pause_is_bounded() {
        let limiter = RateLimiter::new(1000, 200);
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-remaining", "0".parse().unwrap());
        h.insert("x-ratelimit-reset", "3600".parse().unwrap());
        limiter.observe_headers(&h);
        assert_eq!(limiter.reserve(), MAX_PAUSE);
    }
}
