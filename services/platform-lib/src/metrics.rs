//! Process-wide Prometheus metrics of the shared machinery: how far the outbox relay and the event consumers lag,
//! and how the read-through cache answers.
//! The gateway serves them beside its own on `/metrics`; a process running only gRPC parts serves them on
//! `grpc.metrics_listen`.

use std::sync::OnceLock;

use anyhow::Context;
use prometheus::{Encoder, GaugeVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};

/// The gauges of event delivery.
#[derive(Debug)]
pub struct EventMetrics {
    /// Committed events not yet published, per relay (its topic prefixes, `all` for every topic).
    pub relay_pending: IntGaugeVec,
    /// Age of the oldest unpublished event, in seconds (0 when none waits).
    pub relay_lag_seconds: GaugeVec,
    /// Messages on a consumer group's assigned partitions past its committed offsets, per group.
    pub consumer_lag: IntGaugeVec,
}

struct Process {
    registry: Registry,
    events: EventMetrics,
    cache_requests: IntCounterVec,
}

impl Process {
    fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let events = EventMetrics {
            relay_pending: IntGaugeVec::new(
                Opts::new(
                    "tokshop_event_relay_pending",
                    "Committed events not yet published",
                ),
                &["relay"],
            )?,
            relay_lag_seconds: GaugeVec::new(
                Opts::new(
                    "tokshop_event_relay_lag_seconds",
                    "Age of the oldest unpublished event",
                ),
                &["relay"],
            )?,
            consumer_lag: IntGaugeVec::new(
                Opts::new(
                    "tokshop_event_consumer_lag",
                    "Messages not yet consumed, per consumer group",
                ),
                &["group"],
            )?,
        };
        registry.register(Box::new(events.relay_pending.clone()))?;
        registry.register(Box::new(events.relay_lag_seconds.clone()))?;
        registry.register(Box::new(events.consumer_lag.clone()))?;
        let cache_requests = IntCounterVec::new(
            Opts::new(
                "tokshop_cache_requests_total",
                "Read-through cache lookups, per cache and result: hit, miss (loaded from the database), \
                 error (the cache was unreachable; read from the database)",
            ),
            &["cache", "result"],
        )?;
        registry.register(Box::new(cache_requests.clone()))?;
        Ok(Self {
            registry,
            events,
            cache_requests,
        })
    }
}

/// The process's metrics; `None` only if the constant definitions above failed to validate, which they do not.
fn process() -> Option<&'static Process> {
    static PROCESS: OnceLock<Option<Process>> = OnceLock::new();
    PROCESS
        .get_or_init(|| match Process::new() {
            Ok(process) => Some(process),
            Err(err) => {
                tracing::error!(error = %err, "process metrics are unavailable");
                None
            }
        })
        .as_ref()
}

/// The event delivery gauges.
pub fn events() -> Option<&'static EventMetrics> {
    process().map(|p| &p.events)
}

/// Counts `n` lookups of `cache` that ended in `result`.
pub fn count_cache(cache: &str, result: &str, n: u64) {
    if let Some(process) = process()
        && n > 0
    {
        process
            .cache_requests
            .with_label_values(&[cache, result])
            .inc_by(n);
    }
}

/// The process-wide metrics in the Prometheus text exposition format.
pub fn render() -> anyhow::Result<String> {
    let process = process().context("process metrics are unavailable")?;
    let mut buffer = Vec::new();
    TextEncoder::new()
        .encode(&process.registry.gather(), &mut buffer)
        .context("encoding metrics")?;
    String::from_utf8(buffer).context("metrics are not UTF-8")
}
