//! A rate budget shared with other processes: one partner's credentials have one budget
//! (1000 requests a minute published, some tenants 100) whoever sends the requests. The client
//! takes each request start from it after its own limiter, and tells it when the server
//! answers 429 so every process pauses, not only the one that was told.
//!
//! `pax8-sync` keeps one in the mirror database (`pax8_sync::vault::DbRateBudget`).

use std::time::Duration;

use futures::future::BoxFuture;

/// A budget of request starts shared between processes (see the module documentation).
///
/// ```no_run
/// use std::time::Duration;
/// use futures::future::BoxFuture;
///
/// struct Unlimited;
/// impl pax8_ext::SharedRateBudget for Unlimited {
///     fn take(&self) -> BoxFuture<'_, Result<(), Duration>> {
///         Box::pin(async { Ok(()) })
///     }
///     fn throttled(&self, _pause: Duration) -> BoxFuture<'_, ()> {
///         Box::pin(async {})
///     }
/// }
/// ```
pub trait SharedRateBudget: Send + Sync + 'static {
    /// Takes one request start, or says how long to wait before asking again. A budget that
    /// cannot be reached (its database is down) should let the request go: the client's own
    /// limiter still holds it to the configured rate.
    fn take(&self) -> BoxFuture<'_, Result<(), Duration>>;
    /// The server answered 429: nothing should start for `pause` in any process.
    fn throttled(&self, pause: Duration) -> BoxFuture<'_, ()>;
}

impl std::fmt::Debug for dyn SharedRateBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedRateBudget")
    }
}

/// Waits until `budget` grants a start and returns whether it had to wait (it was told to at
/// least once). Each wait is kept between 1 ms and 60 s.
pub(crate) async fn take(budget: &dyn SharedRateBudget) -> bool {
    let mut waited = false;
    while let Err(wait) = budget.take().await {
        waited = true;
        tokio::time::sleep(wait.clamp(Duration::from_millis(1), Duration::from_secs(60))).await;
    }
    waited
}
