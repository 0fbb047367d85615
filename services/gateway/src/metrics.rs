//! Prometheus request metrics on a per-router registry (tests start many routers in one process), and the
//! middleware that records them by method, matched route and status. Every label value comes from a bounded set
//! (known methods, route templates, the shop's tool names, a capped set of outcome codes); anything else is
//! counted as "other", so no client or model can grow the series without bound.

use std::{collections::HashSet, sync::Mutex, time::Instant};

use anyhow::Context;
use axum::{
    extract::{MatchedPath, Request},
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

/// The value a label may take for anything outside its known set.
const OTHER: &str = "other";

/// Methods counted under their own name.
const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// Most distinct tool outcome codes kept; later new ones count as "other".
const MAX_OUTCOMES: usize = 64;

/// A label drawn from an open set of short snake_case codes, capped at `max` distinct values.
struct CappedLabel {
    seen: Mutex<HashSet<String>>,
    max: usize,
}

impl CappedLabel {
    fn new(max: usize) -> Self {
        Self {
            seen: Mutex::default(),
            max,
        }
    }

    fn get(&self, value: &str) -> String {
        let code_like = !value.is_empty()
            && value.len() <= 48
            && value.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        if !code_like {
            return OTHER.to_owned();
        }
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.contains(value) || seen.len() < self.max {
            seen.insert(value.to_owned());
            value.to_owned()
        } else {
            OTHER.to_owned()
        }
    }
}

/// The method as a label: the standard ones by name, anything else "other".
fn method_label(method: &str) -> &str {
    METHODS
        .iter()
        .find(|m| **m == method)
        .copied()
        .unwrap_or(OTHER)
}

/// The shopping agent's counters, read off the events of each turn.
struct AgentMetrics {
    turns: IntCounterVec,
    tokens: IntCounterVec,
    model_seconds: HistogramVec,
    tool_calls: IntCounterVec,
    tool_seconds: HistogramVec,
    confirmations: IntCounterVec,
    /// The tools the agent offers; a call naming anything else is counted as "other".
    tools: HashSet<String>,
    outcomes: CappedLabel,
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
    fn new(registry: &Registry, tools: HashSet<String>) -> anyhow::Result<Self> {
        Ok(Self {
            tools,
            outcomes: CappedLabel::new(MAX_OUTCOMES),
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
    /// Metrics for a gateway whose agent offers `tools`.
    pub fn new(tools: impl IntoIterator<Item = String>) -> anyhow::Result<Self> {
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
        let agent = AgentMetrics::new(&registry, tools.into_iter().collect())?;
        Ok(Self {
            registry,
            requests,
            duration,
            agent,
        })
    }

    /// Counts what one agent event says happened.
    pub fn observe_agent(&self, event: &tokshop_agent::runner::AgentEvent) {
        use tokshop_agent::runner::{AgentEvent as E, StopReason};
        let agent = &self.agent;
        match event {
            E::ToolResult {
                name,
                result,
                duration_ms,
                ..
            } => {
                let outcome = match result.get("error") {
                    Some(code) => agent.outcomes.get(code.as_str().unwrap_or_default()),
                    None if result.get("status").and_then(|s| s.as_str())
                        == Some("confirmation_required") =>
                    {
                        "confirmation_required".to_owned()
                    }
                    None => "ok".to_owned(),
                };
                let tool = if agent.tools.contains(name) {
                    name.as_str()
                } else {
                    OTHER
                };
                agent
                    .tool_calls
                    .with_label_values(&[tool, outcome.as_str()])
                    .inc();
                agent
                    .tool_seconds
                    .with_label_values(&[tool])
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
                // Every reason the runner can give has its own series; anything else is "other".
                let outcome = match stopped.as_deref() {
                    None => "answered",
                    Some(reason) => StopReason::parse(reason).map_or(OTHER, StopReason::as_str),
                };
                agent.turns.with_label_values(&[outcome]).inc();
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

    /// One request: `route` must be a route template or "unmatched" (never a raw path).
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        let labels = [method_label(method), route, status.as_str()];
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
pub async fn track<F, Fut>(metrics: &Metrics, request: Request, next: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next(request).await;
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
        let metrics = Metrics::new([]).unwrap();
        metrics.observe("GET", "/healthz", 200, 0.001);
        let text = metrics.render().unwrap();
        assert!(
            text.contains(r#"http_requests_total{method="GET",route="/healthz",status="200"} 1"#)
        );
        assert!(text.contains("http_request_duration_seconds_bucket"));
    }

    /// `n` spelled in letters, so each is a distinct code-like label.
    fn letters(n: usize) -> String {
        n.to_string()
            .bytes()
            .map(|b| char::from(b'a' + (b - b'0')))
            .collect()
    }

    #[test]
    fn labels_stay_in_bounded_sets() {
        use tokshop_agent::runner::AgentEvent;
        let metrics = Metrics::new(["search_products".to_owned()]).unwrap();
        metrics.observe("BREW", "unmatched", 404, 0.001);
        for n in 0..200 {
            metrics.observe_agent(&AgentEvent::ToolResult {
                id: format!("c{n}"),
                name: format!("made_up_tool_{n}"),
                result: serde_json::json!({"error": format!("code_{}", letters(n))}),
                duration_ms: 1,
            });
        }
        metrics.observe_agent(&AgentEvent::ToolResult {
            id: "c".into(),
            name: "search_products".into(),
            result: serde_json::json!({"error": "Weird Code!"}),
            duration_ms: 1,
        });
        let text = metrics.render().unwrap();
        assert!(text.contains(r#"method="other""#), "{text}");
        assert!(!text.contains("BREW") && !text.contains("made_up_tool"));
        assert!(
            text.contains(r#"agent_tool_calls_total{outcome="other",tool="search_products"} 1"#)
        );
        let series = text
            .lines()
            .filter(|l| l.starts_with("agent_tool_calls_total{"))
            .count();
        // Each kept code once under "other" tools, plus "other" codes, plus the known tool's row.
        assert_eq!(series, MAX_OUTCOMES + 2, "{text}");
    }
}
