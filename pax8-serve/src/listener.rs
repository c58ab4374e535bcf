//! The servers' HTTP listener: every connection is bounded before a byte of a request is
//! handled. At most [`ServerLimits::max_connections`] connections are open (more are closed as
//! they arrive); a connection must finish its request headers within
//! [`ServerLimits::header_timeout`], also while idle between requests; no connection lives past
//! [`ServerLimits::connection_lifetime`]. Bodies are read only after the bearer token is checked
//! (in the receiver), within the request timeout. So hundreds of slow or unauthenticated senders
//! cost a bounded amount of memory and are let go.
//!
//! [`serve_until`] also drains: when its [`Shutdown`] begins it stops accepting, lets every
//! request in flight finish (idle kept-alive connections are closed, busy ones close after their
//! answer) within [`ServerLimits::grace`], and returns.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use crate::Shutdown;

/// Connection limits of [`serve_on`].
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    /// Connections open at once; more are closed on arrival.
    pub max_connections: usize,
    /// Time to send a request's headers (and, on a kept-alive connection, the next request's).
    pub header_timeout: Duration,
    /// The longest a connection stays open, whatever it does.
    pub connection_lifetime: Duration,
    /// After a shutdown begins, how long requests in flight may take to finish.
    pub grace: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_connections: 512,
            header_timeout: Duration::from_secs(10),
            connection_lifetime: Duration::from_secs(120),
            grace: crate::shutdown::DEFAULT_GRACE,
        }
    }
}

/// Serves `router` on `listener` within `limits` until the process ends.
pub async fn serve_on(listener: TcpListener, router: Router, limits: ServerLimits) -> std::io::Result<()> {
    serve_until(listener, router, limits, &Shutdown::new()).await
}

/// Serves `router` on `listener` within `limits` until `shutdown` begins, then drains (see the
/// module) and returns once every connection closed or the grace ran out.
pub async fn serve_until(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    shutdown: &Shutdown,
) -> std::io::Result<()> {
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.wait() => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait a little instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::warn!(%peer, limit = limits.max_connections, "too many connections; closed");
            drop(stream);
            continue;
        };
        let service = TowerToHyperService::new(router.clone());
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if tokio::time::timeout(limits.connection_lifetime, connection).await.is_err() {
                tracing::debug!(%peer, "connection reached its lifetime; closed");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.grace, graceful.shutdown()).await.is_err() {
        tracing::warn!(
            grace_ms = u64::try_from(limits.grace.as_millis()).unwrap_or(u64::MAX),
            "requests still in flight after the grace; closed"
        );
    }
    Ok(())
}
