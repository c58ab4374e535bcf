//! The receiver's HTTP server: every connection is bounded before a byte of a request is
//! handled. At most [`ServerLimits::max_connections`] connections are open (more are closed as
//! they arrive); a connection must finish its request headers within
//! [`ServerLimits::header_timeout`], also while idle between requests; no connection lives past
//! [`ServerLimits::connection_lifetime`]. Bodies are read only after the bearer token is checked
//! (in the receiver), within the request timeout. So hundreds of slow or unauthenticated senders
//! cost a bounded amount of memory and are let go.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

/// Connection limits of [`serve_on`].
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    /// Connections open at once; more are closed on arrival.
    pub max_connections: usize,
    /// Time to send a request's headers (and, on a kept-alive connection, the next request's).
    pub header_timeout: Duration,
    /// The longest a connection stays open, whatever it does.
    pub connection_lifetime: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_connections: 512,
            header_timeout: Duration::from_secs(10),
            connection_lifetime: Duration::from_secs(120),
        }
    }
}

/// Serves `router` on `listener` within `limits` until the listener fails for good.
pub async fn serve_on(listener: TcpListener, router: Router, limits: ServerLimits) -> std::io::Result<()> {
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait a little instead of spinning.
                tracing::warn!(error = %e, "webhook receiver: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::warn!(%peer, limit = limits.max_connections, "webhook receiver: too many connections; closed");
            drop(stream);
            continue;
        };
        let service = TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .serve_connection(TokioIo::new(stream), service);
            if tokio::time::timeout(limits.connection_lifetime, connection).await.is_err() {
                tracing::debug!(%peer, "webhook receiver: connection reached its lifetime; closed");
            }
            drop(permit);
        });
    }
}
