//! What route handlers are written with: the names every route module uses, and the one way a handler answers
//! with what a service returned, the reply in its JSON shape.

use axum::{Json, http::StatusCode};

use crate::error::ApiResult;

/// The names a route module needs for its handlers, its shapes and its router.
pub mod prelude {
    pub use axum::{
        Json,
        extract::{Path, State},
        http::StatusCode,
    };
    pub use serde::{Deserialize, Serialize};
    pub use tokshop_platform::auth::authorized;
    pub use utoipa::{IntoParams, ToSchema};
    pub use utoipa_axum::{router::OpenApiRouter, routes};

    pub use super::{created, respond};
    pub use crate::{
        error::{ApiResult, ErrorBody},
        extract::{ApiJson, ApiQuery, AuthUser, MaybeAuth},
        idempotency::RequestId,
        state::AppState,
    };
}

/// Awaits a service call and answers 200 with its reply as JSON; a failed call is the service's error.
pub async fn respond<T, J: From<T>>(
    call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> ApiResult<Json<J>> {
    Ok(Json(call.await?.into_inner().into()))
}

/// Like [`respond`], for a call that creates something: answers 201.
pub async fn created<T, J: From<T>>(
    call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> ApiResult<(StatusCode, Json<J>)> {
    respond(call).await.map(|json| (StatusCode::CREATED, json))
}
