//! OTLP export of the spans (feature `otlp`, on by default): when `OTEL_EXPORTER_OTLP_ENDPOINT`
//! (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, every span of our crates at info level and
//! above (a request to Pax8 with its operation, status and attempts; a webhook event; a sync; a
//! tool call) is sent over OTLP/HTTP (protobuf) in batches, as the OpenTelemetry SDK's standard
//! variables configure it (`OTEL_SERVICE_NAME`, default `pax8`; `OTEL_EXPORTER_OTLP_HEADERS`, …).
//! The batch left when the command ends is sent before it exits.

use opentelemetry::trace::TracerProvider;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::Layer;
use tracing_subscriber::registry::LookupSpan;

/// The exporter; [`Export::finish`] sends what is left.
pub struct Export(SdkTracerProvider);

impl Export {
    /// Sends the spans still batched and stops the exporter (call outside the runtime: the
    /// exporter's client blocks).
    pub fn finish(self) {
        if let Err(e) = self.0.shutdown() {
            eprintln!("warning: OTLP export: {e}");
        }
    }
}

/// Whether the environment asks for an export.
fn wanted() -> bool {
    ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty()))
}

/// The layer that exports the spans `filter` lets through, when the environment asks for it.
pub fn layer<S>(filter: tracing_subscriber::EnvFilter) -> Option<(impl Layer<S>, Export)>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    if !wanted() {
        return None;
    }
    let exporter = match opentelemetry_otlp::SpanExporter::builder().with_http().build() {
        Ok(exporter) => exporter,
        Err(e) => {
            eprintln!("warning: OTLP export off: {e}");
            return None;
        }
    };
    let mut resource = Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name("pax8");
    }
    let provider = SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource.build()).build();
    let tracer = provider.tracer("pax8");
    Some((tracing_opentelemetry::layer().with_tracer(tracer).with_filter(filter), Export(provider)))
}
