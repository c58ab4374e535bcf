//! Client-side rate limiting shared by every call of a client: callers wait, they do not fail.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// A token bucket refilled at `per_minute / 60` tokens a second, holding at most `burst` tokens.
/// [`RateLimiter::acquire`] reserves a slot and sleeps until it comes, so waiting callers are
/// served in the order they asked.
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
}

impl RateLimiter {
    /// `per_minute` requests a minute, bursts of up to `burst` (at least 1).
    pub fn new(per_minute: u32, burst: u32) -> Self {
        let per_minute = per_minute.max(1);
        let burst = burst.clamp(1, per_minute);
        Self { per_minute, burst, state: Mutex::new(State { tokens: burst as f64, updated: Instant::now() }) }
    }

    /// The default Pax8 limit: 1000 a minute, bursts of 50.
    pub fn pax8_default() -> Self {
        Self::new(1000, 50)
    }

    /// Requests allowed per minute.
    pub fn per_minute(&self) -> u32 {
        self.per_minute
    }

    /// How long a caller must wait for its slot (zero if one is free); the slot is reserved.
    pub fn reserve(&self) -> Duration {
        let rate = self.per_minute as f64 / 60.0;
        let mut state = self.state.lock().expect("rate limiter lock");
        let now = Instant::now();
        let refill = now.saturating_duration_since(state.updated).as_secs_f64() * rate;
        state.tokens = (state.tokens + refill).min(self.burst as f64);
        state.updated = now;
        state.tokens -= 1.0;
        if state.tokens >= 0.0 { Duration::ZERO } else { Duration::from_secs_f64(-state.tokens / rate) }
    }

    /// Waits for a slot. The wait is recorded in tracing.
    pub async fn acquire(&self) {
        let wait = self.reserve();
        if !wait.is_zero() {
            tracing::debug!(wait_ms = wait.as_millis() as u64, per_minute = self.per_minute, "rate limit: waiting");
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bursts_then_spaces_requests_at_the_rate() {
        let limiter = RateLimiter::new(60, 3); // one a second after a burst of 3
        let start = Instant::now();
        for _ in 0..3 {
            limiter.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "the burst is free");
        for _ in 0..5 {
            limiter.acquire().await;
        }
        let elapsed = start.elapsed().as_secs_f64();
        assert!((4.9..5.1).contains(&elapsed), "5 more at 1/s took {elapsed}s");
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
}
