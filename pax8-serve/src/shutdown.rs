//! Graceful shutdown: the first SIGTERM (or Ctrl-C) stops accepting and lets what is in flight
//! finish within a bound; a second one exits at once.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// How long what is in flight may take to finish after a shutdown begins, by default.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);

/// The exit status of a second signal (128 + SIGTERM, as a shell reports a killed process).
pub const FORCED_EXIT: i32 = 143;

/// A shutdown that every server of a process watches.
///
/// ```no_run
/// # async fn demo() {
/// let shutdown = pax8_serve::Shutdown::on_signals();
/// shutdown.wait().await; // a server stops accepting here, then drains within its grace
/// # }
/// ```
#[derive(Clone, Debug, Default)]
pub struct Shutdown {
    token: CancellationToken,
}

impl Shutdown {
    /// A shutdown begun only by [`Shutdown::begin`].
    pub fn new() -> Self {
        Shutdown::default()
    }

    /// A shutdown begun by the first SIGTERM or SIGINT; the second exits the process at once
    /// with [`FORCED_EXIT`].
    pub fn on_signals() -> Self {
        let shutdown = Shutdown::new();
        let begin = shutdown.clone();
        tokio::spawn(async move {
            let mut signals = Signals::new();
            signals.next().await;
            tracing::info!("shutting down: no new connections, finishing what is in flight (signal again to exit now)");
            begin.begin();
            signals.next().await;
            tracing::warn!("second signal: exiting now");
            std::process::exit(FORCED_EXIT);
        });
        shutdown
    }

    /// Begins the shutdown.
    pub fn begin(&self) {
        self.token.cancel();
    }

    /// Whether the shutdown has begun.
    pub fn begun(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Resolves when the shutdown begins.
    pub async fn wait(&self) {
        self.token.cancelled().await;
    }

    /// [`Shutdown::wait`] as an owned future (for an API that takes `impl Future + 'static`).
    pub fn wait_owned(self) -> impl Future<Output = ()> + Send + 'static {
        self.token.cancelled_owned()
    }

    /// The token cancelled when the shutdown begins (for libraries that take one, as rmcp does).
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }
}

/// SIGTERM and SIGINT, listened to from creation on (none is missed between two).
struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Signals { term: signal(SignalKind::terminate()).ok() }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// The next SIGTERM or SIGINT.
    async fn next(&mut self) {
        #[cfg(unix)]
        if let Some(term) = self.term.as_mut() {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}
