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
    agent: AgentMetrics,
}

/// The shopping agent's counters, read off the events of each turn.
struct AgentMetrics {
    turns: IntCounterVec,
    tokens: IntCounterVec,
    model_seconds: HistogramVec,
    tool_calls: IntCounterVec,
    tool_seconds: HistogramVec,
    confirmations: IntCounterVec,
}

fn counter(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> anyhow::Result<IntCounterVec> {
    let counter = IntCounterVec::new(Opts::new(name, help), labels)
        .with_context(|| format!("creating {name}"))?;
    registry
        .register(Box::new(counter.clone()))
        .with_context(|| format!("registering {name}"))?;
    Ok(counter)
}

fn histogram(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> anyhow::Result<HistogramVec> {
    let histogram = HistogramVec::new(HistogramOpts::new(name, help), labels)
        .with_context(|| format!("creating {name}"))?;
    registry
        .register(Box::new(histogram.clone()))
        .with_context(|| format!("registering {name}"))?;
    Ok(histogram)
}

impl AgentMetrics {
    fn new(registry: &Registry) -> anyhow::Result<Self> {
        Ok(Self {
            turns: counter(
                registry,
                "agent_turns_total",
                "Agent turns, by how they ended",
                &["outcome"],
            )?,
            tokens: counter(
                registry,
                "agent_tokens_total",
                "Model tokens, by direction",
                &["direction"],
            )?,
            model_seconds: histogram(
                registry,
                "agent_model_seconds",
                "Time waiting for the model per turn",
                &[],
            )?,
            tool_calls: counter(
                registry,
                "agent_tool_calls_total",
                "Tool calls, by tool and outcome",
                &["tool", "outcome"],
            )?,
            tool_seconds: histogram(
                registry,
                "agent_tool_seconds",
                "Tool call latency",
                &["tool"],
            )?,
            confirmations: counter(
                registry,
                "agent_confirmations_total",
                "Consequential actions requested, approved and rejected",
                &["event"],
            )?,
        })
    }
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
        let agent = AgentMetrics::new(&registry)?;
        Ok(Self {
            registry,
            requests,
            duration,
            agent,
        })
    }

    /// Counts what one agent event says happened.
    pub fn observe_agent(&self, event: &tokshop_agent::runner::AgentEvent) {
        use tokshop_agent::runner::AgentEvent as E;
        let agent = &self.agent;
        match event {
            E::ToolResult {
                name,
                result,
                duration_ms,
                ..
            } => {
                let outcome = result
                    .get("error")
                    .and_then(|e| e.as_str())
                    .unwrap_or_else(|| {
                        result
                            .get("status")
                            .and_then(|s| s.as_str())
                            .filter(|s| *s == "confirmation_required")
                            .unwrap_or("ok")
                    });
                agent
                    .tool_calls
                    .with_label_values(&[name.as_str(), outcome])
                    .inc();
                agent
                    .tool_seconds
                    .with_label_values(&[name.as_str()])
                    .observe(*duration_ms as f64 / 1000.0);
            }
            E::ConfirmationRequired { .. } => {
                agent.confirmations.with_label_values(&["requested"]).inc()
            }
            E::ActionResult { status, .. } => {
                let event = match status.as_str() {
                    "approved" | "failed" | "rejected" | "changed" => status.as_str(),
                    _ => "other",
                };
                agent.confirmations.with_label_values(&[event]).inc()
            }
            E::Done {
                input_tokens,
                output_tokens,
                model_ms,
                stopped,
                ..
            } => {
                agent
                    .turns
                    .with_label_values(&[stopped.as_deref().unwrap_or("answered")])
                    .inc();
                agent
                    .tokens
                    .with_label_values(&["input"])
                    .inc_by(*input_tokens);
                agent
                    .tokens
                    .with_label_values(&["output"])
                    .inc_by(*output_tokens);
                agent
                    .model_seconds
                    .with_label_values::<&str>(&[])
                    .observe(*model_ms as f64 / 1000.0);
            }
            _ => {}
        }
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
