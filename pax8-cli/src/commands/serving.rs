//! What every server command shares: the admin listener (health, readiness, metrics) and the
//! graceful shutdown on SIGTERM.

use std::net::SocketAddr;
use std::time::Duration;

use pax8_serve::{Readiness, Shutdown};
use tokio::task::JoinHandle;

use crate::fail::{Failure, code};
use crate::{ServeArgs, resolve};

/// The admin ports by default: one per server command, so they can share a host.
pub(super) const WEBHOOKS_ADMIN_PORT: u16 = 9464;
pub(super) const MCP_ADMIN_PORT: u16 = 9465;
pub(super) const WORKER_ADMIN_PORT: u16 = 9466;

/// A server command's shutdown and admin listener.
pub(super) struct Serving {
    /// Begun by the first SIGTERM or Ctrl-C.
    pub shutdown: Shutdown,
    /// How long what is in flight may take once it begins.
    pub grace: Duration,
    admin: Option<JoinHandle<std::io::Result<()>>>,
}

/// The admin address `--admin-listen` names: `off`, an address, or loopback on `default_port`.
fn admin_addr(flag: Option<&str>, default_port: u16) -> Result<Option<SocketAddr>, Failure> {
    match flag.map(str::trim) {
        Some("off") => Ok(None),
        Some(addr) => addr.parse().map(Some).map_err(|_| {
            Failure::usage(format!("--admin-listen `{addr}` is neither an address like 127.0.0.1:9464 nor `off`"))
        }),
        None => Ok(Some(SocketAddr::from(([127, 0, 0, 1], default_port)))),
    }
}

/// Listens for shutdown signals and starts the admin listener (with the process's metrics
/// recorder) answering `readiness`.
pub(super) async fn start(args: &ServeArgs, default_port: u16, readiness: Readiness) -> Result<Serving, Failure> {
    let grace = resolve::interval(&args.grace)?;
    let addr = admin_addr(args.admin_listen.as_deref(), default_port)?;
    let shutdown = Shutdown::on_signals();
    let admin = match addr {
        None => None,
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| Failure {
                message: format!(
                    "cannot open the admin listener on {addr}: {e} (choose another with --admin-listen, or `off`)"
                ),
                code: code::NETWORK,
            })?;
            let bound = listener.local_addr().unwrap_or(addr);
            // One recorder per process; a second start (tests) keeps the first.
            let metrics = pax8_serve::Metrics::install().ok();
            eprintln!("admin on http://{bound} (/healthz /readyz /metrics)");
            let shutdown = shutdown.clone();
            Some(tokio::spawn(async move { pax8_serve::admin::serve(listener, readiness, metrics, &shutdown).await }))
        }
    };
    Ok(Serving { shutdown, grace, admin })
}

impl Serving {
    /// Ends the shutdown: begins it (when the server stopped on its own) and waits for the admin
    /// listener to drain.
    pub async fn finish(self) {
        self.shutdown.begin();
        if let Some(admin) = self.admin {
            let _ = admin.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_admin_listener_is_loopback_on_the_commands_port_unless_told() {
        assert_eq!(admin_addr(None, 9465).unwrap(), Some("127.0.0.1:9465".parse().unwrap()));
        assert_eq!(admin_addr(Some("off"), 9465).unwrap(), None);
        assert_eq!(admin_addr(Some("10.0.0.5:9000"), 9465).unwrap(), Some("10.0.0.5:9000".parse().unwrap()));
        assert!(admin_addr(Some("nine"), 9465).unwrap_err().message.contains("neither an address"));
    }
}
