//! Prometheus request metrics on a per-router registry (tests start many routers in one process), and the
//! middleware that records them by method, matched route and status.

use std::{sync::Arc, time::Instant};

use anyhow::Context;
use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::Response,
};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
}

const LABELS: &[&str] = &["method", "route", "status"];

impl Metrics {
    pub fn new() -> anyhow::Result<Self> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests handled, by method, route and status",
            ),
            LABELS,
        )
        .context("creating http_requests_total")?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency in seconds",
            ),
            LABELS,
        )
        .context("creating http_request_duration_seconds")?;
        registry
            .register(Box::new(requests.clone()))
            .context("registering http_requests_total")?;
        registry
            .register(Box::new(duration.clone()))
            .context("registering http_request_duration_seconds")?;
        Ok(Self {
            registry,
            requests,
            duration,
        })
    }

    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        let labels = [method, route, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.duration.with_label_values(&labels).observe(seconds);
    }

    /// The registry in the Prometheus text exposition format.
    pub fn render(&self) -> anyhow::Result<String> {
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .context("encoding metrics")?;
        String::from_utf8(buffer).context("metrics are not UTF-8")
    }
}

/// Records every request under its route template (`/api/v1/products/{id}`), or "unmatched".
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let metrics = Metrics::new().unwrap();
        metrics.observe("GET", "/healthz", 200, 0.001);
        let text = metrics.render().unwrap();
        assert!(
            text.contains(r#"http_requests_total{method="GET",route="/healthz",status="200"} 1"#)
        );
        assert!(text.contains("http_request_duration_seconds_bucket"));
    }
}
