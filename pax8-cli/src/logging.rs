//! `-v`/`-vv`/`-vvv` and `RUST_LOG`: diagnostics on stderr through tracing-subscriber.
//!
//! Without either, only warnings are shown. `-v` shows one line per request (operation, status,
//! attempts, duration), retries and waits; `-vv` adds token refreshes and decisions; `-vvv`
//! traces our crates. `RUST_LOG`, when set, replaces the level chosen by `-v`. Nothing logged by
//! pax8-ext carries a secret (its tests capture every level).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

/// Our crates: their diagnostics, not those of the HTTP stack.
const CRATES: [&str; 5] = ["pax8", "pax8_ext", "pax8_sync", "pax8_mcp", "pax8_sandbox"];

/// The filter for `verbosity` (the number of `-v`), unless `rust_log` is set.
pub fn filter(verbosity: u8, rust_log: Option<&str>) -> EnvFilter {
    if let Some(directives) = rust_log.filter(|d| !d.trim().is_empty()) {
        // An invalid directive falls back to the default rather than failing the command.
        if let Ok(filter) = EnvFilter::try_new(directives) {
            return filter;
        }
    }
    let level = match verbosity {
        0 => return EnvFilter::new("warn"),
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let directives: Vec<String> = CRATES.iter().map(|krate| format!("{krate}={level}")).collect();
    EnvFilter::new(format!("warn,{}", directives.join(",")))
}

/// How diagnostics are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One line of text per event.
    Text,
    /// One JSON object per event: `timestamp`, `level`, `fields`, the current span and its parents.
    Json,
}

/// Spans sent elsewhere while the command runs (OTLP, with the feature `otlp`); `finish` sends
/// what is left.
pub struct Exports {
    #[cfg(feature = "otlp")]
    otlp: Option<crate::otlp::Export>,
}

impl Exports {
    /// Sends what is batched (outside the runtime).
    pub fn finish(self) {
        #[cfg(feature = "otlp")]
        if let Some(export) = self.otlp {
            export.finish();
        }
    }
}

/// Installs the stderr subscriber (and, with the feature `otlp` and `OTEL_EXPORTER_OTLP_ENDPOINT`
/// set, the OTLP export of spans). Spans are reported on stderr when they close (a request's line
/// carries its status, attempts and duration).
pub fn init(verbosity: u8, no_color: bool, format: LogFormat) -> Exports {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let rust_log = std::env::var("RUST_LOG").ok();
    let ansi = !no_color && std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal();
    let spans = if verbosity > 0 || rust_log.is_some() { FmtSpan::CLOSE } else { FmtSpan::NONE };
    let text = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_span_events(spans).with_target(false);
    let stderr = match format {
        LogFormat::Text => text.with_ansi(ansi).boxed(),
        LogFormat::Json => text.json().with_current_span(true).with_span_list(true).boxed(),
    }
    .with_filter(filter(verbosity, rust_log.as_deref()));
    let registry = tracing_subscriber::registry().with(stderr);
    #[cfg(feature = "otlp")]
    {
        // Our crates' spans at info level, whatever `-v` says for stderr.
        let (otlp, export) = match crate::otlp::layer(filter(1, None)) {
            Some((layer, export)) => (Some(layer), Some(export)),
            None => (None, None),
        };
        // `try_init`: a second call (tests) keeps the first subscriber.
        let _ = registry.with(otlp).try_init();
        Exports { otlp: export }
    }
    #[cfg(not(feature = "otlp"))]
    {
        let _ = registry.try_init();
        Exports {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbosity_chooses_the_level_of_our_crates_only() {
        assert_eq!(filter(0, None).to_string(), "warn");
        let one = filter(1, None).to_string();
        assert!(one.contains("pax8_ext=info") && one.ends_with(",warn"), "{one}");
        assert!(filter(2, None).to_string().contains("pax8_sync=debug"));
        assert!(filter(9, None).to_string().contains("pax8=trace"));
    }

    #[test]
    fn rust_log_replaces_the_verbosity_unless_empty_or_invalid() {
        assert_eq!(filter(0, Some("pax8_ext=debug")).to_string(), "pax8_ext=debug");
        assert_eq!(filter(0, Some("  ")).to_string(), "warn");
        assert!(filter(1, Some("pax8_ext=notalevel")).to_string().contains("pax8_ext=info"));
    }
}
