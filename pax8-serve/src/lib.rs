//! What every long-lived pax8-rs server shares: the webhook receiver (`pax8 webhooks serve`),
//! the MCP server over HTTP (`pax8 mcp --http`) and the sync workers (`pax8 worker`).
//!
//! - [`health`]: `/healthz` and `/readyz` from named readiness checks;
//! - [`admin`]: the admin listener, `/healthz`, `/readyz` and Prometheus `/metrics`;
//! - [`listener`]: an HTTP/1 server with bounded connections that drains on shutdown;
//! - [`Shutdown`]: SIGTERM begins a graceful shutdown, a second one exits at once;
//! - [`Metrics`]: the process's Prometheus recorder.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let shutdown = pax8_serve::Shutdown::on_signals();
//! let ready = pax8_serve::Readiness::default().check("database", || async { Ok(()) });
//! let metrics = pax8_serve::Metrics::install().ok();
//! let admin = tokio::net::TcpListener::bind(pax8_serve::admin::DEFAULT_ADMIN_LISTEN).await?;
//! pax8_serve::admin::serve(admin, ready, metrics, &shutdown).await
//! # }
//! ```
#![forbid(unsafe_code)]

pub mod admin;
pub mod health;
pub mod listener;
mod metrics;
pub mod shutdown;

pub use health::Readiness;
pub use metrics::{Metrics, RecordingSwitch, SECONDS_BUCKETS};
pub use shutdown::Shutdown;
