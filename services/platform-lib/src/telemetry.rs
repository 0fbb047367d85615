//! Logging and tracing set-up: JSON lines for pipelines or a readable format for people, filtered by settings or
//! `RUST_LOG`; with an OTLP endpoint configured, every span is also exported to that collector. It installs the W3C
//! propagator that [`crate::trace_context`] uses to carry trace context between processes, so one request is one
//! trace across services.

use std::{fmt, sync::Arc, time::Duration};

use anyhow::Context as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::{
    Resource,
    error::OTelSdkResult,
    propagation::TraceContextPropagator,
    trace::{SdkTracerProvider, SpanData, SpanExporter},
};
use tracing_subscriber::{EnvFilter, fmt as format, prelude::*};

use crate::config::{LogFormat, LogSettings, OtlpSettings};

/// What `init` started; `shutdown` flushes spans still buffered for the collector.
#[must_use = "call shutdown() before exiting so buffered spans reach the collector"]
pub struct Telemetry {
    export: Option<Export>,
}

struct Export {
    provider: SdkTracerProvider,
    runtime: tokio::runtime::Runtime,
}

impl Telemetry {
    /// Exports what is buffered and stops the exporter. Runs on a plain thread: the exporter's own runtime may
    /// not be dropped from inside an async context.
    pub fn shutdown(self) {
        let Some(export) = self.export else { return };
        let finished = std::thread::spawn(move || {
            if let Err(error) = export.provider.shutdown() {
                eprintln!("telemetry: flushing spans failed: {error}");
            }
            export.runtime.shutdown_timeout(Duration::from_secs(2));
        })
        .join();
        if finished.is_err() {
            eprintln!("telemetry: the exporter stopped abnormally");
        }
    }
}

/// Installs the global subscriber once; later calls (tests spawning many apps) install nothing and export
/// nothing. `service_name` becomes `service.name` on exported spans.
pub fn init(
    log: &LogSettings,
    otlp: &OtlpSettings,
    service_name: &str,
) -> anyhow::Result<Telemetry> {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&log.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let (json, pretty) = match log.format {
        LogFormat::Json => (
            Some(
                format::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true),
            ),
            None,
        ),
        LogFormat::Pretty => (None, Some(format::layer().compact())),
    };
    let export = match &otlp.endpoint {
        Some(endpoint) => Some(exporter(endpoint, service_name)?),
        None => None,
    };
    let otel = export.as_ref().map(|export| {
        tracing_opentelemetry::layer().with_tracer(export.provider.tracer("tokshop"))
    });
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(json)
        .with(pretty)
        .with(otel)
        .try_init()
        .is_ok();
    if !installed {
        // Another subscriber was first: its spans are not ours to export.
        return Ok(Telemetry { export: None });
    }
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    Ok(Telemetry { export })
}

fn exporter(endpoint: &str, service_name: &str) -> anyhow::Result<Export> {
    anyhow::ensure!(
        endpoint.starts_with("http://"),
        "otlp.endpoint must be an http:// address of an OTLP/gRPC receiver, got {endpoint:?}"
    );
    // The SDK's batch processor exports from its own thread, outside any runtime; the gRPC exporter needs one,
    // so it gets a small runtime of its own that outlives every export.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("otlp-export")
        .enable_all()
        .build()
        .context("starting the OTLP export runtime")?;
    let span_exporter = {
        let _entered = runtime.enter();
        use opentelemetry_otlp::{WithExportConfig as _, WithTonicConfig as _};
        opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_channel(crate::grpc::plain_channel(endpoint)?)
            .with_timeout(Duration::from_secs(10))
            .build()
            .context("building the OTLP span exporter")?
    };
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(OnRuntime {
            inner: Arc::new(span_exporter),
            runtime: runtime.handle().clone(),
        })
        .with_resource(
            Resource::builder()
                .with_service_name(service_name.to_owned())
                .build(),
        )
        .build();
    Ok(Export { provider, runtime })
}

/// Runs an exporter's calls on a given runtime, whatever thread asks.
struct OnRuntime<E> {
    inner: Arc<E>,
    runtime: tokio::runtime::Handle,
}

impl<E> fmt::Debug for OnRuntime<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnRuntime").finish_non_exhaustive()
    }
}

impl<E: SpanExporter + 'static> SpanExporter for OnRuntime<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let inner = self.inner.clone();
        match self
            .runtime
            .spawn(async move { inner.export(batch).await })
            .await
        {
            Ok(result) => result,
            Err(error) => Err(opentelemetry_sdk::error::OTelSdkError::InternalFailure(
                format!("export task failed: {error}"),
            )),
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        // Called once while building the provider, before any export holds a second reference.
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.set_resource(resource);
        }
    }
}
