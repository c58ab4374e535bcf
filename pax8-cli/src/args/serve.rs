//! What every long-lived server command takes: the admin listener and the shutdown grace.

use clap::Args;

/// The admin listener and shutdown of `webhooks serve`, `mcp --http` and `worker`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The admin listener: /healthz, /readyz (with each failing check's reason) and /metrics
    /// (Prometheus text). Metric labels name tenants, so keep it on loopback or a private
    /// network. `off` turns it off. Default: 127.0.0.1 on the command's own port (webhooks
    /// serve 9464, mcp 9465, worker 9466).
    #[arg(long, value_name = "ADDR|off", env = "PAX8_ADMIN_LISTEN")]
    pub admin_listen: Option<String>,
    /// After SIGTERM (or Ctrl-C), how long requests and syncs in flight may take to finish
    /// before the process exits 0; a second signal exits at once (status 143).
    #[arg(long, value_name = "DURATION", default_value = "10s", env = "PAX8_SHUTDOWN_GRACE")]
    pub grace: String,
}
