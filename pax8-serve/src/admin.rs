//! The admin listener (`--admin-listen`, loopback by default): `/healthz`, `/readyz` with each
//! failure's message, and `/metrics`. Tenant names appear in metric labels, so it never shares
//! a listener with anything that faces the internet.

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::health::{self, Detail, Readiness};
use crate::listener::{ServerLimits, serve_until};
use crate::{Metrics, Shutdown};

/// The default admin address: loopback only.
pub const DEFAULT_ADMIN_LISTEN: &str = "127.0.0.1:9464";

/// The admin router: health with messages, and the metrics when a recorder is installed
/// (404 otherwise).
pub fn router(readiness: Readiness, metrics: Option<Metrics>) -> Router {
    let render = move || {
        let metrics = metrics.clone();
        async move {
            match metrics {
                Some(m) => {
                    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4")], m.render()).into_response()
                }
                None => (StatusCode::NOT_FOUND, "metrics are off").into_response(),
            }
        }
    };
    health::routes(readiness, Detail::Messages).route("/metrics", get(render))
}

/// Serves the admin router on `listener` until `shutdown` begins.
pub async fn serve(
    listener: tokio::net::TcpListener,
    readiness: Readiness,
    metrics: Option<Metrics>,
    shutdown: &Shutdown,
) -> std::io::Result<()> {
    serve_until(listener, router(readiness, metrics), ServerLimits::default(), shutdown).await
}
