//! Prometheus metrics: one recorder per process (the `metrics` crate's facade, which every
//! pax8-rs crate records through) rendered as Prometheus text by `/metrics` on the admin listener.
//!
//! The `metrics` facade was chosen over the OpenTelemetry SDK: recording is a call on a global
//! recorder that does nothing until one is installed (a library user pays nothing without one),
//! it needs no runtime, and its Prometheus exporter renders text without running a server of
//! its own, so the admin listener serves it beside `/readyz`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

/// Histogram buckets of every `*_seconds` metric: 1 ms to 2 min.
pub const SECONDS_BUCKETS: &[f64] =
    &[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];

/// The process's metrics, rendered on demand.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn recorder() -> Result<PrometheusRecorder, String> {
    Ok(PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_string()), SECONDS_BUCKETS)
        .map_err(|e| e.to_string())?
        .build_recorder())
}

impl Metrics {
    /// Installs the process's recorder (once: a second call fails) and keeps its histograms
    /// trimmed every few seconds.
    pub fn install() -> Result<Metrics, String> {
        let recorder = recorder()?;
        let handle = recorder.handle();
        metrics::set_global_recorder(recorder).map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
        let upkeep = handle.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(5));
            loop {
                every.tick().await;
                upkeep.run_upkeep();
            }
        });
        Ok(Metrics { handle })
    }

    /// The Prometheus text exposition of every metric recorded so far.
    pub fn render(&self) -> String {
        self.handle.render()
    }
}

/// Turns recording on and off at run time (see [`Metrics::install_switched`]).
#[derive(Clone, Debug)]
pub struct RecordingSwitch(Arc<AtomicBool>);

impl RecordingSwitch {
    /// Records from now on (`true`) or drops what is recorded (`false`).
    pub fn set(&self, on: bool) {
        self.0.store(on, Ordering::Relaxed);
    }
}

/// The Prometheus recorder behind a switch: a metric registered while the switch is off is a
/// no-op handle.
struct Switched {
    on: Arc<AtomicBool>,
    inner: PrometheusRecorder,
}

impl Recorder for Switched {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_counter(key, unit, description)
    }
    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_gauge(key, unit, description)
    }
    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_histogram(key, unit, description)
    }
    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
        if self.on.load(Ordering::Relaxed) { self.inner.register_counter(key, metadata) } else { Counter::noop() }
    }
    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
        if self.on.load(Ordering::Relaxed) { self.inner.register_gauge(key, metadata) } else { Gauge::noop() }
    }
    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
        if self.on.load(Ordering::Relaxed) { self.inner.register_histogram(key, metadata) } else { Histogram::noop() }
    }
}

impl Metrics {
    /// Installs the process's recorder behind a switch, off at first: benchmarks measure the
    /// cost of recording by alternating rounds with it on and off in one run. No upkeep task
    /// runs (no runtime is needed); histograms are trimmed when rendered.
    pub fn install_switched() -> Result<(Metrics, RecordingSwitch), String> {
        let inner = recorder()?;
        let handle = inner.handle();
        let on = Arc::new(AtomicBool::new(false));
        metrics::set_global_recorder(Switched { on: on.clone(), inner })
            .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
        Ok((Metrics { handle }, RecordingSwitch(on)))
    }
}
