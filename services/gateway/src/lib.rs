//! The REST gateway (`/api/v1`) for mobile and web clients, in front of the gRPC services.
//! It owns HTTP concerns only: JSON shapes, errors, auth header checks, rate limits, metrics and docs; every
//! business rule lives in the services, which verify the forwarded bearer token themselves.

mod body_limit;
mod chat;
mod client_ip;
mod error;
mod extract;
mod handler;
mod idempotency;
mod login_throttle;
mod metrics;
mod middleware;
mod openapi;
mod ratelimit;
mod redis_limits;
mod routes;
mod shapes;
mod state;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use axum::{
    Router,
    extract::{DefaultBodyLimit, Request},
    http::{HeaderName, HeaderValue, Method, header},
    middleware::from_fn_with_state,
    response::Html,
    routing::get,
    serve::ListenerExt,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokshop_platform::grpc::GrpcChannel;
use tokshop_platform::{auth::TokenKeys, config::Settings};
use tower::ServiceBuilder;
use tower_http::{
    compression::{
        CompressionLayer,
        predicate::{DefaultPredicate, NotForContentType, Predicate},
    },
    cors::{AllowOrigin, CorsLayer},
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// What the gateway is built from, chosen once at start-up.
pub struct GatewayDeps {
    pub settings: Arc<Settings>,
    pub keys: TokenKeys,
    pub identity: GrpcChannel,
    pub catalog: GrpcChannel,
    pub cart: GrpcChannel,
    /// Orders, coupons and payments (one service process).
    pub orders: GrpcChannel,
    /// Relations, interactions, posts and messages (one service process).
    pub social: GrpcChannel,
    /// Where Idempotency-Key records live.
    pub db: tokshop_platform::db::Db,
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const DOCS_HTML: &str = include_str!("docs.html");

/// Builds the full axum Router (all routes + middleware) for these deps, and hands back its metrics.
pub async fn router(deps: GatewayDeps) -> anyhow::Result<(Router, Arc<metrics::Metrics>)> {
    let gateway = deps.settings.gateway.clone();
    let body_limits = body_limit::BodyLimits::new(&deps.settings);
    let proxies = client_ip::TrustedProxies::parse(&gateway.trusted_proxies)?;
    let deps_settings = deps.settings.clone();
    let redis = tokshop_platform::redis::Redis::connect(&deps.settings.redis).await?;
    let state = AppState::new(deps, redis)?;

    let (api, openapi) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(routes::all())
        .split_for_parts();
    let openapi_json: Arc<str> = serde_json::to_string(&openapi::finish(openapi))
        .context("serializing the OpenAPI document")?
        .into();

    let middleware = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(cors(&gateway.cors_origins)?)
        // Images are already skipped by the default predicate; videos are compressed too, and a gzipped video
        // would lose its Content-Length for nothing.
        .layer(
            CompressionLayer::new()
                .compress_when(DefaultPredicate::new().and(NotForContentType::const_new("video/"))),
        )
        .layer(from_fn_with_state(
            Arc::new(middleware::Pipeline {
                metrics: state.metrics.clone(),
                proxies,
                limiter: state.limiter.clone(),
                deadlines: middleware::Deadlines::new(&deps_settings),
                state: state.clone(),
                body_limits,
            }),
            middleware::pipeline,
        ))
        .layer(DefaultBodyLimit::max(gateway.body_limit_bytes));

    let router = api
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let json = openapi_json.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        json.to_string(),
                    )
                }
            }),
        )
        .route("/api/v1/docs", get(|| async { Html(DOCS_HTML) }))
        .fallback(middleware::not_found)
        .with_state(state.clone())
        .layer(middleware);
    Ok((router, state.metrics.clone()))
}

/// Only `GET /metrics`, for a listener of its own (`gateway.metrics_listen`) that need not face the internet.
fn metrics_router(metrics: Arc<metrics::Metrics>) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(move || {
                let metrics = metrics.clone();
                async move { routes::health::render_metrics(&metrics) }
            }),
        )
        .fallback(middleware::not_found)
}

/// Serves only the process's metrics (event relay and consumers) at `GET /metrics` on `listener` until `shutdown`:
/// for a process that runs gRPC parts without the gateway (`grpc.metrics_listen`).
pub async fn serve_process_metrics(
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let router = Router::new()
        .route(
            "/metrics",
            get(|| async { routes::health::metrics_page(tokshop_platform::metrics::render()) }),
        )
        .fallback(middleware::not_found);
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
        .context("serving metrics")
}

/// Serves `router(deps)` on `listener` until `shutdown` is cancelled, then finishes in-flight requests. With a
/// `metrics_listener`, `/metrics` is served there instead (the main listener answers it 404).
pub async fn serve(
    deps: GatewayDeps,
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    deps.db
        .migrate("gateway", &idempotency::MIGRATIONS)
        .await
        .context("migrating the Idempotency-Key store")?;
    deps.db
        .migrate("agent", &tokshop_agent::MIGRATIONS)
        .await
        .context("migrating the agent's conversation store")?;
    let (app, metrics) = router(deps).await?;
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "REST gateway listening");
    }
    let metrics_server = metrics_listener.map(|listener| {
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, "metrics listening");
        }
        tokio::spawn(
            axum::serve(listener, metrics_router(metrics))
                .with_graceful_shutdown(shutdown.clone().cancelled_owned())
                .into_future(),
        )
    });
    // Responses go out without waiting for delayed ACKs (Nagle would add ~40 ms to many replies).
    let listener = listener.tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::warn!(%err, "cannot set TCP_NODELAY");
        }
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown.cancelled_owned())
    .await
    .context("serving the REST gateway")?;
    if let Some(server) = metrics_server {
        server
            .await
            .context("metrics server task")?
            .context("serving metrics")?;
    }
    Ok(())
}

fn request_span(request: &Request) -> tracing::Span {
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| request.uri().path(), |path| path.as_str());
    let span = tracing::info_span!(
        "http_request",
        otel.name = %format!("{} {route}", request.method()),
        otel.kind = "server",
        http.request.method = %request.method(),
        http.route = route,
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %request_id,
        user_id = tracing::field::Empty,
    );
    // A client that sends W3C trace context gets this request inside its own trace.
    tokshop_platform::trace_context::adopt_parent(&span, request.headers());
    span
}

fn cors(origins: &[String]) -> anyhow::Result<CorsLayer> {
    let layer = CorsLayer::new()
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("idempotency-key"),
            REQUEST_ID,
        ])
        .expose_headers([REQUEST_ID])
        .max_age(Duration::from_secs(600));
    if origins.iter().any(|origin| origin == "*") {
        return Ok(layer.allow_origin(AllowOrigin::any()));
    }
    let list = origins
        .iter()
        .map(|origin| {
            HeaderValue::from_str(origin).with_context(|| format!("bad CORS origin {origin:?}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(layer.allow_origin(AllowOrigin::list(list)))
}
