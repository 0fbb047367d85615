//! The gateway's own middleware, run as one layer ([`pipeline`]): JSON errors, metrics, the client's address, rate
//! limits, the request deadline, Idempotency-Key replays and body limits, each step handing the request to the
//! next. One layer instead of seven: axum's `from_fn` clones the whole stack below it and boxes a future for every
//! request at each layer; folding them cut a cached product read's CPU by about a tenth (docs/BENCHMARKS.md).
//!
//! The deadline and the JSON errors (any non-JSON error response, from axum or a tower layer: 405, 413, ..., made
//! our JSON error so clients only ever parse one shape) are steps defined here.

use std::{sync::Arc, time::Duration};

use axum::{
    body::to_bytes,
    extract::{Request, State},
    http::{StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{
    body_limit::BodyLimits, client_ip::TrustedProxies, error::ApiError, metrics::Metrics,
    ratelimit::RateLimits, state::AppState,
};

/// What the steps of [`pipeline`] read.
pub struct Pipeline {
    pub metrics: Arc<Metrics>,
    pub proxies: TrustedProxies,
    pub limiter: Option<Arc<RateLimits>>,
    pub deadlines: Deadlines,
    pub state: AppState,
    pub body_limits: BodyLimits,
}

/// Every request, outermost step first: JSON errors, metrics, client address, rate limit, deadline,
/// Idempotency-Key, body limit, then the route.
pub async fn pipeline(
    State(steps): State<Arc<Pipeline>>,
    request: Request,
    next: Next,
) -> Response {
    let body_limits = steps.body_limits;
    // The route's part runs detached when an Idempotency-Key claims it, so it owns what it needs.
    let route =
        move |request| crate::body_limit::limit_body(body_limits, request, move |r| next.run(r));
    let steps = &*steps;
    json_errors(request, |r| {
        crate::metrics::track(&steps.metrics, r, |r| {
            crate::client_ip::resolve(&steps.proxies, r, |r| {
                crate::ratelimit::limit(steps.limiter.as_deref(), r, |r| {
                    deadline(&steps.deadlines, r, |r| {
                        crate::idempotency::layer(&steps.state, r, route)
                    })
                })
            })
        })
    })
    .await
}

/// Time a chat turn's response may take beyond the agent's own turn deadline (which ends the turn with a clean
/// reply): enough for tool calls already running to finish and the reply to be stored.
const CHAT_GRACE: Duration = Duration::from_secs(15);

/// How long a request may take until its response starts: uploads have their own, longer deadline, and a chat
/// message the agent's turn deadline plus a grace, so a slow model ends in the agent's clean reply, not a 504.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    pub default: Option<Duration>,
    pub upload: Option<Duration>,
    pub chat: Duration,
}

impl Deadlines {
    pub fn new(settings: &tokshop_platform::config::Settings) -> Self {
        let secs = |s: u64| (s > 0).then(|| Duration::from_secs(s));
        Self {
            default: secs(settings.gateway.request_timeout_secs),
            upload: secs(settings.gateway.upload_timeout_secs),
            chat: Duration::from_secs(settings.agent.turn_timeout_secs.max(1)) + CHAT_GRACE,
        }
    }
}

/// `POST /api/v1/chat/conversations/{id}/messages`: a turn of the shopping agent.
fn is_chat_turn(request: &Request) -> bool {
    request.method() == axum::http::Method::POST
        && request
            .uri()
            .path()
            .strip_prefix("/api/v1/chat/conversations/")
            .and_then(|rest| rest.strip_suffix("/messages"))
            .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

/// Fails a request that takes longer than its deadline with a 504 JSON error.
pub async fn deadline<F, Fut>(deadlines: &Deadlines, request: Request, next: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let limit = if crate::body_limit::BodyLimits::is_upload(&request) {
        deadlines.upload
    } else if is_chat_turn(&request) {
        Some(deadlines.chat)
    } else {
        deadlines.default
    };
    let Some(limit) = limit else {
        return next(request).await;
    };
    match tokio::time::timeout(limit, next(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "request_timeout",
            format!("the request took longer than {}s", limit.as_secs()),
        )
        .into_response(),
    }
}

/// Error responses that are not JSON yet become `{type, code, message, param}`.
pub async fn json_errors<F, Fut>(request: Request, next: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let response = next(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(&response) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let (code, fallback) = describe(status);
    // Only a 400's own text (an axum rejection such as a bad path segment) says more than our fixed wording.
    let message = if status == StatusCode::BAD_REQUEST && !text.is_empty() {
        text
    } else {
        fallback.to_owned()
    };
    let mut converted = ApiError::new(status, code, message).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            converted.headers_mut().append(name.clone(), value.clone());
        }
    }
    converted
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

fn describe(status: StatusCode) -> (&'static str, &'static str) {
    match status {
        StatusCode::BAD_REQUEST => ("bad_request", "bad request"),
        StatusCode::NOT_FOUND => ("not_found", "no such resource"),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this method is not allowed on this path",
        ),
        StatusCode::NOT_ACCEPTABLE => ("not_acceptable", "no acceptable response encoding"),
        StatusCode::REQUEST_TIMEOUT => ("request_timeout", "the request took too long"),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "request body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ("unsupported_media_type", "unsupported content type")
        }
        StatusCode::TOO_MANY_REQUESTS => ("rate_limited", "too many requests; slow down"),
        StatusCode::SERVICE_UNAVAILABLE => ("service_unavailable", "service unavailable"),
        StatusCode::GATEWAY_TIMEOUT => ("request_timeout", "the request took too long"),
        s if s.is_server_error() => ("internal_error", "internal error"),
        _ => ("bad_request", "bad request"),
    }
}

/// The answer for a path no route matches.
pub async fn not_found(request: Request) -> ApiError {
    ApiError::not_found(
        "route_not_found",
        format!("no route for {} {}", request.method(), request.uri().path()),
    )
}

#[cfg(test)]
mod tests {
    use axum::body::Body;

    use super::*;

    fn request(method: &str, path: &str) -> Request {
        Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap()
    }

    #[test]
    fn chat_turns_have_the_agents_deadline() {
        assert!(is_chat_turn(&request(
            "POST",
            "/api/v1/chat/conversations/cnv_1/messages"
        )));
        for (method, path) in [
            ("GET", "/api/v1/chat/conversations/cnv_1/messages"),
            ("POST", "/api/v1/chat/conversations//messages"),
            ("POST", "/api/v1/chat/conversations/a/b/messages"),
            (
                "POST",
                "/api/v1/chat/conversations/cnv_1/confirmations/pa_1",
            ),
        ] {
            assert!(!is_chat_turn(&request(method, path)), "{method} {path}");
        }
        let mut settings = tokshop_platform::config::Settings::default();
        settings.gateway.request_timeout_secs = 30;
        settings.agent.turn_timeout_secs = 90;
        let deadlines = Deadlines::new(&settings);
        assert_eq!(deadlines.chat, Duration::from_secs(90) + CHAT_GRACE);
        assert_eq!(deadlines.default, Some(Duration::from_secs(30)));
    }
}
