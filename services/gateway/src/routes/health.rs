//! Operations endpoints: liveness, readiness (every backend gRPC service answers its health check) and metrics.

use std::{collections::BTreeMap, time::Duration};

use axum::{
    http::header,
    response::{IntoResponse, Response},
};
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};

use crate::{error::ApiError, handler::prelude::*, metrics::Metrics};

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// "ok" or "unavailable".
    pub status: String,
    /// Per backend service ("identity", "catalog", ...): "ok" or why it is not ready. Absent on /healthz.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub services: Option<BTreeMap<String, String>>,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
}

/// Liveness: the gateway process is up.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, description = "Alive", body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        services: None,
    })
}

/// Readiness: every backend service answers its gRPC health check.
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses((status = 200, description = "Ready", body = Health),
        (status = 503, description = "A backend service is not serving", body = Health)))]
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let checks = state
        .backends()
        .iter()
        .map(
            |(name, service, client)| async move { (*name, check(client.clone(), service).await) },
        );
    let results = futures::future::join_all(checks).await;
    let ready = results.iter().all(|(_, result)| result.is_ok());
    let services = results
        .into_iter()
        .map(|(name, result)| {
            (
                name.to_owned(),
                result.map_or_else(|why| why, |()| "ok".to_owned()),
            )
        })
        .collect();
    let body = Health {
        status: if ready { "ok" } else { "unavailable" }.into(),
        services: Some(services),
    };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

async fn check(
    mut client: tonic_health::pb::health_client::HealthClient<tokshop_platform::grpc::GrpcChannel>,
    service: &str,
) -> Result<(), String> {
    let request = HealthCheckRequest {
        service: service.to_owned(),
    };
    match tokio::time::timeout(CHECK_TIMEOUT, client.check(request)).await {
        Err(_) => Err("health check timed out".into()),
        Ok(Err(status)) => Err(format!("health check failed: {:?}", status.code())),
        Ok(Ok(response)) => match response.into_inner().status() {
            ServingStatus::Serving => Ok(()),
            other => Err(format!("not serving: {}", other.as_str_name())),
        },
    }
}

/// Prometheus metrics in the text exposition format. When `gateway.metrics_listen` is set they are served only
/// there, and this route answers 404.
#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses((status = 200, description = "Metrics", body = String, content_type = "text/plain; version=0.0.4"),
        (status = 404, description = "Metrics are served on their own listener", body = ErrorBody)))]
async fn metrics(State(state): State<AppState>) -> Response {
    if state.settings.gateway.metrics_listen.is_some() {
        return ApiError::not_found(
            "route_not_found",
            "metrics are served on their own listener",
        )
        .into_response();
    }
    render_metrics(&state.metrics)
}

/// The metrics page: the gateway's own, then the process's (event relay and consumers); a 500 if it cannot be
/// encoded.
pub fn render_metrics(metrics: &Metrics) -> Response {
    let page = metrics
        .render()
        .and_then(|own| Ok(own + &tokshop_platform::metrics::render()?));
    metrics_page(page)
}

/// `page` as a Prometheus text response, or a 500.
pub fn metrics_page(page: anyhow::Result<String>) -> Response {
    match page {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(err) => ApiError::internal(format!("{err:#}")).into_response(),
    }
}
